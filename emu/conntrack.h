/* conntrack.h - reading a node's conntrack table (ctnetlink over libmnl):
 * the flows a NAT node holds right now, so a scenario can observe when a
 * mapping is gone instead of computing it from the configured timeout.
 *
 * emu_conntrack_udp4 lists IPv4 UDP entries only: they are the NAT's UDP mappings
 * (docs/nat-model.md: with inbound_refreshes off every entry is an
 * outbound flow whose timeout is the mapping's). The kernel leaves entries
 * whose timeout passed out of a dump even before its garbage collector
 * removes them, so an entry missing from a dump is an expired one.
 */
#ifndef NATLAB_EMU_CONNTRACK_H
#define NATLAB_EMU_CONNTRACK_H

#include <stddef.h>
#include <stdint.h>
#include "emu/err.h"
#include "emu/node.h"

#define EMU_CT_ADDR_STR_MAX 16 /* "255.255.255.255" */

struct emu_ct_udp {
	/* the original direction (what the inside sent): src -> dst */
	char osrc[EMU_CT_ADDR_STR_MAX], odst[EMU_CT_ADDR_STR_MAX];
	uint16_t osport, odport;
	/* the reply direction: rsrc -> rdst; for a source-NATted flow rdst
	 * and rdport are the public address and port of the mapping */
	char rsrc[EMU_CT_ADDR_STR_MAX], rdst[EMU_CT_ADDR_STR_MAX];
	uint16_t rsport, rdport;
	uint32_t timeout_s; /* seconds left, as the kernel rounds them */
	uint8_t proto;	    /* IPPROTO_UDP, or IPPROTO_TCP (emu_conntrack_ip4) */
	uint8_t tcp_state;  /* TCP: enum tcp_conntrack (emu_conntrack_tcp_state_name) */
};

/* emu_conntrack_udp4 - dump node @n's IPv4 UDP conntrack entries into
 * @out (room for @max); *@count gets how many there are in all (more than
 * @max when they did not fit: the first @max are kept). 0 or a negative
 * errno with @e filled. */
int emu_conntrack_udp4(struct emu_node *n, struct emu_ct_udp *out, size_t max, size_t *count,
		       struct natlab_err *e);

/* emu_conntrack_ip4 - the same for IPv4 UDP and TCP entries (a NAT's
 * snapshot in a failed cell's evidence). */
int emu_conntrack_ip4(struct emu_node *n, struct emu_ct_udp *out, size_t max, size_t *count,
		      struct natlab_err *e);

/* emu_conntrack_tcp_state_name - "ESTABLISHED", ... for a tcp_state. */
const char *emu_conntrack_tcp_state_name(uint8_t state);

#endif

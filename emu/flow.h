/* flow.h - the flows a node's kernel saw, with packet and byte counters per
 * direction and the time each flow began (conntrack with accounting and
 * timestamps, read over ctnetlink with libmnl).
 *
 * This is how the lab witnesses a call's data path without asking the
 * agents (issue 16, docs/expected-matrix.md "Verdicts"): watch the
 * observation points (each NAT's outside, an open host, the STUN/TURN
 * server nodes) before any traffic, then dump their flows before and after
 * the data phase; the counter deltas say which 5-tuples carried the data.
 *
 * Unlike emu_conntrack_udp4 (a NAT's live UDP mappings) this lists UDP and
 * TCP, IPv4, with the NAT status bits, so a caller can tell which tuple was
 * on the outside wire.
 */
#ifndef NATLAB_EMU_FLOW_H
#define NATLAB_EMU_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "emu/err.h"
#include "emu/node.h"

#define EMU_FLOW_ADDR_STR_MAX 16 /* "255.255.255.255" */
#define EMU_FLOW_TABLE "natlab_wire"

struct emu_flow_tuple {
	char src[EMU_FLOW_ADDR_STR_MAX], dst[EMU_FLOW_ADDR_STR_MAX];
	uint16_t sport, dport;
};

struct emu_flow {
	uint8_t proto;		  /* IPPROTO_UDP or IPPROTO_TCP */
	uint32_t id;		  /* the kernel's conntrack id (CTA_ID) */
	struct emu_flow_tuple orig;  /* what the initiator sent, before NAT */
	struct emu_flow_tuple reply; /* the expected answer, after NAT */
	bool snat, dnat;	  /* IPS_SRC_NAT, IPS_DST_NAT */
	uint64_t orig_pkts, orig_bytes;	  /* initiator -> responder */
	uint64_t reply_pkts, reply_bytes; /* responder -> initiator */
	uint64_t start_ns; /* CLOCK_REALTIME when the flow began, 0: unknown */
};

/* emu_flow_watch - make node @n account its flows from now on: turns on
 * per-namespace conntrack accounting and timestamps (nf_conntrack_acct,
 * nf_conntrack_timestamp; both are read when a flow is created, so call
 * this before the traffic). With @track it also adds table ip natlab_wire,
 * whose chains on prerouting and output hold one conntrack match each, so
 * that a node with no NAT (a public host, the TURN server) tracks its
 * flows at all; a NAT node tracks them already (pass false: one nftables
 * transaction less). Calling it twice replaces the table. 0 or a negative
 * errno with @e filled. */
int emu_flow_watch(struct emu_node *n, bool track, struct natlab_err *e);

/* emu_flow_dump - node @n's IPv4 UDP and TCP flows into @out (room for
 * @max); *@count gets how many there are in all (more than @max when they
 * did not fit: the first @max are kept). Counters are 0 for flows created
 * before emu_flow_watch. 0 or a negative errno with @e filled. */
int emu_flow_dump(struct emu_node *n, struct emu_flow *out, size_t max, size_t *count,
		  struct natlab_err *e);

/* emu_flow_parse - decode one ctnetlink message (IPCTNL_MSG_CT_NEW, as a
 * dump answers) into @f. Returns 1 for an IPv4 UDP/TCP flow with both
 * tuples, 0 for any other (skipped), -1 when @nlh is malformed. Pure: used
 * by emu_flow_dump and by the unit tests. */
struct nlmsghdr;
int emu_flow_parse(const struct nlmsghdr *nlh, struct emu_flow *f);

#endif

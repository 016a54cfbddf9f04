/* flow.h - what crossed a node's interface, per direction of each UDP/TCP
 * 5-tuple: packets, bytes, and when it was first and last seen. Counted by
 * the kernel in an nftables table of the node (dynamic sets keyed by the
 * 5-tuple, a counter per element), read over netlink with libnftnl/libmnl.
 *
 * This is how the lab witnesses a call's data path without asking the
 * agents (issue 16, docs/expected-matrix.md "Verdicts"): watch the
 * observation points (each NAT's outside interface, an open host, the TURN
 * server) before any traffic, then dump their counters before and after
 * the data phase; the deltas say which 5-tuples carried the data.
 *
 * Why nftables and not conntrack with accounting: a ctnetlink dump walks
 * the kernel's one conntrack hash table shared by every namespace of the
 * machine (262144 buckets here), about 10 ms per dump on a loaded 2-core
 * machine even for an empty namespace; a set's elements are the node's own.
 * And the counters sit where they should: on a NAT, prerouting before the
 * NAT's own raw chain (inbound packets as they arrived, dropped ones too)
 * and postrouting after source NAT (outbound packets as they left), on the
 * outside interface.
 *
 * Table ip natlab_wire (and, when asked for, ip6 natlab_wire: the same
 * with IPv6 addresses):
 *   set seen  key . dir  (update: timeout refreshed, counter)  last seen
 *   set born  key . dir  (add: never refreshed)                first seen
 *   chain pre  prerouting -400: [iif OUT] udp/tcp: dir 0 into both sets
 *   chain post postrouting 400: [oif OUT] udp/tcp: dir 1 into both sets
 * key = ip saddr . ip daddr . l4proto . sport . dport, each field padded
 * to 4 bytes; elements live EMU_FLOW_TIMEOUT_MS after their last update.
 */
#ifndef NATLAB_EMU_FLOW_H
#define NATLAB_EMU_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "emu/err.h"
#include "emu/node.h"

#define EMU_FLOW_ADDR_STR_MAX 46 /* INET6_ADDRSTRLEN */
#define EMU_FLOW_TABLE	      "natlab_wire"
#define EMU_FLOW_KEY_LEN      24      /* IPv4: 6 fields of 4 bytes */
#define EMU_FLOW_KEY_LEN6     48      /* IPv6: 2 x 16 bytes + 4 fields of 4 */
#define EMU_FLOW_IPV4	      1u      /* families to watch (a bit mask) */
#define EMU_FLOW_IPV6	      2u
#define EMU_FLOW_SET_SIZE     65536   /* directions of 5-tuples per node */
#define EMU_FLOW_TIMEOUT_MS   3600000 /* a cell never lasts an hour */

struct emu_flow {
	uint8_t proto; /* IPPROTO_UDP or IPPROTO_TCP */
	bool out;      /* counted leaving the node (postrouting), else arriving */
	bool ipv6;     /* an IPv6 5-tuple (table ip6 natlab_wire) */
	char src[EMU_FLOW_ADDR_STR_MAX], dst[EMU_FLOW_ADDR_STR_MAX];
	uint16_t sport, dport;
	uint64_t pkts, bytes;
	/* how long ago (ms, at the dump) the first and the last packet were
	 * counted; UINT64_MAX when the kernel gave no expiration */
	uint64_t first_ago_ms, last_ago_ms;
};

/* emu_flow_watch_build - add table natlab_wire (see above; replacing an
 * earlier one) to batch @b, in family ip and/or ip6 as @families
 * (EMU_FLOW_IPV4 | EMU_FLOW_IPV6) asks: the ip6 table has the same sets,
 * chains and rules with 16-byte addresses (key EMU_FLOW_KEY_LEN6). @ifname:
 * count only packets arriving on and leaving through this interface (a
 * NAT's outside); NULL: every interface. 0 or a negative errno (-ENOMEM,
 * -ENOSPC: batch full, -EINVAL: no family). Pure: no kernel. */
struct emu_nft_batch;
int emu_flow_watch_build(struct emu_nft_batch *b, const char *ifname, unsigned families);

/* emu_flow_watch - build and commit those tables in node @n. Call it
 * before the traffic to count. 0 or a negative errno with @e filled. */
int emu_flow_watch(struct emu_node *n, const char *ifname, unsigned families,
		   struct natlab_err *e);

/* emu_flow_watch_all - emu_flow_watch on @n nodes at once, one thread
 * each (@ifnames[i] may be NULL; @families NULL: IPv4 on every node): an
 * nftables transaction mostly waits
 * for the kernel (an RCU grace period, several ms on a loaded machine),
 * and the waits of different namespaces overlap. 0, or the first failing
 * node's negative errno with @e filled (the other tables may be in place). */
int emu_flow_watch_all(struct emu_node *const *nodes, const char *const *ifnames,
		       const unsigned *families, size_t n, struct natlab_err *e);

/* emu_flow_dump - node @n's counted directions, of the families
 * emu_flow_watch watched there through this handle (both families' tables
 * where they exist when it did not), into @out (room for @max);
 * *@count gets how many there are in all (more than @max when they did not
 * fit: the first @max are kept). 0 or a negative errno with @e filled
 * (-ENOENT when emu_flow_watch never ran there). */
int emu_flow_dump(struct emu_node *n, struct emu_flow *out, size_t max, size_t *count,
		  struct natlab_err *e);

/* emu_flow_key_parse - decode a set element's key (@len bytes, network
 * order fields as the rule loads them) into @f's tuple and direction.
 * Returns 0, or -EINVAL when @len is not EMU_FLOW_KEY_LEN. Pure. */
int emu_flow_key_parse(const void *key, uint32_t len, struct emu_flow *f);

#endif

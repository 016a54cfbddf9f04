/* nat_evidence.h - what a NAT did: a named counter per rule of its
 * ruleset, read back with libnftnl, and the packets its drop rules refused,
 * received through the kernel's packet log (nfnetlink_log, NFULNL) and
 * aggregated per (rule, 5-tuple), with a bounded pcap of them.
 *
 * The NAT's rules (emu/nat.c) reference one named counter object per rule
 * kind (emu_nat_counter_name); every drop rule also sends the packet to
 * log group EMU_NAT_LOG_GROUP with the counter's name as its prefix, so a
 * logged packet names the rule that dropped it. Both live in the NAT's own
 * namespace: reading them needs nothing from the scenario. The counters
 * are exact; the drop log is a bounded sample when the socket overflows
 * (lost packets are counted). docs/nat-model.md, "Evidence".
 */
#ifndef NATLAB_EMU_NAT_EVIDENCE_H
#define NATLAB_EMU_NAT_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emu/err.h"
#include "emu/node.h"

/* The named counters of a NAT table, one per rule kind. */
enum emu_nat_counter {
	EMU_NAT_CTR_MAPPINGS_UDP,	 /* new UDP mappings (a public endpoint not yet live) */
	EMU_NAT_CTR_MAPPINGS_TCP,	 /* TCP connections from inside translated */
	EMU_NAT_CTR_HAIRPIN,		 /* hairpinned UDP packets delivered */
	EMU_NAT_CTR_DROP_FILTERING,	 /* inbound UDP refused by filtering (or expiry) */
	EMU_NAT_CTR_DROP_HAIRPIN_FILTER, /* hairpinned UDP refused by the receiver's filter */
	EMU_NAT_CTR_DROP_NO_HAIRPIN,	 /* UDP from inside to a public address, hairpin off */
	EMU_NAT_CTR_DROP_PORT_CLASH,	 /* a drawn public port already mapped */
	EMU_NAT_CTR_DROP_QUOTA,		 /* per-host mapping quota (rejected) */
	EMU_NAT_CTR_DROP_UDP_BLOCKED,	 /* firewall: udp_blocked */
	EMU_NAT_CTR_DROP_PORT_BLOCKED,	 /* firewall: TCP out to a port not in tcp_out_ports */
	EMU_NAT_CTR_DROP_TCP_IN_BLOCKED, /* firewall: tcp_in_blocked */
	EMU_NAT_CTR_DROP_SYN,		 /* unsolicited SYN to the NAT (RFC 5382 REQ-4) */
	EMU_NAT_CTR_DROP_INBOUND6,	 /* IPv6 flow opened from outside */
	EMU_NAT_CTR_N
};

/* The log group every drop rule logs to. Groups are per network namespace,
 * so every NAT node can use the same one. */
#define EMU_NAT_LOG_GROUP 28268 /* "nl" */
/* Bytes of each dropped packet copied to the log (IP and UDP/TCP headers,
 * the first bytes of the payload: a STUN header fits). */
#define EMU_NAT_LOG_SNAPLEN 128u

/* emu_nat_counter_name - "mappings_udp", "drop_filtering", ...: the name
 * of the counter object, of the drop log prefix, and of the key in the
 * evidence record; NULL out of range. emu_nat_counter_rule - the same
 * without the "drop_" prefix ("filtering"), as `drops[].rule` names it. */
const char *emu_nat_counter_name(enum emu_nat_counter c);
const char *emu_nat_counter_rule(enum emu_nat_counter c);
/* emu_nat_counter_parse - the counter called @name (either form), or -1. */
int emu_nat_counter_parse(const char *name);
/* emu_nat_counter_v6 - whether table EMU_NAT_TABLE6 has this counter too
 * (the firewall knobs apply to IPv6). */
bool emu_nat_counter_v6(enum emu_nat_counter c);

/* emu_nat_counters_read - the counters of node @n's NAT tables (IPv4 and
 * IPv6 summed) in @pkts, and in *@live_udp the UDP mappings live now (the
 * elements of set pused; NULL: not read). -ENOENT when the node has no NAT
 * table. Over the node's own netlink socket (libnftnl + libmnl). */
int emu_nat_counters_read(struct emu_node *n, uint64_t pkts[EMU_NAT_CTR_N], uint64_t *live_udp,
			  struct natlab_err *e);

/* ---- dropped packets, aggregated (pure: no kernel) ---- */

#define EMU_NAT_ADDRPORT_MAX 48 /* "[ffff:...:ffff]:65535" */
#define EMU_NAT_DROPS_MAX    32 /* distinct (rule, 5-tuple) entries kept */

struct emu_nat_drop {
	enum emu_nat_counter rule;
	uint8_t proto; /* IPPROTO_UDP, IPPROTO_TCP, ... */
	char src[EMU_NAT_ADDRPORT_MAX], dst[EMU_NAT_ADDRPORT_MAX]; /* "a.b.c.d:p", "[v6]:p" */
	uint64_t pkts;
	int64_t first_ms, last_ms; /* as given to emu_nat_drops_add */
};

/* Up to EMU_NAT_DROPS_MAX entries; a packet of a further 5-tuple is only
 * counted in other_pkts. */
struct emu_nat_drops {
	struct emu_nat_drop d[EMU_NAT_DROPS_MAX];
	unsigned n;
	uint64_t other_pkts; /* dropped packets of tuples past the bound */
	uint64_t unparsed;   /* logged packets whose headers could not be read */
};

/* emu_nat_drops_add - count one dropped IP packet (@ip, @len bytes from
 * its IP header on; may be cut) refused by the rule called @prefix, at
 * @t_ms. Unknown prefixes and unreadable headers count in unparsed. */
void emu_nat_drops_add(struct emu_nat_drops *a, const char *prefix, const void *ip, size_t len,
		       int64_t t_ms);

/* emu_nat_drops_sort - entries by packets, most first (ties: first seen). */
void emu_nat_drops_sort(struct emu_nat_drops *a);

/* emu_nat_nflog_parse - one nfnetlink_log packet message: the prefix (into
 * @prefix, NUL-terminated) and the logged bytes (*@payload points into
 * @nlh). 0, or -EINVAL when it is not a logged packet. */
struct nlmsghdr;
int emu_nat_nflog_parse(const struct nlmsghdr *nlh, char *prefix, size_t prefix_len,
			const void **payload, size_t *len);

/* ---- the drop log of one NAT node ---- */

struct emu_nat_droplog;

/* Bounds of the drops pcap: records of at most EMU_NAT_LOG_SNAPLEN bytes,
 * and the file stops growing past EMU_NAT_DROPS_PCAP_MAX bytes (later
 * drops are still counted and aggregated). */
#define EMU_NAT_DROPS_PCAP_MAX (256u << 10)

/* emu_nat_droplog_start - listen to node @n's log group EMU_NAT_LOG_GROUP
 * on a thread of the caller's process; every logged packet is aggregated
 * (times from CLOCK_MONOTONIC, ms) and, with @pcap_path, written to that
 * pcap file (LINKTYPE_RAW; made on the first drop, with its folder if
 * missing, so a NAT that dropped nothing leaves no file) until it holds
 * EMU_NAT_DROPS_PCAP_MAX bytes. Caller owns *@out. */
int emu_nat_droplog_start(struct emu_node *n, const char *pcap_path, struct emu_nat_droplog **out,
			  struct natlab_err *e);

struct emu_nat_droplog_stats {
	uint64_t logged;       /* packets received from the log */
	uint64_t lost;	       /* socket overruns (ENOBUFS), each one or more packets */
	uint64_t pcap_packets; /* written to the pcap */
	uint64_t pcap_bytes;   /* its size (0: no file made) */
	uint64_t pcap_skipped; /* not written: the file was full */
	int write_error;       /* first failed pcap write, or 0 */
};

/* emu_nat_droplog_snapshot - the aggregate so far (copied), and counters. */
void emu_nat_droplog_snapshot(struct emu_nat_droplog *d, struct emu_nat_drops *out,
			      struct emu_nat_droplog_stats *st);

/* emu_nat_droplog_stop - read what the socket still holds, stop the
 * thread, close the pcap; the final aggregate in @out and counters in @st
 * (either may be NULL). Frees @d; accepts NULL. */
void emu_nat_droplog_stop(struct emu_nat_droplog *d, struct emu_nat_drops *out,
			  struct emu_nat_droplog_stats *st);

#endif

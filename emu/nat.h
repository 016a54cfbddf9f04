/* nat.h - a kernel NAT built from independent RFC 4787 behaviours.
 *
 * A NAT is a router node whose IPv4 traffic leaving through its outside
 * interface is translated by nftables rules built here with libnftnl and
 * committed as one libmnl batch (emu/nft.h). Every behaviour is enforced by
 * explicit rules and dynamic sets filled from the packet path, never left
 * to what plain masquerade happens to do; docs/nat-model.md explains each
 * knob, each preset and the rules that enforce it. Every rule kind counts
 * what it did in a named counter, and every drop is logged: the NAT's
 * evidence, read with emu/nat_evidence.h.
 *
 * Scope: UDP gets the full model (mapping, filtering, ports, pooling,
 * hairpinning, timeouts). TCP and ICMP are translated with a per-flow
 * mapping onto the same public address(es) and are subject to the firewall
 * knobs; an unsolicited TCP SYN from outside to a public address is
 * dropped, not answered (RFC 5382 REQ-4). IPv6 is forwarded untranslated (no NAT66), subject to the same
 * firewall knobs.
 */
#ifndef NATLAB_EMU_NAT_H
#define NATLAB_EMU_NAT_H

#include <stdbool.h>
#include <stdint.h>
#include "emu/err.h"
#include "emu/node.h"

/* RFC 4787 §4.1: how an internal endpoint's public mapping may be reused. */
enum emu_nat_mapping {
	EMU_NAT_MAP_EI,	 /* endpoint-independent: one mapping for every destination */
	EMU_NAT_MAP_AD,	 /* address-dependent: one per destination address */
	EMU_NAT_MAP_APD, /* address-and-port-dependent: one per destination endpoint */
};

/* RFC 4787 §5: which outside endpoints may send in through a mapping. */
enum emu_nat_filtering {
	EMU_NAT_FILTER_EI,  /* endpoint-independent: anyone */
	EMU_NAT_FILTER_AD,  /* address-dependent: addresses the inside has sent to */
	EMU_NAT_FILTER_APD, /* address-and-port-dependent: endpoints the inside has sent to */
};

/* RFC 4787 §4.2.1: how the public port of a new mapping is chosen. */
enum emu_nat_ports {
	EMU_NAT_PORTS_PRESERVE,	  /* the internal port when free, else a random free one */
	EMU_NAT_PORTS_SEQUENTIAL, /* port_min, port_min+1, ... (wrapping) */
	EMU_NAT_PORTS_RANDOM,	  /* uniformly random in [port_min, port_max] */
};

#define EMU_NAT_ADDRS_MAX     8	 /* public addresses in a pool */
#define EMU_NAT_TCP_PORTS_MAX 16 /* entries of tcp_out_ports */
#define EMU_NAT_IFNAME_MAX    16 /* IFNAMSIZ */
#define EMU_NAT_ADDR_STR_MAX  16 /* "255.255.255.255" + NUL */

/* The knobs of one NAT. Plain data: copy it, change fields, apply it. */
struct emu_nat_config {
	bool translate; /* false: no NAT at all (firewall knobs still apply) */
	enum emu_nat_mapping mapping;
	enum emu_nat_filtering filtering;
	enum emu_nat_ports ports;
	uint16_t port_min, port_max; /* public port range, inclusive, 1..65535 */
	bool hairpin;		     /* RFC 4787 REQ-9 */
	unsigned udp_timeout_s;	     /* UDP mapping lifetime when idle; RFC 4787 REQ-5: >= 120 for a
					compliant NAT */
	bool inbound_refreshes;	     /* RFC 4787 REQ-6: inbound packets refresh the mapping too */
	bool udp_blocked;	     /* firewall: no UDP through at all */
	uint16_t tcp_out_ports[EMU_NAT_TCP_PORTS_MAX]; /* if n_tcp_out_ports: outbound TCP only to
							  these */
	unsigned n_tcp_out_ports;
	bool tcp_in_blocked; /* firewall: no TCP connection may be opened from outside */
	char inside_ifname[EMU_NAT_IFNAME_MAX];	 /* "" = every interface but the outside one */
	char outside_ifname[EMU_NAT_IFNAME_MAX]; /* required when translate */
	/* Public addresses (dotted quad), at least one when translate; they must
	 * be configured on the outside interface (or routed to the NAT). */
	char public_addrs[EMU_NAT_ADDRS_MAX][EMU_NAT_ADDR_STR_MAX];
	unsigned n_public_addrs;
	bool paired_pooling; /* RFC 4787 REQ-2: one public address per internal address */
	/* RFC 6888 REQ-4 (a CGN's per-subscriber port quota): at most this many
	 * UDP mappings per internal address at a time; a packet that would
	 * make one more is dropped with ICMP host unreachable (REQ-11).
	 * 0 = no limit. */
	unsigned udp_mappings_per_host;
	/* The home router's SIP ALG: the kernel's SIP conntrack helper
	 * (nf_conntrack_sip, with nf_nat_sip's rewriting of SIP headers and
	 * SDP to the public mapping) attached through nftables `ct helper`
	 * objects to every new flow to port EMU_NAT_SIP_PORT, UDP and TCP,
	 * from the inside. Off in every preset. docs/nat-model.md. */
	bool sip_alg;
	/* Port mapping served by the NAT (docs/nat-model.md "Port mapping"):
	 * a mask of EMU_NAT_PORTMAP_* (0 = none, every preset). The rules
	 * only need to know that a server may map ports: inbound UDP without
	 * a natlab mapping is then dropped after the server's DNAT rules
	 * (unless they translated it) instead of before conntrack, and the
	 * first apply creates the table the server writes into. The server
	 * itself (miniupnpd) is started by the harness, not here. */
	unsigned portmap;
};

/* Port-mapping protocols (knob portmap, any combination). */
enum emu_nat_portmap {
	EMU_NAT_PORTMAP_UPNP = 1u << 0,	  /* UPnP IGD (WANIPConnection) */
	EMU_NAT_PORTMAP_NATPMP = 1u << 1, /* RFC 6886 NAT-PMP */
	EMU_NAT_PORTMAP_PCP = 1u << 2,	  /* RFC 6887 PCP */
};
#define EMU_NAT_PORTMAP_ALL 7u

/* RFC 3261 (SIP URI port): "The default is 5060 for sip: using UDP, TCP, or
 * SCTP". */
#define EMU_NAT_SIP_PORT 5060

/* emu_nat_preset - fill *@cfg with the knobs of preset @name (see
 * emu_nat_preset_names) from the preset table. The interface names and
 * public addresses are left empty: the caller, who built the topology,
 * fills them. -ENOENT with the list of known presets in @e otherwise. */
int emu_nat_preset(const char *name, struct emu_nat_config *cfg, struct natlab_err *e);

/* emu_nat_preset_names - the preset names (aliases included), a static
 * NULL-terminated array. */
const char *const *emu_nat_preset_names(void);

/* emu_nat_preset_describe - one line: the device class @name stands for;
 * NULL for an unknown name. Static string. */
const char *emu_nat_preset_describe(const char *name);

/* emu_nat_preset_inner - for a stacked preset (cgnat: a home NAT behind a
 * carrier NAT), the preset of the inner (home) NAT; NULL for the others.
 * emu_nat_preset(@name) then gives the outer (carrier) NAT. The harness
 * builds: host - home NAT (outside in EMU_NAT_CGN_PREFIX) - carrier NAT -
 * internet, and applies one config to each NAT. */
const char *emu_nat_preset_inner(const char *name);
#define EMU_NAT_CGN_PREFIX "100.64.0.0/10" /* RFC 6598 shared address space */

/* emu_nat_config_check - whether @cfg is coherent (port range, timeout,
 * interfaces, addresses); a message naming the bad knob in @e. */
int emu_nat_config_check(const struct emu_nat_config *cfg, struct natlab_err *e);

/* EMU_NAT_TABLE - the nftables table (family ip) every NAT rule lives in;
 * one per router node. */
#define EMU_NAT_TABLE "natlab_nat"
/* ... and the table (family ip6) of its IPv6 firewall. */
#define EMU_NAT_TABLE6 "natlab_fw6"

struct emu_nft_batch;
/* emu_nat_build - append to @b the transaction that replaces tables
 * EMU_NAT_TABLE and EMU_NAT_TABLE6 with the rulesets for @cfg (create,
 * delete, create anew: atomic whether or not the tables existed). Pure: no
 * kernel, no root; the unit tests parse the batch back. */
int emu_nat_build(const struct emu_nat_config *cfg, struct emu_nft_batch *b, struct natlab_err *e);

/* emu_nat_build_table - emu_nat_build, but with @replace false the batch
 * only creates the table, for a node known to have none yet: a deletion in
 * a batch costs the kernel an RCU grace period (~10 ms). With @replace
 * false on a node that has the tables, the new rules would be added to the
 * old ones: emu_nat_apply asks the kernel first. */
int emu_nat_build_table(const struct emu_nat_config *cfg, struct emu_nft_batch *b, bool replace,
			struct natlab_err *e);

/* emu_nat_apply - make router node @router a NAT per @cfg: one nftables
 * batch replacing any earlier NAT ruleset of the node atomically, then a
 * flush of the node's conntrack table (ctnetlink over libmnl) so that no
 * flow created under the old rules shadows the new ones. Over an existing
 * NAT the new ruleset comes up dropping everything until that flush is
 * done, as emu_nat_flush does. @cfg is only read (nothing is kept).
 * Forwarding is not switched on here: see emu_route_forwarding. */
int emu_nat_apply(struct emu_node *router, const struct emu_nat_config *cfg, struct natlab_err *e);

/* emu_nat_flush - "NAT reboot": drop every mapping (the dynamic sets of
 * the NAT's table and the node's whole conntrack table); rules stay. One
 * step for the packets: the NAT drops everything while it forgets (a few
 * ms to tens of ms), so no live flow can teach it an old mapping back. */
int emu_nat_flush(struct emu_node *router, struct natlab_err *e);

/* Operations on the port-mapping server's rules (knob portmap, table
 * inet natlab_upnp): EMU_NAT_PORTMAP_FORGET empties miniupnpd's chains
 * (every mapping lost, as by a server restart: RFC 6887 §8.5);
 * EMU_NAT_PORTMAP_HOLLOW unhooks its DNAT chain (the server still answers
 * and adds rules, none takes effect: "answers without mapping");
 * EMU_NAT_PORTMAP_RESTORE hooks it back. */
enum emu_nat_portmap_op {
	EMU_NAT_PORTMAP_FORGET,
	EMU_NAT_PORTMAP_HOLLOW,
	EMU_NAT_PORTMAP_RESTORE,
};
/* emu_nat_portmap_rules - one such operation on node @router, one nftables
 * batch; -ENOENT (message) when the node has no portmap table. */
int emu_nat_portmap_rules(struct emu_node *router, enum emu_nat_portmap_op op,
			  struct natlab_err *e);

/* emu_nat_conntrack_flush - delete every conntrack entry of node @n. */
int emu_nat_conntrack_flush(struct emu_node *n, struct natlab_err *e);

/* Names for the enums, as used in presets, docs and scenario parameters
 * ("ei", "ad", "apd"; "preserve", "sequential", "random"), and back. */
const char *emu_nat_mapping_name(enum emu_nat_mapping m);
const char *emu_nat_filtering_name(enum emu_nat_filtering f);
const char *emu_nat_ports_name(enum emu_nat_ports p);
int emu_nat_mapping_parse(const char *s, enum emu_nat_mapping *m, struct natlab_err *e);
int emu_nat_filtering_parse(const char *s, enum emu_nat_filtering *f, struct natlab_err *e);
int emu_nat_ports_parse(const char *s, enum emu_nat_ports *p, struct natlab_err *e);
/* emu_nat_portmap_parse - "none", or names among upnp, natpmp, pcp
 * separated by commas ("upnp,pcp"), ORed into *@mask; -EINVAL naming the
 * bad word otherwise. emu_nat_portmap_name - one protocol's name. */
int emu_nat_portmap_parse(const char *s, unsigned *mask, struct natlab_err *e);
const char *emu_nat_portmap_name(enum emu_nat_portmap p);

#endif

/* nat_portmap.h - the nftables side of the NAT knob `portmap` (a UPnP
 * IGD / NAT-PMP / PCP server, miniupnpd, in the NAT node): the table the
 * server writes its mappings into and the gate that lets them past the
 * NAT's own filtering. Internal to emu/nat*.c; docs/nat-model.md
 * "Port mapping". */
#ifndef NATLAB_EMU_NAT_PORTMAP_H
#define NATLAB_EMU_NAT_PORTMAP_H

#include "emu/nat_expr.h"

/* The packet mark of an inbound UDP packet that natlab's own filtering
 * would refuse (no live mapping in pmap) on a NAT with `portmap`: instead
 * of dropping it in raw, before conntrack, raw marks it and the gate
 * (prerouting, after every dstnat chain) drops it unless a port mapping
 * translated it. Never leaves the node (a namespace crossing clears it). */
#define EMU_NAT_PORTMAP_MARK 0x6e6c0002u

/* The conntrack mark of a flow a port mapping let in (set by the gate on
 * its first packet). */
#define EMU_NAT_PORTMAP_CTMARK 0x6e6c0003u

/* The table (family inet) miniupnpd-nftables writes its rules into, and
 * its chains (miniupnpd's upnp_table_name, upnp_nat_table_name,
 * upnp_forward_chain, upnp_nat_chain, upnp_nat_postrouting_chain). */
#define EMU_NAT_PORTMAP_TABLE	   "natlab_upnp"
#define EMU_NAT_PORTMAP_FWD_CHAIN  "miniupnpd"
#define EMU_NAT_PORTMAP_DNAT_CHAIN "prerouting_miniupnpd"
#define EMU_NAT_PORTMAP_SNAT_CHAIN "postrouting_miniupnpd"

/* nat_portmap_mark_unmapped - end @r (a raw rule that matched an inbound
 * packet without a mapping) by marking the packet for the gate instead of
 * dropping it. */
void nat_portmap_mark_unmapped(struct nftnl_rule *r);

/* nat_portmap_build_gate - chain pmgate (prerouting -99, after natlab's
 * dstnat at -100 and miniupnpd's at -101): a marked packet that no DNAT
 * translated is dropped, counted and logged as drop_filtering. */
void nat_portmap_build_gate(struct nx_build *bd);

/* nat_portmap_skip_flows - first rule of @chain (learn, fw_forward):
 * packets of port-mapped flows (EMU_NAT_PORTMAP_CTMARK) leave it at once,
 * so natlab's sets never learn them: learnt, a mapped port would become a
 * natlab mapping too, filtered per the knob (new remotes refused under
 * APDF) and outliving the port mapping by udp_timeout_s. */
void nat_portmap_skip_flows(struct nx_build *bd, const char *chain);

/* nat_portmap_build_table - table inet natlab_upnp with miniupnpd's three
 * regular chains, empty, and the base chains that jump to them. Built at a
 * NAT's first apply only: a re-apply must not touch the mappings the
 * server holds. Leaves bd's table and family as they were. */
void nat_portmap_build_table(struct nx_build *bd);

/* nat_portmap_build_version_filter - with only one of NAT-PMP and PCP
 * asked for, chain pmversion (input 0) drops the other's requests. */
void nat_portmap_build_version_filter(struct nx_build *bd);

/* RFC 6886 §3.1 / RFC 6887 §19.1: the server's UDP port. */
#define EMU_NAT_PORTMAP_PORT 5351

#endif

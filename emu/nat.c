/* nat.c - the NAT engine: a config of RFC 4787 knobs becomes one nftables
 * transaction (libnftnl objects in one libmnl batch), see nat.h and
 * docs/nat-model.md.
 *
 * The shape of table ip natlab_nat (OUT = the outside interface; "fkey" is
 * the filtering key, "mkey" the mapping key, both listed below):
 *
 *   ct timeout udp_t             UDP conntrack lifetime = udp_timeout_s
 *   counter mappings_udp, ...    one per rule kind (nat_evidence.h); every
 *                                drop rule counts and logs to group 28268
 *                                (prefix: the counter's name) first
 *   map pmap  fkey -> a . p      live mappings seen from outside; timeout
 *   set fsent a . p . r [. s]    ADF/APDF under ADM/APDM: remotes sent to
 *   set pflow P . x . r . s      ... and the flows of each mapping
 *   map emap  mkey -> P . x      EIM/ADM: the public endpoint of a mapping
 *   set pports  x                preserve: public ports in use
 *   set iused   a . p            preserve under ADM/APDM: endpoint mapped
 *   map hmap  P . x -> a . p     hairpin on: where P:x leads
 *   set pused   P . x            every live public endpoint (port clash)
 *   set pubaddrs P               the public addresses
 *   map pool  i -> P_i           more than one public address
 *
 *   raw     prerouting -300: inbound UDP whose fkey is not in
 *                            pmap is dropped before conntrack sees it
 *                            (filtering + expiry); hairpin off: drop;
 *                            ADM/APDM filtering or no inbound refresh:
 *                            inbound delivered untracked (notrack +
 *                            stateless rewrite to a:p)
 *   pmgate  prerouting -99:  portmap: inbound UDP raw marked unmapped and
 *                            no DNAT translated (miniupnpd's table inet
 *                            natlab_upnp, prerouting -101): drop
 *   cttime  prerouting -150: ct timeout udp_t on new UDP flows
 *   dstnat  prerouting -100: inbound: dnat to fkey map @pmap (EIF/ADF
 *                            open a new flow to the mapping); hairpin
 *   srcnat  postrouting 100: EIM/ADM: snat to mkey map @emap; else goto
 *                            newmap (also from the hairpin rules)
 *   newmap  (regular chain): a new mapping: preserve / sequential /
 *                            random; a drawn port is marked
 *   learn   postrouting 200: a drawn port already in pused: drop; after
 *                            NAT: update pmap, emap, pports, iused, hmap,
 *                            pused from the translated packet and
 *                            conntrack (hairpinned packets too); ADF/APDF
 *                            filter of hairpinned packets
 *   fw_forward forward 0:      firewall knobs; inbound refresh of the sets;
 *                              per-host UDP quota (set quota: a -> ct count)
 *   alg     prerouting 0:    sip_alg: ct helper "sip-udp"/"sip-tcp" on new
 *                            flows from the inside to port 5060
 *   fw_input input 0:          inbound TCP blocked; else an unsolicited
 *                              SYN from outside is dropped, not reset
 *                              (RFC 5382 REQ-4) unless a local socket
 *                              wants it
 *
 * and table ip6 natlab_fw6 (IPv6 is not translated): the firewall knobs,
 * and with translate, no UDP/TCP flow opened from outside.
 *
 * a:p is the internal endpoint, P:x its public mapping, r:s the remote.
 * fkey: EIF  P . x        mkey: EIM  a . p
 *       ADF  P . x . r          ADM  a . p . r
 *       APDF P . x . r . s      APDM (none: conntrack is per 5-tuple)
 * (under ADM/APDM, ADF/APDF use fkey P . x and check fsent per endpoint)
 */
#include "emu/nat.h"
#include "emu/nat_portmap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>

#include "emu/nft.h"

#include "emu/nat_expr.h"

/* ---- the keys */

/* RFC 4787 §5 defines filtering per internal endpoint: ADF "will filter
 * out packets from Y:y destined for the internal endpoint X:x if X:x has
 * not sent packets to Y:any previously". Under EIM an endpoint has one
 * mapping, so keying the filter by the mapping (P . x . r) is the same
 * thing and cheaper. Under ADM/APDM an endpoint has several mappings and
 * a packet from Y arriving at any of them must pass once X:x has sent to Y
 * through any of them: pmap is then keyed by P . x alone (which internal
 * endpoint a mapping leads to) and set fsent holds a . p . r [. s], the
 * remotes each internal endpoint has sent to. */
static bool per_endpoint(const struct emu_nat_config *c)
{
	return c->filtering != EMU_NAT_FILTER_EI && c->mapping != EMU_NAT_MAP_EI;
}

/* Which inbound UDP packets reach the inside untracked (see
 * build_raw_stateless): all of them when only outbound packets may
 * refresh a mapping; under per-endpoint filtering with inbound refresh,
 * those outside the flows of their mapping (set pflow). */
static bool has_pflow(const struct emu_nat_config *c)
{
	return per_endpoint(c) && c->inbound_refreshes;
}

static bool has_stateless(const struct emu_nat_config *c)
{
	return per_endpoint(c) || !c->inbound_refreshes;
}

/* Fields of pmap's key: P . x, then r (ADF) and s (APDF) when the filter
 * is keyed by the mapping. */
static unsigned fkey_n(const struct emu_nat_config *c)
{
	if (per_endpoint(c) || c->filtering == EMU_NAT_FILTER_EI)
		return 2;
	return c->filtering == EMU_NAT_FILTER_AD ? 3 : 4;
}

static unsigned fkey_in(const struct emu_nat_config *c, enum nx_field *f)
{
	/* As an inbound packet shows it, before DNAT: P . x [. r [. s]]. */
	f[0] = F_IP_DADDR;
	f[1] = F_DPORT;
	f[2] = F_IP_SADDR;
	f[3] = F_SPORT;
	return fkey_n(c);
}

static unsigned fkey_out(const struct emu_nat_config *c, enum nx_field *f)
{
	/* As an outbound packet shows it after SNAT. */
	f[0] = F_IP_SADDR;
	f[1] = F_SPORT;
	f[2] = F_IP_DADDR;
	f[3] = F_DPORT;
	return fkey_n(c);
}

static bool has_emap(const struct emu_nat_config *c)
{
	return c->mapping != EMU_NAT_MAP_APD;
}

static bool has_iused(const struct emu_nat_config *c)
{
	return c->ports == EMU_NAT_PORTS_PRESERVE && c->mapping != EMU_NAT_MAP_EI;
}

static bool has_pool(const struct emu_nat_config *c)
{
	return c->n_public_addrs > 1;
}

/* The public address of a new mapping into R_ADDR. RFC 4787 REQ-2: "It is
 * RECOMMENDED that a NAT have an 'IP address pooling' behavior of
 * 'Paired'": the address is a hash of the internal address (the same
 * internal host always gets the same public address); arbitrary pooling
 * picks one at random per mapping. */
static void load_public_addr(struct nx_build *bd, struct nftnl_rule *r)
{
	const struct emu_nat_config *c = bd->c;
	struct nftnl_expr *x;
	struct in_addr a;

	if (!has_pool(c)) {
		inet_pton(AF_INET, c->public_addrs[0], &a);
		nx_imm(r, R_ADDR, &a, 4);
		return;
	}
	if (c->paired_pooling) {
		nx_load_field(r, F_IP_SADDR, R_IDX);
		x = nx_ex(r, "hash");
		if (!x)
			return;
		nftnl_expr_set_u32(x, NFTNL_EXPR_HASH_TYPE, NFT_HASH_JENKINS);
		nftnl_expr_set_u32(x, NFTNL_EXPR_HASH_SREG, R_IDX);
		nftnl_expr_set_u32(x, NFTNL_EXPR_HASH_DREG, R_IDX);
		nftnl_expr_set_u32(x, NFTNL_EXPR_HASH_LEN, 4);
		nftnl_expr_set_u32(x, NFTNL_EXPR_HASH_MODULUS, c->n_public_addrs);
		nftnl_expr_set_u32(x, NFTNL_EXPR_HASH_SEED,
				   0x6e61746c); /* fixed: reproducible runs */
	} else {
		x = nx_ex(r, "numgen");
		if (!x)
			return;
		nftnl_expr_set_u32(x, NFTNL_EXPR_NG_TYPE, NFT_NG_RANDOM);
		nftnl_expr_set_u32(x, NFTNL_EXPR_NG_DREG, R_IDX);
		nftnl_expr_set_u32(x, NFTNL_EXPR_NG_MODULUS, c->n_public_addrs);
	}
	x = nx_ex(r, "lookup");
	if (!x)
		return;
	nftnl_expr_set_str(x, NFTNL_EXPR_LOOKUP_SET, "pool");
	nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_SREG, R_IDX);
	nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_DREG, R_ADDR);
}

static void load_port_range(struct nftnl_rule *r, uint16_t lo, uint16_t hi)
{
	uint16_t a = htons(lo);
	uint16_t b = htons(hi);

	nx_imm(r, R_PORT, &a, 2);
	nx_imm(r, R_PORT_MAX, &b, 2);
}

/* ---- chains */

static void build_sets(struct nx_build *bd)
{
	const struct emu_nat_config *c = bd->c;
	enum nx_field fk[4], mk[3] = {F_IP_SADDR, F_SPORT, F_IP_DADDR};
	const enum nx_field ap[2] = {F_IP_SADDR, F_SPORT};
	uint32_t addrs[EMU_NAT_ADDRS_MAX];
	uint32_t idx[EMU_NAT_ADDRS_MAX];
	struct nftnl_obj *o;
	uint32_t t[NFTNL_CTTIMEOUT_ARRAY_MAX] = {0};

	/* RFC 4787 REQ-5: the mapping lifetime. Conntrack must not keep a flow
	 * (and so its translation) longer than the NAT's sets keep the
	 * mapping, nor drop it sooner. */
	o = nftnl_obj_alloc();
	if (!o) {
		bd->ret = natlab_err_set(bd->e, ENOMEM, "NAT: ct timeout");
		return;
	}
	t[NFTNL_CTTIMEOUT_UDP_UNREPLIED] = c->udp_timeout_s;
	t[NFTNL_CTTIMEOUT_UDP_REPLIED] = c->udp_timeout_s;
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, EMU_NAT_TABLE);
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, "udp_t");
	nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY, NFPROTO_IPV4);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_CT_TIMEOUT);
	nftnl_obj_set_u16(o, NFTNL_OBJ_CT_TIMEOUT_L3PROTO, NFPROTO_IPV4);
	nftnl_obj_set_u8(o, NFTNL_OBJ_CT_TIMEOUT_L4PROTO, IPPROTO_UDP);
	nftnl_obj_set_data(o, NFTNL_OBJ_CT_TIMEOUT_ARRAY, t, sizeof(t));
	if (emu_nft_batch_add_obj(bd->b, o) < 0)
		bd->ret = natlab_err_msg(bd->e, ENOSPC, "NAT: ruleset too large for one batch");
	nftnl_obj_free(o);

	nx_dyn_set_add(bd, "pmap", fk, fkey_out(c, fk), ap, 2);
	if (per_endpoint(c)) {
		const enum nx_field sk[4] = {F_IP_SADDR, F_SPORT, F_IP_DADDR, F_DPORT};
		nx_dyn_set_add(bd, "fsent", sk, c->filtering == EMU_NAT_FILTER_AD ? 3 : 4, NULL, 0);
		if (has_pflow(c))
			nx_dyn_set_add(bd, "pflow", sk, 4, NULL, 0);
	}
	if (has_emap(c))
		nx_dyn_set_add(bd, "emap", mk, c->mapping == EMU_NAT_MAP_EI ? 2 : 3, ap, 2);
	if (c->ports == EMU_NAT_PORTS_PRESERVE)
		nx_dyn_set_add(bd, "pports", &ap[1], 1, NULL, 0);
	nx_dyn_set_add(bd, "pused", ap, 2, NULL, 0);
	if (has_iused(c))
		nx_dyn_set_add(bd, "iused", ap, 2, NULL, 0);
	if (c->hairpin)
		nx_dyn_set_add(bd, "hmap", ap, 2, ap, 2);
	for (unsigned i = 0; i < c->n_public_addrs; i++) {
		struct in_addr a;
		inet_pton(AF_INET, c->public_addrs[i], &a);
		addrs[i] = a.s_addr;
		idx[i] = i; /* host order, as numgen and hash produce it */
	}
	nx_const_set_add(bd, "pubaddrs", TYPE_IPADDR, 4, addrs, 0, 0, NULL, c->n_public_addrs);
	if (has_pool(c))
		nx_const_set_add(bd, "pool", TYPE_INTEGER, 4, idx, TYPE_IPADDR, 4, addrs,
				 c->n_public_addrs);
}

/* payload write of register @reg into the IPv4 destination address or the
 * UDP destination port, with the checksums fixed up. */
static void payload_write(struct nftnl_rule *r, enum nx_field f, uint32_t reg)
{
	struct nftnl_expr *x = nx_ex(r, "payload");
	bool addr = f == F_IP_DADDR;

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_SREG, reg);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_BASE,
			   addr ? NFT_PAYLOAD_NETWORK_HEADER : NFT_PAYLOAD_TRANSPORT_HEADER);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_OFFSET, addr ? 16 : 2);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_LEN, addr ? 4 : 2);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_CSUM_TYPE, NFT_PAYLOAD_CSUM_INET);
	/* the IPv4 header checksum, or the UDP checksum */
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_CSUM_OFFSET, addr ? 10 : 6);
	if (addr) /* the address is in the UDP pseudo-header too */
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_FLAGS, NFT_PAYLOAD_L4CSUM_PSEUDOHDR);
}

/* Inbound UDP delivered without conntrack: `notrack` and a stateless
 * rewrite of the destination P:x to X:x (from pmap), checksums fixed up.
 *
 * Per-endpoint filtering (ADM/APDM): a packet from Y:y that passed the
 * filter at mapping P:x but belongs to no flow of that mapping (pflow).
 * Opening a flow for it, as EIM's DNAT does, would be wrong twice: when
 * X:x already has a flow to Y:y through its mapping for Y, the new flow's
 * reply tuple X:x -> Y:y clashes with it and the kernel rewrites Y's
 * source port to a random one (X:x would see the packet from a port Y
 * never used); and X:x's answers would leave from P:x instead of the
 * mapping the mapping behaviour gives for Y. Untracked, the packet reaches
 * X:x from Y:y itself and X:x's answer is an ordinary outbound packet,
 * mapped by srcnat like any other.
 *
 * Outbound refresh only (RFC 4787 REQ-6 with inbound_refreshes off):
 * every inbound packet, so that conntrack sees outbound packets only and
 * its timeout, like the sets', runs from the last outbound packet. A
 * reply seen by conntrack would refresh the flow, and with it the old
 * public port, after the mapping expired. */
static void build_raw_stateless(struct nx_build *bd)
{
	const struct emu_nat_config *c = bd->c;
	const enum nx_field fl[4] = {F_IP_DADDR, F_DPORT, F_IP_SADDR, F_SPORT};
	struct nftnl_rule *r;
	struct nftnl_expr *x;

	if (has_pflow(c)) {
		/* A packet of a flow of this very mapping: conntrack
		 * translates it. */
		r = nx_rule_new(bd, "raw");
		if (r) {
			nx_match_ifname(r, true, c->outside_ifname, true);
			nx_match_l4(r, IPPROTO_UDP, true);
			nx_lookup(r, "pflow", fl, 4, false, 0);
			nx_verdict(r, NF_ACCEPT);
		}
		nx_rule_add(bd, r);
	}
	r = nx_rule_new(bd, "raw");
	if (!r)
		return;
	nx_match_ifname(r, true, c->outside_ifname, true);
	nx_match_l4(r, IPPROTO_UDP, true);
	nx_lookup(r, "pmap", fl, fkey_n(c), false, R_ADDR);
	if (c->inbound_refreshes) {
		/* RFC 4787 REQ-6 (inbound refresh, a MAY): the mapping and the
		 * filter entry live on; the key P . x is still in R_KEY. */
		x = nx_ex(r, "dynset");
		if (x) {
			nftnl_expr_set_str(x, NFTNL_EXPR_DYNSET_SET_NAME, "pmap");
			nftnl_expr_set_u32(x, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
			nftnl_expr_set_u32(x, NFTNL_EXPR_DYNSET_SREG_KEY, R_KEY);
			nftnl_expr_set_u32(x, NFTNL_EXPR_DYNSET_SREG_DATA, R_ADDR);
			nftnl_expr_set_u64(x, NFTNL_EXPR_DYNSET_TIMEOUT, bd->timeout_ms);
		}
		nx_load_field(r, F_IP_SADDR, R_ADDR + 2);
		if (c->filtering == EMU_NAT_FILTER_APD)
			nx_load_field(r, F_SPORT, R_ADDR + 3);
		x = nx_ex(r, "dynset");
		if (x) {
			nftnl_expr_set_str(x, NFTNL_EXPR_DYNSET_SET_NAME, "fsent");
			nftnl_expr_set_u32(x, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
			nftnl_expr_set_u32(x, NFTNL_EXPR_DYNSET_SREG_KEY, R_ADDR);
			nftnl_expr_set_u64(x, NFTNL_EXPR_DYNSET_TIMEOUT, bd->timeout_ms);
		}
	}
	nx_ex(r, "notrack");
	payload_write(r, F_IP_DADDR, R_ADDR);
	payload_write(r, F_DPORT, R_PORT);
	nx_rule_add(bd, r);
}

static void build_raw(struct nx_build *bd)
{
	const struct emu_nat_config *c = bd->c;
	const enum nx_field daddr = F_IP_DADDR;
	enum nx_field fk[4];
	struct nftnl_rule *r;
	struct nftnl_expr *x;

	nx_chain_add(bd, "raw", "filter", NF_INET_PRE_ROUTING, -300);
	/* Every UDP flow through this NAT lives udp_timeout_s when idle. The
	 * kernel attaches a timeout policy only to a conntrack entry that
	 * exists and is not yet confirmed (nft_ct_timeout_obj_eval returns
	 * early otherwise): after conntrack (-200), in the flow's first
	 * packet's path. In raw, before conntrack, it was silently a no-op
	 * and flows got the kernel's 30 s / 120 s. */
	nx_chain_add(bd, "cttime", "filter", NF_INET_PRE_ROUTING, -150);
	r = nx_rule_new(bd, "cttime");
	if (r) {
		nx_match_l4(r, IPPROTO_UDP, true);
		x = nx_ex(r, "objref");
		if (x) {
			nftnl_expr_set_u32(x, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_CT_TIMEOUT);
			nftnl_expr_set_str(x, NFTNL_EXPR_OBJREF_IMM_NAME, "udp_t");
		}
	}
	nx_rule_add(bd, r);
	/* RFC 4787 §5 filtering, and expiry. EIF: "The NAT filters out only
	 * packets not destined to the internal address and port X:x,
	 * regardless of the external IP address and port source (Z:z)"; ADF:
	 * it also "will filter out packets from Y:y destined for the internal
	 * endpoint X:x if X:x has not sent packets to Y previously"; APDF: the
	 * same with Y:y. An inbound UDP packet passes only if its filtering
	 * key names a live mapping; dropped here, before conntrack, so that a
	 * refused packet does not keep an old flow alive either. With
	 * portmap, a port-mapping server may have mapped the port: the
	 * packet is marked here and dropped by the gate after the server's
	 * DNAT, unless that translated it (nat_portmap.h). */
	r = nx_rule_new(bd, "raw");
	if (r) {
		nx_match_ifname(r, true, c->outside_ifname, true);
		nx_match_l4(r, IPPROTO_UDP, true);
		nx_lookup(r, "pmap", fk, fkey_in(c, fk), true, 0);
		if (c->portmap)
			nat_portmap_mark_unmapped(r);
		else
			nx_drop_counted(r, EMU_NAT_CTR_DROP_FILTERING);
	}
	nx_rule_add(bd, r);
	if (per_endpoint(c)) {
		/* Two steps: the internal endpoint X:x behind P:x (pmap), then
		 * whether X:x has sent to Y (ADF) or Y:y (APDF) through any of
		 * its mappings (fsent). The key X . x . Y [. y] is built in the
		 * registers right after the looked-up X . x. */
		r = nx_rule_new(bd, "raw");
		if (r) {
			nx_match_ifname(r, true, c->outside_ifname, true);
			nx_match_l4(r, IPPROTO_UDP, true);
			nx_lookup(r, "pmap", fk, 2, false, R_ADDR);
			nx_load_field(r, F_IP_SADDR, R_ADDR + 2);
			if (c->filtering == EMU_NAT_FILTER_APD)
				nx_load_field(r, F_SPORT, R_ADDR + 3);
			x = nx_ex(r, "lookup");
			if (x) {
				nftnl_expr_set_str(x, NFTNL_EXPR_LOOKUP_SET, "fsent");
				nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_SREG, R_ADDR);
				nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
			}
			nx_drop_counted(r, EMU_NAT_CTR_DROP_FILTERING);
		}
		nx_rule_add(bd, r);
	}
	if (has_stateless(c))
		build_raw_stateless(bd);
	if (!c->hairpin) {
		/* Hairpinning off: the inside cannot reach a public mapping. */
		r = nx_rule_new(bd, "raw");
		if (r) {
			nx_match_inside(bd, r, true);
			nx_match_l4(r, IPPROTO_UDP, true);
			nx_lookup(r, "pubaddrs", &daddr, 1, false, 0);
			nx_drop_counted(r, EMU_NAT_CTR_DROP_NO_HAIRPIN);
		}
		nx_rule_add(bd, r);
	}
}

static void build_dstnat(struct nx_build *bd)
{
	const struct emu_nat_config *c = bd->c;
	const enum nx_field px[2] = {F_IP_DADDR, F_DPORT};
	enum nx_field fk[4];
	struct nftnl_rule *r;

	nx_chain_add(bd, "dstnat", "nat", NF_INET_PRE_ROUTING, -100);
	/* A first packet from outside that passed the filter opens a flow to
	 * the internal endpoint of the mapping (with EIF or ADF it may come
	 * from an endpoint the inside never sent to). */
	r = nx_rule_new(bd, "dstnat");
	if (r) {
		nx_match_ifname(r, true, c->outside_ifname, true);
		nx_match_l4(r, IPPROTO_UDP, true);
		nx_lookup(r, "pmap", fk, fkey_in(c, fk), false, R_ADDR);
		nx_nat(r, NFT_NAT_DNAT, true, false, 0);
	}
	nx_rule_add(bd, r);
	if (c->hairpin) {
		/* RFC 4787 REQ-9: "A NAT MUST support 'Hairpinning'": a packet
		 * from the inside to a public mapping goes to its internal
		 * endpoint. */
		r = nx_rule_new(bd, "dstnat");
		if (r) {
			nx_match_inside(bd, r, true);
			nx_match_l4(r, IPPROTO_UDP, true);
			nx_lookup(r, "hmap", px, 2, false, R_ADDR);
			nx_nat(r, NFT_NAT_DNAT, true, false, 0);
		}
		nx_rule_add(bd, r);
	}
}

/* A rule in srcnat for UDP leaving through the outside (or, for hairpin,
 * leaving back inside after DNAT to a public address). */
static struct nftnl_rule *srcnat_udp_rule(struct nx_build *bd, bool hairpin)
{
	const enum nx_field odaddr = F_CTO_DADDR;
	struct nftnl_rule *r = nx_rule_new(bd, "srcnat");

	if (!r)
		return NULL;
	if (hairpin) {
		nx_match_inside(bd, r, true);
		nx_match_inside(bd, r, false);
		nx_lookup(r, "pubaddrs", &odaddr, 1, false, 0);
	} else {
		nx_match_ifname(r, false, bd->c->outside_ifname, true);
	}
	nx_match_l4(r, IPPROTO_UDP, true);
	return r;
}

static void goto_chain(struct nftnl_rule *r, const char *chain)
{
	struct nftnl_expr *x = nx_ex(r, "immediate");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_VERDICT, (uint32_t)NFT_GOTO);
	nftnl_expr_set_str(x, NFTNL_EXPR_IMM_CHAIN, chain);
}

/* The packet mark of the first packet of a mapping whose public port
 * was drawn (random, sequential, preserve's fallback). The mark does not
 * leave the NAT node: crossing into another namespace clears it. */
#define FRESH_MARK 0x6e6c0001u

/* RFC 4787 REQ-3: "A NAT MUST NOT have a 'Port assignment' behavior of
 * 'Port overloading'", and §4.1 (ADM/APDM): X1':x1' equals X2':x2' only
 * for the same Y (ADM) or Y:y (APDM). The kernel draws a random or
 * sequential port unique per 5-tuple only, so a port already mapped
 * toward another destination (for another internal endpoint, or for this
 * one under ADM/APDM) may come out again, with probability about
 * mappings/range. Such a first packet is dropped here, in postrouting
 * after SNAT and before conntrack confirms the flow: the drawn mapping
 * is undone and the sender's next packet draws again. Set pused holds
 * every live public endpoint P . x (learnt below, like the others). */
static void build_port_clash(struct nx_build *bd)
{
	const enum nx_field px[2] = {F_IP_SADDR, F_SPORT};
	const uint32_t mark = FRESH_MARK;
	struct nftnl_rule *r = nx_rule_new(bd, "learn");

	if (!r)
		return;
	nx_meta(r, NFT_META_MARK, NFT_REG_1);
	nx_cmp(r, NFT_REG_1, NFT_CMP_EQ, &mark, sizeof(mark));
	nx_match_l4(r, IPPROTO_UDP, true);
	nx_lookup(r, "pused", px, 2, false, 0);
	nx_drop_counted(r, EMU_NAT_CTR_DROP_PORT_CLASH);
	nx_rule_add(bd, r);
}

/* Chain newmap (regular, reached by goto from srcnat for UDP leaving
 * through the outside and for hairpinned UDP): a new mapping. One chain
 * for both, so that sequential assignment has one counter: two counters
 * would each start at port_min and hand out the same ports. */
static void build_new_mapping(struct nx_build *bd)
{
	const struct emu_nat_config *c = bd->c;
	const enum nx_field ap[2] = {F_IP_SADDR, F_SPORT};
	struct nftnl_rule *r;
	struct nftnl_expr *x;

	if (c->ports == EMU_NAT_PORTS_PRESERVE) {
		/* RFC 4787 §4.2.1: a NAT "MAY attempt to preserve" the internal
		 * port; REQ-3: "A NAT MUST NOT have a 'Port assignment' behavior
		 * of 'Port overloading'": keep the internal port only when no
		 * other mapping uses it. Under ADM/APDM only for the endpoint's
		 * first mapping, so that a second destination really gets a
		 * different mapping. The kernel keeps the source port when it
		 * lies in the range and the tuple is free. */
		r = nx_rule_new(bd, "newmap");
		if (r) {
			nx_lookup(r, "pports", &ap[1], 1, true, 0);
			if (has_iused(c))
				nx_lookup(r, "iused", ap, 2, true, 0);
			load_public_addr(bd, r);
			load_port_range(r, c->port_min, c->port_max);
			nx_nat(r, NFT_NAT_SNAT, true, true, 0);
		}
		nx_rule_add(bd, r);
	}
	r = nx_rule_new(bd, "newmap");
	if (!r)
		return;
	/* a port chosen here may be taken already: see build_port_clash */
	nx_set_mark(r, FRESH_MARK);
	load_public_addr(bd, r);
	if (c->ports == EMU_NAT_PORTS_SEQUENTIAL) {
		/* A counter per rule: this rule sees only the first packet of a
		 * new mapping, so public ports go port_min, port_min+1, ... */
		x = nx_ex(r, "numgen");
		if (x) {
			nftnl_expr_set_u32(x, NFTNL_EXPR_NG_TYPE, NFT_NG_INCREMENTAL);
			nftnl_expr_set_u32(x, NFTNL_EXPR_NG_DREG, R_PORT);
			nftnl_expr_set_u32(x, NFTNL_EXPR_NG_MODULUS,
					   (uint32_t)c->port_max - c->port_min + 1);
			nftnl_expr_set_u32(x, NFTNL_EXPR_NG_OFFSET, c->port_min);
		}
		/* numgen gives a host-order u32; nat reads a network-order u16. */
		x = nx_ex(r, "byteorder");
		if (x) {
			nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_SREG, R_PORT);
			nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_DREG, R_PORT);
			nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
			nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_LEN, 2);
			nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_SIZE, 2);
		}
		nx_nat(r, NFT_NAT_SNAT, true, false, 0);
	} else {
		/* Random (or preserve's fallback): fully random in the range,
		 * never the kernel's "keep the source port if it can". */
		load_port_range(r, c->port_min, c->port_max);
		nx_nat(r, NFT_NAT_SNAT, true, true, NF_NAT_RANGE_PROTO_RANDOM_FULLY);
	}
	nx_rule_add(bd, r);
}

static void build_srcnat(struct nx_build *bd)
{
	const struct emu_nat_config *c = bd->c;
	const enum nx_field mk[3] = {F_IP_SADDR, F_SPORT, F_IP_DADDR};
	struct nftnl_rule *r;

	nx_chain_add(bd, "srcnat", "nat", NF_INET_POST_ROUTING, 100);
	nx_chain_add(bd, "newmap", NULL, 0, 0);
	build_new_mapping(bd);
	if (c->hairpin) {
		/* RFC 4787 REQ-9 a): "A NAT Hairpinning behavior MUST be
		 * 'External source IP address and port'": the hairpinned packet
		 * leaves from the sender's mapping (its existing one under EIM,
		 * else a new one). */
		if (c->mapping == EMU_NAT_MAP_EI) {
			r = srcnat_udp_rule(bd, true);
			if (r) {
				nx_lookup(r, "emap", mk, 2, false, R_ADDR);
				nx_nat(r, NFT_NAT_SNAT, true, false, 0);
			}
			nx_rule_add(bd, r);
		}
		r = srcnat_udp_rule(bd, true);
		if (r)
			goto_chain(r, "newmap");
		nx_rule_add(bd, r);
	}
	if (has_emap(c)) {
		/* RFC 4787 REQ-1: "A NAT MUST have an 'Endpoint-Independent
		 * Mapping' behavior" (§4.1: "X1':x1' equals X2':x2' for all
		 * values of Y2:y2"): the mapping of X:x is reused for every
		 * destination (EIM: key X:x), or, under ADM, "if and only if, Y2
		 * equals Y1" (key X:x . Y). APDM needs no map: conntrack keys a
		 * flow by Y:y already. */
		r = srcnat_udp_rule(bd, false);
		if (r) {
			nx_lookup(r, "emap", mk, c->mapping == EMU_NAT_MAP_EI ? 2 : 3, false,
				  R_ADDR);
			nx_nat(r, NFT_NAT_SNAT, true, false, 0);
		}
		nx_rule_add(bd, r);
	}
	r = srcnat_udp_rule(bd, false);
	if (r)
		goto_chain(r, "newmap");
	nx_rule_add(bd, r);
	/* TCP, ICMP and the rest: one translation per flow onto the public
	 * address, source port kept where free (RFC 5382 behaviour is not
	 * modelled knob by knob). */
	r = nx_rule_new(bd, "srcnat");
	if (r) {
		nx_match_ifname(r, false, c->outside_ifname, true);
		nx_match_l4(r, IPPROTO_UDP, false);
		load_public_addr(bd, r);
		nx_nat(r, NFT_NAT_SNAT, false, false, 0);
	}
	nx_rule_add(bd, r);
}

/* A hairpinned packet in postrouting: in from the inside, back out to
 * the inside, its flow addressed to a public address. */
static void match_hairpinned(struct nx_build *bd, struct nftnl_rule *r)
{
	const enum nx_field odaddr = F_CTO_DADDR;

	nx_match_inside(bd, r, true);
	nx_match_inside(bd, r, false);
	nx_lookup(r, "pubaddrs", &odaddr, 1, false, 0);
}

/* The sets learn a mapping from a translated packet. @out: an outbound
 * packet after SNAT (postrouting); else an inbound one after DNAT
 * (forward), for inbound refresh. @hairpin (with @out): a hairpinned
 * packet, inside to inside through a public address, after both its NATs:
 * it left through the sender's mapping (RFC 4787 REQ-9 a) and went to
 * the remote the conntrack tuple of its direction names (a public
 * endpoint), so it is learnt like an outbound packet to that remote, and
 * the receiver's filter can then tell whether it was solicited. @dir: its
 * conntrack direction. */
static void build_learn(struct nx_build *bd, const char *chain, bool out, bool hairpin, uint8_t dir)
{
	const struct emu_nat_config *c = bd->c;
	/* The internal endpoint a . p and the public one P . x, and the
	 * remote r . s, as this packet and its conntrack entry show them. */
	enum nx_field a, p, P, x, rr, s;
	struct nftnl_rule *r;
	enum nx_field k[4], d[2];
	unsigned nk;

	if (out) {
		P = F_IP_SADDR, x = F_SPORT, rr = F_IP_DADDR, s = F_DPORT;
		if (hairpin) {
			/* the packet's destination is internal by now */
			rr = dir == IP_CT_DIR_ORIGINAL ? F_CTO_DADDR : F_CTR_DADDR;
			s = dir == IP_CT_DIR_ORIGINAL ? F_CTO_DPORT : F_CTR_DPORT;
		}
		a = dir == IP_CT_DIR_ORIGINAL ? F_CTO_SADDR : F_CTR_SADDR;
		p = dir == IP_CT_DIR_ORIGINAL ? F_CTO_SPORT : F_CTR_SPORT;
	} else {
		a = F_IP_DADDR, p = F_DPORT, rr = F_IP_SADDR, s = F_SPORT;
		P = dir == IP_CT_DIR_REPLY ? F_CTR_DADDR : F_CTO_DADDR;
		x = dir == IP_CT_DIR_REPLY ? F_CTR_DPORT : F_CTO_DPORT;
	}
	for (int which = 0; which < 8; which++) {
		const char *set = NULL;
		unsigned nd = 2;
		switch (which) {
		case 0:
			set = "pmap";
			k[0] = P, k[1] = x, k[2] = rr, k[3] = s;
			nk = fkey_n(c);
			d[0] = a, d[1] = p;
			break;
		case 5:
			if (!per_endpoint(c))
				continue;
			set = "fsent";
			k[0] = a, k[1] = p, k[2] = rr, k[3] = s;
			nk = c->filtering == EMU_NAT_FILTER_AD ? 3 : 4, nd = 0;
			break;
		case 6:
			/* flows of a mapping with the outside only */
			if (!has_pflow(c) || hairpin)
				continue;
			set = "pflow";
			k[0] = P, k[1] = x, k[2] = rr, k[3] = s;
			nk = 4, nd = 0;
			break;
		case 1:
			if (!has_emap(c))
				continue;
			set = "emap";
			k[0] = a, k[1] = p, k[2] = rr;
			nk = c->mapping == EMU_NAT_MAP_EI ? 2 : 3;
			d[0] = P, d[1] = x;
			break;
		case 2:
			if (c->ports != EMU_NAT_PORTS_PRESERVE)
				continue;
			set = "pports";
			k[0] = x, nk = 1, nd = 0;
			break;
		case 3:
			if (!has_iused(c))
				continue;
			set = "iused";
			k[0] = a, k[1] = p, nk = 2, nd = 0;
			break;
		case 7:
			set = "pused";
			k[0] = P, k[1] = x, nk = 2, nd = 0;
			break;
		case 4:
			if (!c->hairpin)
				continue;
			set = "hmap";
			k[0] = P, k[1] = x, nk = 2;
			d[0] = a, d[1] = p;
			break;
		}
		r = nx_rule_new(bd, chain);
		if (!r)
			return;
		if (hairpin)
			match_hairpinned(bd, r);
		else
			nx_match_ifname(r, !out, c->outside_ifname, true);
		nx_match_l4(r, IPPROTO_UDP, true);
		nx_match_ct_dir(r, dir);
		nx_update(bd, r, set, k, nk, d, nd);
		nx_rule_add(bd, r);
	}
}

/* RFC 4787 §6: "Hairpinning allows two endpoints on the internal side of
 * the NAT to communicate even if they only use each other's external IP
 * addresses and ports"; REQ-9 a) has the hairpinned packet carry the
 * sender's external address and port, so the receiver's mapping sees it
 * as coming from outside, from that public endpoint, and its filtering
 * applies as to any packet from outside (§5: under ADF/APDF the NAT
 * "will filter out packets from Y:y destined for the internal endpoint
 * X:x if X:x has not sent packets to Y[:y] previously"). Checked here,
 * after the learn rules (the sender has sent to the receiver's mapping,
 * whether or not the receiver lets it in: hole punching between two
 * hosts of one NAT) and after SNAT, the only place the sender's public
 * endpoint is known: ip saddr . udp sport. The receiver's mapping is the
 * original destination (ct original ip daddr . proto-dst), its internal
 * endpoint the packet's destination after DNAT. Only packets of flows the
 * sender opened (conntrack original direction): a reply to the receiver's
 * own hairpinned flow is solicited. A drop here comes before conntrack
 * confirms the flow, so a refused packet leaves no flow behind. */
static void build_hairpin_filter(struct nx_build *bd)
{
	const struct emu_nat_config *c = bd->c;
	const enum nx_field byep[4] = {F_IP_DADDR, F_DPORT, F_IP_SADDR, F_SPORT};
	const enum nx_field bymap[4] = {F_CTO_DADDR, F_CTO_DPORT, F_IP_SADDR, F_SPORT};
	struct nftnl_rule *r;

	if (!c->hairpin || c->filtering == EMU_NAT_FILTER_EI)
		return;
	r = nx_rule_new(bd, "learn");
	if (!r)
		return;
	match_hairpinned(bd, r);
	nx_match_l4(r, IPPROTO_UDP, true);
	nx_match_ct_dir(r, IP_CT_DIR_ORIGINAL);
	if (per_endpoint(c))
		nx_lookup(r, "fsent", byep, c->filtering == EMU_NAT_FILTER_AD ? 3 : 4, true, 0);
	else
		nx_lookup(r, "pmap", bymap, fkey_n(c), true, 0);
	nx_drop_counted(r, EMU_NAT_CTR_DROP_HAIRPIN_FILTER);
	nx_rule_add(bd, r);
}

/* Evidence: a new UDP mapping is a public endpoint P . x that is not live
 * yet (not in pused) on the first packet of a flow (ct state new), after
 * SNAT and after the port-clash drop, before the learn rules add it. A new
 * flow of an existing EIM/ADM mapping reuses a live P . x and is not
 * counted. Outbound and hairpinned packets (a hairpinned flow gets a
 * mapping of its own, RFC 4787 REQ-9 a). */
static void build_count_mappings(struct nx_build *bd)
{
	const enum nx_field px[2] = {F_IP_SADDR, F_SPORT};

	for (int hp = 0; hp <= (bd->c->hairpin ? 1 : 0); hp++) {
		struct nftnl_rule *r = nx_rule_new(bd, "learn");
		if (!r)
			return;
		if (hp)
			match_hairpinned(bd, r);
		else
			nx_match_ifname(r, false, bd->c->outside_ifname, true);
		nx_match_l4(r, IPPROTO_UDP, true);
		nx_match_ct_state(r, NF_CT_STATE_BIT(IP_CT_NEW));
		nx_lookup(r, "pused", px, 2, true, 0);
		nx_count(r, EMU_NAT_CTR_MAPPINGS_UDP);
		nx_rule_add(bd, r);
	}
}

/* Evidence: hairpinned UDP packets that passed the hairpin filter. */
static void build_count_hairpin(struct nx_build *bd)
{
	struct nftnl_rule *r = nx_rule_new(bd, "learn");

	if (!r)
		return;
	match_hairpinned(bd, r);
	nx_match_l4(r, IPPROTO_UDP, true);
	nx_count(r, EMU_NAT_CTR_HAIRPIN);
	nx_rule_add(bd, r);
}

/* RFC 6888 REQ-4: "A CGN MUST support limiting the number of external
 * ports (or, equivalently, 'identifiers' for ICMP) that are assigned per
 * subscriber." Every UDP flow leaving from inside is counted against its
 * source address (set quota, one conntrack counter per address, as
 * `add @quota { ip saddr ct count over N }`); the flow that would be one
 * too many is refused before srcnat maps it. REQ-11: such a packet is
 * dropped and "it SHOULD send an ICMP Destination Unreachable message
 * with code 1 (Host Unreachable) to the sender". */
static void build_quota(struct nx_build *bd)
{
	const struct emu_nat_config *c = bd->c;
	const enum nx_field sa = F_IP_SADDR;
	struct nftnl_set *s = nx_set_alloc(bd, "quota");
	struct nftnl_rule *r;
	struct nftnl_expr *x, *cl;

	if (!s) {
		bd->ret = bd->ret ? bd->ret : natlab_err_set(bd->e, ENOMEM, "NAT: set quota");
		return;
	}
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 4);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, nx_concat_type(&sa, 1));
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_EVAL);
	nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, SET_SIZE);
	nftnl_set_set_u32(s, NFTNL_SET_ID, 0x71756f74);
	if (bd->ret == 0 && emu_nft_batch_add_set(bd->b, s) < 0)
		bd->ret = natlab_err_msg(bd->e, ENOSPC, "NAT: ruleset too large for one batch");
	nftnl_set_free(s);
	r = nx_rule_new(bd, "fw_forward");
	if (!r)
		return;
	nx_match_ifname(r, true, c->outside_ifname, false);
	nx_match_ifname(r, false, c->outside_ifname, true);
	nx_match_l4(r, IPPROTO_UDP, true);
	nx_load_field(r, F_IP_SADDR, R_KEY);
	x = nx_ex(r, "dynset");
	cl = nftnl_expr_alloc("connlimit");
	if (x && cl) {
		nftnl_expr_set_str(x, NFTNL_EXPR_DYNSET_SET_NAME, "quota");
		nftnl_expr_set_u32(x, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_ADD);
		nftnl_expr_set_u32(x, NFTNL_EXPR_DYNSET_SREG_KEY, R_KEY);
		/* "over": matches when the address already has N flows */
		nftnl_expr_set_u32(cl, NFTNL_EXPR_CONNLIMIT_COUNT, c->udp_mappings_per_host);
		nftnl_expr_set_u32(cl, NFTNL_EXPR_CONNLIMIT_FLAGS, NFT_CONNLIMIT_F_INV);
		nftnl_expr_add_expr(x, NFTNL_EXPR_DYNSET_EXPRESSIONS, cl);
		cl = NULL;
	} else {
		nx_oom = true;
	}
	if (cl)
		nftnl_expr_free(cl);
	nx_count_log(r, EMU_NAT_CTR_DROP_QUOTA);
	x = nx_ex(r, "reject");
	if (x) {
		nftnl_expr_set_u32(x, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_ICMP_UNREACH);
		nftnl_expr_set_u8(x, NFTNL_EXPR_REJECT_CODE, 1 /* ICMP_HOST_UNREACH */);
	}
	nx_rule_add(bd, r);
}

static void build_fwd(struct nx_build *bd)
{
	const struct emu_nat_config *c = bd->c;
	const enum nx_field dport = F_DPORT;
	struct nftnl_rule *r;

	nx_chain_add(bd, "fw_forward", "filter", NF_INET_FORWARD, 0);
	if (c->portmap && bd->family == NFPROTO_IPV4)
		nat_portmap_skip_flows(bd, "fw_forward");
	if (c->udp_blocked) {
		r = nx_rule_new(bd, "fw_forward");
		if (r) {
			nx_match_l4(r, IPPROTO_UDP, true);
			nx_drop_counted(r, EMU_NAT_CTR_DROP_UDP_BLOCKED);
		}
		nx_rule_add(bd, r);
	}
	if (c->n_tcp_out_ports) {
		/* Every packet of a connection opened from inside must go to an
		 * allowed port (the port of a connection never changes). */
		r = nx_rule_new(bd, "fw_forward");
		if (r) {
			nx_match_inside(bd, r, true);
			nx_match_l4(r, IPPROTO_TCP, true);
			nx_match_ct_dir(r, IP_CT_DIR_ORIGINAL);
			nx_lookup(r, "tcpok", &dport, 1, true, 0);
			nx_drop_counted(r, EMU_NAT_CTR_DROP_PORT_BLOCKED);
		}
		nx_rule_add(bd, r);
	}
	if (c->tcp_in_blocked) {
		r = nx_rule_new(bd, "fw_forward");
		if (r) {
			nx_match_ifname(r, true, c->outside_ifname, true);
			nx_match_l4(r, IPPROTO_TCP, true);
			nx_match_ct_dir(r, IP_CT_DIR_ORIGINAL);
			nx_drop_counted(r, EMU_NAT_CTR_DROP_TCP_IN_BLOCKED);
		}
		nx_rule_add(bd, r);
	}
	if (bd->family == NFPROTO_IPV4 && c->translate) {
		/* Evidence: a TCP connection opened from inside through the
		 * outside is a new mapping (one translation per flow). */
		r = nx_rule_new(bd, "fw_forward");
		if (r) {
			nx_match_ifname(r, false, c->outside_ifname, true);
			nx_match_l4(r, IPPROTO_TCP, true);
			nx_match_ct_state(r, NF_CT_STATE_BIT(IP_CT_NEW));
			nx_count(r, EMU_NAT_CTR_MAPPINGS_TCP);
		}
		nx_rule_add(bd, r);
	}
	if (bd->family == NFPROTO_IPV4 && c->translate && !c->udp_blocked &&
	    c->udp_mappings_per_host)
		build_quota(bd);
	if (bd->family == NFPROTO_IPV4 && c->translate && c->inbound_refreshes && !c->udp_blocked) {
		/* RFC 4787 REQ-6: inbound refresh is a MAY; when on, inbound
		 * packets keep every set entry of the mapping alive. */
		build_learn(bd, "fw_forward", false, false, IP_CT_DIR_REPLY);
		build_learn(bd, "fw_forward", false, false, IP_CT_DIR_ORIGINAL);
	}
}

/* Match a TCP segment whose flags among FIN, SYN, RST, ACK are SYN alone:
 * the first segment of a connection attempt. */
static void match_tcp_syn(struct nftnl_rule *r)
{
	nx_match_l4(r, IPPROTO_TCP, true);
	nx_match_tcp_flags(r, 0x17 /* FIN | SYN | RST | ACK */, 0x02 /* SYN */);
}

static void build_input(struct nx_build *bd)
{
	const struct emu_nat_config *c = bd->c;
	/* RFC 5382 REQ-4: "A NAT MUST NOT respond to an unsolicited inbound
	 * SYN packet for at least 6 seconds after the packet is received. If
	 * during this interval the NAT receives and translates an outbound
	 * SYN for the connection the NAT MUST silently drop the original
	 * unsolicited inbound SYN packet. Otherwise, the NAT SHOULD send an
	 * ICMP Port Unreachable error (Type 3, Code 3) for the original SYN,
	 * unless REQ-4a applies." REQ-4a: "The NAT MUST silently drop the
	 * original SYN packet if sending a response violates the security
	 * policy of the NAT." A SYN from outside that conntrack did not
	 * translate to the inside (no flow of a mapping: simultaneous open
	 * arrives as a reply and is forwarded, never seen here) would reach
	 * the router's own TCP stack, which answers at once with a reset.
	 * It is dropped instead, silently for good: that is this NAT's
	 * policy, and nftables cannot hold a packet 6 s to answer it later.
	 * A SYN for a socket the router node itself has (a listener, or its
	 * own connection attempt) still reaches it. IPv4 only: IPv6 is not
	 * translated. */
	bool syn = bd->family == NFPROTO_IPV4 && c->translate && !c->tcp_in_blocked;
	struct nftnl_rule *r;
	struct nftnl_expr *x;

	if (!c->tcp_in_blocked && !syn)
		return;
	nx_chain_add(bd, "fw_input", "filter", NF_INET_LOCAL_IN, 0);
	if (syn) {
		r = nx_rule_new(bd, "fw_input");
		if (r) {
			nx_match_ifname(r, true, c->outside_ifname, true);
			match_tcp_syn(r);
			/* the socket lookup breaks (no match) when the node has
			 * no socket for the segment; the key's value is unused */
			x = nx_ex(r, "socket");
			if (x) {
				nftnl_expr_set_u32(x, NFTNL_EXPR_SOCKET_KEY,
						   NFT_SOCKET_TRANSPARENT);
				nftnl_expr_set_u32(x, NFTNL_EXPR_SOCKET_DREG, R_IDX);
			}
			nx_verdict(r, NF_ACCEPT);
		}
		nx_rule_add(bd, r);
		r = nx_rule_new(bd, "fw_input");
		if (r) {
			nx_match_ifname(r, true, c->outside_ifname, true);
			match_tcp_syn(r);
			nx_drop_counted(r, EMU_NAT_CTR_DROP_SYN);
		}
		nx_rule_add(bd, r);
		return;
	}
	r = nx_rule_new(bd, "fw_input");
	if (r) {
		nx_match_ifname(r, true, c->outside_ifname, true);
		nx_match_l4(r, IPPROTO_TCP, true);
		nx_match_ct_dir(r, IP_CT_DIR_ORIGINAL);
		nx_drop_counted(r, EMU_NAT_CTR_DROP_TCP_IN_BLOCKED);
	}
	nx_rule_add(bd, r);
}

/* The SIP ALG of home routers: the kernel's SIP conntrack helper on the
 * signalling flows. It parses SIP over UDP and TCP, and for a NATed flow
 * (nf_nat_sip) rewrites the private address and port in Via, Contact,
 * Record-Route and the SDP's c= and m= lines to the public mapping, and
 * sets up conntrack expectations for the media the SDP announces. Since
 * Linux 4.7 no helper is attached by port on its own: a `ct helper` object
 * names it and a rule assigns it to a flow's first packet, after
 * conntrack (-200) and dstnat (-100) and before the flow is confirmed. The
 * NAT's filtering (raw, before conntrack) still applies to the media: an
 * expectation does not open a hole the rules would refuse. */
static void build_sip_alg(struct nx_build *bd)
{
	static const struct {
		const char *name;
		uint8_t proto;
	} alg[] = {{"sip-udp", IPPROTO_UDP}, {"sip-tcp", IPPROTO_TCP}};
	const uint16_t port = htons(EMU_NAT_SIP_PORT);
	struct nftnl_rule *r;
	struct nftnl_expr *x;

	nx_chain_add(bd, "alg", "filter", NF_INET_PRE_ROUTING, 0);
	for (size_t i = 0; i < sizeof(alg) / sizeof(alg[0]); i++) {
		struct nftnl_obj *o = nftnl_obj_alloc();

		if (!o) {
			bd->ret =
			    bd->ret ? bd->ret : natlab_err_set(bd->e, ENOMEM, "NAT: ct helper");
			return;
		}
		nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, bd->table);
		nftnl_obj_set_str(o, NFTNL_OBJ_NAME, alg[i].name);
		nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY, bd->family);
		nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_CT_HELPER);
		nftnl_obj_set_str(o, NFTNL_OBJ_CT_HELPER_NAME, "sip");
		nftnl_obj_set_u16(o, NFTNL_OBJ_CT_HELPER_L3PROTO, NFPROTO_IPV4);
		nftnl_obj_set_u8(o, NFTNL_OBJ_CT_HELPER_L4PROTO, alg[i].proto);
		if (bd->ret == 0 && emu_nft_batch_add_obj(bd->b, o) < 0)
			bd->ret =
			    natlab_err_msg(bd->e, ENOSPC, "NAT: ruleset too large for one batch");
		nftnl_obj_free(o);

		/* iifname != OUT meta l4proto P th dport 5060 ct helper set "sip-P" */
		r = nx_rule_new(bd, "alg");
		if (r) {
			nx_match_inside(bd, r, true);
			nx_match_l4(r, alg[i].proto, true);
			nx_load_field(r, F_DPORT, NFT_REG_1);
			nx_cmp(r, NFT_REG_1, NFT_CMP_EQ, &port, sizeof(port));
			x = nx_ex(r, "objref");
			if (x) {
				nftnl_expr_set_u32(x, NFTNL_EXPR_OBJREF_IMM_TYPE,
						   NFT_OBJECT_CT_HELPER);
				nftnl_expr_set_str(x, NFTNL_EXPR_OBJREF_IMM_NAME, alg[i].name);
			}
		}
		nx_rule_add(bd, r);
	}
}

int emu_nat_build(const struct emu_nat_config *c, struct emu_nft_batch *b, struct natlab_err *e)
{
	return emu_nat_build_table(c, b, true, e);
}

/* Create (a no-op if it exists), delete, create: the old ruleset and
 * every mapping in its sets go in the same transaction. A deletion makes
 * the kernel wait for an RCU grace period (~10 ms here), so a node known
 * to have no table yet skips it. */
static int table_fresh(struct nx_build *bd, bool replace)
{
	if (nx_table_op(bd->b, false, bd->table, bd->family) < 0 ||
	    (replace && (nx_table_op(bd->b, true, bd->table, bd->family) < 0 ||
			 nx_table_op(bd->b, false, bd->table, bd->family) < 0)))
		return natlab_err_msg(bd->e, ENOSPC, "NAT: batch full");
	return 0;
}

static void tcpok_add(struct nx_build *bd)
{
	const struct emu_nat_config *c = bd->c;
	uint16_t ports[EMU_NAT_TCP_PORTS_MAX];

	if (!c->n_tcp_out_ports)
		return;
	for (unsigned i = 0; i < c->n_tcp_out_ports; i++)
		ports[i] = htons(c->tcp_out_ports[i]);
	nx_const_set_add(bd, "tcpok", TYPE_INET_SERVICE, 2, ports, 0, 0, NULL, c->n_tcp_out_ports);
}

/* IPv6 is not translated, but a NAT's firewall knobs hold for it too, and a
 * translating router blocks what an IPv4 NAT would: flows opened from
 * outside (the stateful IPv6 firewall of home routers, RFC 6092). */
static void build_fw6(struct nx_build *bd, bool replace)
{
	const struct emu_nat_config *c = bd->c;
	static const uint8_t protos[] = {IPPROTO_UDP, IPPROTO_TCP};
	struct nftnl_rule *r;

	bd->table = EMU_NAT_TABLE6;
	bd->family = NFPROTO_IPV6;
	if (bd->ret == 0)
		bd->ret = table_fresh(bd, replace);
	nx_counters_add(bd);
	tcpok_add(bd);
	build_fwd(bd);
	if (c->translate) {
		for (size_t i = 0; i < sizeof(protos); i++) {
			r = nx_rule_new(bd, "fw_forward");
			if (r) {
				nx_match_ifname(r, true, c->outside_ifname, true);
				nx_match_l4(r, protos[i], true);
				nx_match_ct_dir(r, IP_CT_DIR_ORIGINAL);
				nx_drop_counted(r, EMU_NAT_CTR_DROP_INBOUND6);
			}
			nx_rule_add(bd, r);
		}
	}
	build_input(bd);
}

int emu_nat_build_table(const struct emu_nat_config *c, struct emu_nft_batch *b, bool replace,
			struct natlab_err *e)
{
	struct nx_build bd = {
	    .c = c, .b = b, .e = e, .table = EMU_NAT_TABLE, .family = NFPROTO_IPV4};
	int ret = emu_nat_config_check(c, e);

	if (ret < 0)
		return ret;
	nx_oom = false;
	bd.timeout_ms = (uint64_t)c->udp_timeout_s * 1000;
	ret = table_fresh(&bd, replace);
	if (ret < 0)
		return ret;
	nx_counters_add(&bd);
	tcpok_add(&bd);
	if (c->translate && !c->udp_blocked)
		build_sets(&bd);
	else if (c->translate && has_pool(c)) {
		/* No UDP passes: only the address pool is needed. */
		uint32_t addrs[EMU_NAT_ADDRS_MAX];
		uint32_t idx[EMU_NAT_ADDRS_MAX];
		for (unsigned i = 0; i < c->n_public_addrs; i++) {
			struct in_addr a;
			inet_pton(AF_INET, c->public_addrs[i], &a);
			addrs[i] = a.s_addr;
			idx[i] = i;
		}
		nx_const_set_add(&bd, "pool", TYPE_INTEGER, 4, idx, TYPE_IPADDR, 4, addrs,
				 c->n_public_addrs);
	}
	if (c->translate && !c->udp_blocked) {
		build_raw(&bd);
		build_dstnat(&bd);
		if (c->portmap)
			nat_portmap_build_gate(&bd);
		build_srcnat(&bd);
		nx_chain_add(&bd, "learn", "filter", NF_INET_POST_ROUTING, 200);
		if (c->portmap)
			nat_portmap_skip_flows(&bd, "learn");
		build_port_clash(&bd); /* before pused learns this packet */
		build_count_mappings(&bd);
		build_learn(&bd, "learn", true, false, IP_CT_DIR_ORIGINAL);
		build_learn(&bd, "learn", true, false, IP_CT_DIR_REPLY);
		if (c->hairpin) {
			build_learn(&bd, "learn", true, true, IP_CT_DIR_ORIGINAL);
			build_learn(&bd, "learn", true, true, IP_CT_DIR_REPLY);
			build_hairpin_filter(&bd);
			build_count_hairpin(&bd);
		}
	} else if (c->translate) {
		struct nftnl_rule *r;
		nx_chain_add(&bd, "srcnat", "nat", NF_INET_POST_ROUTING, 100);
		r = nx_rule_new(&bd, "srcnat");
		if (r) {
			nx_match_ifname(r, false, c->outside_ifname, true);
			load_public_addr(&bd, r);
			nx_nat(r, NFT_NAT_SNAT, false, false, 0);
		}
		nx_rule_add(&bd, r);
	}
	if (c->translate && c->sip_alg)
		build_sip_alg(&bd);
	/* The server answers whether or not UDP passes through the NAT (its
	 * requests end in the node): a NAT that blocks UDP must still hide
	 * the protocol the knob does not serve. */
	if (c->translate && c->portmap)
		nat_portmap_build_version_filter(&bd);
	if (c->portmap && !replace)
		nat_portmap_build_table(&bd);
	build_fwd(&bd);
	build_input(&bd);
	build_fw6(&bd, replace);
	return bd.ret;
}

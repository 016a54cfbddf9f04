/* nat_portmap.c - nftables for the NAT knob `portmap`: see nat_portmap.h
 * and docs/nat-model.md "Port mapping". */
#include "emu/nat_portmap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>

#include "emu/nat.h"
#include "emu/nft.h"
#include "emu/node.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>

void nat_portmap_mark_unmapped(struct nftnl_rule *r)
{
	nx_set_mark(r, EMU_NAT_PORTMAP_MARK);
}

/* RFC 6887 §11.3 (MAP): "the PCP server ... create[s] an explicit dynamic
 * mapping between the Internal Address and Port and the External Address
 * and Port" — a mapped port is reachable from outside, whatever the NAT's
 * filtering; an unmapped one is filtered as the knob says. The mapping is
 * miniupnpd's DNAT rule; what a DNAT rule translated carries ct status
 * dnat, so the gate drops only what neither natlab nor miniupnpd mapped. */
void nat_portmap_build_gate(struct nx_build *bd)
{
	const uint32_t mark = EMU_NAT_PORTMAP_MARK;
	const uint32_t ctmark = EMU_NAT_PORTMAP_CTMARK;
	struct nftnl_rule *r;
	struct nftnl_expr *x;

	nx_chain_add(bd, "pmgate", "filter", NF_INET_PRE_ROUTING, -99);
	r = nx_rule_new(bd, "pmgate");
	if (!r)
		return;
	nx_meta(r, NFT_META_MARK, NFT_REG_1);
	nx_cmp(r, NFT_REG_1, NFT_CMP_EQ, &mark, sizeof(mark));
	nx_match_ct_bits(r, NFT_CT_STATUS, IPS_DST_NAT, false);
	nx_drop_counted(r, EMU_NAT_CTR_DROP_FILTERING);
	nx_rule_add(bd, r);
	/* What is left of the marked packets was translated by a port
	 * mapping: its flow is marked for nat_portmap_skip_flows. */
	r = nx_rule_new(bd, "pmgate");
	if (!r)
		return;
	nx_meta(r, NFT_META_MARK, NFT_REG_1);
	nx_cmp(r, NFT_REG_1, NFT_CMP_EQ, &mark, sizeof(mark));
	nx_imm(r, NFT_REG_1, &ctmark, sizeof(ctmark));
	x = nx_ex(r, "ct");
	if (x) {
		nftnl_expr_set_u32(x, NFTNL_EXPR_CT_SREG, NFT_REG_1);
		nftnl_expr_set_u32(x, NFTNL_EXPR_CT_KEY, NFT_CT_MARK);
	}
	nx_rule_add(bd, r);
}

void nat_portmap_skip_flows(struct nx_build *bd, const char *chain)
{
	const uint32_t ctmark = EMU_NAT_PORTMAP_CTMARK;
	struct nftnl_rule *r = nx_rule_new(bd, chain);
	struct nftnl_expr *x;

	if (!r)
		return;
	x = nx_ex(r, "ct");
	if (x) {
		nftnl_expr_set_u32(x, NFTNL_EXPR_CT_DREG, NFT_REG_1);
		nftnl_expr_set_u32(x, NFTNL_EXPR_CT_KEY, NFT_CT_MARK);
	}
	nx_cmp(r, NFT_REG_1, NFT_CMP_EQ, &ctmark, sizeof(ctmark));
	nx_verdict(r, NF_ACCEPT);
	nx_rule_add(bd, r);
}

static void jump_rule(struct nx_build *bd, const char *from, const char *to)
{
	struct nftnl_rule *r = nx_rule_new(bd, from);
	struct nftnl_expr *x;

	if (!r)
		return;
	x = nx_ex(r, "immediate");
	if (x) {
		nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_VERDICT, (uint32_t)NFT_JUMP);
		nftnl_expr_set_str(x, NFTNL_EXPR_IMM_CHAIN, to);
	}
	nx_rule_add(bd, r);
}

/* miniupnpd-nftables 2.3.1 creates no table or chain ("NFTables: use
 * scripts to create table and chains", its Changelog 2021/12/01; Debian
 * ships nft_init.sh without the functions file it sources): it only adds
 * and deletes rules in the chains named in its configuration. natlab
 * creates them here, with the priorities the design needs: its DNAT at
 * -101, before natlab's dstnat (-100), so that a mapped port wins over a
 * natlab mapping of the same public port; its forward accepts are
 * harmless (policy accept; natlab's fw_forward drops still apply). */
void nat_portmap_build_table(struct nx_build *bd)
{
	const char *table = bd->table;
	uint32_t family = bd->family;

	bd->table = EMU_NAT_PORTMAP_TABLE;
	bd->family = NFPROTO_INET;
	if (bd->ret == 0 && nx_table_op(bd->b, false, bd->table, bd->family) < 0)
		bd->ret = natlab_err_msg(bd->e, ENOSPC, "NAT: batch full");
	nx_chain_add(bd, EMU_NAT_PORTMAP_FWD_CHAIN, NULL, 0, 0);
	nx_chain_add(bd, EMU_NAT_PORTMAP_DNAT_CHAIN, NULL, 0, 0);
	nx_chain_add(bd, EMU_NAT_PORTMAP_SNAT_CHAIN, NULL, 0, 0);
	nx_chain_add(bd, "forward", "filter", NF_INET_FORWARD, 0);
	nx_chain_add(bd, "prerouting", "nat", NF_INET_PRE_ROUTING, -101);
	nx_chain_add(bd, "postrouting", "nat", NF_INET_POST_ROUTING, 99);
	jump_rule(bd, "forward", EMU_NAT_PORTMAP_FWD_CHAIN);
	jump_rule(bd, "prerouting", EMU_NAT_PORTMAP_DNAT_CHAIN);
	jump_rule(bd, "postrouting", EMU_NAT_PORTMAP_SNAT_CHAIN);
	bd->table = table;
	bd->family = family;
}

static void flush_chain(struct nx_build *bd, const char *chain)
{
	struct nftnl_rule *r = nx_rule_new(bd, chain);

	if (!r)
		return;
	if (bd->ret == 0 && emu_nft_batch_del_rules(bd->b, r) < 0)
		bd->ret = natlab_err_msg(bd->e, ENOSPC, "NAT: batch full");
	nftnl_rule_free(r);
}

int emu_nat_portmap_rules(struct emu_node *router, enum emu_nat_portmap_op op, struct natlab_err *e)
{
	static const char *const what[] = {"forget the mappings", "unhook the mappings",
					   "hook the mappings back"};
	struct nx_build bd = {.table = EMU_NAT_PORTMAP_TABLE, .family = NFPROTO_INET, .e = e};
	int ret;

	if ((unsigned)op > EMU_NAT_PORTMAP_RESTORE)
		return natlab_err_msg(e, EINVAL, "NAT portmap: unknown operation %d", (int)op);
	bd.b = emu_nft_batch_new();
	if (!bd.b)
		return natlab_err_set(e, ENOMEM, "node %s: portmap", emu_node_name(router));
	nx_oom = false;
	switch (op) {
	case EMU_NAT_PORTMAP_FORGET:
		flush_chain(&bd, EMU_NAT_PORTMAP_FWD_CHAIN);
		flush_chain(&bd, EMU_NAT_PORTMAP_DNAT_CHAIN);
		flush_chain(&bd, EMU_NAT_PORTMAP_SNAT_CHAIN);
		break;
	case EMU_NAT_PORTMAP_HOLLOW:
		flush_chain(&bd, "prerouting");
		break;
	case EMU_NAT_PORTMAP_RESTORE:
		/* flush first: restoring twice must not jump twice */
		flush_chain(&bd, "prerouting");
		jump_rule(&bd, "prerouting", EMU_NAT_PORTMAP_DNAT_CHAIN);
		break;
	}
	ret = bd.ret;
	if (ret == 0 && nx_oom)
		ret = natlab_err_set(e, ENOMEM, "node %s: portmap", emu_node_name(router));
	if (ret == 0) {
		ret = emu_nft_batch_commit(bd.b, router, e);
		if (ret < 0 && e) {
			char msg[sizeof(e->msg)];
			snprintf(msg, sizeof(msg), "%s", e->msg);
			natlab_err_msg(e, ret,
				       "node %s: portmap: cannot %s (%s): is the NAT's knob "
				       "portmap set?",
				       emu_node_name(router), what[op], msg);
		}
	}
	emu_nft_batch_free(bd.b);
	return ret;
}

/* RFC 6886 §3 and RFC 6887 §7: NAT-PMP and PCP share UDP port 5351 and
 * differ by their first byte, the version (0: NAT-PMP, 2: PCP).
 * miniupnpd has one switch (enable_natpmp) for both; a knob asking for
 * one of them only drops the other's requests on the way in, so that
 * server looks absent to clients of the other protocol (they time out
 * and fall back, as before a router without it). */
void nat_portmap_build_version_filter(struct nx_build *bd)
{
	const struct emu_nat_config *c = bd->c;
	const uint16_t port = htons(EMU_NAT_PORTMAP_PORT);
	const bool pmp = c->portmap & EMU_NAT_PORTMAP_NATPMP;
	const bool pcp = c->portmap & EMU_NAT_PORTMAP_PCP;
	uint8_t version;
	struct nftnl_rule *r;
	struct nftnl_expr *x;

	if (pmp == pcp)
		return;
	version = pmp ? 2 : 0;
	nx_chain_add(bd, "pmversion", "filter", NF_INET_LOCAL_IN, 0);
	r = nx_rule_new(bd, "pmversion");
	if (!r)
		return;
	nx_match_ifname(r, true, c->outside_ifname, false);
	nx_match_l4(r, IPPROTO_UDP, true);
	nx_load_field(r, F_DPORT, NFT_REG_1);
	nx_cmp(r, NFT_REG_1, NFT_CMP_EQ, &port, sizeof(port));
	x = nx_ex(r, "payload");
	if (x) {
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER);
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_OFFSET, 8); /* after the UDP header */
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_LEN, 1);
	}
	nx_cmp(r, NFT_REG_1, NFT_CMP_EQ, &version, 1);
	nx_verdict(r, NF_DROP);
	nx_rule_add(bd, r);
}

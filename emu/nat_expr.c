/* nat_expr.c - building blocks of the NAT rulesets; see nat_expr.h. */
#include "emu/nat_expr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libnftnl/chain.h>
#include <libnftnl/object.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>

bool nx_field_is_addr(enum nx_field f)
{
	return f == F_IP_SADDR || f == F_IP_DADDR || f == F_CTO_SADDR || f == F_CTO_DADDR ||
	       f == F_CTR_SADDR || f == F_CTR_DADDR;
}

/* ---- libnftnl expression helpers: each appends to @r; add_expr takes
 * ownership of the expression. Allocation failures are remembered in
 * the build and reported once, when the rule is added. */

/* Per thread: labs may be built from several threads at once. */
_Thread_local bool nx_oom;

struct nftnl_expr *nx_ex(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *x = nftnl_expr_alloc(name);

	if (!x) {
		nx_oom = true;
		return NULL;
	}
	nftnl_rule_add_expr(r, x);
	return x;
}

void nx_load_field(struct nftnl_rule *r, enum nx_field f, uint32_t reg)
{
	struct nftnl_expr *x;

	if (f <= F_DPORT) {
		static const uint32_t off[] = {12, 16, 0, 2};
		x = nx_ex(r, "payload");
		if (!x)
			return;
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_DREG, reg);
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_BASE,
				   f <= F_IP_DADDR ? NFT_PAYLOAD_NETWORK_HEADER
						   : NFT_PAYLOAD_TRANSPORT_HEADER);
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_OFFSET, off[f]);
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_LEN, nx_field_is_addr(f) ? 4 : 2);
		return;
	}
	static const uint32_t ctkey[] = {NFT_CT_SRC_IP, NFT_CT_PROTO_SRC, NFT_CT_DST_IP,
					 NFT_CT_PROTO_DST};
	int i = (f - F_CTO_SADDR) % 4;
	x = nx_ex(r, "ct");
	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_DREG, reg);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_KEY, ctkey[i]);
	nftnl_expr_set_u8(x, NFTNL_EXPR_CT_DIR,
			  f >= F_CTR_SADDR ? IP_CT_DIR_REPLY : IP_CT_DIR_ORIGINAL);
}

/* Load a concatenation into consecutive 32-bit registers from @reg. */
void nx_load_concat(struct nftnl_rule *r, const enum nx_field *f, unsigned n, uint32_t reg)
{
	for (unsigned i = 0; i < n; i++)
		nx_load_field(r, f[i], reg + i);
}

uint32_t nx_concat_type(const enum nx_field *f, unsigned n)
{
	uint32_t t = 0;

	for (unsigned i = 0; i < n; i++)
		t = (t << TYPE_BITS) | (nx_field_is_addr(f[i]) ? TYPE_IPADDR : TYPE_INET_SERVICE);
	return t;
}

void nx_cmp(struct nftnl_rule *r, uint32_t reg, enum nft_cmp_ops op, const void *data, uint32_t len)
{
	struct nftnl_expr *x = nx_ex(r, "cmp");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_SREG, reg);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(x, NFTNL_EXPR_CMP_DATA, data, len);
}

void nx_meta(struct nftnl_rule *r, enum nft_meta_keys key, uint32_t reg)
{
	struct nftnl_expr *x = nx_ex(r, "meta");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(x, NFTNL_EXPR_META_DREG, reg);
}

/* iifname/oifname ==/!= @name (exact match: the NUL is compared too). */
void nx_match_ifname(struct nftnl_rule *r, bool in, const char *name, bool eq)
{
	nx_meta(r, in ? NFT_META_IIFNAME : NFT_META_OIFNAME, NFT_REG_1);
	nx_cmp(r, NFT_REG_1, eq ? NFT_CMP_EQ : NFT_CMP_NEQ, name, (uint32_t)strlen(name) + 1);
}

/* "coming from / going to the inside": the named inside interface, or any
 * interface but the outside one. */
void nx_match_inside(struct nx_build *bd, struct nftnl_rule *r, bool in)
{
	if (bd->c->inside_ifname[0])
		nx_match_ifname(r, in, bd->c->inside_ifname, true);
	else
		nx_match_ifname(r, in, bd->c->outside_ifname, false);
}

void nx_match_l4(struct nftnl_rule *r, uint8_t proto, bool eq)
{
	nx_meta(r, NFT_META_L4PROTO, NFT_REG_1);
	nx_cmp(r, NFT_REG_1, eq ? NFT_CMP_EQ : NFT_CMP_NEQ, &proto, 1);
}

/* The TCP flags byte (offset 13 of the header) with @mask applied equals
 * @value, e.g. mask FIN|SYN|RST|ACK, value SYN: a connection attempt. The
 * rule must already match TCP (nx_match_l4). Uses NFT_REG_1. */
void nx_match_tcp_flags(struct nftnl_rule *r, uint8_t mask, uint8_t value)
{
	const uint8_t zero = 0;
	struct nftnl_expr *x = nx_ex(r, "payload");

	if (x) {
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER);
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_OFFSET, 13);
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_LEN, 1);
	}
	x = nx_ex(r, "bitwise");
	if (x) {
		nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_LEN, 1);
		nftnl_expr_set_data(x, NFTNL_EXPR_BITWISE_MASK, &mask, 1);
		nftnl_expr_set_data(x, NFTNL_EXPR_BITWISE_XOR, &zero, 1);
	}
	nx_cmp(r, NFT_REG_1, NFT_CMP_EQ, &value, 1);
}

void nx_match_ct_dir(struct nftnl_rule *r, uint8_t dir)
{
	struct nftnl_expr *x = nx_ex(r, "ct");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_KEY, NFT_CT_DIRECTION);
	nx_cmp(r, NFT_REG_1, NFT_CMP_EQ, &dir, 1);
}

/* @fields (loaded at R_KEY) [not] in set @set; with @dreg, a map lookup
 * whose value lands in @dreg. */
void nx_lookup(struct nftnl_rule *r, const char *set, const enum nx_field *f, unsigned n, bool inv,
	       uint32_t dreg)
{
	struct nftnl_expr *x;

	nx_load_concat(r, f, n, R_KEY);
	x = nx_ex(r, "lookup");
	if (!x)
		return;
	nftnl_expr_set_str(x, NFTNL_EXPR_LOOKUP_SET, set);
	nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_SREG, R_KEY);
	if (dreg)
		nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_DREG, dreg);
	if (inv)
		nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
}

/* update @set { key : data } from the packet path; refreshes the element's
 * timeout when it exists. */
void nx_update(struct nx_build *bd, struct nftnl_rule *r, const char *set, const enum nx_field *k,
	       unsigned nk, const enum nx_field *d, unsigned nd)
{
	struct nftnl_expr *x;

	nx_load_concat(r, k, nk, R_KEY);
	nx_load_concat(r, d, nd, R_DATA);
	x = nx_ex(r, "dynset");
	if (!x)
		return;
	nftnl_expr_set_str(x, NFTNL_EXPR_DYNSET_SET_NAME, set);
	nftnl_expr_set_u32(x, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
	nftnl_expr_set_u32(x, NFTNL_EXPR_DYNSET_SREG_KEY, R_KEY);
	if (nd)
		nftnl_expr_set_u32(x, NFTNL_EXPR_DYNSET_SREG_DATA, R_DATA);
	nftnl_expr_set_u64(x, NFTNL_EXPR_DYNSET_TIMEOUT, bd->timeout_ms);
}

void nx_verdict(struct nftnl_rule *r, int v)
{
	struct nftnl_expr *x = nx_ex(r, "immediate");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_VERDICT, (uint32_t)v);
}

void nx_imm(struct nftnl_rule *r, uint32_t reg, const void *data, uint32_t len)
{
	struct nftnl_expr *x = nx_ex(r, "immediate");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_DREG, reg);
	nftnl_expr_set(x, NFTNL_EXPR_IMM_DATA, data, len);
}

void nx_nat(struct nftnl_rule *r, int type, bool port, bool port_max, uint32_t flags)
{
	struct nftnl_expr *x = nx_ex(r, "nat");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_TYPE, (uint32_t)type);
	nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
	nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_REG_ADDR_MIN, R_ADDR);
	if (port)
		nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_REG_PROTO_MIN, R_PORT);
	if (port_max)
		nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_REG_PROTO_MAX, R_PORT_MAX);
	if (flags)
		nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_FLAGS, flags);
}

/* ---- evidence: named counters and the drop log */

void nx_count(struct nftnl_rule *r, enum emu_nat_counter c)
{
	struct nftnl_expr *x = nx_ex(r, "objref");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
	nftnl_expr_set_str(x, NFTNL_EXPR_OBJREF_IMM_NAME, emu_nat_counter_name(c));
}

/* The packet goes to the log group with the rule's name as prefix: the
 * listener (nat_droplog.c) learns from the prefix which rule refused it. */
void nx_count_log(struct nftnl_rule *r, enum emu_nat_counter c)
{
	struct nftnl_expr *x;

	nx_count(r, c);
	x = nx_ex(r, "log");
	if (!x)
		return;
	nftnl_expr_set_u16(x, NFTNL_EXPR_LOG_GROUP, EMU_NAT_LOG_GROUP);
	nftnl_expr_set_str(x, NFTNL_EXPR_LOG_PREFIX, emu_nat_counter_name(c));
	nftnl_expr_set_u32(x, NFTNL_EXPR_LOG_SNAPLEN, EMU_NAT_LOG_SNAPLEN);
}

void nx_drop_counted(struct nftnl_rule *r, enum emu_nat_counter c)
{
	nx_count_log(r, c);
	nx_verdict(r, NF_DROP);
}

void nx_counters_add(struct nx_build *bd)
{
	for (int i = 0; i < EMU_NAT_CTR_N; i++) {
		struct nftnl_obj *o;
		if (bd->family == NFPROTO_IPV6 && !emu_nat_counter_v6((enum emu_nat_counter)i))
			continue;
		o = nftnl_obj_alloc();
		if (!o) {
			bd->ret =
			    bd->ret ? bd->ret : natlab_err_set(bd->e, ENOMEM, "NAT: counters");
			return;
		}
		nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, bd->table);
		nftnl_obj_set_str(o, NFTNL_OBJ_NAME, emu_nat_counter_name((enum emu_nat_counter)i));
		nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY, bd->family);
		nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
		if (bd->ret == 0 && emu_nft_batch_add_obj(bd->b, o) < 0)
			bd->ret =
			    natlab_err_msg(bd->e, ENOSPC, "NAT: ruleset too large for one batch");
		nftnl_obj_free(o);
	}
}

/* ct state has one of @state_bits (NF_CT_STATE_BIT(...)). Uses NFT_REG_1. */
void nx_match_ct_bits(struct nftnl_rule *r, enum nft_ct_keys key, uint32_t bits, bool any)
{
	const uint32_t zero = 0;
	struct nftnl_expr *x = nx_ex(r, "ct");

	if (x) {
		nftnl_expr_set_u32(x, NFTNL_EXPR_CT_DREG, NFT_REG_1);
		nftnl_expr_set_u32(x, NFTNL_EXPR_CT_KEY, key);
	}
	x = nx_ex(r, "bitwise");
	if (x) {
		nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_LEN, 4);
		nftnl_expr_set_data(x, NFTNL_EXPR_BITWISE_MASK, &bits, 4);
		nftnl_expr_set_data(x, NFTNL_EXPR_BITWISE_XOR, &zero, 4);
	}
	nx_cmp(r, NFT_REG_1, any ? NFT_CMP_NEQ : NFT_CMP_EQ, &zero, 4);
}

void nx_match_ct_state(struct nftnl_rule *r, uint32_t state_bits)
{
	nx_match_ct_bits(r, NFT_CT_STATE, state_bits, true);
}

void nx_set_mark(struct nftnl_rule *r, uint32_t mark)
{
	struct nftnl_expr *x;

	nx_imm(r, R_IDX, &mark, sizeof(mark));
	x = nx_ex(r, "meta");
	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_META_KEY, NFT_META_MARK);
	nftnl_expr_set_u32(x, NFTNL_EXPR_META_SREG, R_IDX);
}

/* ---- objects */

int nx_table_op(struct emu_nft_batch *b, bool del, const char *name, uint32_t family)
{
	struct nftnl_table *t = nftnl_table_alloc();
	int ret;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	ret = del ? emu_nft_batch_del_table(b, t) : emu_nft_batch_add_table(b, t);
	nftnl_table_free(t);
	return ret;
}

struct nftnl_rule *nx_rule_new(const struct nx_build *bd, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r) {
		nx_oom = true;
		return NULL;
	}
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, bd->table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, bd->family);
	return r;
}

void nx_rule_add(struct nx_build *bd, struct nftnl_rule *r)
{
	int ret;

	if (!r)
		return;
	if (bd->ret == 0) {
		if (nx_oom)
			bd->ret = natlab_err_set(bd->e, ENOMEM, "NAT: building rules in chain %s",
						 nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
		else if ((ret = emu_nft_batch_add_rule(bd->b, r)) < 0)
			bd->ret =
			    natlab_err_msg(bd->e, ret, "NAT: ruleset too large for one batch");
	}
	nftnl_rule_free(r);
}

void nx_chain_add(struct nx_build *bd, const char *name, const char *type, uint32_t hook,
		  int32_t prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c) {
		bd->ret = bd->ret ? bd->ret : natlab_err_set(bd->e, ENOMEM, "NAT: chain %s", name);
		return;
	}
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, bd->table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, bd->family);
	if (type) { /* a base chain; else a regular one, reached by jump/goto */
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	if (bd->ret == 0 && emu_nft_batch_add_chain(bd->b, c) < 0)
		bd->ret = natlab_err_msg(bd->e, ENOSPC, "NAT: ruleset too large for one batch");
	nftnl_chain_free(c);
}

struct nftnl_set *nx_set_alloc(const struct nx_build *bd, const char *name)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		return NULL;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, bd->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, bd->family);
	return s;
}

static _Thread_local uint32_t nx_set_ids;

/* A set (or, with @data, a map) filled from the packet path, each element
 * living bd->timeout_ms after its last update. */
void nx_dyn_set_add(struct nx_build *bd, const char *name, const enum nx_field *k, unsigned nk,
		    const enum nx_field *d, unsigned nd)
{
	struct nftnl_set *s = nx_set_alloc(bd, name);
	uint32_t flags = NFT_SET_TIMEOUT | NFT_SET_EVAL;

	if (!s) {
		bd->ret = bd->ret ? bd->ret : natlab_err_set(bd->e, ENOMEM, "NAT: set %s", name);
		return;
	}
	/* A concatenation pads each field to 4 bytes; a lone port is 2. */
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, nk == 1 && !nx_field_is_addr(k[0]) ? 2 : 4 * nk);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, nx_concat_type(k, nk));
	if (nd) {
		flags |= NFT_SET_MAP;
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 4 * nd);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, nx_concat_type(d, nd));
	}
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
	nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, bd->timeout_ms);
	nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, SET_SIZE);
	nftnl_set_set_u32(s, NFTNL_SET_ID, ++nx_set_ids);
	if (bd->ret == 0 && emu_nft_batch_add_set(bd->b, s) < 0)
		bd->ret = natlab_err_msg(bd->e, ENOSPC, "NAT: ruleset too large for one batch");
	nftnl_set_free(s);
}

/* A constant set of @n keys of @klen bytes, or a map to @n values. */
void nx_const_set_add(struct nx_build *bd, const char *name, uint32_t ktype, uint32_t klen,
		      const void *keys, uint32_t dtype, uint32_t dlen, const void *vals, unsigned n)
{
	struct nftnl_set *s = nx_set_alloc(bd, name);

	if (!s) {
		bd->ret = bd->ret ? bd->ret : natlab_err_set(bd->e, ENOMEM, "NAT: set %s", name);
		return;
	}
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, klen);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, ktype);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_CONSTANT | (vals ? NFT_SET_MAP : 0));
	if (vals) {
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, dlen);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, dtype);
	}
	nftnl_set_set_u32(s, NFTNL_SET_ID, ++nx_set_ids);
	for (unsigned i = 0; i < n; i++) {
		struct nftnl_set_elem *el = nftnl_set_elem_alloc();
		if (!el) {
			nx_oom = true;
			break;
		}
		nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, (const char *)keys + i * klen, klen);
		if (vals)
			nftnl_set_elem_set(el, NFTNL_SET_ELEM_DATA, (const char *)vals + i * dlen,
					   dlen);
		nftnl_set_elem_add(s, el);
	}
	if (bd->ret == 0 && nx_oom)
		bd->ret = natlab_err_set(bd->e, ENOMEM, "NAT: set %s", name);
	if (bd->ret == 0 &&
	    (emu_nft_batch_add_set(bd->b, s) < 0 || emu_nft_batch_add_setelems(bd->b, s) < 0))
		bd->ret = natlab_err_msg(bd->e, ENOSPC, "NAT: ruleset too large for one batch");
	nftnl_set_free(s);
}

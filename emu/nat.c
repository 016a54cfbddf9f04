/* nat.c - the NAT engine: a config of RFC 4787 knobs becomes one nftables
 * transaction (libnftnl objects in one libmnl batch), see nat.h and
 * docs/nat-model.md.
 *
 * The shape of table ip natlab_nat (OUT = the outside interface; "fkey" is
 * the filtering key, "mkey" the mapping key, both listed below):
 *
 *   ct timeout udp_t             UDP conntrack lifetime = udp_timeout_s
 *   map pmap  fkey -> a . p      live mappings seen from outside; timeout
 *   map emap  mkey -> P . x      EIM/ADM: the public endpoint of a mapping
 *   set pports  x                preserve: public ports in use
 *   set iused   a . p            preserve under ADM/APDM: endpoint mapped
 *   map hmap  P . x -> a . p     hairpin on: where P:x leads
 *   set pubaddrs P               the public addresses
 *   map pool  i -> P_i           more than one public address
 *
 *   raw     prerouting -300: ct timeout; inbound UDP whose fkey is not in
 *                            pmap is dropped before conntrack sees it
 *                            (filtering + expiry); hairpin off: drop
 *   dstnat  prerouting -100: inbound: dnat to fkey map @pmap (EIF/ADF
 *                            open a new flow to the mapping); hairpin
 *   srcnat  postrouting 100: EIM/ADM: snat to mkey map @emap; else a new
 *                            mapping: preserve / sequential / random
 *   learn   postrouting 200: after NAT: update pmap, emap, pports, iused,
 *                            hmap from the translated packet and conntrack
^ *   fw_forward forward 0:      firewall knobs; inbound refresh of the sets
^ *   fw_input input 0:          inbound TCP blocked
 *
 * a:p is the internal endpoint, P:x its public mapping, r:s the remote.
 * fkey: EIF  P . x        mkey: EIM  a . p
 *       ADF  P . x . r          ADM  a . p . r
 *       APDF P . x . r . s      APDM (none: conntrack is per 5-tuple)
 */
#include "emu/nat.h"

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
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>

#include "emu/nft.h"

/* nftables data types, for readable `nft list` output (the kernel does not
 * interpret them). A concatenation is (t1 << 6 | t2) << 6 | ... */
#define TYPE_INTEGER	  1
#define TYPE_IPADDR	  7
#define TYPE_INET_SERVICE 13
#define TYPE_BITS	  6

/* Registers: keys in 32-bit registers 0..3, data in 4..5, lookup results
 * in 8..9 (address, port), scratch in 10..12. */
#define R_KEY	   NFT_REG32_00
#define R_DATA	   NFT_REG32_04
#define R_ADDR	   NFT_REG32_08
#define R_PORT	   NFT_REG32_09
#define R_PORT_MAX NFT_REG32_10
#define R_IDX	   NFT_REG32_11

#define SET_SIZE 65536 /* mappings per NAT */

/* A value loaded into a register: packet field or conntrack field. */
enum field {
	F_IP_SADDR,
	F_IP_DADDR,
	F_SPORT,
	F_DPORT,
	F_CTO_SADDR, /* ct original ip saddr */
	F_CTO_SPORT, /* ct original proto-src */
	F_CTO_DADDR,
	F_CTO_DPORT,
	F_CTR_SADDR, /* ct reply ... */
	F_CTR_SPORT,
	F_CTR_DADDR,
	F_CTR_DPORT,
};

static bool field_is_addr(enum field f)
{
	return f == F_IP_SADDR || f == F_IP_DADDR || f == F_CTO_SADDR || f == F_CTO_DADDR ||
	       f == F_CTR_SADDR || f == F_CTR_DADDR;
}

struct build {
	const struct emu_nat_config *c;
	struct emu_nft_batch *b;
	struct natlab_err *e;
	uint64_t timeout_ms;
	int ret;
};

/* ---- libnftnl expression helpers: each appends to @r; add_expr takes
 * ownership of the expression. Allocation failures are remembered in
 * the build and reported once, when the rule is added. */

/* Per thread: labs may be built from several threads at once. */
static _Thread_local bool oom;

static struct nftnl_expr *ex(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *x = nftnl_expr_alloc(name);

	if (!x) {
		oom = true;
		return NULL;
	}
	nftnl_rule_add_expr(r, x);
	return x;
}

static void load_field(struct nftnl_rule *r, enum field f, uint32_t reg)
{
	struct nftnl_expr *x;

	if (f <= F_DPORT) {
		static const uint32_t off[] = {12, 16, 0, 2};
		x = ex(r, "payload");
		if (!x)
			return;
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_DREG, reg);
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_BASE,
				   f <= F_IP_DADDR ? NFT_PAYLOAD_NETWORK_HEADER
						   : NFT_PAYLOAD_TRANSPORT_HEADER);
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_OFFSET, off[f]);
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_LEN, field_is_addr(f) ? 4 : 2);
		return;
	}
	static const uint32_t ctkey[] = {NFT_CT_SRC_IP, NFT_CT_PROTO_SRC, NFT_CT_DST_IP,
					 NFT_CT_PROTO_DST};
	int i = (f - F_CTO_SADDR) % 4;
	x = ex(r, "ct");
	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_DREG, reg);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_KEY, ctkey[i]);
	nftnl_expr_set_u8(x, NFTNL_EXPR_CT_DIR,
			  f >= F_CTR_SADDR ? IP_CT_DIR_REPLY : IP_CT_DIR_ORIGINAL);
}

/* Load a concatenation into consecutive 32-bit registers from @reg. */
static void load_concat(struct nftnl_rule *r, const enum field *f, unsigned n, uint32_t reg)
{
	for (unsigned i = 0; i < n; i++)
		load_field(r, f[i], reg + i);
}

static uint32_t concat_type(const enum field *f, unsigned n)
{
	uint32_t t = 0;

	for (unsigned i = 0; i < n; i++)
		t = (t << TYPE_BITS) | (field_is_addr(f[i]) ? TYPE_IPADDR : TYPE_INET_SERVICE);
	return t;
}

static void cmp(struct nftnl_rule *r, uint32_t reg, enum nft_cmp_ops op, const void *data,
		uint32_t len)
{
	struct nftnl_expr *x = ex(r, "cmp");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_SREG, reg);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(x, NFTNL_EXPR_CMP_DATA, data, len);
}

static void meta(struct nftnl_rule *r, enum nft_meta_keys key, uint32_t reg)
{
	struct nftnl_expr *x = ex(r, "meta");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(x, NFTNL_EXPR_META_DREG, reg);
}

/* iifname/oifname ==/!= @name (exact match: the NUL is compared too). */
static void match_ifname(struct nftnl_rule *r, bool in, const char *name, bool eq)
{
	meta(r, in ? NFT_META_IIFNAME : NFT_META_OIFNAME, NFT_REG_1);
	cmp(r, NFT_REG_1, eq ? NFT_CMP_EQ : NFT_CMP_NEQ, name, (uint32_t)strlen(name) + 1);
}

/* "coming from / going to the inside": the named inside interface, or any
 * interface but the outside one. */
static void match_inside(struct build *bd, struct nftnl_rule *r, bool in)
{
	if (bd->c->inside_ifname[0])
		match_ifname(r, in, bd->c->inside_ifname, true);
	else
		match_ifname(r, in, bd->c->outside_ifname, false);
}

static void match_l4(struct nftnl_rule *r, uint8_t proto, bool eq)
{
	meta(r, NFT_META_L4PROTO, NFT_REG_1);
	cmp(r, NFT_REG_1, eq ? NFT_CMP_EQ : NFT_CMP_NEQ, &proto, 1);
}

static void match_ct_dir(struct nftnl_rule *r, uint8_t dir)
{
	struct nftnl_expr *x = ex(r, "ct");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_KEY, NFT_CT_DIRECTION);
	cmp(r, NFT_REG_1, NFT_CMP_EQ, &dir, 1);
}

/* @fields (loaded at R_KEY) [not] in set @set; with @dreg, a map lookup
 * whose value lands in @dreg. */
static void lookup(struct nftnl_rule *r, const char *set, const enum field *f, unsigned n, bool inv,
		   uint32_t dreg)
{
	struct nftnl_expr *x;

	load_concat(r, f, n, R_KEY);
	x = ex(r, "lookup");
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
static void update(struct build *bd, struct nftnl_rule *r, const char *set, const enum field *k,
		   unsigned nk, const enum field *d, unsigned nd)
{
	struct nftnl_expr *x;

	load_concat(r, k, nk, R_KEY);
	load_concat(r, d, nd, R_DATA);
	x = ex(r, "dynset");
	if (!x)
		return;
	nftnl_expr_set_str(x, NFTNL_EXPR_DYNSET_SET_NAME, set);
	nftnl_expr_set_u32(x, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
	nftnl_expr_set_u32(x, NFTNL_EXPR_DYNSET_SREG_KEY, R_KEY);
	if (nd)
		nftnl_expr_set_u32(x, NFTNL_EXPR_DYNSET_SREG_DATA, R_DATA);
	nftnl_expr_set_u64(x, NFTNL_EXPR_DYNSET_TIMEOUT, bd->timeout_ms);
}

static void verdict(struct nftnl_rule *r, int v)
{
	struct nftnl_expr *x = ex(r, "immediate");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_VERDICT, (uint32_t)v);
}

static void imm(struct nftnl_rule *r, uint32_t reg, const void *data, uint32_t len)
{
	struct nftnl_expr *x = ex(r, "immediate");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_DREG, reg);
	nftnl_expr_set(x, NFTNL_EXPR_IMM_DATA, data, len);
}

static void nat(struct nftnl_rule *r, int type, bool port, bool port_max, uint32_t flags)
{
	struct nftnl_expr *x = ex(r, "nat");

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

/* ---- objects */

static struct nftnl_rule *rule_new(const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r) {
		oom = true;
		return NULL;
	}
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, EMU_NAT_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
	return r;
}

static void rule_add(struct build *bd, struct nftnl_rule *r)
{
	int ret;

	if (!r)
		return;
	if (bd->ret == 0) {
		if (oom)
			bd->ret = natlab_err_set(bd->e, ENOMEM, "NAT: building rules in chain %s",
						 nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
		else if ((ret = emu_nft_batch_add_rule(bd->b, r)) < 0)
			bd->ret =
			    natlab_err_set(bd->e, ret, "NAT: ruleset too large for one batch");
	}
	nftnl_rule_free(r);
}

static void chain_add(struct build *bd, const char *name, const char *type, uint32_t hook,
		      int32_t prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c) {
		bd->ret = bd->ret ? bd->ret : natlab_err_set(bd->e, ENOMEM, "NAT: chain %s", name);
		return;
	}
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, EMU_NAT_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	if (bd->ret == 0 && emu_nft_batch_add_chain(bd->b, c) < 0)
		bd->ret = natlab_err_set(bd->e, ENOSPC, "NAT: ruleset too large for one batch");
	nftnl_chain_free(c);
}

static struct nftnl_set *set_alloc(const char *name)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		return NULL;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, EMU_NAT_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_IPV4);
	return s;
}

static _Thread_local uint32_t set_ids;

/* A set (or, with @data, a map) filled from the packet path, each element
 * living bd->timeout_ms after its last update. */
static void dyn_set_add(struct build *bd, const char *name, const enum field *k, unsigned nk,
			const enum field *d, unsigned nd)
{
	struct nftnl_set *s = set_alloc(name);
	uint32_t flags = NFT_SET_TIMEOUT | NFT_SET_EVAL;

	if (!s) {
		bd->ret = bd->ret ? bd->ret : natlab_err_set(bd->e, ENOMEM, "NAT: set %s", name);
		return;
	}
	/* A concatenation pads each field to 4 bytes; a lone port is 2. */
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, nk == 1 && !field_is_addr(k[0]) ? 2 : 4 * nk);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, concat_type(k, nk));
	if (nd) {
		flags |= NFT_SET_MAP;
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 4 * nd);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, concat_type(d, nd));
	}
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
	nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, bd->timeout_ms);
	nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, SET_SIZE);
	nftnl_set_set_u32(s, NFTNL_SET_ID, ++set_ids);
	if (bd->ret == 0 && emu_nft_batch_add_set(bd->b, s) < 0)
		bd->ret = natlab_err_set(bd->e, ENOSPC, "NAT: ruleset too large for one batch");
	nftnl_set_free(s);
}

/* A constant set of @n keys of @klen bytes, or a map to @n values. */
static void const_set_add(struct build *bd, const char *name, uint32_t ktype, uint32_t klen,
			  const void *keys, uint32_t dtype, uint32_t dlen, const void *vals,
			  unsigned n)
{
	struct nftnl_set *s = set_alloc(name);

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
	nftnl_set_set_u32(s, NFTNL_SET_ID, ++set_ids);
	for (unsigned i = 0; i < n; i++) {
		struct nftnl_set_elem *el = nftnl_set_elem_alloc();
		if (!el) {
			oom = true;
			break;
		}
		nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, (const char *)keys + i * klen, klen);
		if (vals)
			nftnl_set_elem_set(el, NFTNL_SET_ELEM_DATA, (const char *)vals + i * dlen,
					   dlen);
		nftnl_set_elem_add(s, el);
	}
	if (bd->ret == 0 && oom)
		bd->ret = natlab_err_set(bd->e, ENOMEM, "NAT: set %s", name);
	if (bd->ret == 0 &&
	    (emu_nft_batch_add_set(bd->b, s) < 0 || emu_nft_batch_add_setelems(bd->b, s) < 0))
		bd->ret = natlab_err_set(bd->e, ENOSPC, "NAT: ruleset too large for one batch");
	nftnl_set_free(s);
}

/* ---- the keys */

static unsigned fkey_in(const struct emu_nat_config *c, enum field *f)
{
	/* As an inbound packet shows it, before DNAT: P . x [. r [. s]]. */
	f[0] = F_IP_DADDR;
	f[1] = F_DPORT;
	f[2] = F_IP_SADDR;
	f[3] = F_SPORT;
	return c->filtering == EMU_NAT_FILTER_EI ? 2 : c->filtering == EMU_NAT_FILTER_AD ? 3 : 4;
}

static unsigned fkey_out(const struct emu_nat_config *c, enum field *f)
{
	/* As an outbound packet shows it after SNAT. */
	f[0] = F_IP_SADDR;
	f[1] = F_SPORT;
	f[2] = F_IP_DADDR;
	f[3] = F_DPORT;
	return c->filtering == EMU_NAT_FILTER_EI ? 2 : c->filtering == EMU_NAT_FILTER_AD ? 3 : 4;
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
static void load_public_addr(struct build *bd, struct nftnl_rule *r)
{
	const struct emu_nat_config *c = bd->c;
	struct nftnl_expr *x;
	struct in_addr a;

	if (!has_pool(c)) {
		inet_pton(AF_INET, c->public_addrs[0], &a);
		imm(r, R_ADDR, &a, 4);
		return;
	}
	if (c->paired_pooling) {
		load_field(r, F_IP_SADDR, R_IDX);
		x = ex(r, "hash");
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
		x = ex(r, "numgen");
		if (!x)
			return;
		nftnl_expr_set_u32(x, NFTNL_EXPR_NG_TYPE, NFT_NG_RANDOM);
		nftnl_expr_set_u32(x, NFTNL_EXPR_NG_DREG, R_IDX);
		nftnl_expr_set_u32(x, NFTNL_EXPR_NG_MODULUS, c->n_public_addrs);
	}
	x = ex(r, "lookup");
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

	imm(r, R_PORT, &a, 2);
	imm(r, R_PORT_MAX, &b, 2);
}

/* ---- chains */

static void build_sets(struct build *bd)
{
	const struct emu_nat_config *c = bd->c;
	enum field fk[4], mk[3] = {F_IP_SADDR, F_SPORT, F_IP_DADDR};
	const enum field ap[2] = {F_IP_SADDR, F_SPORT};
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
		bd->ret = natlab_err_set(bd->e, ENOSPC, "NAT: ruleset too large for one batch");
	nftnl_obj_free(o);

	dyn_set_add(bd, "pmap", fk, fkey_out(c, fk), ap, 2);
	if (has_emap(c))
		dyn_set_add(bd, "emap", mk, c->mapping == EMU_NAT_MAP_EI ? 2 : 3, ap, 2);
	if (c->ports == EMU_NAT_PORTS_PRESERVE)
		dyn_set_add(bd, "pports", &ap[1], 1, NULL, 0);
	if (has_iused(c))
		dyn_set_add(bd, "iused", ap, 2, NULL, 0);
	if (c->hairpin)
		dyn_set_add(bd, "hmap", ap, 2, ap, 2);
	for (unsigned i = 0; i < c->n_public_addrs; i++) {
		struct in_addr a;
		inet_pton(AF_INET, c->public_addrs[i], &a);
		addrs[i] = a.s_addr;
		idx[i] = i; /* host order, as numgen and hash produce it */
	}
	const_set_add(bd, "pubaddrs", TYPE_IPADDR, 4, addrs, 0, 0, NULL, c->n_public_addrs);
	if (has_pool(c))
		const_set_add(bd, "pool", TYPE_INTEGER, 4, idx, TYPE_IPADDR, 4, addrs,
			      c->n_public_addrs);
}

static void build_raw(struct build *bd)
{
	const struct emu_nat_config *c = bd->c;
	const enum field daddr = F_IP_DADDR;
	enum field fk[4];
	struct nftnl_rule *r;
	struct nftnl_expr *x;

	chain_add(bd, "raw", "filter", NF_INET_PRE_ROUTING, -300);
	/* Every UDP flow through this NAT lives udp_timeout_s when idle. The
	 * timeout policy is attached before conntrack creates the entry. */
	r = rule_new("raw");
	if (r) {
		match_l4(r, IPPROTO_UDP, true);
		x = ex(r, "objref");
		if (x) {
			nftnl_expr_set_u32(x, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_CT_TIMEOUT);
			nftnl_expr_set_str(x, NFTNL_EXPR_OBJREF_IMM_NAME, "udp_t");
		}
	}
	rule_add(bd, r);
	/* RFC 4787 §5 filtering, and expiry. EIF: "The NAT filters out only
	 * packets not destined to the internal address and port X:x,
	 * regardless of the external IP address and port source (Z:z)"; ADF:
	 * it also "will filter out packets from Y:y destined for the internal
	 * endpoint X:x if X:x has not sent packets to Y previously"; APDF: the
	 * same with Y:y. An inbound UDP packet passes only if its filtering
	 * key names a live mapping; dropped here, before conntrack, so that a
	 * refused packet does not keep an old flow alive either. */
	r = rule_new("raw");
	if (r) {
		match_ifname(r, true, c->outside_ifname, true);
		match_l4(r, IPPROTO_UDP, true);
		lookup(r, "pmap", fk, fkey_in(c, fk), true, 0);
		verdict(r, NF_DROP);
	}
	rule_add(bd, r);
	if (!c->hairpin) {
		/* Hairpinning off: the inside cannot reach a public mapping. */
		r = rule_new("raw");
		if (r) {
			match_inside(bd, r, true);
			match_l4(r, IPPROTO_UDP, true);
			lookup(r, "pubaddrs", &daddr, 1, false, 0);
			verdict(r, NF_DROP);
		}
		rule_add(bd, r);
	}
}

static void build_dstnat(struct build *bd)
{
	const struct emu_nat_config *c = bd->c;
	const enum field px[2] = {F_IP_DADDR, F_DPORT};
	enum field fk[4];
	struct nftnl_rule *r;

	chain_add(bd, "dstnat", "nat", NF_INET_PRE_ROUTING, -100);
	/* A first packet from outside that passed the filter opens a flow to
	 * the internal endpoint of the mapping (with EIF or ADF it may come
	 * from an endpoint the inside never sent to). */
	r = rule_new("dstnat");
	if (r) {
		match_ifname(r, true, c->outside_ifname, true);
		match_l4(r, IPPROTO_UDP, true);
		lookup(r, "pmap", fk, fkey_in(c, fk), false, R_ADDR);
		nat(r, NFT_NAT_DNAT, true, false, 0);
	}
	rule_add(bd, r);
	if (c->hairpin) {
		/* RFC 4787 REQ-9: "A NAT MUST support 'Hairpinning'": a packet
		 * from the inside to a public mapping goes to its internal
		 * endpoint. */
		r = rule_new("dstnat");
		if (r) {
			match_inside(bd, r, true);
			match_l4(r, IPPROTO_UDP, true);
			lookup(r, "hmap", px, 2, false, R_ADDR);
			nat(r, NFT_NAT_DNAT, true, false, 0);
		}
		rule_add(bd, r);
	}
}

/* A rule in srcnat for UDP leaving through the outside (or, for hairpin,
 * leaving back inside after DNAT to a public address). */
static struct nftnl_rule *srcnat_udp_rule(struct build *bd, bool hairpin)
{
	const enum field odaddr = F_CTO_DADDR;
	struct nftnl_rule *r = rule_new("srcnat");

	if (!r)
		return NULL;
	if (hairpin) {
		match_inside(bd, r, true);
		match_inside(bd, r, false);
		lookup(r, "pubaddrs", &odaddr, 1, false, 0);
	} else {
		match_ifname(r, false, bd->c->outside_ifname, true);
	}
	match_l4(r, IPPROTO_UDP, true);
	return r;
}

static void build_new_mapping(struct build *bd, bool hairpin)
{
	const struct emu_nat_config *c = bd->c;
	const enum field ap[2] = {F_IP_SADDR, F_SPORT};
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
		r = srcnat_udp_rule(bd, hairpin);
		if (r) {
			lookup(r, "pports", &ap[1], 1, true, 0);
			if (has_iused(c))
				lookup(r, "iused", ap, 2, true, 0);
			load_public_addr(bd, r);
			load_port_range(r, c->port_min, c->port_max);
			nat(r, NFT_NAT_SNAT, true, true, 0);
		}
		rule_add(bd, r);
	}
	r = srcnat_udp_rule(bd, hairpin);
	if (!r)
		return;
	load_public_addr(bd, r);
	if (c->ports == EMU_NAT_PORTS_SEQUENTIAL) {
		/* A counter per rule: this rule sees only the first packet of a
		 * new mapping, so public ports go port_min, port_min+1, ... */
		x = ex(r, "numgen");
		if (x) {
			nftnl_expr_set_u32(x, NFTNL_EXPR_NG_TYPE, NFT_NG_INCREMENTAL);
			nftnl_expr_set_u32(x, NFTNL_EXPR_NG_DREG, R_PORT);
			nftnl_expr_set_u32(x, NFTNL_EXPR_NG_MODULUS,
					   (uint32_t)c->port_max - c->port_min + 1);
			nftnl_expr_set_u32(x, NFTNL_EXPR_NG_OFFSET, c->port_min);
		}
		/* numgen gives a host-order u32; nat reads a network-order u16. */
		x = ex(r, "byteorder");
		if (x) {
			nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_SREG, R_PORT);
			nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_DREG, R_PORT);
			nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
			nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_LEN, 2);
			nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_SIZE, 2);
		}
		nat(r, NFT_NAT_SNAT, true, false, 0);
	} else {
		/* Random (or preserve's fallback): fully random in the range,
		 * never the kernel's "keep the source port if it can". */
		load_port_range(r, c->port_min, c->port_max);
		nat(r, NFT_NAT_SNAT, true, true, NF_NAT_RANGE_PROTO_RANDOM_FULLY);
	}
	rule_add(bd, r);
}

static void build_srcnat(struct build *bd)
{
	const struct emu_nat_config *c = bd->c;
	const enum field mk[3] = {F_IP_SADDR, F_SPORT, F_IP_DADDR};
	struct nftnl_rule *r;

	chain_add(bd, "srcnat", "nat", NF_INET_POST_ROUTING, 100);
	if (c->hairpin) {
		/* RFC 4787 REQ-9 a): "A NAT Hairpinning behavior MUST be
		 * 'External source IP address and port'": the hairpinned packet
		 * leaves from the sender's mapping (its existing one under EIM,
		 * else a new one). */
		if (c->mapping == EMU_NAT_MAP_EI) {
			r = srcnat_udp_rule(bd, true);
			if (r) {
				lookup(r, "emap", mk, 2, false, R_ADDR);
				nat(r, NFT_NAT_SNAT, true, false, 0);
			}
			rule_add(bd, r);
		}
		build_new_mapping(bd, true);
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
			lookup(r, "emap", mk, c->mapping == EMU_NAT_MAP_EI ? 2 : 3, false, R_ADDR);
			nat(r, NFT_NAT_SNAT, true, false, 0);
		}
		rule_add(bd, r);
	}
	build_new_mapping(bd, false);
	/* TCP, ICMP and the rest: one translation per flow onto the public
	 * address, source port kept where free (RFC 5382 behaviour is not
	 * modelled knob by knob). */
	r = rule_new("srcnat");
	if (r) {
		match_ifname(r, false, c->outside_ifname, true);
		match_l4(r, IPPROTO_UDP, false);
		load_public_addr(bd, r);
		nat(r, NFT_NAT_SNAT, false, false, 0);
	}
	rule_add(bd, r);
}

/* The sets learn a mapping from a translated packet. @out: an outbound
 * packet after SNAT (postrouting); else an inbound one after DNAT
 * (forward), for inbound refresh. @dir: its conntrack direction. */
static void build_learn(struct build *bd, const char *chain, bool out, uint8_t dir)
{
	const struct emu_nat_config *c = bd->c;
	/* The internal endpoint a . p and the public one P . x, and the
	 * remote r . s, as this packet and its conntrack entry show them. */
	enum field a, p, P, x, rr, s;
	struct nftnl_rule *r;
	enum field k[4], d[2];
	unsigned nk;

	if (out) {
		P = F_IP_SADDR, x = F_SPORT, rr = F_IP_DADDR, s = F_DPORT;
		a = dir == IP_CT_DIR_ORIGINAL ? F_CTO_SADDR : F_CTR_SADDR;
		p = dir == IP_CT_DIR_ORIGINAL ? F_CTO_SPORT : F_CTR_SPORT;
	} else {
		a = F_IP_DADDR, p = F_DPORT, rr = F_IP_SADDR, s = F_SPORT;
		P = dir == IP_CT_DIR_REPLY ? F_CTR_DADDR : F_CTO_DADDR;
		x = dir == IP_CT_DIR_REPLY ? F_CTR_DPORT : F_CTO_DPORT;
	}
	for (int which = 0; which < 5; which++) {
		const char *set = NULL;
		unsigned nd = 2;
		switch (which) {
		case 0:
			set = "pmap";
			k[0] = P, k[1] = x, k[2] = rr, k[3] = s;
			nk = c->filtering == EMU_NAT_FILTER_EI	 ? 2
			     : c->filtering == EMU_NAT_FILTER_AD ? 3
								 : 4;
			d[0] = a, d[1] = p;
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
		default:
			if (!c->hairpin)
				continue;
			set = "hmap";
			k[0] = P, k[1] = x, nk = 2;
			d[0] = a, d[1] = p;
			break;
		}
		r = rule_new(chain);
		if (!r)
			return;
		match_ifname(r, !out, c->outside_ifname, true);
		match_l4(r, IPPROTO_UDP, true);
		match_ct_dir(r, dir);
		update(bd, r, set, k, nk, d, nd);
		rule_add(bd, r);
	}
}

static void build_fwd(struct build *bd)
{
	const struct emu_nat_config *c = bd->c;
	const enum field dport = F_DPORT;
	struct nftnl_rule *r;

	chain_add(bd, "fw_forward", "filter", NF_INET_FORWARD, 0);
	if (c->udp_blocked) {
		r = rule_new("fw_forward");
		if (r) {
			match_l4(r, IPPROTO_UDP, true);
			verdict(r, NF_DROP);
		}
		rule_add(bd, r);
	}
	if (c->n_tcp_out_ports) {
		/* Every packet of a connection opened from inside must go to an
		 * allowed port (the port of a connection never changes). */
		r = rule_new("fw_forward");
		if (r) {
			match_inside(bd, r, true);
			match_l4(r, IPPROTO_TCP, true);
			match_ct_dir(r, IP_CT_DIR_ORIGINAL);
			lookup(r, "tcpok", &dport, 1, true, 0);
			verdict(r, NF_DROP);
		}
		rule_add(bd, r);
	}
	if (c->tcp_in_blocked) {
		r = rule_new("fw_forward");
		if (r) {
			match_ifname(r, true, c->outside_ifname, true);
			match_l4(r, IPPROTO_TCP, true);
			match_ct_dir(r, IP_CT_DIR_ORIGINAL);
			verdict(r, NF_DROP);
		}
		rule_add(bd, r);
	}
	if (c->translate && c->inbound_refreshes && !c->udp_blocked) {
		/* RFC 4787 REQ-6: inbound refresh is a MAY; when on, inbound
		 * packets keep every set entry of the mapping alive. */
		build_learn(bd, "fw_forward", false, IP_CT_DIR_REPLY);
		build_learn(bd, "fw_forward", false, IP_CT_DIR_ORIGINAL);
	}
}

static void build_input(struct build *bd)
{
	const struct emu_nat_config *c = bd->c;
	struct nftnl_rule *r;

	if (!c->tcp_in_blocked)
		return;
	chain_add(bd, "fw_input", "filter", NF_INET_LOCAL_IN, 0);
	r = rule_new("fw_input");
	if (r) {
		match_ifname(r, true, c->outside_ifname, true);
		match_l4(r, IPPROTO_TCP, true);
		match_ct_dir(r, IP_CT_DIR_ORIGINAL);
		verdict(r, NF_DROP);
	}
	rule_add(bd, r);
}

static int table_op(struct emu_nft_batch *b, bool del)
{
	struct nftnl_table *t = nftnl_table_alloc();
	int ret;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, EMU_NAT_TABLE);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_IPV4);
	ret = del ? emu_nft_batch_del_table(b, t) : emu_nft_batch_add_table(b, t);
	nftnl_table_free(t);
	return ret;
}

int emu_nat_build(const struct emu_nat_config *c, struct emu_nft_batch *b, struct natlab_err *e)
{
	return emu_nat_build_table(c, b, true, e);
}

int emu_nat_build_table(const struct emu_nat_config *c, struct emu_nft_batch *b, bool replace,
			struct natlab_err *e)
{
	struct build bd = {.c = c, .b = b, .e = e};
	int ret = emu_nat_config_check(c, e);

	if (ret < 0)
		return ret;
	oom = false;
	bd.timeout_ms = (uint64_t)c->udp_timeout_s * 1000;
	/* Create (a no-op if it exists), delete, create: the old ruleset and
	 * every mapping in its sets go in the same transaction. A deletion
	 * makes the kernel wait for an RCU grace period (~10 ms here), so a
	 * node known to have no table yet skips it. */
	if (table_op(b, false) < 0 ||
	    (replace && (table_op(b, true) < 0 || table_op(b, false) < 0)))
		return natlab_err_set(e, ENOSPC, "NAT: batch full");
	if (c->n_tcp_out_ports) {
		uint16_t ports[EMU_NAT_TCP_PORTS_MAX];
		for (unsigned i = 0; i < c->n_tcp_out_ports; i++)
			ports[i] = htons(c->tcp_out_ports[i]);
		const_set_add(&bd, "tcpok", TYPE_INET_SERVICE, 2, ports, 0, 0, NULL,
			      c->n_tcp_out_ports);
	}
	if (c->translate && !c->udp_blocked)
		build_sets(&bd);
	else if (c->translate) {
		/* No UDP passes: only the public addresses are needed. */
		uint32_t addrs[EMU_NAT_ADDRS_MAX];
		uint32_t idx[EMU_NAT_ADDRS_MAX];
		for (unsigned i = 0; i < c->n_public_addrs; i++) {
			struct in_addr a;
			inet_pton(AF_INET, c->public_addrs[i], &a);
			addrs[i] = a.s_addr;
			idx[i] = i;
		}
		if (has_pool(c))
			const_set_add(&bd, "pool", TYPE_INTEGER, 4, idx, TYPE_IPADDR, 4, addrs,
				      c->n_public_addrs);
	}
	if (c->translate && !c->udp_blocked) {
		build_raw(&bd);
		build_dstnat(&bd);
		build_srcnat(&bd);
		chain_add(&bd, "learn", "filter", NF_INET_POST_ROUTING, 200);
		build_learn(&bd, "learn", true, IP_CT_DIR_ORIGINAL);
		build_learn(&bd, "learn", true, IP_CT_DIR_REPLY);
	} else if (c->translate) {
		struct nftnl_rule *r;
		chain_add(&bd, "srcnat", "nat", NF_INET_POST_ROUTING, 100);
		r = rule_new("srcnat");
		if (r) {
			match_ifname(r, false, c->outside_ifname, true);
			load_public_addr(&bd, r);
			nat(r, NFT_NAT_SNAT, false, false, 0);
		}
		rule_add(&bd, r);
	}
	build_fwd(&bd);
	build_input(&bd);
	return bd.ret;
}

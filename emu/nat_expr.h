/* nat_expr.h - building blocks of the NAT rulesets (internal to emu/nat*.c,
 * whose expression helpers emu/flow.c reuses): libnftnl expressions
 * appended to a rule, and the table's chains and sets, all going into one
 * batch. Not a public API: see nat.h.
 *
 * Expression helpers append to @r (nftnl_rule_add_expr takes ownership of
 * the expression). An allocation failure sets nx_oom; nx_rule_add() then
 * reports it in the build's error and drops the rule.
 */
#ifndef NATLAB_EMU_NAT_EXPR_H
#define NATLAB_EMU_NAT_EXPR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h> /* libnftnl's headers need FILE */

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <linux/netfilter/nf_tables.h>

#include "emu/nat.h"
#include "emu/nat_evidence.h"
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
enum nx_field {
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

struct nx_build {
	const struct emu_nat_config *c;
	const char *table; /* EMU_NAT_TABLE (ip) or EMU_NAT_TABLE6 (ip6) */
	uint32_t family;
	struct emu_nft_batch *b;
	struct natlab_err *e;
	uint64_t timeout_ms;
	int ret;
};

/* Per thread: labs may be built from several threads at once. */
extern _Thread_local bool nx_oom;

bool nx_field_is_addr(enum nx_field f);
struct nftnl_expr *nx_ex(struct nftnl_rule *r, const char *name);
void nx_load_field(struct nftnl_rule *r, enum nx_field f, uint32_t reg);
void nx_load_concat(struct nftnl_rule *r, const enum nx_field *f, unsigned n, uint32_t reg);
uint32_t nx_concat_type(const enum nx_field *f, unsigned n);
void nx_cmp(struct nftnl_rule *r, uint32_t reg, enum nft_cmp_ops op, const void *data,
	    uint32_t len);
void nx_meta(struct nftnl_rule *r, enum nft_meta_keys key, uint32_t reg);
void nx_match_ifname(struct nftnl_rule *r, bool in, const char *name, bool eq);
void nx_match_inside(struct nx_build *bd, struct nftnl_rule *r, bool in);
void nx_match_l4(struct nftnl_rule *r, uint8_t proto, bool eq);
void nx_match_tcp_flags(struct nftnl_rule *r, uint8_t mask, uint8_t value);
void nx_match_ct_dir(struct nftnl_rule *r, uint8_t dir);
void nx_lookup(struct nftnl_rule *r, const char *set, const enum nx_field *f, unsigned n, bool inv,
	       uint32_t dreg);
void nx_update(struct nx_build *bd, struct nftnl_rule *r, const char *set, const enum nx_field *k,
	       unsigned nk, const enum nx_field *d, unsigned nd);
void nx_verdict(struct nftnl_rule *r, int v);
void nx_imm(struct nftnl_rule *r, uint32_t reg, const void *data, uint32_t len);
void nx_nat(struct nftnl_rule *r, int type, bool port, bool port_max, uint32_t flags);
/* Evidence (nat_evidence.h): nx_count - add one to named counter @c;
 * nx_drop_counted - count, log to EMU_NAT_LOG_GROUP with the counter's
 * name as prefix, then drop. nx_counters_add - the counter objects of the
 * table being built (after the table, before any rule naming them). */
void nx_count(struct nftnl_rule *r, enum emu_nat_counter c);
void nx_count_log(struct nftnl_rule *r, enum emu_nat_counter c);
void nx_drop_counted(struct nftnl_rule *r, enum emu_nat_counter c);
void nx_counters_add(struct nx_build *bd);
void nx_match_ct_state(struct nftnl_rule *r, uint32_t state_bits);
/* nx_match_ct_bits - conntrack @key (NFT_CT_STATE, NFT_CT_STATUS) masked
 * with @bits: any of them set (@any), or none of them. */
void nx_match_ct_bits(struct nftnl_rule *r, enum nft_ct_keys key, uint32_t bits, bool any);
/* nx_set_mark - the packet mark := @mark (register R_IDX). */
void nx_set_mark(struct nftnl_rule *r, uint32_t mark);
/* nx_table_op - add (or, with @del, delete) table @name of @family to
 * @b. Adding, deleting and adding again in one batch replaces a table
 * (adding an existing one is no error). 0, -ENOMEM or -ENOSPC. */
int nx_table_op(struct emu_nft_batch *b, bool del, const char *name, uint32_t family);
struct nftnl_rule *nx_rule_new(const struct nx_build *bd, const char *chain);
void nx_rule_add(struct nx_build *bd, struct nftnl_rule *r);
/* @type NULL: a regular chain (no hook), reached by jump or goto. */
void nx_chain_add(struct nx_build *bd, const char *name, const char *type, uint32_t hook,
		  int32_t prio);
struct nftnl_set *nx_set_alloc(const struct nx_build *bd, const char *name);
void nx_dyn_set_add(struct nx_build *bd, const char *name, const enum nx_field *k, unsigned nk,
		    const enum nx_field *d, unsigned nd);
void nx_const_set_add(struct nx_build *bd, const char *name, uint32_t ktype, uint32_t klen,
		      const void *keys, uint32_t dtype, uint32_t dlen, const void *vals,
		      unsigned n);

#endif

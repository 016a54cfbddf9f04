/* nat_ruleset.c - each preset's nftables transaction built without a
 * kernel, parsed back with libnftnl, and checked for the expressions that
 * enforce its knobs; bad knobs give clear errors. No root needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "emu/nat.h"
#include "emu/nat_evidence.h"
#include "emu/nft.h"

/* A drop rule's end: its named counter, the log to the evidence group
 * with the counter's name as prefix, the verdict. */
#define DROP(ctr) "objref:" ctr " log:28268:" ctr " drop ;"

/* What a parsed batch holds, as text easy to search. */
#define RULES_LEN 8192 /* the text of one chain's rules */
struct parsed {
	char chains[1024];	   /* "name:hook:prio:type;" */
	char sets[1024];	   /* "name:klen:dlen:flags;" */
	char elems[1024];	   /* "set:n;" */
	char objs[1024];	   /* "name:type;" */
	char rules[16][RULES_LEN]; /* per chain index: "expr expr ...;" per rule */
	char rule_chain[16][32];
	unsigned n_chains_rules;
	unsigned table_ops;  /* new/del table messages, IPv4 */
	unsigned table6_ops; /* the same for the ip6 firewall table */
	uint32_t ct_udp_timeout[2];
};

static char *chain_rules(struct parsed *p, const char *chain)
{
	for (unsigned i = 0; i < p->n_chains_rules; i++)
		if (strcmp(p->rule_chain[i], chain) == 0)
			return p->rules[i];
	if (p->n_chains_rules == 16)
		return NULL;
	snprintf(p->rule_chain[p->n_chains_rules], sizeof(p->rule_chain[0]), "%s", chain);
	return p->rules[p->n_chains_rules++];
}

static void cat(char *dst, size_t len, const char *fmt, ...)
{
	size_t used = strlen(dst);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst + used, len - used, fmt, ap);
	va_end(ap);
}

/* libnftnl 1.2.4 builds an objref name without its NUL and parses it
 * back reading past its end: a known counter name that starts it is the
 * name (others, such as udp_t, are matched by prefix below). */
static const char *objref_name(const char *s)
{
	const char *best = s;
	size_t blen = 0;

	for (int i = 0; i < EMU_NAT_CTR_N; i++) {
		const char *n = emu_nat_counter_name((enum emu_nat_counter)i);
		if (strncmp(s, n, strlen(n)) == 0 && strlen(n) > blen) {
			best = n;
			blen = strlen(n);
		}
	}
	return best;
}

static int expr_cb(struct nftnl_expr *x, void *data)
{
	char *out = data;
	const char *name = nftnl_expr_get_str(x, NFTNL_EXPR_NAME);
	const size_t len = RULES_LEN;

	if (strcmp(name, "lookup") == 0) {
		uint32_t fl = nftnl_expr_is_set(x, NFTNL_EXPR_LOOKUP_FLAGS)
				  ? nftnl_expr_get_u32(x, NFTNL_EXPR_LOOKUP_FLAGS)
				  : 0;
		cat(out, len, "lookup:%s%s ", (fl & NFT_LOOKUP_F_INV) ? "!" : "",
		    nftnl_expr_get_str(x, NFTNL_EXPR_LOOKUP_SET));
	} else if (strcmp(name, "dynset") == 0) {
		cat(out, len, "dynset:%s:%llu ", nftnl_expr_get_str(x, NFTNL_EXPR_DYNSET_SET_NAME),
		    (unsigned long long)nftnl_expr_get_u64(x, NFTNL_EXPR_DYNSET_TIMEOUT));
	} else if (strcmp(name, "nat") == 0) {
		uint32_t fl = nftnl_expr_is_set(x, NFTNL_EXPR_NAT_FLAGS)
				  ? nftnl_expr_get_u32(x, NFTNL_EXPR_NAT_FLAGS)
				  : 0;
		cat(out, len, "%s%s%s ",
		    nftnl_expr_get_u32(x, NFTNL_EXPR_NAT_TYPE) == NFT_NAT_SNAT ? "snat" : "dnat",
		    nftnl_expr_is_set(x, NFTNL_EXPR_NAT_REG_PROTO_MIN) ? ":port" : "",
		    (fl & NF_NAT_RANGE_PROTO_RANDOM_FULLY) ? ":fully-random" : "");
	} else if (strcmp(name, "numgen") == 0) {
		cat(out, len, "numgen:%s:%u:%u ",
		    nftnl_expr_get_u32(x, NFTNL_EXPR_NG_TYPE) == NFT_NG_INCREMENTAL ? "inc"
										    : "random",
		    nftnl_expr_get_u32(x, NFTNL_EXPR_NG_MODULUS),
		    nftnl_expr_is_set(x, NFTNL_EXPR_NG_OFFSET)
			? nftnl_expr_get_u32(x, NFTNL_EXPR_NG_OFFSET)
			: 0);
	} else if (strcmp(name, "hash") == 0) {
		cat(out, len, "jhash:%u ", nftnl_expr_get_u32(x, NFTNL_EXPR_HASH_MODULUS));
	} else if (strcmp(name, "objref") == 0) {
		cat(out, len, "objref:%s ",
		    objref_name(nftnl_expr_get_str(x, NFTNL_EXPR_OBJREF_IMM_NAME)));
	} else if (strcmp(name, "log") == 0) {
		cat(out, len, "log:%u:%s ", nftnl_expr_get_u16(x, NFTNL_EXPR_LOG_GROUP),
		    nftnl_expr_get_str(x, NFTNL_EXPR_LOG_PREFIX));
	} else if (strcmp(name, "immediate") == 0 &&
		   nftnl_expr_get_u32(x, NFTNL_EXPR_IMM_DREG) == NFT_REG_VERDICT) {
		cat(out, len, "%s ",
		    nftnl_expr_get_u32(x, NFTNL_EXPR_IMM_VERDICT) == NF_DROP ? "drop" : "verdict");
	} else if (strcmp(name, "meta") == 0) {
		uint32_t k = nftnl_expr_get_u32(x, NFTNL_EXPR_META_KEY);
		cat(out, len, "%s ",
		    k == NFT_META_IIFNAME   ? "iifname"
		    : k == NFT_META_OIFNAME ? "oifname"
		    : k == NFT_META_L4PROTO ? "l4proto"
					    : "meta");
	} else if (strcmp(name, "cmp") == 0) {
		uint32_t dlen;
		const unsigned char *d = nftnl_expr_get(x, NFTNL_EXPR_CMP_DATA, &dlen);
		const char *op =
		    nftnl_expr_get_u32(x, NFTNL_EXPR_CMP_OP) == NFT_CMP_EQ ? "==" : "!=";
		if (dlen == 1)
			cat(out, len, "%s%u ", op, d[0]);
		else if (dlen == 2) /* a port, network order */
			cat(out, len, "%s%u ", op, (unsigned)(d[0] << 8 | d[1]));
		else
			cat(out, len, "%s\"%.*s\" ", op, (int)dlen - 1, (const char *)d);
	} else {
		cat(out, len, "%s ", name);
	}
	return 0;
}

/* NEWSETELEM walked with libmnl (libnftnl 1.2.4's element parser refuses
 * lists of more than one element here): "set:k1,k2,...,n;". */
static void parse_elems(const struct nlmsghdr *nlh, struct parsed *p)
{
	const struct nlattr *a, *el, *k, *v;
	unsigned n = 0;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
	{
		if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_SET)
			cat(p->elems, sizeof(p->elems), "%s:", mnl_attr_get_str(a));
		if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(el, a)
		{
			mnl_attr_for_each_nested(k, el)
			{
				if (mnl_attr_get_type(k) != NFTA_SET_ELEM_KEY)
					continue;
				mnl_attr_for_each_nested(v, k)
				{
					const unsigned char *d = mnl_attr_get_payload(v);
					if (mnl_attr_get_payload_len(v) == 2)
						cat(p->elems, sizeof(p->elems), "%u,",
						    (unsigned)(d[0] << 8 | d[1]));
					else if (mnl_attr_get_payload_len(v) == 4)
						cat(p->elems, sizeof(p->elems), "%u.%u.%u.%u,",
						    d[0], d[1], d[2], d[3]);
				}
			}
			n++;
		}
	}
	cat(p->elems, sizeof(p->elems), "%u;", n);
}

static void parse_batch(struct emu_nft_batch *b, struct parsed *p)
{
	size_t len;
	const void *buf = emu_nft_batch_bytes(b, &len);
	const struct nlmsghdr *nlh;
	int left = (int)len;

	memset(p, 0, sizeof(*p));
	for (nlh = buf; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		uint16_t type = nlh->nlmsg_type & 0xff;
		if ((nlh->nlmsg_type >> 8) != NFNL_SUBSYS_NFTABLES)
			continue; /* batch begin/end */
		const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
		const char *v6 = nfg->nfgen_family == NFPROTO_IPV6 ? "v6/" : "";
		if (type == NFT_MSG_NEWTABLE || type == NFT_MSG_DELTABLE) {
			if (*v6)
				p->table6_ops++;
			else
				p->table_ops++;
		} else if (type == NFT_MSG_NEWCHAIN) {
			struct nftnl_chain *c = nftnl_chain_alloc();
			assert_int_equal(nftnl_chain_nlmsg_parse(nlh, c), 0);
			cat(p->chains, sizeof(p->chains), "%s:%u:%d:%s;",
			    nftnl_chain_get_str(c, NFTNL_CHAIN_NAME),
			    nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM),
			    nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO),
			    nftnl_chain_is_set(c, NFTNL_CHAIN_TYPE)
				? nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE)
				: "regular");
			nftnl_chain_free(c);
		} else if (type == NFT_MSG_NEWSET) {
			struct nftnl_set *s = nftnl_set_alloc();
			assert_int_equal(nftnl_set_nlmsg_parse(nlh, s), 0);
			cat(p->sets, sizeof(p->sets), "%s:%u:%u:%s%s;",
			    nftnl_set_get_str(s, NFTNL_SET_NAME),
			    nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN),
			    nftnl_set_is_set(s, NFTNL_SET_DATA_LEN)
				? nftnl_set_get_u32(s, NFTNL_SET_DATA_LEN)
				: 0,
			    (nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_EVAL) ? "dynamic" : "",
			    (nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_CONSTANT) ? "constant"
										       : "");
			nftnl_set_free(s);
		} else if (type == NFT_MSG_NEWSETELEM) {
			cat(p->elems, sizeof(p->elems), "%s", v6);
			parse_elems(nlh, p);
		} else if (type == NFT_MSG_NEWOBJ) {
			struct nftnl_obj *o = nftnl_obj_alloc();
			uint32_t olen;
			assert_int_equal(nftnl_obj_nlmsg_parse(nlh, o), 0);
			cat(p->objs, sizeof(p->objs), "%s:%u;",
			    nftnl_obj_get_str(o, NFTNL_OBJ_NAME),
			    nftnl_obj_get_u32(o, NFTNL_OBJ_TYPE));
			if (nftnl_obj_get_u32(o, NFTNL_OBJ_TYPE) == NFT_OBJECT_CT_TIMEOUT) {
				const uint32_t *t =
				    nftnl_obj_get_data(o, NFTNL_OBJ_CT_TIMEOUT_ARRAY, &olen);
				assert_non_null(t);
				p->ct_udp_timeout[0] = t[NFTNL_CTTIMEOUT_UDP_UNREPLIED];
				p->ct_udp_timeout[1] = t[NFTNL_CTTIMEOUT_UDP_REPLIED];
			}
			nftnl_obj_free(o);
		} else if (type == NFT_MSG_NEWRULE) {
			struct nftnl_rule *r = nftnl_rule_alloc();
			char *out;
			assert_int_equal(nftnl_rule_nlmsg_parse(nlh, r), 0);
			char key[64];
			snprintf(key, sizeof(key), "%s%s", v6,
				 nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
			out = chain_rules(p, key);
			assert_non_null(out);
			nftnl_expr_foreach(r, expr_cb, out);
			cat(out, RULES_LEN, ";");
			nftnl_rule_free(r);
		}
	}
}

static void build(const char *preset, void (*tweak)(struct emu_nat_config *), struct parsed *p)
{
	struct emu_nat_config c;
	struct natlab_err e = {{0}};
	struct emu_nft_batch *b = emu_nft_batch_new();

	assert_non_null(b);
	assert_int_equal(emu_nat_preset(preset, &c, &e), 0);
	snprintf(c.outside_ifname, sizeof(c.outside_ifname), "wan");
	snprintf(c.public_addrs[0], sizeof(c.public_addrs[0]), "203.0.113.7");
	c.n_public_addrs = 1;
	if (tweak)
		tweak(&c);
	if (emu_nat_build(&c, b, &e) != 0)
		fail_msg("%s: %s", preset, e.msg);
	parse_batch(b, p);
	emu_nft_batch_free(b);
}

static const char *rules(struct parsed *p, const char *chain)
{
	for (unsigned i = 0; i < p->n_chains_rules; i++)
		if (strcmp(p->rule_chain[i], chain) == 0)
			return p->rules[i];
	return "";
}

#define HAS(hay, needle)                                                                           \
	do {                                                                                       \
		if (!strstr((hay), (needle)))                                                      \
			fail_msg("expected \"%s\" in:\n%s", (needle), (hay));                      \
	} while (0)
#define HASNT(hay, needle)                                                                         \
	do {                                                                                       \
		if (strstr((hay), (needle)))                                                       \
			fail_msg("unexpected \"%s\" in:\n%s", (needle), (hay));                    \
	} while (0)

/* Common to every translating preset. */
static void check_nat_common(struct parsed *p)
{
	/* create, delete, create: an atomic replacement */
	assert_int_equal(p->table_ops, 3);
	HAS(p->chains, "raw:0:-300:filter;");
	HAS(p->chains, "dstnat:0:-100:nat;");
	HAS(p->chains, "srcnat:4:100:nat;");
	HAS(p->chains, "learn:4:200:filter;");
	HAS(p->objs, "udp_t:7;"); /* NFT_OBJECT_CT_TIMEOUT */
	assert_int_equal(p->ct_udp_timeout[0], 120);
	assert_int_equal(p->ct_udp_timeout[1], 120);
	/* (libnftnl 1.2.4 parses an objref name without its end: match the prefix) */
	/* the policy attaches only to a flow conntrack has created, not yet
	 * confirmed: after conntrack (-200), not in raw */
	HAS(p->chains, "cttime:0:-150:filter;");
	HAS(rules(p, "cttime"), "l4proto ==17 objref:udp_t");
	HASNT(rules(p, "raw"), "objref:udp_t");
	/* unsolicited inbound: dropped unless the filtering key is live */
	HAS(rules(p, "raw"), "iifname ==\"wan\" l4proto ==17 payload payload ");
	HAS(rules(p, "raw"), "lookup:!pmap " DROP("drop_filtering"));
	HAS(rules(p, "dstnat"), "lookup:pmap dnat:port ;");
	HAS(rules(p, "learn"), "dynset:pmap:120000 ;");
	HAS(p->elems, "pubaddrs:203.0.113.7,1;");
	/* TCP and the rest: snat onto the public address */
	HAS(rules(p, "srcnat"), "oifname ==\"wan\" l4proto !=17 immediate snat ;");
	/* IPv6 is not translated, but what an IPv4 NAT stops, its stateful
	 * IPv6 firewall stops too: flows opened from outside */
	assert_int_equal(p->table6_ops, 3);
	HAS(rules(p, "v6/fw_forward"),
	    "iifname ==\"wan\" l4proto ==17 ct ==0 " DROP("drop_inbound_v6"));
	HAS(rules(p, "v6/fw_forward"),
	    "iifname ==\"wan\" l4proto ==6 ct ==0 " DROP("drop_inbound_v6"));
	HASNT(p->sets, "v6/");
}

static void test_full_cone(void **state)
{
	struct parsed p;

	build("full-cone", NULL, &p);
	check_nat_common(&p);
	HAS(p.sets, "pmap:8:8:dynamic;"); /* EIF: P . x */
	HAS(p.sets, "emap:8:8:dynamic;"); /* EIM: a . p */
	HAS(p.sets, "pports:2:0:dynamic;");
	HAS(p.sets, "hmap:8:8:dynamic;");
	/* EIM: reuse the mapping, else preserve the port when free */
	HAS(rules(&p, "srcnat"),
	    "oifname ==\"wan\" l4proto ==17 payload payload lookup:emap snat:port ;");
	HAS(rules(&p, "newmap"), "lookup:!pports immediate immediate immediate snat:port ;");
	HAS(rules(&p, "newmap"), "snat:port:fully-random ;");
	/* outbound and hairpinned UDP share chain newmap (one numgen counter) */
	HAS(p.chains, "newmap:0:0:regular;");
	HAS(rules(&p, "srcnat"), "oifname ==\"wan\" l4proto ==17 verdict ;");
	HAS(rules(&p, "srcnat"), "lookup:pubaddrs l4proto ==17 verdict ;");
	/* hairpin on: dnat from inside, and no hairpin drop */
	HAS(rules(&p, "dstnat"),
	    "iifname !=\"wan\" l4proto ==17 payload payload lookup:hmap dnat:port ;");
	HASNT(rules(&p, "raw"), "lookup:pubaddrs drop");
	/* inbound refresh on by default */
	HAS(rules(&p, "fw_forward"), "dynset:pmap");
	/* EIF: hairpinned packets are learnt, never filtered */
	HAS(rules(&p, "learn"), "ct lookup:pubaddrs l4proto ==17 ct ==0 payload payload ct ct "
				"dynset:pmap:120000 ;");
	HASNT(rules(&p, "learn"), "drop_hairpin_filtering");
	/* RFC 5382 REQ-4: an unsolicited SYN from outside is dropped unless
	 * the node has a socket for it; IPv4 only */
	assert_string_equal(
	    rules(&p, "fw_input"),
	    "iifname ==\"wan\" l4proto ==6 payload bitwise ==2 socket verdict ;"
	    "iifname ==\"wan\" l4proto ==6 payload bitwise ==2 " DROP("drop_unsolicited_syn"));
	assert_string_equal(rules(&p, "v6/fw_input"), "");
}

static void test_restricted_cone(void **state)
{
	struct parsed p;

	build("restricted-cone", NULL, &p);
	check_nat_common(&p);
	HAS(p.sets, "pmap:12:8:dynamic;"); /* ADF: P . x . r */
	HAS(p.sets, "emap:8:8:dynamic;");
	HASNT(p.sets, "fsent"); /* EIM: per mapping is per endpoint */
	/* RFC 4787 REQ-9: hairpinned packets are learnt as outbound ones and
	 * filtered as inbound ones, keyed by the receiver's mapping */
	HAS(rules(&p, "learn"), "iifname !=\"wan\" oifname !=\"wan\" ct lookup:pubaddrs l4proto "
				"==17 ct ==0 payload payload ct ct ct dynset:pmap:120000 ;");
	HAS(rules(&p, "learn"),
	    "iifname !=\"wan\" oifname !=\"wan\" ct lookup:pubaddrs l4proto "
	    "==17 ct ==0 ct ct payload lookup:!pmap " DROP("drop_hairpin_filtering"));
}

static void test_port_restricted(void **state)
{
	struct parsed p, q;

	build("port-restricted-cone", NULL, &p);
	build("easy", NULL, &q);
	check_nat_common(&p);
	HAS(p.sets, "pmap:16:8:dynamic;"); /* APDF: P . x . r . s */
	HAS(p.sets, "emap:8:8:dynamic;");
	HAS(rules(&p, "learn"),
	    "ct ct payload payload lookup:!pmap " DROP("drop_hairpin_filtering"));
	/* the alias builds exactly the same transaction */
	assert_string_equal(p.sets, q.sets);
	assert_string_equal(rules(&p, "srcnat"), rules(&q, "srcnat"));
	assert_string_equal(rules(&p, "newmap"), rules(&q, "newmap"));
}

static void test_address_dependent(void **state)
{
	struct parsed p;

	build("address-dependent", NULL, &p);
	check_nat_common(&p);
	HAS(p.sets, "emap:12:8:dynamic;"); /* ADM: a . p . r */
	/* ADF per internal endpoint (RFC 4787 §5): pmap finds a . p behind
	 * P . x, fsent holds the addresses a . p has sent to */
	HAS(p.sets, "pmap:8:8:dynamic;");
	HAS(p.sets, "fsent:12:0:dynamic;");
	HAS(rules(&p, "raw"), "lookup:pmap payload lookup:!fsent " DROP("drop_filtering"));
	HAS(rules(&p, "learn"), "dynset:fsent:120000 ;");
	/* admitted packets outside a flow of their mapping (pflow) go to
	 * X:x untracked, rewritten statelessly, refreshing pmap and fsent */
	HAS(p.sets, "pflow:16:0:dynamic;");
	HAS(rules(&p, "learn"), "dynset:pflow:120000 ;");
	HAS(rules(&p, "raw"), "lookup:pflow verdict ;");
	HAS(rules(&p, "raw"), "lookup:pmap dynset:pmap:120000 payload dynset:fsent:120000 "
			      "notrack payload payload ;");
	/* sequential: a counter from port_min over the whole range */
	HAS(rules(&p, "newmap"), "numgen:inc:64512:1024 byteorder snat:port ;");
	HASNT(p.sets, "hmap");
	HAS(rules(&p, "raw"), "lookup:pubaddrs " DROP("drop_no_hairpin")); /* hairpin off */
}

static void test_symmetric(void **state)
{
	struct parsed p, q;

	build("symmetric", NULL, &p);
	build("hard", NULL, &q);
	check_nat_common(&p);
	HASNT(p.sets, "emap"); /* APDM: conntrack's own per-flow mapping */
	HASNT(p.sets, "pports");
	HAS(p.sets, "pmap:8:8:dynamic;");
	HAS(p.sets, "fsent:16:0:dynamic;"); /* APDF per endpoint: a . p . r . s */
	HAS(rules(&p, "raw"), "lookup:pmap payload payload lookup:!fsent " DROP("drop_filtering"));
	/* a drawn port is marked, and refused in learn when already mapped
	 * (RFC 4787 REQ-3, §4.1 APDM) */
	assert_string_equal(
	    rules(&p, "newmap"),
	    "immediate meta immediate immediate immediate snat:port:fully-random ;");
	HAS(p.sets, "pused:8:0:dynamic;");
	assert_int_equal(strncmp(rules(&p, "learn"), "meta ==", 7), 0);
	HAS(rules(&p, "learn"),
	    "l4proto ==17 payload payload lookup:pused " DROP("drop_port_clash"));
	HAS(rules(&p, "learn"), "payload payload dynset:pused:120000 ;");
	HASNT(rules(&p, "srcnat"), "lookup:emap");
	assert_string_equal(rules(&p, "srcnat"), rules(&q, "srcnat"));
	assert_string_equal(rules(&p, "newmap"), rules(&q, "newmap"));
}

static void test_cgnat(void **state)
{
	struct parsed p;

	assert_string_equal(emu_nat_preset_inner("cgnat"), "port-restricted-cone");
	assert_null(emu_nat_preset_inner("easy"));
	build("cgnat", NULL, &p);
	check_nat_common(&p);
	HAS(p.sets, "emap:8:8:dynamic;");
	HAS(p.sets, "hmap:8:8:dynamic;");
}

static void test_open(void **state)
{
	struct parsed p;

	build("open", NULL, &p);
	assert_int_equal(p.table_ops, 3);
	HASNT(p.chains, ":nat;");
	HAS(p.chains, "fw_forward:2:0:filter;");
	assert_string_equal(rules(&p, "fw_forward"), "");
	assert_string_equal(rules(&p, "v6/fw_forward"), "");
}

static void test_udp_blocked(void **state)
{
	struct parsed p;

	build("udp-blocked", NULL, &p);
	HAS(rules(&p, "fw_forward"), "l4proto ==17 " DROP("drop_udp_blocked"));
	HAS(rules(&p, "v6/fw_forward"), "l4proto ==17 " DROP("drop_udp_blocked"));
	HASNT(p.sets, "pmap");
	HAS(rules(&p, "srcnat"), "oifname ==\"wan\" immediate snat ;");
	HAS(rules(&p, "fw_input"), "payload bitwise ==2 " DROP("drop_unsolicited_syn"));
}

static void test_tcp_web_only(void **state)
{
	struct parsed p;

	build("tcp-web-only", NULL, &p);
	HAS(rules(&p, "fw_forward"), "l4proto ==17 " DROP("drop_udp_blocked"));
	HAS(p.elems, "tcpok:80,443,2;");
	HAS(rules(&p, "fw_forward"),
	    "iifname !=\"wan\" l4proto ==6 ct ==0 payload lookup:!tcpok " DROP(
		"drop_port_blocked"));
	HAS(rules(&p, "fw_forward"),
	    "iifname ==\"wan\" l4proto ==6 ct ==0 " DROP("drop_tcp_in_blocked"));
	/* tcp_in_blocked drops every TCP flow opened from outside already */
	assert_string_equal(rules(&p, "fw_input"),
			    "iifname ==\"wan\" l4proto ==6 ct ==0 " DROP("drop_tcp_in_blocked"));
	HAS(p.elems, "v6/tcpok:80,443,2;");
	HAS(rules(&p, "v6/fw_forward"),
	    "iifname !=\"wan\" l4proto ==6 ct ==0 payload lookup:!tcpok " DROP(
		"drop_port_blocked"));
}

static void tweak_knobs(struct emu_nat_config *c)
{
	c->hairpin = false;
	c->inbound_refreshes = false;
	c->udp_timeout_s = 7;
	c->ports = EMU_NAT_PORTS_RANDOM;
	c->port_min = 5000;
	c->port_max = 5999;
	snprintf(c->public_addrs[1], sizeof(c->public_addrs[1]), "203.0.113.8");
	c->n_public_addrs = 2;
	c->paired_pooling = true;
}

static void test_knobs_independent(void **state)
{
	struct parsed p;

	build("full-cone", tweak_knobs, &p);
	HAS(rules(&p, "learn"), "dynset:pmap:7000 ;");
	HASNT(rules(&p, "fw_forward"), "dynset"); /* no inbound refresh */
	HASNT(p.sets, "hmap");
	HAS(rules(&p, "raw"), "lookup:pubaddrs " DROP("drop_no_hairpin"));
	HAS(p.sets, "emap:8:8:dynamic;"); /* still EIM */
	HAS(p.sets, "pool:4:4:constant;");
	/* paired pooling: address = pool[jhash(ip saddr) mod 2] */
	HAS(rules(&p, "newmap"),
	    "payload jhash:2 lookup:pool immediate immediate snat:port:fully-random ;");
	HAS(p.elems, "pubaddrs:203.0.113.7,203.0.113.8,2;");
}

static void expect_error(struct emu_nat_config *c, const char *needle)
{
	struct natlab_err e = {{0}};
	struct emu_nft_batch *b = emu_nft_batch_new();

	assert_int_equal(emu_nat_build(c, b, &e), -EINVAL);
	HAS(e.msg, needle);
	emu_nft_batch_free(b);
}

static void test_bad_knobs(void **state)
{
	struct emu_nat_config c, good;
	struct natlab_err e = {{0}};

	assert_int_equal(emu_nat_preset("easy", &good, &e), 0);
	snprintf(good.outside_ifname, sizeof(good.outside_ifname), "wan");
	snprintf(good.public_addrs[0], sizeof(good.public_addrs[0]), "203.0.113.7");
	good.n_public_addrs = 1;

	c = good;
	c.port_min = 40000;
	c.port_max = 30000;
	expect_error(&c, "port range 40000-30000 is empty");
	c = good;
	c.udp_timeout_s = 0;
	expect_error(&c, "udp_timeout_s 0");
	c = good;
	c.outside_ifname[0] = '\0';
	expect_error(&c, "outside interface must be named");
	c = good;
	snprintf(c.public_addrs[0], sizeof(c.public_addrs[0]), "203.0.113");
	expect_error(&c, "\"203.0.113\" is not an IPv4 address");
	c = good;
	c.n_public_addrs = 0;
	expect_error(&c, "0 public addresses");
	c = good;
	c.mapping = (enum emu_nat_mapping)7;
	expect_error(&c, "mapping 7");
	c = good;
	snprintf(c.inside_ifname, sizeof(c.inside_ifname), "wan");
	expect_error(&c, "inside and outside interface are both wan");

	assert_int_equal(emu_nat_preset("fullcone", &c, &e), -ENOENT);
	HAS(e.msg, "unknown NAT preset \"fullcone\"");
	HAS(e.msg, "full-cone");
	HAS(e.msg, "tcp-web-only");
	/* no system call failed: the message ends with the list, not with
	 * strerror(ENOENT) ("No such file or directory") */
	assert_int_equal(e.msg[strlen(e.msg) - 1], ')');
	assert_null(strstr(e.msg, "No such file"));
	assert_int_equal(emu_nat_ports_parse("rand", &(enum emu_nat_ports){0}, &e), -EINVAL);
	assert_null(strstr(e.msg, "Invalid argument"));
}

static void test_names(void **state)
{
	const char *const *n = emu_nat_preset_names();
	struct natlab_err e = {{0}};
	enum emu_nat_mapping m;
	enum emu_nat_filtering f;
	enum emu_nat_ports po;
	struct emu_nat_config c;
	unsigned count = 0;

	for (; *n; n++, count++) {
		assert_int_equal(emu_nat_preset(*n, &c, &e), 0);
		assert_non_null(emu_nat_preset_describe(*n));
	}
	assert_int_equal(count, 11);
	assert_int_equal(emu_nat_mapping_parse("apd", &m, &e), 0);
	assert_int_equal(m, EMU_NAT_MAP_APD);
	assert_int_equal(emu_nat_filtering_parse("ad", &f, &e), 0);
	assert_int_equal(f, EMU_NAT_FILTER_AD);
	assert_int_equal(emu_nat_ports_parse("sequential", &po, &e), 0);
	assert_int_equal(po, EMU_NAT_PORTS_SEQUENTIAL);
	assert_int_equal(emu_nat_ports_parse("rand", &po, &e), -EINVAL);
	HAS(e.msg, "preserve, sequential, random");
	assert_string_equal(emu_nat_mapping_name(EMU_NAT_MAP_AD), "ad");
}

static void tweak_sip_alg(struct emu_nat_config *c)
{
	c->sip_alg = true;
}

/* sip_alg: two ct helper objects (type 3, NFT_OBJECT_CT_HELPER) naming
 * the kernel's "sip" helper for UDP and TCP, assigned in a prerouting
 * chain after conntrack and dstnat to new flows from the inside to 5060;
 * off in every preset. */
static void test_sip_alg(void **state)
{
	struct parsed p;
	const char *const *n;

	for (n = emu_nat_preset_names(); *n; n++) {
		build(*n, NULL, &p);
		HASNT(p.objs, "sip-");
		HASNT(p.chains, "alg:");
	}
	build("symmetric", tweak_sip_alg, &p);
	HAS(p.objs, "sip-udp:3;");
	HAS(p.objs, "sip-tcp:3;");
	HAS(p.chains, "alg:0:0:filter;");
	HAS(rules(&p, "alg"), "iifname !=\"wan\" l4proto ==17 payload ==5060 objref:sip-udp");
	HAS(rules(&p, "alg"), "iifname !=\"wan\" l4proto ==6 payload ==5060 objref:sip-tcp");
	/* the rest of the NAT is unchanged */
	check_nat_common(&p);
	/* a plain firewall translates nothing: no ALG */
	build("open", tweak_sip_alg, &p);
	HASNT(p.objs, "sip-");
}

static void tweak_portmap(struct emu_nat_config *c)
{
	c->portmap = EMU_NAT_PORTMAP_PCP;
}

/* portmap (docs/nat-model.md "Port mapping"): no preset has it. With it,
 * raw marks instead of dropping what has no mapping, pmgate (-99, after
 * both DNAT chains) drops a marked packet that no DNAT translated and
 * marks the flows a port mapping let in, learn and fw_forward let those
 * through first, PCP alone drops NAT-PMP (version 0) requests, and the
 * first apply creates miniupnpd's table: prerouting at -101, jumping to
 * its empty chains. A re-apply leaves that table alone. */
static void test_portmap(void **state)
{
	struct parsed p;
	struct emu_nat_config c;
	struct natlab_err e = {{0}};
	struct emu_nft_batch *b;
	const char *const *n;
	const char *raw;
	unsigned mask = 0;

	(void)state;
	for (n = emu_nat_preset_names(); *n; n++) {
		build(*n, NULL, &p);
		HASNT(p.chains, "pmgate");
		HASNT(p.chains, "prerouting_miniupnpd");
	}
	build("symmetric", tweak_portmap, &p);
	raw = rules(&p, "raw");
	HAS(raw, "lookup:!pmap immediate meta ;");
	HASNT(raw, "lookup:!pmap " DROP("drop_filtering"));
	HAS(p.chains, "pmgate:0:-99:filter;");
	/* mark, ct status & dnat == 0: drop; then mark: ct mark set */
	HAS(rules(&p, "pmgate"), "\" ct bitwise ==\"");
	HAS(rules(&p, "pmgate"), "\" " DROP("drop_filtering"));
	HAS(rules(&p, "pmgate"), "\" immediate ct ;");
	/* first rule: ct mark == portmap: accept */
	assert_int_equal(strncmp(rules(&p, "learn"), "ct ==\"", 5), 0);
	HAS(rules(&p, "learn"), "\" verdict ;");
	assert_int_equal(strncmp(rules(&p, "fw_forward"), "ct ==\"", 5), 0);
	HAS(rules(&p, "fw_forward"), "\" verdict ;");
	HAS(p.chains, "pmversion:1:0:filter;");
	HAS(rules(&p, "pmversion"),
	    "iifname !=\"wan\" l4proto ==17 payload ==5351 payload ==0 drop ;");
	/* ... also where no UDP passes: the server still answers from the
	 * node (natlab probe --portmap pcp found NAT-PMP answering on
	 * udp-blocked and tcp-web-only before) */
	build("udp-blocked", tweak_portmap, &p);
	HAS(rules(&p, "pmversion"),
	    "iifname !=\"wan\" l4proto ==17 payload ==5351 payload ==0 drop ;");
	build("symmetric", tweak_portmap, &p);
	/* emu_nat_build replaces: no miniupnpd table (check_nat_common does
	 * not hold: raw's filtering drop is pmgate's now) */
	HASNT(p.chains, "prerouting_miniupnpd");
	HAS(p.chains, "dstnat:0:-100:nat;");

	/* a first apply: the table miniupnpd writes into */
	b = emu_nft_batch_new();
	assert_non_null(b);
	assert_int_equal(emu_nat_preset("symmetric", &c, &e), 0);
	snprintf(c.outside_ifname, sizeof(c.outside_ifname), "wan");
	snprintf(c.public_addrs[0], sizeof(c.public_addrs[0]), "203.0.114.7");
	c.n_public_addrs = 1;
	c.portmap = EMU_NAT_PORTMAP_ALL;
	assert_int_equal(emu_nat_build_table(&c, b, false, &e), 0);
	parse_batch(b, &p);
	emu_nft_batch_free(b);
	HAS(p.chains, "prerouting:0:-101:nat;");
	HAS(p.chains, "postrouting:4:99:nat;");
	HAS(p.chains, "forward:2:0:filter;");
	HAS(p.chains, "miniupnpd:0:0:regular;");
	HAS(p.chains, "prerouting_miniupnpd:0:0:regular;");
	assert_string_equal(rules(&p, "prerouting"), "verdict ;"); /* the jump */
	/* both NAT-PMP and PCP: no version filter */
	HASNT(p.chains, "pmversion");

	/* the knob's words */
	assert_int_equal(emu_nat_portmap_parse("upnp,pcp", &mask, &e), 0);
	assert_int_equal(mask, EMU_NAT_PORTMAP_UPNP | EMU_NAT_PORTMAP_PCP);
	assert_int_equal(emu_nat_portmap_parse("none", &mask, &e), 0);
	assert_int_not_equal(emu_nat_portmap_parse("upnp,igd", &mask, &e), 0);
	HAS(e.msg, "\"igd\" is not one of upnp, natpmp, pcp");
	/* a plain router has nothing to map */
	build("open", NULL, &p);
	assert_int_equal(emu_nat_preset("open", &c, &e), 0);
	snprintf(c.outside_ifname, sizeof(c.outside_ifname), "wan");
	c.portmap = EMU_NAT_PORTMAP_UPNP;
	assert_int_not_equal(emu_nat_config_check(&c, &e), 0);
	HAS(e.msg, "portmap needs a translating NAT");
}

/* Every drop rule of every preset counts and logs under one name, the
 * counter objects it names exist, and the mapping and hairpin counters sit
 * where a new mapping or a hairpinned packet is seen. */
static void check_evidence(const char *preset, struct parsed *p)
{
	unsigned drops = 0, logged = 0;

	for (unsigned i = 0; i < p->n_chains_rules; i++) {
		const char *r = p->rules[i];
		const char *d;
		for (d = strstr(r, " drop ;"); d; d = strstr(d + 1, " drop ;")) {
			/* each drop right after its log: the totals below
			 * alone would let the quota's logged reject stand in
			 * for a drop rule that logs nothing */
			const char *t = d;
			while (t > r && t[-1] != ' ' && t[-1] != ';')
				t--;
			if (strncmp(t, "log:28268:", 10) != 0)
				fail_msg("%s: %s: a drop rule without its log: %.*s", preset,
					 p->rule_chain[i], (int)(d - t), t);
			drops++;
		}
		for (d = strstr(r, "objref:"); d; d = strstr(d + 1, "objref:")) {
			char name[64], prefix[64], obj[80];
			int c;
			if (sscanf(d, "objref:%63s log:28268:%63s", name, prefix) != 2) {
				/* a counter without a log: mappings, hairpin */
				sscanf(d, "objref:%63s", name);
				if (strncmp(name, "udp_t", 5) == 0) /* the ct timeout */
					continue;
				c = emu_nat_counter_parse(name);
				if (c != EMU_NAT_CTR_MAPPINGS_UDP &&
				    c != EMU_NAT_CTR_MAPPINGS_TCP && c != EMU_NAT_CTR_HAIRPIN)
					fail_msg("%s: %s: counter %s without a log", preset,
						 p->rule_chain[i], name);
				continue;
			}
			logged++;
			if (strcmp(name, prefix) != 0)
				fail_msg("%s: counter %s logged as %s", preset, name, prefix);
			assert_true(emu_nat_counter_parse(name) >= 0);
			snprintf(obj, sizeof(obj), "%s:%u;", name, NFT_OBJECT_COUNTER);
			HAS(p->objs, obj);
		}
	}
	/* the quota's reject is logged too, so logs >= drops */
	if (logged < drops)
		fail_msg("%s: %u drop rules, %u counted and logged", preset, drops, logged);
}

static void tweak_quota(struct emu_nat_config *c)
{
	c->udp_mappings_per_host = 4;
}

static void test_evidence_rules(void **state)
{
	const char *const *n = emu_nat_preset_names();
	struct parsed p;

	for (; *n; n++) {
		build(*n, NULL, &p);
		check_evidence(*n, &p);
	}
	build("port-restricted-cone", NULL, &p);
	/* a new UDP mapping: first packet, public endpoint not live yet */
	HAS(rules(&p, "learn"), "oifname ==\"wan\" l4proto ==17 ct bitwise !=\"\" payload payload "
				"lookup:!pused objref:mappings_udp ;");
	HAS(rules(&p, "learn"), "lookup:pubaddrs l4proto ==17 ct bitwise !=\"\" payload payload "
				"lookup:!pused objref:mappings_udp ;");
	HAS(rules(&p, "learn"), "lookup:pubaddrs l4proto ==17 objref:hairpin ;");
	/* counted before the learn rules add the endpoint to pused */
	assert_true(strstr(rules(&p, "learn"), "objref:mappings_udp") <
		    strstr(rules(&p, "learn"), "dynset:pused"));
	HAS(rules(&p, "fw_forward"), "oifname ==\"wan\" l4proto ==6 ct bitwise !=\"\" "
				     "objref:mappings_tcp ;");
	HAS(p.objs, "drop_filtering:1;");
	HAS(p.objs, "mappings_udp:1;");
	build("symmetric", NULL, &p); /* no hairpin: no hairpin counter rule */
	HASNT(rules(&p, "learn"), "objref:hairpin");
	build("full-cone", tweak_quota, &p);
	check_evidence("full-cone with a quota", &p);
	HAS(rules(&p, "fw_forward"), "objref:drop_quota log:28268:drop_quota reject ;");
	build("open", NULL, &p);
	HASNT(rules(&p, "fw_forward"), "mappings_tcp"); /* nothing translated */
}

static void test_counter_names(void **state)
{
	for (int i = 0; i < EMU_NAT_CTR_N; i++) {
		const char *n = emu_nat_counter_name((enum emu_nat_counter)i);
		const char *r = emu_nat_counter_rule((enum emu_nat_counter)i);
		assert_non_null(n);
		/* counter, log prefix and record key: nftables names are at
		 * most NFT_OBJ_MAXNAMELEN, log prefixes 127 bytes */
		assert_true(strlen(n) < NFT_OBJ_MAXNAMELEN);
		assert_int_equal(emu_nat_counter_parse(n), i);
		assert_int_equal(emu_nat_counter_parse(r), i);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(n, emu_nat_counter_name((enum emu_nat_counter)j));
	}
	/* the keys CONTRACT.md and results/README.md name */
	assert_string_equal(emu_nat_counter_name(EMU_NAT_CTR_MAPPINGS_UDP), "mappings_udp");
	assert_string_equal(emu_nat_counter_name(EMU_NAT_CTR_MAPPINGS_TCP), "mappings_tcp");
	assert_string_equal(emu_nat_counter_name(EMU_NAT_CTR_DROP_FILTERING), "drop_filtering");
	assert_string_equal(emu_nat_counter_rule(EMU_NAT_CTR_DROP_FILTERING), "filtering");
	assert_string_equal(emu_nat_counter_name(EMU_NAT_CTR_DROP_UDP_BLOCKED), "drop_udp_blocked");
	assert_string_equal(emu_nat_counter_name(EMU_NAT_CTR_DROP_PORT_BLOCKED),
			    "drop_port_blocked");
	assert_string_equal(emu_nat_counter_name(EMU_NAT_CTR_HAIRPIN), "hairpin");
	assert_string_equal(emu_nat_counter_rule(EMU_NAT_CTR_HAIRPIN), "hairpin");
	assert_null(emu_nat_counter_name(EMU_NAT_CTR_N));
	assert_int_equal(emu_nat_counter_parse("drop_nothing"), -1);
	assert_int_equal(emu_nat_counter_parse(NULL), -1);
	assert_true(emu_nat_counter_v6(EMU_NAT_CTR_DROP_UDP_BLOCKED));
	assert_false(emu_nat_counter_v6(EMU_NAT_CTR_DROP_FILTERING));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_cone),
	    cmocka_unit_test(test_restricted_cone),
	    cmocka_unit_test(test_port_restricted),
	    cmocka_unit_test(test_address_dependent),
	    cmocka_unit_test(test_symmetric),
	    cmocka_unit_test(test_cgnat),
	    cmocka_unit_test(test_open),
	    cmocka_unit_test(test_udp_blocked),
	    cmocka_unit_test(test_tcp_web_only),
	    cmocka_unit_test(test_knobs_independent),
	    cmocka_unit_test(test_bad_knobs),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_sip_alg),
	    cmocka_unit_test(test_portmap),
	    cmocka_unit_test(test_evidence_rules),
	    cmocka_unit_test(test_counter_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

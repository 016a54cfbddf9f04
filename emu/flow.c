/* flow.c - per-direction 5-tuple counters in an nftables table of a node
 * (see flow.h). */
#include "emu/flow.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "emu/nat_expr.h"
#include "emu/nft.h"

static const char *const set_names[2] = {"seen", "born"};

/* The two tables: ip natlab_wire (IPv4 5-tuples) and, on request,
 * ip6 natlab_wire (IPv6; the lab's NATs do not translate IPv6, so a host's
 * own address crosses them, docs/nat-model.md). */
struct fam {
	uint32_t nfproto;
	uint32_t key_len;
	uint32_t addr_len; /* bytes of one address */
	uint32_t saddr_off, daddr_off; /* in the network header */
	/* key registers: saddr, daddr (an IPv6 address fills four), l4proto,
	 * sport, dport, dir */
	uint32_t r_saddr, r_daddr, r_proto, r_sport, r_dport, r_dir;
};

static const struct fam fams[2] = {
    {NFPROTO_IPV4, EMU_FLOW_KEY_LEN, 4, 12, 16, NFT_REG32_00, NFT_REG32_01, NFT_REG32_02,
     NFT_REG32_03, NFT_REG32_04, NFT_REG32_05},
    {NFPROTO_IPV6, EMU_FLOW_KEY_LEN6, 16, 8, 24, NFT_REG32_00, NFT_REG32_04, NFT_REG32_08,
     NFT_REG32_09, NFT_REG32_10, NFT_REG32_11},
};

/* An address of the network header (IPv4 or IPv6) into @reg and on. */
static void load_addr(struct nftnl_rule *r, const struct fam *f, uint32_t off, uint32_t reg)
{
	struct nftnl_expr *x = nx_ex(r, "payload");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_DREG, reg);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_LEN, f->addr_len);
}

/* One rule of chain @chain: packets of @proto (through @ifname, when
 * given) put their key and direction @dir into both sets. The expressions
 * come from the NAT's builders (nat_expr.h), which note an allocation
 * failure in nx_oom. */
static int add_rule(struct emu_nft_batch *b, const struct fam *fm, const char *chain,
		    enum nft_meta_keys iface_key, const char *ifname, uint8_t proto, uint32_t dir)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_expr *x;
	int ret;

	if (!r)
		return -ENOMEM;
	nx_oom = false;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, EMU_FLOW_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, fm->nfproto);
	if (ifname) {
		char name[IFNAMSIZ] = {0};
		snprintf(name, sizeof(name), "%s", ifname);
		nx_meta(r, iface_key, NFT_REG_1);
		nx_cmp(r, NFT_REG_1, NFT_CMP_EQ, name, sizeof(name));
	}
	/* the key: saddr . daddr . l4proto . sport . dport . dir, each in
	 * 32-bit registers (the kernel zero-pads the shorter loads); l4proto
	 * is matched where it is loaded */
	nx_meta(r, NFT_META_L4PROTO, fm->r_proto);
	nx_cmp(r, fm->r_proto, NFT_CMP_EQ, &proto, 1);
	load_addr(r, fm, fm->saddr_off, fm->r_saddr);
	load_addr(r, fm, fm->daddr_off, fm->r_daddr);
	nx_load_field(r, F_SPORT, fm->r_sport);
	nx_load_field(r, F_DPORT, fm->r_dport);
	nx_imm(r, fm->r_dir, &dir, sizeof(dir));
	for (int k = 0; k < 2; k++) {
		x = nx_ex(r, "dynset");
		if (!x)
			break;
		nftnl_expr_set_str(x, NFTNL_EXPR_DYNSET_SET_NAME, set_names[k]);
		nftnl_expr_set_u32(x, NFTNL_EXPR_DYNSET_SREG_KEY, fm->r_saddr);
		/* seen: every packet refreshes the element (its expiration
		 * dates the last packet) and counts; born: only the first
		 * packet adds it (its expiration dates the first) */
		nftnl_expr_set_u32(x, NFTNL_EXPR_DYNSET_OP,
				   k == 0 ? NFT_DYNSET_OP_UPDATE : NFT_DYNSET_OP_ADD);
		nftnl_expr_set_u64(x, NFTNL_EXPR_DYNSET_TIMEOUT, EMU_FLOW_TIMEOUT_MS);
		if (k == 0) {
			struct nftnl_expr *c = nftnl_expr_alloc("counter");
			if (!c) {
				nx_oom = true;
				break;
			}
			nftnl_expr_add_expr(x, NFTNL_EXPR_DYNSET_EXPRESSIONS, c); /* takes it */
		}
	}
	ret = nx_oom ? -ENOMEM : emu_nft_batch_add_rule(b, r);
	nftnl_rule_free(r);
	return ret;
}

static int add_set(struct emu_nft_batch *b, const struct fam *fm, int k)
{
	struct nftnl_set *s = nftnl_set_alloc();
	int ret;

	if (!s)
		return -ENOMEM;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, EMU_FLOW_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set_names[k]);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, fm->nfproto);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, fm->key_len);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, 0); /* integer fields, for `nft list` */
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_TIMEOUT | NFT_SET_EVAL);
	nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, EMU_FLOW_TIMEOUT_MS);
	nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, EMU_FLOW_SET_SIZE);
	nftnl_set_set_u32(s, NFTNL_SET_ID, (uint32_t)k + 1);
	if (k == 0) {
		struct nftnl_expr *c = nftnl_expr_alloc("counter");
		if (!c) {
			nftnl_set_free(s);
			return -ENOMEM;
		}
		nftnl_set_add_expr(s, c); /* takes it */
	}
	ret = emu_nft_batch_add_set(b, s);
	nftnl_set_free(s);
	return ret;
}

static int add_chain(struct emu_nft_batch *b, const struct fam *fm, const char *name,
		     uint32_t hook, int32_t prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	int ret;

	if (!c)
		return -ENOMEM;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, EMU_FLOW_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, fm->nfproto);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	ret = emu_nft_batch_add_chain(b, c);
	nftnl_chain_free(c);
	return ret;
}

static int build_family(struct emu_nft_batch *b, const struct fam *fm, const char *ifname)
{
	static const uint8_t protos[2] = {IPPROTO_UDP, IPPROTO_TCP};
	int ret;

	/* add, delete, add: one transaction that replaces an earlier table
	 * (adding an existing table is not an error; deleting it empties it) */
	ret = nx_table_op(b, false, EMU_FLOW_TABLE, fm->nfproto);
	if (ret == 0)
		ret = nx_table_op(b, true, EMU_FLOW_TABLE, fm->nfproto);
	if (ret == 0)
		ret = nx_table_op(b, false, EMU_FLOW_TABLE, fm->nfproto);
	for (int k = 0; ret == 0 && k < 2; k++)
		ret = add_set(b, fm, k);
	/* inbound before anything else of the node sees it (a NAT's raw
	 * filter is at -300); outbound after source NAT (100) */
	if (ret == 0)
		ret = add_chain(b, fm, "pre", NF_INET_PRE_ROUTING, -400);
	if (ret == 0)
		ret = add_chain(b, fm, "post", NF_INET_POST_ROUTING, 400);
	for (int p = 0; ret == 0 && p < 2; p++) {
		ret = add_rule(b, fm, "pre", NFT_META_IIFNAME, ifname, protos[p], 0);
		if (ret == 0)
			ret = add_rule(b, fm, "post", NFT_META_OIFNAME, ifname, protos[p], 1);
	}
	return ret;
}

int emu_flow_watch_build(struct emu_nft_batch *b, const char *ifname, unsigned families)
{
	int ret = 0;

	if (!(families & (EMU_FLOW_IPV4 | EMU_FLOW_IPV6)))
		return -EINVAL;
	for (int f = 0; ret == 0 && f < 2; f++)
		if (families & (1u << f))
			ret = build_family(b, &fams[f], ifname);
	return ret;
}

int emu_flow_watch(struct emu_node *n, const char *ifname, unsigned families,
		   struct natlab_err *e)
{
	struct emu_nft_batch *b = emu_nft_batch_new();
	int ret;

	if (!b)
		return natlab_err_set(e, ENOMEM, "flow watch: batch");
	ret = emu_flow_watch_build(b, ifname, families);
	if (ret == -EINVAL) {
		emu_nft_batch_free(b);
		return natlab_err_msg(e, EINVAL, "flow watch: no address family asked for");
	}
	if (ret == -ENOMEM)
		ret = natlab_err_set(e, ENOMEM, "flow watch: table %s", EMU_FLOW_TABLE);
	else if (ret < 0) /* -ENOSPC: the batch's own bound, no system call failed */
		ret = natlab_err_msg(e, ret, "flow watch: table %s: batch full", EMU_FLOW_TABLE);
	else
		ret = emu_nft_batch_commit(b, n, e);
	if (ret == 0)
		emu_node_add_flow_families(n, families);
	emu_nft_batch_free(b);
	return ret;
}

struct watch_job {
	struct emu_node *node;
	const char *ifname;
	unsigned families;
	pthread_t tid;
	bool started; /* else done on the caller's thread */
	struct natlab_err err;
	int ret;
};

static void *watch_thread(void *arg)
{
	struct watch_job *j = arg;

	/* emu_node_enter switches this thread's namespace only */
	j->ret = emu_flow_watch(j->node, j->ifname, j->families, &j->err);
	return NULL;
}

int emu_flow_watch_all(struct emu_node *const *nodes, const char *const *ifnames,
		       const unsigned *families, size_t n, struct natlab_err *e)
{
	struct watch_job *jobs = calloc(n ? n : 1, sizeof(*jobs));
	int ret = 0;

	if (!jobs)
		return natlab_err_set(e, ENOMEM, "flow watch");
	for (size_t i = 0; i < n; i++) {
		jobs[i].node = nodes[i];
		jobs[i].ifname = ifnames ? ifnames[i] : NULL;
		jobs[i].families = families ? families[i] : EMU_FLOW_IPV4;
		/* a thread that cannot start: do that node here */
		jobs[i].started = pthread_create(&jobs[i].tid, NULL, watch_thread, &jobs[i]) == 0;
		if (!jobs[i].started)
			watch_thread(&jobs[i]);
	}
	for (size_t i = 0; i < n; i++) {
		if (jobs[i].started)
			pthread_join(jobs[i].tid, NULL);
		if (jobs[i].ret < 0 && ret == 0) {
			ret = jobs[i].ret;
			if (e)
				*e = jobs[i].err;
		}
	}
	free(jobs);
	return ret;
}

int emu_flow_key_parse(const void *key, uint32_t len, struct emu_flow *f)
{
	const uint8_t *k = key;
	const struct fam *fm;
	uint32_t dir;
	int af;

	if (len == EMU_FLOW_KEY_LEN)
		fm = &fams[0], af = AF_INET;
	else if (len == EMU_FLOW_KEY_LEN6)
		fm = &fams[1], af = AF_INET6;
	else
		return -EINVAL;
	/* register n sits at byte 4 * (n - NFT_REG32_00) of the key */
#define AT(reg) (k + 4 * ((reg)-NFT_REG32_00))
	inet_ntop(af, AT(fm->r_saddr), f->src, sizeof(f->src));
	inet_ntop(af, AT(fm->r_daddr), f->dst, sizeof(f->dst));
	f->proto = AT(fm->r_proto)[0];
	f->sport = (uint16_t)(AT(fm->r_sport)[0] << 8 | AT(fm->r_sport)[1]);
	f->dport = (uint16_t)(AT(fm->r_dport)[0] << 8 | AT(fm->r_dport)[1]);
	memcpy(&dir, AT(fm->r_dir), sizeof(dir)); /* the immediate, in host order */
#undef AT
	f->out = dir != 0;
	f->ipv6 = af == AF_INET6;
	return 0;
}

struct dump {
	struct emu_flow *out;
	size_t max, count;
	int which; /* 0 seen, 1 born */
};

static int counter_cb(struct nftnl_expr *x, void *data)
{
	struct emu_flow *f = data;
	const char *name = nftnl_expr_get_str(x, NFTNL_EXPR_NAME);

	if (name && strcmp(name, "counter") == 0) {
		f->pkts = nftnl_expr_get_u64(x, NFTNL_EXPR_CTR_PACKETS);
		f->bytes = nftnl_expr_get_u64(x, NFTNL_EXPR_CTR_BYTES);
	}
	return 0;
}

/* Where a "born" element's first-seen time goes: the "seen" entry with the
 * same key (both sets hold the same keys, added by the same rules). */
static struct emu_flow *find(struct dump *d, const struct emu_flow *k)
{
	size_t n = d->count < d->max ? d->count : d->max;

	for (size_t i = 0; i < n; i++) {
		struct emu_flow *f = &d->out[i];
		if (f->proto == k->proto && f->out == k->out && f->ipv6 == k->ipv6 &&
		    f->sport == k->sport &&
		    f->dport == k->dport && strcmp(f->src, k->src) == 0 &&
		    strcmp(f->dst, k->dst) == 0)
			return f;
	}
	return NULL;
}

static int elems_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump *d = data;
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it = NULL;
	struct nftnl_set_elem *el;
	int ret = MNL_CB_OK;

	if (!s)
		return MNL_CB_ERROR;
	if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0) {
		ret = MNL_CB_ERROR;
		goto out;
	}
	it = nftnl_set_elems_iter_create(s);
	if (!it) {
		ret = MNL_CB_ERROR;
		goto out;
	}
	while ((el = nftnl_set_elems_iter_next(it))) {
		struct emu_flow f;
		uint32_t klen = 0;
		const void *key = nftnl_set_elem_get(el, NFTNL_SET_ELEM_KEY, &klen);
		uint64_t ago = UINT64_MAX;

		memset(&f, 0, sizeof(f));
		if (!key || emu_flow_key_parse(key, klen, &f) < 0)
			continue;
		if (nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_EXPIRATION)) {
			uint64_t left = nftnl_set_elem_get_u64(el, NFTNL_SET_ELEM_EXPIRATION);
			ago = left <= EMU_FLOW_TIMEOUT_MS ? EMU_FLOW_TIMEOUT_MS - left : 0;
		}
		if (d->which == 1) {
			struct emu_flow *g = find(d, &f);
			if (g)
				g->first_ago_ms = ago;
			continue;
		}
		nftnl_set_elem_expr_foreach(el, counter_cb, &f);
		f.last_ago_ms = ago;
		f.first_ago_ms = UINT64_MAX;
		if (d->count < d->max)
			d->out[d->count] = f;
		d->count++;
	}
out:
	if (it)
		nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	return ret;
}

int emu_flow_dump(struct emu_node *n, struct emu_flow *out, size_t max, size_t *count,
		  struct natlab_err *e)
{
	struct dump d = {out, max, 0, 0};
	/* only the families watched here, when this handle watched: an
	 * IPv4-only point has no ip6 table to ask for (a refused request per
	 * point and snapshot otherwise) */
	unsigned watched = emu_node_flow_families(n);
	int tables = 0;

	for (int f = 0; f < 2; f++) {
		if (watched && !(watched & (1u << f)))
			continue;
		for (int k = 0; k < 2; k++) {
			char buf[MNL_SOCKET_BUFFER_SIZE];
			struct nftnl_set *s = nftnl_set_alloc();
			struct natlab_err fe = {""};
			struct nlmsghdr *nlh;
			int ret;

			if (!s)
				return natlab_err_set(e, ENOMEM, "flow dump");
			nftnl_set_set_str(s, NFTNL_SET_TABLE, EMU_FLOW_TABLE);
			nftnl_set_set_str(s, NFTNL_SET_NAME, set_names[k]);
			nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, fams[f].nfproto,
						    NLM_F_DUMP, (uint32_t)time(NULL));
			nftnl_set_elems_nlmsg_build_payload(nlh, s);
			nftnl_set_free(s);
			d.which = k;
			ret = emu_nfnl_request(n, nlh,
					       k == 0 ? "flow dump (set seen)" : "flow dump (set born)",
					       elems_cb, &d, &fe);
			/* a family that was not watched has no table */
			if (ret == -ENOENT && k == 0)
				break;
			if (ret < 0) {
				if (e)
					*e = fe;
				return ret;
			}
			tables += k == 0;
		}
	}
	if (!tables)
		return natlab_err_msg(e, ENOENT, "flow dump: no table %s (flow_watch never ran here)",
				      EMU_FLOW_TABLE);
	*count = d.count;
	return 0;
}

/* flow.c - accounted conntrack flows of a node (see flow.h). */
#include "emu/flow.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "emu/nft.h"

/* One CTA_TUPLE_* nest. Returns a bit set: 1 src, 2 dst, 4 sport, 8 dport;
 * *@proto gets the protocol number. Every attribute is length-checked by
 * mnl_attr_validate before it is read. */
static int tuple_parse(const struct nlattr *nest, struct emu_flow_tuple *t, uint8_t *proto)
{
	const struct nlattr *a, *b;
	int have = 0;

	mnl_attr_for_each_nested(a, nest)
	{
		int at = mnl_attr_get_type(a);
		if (at == CTA_TUPLE_IP) {
			mnl_attr_for_each_nested(b, a)
			{
				int bt = mnl_attr_get_type(b);
				if ((bt != CTA_IP_V4_SRC && bt != CTA_IP_V4_DST) ||
				    mnl_attr_validate(b, MNL_TYPE_U32) < 0)
					continue;
				inet_ntop(AF_INET, mnl_attr_get_payload(b),
					  bt == CTA_IP_V4_SRC ? t->src : t->dst,
					  EMU_FLOW_ADDR_STR_MAX);
				have |= bt == CTA_IP_V4_SRC ? 1 : 2;
			}
		} else if (at == CTA_TUPLE_PROTO) {
			mnl_attr_for_each_nested(b, a)
			{
				int bt = mnl_attr_get_type(b);
				if (bt == CTA_PROTO_NUM && mnl_attr_validate(b, MNL_TYPE_U8) == 0) {
					*proto = mnl_attr_get_u8(b);
				} else if ((bt == CTA_PROTO_SRC_PORT || bt == CTA_PROTO_DST_PORT) &&
					   mnl_attr_validate(b, MNL_TYPE_U16) == 0) {
					uint16_t p = ntohs(mnl_attr_get_u16(b));
					if (bt == CTA_PROTO_SRC_PORT)
						t->sport = p;
					else
						t->dport = p;
					have |= bt == CTA_PROTO_SRC_PORT ? 4 : 8;
				}
			}
		}
	}
	return have;
}

/* CTA_COUNTERS_ORIG / _REPLY: 64-bit packets and bytes, network order. */
static void counters_parse(const struct nlattr *nest, uint64_t *pkts, uint64_t *bytes)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest)
	{
		int t = mnl_attr_get_type(a);
		if ((t != CTA_COUNTERS_PACKETS && t != CTA_COUNTERS_BYTES) ||
		    mnl_attr_validate(a, MNL_TYPE_U64) < 0)
			continue;
		if (t == CTA_COUNTERS_PACKETS)
			*pkts = be64toh(mnl_attr_get_u64(a));
		else
			*bytes = be64toh(mnl_attr_get_u64(a));
	}
}

static void timestamp_parse(const struct nlattr *nest, uint64_t *start_ns)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest)
	{
		if (mnl_attr_get_type(a) == CTA_TIMESTAMP_START &&
		    mnl_attr_validate(a, MNL_TYPE_U64) == 0)
			*start_ns = be64toh(mnl_attr_get_u64(a));
	}
}

int emu_flow_parse(const struct nlmsghdr *nlh, struct emu_flow *f)
{
	const struct nlattr *a;
	uint8_t po = 0, pr = 0;
	int ho = 0, hr = 0;

	memset(f, 0, sizeof(*f));
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nfgenmsg)))
		return -1;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
	{
		switch (mnl_attr_get_type(a)) {
		case CTA_TUPLE_ORIG:
			ho = tuple_parse(a, &f->orig, &po);
			break;
		case CTA_TUPLE_REPLY:
			hr = tuple_parse(a, &f->reply, &pr);
			break;
		case CTA_STATUS:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0) {
				uint32_t s = ntohl(mnl_attr_get_u32(a));
				f->snat = (s & IPS_SRC_NAT) != 0;
				f->dnat = (s & IPS_DST_NAT) != 0;
			}
			break;
		case CTA_ID:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				f->id = ntohl(mnl_attr_get_u32(a));
			break;
		case CTA_COUNTERS_ORIG:
			counters_parse(a, &f->orig_pkts, &f->orig_bytes);
			break;
		case CTA_COUNTERS_REPLY:
			counters_parse(a, &f->reply_pkts, &f->reply_bytes);
			break;
		case CTA_TIMESTAMP:
			timestamp_parse(a, &f->start_ns);
			break;
		default:
			break;
		}
	}
	if (ho != 15 || hr != 15 || po != pr || (po != IPPROTO_UDP && po != IPPROTO_TCP))
		return 0;
	f->proto = po;
	return 1;
}

struct dump {
	struct emu_flow *out;
	size_t max, count;
};

static int entry_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump *d = data;
	struct emu_flow f;
	int r = emu_flow_parse(nlh, &f);

	if (r < 0)
		return MNL_CB_ERROR;
	if (r == 1) {
		if (d->count < d->max)
			d->out[d->count] = f;
		d->count++;
	}
	return MNL_CB_OK;
}

int emu_flow_dump(struct emu_node *n, struct emu_flow *out, size_t max, size_t *count,
		  struct natlab_err *e)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;
	struct dump d = {out, max, 0};
	int ret;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_INET;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	ret = emu_nfnl_request(n, nlh, "flow dump", entry_cb, &d, e);
	if (ret < 0)
		return ret;
	*count = d.count;
	return 0;
}

/* A base chain of table natlab_wire on @hook with one rule that loads the
 * conntrack state: a ct expression in a ruleset is what makes the kernel
 * track a namespace's connections (nf_ct_netns_get); nothing is dropped. */
static int add_chain(struct emu_nft_batch *b, const char *name, uint32_t hook)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_expr *x = nftnl_expr_alloc("ct");
	int ret = -ENOMEM;

	if (!c || !r || !x)
		goto out;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, EMU_FLOW_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	/* after conntrack itself (-200), before NAT (-100) */
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, -150);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, EMU_FLOW_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, name);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_DREG, NFT_REG32_00);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
	nftnl_rule_add_expr(r, x); /* takes ownership */
	x = NULL;
	ret = emu_nft_batch_add_chain(b, c);
	if (ret == 0)
		ret = emu_nft_batch_add_rule(b, r);
out:
	if (x)
		nftnl_expr_free(x);
	if (r)
		nftnl_rule_free(r);
	if (c)
		nftnl_chain_free(c);
	return ret;
}

static int table_op(struct emu_nft_batch *b, bool del)
{
	struct nftnl_table *t = nftnl_table_alloc();
	int ret;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, EMU_FLOW_TABLE);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_IPV4);
	ret = del ? emu_nft_batch_del_table(b, t) : emu_nft_batch_add_table(b, t);
	nftnl_table_free(t);
	return ret;
}

int emu_flow_watch(struct emu_node *n, bool track, struct natlab_err *e)
{
	struct emu_nft_batch *b = NULL;
	int ret;

	ret = emu_node_sysctl_set(n, "net/netfilter/nf_conntrack_acct", "1", e);
	if (ret < 0)
		return ret;
	ret = emu_node_sysctl_set(n, "net/netfilter/nf_conntrack_timestamp", "1", e);
	if (ret < 0 || !track)
		return ret;
	b = emu_nft_batch_new();
	if (!b)
		return natlab_err_set(e, ENOMEM, "flow watch: batch");
	/* add, delete, add: one transaction that replaces an earlier table
	 * (adding an existing table is not an error; deleting it empties it) */
	ret = table_op(b, false);
	if (ret == 0)
		ret = table_op(b, true);
	if (ret == 0)
		ret = table_op(b, false);
	if (ret == 0)
		ret = add_chain(b, "pre", NF_INET_PRE_ROUTING);
	if (ret == 0)
		ret = add_chain(b, "out", NF_INET_LOCAL_OUT);
	if (ret < 0) {
		ret = natlab_err_set(e, -ret, "flow watch: table %s", EMU_FLOW_TABLE);
		goto out;
	}
	ret = emu_nft_batch_commit(b, n, e);
out:
	emu_nft_batch_free(b);
	return ret;
}

/* nft.c - nftables batches over libmnl; see nft.h. */
#include "emu/nft.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#define NFT_BUF_SIZE (EMU_NFT_BATCH_MAX * 2048)

struct emu_nft_batch {
	char *buf;
	struct mnl_nlmsg_batch *batch;
	uint32_t seq0;
	uint32_t seq;
	unsigned count;
	char what[EMU_NFT_BATCH_MAX][48]; /* which object each message creates */
	int closed;
};

struct emu_nft_batch *emu_nft_batch_new(void)
{
	struct emu_nft_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->buf = malloc(NFT_BUF_SIZE);
	if (!b->buf)
		goto fail;
	b->batch = mnl_nlmsg_batch_start(b->buf, NFT_BUF_SIZE);
	if (!b->batch)
		goto fail;
	b->seq0 = (uint32_t)time(NULL);
	b->seq = b->seq0;
	nftnl_batch_begin(mnl_nlmsg_batch_current(b->batch), b->seq++);
	mnl_nlmsg_batch_next(b->batch);
	return b;
fail:
	emu_nft_batch_free(b);
	return NULL;
}

void emu_nft_batch_free(struct emu_nft_batch *b)
{
	if (!b)
		return;
	if (b->batch)
		mnl_nlmsg_batch_stop(b->batch);
	free(b->buf);
	free(b);
}

/* Room for one more message of the largest size we build; `label name`
 * is what an error for this message will be called. */
static struct nlmsghdr *next_hdr(struct emu_nft_batch *b, uint16_t type, uint32_t family,
				 uint16_t flags, const char *label, const char *name)
{
	if (b->closed || b->count >= EMU_NFT_BATCH_MAX ||
	    mnl_nlmsg_batch_size(b->batch) + 4096 > NFT_BUF_SIZE)
		return NULL;
	snprintf(b->what[b->count], sizeof(b->what[0]), "%s %s", label, name ? name : "?");
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b->batch), type, (uint16_t)family,
				     flags, b->seq++);
}

/* One message per object: header, the object's own payload builder, then
 * step the batch. A macro because each libnftnl builder takes its own
 * object type, which a function pointer could only hide behind a cast. */
#define APPEND(b, type, family, flags, label, name, build, obj)                                    \
	do {                                                                                       \
		struct nlmsghdr *nlh_ = next_hdr(b, type, family, flags, label, name);             \
		if (!nlh_)                                                                         \
			return -ENOSPC;                                                            \
		build(nlh_, obj);                                                                  \
		mnl_nlmsg_batch_next((b)->batch);                                                  \
		(b)->count++;                                                                      \
		return 0;                                                                          \
	} while (0)

#define CREATE (NLM_F_CREATE | NLM_F_ACK)

int emu_nft_batch_add_table(struct emu_nft_batch *b, struct nftnl_table *t)
{
	APPEND(b, NFT_MSG_NEWTABLE, nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY), CREATE, "table",
	       nftnl_table_get_str(t, NFTNL_TABLE_NAME), nftnl_table_nlmsg_build_payload, t);
}

int emu_nft_batch_del_table(struct emu_nft_batch *b, struct nftnl_table *t)
{
	APPEND(b, NFT_MSG_DELTABLE, nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY), NLM_F_ACK,
	       "delete table", nftnl_table_get_str(t, NFTNL_TABLE_NAME),
	       nftnl_table_nlmsg_build_payload, t);
}

int emu_nft_batch_add_chain(struct emu_nft_batch *b, struct nftnl_chain *c)
{
	APPEND(b, NFT_MSG_NEWCHAIN, nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY), CREATE, "chain",
	       nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), nftnl_chain_nlmsg_build_payload, c);
}

int emu_nft_batch_del_chain(struct emu_nft_batch *b, struct nftnl_chain *c)
{
	APPEND(b, NFT_MSG_DELCHAIN, nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY), NLM_F_ACK,
	       "delete chain", nftnl_chain_get_str(c, NFTNL_CHAIN_NAME),
	       nftnl_chain_nlmsg_build_payload, c);
}

int emu_nft_batch_add_set(struct emu_nft_batch *b, struct nftnl_set *s)
{
	APPEND(b, NFT_MSG_NEWSET, nftnl_set_get_u32(s, NFTNL_SET_FAMILY), CREATE, "set",
	       nftnl_set_get_str(s, NFTNL_SET_NAME), nftnl_set_nlmsg_build_payload, s);
}

int emu_nft_batch_add_rule(struct emu_nft_batch *b, struct nftnl_rule *r)
{
	APPEND(b, NFT_MSG_NEWRULE, nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY), CREATE | NLM_F_APPEND,
	       "rule in chain", nftnl_rule_get_str(r, NFTNL_RULE_CHAIN),
	       nftnl_rule_nlmsg_build_payload, r);
}

int emu_nft_batch_del_rules(struct emu_nft_batch *b, struct nftnl_rule *r)
{
	APPEND(b, NFT_MSG_DELRULE, nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY), NLM_F_ACK,
	       "flush chain", nftnl_rule_get_str(r, NFTNL_RULE_CHAIN),
	       nftnl_rule_nlmsg_build_payload, r);
}

int emu_nft_batch_add_obj(struct emu_nft_batch *b, struct nftnl_obj *o)
{
	APPEND(b, NFT_MSG_NEWOBJ, nftnl_obj_get_u32(o, NFTNL_OBJ_FAMILY), CREATE, "object",
	       nftnl_obj_get_str(o, NFTNL_OBJ_NAME), nftnl_obj_nlmsg_build_payload, o);
}

int emu_nft_batch_add_setelems(struct emu_nft_batch *b, struct nftnl_set *s)
{
	APPEND(b, NFT_MSG_NEWSETELEM, nftnl_set_get_u32(s, NFTNL_SET_FAMILY), CREATE,
	       "elements of set", nftnl_set_get_str(s, NFTNL_SET_NAME),
	       nftnl_set_elems_nlmsg_build_payload, s);
}

/* No element list: the kernel deletes them all. */
int emu_nft_batch_flush_set(struct emu_nft_batch *b, struct nftnl_set *s)
{
	APPEND(b, NFT_MSG_DELSETELEM, nftnl_set_get_u32(s, NFTNL_SET_FAMILY), NLM_F_ACK,
	       "flush set", nftnl_set_get_str(s, NFTNL_SET_NAME),
	       nftnl_set_elems_nlmsg_build_payload, s);
}

unsigned emu_nft_batch_count(const struct emu_nft_batch *b)
{
	return b->count;
}

static void close_batch(struct emu_nft_batch *b)
{
	if (b->closed)
		return;
	nftnl_batch_end(mnl_nlmsg_batch_current(b->batch), b->seq++);
	mnl_nlmsg_batch_next(b->batch);
	b->closed = 1;
}

const void *emu_nft_batch_bytes(const struct emu_nft_batch *b, size_t *len)
{
	close_batch((struct emu_nft_batch *)b);
	*len = mnl_nlmsg_batch_size(b->batch);
	return mnl_nlmsg_batch_head(b->batch);
}

/* The text of an NLMSGERR_ATTR_MSG extended ack, if the kernel sent one. */
static void ext_ack_text(const struct nlmsghdr *nlh, char *out, size_t outlen)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	size_t off = sizeof(*err);

	out[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += mnl_nlmsg_get_payload_len(&err->msg);
	if (off > mnl_nlmsg_get_payload_len(nlh))
		return;
	mnl_attr_for_each_payload((const void *)((const char *)err + off),
				  mnl_nlmsg_get_payload_len(nlh) - off)
	{
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			snprintf(out, outlen, " (kernel: %s)", mnl_attr_get_str(attr));
	}
}

int emu_nft_batch_commit(struct emu_nft_batch *b, struct emu_node *n, struct natlab_err *e)
{
	struct mnl_socket *nl = NULL;
	char rbuf[MNL_SOCKET_BUFFER_SIZE * 4];
	unsigned acks = 0;
	int saved;
	int one = 1;
	int ret;

	close_batch(b);
	ret = emu_node_enter(n, &saved, e);
	if (ret < 0)
		return ret;
	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	emu_node_leave(saved);
	if (!nl)
		return natlab_err_set(e, errno, "node %s: cannot open an nftables netlink socket",
				      emu_node_name(n));
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = natlab_err_set(e, errno, "node %s: nftables socket bind", emu_node_name(n));
		goto out;
	}
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(b->batch), mnl_nlmsg_batch_size(b->batch)) <
	    0) {
		ret = natlab_err_set(e, errno, "node %s: cannot send nftables batch",
				     emu_node_name(n));
		goto out;
	}
	/* One ack per object (we asked NLM_F_ACK on each); an error ack names
	 * the failing message by its sequence number. */
	while (acks < b->count) {
		ssize_t len = mnl_socket_recvfrom(nl, rbuf, sizeof(rbuf));
		const struct nlmsghdr *nlh;
		int left;

		if (len < 0) {
			ret = natlab_err_set(e, errno, "node %s: reading nftables acks",
					     emu_node_name(n));
			goto out;
		}
		left = (int)len;
		for (nlh = (const struct nlmsghdr *)rbuf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *err;
			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			err = mnl_nlmsg_get_payload(nlh);
			acks++;
			if (err->error != 0) {
				char ack[200];
				uint32_t idx = nlh->nlmsg_seq - b->seq0 - 1;
				ext_ack_text(nlh, ack, sizeof(ack));
				ret = natlab_err_set(
				    e, -err->error, "node %s: nftables refused %s%s",
				    emu_node_name(n), idx < b->count ? b->what[idx] : "the batch",
				    ack);
				goto out;
			}
		}
	}
	ret = 0;
out:
	mnl_socket_close(nl);
	return ret;
}

/* One request on a NETLINK_NETFILTER socket opened inside @n, waiting for
 * its ack (or, for a dump, its end), each answer passed to @cb. */
int emu_nfnl_request(struct emu_node *n, struct nlmsghdr *nlh, const char *what, mnl_cb_t cb,
		     void *data, struct natlab_err *e)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	int one = 1;
	int saved;
	int ret;

	ret = emu_node_enter(n, &saved, e);
	if (ret < 0)
		return ret;
	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	emu_node_leave(saved);
	if (!nl)
		return natlab_err_set(e, errno,
				      "node %s: %s: cannot open a netfilter netlink socket",
				      emu_node_name(n), what);
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = natlab_err_set(e, errno, "node %s: %s: bind", emu_node_name(n), what);
		goto out;
	}
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = natlab_err_set(e, errno, "node %s: %s: send", emu_node_name(n), what);
		goto out;
	}
	for (;;) {
		ssize_t len = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (len < 0) {
			ret = natlab_err_set(e, errno, "node %s: %s: receive", emu_node_name(n),
					     what);
			goto out;
		}
		ret = mnl_cb_run(buf, (size_t)len, nlh->nlmsg_seq, mnl_socket_get_portid(nl), cb,
				 data);
		if (ret <= 0)
			break;
	}
	if (ret < 0)
		ret = natlab_err_set(e, errno, "node %s: %s", emu_node_name(n), what);
out:
	mnl_socket_close(nl);
	return ret;
}

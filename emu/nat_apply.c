/* nat_apply.c - putting a NAT ruleset into a node and dropping its state:
 * the nftables batch (emu/nft.c) and ctnetlink over libmnl; see nat.h. */
#include "emu/nat.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>

#include "emu/nft.h"

static int nfnl_request(struct emu_node *n, struct nlmsghdr *nlh, const char *what,
			struct natlab_err *e)
{
	return emu_nfnl_request(n, nlh, what, NULL, NULL, e);
}

int emu_nat_conntrack_flush(struct emu_node *n, struct natlab_err *e)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	/* IPCTNL_MSG_CT_DELETE without a tuple deletes every entry of the
	 * family (AF_UNSPEC: all) in the socket's network namespace. */
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nfnl_request(n, nlh, "conntrack flush", e);
}

/* Whether node @n already has the NAT table: 1, 0, or a negative errno. */
static int nat_table_exists(struct emu_node *n, struct natlab_err *e)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	int ret;

	if (!t)
		return natlab_err_set(e, ENOMEM, "node %s: NAT table", emu_node_name(n));
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, EMU_NAT_TABLE);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_IPV4, NLM_F_ACK,
				    (uint32_t)time(NULL));
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	ret = nfnl_request(n, nlh, "looking up the NAT table", e);
	if (ret == -ENOENT)
		return 0;
	return ret < 0 ? ret : 1;
}

/* When the host kernel has br_netfilter loaded, every network namespace
 * gets net.bridge.bridge-nf-call-iptables = 1: frames crossing a bridge
 * of the NAT node (its LAN, "lan" as the harness builds it) go through the
 * IPv4 hooks at the bridge layer. A hairpinned packet, DNATed there to a
 * host on the same bridge, is then bridged back at layer 2 instead of
 * routed: it never takes the forward path that the hairpin SNAT expects,
 * and from one host to itself it would have to leave through the very
 * port it came in on, which a bridge never does (measured: hairpinning
 * between two sockets of one host was lost, tests/ns/nat_hairpin_self.c).
 * A router's netfilter sees routed traffic only: switch the bridge calls
 * off in the NAT's namespace. ENOENT: no br_netfilter, nothing to do. */
static int nat_bridge_nf_off(struct emu_node *n, struct natlab_err *e)
{
	static const char *const keys[] = {"net/bridge/bridge-nf-call-iptables",
					   "net/bridge/bridge-nf-call-ip6tables"};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct natlab_err se;
		int ret = emu_node_sysctl_set(n, keys[i], "0", &se);
		if (ret < 0 && ret != -ENOENT) {
			*e = se;
			return ret;
		}
	}
	return 0;
}

/* The names of the dynamic sets (those the packet path adds to: every
 * mapping, filter and port set; the constant pubaddrs and pool stay) of
 * the NAT table, read back from the kernel: which exist depends on the
 * knobs the NAT was applied with. */
struct dyn_sets {
	char name[24][NFT_SET_MAXNAMELEN];
	unsigned n;
	bool overflow;
};

static int dyn_set_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dyn_sets *ds = data;
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		return MNL_CB_ERROR;
	if (nftnl_set_nlmsg_parse(nlh, s) == 0 &&
	    (nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_EVAL) &&
	    strcmp(nftnl_set_get_str(s, NFTNL_SET_TABLE), EMU_NAT_TABLE) == 0) {
		if (ds->n < sizeof(ds->name) / sizeof(ds->name[0]))
			snprintf(ds->name[ds->n++], sizeof(ds->name[0]), "%s",
				 nftnl_set_get_str(s, NFTNL_SET_NAME));
		else
			ds->overflow = true;
	}
	nftnl_set_free(s);
	return MNL_CB_OK;
}

/* 1 with @ds filled, 0 when the node has no NAT table, or a negative errno. */
static int nat_dyn_sets(struct emu_node *n, struct dyn_sets *ds, struct natlab_err *e)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;
	int ret;

	if (!s)
		return natlab_err_set(e, ENOMEM, "node %s: NAT sets", emu_node_name(n));
	nftnl_set_set_str(s, NFTNL_SET_TABLE, EMU_NAT_TABLE);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSET, NFPROTO_IPV4, NLM_F_DUMP | NLM_F_ACK,
				    (uint32_t)time(NULL));
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	ret = emu_nfnl_request(n, nlh, "listing the NAT's sets", dyn_set_cb, ds, e);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return ret;
	if (ds->overflow)
		return natlab_err_msg(e, E2BIG,
				      "node %s: NAT flush: more dynamic sets than expected",
				      emu_node_name(n));
	return 1;
}

/* The two base chains that hold a NAT still while it forgets: every IPv4
 * packet arriving (prerouting) or sent by the node (output) is dropped
 * before conntrack and the NAT chains see it, as a rebooting router drops
 * what reaches it. */
static const struct {
	const char *name;
	uint32_t hook;
} freeze_chains[] = {{"freeze_in", NF_INET_PRE_ROUTING}, {"freeze_out", NF_INET_LOCAL_OUT}};

static int freeze_op(struct emu_nft_batch *b, bool add)
{
	for (size_t i = 0; i < sizeof(freeze_chains) / sizeof(freeze_chains[0]); i++) {
		struct nftnl_chain *c = nftnl_chain_alloc();
		int ret;
		if (!c)
			return -ENOMEM;
		nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
		nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, EMU_NAT_TABLE);
		nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, freeze_chains[i].name);
		if (add) {
			nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
			nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, freeze_chains[i].hook);
			/* before raw (-300) and conntrack (-200) */
			nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, -400);
			nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_DROP);
		}
		ret = add ? emu_nft_batch_add_chain(b, c) : emu_nft_batch_del_chain(b, c);
		nftnl_chain_free(c);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Append a flush of every set in @ds to @b. */
static int add_set_flushes(struct emu_nft_batch *b, const struct dyn_sets *ds)
{
	for (unsigned i = 0; i < ds->n; i++) {
		struct nftnl_set *s = nftnl_set_alloc();
		int ret;
		if (!s)
			return -ENOMEM;
		nftnl_set_set_str(s, NFTNL_SET_TABLE, EMU_NAT_TABLE);
		nftnl_set_set_str(s, NFTNL_SET_NAME, ds->name[i]);
		nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_IPV4);
		ret = emu_nft_batch_flush_set(b, s);
		nftnl_set_free(s);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* After the frozen batch: forget conntrack (when @ret is still 0), then,
 * when @frozen, thaw in one batch that empties the dynamic sets once more.
 * The second flush is for packets already past the freeze chains when the
 * frozen batch was committed: such a packet, still translated by its old
 * conntrack entry, may reach the learn chain after the commit and write
 * its old mapping into the emptied sets (tests/ns/nat_flush.c saw that in
 * about 1 change in 30 under a flow of 20k packets/s before this flush was
 * added, and in none of 150 after). Emptied in the transaction that lets
 * packets through again, the sets are clean at that instant; a packet of
 * the old view would have had to be under way through a conntrack flush
 * and two netlink round trips to spoil them again.
 * The thaw happens even after an error, since a NAT left frozen would
 * drop everything for good; the first error is the one reported. */
static int nat_forget_and_thaw(struct emu_node *n, bool frozen, int ret, struct natlab_err *e)
{
	struct dyn_sets ds = {.n = 0};
	struct emu_nft_batch *b = NULL;
	struct natlab_err te;
	int r;

	/* A conntrack entry made under the old rules keeps its translation
	 * and would shadow the new ones (or the flushed mappings). */
	if (ret == 0)
		ret = emu_nat_conntrack_flush(n, e);
	if (!frozen)
		return ret;
	r = nat_dyn_sets(n, &ds, ret == 0 ? e : &te);
	if (r < 0 && ret == 0)
		ret = r;
	b = emu_nft_batch_new();
	if (!b || freeze_op(b, false) < 0 || (r > 0 && add_set_flushes(b, &ds) < 0)) {
		emu_nft_batch_free(b);
		return ret < 0 ? ret
			       : natlab_err_set(e, ENOMEM, "node %s: NAT thaw", emu_node_name(n));
	}
	if (ret == 0)
		ret = emu_nft_batch_commit(b, n, e);
	else
		emu_nft_batch_commit(b, n, &te);
	emu_nft_batch_free(b);
	return ret;
}

/* A NAT applied over an earlier one (the table exists) comes up frozen
 * and is thawed after the conntrack flush, for the reason given at
 * emu_nat_flush: a live flow's packet between the new ruleset and the
 * flush would teach the new sets its old mapping. A first apply has no
 * flows to guard against and skips the extra batch (a chain deletion
 * waits for the kernel's RCU grace period). */
int emu_nat_apply(struct emu_node *router, const struct emu_nat_config *cfg, struct natlab_err *e)
{
	struct emu_nft_batch *b = emu_nft_batch_new();
	bool existed = false;
	int ret;

	if (!b)
		return natlab_err_set(e, ENOMEM, "node %s: NAT batch", emu_node_name(router));
	ret = nat_table_exists(router, e);
	if (ret < 0)
		goto out;
	existed = ret == 1;
	ret = emu_nat_build_table(cfg, b, existed, e);
	if (ret == 0 && existed && freeze_op(b, true) < 0)
		ret = natlab_err_msg(e, ENOSPC, "NAT: batch full");
	if (ret < 0) {
		natlab_err_prefix(e, "node %s", emu_node_name(router));
		goto out;
	}
	ret = emu_nft_batch_commit(b, router, e);
	if (ret < 0)
		goto out; /* nothing applied, nothing frozen */
	ret = nat_bridge_nf_off(router, e);
	ret = nat_forget_and_thaw(router, existed, ret, e);
out:
	emu_nft_batch_free(b);
	return ret;
}

/* One step as far as any packet can tell. Emptying the sets and then
 * conntrack in two transactions would leave a window: a packet of a live
 * flow arriving between them is still translated by its old conntrack
 * entry, and the learn chain puts that old mapping straight back into the
 * fresh sets, where it outlives the conntrack flush (tests/ns/nat_flush.c
 * sees it on every try). So: (1) one batch freezes the NAT (the chains
 * above) and flushes every dynamic set, (2) conntrack is flushed, (3) one
 * batch flushes the sets again and thaws it (nat_forget_and_thaw says
 * why twice). Nothing new crosses the NAT between (1) and (3), and what
 * was under way at (1) is wiped at (3). */
int emu_nat_flush(struct emu_node *router, struct natlab_err *e)
{
	struct dyn_sets ds = {.n = 0};
	struct emu_nft_batch *b = NULL;
	int ret;

	ret = nat_dyn_sets(router, &ds, e);
	if (ret <= 0) /* no NAT table: only conntrack to forget */
		return ret < 0 ? ret : emu_nat_conntrack_flush(router, e);
	b = emu_nft_batch_new();
	if (!b || freeze_op(b, true) < 0) {
		ret = natlab_err_set(e, ENOMEM, "node %s: NAT flush", emu_node_name(router));
		goto out;
	}
	ret = add_set_flushes(b, &ds);
	if (ret == -ENOMEM) {
		ret = natlab_err_set(e, ENOMEM, "node %s: NAT flush", emu_node_name(router));
		goto out;
	}
	if (ret < 0) { /* -ENOSPC from the batch, not from a system call */
		ret =
		    natlab_err_msg(e, ret, "node %s: NAT flush: batch full", emu_node_name(router));
		goto out;
	}
	ret = emu_nft_batch_commit(b, router, e);
	if (ret < 0)
		goto out; /* nothing flushed, nothing frozen */
	ret = nat_forget_and_thaw(router, true, 0, e);
out:
	emu_nft_batch_free(b);
	return ret;
}

/* nat_apply.c - putting a NAT ruleset into a node and dropping its state:
 * the nftables batch (emu/nft.c) and ctnetlink over libmnl; see nat.h. */
#include "emu/nat.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>

#include "emu/nft.h"

/* One request on a NETLINK_NETFILTER socket opened inside @n, waiting for
 * its ack. */
static int nfnl_request(struct emu_node *n, struct nlmsghdr *nlh, const char *what,
			struct natlab_err *e)
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
		ret = mnl_cb_run(buf, (size_t)len, nlh->nlmsg_seq, mnl_socket_get_portid(nl), NULL,
				 NULL);
		if (ret <= 0)
			break;
	}
	if (ret < 0)
		ret = natlab_err_set(e, errno, "node %s: %s", emu_node_name(n), what);
out:
	mnl_socket_close(nl);
	return ret;
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

int emu_nat_apply(struct emu_node *router, const struct emu_nat_config *cfg, struct natlab_err *e)
{
	struct emu_nft_batch *b = emu_nft_batch_new();
	int ret;

	if (!b)
		return natlab_err_set(e, ENOMEM, "node %s: NAT batch", emu_node_name(router));
	ret = nat_table_exists(router, e);
	if (ret < 0)
		goto out;
	ret = emu_nat_build_table(cfg, b, ret == 1, e);
	if (ret < 0) {
		natlab_err_prefix(e, "node %s", emu_node_name(router));
		goto out;
	}
	ret = emu_nft_batch_commit(b, router, e);
	if (ret < 0)
		goto out;
	ret = nat_bridge_nf_off(router, e);
	if (ret < 0)
		goto out;
	/* A conntrack entry made under the old rules keeps its translation
	 * and would shadow the new ones: start from a clean table. */
	ret = emu_nat_conntrack_flush(router, e);
out:
	emu_nft_batch_free(b);
	return ret;
}

int emu_nat_flush(struct emu_node *router, struct natlab_err *e)
{
	static const char *const sets[] = {"pmap",   "fsent", "pflow", "emap",
					   "pports", "iused", "hmap",  "pused"};
	int ret = 0;

	/* Each set in its own batch: which of them exist depends on the
	 * knobs, and a batch naming a missing one fails as a whole. */
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		struct emu_nft_batch *b = emu_nft_batch_new();
		struct nftnl_set *s = nftnl_set_alloc();
		struct natlab_err ignored;
		if (!b || !s) {
			emu_nft_batch_free(b);
			nftnl_set_free(s);
			return natlab_err_set(e, ENOMEM, "node %s: NAT flush",
					      emu_node_name(router));
		}
		nftnl_set_set_str(s, NFTNL_SET_TABLE, EMU_NAT_TABLE);
		nftnl_set_set_str(s, NFTNL_SET_NAME, sets[i]);
		nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_IPV4);
		ret = emu_nft_batch_flush_set(b, s);
		if (ret == 0) {
			ret = emu_nft_batch_commit(b, router, &ignored);
			if (ret == -ENOENT)
				ret = 0; /* no such set with these knobs */
			else if (ret < 0)
				*e = ignored;
		}
		nftnl_set_free(s);
		emu_nft_batch_free(b);
		if (ret < 0)
			return ret;
	}
	return emu_nat_conntrack_flush(router, e);
}

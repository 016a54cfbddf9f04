/* link.c - veth pairs and addresses through libnl-route; see link.h. */
#include "emu/link.h"

#include <errno.h>
#include <string.h>

#include <linux/if.h>
#include <netlink/netlink.h>

/* libnl's words for a refusal, then the kernel's own (extended ack). */
#define KERR(node, nlerr) emu_node_nl_error((node), (nlerr), (char[320]){0}, 320)
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <linux/veth.h>
#include <netlink/msg.h>
#include <netlink/attr.h>

static bool ifname_ok(const char *name)
{
	return name && name[0] && strlen(name) < EMU_IFNAME_MAX && !strchr(name, '/');
}

/* RTM_NEWLINK { IFLA_IFNAME a, IFLA_LINKINFO { kind "veth", data {
 *   VETH_INFO_PEER { ifinfomsg, IFLA_IFNAME b, IFLA_NET_NS_FD b } } } }
 * built by hand: libnl 3.7's veth helper fails to serialise a peer that
 * carries a namespace descriptor. */
static int veth_request(struct nl_sock *sk, const char *name_a, const char *name_b, int ns_b)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct nlattr *info;
	struct nlattr *data;
	struct nlattr *peer;
	int ret = -NLE_NOMEM;

	if (!msg)
		return ret;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(msg, IFLA_IFNAME, name_a) < 0)
		goto out;
	info = nla_nest_start(msg, IFLA_LINKINFO);
	if (!info || nla_put_string(msg, IFLA_INFO_KIND, "veth") < 0)
		goto out;
	data = nla_nest_start(msg, IFLA_INFO_DATA);
	peer = data ? nla_nest_start(msg, VETH_INFO_PEER) : NULL;
	if (!peer || nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(msg, IFLA_IFNAME, name_b) < 0 ||
	    nla_put_u32(msg, IFLA_NET_NS_FD, (uint32_t)ns_b) < 0)
		goto out;
	nla_nest_end(msg, peer);
	nla_nest_end(msg, data);
	nla_nest_end(msg, info);
	ret = nl_send_sync(sk, msg); /* frees msg */
	return ret;
out:
	nlmsg_free(msg);
	return ret;
}

int emu_link_veth(struct emu_node *a, const char *name_a, struct emu_node *b, const char *name_b,
		  struct natlab_err *e)
{
	struct nl_sock *sk;
	int ret;

	if (!ifname_ok(name_a) || !ifname_ok(name_b))
		return natlab_err_msg(e, EINVAL,
				      "veth %s/%s: interface names must be 1-15 characters",
				      name_a ? name_a : "", name_b ? name_b : "");
	sk = emu_node_rtnl(a, e);
	if (!sk)
		return -EIO;
	/* Created from node a's socket; the peer goes straight into node b. */
	ret = veth_request(sk, name_a, name_b, emu_node_netns_fd(b));
	if (ret < 0)
		return natlab_err_set(e, 0, "veth %s (node %s) <-> %s (node %s): cannot create: %s",
				      name_a, emu_node_name(a), name_b, emu_node_name(b),
				      KERR(a, ret));
	ret = emu_link_set_up(a, name_a, true, e);
	if (ret < 0)
		return ret;
	return emu_link_set_up(b, name_b, true, e);
}

int emu_link_set_up(struct emu_node *n, const char *ifname, bool up, struct natlab_err *e)
{
	struct nl_sock *sk = emu_node_rtnl(n, e);
	struct rtnl_link *cur = NULL;
	struct rtnl_link *change = NULL;
	int ret;

	if (!sk)
		return -EIO;
	ret = rtnl_link_get_kernel(sk, 0, ifname, &cur);
	if (ret < 0)
		return natlab_err_set(e, 0, "node %s: no interface %s: %s", emu_node_name(n),
				      ifname, KERR(n, ret));
	change = rtnl_link_alloc();
	if (!change) {
		ret = natlab_err_set(e, ENOMEM, "node %s: %s", emu_node_name(n), ifname);
		goto out;
	}
	if (up)
		rtnl_link_set_flags(change, IFF_UP);
	else
		rtnl_link_unset_flags(change, IFF_UP);
	ret = rtnl_link_change(sk, cur, change, 0);
	if (ret < 0)
		ret = natlab_err_set(e, 0, "node %s: cannot set %s %s: %s", emu_node_name(n),
				     ifname, up ? "up" : "down", KERR(n, ret));
out:
	rtnl_link_put(change);
	rtnl_link_put(cur);
	return ret;
}

int emu_link_addr_add(struct emu_node *n, const char *ifname, const char *cidr,
		      struct natlab_err *e)
{
	struct nl_sock *sk = emu_node_rtnl(n, e);
	struct rtnl_link *link = NULL;
	struct rtnl_addr *addr = NULL;
	struct nl_addr *local = NULL;
	int ret;

	if (!sk)
		return -EIO;
	ret = nl_addr_parse(cidr, AF_UNSPEC, &local);
	if (ret < 0)
		return natlab_err_msg(e, EINVAL,
				      "node %s: \"%s\" is not an address with a prefix length",
				      emu_node_name(n), cidr);
	ret = rtnl_link_get_kernel(sk, 0, ifname, &link);
	if (ret < 0) {
		ret = natlab_err_set(e, 0, "node %s: no interface %s: %s", emu_node_name(n), ifname,
				     KERR(n, ret));
		goto out;
	}
	addr = rtnl_addr_alloc();
	if (!addr) {
		ret = natlab_err_set(e, ENOMEM, "node %s: address %s", emu_node_name(n), cidr);
		goto out;
	}
	rtnl_addr_set_ifindex(addr, rtnl_link_get_ifindex(link));
	rtnl_addr_set_local(addr, local);
	/* Lab addresses are fixed by the scenario: no IPv6 duplicate address
	 * detection delay before they can be used. */
	if (nl_addr_get_family(local) == AF_INET6)
		rtnl_addr_set_flags(addr, IFA_F_NODAD);
	ret = rtnl_addr_add(sk, addr, 0);
	if (ret < 0)
		ret = natlab_err_set(e, 0, "node %s: cannot add %s to %s: %s", emu_node_name(n),
				     cidr, ifname, KERR(n, ret));
out:
	rtnl_addr_put(addr);
	nl_addr_put(local);
	rtnl_link_put(link);
	return ret;
}

/* Apply @change to interface @ifname of node @n. */
static int link_change(struct emu_node *n, const char *ifname, struct rtnl_link *change,
		       const char *what, struct natlab_err *e)
{
	struct nl_sock *sk = emu_node_rtnl(n, e);
	struct rtnl_link *cur = NULL;
	int ret;

	if (!sk)
		return -EIO;
	ret = rtnl_link_get_kernel(sk, 0, ifname, &cur);
	if (ret < 0)
		return natlab_err_set(e, 0, "node %s: no interface %s: %s", emu_node_name(n),
				      ifname, KERR(n, ret));
	ret = rtnl_link_change(sk, cur, change, 0);
	if (ret < 0)
		ret = natlab_err_set(e, 0, "node %s: %s %s: %s", emu_node_name(n), what, ifname,
				     KERR(n, ret));
	rtnl_link_put(cur);
	return ret;
}

int emu_link_set_mtu(struct emu_node *n, const char *ifname, unsigned mtu, struct natlab_err *e)
{
	struct rtnl_link *change;
	char what[48];
	int ret;

	if (mtu < 68 || mtu > 65535)
		return natlab_err_msg(e, EINVAL, "node %s: MTU %u of %s is out of range (68-65535)",
				      emu_node_name(n), mtu, ifname);
	change = rtnl_link_alloc();
	if (!change)
		return natlab_err_set(e, ENOMEM, "node %s: %s", emu_node_name(n), ifname);
	rtnl_link_set_mtu(change, mtu);
	snprintf(what, sizeof(what), "cannot set MTU %u on", mtu);
	ret = link_change(n, ifname, change, what, e);
	rtnl_link_put(change);
	return ret;
}

int emu_link_bridge_add(struct emu_node *n, const char *name, struct natlab_err *e)
{
	struct nl_sock *sk = emu_node_rtnl(n, e);
	struct rtnl_link *br;
	int ret;

	if (!sk)
		return -EIO;
	if (!ifname_ok(name))
		return natlab_err_msg(e, EINVAL,
				      "node %s: bridge name \"%s\" must be 1-15 characters",
				      emu_node_name(n), name ? name : "");
	br = rtnl_link_bridge_alloc();
	if (!br)
		return natlab_err_set(e, ENOMEM, "node %s: bridge %s", emu_node_name(n), name);
	rtnl_link_set_name(br, name);
	rtnl_link_set_flags(br, IFF_UP);
	ret = rtnl_link_add(sk, br, NLM_F_CREATE | NLM_F_EXCL);
	if (ret < 0)
		ret = natlab_err_set(e, 0, "node %s: cannot create bridge %s: %s", emu_node_name(n),
				     name, KERR(n, ret));
	rtnl_link_put(br);
	return ret;
}

int emu_link_bridge_attach(struct emu_node *n, const char *bridge, const char *ifname,
			   struct natlab_err *e)
{
	struct nl_sock *sk = emu_node_rtnl(n, e);
	struct rtnl_link *br = NULL;
	struct rtnl_link *change = NULL;
	char what[64];
	int ret;

	if (!sk)
		return -EIO;
	ret = rtnl_link_get_kernel(sk, 0, bridge, &br);
	if (ret < 0)
		return natlab_err_set(e, 0, "node %s: no bridge %s: %s", emu_node_name(n), bridge,
				      KERR(n, ret));
	change = rtnl_link_alloc();
	if (!change) {
		ret = natlab_err_set(e, ENOMEM, "node %s: %s", emu_node_name(n), ifname);
		goto out;
	}
	rtnl_link_set_master(change, rtnl_link_get_ifindex(br));
	snprintf(what, sizeof(what), "cannot attach to bridge %s:", bridge);
	ret = link_change(n, ifname, change, what, e);
out:
	rtnl_link_put(change);
	rtnl_link_put(br);
	return ret;
}

/* dut_iface.c - save, move and restore the interfaces natlab dut borrows;
 * see dut_iface.h. All through libnl-route. */
#include "harness/dut_iface.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#define DUT_ADDRS_MAX  32
#define DUT_ROUTES_MAX 32

struct dut_iface {
	char name[IFNAMSIZ];
	int ifindex;
	bool up;
	unsigned mtu;
	struct nl_sock *home; /* rtnl socket in the home namespace */
	int home_ns;	      /* descriptor of the home namespace */
	struct rtnl_addr *addrs[DUT_ADDRS_MAX];
	int n_addrs;
	struct rtnl_route *routes[DUT_ROUTES_MAX];
	int n_routes;
	bool default_route;
	bool moved;
};

const char *dut_iface_name(const struct dut_iface *i)
{
	return i->name;
}

bool dut_iface_default_route(const struct dut_iface *i)
{
	return i->default_route;
}

void dut_iface_free(struct dut_iface *i)
{
	if (!i)
		return;
	for (int k = 0; k < i->n_addrs; k++)
		rtnl_addr_put(i->addrs[k]);
	for (int k = 0; k < i->n_routes; k++)
		rtnl_route_put(i->routes[k]);
	if (i->home)
		nl_socket_free(i->home);
	if (i->home_ns >= 0)
		close(i->home_ns);
	free(i);
}

static bool route_uses(struct rtnl_route *r, int ifindex)
{
	for (int k = 0; k < rtnl_route_get_nnexthops(r); k++)
		if (rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(r, k)) == ifindex)
			return true;
	return false;
}

int dut_iface_save(const char *ifname, struct dut_iface **out, struct natlab_err *e)
{
	struct dut_iface *i = calloc(1, sizeof(*i));
	struct rtnl_link *link = NULL;
	struct nl_cache *cache = NULL;
	int ret;

	*out = NULL;
	if (!i)
		return natlab_err_set(e, ENOMEM, "interface %s", ifname);
	i->home_ns = -1;
	snprintf(i->name, sizeof(i->name), "%s", ifname);
	i->home_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (i->home_ns < 0) {
		ret = natlab_err_set(e, errno, "interface %s: cannot open this network namespace",
				     ifname);
		goto out;
	}
	i->home = nl_socket_alloc();
	if (!i->home || nl_connect(i->home, NETLINK_ROUTE) < 0) {
		ret = natlab_err_msg(e, EIO, "interface %s: cannot open a netlink socket", ifname);
		goto out;
	}
	if (rtnl_link_get_kernel(i->home, 0, ifname, &link) < 0) {
		ret = natlab_err_msg(e, ENODEV, "no interface '%s' here", ifname);
		goto out;
	}
	i->ifindex = rtnl_link_get_ifindex(link);
	i->up = (rtnl_link_get_flags(link) & IFF_UP) != 0;
	i->mtu = rtnl_link_get_mtu(link);
	if (rtnl_addr_alloc_cache(i->home, &cache) < 0) {
		ret = natlab_err_msg(e, EIO, "interface %s: cannot list addresses", ifname);
		goto out;
	}
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		if (rtnl_addr_get_ifindex(a) != i->ifindex ||
		    rtnl_addr_get_scope(a) == RT_SCOPE_LINK)
			continue;
		if (i->n_addrs < DUT_ADDRS_MAX) {
			nl_object_get(o);
			i->addrs[i->n_addrs++] = a;
		}
	}
	nl_cache_free(cache);
	cache = NULL;
	if (rtnl_route_alloc_cache(i->home, AF_UNSPEC, 0, &cache) < 0) {
		ret = natlab_err_msg(e, EIO, "interface %s: cannot list routes", ifname);
		goto out;
	}
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_route *r = (struct rtnl_route *)o;
		struct nl_addr *dst = rtnl_route_get_dst(r);
		if (rtnl_route_get_table(r) != RT_TABLE_MAIN || !route_uses(r, i->ifindex))
			continue;
		if (dst && nl_addr_get_prefixlen(dst) == 0)
			i->default_route = true;
		/* the kernel makes the prefix routes of the addresses again */
		if (rtnl_route_get_protocol(r) == RTPROT_KERNEL)
			continue;
		if (i->n_routes < DUT_ROUTES_MAX) {
			nl_object_get(o);
			i->routes[i->n_routes++] = r;
		}
	}
	ret = 0;
	*out = i;
	i = NULL;
out:
	if (cache)
		nl_cache_free(cache);
	if (link)
		rtnl_link_put(link);
	dut_iface_free(i);
	return ret;
}

/* Move the interface found through @sk into the namespace @ns_fd. */
static int move_to(struct nl_sock *sk, const char *name, int ns_fd, struct natlab_err *e)
{
	struct rtnl_link *link = NULL, *change = rtnl_link_alloc();
	int ret;

	if (!change)
		return natlab_err_set(e, ENOMEM, "interface %s", name);
	ret = rtnl_link_get_kernel(sk, 0, name, &link);
	if (ret < 0) {
		ret = natlab_err_msg(e, ENODEV, "interface %s: not found: %s", name,
				     nl_geterror(ret));
		goto out;
	}
	rtnl_link_set_ns_fd(change, ns_fd);
	ret = rtnl_link_change(sk, link, change, 0);
	if (ret < 0)
		ret = natlab_err_msg(e, EIO, "interface %s: cannot move it: %s", name,
				     nl_geterror(ret));
out:
	rtnl_link_put(link);
	rtnl_link_put(change);
	return ret;
}

static int set_state(struct nl_sock *sk, const char *name, bool up, unsigned mtu,
		     struct natlab_err *e)
{
	struct rtnl_link *link = NULL, *change = rtnl_link_alloc();
	int ret;

	if (!change)
		return natlab_err_set(e, ENOMEM, "interface %s", name);
	ret = rtnl_link_get_kernel(sk, 0, name, &link);
	if (ret < 0) {
		ret = natlab_err_msg(e, ENODEV, "interface %s: not found", name);
		goto out;
	}
	if (up)
		rtnl_link_set_flags(change, IFF_UP);
	else
		rtnl_link_unset_flags(change, IFF_UP);
	if (mtu)
		rtnl_link_set_mtu(change, mtu);
	ret = rtnl_link_change(sk, link, change, 0);
	if (ret < 0)
		ret = natlab_err_msg(e, EIO, "interface %s: cannot set it %s: %s", name,
				     up ? "up" : "down", nl_geterror(ret));
out:
	rtnl_link_put(link);
	rtnl_link_put(change);
	return ret;
}

int dut_iface_move(struct dut_iface *i, struct emu_node *n, struct natlab_err *e)
{
	struct nl_sock *sk;
	int ret = move_to(i->home, i->name, emu_node_netns_fd(n), e);

	if (ret < 0)
		return ret;
	i->moved = true;
	sk = emu_node_rtnl(n, e);
	if (!sk)
		return -EIO;
	return set_state(sk, i->name, true, 0, e);
}

int dut_iface_restore(struct dut_iface *i, struct emu_node *n, struct natlab_err *e)
{
	struct rtnl_link *link = NULL;
	int ret = 0;

	if (!i)
		return 0;
	if (i->moved) {
		struct nl_sock *sk = emu_node_rtnl(n, e);
		if (!sk)
			return -EIO;
		/* down first, as it was when it left */
		set_state(sk, i->name, false, 0, e);
		ret = move_to(sk, i->name, i->home_ns, e);
		if (ret < 0)
			return ret;
		i->moved = false;
	}
	/* The index is kept across namespaces unless it clashed; look it up. */
	if (rtnl_link_get_kernel(i->home, 0, i->name, &link) < 0)
		return natlab_err_msg(e, ENODEV, "interface %s did not come back", i->name);
	i->ifindex = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	ret = set_state(i->home, i->name, i->up, i->mtu, e);
	for (int k = 0; k < i->n_addrs && ret == 0; k++) {
		rtnl_addr_set_ifindex(i->addrs[k], i->ifindex);
		int r = rtnl_addr_add(i->home, i->addrs[k], 0);
		if (r < 0 && r != -NLE_EXIST)
			ret = natlab_err_msg(e, EIO, "interface %s: cannot restore an address: %s",
					     i->name, nl_geterror(r));
	}
	for (int k = 0; k < i->n_routes && ret == 0; k++) {
		struct rtnl_route *r = i->routes[k];
		for (int h = 0; h < rtnl_route_get_nnexthops(r); h++)
			rtnl_route_nh_set_ifindex(rtnl_route_nexthop_n(r, h), i->ifindex);
		int x = rtnl_route_add(i->home, r, NLM_F_CREATE);
		if (x < 0 && x != -NLE_EXIST)
			ret = natlab_err_msg(e, EIO, "interface %s: cannot restore a route: %s",
					     i->name, nl_geterror(x));
	}
	return ret;
}

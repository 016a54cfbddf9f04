/* route.c - routes through libnl-route and forwarding sysctls; see route.h. */
#include "emu/route.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <netlink/netlink.h>

/* libnl's words for a refusal, then the kernel's own (extended ack). */
#define KERR(node, nlerr) emu_node_nl_error((node), (nlerr), (char[320]){0}, 320)
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

static int route_put(struct emu_node *n, const char *dst, const char *via, const char *ifname,
		     int flags, struct natlab_err *e)
{
	struct nl_sock *sk = emu_node_rtnl(n, e);
	struct rtnl_route *route = NULL;
	struct rtnl_nexthop *nh = NULL;
	struct nl_addr *daddr = NULL;
	struct nl_addr *gw = NULL;
	int ifindex = 0;
	int ret;

	if (!sk)
		return -EIO;
	if (!via && !ifname)
		return natlab_err_msg(e, EINVAL,
				      "node %s: route %s needs a gateway or an interface",
				      emu_node_name(n), dst);
	if (strcmp(dst, "default") == 0)
		ret = nl_addr_parse("0.0.0.0/0", AF_INET, &daddr);
	else if (strcmp(dst, "default6") == 0)
		ret = nl_addr_parse("::/0", AF_INET6, &daddr);
	else
		ret = nl_addr_parse(dst, AF_UNSPEC, &daddr);
	if (ret < 0)
		return natlab_err_msg(e, EINVAL,
				      "node %s: route destination \"%s\" is not a prefix",
				      emu_node_name(n), dst);
	if (via) {
		ret = nl_addr_parse(via, nl_addr_get_family(daddr), &gw);
		if (ret < 0 || nl_addr_get_family(gw) != nl_addr_get_family(daddr)) {
			ret = natlab_err_msg(e, EINVAL,
					     "node %s: route %s: gateway \"%s\" is not an address "
					     "of the same family",
					     emu_node_name(n), dst, via);
			goto out;
		}
	}
	if (ifname) {
		struct rtnl_link *link = NULL;
		ret = rtnl_link_get_kernel(sk, 0, ifname, &link);
		if (ret < 0) {
			ret = natlab_err_set(e, 0, "node %s: route %s: no interface %s: %s",
					     emu_node_name(n), dst, ifname, KERR(n, ret));
			goto out;
		}
		ifindex = rtnl_link_get_ifindex(link);
		rtnl_link_put(link);
	}
	route = rtnl_route_alloc();
	nh = rtnl_route_nh_alloc();
	if (!route || !nh) {
		ret = natlab_err_set(e, ENOMEM, "node %s: route %s", emu_node_name(n), dst);
		goto out;
	}
	rtnl_route_set_family(route, (uint8_t)nl_addr_get_family(daddr));
	rtnl_route_set_dst(route, daddr);
	rtnl_route_set_table(route, RT_TABLE_MAIN);
	rtnl_route_set_protocol(route, RTPROT_STATIC);
	rtnl_route_set_type(route, RTN_UNICAST);
	rtnl_route_set_scope(route, via ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
	if (gw)
		rtnl_route_nh_set_gateway(nh, gw);
	if (ifindex)
		rtnl_route_nh_set_ifindex(nh, ifindex);
	rtnl_route_add_nexthop(route, nh); /* takes ownership */
	nh = NULL;
	ret = rtnl_route_add(sk, route, flags);
	if (ret < 0)
		ret = natlab_err_set(e, 0, "node %s: cannot add route %s%s%s%s%s: %s",
				     emu_node_name(n), dst, via ? " via " : "", via ? via : "",
				     ifname ? " dev " : "", ifname ? ifname : "", KERR(n, ret));
out:
	if (nh)
		rtnl_route_nh_free(nh);
	rtnl_route_put(route);
	nl_addr_put(gw);
	nl_addr_put(daddr);
	return ret;
}

int emu_route_add(struct emu_node *n, const char *dst, const char *via, const char *ifname,
		  struct natlab_err *e)
{
	return route_put(n, dst, via, ifname, NLM_F_CREATE | NLM_F_EXCL, e);
}

int emu_route_replace(struct emu_node *n, const char *dst, const char *via, const char *ifname,
		      struct natlab_err *e)
{
	return route_put(n, dst, via, ifname, NLM_F_CREATE | NLM_F_REPLACE, e);
}

int emu_route_forwarding(struct emu_node *n, bool on, struct natlab_err *e)
{
	const char *v = on ? "1" : "0";
	int ret = emu_node_sysctl_set(n, "net/ipv4/ip_forward", v, e);

	if (ret < 0)
		return ret;
	return emu_node_sysctl_set(n, "net/ipv6/conf/all/forwarding", v, e);
}

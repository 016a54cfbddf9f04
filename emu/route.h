/* route.h - routes and forwarding on a node, through NETLINK_ROUTE
 * (libnl-route) and the node's own /proc/sys; no `ip` child processes. */
#ifndef NATLAB_EMU_ROUTE_H
#define NATLAB_EMU_ROUTE_H

#include <stdbool.h>
#include "emu/err.h"
#include "emu/node.h"

/* emu_route_add - add a unicast route in node @n's main table.
 * @dst: "198.51.100.0/24", "2001:db8::/32", "default" (IPv4 0.0.0.0/0) or
 *       "default6" (IPv6 ::/0);
 * @via: gateway address ("10.0.0.1", "fd00::1") or NULL for an on-link
 *       route;
 * @ifname: output interface, or NULL to let the kernel find it from @via.
 * At least one of @via and @ifname must be given. Strings are copied. */
int emu_route_add(struct emu_node *n, const char *dst, const char *via, const char *ifname,
		  struct natlab_err *e);

/* emu_route_replace - as emu_route_add, but an existing route to @dst is
 * replaced (a roaming host's new default route). */
int emu_route_replace(struct emu_node *n, const char *dst, const char *via, const char *ifname,
		      struct natlab_err *e);

/* emu_route_forwarding - turn IPv4 and IPv6 forwarding on or off in node
 * @n (net/ipv4/ip_forward, net/ipv6/conf/all/forwarding). A router or NAT
 * node needs it on. */
int emu_route_forwarding(struct emu_node *n, bool on, struct natlab_err *e);

#endif

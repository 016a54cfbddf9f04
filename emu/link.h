/* link.h - links between nodes: veth pairs, addresses, routes, state.
 *
 * All through NETLINK_ROUTE (libnl-route), each operation on the socket
 * that lives in the node concerned; no `ip` child processes.
 */
#ifndef NATLAB_EMU_LINK_H
#define NATLAB_EMU_LINK_H

#include <stdbool.h>
#include "emu/err.h"
#include "emu/node.h"

#define EMU_IFNAME_MAX 16 /* IFNAMSIZ */

/* emu_link_veth - create a veth pair with end @name_a in node @a and end
 * @name_b in node @b, both up. */
int emu_link_veth(struct emu_node *a, const char *name_a, struct emu_node *b, const char *name_b,
		  struct natlab_err *e);

/* emu_link_addr_add - add @cidr ("10.0.0.1/24" or "2001:db8::1/64") to
 * interface @ifname of node @n. */
int emu_link_addr_add(struct emu_node *n, const char *ifname, const char *cidr,
		      struct natlab_err *e);

/* emu_link_set_up - set interface @ifname of node @n up or down. */
int emu_link_set_up(struct emu_node *n, const char *ifname, bool up, struct natlab_err *e);

/* emu_link_set_mtu - set the MTU of interface @ifname of node @n (bytes,
 * 68-65535). Do both ends of a veth for a symmetric path. */
int emu_link_set_mtu(struct emu_node *n, const char *ifname, unsigned mtu, struct natlab_err *e);

/* emu_link_bridge_add - create bridge @name in node @n, up: a LAN switch.
 * Several hosts share one LAN (behind one NAT) by attaching their veth
 * ends to the bridge of a switch node, or of the router itself. */
int emu_link_bridge_add(struct emu_node *n, const char *name, struct natlab_err *e);

/* emu_link_bridge_attach - make interface @ifname of node @n a port of
 * bridge @bridge in the same node. */
int emu_link_bridge_attach(struct emu_node *n, const char *bridge, const char *ifname,
			   struct natlab_err *e);

#endif

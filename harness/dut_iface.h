/* dut_iface.h - the two interfaces natlab dut borrows from the host: their
 * state saved, moved into lab nodes, and moved back and restored.
 *
 * Only the named interfaces are touched. Saved: the namespace they live in
 * (a descriptor opened before the sandbox, so they can be returned from
 * inside it), up/down, MTU, addresses (link-local IPv6 excepted: the
 * kernel makes it again) and the main-table routes through them, which the
 * kernel drops when an interface leaves its namespace.
 *
 * If natlab dies by SIGKILL while it holds them, the kernel decides: a
 * physical NIC goes back to the initial namespace (without its addresses),
 * a veth end is destroyed with the lab's namespace.
 */
#ifndef NATLAB_HARNESS_DUT_IFACE_H
#define NATLAB_HARNESS_DUT_IFACE_H

#include <stdbool.h>

#include "emu/err.h"
#include "emu/node.h"

struct dut_iface;

/* dut_iface_save - look up @ifname in the calling process's network
 * namespace and record its state. Caller owns *@out (dut_iface_free). */
int dut_iface_save(const char *ifname, struct dut_iface **out, struct natlab_err *e);

/* dut_iface_default_route - true when a default route (IPv4 or IPv6) of
 * the main table leaves through the interface. */
bool dut_iface_default_route(const struct dut_iface *i);

/* dut_iface_move - move the interface into node @n (it keeps its name) and
 * set it up there. */
int dut_iface_move(struct dut_iface *i, struct emu_node *n, struct natlab_err *e);

/* dut_iface_restore - move it back from node @n (when it was moved) and
 * restore name, MTU, addresses, routes and up/down as saved. Safe to call
 * twice. */
int dut_iface_restore(struct dut_iface *i, struct emu_node *n, struct natlab_err *e);

const char *dut_iface_name(const struct dut_iface *i);

/* dut_iface_free - accepts NULL; does not restore. */
void dut_iface_free(struct dut_iface *i);

#endif

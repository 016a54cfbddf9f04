/* node.h - a lab node: one network namespace, held by a file descriptor.
 *
 * Nodes are never bind-mounted into /run/netns: the namespace lives exactly
 * as long as the node's descriptor and the processes running in it, so a
 * lab dies with its sandbox (see sandbox.h). Hosts, routers, NATs and the
 * internet core are all nodes.
 */
#ifndef NATLAB_EMU_NODE_H
#define NATLAB_EMU_NODE_H

#include <stdbool.h>
#include <sys/types.h>
#include "emu/err.h"

#define EMU_NODE_NAME_MAX 32

struct emu_node;
struct nl_sock;

/* emu_node_new - create a node with a fresh network namespace whose
 * loopback is up. @name is copied (at most EMU_NODE_NAME_MAX-1 bytes of
 * [A-Za-z0-9_.-]). Caller owns *@out and frees it with emu_node_free(). */
int emu_node_new(const char *name, struct emu_node **out, struct natlab_err *e);

/* emu_node_free - close the node's descriptors; the kernel destroys the
 * namespace (and its interfaces, rules and conntrack table) when no process
 * runs in it any more. Accepts NULL and half-built nodes. */
void emu_node_free(struct emu_node *n);

const char *emu_node_name(const struct emu_node *n);
/* emu_node_flow_families - the address families (EMU_FLOW_IPV4/IPV6 bits of
 * emu/flow.h) whose flow tables emu_flow_watch made in this node through
 * this handle; 0 when none. emu_flow_dump asks only for those. */
unsigned emu_node_flow_families(const struct emu_node *n);
void emu_node_add_flow_families(struct emu_node *n, unsigned families);

/* emu_node_netns_fd - the descriptor of the node's network namespace (owned
 * by the node; do not close). */
int emu_node_netns_fd(const struct emu_node *n);

/* emu_node_enter - switch the calling thread into the node's network
 * namespace; *@saved receives a descriptor for the namespace to return to
 * with emu_node_leave(), which closes it. */
int emu_node_enter(const struct emu_node *n, int *saved, struct natlab_err *e);
void emu_node_leave(int saved);

/* emu_node_rtnl - a libnl NETLINK_ROUTE socket that lives in the node's
 * namespace, opened on first use and owned by the node. NULL (with @e
 * filled) on failure. */
struct nl_sock *emu_node_rtnl(struct emu_node *n, struct natlab_err *e);

/* emu_node_ext_ack - " (kernel: <text>)" when the kernel explained its last
 * refusal on the node's rtnl socket, else ""; written into @buf (caller
 * owns) and returned. Reading it clears it. For error messages. */
const char *emu_node_ext_ack(struct emu_node *n, char *buf, size_t len);

/* emu_node_nl_error - libnl's text for error @nlerr (a negative libnl
 * code) followed by emu_node_ext_ack(): for messages about a refusal on the
 * node's rtnl socket. Written into @buf (caller owns) and returned. */
const char *emu_node_nl_error(struct emu_node *n, int nlerr, char *buf, size_t len);

/* emu_node_socket - socket(2) created inside the node. Caller owns it. */
int emu_node_socket(const struct emu_node *n, int domain, int type, int protocol,
		    struct natlab_err *e);

/* emu_node_sysctl_set - write @value to /proc/sys/@key as seen from inside
 * the node (per-namespace keys only, e.g. "net/ipv4/ip_forward"). */
int emu_node_sysctl_set(const struct emu_node *n, const char *key, const char *value,
			struct natlab_err *e);

struct emu_spawn_opts {
	int stdin_fd;	   /* -1: /dev/null */
	int stdout_fd;	   /* -1: /dev/null */
	int stderr_fd;	   /* -1: /dev/null */
	const char *cwd;   /* NULL: inherited */
	char *const *envp; /* NULL: inherited */
	/* true: the child gets a /tmp of its own, an empty tmpfs mounted in a
	 * mount namespace made for it (it and its descendants share it). The
	 * tmpfs lives as long as one of them does: whatever they leave in
	 * /tmp (a browser's profile, sockets, caches) is gone when the last
	 * one exits or is killed, and the caller's /tmp is never written. */
	bool private_tmp;
};

/* emu_node_spawn - fork and exec @argv (argv[0] is looked up in PATH) inside
 * the node, in a process group of its own whose id is *@pid. The child gets
 * SIGKILL if the calling process dies. Failures to exec (or to make the
 * private /tmp of @o->private_tmp) are reported here, not as a mysterious
 * exit status. The caller reaps the child. */
int emu_node_spawn(const struct emu_node *n, char *const argv[], const struct emu_spawn_opts *o,
		   pid_t *pid, struct natlab_err *e);

#endif

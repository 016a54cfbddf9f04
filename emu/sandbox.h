/* sandbox.h - the private namespace tree every lab is built in.
 *
 * A run never touches the host's network configuration. Before it builds
 * anything, natlab calls emu_sandbox_enter(), which:
 *  - creates a user namespace when not root (so no sudo is needed where the
 *    host allows unprivileged user namespaces), then network, mount and PID
 *    namespaces;
 *  - forks: the original process stays outside as a small supervisor that
 *    forwards SIGINT/SIGTERM/SIGHUP and exits with the child's status; the
 *    child is PID 1 of the new PID namespace and carries on with the run.
 *
 * The child asks the kernel for SIGKILL when the supervisor dies
 * (PR_SET_PDEATHSIG). When PID 1 dies, the kernel kills every process of the
 * PID namespace, and with them the last references to every node network
 * namespace of the lab: veths, nftables rules and conntrack state go too.
 * So a SIGKILL of natlab at any moment leaves nothing on the host.
 */
#ifndef NATLAB_EMU_SANDBOX_H
#define NATLAB_EMU_SANDBOX_H

#include <stdbool.h>
#include "emu/err.h"

enum emu_sandbox_mode {
	EMU_SANDBOX_ROOT,     /* real root: net+mnt+pid namespaces */
	EMU_SANDBOX_USERNS,   /* unprivileged: user+net+mnt+pid namespaces */
};

/* emu_sandbox_enter - enter the sandbox. Returns 0 in the sandboxed child.
 * In the parent it never returns: it waits for the child and _exit()s with
 * its status (this is main()'s decision made on its behalf, documented here
 * because it is the one place in emu/ that ends the process).
 * On failure returns a negative errno with a message saying what to do
 * (for example: run with sudo where user namespaces are refused). */
int emu_sandbox_enter(enum emu_sandbox_mode *mode, struct natlab_err *e);

/* emu_sandbox_active - true once emu_sandbox_enter() succeeded here. */
bool emu_sandbox_active(void);

#endif

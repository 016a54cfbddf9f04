/* lab.h - a lab: the nodes of one topology and the processes run in them.
 *
 * A lab owns its nodes and remembers every process it started, so that one
 * call tears everything down: emu_lab_free() kills each spawned process
 * group with SIGKILL, reaps it, then frees the nodes (the kernel then drops
 * their namespaces with every veth, route, rule and conntrack entry).
 *
 * Build a lab inside the sandbox (emu/sandbox.h), never in the host's
 * namespaces.
 */
#ifndef NATLAB_EMU_LAB_H
#define NATLAB_EMU_LAB_H

#include <sys/types.h>
#include "emu/err.h"
#include "emu/node.h"

struct emu_lab;

#define EMU_LAB_NODES_MAX 64
#define EMU_LAB_PROCS_MAX 256

/* emu_lab_new - an empty lab. Caller owns *@out (emu_lab_free). */
int emu_lab_new(struct emu_lab **out, struct natlab_err *e);

/* emu_lab_free - kill (SIGKILL to the process group) and reap every process
 * still tracked, then free every node. Accepts NULL and half-built labs. */
void emu_lab_free(struct emu_lab *lab);

/* emu_lab_node_add - create node @name (see emu_node_new for valid names)
 * owned by the lab; *@out (may be NULL) is borrowed, valid until
 * emu_lab_free. -EEXIST when the name is taken. */
int emu_lab_node_add(struct emu_lab *lab, const char *name, struct emu_node **out,
		     struct natlab_err *e);

/* emu_lab_node_find - the node called @name, or NULL. Borrowed. */
struct emu_node *emu_lab_node_find(const struct emu_lab *lab, const char *name);

/* emu_lab_node_count / emu_lab_node_at - iterate the nodes in creation
 * order. Borrowed. */
unsigned emu_lab_node_count(const struct emu_lab *lab);
struct emu_node *emu_lab_node_at(const struct emu_lab *lab, unsigned i);

/* emu_lab_spawn - emu_node_spawn() @argv in node @n and track the child:
 * emu_lab_free() kills and reaps it if nobody did before. @o may be NULL
 * (stdio to /dev/null). The process is the leader of its own group. */
int emu_lab_spawn(struct emu_lab *lab, struct emu_node *n, char *const argv[],
		  const struct emu_spawn_opts *o, pid_t *pid, struct natlab_err *e);

/* emu_lab_wait - wait up to @timeout_ms (-1: forever, 0: just look) for the
 * tracked child @pid to exit; on exit stores its wait status in *@status
 * (may be NULL), forgets it and returns 0. -ETIMEDOUT when still running,
 * -ECHILD when @pid is not a child this lab tracks. */
int emu_lab_wait(struct emu_lab *lab, pid_t pid, int *status, int timeout_ms, struct natlab_err *e);

/* emu_lab_kill - SIGKILL the process group of tracked child @pid, reap it
 * and forget it; *@status (may be NULL) receives its wait status. */
int emu_lab_kill(struct emu_lab *lab, pid_t pid, int *status, struct natlab_err *e);

#endif

/* stunprobe.h - a single STUN Binding request (RFC 8489) sent from a node:
 * the smallest check that a NAT maps and a server answers. */
#ifndef NATLAB_HARNESS_STUNPROBE_H
#define NATLAB_HARNESS_STUNPROBE_H

#include <stddef.h>

#include "emu/err.h"
#include "emu/node.h"

/* stunprobe_binding - from a UDP socket in @n, ask @server:@port (IPv4) for
 * our reflexive address; "a.b.c.d:port" into @out. -ETIMEDOUT when no
 * answer within @timeout_ms. */
int stunprobe_binding(const struct emu_node *n, const char *server, unsigned port, int timeout_ms,
		      char *out, size_t len, struct natlab_err *e);

#endif

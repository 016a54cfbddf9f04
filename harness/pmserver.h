/* pmserver.h - a port-mapping server (miniupnpd-nftables: UPnP IGD,
 * NAT-PMP, PCP) started from C in a NAT node whose rules carry the knob
 * portmap: what scenarios/prelude/45_portmap.lua does for a Lua net, for
 * the labs `natlab probe --portmap` builds (and the namespace tests that
 * stand a lab NAT in for a device). docs/nat-model.md "Port mapping". */
#ifndef NATLAB_HARNESS_PMSERVER_H
#define NATLAB_HARNESS_PMSERVER_H

#include <stddef.h>
#include <sys/types.h>

#include "emu/err.h"
#include "emu/lab.h"

struct pmserver_config {
	const char *dir;	/* conf, pid and log files go here (caller's, must exist) */
	const char *ext_ifname; /* the NAT's outside interface */
	const char *ext_ip;	/* its public address: not a special-purpose one (45_portmap.lua) */
	const char *lan_ifname; /* where it listens (listening_ip) */
	const char *lan_prefix; /* who may map: "10.0.0.0/24" */
	unsigned protocols;	/* EMU_NAT_PORTMAP_* mask */
	unsigned min_lifetime_s, max_lifetime_s; /* RFC 6887 §15 clamps; 0: 120 and 86400 */
};

/* pmserver_conf - the miniupnpd.conf(5) text for @c into @buf; its length,
 * or -ENOSPC. Pure. */
int pmserver_conf(const struct pmserver_config *c, char *buf, size_t len);

/* pmserver_start - write the configuration, start miniupnpd -d in @node
 * (tracked by @lab, so emu_lab_free kills it) with its log in
 * c->dir/miniupnpd.log, and wait up to @ready_ms for it to say it listens.
 * 0 and *@pid; -ENOENT when miniupnpd is not installed (message names the
 * package); -ETIMEDOUT (the server was killed) when it never got ready. */
int pmserver_start(struct emu_lab *lab, struct emu_node *node, const struct pmserver_config *c,
		   int ready_ms, pid_t *pid, struct natlab_err *e);

#endif

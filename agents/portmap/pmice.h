/* pmice.h - port mappings for an ICE agent's host candidates: one
 * pm_client (pmclient.h) and one UDP socket per IPv4 host candidate,
 * talking to the default gateway's port 5351. natlab-ice's `--portmap`
 * (docs/agent-protocol.md) drives it from its poll loop. */
#ifndef NATLAB_AGENTS_PORTMAP_PMICE_H
#define NATLAB_AGENTS_PORTMAP_PMICE_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agents/ice/candidate.h"
#include "agents/portmap/pmclient.h"

#define PMICE_MAX 8 /* host candidates mapped at most */

struct pmice_config {
	enum pm_mode mode;
	uint32_t lifetime_s; /* 0: PM_LIFETIME_S_DEFAULT */
	uint32_t wait_ms;    /* 0: PM_WAIT_MS_DEFAULT */
	uint64_t seed;	     /* for the PCP mapping nonces */
};

struct pmice_cb {
	void *ctx;
	/* a mapping of base @base_id's port at @mapped (made, or changed) */
	void (*mapped)(void *ctx, int base_id, const union ice_addr *mapped, const char *protocol,
		       uint32_t lifetime_s);
	/* the first attempt of every mapping asked so far has ended */
	void (*settled)(void *ctx);
	void (*log)(void *ctx, const char *level, const char *msg);
};

struct pmice;

/* pmice_new - @cfg and @cb copied; caller owns *@out. */
int pmice_new(const struct pmice_config *cfg, const struct pmice_cb *cb, struct pmice **out);
/* pmice_free - deletes nothing (see pmice_stop); NULL is fine. */
void pmice_free(struct pmice *p);
/* pmice_gateway - the IPv4 default gateway (network order) from
 * /proc/net/route; -ENOENT without one. */
int pmice_gateway(uint32_t *gw);
/* pmice_add - map the port of IPv4 host candidate @host (base @base_id):
 * a socket bound to its address, a client started now. An IPv6 host, one
 * already added, or a full table: nothing (0). -errno when the socket or
 * the gateway fails (logged too). */
int pmice_add(struct pmice *p, int base_id, const union ice_addr *host, uint64_t now_ms);
/* pmice_pending - a first attempt still running */
bool pmice_pending(const struct pmice *p);
/* pmice_remapped - call mapped() again for every live mapping (after an
 * ICE restart forgot the agent's candidates). */
void pmice_remapped(struct pmice *p);
/* pmice_pollfds - fill up to PMICE_MAX entries of @pfd; returns how many. */
unsigned pmice_pollfds(struct pmice *p, struct pollfd *pfd);
/* pmice_io - after poll: read what arrived on @pfd[0..@n). */
void pmice_io(struct pmice *p, const struct pollfd *pfd, unsigned n, uint64_t now_ms);
/* pmice_tick - due timers; the next deadline (PM_NEVER: none). */
uint64_t pmice_tick(struct pmice *p, uint64_t now_ms);
/* pmice_stop - delete every mapping (one request each, no wait). */
void pmice_stop(struct pmice *p, uint64_t now_ms);

#endif

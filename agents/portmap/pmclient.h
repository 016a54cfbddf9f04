/* pmclient.h - a port-mapping client as a pure state machine: PCP
 * (RFC 6887, MAP) with NAT-PMP (RFC 6886) fallback, for one UDP port.
 *
 * The client owns no socket and reads no clock: the caller passes the time
 * to every call, sends what io->send gives it to the gateway's port 5351,
 * feeds what comes back to pm_client_input and calls pm_client_tick when
 * the deadline it returned has come. Events report the mapping (made,
 * refreshed, lost) and when the first attempt has settled — at most
 * cfg.wait_ms after pm_client_start, answer or not (the bound a caller
 * holds ICE gathering for). */
#ifndef NATLAB_AGENTS_PORTMAP_PMCLIENT_H
#define NATLAB_AGENTS_PORTMAP_PMCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agents/portmap/pcp.h"

#define PM_NEVER UINT64_MAX
/* Default cap on the first attempt (gathering waits no longer). */
#define PM_WAIT_MS_DEFAULT 2000
/* Default requested lifetime: RFC 6887 §15 lets the server clamp it. */
#define PM_LIFETIME_S_DEFAULT 7200

enum pm_mode { PM_MODE_PCP, PM_MODE_NATPMP, PM_MODE_AUTO };

struct pm_client_config {
	enum pm_mode mode;
	uint32_t client_ip;	      /* network order: the address requests leave from */
	uint16_t internal_port;	      /* the UDP port to map */
	uint32_t lifetime_s;	      /* requested; 0: PM_LIFETIME_S_DEFAULT */
	uint32_t wait_ms;	      /* first attempt's cap; 0: PM_WAIT_MS_DEFAULT */
	uint8_t nonce[PCP_NONCE_LEN]; /* RFC 6887 §11.1: random, per mapping */
};

enum pm_event_type {
	PM_EV_MAPPED,  /* a mapping (new, or changed by a refresh) */
	PM_EV_SETTLED, /* the first attempt ended (after MAPPED, or without) */
	PM_EV_LOST, /* the server lost its state (epoch, §8.5) or the lease ran out: mapping again
		     */
	PM_EV_LOG,  /* reason: a line worth logging */
};

struct pm_event {
	enum pm_event_type type;
	const char *protocol; /* "pcp" or "natpmp" (MAPPED, LOST) */
	uint32_t external_ip; /* network order (MAPPED) */
	uint16_t external_port;
	uint32_t lifetime_s;
	uint32_t epoch_s;
	const char *reason;
};

struct pm_client_io {
	void *ctx;
	void (*send)(void *ctx, const uint8_t *buf, size_t len);
	void (*event)(void *ctx, const struct pm_event *ev);
};

struct pm_client;

/* pm_client_new - @cfg and @io are copied; caller owns *@out. 0 or
 * -ENOMEM / -EINVAL (no port, bad mode). */
int pm_client_new(const struct pm_client_config *cfg, const struct pm_client_io *io,
		  struct pm_client **out);
/* pm_client_free - NULL is fine; sends nothing (see pm_client_stop). */
void pm_client_free(struct pm_client *c);
/* pm_client_start - the first request goes out now. */
void pm_client_start(struct pm_client *c, uint64_t now_ms);
/* pm_client_input - a datagram from the gateway's port 5351. */
void pm_client_input(struct pm_client *c, const uint8_t *buf, size_t len, uint64_t now_ms);
/* pm_client_tick - timers due at @now_ms; returns the next deadline. */
uint64_t pm_client_tick(struct pm_client *c, uint64_t now_ms);
/* pm_client_stop - delete the mapping (RFC 6887 §15: MAP with lifetime 0;
 * RFC 6886 §3.4: lifetime 0, suggested port 0), one request, no wait;
 * the client then does nothing more. */
void pm_client_stop(struct pm_client *c, uint64_t now_ms);
/* pm_client_settled - whether the first attempt has ended. */
bool pm_client_settled(const struct pm_client *c);

/* pm_mode_parse - "pcp", "natpmp", "auto"; -EINVAL otherwise. */
int pm_mode_parse(const char *s, enum pm_mode *m);

#endif

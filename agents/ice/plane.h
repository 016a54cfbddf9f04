/* plane.h - natlab-ice's data plane as the agent protocol drives it: the
 * numbered messages and acknowledgements of agents/ice/dataplane.c on the
 * plane in use, "datagram" (raw datagrams on the selected pair) or
 * "datachannel" (a WebRTC data channel on it, agents/ice/dcsession.c), and
 * the events they produce (rx, data, log, error). See
 * docs/agent-protocol.md, "The data plane".
 *
 * The caller owns the ICE agent: it moves datagrams (plane_recv, and the
 * io->send callback for component 1's selected pair), says when the pair
 * is selected, and calls plane_poll from its loop.
 */
#ifndef NATLAB_AGENTS_ICE_PLANE_H
#define NATLAB_AGENTS_ICE_PLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "agents/ice/agentproto.h"
#include "agents/ice/ice_opts.h"

struct plane_io {
	void *ctx;
	/* a datagram on component 1's selected pair (lost if there is none) */
	void (*send)(void *ctx, const uint8_t *buf, size_t len);
	/* the agent's monotonic clock in microseconds (events get /1000) */
	uint64_t (*now_us)(void *ctx);
};

struct plane;

/* plane_new - the plane @want, or -ENOTSUP (with @err saying what to
 * install) for datachannel in a build without libusrsctp. For datachannel
 * the certificate is made here; @ice_controlling picks the setup it
 * announces (agents/ice/dtls.h). @io copied; @out not owned. */
int plane_new(enum ice_opts_dataplane want, bool ice_controlling, const struct plane_io *io,
	      struct agentproto_out *out, struct plane **p, char *err, size_t errlen);
void plane_free(struct plane *p);

/* plane_offer - declare only the planes of @offer (ICE_OPTS_OFFER_* bits,
 * of those this build has; 0: all of them) in "ready" and accept only
 * those in "gather" (--offer-dataplanes, a test double of a stack with
 * one plane) */
void plane_offer(struct plane *p, unsigned offer);

/* plane_ev_ready - the "ready" event with the agent's @caps and the data
 * planes it offers */
void plane_ev_ready(struct plane *p, const char *impl, const char *version,
		    const struct agentproto_cap *caps, unsigned ncaps);

/* plane_use - the plane the harness chose (a "gather" command's
 * "dataplane"; docs/agent-protocol.md, "The data plane"), before the
 * first "local": datachannel sets the data channel up as --dataplane
 * datachannel would (the "local" then carries a session), datagram drops
 * it. A plane this agent does not offer, or a data channel that cannot be
 * made, is a log event and changes nothing. */
void plane_use(struct plane *p, enum ice_opts_dataplane kind, bool ice_controlling);

/* plane_session - the "session" object for our "local" event (present
 * only on the datachannel plane) */
void plane_session(const struct plane *p, struct agentproto_session *out);

/* plane_remote - a "remote" command's session. Without one the
 * datachannel plane falls back to datagrams (a log event says so); a bad
 * one is an error event. */
void plane_remote(struct plane *p, const struct agentproto_session *s);

/* plane_selected - component 1 has a selected pair: the data channel
 * starts on it (DTLS in the role the setups settle, else by
 * @ice_controlling). */
void plane_selected(struct plane *p, bool ice_controlling);

/* plane_recv - a non-STUN datagram from the pair of @component */
void plane_recv(struct plane *p, unsigned component, const uint8_t *buf, size_t len);

/* plane_send_cmd - a "send" command; the caller has checked that a pair
 * is selected. On the datachannel plane the run starts once the channel
 * is open. Errors become "error" events. */
void plane_send_cmd(struct plane *p, const struct agentproto_cmd *cmd);

/* plane_poll - send what is due, report a finished run, run the data
 * channel's timers. Returns ms until the next call is due, -1: none. */
long plane_poll(struct plane *p);

/* plane_close - the agent stops: DTLS close_notify to the peer */
void plane_close(struct plane *p);

#endif

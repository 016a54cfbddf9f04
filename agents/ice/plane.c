/* plane.c - the data plane on datagrams or a data channel (see plane.h). */
#include "agents/ice/plane.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents/ice/dataplane.h"
#include "agents/ice/dcsession.h"

struct plane {
	struct plane_io io;
	struct agentproto_out *out;
	struct dataplane *dp;
	/* the plane in use: the one asked for, or datagram when the peer
	 * sent no session (it offers no data channel) */
	enum ice_opts_dataplane kind;
	unsigned offer;	       /* ICE_OPTS_OFFER_* bits declared in ready */
	struct dcsession *dcs; /* datachannel */
	bool dc_failed;
	/* a "send" waiting for the data channel to open */
	bool send_pending;
	unsigned ps_n, ps_size;
	uint64_t ps_interval_us;
};

static uint64_t now_us(const struct plane *p)
{
	return p->io.now_us(p->io.ctx);
}

static uint64_t now_ms(const struct plane *p)
{
	return now_us(p) / 1000u;
}

/* One message to the peer: a datagram, or a message on the channel. */
static void send_msg(struct plane *p, const uint8_t *buf, size_t len)
{
#ifdef NATLAB_HAVE_USRSCTP
	if (p->kind == ICE_DATAPLANE_DATACHANNEL) {
		/* an unreliable channel: a message that cannot go is lost */
		(void)dcsession_send(p->dcs, buf, len);
		return;
	}
#endif
	p->io.send(p->io.ctx, buf, len);
}

/* A message from the peer, whichever way it came. */
static void input_msg(struct plane *p, const uint8_t *buf, size_t len)
{
	uint8_t reply[DATAPLANE_HEADER_LEN];
	size_t rlen = 0;
	uint32_t seq = 0;
	enum dataplane_input k = dataplane_input(p->dp, buf, len, now_us(p), &seq, reply, &rlen);
	if (k == DATAPLANE_DATA) {
		agentproto_ev_rx(p->out, now_ms(p), seq, len);
		send_msg(p, reply, rlen);
	}
}

/* The error event of a "send" that cannot run (dataplane_start's @r). */
static void send_refused(struct plane *p, int r)
{
	agentproto_ev_error(p->out, now_ms(p), "send: %s",
			    r == -EBUSY ? "a send is still running" : "n/size out of range");
}

static void start_run(struct plane *p, unsigned n, unsigned size, uint64_t interval_us)
{
	int r = dataplane_start(p->dp, n, size, interval_us, now_us(p));
	if (r < 0)
		send_refused(p, r);
}

/* ---- the data channel's callbacks (agents/ice/dcplane.h) ------------------ */

#ifdef NATLAB_HAVE_USRSCTP
static void dc_send(void *ctx, const uint8_t *buf, size_t len)
{
	struct plane *p = ctx;
	p->io.send(p->io.ctx, buf, len);
}

static void dc_open(void *ctx)
{
	struct plane *p = ctx;
	const struct dcplane_times *t = dcplane_times(dcsession_plane(p->dcs));
	agentproto_ev_log(p->out, now_ms(p), "info",
			  "data channel \"%s\" open as DTLS %s: DTLS %llu ms, SCTP %llu ms, "
			  "channel %llu ms after the selection",
			  DCPLANE_LABEL, dcsession_client(p->dcs) ? "client" : "server",
			  (unsigned long long)t->dtls_ms, (unsigned long long)t->sctp_ms,
			  (unsigned long long)t->open_ms);
	if (p->send_pending) {
		p->send_pending = false;
		start_run(p, p->ps_n, p->ps_size, p->ps_interval_us);
	}
}

static void dc_message(void *ctx, const uint8_t *buf, size_t len)
{
	input_msg(ctx, buf, len);
}

static void dc_log(void *ctx, const char *level, const char *msg)
{
	struct plane *p = ctx;
	agentproto_ev_log(p->out, now_ms(p), level, "datachannel: %s", msg);
}

static void dc_failed(void *ctx, const char *reason)
{
	struct plane *p = ctx;
	p->dc_failed = true;
	agentproto_ev_log(p->out, now_ms(p), "error", "datachannel: %s", reason);
	if (p->send_pending) {
		p->send_pending = false;
		agentproto_ev_error(p->out, now_ms(p), "send: the data channel failed: %s", reason);
	}
}
#endif

/* ---- API --------------------------------------------------------------------- */

int plane_new(enum ice_opts_dataplane want, bool ice_controlling, const struct plane_io *io,
	      struct agentproto_out *out, struct plane **pp, char *err, size_t errlen)
{
	struct plane *p = calloc(1, sizeof(*p));
	int r;

	if (!p || dataplane_new(&p->dp) < 0) {
		free(p);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p->io = *io;
	p->out = out;
	p->kind = want;
	p->offer = ICE_OPTS_OFFER_DATAGRAM;
#ifdef NATLAB_HAVE_USRSCTP
	p->offer |= ICE_OPTS_OFFER_DATACHANNEL;
#endif
	if (want == ICE_DATAPLANE_DATACHANNEL) {
#ifdef NATLAB_HAVE_USRSCTP
		struct dcplane_cb cb = {p, dc_send, dc_open, dc_message, dc_log, dc_failed};
		r = dcsession_new(ice_controlling, &cb, &p->dcs, err, errlen);
#else
		(void)ice_controlling;
		snprintf(err, errlen,
			 "this natlab-ice was built without libusrsctp; install libusrsctp-dev "
			 "(scripts/install-deps --build) and rebuild, or use --dataplane datagram");
		r = -ENOTSUP;
#endif
		if (r < 0) {
			plane_free(p);
			return r;
		}
	}
	*pp = p;
	return 0;
}

void plane_free(struct plane *p)
{
	if (!p)
		return;
#ifdef NATLAB_HAVE_USRSCTP
	dcsession_free(p->dcs);
#endif
	dataplane_free(p->dp);
	free(p);
}

void plane_offer(struct plane *p, unsigned offer)
{
	if (offer & p->offer)
		p->offer &= offer;
}

void plane_ev_ready(struct plane *p, const char *impl, const char *version,
		    const struct agentproto_cap *caps, unsigned ncaps)
{
	const char *planes[2];
	unsigned n = 0;

	if (p->offer & ICE_OPTS_OFFER_DATAGRAM)
		planes[n++] = "datagram";
	if (p->offer & ICE_OPTS_OFFER_DATACHANNEL)
		planes[n++] = "datachannel";
	agentproto_ev_ready_full(p->out, now_ms(p), impl, version, caps, ncaps, planes, n);
}

void plane_use(struct plane *p, enum ice_opts_dataplane kind, bool ice_controlling)
{
	unsigned bit = kind == ICE_DATAPLANE_DATACHANNEL ? ICE_OPTS_OFFER_DATACHANNEL
							 : ICE_OPTS_OFFER_DATAGRAM;

	if (!(p->offer & bit)) {
		agentproto_ev_log(p->out, now_ms(p), "warning",
				  "gather: dataplane \"%s\" is not one this agent offers: ignored",
				  kind == ICE_DATAPLANE_DATACHANNEL ? "datachannel" : "datagram");
		return;
	}
	if (kind == p->kind)
		return;
#ifdef NATLAB_HAVE_USRSCTP
	if (p->dcs && dcsession_started(p->dcs))
		return; /* too late to change: DTLS runs */
	if (kind == ICE_DATAPLANE_DATACHANNEL && !p->dcs) {
		struct dcplane_cb cb = {p, dc_send, dc_open, dc_message, dc_log, dc_failed};
		char err[256];
		if (dcsession_new(ice_controlling, &cb, &p->dcs, err, sizeof(err)) < 0) {
			agentproto_ev_log(p->out, now_ms(p), "error",
					  "gather: dataplane \"datachannel\": %s; using datagrams",
					  err);
			return;
		}
	} else if (kind == ICE_DATAPLANE_DATAGRAM) {
		/* no session in our local: the peer expects no data channel */
		dcsession_free(p->dcs);
		p->dcs = NULL;
	}
	p->kind = kind;
#else
	(void)ice_controlling;
#endif
}

void plane_session(const struct plane *p, struct agentproto_session *out)
{
	memset(out, 0, sizeof(*out));
#ifdef NATLAB_HAVE_USRSCTP
	if (p->dcs)
		dcsession_local(p->dcs, out);
#else
	(void)p;
#endif
}

void plane_remote(struct plane *p, const struct agentproto_session *s)
{
#ifdef NATLAB_HAVE_USRSCTP
	char err[256];
	int r;
	if (!p->dcs || p->kind != ICE_DATAPLANE_DATACHANNEL)
		return;
	r = dcsession_remote(p->dcs, s, err, sizeof(err));
	if (r == -ENOENT && !dcsession_started(p->dcs)) {
		/* a peer that announces no session offers no data channel:
		 * the datagram plane is what the two have in common */
		p->kind = ICE_DATAPLANE_DATAGRAM;
		agentproto_ev_log(p->out, now_ms(p), "warning",
				  "the peer sent no session (no data channel): using the datagram "
				  "plane");
	} else if (r < 0 && r != -ENOENT) {
		agentproto_ev_error(p->out, now_ms(p), "remote: %s", err);
	}
#else
	(void)p;
	(void)s;
#endif
}

void plane_selected(struct plane *p, bool ice_controlling)
{
#ifdef NATLAB_HAVE_USRSCTP
	char err[256];
	if (!p->dcs || p->kind != ICE_DATAPLANE_DATACHANNEL || dcsession_started(p->dcs))
		return;
	/* DTLS starts on the selected pair (RFC 5763 §5: the setups settle
	 * who is the client) */
	if (dcsession_start(p->dcs, ice_controlling, err, sizeof(err)) < 0)
		dc_failed(p, err);
#else
	(void)p;
	(void)ice_controlling;
#endif
}

void plane_recv(struct plane *p, unsigned component, const uint8_t *buf, size_t len)
{
#ifdef NATLAB_HAVE_USRSCTP
	/* RFC 7983 §7: a first byte in 20..63 is DTLS */
	if (p->dcs && len > 0 && buf[0] >= 20 && buf[0] <= 63) {
		if (component == 1)
			dcsession_input(p->dcs, buf, len);
		return;
	}
#endif
	(void)component;
	/* datagram-plane messages are understood on either plane */
	input_msg(p, buf, len);
}

void plane_send_cmd(struct plane *p, const struct agentproto_cmd *cmd)
{
	uint64_t interval_us = (uint64_t)cmd->interval_ms * 1000;
#ifdef NATLAB_HAVE_USRSCTP
	int r;
	if (p->kind == ICE_DATAPLANE_DATACHANNEL && !dcsession_open(p->dcs)) {
		if (p->dc_failed) {
			agentproto_ev_error(p->out, now_ms(p),
					    "send: the data channel failed (see the log events)");
			return;
		}
		/* refused now as dataplane_start would refuse it later */
		r = p->send_pending ? -EBUSY : dataplane_check(cmd->n, cmd->size);
		if (r < 0) {
			send_refused(p, r);
			return;
		}
		/* DTLS, SCTP and DCEP take a few round trips after the
		 * selection: the run starts when the channel opens */
		p->send_pending = true;
		p->ps_n = cmd->n;
		p->ps_size = cmd->size;
		p->ps_interval_us = interval_us;
		return;
	}
#endif
	start_run(p, cmd->n, cmd->size, interval_us);
}

long plane_poll(struct plane *p)
{
	uint8_t buf[DATAPLANE_SIZE_MAX];
	struct dataplane_report rep;
	uint64_t t = now_us(p), dl;
	long timeout = -1;
	size_t len;

	while ((len = dataplane_next_send(p->dp, t, buf)) > 0)
		send_msg(p, buf, len);
	if (dataplane_report_due(p->dp, t, &rep)) {
		struct agentproto_data_report r = {rep.sent, rep.received,	rep.acked,
						   rep.lost, rep.rtt_ms_median, rep.rtt_ms_p95};
		agentproto_ev_data(p->out, now_ms(p), &r);
	}
	dl = dataplane_deadline(p->dp);
	if (dl != UINT64_MAX) {
		uint64_t nu = now_us(p);
		uint64_t w = dl > nu ? (dl - nu + 999) / 1000 : 0;
		timeout = w > 60000 ? 60000 : (long)w;
	}
#ifdef NATLAB_HAVE_USRSCTP
	if (p->dcs) {
		long dt = dcsession_timeout_ms(p->dcs);
		if (dt == 0) {
			dcsession_tick(p->dcs);
			dt = dcsession_timeout_ms(p->dcs);
		}
		if (dt >= 0 && (timeout < 0 || dt < timeout))
			timeout = dt;
	}
#endif
	return timeout;
}

void plane_close(struct plane *p)
{
#ifdef NATLAB_HAVE_USRSCTP
	/* RFC 5246 §7.2.1: tell the peer the DTLS connection ends */
	if (p)
		dcsession_close(p->dcs);
#else
	(void)p;
#endif
}

/* dcplane.c - DTLS + SCTP + one data channel (see dcplane.h). */
#include "agents/ice/dcplane.h"

#ifdef NATLAB_HAVE_USRSCTP

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents/common/clock.h"
#include "agents/ice/dcep.h"
#include "agents/ice/sctpdc.h"

struct dcplane {
	struct dcplane_config cfg;
	uint8_t peer_fp[DTLS_DIGEST_MAX];
	struct dcplane_cb cb;
	struct dtls_conn *dtls;
	struct sctpdc *sctp;
	bool failed, opened;
	uint64_t t0_ms;
	uint64_t next_tick_ms; /* usrsctp's timers, every SCTPDC_TICK_MS */
	struct dcplane_times times;
};

static uint64_t since(const struct dcplane *p)
{
	uint64_t d = agent_clock_ms() - p->t0_ms;
	return d ? d : 1; /* 0 means "not yet" */
}

static void plog(struct dcplane *p, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void plog(struct dcplane *p, const char *level, const char *fmt, ...)
{
	char buf[320];
	va_list ap;
	if (!p->cb.log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	p->cb.log(p->cb.ctx, level, buf);
}

static void fail(struct dcplane *p, const char *reason)
{
	if (p->failed)
		return;
	p->failed = true;
	if (p->cb.failed)
		p->cb.failed(p->cb.ctx, reason);
}

/* ---- SCTP below: packets go into DTLS records (RFC 8261) ------------------ */

static void sctp_out(void *ctx, const uint8_t *buf, size_t len)
{
	struct dcplane *p = ctx;
	int r = dtls_conn_write(p->dtls, buf, len);
	if (r < 0 && r != -ENOTCONN)
		fail(p, dtls_conn_error(p->dtls));
}

static void sctp_open(void *ctx, unsigned sid, const char *label, uint8_t type)
{
	struct dcplane *p = ctx;
	(void)sid;
	(void)label;
	(void)type;
	if (p->opened)
		return;
	p->opened = true;
	p->times.open_ms = since(p);
	if (p->cb.open)
		p->cb.open(p->cb.ctx);
}

static void sctp_message(void *ctx, unsigned sid, uint32_t ppid, const uint8_t *buf, size_t len)
{
	struct dcplane *p = ctx;
	(void)sid;
	(void)ppid; /* string or binary: the data plane decides what it is */
	if (p->cb.message)
		p->cb.message(p->cb.ctx, buf, len);
}

static void sctp_log(void *ctx, const char *level, const char *msg)
{
	struct dcplane *p = ctx;
	plog(p, level, "%s", msg);
}

/* ---- DTLS ------------------------------------------------------------------ */

static void dtls_send(void *ctx, const uint8_t *buf, size_t len)
{
	struct dcplane *p = ctx;
	if (p->cb.send)
		p->cb.send(p->cb.ctx, buf, len);
}

static void dtls_established(void *ctx)
{
	struct dcplane *p = ctx;
	struct sctpdc_config sc = {
	    .local_port = p->cfg.local_port,
	    .remote_port = p->cfg.remote_port,
	    .dtls_client = p->cfg.dtls_client,
	    .open = p->cfg.dtls_client, /* natlab-ice: the client opens */
	    .label = DCPLANE_LABEL,
	    .channel_type = DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT_UNORDERED,
	    .reliability = 0,
	};
	struct sctpdc_cb cb = {p, sctp_out, sctp_open, sctp_message, sctp_log};
	char err[256];

	p->times.dtls_ms = since(p);
	plog(p, "info", "DTLS 1.2 handshake done as %s in %llu ms (%s)",
	     p->cfg.dtls_client ? "client" : "server", (unsigned long long)p->times.dtls_ms,
	     dtls_conn_cipher(p->dtls));
	/* SCTP starts on the established DTLS connection (RFC 8831 §6.2) */
	if (sctpdc_new(&sc, &cb, &p->sctp, err, sizeof(err)) < 0) {
		fail(p, err);
		return;
	}
	sctpdc_set_peer_max_message_size(p->sctp, p->cfg.peer_max_message);
}

static void dtls_data(void *ctx, const uint8_t *buf, size_t len)
{
	struct dcplane *p = ctx;
	if (!p->sctp)
		return;
	sctpdc_input(p->sctp, buf, len);
}

static void check_sctp(struct dcplane *p)
{
	const char *why = NULL;
	if (!p->sctp)
		return;
	if (!p->times.sctp_ms && sctpdc_up(p->sctp))
		p->times.sctp_ms = since(p);
	if (sctpdc_failed(p->sctp, &why)) {
		char msg[128];
		snprintf(msg, sizeof(msg), "SCTP: %s", why ? why : "failed");
		fail(p, msg);
	}
}

int dcplane_new(struct dtls_cert *cert, const struct dcplane_config *cfg,
		const struct dcplane_cb *cb, struct dcplane **out, char *err, size_t errlen)
{
	struct dcplane *p = calloc(1, sizeof(*p));
	struct dtls_conn_cb dcb;
	int r;

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (cfg->peer_fp_len > sizeof(p->peer_fp)) {
		snprintf(err, errlen, "peer fingerprint too long");
		free(p);
		return -EINVAL;
	}
	p->cfg = *cfg;
	memcpy(p->peer_fp, cfg->peer_fp, cfg->peer_fp_len);
	p->cfg.peer_fp = p->peer_fp;
	p->cb = *cb;
	p->t0_ms = agent_clock_ms();
	dcb.ctx = p;
	dcb.send = dtls_send;
	dcb.established = dtls_established;
	dcb.data = dtls_data;
	/* *out first: a client's first flight goes out from dtls_conn_new */
	*out = p;
	r = dtls_conn_new(cert, cfg->dtls_client, p->peer_fp, cfg->peer_fp_len, &dcb, &p->dtls, err,
			  errlen);
	if (r < 0) {
		*out = NULL;
		free(p);
		return r;
	}
	return 0;
}

void dcplane_free(struct dcplane *p)
{
	if (!p)
		return;
	sctpdc_free(p->sctp);
	dtls_conn_free(p->dtls);
	free(p);
}

void dcplane_input(struct dcplane *p, const uint8_t *buf, size_t len)
{
	int r;
	if (p->failed)
		return;
	r = dtls_conn_input(p->dtls, buf, len);
	if (r < 0) {
		fail(p, dtls_conn_error(p->dtls));
		return;
	}
	check_sctp(p);
}

int dcplane_send(struct dcplane *p, const uint8_t *buf, size_t len)
{
	int r;
	if (p->failed || !p->sctp)
		return -ENOTCONN;
	r = sctpdc_send(p->sctp, DCEP_PPID_BINARY, buf, len);
	check_sctp(p);
	return r;
}

long dcplane_timeout_ms(struct dcplane *p)
{
	if (p->failed)
		return -1;
	if (p->sctp) {
		uint64_t now = agent_clock_ms();
		return p->next_tick_ms > now ? (long)(p->next_tick_ms - now) : 0;
	}
	return dtls_conn_timeout_ms(p->dtls);
}

void dcplane_tick(struct dcplane *p)
{
	if (p->failed)
		return;
	if (!dtls_conn_established(p->dtls)) {
		long t = dtls_conn_timeout_ms(p->dtls);
		if (t == 0 && dtls_conn_tick(p->dtls) < 0)
			fail(p, dtls_conn_error(p->dtls));
		return;
	}
	if (p->sctp) {
		p->next_tick_ms = agent_clock_ms() + SCTPDC_TICK_MS;
		sctpdc_tick(p->sctp);
		check_sctp(p);
	}
}

void dcplane_close(struct dcplane *p)
{
	if (p && p->dtls)
		dtls_conn_close(p->dtls);
}

bool dcplane_open(const struct dcplane *p)
{
	return p->opened && !p->failed;
}

const struct dcplane_times *dcplane_times(const struct dcplane *p)
{
	return &p->times;
}

const char *dcplane_cipher(const struct dcplane *p)
{
	return dtls_conn_cipher(p->dtls);
}

#endif /* NATLAB_HAVE_USRSCTP */

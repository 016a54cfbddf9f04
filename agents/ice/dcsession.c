/* dcsession.c - session parameters and the datachannel plane's life
 * (see dcsession.h). */
#include "agents/ice/dcsession.h"

#ifdef NATLAB_HAVE_USRSCTP

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents/ice/sctpdc.h"

/* RFC 8841: a peer that gives no a=max-message-size takes 64 KiB */
#define PEER_MAX_DEFAULT 65536

struct dcsession {
	struct dcplane_cb cb;
	struct dtls_cert *cert;
	enum dtls_setup ours;
	/* the peer's session; until one comes: no fingerprint to check
	 * (length 0), no setup, the default port and message size */
	uint8_t peer_fp[DTLS_DIGEST_MAX];
	size_t peer_fp_len;
	enum dtls_setup peer_setup;
	uint16_t peer_port;
	size_t peer_max;
	bool client;
	struct dcplane *plane;
	uint8_t *early[DCSESSION_EARLY_MAX];
	size_t early_len[DCSESSION_EARLY_MAX];
	unsigned nearly;
};

int dcsession_new(bool ice_controlling, const struct dcplane_cb *cb, struct dcsession **out,
		  char *err, size_t errlen)
{
	struct dcsession *s = calloc(1, sizeof(*s));
	int r;
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = dtls_cert_new(&s->cert, err, errlen);
	if (r < 0) {
		free(s);
		return r;
	}
	s->cb = *cb;
	s->ours = dtls_setup_offer(ice_controlling);
	s->peer_setup = DTLS_SETUP_NONE;
	s->peer_port = SCTPDC_PORT;
	s->peer_max = PEER_MAX_DEFAULT;
	sctpdc_init();
	*out = s;
	return 0;
}

void dcsession_free(struct dcsession *s)
{
	if (!s)
		return;
	dcplane_free(s->plane);
	for (unsigned i = 0; i < s->nearly; i++)
		free(s->early[i]);
	dtls_cert_free(s->cert);
	free(s);
}

void dcsession_local(const struct dcsession *s, struct agentproto_session *o)
{
	memset(o, 0, sizeof(*o));
	o->present = true;
	snprintf(o->fingerprint, sizeof(o->fingerprint), "%s", dtls_cert_fingerprint(s->cert));
	snprintf(o->setup, sizeof(o->setup), "%s", dtls_setup_name(s->ours));
	o->sctp_port = SCTPDC_PORT;
	o->has_max_message_size = true;
	o->max_message_size = SCTPDC_MAX_MESSAGE_SIZE;
}

int dcsession_remote(struct dcsession *s, const struct agentproto_session *p, char *err,
		     size_t errlen)
{
	uint8_t fp[DTLS_DIGEST_MAX];
	size_t fplen = 0;
	enum dtls_setup setup = DTLS_SETUP_NONE;
	int r;

	if (!p->present)
		return -ENOENT;
	if (s->plane)
		return 0;
	if (p->fingerprint[0]) {
		r = dtls_fingerprint_parse(p->fingerprint, fp, &fplen);
		if (r < 0) {
			snprintf(
			    err, errlen,
			    r == -ENOTSUP
				? "session.fingerprint \"%.60s\": natlab-ice checks sha-256 "
				  "fingerprints only (RFC 8122 \"sha-256 AB:CD:...\")"
				: "session.fingerprint \"%.60s\" is not an RFC 8122 fingerprint "
				  "(\"sha-256 \" and 32 hex bytes separated by colons)",
			    p->fingerprint);
			return -EINVAL;
		}
	}
	if (p->setup[0]) {
		setup = dtls_setup_parse(p->setup);
		if (setup == DTLS_SETUP_NONE) {
			snprintf(err, errlen,
				 "session.setup \"%s\": want actpass, active or passive (RFC 8842)",
				 p->setup);
			return -EINVAL;
		}
	}
	memcpy(s->peer_fp, fp, fplen);
	s->peer_fp_len = fplen;
	s->peer_setup = setup;
	s->peer_port = p->sctp_port ? (uint16_t)p->sctp_port : SCTPDC_PORT;
	/* 0 means any size */
	s->peer_max = !p->has_max_message_size	 ? PEER_MAX_DEFAULT
		      : p->max_message_size == 0 ? SIZE_MAX
						 : p->max_message_size;
	return 0;
}

int dcsession_start(struct dcsession *s, bool ice_controlling, char *err, size_t errlen)
{
	struct dcplane_config cfg;
	int r;

	if (s->plane)
		return 0;
	s->client = dtls_setup_is_client(s->ours, s->peer_setup, ice_controlling);
	memset(&cfg, 0, sizeof(cfg));
	cfg.dtls_client = s->client;
	cfg.peer_fp = s->peer_fp;
	cfg.peer_fp_len = s->peer_fp_len;
	cfg.local_port = SCTPDC_PORT;
	cfg.remote_port = s->peer_port;
	cfg.peer_max_message = s->peer_max;
	r = dcplane_new(s->cert, &cfg, &s->cb, &s->plane, err, errlen);
	if (r < 0)
		return r;
	/* what the peer's client sent before we knew the pair */
	for (unsigned i = 0; i < s->nearly; i++) {
		if (s->plane)
			dcplane_input(s->plane, s->early[i], s->early_len[i]);
		free(s->early[i]);
	}
	s->nearly = 0;
	return 0;
}

bool dcsession_started(const struct dcsession *s)
{
	return s->plane != NULL;
}

bool dcsession_client(const struct dcsession *s)
{
	return s->client;
}

void dcsession_input(struct dcsession *s, const uint8_t *buf, size_t len)
{
	if (s->plane) {
		dcplane_input(s->plane, buf, len);
		return;
	}
	if (s->nearly == DCSESSION_EARLY_MAX || !(s->early[s->nearly] = malloc(len)))
		return; /* as if lost: the peer retransmits */
	memcpy(s->early[s->nearly], buf, len);
	s->early_len[s->nearly++] = len;
}

int dcsession_send(struct dcsession *s, const uint8_t *buf, size_t len)
{
	return s->plane ? dcplane_send(s->plane, buf, len) : -ENOTCONN;
}

bool dcsession_open(const struct dcsession *s)
{
	return s->plane && dcplane_open(s->plane);
}

long dcsession_timeout_ms(struct dcsession *s)
{
	return s->plane ? dcplane_timeout_ms(s->plane) : -1;
}

void dcsession_tick(struct dcsession *s)
{
	if (s->plane)
		dcplane_tick(s->plane);
}

void dcsession_close(struct dcsession *s)
{
	if (s && s->plane)
		dcplane_close(s->plane);
}

const struct dcplane *dcsession_plane(const struct dcsession *s)
{
	return s->plane;
}

#endif /* NATLAB_HAVE_USRSCTP */

/* sctpdc.c - SCTP (libusrsctp, "conn" mode) and WebRTC data channels
 * (see sctpdc.h). */
#include "agents/ice/sctpdc.h"

#ifdef NATLAB_HAVE_USRSCTP

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <usrsctp.h>

#include "agents/common/clock.h"
#include "agents/ice/dcep.h"

/* RFC 8831 §6.2: as many streams as the peer allows; 1024 each way is
 * what the browsers negotiate and far more than one channel needs */
#define STREAMS_MAX 1024
/* live endpoints, so a late packet usrsctp emits for a freed one is
 * dropped instead of reaching freed memory */
#define LIVE_MAX 16

struct sctpdc {
	struct sctpdc_config cfg;
	char label[SCTPDC_LABEL_MAX + 1];
	struct sctpdc_cb cb;
	struct socket *sock;
	bool up, failed;
	const char *why;
	/* channels: open ones by stream id; ours sent OPEN and waits for ACK */
	uint8_t open_sids[STREAMS_MAX / 8];
	bool ours_pending;
	int send_sid; /* -1: no channel open yet */
	uint8_t send_type;
	uint32_t send_reliability;
	size_t peer_max_message;
	/* reassembly of a message delivered in pieces */
	uint8_t *rbuf;
	size_t rlen;
	bool rskip;
};

static struct sctpdc *live[LIVE_MAX];
static unsigned users;
static uint64_t last_tick_ms;

static bool is_live(const struct sctpdc *s)
{
	for (unsigned i = 0; i < LIVE_MAX; i++)
		if (live[i] == s)
			return true;
	return false;
}

static void logf_(struct sctpdc *s, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(struct sctpdc *s, const char *level, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	if (!s->cb.log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s->cb.log(s->cb.ctx, level, buf);
}

/* usrsctp's output for AF_CONN: @addr is the sconn_addr we bound to */
static int conn_output(void *addr, void *buf, size_t len, uint8_t tos, uint8_t set_df)
{
	struct sctpdc *s = addr;
	(void)tos;
	(void)set_df;
	if (is_live(s) && s->cb.out)
		s->cb.out(s->cb.ctx, buf, len);
	return 0;
}

static bool stack_ready;

void sctpdc_init(void)
{
	if (stack_ready)
		return;
	stack_ready = true;
	/* no UDP encapsulation port, no threads: we drive the timers */
	usrsctp_init_nothreads(0, conn_output, NULL);
	/* RFC 8831 §6.1: partial reliability (RFC 3758) and stream reset
	 * (RFC 6525) are required; ECN has no meaning inside DTLS */
	usrsctp_sysctl_set_sctp_pr_enable(1);
	usrsctp_sysctl_set_sctp_reconfig_enable(1);
	usrsctp_sysctl_set_sctp_ecn_enable(0);
	/* RFC 4960's 3 s initial RTO is for the Internet of 2000; a lost
	 * INIT here should cost 1 s, as in the browsers' stacks */
	usrsctp_sysctl_set_sctp_rto_initial_default(1000);
	usrsctp_sysctl_set_sctp_init_rto_max_default(4000);
	last_tick_ms = agent_clock_ms();
}

static void stack_init(void)
{
	users++;
	sctpdc_init();
}

static void stack_release(void)
{
	/* usrsctp_finish() refuses while closed associations still wait in
	 * their timers; the stack stays until the process exits */
	if (users > 0)
		users--;
}

static int send_raw(struct sctpdc *s, unsigned sid, uint32_t ppid, bool ordered, uint16_t pr_policy,
		    uint32_t pr_value, const void *buf, size_t len)
{
	struct sctp_sendv_spa spa;
	memset(&spa, 0, sizeof(spa));
	spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
	spa.sendv_sndinfo.snd_sid = (uint16_t)sid;
	spa.sendv_sndinfo.snd_flags = SCTP_EOR | (ordered ? 0 : SCTP_UNORDERED);
	spa.sendv_sndinfo.snd_ppid = htonl(ppid);
	if (pr_policy != SCTP_PR_SCTP_NONE) {
		spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
		spa.sendv_prinfo.pr_policy = pr_policy;
		spa.sendv_prinfo.pr_value = pr_value;
	}
	if (usrsctp_sendv(s->sock, buf, len, NULL, 0, &spa, sizeof(spa), SCTP_SENDV_SPA, 0) < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return 0;
}

static void mark_open(struct sctpdc *s, unsigned sid, uint8_t type, uint32_t rel, const char *label)
{
	s->open_sids[sid / 8] |= (uint8_t)(1u << (sid % 8));
	if (s->send_sid < 0) {
		s->send_sid = (int)sid;
		s->send_type = type;
		s->send_reliability = rel;
	}
	if (s->cb.open)
		s->cb.open(s->cb.ctx, sid, label, type);
}

static bool sid_open(const struct sctpdc *s, unsigned sid)
{
	return sid < STREAMS_MAX && (s->open_sids[sid / 8] & (1u << (sid % 8)));
}

/* RFC 8832 §6: the DTLS client opens its channels on even streams, the
 * server on odd ones */
static unsigned our_sid(const struct sctpdc *s)
{
	return s->cfg.dtls_client ? 0 : 1;
}

static void open_ours(struct sctpdc *s)
{
	uint8_t buf[DCEP_OPEN_HEADER_LEN + SCTPDC_LABEL_MAX];
	struct dcep_msg m = {
	    .channel_type = s->cfg.channel_type,
	    .priority = 256, /* RFC 8831 §6.4 "normal" */
	    .reliability = s->cfg.reliability,
	    .label = (const uint8_t *)s->label,
	    .label_len = (uint16_t)strlen(s->label),
	};
	int n = dcep_open_encode(&m, buf, sizeof(buf));
	int r;
	if (n < 0)
		return;
	/* §6: DATA_CHANNEL_OPEN goes reliable and ordered */
	r = send_raw(s, our_sid(s), DCEP_PPID, true, SCTP_PR_SCTP_NONE, 0, buf, (size_t)n);
	if (r < 0) {
		logf_(s, "warning", "DATA_CHANNEL_OPEN not sent: %s", strerror(-r));
		return;
	}
	s->ours_pending = true;
	logf_(s, "info", "DATA_CHANNEL_OPEN sent: stream %u, label \"%s\", %s, reliability %u",
	      our_sid(s), s->label, dcep_channel_type_name(m.channel_type), m.reliability);
}

static void on_dcep(struct sctpdc *s, unsigned sid, const uint8_t *buf, size_t len)
{
	struct dcep_msg m;
	int r = dcep_decode(buf, len, &m);
	char label[SCTPDC_LABEL_MAX + 1];
	uint8_t ack;

	if (r < 0) {
		logf_(s, "warning", "DCEP message on stream %u not understood (%s)", sid,
		      r == -EPROTO ? "unknown type" : "truncated");
		return;
	}
	if (m.type == DCEP_MSG_ACK) {
		/* §6: the ACK of our OPEN, on the stream we opened */
		if (sid == our_sid(s) && s->ours_pending && !sid_open(s, sid)) {
			s->ours_pending = false;
			mark_open(s, sid, s->cfg.channel_type, s->cfg.reliability, s->label);
		}
		return;
	}
	if (sid >= STREAMS_MAX) {
		logf_(s, "warning", "DATA_CHANNEL_OPEN on stream %u beyond %d streams", sid,
		      STREAMS_MAX);
		return;
	}
	/* §6: the receiver answers an OPEN with an ACK on the same stream */
	dcep_ack_encode(&ack);
	r = send_raw(s, sid, DCEP_PPID, true, SCTP_PR_SCTP_NONE, 0, &ack, 1);
	if (r < 0)
		logf_(s, "warning", "DATA_CHANNEL_ACK not sent: %s", strerror(-r));
	if (sid_open(s, sid))
		return; /* a retransmitted OPEN */
	snprintf(label, sizeof(label), "%.*s", (int)m.label_len, (const char *)m.label);
	logf_(s, "info", "the peer opened stream %u: label \"%s\", %s, reliability %u", sid, label,
	      dcep_channel_type_name(m.channel_type), m.reliability);
	mark_open(s, sid, m.channel_type, m.reliability, label);
}

static void on_message(struct sctpdc *s, const struct sctp_rcvinfo *ri, const uint8_t *buf,
		       size_t len)
{
	unsigned sid = ri->rcv_sid;
	uint32_t ppid = ntohl(ri->rcv_ppid);

	if (ppid == DCEP_PPID) {
		on_dcep(s, sid, buf, len);
		return;
	}
	if (!sid_open(s, sid)) {
		logf_(s, "warning", "a message on stream %u, which no DCEP opened: dropped", sid);
		return;
	}
	switch (ppid) {
	case DCEP_PPID_STRING_EMPTY:
	case DCEP_PPID_BINARY_EMPTY:
		/* RFC 8831 §6.6: an empty message travels as one byte */
		len = 0;
		/* fall through */
	case DCEP_PPID_STRING:
	case DCEP_PPID_BINARY:
		if (s->cb.message)
			s->cb.message(s->cb.ctx, sid, ppid, buf, len);
		break;
	default:
		logf_(s, "warning", "a message with PPID %u on stream %u: dropped", ppid, sid);
	}
}

static void on_notification(struct sctpdc *s, const union sctp_notification *n, size_t len)
{
	if (len < sizeof(n->sn_header))
		return;
	if (n->sn_header.sn_type == SCTP_ASSOC_CHANGE && len >= sizeof(n->sn_assoc_change)) {
		switch (n->sn_assoc_change.sac_state) {
		case SCTP_COMM_UP:
			if (s->up)
				break;
			s->up = true;
			logf_(s, "info", "SCTP association up (%u out / %u in streams)",
			      n->sn_assoc_change.sac_outbound_streams,
			      n->sn_assoc_change.sac_inbound_streams);
			if (s->cfg.open)
				open_ours(s);
			break;
		case SCTP_COMM_LOST:
		case SCTP_CANT_STR_ASSOC:
		case SCTP_SHUTDOWN_COMP:
			s->up = false;
			s->failed = true;
			s->why = n->sn_assoc_change.sac_state == SCTP_COMM_LOST ? "association lost"
				 : n->sn_assoc_change.sac_state == SCTP_SHUTDOWN_COMP
				     ? "association shut down"
				     : "association could not start";
			logf_(s, "warning", "SCTP %s", s->why);
			break;
		default:
			break;
		}
	} else if (n->sn_header.sn_type == SCTP_STREAM_RESET_EVENT) {
		/* RFC 8831 §6.7: a stream reset closes a channel */
		const struct sctp_stream_reset_event *e = &n->sn_strreset_event;
		size_t k = (len - sizeof(*e)) / sizeof(e->strreset_stream_list[0]);
		if (e->strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN)
			for (size_t i = 0; i < k; i++) {
				unsigned sid = e->strreset_stream_list[i];
				if (sid_open(s, sid)) {
					s->open_sids[sid / 8] &= (uint8_t) ~(1u << (sid % 8));
					logf_(s, "info", "the peer closed stream %u", sid);
					if ((int)sid == s->send_sid)
						s->send_sid = -1;
				}
			}
	}
}

static void drain(struct sctpdc *s)
{
	for (int guard = 0; guard < 4096 && s->sock; guard++) {
		struct sctp_rcvinfo ri;
		union sctp_sockstore from;
		socklen_t fromlen = sizeof(from), infolen = sizeof(ri);
		unsigned infotype = 0;
		int flags = 0;
		ssize_t n;

		memset(&ri, 0, sizeof(ri));
		n = usrsctp_recvv(s->sock, s->rbuf + s->rlen, SCTPDC_MAX_MESSAGE_SIZE - s->rlen,
				  &from.sa, &fromlen, &ri, &infolen, &infotype, &flags);
		if (n < 0)
			return; /* EWOULDBLOCK: nothing more */
		if (n == 0 && !(flags & MSG_NOTIFICATION)) {
			if (!s->failed) {
				s->failed = true;
				s->why = "association closed";
			}
			return;
		}
		if (flags & MSG_NOTIFICATION) {
			on_notification(s, (const union sctp_notification *)(s->rbuf + s->rlen),
					(size_t)n);
			continue;
		}
		s->rlen += (size_t)n;
		if (!(flags & MSG_EOR)) {
			if (s->rlen == SCTPDC_MAX_MESSAGE_SIZE) {
				/* RFC 8841 §6: above our max-message-size */
				logf_(s, "warning", "a message longer than %d bytes: dropped",
				      SCTPDC_MAX_MESSAGE_SIZE);
				s->rskip = true;
				s->rlen = 0;
			}
			continue;
		}
		if (!s->rskip && infotype == SCTP_RECVV_RCVINFO)
			on_message(s, &ri, s->rbuf, s->rlen);
		s->rskip = false;
		s->rlen = 0;
	}
}

static int sockopt(struct sctpdc *s, int level, int name, const void *v, socklen_t len,
		   const char *what, char *err, size_t errlen)
{
	if (usrsctp_setsockopt(s->sock, level, name, v, len) == 0)
		return 0;
	snprintf(err, errlen, "SCTP socket option %s: %s", what, strerror(errno));
	return -errno;
}

void sctpdc_free(struct sctpdc *s)
{
	if (!s)
		return;
	if (s->sock)
		usrsctp_close(s->sock); /* SO_LINGER 0: ABORT, nothing lingers */
	for (unsigned i = 0; i < LIVE_MAX; i++)
		if (live[i] == s)
			live[i] = NULL;
	usrsctp_deregister_address(s);
	stack_release();
	free(s->rbuf);
	free(s);
}

int sctpdc_new(const struct sctpdc_config *cfg, const struct sctpdc_cb *cb, struct sctpdc **out,
	       char *err, size_t errlen)
{
	static const uint16_t events[] = {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT};
	struct sctpdc *s = calloc(1, sizeof(*s));
	struct sockaddr_conn sc;
	struct linger lg = {1, 0};
	struct sctp_assoc_value av;
	struct sctp_initmsg im;
	struct sctp_paddrparams pp;
	int on = 1, r = -ENOMEM;
	unsigned slot;

	if (!s || !(s->rbuf = malloc(SCTPDC_MAX_MESSAGE_SIZE))) {
		snprintf(err, errlen, "out of memory");
		free(s);
		return -ENOMEM;
	}
	for (slot = 0; slot < LIVE_MAX && live[slot]; slot++)
		;
	if (slot == LIVE_MAX || strlen(cfg->label) > SCTPDC_LABEL_MAX) {
		snprintf(err, errlen,
			 slot == LIVE_MAX ? "more than %d SCTP endpoints"
					  : "label longer than %d bytes",
			 slot == LIVE_MAX ? LIVE_MAX : SCTPDC_LABEL_MAX);
		free(s->rbuf);
		free(s);
		return -EINVAL;
	}
	s->cfg = *cfg;
	snprintf(s->label, sizeof(s->label), "%s", cfg->label);
	s->cfg.label = s->label;
	s->cb = *cb;
	s->send_sid = -1;
	s->peer_max_message = 65536;
	stack_init();
	live[slot] = s;
	usrsctp_register_address(s);
	s->sock = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
	if (!s->sock) {
		r = -errno;
		snprintf(err, errlen, "usrsctp_socket: %s", strerror(errno));
		goto fail;
	}
	if (usrsctp_set_non_blocking(s->sock, 1) < 0) {
		r = -errno;
		snprintf(err, errlen, "usrsctp_set_non_blocking: %s", strerror(errno));
		goto fail;
	}
	memset(&av, 0, sizeof(av));
	av.assoc_id = SCTP_FUTURE_ASSOC;
	av.assoc_value = SCTP_ENABLE_RESET_STREAM_REQ;
	memset(&im, 0, sizeof(im));
	im.sinit_num_ostreams = STREAMS_MAX;
	im.sinit_max_instreams = STREAMS_MAX;
	if ((r = sockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg), "SO_LINGER", err, errlen)) <
		0 ||
	    (r = sockopt(s, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof(on), "SCTP_RECVRCVINFO",
			 err, errlen)) < 0 ||
	    (r = sockopt(s, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof(on), "SCTP_NODELAY", err,
			 errlen)) < 0 ||
	    (r = sockopt(s, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &av, sizeof(av),
			 "SCTP_ENABLE_STREAM_RESET", err, errlen)) < 0 ||
	    (r = sockopt(s, IPPROTO_SCTP, SCTP_INITMSG, &im, sizeof(im), "SCTP_INITMSG", err,
			 errlen)) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		struct sctp_event ev = {SCTP_FUTURE_ASSOC, events[i], 1};
		if ((r = sockopt(s, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof(ev), "SCTP_EVENT", err,
				 errlen)) < 0)
			goto fail;
	}
	/* no path MTU discovery through DTLS here: a fixed safe size (RFC
	 * 8261 §5: RECOMMENDED not above 1200 bytes; RFC 8831 §5: the
	 * initial path MTU SHOULD NOT exceed 1200 bytes for IPv4, 1280 for
	 * IPv6), below 1200 to leave room for DTLS, UDP and TURN headers */
	memset(&pp, 0, sizeof(pp));
	pp.spp_assoc_id = SCTP_FUTURE_ASSOC;
	pp.spp_flags = SPP_PMTUD_DISABLE;
	pp.spp_pathmtu = SCTPDC_MTU;
	if ((r = sockopt(s, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof(pp),
			 "SCTP_PEER_ADDR_PARAMS", err, errlen)) < 0)
		goto fail;
	memset(&sc, 0, sizeof(sc));
	sc.sconn_family = AF_CONN;
	sc.sconn_port = htons(cfg->local_port);
	sc.sconn_addr = s;
	if (usrsctp_bind(s->sock, (struct sockaddr *)&sc, sizeof(sc)) < 0) {
		r = -errno;
		snprintf(err, errlen, "SCTP bind to port %u: %s", cfg->local_port, strerror(errno));
		goto fail;
	}
	sc.sconn_port = htons(cfg->remote_port);
	if (usrsctp_connect(s->sock, (struct sockaddr *)&sc, sizeof(sc)) < 0 &&
	    errno != EINPROGRESS) {
		r = -errno;
		snprintf(err, errlen, "SCTP connect to port %u: %s", cfg->remote_port,
			 strerror(errno));
		goto fail;
	}
	*out = s;
	drain(s);
	return 0;
fail:
	sctpdc_free(s);
	return r;
}

void sctpdc_input(struct sctpdc *s, const uint8_t *buf, size_t len)
{
	usrsctp_conninput(s, buf, len, 0);
	drain(s);
}

int sctpdc_send(struct sctpdc *s, uint32_t ppid, const uint8_t *buf, size_t len)
{
	uint16_t policy = SCTP_PR_SCTP_NONE;
	uint8_t zero = 0;

	if (s->send_sid < 0 || !s->up)
		return -ENOTCONN;
	if (len > s->peer_max_message)
		return -EMSGSIZE;
	/* RFC 8831 §6.1: partial reliability by retransmissions or lifetime */
	switch (s->send_type & 0x7f) {
	case 0x01:
		policy = SCTP_PR_SCTP_RTX;
		break;
	case 0x02:
		policy = SCTP_PR_SCTP_TTL;
		break;
	}
	if (len == 0) {
		ppid = ppid == DCEP_PPID_STRING ? DCEP_PPID_STRING_EMPTY : DCEP_PPID_BINARY_EMPTY;
		buf = &zero;
		len = 1;
	}
	return send_raw(s, (unsigned)s->send_sid, ppid, !dcep_channel_unordered(s->send_type),
			policy, s->send_reliability, buf, len);
}

void sctpdc_set_peer_max_message_size(struct sctpdc *s, size_t max)
{
	s->peer_max_message = max ? max : 65536;
}

void sctpdc_tick(struct sctpdc *s)
{
	uint64_t now = agent_clock_ms();
	if (now > last_tick_ms) {
		usrsctp_handle_timers((uint32_t)(now - last_tick_ms));
		last_tick_ms = now;
	}
	if (s)
		drain(s);
}

bool sctpdc_up(const struct sctpdc *s)
{
	return s->up;
}

bool sctpdc_open(const struct sctpdc *s)
{
	return s->up && s->send_sid >= 0;
}

bool sctpdc_failed(const struct sctpdc *s, const char **why)
{
	if (s->failed && why)
		*why = s->why;
	return s->failed;
}

#endif /* NATLAB_HAVE_USRSCTP */

/* ice_datachannel.c - the pieces of natlab-ice's datachannel data plane:
 * the DCEP codec against RFC 8832's layouts, RFC 8122 fingerprints, the
 * RFC 8842 setup roles, a DTLS handshake between two connections in memory
 * (matching and mismatching fingerprints), the agent protocol's session
 * object, and (with libusrsctp) a whole data channel between two planes in
 * memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include "agents/ice/agentproto.h"
#include "agents/ice/dcep.h"
#include "agents/ice/dtls.h"
#ifdef NATLAB_HAVE_USRSCTP
#include "agents/ice/dcplane.h"
#include "agents/ice/sctpdc.h"
#endif

/* ---- DCEP (RFC 8832) --------------------------------------------------------- */

static void test_dcep_decode_open(void **st)
{
	/* RFC 8832 §5.1, field by field: an unordered channel with no
	 * retransmissions, label "natlab", protocol "x" */
	static const uint8_t open[] = {
	    0x03,			      /* Message Type: DATA_CHANNEL_OPEN */
	    0x81,			      /* Channel Type: PARTIAL_RELIABLE_REXMIT_UNORDERED */
	    0x01, 0x00,			      /* Priority 256 (RFC 8831 §6.4 normal) */
	    0x00, 0x00, 0x00, 0x00,	      /* Reliability Parameter: 0 retransmissions */
	    0x00, 0x06,			      /* Label Length 6 */
	    0x00, 0x01,			      /* Protocol Length 1 */
	    'n',  'a',	't',  'l',  'a', 'b', /* Label */
	    'x',			      /* Protocol */
	};
	struct dcep_msg m;
	(void)st;
	assert_int_equal(dcep_decode(open, sizeof(open), &m), 0);
	assert_int_equal(m.type, DCEP_MSG_OPEN);
	assert_int_equal(m.channel_type, DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT_UNORDERED);
	assert_true(dcep_channel_unordered(m.channel_type));
	assert_int_equal(m.priority, 256);
	assert_int_equal(m.reliability, 0);
	assert_int_equal(m.label_len, 6);
	assert_memory_equal(m.label, "natlab", 6);
	assert_int_equal(m.protocol_len, 1);
	assert_int_equal(m.protocol[0], 'x');
	/* every prefix is truncated */
	for (size_t n = 0; n < sizeof(open); n++)
		assert_int_equal(dcep_decode(open, n, &m), -EBADMSG);
	/* a label length past the end */
	{
		uint8_t bad[sizeof(open)];
		memcpy(bad, open, sizeof(open));
		bad[9] = 7;
		assert_int_equal(dcep_decode(bad, sizeof(bad), &m), -EBADMSG);
		bad[9] = 6;
		bad[1] = 0x03; /* no such channel type */
		assert_int_equal(dcep_decode(bad, sizeof(bad), &m), -EPROTO);
	}
}

static void test_dcep_ack_and_others(void **st)
{
	uint8_t b[1];
	struct dcep_msg m;
	(void)st;
	assert_int_equal(dcep_ack_encode(b), 1);
	assert_int_equal(b[0], 0x02); /* RFC 8832 §5.2 */
	assert_int_equal(dcep_decode(b, 1, &m), 0);
	assert_int_equal(m.type, DCEP_MSG_ACK);
	b[0] = 0x01;
	assert_int_equal(dcep_decode(b, 1, &m), -EPROTO);
	assert_int_equal(dcep_decode(b, 0, &m), -EBADMSG);
	assert_false(dcep_channel_unordered(DCEP_CHANNEL_RELIABLE));
	assert_true(dcep_channel_unordered(DCEP_CHANNEL_RELIABLE_UNORDERED));
	assert_string_equal(dcep_channel_type_name(DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED),
			    "partial-reliable-timed");
	assert_null(dcep_channel_type_name(0x42));
}

static void test_dcep_encode(void **st)
{
	static const uint8_t want[] = {0x03, 0x82, 0x00, 0x80, 0x00, 0x00, 0x01,
				       0xf4, 0x00, 0x02, 0x00, 0x00, 'd',  'c'};
	struct dcep_msg m = {.channel_type = DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED_UNORDERED,
			     .priority = 128,
			     .reliability = 500, /* ms */
			     .label = (const uint8_t *)"dc",
			     .label_len = 2};
	uint8_t buf[32];
	struct dcep_msg back;
	(void)st;
	assert_int_equal(dcep_open_encode(&m, buf, sizeof(buf)), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(dcep_open_encode(&m, buf, sizeof(want) - 1), -ENOSPC);
	assert_int_equal(dcep_decode(buf, sizeof(want), &back), 0);
	assert_int_equal(back.reliability, 500);
	assert_int_equal(back.priority, 128);
	assert_int_equal(back.protocol_len, 0);
	m.channel_type = 0x7f;
	assert_int_equal(dcep_open_encode(&m, buf, sizeof(buf)), -EINVAL);
}

/* ---- fingerprints (RFC 8122) and setup (RFC 8842) -------------------------- */

static void test_fingerprint(void **st)
{
	uint8_t d[32], back[DTLS_DIGEST_MAX];
	char s[DTLS_FINGERPRINT_STR_MAX];
	size_t n = 0;
	(void)st;
	for (unsigned i = 0; i < 32; i++)
		d[i] = (uint8_t)(i * 17 + 10);
	assert_int_equal(dtls_fingerprint_format("sha-256", d, 32, s, sizeof(s)), 7 + 1 + 95);
	/* RFC 8122 §5: hash-func SP 2UHEX *(":" 2UHEX), upper-case hex */
	assert_string_equal(s, "sha-256 0A:1B:2C:3D:4E:5F:70:81:92:A3:B4:C5:D6:E7:F8:09:"
			       "1A:2B:3C:4D:5E:6F:80:91:A2:B3:C4:D5:E6:F7:08:19");
	assert_int_equal(dtls_fingerprint_format("sha-256", d, 32, s, 103), -ENOSPC);
	assert_int_equal(dtls_fingerprint_format("sha-256", d, 32, s, 104), 103);
	assert_int_equal(dtls_fingerprint_parse(s, back, &n), 0);
	assert_int_equal(n, 32);
	assert_memory_equal(back, d, 32);
	/* hash names are case-insensitive, and lower-case hex is read too */
	assert_int_equal(dtls_fingerprint_parse("SHA-256 0a:1b:2c:3d:4e:5f:70:81:92:a3:b4:c5:d6:e7:"
						"f8:09:1a:2b:3c:4d:5e:6f:80:91:a2:b3:c4:d5:e6:f7:"
						"08:19",
						back, &n),
			 0);
	assert_memory_equal(back, d, 32);
	assert_int_equal(dtls_fingerprint_parse("sha-1 0A:1B", back, &n), -ENOTSUP);
	assert_int_equal(dtls_fingerprint_parse("sha-256 0A:1B", back, &n), -EINVAL);
	assert_int_equal(dtls_fingerprint_parse("sha-256", back, &n), -EINVAL);
	assert_int_equal(dtls_fingerprint_parse("sha-256 0A1B", back, &n), -EINVAL);
	s[strlen(s) - 1] = 'G';
	assert_int_equal(dtls_fingerprint_parse(s, back, &n), -EINVAL);
	strcat(s, ":00"); /* 33 bytes */
	s[strlen(s) - 4] = '9';
	assert_int_equal(dtls_fingerprint_parse(s, back, &n), -EINVAL);
}

static void test_cert(void **st)
{
	struct dtls_cert *c = NULL, *c2 = NULL;
	char err[DTLS_ERR_MAX];
	uint8_t d[DTLS_DIGEST_MAX];
	size_t n;
	(void)st;
	assert_int_equal(dtls_cert_new(&c, err, sizeof(err)), 0);
	assert_int_equal(dtls_cert_new(&c2, err, sizeof(err)), 0);
	assert_int_equal(strlen(dtls_cert_fingerprint(c)), 103);
	assert_int_equal(dtls_fingerprint_parse(dtls_cert_fingerprint(c), d, &n), 0);
	assert_string_not_equal(dtls_cert_fingerprint(c), dtls_cert_fingerprint(c2));
	dtls_cert_free(c);
	dtls_cert_free(c2);
	dtls_cert_free(NULL);
}

static void test_setup(void **st)
{
	(void)st;
	assert_int_equal(dtls_setup_offer(true), DTLS_SETUP_ACTPASS);
	assert_int_equal(dtls_setup_offer(false), DTLS_SETUP_ACTIVE);
	assert_int_equal(dtls_setup_parse("passive"), DTLS_SETUP_PASSIVE);
	assert_int_equal(dtls_setup_parse("holdconn"), DTLS_SETUP_NONE);
	assert_string_equal(dtls_setup_name(DTLS_SETUP_ACTPASS), "actpass");
	/* offerer actpass (controlling) + answerer active: the answerer is
	 * the client, as in a browser's offer/answer */
	assert_false(dtls_setup_is_client(DTLS_SETUP_ACTPASS, DTLS_SETUP_ACTIVE, true));
	assert_true(dtls_setup_is_client(DTLS_SETUP_ACTIVE, DTLS_SETUP_ACTPASS, false));
	/* an answerer that picked passive */
	assert_true(dtls_setup_is_client(DTLS_SETUP_ACTPASS, DTLS_SETUP_PASSIVE, true));
	assert_false(dtls_setup_is_client(DTLS_SETUP_PASSIVE, DTLS_SETUP_ACTPASS, false));
	/* unsettled (both offered actpass after a role conflict, or no peer
	 * setup): the ICE controlled side is the client, and exactly one */
	for (int c = 0; c < 2; c++)
		for (int s = DTLS_SETUP_NONE; s <= DTLS_SETUP_PASSIVE; s++)
			if (s == DTLS_SETUP_NONE || s == DTLS_SETUP_ACTPASS)
				assert_int_equal(dtls_setup_is_client(DTLS_SETUP_ACTPASS, s, c),
						 !c);
	assert_true(dtls_setup_is_client(DTLS_SETUP_ACTIVE, DTLS_SETUP_ACTIVE, false));
	assert_false(dtls_setup_is_client(DTLS_SETUP_ACTIVE, DTLS_SETUP_ACTIVE, true));
}

/* ---- DTLS in memory ---------------------------------------------------------- */

#define QMAX 64
struct queue {
	uint8_t *pkt[QMAX];
	size_t len[QMAX];
	unsigned n;
	unsigned sent; /* all datagrams ever queued */
};

static void q_push(struct queue *q, const uint8_t *b, size_t len)
{
	q->sent++;
	if (q->n == QMAX)
		return;
	q->pkt[q->n] = malloc(len);
	assert_non_null(q->pkt[q->n]);
	memcpy(q->pkt[q->n], b, len);
	q->len[q->n++] = len;
}

/* pop the oldest into @b; 0 when empty */
static size_t q_pop(struct queue *q, uint8_t *b)
{
	size_t len;
	if (q->n == 0)
		return 0;
	len = q->len[0];
	memcpy(b, q->pkt[0], len);
	free(q->pkt[0]);
	memmove(q->pkt, q->pkt + 1, (q->n - 1) * sizeof(q->pkt[0]));
	memmove(q->len, q->len + 1, (q->n - 1) * sizeof(q->len[0]));
	q->n--;
	return len;
}

struct side {
	struct queue out;
	bool established;
	uint8_t got[256];
	size_t got_len;
	unsigned opened, messages;
};

static void s_send(void *ctx, const uint8_t *b, size_t len)
{
	q_push(&((struct side *)ctx)->out, b, len);
}

static void s_established(void *ctx)
{
	((struct side *)ctx)->established = true;
}

static void s_data(void *ctx, const uint8_t *b, size_t len)
{
	struct side *s = ctx;
	s->got_len = len < sizeof(s->got) ? len : sizeof(s->got);
	memcpy(s->got, b, s->got_len);
}

static void fp_of(const struct dtls_cert *c, uint8_t *d, size_t *n)
{
	assert_int_equal(dtls_fingerprint_parse(dtls_cert_fingerprint(c), d, n), 0);
}

/* Move datagrams both ways until both are quiet; returns the first
 * input error, or 0. */
static int pump(struct dtls_conn *a, struct side *sa, struct dtls_conn *b, struct side *sb)
{
	static uint8_t buf[20000];
	int err = 0;
	for (int round = 0; round < 100; round++) {
		size_t n;
		bool moved = false;
		while ((n = q_pop(&sa->out, buf)) > 0) {
			int r = dtls_conn_input(b, buf, n);
			if (r < 0 && !err)
				err = r;
			moved = true;
		}
		while ((n = q_pop(&sb->out, buf)) > 0) {
			int r = dtls_conn_input(a, buf, n);
			if (r < 0 && !err)
				err = r;
			moved = true;
		}
		if (!moved)
			break;
	}
	return err;
}

/* A DTLS client @a and server @b with certificates of their own, each
 * expecting the other's, unless @client_expects names another certificate
 * for the client to expect. The client's ClientHello is queued in sa.out. */
struct dtls_duo {
	struct dtls_cert *ca, *cb;
	struct side sa, sb;
	struct dtls_conn *a, *b;
};

static void duo_new(struct dtls_duo *d, const struct dtls_cert *client_expects)
{
	uint8_t fa[DTLS_DIGEST_MAX], fb[DTLS_DIGEST_MAX];
	size_t na, nb;
	char err[DTLS_ERR_MAX];
	memset(d, 0, sizeof(*d));
	assert_int_equal(dtls_cert_new(&d->ca, err, sizeof(err)), 0);
	assert_int_equal(dtls_cert_new(&d->cb, err, sizeof(err)), 0);
	fp_of(d->ca, fa, &na);
	fp_of(client_expects ? client_expects : d->cb, fb, &nb);
	struct dtls_conn_cb cba = {&d->sa, s_send, s_established, s_data};
	struct dtls_conn_cb cbb = {&d->sb, s_send, s_established, s_data};
	assert_int_equal(dtls_conn_new(d->ca, true, fb, nb, &cba, &d->a, err, sizeof(err)), 0);
	assert_int_equal(dtls_conn_new(d->cb, false, fa, na, &cbb, &d->b, err, sizeof(err)), 0);
}

static void duo_free(struct dtls_duo *d)
{
	dtls_conn_free(d->a);
	dtls_conn_free(d->b);
	dtls_cert_free(d->ca);
	dtls_cert_free(d->cb);
}

static void test_dtls_handshake(void **st)
{
	struct dtls_duo d;
	(void)st;
	duo_new(&d, NULL);
	/* the client's first flight went out at once (the server waits) */
	assert_int_equal(d.sa.out.n, 1);
	assert_int_equal(d.sa.out.pkt[0][0], 22); /* RFC 7983: DTLS, a handshake record */
	assert_int_equal(d.sb.out.n, 0);
	assert_int_equal(dtls_conn_write(d.a, (const uint8_t *)"x", 1), -ENOTCONN);
	assert_true(dtls_conn_timeout_ms(d.a) >= 0); /* the ClientHello's timer */
	assert_int_equal(pump(d.a, &d.sa, d.b, &d.sb), 0);
	assert_true(d.sa.established && d.sb.established);
	assert_true(dtls_conn_established(d.a));
	assert_string_not_equal(dtls_conn_cipher(d.a), "");
	/* DTLS-SRTP is negotiated as by any WebRTC endpoint (RFC 8827 §6.5):
	 * pion as a client requires the server's use_srtp */
	assert_string_equal(dtls_conn_srtp_profile(d.a), "SRTP_AEAD_AES_128_GCM");
	assert_string_equal(dtls_conn_srtp_profile(d.b), "SRTP_AEAD_AES_128_GCM");
	/* one write, one record, one datagram */
	assert_int_equal(dtls_conn_write(d.a, (const uint8_t *)"hello", 5), 0);
	assert_int_equal(d.sa.out.n, 1);
	assert_int_equal(d.sa.out.pkt[0][0], 23); /* application data (RFC 6347 §4.1) */
	assert_int_equal(pump(d.a, &d.sa, d.b, &d.sb), 0);
	assert_int_equal(d.sb.got_len, 5);
	assert_memory_equal(d.sb.got, "hello", 5);
	/* close_notify ends the peer's side */
	dtls_conn_close(d.b);
	assert_false(dtls_conn_established(d.b));
	assert_int_equal(pump(d.a, &d.sa, d.b, &d.sb), -ECONNRESET);
	duo_free(&d);
}

static void test_dtls_wrong_fingerprint(void **st)
{
	struct dtls_cert *other;
	struct dtls_duo d;
	char err[DTLS_ERR_MAX];
	(void)st;
	assert_int_equal(dtls_cert_new(&other, err, sizeof(err)), 0);
	/* the client expects another certificate than the server has */
	duo_new(&d, other);
	assert_int_equal(pump(d.a, &d.sa, d.b, &d.sb), -EPROTO);
	assert_false(d.sa.established);
	assert_non_null(strstr(dtls_conn_error(d.a), "does not match"));
	duo_free(&d);
	dtls_cert_free(other);
}

/* An error another connection of the process left on the thread's
 * OpenSSL queue (a dead TURN/TLS stream's "bad length") must not end a
 * healthy association: before the fix, SSL_get_error() took it for the
 * DTLS record's and natlab-ice gave up its data channel. A record that
 * is not valid is dropped silently (RFC 6347 §4.1.2.7). */
static void test_dtls_foreign_error_and_bad_record(void **st)
{
	static uint8_t rec[2048];
	struct dtls_duo d;
	size_t n;
	(void)st;
	duo_new(&d, NULL);
	assert_int_equal(pump(d.a, &d.sa, d.b, &d.sb), 0);
	assert_true(d.sa.established && d.sb.established);

	ERR_raise(ERR_LIB_SSL, SSL_R_BAD_LENGTH); /* as a dead TLS stream leaves it */
	assert_int_equal(dtls_conn_write(d.a, (const uint8_t *)"one", 3), 0);
	assert_int_equal(pump(d.a, &d.sa, d.b, &d.sb), 0);
	assert_int_equal(d.sb.got_len, 3);
	ERR_raise(ERR_LIB_SSL, SSL_R_BAD_LENGTH);
	assert_int_equal(dtls_conn_write(d.b, (const uint8_t *)"two!", 4), 0);
	ERR_raise(ERR_LIB_SSL, SSL_R_BAD_LENGTH);
	assert_int_equal(pump(d.a, &d.sa, d.b, &d.sb), 0);
	assert_int_equal(d.sa.got_len, 4);
	assert_true(dtls_conn_established(d.a) && dtls_conn_established(d.b));

	/* a record whose ciphertext was changed on the way: dropped, the
	 * association goes on */
	assert_int_equal(dtls_conn_write(d.a, (const uint8_t *)"three", 5), 0);
	n = q_pop(&d.sa.out, rec);
	assert_true(n > 13 + 8);
	rec[n - 1] ^= 0x5a;
	assert_int_equal(dtls_conn_input(d.b, rec, n), 0);
	assert_int_equal(d.sb.got_len, 3); /* still the first message */
	assert_int_equal(dtls_conn_write(d.a, (const uint8_t *)"four", 4), 0);
	assert_int_equal(pump(d.a, &d.sa, d.b, &d.sb), 0);
	assert_int_equal(d.sb.got_len, 4);
	assert_memory_equal(d.sb.got, "four", 4);
	assert_true(dtls_conn_established(d.b));
	duo_free(&d);
}

/* ---- the session object of the agent protocol --------------------------------- */

static void test_session_protocol(void **st)
{
	static struct agentproto_cmd c;
	char err[AGENTPROTO_ERR_MAX];
	struct agentproto_session s;
	struct agentproto_out o;
	char *text = NULL;
	size_t tlen = 0;
	const char *base =
	    "{\"cmd\":\"remote\",\"ufrag\":\"abcd\",\"pwd\":\"0123456789012345678901\","
	    "\"candidates\":[]";
	char line[512];
	(void)st;
	snprintf(line, sizeof(line), "%s}", base);
	assert_int_equal(agentproto_cmd_parse(line, strlen(line), &c, err, sizeof(err)), 0);
	assert_false(c.session.present); /* today's remote: no session */
	snprintf(line, sizeof(line),
		 "%s,\"session\":{\"fingerprint\":\"sha-256 AB:CD\",\"setup\":\"active\","
		 "\"sctp_port\":5001,\"max_message_size\":0,\"sdp\":\"v=0\"}}",
		 base);
	assert_int_equal(agentproto_cmd_parse(line, strlen(line), &c, err, sizeof(err)), 0);
	assert_true(c.session.present);
	assert_string_equal(c.session.fingerprint, "sha-256 AB:CD");
	assert_string_equal(c.session.setup, "active");
	assert_int_equal(c.session.sctp_port, 5001);
	assert_true(c.session.has_max_message_size);
	assert_int_equal(c.session.max_message_size, 0);
	snprintf(line, sizeof(line), "%s,\"session\":{\"sctp_port\":70000}}", base);
	assert_int_equal(agentproto_cmd_parse(line, strlen(line), &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "sctp_port"));
	snprintf(line, sizeof(line), "%s,\"session\":{\"fingerprint\":5}}", base);
	assert_int_equal(agentproto_cmd_parse(line, strlen(line), &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "session.fingerprint"));
	snprintf(line, sizeof(line), "%s,\"session\":[]}", base);
	assert_int_equal(agentproto_cmd_parse(line, strlen(line), &c, err, sizeof(err)), -EINVAL);
	snprintf(line, sizeof(line), "%s,\"session\":{\"max_message_size\":-1}}", base);
	assert_int_equal(agentproto_cmd_parse(line, strlen(line), &c, err, sizeof(err)), -EINVAL);

	/* the events: ready with dataplanes, local with a session */
	memset(&s, 0, sizeof(s));
	s.present = true;
	strcpy(s.fingerprint, "sha-256 AB:CD");
	strcpy(s.setup, "actpass");
	s.sctp_port = 5000;
	s.has_max_message_size = true;
	s.max_message_size = 262144;
	o.f = open_memstream(&text, &tlen);
	assert_non_null(o.f);
	{
		const char *planes[] = {"datagram", "datachannel"};
		agentproto_ev_ready_full(&o, 1, "x", "1", NULL, 0, planes, 2);
	}
	agentproto_ev_local_session(&o, 2, "abcd", "0123456789012345678901", NULL, 0, true, &s);
	agentproto_ev_local(&o, 3, "abcd", "0123456789012345678901", NULL, 0, true);
	fclose(o.f);
	assert_non_null(strstr(text, "\"dataplanes\":[\"datagram\",\"datachannel\"]"));
	assert_non_null(strstr(text, "\"session\":{\"fingerprint\":\"sha-256 AB:CD\","
				     "\"setup\":\"actpass\",\"sctp_port\":5000,"
				     "\"max_message_size\":262144}"));
	/* the plain local event (t_ms 3, the last line) has none */
	{
		char *last = strstr(text, "\"t_ms\":2}");
		assert_non_null(last);
		assert_null(strstr(last, "session"));
	}
	free(text);
}

#ifdef NATLAB_HAVE_USRSCTP
/* ---- a whole data channel in memory -------------------------------------------- */

struct pside {
	struct queue out;
	unsigned opened, messages;
	uint8_t last[64];
	size_t last_len;
	char failed[128];
};

static void p_send(void *ctx, const uint8_t *b, size_t len)
{
	q_push(&((struct pside *)ctx)->out, b, len);
}

static void p_open(void *ctx)
{
	((struct pside *)ctx)->opened++;
}

static void p_message(void *ctx, const uint8_t *b, size_t len)
{
	struct pside *s = ctx;
	s->messages++;
	s->last_len = len < sizeof(s->last) ? len : sizeof(s->last);
	memcpy(s->last, b, s->last_len);
}

static void p_failed(void *ctx, const char *why)
{
	snprintf(((struct pside *)ctx)->failed, sizeof(((struct pside *)ctx)->failed), "%s", why);
}

/* Move datagrams and run timers until @done says so or @ms passed (a
 * deadline, not a wait: a loaded host may take longer). */
static void ppump(struct dcplane *a, struct pside *sa, struct dcplane *b, struct pside *sb,
		  bool (*done)(const struct pside *, const struct pside *), unsigned ms)
{
	static uint8_t buf[20000];
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		size_t n;
		while ((n = q_pop(&sa->out, buf)) > 0)
			dcplane_input(b, buf, n);
		while ((n = q_pop(&sb->out, buf)) > 0)
			dcplane_input(a, buf, n);
		if (dcplane_timeout_ms(a) == 0)
			dcplane_tick(a);
		if (dcplane_timeout_ms(b) == 0)
			dcplane_tick(b);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (done(sa, sb) ||
		    (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >=
			ms)
			break;
		if (sa->out.n == 0 && sb->out.n == 0) {
			struct timespec ts = {0, 2000000};
			nanosleep(&ts, NULL);
		}
	}
}

/* ---- SCTP and DCEP without DTLS: who opens which stream ---------------------- */

struct sside {
	struct queue out;
	unsigned opens;
	unsigned open_sid[4];
	char open_label[4][16];
	uint8_t open_type[4];
	unsigned msgs, msg_sid;
	uint32_t msg_ppid;
};

static void ss_out(void *ctx, const uint8_t *b, size_t len)
{
	q_push(&((struct sside *)ctx)->out, b, len);
}

static void ss_open(void *ctx, unsigned sid, const char *label, uint8_t type)
{
	struct sside *s = ctx;
	if (s->opens < 4) {
		s->open_sid[s->opens] = sid;
		snprintf(s->open_label[s->opens], sizeof(s->open_label[0]), "%s", label);
		s->open_type[s->opens] = type;
	}
	s->opens++;
}

static void ss_message(void *ctx, unsigned sid, uint32_t ppid, const uint8_t *b, size_t len)
{
	struct sside *s = ctx;
	(void)b;
	(void)len;
	s->msgs++;
	s->msg_sid = sid;
	s->msg_ppid = ppid;
}

static void spump(struct sctpdc *a, struct sside *sa, struct sctpdc *b, struct sside *sb,
		  unsigned want_opens_a, unsigned want_opens_b, unsigned want_msgs)
{
	static uint8_t buf[20000];
	for (int i = 0; i < 1000; i++) { /* 10 s at most */
		size_t n;
		struct timespec ts = {0, 10000000};
		while ((n = q_pop(&sa->out, buf)) > 0)
			sctpdc_input(b, buf, n);
		while ((n = q_pop(&sb->out, buf)) > 0)
			sctpdc_input(a, buf, n);
		if (sa->opens >= want_opens_a && sb->opens >= want_opens_b &&
		    sa->msgs + sb->msgs >= want_msgs)
			return;
		nanosleep(&ts, NULL);
		sctpdc_tick(a);
		sctpdc_tick(b);
	}
}

/* Both ends open a channel (a browser that makes its own): the client's
 * on stream 0, the server's on stream 1 (RFC 8832 §6), each acknowledged
 * and usable; then the natlab-ice case, where only the client opens and
 * the server sends on the channel the peer opened. */
static void test_sctpdc_channels(void **st)
{
	for (int server_opens = 1; server_opens >= 0; server_opens--) {
		struct sside sa, sb;
		struct sctpdc *a = NULL, *b = NULL;
		struct sctpdc_config ca = {5000,     5000,
					   true,     true,
					   "natlab", DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT_UNORDERED,
					   0};
		struct sctpdc_config cb = {
		    5000, 5000, false, server_opens, "browser", DCEP_CHANNEL_RELIABLE, 0};
		struct sctpdc_cb cba = {&sa, ss_out, ss_open, ss_message, NULL};
		struct sctpdc_cb cbb = {&sb, ss_out, ss_open, ss_message, NULL};
		char err[256];
		unsigned want = server_opens ? 2 : 1;
		(void)st;
		memset(&sa, 0, sizeof(sa));
		memset(&sb, 0, sizeof(sb));
		assert_int_equal(sctpdc_new(&ca, &cba, &a, err, sizeof(err)), 0);
		assert_int_equal(sctpdc_new(&cb, &cbb, &b, err, sizeof(err)), 0);
		assert_int_equal(sctpdc_send(a, DCEP_PPID_BINARY, (const uint8_t *)"x", 1),
				 -ENOTCONN);
		spump(a, &sa, b, &sb, want, want, 0);
		assert_int_equal(sa.opens, want);
		assert_int_equal(sb.opens, want);
		for (unsigned i = 0; i < want; i++) {
			/* each side saw stream 0 "natlab" unordered, and stream 1
			 * "browser" reliable when the server opened one */
			struct sside *x = i == 0 ? &sa : &sb;
			for (unsigned k = 0; k < want; k++) {
				unsigned sid = x->open_sid[k];
				assert_true(sid <= 1);
				assert_string_equal(x->open_label[k],
						    sid == 0 ? "natlab" : "browser");
				assert_int_equal(
				    x->open_type[k],
				    sid == 0 ? DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT_UNORDERED
					     : DCEP_CHANNEL_RELIABLE);
			}
		}
		assert_true(sctpdc_open(a) && sctpdc_open(b));
		assert_int_equal(sctpdc_send(b, DCEP_PPID_STRING, (const uint8_t *)"hi", 2), 0);
		spump(a, &sa, b, &sb, 0, 0, 1);
		assert_int_equal(sa.msgs, 1);
		assert_int_equal(sa.msg_ppid, DCEP_PPID_STRING);
		/* without its own channel the server answers on the client's */
		if (!server_opens)
			assert_int_equal(sa.msg_sid, 0);
		/* empty messages travel as one byte with PPID 57 (RFC 8831 §6.6) */
		assert_int_equal(sctpdc_send(a, DCEP_PPID_BINARY, NULL, 0), 0);
		spump(a, &sa, b, &sb, 0, 0, 2);
		assert_int_equal(sb.msgs, 1);
		assert_int_equal(sb.msg_ppid, DCEP_PPID_BINARY_EMPTY);
		sctpdc_free(a);
		sctpdc_free(b);
		for (unsigned i = 0; i < sa.out.n; i++)
			free(sa.out.pkt[i]);
		for (unsigned i = 0; i < sb.out.n; i++)
			free(sb.out.pkt[i]);
	}
}

static bool both_open(const struct pside *a, const struct pside *b)
{
	return (a->opened && b->opened) || a->failed[0] || b->failed[0];
}

static bool both_got_one(const struct pside *a, const struct pside *b)
{
	return a->messages && b->messages;
}

static bool b_failed(const struct pside *a, const struct pside *b)
{
	(void)a;
	return b->failed[0] != '\0';
}

static void test_dcplane_pair(void **st)
{
	struct dtls_cert *ca, *cb;
	struct pside sa, sb;
	struct dcplane *a = NULL, *b = NULL;
	uint8_t fa[DTLS_DIGEST_MAX], fb[DTLS_DIGEST_MAX];
	size_t na, nb;
	char err[256];
	(void)st;
	memset(&sa, 0, sizeof(sa));
	memset(&sb, 0, sizeof(sb));
	/* as natlab-ice does at start: usrsctp's first initialisation can
	 * take a while on a loaded host */
	sctpdc_init();
	assert_int_equal(dtls_cert_new(&ca, err, sizeof(err)), 0);
	assert_int_equal(dtls_cert_new(&cb, err, sizeof(err)), 0);
	fp_of(ca, fa, &na);
	fp_of(cb, fb, &nb);
	struct dcplane_cb cba = {&sa, p_send, p_open, p_message, NULL, p_failed};
	struct dcplane_cb cbb = {&sb, p_send, p_open, p_message, NULL, p_failed};
	struct dcplane_config cfa = {true, fb, nb, 5000, 5000, 0};
	struct dcplane_config cfb = {false, fa, na, 5000, 5000, 0};
	assert_int_equal(dcplane_new(ca, &cfa, &cba, &a, err, sizeof(err)), 0);
	assert_int_equal(dcplane_new(cb, &cfb, &cbb, &b, err, sizeof(err)), 0);
	assert_int_equal(dcplane_send(a, (const uint8_t *)"early", 5), -ENOTCONN);
	ppump(a, &sa, b, &sb, both_open, 10000);
	assert_string_equal(sa.failed, "");
	assert_string_equal(sb.failed, "");
	assert_int_equal(sa.opened, 1);
	assert_int_equal(sb.opened, 1);
	assert_true(dcplane_times(a)->dtls_ms > 0 && dcplane_times(a)->open_ms > 0);
	assert_true(dcplane_times(b)->sctp_ms > 0);
	/* both ways; every datagram on the wire is a DTLS record (RFC 7983) */
	assert_int_equal(dcplane_send(a, (const uint8_t *)"\xe1ping", 5), 0);
	assert_int_equal(dcplane_send(b, (const uint8_t *)"\xe1pong!", 6), 0);
	for (unsigned i = 0; i < sa.out.n; i++)
		assert_int_equal(sa.out.pkt[i][0], 23);
	ppump(a, &sa, b, &sb, both_got_one, 10000);
	assert_int_equal(sb.messages, 1);
	assert_memory_equal(sb.last, "\xe1ping", 5);
	assert_int_equal(sa.messages, 1);
	assert_int_equal(sa.last_len, 6);
	/* above the peer's max-message-size (64 KiB default): refused */
	{
		static uint8_t big[65537];
		assert_int_equal(dcplane_send(a, big, sizeof(big)), -EMSGSIZE);
	}
	dcplane_close(a);
	ppump(a, &sa, b, &sb, b_failed, 10000);
	assert_non_null(strstr(sb.failed, "close_notify"));
	dcplane_free(a);
	dcplane_free(b);
	dtls_cert_free(ca);
	dtls_cert_free(cb);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dcep_decode_open),
	    cmocka_unit_test(test_dcep_ack_and_others),
	    cmocka_unit_test(test_dcep_encode),
	    cmocka_unit_test(test_fingerprint),
	    cmocka_unit_test(test_cert),
	    cmocka_unit_test(test_setup),
	    cmocka_unit_test(test_dtls_handshake),
	    cmocka_unit_test(test_dtls_wrong_fingerprint),
	    cmocka_unit_test(test_dtls_foreign_error_and_bad_record),
	    cmocka_unit_test(test_session_protocol),
#ifdef NATLAB_HAVE_USRSCTP
	    cmocka_unit_test(test_dcplane_pair),
	    cmocka_unit_test(test_sctpdc_channels),
#endif
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

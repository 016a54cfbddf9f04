/* dtls.h - DTLS 1.2 (RFC 6347) for the datachannel data plane, with
 * OpenSSL: the self-signed certificate an agent makes at start, its
 * fingerprint in the SDP format of RFC 8122, the setup role of RFC 8842,
 * and one DTLS connection carried on the ICE selected pair (RFC 8261 puts
 * SCTP on top of it).
 *
 * A connection owns no socket: the caller feeds it the datagrams that
 * arrived (dtls_conn_input) and it hands the datagrams to send to a
 * callback, one DTLS datagram per call. Its retransmission timer is
 * OpenSSL's (real monotonic time): the caller asks dtls_conn_timeout_ms
 * and calls dtls_conn_tick when it is due.
 *
 * The fingerprint and setup helpers are pure (tests/unit/ice_datachannel.c).
 */
#ifndef NATLAB_AGENTS_ICE_DTLS_H
#define NATLAB_AGENTS_ICE_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 8122 §5: "sha-256" SP 32 bytes as 2 upper-case hex digits each,
 * colon-separated: 8 + 32 * 3 - 1 + NUL */
#define DTLS_FINGERPRINT_STR_MAX 128
#define DTLS_DIGEST_MAX		 64 /* SHA-512 */
#define DTLS_ERR_MAX		 512
/* Handshake flights are fragmented to fit this: the size RFC 8261 §5
 * recommends as the most a safe path MTU should be when SCTP cannot
 * discover it ("RECOMMENDED that the safe value not exceed 1200 bytes"),
 * which also gets through TURN and the IPv6 minimum MTU. */
#define DTLS_MTU 1200

/* RFC 4145 §4: a=setup values (used for DTLS by RFC 5763 §5) */
enum dtls_setup {
	DTLS_SETUP_NONE = 0, /* the peer gave none */
	DTLS_SETUP_ACTPASS,
	DTLS_SETUP_ACTIVE,  /* initiates the handshake: the DTLS client */
	DTLS_SETUP_PASSIVE, /* waits for it: the DTLS server */
};

/* dtls_setup_parse - "actpass", "active", "passive" -> the enum;
 * DTLS_SETUP_NONE for anything else ("holdconn" has no use here). */
enum dtls_setup dtls_setup_parse(const char *s);
/* dtls_setup_name - the a=setup value, NULL for DTLS_SETUP_NONE */
const char *dtls_setup_name(enum dtls_setup s);

/* dtls_setup_offer - the setup an agent announces: the ICE controlling
 * agent plays the WebRTC offerer and says "actpass" (RFC 5763 §5: "The
 * endpoint that is the offerer MUST use the setup attribute value of
 * setup:actpass"; RFC 8842, which updates it, also lets an offer say
 * active or passive, but browsers offer actpass); the controlled one
 * plays the answerer and says "active" (RFC 5763 §5: "setup:active is
 * RECOMMENDED" for the answerer, so its handshake can start with the
 * answer). */
enum dtls_setup dtls_setup_offer(bool ice_controlling);

/* dtls_setup_is_client - whether an agent that announced @ours and got
 * @peer is the DTLS client. "active" against "passive"/"actpass" is the
 * client; "passive" against "active"/"actpass" the server; "actpass"
 * takes the opposite of a peer's "active"/"passive". When the two do not
 * settle it (both actpass, both active, both passive, or the peer gave no
 * setup) the ICE role decides as the offer/answer would have: the
 * controlled agent (the answerer) is the client. */
bool dtls_setup_is_client(enum dtls_setup ours, enum dtls_setup peer, bool ice_controlling);

/* dtls_fingerprint_format - RFC 8122 §5 "sha-256 AB:CD:...": the hash
 * function's name (lower case, as in the IANA "Hash Function Textual
 * Names" registry), a space, each byte of @digest as two upper-case hex
 * digits separated by colons. Returns the string's length, or -ENOSPC
 * when @cap is too small. */
int dtls_fingerprint_format(const char *hash, const uint8_t *digest, size_t len, char *out,
			    size_t cap);

/* dtls_fingerprint_parse - the reverse: "sha-256" only (the hash the
 * agent can check; the name is compared without case, RFC 8122 §5), hex
 * digits of either case. Fills @digest (at least DTLS_DIGEST_MAX bytes)
 * and *len. Returns 0, -EINVAL for a malformed value, -ENOTSUP for
 * another hash function. */
int dtls_fingerprint_parse(const char *s, uint8_t *digest, size_t *len);

/* The agent's certificate: an ECDSA P-256 key and a self-signed X.509
 * certificate made by dtls_cert_new (RFC 8827 §6.5: a fresh one per
 * session is fine; the fingerprint is what binds it). */
struct dtls_cert;
int dtls_cert_new(struct dtls_cert **out, char *err, size_t errlen);
void dtls_cert_free(struct dtls_cert *c);
/* "sha-256 AB:CD:..." of the certificate's DER encoding; owned by @c */
const char *dtls_cert_fingerprint(const struct dtls_cert *c);

struct dtls_conn;

struct dtls_conn_cb {
	void *ctx;
	/* one DTLS datagram for the peer (a flight fragment or a record) */
	void (*send)(void *ctx, const uint8_t *buf, size_t len);
	/* the handshake completed and the peer's certificate matched */
	void (*established)(void *ctx);
	/* application data: one decrypted record (an SCTP packet) */
	void (*data)(void *ctx, const uint8_t *buf, size_t len);
};

/* dtls_conn_new - a connection using @cert (not owned; must outlive it)
 * as client or server. @peer_fp/@peer_fp_len: the SHA-256 of the
 * certificate the peer must present (RFC 8122 §5, RFC 5763 §5: a
 * certificate that does not match fails the handshake); length 0 accepts
 * any certificate (a peer that gave no fingerprint). The client sends its
 * ClientHello at once (through cb->send). Returns 0 or a negative errno
 * with a message in @err. */
int dtls_conn_new(struct dtls_cert *cert, bool client, const uint8_t *peer_fp, size_t peer_fp_len,
		  const struct dtls_conn_cb *cb, struct dtls_conn **out, char *err, size_t errlen);
void dtls_conn_free(struct dtls_conn *c);

/* dtls_conn_input - a datagram from the peer whose first byte is in
 * 20..63 (RFC 7983 §7). Drives the handshake and delivers application
 * data. Returns 0, -ECONNRESET when the peer closed (close_notify), or
 * -EPROTO when the handshake or a record failed (the connection is dead;
 * dtls_conn_error says why). */
int dtls_conn_input(struct dtls_conn *c, const uint8_t *buf, size_t len);

/* dtls_conn_write - one record of application data. Returns 0, -ENOTCONN
 * before the handshake completed, -EPROTO on failure. */
int dtls_conn_write(struct dtls_conn *c, const uint8_t *buf, size_t len);

/* dtls_conn_timeout_ms - ms until the handshake's retransmission timer
 * fires (0: due now), or -1 when none runs. */
long dtls_conn_timeout_ms(struct dtls_conn *c);
/* dtls_conn_tick - call when dtls_conn_timeout_ms said 0: retransmits
 * the last flight. Returns 0 or -ETIMEDOUT when OpenSSL gave up. */
int dtls_conn_tick(struct dtls_conn *c);

/* dtls_conn_close - send close_notify (RFC 5246 §7.2.1). */
void dtls_conn_close(struct dtls_conn *c);

bool dtls_conn_established(const struct dtls_conn *c);
const char *dtls_conn_error(const struct dtls_conn *c);
/* the negotiated cipher suite's name, or "" before the handshake */
const char *dtls_conn_cipher(const struct dtls_conn *c);
/* dtls_conn_srtp_profile - the DTLS-SRTP profile the handshake settled on
 * (RFC 5764 use_srtp, e.g. "SRTP_AEAD_AES_128_GCM"), or "" when none. */
const char *dtls_conn_srtp_profile(const struct dtls_conn *c);

#endif

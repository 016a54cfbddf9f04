/* dtls.c - DTLS 1.2 with OpenSSL for the datachannel plane (see dtls.h). */
#include "agents/ice/dtls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/srtp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* ---- setup role ------------------------------------------------------------ */

enum dtls_setup dtls_setup_parse(const char *s)
{
	if (!s)
		return DTLS_SETUP_NONE;
	if (strcmp(s, "actpass") == 0)
		return DTLS_SETUP_ACTPASS;
	if (strcmp(s, "active") == 0)
		return DTLS_SETUP_ACTIVE;
	if (strcmp(s, "passive") == 0)
		return DTLS_SETUP_PASSIVE;
	return DTLS_SETUP_NONE;
}

const char *dtls_setup_name(enum dtls_setup s)
{
	switch (s) {
	case DTLS_SETUP_ACTPASS:
		return "actpass";
	case DTLS_SETUP_ACTIVE:
		return "active";
	case DTLS_SETUP_PASSIVE:
		return "passive";
	case DTLS_SETUP_NONE:
		break;
	}
	return NULL;
}

enum dtls_setup dtls_setup_offer(bool ice_controlling)
{
	return ice_controlling ? DTLS_SETUP_ACTPASS : DTLS_SETUP_ACTIVE;
}

bool dtls_setup_is_client(enum dtls_setup ours, enum dtls_setup peer, bool ice_controlling)
{
	/* RFC 4145 §4.1: "active" opens, "passive" accepts; RFC 5763 §5:
	 * the answerer of an "actpass" offer picks one of the two */
	if (ours == DTLS_SETUP_ACTIVE && peer != DTLS_SETUP_ACTIVE)
		return true;
	if (ours == DTLS_SETUP_PASSIVE && peer != DTLS_SETUP_PASSIVE)
		return false;
	if (ours == DTLS_SETUP_ACTPASS && peer == DTLS_SETUP_ACTIVE)
		return false;
	if (ours == DTLS_SETUP_ACTPASS && peer == DTLS_SETUP_PASSIVE)
		return true;
	/* unsettled: the answerer (ICE controlled) is the client */
	return !ice_controlling;
}

/* ---- fingerprints (RFC 8122 §5) ------------------------------------------- */

int dtls_fingerprint_format(const char *hash, const uint8_t *digest, size_t len, char *out,
			    size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t hl = strlen(hash);
	size_t need = hl + 1 + (len ? len * 3 - 1 : 0) + 1;
	char *p;

	if (cap < need)
		return -ENOSPC;
	memcpy(out, hash, hl);
	p = out + hl;
	*p++ = ' ';
	for (size_t i = 0; i < len; i++) {
		if (i)
			*p++ = ':';
		/* RFC 8122 §5: fingerprint = 2UHEX *(":" 2UHEX) */
		*p++ = hex[digest[i] >> 4];
		*p++ = hex[digest[i] & 15];
	}
	*p = '\0';
	return (int)(p - out);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int dtls_fingerprint_parse(const char *s, uint8_t *digest, size_t *len)
{
	const char *sp = strchr(s, ' ');
	const char *p;
	size_t n = 0;

	if (!sp)
		return -EINVAL;
	if ((size_t)(sp - s) != 7 || strncasecmp(s, "sha-256", 7) != 0) {
		/* a well-formed name of another hash: not ours to check */
		return sp > s ? -ENOTSUP : -EINVAL;
	}
	p = sp + 1;
	for (;;) {
		int hi = hexval(p[0]);
		int lo = hi < 0 ? -1 : hexval(p[1]);
		if (hi < 0 || lo < 0 || n == DTLS_DIGEST_MAX)
			return -EINVAL;
		digest[n++] = (uint8_t)(hi << 4 | lo);
		p += 2;
		if (*p == '\0')
			break;
		if (*p != ':')
			return -EINVAL;
		p++;
	}
	if (n != 32) /* SHA-256 */
		return -EINVAL;
	*len = n;
	return 0;
}

/* ---- certificate ------------------------------------------------------------ */

struct dtls_cert {
	EVP_PKEY *key;
	X509 *x509;
	char fingerprint[DTLS_FINGERPRINT_STR_MAX];
};

static void ssl_err(char *err, size_t errlen, const char *what)
{
	char e[160];
	const char *file = NULL, *func = NULL;
	int line = 0;
	unsigned long code = ERR_get_error_all(&file, &line, &func, NULL, NULL);
	if (code)
		ERR_error_string_n(code, e, sizeof(e));
	else
		snprintf(e, sizeof(e), "no OpenSSL error");
	/* where in OpenSSL: tells a record it refused from a state it is in */
	if (code && file && func)
		snprintf(err, errlen, "%s: %s (%s, %s:%d)", what, e, func, file, line);
	else
		snprintf(err, errlen, "%s: %s", what, e);
	ERR_clear_error();
}

void dtls_cert_free(struct dtls_cert *c)
{
	if (!c)
		return;
	X509_free(c->x509);
	EVP_PKEY_free(c->key);
	free(c);
}

int dtls_cert_new(struct dtls_cert **out, char *err, size_t errlen)
{
	struct dtls_cert *c = calloc(1, sizeof(*c));
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	BIGNUM *serial = NULL;
	X509_NAME *name;
	int r = -EPROTO;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* RFC 8827 §6.5 / RFC 8122: any key works as long as its fingerprint
	 * travels in the signalling; ECDSA P-256 is what browsers make. */
	c->key = EVP_EC_gen("P-256");
	c->x509 = X509_new();
	serial = BN_new();
	if (!c->key || !c->x509 || !serial) {
		ssl_err(err, errlen, "certificate key");
		goto out;
	}
	if (!X509_set_version(c->x509, 2) ||
	    !BN_rand(serial, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(c->x509)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(c->x509), -24 * 3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(c->x509), 30L * 24 * 3600) ||
	    !X509_set_pubkey(c->x509, c->key)) {
		ssl_err(err, errlen, "certificate fields");
		goto out;
	}
	name = X509_get_subject_name(c->x509);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)"natlab-ice", -1, -1, 0) ||
	    !X509_set_issuer_name(c->x509, name) || !X509_sign(c->x509, c->key, EVP_sha256())) {
		ssl_err(err, errlen, "certificate signature");
		goto out;
	}
	/* RFC 8122 §5: the fingerprint is the hash of the DER certificate */
	if (!X509_digest(c->x509, EVP_sha256(), md, &mdlen) ||
	    dtls_fingerprint_format("sha-256", md, mdlen, c->fingerprint, sizeof(c->fingerprint)) <
		0) {
		ssl_err(err, errlen, "certificate fingerprint");
		goto out;
	}
	*out = c;
	c = NULL;
	r = 0;
out:
	BN_free(serial);
	dtls_cert_free(c);
	return r;
}

const char *dtls_cert_fingerprint(const struct dtls_cert *c)
{
	return c->fingerprint;
}

/* ---- connection ---------------------------------------------------------- */

struct dtls_conn {
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *rbio; /* owned by ssl */
	struct dtls_conn_cb cb;
	bool client, established, dead;
	uint8_t peer_fp[DTLS_DIGEST_MAX];
	size_t peer_fp_len;
	bool fp_mismatch;
	char err[DTLS_ERR_MAX];
};

/* The outgoing side is a BIO of our own so that every datagram OpenSSL
 * writes (a record, or a flight fragment of at most DTLS_MTU bytes) goes
 * out as one datagram: a memory BIO would glue a flight's datagrams
 * together. */
static BIO_METHOD *out_method;

static int out_write(BIO *b, const char *buf, int len)
{
	struct dtls_conn *c = BIO_get_data(b);
	if (len > 0 && c && c->cb.send)
		c->cb.send(c->cb.ctx, (const uint8_t *)buf, (size_t)len);
	return len;
}

static long out_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_DGRAM_QUERY_MTU:
	case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
		return DTLS_MTU;
	default:
		return 0; /* no MTU overhead, nothing pending, no peer address */
	}
}

static int out_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO_METHOD *out_bio_method(void)
{
	if (out_method)
		return out_method;
	out_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "natlab-dtls-out");
	if (!out_method)
		return NULL;
	BIO_meth_set_write(out_method, out_write);
	BIO_meth_set_ctrl(out_method, out_ctrl);
	BIO_meth_set_create(out_method, out_create);
	return out_method;
}

/* RFC 5763 §5 / RFC 8122 §5: the certificate is self-signed; what makes
 * it trusted is that its fingerprint is the one the peer signalled. */
static int verify_cb(int preverify_ok, X509_STORE_CTX *store)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct dtls_conn *c = ssl ? SSL_get_app_data(ssl) : NULL;
	X509 *cert = X509_STORE_CTX_get_current_cert(store);
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	(void)preverify_ok;
	if (!c || !cert)
		return 0;
	if (X509_STORE_CTX_get_error_depth(store) != 0)
		return 1; /* only the end-entity certificate is fingerprinted */
	if (c->peer_fp_len == 0)
		return 1;
	if (!X509_digest(cert, EVP_sha256(), md, &mdlen) || mdlen != c->peer_fp_len ||
	    memcmp(md, c->peer_fp, mdlen) != 0) {
		c->fp_mismatch = true;
		return 0;
	}
	return 1;
}

/* RFC 6347 §4.2.4.1: the retransmission timer starts at 1 s and doubles;
 * a lab path has a sub-ms RTT, so start at 400 ms (the data phase of a
 * cell is short) and cap at 8 s. */
static unsigned int timer_cb(SSL *ssl, unsigned int prev_us)
{
	(void)ssl;
	if (prev_us == 0)
		return 400000;
	return prev_us >= 4000000 ? 8000000 : prev_us * 2;
}

void dtls_conn_free(struct dtls_conn *c)
{
	if (!c)
		return;
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	free(c);
}

static int conn_fail(struct dtls_conn *c, const char *what, int ret)
{
	int e = SSL_get_error(c->ssl, ret);
	c->dead = true;
	if (c->fp_mismatch) {
		snprintf(c->err, sizeof(c->err),
			 "%s: the peer's certificate does not match its signalled fingerprint "
			 "(RFC 8122)",
			 what);
		ERR_clear_error();
	} else if (e == SSL_ERROR_SSL) {
		ssl_err(c->err, sizeof(c->err), what);
	} else {
		snprintf(c->err, sizeof(c->err), "%s: SSL error %d", what, e);
		ERR_clear_error();
	}
	return -EPROTO;
}

/* Move the handshake on; 0 while it goes on or once done. */
static int handshake(struct dtls_conn *c)
{
	int r;
	/* SSL_get_error(3): "The current thread's error queue must be empty
	 * before the TLS/SSL I/O operation is attempted"; a stale error left
	 * by another connection (a dead TURN/TLS stream) would otherwise end
	 * this association as if its record were bad */
	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->established = true;
		if (c->cb.established)
			c->cb.established(c->cb.ctx);
		return 0;
	}
	if (SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ)
		return 0;
	return conn_fail(c, "DTLS handshake", r);
}

int dtls_conn_new(struct dtls_cert *cert, bool client, const uint8_t *peer_fp, size_t peer_fp_len,
		  const struct dtls_conn_cb *cb, struct dtls_conn **out, char *err, size_t errlen)
{
	struct dtls_conn *c = calloc(1, sizeof(*c));
	BIO *wbio = NULL;
	BIO_METHOD *m = out_bio_method();
	int r = -EPROTO;

	if (!c || !m) {
		snprintf(err, errlen, "out of memory");
		free(c);
		return -ENOMEM;
	}
	if (peer_fp_len > sizeof(c->peer_fp)) {
		snprintf(err, errlen, "peer fingerprint longer than %d bytes", DTLS_DIGEST_MAX);
		free(c);
		return -EINVAL;
	}
	c->cb = *cb;
	c->client = client;
	memcpy(c->peer_fp, peer_fp, peer_fp_len);
	c->peer_fp_len = peer_fp_len;
	c->ctx = SSL_CTX_new(DTLS_method());
	if (!c->ctx) {
		ssl_err(err, errlen, "DTLS context");
		goto out;
	}
	/* RFC 8827 §6.5: DTLS 1.2 or later; this lab peer speaks 1.2 */
	if (!SSL_CTX_set_min_proto_version(c->ctx, DTLS1_2_VERSION) ||
	    !SSL_CTX_set_max_proto_version(c->ctx, DTLS1_2_VERSION) ||
	    SSL_CTX_use_certificate(c->ctx, cert->x509) != 1 ||
	    SSL_CTX_use_PrivateKey(c->ctx, cert->key) != 1) {
		ssl_err(err, errlen, "DTLS context");
		goto out;
	}
	/* RFC 5763 §5: both sides present certificates; the server asks */
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
	SSL_CTX_set_options(c->ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET);
	/* RFC 8827 §6.5: a WebRTC endpoint negotiates DTLS-SRTP (RFC 5764
	 * use_srtp) in this handshake; peers that offer or require it (pion
	 * as a client requires the server's answer) find it here, although
	 * this data-channel-only peer never sends SRTP. 0 is success. */
	if (SSL_CTX_set_tlsext_use_srtp(c->ctx, "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80") !=
	    0) {
		ssl_err(err, errlen, "DTLS context: use_srtp");
		goto out;
	}
	c->ssl = SSL_new(c->ctx);
	c->rbio = BIO_new(BIO_s_mem());
	wbio = BIO_new(m);
	if (!c->ssl || !c->rbio || !wbio) {
		BIO_free(c->rbio);
		BIO_free(wbio);
		c->rbio = NULL;
		ssl_err(err, errlen, "DTLS connection");
		goto out;
	}
	BIO_set_mem_eof_return(c->rbio, -1); /* empty: "retry", not EOF */
	BIO_set_data(wbio, c);
	SSL_set_bio(c->ssl, c->rbio, wbio);
	SSL_set_app_data(c->ssl, c);
	SSL_set_mtu(c->ssl, DTLS_MTU);
	DTLS_set_timer_cb(c->ssl, timer_cb);
	if (client)
		SSL_set_connect_state(c->ssl);
	else
		SSL_set_accept_state(c->ssl);
	if (client && handshake(c) < 0) {
		snprintf(err, errlen, "%s", c->err);
		goto out;
	}
	*out = c;
	c = NULL;
	r = 0;
out:
	dtls_conn_free(c);
	return r;
}

/* Append to c->err the record headers of the datagram that failed
 * (RFC 6347 §4.1: type, version, epoch, sequence number, length; 13
 * bytes each), so that a record the peer sent and OpenSSL refused can be
 * told apart in the log from one this side mis-framed. */
static void describe_datagram(struct dtls_conn *c, const uint8_t *buf, size_t len)
{
	size_t used = strlen(c->err), off = 0;
	int n = snprintf(c->err + used, sizeof(c->err) - used, " (datagram of %zu bytes:", len);
	if (n < 0 || (size_t)n >= sizeof(c->err) - used)
		return;
	used += (size_t)n;
	for (int i = 0; i < 6 && off + 13 <= len; i++) {
		unsigned type = buf[off], epoch = (unsigned)buf[off + 3] << 8 | buf[off + 4];
		size_t rlen = (size_t)buf[off + 11] << 8 | buf[off + 12];
		n = snprintf(c->err + used, sizeof(c->err) - used, " type %u epoch %u length %zu;",
			     type, epoch, rlen);
		if (n < 0 || (size_t)n >= sizeof(c->err) - used)
			return;
		used += (size_t)n;
		off += 13 + rlen;
	}
	if (off != len)
		snprintf(c->err + used, sizeof(c->err) - used, " %s %zu bytes)",
			 off > len ? "short by" : "then", off > len ? off - len : len - off);
	else
		snprintf(c->err + used, sizeof(c->err) - used, ")");
}

int dtls_conn_input(struct dtls_conn *c, const uint8_t *buf, size_t len)
{
	uint8_t plain[16384 + 256]; /* RFC 6347 §4.1: records up to 2^14 bytes */

	if (c->dead)
		return -EPROTO;
	if (len > 0x7fffffff || BIO_write(c->rbio, buf, (int)len) != (int)len)
		return 0; /* cannot be queued: as if lost */
	if (!c->established) {
		if (handshake(c) < 0)
			return -EPROTO;
		if (!c->established)
			return 0;
	}
	for (;;) {
		int n;
		ERR_clear_error(); /* as in handshake(); cb.data may have run OpenSSL */
		n = SSL_read(c->ssl, plain, (int)sizeof(plain));
		int e;
		if (n > 0) {
			if (c->cb.data)
				c->cb.data(c->cb.ctx, plain, (size_t)n);
			continue;
		}
		e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_READ)
			break;
		if (e == SSL_ERROR_ZERO_RETURN) {
			c->dead = true;
			snprintf(c->err, sizeof(c->err), "the peer closed DTLS (close_notify)");
			return -ECONNRESET;
		}
		conn_fail(c, "DTLS record", n);
		describe_datagram(c, buf, len);
		return -EPROTO;
	}
	/* a record that is not valid is dropped silently (RFC 6347 §4.1.2.7);
	 * whatever is left in the read BIO is such a datagram */
	(void)BIO_reset(c->rbio);
	return 0;
}

int dtls_conn_write(struct dtls_conn *c, const uint8_t *buf, size_t len)
{
	int n;
	if (!c->established || c->dead)
		return -ENOTCONN;
	if (len > 16384)
		return -EMSGSIZE;
	ERR_clear_error();
	n = SSL_write(c->ssl, buf, (int)len);
	if (n <= 0)
		return conn_fail(c, "DTLS write", n);
	return 0;
}

long dtls_conn_timeout_ms(struct dtls_conn *c)
{
	struct timeval tv;
	if (c->dead || !DTLSv1_get_timeout(c->ssl, &tv))
		return -1;
	return tv.tv_sec * 1000L + (tv.tv_usec + 999) / 1000;
}

int dtls_conn_tick(struct dtls_conn *c)
{
	if (c->dead)
		return 0;
	if (DTLSv1_handle_timeout(c->ssl) < 0) {
		c->dead = true;
		snprintf(c->err, sizeof(c->err), "DTLS handshake: the peer never answered");
		ERR_clear_error();
		return -ETIMEDOUT;
	}
	return 0;
}

void dtls_conn_close(struct dtls_conn *c)
{
	if (!c || !c->established || c->dead)
		return;
	(void)SSL_shutdown(c->ssl);
	c->dead = true;
	ERR_clear_error();
}

bool dtls_conn_established(const struct dtls_conn *c)
{
	return c->established && !c->dead;
}

const char *dtls_conn_error(const struct dtls_conn *c)
{
	return c->err;
}

const char *dtls_conn_cipher(const struct dtls_conn *c)
{
	const char *n = c->established ? SSL_get_cipher_name(c->ssl) : NULL;
	return n ? n : "";
}

const char *dtls_conn_srtp_profile(const struct dtls_conn *c)
{
	/* the SSL object is only read here; OpenSSL's getter is not const */
	SRTP_PROTECTION_PROFILE *p =
	    c->established ? SSL_get_selected_srtp_profile((SSL *)c->ssl) : NULL;
	return p && p->name ? p->name : "";
}

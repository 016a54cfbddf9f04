/* turn_stream_tls.c - a TURN stream over TLS (agents/turn/turn_stream.c)
 * whose peer ended the connection: it says so once, no further call goes
 * to OpenSSL, and nothing is left on the thread's OpenSSL error queue.
 * An error left there by a dead TURN/TLS stream used to end natlab-ice's
 * DTLS association (SSL_get_error() read it as the DTLS record's). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "agents/turn/turn_stream.h"

struct pair {
	SSL_CTX *sctx, *cctx;
	SSL *srv;
	struct turn_stream *cli;
	int sfd;
};

/* a self-signed P-256 certificate for the server side */
static void server_cert(SSL_CTX *ctx)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	assert_non_null(key);
	assert_non_null(x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"turn.natlab.test", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
	X509_free(x);
	EVP_PKEY_free(key);
}

static int done_or_wait(SSL *s, int r)
{
	if (r == 1)
		return 1;
	int e = SSL_get_error(s, r);
	assert_true(e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE);
	return 0;
}

static void pair_new(struct pair *p)
{
	int fds[2];
	SSL *cssl;
	memset(p, 0, sizeof(*p));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(fcntl(fds[i], F_SETFL, O_NONBLOCK), 0);
	p->sctx = SSL_CTX_new(TLS_server_method());
	p->cctx = SSL_CTX_new(TLS_client_method());
	server_cert(p->sctx);
	/* as agents/ice/relay.c sets them */
	SSL_CTX_set_mode(p->cctx,
			 SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	p->srv = SSL_new(p->sctx);
	cssl = SSL_new(p->cctx);
	SSL_set_fd(p->srv, fds[1]);
	SSL_set_fd(cssl, fds[0]);
	SSL_set_accept_state(p->srv);
	SSL_set_connect_state(cssl);
	int sd = 0, cd = 0;
	for (int i = 0; i < 50 && !(sd && cd); i++) {
		if (!cd)
			cd = done_or_wait(cssl, SSL_do_handshake(cssl));
		if (!sd)
			sd = done_or_wait(p->srv, SSL_do_handshake(p->srv));
	}
	assert_true(sd && cd);
	p->sfd = fds[1];
	p->cli = turn_stream_new(fds[0], cssl, 0);
	assert_non_null(p->cli);
}

static void pair_free(struct pair *p)
{
	turn_stream_free(p->cli);
	SSL_free(p->srv);
	close(p->sfd);
	SSL_CTX_free(p->sctx);
	SSL_CTX_free(p->cctx);
	ERR_clear_error();
}

static void on_frame(void *arg, const uint8_t *f, size_t len)
{
	(void)f;
	*(size_t *)arg += len;
}

/* a STUN Binding request header (RFC 8489 §5): 20 bytes, no attributes */
static const uint8_t binding[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42};

static void test_peer_close_notify(void **st)
{
	struct pair p;
	uint8_t buf[64];
	size_t got = 0;
	(void)st;
	pair_new(&p);
	/* alive: a frame goes through */
	assert_int_equal(turn_stream_write(p.cli, binding, sizeof(binding)), 0);
	assert_int_equal(SSL_read(p.srv, buf, sizeof(buf)), (int)sizeof(binding));
	/* the server ends TLS (close_notify) */
	SSL_shutdown(p.srv);
	assert_int_equal(turn_stream_read(p.cli, on_frame, &got), -EPIPE);
	assert_int_equal(ERR_peek_error(), 0);
	/* dead: every later call fails the same way and leaves no error */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(turn_stream_write(p.cli, binding, sizeof(binding)), -EPIPE);
		assert_int_equal(ERR_peek_error(), 0);
	}
	assert_int_equal(turn_stream_read(p.cli, on_frame, &got), -EPIPE);
	assert_false(turn_stream_want_write(p.cli));
	assert_int_equal(got, 0);
	assert_int_equal(ERR_peek_error(), 0);
	pair_free(&p);
}

/* the server vanishes without close_notify (a reset, a killed process):
 * the write that meets it fails, later ones do not call OpenSSL again */
static void test_peer_gone(void **st)
{
	struct pair p;
	uint8_t big[128] = {0};
	int e;
	(void)st;
	pair_new(&p);
	SSL_free(p.srv);
	p.srv = NULL;
	close(p.sfd);
	p.sfd = -1;
	/* a longer frame first: OpenSSL keeps its record pending, and a later,
	 * shorter SSL_write on that connection fails with "bad length" */
	memcpy(big, binding, sizeof(binding));
	big[3] = sizeof(big) - 20;
	e = turn_stream_write(p.cli, big, sizeof(big));
	assert_true(e == -EPROTO || e == -EPIPE);
	assert_int_equal(ERR_peek_error(), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(turn_stream_write(p.cli, binding, sizeof(binding)), e);
		assert_int_equal(ERR_peek_error(), 0);
	}
	pair_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_peer_close_notify),
	    cmocka_unit_test(test_peer_gone),
	};
	signal(SIGPIPE, SIG_IGN); /* as natlab-ice and the TURN server do */
	return cmocka_run_group_tests(tests, NULL, NULL);
}

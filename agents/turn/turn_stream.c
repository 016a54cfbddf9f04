#include "agents/turn/turn_stream.h"

#include <errno.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agents/stun/stun.h"

/* One frame is at most a STUN message (20 + 65535, rounded) or a ChannelData
 * (4 + 65535 + padding). */
#define RX_CAP (STUN_MAX_MSG_LEN + 8)

struct turn_stream {
	int fd;
	SSL *ssl;
	bool tls_want_write; /* the last TLS call wanted writability */
	bool sniff;	     /* TLS or plain: the client's first byte decides */
	bool raw;
	int dead; /* 0, or the error a TLS call ended the stream with */
	uint8_t *rx;
	size_t rxlen;
	uint8_t *tx;
	size_t txoff, txlen, txcap;
};

struct turn_stream *turn_stream_new(int fd, SSL *ssl, size_t txcap)
{
	struct turn_stream *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->fd = fd;
	st->ssl = ssl;
	st->txcap = txcap ? txcap : 1u << 20;
	st->rx = malloc(RX_CAP);
	st->tx = malloc(st->txcap);
	if (!st->rx || !st->tx) {
		st->fd = -1; /* the caller still owns fd and ssl on failure */
		st->ssl = NULL;
		turn_stream_free(st);
		return NULL;
	}
	return st;
}

void turn_stream_free(struct turn_stream *st)
{
	if (!st)
		return;
	if (st->ssl) {
		if (!st->dead) {
			ERR_clear_error();
			SSL_shutdown(st->ssl);
			ERR_clear_error();
		}
		SSL_free(st->ssl);
	}
	if (st->fd >= 0)
		close(st->fd);
	free(st->rx);
	free(st->tx);
	free(st);
}

int turn_stream_fd(const struct turn_stream *st)
{
	return st->fd;
}

/* TLS 1.3 (RFC 8446 §5.1) and earlier versions frame every byte in
 * records whose first byte is the ContentType, and a client's first record
 * carries its ClientHello: "enum { invalid(0), change_cipher_spec(20),
 * alert(21), handshake(22), application_data(23), (255) } ContentType;" */
#define TLS_CONTENT_HANDSHAKE 22

/* sniff: decide between TLS and plain TCP from the first byte, left in the
 * socket (MSG_PEEK) for whichever reads it. 0 once decided, -EAGAIN, or
 * -EPIPE / -EPROTO / -errno for a stream to drop. */
static int sniff(struct turn_stream *st)
{
	uint8_t b;
	ssize_t n = recv(st->fd, &b, 1, MSG_PEEK);

	if (n == 0)
		return -EPIPE;
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
	st->sniff = false;
	if (b == TLS_CONTENT_HANDSHAKE)
		return 0;
	/* RFC 8489 §5: "The most significant 2 bits of every STUN message
	 * MUST be zeroes. This can be used to differentiate STUN packets from
	 * other protocols when STUN is multiplexed with other protocols on the
	 * same port." A client that talks plain TURN to a TLS port (libnice in
	 * RFC 5245 mode does: it has no TLS of its own) starts with a request;
	 * ChannelData (01) cannot come first, there is no channel yet. */
	if ((b >> 6) != 0)
		return -EPROTO;
	SSL_free(st->ssl);
	st->ssl = NULL;
	return 0;
}

/* A TLS call failed for good (the peer's close_notify, an alert, a reset):
 * the stream is dead and no further call goes to OpenSSL. Each call on a
 * dead connection would push another error ("bad length" from a write)
 * onto the thread's OpenSSL error queue, and SSL_get_error() of any other
 * connection of the process -- the DTLS of the datachannel plane --
 * would then take that stale error for its own and end a healthy
 * association. So the queue is emptied here too. */
static int tls_dead(struct turn_stream *st, int ssl_error)
{
	st->dead = ssl_error == SSL_ERROR_ZERO_RETURN ? -EPIPE : -EPROTO;
	st->tls_want_write = false;
	ERR_clear_error();
	return st->dead;
}

/* raw_read / raw_write: -EAGAIN, -EPIPE, or bytes */
static long raw_read(struct turn_stream *st, uint8_t *buf, size_t cap)
{
	if (st->sniff) {
		int r = sniff(st);
		if (r < 0)
			return r;
	}
	if (st->ssl) {
		if (st->dead)
			return st->dead;
		ERR_clear_error(); /* SSL_get_error(3): the queue must be empty first */
		int n = SSL_read(st->ssl, buf, (int)cap);
		if (n > 0)
			return n;
		int e = SSL_get_error(st->ssl, n);
		st->tls_want_write = e == SSL_ERROR_WANT_WRITE;
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return -EAGAIN;
		return tls_dead(st, e);
	}
	ssize_t n = recv(st->fd, buf, cap, 0);
	if (n > 0)
		return n;
	if (n == 0)
		return -EPIPE;
	return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

static long raw_write(struct turn_stream *st, const uint8_t *buf, size_t len)
{
	if (st->sniff)
		return -EAGAIN; /* not yet TLS nor plain: the client speaks first */
	if (st->ssl) {
		if (st->dead)
			return st->dead;
		ERR_clear_error();
		int n = SSL_write(st->ssl, buf, (int)len);
		if (n > 0)
			return n;
		int e = SSL_get_error(st->ssl, n);
		st->tls_want_write = e == SSL_ERROR_WANT_WRITE;
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return -EAGAIN;
		return tls_dead(st, e);
	}
	ssize_t n = send(st->fd, buf, len, MSG_NOSIGNAL);
	if (n >= 0)
		return n;
	return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

int turn_stream_read(struct turn_stream *st, turn_stream_frame_fn fn, void *arg)
{
	for (;;) {
		long n = raw_read(st, st->rx + st->rxlen, RX_CAP - st->rxlen);
		if (n == -EAGAIN)
			break;
		if (n < 0)
			return (int)n;
		st->rxlen += (size_t)n;
		size_t off = 0;
		for (;;) {
			if (st->raw) {
				if (st->rxlen > off)
					fn(arg, st->rx + off, st->rxlen - off);
				off = st->rxlen;
				break;
			}
			long f = stun_frame_length(st->rx + off, st->rxlen - off);
			if (f < 0)
				return -EBADMSG;
			if (f == 0 || (size_t)f > st->rxlen - off)
				break;
			fn(arg, st->rx + off, (size_t)f);
			off += (size_t)f;
		}
		memmove(st->rx, st->rx + off, st->rxlen - off);
		st->rxlen -= off;
	}
	/* a writer waiting on a TLS read may now go on */
	if (st->txlen > st->txoff) {
		int r = turn_stream_flush(st);
		if (r < 0 && r != -EAGAIN)
			return r;
	}
	return 0;
}

int turn_stream_flush(struct turn_stream *st)
{
	while (st->txoff < st->txlen) {
		long n = raw_write(st, st->tx + st->txoff, st->txlen - st->txoff);
		if (n == -EAGAIN)
			return -EAGAIN;
		if (n < 0)
			return (int)n;
		st->txoff += (size_t)n;
	}
	st->txoff = st->txlen = 0;
	return 0;
}

int turn_stream_write(struct turn_stream *st, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	if (st->txlen == st->txoff) {
		st->txoff = st->txlen = 0;
		while (done < len) {
			long n = raw_write(st, buf + done, len - done);
			if (n == -EAGAIN)
				break;
			if (n < 0)
				return (int)n;
			done += (size_t)n;
		}
		if (done == len)
			return 0;
	}
	/* OpenSSL wants a retried SSL_write with the same bytes: the queue
	 * keeps them in place and SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER (set by
	 * the callers) allows the buffer address to differ. */
	if (st->txoff > 0 && st->txlen + (len - done) > st->txcap) {
		memmove(st->tx, st->tx + st->txoff, st->txlen - st->txoff);
		st->txlen -= st->txoff;
		st->txoff = 0;
	}
	if (st->txlen + (len - done) > st->txcap)
		return done ? -EPROTO : -ENOBUFS; /* half a frame out: the stream is lost */
	memcpy(st->tx + st->txlen, buf + done, len - done);
	st->txlen += len - done;
	return 0;
}

void turn_stream_accept_plain(struct turn_stream *st)
{
	st->sniff = st->ssl != NULL;
}

bool turn_stream_is_tls(const struct turn_stream *st)
{
	return st->ssl != NULL;
}

void turn_stream_set_raw(struct turn_stream *st)
{
	st->raw = true;
}

size_t turn_stream_tx_pending(const struct turn_stream *st)
{
	return st->txlen - st->txoff;
}

bool turn_stream_want_write(const struct turn_stream *st)
{
	return st->txlen > st->txoff || st->tls_want_write;
}

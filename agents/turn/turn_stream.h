/* turn_stream.h - one non-blocking TCP or TLS connection carrying STUN and
 * ChannelData frames (RFC 8656 §12.5: over a stream, each ChannelData is
 * padded to a multiple of 4 so frames can be cut by their headers).
 *
 * The stream owns its descriptor and its TLS object; buffers are taken once
 * at creation. Both the server binary and the client tool use it.
 */
#ifndef NATLAB_TURN_STREAM_H
#define NATLAB_TURN_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

struct turn_stream;

/* turn_stream_new - takes ownership of @fd (non-blocking) and of @ssl (or
 * NULL for plain TCP; already attached to @fd, in accept or connect state).
 * @txcap bounds the bytes queued while the peer does not read. */
struct turn_stream *turn_stream_new(int fd, SSL *ssl, size_t txcap);
void turn_stream_free(struct turn_stream *st);
int turn_stream_fd(const struct turn_stream *st);

typedef void (*turn_stream_frame_fn)(void *arg, const uint8_t *frame, size_t len);

/* turn_stream_read - read what is available and call @fn once per whole
 * frame. Returns 0 (wait for more), -EPIPE (closed by the peer), -EBADMSG
 * (not STUN nor ChannelData: the stream cannot be resynchronised) or
 * another negative errno. A TLS handshake in progress is advanced. */
int turn_stream_read(struct turn_stream *st, turn_stream_frame_fn fn, void *arg);

/* turn_stream_write - send or queue @len bytes (all or nothing). Returns 0,
 * -ENOBUFS when the queue would pass txcap (the frame is dropped, as a
 * congested UDP path would), or another negative errno (broken stream). */
int turn_stream_write(struct turn_stream *st, const uint8_t *buf, size_t len);
/* turn_stream_flush - push queued bytes; 0 when all are out, -EAGAIN when
 * some remain, negative errno on error. */
int turn_stream_flush(struct turn_stream *st);
/* turn_stream_accept_plain - for a TLS stream in accept state: let the
 * client's first byte choose between TLS (a handshake record, 22) and plain
 * TCP (a STUN message: its two top bits are 0), as coturn does on its
 * ports; anything else fails the first read with -EPROTO. Call before the
 * first read. turn_stream_is_tls() tells which it became: it is settled
 * before the first frame reaches the read callback. */
void turn_stream_accept_plain(struct turn_stream *st);
bool turn_stream_is_tls(const struct turn_stream *st);
/* turn_stream_set_raw - from now on (even inside a frame callback) the
 * bytes are not cut into frames: each read's bytes go to the callback as
 * they come (RFC 6062 data connections after ConnectionBind). */
void turn_stream_set_raw(struct turn_stream *st);
/* turn_stream_tx_pending - bytes queued, not yet written. */
size_t turn_stream_tx_pending(const struct turn_stream *st);

/* turn_stream_want_write - the caller should poll for writability. */
bool turn_stream_want_write(const struct turn_stream *st);

#endif

/* sctpdc.h - one SCTP association in userspace (Debian's libusrsctp in its
 * "conn" mode: no kernel SCTP, no socket, packets go to and come from the
 * caller) carrying WebRTC data channels (RFC 8831), opened with DCEP
 * (RFC 8832, agents/ice/dcep.h). RFC 8261 puts these SCTP packets in DTLS
 * records; this module does not know about DTLS, the caller moves the
 * packets (agents/ice/dcplane.c does).
 *
 * An endpoint with cfg.open opens one channel when the association is up,
 * on stream 0 as the DTLS client, 1 as the server (RFC 8832 §6: the DTLS
 * client uses even stream identifiers, the server odd ones), with the
 * label and type of its config (natlab-ice: the client opens, the server
 * does not); a channel the peer opens (on any stream) is acknowledged and
 * used the same way, so a WebRTC stack that opens its own channel works
 * too. Messages go out on the first channel that opened.
 *
 * Built only when libusrsctp is found (NATLAB_HAVE_USRSCTP).
 * Not thread-safe: usrsctp runs without its own threads
 * (usrsctp_init_nothreads), driven by sctpdc_input and sctpdc_tick.
 */
#ifndef NATLAB_AGENTS_ICE_SCTPDC_H
#define NATLAB_AGENTS_ICE_SCTPDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCTPDC_PORT 5000 /* RFC 8841 §5: the a=sctp-port default */
/* what we accept in one message (RFC 8841 §6: a=max-message-size) */
#define SCTPDC_MAX_MESSAGE_SIZE 262144
/* SCTP packets fit DTLS records that fit a 1200-byte datagram path */
#define SCTPDC_MTU	 1160
#define SCTPDC_LABEL_MAX 64
/* usrsctp's own timers want a call this often */
#define SCTPDC_TICK_MS 10

struct sctpdc_config {
	uint16_t local_port, remote_port; /* SCTP ports (a=sctp-port) */
	bool dtls_client;		  /* even stream ids (else odd) */
	bool open;			  /* open a channel when SCTP is up */
	const char *label;		  /* the channel's label (copied) */
	uint8_t channel_type;		  /* DCEP_CHANNEL_* */
	uint32_t reliability;		  /* maxRetransmits or lifetime */
};

struct sctpdc_cb {
	void *ctx;
	/* an SCTP packet for the lower layer (DTLS) */
	void (*out)(void *ctx, const uint8_t *buf, size_t len);
	/* a channel opened: ours acknowledged, or the peer's; @sid, @label */
	void (*open)(void *ctx, unsigned sid, const char *label, uint8_t channel_type);
	/* a message on an open channel (PPID 51/53, or 56/57 empty) */
	void (*message)(void *ctx, unsigned sid, uint32_t ppid, const uint8_t *buf, size_t len);
	/* readable progress and problems: "info"/"warning" */
	void (*log)(void *ctx, const char *level, const char *msg);
};

struct sctpdc;

/* sctpdc_init - initialise the process's usrsctp stack now (idempotent;
 * sctpdc_new does it otherwise). The first initialisation can take tens
 * of milliseconds on a loaded host: an agent does it at start, not
 * between the DTLS handshake and the SCTP INIT. */
void sctpdc_init(void);

/* sctpdc_new - an SCTP endpoint that connects at once to the peer: both
 * sides connect, neither listens, as WebRTC stacks do; SCTP resolves the
 * INIT collision (RFC 4960 §5.2.1). Returns 0 or a negative errno with @err. */
int sctpdc_new(const struct sctpdc_config *cfg, const struct sctpdc_cb *cb, struct sctpdc **out,
	       char *err, size_t errlen);
/* sctpdc_free - abort the association (RFC 8831 §6.7 closes channels by
 * stream reset; an agent that stops just goes) and free. NULL is fine. */
void sctpdc_free(struct sctpdc *s);

/* sctpdc_input - an SCTP packet from the lower layer */
void sctpdc_input(struct sctpdc *s, const uint8_t *buf, size_t len);

/* sctpdc_send - one message on the open channel with @ppid (51 string,
 * 53 binary). Returns 0, -ENOTCONN before a channel opened, -EMSGSIZE
 * above the peer's max-message-size, -EAGAIN when the send buffer is
 * full (the message is dropped, as on an unreliable channel). */
int sctpdc_send(struct sctpdc *s, uint32_t ppid, const uint8_t *buf, size_t len);

/* sctpdc_set_peer_max_message_size - the peer's a=max-message-size (0:
 * RFC 8841's default of 64 KiB) */
void sctpdc_set_peer_max_message_size(struct sctpdc *s, size_t max);

/* sctpdc_tick - run usrsctp's timers (retransmission, delayed SACK,
 * heartbeat), which are process-wide and follow the monotonic clock, and
 * deliver what they produced for @s. Call at least every SCTPDC_TICK_MS
 * while an sctpdc exists. */
void sctpdc_tick(struct sctpdc *s);

bool sctpdc_up(const struct sctpdc *s);	  /* the association is up */
bool sctpdc_open(const struct sctpdc *s); /* a channel can carry messages */
bool sctpdc_failed(const struct sctpdc *s, const char **why);

#endif

/* turn_client.h - a TURN client as a state machine (RFC 8656, RFC 6156).
 *
 * Sockets stay outside: the owner (the ICE agent, natlab-turn-client, a
 * test) gives the client every message that came from the TURN server
 * (turn_client_input: one UDP datagram, or one frame cut from a TCP/TLS
 * stream with stun_frame_length), calls turn_client_tick when the deadline
 * it returned has come, and sends what the client hands to cb.send. Time is
 * always an argument (milliseconds on any monotonic clock).
 *
 * What it does by itself once started:
 *  - Allocate, answering the 401 challenge (MD5, or SHA-256 when the server
 *    offers it in PASSWORD-ALGORITHMS), 438 Stale Nonce (retry with the new
 *    nonce), 300 Try Alternate (move to ALTERNATE-SERVER, at most 3 times);
 *  - Refresh before the allocation expires (a minute early, or at half the
 *    lifetime when it is short);
 *  - CreatePermission and ChannelBind on request, each refreshed before
 *    the server forgets it (intervals configurable);
 *  - retransmissions over UDP (RFC 8489 §6.2.1: RTO doubling, Rc = 7,
 *    Rm = 16), a single 39.5 s timeout over TCP/TLS;
 *  - ChannelData padded to 4 over streams (RFC 8656 §12.5).
 * Failures (486, 403, 401 with bad credentials, 437, timeouts) reach
 * cb.state / cb.result with the error code. A response carrying an
 * unknown comprehension-required attribute fails its transaction with
 * -EPROTO (RFC 8489 §6.3.3, §6.3.4).
 *
 * 300 over TCP/TLS: the client cannot move a stream by itself. It enters
 * TURN_CLIENT_REDIRECTED with turn_client_server() already the alternate;
 * the owner closes its connection, connects there and calls
 * turn_client_start() again (agents/ice/relay.c and natlab-turn-client do).
 * The REDIRECT_MAX bound on redirects holds across those restarts.
 */
#ifndef NATLAB_TURN_CLIENT_H
#define NATLAB_TURN_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "agents/turn/turn_alloc.h" /* enum turn_transport */

#define TURN_CLIENT_PEERS_MAX 32

enum turn_client_state {
	TURN_CLIENT_IDLE,
	TURN_CLIENT_ALLOCATING,
	TURN_CLIENT_ALLOCATED,
	/* 300 over TCP/TLS: connect to turn_client_server() and call
	 * turn_client_start again (over UDP the client moves by itself) */
	TURN_CLIENT_REDIRECTED,
	TURN_CLIENT_FAILED, /* code says why; start again to retry */
	TURN_CLIENT_CLOSED,
};

/* what a finished request was, for cb.result */
enum turn_client_op {
	TURN_CLIENT_OP_ALLOCATE,
	TURN_CLIENT_OP_REFRESH,
	TURN_CLIENT_OP_PERMISSION,
	TURN_CLIENT_OP_CHANNEL,
};

struct turn_client_cb {
	void *ctx;
	/* send one message to the server at @to (the current server: it
	 * changes after a 300). Return 0 or a negative errno. */
	int (*send)(void *ctx, const struct sockaddr *to, const uint8_t *buf, size_t len);
	/* the state changed; @code is the STUN error (0 when none, -ETIMEDOUT
	 * for a transaction that got no answer) */
	void (*state)(void *ctx, enum turn_client_state st, int code);
	/* a request finished: @code 0 success, else STUN error / -ETIMEDOUT.
	 * @peer is the peer of a permission or channel, else NULL. Optional. */
	void (*result)(void *ctx, enum turn_client_op op, const struct sockaddr *peer, int code);
	/* data relayed from @peer (Data indication or ChannelData) */
	void (*data)(void *ctx, const struct sockaddr *peer, const uint8_t *buf, size_t len);
};

struct turn_client_config {
	const char *user, *pass; /* long-term credentials (copied) */
	enum turn_transport transport;
	int family;	    /* relay family: AF_INET (default) or AF_INET6 */
	bool dual;	    /* also ask for an IPv6 relay (ADDITIONAL-ADDRESS-FAMILY) */
	bool prefer_sha256; /* use SHA-256 when the server offers it (default MD5) */
	bool dont_fragment; /* DONT-FRAGMENT on Allocate */
	/* RFC 8489 §9.2.4: send USERHASH instead of USERNAME when the
	 * server's nonce announces username anonymity (else USERNAME) */
	bool userhash;
	uint32_t lifetime_s;	  /* requested allocation lifetime; 0 = the server's */
	uint32_t rto_ms;	  /* initial RTO over UDP; 0 = 500 (RFC 8489) */
	uint32_t perm_refresh_ms; /* 0 = 240000 (permissions live 300 s) */
	uint32_t chan_refresh_ms; /* 0 = 540000 (channels live 600 s) */
	const char *software;	  /* SOFTWARE attribute, or NULL */
};

struct turn_client;

/* turn_client_new - @cfg and @server copied. NULL with a reason in @msg. */
struct turn_client *turn_client_new(const struct turn_client_config *cfg,
				    const struct turn_client_cb *cb, const struct sockaddr *server,
				    char *msg, size_t msglen);
void turn_client_free(struct turn_client *c);

/* turn_client_start - send the first Allocate. 0 or negative errno. */
int turn_client_start(struct turn_client *c, uint64_t now_ms);
/* turn_client_input - a message from the server. Returns 1 when it was
 * TURN (consumed), 0 when it was not a message for this client. */
int turn_client_input(struct turn_client *c, const uint8_t *buf, size_t len, uint64_t now_ms);
/* turn_client_tick - retransmit and refresh what is due; returns the next
 * deadline (absolute ms). */
uint64_t turn_client_tick(struct turn_client *c, uint64_t now_ms);

/* turn_client_permit - CreatePermission for @peer's IP, kept refreshed.
 * May be called before the allocation succeeds (sent once it does). */
int turn_client_permit(struct turn_client *c, const struct sockaddr *peer, uint64_t now_ms);
/* turn_client_bind - ChannelBind for @peer (a number from 0x4000 up),
 * kept refreshed; data to @peer then goes as ChannelData. */
int turn_client_bind(struct turn_client *c, const struct sockaddr *peer, uint64_t now_ms);
/* turn_client_send - relay @len bytes to @peer: ChannelData when a channel
 * is bound, else a Send indication. -ENOTCONN before the allocation. */
int turn_client_send(struct turn_client *c, const struct sockaddr *peer, const uint8_t *buf,
		     size_t len);
/* turn_client_close - Refresh with LIFETIME 0 (best effort); while one is
 * pending, another call sends nothing. Once closed (or failed), the
 * answer of a Refresh still pending no longer changes the state. */
int turn_client_close(struct turn_client *c, uint64_t now_ms);

enum turn_client_state turn_client_state(const struct turn_client *c);
int turn_client_error(const struct turn_client *c); /* last error code */
/* the relayed address @i (0, or 1 for the dual allocation's IPv6); -ENOENT */
int turn_client_relayed(const struct turn_client *c, int i, struct sockaddr_storage *out);
int turn_client_mapped(const struct turn_client *c, struct sockaddr_storage *out);
const struct sockaddr *turn_client_server(const struct turn_client *c);
uint32_t turn_client_lifetime_s(const struct turn_client *c);
/* turn_client_auth_used - how authenticated requests are signed now: the
 * SHA-256 password algorithm (else MD5), USERHASH (else USERNAME). */
void turn_client_auth_used(const struct turn_client *c, bool *sha256, bool *userhash);

#endif

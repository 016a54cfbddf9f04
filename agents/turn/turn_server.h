/* turn_server.h - the TURN server state machine (RFC 8656, RFC 6156).
 *
 * Driven from outside: turn_server_input() for each message a client sent
 * (a UDP datagram, or one frame cut from a TCP/TLS stream),
 * turn_server_relay_input() for each datagram a peer sent to a relayed
 * address, turn_server_tick() for timers. Every call takes the time. The
 * sockets stay behind struct turn_server_io, so unit tests run the server
 * with fake sockets and a fake clock; agents/bin/natlab-turn-server.c runs
 * it with epoll.
 *
 * Nothing is allocated per packet: messages are built in one scratch
 * buffer owned by the server, the allocation table is sized at creation.
 */
#ifndef NATLAB_TURN_SERVER_H
#define NATLAB_TURN_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "agents/turn/turn_alloc.h"

struct turn_server_config {
	const char *realm;    /* copied; default "natlab" */
	const char *secret;   /* shared secret (REST scheme) or NULL; copied */
	const char *software; /* SOFTWARE attribute in authenticated answers, or NULL */
	uint32_t max_allocs;  /* total quota (486 past it); 0 = 1024 */
	uint32_t user_quota;  /* per-user quota (486 past it); 0 = unlimited */
	/* RFC 8656 §3.2/§7.2: default lifetime 600 s, a maximum of 3600 s is
	 * RECOMMENDED; §9: permissions last 300 s; §12: channels 600 s. */
	uint32_t default_lifetime_s, max_lifetime_s;
	uint32_t perm_lifetime_s, channel_lifetime_s;
	uint32_t nonce_lifetime_s;   /* 438 after; default 600 */
	uint64_t bandwidth_bytes_s;  /* per allocation, both directions; 0 = no cap */
	uint32_t requests_per_s;     /* per source IP; 0 = no limit */
	uint32_t stats_interval_ms;  /* periodic "alloc-stats" events; 0 = only at the end */
	bool allow_loopback;	     /* relay to 127.0.0.0/8 and ::1 (tests) */
	bool relay_ipv4, relay_ipv6; /* which relay families exist; default IPv4 only */
	/* ALTERNATE-SERVER: when set, authenticated Allocates are answered 300
	 * Try Alternate pointing here (RFC 8656 §7.2, RFC 8489 §10). */
	const struct sockaddr *alternate;
	int64_t unix_offset_s; /* unix time = unix_offset_s + now_ms / 1000 (REST expiry) */
};

/* The security defaults a careful operator expects (docs/turn.md
 * "Security defaults"). natlab-turn-server starts from these (its options
 * change them, 0 switches one off); a config zeroed by hand has only the
 * total quota, which unit tests rely on.
 *  - 64 allocations per user: one leaked static credential cannot take all
 *    1024; an ICE agent holds one allocation per TURN transport and
 *    component, so even a many-agent lab cell stays far below it.
 *  - 2 000 000 bytes/s per allocation (16 Mbit/s, both directions
 *    together): several HD video calls' worth, so one allocation cannot
 *    fill the server's uplink.
 *  - 100 requests/s per source IP (burst 100): an ICE agent makes a few
 *    dozen requests in its first second; a flood from one address (or a
 *    spoofed reflection attempt over UDP) gets no answers past it. */
#define TURN_DEFAULT_MAX_ALLOCS	       1024u
#define TURN_DEFAULT_USER_QUOTA	       64u
#define TURN_DEFAULT_BANDWIDTH_BYTES_S 2000000u
#define TURN_DEFAULT_REQUESTS_PER_S    100u

/* turn_server_config_defaults - zero @cfg and set the quotas and limits
 * above (the lifetimes stay 0: turn_server_new applies the RFC's). */
void turn_server_config_defaults(struct turn_server_config *cfg);

/* The server's sockets, supplied by the caller (the binary or a test). */
struct turn_server_io {
	void *ctx;
	/* open a relay socket of @family bound to @port (0: any) on the relay
	 * address; fill @bound. @cookie comes back in turn_server_relay_input.
	 * Returns a handle >= 0, or a negative errno (-EADDRINUSE for a taken
	 * port). */
	int (*relay_open)(void *ctx, int family, uint16_t port, uint32_t cookie,
			  struct sockaddr_storage *bound);
	/* a reserved relay (EVEN-PORT R) becomes an allocation's: new cookie */
	void (*relay_set_cookie)(void *ctx, int handle, uint32_t cookie);
	/* close a relay socket, or the listening socket of an RFC 6062 TCP
	 * relay (a tcp_listen handle) */
	void (*relay_close)(void *ctx, int handle);
	/* send from a relayed address; @df: RFC 8656 DONT-FRAGMENT asked */
	int (*relay_send)(void *ctx, int handle, const struct sockaddr *peer, const uint8_t *buf,
			  size_t len, bool df);
	/* send to a client over the 5-tuple @k (frames already padded for
	 * streams) */
	int (*client_send)(void *ctx, const struct turn_key *k, const uint8_t *buf, size_t len);
	/* one JSON object (no newline) describing an allocation event */
	void (*event)(void *ctx, const char *json);
	/* RFC 6062 TCP relays (may be NULL: Allocate for TCP then gets 442).
	 * tcp_listen: a listening socket on the relay address, port 0;
	 * connections to it go to turn_server_tcp_accepted with @cookie. */
	int (*tcp_listen)(void *ctx, int family, uint32_t cookie, struct sockaddr_storage *bound);
	/* tcp_connect: connect from the address of @listen_handle to @peer
	 * without blocking; report with turn_server_tcp_connected(@id). */
	int (*tcp_connect)(void *ctx, int listen_handle, const struct sockaddr *peer, uint32_t id);
	/* tcp_close: drop a peer connection the server gives up on */
	void (*tcp_close)(void *ctx, int handle);
	/* tcp_splice: after ConnectionBind succeeded on the client connection
	 * @k, move bytes as they are between it and @peer_handle; the caller
	 * owns both from now on */
	void (*tcp_splice)(void *ctx, const struct turn_key *k, int peer_handle);
};

struct turn_server;

/* turn_server_new - @cfg and @io are copied. NULL with a reason in @msg. */
struct turn_server *turn_server_new(const struct turn_server_config *cfg,
				    const struct turn_server_io *io, uint64_t now_ms, char *msg,
				    size_t msglen);
/* turn_server_free - closes every relay through io and emits the final
 * counters of each allocation still open. */
void turn_server_free(struct turn_server *s, uint64_t now_ms);

/* turn_server_user_add - a static user (copied). 0 or negative errno. */
int turn_server_user_add(struct turn_server *s, const char *user, const char *pass);
/* turn_server_deny_add / allow_add: peer ranges (see turn_policy.h). */
int turn_server_deny_add(struct turn_server *s, const char *cidr);
int turn_server_allow_add(struct turn_server *s, const char *cidr);
/* turn_server_own_add - a listening address of the server (never a peer). */
int turn_server_own_add(struct turn_server *s, const struct sockaddr *sa);

/* turn_server_input - one message from a client over @k. */
void turn_server_input(struct turn_server *s, const struct turn_key *k, const uint8_t *buf,
		       size_t len, uint64_t now_ms);
/* turn_server_relay_input - one datagram from @peer to the relay @handle
 * whose cookie is @cookie. */
void turn_server_relay_input(struct turn_server *s, uint32_t cookie, int handle,
			     const struct sockaddr *peer, const uint8_t *buf, size_t len,
			     uint64_t now_ms);
/* turn_server_conn_closed - a stream client went away: RFC 8656 §3.1 the
 * allocation is deleted when the TCP connection closes. */
void turn_server_conn_closed(struct turn_server *s, const struct turn_key *k, uint64_t now_ms);
/* turn_server_tcp_connected - the outgoing connection @id of a Connect
 * request finished: @err 0 (connected) or a negative errno. */
void turn_server_tcp_connected(struct turn_server *s, uint32_t id, int err, uint64_t now_ms);
/* turn_server_tcp_accepted - a peer connected to the TCP relay whose
 * cookie is @cookie, now @handle. Returns 0 when the server keeps it (and
 * sent ConnectionAttempt), negative when the caller must close it. */
int turn_server_tcp_accepted(struct turn_server *s, uint32_t cookie, int handle,
			     const struct sockaddr *peer, uint64_t now_ms);

/* turn_server_tick - expire what is due; returns the next deadline (ms). */
uint64_t turn_server_tick(struct turn_server *s, uint64_t now_ms);

/* A relay receive buffer: the caller may read peer datagrams straight to
 * turn_server_relay_buf(s) and pass that pointer to relay_input, so that
 * the ChannelData header is written in front without a copy. */
uint8_t *turn_server_relay_buf(struct turn_server *s, size_t *cap);

uint32_t turn_server_alloc_count(const struct turn_server *s);

/* turn_server_has_alloc - whether the 5-tuple (or stream connection) @k
 * holds an allocation: a stream connection that holds none and stays
 * silent can be closed without harming any client. */
bool turn_server_has_alloc(struct turn_server *s, const struct turn_key *k);

#endif

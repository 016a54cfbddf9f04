/* tcpsock.h - the sockets behind natlab-ice's TCP candidates (RFC 6544):
 * a listening socket per passive candidate, the source address of each
 * active one, and the connections either makes; every message on a
 * connection is RFC 4571-framed (tcpframe.h).
 *
 * I/O code (the agent state machine stays pure, see ice.h): the caller
 * adds the pollfds it is given to its poll() and hands the results back.
 * Ids: passive bases, active bases and connections are ints the caller
 * passes to the agent as base ids and connection handles; they are
 * @id_base + 0..ICE_TCPSOCK_BASES_MAX-1 (passive), + ICE_TCPSOCK_BASES_MAX
 * .. 2*ICE_TCPSOCK_BASES_MAX-1 (active) and + ICE_TCPSOCK_CONN_OFFSET +
 * slot (connections), so the caller keeps that range free of its own ids.
 * The callbacks run from ice_tcpsock_io() only, never from the other
 * calls; they may call back into this module (send, close, connect).
 */
#ifndef NATLAB_AGENTS_ICE_TCPSOCK_H
#define NATLAB_AGENTS_ICE_TCPSOCK_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "agents/ice/candidate.h"

#define ICE_TCPSOCK_BASES_MAX	16
#define ICE_TCPSOCK_CONNS_MAX	32
#define ICE_TCPSOCK_CONN_OFFSET 100
#define ICE_TCPSOCK_FDS_MAX	(ICE_TCPSOCK_BASES_MAX + ICE_TCPSOCK_CONNS_MAX)
/* what a connection may have waiting to be written before new messages
 * are dropped (whole: a peer never sees half a frame) */
#define ICE_TCPSOCK_OUTQ_MAX (256 * 1024)

struct ice_tcpsock;

struct ice_tcpsock_cb {
	void *ctx;
	/* passive base @base_id accepted @conn from @peer */
	void (*accepted)(void *ctx, int base_id, int conn, const union ice_addr *peer);
	/* the connection ice_tcpsock_connect() started is up */
	void (*connected)(void *ctx, int conn);
	/* @conn failed to connect, was reset or ended: it is closed and its
	 * id free again */
	void (*closed)(void *ctx, int conn);
	/* one unframed message from @conn's @peer */
	void (*message)(void *ctx, int conn, const union ice_addr *peer, const uint8_t *buf,
			size_t len);
};

/* ice_tcpsock_new - @cb is copied. Caller owns *@out. */
int ice_tcpsock_new(const struct ice_tcpsock_cb *cb, int id_base, struct ice_tcpsock **out);
/* ice_tcpsock_free - closes every socket; NULL is fine. */
void ice_tcpsock_free(struct ice_tcpsock *s);

/* ice_tcpsock_listen - a passive base: a socket listening on @ip (any
 * port) for @component; the same one again when it exists. Fills *@bound
 * with the address it listens on. Returns its id or a negative errno. */
int ice_tcpsock_listen(struct ice_tcpsock *s, unsigned component, const union ice_addr *ip,
		       union ice_addr *bound);
/* ice_tcpsock_active - an active base: @ip as the source of outgoing
 * connections for @component (no socket until one connects). Returns its
 * id or a negative errno. */
int ice_tcpsock_active(struct ice_tcpsock *s, unsigned component, const union ice_addr *ip);
/* ice_tcpsock_retain - forget the bases whose IP is none of @ips (@n of
 * them): a host that roamed lost those addresses. Their connections stay
 * until closed. */
void ice_tcpsock_retain(struct ice_tcpsock *s, const union ice_addr *ips, unsigned n);

/* ice_tcpsock_owns - whether @id is one of this module's connections. */
bool ice_tcpsock_owns(const struct ice_tcpsock *s, int id);
/* ice_tcpsock_connect - a non-blocking connection from active base
 * @base_id to @to. Returns the connection's id (the outcome comes through
 * cb.connected or cb.closed) or a negative errno. */
int ice_tcpsock_connect(struct ice_tcpsock *s, int base_id, const union ice_addr *to);
/* ice_tcpsock_send - frame @buf (@len <= 65535 bytes) and send it on
 * @conn, queueing what the socket does not take at once. -EMSGSIZE,
 * -ENOTCONN (no such connection), -ENOBUFS (queue full: dropped). */
int ice_tcpsock_send(struct ice_tcpsock *s, int conn, const uint8_t *buf, size_t len);
/* ice_tcpsock_close - close @conn; no callback follows. */
void ice_tcpsock_close(struct ice_tcpsock *s, int conn);

/* ice_tcpsock_pollfds - the sockets to poll, into @pfd (room for
 * ICE_TCPSOCK_FDS_MAX); returns how many. */
unsigned ice_tcpsock_pollfds(struct ice_tcpsock *s, struct pollfd *pfd);
/* ice_tcpsock_io - act on @pfd (@n entries, as ice_tcpsock_pollfds
 * returned them, with revents filled by poll()). */
void ice_tcpsock_io(struct ice_tcpsock *s, const struct pollfd *pfd, unsigned n);

#endif

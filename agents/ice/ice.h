/* ice.h - an RFC 8445 ICE agent as a pure state machine.
 *
 * The agent owns no socket and reads no clock. The caller:
 *  - registers its sockets as bases (ice_agent_add_host / _add_relay),
 *  - feeds every datagram that arrives on them (ice_agent_recv),
 *  - calls ice_agent_tick() when the deadline it returned has come,
 *  - passes the current time (milliseconds, any monotonic origin) to every
 *    call.
 * The agent sends through io->send and reports through io->event; both are
 * called synchronously from inside the agent's calls. Unit tests run two
 * agents against each other in memory on a fake clock with this interface.
 *
 * STUN messages are built and parsed by the codec in agents/stun/stun.h.
 */
#ifndef NATLAB_AGENTS_ICE_ICE_H
#define NATLAB_AGENTS_ICE_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "agents/ice/candidate.h"
#include "agents/ice/checklist.h"

#define ICE_STUN_SERVERS_MAX 4
#define ICE_LOCALS_MAX	     64
#define ICE_REMOTES_MAX	     64
#define ICE_UFRAG_LEN	     8	/* RFC 8839 §5.4: ufrag 4..256 ice-chars */
#define ICE_PWD_LEN	     24 /* RFC 8839 §5.4: pwd 22..256 ice-chars */
#define ICE_CRED_MAX	     256
#define ICE_NEVER	     UINT64_MAX

enum ice_policy { ICE_POLICY_ALL, ICE_POLICY_NOHOST, ICE_POLICY_RELAY };

enum ice_state {
	ICE_STATE_NEW,
	ICE_STATE_GATHERING,
	ICE_STATE_CHECKING,
	ICE_STATE_CONNECTED,
	ICE_STATE_COMPLETED,
	ICE_STATE_FAILED,
	ICE_STATE_DISCONNECTED,
	ICE_STATE_CLOSED,
};

struct ice_config {
	bool controlling;
	unsigned components; /* 1..ICE_COMPONENT_MAX; 0 means 1 */
	bool aggressive;     /* aggressive nomination (RFC 5245 style) */
	bool trickle;	     /* RFC 8838: wait for end-of-candidates to fail */
	enum ice_policy policy;
	/* RFC 8445 §14.2: Ta, "the default ... 50 ms"; 0 means default. */
	uint32_t ta_ms;
	/* RFC 8445 §14.3: RTO = MAX(rto_ms, Ta * (Waiting + In-Progress));
	 * rto_ms default 500. */
	uint32_t rto_ms;
	/* RFC 8489 §6.2.1: Rc transmissions (default 7), then Rm*RTO wait
	 * (Rm default 16). */
	unsigned max_tx;
	unsigned rm;
	/* RFC 7675 §5.1: consent checks every keepalive_ms (default 5000,
	 * randomized ±20%); consent lost after consent_timeout_ms (default
	 * 30000) without a response. keepalive_ms == UINT32_MAX turns both
	 * consent checks and keepalives off. */
	uint32_t keepalive_ms;
	uint32_t consent_timeout_ms;
	/* Regular nomination: how long at most the controlling agent waits
	 * after a component's first valid pair for a better one (default
	 * 100 ms); a better pair whose check is older than 5/4 of a direct
	 * valid pair's round trip is not waited for.
	 * When that pair is relayed, the wait also covers the first
	 * retransmission of every better direct check (see
	 * nominate_at in ice.c), up to MAX(nominate_wait_ms, 3 * RTO), this
	 * RTO never below 500 ms however small rto_ms is (a peer's checks,
	 * which can open the direct path, come at the peer's pace). */
	uint32_t nominate_wait_ms;
	/* natlab-ice --nominate-relay-first: the controlling agent nominates
	 * the first valid relayed pair at once, then, while on it, a direct
	 * pair as soon as one is valid (see relay_first_pick in ice.c). A test
	 * double of stacks that switch pairs after selecting (issue 16). */
	bool relay_first;
	/* Server-reflexive gathering gives up on silent STUN servers after
	 * this long (default 3000 ms): a blocked UDP path must not hold the
	 * whole gathering for the full 39.5 s STUN transaction timeout. */
	uint32_t gather_timeout_ms;
	union ice_addr stun[ICE_STUN_SERVERS_MAX];
	unsigned n_stun;
	/* 0: derived from seed. */
	uint64_t tiebreaker;
	uint64_t seed; /* PRNG seed for credentials, tie-breaker, transaction IDs */
};

enum ice_event_type {
	ICE_EV_CANDIDATE, /* cand: a new local candidate to signal */
	ICE_EV_GATHERING_DONE,
	ICE_EV_STATE,	     /* state */
	ICE_EV_SELECTED,     /* component, local, remote, rtt_ms */
	ICE_EV_SWITCHED,     /* same fields as SELECTED */
	ICE_EV_CONSENT_LOST, /* component, local, remote */
	ICE_EV_FAILED,	     /* reason */
	ICE_EV_DATA,	     /* component, data, len, from */
	ICE_EV_LOG,	     /* reason: the text */
	ICE_EV_RESTARTED,    /* new credentials: signal them again */
};

struct ice_event {
	enum ice_event_type type;
	const struct ice_candidate *cand;
	enum ice_state state;
	unsigned component;
	const struct ice_local *local;
	const struct ice_candidate *remote;
	uint32_t rtt_ms;
	const char *reason;
	const uint8_t *data;
	size_t len;
};

struct ice_io {
	void *ctx;
	/* send @len bytes from base @base_id to @to; the agent ignores errors
	 * (a lost datagram is what checks are made to survive). */
	void (*send)(void *ctx, int base_id, const union ice_addr *to, const uint8_t *buf,
		     size_t len);
	void (*event)(void *ctx, const struct ice_event *ev);
	/* Optional. RFC 8445 §9: "the agent MUST gather new candidates" on
	 * an ICE restart, its own or the peer's. When set, a restart forgets
	 * every base (host sockets and relays) and calls regather between
	 * ICE_EV_RESTARTED and the new gathering: the caller enumerates its
	 * addresses again, adds the bases it still has or newly has
	 * (ice_agent_add_host / ice_agent_add_relay; candidates added here
	 * are signalled when gathering starts) and returns true when relays
	 * are still being allocated (it then calls ice_agent_gather_done()).
	 * When NULL, a restart keeps the bases it had. */
	bool (*regather)(void *ctx, uint64_t now_ms);
	/* Optional: TCP candidates (RFC 6544, ice_tcp.c). tcp_connect opens a
	 * TCP connection from the active TCP base @base_id (its IP, any port)
	 * to @to and returns a connection handle: >= 0 and different from
	 * every base id and every live handle. The caller reports the outcome
	 * later with ice_agent_tcp_connected() or ice_agent_tcp_closed()
	 * (never from inside tcp_connect); a negative errno fails the check at
	 * once. Once a connection exists, send(ctx, handle, to, ...) writes
	 * one message on it (@to is the peer, for information: the connection
	 * already has it) and the caller frames it (RFC 4571, tcpframe.h);
	 * what arrives on it is unframed and fed to ice_agent_recv() with the
	 * handle as the base id. tcp_close: the agent no longer needs the
	 * connection (the caller closes it and reports nothing more). */
	int (*tcp_connect)(void *ctx, int base_id, const union ice_addr *to);
	void (*tcp_close)(void *ctx, int conn);
};

struct ice_agent;

/* ice_agent_new - @cfg and @io are copied. Caller owns *@out. */
int ice_agent_new(const struct ice_config *cfg, const struct ice_io *io, struct ice_agent **out);
void ice_agent_free(struct ice_agent *a);

/* Local credentials (valid until the next restart). */
const char *ice_agent_ufrag(const struct ice_agent *a);
const char *ice_agent_pwd(const struct ice_agent *a);
bool ice_agent_controlling(const struct ice_agent *a);
enum ice_state ice_agent_state(const struct ice_agent *a);
const char *ice_state_name(enum ice_state s);

/* ice_agent_add_host - a socket bound to @addr for @component becomes a
 * base and a host candidate (not signalled under policy nohost). Returns
 * the local index or a negative errno. Call before ice_agent_gather(). */
int ice_agent_add_host(struct ice_agent *a, unsigned component, enum ice_transport tr,
		       const union ice_addr *addr, int base_id, uint64_t now_ms);
/* ice_agent_add_tcp_host - a TCP host candidate (RFC 6544 §4.1) for
 * @component: ICE_TCP_PASSIVE for a socket listening on @addr (the caller
 * reports accepted connections with ice_agent_tcp_accepted), ICE_TCP_ACTIVE
 * for @addr's IP as the source of outgoing connections (its port is
 * ignored: active candidates are signalled with port 9, RFC 6544 §4.5).
 * @base_id names the listener or the active source in io->tcp_connect.
 * Needs io->tcp_connect and io->tcp_close (-EOPNOTSUPP without). Returns
 * the local index or a negative errno. */
int ice_agent_add_tcp_host(struct ice_agent *a, unsigned component, enum ice_tcptype tcptype,
			   const union ice_addr *addr, int base_id, uint64_t now_ms);
/* ice_agent_tcp_accepted - passive base @base_id accepted connection
 * @conn (the caller's handle, same rules as io->tcp_connect) from
 * @peer. */
void ice_agent_tcp_accepted(struct ice_agent *a, int base_id, int conn, const union ice_addr *peer,
			    uint64_t now_ms);
/* ice_agent_tcp_connected - the connection io->tcp_connect started is
 * established. */
void ice_agent_tcp_connected(struct ice_agent *a, int conn, uint64_t now_ms);
/* ice_agent_tcp_closed - @conn failed to connect, was reset or reached
 * end of stream: the caller has closed it. */
void ice_agent_tcp_closed(struct ice_agent *a, int conn, uint64_t now_ms);

/* ice_agent_add_relay - a TURN allocation at @relayed (reached by the
 * caller through base @base_id: the caller wraps what the agent sends to
 * it, and unwraps what arrives) becomes a relayed candidate; @server is
 * the TURN server (for the foundation), @mapped the server-reflexive
 * address the allocation reported (related address). @via is how the
 * caller reaches the server (ICE_RELAY_VIA_*): it ranks relayed candidates
 * among themselves, UDP first (no head-of-line blocking), TLS last. */
/* (enum ice_relay_via is in candidate.h: the foundation depends on it) */
int ice_agent_add_relay(struct ice_agent *a, unsigned component, const union ice_addr *relayed,
			const union ice_addr *server, const union ice_addr *mapped,
			enum ice_relay_via via, int base_id, uint64_t now_ms);

/* ice_agent_add_mapped - a server-reflexive candidate at @mapped for the
 * host candidate of base @base_id, learnt from a port mapping (PCP or
 * NAT-PMP, agents/portmap/pmice.h) rather than STUN; signalled at once
 * when gathering has started. Returns its index, -ENOENT (no such host),
 * -EEXIST (redundant, RFC 8445 §5.1.3) or -ENOSPC. */
int ice_agent_add_mapped(struct ice_agent *a, int base_id, const union ice_addr *mapped,
			 uint64_t now_ms);

/* ice_agent_gather - start gathering: host candidates are reported now,
 * server-reflexive ones as the STUN servers answer. @relay_pending: the
 * caller is still allocating relays and will call ice_agent_gather_done()
 * when it has (or gave up); gathering completes only after that. */
void ice_agent_gather(struct ice_agent *a, bool relay_pending, uint64_t now_ms);
void ice_agent_gather_done(struct ice_agent *a, uint64_t now_ms);

/* ice_agent_set_remote - the peer's credentials. A ufrag/pwd different from
 * the ones already known means the peer restarted (RFC 8445 §9): the agent
 * restarts too (ICE_EV_RESTARTED) before taking the new ones. Strings are
 * copied; -EINVAL when out of RFC 8839 bounds. */
int ice_agent_set_remote(struct ice_agent *a, const char *ufrag, const char *pwd, uint64_t now_ms);
/* ice_agent_add_remote - one remote candidate (copied). */
int ice_agent_add_remote(struct ice_agent *a, const struct ice_candidate *c, uint64_t now_ms);
/* ice_agent_remote_done - RFC 8838 end-of-candidates from the peer. */
void ice_agent_remote_done(struct ice_agent *a, uint64_t now_ms);

/* ice_agent_recv - a datagram arrived on base @base_id from @from. */
void ice_agent_recv(struct ice_agent *a, int base_id, const union ice_addr *from,
		    const uint8_t *buf, size_t len, uint64_t now_ms);

/* ice_agent_tick - run the timers due at @now_ms; returns the next
 * deadline (ICE_NEVER when nothing is scheduled). */
uint64_t ice_agent_tick(struct ice_agent *a, uint64_t now_ms);

/* ice_agent_send - application data on @component's selected pair.
 * -ENOTCONN before selection or after consent was lost. */
int ice_agent_send(struct ice_agent *a, unsigned component, const uint8_t *buf, size_t len,
		   uint64_t now_ms);

/* ice_agent_restart - RFC 8445 §9: new credentials, check lists flushed,
 * gathering again (with io->regather: on the bases the caller adds back;
 * without: on the old bases, and @relay_pending says whether the caller
 * is allocating relays again). The old selected pair keeps carrying data
 * until a new one is selected, also when its base was dropped. */
void ice_agent_restart(struct ice_agent *a, bool relay_pending, uint64_t now_ms);

/* ice_agent_selected - the selected pair of @component, or false. */
bool ice_agent_selected(const struct ice_agent *a, unsigned component,
			const struct ice_local **local, const struct ice_candidate **remote);

/* One candidate pair as the agent holds it, for reports: the check list
 * with the RFC 8445 §6.1.2.6 state of each pair. @local is the valid
 * pair's local candidate once a check succeeded (it may be a peer
 * reflexive one), else the pair's own local (a base). Pointers are valid
 * until the agent next runs. */
struct ice_pair_info {
	unsigned component;
	const struct ice_local *local;
	const struct ice_candidate *remote;
	enum ice_pair_state state;
	uint64_t priority;
	bool valid;	 /* in the valid list */
	bool nominated;	 /* RFC 8445 §8.1.1 */
	unsigned checks; /* requests of its latest check (1 + retransmissions) */
	uint32_t rtt_ms; /* of the check that made it valid; 0 when not valid */
};

/* ice_agent_pair_count / ice_agent_pair_info - the check list in priority
 * order; info returns false past the end. */
unsigned ice_agent_pair_count(const struct ice_agent *a);
bool ice_agent_pair_info(const struct ice_agent *a, unsigned i, struct ice_pair_info *out);

/* Diagnostics for tests. */
const struct ice_checklist *ice_agent_checklist(const struct ice_agent *a);
unsigned ice_agent_checks_sent(const struct ice_agent *a);

#endif

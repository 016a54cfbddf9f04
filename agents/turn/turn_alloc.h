/* turn_alloc.h - the TURN server's allocation table: allocations keyed by
 * their 5-tuple, each with its relayed addresses, permissions, channels,
 * lifetimes and counters.
 *
 * Pure: no sockets, times are arguments. All memory is taken at
 * turn_alloc_table_new (a fixed number of slots), so nothing is allocated
 * while relaying.
 */
#ifndef NATLAB_TURN_ALLOC_H
#define NATLAB_TURN_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "agents/turn/turn_auth.h"
#include "agents/turn/turn_policy.h"

/* RFC 8656 does not bound these; the server answers 508 (Insufficient
 * Capacity) past them. */
#define TURN_ALLOC_PERMS_MAX	32
#define TURN_ALLOC_CHANNELS_MAX 32
/* RFC 8656 §12: channel numbers 0x4000 through 0x4FFF. */
#define TURN_CHANNEL_MIN 0x4000
#define TURN_CHANNEL_MAX 0x4FFF

enum turn_transport {
	TURN_TRANSPORT_UDP = 0,
	TURN_TRANSPORT_TCP = 1,
	TURN_TRANSPORT_TLS = 2,
};

/* The 5-tuple naming an allocation, as the server sees it: which listener,
 * over what, from where, and for stream transports which connection. */
struct turn_key {
	struct sockaddr_storage client;
	uint32_t listener; /* index of the server's listening socket */
	uint32_t conn;	   /* stream connection handle; 0 for UDP */
	uint8_t transport; /* enum turn_transport */
};

struct turn_perm {
	struct sockaddr_storage peer; /* only the IP counts (RFC 8656 §9) */
	uint64_t expires_ms;
};

struct turn_channel {
	uint16_t number;
	struct sockaddr_storage peer;
	uint64_t expires_ms;
};

struct turn_counters {
	uint64_t pkts_to_peer, bytes_to_peer;
	uint64_t pkts_from_peer, bytes_from_peer;
	uint64_t dropped; /* no permission, over the bandwidth cap, or a send error */
};

/* One relayed transport address (an allocation has one per address family,
 * RFC 8656 §7.2 ADDITIONAL-ADDRESS-FAMILY). */
struct turn_relay {
	bool open;
	int handle; /* from the server's I/O */
	struct sockaddr_storage addr;
};

struct turn_alloc {
	bool used;
	uint32_t slot;	     /* index in the table, stable for the allocation's life */
	uint32_t generation; /* bumped each time the slot is reused */
	struct turn_key key;
	struct turn_relay relay[2];
	uint64_t created_ms, expires_ms;
	uint8_t txid[12]; /* the Allocate that made it, for retransmissions */
	char user[TURN_AUTH_USERNAME_MAX];
	uint8_t hmac_key[TURN_AUTH_KEY_MAX];
	int hmac_key_len;
	enum turn_auth_alg alg;
	bool dont_fragment;
	bool tcp; /* RFC 6062: relay[0] is a TCP listening socket */
	struct turn_perm perm[TURN_ALLOC_PERMS_MAX];
	size_t nperm;
	struct turn_channel chan[TURN_ALLOC_CHANNELS_MAX];
	size_t nchan;
	struct turn_counters c;
	struct turn_bucket bw;
};

struct turn_alloc_table;

/* turn_alloc_table_new - room for @max allocations. NULL on ENOMEM. */
struct turn_alloc_table *turn_alloc_table_new(uint32_t max);
void turn_alloc_table_free(struct turn_alloc_table *t);

uint32_t turn_alloc_table_count(const struct turn_alloc_table *t);
uint32_t turn_alloc_table_max(const struct turn_alloc_table *t);
uint32_t turn_alloc_table_count_user(const struct turn_alloc_table *t, const char *user);

/* turn_alloc_find - the allocation of @k, or NULL. */
struct turn_alloc *turn_alloc_find(struct turn_alloc_table *t, const struct turn_key *k);
/* turn_alloc_slot - the allocation in @slot if used, or NULL. */
struct turn_alloc *turn_alloc_slot(struct turn_alloc_table *t, uint32_t slot);
/* turn_alloc_add - a zeroed allocation for @k (which must not exist). NULL
 * when the table is full. The caller fills it in. */
struct turn_alloc *turn_alloc_add(struct turn_alloc_table *t, const struct turn_key *k,
				  uint64_t now_ms);
/* turn_alloc_remove - free the slot (the caller closed the relays first). */
void turn_alloc_remove(struct turn_alloc_table *t, struct turn_alloc *a);

/* turn_alloc_next_expired - the next used allocation whose lifetime ended at
 * @now_ms, starting the scan at *@cursor; NULL when none is left. */
struct turn_alloc *turn_alloc_next_expired(struct turn_alloc_table *t, uint64_t now_ms,
					   uint32_t *cursor);
/* turn_alloc_next - iterate over used allocations (cursor from 0). */
struct turn_alloc *turn_alloc_next(struct turn_alloc_table *t, uint32_t *cursor);

/* Address helpers (compare only what RFC 8656 says matters). */
bool turn_addr_same_ip(const struct sockaddr *a, const struct sockaddr *b);
bool turn_addr_same(const struct sockaddr *a, const struct sockaddr *b);
socklen_t turn_addr_len(const struct sockaddr *a);
/* turn_addr_str - "1.2.3.4:5" or "[::1]:5" into @out. */
const char *turn_addr_str(const struct sockaddr *a, char *out, size_t cap);

/* turn_alloc_perm_install - install or refresh the permission for @peer's IP
 * until @now_ms + @lifetime_ms. -ENOSPC when the allocation has no room. */
int turn_alloc_perm_install(struct turn_alloc *a, const struct sockaddr *peer, uint64_t now_ms,
			    uint64_t lifetime_ms);
/* turn_alloc_perm_ok - RFC 8656 §9: a permission for @peer's IP is live. */
bool turn_alloc_perm_ok(const struct turn_alloc *a, const struct sockaddr *peer, uint64_t now_ms);

/* turn_alloc_channel_bind - RFC 8656 §12.2 rules: bind @number to @peer or
 * refresh that same binding. -EEXIST when the number is bound (or, in its
 * 5-minute quarantine, was bound) to another peer or the peer to another
 * number; -ENOSPC when full. */
int turn_alloc_channel_bind(struct turn_alloc *a, uint16_t number, const struct sockaddr *peer,
			    uint64_t now_ms, uint64_t lifetime_ms);
/* turn_alloc_channel_peer - the live channel @number, or NULL. */
const struct turn_channel *turn_alloc_channel_peer(const struct turn_alloc *a, uint16_t number,
						   uint64_t now_ms);
/* turn_alloc_channel_number - the live channel number of @peer, or 0. */
uint16_t turn_alloc_channel_number(const struct turn_alloc *a, const struct sockaddr *peer,
				   uint64_t now_ms);

/* turn_alloc_prune - drop permissions and channels past their quarantine. */
void turn_alloc_prune(struct turn_alloc *a, uint64_t now_ms);

/* RFC 8656 §12: the server MUST NOT rebind that channel number ... for a
 * period of 5 minutes after the binding expires (the quarantine). */
#define TURN_CHANNEL_QUARANTINE_MS 300000u

#endif

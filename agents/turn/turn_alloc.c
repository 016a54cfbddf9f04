#include "agents/turn/turn_alloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct turn_alloc_table {
	uint32_t max, count;
	struct turn_alloc *slots;
	uint32_t *free_list; /* stack of free slot numbers */
	uint32_t nfree;
	uint32_t *index; /* open addressing, linear probing: slot + 1, 0 empty */
	uint32_t index_mask;
};

socklen_t turn_addr_len(const struct sockaddr *a)
{
	return a->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static const uint8_t *ip_bytes(const struct sockaddr *a, size_t *n, uint16_t *port)
{
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)a;
		*n = 16;
		*port = s->sin6_port;
		return (const uint8_t *)&s->sin6_addr;
	}
	const struct sockaddr_in *s = (const struct sockaddr_in *)a;
	*n = a->sa_family == AF_INET ? 4 : 0;
	*port = s->sin_port;
	return (const uint8_t *)&s->sin_addr;
}

bool turn_addr_same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
	size_t na, nb;
	uint16_t pa, pb;
	const uint8_t *x = ip_bytes(a, &na, &pa);
	const uint8_t *y = ip_bytes(b, &nb, &pb);

	return a->sa_family == b->sa_family && na == nb && memcmp(x, y, na) == 0;
}

bool turn_addr_same(const struct sockaddr *a, const struct sockaddr *b)
{
	size_t na, nb;
	uint16_t pa, pb;
	const uint8_t *x = ip_bytes(a, &na, &pa);
	const uint8_t *y = ip_bytes(b, &nb, &pb);

	return a->sa_family == b->sa_family && na == nb && pa == pb && memcmp(x, y, na) == 0;
}

const char *turn_addr_str(const struct sockaddr *a, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	size_t n;
	uint16_t port;
	const uint8_t *x = ip_bytes(a, &n, &port);

	if (n)
		inet_ntop(a->sa_family, x, ip, sizeof(ip));
	if (a->sa_family == AF_INET6)
		snprintf(out, cap, "[%s]:%u", ip, ntohs(port));
	else
		snprintf(out, cap, "%s:%u", ip, ntohs(port));
	return out;
}

static uint32_t key_hash(const struct turn_key *k)
{
	uint32_t h = 2166136261u;
	size_t n;
	uint16_t port;
	const uint8_t *x = ip_bytes((const struct sockaddr *)&k->client, &n, &port);
	uint8_t extra[11];

	for (size_t i = 0; i < n; i++)
		h = (h ^ x[i]) * 16777619u;
	memcpy(extra, &port, 2);
	memcpy(extra + 2, &k->listener, 4);
	memcpy(extra + 6, &k->conn, 4);
	extra[10] = k->transport;
	for (size_t i = 0; i < sizeof(extra); i++)
		h = (h ^ extra[i]) * 16777619u;
	return h;
}

static bool key_eq(const struct turn_key *a, const struct turn_key *b)
{
	return a->listener == b->listener && a->conn == b->conn && a->transport == b->transport &&
	       turn_addr_same((const struct sockaddr *)&a->client,
			      (const struct sockaddr *)&b->client);
}

struct turn_alloc_table *turn_alloc_table_new(uint32_t max)
{
	struct turn_alloc_table *t = calloc(1, sizeof(*t));
	uint32_t cap = 16;

	if (!t || max == 0 || max > (1u << 24))
		goto fail;
	while (cap < 2 * max)
		cap <<= 1;
	t->max = max;
	t->slots = calloc(max, sizeof(*t->slots));
	t->free_list = calloc(max, sizeof(*t->free_list));
	t->index = calloc(cap, sizeof(*t->index));
	if (!t->slots || !t->free_list || !t->index)
		goto fail;
	t->index_mask = cap - 1;
	/* pop order: slot 0 first */
	for (uint32_t i = 0; i < max; i++)
		t->free_list[i] = max - 1 - i;
	t->nfree = max;
	return t;
fail:
	turn_alloc_table_free(t);
	return NULL;
}

void turn_alloc_table_free(struct turn_alloc_table *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t->free_list);
	free(t->index);
	free(t);
}

uint32_t turn_alloc_table_count(const struct turn_alloc_table *t)
{
	return t->count;
}

uint32_t turn_alloc_table_max(const struct turn_alloc_table *t)
{
	return t->max;
}

uint32_t turn_alloc_table_count_user(const struct turn_alloc_table *t, const char *user)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < t->max; i++) {
		if (t->slots[i].used && strcmp(t->slots[i].user, user) == 0)
			n++;
	}
	return n;
}

struct turn_alloc *turn_alloc_find(struct turn_alloc_table *t, const struct turn_key *k)
{
	for (uint32_t i = key_hash(k) & t->index_mask;; i = (i + 1) & t->index_mask) {
		uint32_t v = t->index[i];
		if (v == 0)
			return NULL;
		if (key_eq(&t->slots[v - 1].key, k))
			return &t->slots[v - 1];
	}
}

struct turn_alloc *turn_alloc_slot(struct turn_alloc_table *t, uint32_t slot)
{
	if (slot >= t->max || !t->slots[slot].used)
		return NULL;
	return &t->slots[slot];
}

struct turn_alloc *turn_alloc_add(struct turn_alloc_table *t, const struct turn_key *k,
				  uint64_t now_ms)
{
	if (t->nfree == 0)
		return NULL;
	uint32_t s = t->free_list[--t->nfree];
	struct turn_alloc *a = &t->slots[s];
	uint32_t gen = a->generation + 1;

	memset(a, 0, sizeof(*a));
	a->used = true;
	a->slot = s;
	a->generation = gen;
	a->key = *k;
	a->created_ms = now_ms;
	a->relay[0].handle = -1;
	a->relay[1].handle = -1;
	uint32_t i = key_hash(k) & t->index_mask;
	while (t->index[i])
		i = (i + 1) & t->index_mask;
	t->index[i] = s + 1;
	t->count++;
	return a;
}

void turn_alloc_remove(struct turn_alloc_table *t, struct turn_alloc *a)
{
	uint32_t i = key_hash(&a->key) & t->index_mask;

	while (t->index[i] != a->slot + 1)
		i = (i + 1) & t->index_mask;
	/* Backward-shift deletion keeps every probe chain unbroken. */
	for (uint32_t j = (i + 1) & t->index_mask; t->index[j]; j = (j + 1) & t->index_mask) {
		uint32_t home = key_hash(&t->slots[t->index[j] - 1].key) & t->index_mask;
		/* move j into the hole at i if its home is not in (i, j] */
		bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!between) {
			t->index[i] = t->index[j];
			i = j;
		}
	}
	t->index[i] = 0;
	a->used = false;
	t->free_list[t->nfree++] = a->slot;
	t->count--;
}

struct turn_alloc *turn_alloc_next_expired(struct turn_alloc_table *t, uint64_t now_ms,
					   uint32_t *cursor)
{
	for (; *cursor < t->max; (*cursor)++) {
		struct turn_alloc *a = &t->slots[*cursor];
		if (a->used && a->expires_ms <= now_ms) {
			(*cursor)++;
			return a;
		}
	}
	return NULL;
}

struct turn_alloc *turn_alloc_next(struct turn_alloc_table *t, uint32_t *cursor)
{
	for (; *cursor < t->max; (*cursor)++) {
		if (t->slots[*cursor].used)
			return &t->slots[(*cursor)++];
	}
	return NULL;
}

int turn_alloc_perm_install(struct turn_alloc *a, const struct sockaddr *peer, uint64_t now_ms,
			    uint64_t lifetime_ms)
{
	for (size_t i = 0; i < a->nperm; i++) {
		if (turn_addr_same_ip((const struct sockaddr *)&a->perm[i].peer, peer)) {
			a->perm[i].expires_ms = now_ms + lifetime_ms;
			return 0;
		}
	}
	turn_alloc_prune(a, now_ms);
	if (a->nperm >= TURN_ALLOC_PERMS_MAX)
		return -ENOSPC;
	memset(&a->perm[a->nperm].peer, 0, sizeof(a->perm[0].peer));
	memcpy(&a->perm[a->nperm].peer, peer, turn_addr_len(peer));
	a->perm[a->nperm].expires_ms = now_ms + lifetime_ms;
	a->nperm++;
	return 0;
}

bool turn_alloc_perm_ok(const struct turn_alloc *a, const struct sockaddr *peer, uint64_t now_ms)
{
	for (size_t i = 0; i < a->nperm; i++) {
		if (a->perm[i].expires_ms > now_ms &&
		    turn_addr_same_ip((const struct sockaddr *)&a->perm[i].peer, peer))
			return true;
	}
	return false;
}

int turn_alloc_channel_bind(struct turn_alloc *a, uint16_t number, const struct sockaddr *peer,
			    uint64_t now_ms, uint64_t lifetime_ms)
{
	struct turn_channel *same = NULL;

	for (size_t i = 0; i < a->nchan; i++) {
		struct turn_channel *c = &a->chan[i];
		bool reserved = c->expires_ms + TURN_CHANNEL_QUARANTINE_MS > now_ms;
		bool num = c->number == number;
		bool addr = turn_addr_same((const struct sockaddr *)&c->peer, peer);
		if (num && addr) {
			same = c;
		} else if (reserved && (num || addr)) {
			/* RFC 8656 §12.2: The channel number is not currently bound
			 * to a different transport address (same transport address is
			 * OK); the transport address is not currently bound to a
			 * different channel number. */
			return -EEXIST;
		}
	}
	if (same) {
		same->expires_ms = now_ms + lifetime_ms;
		return 0;
	}
	turn_alloc_prune(a, now_ms);
	if (a->nchan >= TURN_ALLOC_CHANNELS_MAX)
		return -ENOSPC;
	struct turn_channel *c = &a->chan[a->nchan++];
	c->number = number;
	memset(&c->peer, 0, sizeof(c->peer));
	memcpy(&c->peer, peer, turn_addr_len(peer));
	c->expires_ms = now_ms + lifetime_ms;
	return 0;
}

const struct turn_channel *turn_alloc_channel_peer(const struct turn_alloc *a, uint16_t number,
						   uint64_t now_ms)
{
	for (size_t i = 0; i < a->nchan; i++) {
		if (a->chan[i].number == number && a->chan[i].expires_ms > now_ms)
			return &a->chan[i];
	}
	return NULL;
}

uint16_t turn_alloc_channel_number(const struct turn_alloc *a, const struct sockaddr *peer,
				   uint64_t now_ms)
{
	for (size_t i = 0; i < a->nchan; i++) {
		if (a->chan[i].expires_ms > now_ms &&
		    turn_addr_same((const struct sockaddr *)&a->chan[i].peer, peer))
			return a->chan[i].number;
	}
	return 0;
}

void turn_alloc_prune(struct turn_alloc *a, uint64_t now_ms)
{
	size_t j = 0;

	for (size_t i = 0; i < a->nperm; i++) {
		if (a->perm[i].expires_ms > now_ms)
			a->perm[j++] = a->perm[i];
	}
	a->nperm = j;
	j = 0;
	for (size_t i = 0; i < a->nchan; i++) {
		if (a->chan[i].expires_ms + TURN_CHANNEL_QUARANTINE_MS > now_ms)
			a->chan[j++] = a->chan[i];
	}
	a->nchan = j;
}

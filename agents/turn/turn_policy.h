/* turn_policy.h - which peers a TURN server may relay to, and rate limits.
 *
 * RFC 8656 §21.2.3 and §21.3 leave it to the operator to keep a relay from
 * reaching what it should not (the server's own network, loopback, link-local
 * hosts). The defaults here deny loopback, link-local, unspecified, multicast
 * and the server's own listening transport addresses; an operator adds
 * denied ranges and may explicitly allow loopback (the lab's tests run on it).
 * Pure: no sockets, no clock.
 */
#ifndef NATLAB_TURN_POLICY_H
#define NATLAB_TURN_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define TURN_POLICY_RANGES_MAX 64
#define TURN_POLICY_OWN_MAX    16

struct turn_policy;

struct turn_policy *turn_policy_new(bool allow_loopback);
void turn_policy_free(struct turn_policy *p);

/* turn_policy_deny_add - deny "ADDR/PREFIX" (IPv4 or IPv6; without /PREFIX,
 * the single address). Returns 0, -EINVAL (unparsable) or -ENOSPC. */
int turn_policy_deny_add(struct turn_policy *p, const char *cidr);
/* turn_policy_allow_add - allow a range even if a default or denied range
 * covers it (explicit allow wins). Same returns. */
int turn_policy_allow_add(struct turn_policy *p, const char *cidr);
/* turn_policy_own_add - the server's own transport address (IP and port): a
 * relay to it would loop. Copied. Returns 0 or -ENOSPC. */
int turn_policy_own_add(struct turn_policy *p, const struct sockaddr *sa);

/* turn_policy_peer_allowed - may the relay send to @peer? (403 if not) */
bool turn_policy_peer_allowed(const struct turn_policy *p, const struct sockaddr *peer);

/* A token bucket: @rate per second, up to @burst. Integer arithmetic in
 * thousandths so small rates are not rounded to zero. */
struct turn_bucket {
	uint64_t milli; /* tokens * 1000 */
	uint64_t last_ms;
};

/* turn_bucket_take - refill for the time since the last call, then take @n
 * tokens if there are that many. A @rate of 0 means unlimited. */
bool turn_bucket_take(struct turn_bucket *b, uint64_t rate, uint64_t burst, uint64_t n,
		      uint64_t now_ms);

/* A per-source request rate limit: a fixed table of buckets indexed by a
 * hash of the source IP (two sources sharing a slot share a bucket, which
 * keeps memory bounded whatever the number of sources). */
#define TURN_RATELIMIT_SLOTS 4096
struct turn_ratelimit;
struct turn_ratelimit *turn_ratelimit_new(uint32_t per_s, uint32_t burst);
void turn_ratelimit_free(struct turn_ratelimit *r);
/* turn_ratelimit_allow - false: drop the request (no answer: answering would
 * let a spoofed source use us as a reflector). per_s 0 = unlimited. */
bool turn_ratelimit_allow(struct turn_ratelimit *r, const struct sockaddr *src, uint64_t now_ms);

#endif

/* Unit tests of the TURN server's pure parts: credentials (keys, the
 * shared-secret scheme, USERHASH, expiring nonces), the relay policy, token
 * buckets, and the allocation table with its permissions and channels,
 * all driven with a fake clock. Expected digests were computed with the
 * openssl and coreutils command-line tools. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agents/ice/candidate.h"
#include "agents/turn/turn_alloc.h"
#include "agents/turn/turn_auth.h"
#include "agents/turn/turn_policy.h"

/* @ip (numeric, IPv4 or IPv6) and @port as a socket address */
static struct sockaddr_storage sa(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	union ice_addr a;

	memset(&ss, 0, sizeof(ss));
	if (ice_addr_from_text(&a, ip, port) == 0)
		memcpy(&ss, &a, sizeof(a));
	return ss;
}
/* a sockaddr that lives until four more calls (enough for one assertion) */
static const struct sockaddr *SA(const char *ip, uint16_t port)
{
	static struct sockaddr_storage ring[4];
	static unsigned i;
	struct sockaddr_storage *s = &ring[i++ % 4];
	*s = sa(ip, port);
	return (const struct sockaddr *)s;
}

static void hex(const uint8_t *b, int n, char *out)
{
	for (int i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static struct turn_auth *mk_auth(const char *secret, uint32_t nonce_ms)
{
	char msg[128];
	struct turn_auth_config c = {
	    .realm = "example.org", .secret = secret, .nonce_lifetime_ms = nonce_ms};
	struct turn_auth *a = turn_auth_new(&c, msg, sizeof(msg));
	assert_non_null(a);
	return a;
}

static void test_keys(void **st)
{
	(void)st;
	uint8_t key[32];
	char h[65];

	/* echo -n alice:example.org:pw | md5sum / sha256sum */
	assert_int_equal(turn_auth_key(TURN_AUTH_ALG_MD5, "alice", 5, "example.org", "pw", key),
			 16);
	hex(key, 16, h);
	assert_string_equal(h, "db25ea610c2a955b77b272273cbe886b");
	assert_int_equal(turn_auth_key(TURN_AUTH_ALG_SHA256, "alice", 5, "example.org", "pw", key),
			 32);
	hex(key, 32, h);
	assert_string_equal(h, "85c5b324185ad0cd3068e51763c45a475914956c18854598614045b289c51430");
	turn_auth_userhash("alice", 5, "example.org", key);
	hex(key, 32, h);
	assert_string_equal(h, "435b7933096a304d3c734cfb833ec9075bd47ab1c0160321aed31c06a8c7009e");
}

static void test_users_and_rest(void **st)
{
	(void)st;
	struct turn_auth *a = mk_auth("s3cret", 0);
	char pass[64];
	uint8_t hash[32];
	char name[64];

	assert_int_equal(turn_auth_user_add(a, "alice", "pw"), 0);
	assert_int_equal(turn_auth_password(a, "alice", 5, 0, pass, sizeof(pass)), 0);
	assert_string_equal(pass, "pw");
	assert_int_equal(turn_auth_password(a, "bob", 3, 0, pass, sizeof(pass)), -ENOENT);
	/* echo -n 1700000000:alice | openssl dgst -sha1 -hmac s3cret -binary | base64 */
	assert_int_equal(
	    turn_auth_password(a, "1700000000:alice", 16, 1699999999, pass, sizeof(pass)), 0);
	assert_string_equal(pass, "TtElzSjT0GdnTQ9xdcRNxx96yQs=");
	assert_int_equal(
	    turn_auth_password(a, "1700000000:alice", 16, 1700000001, pass, sizeof(pass)),
	    -EKEYEXPIRED);
	assert_int_equal(turn_auth_password(a, "x1700000000", 11, 0, pass, sizeof(pass)), -ENOENT);
	turn_auth_userhash("alice", 5, "example.org", hash);
	assert_int_equal(turn_auth_user_by_hash(a, hash, name, sizeof(name)), 0);
	assert_string_equal(name, "alice");
	hash[0] ^= 1;
	assert_int_equal(turn_auth_user_by_hash(a, hash, name, sizeof(name)), -ENOENT);
	turn_auth_free(a);

	a = mk_auth(NULL, 0); /* no secret: REST names are unknown */
	assert_int_equal(turn_auth_password(a, "1700000000:alice", 16, 0, pass, sizeof(pass)),
			 -ENOENT);
	turn_auth_free(a);
}

static void test_nonce(void **st)
{
	(void)st;
	struct turn_auth *a = mk_auth(NULL, 5000);
	char n[TURN_AUTH_NONCE_MAX];
	int len = turn_auth_nonce_make(a, 1000, SA("10.0.0.1", 4000), n, sizeof(n));

	assert_true(len > 13);
	assert_memory_equal(n, "obMatJos2wAAA", 13);
	assert_int_equal(turn_auth_nonce_check(a, n, (size_t)len, 1000, SA("10.0.0.1", 4000)), 0);
	assert_int_equal(turn_auth_nonce_check(a, n, (size_t)len, 5999, SA("10.0.0.1", 4000)), 0);
	assert_int_equal(turn_auth_nonce_check(a, n, (size_t)len, 6000, SA("10.0.0.1", 4000)),
			 -ESTALE);
	/* bound to the source IP (any port: RFC 6062 data connections) */
	assert_int_equal(turn_auth_nonce_check(a, n, (size_t)len, 1000, SA("10.0.0.1", 4001)), 0);
	assert_int_equal(turn_auth_nonce_check(a, n, (size_t)len, 1000, SA("10.0.0.2", 4000)),
			 -EINVAL);
	n[len - 1] ^= 1;
	assert_int_equal(turn_auth_nonce_check(a, n, (size_t)len, 1000, SA("10.0.0.1", 4000)),
			 -EINVAL);
	assert_int_equal(turn_auth_nonce_check(a, "short", 5, 1000, SA("10.0.0.1", 4000)), -EINVAL);
	turn_auth_free(a);
}

static void test_policy(void **st)
{
	(void)st;
	struct turn_policy *p = turn_policy_new(false);

	assert_false(turn_policy_peer_allowed(p, SA("127.0.0.1", 5000)));
	assert_false(turn_policy_peer_allowed(p, SA("::1", 5000)));
	assert_false(turn_policy_peer_allowed(p, SA("169.254.1.1", 5000)));
	assert_false(turn_policy_peer_allowed(p, SA("fe80::1", 5000)));
	assert_false(turn_policy_peer_allowed(p, SA("::ffff:127.0.0.1", 5000)));
	assert_false(turn_policy_peer_allowed(p, SA("224.0.0.1", 5000)));
	assert_true(turn_policy_peer_allowed(p, SA("192.0.2.1", 5000)));
	assert_false(turn_policy_peer_allowed(p, SA("192.0.2.1", 0)));
	assert_int_equal(turn_policy_deny_add(p, "192.0.2.0/24"), 0);
	assert_false(turn_policy_peer_allowed(p, SA("192.0.2.77", 5000)));
	assert_true(turn_policy_peer_allowed(p, SA("192.0.3.1", 5000)));
	assert_int_equal(turn_policy_allow_add(p, "192.0.2.77"), 0);
	assert_true(turn_policy_peer_allowed(p, SA("192.0.2.77", 5000)));
	assert_int_equal(turn_policy_deny_add(p, "2001:db8::/33"), 0);
	assert_false(turn_policy_peer_allowed(p, SA("2001:db8:7fff::1", 1)));
	assert_true(turn_policy_peer_allowed(p, SA("2001:db8:8000::1", 1)));
	assert_int_equal(turn_policy_deny_add(p, "nonsense/8"), -EINVAL);
	assert_int_equal(turn_policy_deny_add(p, "10.0.0.0/33"), -EINVAL);
	turn_policy_free(p);

	p = turn_policy_new(true);
	assert_int_equal(turn_policy_own_add(p, SA("127.0.0.1", 3478)), 0);
	assert_true(turn_policy_peer_allowed(p, SA("127.0.0.1", 5000)));
	assert_false(turn_policy_peer_allowed(p, SA("127.0.0.1", 3478)));
	assert_false(turn_policy_peer_allowed(p, SA("169.254.1.1", 5000)));
	turn_policy_free(p);
}

static void test_bucket_and_ratelimit(void **st)
{
	(void)st;
	struct turn_bucket b = {0};

	/* 1000 bytes/s, burst 1500 */
	assert_true(turn_bucket_take(&b, 1000, 1500, 1000, 10));
	assert_false(turn_bucket_take(&b, 1000, 1500, 1000, 10));
	assert_true(turn_bucket_take(&b, 1000, 1500, 500, 10));
	assert_false(turn_bucket_take(&b, 1000, 1500, 100, 10));
	assert_true(turn_bucket_take(&b, 1000, 1500, 100, 110)); /* 100 ms later: 100 tokens */
	assert_true(turn_bucket_take(&b, 0, 0, 1u << 30, 110));	 /* unlimited */

	struct turn_ratelimit *r = turn_ratelimit_new(10, 10);
	int ok = 0;
	for (int i = 0; i < 20; i++)
		ok += turn_ratelimit_allow(r, SA("10.0.0.1", 1), 1000);
	assert_int_equal(ok, 10);
	assert_true(turn_ratelimit_allow(r, SA("10.0.0.2", 1), 1000)); /* another source */
	assert_true(turn_ratelimit_allow(r, SA("10.0.0.1", 1), 1100)); /* refilled one */
	turn_ratelimit_free(r);
}

static struct turn_key key(const char *ip, uint16_t port)
{
	struct turn_key k;
	memset(&k, 0, sizeof(k));
	k.client = sa(ip, port);
	return k;
}

static void test_table(void **st)
{
	(void)st;
	struct turn_alloc_table *t = turn_alloc_table_new(64);
	struct turn_alloc *a[64];

	for (int i = 0; i < 64; i++) {
		struct turn_key k = key("10.0.0.1", (uint16_t)(1000 + i));
		a[i] = turn_alloc_add(t, &k, 0);
		assert_non_null(a[i]);
		a[i]->expires_ms = (uint64_t)(100 * i);
		strcpy(a[i]->user, i % 2 ? "odd" : "even");
	}
	struct turn_key k = key("10.0.0.1", 999);
	assert_null(turn_alloc_add(t, &k, 0)); /* full */
	assert_int_equal(turn_alloc_table_count_user(t, "odd"), 32);
	/* remove every third, then every lookup must still work */
	for (int i = 0; i < 64; i += 3)
		turn_alloc_remove(t, a[i]);
	for (int i = 0; i < 64; i++) {
		struct turn_key q = key("10.0.0.1", (uint16_t)(1000 + i));
		if (i % 3 == 0)
			assert_null(turn_alloc_find(t, &q));
		else
			assert_ptr_equal(turn_alloc_find(t, &q), a[i]);
	}
	struct turn_key q = key("10.0.0.1", 1001);
	q.transport = TURN_TRANSPORT_TCP;
	assert_null(turn_alloc_find(t, &q));
	/* expiry scan with a fake clock: allocations 1..10 ended by t=1000 */
	uint32_t cur = 0;
	int n = 0;
	struct turn_alloc *e;
	while ((e = turn_alloc_next_expired(t, 1000, &cur)) != NULL)
		n++;
	assert_int_equal(n, 10 - 3); /* 1,2,4,5,7,8,10 */
	turn_alloc_table_free(t);
}

static void test_perms_channels(void **st)
{
	(void)st;
	struct turn_alloc_table *t = turn_alloc_table_new(1);
	struct turn_key k = key("10.0.0.1", 1);
	struct turn_alloc *a = turn_alloc_add(t, &k, 0);

	/* RFC 8656 §9: permissions match the IP only, last 300 s */
	assert_int_equal(turn_alloc_perm_install(a, SA("192.0.2.1", 5), 0, 300000), 0);
	assert_true(turn_alloc_perm_ok(a, SA("192.0.2.1", 9999), 299999));
	assert_false(turn_alloc_perm_ok(a, SA("192.0.2.1", 5), 300000));
	assert_false(turn_alloc_perm_ok(a, SA("192.0.2.2", 5), 0));
	assert_int_equal(turn_alloc_perm_install(a, SA("192.0.2.1", 5), 200000, 300000), 0);
	assert_true(turn_alloc_perm_ok(a, SA("192.0.2.1", 5), 499999));
	for (int i = 0; i < TURN_ALLOC_PERMS_MAX - 1; i++) {
		char ip[32];
		sprintf(ip, "198.51.100.%d", i + 1);
		assert_int_equal(turn_alloc_perm_install(a, SA(ip, 1), 0, 1000), 0);
	}
	assert_int_equal(turn_alloc_perm_install(a, SA("203.0.113.1", 1), 0, 1000), -ENOSPC);
	/* once the short ones expire there is room again */
	assert_int_equal(turn_alloc_perm_install(a, SA("203.0.113.1", 1), 1000, 1000), 0);

	/* channels: 600 s, then 5 minutes of quarantine */
	assert_int_equal(turn_alloc_channel_bind(a, 0x4000, SA("192.0.2.1", 5), 0, 600000), 0);
	assert_int_equal(turn_alloc_channel_bind(a, 0x4000, SA("192.0.2.1", 5), 100, 600000), 0);
	assert_int_equal(turn_alloc_channel_bind(a, 0x4000, SA("192.0.2.1", 6), 100, 600000),
			 -EEXIST);
	assert_int_equal(turn_alloc_channel_bind(a, 0x4001, SA("192.0.2.1", 5), 100, 600000),
			 -EEXIST);
	assert_non_null(turn_alloc_channel_peer(a, 0x4000, 600099));
	assert_int_equal(turn_alloc_channel_number(a, SA("192.0.2.1", 5), 600099), 0x4000);
	assert_null(turn_alloc_channel_peer(a, 0x4000, 600100));
	assert_int_equal(turn_alloc_channel_number(a, SA("192.0.2.1", 5), 600100), 0);
	assert_int_equal(turn_alloc_channel_bind(a, 0x4000, SA("192.0.2.1", 6), 700000, 600000),
			 -EEXIST);
	assert_int_equal(turn_alloc_channel_bind(a, 0x4000, SA("192.0.2.1", 6), 900100, 600000), 0);
	turn_alloc_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_users_and_rest),
	    cmocka_unit_test(test_nonce),
	    cmocka_unit_test(test_policy),
	    cmocka_unit_test(test_bucket_and_ratelimit),
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_perms_channels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

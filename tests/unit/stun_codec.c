/* stun_codec.c - the STUN codec against the RFCs' own vectors: decode every
 * RFC 5769 vector and the RFC 8489 SHA-256 vector, verify integrity and
 * fingerprint, re-encode them with the builder and compare byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "agents/stun/stun.h"
#include "stun_vectors.h"

static const uint8_t *pw = (const uint8_t *)VECTOR_SHORT_TERM_PASSWORD;
#define PWLEN (sizeof(VECTOR_SHORT_TERM_PASSWORD) - 1)

static void test_type_bits(void **state)
{
	(void)state;
	assert_int_equal(stun_type_make(STUN_CLASS_REQUEST, STUN_METHOD_BINDING), 0x0001);
	assert_int_equal(stun_type_make(STUN_CLASS_SUCCESS, STUN_METHOD_BINDING), 0x0101);
	assert_int_equal(stun_type_make(STUN_CLASS_ERROR, STUN_METHOD_BINDING), 0x0111);
	assert_int_equal(stun_type_make(STUN_CLASS_INDICATION, STUN_METHOD_SEND), 0x0016);
	assert_int_equal(stun_type_make(STUN_CLASS_SUCCESS, STUN_METHOD_ALLOCATE), 0x0103);
	assert_int_equal(stun_type_make(STUN_CLASS_ERROR, STUN_METHOD_CHANNEL_BIND), 0x0119);
	for (unsigned m = 0; m < 0x1000; m += 7) {
		for (int c = 0; c < 4; c++) {
			uint16_t t = stun_type_make((enum stun_class)c, (uint16_t)m);
			assert_int_equal(stun_type_method(t), m);
			assert_int_equal(stun_type_class(t), c);
			assert_int_equal(t & 0xc000, 0);
		}
	}
}

static void test_sample_request(void **state)
{
	(void)state;
	struct stun_msg m;
	const char *why = NULL;
	assert_int_equal(stun_msg_decode(&m, rfc5769_request, sizeof(rfc5769_request), 0, &why), 0);
	assert_true(stun_is_message(rfc5769_request, sizeof(rfc5769_request)));
	assert_int_equal(m.cls, STUN_CLASS_REQUEST);
	assert_int_equal(m.method, STUN_METHOD_BINDING);
	assert_int_equal(m.n_attrs, 6);
	char s[64];
	assert_int_equal(stun_msg_get_string(&m, STUN_ATTR_SOFTWARE, s, sizeof(s)), 0);
	assert_string_equal(s, "STUN test client");
	assert_int_equal(stun_msg_get_string(&m, STUN_ATTR_USERNAME, s, sizeof(s)), 0);
	assert_string_equal(s, "evtj:h6vY");
	uint32_t prio;
	assert_int_equal(stun_msg_get_u32(&m, STUN_ATTR_PRIORITY, &prio), 0);
	assert_int_equal(prio, 0x6e0001ff);
	uint64_t tie;
	assert_int_equal(stun_msg_get_u64(&m, STUN_ATTR_ICE_CONTROLLED, &tie), 0);
	assert_true(tie == 0x932ff9b151263b36ull);
	assert_int_equal(m.n_unknown, 0);
	assert_int_equal(stun_msg_check_integrity(&m, pw, PWLEN), 0);
	assert_int_equal(stun_msg_check_integrity(&m, (const uint8_t *)"wrong", 5), -EACCES);
	assert_int_equal(stun_msg_check_fingerprint(&m), 0);

	/* re-encode with the vector's space padding */
	uint8_t buf[256];
	struct stun_builder b;
	assert_int_equal(stun_builder_init(&b, buf, sizeof(buf), 0x0001, m.tid), 0);
	b.pad_byte = 0x20;
	stun_builder_add_string(&b, STUN_ATTR_SOFTWARE, "STUN test client");
	stun_builder_add_u32(&b, STUN_ATTR_PRIORITY, prio);
	stun_builder_add_u64(&b, STUN_ATTR_ICE_CONTROLLED, tie);
	stun_builder_add_string(&b, STUN_ATTR_USERNAME, "evtj:h6vY");
	stun_builder_add_integrity(&b, pw, PWLEN);
	stun_builder_add_fingerprint(&b);
	assert_int_equal(stun_builder_finish(&b), sizeof(rfc5769_request));
	assert_memory_equal(buf, rfc5769_request, sizeof(rfc5769_request));
}

static void check_response(const uint8_t *vec, size_t len, const char *ip, int family)
{
	struct stun_msg m;
	assert_int_equal(stun_msg_decode(&m, vec, len, 0, NULL), 0);
	assert_int_equal(m.cls, STUN_CLASS_SUCCESS);
	assert_int_equal(m.method, STUN_METHOD_BINDING);
	struct stun_addr a;
	assert_int_equal(stun_msg_get_xor_addr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, &a), 0);
	assert_int_equal(a.family, family);
	assert_int_equal(a.port, 32853);
	char txt[STUN_ADDR_STRLEN];
	assert_string_equal(stun_addr_ip_format(&a, txt), ip);
	assert_int_equal(stun_msg_check_integrity_sha1(&m, pw, PWLEN), 0);
	assert_int_equal(stun_msg_check_integrity_sha256(&m, pw, PWLEN), -ENOENT);
	assert_int_equal(stun_msg_check_fingerprint(&m), 0);
	char sw[32];
	assert_int_equal(stun_msg_get_string(&m, STUN_ATTR_SOFTWARE, sw, sizeof(sw)), 0);
	assert_string_equal(sw, "test vector");

	uint8_t buf[256];
	struct stun_builder b;
	stun_builder_init(&b, buf, sizeof(buf), 0x0101, m.tid);
	b.pad_byte = 0x20;
	stun_builder_add_string(&b, STUN_ATTR_SOFTWARE, "test vector");
	stun_builder_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &a);
	stun_builder_add_integrity(&b, pw, PWLEN);
	stun_builder_add_fingerprint(&b);
	assert_int_equal(stun_builder_finish(&b), (long)len);
	assert_memory_equal(buf, vec, len);
}

static void test_response_v4(void **state)
{
	(void)state;
	check_response(rfc5769_response_v4, sizeof(rfc5769_response_v4), "192.0.2.1", AF_INET);
}

static void test_response_v6(void **state)
{
	(void)state;
	check_response(rfc5769_response_v6, sizeof(rfc5769_response_v6),
		       "2001:db8:1234:5678:11:2233:4455:6677", AF_INET6);
}

static void test_long_term(void **state)
{
	(void)state;
	struct stun_msg m;
	assert_int_equal(stun_msg_decode(&m, rfc5769_long_term, sizeof(rfc5769_long_term), 0, NULL),
			 0);
	char user[64], realm[64], nonce[64];
	assert_int_equal(stun_msg_get_string(&m, STUN_ATTR_USERNAME, user, sizeof(user)), 0);
	assert_string_equal(user, VECTOR_LT_USER);
	assert_int_equal(stun_msg_get_string(&m, STUN_ATTR_REALM, realm, sizeof(realm)), 0);
	assert_string_equal(realm, "example.org");
	assert_int_equal(stun_msg_get_string(&m, STUN_ATTR_NONCE, nonce, sizeof(nonce)), 0);
	assert_string_equal(nonce, "f//499k954d6OL34oL9FSTvy64sA");
	/* no security feature cookie in this (RFC 5389-era) nonce */
	uint32_t f;
	assert_int_equal(stun_nonce_features((const uint8_t *)nonce, strlen(nonce), &f), -ENOENT);
	assert_int_equal(stun_msg_check_fingerprint(&m), -ENOENT);

	struct stun_key key;
	assert_int_equal(stun_key_long_term(&key, STUN_PWALG_MD5, user, realm, VECTOR_LT_PASSWORD),
			 0);
	assert_int_equal(key.len, 16);
	assert_int_equal(stun_msg_check_integrity(&m, key.k, key.len), 0);

	uint8_t buf[256];
	struct stun_builder b;
	stun_builder_init(&b, buf, sizeof(buf), 0x0001, m.tid);
	stun_builder_add_string(&b, STUN_ATTR_USERNAME, user);
	stun_builder_add_string(&b, STUN_ATTR_NONCE, nonce);
	stun_builder_add_string(&b, STUN_ATTR_REALM, realm);
	stun_builder_add_integrity(&b, key.k, key.len);
	assert_int_equal(stun_builder_finish(&b), sizeof(rfc5769_long_term));
	assert_memory_equal(buf, rfc5769_long_term, sizeof(rfc5769_long_term));
}

static void test_sha256_userhash(void **state)
{
	(void)state;
	struct stun_msg m;
	assert_int_equal(stun_msg_decode(&m, rfc8489_sha256, sizeof(rfc8489_sha256), 0, NULL), 0);
	assert_int_equal(m.n_unknown, 0);

	uint8_t uh[32];
	assert_int_equal(stun_userhash(uh, VECTOR_LT_USER, VECTOR_LT_REALM), 0);
	const uint8_t *v;
	size_t n;
	assert_int_equal(stun_msg_get_bytes(&m, STUN_ATTR_USERHASH, &v, &n), 0);
	assert_int_equal(n, 32);
	assert_memory_equal(v, uh, 32);

	assert_int_equal(stun_msg_get_bytes(&m, STUN_ATTR_NONCE, &v, &n), 0);
	uint32_t f = 0;
	assert_int_equal(stun_nonce_features(v, n, &f), 0);
	assert_int_equal(f, STUN_FEATURE_USERNAME_ANONYMITY);
	uint16_t alg;
	assert_int_equal(stun_msg_get_password_algorithm(&m, &alg), 0);
	assert_int_equal(alg, STUN_PWALG_SHA256);

	struct stun_key key;
	assert_int_equal(stun_key_long_term(&key, STUN_PWALG_SHA256, VECTOR_LT_USER,
					    VECTOR_LT_REALM, VECTOR_LT_PASSWORD),
			 0);
	assert_int_equal(key.len, 32);
	assert_int_equal(stun_msg_check_integrity(&m, key.k, key.len), 0);
	assert_int_equal(stun_msg_check_integrity_sha1(&m, key.k, key.len), -ENOENT);
	key.k[0] ^= 1;
	assert_int_equal(stun_msg_check_integrity(&m, key.k, key.len), -EACCES);
	key.k[0] ^= 1;

	char nonce[64];
	assert_int_equal(stun_nonce_make(nonce, sizeof(nonce), STUN_FEATURE_USERNAME_ANONYMITY,
					 "f//499k954d6OL34oL9FSTvy64sA"),
			 41);
	assert_string_equal(nonce, "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA");

	uint8_t buf[256];
	struct stun_builder b;
	stun_builder_init(&b, buf, sizeof(buf), 0x0001, m.tid);
	stun_builder_add(&b, STUN_ATTR_USERHASH, uh, 32);
	stun_builder_add_string(&b, STUN_ATTR_NONCE, nonce);
	stun_builder_add_string(&b, STUN_ATTR_REALM, VECTOR_LT_REALM);
	stun_builder_add_password_algorithm(&b, STUN_PWALG_SHA256);
	stun_builder_add_integrity_sha256(&b, key.k, key.len);
	assert_int_equal(stun_builder_finish(&b), sizeof(rfc8489_sha256));
	assert_memory_equal(buf, rfc8489_sha256, sizeof(rfc8489_sha256));
}

/* Every prefix and every single-bit flip of every vector: the decoder
 * either refuses or indexes attributes that lie inside the message. Under
 * ASan this also proves no out-of-bounds read. */
static void test_truncations_and_flips(void **state)
{
	(void)state;
	const struct {
		const uint8_t *p;
		size_t n;
	} v[] = {
	    {rfc5769_request, sizeof(rfc5769_request)},
	    {rfc5769_response_v4, sizeof(rfc5769_response_v4)},
	    {rfc5769_response_v6, sizeof(rfc5769_response_v6)},
	    {rfc5769_long_term, sizeof(rfc5769_long_term)},
	    {rfc8489_sha256, sizeof(rfc8489_sha256)},
	};
	uint8_t copy[256];
	struct stun_msg m;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		for (size_t len = 0; len < v[i].n; len++) {
			/* exact-size heap-like copy so ASan sees the end */
			assert_int_not_equal(stun_msg_decode(&m, v[i].p, len, 0, NULL), 0);
		}
		for (size_t bit = 0; bit < v[i].n * 8; bit++) {
			memcpy(copy, v[i].p, v[i].n);
			copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			if (stun_msg_decode(&m, copy, v[i].n, STUN_DECODE_CLASSIC, NULL) != 0)
				continue;
			for (unsigned k = 0; k < m.n_attrs; k++)
				assert_true(m.attrs[k].off + m.attrs[k].len <= v[i].n);
			/* any flip past the header must break integrity or
			 * fingerprint (they cover the whole message) */
			if (bit >= 32 * 8 && m.fp_idx >= 0 && m.mi_idx >= 0)
				assert_true(stun_msg_check_fingerprint(&m) != 0 ||
					    stun_msg_check_integrity(&m, pw, PWLEN) != 0);
		}
	}
}

static void test_malformed(void **state)
{
	(void)state;
	struct stun_msg m;
	const char *why;
	uint8_t buf[64] = {0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42};
	/* attribute says 8 bytes but only 4 are in the message */
	buf[20] = 0x80;
	buf[21] = 0x22;
	buf[22] = 0x00;
	buf[23] = 0x08;
	assert_int_equal(stun_msg_decode(&m, buf, 28, 0, &why), -EBADMSG);
	assert_non_null(why);
	/* length not a multiple of 4 */
	buf[3] = 0x06;
	assert_int_equal(stun_msg_decode(&m, buf, 26, 0, &why), -EBADMSG);
	/* top bits set: not STUN */
	buf[3] = 0x00;
	buf[0] = 0x40;
	assert_int_equal(stun_msg_decode(&m, buf, 20, 0, &why), -ENOMSG);
	/* no cookie: refused unless classic allowed */
	buf[0] = 0x00;
	buf[4] = 0;
	assert_int_equal(stun_msg_decode(&m, buf, 20, 0, &why), -ENOMSG);
	assert_int_equal(stun_msg_decode(&m, buf, 20, STUN_DECODE_CLASSIC, &why), 0);
	assert_true(m.classic);
	/* attribute after FINGERPRINT */
	uint8_t b2[128];
	uint8_t tid[12] = {1, 2, 3};
	struct stun_builder b;
	stun_builder_init(&b, b2, sizeof(b2), 0x0001, tid);
	stun_builder_add_fingerprint(&b);
	assert_int_equal(stun_builder_add_u32(&b, STUN_ATTR_PRIORITY, 1), -EINVAL);
	assert_int_equal(stun_builder_finish(&b), -EINVAL);
	long n = 28;
	b2[n] = 0x00;
	b2[n + 1] = 0x24;
	b2[n + 2] = 0;
	b2[n + 3] = 4;
	memset(b2 + n + 4, 0, 4);
	b2[3] = 16;
	assert_int_equal(stun_msg_decode(&m, b2, 36, 0, &why), -EBADMSG);
	/* bad address family and bad lengths are reported by the getters */
	stun_builder_init(&b, b2, sizeof(b2), 0x0101, tid);
	uint8_t bad[8] = {0, 3, 0, 1, 1, 2, 3, 4};
	stun_builder_add(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, bad, 8);
	stun_builder_add(&b, STUN_ATTR_PRIORITY, bad, 3);
	assert_true(stun_builder_finish(&b) > 0);
	assert_int_equal(stun_msg_decode(&m, b2, (size_t)stun_builder_finish(&b), 0, &why), 0);
	struct stun_addr a;
	uint32_t u;
	assert_int_equal(stun_msg_get_xor_addr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, &a), -EBADMSG);
	assert_int_equal(stun_msg_get_u32(&m, STUN_ATTR_PRIORITY, &u), -EBADMSG);
	assert_int_equal(stun_msg_get_u32(&m, STUN_ATTR_LIFETIME, &u), -ENOENT);
}

static void test_unknown_and_error(void **state)
{
	(void)state;
	uint8_t buf[256];
	uint8_t tid[12] = {9, 8, 7};
	struct stun_builder b;
	stun_builder_init(&b, buf, sizeof(buf), 0x0001, tid);
	stun_builder_add_u32(&b, 0x7777, 1); /* unknown, comprehension-required */
	stun_builder_add_u32(&b, 0xc001, 1); /* unknown, optional */
	stun_builder_add_change_request(&b, STUN_CHANGE_IP | STUN_CHANGE_PORT);
	stun_builder_add_response_port(&b, 40000);
	stun_builder_add_fingerprint(&b);
	long n = stun_builder_finish(&b);
	assert_true(n > 0);
	struct stun_msg m;
	assert_int_equal(stun_msg_decode(&m, buf, (size_t)n, 0, NULL), 0);
	assert_int_equal(m.n_unknown, 1);
	assert_int_equal(m.unknown[0], 0x7777);
	uint32_t cr;
	assert_int_equal(stun_msg_get_u32(&m, STUN_ATTR_CHANGE_REQUEST, &cr), 0);
	assert_int_equal(cr, 6);
	uint16_t port;
	assert_int_equal(stun_msg_get_response_port(&m, &port), 0);
	assert_int_equal(port, 40000);

	/* the 420 answer */
	uint8_t out[256];
	stun_builder_init(&b, out, sizeof(out), stun_type_make(STUN_CLASS_ERROR, m.method), m.tid);
	stun_builder_add_error(&b, 420, NULL);
	stun_builder_add_unknown_attrs(&b, m.unknown, m.n_unknown);
	n = stun_builder_finish(&b);
	assert_true(n > 0);
	struct stun_msg r;
	assert_int_equal(stun_msg_decode(&r, out, (size_t)n, 0, NULL), 0);
	int code;
	const char *reason;
	size_t rlen;
	assert_int_equal(stun_msg_get_error(&r, &code, &reason, &rlen), 0);
	assert_int_equal(code, 420);
	assert_int_equal(rlen, strlen("Unknown Attribute"));
	assert_memory_equal(reason, "Unknown Attribute", rlen);
	uint16_t types[4];
	size_t k;
	assert_int_equal(stun_msg_get_unknown_attrs(&r, types, 4, &k), 0);
	assert_int_equal(k, 1);
	assert_int_equal(types[0], 0x7777);
}

static void test_turn_ice_attrs(void **state)
{
	(void)state;
	uint8_t buf[512];
	uint8_t tid[12] = {1};
	struct stun_builder b;
	struct stun_addr peer, relay;
	assert_int_equal(stun_addr_parse(&peer, "[2001:db8::7]:5000"), 0);
	assert_int_equal(stun_addr_parse(&relay, "198.51.100.9:49152"), 0);
	stun_builder_init(&b, buf, sizeof(buf),
			  stun_type_make(STUN_CLASS_REQUEST, STUN_METHOD_ALLOCATE), tid);
	stun_builder_add_requested_transport(&b, 17);
	stun_builder_add_family(&b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, AF_INET6);
	stun_builder_add_family(&b, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, AF_INET6);
	stun_builder_add_even_port(&b, true);
	stun_builder_add_flag(&b, STUN_ATTR_DONT_FRAGMENT);
	stun_builder_add_u64(&b, STUN_ATTR_RESERVATION_TOKEN, 0x0102030405060708ull);
	stun_builder_add_u32(&b, STUN_ATTR_LIFETIME, 600);
	stun_builder_add_channel(&b, 0x4001);
	stun_builder_add_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, &peer);
	stun_builder_add_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, &relay);
	stun_builder_add_xor_addr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS, &relay);
	stun_builder_add(&b, STUN_ATTR_DATA, "hello", 5);
	stun_builder_add_address_error(&b, AF_INET6, 440, NULL);
	stun_builder_add_icmp(&b, 3, 1, 0xdeadbeef);
	stun_builder_add_u32(&b, STUN_ATTR_CONNECTION_ID, 77);
	uint16_t algs[2] = {STUN_PWALG_MD5, STUN_PWALG_SHA256};
	stun_builder_add_password_algorithms(&b, algs, 2);
	stun_builder_add_flag(&b, STUN_ATTR_USE_CANDIDATE);
	stun_builder_add_u64(&b, STUN_ATTR_ICE_CONTROLLING, 42);
	stun_builder_add_addr(&b, STUN_ATTR_OTHER_ADDRESS, &relay);
	stun_builder_add_integrity(&b, pw, PWLEN);
	stun_builder_add_integrity_sha256(&b, pw, PWLEN);
	stun_builder_add_fingerprint(&b);
	long n = stun_builder_finish(&b);
	assert_true(n > 0);

	struct stun_msg m;
	assert_int_equal(stun_msg_decode(&m, buf, (size_t)n, 0, NULL), 0);
	assert_int_equal(m.method, STUN_METHOD_ALLOCATE);
	assert_int_equal(m.n_unknown, 0);
	uint8_t proto;
	assert_int_equal(stun_msg_get_requested_transport(&m, &proto), 0);
	assert_int_equal(proto, 17);
	int fam;
	assert_int_equal(stun_msg_get_family(&m, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, &fam), 0);
	assert_int_equal(fam, AF_INET6);
	bool r;
	assert_int_equal(stun_msg_get_even_port(&m, &r), 0);
	assert_true(r);
	assert_true(stun_msg_has(&m, STUN_ATTR_DONT_FRAGMENT));
	uint64_t tok;
	assert_int_equal(stun_msg_get_u64(&m, STUN_ATTR_RESERVATION_TOKEN, &tok), 0);
	assert_true(tok == 0x0102030405060708ull);
	uint16_t ch;
	assert_int_equal(stun_msg_get_channel(&m, &ch), 0);
	assert_int_equal(ch, 0x4001);
	struct stun_addr a;
	assert_int_equal(stun_msg_get_xor_addr_nth(&m, STUN_ATTR_XOR_PEER_ADDRESS, 0, &a), 0);
	assert_true(stun_addr_equal(&a, &peer));
	assert_int_equal(stun_msg_get_xor_addr_nth(&m, STUN_ATTR_XOR_PEER_ADDRESS, 1, &a), 0);
	assert_true(stun_addr_equal(&a, &relay));
	assert_int_equal(stun_msg_get_xor_addr_nth(&m, STUN_ATTR_XOR_PEER_ADDRESS, 2, &a), -ENOENT);
	assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_OTHER_ADDRESS, &a), 0);
	assert_true(stun_addr_equal(&a, &relay));
	int code;
	assert_int_equal(stun_msg_get_address_error(&m, &fam, &code, NULL, NULL), 0);
	assert_int_equal(code, 440);
	assert_int_equal(fam, AF_INET6);
	uint8_t it, ic;
	uint32_t ed;
	assert_int_equal(stun_msg_get_icmp(&m, &it, &ic, &ed), 0);
	assert_int_equal(it, 3);
	assert_int_equal(ic, 1);
	assert_int_equal(ed, 0xdeadbeef);
	uint16_t got[4];
	size_t k;
	assert_int_equal(stun_msg_get_password_algorithms(&m, got, 4, &k), 0);
	assert_int_equal(k, 2);
	assert_int_equal(got[1], STUN_PWALG_SHA256);
	assert_int_equal(stun_msg_check_integrity_sha1(&m, pw, PWLEN), 0);
	assert_int_equal(stun_msg_check_integrity_sha256(&m, pw, PWLEN), 0);
	assert_int_equal(stun_msg_check_fingerprint(&m), 0);

	/* too small a buffer: a sticky -EMSGSIZE, nothing written past cap */
	uint8_t small[40];
	memset(small, 0xaa, sizeof(small));
	stun_builder_init(&b, small, 32, 0x0001, tid);
	assert_int_equal(stun_builder_add_u32(&b, STUN_ATTR_PRIORITY, 1), 0);
	assert_int_equal(stun_builder_add_u32(&b, STUN_ATTR_PRIORITY, 1), -EMSGSIZE);
	assert_int_equal(stun_builder_add_fingerprint(&b), -EMSGSIZE);
	assert_int_equal(stun_builder_finish(&b), -EMSGSIZE);
	for (size_t i = 32; i < sizeof(small); i++)
		assert_int_equal(small[i], 0xaa);
}

static void test_channel_data(void **state)
{
	(void)state;
	uint8_t buf[16];
	assert_int_equal(stun_channel_data_encode(buf, sizeof(buf), 0x4000, "abcde", 5, true), 12);
	assert_int_equal(buf[0], 0x40);
	assert_int_equal(buf[3], 5);
	assert_int_equal(stun_frame_length(buf, 4), 12);
	uint16_t ch;
	const uint8_t *d;
	size_t n;
	assert_int_equal(stun_channel_data_decode(buf, 12, &ch, &d, &n), 12);
	assert_int_equal(ch, 0x4000);
	assert_int_equal(n, 5);
	assert_memory_equal(d, "abcde", 5);
	assert_int_equal(stun_channel_data_decode(buf, 9, &ch, &d, &n), 9); /* UDP: no pad */
	assert_int_equal(stun_channel_data_decode(buf, 8, &ch, &d, &n), -EMSGSIZE);
	assert_int_equal(stun_channel_data_encode(buf, sizeof(buf), 0x3fff, "a", 1, false),
			 -EINVAL);
	assert_int_equal(stun_channel_data_encode(buf, 8, 0x4000, "abcde", 5, false), -EMSGSIZE);
	buf[0] = 0x50; /* reserved range */
	assert_int_equal(stun_channel_data_decode(buf, 12, &ch, &d, &n), -EBADMSG);
	buf[0] = 0x80;
	assert_int_equal(stun_channel_data_decode(buf, 12, &ch, &d, &n), -ENOMSG);
	assert_int_equal(stun_frame_length(rfc5769_request, 4), sizeof(rfc5769_request));
	assert_int_equal(stun_frame_length(buf, 4), -EBADMSG);
	assert_int_equal(stun_frame_length(buf, 3), 0);
}

static void test_addr(void **state)
{
	(void)state;
	struct stun_addr a;
	char s[STUN_ADDR_STRLEN];
	assert_int_equal(stun_addr_parse(&a, "127.0.0.2:3478"), 0);
	assert_string_equal(stun_addr_format(&a, s), "127.0.0.2:3478");
	assert_int_equal(stun_addr_parse(&a, "::1"), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_int_equal(a.port, 0);
	assert_int_equal(stun_addr_parse(&a, "[::1]:9"), 0);
	assert_string_equal(stun_addr_format(&a, s), "[::1]:9");
	assert_int_equal(stun_addr_parse(&a, "1.2.3.4:70000"), -EINVAL);
	assert_int_equal(stun_addr_parse(&a, "nonsense"), -EINVAL);
	struct sockaddr_storage ss;
	struct stun_addr b;
	socklen_t l = stun_addr_to_sockaddr(&a, &ss);
	assert_int_equal(stun_addr_from_sockaddr(&b, (struct sockaddr *)&ss, l), 0);
	assert_true(stun_addr_equal(&a, &b));
	assert_string_equal(stun_attr_name(STUN_ATTR_XOR_MAPPED_ADDRESS), "XOR-MAPPED-ADDRESS");
	assert_null(stun_attr_name(0x7777));
	assert_int_equal(stun_crc32((const uint8_t *)"123456789", 9), 0xcbf43926u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_type_bits),
	    cmocka_unit_test(test_sample_request),
	    cmocka_unit_test(test_response_v4),
	    cmocka_unit_test(test_response_v6),
	    cmocka_unit_test(test_long_term),
	    cmocka_unit_test(test_sha256_userhash),
	    cmocka_unit_test(test_truncations_and_flips),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_unknown_and_error),
	    cmocka_unit_test(test_turn_ice_attrs),
	    cmocka_unit_test(test_channel_data),
	    cmocka_unit_test(test_addr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

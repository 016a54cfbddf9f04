/* stun_server.c - the Binding answer logic without sockets: which endpoint
 * answers, to where, and with which attributes (RFC 8489 §6.3, RFC 5780
 * §6.1, RFC 3489 compatibility). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "agents/stun/stun_server.h"

static struct stun_server_config cfg;
static struct stun_addr client;
static uint8_t tid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static int setup(void **state)
{
	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	stun_addr_parse(&cfg.addr[0], "192.0.2.1");
	stun_addr_parse(&cfg.addr[1], "192.0.2.2");
	cfg.port = 3478;
	cfg.alt_port = 3479;
	cfg.software = "test";
	cfg.fingerprint = STUN_SERVER_FP_MIRROR;
	stun_addr_parse(&client, "198.51.100.7:40000");
	return 0;
}

/* build a Binding request with optional CHANGE-REQUEST / RESPONSE-PORT */
static size_t request(uint8_t *buf, uint32_t change, int rport, uint16_t extra_attr)
{
	struct stun_builder b;
	stun_builder_init(&b, buf, 512, 0x0001, tid);
	if (change)
		stun_builder_add_change_request(&b, change);
	if (rport >= 0)
		stun_builder_add_response_port(&b, (uint16_t)rport);
	if (extra_attr)
		stun_builder_add_u32(&b, extra_attr, 0);
	stun_builder_add_fingerprint(&b);
	long n = stun_builder_finish(&b);
	assert_true(n > 0);
	return (size_t)n;
}

static void answer(const uint8_t *req, size_t len, int ep, bool tcp, struct stun_msg *m,
		   struct stun_server_answer *ans, uint8_t *out)
{
	assert_int_equal(
	    stun_server_handle(&cfg, ep, tcp, &client, req, len, out, STUN_SERVER_MAX_ANSWER, ans),
	    1);
	assert_int_equal(stun_msg_decode(m, out, ans->len, STUN_DECODE_CLASSIC, NULL), 0);
	assert_memory_equal(m->tid, tid, 12);
}

static void test_plain_binding(void **state)
{
	(void)state;
	uint8_t req[512], out[STUN_SERVER_MAX_ANSWER];
	size_t n = request(req, 0, -1, 0);
	struct stun_msg m;
	struct stun_server_answer ans;
	answer(req, n, 0, false, &m, &ans, out);
	assert_int_equal(m.cls, STUN_CLASS_SUCCESS);
	assert_int_equal(ans.from, 0);
	assert_true(stun_addr_equal(&ans.to, &client));
	struct stun_addr a;
	char s[STUN_ADDR_STRLEN];
	assert_int_equal(stun_msg_get_xor_addr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, &a), 0);
	assert_true(stun_addr_equal(&a, &client));
	assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_RESPONSE_ORIGIN, &a), 0);
	assert_string_equal(stun_addr_format(&a, s), "192.0.2.1:3478");
	assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_OTHER_ADDRESS, &a), 0);
	assert_string_equal(stun_addr_format(&a, s), "192.0.2.2:3479");
	assert_int_equal(stun_msg_check_fingerprint(&m), 0);
	assert_true(stun_msg_has(&m, STUN_ATTR_SOFTWARE));
}

static void test_change_request(void **state)
{
	(void)state;
	uint8_t req[512], out[STUN_SERVER_MAX_ANSWER];
	struct stun_msg m;
	struct stun_server_answer ans;
	struct stun_addr a;
	char s[STUN_ADDR_STRLEN];
	size_t n = request(req, STUN_CHANGE_IP | STUN_CHANGE_PORT, -1, 0);
	answer(req, n, 0, false, &m, &ans, out);
	assert_int_equal(ans.from, 3);
	assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_RESPONSE_ORIGIN, &a), 0);
	assert_string_equal(stun_addr_format(&a, s), "192.0.2.2:3479");
	n = request(req, STUN_CHANGE_PORT, -1, 0);
	answer(req, n, 2, false, &m, &ans, out); /* arrived on (A2,P1) */
	assert_int_equal(ans.from, 3);
	/* OTHER-ADDRESS is relative to where the request arrived */
	assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_OTHER_ADDRESS, &a), 0);
	assert_string_equal(stun_addr_format(&a, s), "192.0.2.1:3479");
	/* over TCP the answer cannot change origin: 400 */
	answer(req, n, 0, true, &m, &ans, out);
	int code;
	assert_int_equal(m.cls, STUN_CLASS_ERROR);
	assert_int_equal(stun_msg_get_error(&m, &code, NULL, NULL), 0);
	assert_int_equal(code, 400);
	/* a server with one address cannot change IP: 420 naming the attribute */
	memset(&cfg.addr[1], 0, sizeof(cfg.addr[1]));
	n = request(req, STUN_CHANGE_IP, -1, 0);
	answer(req, n, 0, false, &m, &ans, out);
	assert_int_equal(stun_msg_get_error(&m, &code, NULL, NULL), 0);
	assert_int_equal(code, 420);
	uint16_t types[2];
	size_t k;
	assert_int_equal(stun_msg_get_unknown_attrs(&m, types, 2, &k), 0);
	assert_int_equal(types[0], STUN_ATTR_CHANGE_REQUEST);
	/* ... and gives no OTHER-ADDRESS, but still answers change port */
	n = request(req, STUN_CHANGE_PORT, -1, 0);
	answer(req, n, 0, false, &m, &ans, out);
	assert_int_equal(m.cls, STUN_CLASS_SUCCESS);
	assert_false(stun_msg_has(&m, STUN_ATTR_OTHER_ADDRESS));
	assert_int_equal(ans.from, 1);
}

static void test_response_port_unknown_method(void **state)
{
	(void)state;
	uint8_t req[512], out[STUN_SERVER_MAX_ANSWER];
	struct stun_msg m;
	struct stun_server_answer ans;
	size_t n = request(req, 0, 5555, 0);
	answer(req, n, 0, false, &m, &ans, out);
	assert_int_equal(ans.to.port, 5555);
	assert_true(stun_addr_ip_equal(&ans.to, &client));
	/* unknown comprehension-required attribute: 420 + UNKNOWN-ATTRIBUTES */
	n = request(req, 0, -1, 0x7f01);
	answer(req, n, 0, false, &m, &ans, out);
	int code;
	assert_int_equal(stun_msg_get_error(&m, &code, NULL, NULL), 0);
	assert_int_equal(code, 420);
	/* unknown optional attribute: ignored */
	n = request(req, 0, -1, 0xc0de);
	answer(req, n, 0, false, &m, &ans, out);
	assert_int_equal(m.cls, STUN_CLASS_SUCCESS);
	/* Allocate at a STUN-only server: 400 */
	struct stun_builder b;
	stun_builder_init(&b, req, sizeof(req), 0x0003, tid);
	answer(req, (size_t)stun_builder_finish(&b), 0, false, &m, &ans, out);
	assert_int_equal(stun_msg_get_error(&m, &code, NULL, NULL), 0);
	assert_int_equal(code, 400);
	assert_int_equal(m.method, STUN_METHOD_ALLOCATE);
	n = request(req, 0, -1, 0);
	req[n - 1] ^= 1;
	/* the fingerprint now mismatches: silently dropped */
	assert_int_equal(
	    stun_server_handle(&cfg, 0, false, &client, req, n, out, sizeof(out), &ans), 0);
	/* indications and garbage: dropped */
	uint8_t junk[20] = {0x00, 0x11, 0, 0, 0x21, 0x12, 0xa4, 0x42};
	assert_int_equal(
	    stun_server_handle(&cfg, 0, false, &client, junk, 20, out, sizeof(out), &ans), 0);
	assert_int_equal(
	    stun_server_handle(&cfg, 0, false, &client, junk, 7, out, sizeof(out), &ans), 0);
	assert_int_equal(stun_server_handle(&cfg, 3, false, &client, junk, 20, out, 10, &ans),
			 -EINVAL);
}

static void test_classic_client(void **state)
{
	(void)state;
	/* RFC 3489: no cookie, a 128-bit transaction ID, CHANGE-REQUEST */
	uint8_t req[28] = {0x00, 0x01, 0x00, 0x08, 0xde, 0xad, 0xbe, 0xef, 1,	 2, 3, 4, 5,   6, 7,
			   8,	 9,    10,   11,   12,	 0x00, 0x03, 0x00, 0x04, 0, 0, 0, 0x02};
	uint8_t out[STUN_SERVER_MAX_ANSWER];
	struct stun_server_answer ans;
	assert_int_equal(
	    stun_server_handle(&cfg, 0, false, &client, req, sizeof(req), out, sizeof(out), &ans),
	    1);
	assert_int_equal(ans.from, 1);
	assert_memory_equal(out + 4, req + 4, 16);
	struct stun_msg m;
	assert_int_equal(stun_msg_decode(&m, out, ans.len, STUN_DECODE_CLASSIC, NULL), 0);
	assert_true(m.classic);
	struct stun_addr a;
	char s[STUN_ADDR_STRLEN];
	assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_MAPPED_ADDRESS, &a), 0);
	assert_true(stun_addr_equal(&a, &client));
	assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_SOURCE_ADDRESS, &a), 0);
	assert_string_equal(stun_addr_format(&a, s), "192.0.2.1:3479");
	assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_CHANGED_ADDRESS, &a), 0);
	assert_string_equal(stun_addr_format(&a, s), "192.0.2.2:3479");
	assert_false(stun_msg_has(&m, STUN_ATTR_SOFTWARE));
	assert_false(stun_msg_has(&m, STUN_ATTR_FINGERPRINT));
}

static void test_fingerprint_policy(void **state)
{
	(void)state;
	uint8_t req[64], out[STUN_SERVER_MAX_ANSWER];
	struct stun_builder b;
	struct stun_msg m;
	struct stun_server_answer ans;
	stun_builder_init(&b, req, sizeof(req), 0x0001, tid);
	size_t n = (size_t)stun_builder_finish(&b); /* no FINGERPRINT */
	answer(req, n, 0, false, &m, &ans, out);
	assert_int_equal(m.fp_idx, -1);
	cfg.fingerprint = STUN_SERVER_FP_ALWAYS;
	answer(req, n, 0, false, &m, &ans, out);
	assert_int_equal(stun_msg_check_fingerprint(&m), 0);
	cfg.fingerprint = STUN_SERVER_FP_NEVER;
	n = request(req, 0, -1, 0); /* with FINGERPRINT */
	answer(req, n, 0, false, &m, &ans, out);
	assert_int_equal(m.fp_idx, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_plain_binding, setup),
	    cmocka_unit_test_setup(test_change_request, setup),
	    cmocka_unit_test_setup(test_response_port_unknown_method, setup),
	    cmocka_unit_test_setup(test_classic_client, setup),
	    cmocka_unit_test_setup(test_fingerprint_policy, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

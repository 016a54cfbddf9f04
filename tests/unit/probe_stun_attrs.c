/* probe_stun_attrs.c - natlab-probe and a Binding success response that
 * carries an unknown comprehension-required attribute (RFC 8489 §6.3.3:
 * "the response is discarded and the transaction is considered to have
 * failed"): the probe must not take the mapped address from it, and must
 * say why. A control answer without the attribute is accepted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "agents/probe/probe.h"
#include "agents/stun/stun.h"

static struct {
	uint8_t last[1600];
	size_t last_len;
	int last_sock, sent, opened, closed;
} W;

static int fake_open(void *ctx, struct stun_addr *local)
{
	(void)ctx;
	stun_addr_parse(local, "10.0.0.2");
	local->port = (uint16_t)(40000 + W.opened);
	return W.opened++;
}

static void fake_close(void *ctx, int sock)
{
	(void)ctx;
	(void)sock;
	W.closed++;
}

static int fake_send(void *ctx, int sock, const struct stun_addr *to, const uint8_t *buf,
		     size_t len)
{
	(void)ctx;
	(void)to;
	assert_true(len <= sizeof(W.last));
	memcpy(W.last, buf, len);
	W.last_len = len;
	W.last_sock = sock;
	W.sent++;
	return 0;
}

/* start a probe, answer its first Binding request (with @unknown: an
 * undefined comprehension-required attribute) and return it */
static struct probe *answer_first(uint16_t unknown)
{
	struct probe_config cfg = {.rto_ms = 100, .attempts = 3, .port_samples = 2};
	struct probe_io io = {.open = fake_open, .send = fake_send, .close = fake_close};
	struct stun_msg req;
	struct stun_builder b;
	struct stun_addr mapped, server;
	uint8_t buf[256], v[4] = {9, 9, 9, 9};

	memset(&W, 0, sizeof(W));
	stun_addr_parse(&cfg.server, "192.0.2.1:3478");
	server = cfg.server;
	struct probe *p = probe_new(&cfg, &io);
	assert_non_null(p);
	probe_start(p, 1000);
	assert_true(W.sent >= 1);
	assert_int_equal(stun_msg_decode(&req, W.last, W.last_len, 0, NULL), 0);
	stun_builder_init(&b, buf, sizeof(buf),
			  stun_type_make(STUN_CLASS_SUCCESS, STUN_METHOD_BINDING), req.tid);
	stun_addr_parse(&mapped, "203.0.113.7:5555");
	stun_builder_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
	if (unknown)
		stun_builder_add(&b, unknown, v, sizeof(v));
	long n = stun_builder_finish(&b);
	assert_true(n > 0);
	probe_input(p, 1001, W.last_sock, &server, buf, (size_t)n);
	probe_tick(p, 1001);
	return p;
}

static void test_unknown_required_rejected(void **st)
{
	(void)st;
	struct probe *p = answer_first(0x7ff0);
	const struct probe_result *r = probe_result(p);
	assert_true(probe_done(p));
	assert_false(r->udp);
	assert_true(strstr(r->error, "comprehension-required") != NULL);
	probe_free(p);
	assert_int_equal(W.opened, W.closed);
}

static void test_unknown_optional_accepted(void **st)
{
	(void)st;
	char s[STUN_ADDR_STRLEN];
	/* 0x8000 and up: comprehension-optional, ignored (RFC 8489 §14) */
	struct probe *p = answer_first(0xfff0);
	const struct probe_result *r = probe_result(p);
	assert_true(r->udp);
	assert_string_equal(stun_addr_ip_format(&r->mapped, s), "203.0.113.7");
	/* (no OTHER-ADDRESS in this answer: the probe notes that instead) */
	assert_null(strstr(r->error, "comprehension-required"));
	probe_free(p);
	assert_int_equal(W.opened, W.closed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unknown_required_rejected),
	    cmocka_unit_test(test_unknown_optional_accepted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

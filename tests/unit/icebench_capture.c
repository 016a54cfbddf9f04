/* icebench_capture.c - bench/ice_capture.h, which bench_ice_connect uses to
 * find an agent's first connectivity check in a capture: which STUN
 * messages count as checks (plain, in a Send indication, in ChannelData),
 * which do not (gathering requests, responses, other senders, truncated
 * messages), and the times it reads back from a pcap file written by
 * emu/pcap.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/ice_capture.h"
#include "emu/pcap.h"

static size_t attr(uint8_t *p, uint16_t type, const void *v, uint16_t len)
{
	p[0] = (uint8_t)(type >> 8);
	p[1] = (uint8_t)type;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	if (len)
		memcpy(p + 4, v, len);
	return 4 + (((size_t)len + 3) & ~(size_t)3);
}

/* A STUN message of @type with a USERNAME and, optionally, PRIORITY and
 * USE-CANDIDATE. Returns its length. */
static size_t stun(uint8_t *p, uint16_t type, bool prio, bool use)
{
	size_t n = 20;
	uint32_t pr = htonl(0x6e7f1eff);
	memset(p, 0, 20);
	p[0] = (uint8_t)(type >> 8);
	p[1] = (uint8_t)type;
	p[4] = 0x21;
	p[5] = 0x12;
	p[6] = 0xa4;
	p[7] = 0x42;
	for (int i = 8; i < 20; i++)
		p[i] = (uint8_t)i;
	n += attr(p + n, 0x0006, "abcd:efgh", 9); /* USERNAME, padded */
	if (prio)
		n += attr(p + n, 0x0024, &pr, 4);
	if (use)
		n += attr(p + n, 0x0025, NULL, 0);
	p[2] = (uint8_t)((n - 20) >> 8);
	p[3] = (uint8_t)(n - 20);
	return n;
}

static void test_classify(void **state)
{
	uint8_t m[256], w[512];
	size_t n, k;
	(void)state;
	n = stun(m, 0x0001, true, false);
	assert_int_equal(ic_stun_check(m, n, 0), 1);
	n = stun(m, 0x0001, true, true);
	assert_int_equal(ic_stun_check(m, n, 0), 2);
	/* a gathering request to a STUN server: no PRIORITY */
	n = stun(m, 0x0001, false, false);
	assert_int_equal(ic_stun_check(m, n, 0), 0);
	/* a success response is not a check */
	n = stun(m, 0x0101, true, false);
	assert_int_equal(ic_stun_check(m, n, 0), 0);
	/* truncated: the header's length runs past the datagram */
	n = stun(m, 0x0001, true, false);
	assert_int_equal(ic_stun_check(m, n - 4, 0), 0);
	/* wrong magic cookie */
	m[4] = 0;
	assert_int_equal(ic_stun_check(m, n, 0), 0);

	/* inside ChannelData (channel 0x4001) */
	n = stun(m, 0x0001, true, true);
	w[0] = 0x40;
	w[1] = 0x01;
	w[2] = (uint8_t)(n >> 8);
	w[3] = (uint8_t)n;
	memcpy(w + 4, m, n);
	assert_int_equal(ic_stun_check(w, 4 + n, 0), 2);
	/* ChannelData claiming more than it carries */
	assert_int_equal(ic_stun_check(w, 4 + n - 1, 0), 0);

	/* inside a Send indication's DATA attribute */
	k = stun(w, 0x0016, false, false);
	k += attr(w + k, 0x0013, m, (uint16_t)n);
	w[2] = (uint8_t)((k - 20) >> 8);
	w[3] = (uint8_t)(k - 20);
	assert_int_equal(ic_stun_check(w, k, 0), 2);
}

/* Ethernet + IPv4 (source @src) + UDP carrying @p. */
static size_t frame(uint8_t *f, const char *src, const uint8_t *p, size_t n)
{
	uint8_t *ip = f + 14;
	memset(f, 0, 14 + 28);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)((28 + n) >> 8);
	ip[3] = (uint8_t)(28 + n);
	ip[8] = 64;
	ip[9] = 17;
	inet_pton(AF_INET, src, ip + 12);
	inet_pton(AF_INET, "198.51.100.1", ip + 16);
	ip[24] = (uint8_t)((8 + n) >> 8);
	ip[25] = (uint8_t)(8 + n);
	memcpy(ip + 28, p, n);
	return 14 + 28 + n;
}

static void test_scan(void **state)
{
	char path[] = "/tmp/icebench_capture.XXXXXX";
	struct emu_pcap *pc = NULL;
	struct natlab_err e;
	uint8_t m[256], f[512];
	const uint64_t t0 = 1700000000ull * 1000000000ull; /* the trial's start */
	struct ic_checks k;
	uint32_t a;
	size_t n;
	int fd = mkstemp(path);
	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(emu_pcap_open(path, &pc, &e), 0);
	/* 5 ms: a gathering request from the agent (not a check) */
	n = stun(m, 0x0001, false, false);
	assert_int_equal(emu_pcap_write(pc, t0 + 5000000, f, frame(f, "10.0.1.2", m, n)), 0);
	/* 7 ms: the peer's check arriving (another source) */
	n = stun(m, 0x0001, true, false);
	assert_int_equal(emu_pcap_write(pc, t0 + 7000000, f, frame(f, "198.18.0.1", m, n)), 0);
	/* 54.25 ms: the agent's first check */
	assert_int_equal(emu_pcap_write(pc, t0 + 54250000, f, frame(f, "10.0.1.2", m, n)), 0);
	/* 104 ms: a second check; 254.5 ms: the nominating one */
	assert_int_equal(emu_pcap_write(pc, t0 + 104000000, f, frame(f, "10.0.1.2", m, n)), 0);
	n = stun(m, 0x0001, true, true);
	assert_int_equal(emu_pcap_write(pc, t0 + 254500000, f, frame(f, "10.0.1.2", m, n)), 0);
	assert_int_equal(emu_pcap_close(pc), 0);

	inet_pton(AF_INET, "10.0.1.2", &a);
	assert_int_equal(ic_scan(path, a, t0, &k), 0);
	assert_int_equal(k.n_checks, 3);
	assert_true(k.first_check_ms > 54.249 && k.first_check_ms < 54.251);
	assert_true(k.first_nominate_ms > 254.499 && k.first_nominate_ms < 254.501);
	/* the peer's address sees only its own check */
	inet_pton(AF_INET, "198.18.0.1", &a);
	assert_int_equal(ic_scan(path, a, t0, &k), 0);
	assert_int_equal(k.n_checks, 1);
	assert_true(k.first_nominate_ms < 0);
	unlink(path);
	/* a missing file is an error, not "no checks" */
	assert_int_equal(ic_scan(path, a, t0, &k), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_classify),
	    cmocka_unit_test(test_scan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

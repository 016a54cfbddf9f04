/* nat_drops.c - the NAT's dropped packets aggregated per (rule, 5-tuple)
 * and bounded (emu/nat_drops.c), and the nfnetlink_log message read; no
 * kernel, no root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <netinet/in.h>

#include "emu/nat_evidence.h"

/* An IPv4 packet (20-byte header, no options) of @proto with ports. */
static size_t ip4(uint8_t *p, uint8_t proto, const char *src, uint16_t sport, const char *dst,
		  uint16_t dport, uint16_t frag_off)
{
	memset(p, 0, 28);
	p[0] = 0x45;
	p[2] = 0, p[3] = 28 + 100; /* total length: the log cut the payload */
	p[6] = (uint8_t)(frag_off >> 8), p[7] = (uint8_t)frag_off;
	p[8] = 64;
	p[9] = proto;
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, dst, p + 16);
	p[20] = (uint8_t)(sport >> 8), p[21] = (uint8_t)sport;
	p[22] = (uint8_t)(dport >> 8), p[23] = (uint8_t)dport;
	return 28;
}

static void test_aggregate(void **state)
{
	struct emu_nat_drops a;
	uint8_t p[64];
	size_t n;

	memset(&a, 0, sizeof(a));
	n = ip4(p, IPPROTO_UDP, "203.0.113.2", 40001, "203.0.113.6", 5000, 0);
	emu_nat_drops_add(&a, "drop_filtering", p, n, 300);
	emu_nat_drops_add(&a, "drop_filtering", p, n, 900);
	emu_nat_drops_add(&a, "drop_filtering", p, n, 500);
	/* the same tuple refused by another rule: an entry of its own */
	emu_nat_drops_add(&a, "drop_udp_blocked", p, n, 950);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.d[0].rule, EMU_NAT_CTR_DROP_FILTERING);
	assert_int_equal(a.d[0].proto, IPPROTO_UDP);
	assert_string_equal(a.d[0].src, "203.0.113.2:40001");
	assert_string_equal(a.d[0].dst, "203.0.113.6:5000");
	assert_int_equal(a.d[0].pkts, 3);
	assert_int_equal(a.d[0].first_ms, 300);
	assert_int_equal(a.d[0].last_ms, 900);
	assert_int_equal(a.d[1].rule, EMU_NAT_CTR_DROP_UDP_BLOCKED);
	assert_int_equal(a.d[1].pkts, 1);
	/* another source port is another tuple */
	n = ip4(p, IPPROTO_UDP, "203.0.113.2", 40002, "203.0.113.6", 5000, 0);
	emu_nat_drops_add(&a, "filtering", p, n, 1000); /* the short name works too */
	assert_int_equal(a.n, 3);
	assert_int_equal(a.unparsed, 0);
}

static void test_unreadable(void **state)
{
	struct emu_nat_drops a;
	uint8_t p[64];
	size_t n;

	memset(&a, 0, sizeof(a));
	n = ip4(p, IPPROTO_UDP, "192.0.2.1", 1, "192.0.2.2", 2, 0);
	emu_nat_drops_add(&a, "drop_whatever", p, n, 0);   /* no such rule */
	emu_nat_drops_add(&a, "drop_filtering", p, 22, 0); /* ports cut */
	emu_nat_drops_add(&a, "drop_filtering", p, 10, 0); /* header cut */
	emu_nat_drops_add(&a, "drop_filtering", p, 0, 0);
	p[0] = 0x46; /* IHL 24 > the 22 bytes given */
	emu_nat_drops_add(&a, "drop_filtering", p, 22, 0);
	p[0] = 0x75; /* IP version 7 */
	emu_nat_drops_add(&a, "drop_filtering", p, n, 0);
	assert_int_equal(a.n, 0);
	assert_int_equal(a.unparsed, 6);
	/* a later fragment has no ports: addresses only */
	n = ip4(p, IPPROTO_UDP, "192.0.2.1", 1, "192.0.2.2", 2, 185);
	emu_nat_drops_add(&a, "drop_filtering", p, n, 0);
	assert_int_equal(a.n, 1);
	assert_string_equal(a.d[0].src, "192.0.2.1");
	assert_int_equal(a.d[0].proto, 0);
}

static void test_ipv6(void **state)
{
	struct emu_nat_drops a;
	uint8_t p[60];

	memset(&a, 0, sizeof(a));
	memset(p, 0, sizeof(p));
	p[0] = 0x60;
	p[5] = 20;
	p[6] = IPPROTO_TCP;
	inet_pton(AF_INET6, "2001:db8:2::1", p + 8);
	inet_pton(AF_INET6, "fd00:10::2", p + 24);
	p[40] = 0x01, p[41] = 0xbb; /* 443 */
	p[42] = 0x13, p[43] = 0x88; /* 5000 */
	emu_nat_drops_add(&a, "drop_inbound_v6", p, sizeof(p), 7);
	assert_int_equal(a.n, 1);
	assert_int_equal(a.d[0].proto, IPPROTO_TCP);
	assert_string_equal(a.d[0].src, "[2001:db8:2::1]:443");
	assert_string_equal(a.d[0].dst, "[fd00:10::2]:5000");
}

/* Past EMU_NAT_DROPS_MAX tuples only counts; known tuples keep counting. */
static void test_bound(void **state)
{
	struct emu_nat_drops a;
	uint8_t p[64];
	size_t n = 0;

	memset(&a, 0, sizeof(a));
	for (unsigned i = 0; i < EMU_NAT_DROPS_MAX + 5; i++) {
		n = ip4(p, IPPROTO_UDP, "198.51.100.1", (uint16_t)(1000 + i), "203.0.113.1", 9, 0);
		emu_nat_drops_add(&a, "drop_filtering", p, n, i);
	}
	assert_int_equal(a.n, EMU_NAT_DROPS_MAX);
	assert_int_equal(a.other_pkts, 5);
	n = ip4(p, IPPROTO_UDP, "198.51.100.1", 1007, "203.0.113.1", 9, 0);
	emu_nat_drops_add(&a, "drop_filtering", p, n, 100);
	emu_nat_drops_add(&a, "drop_filtering", p, n, 101);
	assert_int_equal(a.other_pkts, 5);
	emu_nat_drops_sort(&a);
	/* most packets first, then by first seen */
	assert_string_equal(a.d[0].src, "198.51.100.1:1007");
	assert_int_equal(a.d[0].pkts, 3);
	assert_string_equal(a.d[1].src, "198.51.100.1:1000");
	assert_string_equal(a.d[2].src, "198.51.100.1:1001");
	assert_true(sizeof(a) < 8192); /* kept per NAT node, copied on snapshot */
}

static size_t nflog_msg(char *buf, uint16_t type, const char *prefix, const void *pl, size_t len)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;
	struct nfulnl_msg_packet_hdr ph = {.hw_protocol = htons(0x0800), .hook = 0};

	nlh->nlmsg_type = type;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_INET;
	g->res_id = htons(EMU_NAT_LOG_GROUP);
	mnl_attr_put(nlh, NFULA_PACKET_HDR, sizeof(ph), &ph);
	if (prefix)
		mnl_attr_put_strz(nlh, NFULA_PREFIX, prefix);
	if (pl)
		mnl_attr_put(nlh, NFULA_PAYLOAD, len, pl);
	return nlh->nlmsg_len;
}

static void test_nflog_parse(void **state)
{
	char buf[1024], prefix[64], small[6];
	const uint16_t pkt_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
	uint8_t p[64];
	const void *pl;
	size_t n = ip4(p, IPPROTO_UDP, "203.0.113.2", 40001, "203.0.113.6", 5000, 0), len;

	nflog_msg(buf, pkt_type, "drop_filtering", p, n);
	assert_int_equal(
	    emu_nat_nflog_parse((struct nlmsghdr *)buf, prefix, sizeof(prefix), &pl, &len), 0);
	assert_string_equal(prefix, "drop_filtering");
	assert_int_equal(len, n);
	assert_memory_equal(pl, p, n);
	/* a prefix longer than the caller's room is cut, still terminated */
	assert_int_equal(
	    emu_nat_nflog_parse((struct nlmsghdr *)buf, small, sizeof(small), &pl, &len), 0);
	assert_string_equal(small, "drop_");
	/* no prefix: empty, the aggregate then counts it unparsed */
	nflog_msg(buf, pkt_type, NULL, p, n);
	assert_int_equal(
	    emu_nat_nflog_parse((struct nlmsghdr *)buf, prefix, sizeof(prefix), &pl, &len), 0);
	assert_string_equal(prefix, "");
	/* not a packet message, or no payload */
	nflog_msg(buf, (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG, "x", p, n);
	assert_int_equal(
	    emu_nat_nflog_parse((struct nlmsghdr *)buf, prefix, sizeof(prefix), &pl, &len),
	    -EINVAL);
	nflog_msg(buf, pkt_type, "drop_filtering", NULL, 0);
	assert_int_equal(
	    emu_nat_nflog_parse((struct nlmsghdr *)buf, prefix, sizeof(prefix), &pl, &len),
	    -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_aggregate),	cmocka_unit_test(test_unreadable),
	    cmocka_unit_test(test_ipv6),	cmocka_unit_test(test_bound),
	    cmocka_unit_test(test_nflog_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* emu_flow_parse: ctnetlink messages built here with libmnl, as the
 * kernel's dump answers them, parsed back; every field compared. No kernel,
 * no root. */
#include <arpa/inet.h>
#include <endian.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "emu/flow.h"

static void put_tuple(struct nlmsghdr *nlh, int type, const char *src, const char *dst,
		      uint8_t proto, uint16_t sport, uint16_t dport)
{
	struct nlattr *t = mnl_attr_nest_start(nlh, type), *n;
	struct in_addr a;

	n = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	inet_pton(AF_INET, src, &a);
	mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, a.s_addr);
	inet_pton(AF_INET, dst, &a);
	mnl_attr_put_u32(nlh, CTA_IP_V4_DST, a.s_addr);
	mnl_attr_nest_end(nlh, n);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, proto);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(sport));
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(dport));
	mnl_attr_nest_end(nlh, n);
	mnl_attr_nest_end(nlh, t);
}

static void put_counters(struct nlmsghdr *nlh, int type, uint64_t pkts, uint64_t bytes)
{
	struct nlattr *n = mnl_attr_nest_start(nlh, type);

	mnl_attr_put_u64(nlh, CTA_COUNTERS_PACKETS, htobe64(pkts));
	mnl_attr_put_u64(nlh, CTA_COUNTERS_BYTES, htobe64(bytes));
	mnl_attr_nest_end(nlh, n);
}

/* A source-NATted UDP flow 10.1.0.2:5000 -> 203.0.113.6:6000 leaving as
 * 203.0.113.2:40001, with counters and a start time. */
static struct nlmsghdr *snat_msg(char *buf, uint8_t proto)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;
	struct nlattr *ts;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_INET;
	put_tuple(nlh, CTA_TUPLE_ORIG, "10.1.0.2", "203.0.113.6", proto, 5000, 6000);
	put_tuple(nlh, CTA_TUPLE_REPLY, "203.0.113.6", "203.0.113.2", proto, 6000, 40001);
	mnl_attr_put_u32(nlh, CTA_STATUS, htonl(IPS_SRC_NAT | IPS_CONFIRMED));
	mnl_attr_put_u32(nlh, CTA_ID, htonl(77));
	put_counters(nlh, CTA_COUNTERS_ORIG, 12, 1800);
	put_counters(nlh, CTA_COUNTERS_REPLY, 11, 1700);
	ts = mnl_attr_nest_start(nlh, CTA_TIMESTAMP);
	mnl_attr_put_u64(nlh, CTA_TIMESTAMP_START, htobe64(1795483177135448000ull));
	mnl_attr_nest_end(nlh, ts);
	return nlh;
}

static void test_snat_udp(void **state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct emu_flow f;

	(void)state;
	assert_int_equal(emu_flow_parse(snat_msg(buf, IPPROTO_UDP), &f), 1);
	assert_int_equal(f.proto, IPPROTO_UDP);
	assert_int_equal(f.id, 77);
	assert_string_equal(f.orig.src, "10.1.0.2");
	assert_string_equal(f.orig.dst, "203.0.113.6");
	assert_int_equal(f.orig.sport, 5000);
	assert_int_equal(f.orig.dport, 6000);
	assert_string_equal(f.reply.src, "203.0.113.6");
	assert_string_equal(f.reply.dst, "203.0.113.2");
	assert_int_equal(f.reply.sport, 6000);
	assert_int_equal(f.reply.dport, 40001);
	assert_true(f.snat);
	assert_false(f.dnat);
	assert_int_equal(f.orig_pkts, 12);
	assert_int_equal(f.orig_bytes, 1800);
	assert_int_equal(f.reply_pkts, 11);
	assert_int_equal(f.reply_bytes, 1700);
	assert_true(f.start_ns == 1795483177135448000ull);
}

static void test_tcp_kept(void **state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct emu_flow f;

	(void)state;
	assert_int_equal(emu_flow_parse(snat_msg(buf, IPPROTO_TCP), &f), 1);
	assert_int_equal(f.proto, IPPROTO_TCP);
}

/* ICMP (no ports) and a message without a reply tuple are skipped, not
 * errors; a message too short for its header is one. */
static void test_skipped(void **state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	struct emu_flow f;

	(void)state;
	assert_int_equal(emu_flow_parse(snat_msg(buf, IPPROTO_ICMP), &f), 0);
	nlh = mnl_nlmsg_put_header(buf);
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_INET;
	put_tuple(nlh, CTA_TUPLE_ORIG, "10.1.0.2", "203.0.113.6", IPPROTO_UDP, 5000, 6000);
	assert_int_equal(emu_flow_parse(nlh, &f), 0);
	nlh = mnl_nlmsg_put_header(buf);
	assert_int_equal(emu_flow_parse(nlh, &f), -1);
}

/* Without accounting or timestamps (flows created before emu_flow_watch)
 * the counters and start read 0. */
static void test_no_counters(void **state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	struct emu_flow f;

	(void)state;
	nfg->nfgen_family = AF_INET;
	put_tuple(nlh, CTA_TUPLE_ORIG, "203.0.113.2", "203.0.113.14", IPPROTO_UDP, 5000, 3478);
	put_tuple(nlh, CTA_TUPLE_REPLY, "203.0.113.14", "203.0.113.2", IPPROTO_UDP, 3478, 5000);
	assert_int_equal(emu_flow_parse(nlh, &f), 1);
	assert_false(f.snat || f.dnat);
	assert_int_equal(f.orig_pkts + f.reply_pkts + f.orig_bytes + f.reply_bytes, 0);
	assert_true(f.start_ns == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_snat_udp),
	    cmocka_unit_test(test_tcp_kept),
	    cmocka_unit_test(test_skipped),
	    cmocka_unit_test(test_no_counters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

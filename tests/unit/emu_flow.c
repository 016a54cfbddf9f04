/* emu/flow: the table natlab_wire built without a kernel (what the batch
 * holds), and set-element keys decoded as the rules load them. No root. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "emu/flow.h"
#include "emu/nft.h"

/* table three times (add, delete, add: a replace), 2 sets, 2 chains, one
 * rule per chain and protocol */
static void test_build(void **state)
{
	struct emu_nft_batch *b = emu_nft_batch_new();
	size_t len = 0;
	const char *bytes;

	(void)state;
	assert_non_null(b);
	assert_int_equal(emu_flow_watch_build(b, "eth0", EMU_FLOW_IPV4), 0);
	assert_int_equal(emu_nft_batch_count(b), 3 + 2 + 2 + 4);
	bytes = emu_nft_batch_bytes(b, &len);
	assert_non_null(bytes);
	/* the interface name, the set names and the table travel as strings */
	assert_non_null(memmem(bytes, len, "eth0", 5));
	assert_non_null(memmem(bytes, len, "seen", 5));
	assert_non_null(memmem(bytes, len, "born", 5));
	assert_non_null(memmem(bytes, len, EMU_FLOW_TABLE, sizeof(EMU_FLOW_TABLE)));
	emu_nft_batch_free(b);
}

/* Without an interface the rules match none: no interface name at all. */
static void test_build_all_ifaces(void **state)
{
	struct emu_nft_batch *b = emu_nft_batch_new();
	size_t len = 0;
	const char *bytes;

	(void)state;
	assert_int_equal(emu_flow_watch_build(b, NULL, EMU_FLOW_IPV4), 0);
	assert_int_equal(emu_nft_batch_count(b), 11);
	bytes = emu_nft_batch_bytes(b, &len);
	assert_null(memmem(bytes, len, "eth0", 4));
	emu_nft_batch_free(b);
}

/* saddr . daddr . l4proto . sport . dport . dir, 4 bytes each: the
 * addresses and ports in network order, l4proto a byte zero-padded, the
 * direction an immediate in host order */
static void test_key(void **state)
{
	uint8_t k[EMU_FLOW_KEY_LEN] = {0};
	uint32_t dir = 1;
	struct emu_flow f;

	(void)state;
	inet_pton(AF_INET, "203.0.113.2", k);
	inet_pton(AF_INET, "203.0.113.14", k + 4);
	k[8] = IPPROTO_UDP;
	k[12] = 40001 >> 8;
	k[13] = 40001 & 0xff;
	k[16] = 3478 >> 8;
	k[17] = 3478 & 0xff;
	memcpy(k + 20, &dir, 4);
	memset(&f, 0, sizeof(f));
	assert_int_equal(emu_flow_key_parse(k, sizeof(k), &f), 0);
	assert_string_equal(f.src, "203.0.113.2");
	assert_string_equal(f.dst, "203.0.113.14");
	assert_int_equal(f.proto, IPPROTO_UDP);
	assert_int_equal(f.sport, 40001);
	assert_int_equal(f.dport, 3478);
	assert_true(f.out);
	dir = 0;
	memcpy(k + 20, &dir, 4);
	assert_int_equal(emu_flow_key_parse(k, sizeof(k), &f), 0);
	assert_false(f.out);
	assert_int_equal(emu_flow_key_parse(k, sizeof(k) - 4, &f), -EINVAL);
}

/* Both families: the ip and the ip6 table, each whole; none is refused. */
static void test_build_ipv6(void **state)
{
	struct emu_nft_batch *b = emu_nft_batch_new();

	(void)state;
	assert_int_equal(emu_flow_watch_build(b, "eth0", EMU_FLOW_IPV4 | EMU_FLOW_IPV6), 0);
	assert_int_equal(emu_nft_batch_count(b), 2 * 11);
	assert_int_equal(emu_flow_watch_build(b, "eth0", 0), -EINVAL);
	emu_nft_batch_free(b);
	b = emu_nft_batch_new();
	assert_int_equal(emu_flow_watch_build(b, NULL, EMU_FLOW_IPV6), 0);
	assert_int_equal(emu_nft_batch_count(b), 11);
	emu_nft_batch_free(b);
}

/* The IPv6 key: saddr (16) . daddr (16) . l4proto . sport . dport . dir */
static void test_key6(void **state)
{
	uint8_t k[EMU_FLOW_KEY_LEN6] = {0};
	uint32_t dir = 0;
	struct emu_flow f;

	(void)state;
	inet_pton(AF_INET6, "2001:db8:1::2", k);
	inet_pton(AF_INET6, "2001:db8:ffff::e", k + 16);
	k[32] = IPPROTO_TCP;
	k[36] = 50000 >> 8;
	k[37] = 50000 & 0xff;
	k[40] = 443 >> 8;
	k[41] = 443 & 0xff;
	memcpy(k + 44, &dir, 4);
	memset(&f, 0, sizeof(f));
	assert_int_equal(emu_flow_key_parse(k, sizeof(k), &f), 0);
	assert_string_equal(f.src, "2001:db8:1::2");
	assert_string_equal(f.dst, "2001:db8:ffff::e");
	assert_int_equal(f.proto, IPPROTO_TCP);
	assert_int_equal(f.sport, 50000);
	assert_int_equal(f.dport, 443);
	assert_false(f.out);
	assert_true(f.ipv6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build),
	    cmocka_unit_test(test_build_all_ifaces),
	    cmocka_unit_test(test_key),
	    cmocka_unit_test(test_build_ipv6),
	    cmocka_unit_test(test_key6),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

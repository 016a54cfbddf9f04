/* dut_dhcp.c - the DHCPv4 message codec of natlab dut's LAN host
 * (harness/dut_dhcp.c): a message built and parsed back keeps its fields;
 * a hand-made server reply (RFC 2131 layout, options in another order,
 * pads, a router list) parses; every truncation and a bad cookie, an
 * option running past the end, a short address option and a missing
 * message type are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "harness/dut_dhcp.h"

static void test_roundtrip(void **st)
{
	(void)st;
	struct dut_dhcp_msg m = {.op = 1,
				 .xid = 0x01020304,
				 .flags = 0x8000,
				 .chaddr = {2, 0, 0, 0, 0, 9},
				 .type = DUT_DHCP_REQUEST,
				 .server_id = 0xc0a80101,
				 .requested = 0xc0a80132},
			    p;
	uint8_t buf[DUT_DHCP_MSG_MAX];
	int n = dut_dhcp_build(&m, buf, sizeof(buf));

	assert_true(n > 240);
	assert_int_equal(buf[1], 1); /* Ethernet */
	assert_int_equal(buf[2], 6);
	assert_int_equal(dut_dhcp_parse(buf, (size_t)n, &p), 0);
	assert_int_equal(p.op, 1);
	assert_int_equal(p.xid, 0x01020304);
	assert_int_equal(p.flags, 0x8000);
	assert_int_equal(p.type, DUT_DHCP_REQUEST);
	assert_int_equal(p.server_id, 0xc0a80101);
	assert_int_equal(p.requested, 0xc0a80132);
	assert_memory_equal(p.chaddr, m.chaddr, 6);
	assert_int_equal(dut_dhcp_build(&m, buf, 100), -ENOSPC);
	/* every truncation of the options either parses (cut after the
	 * message type) or is refused, never read past @len */
	for (int k = 0; k < n; k++) {
		struct dut_dhcp_msg q;
		int r = dut_dhcp_parse(buf, (size_t)k, &q);
		assert_true(r == 0 || r == -EINVAL);
		if (k < 243)
			assert_int_equal(r, -EINVAL);
	}
}

/* a BOOTREPLY as a server writes it, by hand */
static size_t reply(uint8_t *b)
{
	size_t o = 240;

	memset(b, 0, 600);
	b[0] = 2;
	b[1] = 1;
	b[2] = 6;
	b[4] = 0xaa, b[5] = 0xbb, b[6] = 0xcc, b[7] = 0xdd;
	b[16] = 192, b[17] = 168, b[18] = 1, b[19] = 50; /* yiaddr */
	b[236] = 99, b[237] = 130, b[238] = 83, b[239] = 99;
	b[o++] = 0;		/* pad */
	b[o++] = 3, b[o++] = 8; /* two routers */
	b[o++] = 192, b[o++] = 168, b[o++] = 1, b[o++] = 1;
	b[o++] = 192, b[o++] = 168, b[o++] = 1, b[o++] = 254;
	b[o++] = 12, b[o++] = 3, b[o++] = 'd', b[o++] = 'u', b[o++] = 't'; /* host name: skipped */
	b[o++] = 51, b[o++] = 4, b[o++] = 0, b[o++] = 0, b[o++] = 0x0e, b[o++] = 0x10;
	b[o++] = 1, b[o++] = 4, b[o++] = 255, b[o++] = 255, b[o++] = 255, b[o++] = 0;
	b[o++] = 54, b[o++] = 4, b[o++] = 192, b[o++] = 168, b[o++] = 1, b[o++] = 1;
	b[o++] = 53, b[o++] = 1, b[o++] = 5;
	b[o++] = 255;
	return o;
}

static void test_server_reply(void **st)
{
	(void)st;
	uint8_t b[600];
	size_t n = reply(b);
	struct dut_dhcp_msg m;

	assert_int_equal(dut_dhcp_parse(b, n, &m), 0);
	assert_int_equal(m.op, 2);
	assert_int_equal(m.xid, 0xaabbccdd);
	assert_int_equal(m.type, DUT_DHCP_ACK);
	assert_int_equal(m.yiaddr, 0xc0a80132);
	assert_int_equal(m.router, 0xc0a80101);
	assert_int_equal(m.mask, 0xffffff00);
	assert_int_equal(m.lease_s, 3600);
	assert_int_equal(m.server_id, 0xc0a80101);
}

static void test_malformed(void **st)
{
	(void)st;
	uint8_t b[600];
	size_t n = reply(b);
	struct dut_dhcp_msg m;

	b[236] = 98; /* no magic cookie */
	assert_int_equal(dut_dhcp_parse(b, n, &m), -EINVAL);
	n = reply(b);
	b[0] = 7; /* neither request nor reply */
	assert_int_equal(dut_dhcp_parse(b, n, &m), -EINVAL);
	n = reply(b);
	b[242] = 200; /* the router option runs past the end */
	assert_int_equal(dut_dhcp_parse(b, n, &m), -EINVAL);
	n = reply(b);
	b[242] = 2; /* a router shorter than an address */
	assert_int_equal(dut_dhcp_parse(b, n, &m), -EINVAL);
	n = reply(b);
	b[n - 4] = 0; /* option 53 turned into a pad: no message type */
	b[n - 3] = 0;
	b[n - 2] = 0;
	assert_int_equal(dut_dhcp_parse(b, n, &m), -EINVAL);
	/* an option code as the last byte, its length missing */
	n = reply(b);
	assert_int_equal(dut_dhcp_parse(b, n - 3, &m), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_server_reply),
	    cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* capture_sll2 - the pcap bytes a node capture (emu/capture.c) writes: the file header and
 * one record with its LINKTYPE_LINUX_SLL2 header, field by field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "emu/capture.h"

static void test_header(void **state)
{
	uint8_t h[24];
	const uint8_t want[24] = {0xa1, 0xb2, 0xc3, 0xd4,	      /* magic, big-endian file */
				  0x00, 0x02, 0x00, 0x04,	      /* version 2.4 */
				  0,	0,    0,    0,	  0, 0, 0, 0, /* thiszone, sigfigs */
				  0x00, 0x00, 0xff, 0xff,	      /* snaplen 65535 */
				  0x00, 0x00, 0x01, 0x14}; /* linktype 276 = LINUX_SLL2 */

	emu_capture_sll2_header(h);
	assert_memory_equal(h, want, sizeof(want));
}

static void test_record(void **state)
{
	uint8_t r[36];
	const uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

	emu_capture_sll2_record(r, 1700000000u, 123456u, 60, 1500, htons(0x0800), 7, 1 /* ARPHRD_ETHER */,
		       4 /* PACKET_OUTGOING */, 6, mac);
	/* record header: seconds, microseconds, captured and original length,
	 * both counting the 20-byte SLL2 header */
	assert_memory_equal(r, "\x65\x53\xf1\x00", 4);
	assert_memory_equal(r + 4, "\x00\x01\xe2\x40", 4);
	assert_memory_equal(r + 8, "\x00\x00\x00\x50", 4);  /* 60 + 20 */
	assert_memory_equal(r + 12, "\x00\x00\x05\xf0", 4); /* 1500 + 20 */
	/* SLL2: protocol, reserved, ifindex, hatype, pkttype, halen, address */
	assert_memory_equal(r + 16, "\x08\x00\x00\x00", 4);
	assert_memory_equal(r + 20, "\x00\x00\x00\x07", 4);
	assert_memory_equal(r + 24, "\x00\x01", 2);
	assert_int_equal(r[26], 4);
	assert_int_equal(r[27], 6);
	assert_memory_equal(r + 28, mac, 6);
	assert_memory_equal(r + 34, "\x00\x00", 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header),
	    cmocka_unit_test(test_record),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

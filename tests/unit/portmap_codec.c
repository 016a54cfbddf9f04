/* portmap_codec.c - the PCP (RFC 6887) and NAT-PMP (RFC 6886) codecs
 * against messages laid out byte by byte from the RFCs' figures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "agents/portmap/natpmp.h"
#include "agents/portmap/pcp.h"

static const uint8_t nonce[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

/* RFC 6887 §7.1 + §11.1: a MAP request for UDP 5000 of 10.1.0.2. */
static void test_pcp_map_request(void **state)
{
	struct pcp_map_request r;
	uint8_t buf[64];
	static const uint8_t want[60] = {
	    2,	  1,	0,    0,    /* version 2, R=0 opcode MAP, reserved */
	    0,	  0,	0x0e, 0x10, /* requested lifetime 3600 */
	    0,	  0,	0,    0,    0, 0, 0, 0, 0, 0,  0xff, 0xff,
	    10,	  1,	0,    2,				 /* ::ffff:10.1.0.2 */
	    1,	  2,	3,    4,    5, 6, 7, 8, 9, 10, 11,   12, /* mapping nonce */
	    17,	  0,	0,    0,				 /* UDP, reserved */
	    0x13, 0x88, 0x13, 0x88,				 /* internal 5000, suggested 5000 */
	    0,	  0,	0,    0,    0, 0, 0, 0, 0, 0,  0xff, 0xff,
	    0,	  0,	0,    0}; /* no address */

	(void)state;
	memset(&r, 0, sizeof(r));
	r.lifetime_s = 3600;
	pcp_ip4_mapped(r.client_ip, inet_addr("10.1.0.2"));
	memcpy(r.nonce, nonce, 12);
	r.protocol = 17;
	r.internal_port = 5000;
	r.suggested_port = 5000;
	pcp_ip4_mapped(r.suggested_ip, 0);
	assert_int_equal(pcp_map_request_encode(buf, sizeof(buf), &r), 60);
	assert_memory_equal(buf, want, 60);
	assert_int_equal(pcp_map_request_encode(buf, 59, &r), -ENOSPC);
	assert_int_equal(pcp_announce_request_encode(buf, sizeof(buf), r.client_ip), 24);
	assert_int_equal(buf[1], 0);				/* ANNOUNCE */
	assert_int_equal(buf[4] | buf[5] | buf[6] | buf[7], 0); /* lifetime 0 */
}

/* A MAP success response: §7.2 header then the §11.1 payload. */
static size_t map_response(uint8_t *b, uint8_t result, uint32_t epoch)
{
	memset(b, 0, 60);
	b[0] = 2;
	b[1] = 0x80 | 1;
	b[3] = result;
	b[4] = 0, b[5] = 0, b[6] = 0x0e, b[7] = 0x10; /* lifetime 3600 */
	b[8] = (uint8_t)(epoch >> 24), b[9] = (uint8_t)(epoch >> 16);
	b[10] = (uint8_t)(epoch >> 8), b[11] = (uint8_t)epoch;
	memcpy(b + 24, nonce, 12);
	b[36] = 17;
	b[40] = 0x13, b[41] = 0x88; /* internal 5000 */
	b[42] = 0xc3, b[43] = 0x50; /* assigned external 50000 */
	b[54] = 0xff, b[55] = 0xff;
	b[56] = 203, b[57] = 0, b[58] = 114, b[59] = 3;
	return 60;
}

static void test_pcp_response(void **state)
{
	uint8_t b[1104] = {0};
	struct pcp_response r;
	uint32_t ip;
	size_t n = map_response(b, PCP_SUCCESS, 77);

	(void)state;
	assert_int_equal(pcp_response_decode(b, n, &r), 0);
	assert_int_equal(r.opcode, PCP_OP_MAP);
	assert_int_equal(r.result, PCP_SUCCESS);
	assert_int_equal(r.lifetime_s, 3600);
	assert_int_equal(r.epoch_s, 77);
	assert_memory_equal(r.nonce, nonce, 12);
	assert_int_equal(r.internal_port, 5000);
	assert_int_equal(r.external_port, 50000);
	assert_int_equal(pcp_ip4_of(r.external_ip, &ip), 0);
	assert_int_equal(ip, inet_addr("203.0.114.3"));
	/* an option (§7.3: code, reserved, length 2, data padded to 4) */
	b[60] = 0x80, b[61] = 0, b[62] = 0, b[63] = 2, b[64] = 0xaa, b[65] = 0xbb;
	b[66] = b[67] = 0;
	assert_int_equal(pcp_response_decode(b, 68, &r), 0);
	/* ... whose length runs past the message */
	b[63] = 9;
	assert_int_equal(pcp_response_decode(b, 68, &r), -EINVAL);
	/* §7: a multiple of 4, at most 1100 */
	assert_int_equal(pcp_response_decode(b, 61, &r), -EINVAL);
	assert_int_equal(pcp_response_decode(b, 1104, &r), -EINVAL);
	assert_int_equal(pcp_response_decode(b, 20, &r), -EINVAL);
	/* a request (R = 0) is not a response */
	b[1] = 1;
	assert_int_equal(pcp_response_decode(b, 60, &r), -EINVAL);
	/* a success without the MAP payload is malformed; an error without
	 * it (e.g. UNSUPP_VERSION) is known by its header */
	n = map_response(b, PCP_SUCCESS, 1);
	assert_int_equal(pcp_response_decode(b, 24, &r), -EINVAL);
	b[3] = PCP_NO_RESOURCES;
	assert_int_equal(pcp_response_decode(b, 24, &r), 0);
	assert_int_equal(r.result, PCP_NO_RESOURCES);
	assert_string_equal(pcp_result_name(r.result), "NO_RESOURCES");
	/* RFC 6887 §9: a NAT-PMP server answers with version 0 */
	b[0] = 0;
	assert_int_equal(pcp_response_decode(b, 24, &r), -EPROTONOSUPPORT);
}

/* RFC 6886 §3.2, §3.3: requests and responses. */
static void test_natpmp(void **state)
{
	uint8_t b[16];
	struct natpmp_response r;
	static const uint8_t map_req[12] = {0, 1, 0, 0, 0x13, 0x88, 0x13, 0x88, 0, 0, 0x0e, 0x10};
	static const uint8_t addr_resp[12] = {0, 128, 0, 0, 0, 0, 0, 42, 203, 0, 114, 3};
	static const uint8_t map_resp[16] = {0,	   129,	 0,    0,    0, 0, 0,	 43,
					     0x13, 0x88, 0xc3, 0x50, 0, 0, 0x0e, 0x10};
	static const uint8_t refused[8] = {0, 129, 0, 2, 0, 0, 0, 44};

	(void)state;
	assert_int_equal(natpmp_addr_request_encode(b, sizeof(b)), 2);
	assert_int_equal(b[0] | b[1], 0);
	assert_int_equal(
	    natpmp_map_request_encode(b, sizeof(b), NATPMP_OP_MAP_UDP, 5000, 5000, 3600), 12);
	assert_memory_equal(b, map_req, 12);
	assert_int_equal(natpmp_map_request_encode(b, 11, NATPMP_OP_MAP_UDP, 5000, 5000, 1),
			 -ENOSPC);

	assert_int_equal(natpmp_response_decode(addr_resp, 12, &r), 0);
	assert_int_equal(r.opcode, NATPMP_OP_ADDR);
	assert_int_equal(r.epoch_s, 42);
	assert_int_equal(r.external_ip, inet_addr("203.0.114.3"));
	assert_int_equal(natpmp_response_decode(addr_resp, 11, &r), -EINVAL);

	assert_int_equal(natpmp_response_decode(map_resp, 16, &r), 0);
	assert_int_equal(r.opcode, NATPMP_OP_MAP_UDP);
	assert_int_equal(r.internal_port, 5000);
	assert_int_equal(r.external_port, 50000);
	assert_int_equal(r.lifetime_s, 3600);
	assert_int_equal(natpmp_response_decode(map_resp, 15, &r), -EINVAL);
	/* an error response may be short (§3.5) */
	assert_int_equal(natpmp_response_decode(refused, 8, &r), 0);
	assert_int_equal(r.result, NATPMP_NOT_AUTHORIZED);
	assert_string_equal(natpmp_result_name(r.result), "NOT_AUTHORIZED");
	/* a request, a PCP message, a runt */
	assert_int_equal(natpmp_response_decode(map_req, 12, &r), -EINVAL);
	b[0] = 2;
	b[1] = 129;
	assert_int_equal(natpmp_response_decode(b, 12, &r), -EINVAL);
	assert_int_equal(natpmp_response_decode(refused, 7, &r), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pcp_map_request),
	    cmocka_unit_test(test_pcp_response),
	    cmocka_unit_test(test_natpmp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* natpmp.h - the NAT Port Mapping Protocol wire format (RFC 6886): the
 * external address request and UDP/TCP mapping requests, and their
 * responses. Pure: bytes in, structs out. */
#ifndef NATLAB_AGENTS_PORTMAP_NATPMP_H
#define NATLAB_AGENTS_PORTMAP_NATPMP_H

#include <stddef.h>
#include <stdint.h>

#define NATPMP_VERSION	     0
#define NATPMP_SERVER_PORT   5351 /* §3: "the gateway's port 5351" */
#define NATPMP_OP_ADDR	     0	  /* §3.2 */
#define NATPMP_OP_MAP_UDP    1	  /* §3.3 */
#define NATPMP_OP_MAP_TCP    2
#define NATPMP_ADDR_REQ_LEN  2
#define NATPMP_MAP_REQ_LEN   12
#define NATPMP_ADDR_RESP_LEN 12
#define NATPMP_MAP_RESP_LEN  16
/* §3.5 result codes */
#define NATPMP_SUCCESS		0
#define NATPMP_UNSUPP_VERSION	1
#define NATPMP_NOT_AUTHORIZED	2
#define NATPMP_NETWORK_FAILURE	3
#define NATPMP_OUT_OF_RESOURCES 4
#define NATPMP_UNSUPP_OPCODE	5

struct natpmp_response {
	uint8_t opcode; /* the request's (without the 128) */
	uint16_t result;
	uint32_t epoch_s;	/* "Seconds Since Start of Epoch" (§3.6) */
	uint32_t external_ip;	/* OP_ADDR: network order */
	uint16_t internal_port; /* OP_MAP_*: */
	uint16_t external_port; /* "Mapped External Port" */
	uint32_t lifetime_s;	/* "Port Mapping Lifetime in Seconds" */
};

/* natpmp_addr_request_encode - §3.2: version 0, opcode 0; 2 or -ENOSPC. */
int natpmp_addr_request_encode(uint8_t *buf, size_t len);

/* natpmp_map_request_encode - §3.3: a mapping of @internal_port (opcode
 * NATPMP_OP_MAP_UDP or _TCP) for @lifetime_s (0 with @suggested_port 0:
 * delete it, §3.4); 12 or -ENOSPC. */
int natpmp_map_request_encode(uint8_t *buf, size_t len, uint8_t opcode, uint16_t internal_port,
			      uint16_t suggested_port, uint32_t lifetime_s);

/* natpmp_response_decode - a response (version 0, opcode >= 128). 0, or
 * -EINVAL when @buf is not one or too short for its opcode (an error
 * response may be as short as 8 bytes: §3.5, "responses ... with a
 * nonzero result code ... may be shorter"; only result and epoch are set
 * then). */
int natpmp_response_decode(const uint8_t *buf, size_t len, struct natpmp_response *out);

/* natpmp_result_name - "SUCCESS", "UNSUPP_VERSION", ...; "?" otherwise. */
const char *natpmp_result_name(unsigned code);

#endif

/* pcp.h - the Port Control Protocol wire format (RFC 6887), MAP and
 * ANNOUNCE only: bytes in, structs out; no sockets, no clock. */
#ifndef NATLAB_AGENTS_PORTMAP_PCP_H
#define NATLAB_AGENTS_PORTMAP_PCP_H

#include <stddef.h>
#include <stdint.h>

/* RFC 6887 §7: "All PCP messages are sent over UDP, with a maximum UDP
 * payload length of 1100 octets." */
#define PCP_MSG_MAX	1100
#define PCP_VERSION	2
#define PCP_SERVER_PORT 5351 /* §19.1 */
#define PCP_HDR_LEN	24   /* §7.1 request header, §7.2 response header */
#define PCP_MAP_LEN	36   /* §11.1 MAP opcode payload */
#define PCP_NONCE_LEN	12
#define PCP_OP_ANNOUNCE 0
#define PCP_OP_MAP	1
#define PCP_R_BIT	0x80 /* §7.1: R = 1 in responses */

/* §7.4 result codes (those a client acts on by name). */
enum pcp_result {
	PCP_SUCCESS = 0,
	PCP_UNSUPP_VERSION = 1,
	PCP_NOT_AUTHORIZED = 2,
	PCP_MALFORMED_REQUEST = 3,
	PCP_UNSUPP_OPCODE = 4,
	PCP_UNSUPP_OPTION = 5,
	PCP_MALFORMED_OPTION = 6,
	PCP_NETWORK_FAILURE = 7,
	PCP_NO_RESOURCES = 8,
	PCP_UNSUPP_PROTOCOL = 9,
	PCP_USER_EX_QUOTA = 10,
	PCP_CANNOT_PROVIDE_EXTERNAL = 11,
	PCP_ADDRESS_MISMATCH = 12,
	PCP_EXCESSIVE_REMOTE_PEERS = 13,
};

/* An IPv4 address travels as an IPv4-mapped IPv6 address (§5):
 * ::ffff:a.b.c.d. Addresses here are in network order. */
struct pcp_map_request {
	uint32_t lifetime_s;	      /* 0: delete the mapping (§15) */
	uint8_t client_ip[16];	      /* the request's source address */
	uint8_t nonce[PCP_NONCE_LEN]; /* §11.1: random, kept per mapping */
	uint8_t protocol;	      /* IANA protocol number: 17 = UDP */
	uint16_t internal_port;
	uint16_t suggested_port;  /* 0: no preference */
	uint8_t suggested_ip[16]; /* all-zero (::ffff:0.0.0.0 for v4): none */
};

struct pcp_response {
	uint8_t opcode;	     /* without the R bit */
	uint8_t result;	     /* enum pcp_result */
	uint32_t lifetime_s; /* §7.2: the granted lifetime, or how long an error holds */
	uint32_t epoch_s;    /* §8.5: the server's epoch time */
	/* MAP only (valid when opcode == PCP_OP_MAP): */
	uint8_t nonce[PCP_NONCE_LEN];
	uint8_t protocol;
	uint16_t internal_port;
	uint16_t external_port;	 /* "Assigned External Port" */
	uint8_t external_ip[16]; /* "Assigned External IP Address" */
};

/* pcp_ip4_mapped - @ip4 (network order) as ::ffff:a.b.c.d into @out. */
void pcp_ip4_mapped(uint8_t out[16], uint32_t ip4);
/* pcp_ip4_of - the IPv4 address (network order) of an IPv4-mapped @ip;
 * -1 when it is not one. */
int pcp_ip4_of(const uint8_t ip[16], uint32_t *ip4);

/* pcp_map_request_encode - a MAP request (header + opcode, no option) into
 * @buf; returns its length (60), or -ENOSPC when @len is too small. */
int pcp_map_request_encode(uint8_t *buf, size_t len, const struct pcp_map_request *r);

/* pcp_announce_request_encode - an ANNOUNCE request (§14.1: a client may
 * send one to learn the server's epoch) from @client_ip; 24 or -ENOSPC. */
int pcp_announce_request_encode(uint8_t *buf, size_t len, const uint8_t client_ip[16]);

/* pcp_response_decode - a PCP response. 0, or -EINVAL when @buf is not
 * one: shorter than the header, longer than PCP_MSG_MAX, not a multiple
 * of 4 (§7), not version 2, R bit clear, or a MAP response without its
 * 36-byte payload. Options after the payload are length-checked and
 * skipped. A NAT-PMP server's answer to a PCP request (version 0) is
 * -EPROTONOSUPPORT (see natpmp.h). */
int pcp_response_decode(const uint8_t *buf, size_t len, struct pcp_response *out);

/* pcp_result_name - "SUCCESS", "NO_RESOURCES", ...; "?" when unknown. */
const char *pcp_result_name(unsigned code);

#endif

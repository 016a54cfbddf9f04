/* pcp.c - RFC 6887 MAP and ANNOUNCE messages, see pcp.h. */
#include "agents/portmap/pcp.h"

#include <errno.h>
#include <string.h>

#include "agents/common/bytes.h"

void pcp_ip4_mapped(uint8_t out[16], uint32_t ip4)
{
	memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	memcpy(out + 12, &ip4, 4);
}

int pcp_ip4_of(const uint8_t ip[16], uint32_t *ip4)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (memcmp(ip, prefix, sizeof(prefix)) != 0)
		return -1;
	memcpy(ip4, ip + 12, 4);
	return 0;
}

/* §7.1 request header:
 *   0: Version = 2 | 1: R (0) + Opcode | 2-3: Reserved
 *   4-7: Requested Lifetime | 8-23: PCP Client's IP Address */
static void request_header(uint8_t *b, uint8_t opcode, uint32_t lifetime_s,
			   const uint8_t client_ip[16])
{
	b[0] = PCP_VERSION;
	b[1] = opcode & 0x7f;
	b[2] = 0;
	b[3] = 0;
	wr32(b + 4, lifetime_s);
	memcpy(b + 8, client_ip, 16);
}

int pcp_map_request_encode(uint8_t *buf, size_t len, const struct pcp_map_request *r)
{
	uint8_t *m = buf + PCP_HDR_LEN;

	if (len < PCP_HDR_LEN + PCP_MAP_LEN)
		return -ENOSPC;
	request_header(buf, PCP_OP_MAP, r->lifetime_s, r->client_ip);
	/* §11.1 MAP opcode: Mapping Nonce (96 bits) | Protocol | Reserved
	 * (24 bits) | Internal Port | Suggested External Port | Suggested
	 * External IP Address (128 bits) */
	memcpy(m, r->nonce, PCP_NONCE_LEN);
	m[12] = r->protocol;
	m[13] = m[14] = m[15] = 0;
	wr16(m + 16, r->internal_port);
	wr16(m + 18, r->suggested_port);
	memcpy(m + 20, r->suggested_ip, 16);
	return PCP_HDR_LEN + PCP_MAP_LEN;
}

int pcp_announce_request_encode(uint8_t *buf, size_t len, const uint8_t client_ip[16])
{
	if (len < PCP_HDR_LEN)
		return -ENOSPC;
	/* §14.1: "the Requested Lifetime field MUST be set to 0" */
	request_header(buf, PCP_OP_ANNOUNCE, 0, client_ip);
	return PCP_HDR_LEN;
}

int pcp_response_decode(const uint8_t *buf, size_t len, struct pcp_response *out)
{
	size_t off;

	memset(out, 0, sizeof(*out));
	if (len >= 2 && buf[0] == 0)
		return -EPROTONOSUPPORT; /* a NAT-PMP answer (RFC 6887 §9) */
	/* §7: "PCP messages MUST be a multiple of 4 octets"; at most 1100;
	 * §7.2 response header: Version | R + Opcode | Reserved | Result
	 * Code | Lifetime | Epoch Time | Reserved (96 bits) */
	if (len < PCP_HDR_LEN || len > PCP_MSG_MAX || len % 4 != 0)
		return -EINVAL;
	if (buf[0] != PCP_VERSION || !(buf[1] & PCP_R_BIT))
		return -EINVAL;
	out->opcode = buf[1] & 0x7f;
	out->result = buf[3];
	out->lifetime_s = rd32(buf + 4);
	out->epoch_s = rd32(buf + 8);
	off = PCP_HDR_LEN;
	if (out->opcode == PCP_OP_MAP) {
		const uint8_t *m = buf + PCP_HDR_LEN;
		/* §7.2: an error response may carry no opcode payload only
		 * for UNSUPP_VERSION and some malformed requests; without it
		 * only the header's result is known. */
		if (len < PCP_HDR_LEN + PCP_MAP_LEN) {
			if (out->result == PCP_SUCCESS)
				return -EINVAL;
			return 0;
		}
		memcpy(out->nonce, m, PCP_NONCE_LEN);
		out->protocol = m[12];
		out->internal_port = rd16(m + 16);
		out->external_port = rd16(m + 18);
		memcpy(out->external_ip, m + 20, 16);
		off += PCP_MAP_LEN;
	}
	/* §7.3 options: Code | Reserved | Option Length | data padded to 4 */
	while (off < len) {
		size_t olen;
		if (len - off < 4)
			return -EINVAL;
		olen = rd16(buf + off + 2);
		olen = (olen + 3) & ~(size_t)3;
		if (olen > len - off - 4)
			return -EINVAL;
		off += 4 + olen;
	}
	return 0;
}

const char *pcp_result_name(unsigned code)
{
	static const char *const names[] = {
	    "SUCCESS",		 "UNSUPP_VERSION",	  "NOT_AUTHORIZED",
	    "MALFORMED_REQUEST", "UNSUPP_OPCODE",	  "UNSUPP_OPTION",
	    "MALFORMED_OPTION",	 "NETWORK_FAILURE",	  "NO_RESOURCES",
	    "UNSUPP_PROTOCOL",	 "USER_EX_QUOTA",	  "CANNOT_PROVIDE_EXTERNAL",
	    "ADDRESS_MISMATCH",	 "EXCESSIVE_REMOTE_PEERS"};

	return code < sizeof(names) / sizeof(names[0]) ? names[code] : "?";
}

/* natpmp.c - RFC 6886 NAT-PMP messages, see natpmp.h. */
#include "agents/portmap/natpmp.h"

#include <errno.h>
#include <string.h>

#include "agents/common/bytes.h"

int natpmp_addr_request_encode(uint8_t *buf, size_t len)
{
	if (len < NATPMP_ADDR_REQ_LEN)
		return -ENOSPC;
	buf[0] = NATPMP_VERSION;
	buf[1] = NATPMP_OP_ADDR;
	return NATPMP_ADDR_REQ_LEN;
}

int natpmp_map_request_encode(uint8_t *buf, size_t len, uint8_t opcode, uint16_t internal_port,
			      uint16_t suggested_port, uint32_t lifetime_s)
{
	if (len < NATPMP_MAP_REQ_LEN)
		return -ENOSPC;
	/* §3.3: Vers = 0 | OP | Reserved (16) | Internal Port | Suggested
	 * External Port | Requested Port Mapping Lifetime in Seconds */
	buf[0] = NATPMP_VERSION;
	buf[1] = opcode;
	buf[2] = buf[3] = 0;
	buf[4] = (uint8_t)(internal_port >> 8);
	buf[5] = (uint8_t)internal_port;
	buf[6] = (uint8_t)(suggested_port >> 8);
	buf[7] = (uint8_t)suggested_port;
	buf[8] = (uint8_t)(lifetime_s >> 24);
	buf[9] = (uint8_t)(lifetime_s >> 16);
	buf[10] = (uint8_t)(lifetime_s >> 8);
	buf[11] = (uint8_t)lifetime_s;
	return NATPMP_MAP_REQ_LEN;
}

int natpmp_response_decode(const uint8_t *buf, size_t len, struct natpmp_response *out)
{
	memset(out, 0, sizeof(*out));
	/* §3.2/§3.3: Vers = 0 | OP = 128 + request's | Result Code (16) |
	 * Seconds Since Start of Epoch (32) | ... */
	if (len < 8 || buf[0] != NATPMP_VERSION || buf[1] < 128)
		return -EINVAL;
	out->opcode = (uint8_t)(buf[1] - 128);
	out->result = rd16(buf + 2);
	out->epoch_s = rd32(buf + 4);
	if (out->result != NATPMP_SUCCESS)
		return 0;
	switch (out->opcode) {
	case NATPMP_OP_ADDR:
		if (len < NATPMP_ADDR_RESP_LEN)
			return -EINVAL;
		memcpy(&out->external_ip, buf + 8, 4);
		return 0;
	case NATPMP_OP_MAP_UDP:
	case NATPMP_OP_MAP_TCP:
		/* ... Internal Port | Mapped External Port | Port Mapping
		 * Lifetime in Seconds */
		if (len < NATPMP_MAP_RESP_LEN)
			return -EINVAL;
		out->internal_port = rd16(buf + 8);
		out->external_port = rd16(buf + 10);
		out->lifetime_s = rd32(buf + 12);
		return 0;
	default:
		return -EINVAL;
	}
}

const char *natpmp_result_name(unsigned code)
{
	static const char *const names[] = {"SUCCESS",	       "UNSUPP_VERSION",   "NOT_AUTHORIZED",
					    "NETWORK_FAILURE", "OUT_OF_RESOURCES", "UNSUPP_OPCODE"};

	return code < sizeof(names) / sizeof(names[0]) ? names[code] : "?";
}

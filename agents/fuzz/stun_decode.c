/* stun_decode.c - libFuzzer target for the STUN decoder, the typed getters,
 * integrity/fingerprint checks, ChannelData and stream framing. Any input
 * must be refused or decoded without reading out of bounds (ASan). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agents/stun/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so ASan catches a read one byte past the end */
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);

	(void)stun_is_message(buf, size);
	(void)stun_frame_length(buf, size);
	uint16_t ch;
	const uint8_t *d;
	size_t dl;
	(void)stun_channel_data_decode(buf, size, &ch, &d, &dl);

	struct stun_msg m;
	if (stun_msg_decode(&m, buf, size, STUN_DECODE_CLASSIC, NULL) == 0) {
		struct stun_addr a;
		uint32_t u32;
		uint64_t u64;
		uint16_t u16, list[8];
		uint8_t u8, u8b;
		int code, fam;
		bool r;
		const char *reason;
		size_t n;
		char s[64];
		for (unsigned i = 0; i < m.n_attrs; i++) {
			uint16_t t = m.attrs[i].type;
			(void)stun_msg_get_addr(&m, t, &a);
			(void)stun_msg_get_xor_addr_nth(&m, t, 1, &a);
			(void)stun_msg_get_u32(&m, t, &u32);
			(void)stun_msg_get_u64(&m, t, &u64);
			(void)stun_msg_get_string(&m, t, s, sizeof(s));
			(void)stun_msg_get_family(&m, t, &fam);
		}
		(void)stun_msg_get_error(&m, &code, &reason, &n);
		(void)stun_msg_get_unknown_attrs(&m, list, 8, &n);
		(void)stun_msg_get_channel(&m, &u16);
		(void)stun_msg_get_response_port(&m, &u16);
		(void)stun_msg_get_requested_transport(&m, &u8);
		(void)stun_msg_get_even_port(&m, &r);
		(void)stun_msg_get_address_error(&m, &fam, &code, &reason, &n);
		(void)stun_msg_get_icmp(&m, &u8, &u8b, &u32);
		(void)stun_msg_get_password_algorithms(&m, list, 8, &n);
		(void)stun_msg_get_password_algorithm(&m, &u16);
		const uint8_t *v;
		if (stun_msg_get_bytes(&m, STUN_ATTR_NONCE, &v, &n) == 0)
			(void)stun_nonce_features(v, n, &u32);
		(void)stun_msg_check_integrity(&m, (const uint8_t *)"key", 3);
		(void)stun_msg_check_integrity_sha1(&m, (const uint8_t *)"key", 3);
		(void)stun_msg_check_fingerprint(&m);
	}
	free(buf);
	return 0;
}

/* stun_server.c - libFuzzer target for the Binding answer logic: any input
 * on any endpoint, UDP or TCP, must be dropped or answered with a message
 * that decodes, fits the answer bound and goes out of a configured
 * endpoint. The first input byte picks endpoint and transport. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agents/stun/stun_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct stun_server_config cfg = {0};
	stun_addr_parse(&cfg.addr[0], "192.0.2.1");
	stun_addr_parse(&cfg.addr[1], "192.0.2.2");
	cfg.port = 3478;
	cfg.alt_port = 3479;
	cfg.software = "fuzz";
	cfg.fingerprint = (enum stun_server_fingerprint)(data[0] >> 4 & 1);
	int ep = data[0] & 3;
	bool tcp = (data[0] & 4) != 0;
	if (data[0] & 8)
		cfg.addr[1].family = 0; /* one address: 420 paths */
	struct stun_addr src;
	stun_addr_parse(&src, (data[0] & 0x20) ? "[2001:db8::1]:5000" : "198.51.100.1:5000");
	uint8_t *buf = malloc(size - 1 ? size - 1 : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	uint8_t out[STUN_SERVER_MAX_ANSWER];
	struct stun_server_answer ans;
	int r = stun_server_handle(&cfg, ep, tcp, &src, buf, size - 1, out, sizeof(out), &ans);
	if (r == 1) {
		struct stun_msg m;
		struct stun_addr from;
		if (ans.len > sizeof(out) ||
		    stun_msg_decode(&m, out, ans.len, STUN_DECODE_CLASSIC, NULL) != 0 ||
		    !stun_server_endpoint(&cfg, ans.from, &from))
			abort();
	}
	free(buf);
	return 0;
}

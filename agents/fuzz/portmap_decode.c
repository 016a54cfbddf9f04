/* portmap_decode.c - libFuzzer target for the PCP and NAT-PMP response
 * decoders and the client state machine fed with the same bytes: any
 * input must be refused or decoded without reading out of bounds (ASan),
 * and the client must not crash whatever a "gateway" answers. The first
 * input byte picks the client's mode and whether its time jumps. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agents/portmap/natpmp.h"
#include "agents/portmap/pcp.h"
#include "agents/portmap/pmclient.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void pmfuzz_send(void *ctx, const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	(void)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so ASan catches a read one byte past the end */
	uint8_t *buf = malloc(size ? size : 1);
	struct pcp_response pr;
	struct natpmp_response nr;
	struct pm_client_config cfg = {
	    .client_ip = 0x0201000a, .internal_port = 5000, .lifetime_s = 60, .wait_ms = 2000};
	struct pm_client_io io = {NULL, pmfuzz_send, NULL};
	struct pm_client *c = NULL;
	uint64_t now = 1000;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	(void)pcp_response_decode(buf, size, &pr);
	(void)natpmp_response_decode(buf, size, &nr);
	(void)pcp_result_name(pr.result);
	(void)natpmp_result_name(nr.result);
	if (size > 0) {
		cfg.mode = (enum pm_mode)(buf[0] % 3);
		if (pm_client_new(&cfg, &io, &c) == 0) {
			pm_client_start(c, now);
			/* the rest, split at each 0xff byte, as datagrams */
			size_t start = 1;
			for (size_t i = 1; i <= size; i++) {
				if (i < size && buf[i] != 0xff)
					continue;
				pm_client_input(c, buf + start, i - start, now);
				now += (buf[0] & 0x80) ? 40000 : 300;
				(void)pm_client_tick(c, now);
				start = i + 1;
			}
			pm_client_stop(c, now);
			pm_client_free(c);
		}
	}
	free(buf);
	return 0;
}

/* fuzz target: the RFC 8839 a=candidate parser. Whatever parses must
 * format, and parse back to the same candidate. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "agents/ice/candidate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ice_candidate c, d;
	char out[ICE_CANDIDATE_STR_MAX];
	int n;

	if (ice_candidate_parse((const char *)data, size, &c) != 0)
		return 0;
	n = ice_candidate_format(&c, out, sizeof(out));
	if (n < 0)
		abort();
	if (ice_candidate_parse(out, (size_t)n, &d) != 0)
		abort();
	if (strcmp(c.foundation, d.foundation) != 0 || c.component != d.component ||
	    c.priority != d.priority || c.type != d.type || c.transport != d.transport ||
	    !ice_addr_equal(&c.addr, &d.addr) || c.has_related != d.has_related ||
	    c.tcptype != d.tcptype)
		abort();
	return 0;
}

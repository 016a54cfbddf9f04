/* fuzz target: the DHCPv4 message parser of `natlab dut --lan-addr dhcp`,
 * which reads whatever the device under test (or anything else on its LAN)
 * sends. Any input is refused or parsed within bounds (ASan); what parses
 * builds again and parses back to the same fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness/dut_dhcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so ASan catches a read one byte past the end */
	uint8_t *in = malloc(size ? size : 1), out[DUT_DHCP_MSG_MAX];
	struct dut_dhcp_msg m, again;
	int n;

	if (!in)
		return 0;
	memcpy(in, data, size);
	if (dut_dhcp_parse(in, size, &m) != 0)
		goto out;
	n = dut_dhcp_build(&m, out, sizeof(out));
	if (n < 0 || (size_t)n > sizeof(out))
		abort();
	if (dut_dhcp_parse(out, (size_t)n, &again) != 0)
		abort();
	if (again.op != m.op || again.xid != m.xid || again.flags != m.flags ||
	    again.ciaddr != m.ciaddr || again.yiaddr != m.yiaddr ||
	    memcmp(again.chaddr, m.chaddr, sizeof(m.chaddr)) != 0 || again.type != m.type ||
	    again.server_id != m.server_id || again.requested != m.requested ||
	    again.mask != m.mask || again.router != m.router || again.lease_s != m.lease_s)
		abort();
out:
	free(in);
	return 0;
}

/* fuzz target: the agent protocol's command reader (one line of JSON from
 * the harness or from anyone who writes to an agent's stdin). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "agents/ice/agentproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct agentproto_cmd cmd;
	char err[AGENTPROTO_ERR_MAX];
	int r = agentproto_cmd_parse((const char *)data, size, &cmd, err, sizeof(err));
	if (r == 0 && cmd.ncands > AGENTPROTO_CANDS_MAX)
		abort();
	/* gather's "dataplane" is one of the known planes or unset */
	if (r == 0 && cmd.type == AGENTPROTO_GATHER &&
	    cmd.dataplane != AGENTPROTO_DATAPLANE_UNSET &&
	    cmd.dataplane != AGENTPROTO_DATAPLANE_DATAGRAM &&
	    cmd.dataplane != AGENTPROTO_DATAPLANE_DATACHANNEL)
		abort();
	if (r == 0 && cmd.type != AGENTPROTO_GATHER && cmd.dataplane != AGENTPROTO_DATAPLANE_UNSET)
		abort();
	if (r != 0 && r != -22)
		abort();
	if (r != 0 && strlen(err) == 0)
		abort(); /* every refusal says why */
	return 0;
}

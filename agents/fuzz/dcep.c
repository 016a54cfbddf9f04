/* fuzz target: the DCEP codec (RFC 8832), which reads what a WebRTC peer
 * sends with PPID 50. A message that decodes must stay inside the input,
 * and an OPEN must encode back to exactly the bytes it was read from (its
 * header, label and protocol); a refusal is -EBADMSG or -EPROTO only. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agents/ice/dcep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dcep_msg m;
	uint8_t *back;
	size_t want;
	int r = dcep_decode(data, size, &m);

	if (r == -EBADMSG || r == -EPROTO)
		return 0;
	if (r != 0)
		abort();
	if (m.type == DCEP_MSG_ACK)
		return 0;
	if (m.type != DCEP_MSG_OPEN || !dcep_channel_type_name(m.channel_type))
		abort();
	want = DCEP_OPEN_HEADER_LEN + (size_t)m.label_len + m.protocol_len;
	if (want > size || m.label != data + DCEP_OPEN_HEADER_LEN ||
	    m.protocol != m.label + m.label_len)
		abort();
	back = malloc(want);
	if (!back)
		abort();
	if (dcep_open_encode(&m, back, want - 1) != -ENOSPC ||
	    dcep_open_encode(&m, back, want) != (int)want || memcmp(back, data, want) != 0)
		abort();
	free(back);
	return 0;
}

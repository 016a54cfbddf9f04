/* turn_chandata.h - ChannelData framing over the RFC 5766 channel range.
 *
 * RFC 8656 §12 narrowed channel numbers to 0x4000-0x4FFF, and the STUN
 * codec (agents/stun) enforces that range. RFC 5766 §11 allowed
 * 0x4000-0x7FFE, and deployed clients still pick numbers there (coturn's
 * turnutils_uclient draws them from the whole old range). The server
 * accepts the old range so such clients work; natlab's own client only
 * uses the RFC 8656 range. This is a small addition next to the codec,
 * to be folded into it by the integrator.
 */
#ifndef NATLAB_TURN_CHANDATA_H
#define NATLAB_TURN_CHANDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TURN_CHANNEL_LEGACY_MAX 0x7FFEu /* RFC 5766 §11 */

/* turn_chandata_decode - header at buf[0..len): *data points into buf.
 * Returns the bytes used (header + data, plus padding when present), or
 * -ENOMSG (not ChannelData) / -EMSGSIZE (truncated). */
long turn_chandata_decode(const uint8_t *buf, size_t len, uint16_t *channel, const uint8_t **data,
			  size_t *data_len);
/* turn_chandata_encode - header + data (moved with memmove, so @data may
 * already sit at buf + 4), padded to 4 when @pad. Returns the frame length
 * or -EMSGSIZE / -EINVAL. */
long turn_chandata_encode(uint8_t *buf, size_t cap, uint16_t channel, const uint8_t *data,
			  size_t len, bool pad);

#endif

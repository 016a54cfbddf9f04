/* capture.h - packet capture on any interface of any node, into a pcap file
 * readable by tshark and Wireshark (pcap.h).
 *
 * A dedicated thread reads an AF_PACKET socket bound to the interface and
 * sees both directions, as tcpdump would, with the kernel's receive
 * timestamps. The data path is not delayed: the kernel hands the socket a
 * clone of each frame and the copy to the file happens in the capture
 * thread. (An impaired link can also capture what it delivers, with no
 * extra socket at all: emu_impair_capture_start() in impair.h.)
 */
#ifndef NATLAB_EMU_CAPTURE_H
#define NATLAB_EMU_CAPTURE_H

#include <stdint.h>
#include "emu/err.h"
#include "emu/node.h"

struct emu_capture;

/* emu_capture_start - start capturing on interface @ifname of node @n into
 * a new pcap file @path (truncated if it exists). Caller owns *@out and
 * ends it with emu_capture_stop(). */
int emu_capture_start(struct emu_node *n, const char *ifname, const char *path,
		      struct emu_capture **out, struct natlab_err *e);

struct emu_capture_stats {
	uint64_t frames;       /* written to the file */
	uint64_t kernel_drops; /* frames the socket had no room for */
	int write_error;       /* first failed write (negative errno) or 0 */
};

/* emu_capture_stop - write out the frames already queued, stop the thread,
 * close the socket and the file, free @c. Returns 0 or the negative errno
 * of a failed write, and the final counters in *@st if non-NULL. Accepts
 * NULL. */
int emu_capture_stop(struct emu_capture *c, struct emu_capture_stats *st);

#endif

/* capture.h - packet capture into pcap files readable by tshark and
 * Wireshark, in two modes:
 *
 * - one interface, a thread (emu_capture_start): a dedicated thread of
 *   the caller reads an AF_PACKET socket bound to the interface and sees
 *   both directions, as tcpdump would, with the kernel's receive
 *   timestamps; Ethernet records through the buffered writer of pcap.h.
 *   The data path is not delayed: the kernel hands the socket a clone of
 *   each frame and the copy to the file happens in the capture thread.
 * - a whole node, a process (emu_capture_node_start): a forked process
 *   reads an AF_PACKET socket opened in the node's namespace and bound to
 *   no interface, so interfaces created after it started are captured
 *   too. Records use LINKTYPE_LINUX_SLL2, which keeps each packet's
 *   interface index and direction: on a NAT node the same datagram shows
 *   up before and after translation. Every record is written with one
 *   write(2), so a capture killed at any moment is readable up to its last
 *   whole packet; it runs apart from the lab process, which a busy cell
 *   keeps busy (natlab run --capture, a scenario's capture list).
 *
 * (An impaired link can also capture what it delivers, with no extra
 * socket at all: emu_impair_capture_start() in impair.h.)
 */
#ifndef NATLAB_EMU_CAPTURE_H
#define NATLAB_EMU_CAPTURE_H

#include <stdint.h>
#include <sys/types.h>
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

/* ---- a whole node, a process ---- */

#define EMU_CAPTURE_NODE_SNAPLEN   65535
#define EMU_CAPTURE_NODE_BYTES_MAX (64u << 20) /* per node; the capture stops past it */
#define EMU_CAPTURE_LINKTYPE_SLL2  276

/* emu_capture_node_start - start capturing every interface of node @n
 * into @path. *@pid is the capture process (its own process group). Stop
 * it with SIGTERM: it then writes what its socket still holds and exits
 * (reap it; SIGKILL if it has not exited within a bound). It exits by
 * itself if the caller dies. */
int emu_capture_node_start(const struct emu_node *n, const char *path, pid_t *pid,
			   struct natlab_err *e);

/* emu_capture_sll2_header - the 24-byte pcap file header of a node
 * capture into @buf. */
void emu_capture_sll2_header(uint8_t buf[24]);

/* emu_capture_sll2_record - one pcap record for a packet of @len bytes
 * (@caplen kept) seen on @ifindex with the sockaddr_ll fields given, at
 * @sec/@usec: the 16-byte record header and the 20-byte SLL2 header into
 * @buf (36 bytes); the packet bytes follow it in the file. */
void emu_capture_sll2_record(uint8_t buf[36], uint32_t sec, uint32_t usec, uint32_t caplen,
			     uint32_t len, uint16_t protocol_be, int ifindex, uint16_t hatype,
			     uint8_t pkttype, uint8_t halen, const uint8_t *addr);

#endif

/* capture.h - a packet capture of every interface of a node, written as a
 * pcap file while the cell runs (natlab run --capture).
 *
 * A forked process enters the node's network namespace and reads an
 * AF_PACKET socket bound to no interface, so interfaces created after it
 * started are captured too. Records use LINKTYPE_LINUX_SLL2, which keeps
 * each packet's interface index and direction: on a NAT node the same
 * datagram shows up before and after translation. Every record is written
 * with one write(2), so a capture killed at any moment is readable up to
 * its last whole packet.
 */
#ifndef NATLAB_HARNESS_CAPTURE_H
#define NATLAB_HARNESS_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "emu/err.h"
#include "emu/node.h"

#define CAPTURE_SNAPLEN	      65535
#define CAPTURE_BYTES_MAX     (64u << 20) /* per node; the capture stops past it */
#define CAPTURE_LINKTYPE_SLL2 276

/* capture_start - start capturing node @n into @path. *@pid is the
 * capture process (its own process group). Stop it with SIGTERM: it then
 * writes what its socket still holds and exits (reap it; SIGKILL if it
 * has not exited within a bound). It exits by itself if the caller dies. */
int capture_start(const struct emu_node *n, const char *path, pid_t *pid, struct natlab_err *e);

/* capture_header - the 24-byte pcap file header into @buf. */
void capture_header(uint8_t buf[24]);

/* capture_record - one pcap record for a packet of @len bytes (@caplen
 * kept) seen on @ifindex with the sockaddr_ll fields given, at @sec/@usec:
 * the 16-byte record header and the 20-byte SLL2 header into @buf
 * (36 bytes); the packet bytes follow it in the file. */
void capture_record(uint8_t buf[36], uint32_t sec, uint32_t usec, uint32_t caplen, uint32_t len,
		    uint16_t protocol_be, int ifindex, uint16_t hatype, uint8_t pkttype,
		    uint8_t halen, const uint8_t *addr);

#endif

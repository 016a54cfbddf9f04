/* pcap.h - a pcap file writer (the classic libpcap format, nanosecond
 * timestamps, Ethernet link type), readable by tshark, Wireshark and
 * tcpdump.
 *
 * Records are buffered in memory and written in large blocks so that a
 * writer called from a packet path costs a memcpy per frame, not a system
 * call. One writer is used by one thread at a time.
 */
#ifndef NATLAB_EMU_PCAP_H
#define NATLAB_EMU_PCAP_H

#include <stddef.h>
#include <stdint.h>
#include "emu/err.h"

/* The largest frame kept whole: a 64 KiB GSO super-frame plus headers. */
#define EMU_PCAP_SNAPLEN 262144u

/* File header fields (pcap-savefile(5)): the magic 0xa1b23c4d says the
 * second field of each record is nanoseconds; link type 1 is Ethernet. */
#define EMU_PCAP_MAGIC_NS	 0xa1b23c4du
#define EMU_PCAP_LINKTYPE_EN10MB 1u
#define EMU_PCAP_LINKTYPE_RAW	 101u /* an IPv4 or IPv6 packet, no link header */
#define EMU_PCAP_FILE_HDR	 24u
#define EMU_PCAP_REC_HDR	 16u

struct emu_pcap;

/* emu_pcap_open - create (or truncate) @path, mode 0644, and write the file
 * header. Caller owns *@out; close it with emu_pcap_close(). */
int emu_pcap_open(const char *path, struct emu_pcap **out, struct natlab_err *e);

/* emu_pcap_open_linktype - the same with another link type (e.g.
 * EMU_PCAP_LINKTYPE_RAW for packets taken from the IP layer). */
int emu_pcap_open_linktype(const char *path, uint32_t linktype, struct emu_pcap **out,
			   struct natlab_err *e);

/* emu_pcap_write - add one frame seen at @ts_ns (CLOCK_REALTIME, ns).
 * Frames longer than EMU_PCAP_SNAPLEN are cut, their original length
 * recorded. Returns 0 or the negative errno of a failed write. */
int emu_pcap_write(struct emu_pcap *p, uint64_t ts_ns, const void *frame, size_t len);

/* emu_pcap_write_cut - add a frame of which only @caplen bytes were kept
 * out of @len (the record says both). */
int emu_pcap_write_cut(struct emu_pcap *p, uint64_t ts_ns, const void *frame, size_t caplen,
		       size_t len);

/* emu_pcap_flush - write out what is buffered. */
int emu_pcap_flush(struct emu_pcap *p);

/* emu_pcap_frames - how many frames were written so far. */
uint64_t emu_pcap_frames(const struct emu_pcap *p);

/* emu_pcap_close - flush, close and free. Accepts NULL. Returns 0 or the
 * negative errno of the last failed write, so that a full disk is seen. */
int emu_pcap_close(struct emu_pcap *p);

#endif

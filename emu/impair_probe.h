/* impair_probe.h - measure what a path really does: a paced stream of
 * numbered, timestamped UDP probes from one node to another, and the
 * one-way delay, jitter, loss, duplication, reordering and rate seen at the
 * far end. Used by the impairment tests and bench/impair_accuracy, and
 * usable by scenarios that want to check a path before trusting it.
 *
 * Both nodes live on one host, so the sender's and receiver's clocks are
 * the same clock: one-way delay is exact, not estimated. The receive time
 * is the kernel's (SO_TIMESTAMPNS), so the receiver's own scheduling does
 * not count as delay.
 */
#ifndef NATLAB_EMU_IMPAIR_PROBE_H
#define NATLAB_EMU_IMPAIR_PROBE_H

#include <stdint.h>
#include "emu/err.h"
#include "emu/node.h"

/* The probe payload: magic, run id, sequence number, send time. */
#define EMU_PROBE_PAYLOAD_MIN 24u

struct emu_impair_probe {
	struct emu_node *src;
	struct emu_node *dst;
	const char *dst_addr; /* numeric IPv4 or IPv6 address of dst */
	uint16_t port;	      /* UDP port the receiver binds in dst */
	uint32_t count;	      /* probes to send */
	uint32_t pps;	      /* send rate; 0 = as fast as the sender can */
	uint32_t payload;     /* UDP payload bytes, >= EMU_PROBE_PAYLOAD_MIN */
	uint32_t settle_ms;   /* how long to wait for stragglers after the last send */
};

struct emu_impair_probe_result {
	uint32_t sent;
	uint32_t received;   /* distinct probes that arrived */
	uint32_t duplicates; /* extra copies */
	uint32_t reordered;  /* arrived after a higher-numbered probe */
	double loss;	     /* 1 - received/sent */
	double delay_min_us;
	double delay_p50_us;
	double delay_p99_us;
	double delay_max_us;
	double delay_mean_us;
	double delay_sd_us; /* jitter as a standard deviation */
	double ipdv_us;	    /* mean |delay(i) - delay(i-1)| of consecutive arrivals (RFC 3393) */
	double rate_bps;    /* Ethernet-frame bits received per second, first to last arrival */
	double send_pps;    /* the rate the sender achieved */
	uint32_t max_burst_loss; /* longest run of consecutive lost probes */
};

/* emu_impair_probe_run - send the stream and measure it. Before the
 * measured stream, a warm-up probe is repeated until one arrives (ARP/ND
 * resolved, path up), for at most 10 s. Blocks for about count/pps +
 * settle_ms. */
int emu_impair_probe_run(const struct emu_impair_probe *p, struct emu_impair_probe_result *r,
			 struct natlab_err *e);

#endif

/* ice_capture.h - when did an agent send its first ICE connectivity check,
 * and its first nominating one? Read from a capture of the agent's
 * interface (emu/capture.h writes classic pcap, host byte order), so the
 * figure is the same for every implementation and needs nothing from the
 * agent: the agent protocol's "checking" state is only when the check
 * list starts, and natlab-ice sends its first check at the next Ta slot
 * after that (the slot may still belong to a gathering request).
 *
 * A connectivity check is a STUN Binding request carrying PRIORITY (RFC
 * 8445 §7.1.1: "The request MUST contain the PRIORITY attribute"); a
 * gathering request to a STUN server carries none. Checks from a relayed
 * candidate are found inside TURN Send indications (DATA attribute) and
 * ChannelData messages (RFC 8656 §11, §12). Only frames whose IPv4
 * source is @src (the agent's own address, before NAT) count: a capture
 * on the agent's interface also sees the peer's checks arriving.
 *
 * Header-only, like the other bench/ice_*.h. Every read is length-checked:
 * the file was written by us, but a short write must not crash the bench.
 */
#ifndef NATLAB_BENCH_ICE_CAPTURE_H
#define NATLAB_BENCH_ICE_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct ic_checks {
	double first_check_ms;	  /* since the trial's start; -1: none seen */
	double first_nominate_ms; /* first check with USE-CANDIDATE; -1: none */
	unsigned n_checks;	  /* checks sent (transmissions, not pairs) */
};

static inline uint16_t ic_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* ic_stun_check - 0: not a check; 1: a check; 2: a check with
 * USE-CANDIDATE. Looks through one level of TURN framing. */
static inline int ic_stun_check(const uint8_t *p, size_t n, int depth)
{
	uint16_t type, len;
	bool prio = false, use = false;
	size_t off;
	if (n >= 4 && p[0] >= 0x40 && p[0] <= 0x7f && depth == 0) {
		/* ChannelData: channel number 0x4000-0x7FFF, length, data */
		len = ic_be16(p + 2);
		return len <= n - 4 ? ic_stun_check(p + 4, len, 1) : 0;
	}
	if (n < 20 || (p[0] & 0xc0) != 0 || p[4] != 0x21 || p[5] != 0x12 || p[6] != 0xa4 ||
	    p[7] != 0x42)
		return 0;
	type = ic_be16(p);
	len = ic_be16(p + 2);
	if ((size_t)len + 20 > n)
		return 0;
	for (off = 20; off + 4 <= 20 + (size_t)len;) {
		uint16_t at = ic_be16(p + off), al = ic_be16(p + off + 2);
		if (off + 4 + al > 20 + (size_t)len)
			return 0;
		if (type == 0x0016 && at == 0x0013 && depth == 0) /* Send indication, DATA */
			return ic_stun_check(p + off + 4, al, 1);
		if (at == 0x0024)
			prio = true;
		if (at == 0x0025)
			use = true;
		off += 4 + (((size_t)al + 3) & ~(size_t)3);
	}
	if (type != 0x0001 || !prio)
		return 0;
	return use ? 2 : 1;
}

/* ic_scan - read the pcap file @path; fill @out with the checks sent from
 * IPv4 address @src (network byte order). @t0_real_ns is the trial's
 * start on CLOCK_REALTIME (the capture's clock). Returns 0, or -1 when the
 * file cannot be read. */
static inline int ic_scan(const char *path, uint32_t src, uint64_t t0_real_ns,
			  struct ic_checks *out)
{
	uint8_t gh[24], rh[16], frame[2048];
	uint32_t magic;
	uint64_t mult; /* ns per unit of the fraction field */
	FILE *f = fopen(path, "rb");

	out->first_check_ms = out->first_nominate_ms = -1;
	out->n_checks = 0;
	if (!f)
		return -1;
	if (fread(gh, 1, sizeof(gh), f) != sizeof(gh))
		goto bad;
	memcpy(&magic, gh, 4);
	if (magic == 0xa1b23c4d)
		mult = 1; /* nanosecond timestamps */
	else if (magic == 0xa1b2c3d4)
		mult = 1000; /* microseconds */
	else
		goto bad;
	while (fread(rh, 1, sizeof(rh), f) == sizeof(rh)) {
		uint32_t sec, frac, incl, ipsrc;
		size_t ihl;
		const uint8_t *ip, *udp;
		double t;
		int k;
		memcpy(&sec, rh, 4);
		memcpy(&frac, rh + 4, 4);
		memcpy(&incl, rh + 8, 4);
		if (incl > sizeof(frame)) {
			if (fseek(f, (long)incl, SEEK_CUR) != 0)
				break;
			continue;
		}
		if (fread(frame, 1, incl, f) != incl)
			break;
		/* Ethernet II + IPv4 + UDP */
		if (incl < 14 + 20 + 8 || ic_be16(frame + 12) != 0x0800)
			continue;
		ip = frame + 14;
		ihl = (size_t)(ip[0] & 0x0f) * 4;
		if ((ip[0] >> 4) != 4 || ihl < 20 || 14 + ihl + 8 > incl || ip[9] != 17)
			continue;
		memcpy(&ipsrc, ip + 12, 4);
		if (ipsrc != src)
			continue;
		udp = ip + ihl;
		k = ic_stun_check(udp + 8, incl - 14 - ihl - 8, 0);
		if (k == 0)
			continue;
		t = (double)(int64_t)((uint64_t)sec * 1000000000ull + (uint64_t)frac * mult -
				      t0_real_ns) /
		    1e6;
		out->n_checks++;
		if (out->first_check_ms < 0 || t < out->first_check_ms)
			out->first_check_ms = t;
		if (k == 2 && (out->first_nominate_ms < 0 || t < out->first_nominate_ms))
			out->first_nominate_ms = t;
	}
	fclose(f);
	return 0;
bad:
	fclose(f);
	return -1;
}

#endif

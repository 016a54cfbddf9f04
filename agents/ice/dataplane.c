/* dataplane.c - numbered, acknowledged datagrams (see dataplane.h). */
#include "agents/ice/dataplane.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agents/common/bytes.h"

#define KIND_DATA 1
#define KIND_ACK  2

struct dataplane {
	bool running; /* a run was started and not reported yet */
	unsigned n, size, next_seq;
	uint64_t interval_us, next_us, last_activity_us;
	uint8_t *acked; /* bitmap over our sequence numbers */
	unsigned nacked;
	double *rtt; /* ms, one per ack */
	unsigned nrtt;
	uint8_t *seen; /* bitmap over peer sequence numbers */
	unsigned seen_cap, received;
	uint64_t first_rx_us, first_ack_us;
};

int dataplane_new(struct dataplane **out)
{
	struct dataplane *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	*out = d;
	return 0;
}

void dataplane_free(struct dataplane *d)
{
	if (!d)
		return;
	free(d->acked);
	free(d->rtt);
	free(d->seen);
	free(d);
}

int dataplane_check(unsigned n, unsigned size)
{
	return n == 0 || n > DATAPLANE_N_MAX || size > DATAPLANE_SIZE_MAX ? -EINVAL : 0;
}

int dataplane_start(struct dataplane *d, unsigned n, unsigned size, uint64_t interval_us,
		    uint64_t now_us)
{
	if (d->running)
		return -EBUSY;
	if (dataplane_check(n, size) < 0)
		return -EINVAL;
	if (size < DATAPLANE_HEADER_LEN)
		size = DATAPLANE_HEADER_LEN;
	free(d->acked);
	free(d->rtt);
	d->acked = calloc((n + 7) / 8, 1);
	d->rtt = calloc(n, sizeof(*d->rtt));
	if (!d->acked || !d->rtt)
		return -ENOMEM;
	d->running = true;
	d->n = n;
	d->size = size;
	d->next_seq = 0;
	d->nacked = 0;
	d->nrtt = 0;
	d->interval_us = interval_us;
	d->next_us = now_us;
	d->last_activity_us = now_us;
	return 0;
}

size_t dataplane_next_send(struct dataplane *d, uint64_t now_us, uint8_t *buf)
{
	if (!d->running || d->next_seq >= d->n || now_us < d->next_us)
		return 0;
	memset(buf, 0, d->size);
	buf[0] = DATAPLANE_MAGIC;
	buf[1] = KIND_DATA;
	wr32(buf + 4, d->next_seq);
	wr64(buf + 8, now_us);
	wr32(buf + 16, d->n);
	d->next_seq++;
	d->next_us += d->interval_us;
	if (d->next_us < now_us)
		d->next_us = now_us; /* a late caller does not burst */
	d->last_activity_us = now_us;
	return d->size;
}

static int seen_mark(struct dataplane *d, uint32_t seq)
{
	if (seq >= DATAPLANE_N_MAX)
		return -EINVAL;
	if (seq >= d->seen_cap) {
		unsigned cap = d->seen_cap ? d->seen_cap : 1024;
		uint8_t *p;
		while (cap <= seq)
			cap *= 2;
		p = realloc(d->seen, (cap + 7) / 8);
		if (!p)
			return -ENOMEM;
		memset(p + (d->seen_cap + 7) / 8, 0, (cap + 7) / 8 - (d->seen_cap + 7) / 8);
		d->seen = p;
		d->seen_cap = cap;
	}
	if (d->seen[seq / 8] & (1u << (seq % 8)))
		return 1;
	d->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
	return 0;
}

enum dataplane_input dataplane_input(struct dataplane *d, const uint8_t *buf, size_t len,
				     uint64_t now_us, uint32_t *seq, uint8_t *reply,
				     size_t *reply_len)
{
	uint32_t s;
	if (len < DATAPLANE_HEADER_LEN || buf[0] != DATAPLANE_MAGIC)
		return DATAPLANE_NOT_OURS;
	s = rd32(buf + 4);
	if (buf[1] == KIND_DATA) {
		int r = seen_mark(d, s);
		if (r < 0)
			return DATAPLANE_NOT_OURS;
		if (r == 0)
			d->received++;
		if (!d->first_rx_us)
			d->first_rx_us = now_us;
		d->last_activity_us = now_us;
		memcpy(reply, buf, DATAPLANE_HEADER_LEN);
		reply[1] = KIND_ACK;
		*reply_len = DATAPLANE_HEADER_LEN;
		*seq = s;
		return DATAPLANE_DATA;
	}
	if (buf[1] == KIND_ACK) {
		uint64_t sent_us = rd64(buf + 8);
		*seq = s;
		if (!d->first_ack_us)
			d->first_ack_us = now_us;
		if (!d->running || s >= d->next_seq || (d->acked[s / 8] & (1u << (s % 8))))
			return DATAPLANE_ACK; /* late, forged or duplicate */
		d->acked[s / 8] |= (uint8_t)(1u << (s % 8));
		d->nacked++;
		if (sent_us <= now_us)
			d->rtt[d->nrtt++] = (double)(now_us - sent_us) / 1000.0;
		d->last_activity_us = now_us;
		return DATAPLANE_ACK;
	}
	return DATAPLANE_NOT_OURS;
}

uint64_t dataplane_deadline(const struct dataplane *d)
{
	if (!d->running)
		return UINT64_MAX;
	if (d->next_seq < d->n)
		return d->next_us;
	return d->last_activity_us + DATAPLANE_QUIET_US;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

bool dataplane_report_due(struct dataplane *d, uint64_t now_us, struct dataplane_report *r)
{
	if (!d->running || d->next_seq < d->n || now_us < d->last_activity_us + DATAPLANE_QUIET_US)
		return false;
	d->running = false;
	memset(r, 0, sizeof(*r));
	r->sent = d->next_seq;
	r->received = d->received;
	r->acked = d->nacked;
	r->lost = d->next_seq - d->nacked;
	r->rtt_ms_median = r->rtt_ms_p95 = -1;
	if (d->nrtt > 0) {
		qsort(d->rtt, d->nrtt, sizeof(*d->rtt), cmp_double);
		r->rtt_ms_median = d->rtt[(d->nrtt - 1) / 2];
		/* nearest-rank 95th percentile */
		r->rtt_ms_p95 = d->rtt[(d->nrtt * 95 + 99) / 100 - 1];
	}
	/* Peer datagrams are counted from one report to the next, so a peer
	 * that started before our "send" is counted in full. */
	d->received = 0;
	if (d->seen)
		memset(d->seen, 0, (d->seen_cap + 7) / 8);
	return true;
}

uint64_t dataplane_first_rx_us(const struct dataplane *d)
{
	return d->first_rx_us;
}

uint64_t dataplane_first_ack_us(const struct dataplane *d)
{
	return d->first_ack_us;
}

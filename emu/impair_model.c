/* impair_model.c - the per-direction impairment model; see impair_model.h. */
#include "emu/impair_model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* xoshiro256** (Blackman and Vigna): fast, good enough statistically for
 * loss and jitter, and reproducible from a seed. Seeded with splitmix64 as
 * its authors recommend. */
static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(uint64_t s[4])
{
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

static void rng_seed(uint64_t s[4], uint64_t seed)
{
	for (int i = 0; i < 4; i++) {
		uint64_t z = (seed += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		s[i] = z ^ (z >> 31);
	}
}

double emu_impair_model_uniform(struct emu_impair_model *m)
{
	return (double)(rng_next(m->rng) >> 11) * 0x1.0p-53;
}

static bool chance(struct emu_impair_model *m, double p)
{
	if (p <= 0.0)
		return false;
	if (p >= 1.0)
		return true;
	return emu_impair_model_uniform(m) < p;
}

/* Standard normal by Box-Muller; one of the pair is thrown away, which
 * costs a log and a sqrt per frame but keeps the state trivial. */
static double std_normal(struct emu_impair_model *m)
{
	double u1 = 1.0 - emu_impair_model_uniform(m); /* (0, 1]: log is finite */
	double u2 = emu_impair_model_uniform(m);

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Pareto with shape 3 and scale 1 has mean 3/2 and variance 3/4; this is
 * that variable shifted and scaled to mean 0, variance 1. */
static double std_pareto(struct emu_impair_model *m)
{
	double u = 1.0 - emu_impair_model_uniform(m);
	double x = pow(u, -1.0 / 3.0);

	return (x - 1.5) / sqrt(0.75);
}

int64_t emu_impair_model_jitter_ns(struct emu_impair_model *m)
{
	double j = (double)m->cfg.jitter_us * 1000.0;
	double v;

	if (m->cfg.jitter_us == 0)
		return 0;
	switch (m->cfg.dist) {
	case EMU_JITTER_NORMAL:
		v = j * std_normal(m);
		break;
	case EMU_JITTER_PARETO_NORMAL:
		/* netem's "paretonormal" mixes a quarter normal with three
		 * quarters Pareto; the mix of two unit-variance variables with
		 * weights 1/4, 3/4 has variance 10/16, divided out here so that
		 * jitter means the standard deviation for both distributions. */
		v = j * (0.25 * std_normal(m) + 0.75 * std_pareto(m)) / sqrt(0.625);
		break;
	case EMU_JITTER_UNIFORM:
	default:
		v = j * (2.0 * emu_impair_model_uniform(m) - 1.0);
		break;
	}
	return (int64_t)llround(v);
}

static bool prob_ok(double p)
{
	return p >= 0.0 && p <= 1.0; /* also false for NaN */
}

int emu_impair_config_check(const struct emu_impair_config *c, char *msg, size_t len)
{
	const char *bad = NULL;

	if (!prob_ok(c->loss))
		bad = "loss must be a probability in 0..1";
	else if (!prob_ok(c->dup))
		bad = "duplication must be a probability in 0..1";
	else if (!prob_ok(c->ge_p) || !prob_ok(c->ge_r) || !prob_ok(c->ge_loss_good) ||
		 !prob_ok(c->ge_loss_bad))
		bad = "Gilbert-Elliott p, r and loss probabilities must be in 0..1";
	else if (c->ge_p > 0.0 && c->ge_r <= 0.0)
		bad = "Gilbert-Elliott r must be > 0 when p > 0 (else the link stays bad for ever)";
	else if (c->dist > EMU_JITTER_PARETO_NORMAL)
		bad = "unknown jitter distribution";
	else if (c->mtu != 0 && c->mtu < 68)
		bad = "MTU must be 0 (none) or at least 68 (RFC 791's minimum)";
	else if (c->delay_us > 60u * 1000000u || c->jitter_us > 60u * 1000000u)
		bad = "delay and jitter must be at most 60 s";
	if (!bad)
		return 0;
	if (msg && len)
		snprintf(msg, len, "%s", bad);
	return -EINVAL;
}

void emu_impair_model_init(struct emu_impair_model *m, const struct emu_impair_config *c)
{
	memset(m, 0, sizeof(*m));
	m->cfg = *c;
	rng_seed(m->rng, c->seed ? c->seed : 0x6e61746c6162ull /* "natlab" */);
}

void emu_impair_model_reconfig(struct emu_impair_model *m, const struct emu_impair_config *c)
{
	m->cfg = *c;
}

/* Transmission time of @len bytes at the configured rate. */
static uint64_t tx_ns(const struct emu_impair_model *m, uint32_t len)
{
	return (uint64_t)len * 8ull * 1000000000ull / m->cfg.rate_bps;
}

/* One copy through the rate limiter and the delay line; false when the
 * queue is full. */
static bool schedule(struct emu_impair_model *m, uint64_t now, uint32_t len, uint64_t *depart)
{
	uint64_t ready = now;
	int64_t d;

	if (m->cfg.rate_bps) {
		uint64_t limit = m->cfg.queue_bytes ? m->cfg.queue_bytes : EMU_IMPAIR_QUEUE_DEFAULT;
		uint64_t start = m->busy_until > now ? m->busy_until : now;
		/* Bytes still waiting or being sent: the unfinished part of
		 * the schedule, converted back from time at the same rate. */
		uint64_t backlog = (start - now) * m->cfg.rate_bps / 8ull / 1000000000ull;

		if (backlog + len > limit)
			return false; /* tail drop, as a FIFO (tbf, pfifo) does */
		m->busy_until = start + tx_ns(m, len);
		ready = m->busy_until;
	}
	d = (int64_t)m->cfg.delay_us * 1000 + emu_impair_model_jitter_ns(m);
	if (d < 0)
		d = 0; /* a frame cannot leave before it is ready */
	*depart = ready + (uint64_t)d;
	if (!m->cfg.reorder && *depart < m->last_depart)
		*depart = m->last_depart;
	if (*depart > m->last_depart)
		m->last_depart = *depart;
	return true;
}

int emu_impair_model_admit(struct emu_impair_model *m, uint64_t now_ns, uint32_t frame_len,
			   uint32_t l3_len, uint64_t depart_ns[2], enum emu_impair_verdict *why)
{
	const struct emu_impair_config *c = &m->cfg;
	enum emu_impair_verdict v = EMU_IMPAIR_PASS;
	int n = 0;

	if (c->mtu && l3_len > c->mtu) {
		v = EMU_IMPAIR_DROP_MTU;
		goto out;
	}
	if (chance(m, c->loss)) {
		v = EMU_IMPAIR_DROP_LOSS;
		goto out;
	}
	if (c->ge_p > 0.0) {
		bool lost = chance(m, m->ge_bad ? c->ge_loss_bad : c->ge_loss_good);
		/* The state moves after every frame, lost or not. */
		if (m->ge_bad)
			m->ge_bad = !chance(m, c->ge_r);
		else
			m->ge_bad = chance(m, c->ge_p);
		if (lost) {
			v = EMU_IMPAIR_DROP_BURST;
			goto out;
		}
	}
	if (!schedule(m, now_ns, frame_len, &depart_ns[0])) {
		v = EMU_IMPAIR_DROP_QUEUE;
		goto out;
	}
	n = 1;
	if (chance(m, c->dup) && schedule(m, now_ns, frame_len, &depart_ns[1]))
		n = 2;
out:
	if (why)
		*why = v;
	return n;
}

/* runopts.c - argv of `natlab run`, filter and shard selection. */
#include "harness/runopts.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A usage error: the message says what is wrong and how to write it; the
 * errno text ("Invalid argument") would add nothing. Returns -@code. */
__attribute__((format(printf, 3, 4))) static int usage_err(struct natlab_err *e, int code,
							   const char *fmt, ...)
{
	va_list ap;

	if (e) {
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return -code;
}

static int parse_uint(const char *opt, const char *s, unsigned min, unsigned *out,
		      struct natlab_err *e)
{
	char *end;
	unsigned long v;

	if (!s)
		return usage_err(e, EINVAL, "%s needs a value", opt);
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > 1000000)
		return usage_err(e, EINVAL, "%s: '%s' is not a number >= %u", opt, s, min);
	*out = (unsigned)v;
	return 0;
}

int runopts_shard_parse(const char *s, unsigned *k, unsigned *n, struct natlab_err *e)
{
	unsigned a, b;
	char extra;

	if (!s || sscanf(s, "%u/%u%c", &a, &b, &extra) != 2 || a < 1 || b < 1 || a > b)
		return usage_err(e, EINVAL,
				 "--shard: '%s' is not K/N with 1 <= K <= N (e.g. --shard 2/4)",
				 s ? s : "");
	*k = a;
	*n = b;
	return 0;
}

int runopts_param_split(char *kv, const char **key, const char **value, struct natlab_err *e)
{
	char *eq = kv ? strchr(kv, '=') : NULL;

	if (!eq || eq == kv)
		return usage_err(e, EINVAL, "-p: '%s' is not key=value (e.g. -p nat=easy)",
				 kv ? kv : "");
	*eq = '\0';
	*key = kv;
	*value = eq + 1;
	return 0;
}

int runopts_parse(int argc, char **argv, struct runopts *o, struct natlab_err *e)
{
	bool dashdash = false;
	int ret = 0;

	memset(o, 0, sizeof(*o));
	o->trials = 1;
	o->jobs = 0; /* auto: the runner paces by what cells spend (pace.h) */
	o->out = "results";
	for (int i = 1; i < argc && ret == 0; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (dashdash || a[0] != '-' || strcmp(a, "-") == 0) {
			if (o->n_scenarios >= RUNOPTS_MAX)
				return usage_err(e, E2BIG, "too many scenarios (at most %d)",
						 RUNOPTS_MAX);
			o->scenarios[o->n_scenarios++] = a;
		} else if (strcmp(a, "--") == 0) {
			dashdash = true;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			o->help = true;
		} else if (strcmp(a, "-p") == 0 || strcmp(a, "--param") == 0) {
			if (!v)
				return usage_err(e, EINVAL, "%s needs key=value", a);
			if (o->n_params >= RUNOPTS_MAX)
				return usage_err(e, E2BIG, "too many -p (at most %d)", RUNOPTS_MAX);
			ret = runopts_param_split(argv[++i], &o->param_keys[o->n_params],
						  &o->param_values[o->n_params], e);
			o->n_params++;
		} else if (strcmp(a, "--trials") == 0) {
			ret = parse_uint(a, v, 1, &o->trials, e);
			i++;
		} else if (strcmp(a, "--jobs") == 0 || strcmp(a, "-j") == 0) {
			if (v && strcmp(v, "auto") == 0)
				o->jobs = 0;
			else
				ret = parse_uint(a, v, 1, &o->jobs, e);
			if (ret < 0 && v)
				ret = usage_err(e, EINVAL, "%s: '%s' is not a number >= 1 or auto", a,
						v);
			i++;
		} else if (strcmp(a, "--timeout") == 0) {
			ret = parse_uint(a, v, 1, &o->timeout_s, e);
			i++;
		} else if (strcmp(a, "--seed") == 0) {
			char *end;
			if (!v)
				return usage_err(e, EINVAL, "--seed needs a number");
			errno = 0;
			o->seed = strtoull(v, &end, 0);
			if (errno || end == v || *end)
				return usage_err(e, EINVAL, "--seed: '%s' is not a number", v);
			o->seed_given = true;
			i++;
		} else if (strcmp(a, "--out") == 0 || strcmp(a, "-o") == 0) {
			if (!v)
				return usage_err(e, EINVAL, "%s needs a directory", a);
			o->out = argv[++i];
		} else if (strcmp(a, "--filter") == 0) {
			if (!v)
				return usage_err(
				    e, EINVAL, "--filter needs a pattern (e.g. 'smoke/nat=hard*')");
			o->filter = argv[++i];
		} else if (strcmp(a, "--capture") == 0) {
			o->capture = true;
		} else if (strcmp(a, "--shard") == 0) {
			ret = runopts_shard_parse(v, &o->shard_k, &o->shard_n, e);
			i++;
		} else {
			return usage_err(e, EINVAL, "unknown option '%s' (see --help)", a);
		}
	}
	if (ret == 0 && !o->seed_given) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		o->seed =
		    ((uint64_t)ts.tv_sec * 1000003u) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid();
	}
	return ret;
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

static uint64_t cell_hash(uint64_t h, const char *id, unsigned trial)
{
	char t[24];

	snprintf(t, sizeof(t), "#%u", trial);
	return fnv1a(fnv1a(h, id), t);
}

unsigned runopts_shard_of(const char *id, unsigned trial, unsigned n)
{
	if (n <= 1)
		return 1;
	return (unsigned)(cell_hash(14695981039346656037ull, id, trial) % n) + 1;
}

bool runopts_selected(const struct runopts *o, const char *id, unsigned trial)
{
	if (o->filter && fnmatch(o->filter, id, 0) != 0)
		return false;
	if (o->shard_n > 1 && runopts_shard_of(id, trial, o->shard_n) != o->shard_k)
		return false;
	return true;
}

uint64_t runopts_cell_seed(uint64_t run_seed, const char *id, unsigned trial)
{
	uint64_t h = cell_hash(14695981039346656037ull ^ run_seed, id, trial);

	/* keep it exact in a double (JSON readers, Lua numbers) */
	return h & ((1ull << 53) - 1);
}

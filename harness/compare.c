/* compare.c - outcome and timing changes between two runs. */
#include "harness/compare.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "harness/report.h"
#include "harness/results.h"

struct group {
	unsigned n, ran, passed; /* trials; not skipped; of those, "pass" */
	const char *path;	 /* the most common path */
	bool wired;		 /* its cells were judged by the wire (path is a class) */
	double *ms;
	size_t nms;
};

static void group_of(const json_t *cells, const char *id, struct group *g)
{
	const char *seen[16];
	unsigned count[16] = {0};
	unsigned nseen = 0, best = 0;
	size_t i;
	json_t *c;

	memset(g, 0, sizeof(*g));
	g->ms = calloc(json_array_size(cells) + 1, sizeof(double));
	json_array_foreach(cells, i, c)
	{
		const char *cid = json_string_value(json_object_get(c, "id"));
		/* the wire's class when the cell has one (docs/expected-matrix.md) */
		const char *p = report_cell_class(c);
		const json_t *ms = json_object_get(c, "connect_ms");
		unsigned k;

		if (!cid || strcmp(cid, id) != 0)
			continue;
		g->n++;
		if (json_object_get(json_object_get(c, "wire"), "settled"))
			g->wired = true;
		/* report_cell_path says "skipped" exactly for skipped outcomes */
		/* ... and "unsupported" for an implementation's declared
		 * limitation: neither counts as a trial that ran */
		bool ran = results_outcome_ran(p);
		g->ran += ran;
		g->passed += results_cell_passed(c) && ran;
		for (k = 0; k < nseen && strcmp(seen[k], p) != 0; k++)
			;
		if (k == nseen && nseen < 16)
			seen[nseen++] = p;
		if (k < 16)
			count[k]++;
		if (json_is_number(ms) && g->ms)
			g->ms[g->nms++] = json_number_value(ms);
	}
	for (unsigned k = 1; k < nseen; k++)
		if (count[k] > count[best])
			best = k;
	g->path = nseen ? seen[best] : "none";
}

/* One run judged by the wire (its path a class: "direct") and the other by
 * claims (an exact path: "srflx"): a change only when their classes differ.
 * Otherwise, when the two differ at all. */
static bool path_changed(const struct group *b, const struct group *n)
{
	if (strcmp(b->path, n->path) == 0)
		return false;
	if (b->wired != n->wired)
		return strcmp(report_path_class(b->path), report_path_class(n->path)) != 0;
	return true;
}

static double log_choose(unsigned n, unsigned k)
{
	return lgamma((double)n + 1) - lgamma((double)k + 1) - lgamma((double)(n - k) + 1);
}

double compare_p_lower(unsigned base_passed, unsigned base_n, unsigned new_passed, unsigned new_n)
{
	unsigned total = base_n + new_n, k = base_passed + new_passed;
	unsigned hi = base_n < k ? base_n : k;
	double p = 0;

	if (base_n == 0 || new_n == 0)
		return 1;
	/* X = passes that fall in the base run, given k passes in all */
	for (unsigned x = base_passed; x <= hi; x++) {
		if (base_n - x > total - k)
			continue; /* more base failures than failures in all */
		p += exp(log_choose(k, x) + log_choose(total - k, base_n - x) -
			 log_choose(total, base_n));
	}
	return p > 1 ? 1 : p;
}

/* Below COMPARE_ALPHA. Exact p-values land on round numbers (3/3 -> 0/3 is
 * 1/20): rounding must not tip one that equals it below. */
static bool significant(double p)
{
	return p < COMPARE_ALPHA * (1 - 1e-9);
}

/* How the success rate moved: -1 significantly lower, +1 significantly
 * higher, 0 the same or within noise (see compare.h); *@p the p-value of
 * the direction it moved in, or -1 when the "all -> none" rule decided. */
static int rate_change(const struct group *b, const struct group *n, double *p)
{
	/* b.passed/b.ran < n.passed/n.ran, in integers */
	unsigned long long lb = (unsigned long long)b->passed * n->ran;
	unsigned long long ln = (unsigned long long)n->passed * b->ran;

	*p = 1;
	if (!b->ran || !n->ran || lb == ln)
		return 0;
	if (ln < lb) {
		*p = compare_p_lower(b->passed, b->ran, n->passed, n->ran);
		if (b->passed == b->ran && n->passed == 0 && !significant(*p))
			*p = -1;
		return significant(*p) ? -1 : 0;
	}
	*p = compare_p_lower(n->passed, n->ran, b->passed, b->ran);
	if (n->passed == n->ran && b->passed == 0 && !significant(*p))
		*p = -1;
	return significant(*p) ? 1 : 0;
}

/* "(p=0.0005; " or "(every trial passed before, none now; " */
static void why(FILE *out, double p, const char *all_none)
{
	if (p < 0)
		fprintf(out, "(%s", all_none);
	else
		fprintf(out, "(p=%.2g", p);
}

static void ids_of(const json_t *cells, json_t *set)
{
	size_t i;
	json_t *c;

	json_array_foreach(cells, i, c)
	{
		const char *id = json_string_value(json_object_get(c, "id"));
		if (id)
			json_object_set_new(set, id, json_true());
	}
}

int compare_cells(const json_t *base, const json_t *new_cells, FILE *out, struct compare_summary *s)
{
	json_t *ids = json_object();
	json_t *in_base = json_object(), *in_new = json_object();
	const char *id;
	json_t *v;

	memset(s, 0, sizeof(*s));
	ids_of(base, in_base);
	ids_of(new_cells, in_new);
	ids_of(base, ids);
	ids_of(new_cells, ids);
	json_object_foreach(ids, id, v)
	{
		struct group b, n;
		bool changed = false;
		double p;
		int dir;

		if (!json_object_get(in_new, id)) {
			s->only_base++;
			if (out)
				fprintf(out, "gone      %s\n", id);
			continue;
		}
		if (!json_object_get(in_base, id)) {
			s->only_new++;
			if (out)
				fprintf(out, "new       %s\n", id);
			continue;
		}
		group_of(base, id, &b);
		group_of(new_cells, id, &n);
		/* An outcome change is judged on the success rate, with its
		 * noise (compare.h). */
		dir = rate_change(&b, &n, &p);
		if (dir < 0) {
			s->regressed++;
			changed = true;
			if (out) {
				fprintf(out, "REGRESSED %s: %u/%u passed, now %u/%u ", id, b.passed,
					b.ran, n.passed, n.ran);
				why(out, p, "every trial passed before, none now");
				fprintf(out, "; path %s -> %s)\n", b.path, n.path);
			}
		} else if (dir > 0) {
			s->fixed++;
			changed = true;
			if (out) {
				fprintf(out, "fixed     %s: %u/%u passed, now %u/%u ", id, b.passed,
					b.ran, n.passed, n.ran);
				why(out, p, "no trial passed before, every one now");
				fprintf(out, ")\n");
			}
		} else if (b.ran && n.ran &&
			   (unsigned long long)b.passed * n.ran !=
			       (unsigned long long)n.passed * b.ran) {
			s->noise++;
			changed = true;
			if (out)
				fprintf(out,
					"noise     %s: %u/%u passed, now %u/%u (p=%.2g, within "
					"noise)\n",
					id, b.passed, b.ran, n.passed, n.ran, p);
		}
		if (path_changed(&b, &n)) {
			s->path_changed++;
			changed = true;
			if (out)
				fprintf(out, "path      %s: %s -> %s\n", id, b.path, n.path);
		}
		if (b.nms && n.nms) {
			double b95 = report_percentile(b.ms, b.nms, 95);
			double b50 = report_percentile(b.ms, b.nms, 50);
			double n50 = report_percentile(n.ms, n.nms, 50);
			double n95 = report_percentile(n.ms, n.nms, 95);

			if (n50 > b95 * COMPARE_SLOWER_FACTOR &&
			    n50 - b95 >= COMPARE_SLOWER_MIN_MS) {
				s->slower++;
				changed = true;
				if (out)
					fprintf(out,
						"SLOWER    %s: connect median %.0f ms (p95 %.0f), "
						"was %.0f ms (p95 %.0f)\n",
						id, n50, n95, b50, b95);
			} else if (b50 > n95 * COMPARE_SLOWER_FACTOR &&
				   b50 - n95 >= COMPARE_SLOWER_MIN_MS) {
				s->faster++;
				changed = true;
				if (out)
					fprintf(
					    out,
					    "faster    %s: connect median %.0f ms, was %.0f ms\n",
					    id, n50, b50);
			}
		}
		if (!changed)
			s->same++;
		free(b.ms);
		free(n.ms);
	}
	json_decref(ids);
	json_decref(in_base);
	json_decref(in_new);
	return (int)(s->regressed + s->slower);
}

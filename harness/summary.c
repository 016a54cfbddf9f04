/* summary.c - the terminal summary grid, from bounded aggregates. */
#include "harness/grow.h"
#include "harness/summary.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness/report.h"

/* Where a cell comes in planned order: its "index", then finishing order. */
struct key {
	json_int_t index;
	size_t pos;
};

static int key_cmp(struct key a, struct key b)
{
	if (a.index != b.index)
		return a.index < b.index ? -1 : 1;
	return (a.pos > b.pos) - (a.pos < b.pos);
}

/* A label (grid, row or column) and the first place it was seen. */
struct label {
	char *name;
	struct key first;
};

/* Labels in a growing array, found again through a hash. */
struct labels {
	struct label *v;
	size_t n, cap;
	json_t *map; /* name -> position in v */
};

/* Every trial of one (row, col): how many took each path, how many ran
 * (not skipped) and passed, and their connect times (at most
 * SUMMARY_MS_MAX: enough for a median, bounded for a run of any length). */
#define SUMMARY_PATHS  24 /* report_class_names(), with the call classes */
#define SUMMARY_MS_MAX 1024

struct square {
	unsigned count[SUMMARY_PATHS];
	unsigned n, ran, passed;
	int mismatch; /* some trial took another path than the expected one */
	double *ms;
	size_t nms, capms;
};

struct grid {
	struct labels rows, cols;
	json_t *sq; /* "row:col" positions -> position in squares */
	struct square *squares;
	size_t nsq, capsq;
};

struct summary {
	struct labels names;
	struct grid *g; /* parallel to names.v */
};

struct summary *summary_new(void)
{
	return calloc(1, sizeof(struct summary));
}

/* The position of @name in @l, added when new; its first place lowered to
 * @k when @k comes earlier. -ENOMEM on no memory. */
static long labels_add(struct labels *l, const char *name, struct key k)
{
	json_t *hit;
	size_t i;

	if (!l->map && !(l->map = json_object()))
		return -ENOMEM;
	hit = json_object_get(l->map, name);
	if (hit) {
		i = (size_t)json_integer_value(hit);
		if (key_cmp(k, l->v[i].first) < 0)
			l->v[i].first = k;
		return (long)i;
	}
	if (harness_grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0)
		return -ENOMEM;
	l->v[l->n].name = strdup(name);
	l->v[l->n].first = k;
	if (!l->v[l->n].name ||
	    json_object_set_new_nocheck(l->map, name, json_integer((json_int_t)l->n)) < 0) {
		free(l->v[l->n].name);
		return -ENOMEM;
	}
	return (long)l->n++;
}

static void labels_free(struct labels *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	json_decref(l->map);
}

int summary_add(struct summary *s, const json_t *c, size_t pos)
{
	const json_t *gr = json_object_get(c, "grid");
	const json_t *idx = json_object_get(c, "index");
	const char *name = json_string_value(json_object_get(gr, "name"));
	const char *row = json_string_value(json_object_get(gr, "row"));
	const char *col = json_string_value(json_object_get(gr, "col"));
	const char *exp = json_string_value(json_object_get(c, "expected_path"));
	const char *outcome = json_string_value(json_object_get(c, "outcome"));
	const json_t *ms = json_object_get(c, "connect_ms");
	/* the grid speaks in path classes, the wire's when the cell has one
	 * (docs/expected-matrix.md "Verdicts") */
	const char *const *names = report_class_names();
	const char *p = report_cell_class(c);
	struct key k = {json_is_integer(idx) ? json_integer_value(idx) : INT64_MAX, pos};
	size_t had = s->names.n;
	struct grid *g;
	struct square *sq;
	char sqkey[48];
	json_t *hit;
	long gi, ri, ci;

	if (!name || !row || !col)
		return 0;
	gi = labels_add(&s->names, name, k);
	if (gi < 0)
		return (int)gi;
	if (s->names.n > had) {
		/* grids stay parallel to their names */
		struct grid *grown = realloc(s->g, s->names.cap * sizeof(*grown));
		if (!grown) {
			free(s->names.v[--s->names.n].name);
			json_object_del(s->names.map, name);
			return -ENOMEM;
		}
		s->g = grown;
		memset(&s->g[gi], 0, sizeof(s->g[0]));
	}
	g = &s->g[gi];
	ri = labels_add(&g->rows, row, k);
	ci = labels_add(&g->cols, col, k);
	if (ri < 0 || ci < 0)
		return -ENOMEM;
	snprintf(sqkey, sizeof(sqkey), "%ld:%ld", ri, ci);
	if (!g->sq && !(g->sq = json_object()))
		return -ENOMEM;
	hit = json_object_get(g->sq, sqkey);
	if (hit) {
		sq = &g->squares[json_integer_value(hit)];
	} else {
		if (harness_grow((void **)&g->squares, &g->capsq, g->nsq + 1, sizeof(*g->squares)) <
			0 ||
		    json_object_set_new_nocheck(g->sq, sqkey, json_integer((json_int_t)g->nsq)) < 0)
			return -ENOMEM;
		sq = &g->squares[g->nsq++];
		memset(sq, 0, sizeof(*sq));
	}
	/* counts only: the square is the same whatever order cells finish in */
	sq->n++;
	sq->ran += !outcome || (strcmp(outcome, "skipped") != 0 && strcmp(outcome, "unsupported") != 0);
	sq->passed += outcome && strcmp(outcome, "pass") == 0;
	for (unsigned i = 0; names[i] && i < SUMMARY_PATHS; i++)
		if (strcmp(names[i], p) == 0)
			sq->count[i]++;
	/* a wire class is held against the expected path's class */
	if (exp && strcmp(p, "skipped") && strcmp(p, "unsupported") &&
	    strcmp(json_object_get(json_object_get(c, "wire"), "settled") ? report_path_class(exp)
									  : exp,
		   p))
		sq->mismatch = 1;
	if (json_is_number(ms) && sq->nms < SUMMARY_MS_MAX) {
		if (harness_grow((void **)&sq->ms, &sq->capms, sq->nms + 1, sizeof(double)) < 0)
			return -ENOMEM;
		sq->ms[sq->nms++] = json_number_value(ms);
	}
	return 0;
}

/* What a square says: its most common path (ties: the report's order),
 * "!" when some trial was not on the expected path, then with several
 * trials (or a failure) "passed/ran", and with several timed trials the
 * median connect time. */
static void square_text(const struct square *sq, char *buf, size_t len)
{
	const char *const *names = report_class_names();
	unsigned best = 0;
	size_t used;

	for (unsigned i = 1; names[i] && i < SUMMARY_PATHS; i++)
		if (sq->count[i] > sq->count[best])
			best = i;
	snprintf(buf, len, "%s%s", names[best], sq->mismatch ? "!" : "");
	used = strlen(buf);
	if (sq->ran && (sq->n > 1 || sq->passed < sq->ran) && used < len)
		used += (size_t)snprintf(buf + used, len - used, " %u/%u", sq->passed, sq->ran);
	if (sq->nms > 1 && used < len) {
		double *copy = malloc(sq->nms * sizeof(double));
		if (copy) {
			memcpy(copy, sq->ms, sq->nms * sizeof(double));
			snprintf(buf + used, len - used, " %.0fms",
				 report_percentile(copy, sq->nms, 50));
			free(copy);
		}
	}
}

static int cmp_first(const void *a, const void *b, void *ctx)
{
	const struct labels *l = ctx;

	return key_cmp(l->v[*(const size_t *)a].first, l->v[*(const size_t *)b].first);
}

/* The positions of @l's labels in the order they first appear. */
static size_t *by_first(const struct labels *l)
{
	size_t *o = malloc((l->n + 1) * sizeof(*o));

	if (!o)
		return NULL;
	for (size_t i = 0; i < l->n; i++)
		o[i] = i;
	qsort_r(o, l->n, sizeof(*o), cmp_first, (void *)l);
	return o;
}

#define SQ_TEXT 40

void summary_print(const struct summary *s, FILE *out)
{
	size_t *go = by_first(&s->names);

	for (size_t gk = 0; go && gk < s->names.n; gk++) {
		const struct grid *g = &s->g[go[gk]];
		size_t *ro = by_first(&g->rows), *co = by_first(&g->cols);
		char(*text)[SQ_TEXT] = calloc(g->nsq + 1, SQ_TEXT);
		int w = 12, rates = 0, medians = 0;

		if (!ro || !co || !text) {
			free(ro);
			free(co);
			free(text);
			break;
		}
		/* columns as wide as the widest square: "relay-udp! 9/10 120ms" */
		for (size_t i = 0; i < g->nsq; i++) {
			square_text(&g->squares[i], text[i], SQ_TEXT);
			if ((int)strlen(text[i]) > w)
				w = (int)strlen(text[i]);
			/* the legend explains what some square shows */
			rates |= g->squares[i].ran &&
				 (g->squares[i].n > 1 || g->squares[i].passed < g->squares[i].ran);
			medians |= g->squares[i].nms > 1;
		}
		fprintf(out, "\n%s  (! = not the expected path%s%s)\n%-24s",
			s->names.v[go[gk]].name, rates ? "; k/n = trials passed" : "",
			medians ? "; ms = median connect time" : "", "");
		for (size_t c = 0; c < g->cols.n; c++)
			fprintf(out, " %-*.*s", w, w, g->cols.v[co[c]].name);
		fprintf(out, "\n");
		for (size_t r = 0; r < g->rows.n; r++) {
			fprintf(out, "%-24.24s", g->rows.v[ro[r]].name);
			for (size_t c = 0; c < g->cols.n; c++) {
				char sqkey[48];
				json_t *hit;

				snprintf(sqkey, sizeof(sqkey), "%zu:%zu", ro[r], co[c]);
				hit = json_object_get(g->sq, sqkey);
				fprintf(out, " %-*.*s", w, w,
					hit ? text[json_integer_value(hit)] : "-");
			}
			fprintf(out, "\n");
		}
		free(ro);
		free(co);
		free(text);
	}
	free(go);
}

void summary_free(struct summary *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->names.n; i++) {
		labels_free(&s->g[i].rows);
		labels_free(&s->g[i].cols);
		json_decref(s->g[i].sq);
		for (size_t k = 0; k < s->g[i].nsq; k++)
			free(s->g[i].squares[k].ms);
		free(s->g[i].squares);
	}
	free(s->g);
	labels_free(&s->names);
	free(s);
}

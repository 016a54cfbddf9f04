/* summary.c - the terminal summary grid, from bounded aggregates. */
#include "harness/grow.h"
#include "harness/summary.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness/labelset.h"
#include "harness/report.h"
#include "harness/results.h"
#include "harness/rollup.h"

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
	struct labelset rows, cols;
	json_t *sq; /* "row:col" positions -> position in squares */
	struct square *squares;
	size_t nsq, capsq;
};

struct summary {
	struct labelset names;
	struct grid *g;	     /* parallel to names.v */
	struct rollup *roll; /* the scenarios' summary grids */
};

struct summary *summary_new(void)
{
	return calloc(1, sizeof(struct summary));
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
	/* where the cell comes in planned order: its "index", then finishing order */
	struct labelset_key k = {json_is_integer(idx) ? json_integer_value(idx) : INT64_MAX, pos};
	size_t had = s->names.n;
	struct grid *g;
	struct square *sq;
	char sqkey[48];
	json_t *hit;
	long gi, ri, ci;

	if (!name || !row || !col)
		return 0;
	if ((!s->roll && !(s->roll = rollup_new())) || rollup_add(s->roll, c, k) < 0)
		return -ENOMEM;
	gi = labelset_add(&s->names, name, k);
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
	ri = labelset_add(&g->rows, row, k);
	ci = labelset_add(&g->cols, col, k);
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
	sq->ran += results_outcome_ran(outcome);
	sq->passed += outcome && strcmp(outcome, "pass") == 0;
	for (unsigned i = 0; names[i] && i < SUMMARY_PATHS; i++)
		if (strcmp(names[i], p) == 0)
			sq->count[i]++;
	/* a wire class is held against the expected path's class */
	if (exp && results_outcome_ran(p) &&
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

#define SQ_TEXT 40

/* A summary square: "97% 35/36" (pass rate, passed/applicable), then the
 * unsupported, failed and skipped counts that are not zero. */
static void rollup_text(const struct rollup_square *sq, char *buf, size_t len)
{
	int pct = rollup_percent(sq);
	size_t used;

	if (pct < 0)
		snprintf(buf, len, "n/a");
	else
		snprintf(buf, len, "%d%% %zu/%zu", pct, sq->passed, rollup_applicable(sq));
	used = strlen(buf);
	if (sq->unsupported && used < len)
		used += (size_t)snprintf(buf + used, len - used, " %zuu", sq->unsupported);
	if (sq->failed && used < len)
		used += (size_t)snprintf(buf + used, len - used, " %zuf", sq->failed);
	if (sq->skipped && used < len)
		snprintf(buf + used, len - used, " %zus", sq->skipped);
}

/* The summary grids, after the grids they sum up. */
static void rollup_print(const struct rollup *r, FILE *out)
{
	for (size_t i = 0; r && i < rollup_count(r); i++) {
		char text[SQ_TEXT];
		int w = 12;

		for (size_t rk = 0; rk < rollup_rows(r, i); rk++)
			for (size_t ck = 0; ck < rollup_cols(r, i); ck++) {
				const struct rollup_square *sq = rollup_square(r, i, rk, ck);
				if (sq) {
					rollup_text(sq, text, sizeof(text));
					w = (int)strlen(text) > w ? (int)strlen(text) : w;
				}
			}
		for (size_t ck = 0; ck < rollup_cols(r, i); ck++)
			w = (int)strlen(rollup_col(r, i, ck)) > w
				? (int)strlen(rollup_col(r, i, ck))
				: w;
		w = w > SQ_TEXT ? SQ_TEXT : w;
		fprintf(out,
			"\n%s  (pass rate passed/applicable; u = unsupported, f = failed, s = "
			"skipped)\n"
			"%-24s",
			rollup_name(r, i), "");
		for (size_t ck = 0; ck < rollup_cols(r, i); ck++)
			fprintf(out, " %-*.*s", w, w, rollup_col(r, i, ck));
		fprintf(out, "\n");
		for (size_t rk = 0; rk < rollup_rows(r, i); rk++) {
			fprintf(out, "%-24.24s", rollup_row(r, i, rk));
			for (size_t ck = 0; ck < rollup_cols(r, i); ck++) {
				const struct rollup_square *sq = rollup_square(r, i, rk, ck);
				if (sq)
					rollup_text(sq, text, sizeof(text));
				fprintf(out, " %-*.*s", w, w, sq ? text : "-");
			}
			fprintf(out, "\n");
		}
	}
}

void summary_print(const struct summary *s, FILE *out)
{
	size_t *go = labelset_order(&s->names);

	for (size_t gk = 0; go && gk < s->names.n; gk++) {
		const struct grid *g = &s->g[go[gk]];
		size_t *ro = labelset_order(&g->rows), *co = labelset_order(&g->cols);
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
	rollup_print(s->roll, out);
}

void summary_free(struct summary *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->names.n; i++) {
		labelset_free(&s->g[i].rows);
		labelset_free(&s->g[i].cols);
		json_decref(s->g[i].sq);
		for (size_t k = 0; k < s->g[i].nsq; k++)
			free(s->g[i].squares[k].ms);
		free(s->g[i].squares);
	}
	free(s->g);
	labelset_free(&s->names);
	rollup_free(s->roll);
	free(s);
}

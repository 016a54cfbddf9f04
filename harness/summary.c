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

struct square {
	struct key last;
	char val[64]; /* the path, "!" appended when not the expected one */
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
	const char *p = report_cell_path(c);
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
		if (key_cmp(k, sq->last) < 0)
			return 0; /* a later cell in planned order already drew it */
	} else {
		if (harness_grow((void **)&g->squares, &g->capsq, g->nsq + 1, sizeof(*g->squares)) <
			0 ||
		    json_object_set_new_nocheck(g->sq, sqkey, json_integer((json_int_t)g->nsq)) < 0)
			return -ENOMEM;
		sq = &g->squares[g->nsq++];
	}
	sq->last = k;
	snprintf(sq->val, sizeof(sq->val), "%s%s", p,
		 exp && strcmp(exp, p) && strcmp(p, "skipped") ? "!" : "");
	return 0;
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

void summary_print(const struct summary *s, FILE *out)
{
	size_t *go = by_first(&s->names);

	for (size_t gk = 0; go && gk < s->names.n; gk++) {
		const struct grid *g = &s->g[go[gk]];
		size_t *ro = by_first(&g->rows), *co = by_first(&g->cols);

		if (!ro || !co) {
			free(ro);
			free(co);
			break;
		}
		fprintf(out, "\n%s  (! = not the expected path)\n%-24s", s->names.v[go[gk]].name,
			"");
		for (size_t c = 0; c < g->cols.n; c++)
			fprintf(out, " %-12.12s", g->cols.v[co[c]].name);
		fprintf(out, "\n");
		for (size_t r = 0; r < g->rows.n; r++) {
			fprintf(out, "%-24.24s", g->rows.v[ro[r]].name);
			for (size_t c = 0; c < g->cols.n; c++) {
				char sqkey[48];
				json_t *hit;

				snprintf(sqkey, sizeof(sqkey), "%zu:%zu", ro[r], co[c]);
				hit = json_object_get(g->sq, sqkey);
				fprintf(out, " %-12.12s",
					hit ? g->squares[json_integer_value(hit)].val : "-");
			}
			fprintf(out, "\n");
		}
		free(ro);
		free(co);
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
		free(s->g[i].squares);
	}
	free(s->g);
	labels_free(&s->names);
	free(s);
}

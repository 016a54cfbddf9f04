/* rollup.c - the summary grids of a run, from bounded counts. */
#include "harness/grow.h"
#include "harness/rollup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A row or column value and the smallest order it was added with. */
struct label {
	char *name;
	uint64_t first;
};

/* Labels in a growing array, found again through a hash; @sorted their
 * positions by first order, made again when a label is added or moves. */
struct labels {
	struct label *v;
	size_t n, cap;
	json_t *map; /* name -> position in v */
	size_t *sorted;
	int stale;
};

struct square {
	struct rollup_square pub;
	char *grid;
	uint64_t grid_order;
};

struct summary {
	char *name, *rlabel, *clabel;
	struct labels rows, cols;
	json_t *sqmap; /* "row:col" positions -> position in sq */
	struct square *sq;
	size_t nsq, capsq;
};

struct rollup {
	struct summary *s;
	size_t n, cap;
	json_t *map; /* name -> position in s */
};

struct rollup *rollup_new(void)
{
	return calloc(1, sizeof(struct rollup));
}

static void labels_free(struct labels *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	free(l->sorted);
	json_decref(l->map);
}

void rollup_free(struct rollup *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		struct summary *s = &r->s[i];
		free(s->name);
		free(s->rlabel);
		free(s->clabel);
		labels_free(&s->rows);
		labels_free(&s->cols);
		json_decref(s->sqmap);
		for (size_t k = 0; k < s->nsq; k++)
			free(s->sq[k].grid);
		free(s->sq);
	}
	free(r->s);
	json_decref(r->map);
	free(r);
}

/* The position of @name in @l, added when new; its first order lowered to
 * @order when that is smaller. -ENOMEM on no memory. */
static long labels_add(struct labels *l, const char *name, uint64_t order)
{
	json_t *hit;
	size_t i;

	if (!l->map && !(l->map = json_object()))
		return -ENOMEM;
	hit = json_object_get(l->map, name);
	if (hit) {
		i = (size_t)json_integer_value(hit);
		if (order < l->v[i].first) {
			l->v[i].first = order;
			l->stale = 1;
		}
		return (long)i;
	}
	if (harness_grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0)
		return -ENOMEM;
	l->v[l->n].name = strdup(name);
	l->v[l->n].first = order;
	if (!l->v[l->n].name ||
	    json_object_set_new_nocheck(l->map, name, json_integer((json_int_t)l->n)) < 0) {
		free(l->v[l->n].name);
		return -ENOMEM;
	}
	l->stale = 1;
	return (long)l->n++;
}

static int cmp_first(const void *a, const void *b, void *ctx)
{
	const struct labels *l = ctx;
	uint64_t x = l->v[*(const size_t *)a].first, y = l->v[*(const size_t *)b].first;

	if (x != y)
		return x < y ? -1 : 1;
	return (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
}

/* @l's positions in order; NULL on no memory. */
static const size_t *labels_sorted(const struct labels *cl)
{
	struct labels *l = (struct labels *)cl;
	size_t *o;

	if (!l->stale && (l->sorted || l->n == 0))
		return l->sorted;
	o = realloc(l->sorted, (l->n + 1) * sizeof(*o));
	if (!o)
		return NULL;
	for (size_t i = 0; i < l->n; i++)
		o[i] = i;
	qsort_r(o, l->n, sizeof(*o), cmp_first, l);
	l->sorted = o;
	l->stale = 0;
	return o;
}

static char *dup_opt(const char *s)
{
	return strdup(s ? s : "");
}

/* The summary named @name, added (with its labels) when new. */
static struct summary *summary_of(struct rollup *r, const json_t *sm, const char *name)
{
	json_t *hit;
	struct summary *s;

	if (!r->map && !(r->map = json_object()))
		return NULL;
	hit = json_object_get(r->map, name);
	if (hit)
		return &r->s[json_integer_value(hit)];
	if (harness_grow((void **)&r->s, &r->cap, r->n + 1, sizeof(*r->s)) < 0)
		return NULL;
	s = &r->s[r->n];
	memset(s, 0, sizeof(*s));
	s->name = strdup(name);
	s->rlabel = dup_opt(json_string_value(json_object_get(sm, "row_label")));
	s->clabel = dup_opt(json_string_value(json_object_get(sm, "col_label")));
	if (!s->name || !s->rlabel || !s->clabel ||
	    json_object_set_new_nocheck(r->map, name, json_integer((json_int_t)r->n)) < 0) {
		free(s->name);
		free(s->rlabel);
		free(s->clabel);
		return NULL;
	}
	r->n++;
	return s;
}

int rollup_add(struct rollup *r, const json_t *c, uint64_t order)
{
	const json_t *gr = json_object_get(c, "grid");
	const json_t *sm = json_object_get(gr, "summary");
	const char *name = json_string_value(json_object_get(sm, "name"));
	const char *row = json_string_value(json_object_get(sm, "row"));
	const char *col = json_string_value(json_object_get(sm, "col"));
	const char *grid = json_string_value(json_object_get(gr, "name"));
	const char *o = json_string_value(json_object_get(c, "outcome"));
	struct summary *s;
	struct square *sq;
	char key[48];
	json_t *hit;
	long ri, ci;

	if (!name || !row || !col)
		return 0;
	s = summary_of(r, sm, name);
	if (!s)
		return -ENOMEM;
	ri = labels_add(&s->rows, row, order);
	ci = labels_add(&s->cols, col, order);
	if (ri < 0 || ci < 0)
		return -ENOMEM;
	snprintf(key, sizeof(key), "%ld:%ld", ri, ci);
	if (!s->sqmap && !(s->sqmap = json_object()))
		return -ENOMEM;
	hit = json_object_get(s->sqmap, key);
	if (hit) {
		sq = &s->sq[json_integer_value(hit)];
	} else {
		if (harness_grow((void **)&s->sq, &s->capsq, s->nsq + 1, sizeof(*s->sq)) < 0 ||
		    json_object_set_new_nocheck(s->sqmap, key, json_integer((json_int_t)s->nsq)) < 0)
			return -ENOMEM;
		sq = &s->sq[s->nsq++];
		memset(sq, 0, sizeof(*sq));
	}
	sq->pub.cells++;
	if (o && strcmp(o, "pass") == 0)
		sq->pub.passed++;
	else if (o && strcmp(o, "unsupported") == 0)
		sq->pub.unsupported++;
	else if (o && strcmp(o, "skipped") == 0)
		sq->pub.skipped++;
	else
		sq->pub.failed++;
	if (grid && (!sq->grid || order < sq->grid_order)) {
		char *g = strdup(grid);
		if (!g)
			return -ENOMEM;
		free(sq->grid);
		sq->grid = g;
		sq->grid_order = order;
		sq->pub.grid = g;
	}
	return 0;
}

size_t rollup_count(const struct rollup *r)
{
	return r->n;
}

const char *rollup_name(const struct rollup *r, size_t i)
{
	return r->s[i].name;
}

const char *rollup_row_label(const struct rollup *r, size_t i)
{
	return r->s[i].rlabel;
}

const char *rollup_col_label(const struct rollup *r, size_t i)
{
	return r->s[i].clabel;
}

size_t rollup_rows(const struct rollup *r, size_t i)
{
	return r->s[i].rows.n;
}

size_t rollup_cols(const struct rollup *r, size_t i)
{
	return r->s[i].cols.n;
}

/* The position in v of the @k-th label in order (@k itself on no memory:
 * the table is then in first-seen order, every label still there). */
static size_t nth(const struct labels *l, size_t k)
{
	const size_t *o = labels_sorted(l);

	return o ? o[k] : k;
}

const char *rollup_row(const struct rollup *r, size_t i, size_t k)
{
	return r->s[i].rows.v[nth(&r->s[i].rows, k)].name;
}

const char *rollup_col(const struct rollup *r, size_t i, size_t k)
{
	return r->s[i].cols.v[nth(&r->s[i].cols, k)].name;
}

const struct rollup_square *rollup_square(const struct rollup *r, size_t i, size_t rk, size_t ck)
{
	const struct summary *s = &r->s[i];
	char key[48];
	json_t *hit;

	snprintf(key, sizeof(key), "%zu:%zu", nth(&s->rows, rk), nth(&s->cols, ck));
	hit = json_object_get(s->sqmap, key);
	return hit ? &s->sq[json_integer_value(hit)].pub : NULL;
}

size_t rollup_applicable(const struct rollup_square *sq)
{
	return sq->passed + sq->failed;
}

int rollup_percent(const struct rollup_square *sq)
{
	size_t n = rollup_applicable(sq);

	return n ? (int)(sq->passed * 100 / n) : -1;
}

/* rollup.c - the summary grids of a run, from bounded counts. */
#include "harness/grow.h"
#include "harness/rollup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Labels and, made again when one was added, their positions in order. */
struct labels {
	struct labelset set;
	size_t *sorted;
	size_t nsorted; /* how many labels sorted holds: stale when < set.n */
};

struct square {
	struct rollup_square pub;
	char *grid;
	struct labelset_key grid_key;
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
	labelset_free(&l->set);
	free(l->sorted);
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

/* The position of @name in @l, added when new (the order is made again:
 * a new label, or an earlier key for an old one, may move it). */
static long labels_add(struct labels *l, const char *name, struct labelset_key k)
{
	long i = labelset_add(&l->set, name, k);

	l->nsorted = 0;
	return i;
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

int rollup_add(struct rollup *r, const json_t *c, struct labelset_key k)
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
	ri = labels_add(&s->rows, row, k);
	ci = labels_add(&s->cols, col, k);
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
		    json_object_set_new_nocheck(s->sqmap, key, json_integer((json_int_t)s->nsq)) <
			0)
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
	if (grid && (!sq->grid || k.major < sq->grid_key.major ||
		     (k.major == sq->grid_key.major && k.minor < sq->grid_key.minor))) {
		char *g = strdup(grid);
		if (!g)
			return -ENOMEM;
		free(sq->grid);
		sq->grid = g;
		sq->grid_key = k;
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
	return r->s[i].rows.set.n;
}

size_t rollup_cols(const struct rollup *r, size_t i)
{
	return r->s[i].cols.set.n;
}

/* The position of the @k-th label in order (@k itself on no memory: the
 * table is then in first-seen order, every label still there). */
static size_t nth(const struct labels *cl, size_t k)
{
	struct labels *l = (struct labels *)cl; /* the order is a cache */

	if (l->nsorted < l->set.n) {
		size_t *o = labelset_order(&l->set);
		if (!o)
			return k;
		free(l->sorted);
		l->sorted = o;
		l->nsorted = l->set.n;
	}
	return l->sorted[k];
}

const char *rollup_row(const struct rollup *r, size_t i, size_t k)
{
	return r->s[i].rows.set.v[nth(&r->s[i].rows, k)].name;
}

const char *rollup_col(const struct rollup *r, size_t i, size_t k)
{
	return r->s[i].cols.set.v[nth(&r->s[i].cols, k)].name;
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

/* labelset.c - labels kept in first-seen order, listed by key. */
#include "harness/grow.h"
#include "harness/labelset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int key_cmp(struct labelset_key a, struct labelset_key b)
{
	if (a.major != b.major)
		return a.major < b.major ? -1 : 1;
	return (a.minor > b.minor) - (a.minor < b.minor);
}

long labelset_add(struct labelset *l, const char *name, struct labelset_key k)
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

static int cmp_first(const void *a, const void *b, void *ctx)
{
	const struct labelset *l = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = key_cmp(l->v[x].first, l->v[y].first);

	return c ? c : (x > y) - (x < y);
}

size_t *labelset_order(const struct labelset *l)
{
	size_t *o = malloc((l->n + 1) * sizeof(*o));

	if (!o)
		return NULL;
	for (size_t i = 0; i < l->n; i++)
		o[i] = i;
	qsort_r(o, l->n, sizeof(*o), cmp_first, (void *)l);
	return o;
}

void labelset_free(struct labelset *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	json_decref(l->map);
}

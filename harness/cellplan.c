/* cellplan.c - cells made on demand from matrix points x trials. */
#include "harness/cellplan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness/grow.h"

struct part {
	json_t *points;
	char *file;
	void *tag;
	json_int_t index0; /* the index of its first cell */
};

struct cellplan {
	const struct runopts *o;
	struct part *parts;
	size_t nparts, cap;
	json_int_t total; /* cells before selection */
	size_t selected;
	/* where cellplan_next is: part, point, trial */
	size_t at_part, at_point;
	unsigned at_trial;
};

struct cellplan *cellplan_new(const struct runopts *o)
{
	struct cellplan *p = calloc(1, sizeof(*p));

	if (p)
		p->o = o;
	return p;
}

static unsigned trials_of(const struct cellplan *p)
{
	return p->o->trials ? p->o->trials : 1;
}

int cellplan_add(struct cellplan *p, json_t *points, const char *scenario_file, void *tag)
{
	unsigned trials = trials_of(p);
	struct part *pt;
	size_t i;
	json_t *c;

	if (harness_grow((void **)&p->parts, &p->cap, p->nparts + 1, sizeof(*p->parts)) < 0)
		return -ENOMEM;
	pt = &p->parts[p->nparts];
	pt->file = strdup(scenario_file);
	if (!pt->file)
		return -ENOMEM;
	pt->points = json_incref(points);
	pt->tag = tag;
	pt->index0 = p->total;
	p->nparts++;
	json_array_foreach(points, i, c)
	{
		const char *id = json_string_value(json_object_get(c, "id"));
		for (unsigned t = 0; t < trials; t++)
			p->selected += runopts_selected(p->o, id ? id : "", t);
	}
	p->total += (json_int_t)(json_array_size(points) * trials);
	return 0;
}

size_t cellplan_count(const struct cellplan *p)
{
	return p->selected;
}

json_t *cellplan_next(struct cellplan *p, void **tag)
{
	unsigned trials = trials_of(p);

	while (p->at_part < p->nparts) {
		struct part *pt = &p->parts[p->at_part];
		json_t *point = json_array_get(pt->points, p->at_point);
		const char *id;
		json_int_t index;
		unsigned t;
		json_t *c;

		if (!point) {
			p->at_part++;
			p->at_point = 0;
			p->at_trial = 0;
			continue;
		}
		t = p->at_trial;
		index = pt->index0 + (json_int_t)(p->at_point * trials + t);
		if (++p->at_trial == trials) {
			p->at_trial = 0;
			p->at_point++;
		}
		id = json_string_value(json_object_get(point, "id"));
		if (!runopts_selected(p->o, id ? id : "", t))
			continue;
		c = json_deep_copy(point);
		if (!c)
			return NULL;
		json_object_set_new(c, "trial", json_integer(t));
		json_object_set_new(c, "index", json_integer(index));
		json_object_set_new(c, "scenario_file", json_string(pt->file));
		json_object_set_new(
		    c, "seed",
		    json_integer((json_int_t)runopts_cell_seed(p->o->seed, id ? id : "", t)));
		if (tag)
			*tag = pt->tag;
		return c;
	}
	return NULL;
}

void cellplan_free(struct cellplan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nparts; i++) {
		json_decref(p->parts[i].points);
		free(p->parts[i].file);
	}
	free(p->parts);
	free(p);
}

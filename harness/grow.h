/* grow.h - room for @need elements of @size bytes in the array *@p of
 * capacity *@cap, doubling (from 8) so that appends cost amortised O(1).
 * 0, or -ENOMEM with *@p and *@cap unchanged. Shared by the report and
 * the run summary, which build their tables element by element. */
#ifndef NATLAB_HARNESS_GROW_H
#define NATLAB_HARNESS_GROW_H

#include <errno.h>
#include <stdlib.h>

static inline int harness_grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t cap2;
	void *q;

	if (need <= *cap)
		return 0;
	cap2 = *cap ? *cap * 2 : 8;
	while (cap2 < need)
		cap2 *= 2;
	q = realloc(*p, cap2 * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = cap2;
	return 0;
}

#endif

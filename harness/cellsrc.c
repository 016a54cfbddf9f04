/* cellsrc.c - cells one at a time, from cells.jsonl or from an array. */
#include "harness/cellsrc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What is kept per cell: 24 bytes, not the cell. */
struct cellref {
	int64_t off; /* file: where the line starts; array: the array position */
	size_t len;  /* file: the line's length without its newline */
	json_int_t index;
};

struct cellsrc {
	const json_t *arr; /* borrowed; NULL for a file */
	int fd;
	char *buf; /* one line at a time, as long as the longest line */
	size_t buf_cap;
	struct cellref *refs;
	size_t n, cap;
};

static json_int_t index_of(const json_t *c)
{
	const json_t *idx = json_object_get(c, "index");

	return json_is_integer(idx) ? json_integer_value(idx) : INT64_MAX;
}

static int ref_push(struct cellsrc *s, int64_t off, size_t len, json_int_t index)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct cellref *grown = realloc(s->refs, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		s->refs = grown;
		s->cap = cap;
	}
	s->refs[s->n++] = (struct cellref){off, len, index};
	return 0;
}

static struct cellsrc *src_new(void)
{
	struct cellsrc *s = calloc(1, sizeof(*s));

	if (s)
		s->fd = -1;
	return s;
}

int cellsrc_file_open(const char *path, struct cellsrc **out, struct natlab_err *e)
{
	struct cellsrc *s = src_new();
	json_error_t je;
	FILE *f = NULL;
	char *line = NULL;
	size_t cap = 0;
	int64_t off = 0;
	ssize_t n;
	int lineno = 0;
	int ret = 0;

	*out = NULL;
	if (!s)
		return natlab_err_set(e, ENOMEM, "%s", path);
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		if (errno == ENOENT) {
			*out = s; /* killed before the first cell: a run with no cells */
			return 0;
		}
		ret = natlab_err_set(e, errno, "cannot read %s", path);
		goto out;
	}
	f = fdopen(dup(s->fd), "re");
	if (!f) {
		ret = natlab_err_set(e, errno, "cannot read %s", path);
		goto out;
	}
	/* getline() sets errno only when it fails: clear it so that the
	 * ferror() branch below never reports an older call's errno */
	errno = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		bool complete = line[n - 1] == '\n';
		int64_t start = off;
		json_t *c;

		off += n;
		lineno++;
		if (n == 1 && complete)
			continue;
		c = json_loadb(line, (size_t)n, 0, &je);
		if (!c && !complete)
			break; /* torn last line of a killed run */
		if (!c || !json_is_object(c)) {
			json_decref(c);
			natlab_err_set(e, 0, "%s:%d: %s", path, lineno,
				       c ? "not a JSON object" : je.text);
			ret = -EINVAL;
			goto out;
		}
		ret = ref_push(s, start, (size_t)n - complete, index_of(c));
		json_decref(c);
		if (ret < 0) {
			natlab_err_set(e, ENOMEM, "%s", path);
			goto out;
		}
		if ((size_t)n > s->buf_cap)
			s->buf_cap = (size_t)n;
	}
	if (ferror(f)) {
		ret = natlab_err_set(e, errno ? errno : EIO, "cannot read %s", path);
		goto out;
	}
	s->buf = malloc(s->buf_cap + 1);
	if (!s->buf) {
		ret = natlab_err_set(e, ENOMEM, "%s", path);
		goto out;
	}
out:
	free(line);
	if (f)
		fclose(f);
	if (ret < 0) {
		cellsrc_free(s);
		return ret;
	}
	*out = s;
	return 0;
}

struct cellsrc *cellsrc_array_new(const json_t *cells)
{
	struct cellsrc *s = src_new();
	size_t i;
	json_t *c;

	if (!s)
		return NULL;
	s->arr = cells;
	json_array_foreach(cells, i, c)
	{
		if (!json_is_object(c))
			continue;
		if (ref_push(s, (int64_t)i, 0, index_of(c)) < 0) {
			cellsrc_free(s);
			return NULL;
		}
	}
	return s;
}

size_t cellsrc_count(const struct cellsrc *s)
{
	return s->n;
}

json_t *cellsrc_get(struct cellsrc *s, size_t i)
{
	const struct cellref *r;
	json_t *c;

	if (i >= s->n)
		return NULL;
	r = &s->refs[i];
	if (s->arr)
		return json_incref(json_array_get(s->arr, (size_t)r->off));
	for (size_t got = 0; got < r->len;) {
		ssize_t k = pread(s->fd, s->buf + got, r->len - got, (off_t)(r->off + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return NULL;
		got += (size_t)k;
	}
	c = json_loadb(s->buf, r->len, 0, NULL);
	if (c && !json_is_object(c)) {
		json_decref(c);
		return NULL;
	}
	return c;
}

static int cmp_planned(const void *a, const void *b, void *ctx)
{
	const struct cellsrc *s = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	json_int_t ix = s->refs[x].index, iy = s->refs[y].index;

	if (ix != iy)
		return ix < iy ? -1 : 1;
	return (x > y) - (x < y);
}

size_t *cellsrc_planned_order(const struct cellsrc *s)
{
	size_t *order = malloc((s->n + 1) * sizeof(*order));

	if (!order)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		order[i] = i;
	qsort_r(order, s->n, sizeof(*order), cmp_planned, (void *)s);
	return order;
}

void cellsrc_free(struct cellsrc *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->buf);
	free(s->refs);
	free(s);
}

char *cellsrc_render(cellsrc_writer write, const json_t *run, const json_t *cells)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct cellsrc *src = cellsrc_array_new(cells);
	int ret = -ENOMEM;

	if (f && src)
		ret = write(f, run, src);
	cellsrc_free(src);
	if (!f)
		return NULL;
	if (fclose(f) != 0 || ret < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

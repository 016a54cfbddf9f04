/* results.c - the run directory and its crash-safe writers. */
#include "harness/results.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness/cellsrc.h"
#include "harness/junit.h"
#include "harness/report.h"

/* What a run keeps: its directory, run.json and two counters. The cells
 * themselves are only in cells.jsonl; the reports are rendered by reading
 * it back one cell at a time (cellsrc), so a long run does not grow. */
struct results {
	char dir[RESULTS_PATH_MAX];
	json_t *run; /* run.json as last written */
	size_t done, passed;
	int jsonl_fd;
	struct junit_stream *junit;  /* testcases appended as cells finish */
	struct report_live *live;    /* the live index's aggregates */
	int64_t rendered_ms;	     /* when the live index was last rewritten */
};

/* While a run goes on, nothing is drawn again from cells.jsonl: each cell
 * is appended to it and its testcase to junit.xml's parts, and report.html
 * is a live index of the grids drawn from aggregates (its cost follows the
 * matrix, not the run), rewritten at most this often. results_close writes
 * junit.xml from its parts and the full report (index, rows, details) in
 * one pass over cells.jsonl; a killed run's cells are all in cells.jsonl
 * and `natlab report` draws them. */
#define RESULTS_LIVE_EVERY_MS 1000

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void results_now_iso(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

int results_cell_passed(const json_t *cell)
{
	const char *o = json_string_value(json_object_get(cell, "outcome"));

	return o && (strcmp(o, "pass") == 0 || strcmp(o, "skipped") == 0 ||
		     strcmp(o, "unsupported") == 0);
}

int results_outcome_ran(const char *outcome)
{
	return !outcome || (strcmp(outcome, "skipped") != 0 && strcmp(outcome, "unsupported") != 0);
}

static int mkdir_p(const char *path, struct natlab_err *e)
{
	char buf[RESULTS_PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return natlab_err_set(e, ENAMETOOLONG, "%s", path);
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char c = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return natlab_err_set(e, errno, "cannot create directory %s", buf);
		buf[i] = c;
	}
	return 0;
}

int results_write_atomic(const char *path, const char *data, size_t len, struct natlab_err *e)
{
	char tmp[RESULTS_PATH_MAX + 8];
	int fd;
	int ret = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return natlab_err_set(e, errno, "cannot write %s", tmp);
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			ret = natlab_err_set(e, errno, "cannot write %s", tmp);
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0) {
		ret = natlab_err_set(e, errno, "cannot sync %s", tmp);
		goto out;
	}
	if (rename(tmp, path) < 0)
		ret = natlab_err_set(e, errno, "cannot rename %s to %s", tmp, path);
out:
	close(fd);
	if (ret < 0)
		unlink(tmp);
	return ret;
}

static int write_json_file(const char *dir, const char *name, const json_t *j, struct natlab_err *e)
{
	char path[RESULTS_PATH_MAX];
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	int ret;

	if (!text)
		return natlab_err_set(e, ENOMEM, "cannot serialise %s", name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ret = results_write_atomic(path, text, strlen(text), e);
	free(text);
	return ret;
}

/* A stdio stream over a file descriptor that remembers why its first
 * write failed: stdio keeps only an error flag, and errno is long
 * overwritten by the time the renderer returns ("No space left on device"
 * must reach the user, not "Input/output error"). */
struct sink {
	int fd;
	int err;
};

static ssize_t sink_write(void *cookie, const char *buf, size_t len)
{
	struct sink *k = cookie;

	for (size_t off = 0; off < len;) {
		ssize_t w = write(k->fd, buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (!k->err)
				k->err = w < 0 ? errno : EIO;
			return -1;
		}
		off += (size_t)w;
	}
	return (ssize_t)len;
}

typedef int (*writer_fn)(FILE *f, void *ctx);

/* Write @path through @path.tmp with @fn (fsync, rename), streamed: the
 * document is never whole in memory. With @keep_tmp the final rename is
 * left to the caller (the report swaps its directory first). */
static int write_streamed(const char *path, writer_fn fn, void *ctx, int keep_tmp,
			  struct natlab_err *e)
{
	static const cookie_io_functions_t io = {.write = sink_write};
	char tmp[RESULTS_PATH_MAX + 8];
	struct sink k = {-1, 0};
	FILE *f;
	int ret, err = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	k.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (k.fd < 0)
		return natlab_err_set(e, errno, "cannot write %s", tmp);
	f = fopencookie(&k, "w", io);
	if (!f) {
		close(k.fd);
		unlink(tmp);
		return natlab_err_set(e, ENOMEM, "cannot write %s", tmp);
	}
	ret = fn(f, ctx);
	if (fflush(f) != 0 && !k.err)
		k.err = EIO;
	if (fclose(f) != 0 && !k.err)
		k.err = EIO;
	if (k.err)
		err = k.err; /* the write's own reason, even when fn noticed it first */
	else if (ret < 0)
		err = -ret;
	else if (fsync(k.fd) < 0)
		err = errno;
	close(k.fd);
	if (!err && !keep_tmp && rename(tmp, path) < 0)
		return natlab_err_set(e, errno, "cannot rename %s to %s", tmp, path);
	if (err) {
		unlink(tmp);
		return natlab_err_set(e, err, "cannot write %s", tmp);
	}
	return 0;
}

/* ---- report/: the files beside the index ---- */

/* One file of report.tmp/, written through a sink that keeps the first
 * error; closing it syncs it. */
struct side_file {
	struct sink k;
	struct side_dir *d;
	char path[RESULTS_PATH_MAX + 64];
};

struct side_dir {
	char path[RESULTS_PATH_MAX + 16];
	int err;
	char errpath[RESULTS_PATH_MAX + 64];
};

static void side_fail(struct side_dir *d, int err, const char *path)
{
	if (d->err)
		return;
	d->err = err;
	snprintf(d->errpath, sizeof(d->errpath), "%s", path);
}

static int side_cookie_close(void *cookie)
{
	struct side_file *sf = cookie;

	if (sf->k.err)
		side_fail(sf->d, sf->k.err, sf->path);
	else if (fsync(sf->k.fd) < 0)
		side_fail(sf->d, errno, sf->path);
	close(sf->k.fd);
	free(sf);
	return 0;
}

static FILE *side_open(void *ctx, const char *name)
{
	static const cookie_io_functions_t io = {.write = sink_write, .close = side_cookie_close};
	struct side_dir *d = ctx;
	struct side_file *sf = calloc(1, sizeof(*sf));
	FILE *f;

	if (!sf) {
		side_fail(d, ENOMEM, name);
		return NULL;
	}
	sf->d = d;
	snprintf(sf->path, sizeof(sf->path), "%s/%s", d->path, name);
	sf->k.fd = open(sf->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (sf->k.fd < 0) {
		side_fail(d, errno, sf->path);
		free(sf);
		return NULL;
	}
	f = fopencookie(sf, "w", io);
	if (!f) {
		side_fail(d, ENOMEM, sf->path);
		close(sf->k.fd);
		free(sf);
	}
	return f;
}

static int side_close(void *ctx, FILE *f)
{
	struct side_dir *d = ctx;

	if (fclose(f) != 0 && !d->err)
		d->err = EIO;
	return d->err ? -d->err : 0;
}

/* Remove the files of the flat directory @path, then it; ENOENT is fine. */
static void rm_flat(const char *path)
{
	DIR *dd = opendir(path);
	struct dirent *de;

	while (dd && (de = readdir(dd))) {
		char p[RESULTS_PATH_MAX + 300];
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		unlink(p);
	}
	if (dd)
		closedir(dd);
	rmdir(path);
}

struct report_ctx {
	const json_t *run;
	struct cellsrc *src;
	struct report_out out;
	const struct report_opts *ro;
};

static int report_fn(FILE *f, void *ctx)
{
	struct report_ctx *rc = ctx;

	return report_write(f, rc->run, rc->src, &rc->out, rc->ro);
}

/* report.html and report/ of @dir from @src: everything is written under
 * temporary names (report.html.tmp, report.tmp/), then report/ is swapped
 * in and report.html renamed over the old one. */
static int render_report(const char *dir, const json_t *run, struct cellsrc *src,
			 const struct report_opts *ro,
			 struct natlab_err *e)
{
	struct side_dir sd = {"", 0, ""};
	struct report_ctx rc = {run, src, {side_open, side_close, &sd}, ro};
	char html[RESULTS_PATH_MAX + 16], tmp[RESULTS_PATH_MAX + 24], side[RESULTS_PATH_MAX + 16],
	    old[RESULTS_PATH_MAX + 16];
	int ret;

	snprintf(sd.path, sizeof(sd.path), "%s/report.tmp", dir);
	snprintf(side, sizeof(side), "%s/report", dir);
	snprintf(old, sizeof(old), "%s/report.old", dir);
	snprintf(html, sizeof(html), "%s/report.html", dir);
	snprintf(tmp, sizeof(tmp), "%s/report.html.tmp", dir);
	rm_flat(sd.path);
	if (mkdir(sd.path, 0755) < 0)
		return natlab_err_set(e, errno, "cannot create %s", sd.path);
	ret = write_streamed(html, report_fn, &rc, 1, e);
	if (ret == 0 && sd.err)
		ret = natlab_err_set(e, sd.err, "cannot write %s", sd.errpath);
	if (ret < 0) {
		unlink(tmp);
		rm_flat(sd.path);
		return ret;
	}
	rm_flat(old);
	if (rename(side, old) < 0 && errno != ENOENT)
		return natlab_err_set(e, errno, "cannot rename %s", side);
	if (rename(sd.path, side) < 0)
		return natlab_err_set(e, errno, "cannot rename %s to %s", sd.path, side);
	rm_flat(old);
	if (rename(tmp, html) < 0)
		return natlab_err_set(e, errno, "cannot rename %s to %s", tmp, html);
	return 0;
}

static int live_fn(FILE *f, void *ctx)
{
	struct results *r = ctx;

	return report_live_write(f, r->run, r->live);
}

struct junit_doc {
	const json_t *run;
	struct junit_stream *j;
};

static int junit_doc_fn(FILE *f, void *ctx)
{
	struct junit_doc *d = ctx;

	return junit_stream_write(f, d->run, d->j);
}

/* junit.xml of @dir from @src through a stream like a running run's, so
 * that each cell is read once (junit_write reads each twice: counts
 * first, then testcases suite by suite); the same bytes. Its parts are
 * named apart from a running run's: `natlab report` of the directory of a
 * run that is still going must not take over that run's parts. */
static int render_junit(const char *dir, const json_t *run, struct cellsrc *src,
			struct natlab_err *e)
{
	char path[RESULTS_PATH_MAX + 16];
	struct junit_doc d = {run, NULL};
	int ret = junit_stream_new(dir, ".junit-render-", &d.j, e);

	for (size_t i = 0; ret == 0 && i < cellsrc_count(src); i++) {
		json_t *c = cellsrc_get(src, i);

		if (!c) {
			ret = natlab_err_msg(e, EIO, "cannot read %s/cells.jsonl", dir);
			break;
		}
		ret = junit_stream_add(d.j, c, e);
		json_decref(c);
	}
	if (ret == 0) {
		snprintf(path, sizeof(path), "%s/junit.xml", dir);
		ret = write_streamed(path, junit_doc_fn, &d, 0, e);
	}
	junit_stream_free(d.j);
	return ret;
}

/* junit.xml and report.html of @dir from its cells.jsonl. */
int results_render_opts(const char *dir, const json_t *run, const struct report_opts *ro,
			struct natlab_err *e)
{
	char path[RESULTS_PATH_MAX + 16];
	struct cellsrc *src = NULL;
	int ret;

	snprintf(path, sizeof(path), "%s/cells.jsonl", dir);
	ret = cellsrc_file_open(path, &src, e);
	if (ret < 0)
		return ret;
	ret = render_junit(dir, run, src, e);
	if (ret == 0)
		ret = render_report(dir, run, src, ro, e);
	cellsrc_free(src);
	return ret;
}

int results_render(const char *dir, const json_t *run, struct natlab_err *e)
{
	return results_render_opts(dir, run, NULL, e);
}

/* latest -> run-id, replaced atomically through a temporary link. */
static void latest_update(const char *root, const char *run_id)
{
	char tmp[RESULTS_PATH_MAX];
	char link[RESULTS_PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s/.latest.%d", root, (int)getpid());
	snprintf(link, sizeof(link), "%s/latest", root);
	unlink(tmp);
	if (symlink(run_id, tmp) == 0 && rename(tmp, link) < 0)
		unlink(tmp);
}

int results_open(const char *root, const char *run_id, const json_t *run, struct results **out,
		 struct natlab_err *e)
{
	struct results *r = calloc(1, sizeof(*r));
	char path[RESULTS_PATH_MAX];
	char now[40];
	int ret;

	*out = NULL;
	if (!r)
		return natlab_err_set(e, ENOMEM, "results");
	r->jsonl_fd = -1;
	if (snprintf(r->dir, sizeof(r->dir), "%s/%s", root, run_id) >= (int)sizeof(r->dir)) {
		ret = natlab_err_set(e, ENAMETOOLONG, "result directory %s/%s", root, run_id);
		goto fail;
	}
	ret = mkdir_p(r->dir, e);
	if (ret < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/logs", r->dir);
	ret = mkdir_p(path, e);
	if (ret < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/pcap", r->dir);
	ret = mkdir_p(path, e);
	if (ret < 0)
		goto fail;
	r->run = json_deep_copy(run);
	if (!json_object_get(r->run, "start")) {
		results_now_iso(now, sizeof(now));
		json_object_set_new(r->run, "start", json_string(now));
	}
	json_object_set_new(r->run, "run_id", json_string(run_id));
	json_object_set_new(r->run, "schema", json_integer(RESULTS_SCHEMA_VERSION));
	ret = write_json_file(r->dir, "run.json", r->run, e);
	if (ret < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/cells.jsonl", r->dir);
	r->jsonl_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (r->jsonl_fd < 0) {
		ret = natlab_err_set(e, errno, "cannot create %s", path);
		goto fail;
	}
	ret = results_render(r->dir, r->run, e);
	if (ret < 0)
		goto fail;
	ret = junit_stream_new(r->dir, ".junit-", &r->junit, e);
	if (ret < 0)
		goto fail;
	r->live = report_live_new(); /* without it (no memory): no live index */
	r->rendered_ms = mono_ms();
	latest_update(root, run_id);
	*out = r;
	return 0;
fail:
	results_free(r);
	return ret;
}

const char *results_dir(const struct results *r)
{
	return r->dir;
}

int results_cell_add(struct results *r, const json_t *cell, struct natlab_err *e)
{
	char *line = json_dumps(cell, JSON_COMPACT | JSON_SORT_KEYS);
	size_t len;
	int ret = 0;

	if (!line)
		return natlab_err_set(e, ENOMEM, "cannot serialise a cell");
	len = strlen(line);
	{
		char *grown = realloc(line, len + 2);
		if (!grown) {
			free(line);
			return natlab_err_set(e, ENOMEM, "cannot serialise a cell");
		}
		line = grown;
	}
	line[len] = '\n'; /* one object per line, written in one write() */
	for (size_t off = 0; off < len + 1;) {
		ssize_t w = write(r->jsonl_fd, line + off, len + 1 - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			ret = natlab_err_set(e, errno, "cannot append to %s/cells.jsonl", r->dir);
			break;
		}
		off += (size_t)w;
	}
	free(line);
	if (ret < 0)
		return ret;
	if (fsync(r->jsonl_fd) < 0)
		return natlab_err_set(e, errno, "cannot sync %s/cells.jsonl", r->dir);
	r->done++;
	r->passed += (size_t)results_cell_passed(cell);
	ret = junit_stream_add(r->junit, cell, e);
	if (ret < 0)
		return ret;
	if (r->live && report_live_add(r->live, cell) == 0 &&
	    mono_ms() - r->rendered_ms >= RESULTS_LIVE_EVERY_MS) {
		char path[RESULTS_PATH_MAX + 16];

		snprintf(path, sizeof(path), "%s/report.html", r->dir);
		ret = write_streamed(path, live_fn, r, 0, e);
		r->rendered_ms = mono_ms();
	}
	return ret;
}

int results_close(struct results *r, json_t *resources, struct natlab_err *e)
{
	char now[40], path[RESULTS_PATH_MAX + 16];
	struct cellsrc *src = NULL;
	int ret;

	results_now_iso(now, sizeof(now));
	json_object_set_new(r->run, "end", json_string(now));
	json_object_set_new(r->run, "cells_done", json_integer((json_int_t)r->done));
	json_object_set_new(r->run, "cells_passed", json_integer((json_int_t)r->passed));
	if (resources)
		json_object_set_new(r->run, "resources", resources);
	ret = write_json_file(r->dir, "run.json", r->run, e);
	if (ret < 0)
		return ret;
	snprintf(path, sizeof(path), "%s/junit.xml", r->dir);
	{
		struct junit_doc d = {r->run, r->junit};
		ret = write_streamed(path, junit_doc_fn, &d, 0, e);
	}
	if (ret < 0)
		return ret;
	snprintf(path, sizeof(path), "%s/cells.jsonl", r->dir);
	ret = cellsrc_file_open(path, &src, e);
	if (ret == 0)
		ret = render_report(r->dir, r->run, src, NULL, e);
	cellsrc_free(src);
	return ret;
}

void results_free(struct results *r)
{
	if (!r)
		return;
	if (r->jsonl_fd >= 0)
		close(r->jsonl_fd);
	junit_stream_free(r->junit);
	report_live_free(r->live);
	json_decref(r->run);
	free(r);
}

int results_write_cells(const char *dir, const json_t *cells, struct natlab_err *e)
{
	char path[RESULTS_PATH_MAX];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	size_t i;
	json_t *c;
	int ret;

	if (!f)
		return natlab_err_set(e, errno, "memory");
	json_array_foreach(cells, i, c)
	{
		json_dumpf(c, f, JSON_COMPACT | JSON_SORT_KEYS);
		fputc('\n', f);
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s/cells.jsonl", dir);
	ret = results_write_atomic(path, buf ? buf : "", len, e);
	free(buf);
	return ret;
}

int results_load_run(const char *dir, json_t **run, struct natlab_err *e)
{
	char path[RESULTS_PATH_MAX];
	json_error_t je;

	snprintf(path, sizeof(path), "%s/run.json", dir);
	*run = json_load_file(path, 0, &je);
	if (*run)
		return 0;
	if (access(path, F_OK) < 0) {
		natlab_err_set(e, 0,
			       "%s is not a natlab result directory (no run.json); "
			       "give the directory 'natlab run' printed",
			       dir);
		return -ENOENT;
	}
	/* the parser's words and place; the errno text would add nothing */
	natlab_err_set(e, 0, "%s:%d:%d: %s", path, je.line, je.column, je.text);
	return -EINVAL;
}

int results_load(const char *dir, json_t **run, json_t **cells, struct natlab_err *e)
{
	char path[RESULTS_PATH_MAX];
	struct cellsrc *src = NULL;
	int ret;

	*cells = NULL;
	ret = results_load_run(dir, run, e);
	if (ret < 0)
		return ret;
	snprintf(path, sizeof(path), "%s/cells.jsonl", dir);
	ret = cellsrc_file_open(path, &src, e);
	if (ret == 0 && !(*cells = json_array()))
		ret = natlab_err_set(e, ENOMEM, "%s", path);
	for (size_t i = 0; ret == 0 && i < cellsrc_count(src); i++) {
		json_t *c = cellsrc_get(src, i);
		if (!c || json_array_append_new(*cells, c) < 0)
			ret = natlab_err_msg(e, EIO, "cannot read %s", path);
	}
	cellsrc_free(src);
	if (ret < 0) {
		json_decref(*run);
		json_decref(*cells);
		*run = NULL;
		*cells = NULL;
	}
	return ret;
}

/* results.c - the run directory and its crash-safe writers. */
#include "harness/results.h"

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

#include "harness/junit.h"
#include "harness/report.h"

struct results {
	char dir[RESULTS_PATH_MAX];
	json_t *run;   /* run.json as last written */
	json_t *cells; /* every cell added, in order */
	int jsonl_fd;
	int64_t rendered_ms; /* when report.html was last rewritten */
};

/* report.html is rewritten at most this often while a run goes on (a big
 * matrix would otherwise spend its time re-rendering); results_close
 * always renders the final page. */
#define RESULTS_REPORT_EVERY_MS 1000

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

	return o && (strcmp(o, "pass") == 0 || strcmp(o, "skipped") == 0);
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

static int render(const char *dir, const json_t *run, const json_t *cells, bool with_report,
		  struct natlab_err *e)
{
	char path[RESULTS_PATH_MAX];
	char *text;
	int ret;

	text = junit_render(run, cells);
	if (!text)
		return natlab_err_set(e, ENOMEM, "cannot render junit.xml");
	snprintf(path, sizeof(path), "%s/junit.xml", dir);
	ret = results_write_atomic(path, text, strlen(text), e);
	free(text);
	if (ret < 0 || !with_report)
		return ret;
	text = report_render(run, cells);
	if (!text)
		return natlab_err_set(e, ENOMEM, "cannot render report.html");
	snprintf(path, sizeof(path), "%s/report.html", dir);
	ret = results_write_atomic(path, text, strlen(text), e);
	free(text);
	return ret;
}

int results_render(const char *dir, const json_t *run, const json_t *cells, struct natlab_err *e)
{
	return render(dir, run, cells, true, e);
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
	r->cells = json_array();
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
	ret = results_render(r->dir, r->run, r->cells, e);
	if (ret < 0)
		goto fail;
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
	json_array_append_new(r->cells, json_deep_copy(cell));
	if (mono_ms() - r->rendered_ms < RESULTS_REPORT_EVERY_MS)
		return render(r->dir, r->run, r->cells, false, e);
	r->rendered_ms = mono_ms();
	return render(r->dir, r->run, r->cells, true, e);
}

int results_close(struct results *r, struct natlab_err *e)
{
	char now[40];
	size_t i;
	json_t *c;
	int passed = 0;
	int ret;

	results_now_iso(now, sizeof(now));
	json_object_set_new(r->run, "end", json_string(now));
	json_array_foreach(r->cells, i, c) passed += results_cell_passed(c);
	json_object_set_new(r->run, "cells_done",
			    json_integer((json_int_t)json_array_size(r->cells)));
	json_object_set_new(r->run, "cells_passed", json_integer(passed));
	ret = write_json_file(r->dir, "run.json", r->run, e);
	if (ret < 0)
		return ret;
	return results_render(r->dir, r->run, r->cells, e);
}

void results_free(struct results *r)
{
	if (!r)
		return;
	if (r->jsonl_fd >= 0)
		close(r->jsonl_fd);
	json_decref(r->run);
	json_decref(r->cells);
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

int results_load(const char *dir, json_t **run, json_t **cells, struct natlab_err *e)
{
	char path[RESULTS_PATH_MAX];
	json_error_t je;
	FILE *f = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0;
	int ret = 0;

	*run = NULL;
	*cells = NULL;
	snprintf(path, sizeof(path), "%s/run.json", dir);
	*run = json_load_file(path, 0, &je);
	if (!*run) {
		if (access(path, F_OK) < 0)
			return natlab_err_set(e, ENOENT,
					      "%s is not a natlab result directory (no run.json); "
					      "give the directory 'natlab run' printed",
					      dir);
		return natlab_err_set(e, EINVAL, "%s:%d:%d: %s", path, je.line, je.column, je.text);
	}
	*cells = json_array();
	snprintf(path, sizeof(path), "%s/cells.jsonl", dir);
	f = fopen(path, "re");
	if (!f)
		return 0; /* killed before the first cell: a run with no cells */
	while ((n = getline(&line, &cap, f)) > 0) {
		bool complete = line[n - 1] == '\n';
		json_t *c;

		lineno++;
		if (n == 1 && complete)
			continue;
		c = json_loadb(line, (size_t)n, 0, &je);
		if (!c && !complete)
			break; /* torn last line of a killed run */
		if (!c || !json_is_object(c)) {
			json_decref(c);
			ret = natlab_err_set(e, EINVAL, "%s:%d: %s", path, lineno,
					     c ? "not a JSON object" : je.text);
			goto out;
		}
		json_array_append_new(*cells, c);
	}
out:
	free(line);
	fclose(f);
	if (ret < 0) {
		json_decref(*run);
		json_decref(*cells);
		*run = NULL;
		*cells = NULL;
	}
	return ret;
}

/* junit.c - the JUnit XML writer. */
#include "harness/junit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/cellsrc.h"
#include "harness/grow.h"
#include "harness/results.h"

/* Whether @c goes out as it is: not one of the five XML specials, and not
 * a control character XML 1.0 forbids (§2.2: only tab, newline and CR
 * below 0x20). */
static bool xml_plain(unsigned char c)
{
	if (c < 0x20)
		return c == '\t' || c == '\n' || c == '\r';
	return c != '&' && c != '<' && c != '>' && c != '"' && c != '\'';
}

void xml_escape(FILE *f, const char *s)
{
	if (!s)
		return;
	while (*s) {
		size_t n = 0;

		/* runs of plain text in one write: a report is mostly that,
		 * and a character at a time was a quarter of natlab report's
		 * CPU */
		while (s[n] && xml_plain((unsigned char)s[n]))
			n++;
		if (n) {
			fwrite(s, 1, n, f);
			s += n;
			continue;
		}
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default: /* a forbidden control character: dropped */
			break;
		}
		s++;
	}
}

static const char *str(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

static double num(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : 0.0;
}

static void testcase(FILE *f, const json_t *c)
{
	const char *outcome = str(c, "outcome", "error");
	const char *msg = str(c, "message", "");
	char name[512];

	snprintf(name, sizeof(name), "%s#%lld", str(c, "id", "?"),
		 (long long)json_integer_value(json_object_get(c, "trial")));
	fprintf(f, "    <testcase classname=\"");
	xml_escape(f, str(c, "scenario", "?"));
	fprintf(f, "\" name=\"");
	xml_escape(f, name);
	fprintf(f, "\" time=\"%.3f\">\n", num(c, "duration_ms") / 1000.0);
	if (strcmp(outcome, "fail") == 0) {
		fprintf(f, "      <failure message=\"");
		xml_escape(f, msg);
		fprintf(f, "\" type=\"fail\">expected path ");
		xml_escape(f, str(c, "expected_path", "-"));
		fprintf(f, ", observed ");
		xml_escape(f, str(c, "path", "-"));
		fprintf(f, "</failure>\n");
	} else if (strcmp(outcome, "error") == 0 || strcmp(outcome, "timeout") == 0) {
		fprintf(f, "      <error message=\"");
		xml_escape(f, msg);
		fprintf(f, "\" type=\"%s\">", outcome);
		xml_escape(f, str(c, "traceback", ""));
		xml_escape(f, str(c, "stderr_tail", ""));
		fprintf(f, "</error>\n");
	} else if (!results_outcome_ran(outcome)) {
		/* an implementation's declared limitation is not run, not failed:
		 * JUnit has no fourth kind, so it is a skip whose message says so */
		fprintf(f, "      <skipped message=\"%s",
			strcmp(outcome, "unsupported") == 0 ? "unsupported: " : "");
		xml_escape(f, msg);
		fprintf(f, "\"/>\n");
	}
	fprintf(f, "    </testcase>\n");
}

/* One <testsuite> per scenario, in the order each first appears; what
 * its opening tag counts is known only once all its cells are seen. */
struct suite {
	char *name;
	size_t tests;
	int failures, errors, skipped;
	double t;
	int part_fd; /* the stream's part file, open for the run; -1 */
};

/* The suites of a document, both writers': scenario name -> suite. */
struct suites {
	json_t *names; /* scenario -> its index in su */
	struct suite *su;
	size_t n, cap;
};

static int suites_init(struct suites *ss)
{
	memset(ss, 0, sizeof(*ss));
	ss->names = json_object();
	return ss->names ? 0 : -ENOMEM;
}

/* The index of scenario @sc's suite, a new one (*@added true) when it has
 * none yet; -ENOMEM. */
static long suites_find(struct suites *ss, const char *sc, bool *added)
{
	json_t *hit = json_object_get(ss->names, sc);

	*added = false;
	if (hit)
		return (long)json_integer_value(hit);
	if (harness_grow((void **)&ss->su, &ss->cap, ss->n + 1, sizeof(*ss->su)) < 0)
		return -ENOMEM;
	memset(&ss->su[ss->n], 0, sizeof(ss->su[0]));
	ss->su[ss->n].part_fd = -1;
	ss->su[ss->n].name = strdup(sc);
	if (!ss->su[ss->n].name ||
	    json_object_set_new_nocheck(ss->names, sc, json_integer((json_int_t)ss->n)) < 0) {
		free(ss->su[ss->n].name);
		return -ENOMEM;
	}
	*added = true;
	return (long)ss->n++;
}

static void suites_free(struct suites *ss)
{
	for (size_t k = 0; k < ss->n; k++)
		free(ss->su[k].name);
	free(ss->su);
	json_decref(ss->names);
}

/* Cell @c's share of its suite's counts: an unsupported cell is a skip,
 * a timeout an error. */
static void suite_count(struct suite *s, const json_t *c)
{
	const char *o = str(c, "outcome", "error");

	s->tests++;
	s->failures += strcmp(o, "fail") == 0;
	s->errors += strcmp(o, "error") == 0 || strcmp(o, "timeout") == 0;
	s->skipped += !results_outcome_ran(o);
	s->t += num(c, "duration_ms") / 1000.0;
}

static void suite_open(FILE *f, const json_t *run, const struct suite *s)
{
	fprintf(f, "  <testsuite name=\"");
	xml_escape(f, s->name);
	fprintf(f,
		"\" tests=\"%zu\" failures=\"%d\" errors=\"%d\" skipped=\"%d\" time=\"%.3f\" "
		"timestamp=\"",
		s->tests, s->failures, s->errors, s->skipped, s->t);
	xml_escape(f, str(run, "start", ""));
	fprintf(f, "\">\n");
}

static void doc_open(FILE *f, const json_t *run, size_t tests)
{
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"natlab ");
	xml_escape(f, str(run, "run_id", ""));
	fprintf(f, "\" tests=\"%zu\">\n", tests);
}

int junit_write(FILE *f, const json_t *run, struct cellsrc *src)
{
	size_t n = cellsrc_count(src);
	uint32_t *of = malloc((n + 1) * sizeof(*of)); /* each cell's suite */
	struct suites ss;
	int ret = suites_init(&ss);

	if (!of || ret < 0) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *c = cellsrc_get(src, i);
		bool added;
		long k;

		if (!c) {
			ret = -EIO;
			goto out;
		}
		k = suites_find(&ss, str(c, "scenario", "?"), &added);
		if (k < 0) {
			json_decref(c);
			ret = -ENOMEM;
			goto out;
		}
		of[i] = (uint32_t)k;
		suite_count(&ss.su[k], c);
		json_decref(c);
	}
	doc_open(f, run, n);
	for (size_t k = 0; k < ss.n; k++) {
		suite_open(f, run, &ss.su[k]);
		for (size_t i = 0; i < n; i++) {
			json_t *c;

			if (of[i] != k)
				continue;
			c = cellsrc_get(src, i);
			if (!c) {
				ret = -EIO;
				goto out;
			}
			testcase(f, c);
			json_decref(c);
		}
		fprintf(f, "  </testsuite>\n");
	}
	fprintf(f, "</testsuites>\n");
	if (ferror(f))
		ret = -EIO;
out:
	suites_free(&ss);
	free(of);
	return ret;
}

char *junit_render(const json_t *run, const json_t *cells)
{
	return cellsrc_render(junit_write, run, cells);
}

/* ---- junit.xml of a running run, as a stream ----
 *
 * A suite's opening tag carries its counts, known only at the end, and its
 * testcases must be together: each testcase is appended as its cell
 * finishes to a part file of its suite (.junit-<k>.part in the run
 * directory), the counts are kept per suite, and the document is written
 * once at the end by copying the parts after their tags. What the run holds
 * is a few words per suite; the same document as junit_write of the run's
 * cells.jsonl (suites in the order they first appear, testcases in
 * finishing order). */

struct junit_stream {
	char dir[4096];
	char prefix[32];
	struct suites ss;
	size_t n;
};

static void part_path(const struct junit_stream *j, size_t k, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s%zu.part", j->dir, j->prefix, k);
}

int junit_stream_new(const char *dir, const char *part_prefix, struct junit_stream **out,
		     struct natlab_err *e)
{
	struct junit_stream *j = calloc(1, sizeof(*j));

	*out = NULL;
	if (!j || suites_init(&j->ss) < 0) {
		free(j);
		return natlab_err_set(e, ENOMEM, "junit.xml");
	}
	snprintf(j->dir, sizeof(j->dir), "%s", dir);
	snprintf(j->prefix, sizeof(j->prefix), "%s", part_prefix);
	*out = j;
	return 0;
}

int junit_stream_add(struct junit_stream *j, const json_t *c, struct natlab_err *e)
{
	char path[4200];
	char *text = NULL;
	size_t len = 0;
	FILE *m;
	bool added;
	long k = suites_find(&j->ss, str(c, "scenario", "?"), &added);
	struct suite *s;
	int ret = 0;

	if (k < 0)
		return natlab_err_set(e, ENOMEM, "junit.xml");
	s = &j->ss.su[k];
	part_path(j, (size_t)k, path, sizeof(path));
	if (added)
		unlink(path); /* a stale part of a run directory used before */
	/* opened once per suite, held for the run: a cell costs a write */
	if (s->part_fd < 0)
		s->part_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (s->part_fd < 0)
		return natlab_err_set(e, errno, "cannot write %s", path);
	m = open_memstream(&text, &len);
	if (!m)
		return natlab_err_set(e, ENOMEM, "junit.xml");
	testcase(m, c);
	if (fclose(m) != 0) {
		free(text);
		return natlab_err_set(e, ENOMEM, "junit.xml");
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = write(s->part_fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			ret = natlab_err_set(e, w < 0 ? errno : EIO, "cannot write %s", path);
			break;
		}
		off += (size_t)w;
	}
	free(text);
	if (ret < 0)
		return ret;
	suite_count(s, c);
	j->n++;
	return 0;
}

int junit_stream_write(FILE *f, const json_t *run, struct junit_stream *j)
{
	char buf[65536];

	doc_open(f, run, j->n);
	for (size_t k = 0; k < j->ss.n; k++) {
		char path[4200];
		int fd;
		ssize_t r;

		suite_open(f, run, &j->ss.su[k]);
		part_path(j, k, path, sizeof(path));
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			fwrite(buf, 1, (size_t)r, f);
		close(fd);
		if (r < 0)
			return -EIO;
		fprintf(f, "  </testsuite>\n");
	}
	fprintf(f, "</testsuites>\n");
	return ferror(f) ? -EIO : 0;
}

void junit_stream_free(struct junit_stream *j)
{
	if (!j)
		return;
	for (size_t k = 0; k < j->ss.n; k++) {
		char path[4200];
		if (j->ss.su[k].part_fd >= 0)
			close(j->ss.su[k].part_fd);
		part_path(j, k, path, sizeof(path));
		unlink(path);
	}
	suites_free(&j->ss);
	free(j);
}

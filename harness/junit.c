/* junit.c - the JUnit XML writer. */
#include "harness/junit.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness/cellsrc.h"
#include "harness/results.h"

void xml_escape(FILE *f, const char *s)
{
	if (!s)
		return;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
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
		default:
			/* XML 1.0 §2.2: only tab, newline and CR below 0x20. */
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				break;
			fputc(c, f);
		}
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
	} else if (strcmp(outcome, "skipped") == 0 || strcmp(outcome, "unsupported") == 0) {
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
 * its opening tag counts is gathered in a first pass. */
struct suite {
	char *name;
	size_t tests;
	int failures, errors, skipped;
	double t;
};

int junit_write(FILE *f, const json_t *run, struct cellsrc *src)
{
	size_t n = cellsrc_count(src);
	uint32_t *of = malloc((n + 1) * sizeof(*of)); /* each cell's suite */
	json_t *names = json_object();		      /* scenario -> suite */
	struct suite *su = NULL;
	size_t ns = 0, cap = 0;
	int ret = 0;

	if (!of || !names) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *c = cellsrc_get(src, i);
		const char *sc, *o;
		json_t *hit;
		struct suite *s;

		if (!c) {
			ret = -EIO;
			goto out;
		}
		sc = str(c, "scenario", "?");
		hit = json_object_get(names, sc);
		if (!hit) {
			if (ns == cap) {
				size_t cap2 = cap ? cap * 2 : 4;
				struct suite *grown = realloc(su, cap2 * sizeof(*su));
				if (!grown) {
					json_decref(c);
					ret = -ENOMEM;
					goto out;
				}
				su = grown;
				cap = cap2;
			}
			memset(&su[ns], 0, sizeof(su[0]));
			su[ns].name = strdup(sc);
			if (!su[ns].name || json_object_set_new_nocheck(
						names, sc, json_integer((json_int_t)ns)) < 0) {
				free(su[ns].name);
				json_decref(c);
				ret = -ENOMEM;
				goto out;
			}
			hit = json_object_get(names, sc);
			ns++;
		}
		of[i] = (uint32_t)json_integer_value(hit);
		s = &su[of[i]];
		o = str(c, "outcome", "error");
		s->tests++;
		s->failures += strcmp(o, "fail") == 0;
		s->errors += strcmp(o, "error") == 0 || strcmp(o, "timeout") == 0;
		s->skipped += strcmp(o, "skipped") == 0 || strcmp(o, "unsupported") == 0;
		s->t += num(c, "duration_ms") / 1000.0;
		json_decref(c);
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"natlab ");
	xml_escape(f, str(run, "run_id", ""));
	fprintf(f, "\" tests=\"%zu\">\n", n);
	for (size_t k = 0; k < ns; k++) {
		fprintf(f, "  <testsuite name=\"");
		xml_escape(f, su[k].name);
		fprintf(
		    f,
		    "\" tests=\"%zu\" failures=\"%d\" errors=\"%d\" skipped=\"%d\" time=\"%.3f\" "
		    "timestamp=\"",
		    su[k].tests, su[k].failures, su[k].errors, su[k].skipped, su[k].t);
		xml_escape(f, str(run, "start", ""));
		fprintf(f, "\">\n");
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
	for (size_t k = 0; k < ns; k++)
		free(su[k].name);
	free(su);
	free(of);
	json_decref(names);
	return ret;
}

char *junit_render(const json_t *run, const json_t *cells)
{
	return cellsrc_render(junit_write, run, cells);
}

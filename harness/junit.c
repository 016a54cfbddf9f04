/* junit.c - the JUnit XML writer. */
#include "harness/junit.h"

#include <stdlib.h>
#include <string.h>

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
	} else if (strcmp(outcome, "skipped") == 0) {
		fprintf(f, "      <skipped message=\"");
		xml_escape(f, msg);
		fprintf(f, "\"/>\n");
	}
	fprintf(f, "    </testcase>\n");
}

char *junit_render(const json_t *run, const json_t *cells)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_t *suites = json_object(); /* scenario -> array of cells, in order */
	const char *name;
	json_t *list;
	size_t i;
	json_t *c;

	if (!f) {
		json_decref(suites);
		return NULL;
	}
	json_array_foreach(cells, i, c)
	{
		const char *sc = str(c, "scenario", "?");
		json_t *l = json_object_get(suites, sc);
		if (!l) {
			l = json_array();
			json_object_set_new(suites, sc, l);
		}
		json_array_append(l, c);
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"natlab ");
	xml_escape(f, str(run, "run_id", ""));
	fprintf(f, "\" tests=\"%zu\">\n", json_array_size(cells));
	json_object_foreach(suites, name, list)
	{
		int failures = 0, errors = 0, skipped = 0;
		double t = 0;

		json_array_foreach(list, i, c)
		{
			const char *o = str(c, "outcome", "error");
			failures += strcmp(o, "fail") == 0;
			errors += strcmp(o, "error") == 0 || strcmp(o, "timeout") == 0;
			skipped += strcmp(o, "skipped") == 0;
			t += num(c, "duration_ms") / 1000.0;
		}
		fprintf(f, "  <testsuite name=\"");
		xml_escape(f, name);
		fprintf(
		    f,
		    "\" tests=\"%zu\" failures=\"%d\" errors=\"%d\" skipped=\"%d\" time=\"%.3f\" "
		    "timestamp=\"",
		    json_array_size(list), failures, errors, skipped, t);
		xml_escape(f, str(run, "start", ""));
		fprintf(f, "\">\n");
		json_array_foreach(list, i, c) testcase(f, c);
		fprintf(f, "  </testsuite>\n");
	}
	fprintf(f, "</testsuites>\n");
	json_decref(suites);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

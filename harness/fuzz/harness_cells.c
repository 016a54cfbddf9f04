/* harness_cells - libFuzzer target: arbitrary cells.jsonl content (as a
 * killed or hand-edited run could leave it) through every reader of cells:
 * the JUnit writer, the HTML report, compare and the terminal summary. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/compare.h"
#include "harness/junit.h"
#include "harness/report.h"
#include "harness/runner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *cells = json_array();
	json_t *run = json_pack("{s:s}", "run_id", "fuzz");
	size_t off = 0;
	struct compare_summary s;
	char *text;
	FILE *null = fopen("/dev/null", "w");

	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = nl ? (size_t)(nl - (data + off)) : size - off;
		json_t *c = json_loadb((const char *)data + off, len, 0, NULL);

		if (json_is_object(c))
			json_array_append_new(cells, c);
		else
			json_decref(c);
		off += len + 1;
	}
	text = junit_render(run, cells);
	free(text);
	text = report_render(run, cells);
	free(text);
	compare_cells(cells, cells, null, &s);
	runner_summary(null, cells);
	fclose(null);
	json_decref(cells);
	json_decref(run);
	return 0;
}

/* harness_cells - libFuzzer target: arbitrary cells.jsonl content (as a
 * killed or hand-edited run could leave it) through every reader of cells:
 * the JUnit writer, the HTML report, compare and the terminal summary, and
 * cells.jsonl read back from a file one cell at a time (cellsrc), whose
 * reports must equal those drawn from the same cells held in memory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness/cellsrc.h"
#include "harness/compare.h"
#include "harness/junit.h"
#include "harness/report.h"
#include "harness/runner.h"

static char *render(const json_t *run, struct cellsrc *src,
		    int (*fn)(FILE *, const json_t *, struct cellsrc *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	if (fn(f, run, src) < 0) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	return buf;
}

/* The same bytes as a file: when cellsrc accepts it (every line a JSON
 * object but a torn last one), it holds exactly the cells parsed above. */
static void from_file(const uint8_t *data, size_t size, const json_t *run, const json_t *cells)
{
	struct cellsrc *src = NULL;
	char path[64];
	int fd = memfd_create("cells.jsonl", MFD_CLOEXEC);
	char *a, *b;

	if (fd < 0)
		return;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (cellsrc_file_open(path, &src, NULL) == 0) {
		if (cellsrc_count(src) != json_array_size(cells))
			abort();
		a = junit_render(run, cells);
		b = render(run, src, junit_write);
		if (a && b && strcmp(a, b) != 0)
			abort();
		free(a);
		free(b);
		a = report_render(run, cells);
		b = render(run, src, report_write_all);
		if (a && b && strcmp(a, b) != 0)
			abort();
		free(a);
		free(b);
	}
	cellsrc_free(src);
	close(fd);
}

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
	from_file(data, size, run, cells);
	fclose(null);
	json_decref(cells);
	json_decref(run);
	return 0;
}

/* harness_ladder - libFuzzer target: ladder_svg (harness/ladder.h) on any
 * cell record. The first two bytes choose the byte budget (2048 to about
 * 264 KiB), the rest is the cell's JSON. Whatever the record holds, a
 * diagram is within the budget and well-formed XML (harness/fuzz/
 * xmlcheck.h), or there is none, with errno saying why. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/fuzz/xmlcheck.h"
#include "harness/ladder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t max;
	json_t *cell;
	char *svg;

	if (size < 2)
		return 0;
	max = LADDER_MIN_BYTES + (((size_t)data[0] << 8) | data[1]) * 4;
	cell = json_loadb((const char *)data + 2, size - 2, JSON_DECODE_ANY, NULL);
	if (!cell)
		return 0;
	errno = 0;
	svg = ladder_svg(cell, max);
	if (svg) {
		const char *why = xmlcheck(svg);
		if (strlen(svg) > max || why) {
			fprintf(stderr, "ladder of %zu bytes for a budget of %zu: %s\n",
				strlen(svg), max, why ? why : "over budget");
			abort();
		}
		free(svg);
	} else if (errno != ENOENT && errno != ENOSPC && errno != ENOMEM) {
		fprintf(stderr, "ladder_svg NULL with errno %d\n", errno);
		abort();
	}
	json_decref(cell);
	return 0;
}

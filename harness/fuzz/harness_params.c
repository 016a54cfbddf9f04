/* harness_params - libFuzzer target: the scenario parameter parser. The
 * input is a `natlab run` command line (words separated by newlines)
 * through runopts_parse, then its -p overrides through the scenario's cell
 * expansion (typed coercion, sweeps "a,b", pins) against a fixed scenario
 * with a string, a number and a boolean parameter. Every refusal must
 * carry a message; every accepted line must expand to well-formed cells. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/luanet.h"
#include "harness/runopts.h"
#include "harness/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char scenario_text[] =
    "scenario {\n"
    "  name = 'p',\n"
    "  description = 'fuzzed parameters',\n"
    "  params = { nat = { description = 'a string', default = 'easy' },\n"
    "             port = { description = 'a number', default = 3478 },\n"
    "             tcp = { description = 'a boolean', default = false } },\n"
    "  matrix = { nat = { 'easy', 'hard' } },\n"
    "  expect = 'srflx',\n"
    "  run = function(net, p) end,\n"
    "}\n";

static struct luanet_ctx ctx;
static struct scenario *scn;

static struct scenario *scenario_once(void)
{
	char path[] = "/tmp/natlab-fuzz-params-XXXXXX.lua";
	struct natlab_err e = {""};
	int fd;

	if (scn)
		return scn;
	fd = mkstemps(path, 4);
	if (fd < 0 ||
	    write(fd, scenario_text, strlen(scenario_text)) != (ssize_t)strlen(scenario_text))
		abort();
	close(fd);
	luanet_ctx_init(&ctx);
	if (scenario_load(path, &ctx, &scn, &e) < 0) {
		fprintf(stderr, "harness_params: %s\n", e.msg);
		abort();
	}
	unlink(path);
	return scn;
}

/* Bound the expansion, not the parser: a sweep of thousands of values
 * over three axes is a legitimate (if silly) command line whose cells
 * would only measure the allocator. */
static int too_wide(const char *v)
{
	int commas = 0;

	for (; *v; v++)
		commas += *v == ',';
	return commas > 8;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scenario *s = scenario_once();
	char *buf, *argv[RUNOPTS_MAX * 2 + 2];
	int argc = 0;
	struct runopts o;
	struct natlab_err e = {""};
	json_t *ov, *cells = NULL;
	size_t i, n;

	if (size > 4096)
		return 0;
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (i = 0; i < size; i++)
		if (buf[i] == '\0')
			buf[i] = '\n'; /* argv words cannot hold a NUL */
	argv[argc++] = "run";
	for (char *w = buf; argc < (int)(sizeof(argv) / sizeof(argv[0])) - 1;) {
		char *end = w + strcspn(w, "\n");
		int last = *end == '\0';

		*end = '\0';
		argv[argc++] = w;
		if (last || end == buf + size)
			break;
		w = end + 1;
	}
	argv[argc] = NULL;

	if (runopts_parse(argc, argv, &o, &e) < 0) {
		if (e.msg[0] == '\0')
			abort(); /* every refusal says why */
		goto out;
	}
	ov = json_object();
	for (i = 0; i < o.n_params; i++) {
		if (too_wide(o.param_values[i])) {
			json_decref(ov);
			goto out;
		}
		json_object_set_new(ov, o.param_keys[i], json_string(o.param_values[i]));
	}
	if (!ov || json_object_size(ov) > o.n_params)
		abort();
	if (scenario_cells(s, ov, o.trials > 3 ? 3 : o.trials, &cells, &e) < 0) {
		json_decref(ov);
		if (e.msg[0] == '\0')
			abort();
		goto out;
	}
	json_decref(ov);
	n = json_array_size(cells);
	if (n == 0)
		abort();
	for (i = 0; i < n; i++) {
		json_t *c = json_array_get(cells, i);
		const char *id = json_string_value(json_object_get(c, "id"));
		json_t *p = json_object_get(c, "params");

		if (!id || strncmp(id, "p", 1) != 0 || !json_is_object(p))
			abort();
		if (!json_is_number(json_object_get(p, "port")) ||
		    !json_is_boolean(json_object_get(p, "tcp")))
			abort(); /* coercion gave the declared types or refused */
		(void)runopts_selected(&o, id,
				       (unsigned)json_integer_value(json_object_get(c, "trial")));
	}
	json_decref(cells);
out:
	free(buf);
	return 0;
}

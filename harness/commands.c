/* commands.c - run, list, exec, shell, report, merge, compare. */
#include "harness/commands.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "emu/node.h"
#include "emu/sandbox.h"
#include "harness/artifacts.h"
#include "harness/cellplan.h"
#include "harness/cellsrc.h"
#include "harness/cli.h"
#include "harness/compare.h"
#include "harness/luanet.h"
#include "harness/pace.h"
#include "harness/report.h"
#include "harness/results.h"
#include "harness/runner.h"
#include "harness/runopts.h"
#include "harness/scenario.h"
#include "harness/summary.h"

#ifndef NATLAB_VERSION
#define NATLAB_VERSION "0.1.0"
#endif

static int wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	}
	return 0;
}

static json_t *overrides_of(const struct runopts *o)
{
	json_t *ov = json_object();

	for (unsigned i = 0; i < o->n_params; i++)
		json_object_set_new(ov, o->param_keys[i], json_string(o->param_values[i]));
	return ov;
}

/* ---- run ---- */

static const char run_usage[] =
    "usage: natlab run SCENARIO... [-p key=value ...] [--trials N] [--jobs N] [--seed S]\n"
    "                  [--out DIR] [--filter PATTERN] [--capture] [--shard K/N] [--timeout SEC]\n\n"
    "Runs every cell of each SCENARIO (a path or a name found by 'natlab list'), each\n"
    "in its own sandbox, and writes DIR/<run-id>/ (default results/): run.json,\n"
    "cells.jsonl, junit.xml, report.html, logs/. DIR/latest points at it.\n\n"
    "  -p key=value    set a scenario parameter; key=a,b sweeps the values\n"
    "  --trials N      run each cell N times (default 1)\n"
    "  --jobs N|auto   cells run in parallel (default auto: as many as the cells'\n"
    "                  measured CPU and memory allow here, at most 3 per core)\n"
    "  --seed S        the run seed; each cell's seed derives from it and the cell id\n"
    "  --filter GLOB   only cells whose id matches (e.g. 'smoke/nat=hard*')\n"
    "  --shard K/N     only the K-th of N deterministic shards (CI); join with 'natlab merge'\n"
    "  --capture       capture every node's packets into pcap/<cell>/<node>.pcap\n"
    "  --timeout SEC   per-cell deadline instead of the scenario's own\n\n"
    "Exit status: 0 every cell passed, was skipped or unsupported, 1 some cell failed,\n"
    "timed out or errored, 2 usage or environment error (or the run was interrupted).\n";

static void run_id_make(const struct runopts *o, char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d%02d%02d-%02d%02d%02d-%d", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)getpid());
	if (o->shard_n > 1) {
		size_t n = strlen(buf);
		snprintf(buf + n, len - n, "-shard%uof%u", o->shard_k, o->shard_n);
	}
}

static json_t *run_meta(const struct runopts *o)
{
	struct utsname u;
	char kernel[300], host[256] = "";
	json_t *scen = json_array();
	json_t *meta;

	uname(&u);
	gethostname(host, sizeof(host) - 1);
	snprintf(kernel, sizeof(kernel), "%s %s %s", u.sysname, u.release, u.version);
	for (unsigned i = 0; i < o->n_scenarios; i++)
		json_array_append_new(scen, json_string(o->scenarios[i]));
	meta =
	    json_pack("{s:s,s:s,s:s,s:s,s:I,s:{s:o,s:o,s:i,s:i,s:s?,s:b,s:s?}}", "natlab_version",
		      NATLAB_VERSION, "kernel", kernel, "machine", u.machine, "hostname", host,
		      "seed", (json_int_t)(o->seed & ((1ull << 53) - 1)), "options", "scenarios",
		      scen, "params", overrides_of(o), "trials", o->trials, "jobs", o->jobs,
		      "filter", o->filter, "capture", o->capture, "shard", NULL);
	if (o->jobs == 0)
		json_object_set_new(json_object_get(meta, "options"), "jobs", json_string("auto"));
	if (o->shard_n > 1) {
		char s[32];
		snprintf(s, sizeof(s), "%u/%u", o->shard_k, o->shard_n);
		json_object_set_new(json_object_get(meta, "options"), "shard", json_string(s));
	}
	return meta;
}

/* Load every scenario and plan its cells (cellplan.h: matrix points kept,
 * trials made on demand, --filter and --shard applied). Each scenario stays
 * loaded in @loaded[i] (caller frees with loaded_free): the cells' children
 * are forked from this process and use its Lua state instead of loading
 * their own. With several scenarios, each -p goes to the scenarios that
 * declare it, and one that none declares is an error. */
static int collect_cells(const struct runopts *o, struct cellplan *out, const char *cmd,
			 struct runner_scenario *loaded)
{
	struct natlab_err e = {""};
	json_t *ov = overrides_of(o);
	json_t *used = json_object();
	int ret = 0;

	for (unsigned i = 0; i < o->n_scenarios && ret == 0; i++) {
		char path[PATH_MAX];
		struct luanet_ctx *ctx = malloc(sizeof(*ctx));
		struct scenario *s = NULL;
		json_t *cells = NULL, *mine = NULL;

		if (!ctx) {
			fprintf(stderr, "natlab %s: no memory\n", cmd);
			ret = -ENOMEM;
			break;
		}
		luanet_ctx_init(ctx);
		loaded[i].ctx = ctx;
		ret = scenario_find(o->scenarios[i], path, sizeof(path), &e);
		if (ret == 0)
			ret = scenario_load(path, ctx, &s, &e);
		loaded[i].s = s;
		if (ret == 0 && o->n_scenarios > 1) {
			json_t *info = scenario_info(s);
			json_t *params = json_object_get(info, "params");
			const char *key;
			json_t *v;

			mine = json_object();
			json_object_foreach(ov, key, v)
			{
				if (json_object_get(params, key)) {
					json_object_set(mine, key, v);
					json_object_set_new(used, key, json_true());
				}
			}
			json_decref(info);
		}
		if (ret == 0)
			ret = scenario_cells(s, mine ? mine : ov, 1, &cells, &e);
		if (ret < 0)
			fprintf(stderr, "natlab %s: %s\n", cmd, e.msg);
		else if (cellplan_add(out, cells, path, &loaded[i]) < 0)
			ret = -ENOMEM;
		json_decref(mine);
		json_decref(cells);
	}
	if (ret == 0 && o->n_scenarios > 1) {
		const char *key;
		json_t *v;

		json_object_foreach(ov, key, v)
		{
			if (!json_object_get(used, key)) {
				fprintf(stderr,
					"natlab %s: no scenario given has a param '%s' ('natlab "
					"list SCENARIO' shows them)\n",
					cmd, key);
				ret = -EINVAL;
				break;
			}
		}
	}
	json_decref(used);
	json_decref(ov);
	return ret;
}

static void loaded_free(struct runner_scenario *loaded, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		scenario_free(loaded[i].s); /* before its context, as in a cell */
		if (loaded[i].ctx) {
			luanet_ctx_teardown(loaded[i].ctx);
			free(loaded[i].ctx);
		}
		loaded[i].s = NULL;
		loaded[i].ctx = NULL;
	}
}

/* What the run spent, for run.json's "resources": the cells (their process
 * trees, from wait4), the parent itself (getrusage, /proc/self/status
 * VmHWM: the run's own process, which must not grow with the cells). */
static json_t *resources_of(const struct runner_stats *st, int64_t start_ms)
{
	struct rusage ru;
	char line[128];
	unsigned long long hwm = 0;
	FILE *f = fopen("/proc/self/status", "re");
	double wall = (double)(luanet_now_ms() - start_ms) / 1000.0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %llu", &hwm) == 1)
			break;
	if (f)
		fclose(f);
	getrusage(RUSAGE_SELF, &ru);
	return json_pack(
	    "{s:f,s:f,s:f,s:f,s:I,s:I,s:f,s:I,s:s}", "wall_s", wall, "machine_busy_s",
	    st->machine_busy_s, "cells_cpu_s",
	    (double)st->cells_cpu_us / 1e6, "parent_cpu_s",
	    (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		(double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
	    "parent_peak_rss_kb", (json_int_t)hwm, "cell_maxrss_kb", (json_int_t)st->cell_maxrss_kb,
	    "in_flight_mean", st->in_flight_mean, "in_flight_max", (json_int_t)st->in_flight_max,
	    "jobs", st->paced ? "auto" : "fixed");
}

int cmd_run(int argc, char **argv)
{
	struct runopts o;
	struct natlab_err e = {""};
	struct results *res = NULL;
	struct runner_stats st;
	struct summary *sum = NULL;
	int64_t run_start_ms = 0;
	struct cellplan *cells = NULL;
	struct runner_scenario loaded[RUNOPTS_MAX] = {{NULL, NULL}}; /* kept loaded: see collect_cells */
	json_t *meta = NULL;
	char run_id[128], jobs[96];
	int status = NATLAB_EXIT_USAGE;
	bool broken = false; /* results could not be written */

	if (runopts_parse(argc, argv, &o, &e) < 0) {
		fprintf(stderr, "natlab run: %s\n", e.msg);
		goto out;
	}
	if (o.help) {
		fputs(run_usage, stdout);
		status = NATLAB_EXIT_OK;
		goto out;
	}
	if (o.n_scenarios == 0) {
		fprintf(stderr, "natlab run: no scenario given; 'natlab list' shows them, e.g. "
				"'natlab run smoke'\n");
		goto out;
	}
	cells = cellplan_new(&o);
	if (!cells || collect_cells(&o, cells, "run", loaded) < 0)
		goto out;
	if (cellplan_count(cells) == 0 && o.filter) {
		fprintf(stderr,
			"natlab run: no cell id matches --filter '%s'; 'natlab list SCENARIO' "
			"shows the cells\n",
			o.filter);
		goto out;
	}
	if (runner_sandbox_check(&e) < 0) {
		fprintf(stderr, "natlab run: %s\n", e.msg);
		goto out;
	}
	meta = run_meta(&o);
	json_object_set_new(meta, "cells_total", json_integer((json_int_t)cellplan_count(cells)));
	run_id_make(&o, run_id, sizeof(run_id));
	if (results_open(o.out, run_id, meta, &res, &e) < 0) {
		fprintf(stderr, "natlab run: %s (choose another place with --out DIR)\n", e.msg);
		goto out;
	}
	if (o.jobs) {
		snprintf(jobs, sizeof(jobs), "%u at a time", o.jobs);
	} else {
		long nc = sysconf(_SC_NPROCESSORS_ONLN);
		snprintf(jobs, sizeof(jobs), "up to %u at a time as the machine allows",
			 pace_ceiling(nc > 0 ? (unsigned)nc : 1));
	}
	printf("natlab: %zu cells, %s, seed %llu, results in %s\n", cellplan_count(cells), jobs,
	       (unsigned long long)(o.seed & ((1ull << 53) - 1)), results_dir(res));
	fflush(stdout);
	run_start_ms = luanet_now_ms();
	/* A run that cannot record its results (a full disk) stops: say so,
	 * how far it got, and exit 2, never 0 with cells silently missing. */
	sum = summary_new(); /* without it (no memory) the run goes on, unsummarised */
	if (runner_run(&o, cells, res, stdout, sum, &st, &e) < 0) {
		fprintf(stderr, "natlab run: %s; stopped after %u of %u cells\n", e.msg, st.done,
			st.total);
		broken = true;
	}
	if (results_close(res, resources_of(&st, run_start_ms), &e) < 0) {
		fprintf(stderr, "natlab run: %s\n", e.msg);
		broken = true;
	}
	if (sum)
		summary_print(sum, stdout);
	if (st.done)
		printf("\ncells in flight: mean %.1f, max %u%s; each cell used %.3f core-s "
		       "(its whole process tree), the largest process %llu kB\n",
		       st.in_flight_mean, st.in_flight_max, st.paced ? " (paced)" : "",
		       (double)st.cells_cpu_us / 1e6 / st.done,
		       (unsigned long long)st.cell_maxrss_kb);
	printf("\n%u cells: %u passed, %u failed, %u errors or timeouts, %u skipped, %u unsupported "
	       "in %.1f s wall time\nreport: %s/report.html\n",
	       st.done, st.passed, st.failed, st.errors, st.skipped, st.unsupported,
	       (double)(luanet_now_ms() - run_start_ms) / 1000.0, results_dir(res));
	if (st.interrupted) {
		fprintf(
		    stderr,
		    "natlab run: interrupted by signal %d; %u of %u cells finished and are kept\n",
		    st.interrupted, st.done, st.total);
		status = NATLAB_EXIT_USAGE;
	} else if (broken) {
		fprintf(stderr,
			"natlab run: the results in %s are incomplete (cells.jsonl holds the cells "
			"recorded before the error); free space or choose another place with --out "
			"DIR\n",
			results_dir(res));
		status = NATLAB_EXIT_USAGE;
	} else {
		status = st.failed || st.errors ? NATLAB_EXIT_FAIL : NATLAB_EXIT_OK;
	}
out:
	summary_free(sum);
	results_free(res);
	json_decref(meta);
	cellplan_free(cells);
	loaded_free(loaded, RUNOPTS_MAX);
	return status;
}

/* ---- list ---- */

/* The scenarios of @dir into @found ({key, name, description, path} or
 * {key, broken}); a file name in @seen (an earlier directory had it) is
 * left out, as scenario_find would never reach it. A file that runs
 * without declaring a scenario is a data file (scenarios/matrix_expected.lua,
 * the table matrix.lua loads) and is not listed; one that fails to load is
 * listed with the reason. */
static void list_dir(const char *dir, json_t *seen, json_t *found)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char path[PATH_MAX];
		struct luanet_ctx ctx;
		struct scenario *s = NULL;
		struct natlab_err e = {""};
		int ret;

		if (n < 5 || strcmp(de->d_name + n - 4, ".lua") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (json_object_get(seen, de->d_name))
			continue;
		json_object_set_new(seen, de->d_name, json_true());
		luanet_ctx_init(&ctx);
		ret = scenario_load(path, &ctx, &s, &e);
		if (ret == 0) {
			json_t *info = scenario_info(s);
			json_object_set_new(
			    info, "key",
			    json_string(json_string_value(json_object_get(info, "name"))));
			json_object_set_new(info, "path", json_string(path));
			json_array_append_new(found, info);
		} else if (ret != -ENOMSG) {
			json_array_append_new(
			    found, json_pack("{s:s,s:s}", "key", de->d_name, "broken", e.msg));
		}
		scenario_free(s);
		luanet_ctx_teardown(&ctx);
	}
	closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "key")),
		      json_string_value(json_object_get(*(json_t *const *)b, "key")));
}

/* The entries of @found by name (readdir's order is the disk's). */
static void list_print(json_t *found)
{
	size_t n = json_array_size(found);
	json_t **v = calloc(n + 1, sizeof(*v));

	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(found, i);
	qsort(v, n, sizeof(*v), cmp_key);
	for (size_t i = 0; i < n; i++) {
		const char *key = json_string_value(json_object_get(v[i], "key"));
		const char *broken = json_string_value(json_object_get(v[i], "broken"));

		if (broken)
			printf("%-20s cannot load: %s\n", key, broken);
		else
			printf("%-20s %s\n%-20s   (%s)\n", key,
			       json_string_value(json_object_get(v[i], "description")), "",
			       json_string_value(json_object_get(v[i], "path")));
	}
	free(v);
}

int cmd_list(int argc, char **argv)
{
	struct natlab_err e = {""};
	char path[PATH_MAX];
	struct luanet_ctx ctx;
	struct scenario *s = NULL;
	json_t *info, *cells = NULL, *ov;
	const char *k;
	json_t *v;
	int ret;

	if (wants_help(argc, argv) || argc > 2) {
		fprintf(wants_help(argc, argv) ? stdout : stderr,
			"usage: natlab list [SCENARIO]\n\nWithout SCENARIO: the scenarios found in "
			"$NATLAB_SCENARIO_PATH, "
			"./scenarios\nand the source tree. With one: its parameters (description, "
			"default), its\n"
			"matrix and the cells it expands to.\n");
		return wants_help(argc, argv) ? NATLAB_EXIT_OK : NATLAB_EXIT_USAGE;
	}
	if (argc == 1) {
		json_t *seen = json_object(), *found = json_array();
		const char *env = getenv("NATLAB_SCENARIO_PATH");
		if (env) {
			char dirs[2048];
			char *save = NULL;
			snprintf(dirs, sizeof(dirs), "%s", env);
			for (char *d = strtok_r(dirs, ":", &save); d;
			     d = strtok_r(NULL, ":", &save))
				list_dir(d, seen, found);
		}
		list_dir("scenarios", seen, found);
		list_dir(NATLAB_SOURCE_SCENARIOS, seen, found);
		if (json_array_size(found) == 0)
			printf("no scenarios found; set NATLAB_SCENARIO_PATH or run from the "
			       "source tree\n");
		list_print(found);
		json_decref(found);
		json_decref(seen);
		return NATLAB_EXIT_OK;
	}
	if (scenario_find(argv[1], path, sizeof(path), &e) < 0) {
		fprintf(stderr, "natlab list: %s\n", e.msg);
		return NATLAB_EXIT_USAGE;
	}
	luanet_ctx_init(&ctx);
	ret = scenario_load(path, &ctx, &s, &e);
	if (ret < 0) {
		fprintf(stderr, "natlab list: %s\n", e.msg);
		luanet_ctx_teardown(&ctx);
		return NATLAB_EXIT_USAGE;
	}
	info = scenario_info(s);
	printf("%s: %s\n(%s)\n\nparameters:\n", json_string_value(json_object_get(info, "name")),
	       json_string_value(json_object_get(info, "description")), path);
	{
		/* in name order: Lua tables have none of their own */
		json_t *params = json_object_get(info, "params");
		const char *names[RUNOPTS_MAX];
		size_t n = 0;

		json_object_foreach(params, k, v) if (n < RUNOPTS_MAX) names[n++] = k;
		qsort(names, n, sizeof(*names), cmp_str);
		for (size_t i = 0; i < n; i++) {
			json_t *p = json_object_get(params, names[i]);
			char *d = json_dumps(json_object_get(p, "default"), JSON_ENCODE_ANY);
			printf("  %-16s %s (default %s)\n", names[i],
			       json_string_value(json_object_get(p, "description")), d);
			free(d);
		}
	}
	if (json_object_size(json_object_get(info, "matrix"))) {
		/* axes in name order too, as the cell ids name them */
		json_t *matrix = json_object_get(info, "matrix");
		const char *names[RUNOPTS_MAX];
		size_t n = 0;

		printf("\nmatrix:\n");
		json_object_foreach(matrix, k, v) if (n < RUNOPTS_MAX) names[n++] = k;
		qsort(names, n, sizeof(*names), cmp_str);
		for (size_t i = 0; i < n; i++) {
			char *d = json_dumps(json_object_get(matrix, names[i]),
					     JSON_ENCODE_ANY | JSON_COMPACT);
			printf("  %-16s %s\n", names[i], d);
			free(d);
		}
	}
	ov = json_object();
	if (scenario_cells(s, ov, 1, &cells, &e) == 0) {
		size_t i;
		printf("\ncells (%zu):\n", json_array_size(cells));
		json_array_foreach(cells, i, v)
		    printf("  %s\n", json_string_value(json_object_get(v, "id")));
	} else {
		printf("\ncannot expand the cells: %s\n", e.msg);
	}
	json_decref(ov);
	json_decref(cells);
	json_decref(info);
	scenario_free(s);
	luanet_ctx_teardown(&ctx);
	return NATLAB_EXIT_OK;
}

/* ---- exec, shell ---- */

/* In the sandbox: build the network of @scenario for @o's params and run
 * @cmd in @node with the terminal's stdio; returns its exit status. */
static int exec_in_lab(const char *cmdname, const struct runopts *o, const char *scen,
		       const char *node, char **cmd)
{
	struct natlab_err e = {""};
	enum emu_sandbox_mode mode;
	char path[PATH_MAX];
	struct luanet_ctx ctx;
	struct scenario *s = NULL;
	json_t *ov = overrides_of(o), *cells = NULL;
	struct emu_node *n;
	struct emu_spawn_opts so = {0, 1, 2, NULL, NULL, false};
	pid_t pid;
	int status = 0, ret;

	luanet_ctx_init(&ctx);
	if (scenario_find(scen, path, sizeof(path), &e) < 0) {
		fprintf(stderr, "natlab %s: %s\n", cmdname, e.msg);
		ret = NATLAB_EXIT_USAGE;
		goto out;
	}
	if (emu_sandbox_enter(&mode, &e) < 0) {
		fprintf(stderr, "natlab %s: %s\n", cmdname, e.msg);
		ret = NATLAB_EXIT_USAGE;
		goto out;
	}
	if (scenario_load(path, &ctx, &s, &e) < 0 || scenario_cells(s, ov, 1, &cells, &e) < 0) {
		fprintf(stderr, "natlab %s: %s\n", cmdname, e.msg);
		ret = NATLAB_EXIT_USAGE;
		goto out;
	}
	if (json_array_size(cells) > 1)
		fprintf(stderr,
			"natlab %s: the scenario has %zu cells; building %s (pin others with -p)\n",
			cmdname, json_array_size(cells),
			json_string_value(json_object_get(json_array_get(cells, 0), "id")));
	if (scenario_build(s, json_object_get(json_array_get(cells, 0), "params"), &e) < 0) {
		fprintf(stderr, "natlab %s: building the network: %s\n", cmdname, e.msg);
		ret = NATLAB_EXIT_USAGE;
		goto out;
	}
	n = luanet_node_find(&ctx, node);
	if (!n) {
		fprintf(stderr, "natlab %s: the scenario has no node '%s'; it has:", cmdname, node);
		for (unsigned i = 0; i < ctx.n_nodes; i++)
			fprintf(stderr, " %s", emu_node_name(ctx.nodes[i]));
		fprintf(stderr, "\n");
		ret = NATLAB_EXIT_USAGE;
		goto out;
	}
	if (emu_node_spawn(n, cmd, &so, &pid, &e) < 0) {
		fprintf(stderr, "natlab %s: %s\n", cmdname, e.msg);
		ret = NATLAB_EXIT_USAGE;
		goto out;
	}
	/* The command runs in its own process group: give it the terminal so
	 * an interactive shell can read from it. */
	if (isatty(0)) {
		signal(SIGTTOU, SIG_IGN);
		tcsetpgrp(0, pid);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (isatty(0))
		tcsetpgrp(0, getpgrp());
	ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
out:
	json_decref(ov);
	json_decref(cells);
	scenario_free(s);
	luanet_ctx_teardown(&ctx);
	return ret;
}

int cmd_exec(int argc, char **argv)
{
	struct runopts o;
	struct natlab_err e = {""};
	int dd = -1;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			dd = i;
			break;
		}
	if (wants_help(argc, argv)) {
		printf(
		    "usage: natlab exec SCENARIO [-p key=value ...] NODE -- COMMAND [ARGS...]\n\n"
		    "Builds SCENARIO's network (its servers running), runs COMMAND inside NODE "
		    "with\n"
		    "its output streamed here, tears the lab down and exits with COMMAND's "
		    "status.\n"
		    "Example: natlab exec smoke client -- ping -c1 203.0.113.1\n");
		return NATLAB_EXIT_OK;
	}
	if (dd < 0 || dd + 1 >= argc) {
		fprintf(stderr, "natlab exec: give the command after '--': natlab exec SCENARIO "
				"NODE -- COMMAND\n");
		return NATLAB_EXIT_USAGE;
	}
	if (runopts_parse(dd, argv, &o, &e) < 0) {
		fprintf(stderr, "natlab exec: %s\n", e.msg);
		return NATLAB_EXIT_USAGE;
	}
	if (o.n_scenarios != 2) {
		fprintf(stderr, "natlab exec: expected SCENARIO and NODE before '--'\n");
		return NATLAB_EXIT_USAGE;
	}
	return exec_in_lab("exec", &o, o.scenarios[0], o.scenarios[1], argv + dd + 1);
}

int cmd_shell(int argc, char **argv)
{
	struct runopts o;
	struct natlab_err e = {""};
	const char *sh = getenv("SHELL");
	char *cmd[3] = {(char *)(sh && *sh ? sh : "/bin/sh"), "-i", NULL};

	if (wants_help(argc, argv)) {
		printf("usage: natlab shell SCENARIO [-p key=value ...] NODE\n\n"
		       "Builds SCENARIO's network and opens an interactive $SHELL inside NODE; the "
		       "lab\n"
		       "is torn down when the shell exits.\n");
		return NATLAB_EXIT_OK;
	}
	if (runopts_parse(argc, argv, &o, &e) < 0) {
		fprintf(stderr, "natlab shell: %s\n", e.msg);
		return NATLAB_EXIT_USAGE;
	}
	if (o.n_scenarios != 2) {
		fprintf(
		    stderr,
		    "natlab shell: expected SCENARIO and NODE (e.g. natlab shell smoke client)\n");
		return NATLAB_EXIT_USAGE;
	}
	return exec_in_lab("shell", &o, o.scenarios[0], o.scenarios[1], cmd);
}

/* ---- report, merge, compare ---- */

/* Does @src hold a cell with id @id? */
static bool cells_have_id(struct cellsrc *src, const char *id)
{
	bool found = false;

	for (size_t i = 0; i < cellsrc_count(src) && !found; i++) {
		json_t *c = cellsrc_get(src, i);
		const char *cid = json_string_value(json_object_get(c, "id"));
		found = cid && strcmp(cid, id) == 0;
		json_decref(c);
	}
	return found;
}

int cmd_report(int argc, char **argv)
{
	struct natlab_err e = {""};
	struct report_opts ro = {NULL};
	char path[PATH_MAX];
	struct cellsrc *src = NULL;
	const char *dir = NULL;
	json_t *run;
	size_t n;
	bool bad = false;

	for (int i = 1; i < argc && !wants_help(argc, argv); i++) {
		if (strcmp(argv[i], "--ladder") == 0 && i + 1 < argc && argv[i + 1][0])
			ro.ladder = argv[++i];
		else if (strncmp(argv[i], "--ladder=", 9) == 0 && argv[i][9])
			ro.ladder = argv[i] + 9;
		else if (argv[i][0] != '-' && !dir)
			dir = argv[i];
		else
			bad = true;
	}
	if (wants_help(argc, argv) || bad || !dir) {
		fprintf(
		    wants_help(argc, argv) ? stdout : stderr,
		    "usage: natlab report DIR [--ladder all|CELL-ID]\n\nRe-renders DIR/junit.xml, "
		    "DIR/report.html (the index) and DIR/report/ (each cell's\ndetails) from "
		    "DIR/run.json and DIR/cells.jsonl (also for a run that was killed\nhalf-way). "
		    "Cells that failed get a ladder diagram; --ladder draws one for every\ncell "
		    "(all) or for the trials of one cell id as well.\n");
		return wants_help(argc, argv) ? NATLAB_EXIT_OK : NATLAB_EXIT_USAGE;
	}
	/* one cell in memory at a time: a run of any size can be redrawn */
	if (results_load_run(dir, &run, &e) < 0) {
		fprintf(stderr, "natlab report: %s\n", e.msg);
		return NATLAB_EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "%s/cells.jsonl", dir);
	if (cellsrc_file_open(path, &src, &e) < 0) {
		fprintf(stderr, "natlab report: %s\n", e.msg);
		json_decref(run);
		return NATLAB_EXIT_USAGE;
	}
	if (ro.ladder && strcmp(ro.ladder, "all") != 0 && !cells_have_id(src, ro.ladder)) {
		fprintf(stderr,
			"natlab report: --ladder %s: no cell with that id in %s (give \"all\" or "
			"an id as report.html and cells.jsonl spell it, e.g. "
			"matrix/left=easy,right=hard)\n",
			ro.ladder, path);
		cellsrc_free(src);
		json_decref(run);
		return NATLAB_EXIT_USAGE;
	}
	if (results_render_opts(dir, run, &ro, &e) < 0) {
		fprintf(stderr, "natlab report: %s\n", e.msg);
		cellsrc_free(src);
		json_decref(run);
		return NATLAB_EXIT_USAGE;
	}
	n = cellsrc_count(src);
	cellsrc_free(src);
	printf("%s/report.html (%zu cells)\n", dir, n);
	json_decref(run);
	return NATLAB_EXIT_OK;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* One input of natlab merge, its cells streamed into @cells (the merged
 * cells.jsonl being written) one at a time: its files carried along, a cell
 * already taken from an earlier input skipped with a warning. What stays
 * per cell is its key in @keys. */
static int merge_one(const char *dir, const char *out, FILE *cells, json_t *keys, json_t *carried,
		     struct artifacts_stats *ast, size_t *n, unsigned *passed, struct natlab_err *e)
{
	char path[PATH_MAX];
	struct cellsrc *src = NULL;
	int ret;

	snprintf(path, sizeof(path), "%s/cells.jsonl", dir);
	ret = cellsrc_file_open(path, &src, e);
	for (size_t i = 0; ret == 0 && i < cellsrc_count(src); i++) {
		json_t *c = cellsrc_get(src, i);
		char key[1024];

		if (!c) {
			ret = natlab_err_set(e, EIO, "cannot read %s", path);
			break;
		}
		snprintf(key, sizeof(key), "%s#%lld", json_string_value(json_object_get(c, "id")),
			 (long long)json_integer_value(json_object_get(c, "trial")));
		if (json_object_get(keys, key)) {
			fprintf(stderr,
				"natlab merge: warning: cell %s is in more than one input; "
				"keeping the first\n",
				key);
		} else {
			json_object_set_new(keys, key, json_true());
			/* the files first: a report whose links resolve, or no report */
			ret = artifacts_carry(dir, out, c, carried, ast, e);
			if (ret == 0 && (json_dumpf(c, cells, JSON_COMPACT | JSON_SORT_KEYS) < 0 ||
					 fputc('\n', cells) == EOF))
				ret = natlab_err_set(e, errno ? errno : EIO, "cannot write %s/cells.jsonl",
						     out);
			(*n)++;
			*passed += (unsigned)results_cell_passed(c);
		}
		json_decref(c);
	}
	cellsrc_free(src);
	return ret;
}

int cmd_merge(int argc, char **argv)
{
	struct natlab_err e = {""};
	const char *out = NULL;
	json_t *keys = json_object(), *from = json_array(), *meta = NULL;
	json_t *carried = json_object();
	struct artifacts_stats ast = {0, 0, 0};
	char cpath[PATH_MAX + 8] = "";
	FILE *cells = NULL;
	size_t n = 0;
	unsigned passed = 0;
	int status = NATLAB_EXIT_USAGE, ndirs = 0;
	bool made_out = false; /* --out is ours to remove when the merge fails */

	if (wants_help(argc, argv)) {
		printf(
		    "usage: natlab merge DIR... --out DIR\n\n"
		    "Joins the result directories of CI shards (natlab run --shard K/N) into "
		    "one:\n"
		    "run.json, cells.jsonl, junit.xml, report.html and report/ in --out DIR, and "
		    "each\n"
		    "cell's logs/ and pcap/ files (hard-linked, or copied across filesystems), so "
		    "every\n"
		    "link of the merged report works. A cell found in two inputs is taken from "
		    "the\nfirst. Exit 1 when a merged cell failed.\n");
		return NATLAB_EXIT_OK;
	}
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			out = argv[++i];
	if (!out) {
		fprintf(stderr, "natlab merge: say where the merged run goes with --out DIR\n");
		goto done;
	}
	if (mkdir(out, 0755) == 0) {
		made_out = true;
	} else if (errno != EEXIST) {
		fprintf(stderr, "natlab merge: cannot create %s: %s\n", out, strerror(errno));
		goto done;
	}
	snprintf(cpath, sizeof(cpath), "%s/cells.jsonl.tmp", out);
	cells = fopen(cpath, "we");
	if (!cells) {
		fprintf(stderr, "natlab merge: cannot write %s: %s\n", cpath, strerror(errno));
		goto done;
	}
	/* one input at a time, one cell at a time: a merge of any size holds
	 * a key per cell, never the cells */
	for (int i = 1; i < argc; i++) {
		json_t *run;

		if (strcmp(argv[i], "--out") == 0) {
			i++;
			continue;
		}
		if (results_load_run(argv[i], &run, &e) < 0) {
			fprintf(stderr, "natlab merge: %s\n", e.msg);
			goto done;
		}
		ndirs++;
		if (!meta)
			meta = json_deep_copy(run);
		else {
			const char *s0 = json_string_value(json_object_get(meta, "start"));
			const char *s1 = json_string_value(json_object_get(run, "start"));
			const char *e0 = json_string_value(json_object_get(meta, "end"));
			const char *e1 = json_string_value(json_object_get(run, "end"));
			if (s0 && s1 && strcmp(s1, s0) < 0)
				json_object_set(meta, "start", json_object_get(run, "start"));
			if (e0 && e1 && strcmp(e1, e0) > 0)
				json_object_set(meta, "end", json_object_get(run, "end"));
		}
		json_array_append(from, json_object_get(run, "run_id")
					    ? json_object_get(run, "run_id")
					    : json_null());
		json_decref(run);
		if (merge_one(argv[i], out, cells, keys, carried, &ast, &n, &passed, &e) < 0) {
			fprintf(stderr, "natlab merge: %s\n", e.msg);
			goto done;
		}
	}
	if (ndirs == 0) {
		fprintf(stderr, "natlab merge: give the shard directories to merge\n");
		goto done;
	}
	if (fflush(cells) != 0 || fsync(fileno(cells)) < 0) {
		fprintf(stderr, "natlab merge: cannot write %s: %s\n", cpath, strerror(errno));
		goto done;
	}
	{
		const char *base = strrchr(out, '/');
		char *text;
		char path[PATH_MAX];

		if (ast.missing)
			fprintf(stderr,
				"natlab merge: warning: %u log or capture directories named by "
				"cells are not in their input (not uploaded with the shard?); "
				"their links in the report lead nowhere\n",
				ast.missing);
		if (ast.refused)
			fprintf(stderr,
				"natlab merge: warning: %u log or capture paths are not under "
				"logs/ or pcap/ of their run and were not carried\n",
				ast.refused);
		json_object_set_new(meta, "run_id", json_string(base && base[1] ? base + 1 : out));
		json_object_set_new(meta, "merged_from", json_incref(from));
		json_object_set_new(meta, "cells_done", json_integer((json_int_t)n));
		json_object_set_new(meta, "cells_passed", json_integer(passed));
		json_object_del(json_object_get(meta, "options"), "shard");
		json_object_del(meta, "resources"); /* the first shard's, not the merge's */
		text = json_dumps(meta, JSON_INDENT(2) | JSON_SORT_KEYS);
		snprintf(path, sizeof(path), "%s/cells.jsonl", out);
		if (rename(cpath, path) < 0) {
			fprintf(stderr, "natlab merge: cannot rename %s: %s\n", cpath,
				strerror(errno));
			free(text);
			goto done;
		}
		cpath[0] = '\0';
		snprintf(path, sizeof(path), "%s/run.json", out);
		if (!text || results_write_atomic(path, text, strlen(text), &e) < 0 ||
		    results_render(out, meta, &e) < 0) {
			fprintf(stderr, "natlab merge: %s\n", e.msg);
			free(text);
			goto done;
		}
		free(text);
		printf("merged %d runs, %zu cells, %u passed, %u log and capture files: "
		       "%s/report.html\n",
		       ndirs, n, passed, ast.files, out);
		status = passed == n ? NATLAB_EXIT_OK : NATLAB_EXIT_FAIL;
	}
done:
	if (cells)
		fclose(cells);
	if (cpath[0])
		unlink(cpath);
	/* a failed merge leaves no half-made result directory behind (one
	 * that was there before is left as it was, less our temporary file) */
	if (status == NATLAB_EXIT_USAGE && made_out &&
	    nftw(out, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		fprintf(stderr, "natlab merge: could not remove %s: %s\n", out, strerror(errno));
	json_decref(carried);
	json_decref(keys);
	json_decref(from);
	json_decref(meta);
	return status;
}

int cmd_compare(int argc, char **argv)
{
	struct natlab_err e = {""};
	json_t *r1 = NULL, *c1 = NULL, *r2 = NULL, *c2 = NULL;
	struct compare_summary s;
	int reg;

	if (wants_help(argc, argv) || argc != 3) {
		fprintf(
		    wants_help(argc, argv) ? stdout : stderr,
		    "usage: natlab compare BASE NEW\n\n"
		    "Lists the cells whose outcome or path changed between two result\n"
		    "directories, and those whose median connect time got slower beyond the\n"
		    "base's own spread (more than %.2fx its p95 and %.0f ms).\n\n"
		    "Outcomes are judged by success rate (passed / trials not skipped). A cell\n"
		    "REGRESSED when its rate is lower and a one-sided Fisher exact test gives\n"
		    "p < %.2g (10/10 -> 9/10 is noise; 9/10 -> 1/10 is not), or when every\n"
		    "base trial passed and no new one did (1/1 -> 0/1). Other rate changes are\n"
		    "listed as noise. Exit 1 when something regressed or got slower.\n",
		    COMPARE_SLOWER_FACTOR, COMPARE_SLOWER_MIN_MS, COMPARE_ALPHA);
		return wants_help(argc, argv) ? NATLAB_EXIT_OK : NATLAB_EXIT_USAGE;
	}
	if (results_load(argv[1], &r1, &c1, &e) < 0 || results_load(argv[2], &r2, &c2, &e) < 0) {
		fprintf(stderr, "natlab compare: %s\n", e.msg);
		json_decref(r1);
		json_decref(c1);
		return NATLAB_EXIT_USAGE;
	}
	reg = compare_cells(c1, c2, stdout, &s);
	printf("%u same, %u regressed, %u fixed, %u within noise, %u path changes, %u slower, "
	       "%u faster, %u gone, %u new\n",
	       s.same, s.regressed, s.fixed, s.noise, s.path_changed, s.slower, s.faster,
	       s.only_base, s.only_new);
	json_decref(r1);
	json_decref(c1);
	json_decref(r2);
	json_decref(c2);
	return reg ? NATLAB_EXIT_FAIL : NATLAB_EXIT_OK;
}

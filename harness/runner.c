/* runner.c - the parallel cell runner. */
#include "harness/runner.h"

#include <ctype.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emu/sandbox.h"
#include "harness/cellplan.h"
#include "harness/celldeadline.h"
#include "harness/evidence.h"
#include "harness/luanet.h"
#include "harness/pace.h"
#include "harness/profile.h"
#include "harness/report.h"
#include "harness/scenario.h"
#include "harness/summary.h"

#define RUNNER_JOBS_MAX 256
#define RESULT_MAX	(8 * 1024 * 1024)
#define TAIL_BYTES	4096

struct slot {
	pid_t pid; /* 0 = free */
	int fd;
	int overflow; /* the result was larger than RESULT_MAX: drained, dropped */
	json_t *cell; /* owned: made by the plan at launch */
	const struct runner_scenario *pre; /* its scenario, loaded by the parent */
	char *buf;
	size_t len, cap;
	int64_t start_ms, deadline_ms;
	char logdir[RESULTS_PATH_MAX];
	char rel[512];
};

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

char *runner_tail(const char *path, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = calloc(1, max + 1);
	off_t size;
	ssize_t n;
	char *nl;

	if (!buf)
		return NULL;
	if (fd < 0)
		return buf;
	size = lseek(fd, 0, SEEK_END);
	lseek(fd, size > (off_t)max ? size - (off_t)max : 0, SEEK_SET);
	n = read(fd, buf, max);
	close(fd);
	if (n <= 0)
		return buf;
	buf[n] = '\0';
	if (size > (off_t)max && (nl = strchr(buf, '\n')))
		memmove(buf, nl + 1, strlen(nl + 1) + 1);
	return buf;
}

/* logs/<id with unsafe characters replaced>.t<trial> (no '#': it would cut a URL) */
static void cell_logname(const json_t *cell, char *buf, size_t len)
{
	const char *id = json_string_value(json_object_get(cell, "id"));
	size_t i = 0;

	for (; id && *id && i + 1 < len; id++, i++)
		buf[i] = (isalnum((unsigned char)*id) || strchr("=,._-", *id)) ? *id : '_';
	buf[i] = '\0';
	snprintf(buf + i, len - i, ".t%lld",
		 (long long)json_integer_value(json_object_get(cell, "trial")));
}

static void judge(json_t *c);

/* Whether the cell would fail (or err) as the run judges it (judge() on a
 * copy): the child decides from it whether the evidence carries a
 * conntrack snapshot. Passing, skipped and unsupported cells do not. */
static bool would_fail(const json_t *cell, const json_t *result)
{
	json_t *c = json_deep_copy(cell);
	const char *o;
	bool failed;

	json_object_update(c, (json_t *)result);
	judge(c);
	o = json_string_value(json_object_get(c, "outcome"));
	failed = !o || !evidence_outcome_quiet(o);
	json_decref(c);
	return failed;
}

int runner_cell_child(const json_t *cell, const struct runner_scenario *pre, const char *logdir,
		      const char *log_prefix, const char *capdir, const char *pcap_prefix,
		      bool capture_all, int result_fd)
{
	struct luanet_ctx own;
	struct luanet_ctx *ctx = pre ? pre->ctx : &own;
	struct natlab_err e = {""};
	enum emu_sandbox_mode mode;
	struct scenario *s = NULL;
	json_t *result = json_object();
	char *text;
	int ret;

	profile_start();
	ret = emu_sandbox_enter(&mode, &e);
	profile_mark("enter");
	luanet_ctx_init(ctx);
	snprintf(ctx->logdir, sizeof(ctx->logdir), "%s", logdir);
	ctx->log_prefix = log_prefix;
	snprintf(ctx->capdir, sizeof(ctx->capdir), "%s", capdir ? capdir : "");
	ctx->pcap_prefix = pcap_prefix ? pcap_prefix : "";
	ctx->capture_all = capture_all;
	if (ret < 0) {
		json_object_set_new(result, "outcome", json_string("error"));
		json_object_set_new(result, "message", json_string(e.msg));
		goto out;
	}
	if (pre) {
		/* the parent's copy: its Lua state is bound to this context,
		 * which luanet_ctx_init has just made fresh for this cell */
		s = pre->s;
		ret = 0;
	} else {
		ret = scenario_load(json_string_value(json_object_get(cell, "scenario_file")),
				    ctx, &s, &e);
	}
	profile_mark("load");
	if (ret < 0) {
		json_object_set_new(result, "outcome", json_string("error"));
		json_object_set_new(result, "message", json_string(e.msg));
		goto out;
	}
	{
		/* the scenario stops itself before the parent's kill, so a
		 * timed-out cell still has its NATs' evidence */
		int64_t t = json_integer_value(json_object_get(cell, "timeout_ms"));

		scenario_run_cell(s, cell,
				  t > 0 ? ctx->start_ms + t - cell_deadline_margin_ms(t) : 0,
				  result);
	}
out:
	/* What the script recorded, then what the run decided. */
	if (ctx->result) {
		json_t *merged = json_deep_copy(ctx->result);
		json_object_update(merged, result);
		json_decref(result);
		result = merged;
		luanet_fault_sync(ctx); /* every call syncs; this is the backstop */
		json_object_set(result, "events", ctx->events);
		json_object_set(result, "observations", ctx->observations);
		json_object_set(result, "logs", ctx->logs);
		if (json_array_size(ctx->pcaps))
			json_object_set(result, "pcaps", ctx->pcaps);
	}
	{
		/* Every NAT's evidence, whatever the scenario called; a
		 * conntrack snapshot when the cell is not passing. */
		json_t *ev = luanet_evidence_collect(ctx, would_fail(cell, result));
		const char *node;
		json_t *v;

		json_object_foreach(ev, node, v)
		{
			/* listed with the captures: natlab merge and the report
			 * follow `pcaps` */
			json_t *pcap = json_object_get(v, "pcap");
			json_t *all = json_object_get(result, "pcaps");
			if (!json_is_string(pcap))
				continue;
			if (!json_is_array(all)) {
				all = json_array();
				json_object_set_new(result, "pcaps", all);
			}
			json_array_append(all, pcap);
		}
		if (ev)
			json_object_set_new(result, "evidence", ev);
	}
	text = json_dumps(result, JSON_COMPACT);
	if (text) {
		size_t len = strlen(text);
		for (size_t off = 0; off < len;) {
			ssize_t w = write(result_fd, text + off, len - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		free(text);
	}
	close(result_fd);
	profile_mark("result");
	scenario_free(s); /* before the nodes: Lua may hold process handles */
	luanet_ctx_teardown(ctx);
	json_decref(result);
	profile_mark("teardown");
	profile_print(stderr);
	return 0;
}

/* The outcome of a finished cell: the script's verdict, or compare the
 * observed path with the expected one. */
static void judge(json_t *c)
{
	const char *outcome = json_string_value(json_object_get(c, "outcome"));
	const char *exp = json_string_value(json_object_get(c, "expected_path"));
	const char *path = json_string_value(json_object_get(c, "path"));
	const char *why = json_string_value(json_object_get(c, "message"));
	char msg[1024];

	if (outcome)
		return;
	if (exp && (!path || strcmp(exp, path) != 0)) {
		/* keep what the scenario said (e.g. why ICE failed) after ours */
		snprintf(msg, sizeof(msg), "expected path %s, %s%s%s%s", exp,
			 path ? "observed " : "the scenario recorded none", path ? path : "",
			 why ? ": " : "", why ? why : "");
		json_object_set_new(c, "outcome", json_string("fail"));
		json_object_set_new(c, "message", json_string(msg));
	} else {
		json_object_set_new(c, "outcome", json_string("pass"));
	}
}

/* The tail of the cell's own log and of each agent's stderr (where a
 * hang usually shows), each under a header naming the file. */
static char *tails(struct slot *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	DIR *d = opendir(s->logdir);
	struct dirent *de;

	if (!f) {
		if (d)
			closedir(d);
		return NULL;
	}
	while (d && (de = readdir(d))) {
		char path[RESULTS_PATH_MAX + 300];
		char *t;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", s->logdir, de->d_name);
		t = runner_tail(path, TAIL_BYTES / 2);
		if (t && *t)
			fprintf(f, "==> %s <==\n%s%s", de->d_name, t,
				t[strlen(t) - 1] == '\n' ? "" : "\n");
		free(t);
	}
	if (d)
		closedir(d);
	fclose(f);
	return buf;
}

static json_t *finish(struct slot *s, int status, int timed_out, const struct runopts *o)
{
	json_error_t je;
	json_t *c = json_deep_copy(s->cell);
	json_t *r = s->len && !s->overflow ? json_loadb(s->buf, s->len, 0, &je) : NULL;
	char msg[256];

	json_object_del(c, "scenario_file");
	json_object_del(c, "timeout_ms");
	if (r && json_is_object(r) && !timed_out) {
		json_object_update(c, r);
		if (!strcmp(json_string_value(json_object_get(c, "outcome")) ?: "", "timeout")) {
			/* stopped by its own deadline: the tails, as for a kill */
			char *tail = tails(s);

			json_object_set_new(c, "stderr_tail", json_string(tail ? tail : ""));
			free(tail);
		}
	} else {
		char *tail = tails(s);
		if (timed_out)
			snprintf(msg, sizeof(msg),
				 "timed out after %lld ms; the cell and its agents were killed",
				 (long long)(s->deadline_ms - s->start_ms));
		else if (s->overflow)
			snprintf(msg, sizeof(msg), "the cell's result was larger than %d bytes",
				 RESULT_MAX);
		else if (WIFSIGNALED(status))
			snprintf(msg, sizeof(msg),
				 "the cell process died of signal %d without a result",
				 WTERMSIG(status));
		else if (s->len && !r)
			/* it sent one, which the parser refused: say why, or a bug
			 * in what a cell records looks like a crash */
			snprintf(msg, sizeof(msg),
				 "the cell's result (%zu bytes) is not valid JSON: %s at byte %zu",
				 s->len, je.text, (size_t)je.position);
		else
			snprintf(msg, sizeof(msg),
				 "the cell process exited with status %d without a result",
				 WEXITSTATUS(status));
		json_object_set_new(c, "outcome", json_string(timed_out ? "timeout" : "error"));
		json_object_set_new(c, "message", json_string(msg));
		json_object_set_new(c, "stderr_tail", json_string(tail ? tail : ""));
		if (r && json_is_object(r))
			json_object_set(c, "logs", json_object_get(r, "logs"));
		free(tail);
	}
	json_decref(r);
	judge(c);
	evidence_annotate(c);
	json_object_set_new(c, "duration_ms", json_integer(luanet_now_ms() - s->start_ms));
	{
		json_t *logs = json_object_get(c, "logs");
		char rel[600];
		if (!json_is_array(logs)) {
			logs = json_array();
			json_object_set_new(c, "logs", logs);
		}
		snprintf(rel, sizeof(rel), "logs/%s/cell.log", s->rel);
		json_array_insert_new(logs, 0, json_string(rel));
	}
	if (strcmp(json_string_value(json_object_get(c, "outcome")), "pass") != 0 &&
	    !json_object_get(c, "stderr_tail")) {
		char *tail = tails(s);
		if (tail && *tail)
			json_object_set_new(c, "stderr_tail", json_string(tail));
		free(tail);
	}
	(void)o;
	return c;
}

static int launch(struct slot *s, json_t *cell, const struct runner_scenario *pre,
		  const char *rundir, const struct runopts *o, struct natlab_err *e)
{
	int pfd[2];
	char path[RESULTS_PATH_MAX + 16];
	int logfd;
	json_int_t timeout_ms = json_integer_value(json_object_get(cell, "timeout_ms"));

	cell_logname(cell, s->rel, sizeof(s->rel));
	snprintf(s->logdir, sizeof(s->logdir), "%s/logs/%s", rundir, s->rel);
	if (mkdir(s->logdir, 0755) < 0 && errno != EEXIST)
		return natlab_err_set(e, errno, "cannot create %s", s->logdir);
	snprintf(path, sizeof(path), "%s/cell.log", s->logdir);
	logfd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (logfd < 0)
		return natlab_err_set(e, errno, "cannot create %s", path);
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		int err = errno; /* before close() can overwrite it */

		close(logfd);
		return natlab_err_set(e, err, "pipe");
	}
	if (o->timeout_s)
		timeout_ms = (json_int_t)o->timeout_s * 1000;
	if (timeout_ms <= 0)
		timeout_ms = 60000;
	/* the child stops its scenario a little before this (celldeadline.h) */
	json_object_set_new(cell, "timeout_ms", json_integer(timeout_ms));
	fflush(NULL);
	s->pid = fork();
	if (s->pid < 0) {
		int err = errno; /* before close() can overwrite it */

		close(logfd);
		close(pfd[0]);
		close(pfd[1]);
		return natlab_err_set(e, err, "fork");
	}
	if (s->pid == 0) {
		char rel[600];
		int devnull = open("/dev/null", O_RDONLY);
		setpgid(0, 0);
		/* If natlab dies (even by SIGKILL) the cell dies too, and with it
		 * its sandbox (the lab process has its own death signal). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(1);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		dup2(devnull, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		close(pfd[0]);
		char capdir[RESULTS_PATH_MAX + 600] = "";
		char caprel[600] = "";
		snprintf(rel, sizeof(rel), "logs/%s/", s->rel);
		/* made on the first capture: --capture, or the scenario's own */
		snprintf(capdir, sizeof(capdir), "%s/pcap/%s", rundir, s->rel);
		snprintf(caprel, sizeof(caprel), "pcap/%s/", s->rel);
		_exit(runner_cell_child(cell, pre, s->logdir, rel, capdir, caprel, o->capture,
					pfd[1]));
	}
	setpgid(s->pid, s->pid);
	close(logfd);
	close(pfd[1]);
	s->fd = pfd[0];
	s->cell = cell;
	s->len = 0;
	s->start_ms = luanet_now_ms();
	s->deadline_ms = s->start_ms + timeout_ms;
	return 0;
}

static void cell_line(FILE *f, const struct runner_stats *st, const json_t *c)
{
	const char *o = json_string_value(json_object_get(c, "outcome"));
	const json_t *ms = json_object_get(c, "connect_ms");

	fprintf(f, "%-7s %s #%lld  %s", o, json_string_value(json_object_get(c, "id")),
		(long long)json_integer_value(json_object_get(c, "trial")), report_cell_path(c));
	if (json_is_number(ms))
		fprintf(f, " %.0f ms", json_number_value(ms));
	if (strcmp(o, "pass") && json_object_get(c, "message"))
		fprintf(f, "  (%s)", json_string_value(json_object_get(c, "message")));
	fprintf(f, "  [%u/%u]\n", st->done, st->total);
}

/* Count a finished cell by its @outcome: "pass", "skipped", "unsupported"
 * and "fail" each their own; anything else ("error", "timeout") is an
 * error. */
static void stats_count(struct runner_stats *st, const char *outcome)
{
	const char *o = outcome ? outcome : "error";

	st->done++;
	if (strcmp(o, "pass") == 0)
		st->passed++;
	else if (strcmp(o, "skipped") == 0)
		st->skipped++;
	else if (strcmp(o, "unsupported") == 0)
		st->unsupported++;
	else if (strcmp(o, "fail") == 0)
		st->failed++;
	else
		st->errors++;
}

/* "1h02m", "3m05s", "12s": a duration for people. */
static void fmt_dur(char *buf, size_t len, int64_t s)
{
	if (s >= 3600)
		snprintf(buf, len, "%lldh%02lldm", (long long)(s / 3600), (long long)(s / 60 % 60));
	else if (s >= 60)
		snprintf(buf, len, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
	else
		snprintf(buf, len, "%llds", (long long)s);
}

/* On a terminal: one live line (and the cells that did not pass, above
 * it): done/total, passed, failures so far, the rate over the run, the
 * time left at that rate and how many cells are in flight. Otherwise one
 * plain line per finished cell, for CI logs. */
static void progress_line(FILE *f, int tty, const struct runner_stats *st, const json_t *c,
			  int64_t start, unsigned in_flight)
{
	int64_t el_ms = luanet_now_ms() - start;

	if (tty) {
		double rate = el_ms > 0 ? (double)st->done * 1000.0 / (double)el_ms : 0;
		char el[32], left[32];

		if (c && !results_cell_passed(c)) {
			fprintf(f, "\r\033[K");
			cell_line(f, st, c);
		}
		fmt_dur(el, sizeof(el), el_ms / 1000);
		fprintf(f, "\r\033[K[%u/%u] %u passed, %u failed, %u errors, %u skipped", st->done,
			st->total, st->passed, st->failed, st->errors, st->skipped);
		if (st->unsupported)
			fprintf(f, ", %u unsupported", st->unsupported);
		fprintf(f, "  %.1f cells/s  elapsed %s", rate, el);
		if (st->done && rate > 0) {
			fmt_dur(left, sizeof(left),
				(int64_t)((double)(st->total - st->done) / rate + 0.5));
			fprintf(f, "  ~%s left", left);
		}
		fprintf(f, "  %u in flight", in_flight);
	} else if (c) {
		cell_line(f, st, c);
	}
	fflush(f);
}

/* The whole machine's busy share since the last call, from /proc/stat's
 * first line (every core, every user); -1 when unreadable. */
static double machine_busy(uint64_t *last_busy, uint64_t *last_total)
{
	unsigned long long v[10] = {0};
	uint64_t busy, total = 0;
	double share = -1;
	FILE *f = fopen("/proc/stat", "re");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
		   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
	fclose(f);
	if (n < 5)
		return -1;
	for (int i = 0; i < 8; i++) /* guest time is already in user */
		total += v[i];
	busy = total - v[3] - v[4]; /* less idle and iowait */
	if (*last_total && total > *last_total)
		share = (double)(busy - *last_busy) / (double)(total - *last_total);
	*last_busy = busy;
	*last_total = total;
	return share;
}

/* The machine's busy CPU time so far (every core, every user), in clock
 * ticks; 0 when unreadable. */
static uint64_t machine_busy_ticks(void)
{
	uint64_t b = 0, t = 0;

	machine_busy(&b, &t); /* stores the counters; leaves 0 when unreadable */
	return b;
}

/* MemTotal and MemAvailable (kB) from /proc/meminfo; 0 when unreadable. */
static void machine_mem(uint64_t *total_kb, uint64_t *avail_kb)
{
	char line[128];
	FILE *f = fopen("/proc/meminfo", "re");
	unsigned long long v;

	*total_kb = *avail_kb = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MemTotal: %llu", &v) == 1)
			*total_kb = v;
		else if (sscanf(line, "MemAvailable: %llu", &v) == 1)
			*avail_kb = v;
	}
	fclose(f);
}

int runner_sandbox_check(struct natlab_err *e)
{
	int pfd[2];
	pid_t pid;
	int status = 0;
	ssize_t n;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return natlab_err_set(e, errno, "pipe");
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return natlab_err_set(e, errno, "fork");
	}
	if (pid == 0) {
		struct natlab_err ce = {""};
		enum emu_sandbox_mode mode;

		close(pfd[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (emu_sandbox_enter(&mode, &ce) < 0) {
			if (write(pfd[1], ce.msg, strlen(ce.msg)) < 0)
				_exit(3);
			_exit(2);
		}
		_exit(0); /* in the sandbox: it works; the supervisor exits 0 too */
	}
	close(pfd[1]);
	memset(e->msg, 0, sizeof(e->msg));
	n = read(pfd[0], e->msg, sizeof(e->msg) - 1);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (n <= 0)
		natlab_err_set(e, 0,
			       "cannot enter the lab sandbox (status %d); 'natlab doctor' says why",
			       status);
	return -EPERM;
}

/* How often the runner samples the machine (busy share, memory) for the
 * pacer; a shorter interval would mostly measure noise. */
#define RUNNER_SAMPLE_MS 500

int runner_run(const struct runopts *o, struct cellplan *cells, struct results *res, FILE *progress,
	       struct summary *sum, struct runner_stats *st, struct natlab_err *e)
{
	struct slot *slots;
	bool paced = o->jobs == 0;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned ncores = cores > 0 ? (unsigned)cores : 1;
	unsigned jobs = paced ? pace_ceiling(ncores) : o->jobs;
	size_t next = 0, n = cellplan_count(cells);
	unsigned running = 0, limit = jobs;
	int tty = isatty(fileno(progress));
	int64_t start = luanet_now_ms();
	int64_t drawn_ms = 0, sampled_ms = start, flight_ms = start;
	uint64_t busy_last = 0, total_last = 0, mem_total = 0, mem_avail = 0, busy0;
	double flight_area = 0; /* cells in flight integrated over time (cell-ms) */
	struct pace pace;
	struct sigaction sa = {0}, old_int, old_term;
	int ret = 0;

	if (jobs > RUNNER_JOBS_MAX)
		jobs = RUNNER_JOBS_MAX;
	memset(st, 0, sizeof(*st));
	st->total = (unsigned)n;
	slots = calloc(jobs, sizeof(*slots));
	if (!slots)
		return natlab_err_set(e, ENOMEM, "runner");
	st->paced = paced;
	machine_mem(&mem_total, &mem_avail);
	machine_busy(&busy_last, &total_last);
	busy0 = busy_last; /* the run's start, for machine_busy_s */
	pace_init(&pace, ncores, jobs, mem_total, mem_avail);
	if (paced)
		limit = pace_limit(&pace);
	stop_signal = 0;
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	while ((next < n || running) && ret == 0) {
		struct pollfd pfd[RUNNER_JOBS_MAX];
		int idx[RUNNER_JOBS_MAX];
		int np = 0;
		int64_t now = luanet_now_ms(), wait_ms = 200;

		if (stop_signal)
			break;
		for (unsigned j = 0; j < jobs && next < n && running < limit; j++) {
			void *pre = NULL;
			json_t *cell;

			if (slots[j].pid)
				continue;
			cell = cellplan_next(cells, &pre);
			if (!cell) {
				ret = natlab_err_set(e, ENOMEM, "cannot make cell %zu", next + 1);
				break;
			}
			ret = launch(&slots[j], cell, pre, results_dir(res), o, e);
			if (ret < 0) {
				json_decref(cell);
				break;
			}
			next++;
			flight_area += (double)running * (double)(now - flight_ms);
			flight_ms = now;
			running++;
			if (running > st->in_flight_max)
				st->in_flight_max = running;
		}
		for (unsigned j = 0; j < jobs; j++) {
			if (!slots[j].pid)
				continue;
			pfd[np].fd = slots[j].fd;
			pfd[np].events = POLLIN;
			idx[np++] = (int)j;
			if (slots[j].deadline_ms - now < wait_ms)
				wait_ms = slots[j].deadline_ms - now;
		}
		if (poll(pfd, (nfds_t)np, wait_ms < 0 ? 0 : (int)wait_ms) < 0 && errno != EINTR) {
			ret = natlab_err_set(e, errno, "poll");
			break;
		}
		now = luanet_now_ms();
		if (paced && now - sampled_ms >= RUNNER_SAMPLE_MS) {
			double busy = machine_busy(&busy_last, &total_last);
			machine_mem(&mem_total, &mem_avail);
			if (busy >= 0)
				pace_machine(&pace, busy, mem_avail, running);
			sampled_ms = now;
			limit = pace_limit(&pace);
		}
		if (tty && now - drawn_ms >= 500) { /* keep "elapsed" ticking */
			progress_line(progress, tty, st, NULL, start, running);
			drawn_ms = now;
		}
		for (int k = 0; k < np; k++) {
			struct slot *s = &slots[idx[k]];
			int eof = 0, timed_out = 0, status = 0;
			struct rusage ru;
			json_t *c;

			if (pfd[k].revents) {
				char scratch[65536];
				char *dst = scratch;
				size_t room = sizeof(scratch);
				ssize_t r;

				if (s->cap - s->len < 65536 && s->cap < RESULT_MAX) {
					size_t cap = s->cap ? s->cap * 2 : 131072;
					char *grown = realloc(s->buf, cap);
					if (grown) {
						s->buf = grown;
						s->cap = cap;
					}
				}
				if (s->cap > s->len && !s->overflow) {
					dst = s->buf + s->len;
					room = s->cap - s->len;
				} else {
					s->overflow =
					    1; /* keep draining so the child never blocks */
				}
				r = read(s->fd, dst, room);
				if (r > 0 && dst != scratch)
					s->len += (size_t)r;
				else if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
					eof = 1;
			}
			if (!eof && now < s->deadline_ms)
				continue;
			if (!eof) {
				timed_out = 1;
				kill(-s->pid, SIGKILL);
			}
			memset(&ru, 0, sizeof(ru));
			/* the supervisor's usage includes the lab process and every
			 * agent below it: each level waits for its children */
			while (wait4(s->pid, &status, 0, &ru) < 0 && errno == EINTR)
				;
			close(s->fd);
			c = finish(s, status, timed_out, o);
			{
				uint64_t cpu_us = (uint64_t)ru.ru_utime.tv_sec * 1000000 +
						  (uint64_t)ru.ru_utime.tv_usec +
						  (uint64_t)ru.ru_stime.tv_sec * 1000000 +
						  (uint64_t)ru.ru_stime.tv_usec;
				int64_t wall_ms = luanet_now_ms() - s->start_ms;

				json_object_set_new(
				    c, "resources",
				    json_pack("{s:I,s:I}", "cpu_ms", (json_int_t)(cpu_us / 1000),
					      "maxrss_kb", (json_int_t)ru.ru_maxrss));
				st->cells_cpu_us += cpu_us;
				if ((uint64_t)ru.ru_maxrss > st->cell_maxrss_kb)
					st->cell_maxrss_kb = (uint64_t)ru.ru_maxrss;
				pace_cell_done(&pace, cpu_us,
					       wall_ms > 0 ? (uint64_t)wall_ms * 1000 : 1,
					       (uint64_t)ru.ru_maxrss);
				if (paced)
					limit = pace_limit(&pace);
			}
			stats_count(st, json_string_value(json_object_get(c, "outcome")));
			/* the summary grid keeps a label per square, not the cell */
			if (sum)
				summary_add(sum, c, st->done - 1);
			if (results_cell_add(res, c, e) < 0)
				ret = -EIO;
			flight_area += (double)running * (double)(luanet_now_ms() - flight_ms);
			flight_ms = luanet_now_ms();
			running--;
			progress_line(progress, tty, st, c, start, running);
			json_decref(c);
			json_decref(s->cell);
			free(s->buf);
			memset(s, 0, sizeof(*s));
		}
	}
	if (stop_signal || ret < 0) {
		/* End cleanly: kill what runs (each cell's sandbox dies with it),
		 * keep what finished. */
		for (unsigned j = 0; j < jobs; j++) {
			if (!slots[j].pid)
				continue;
			kill(-slots[j].pid, SIGKILL);
			waitpid(slots[j].pid, NULL, 0);
			close(slots[j].fd);
			free(slots[j].buf);
			json_decref(slots[j].cell);
		}
		st->interrupted = stop_signal;
	}
	{
		int64_t el = luanet_now_ms() - start;
		long hz = sysconf(_SC_CLK_TCK);
		uint64_t busy1 = machine_busy_ticks();

		st->in_flight_mean = el > 0 ? flight_area / (double)el : 0;
		if (busy0 && busy1 >= busy0 && hz > 0)
			st->machine_busy_s = (double)(busy1 - busy0) / (double)hz;
	}
	if (tty)
		fprintf(progress, "\n");
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	free(slots);
	return ret;
}

void runner_summary(FILE *out, const json_t *cells)
{
	struct summary *sum = summary_new();
	size_t i;
	json_t *c;

	if (!sum)
		return;
	json_array_foreach(cells, i, c) summary_add(sum, c, i);
	summary_print(sum, out);
	summary_free(sum);
}

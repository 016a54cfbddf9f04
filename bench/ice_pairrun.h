/* ice_pairrun.h - run two agent-protocol agents against each other, the
 * harness's part played in a few hundred lines: start both, relay their
 * signalling (full or trickle), wait for selection, run the data plane,
 * stop them. Used by bench_ice_connect and its cli test. Header-only so
 * that bench/ stays one file per benchmark. */
#ifndef NATLAB_BENCH_ICE_PAIRRUN_H
#define NATLAB_BENCH_ICE_PAIRRUN_H

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PR_ARGS_MAX 32
#define PR_BUF	    262144

struct pr_agent {
	pid_t pid;
	int in_fd;  /* we write commands */
	int out_fd; /* we read events */
	char *buf;
	size_t len;
	const char *name;
	bool eof;
	/* what happened, in ms since the trial's start (-1: never) */
	double t_ready, t_local, t_selected, t_first_rx, t_data, t_consent_lost;
	double t_checking; /* first "state":"checking" event */
	char sel_local_type[16], sel_remote_type[16], sel_relay_transport[8];
	int n_local, n_selected, n_consent_lost;
	bool reaped_elsewhere; /* the spawn hook's owner reaps it */
	bool data;	       /* the data event came */
	long long received, lost;
	double rtt_median;
	bool failed;
	char fail_reason[256];
};

/* How an agent process is started: by default fork+exec here; a namespace
 * test passes a hook that starts it inside a lab node with @in_fd as its
 * stdin and @out_fd as its stdout. Returns the pid or a negative errno. */
typedef pid_t (*pr_spawn_fn)(void *ctx, int which, char *const argv[], int in_fd, int out_fd);

struct pr_result {
	bool ok;
	char why[256];
	double connect_ms;    /* gather sent -> both selected */
	double first_data_ms; /* gather sent -> both received a datagram */
	uint64_t t0_real_ns;  /* CLOCK_REALTIME at the trial's start (gather
			       * sent), to place capture timestamps */
	struct pr_agent a, b;
};

static inline double pr_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline int pr_spawn(struct pr_agent *ag, char *const argv[], pr_spawn_fn hook,
			   void *hook_ctx, int which)
{
	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return -errno;
	}
	if (hook) {
		ag->pid = hook(hook_ctx, which, argv, in[0], out[1]);
		close(in[0]);
		close(out[1]);
		ag->reaped_elsewhere = true;
		if (ag->pid < 0)
			return (int)ag->pid;
		goto parent;
	}
	ag->pid = fork();
	if (ag->pid < 0)
		return -errno;
	if (ag->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execvp(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
parent:
	ag->in_fd = in[1];
	ag->out_fd = out[0];
	fcntl(ag->out_fd, F_SETFL, O_NONBLOCK);
	ag->buf = malloc(PR_BUF);
	ag->len = 0;
	ag->t_ready = ag->t_local = ag->t_selected = ag->t_first_rx = ag->t_data = -1;
	ag->t_consent_lost = ag->t_checking = -1;
	return ag->buf ? 0 : -ENOMEM;
}

static inline void pr_send(struct pr_agent *ag, json_t *cmd)
{
	char *s = json_dumps(cmd, JSON_COMPACT);
	json_decref(cmd);
	if (!s)
		return;
	if (write(ag->in_fd, s, strlen(s)) < 0 || write(ag->in_fd, "\n", 1) < 0) {
		/* the agent died: its EOF on stdout tells the loop */
	}
	free(s);
}

static inline void pr_stop(struct pr_agent *ag)
{
	double dl = pr_now_ms() + 3000;
	int st;
	if (ag->pid <= 0)
		return;
	pr_send(ag, json_pack("{s:s}", "cmd", "stop"));
	close(ag->in_fd);
	while (!ag->reaped_elsewhere && pr_now_ms() < dl) {
		if (waitpid(ag->pid, &st, WNOHANG) == ag->pid) {
			ag->pid = 0;
			break;
		}
		usleep(2000);
	}
	if (ag->pid > 0 && !ag->reaped_elsewhere) {
		kill(ag->pid, SIGKILL);
		waitpid(ag->pid, &st, 0);
		ag->pid = 0;
	}
	close(ag->out_fd);
	free(ag->buf);
	ag->buf = NULL;
}

static inline void pr_copy_type(char *dst, json_t *ev, const char *side)
{
	json_t *t = json_object_get(json_object_get(ev, side), "type");
	snprintf(dst, 16, "%s", json_is_string(t) ? json_string_value(t) : "?");
}

/* Handle one event of @from; forward signalling to @to. */
static inline void pr_event(struct pr_agent *from, struct pr_agent *to, json_t *ev, double t,
			    bool verbose)
{
	const char *name = json_string_value(json_object_get(ev, "ev"));
	if (!name)
		return;
	if (verbose) {
		char *s = json_dumps(ev, JSON_COMPACT);
		fprintf(stderr, "%8.1f %s: %s\n", t, from->name, s);
		free(s);
	}
	if (strcmp(name, "ready") == 0) {
		from->t_ready = t;
	} else if (strcmp(name, "state") == 0) {
		const char *st = json_string_value(json_object_get(ev, "state"));
		if (st && strcmp(st, "checking") == 0 && from->t_checking < 0)
			from->t_checking = t;
	} else if (strcmp(name, "local") == 0) {
		if (from->t_local < 0)
			from->t_local = t;
		from->n_local++;
		pr_send(to,
			json_pack("{s:s,s:O,s:O,s:O}", "cmd", "remote", "ufrag",
				  json_object_get(ev, "ufrag"), "pwd", json_object_get(ev, "pwd"),
				  "candidates", json_object_get(ev, "candidates")));
	} else if (strcmp(name, "candidate") == 0) {
		if (json_is_true(json_object_get(ev, "end")))
			pr_send(to, json_pack("{s:s}", "cmd", "end-of-candidates"));
		else
			pr_send(to, json_pack("{s:s,s:O}", "cmd", "candidate", "candidate",
					      json_object_get(ev, "candidate")));
	} else if (strcmp(name, "selected") == 0 || strcmp(name, "switched") == 0) {
		json_t *rt = json_object_get(json_object_get(ev, "local"), "relay_transport");
		if (from->t_selected < 0)
			from->t_selected = t;
		from->n_selected++;
		pr_copy_type(from->sel_local_type, ev, "local");
		pr_copy_type(from->sel_remote_type, ev, "remote");
		snprintf(from->sel_relay_transport, sizeof(from->sel_relay_transport), "%s",
			 json_is_string(rt) ? json_string_value(rt) : "");
	} else if (strcmp(name, "consent-lost") == 0) {
		if (from->t_consent_lost < 0)
			from->t_consent_lost = t;
		from->n_consent_lost++;
	} else if (strcmp(name, "rx") == 0) {
		if (from->t_first_rx < 0)
			from->t_first_rx = t;
	} else if (strcmp(name, "data") == 0) {
		json_t *m = json_object_get(ev, "rtt_ms_median");
		from->t_data = t;
		from->data = true;
		from->received = json_integer_value(json_object_get(ev, "received"));
		from->lost = json_integer_value(json_object_get(ev, "lost"));
		from->rtt_median = json_is_number(m) ? json_number_value(m) : -1;
	} else if (strcmp(name, "failed") == 0) {
		const char *r = json_string_value(json_object_get(ev, "reason"));
		from->failed = true;
		snprintf(from->fail_reason, sizeof(from->fail_reason), "%s", r ? r : "?");
	}
}

static inline void pr_read(struct pr_agent *from, struct pr_agent *to, double t0, bool verbose)
{
	for (;;) {
		ssize_t n;
		char *nl;
		if (from->len == PR_BUF)
			from->len = 0; /* an absurd line: drop it */
		n = read(from->out_fd, from->buf + from->len, PR_BUF - from->len);
		if (n == 0) {
			from->eof = true;
			return;
		}
		if (n < 0)
			return;
		from->len += (size_t)n;
		while ((nl = memchr(from->buf, '\n', from->len))) {
			size_t ll = (size_t)(nl - from->buf);
			json_t *ev = json_loadb(from->buf, ll, 0, NULL);
			if (ev) {
				pr_event(from, to, ev, pr_now_ms() - t0, verbose);
				json_decref(ev);
			}
			memmove(from->buf, nl + 1, from->len - ll - 1);
			from->len -= ll + 1;
		}
	}
}

/* pr_pump - read both agents for up to @ms, forwarding signalling;
 * stops early when @until(res) is true. Returns true when it was, false on
 * timeout, exit or failure (res->why says which). */
static inline bool pr_pump(struct pr_result *res, double t0, double ms,
			   bool (*until)(struct pr_result *), bool verbose)
{
	double dl = pr_now_ms() + ms;
	for (;;) {
		struct pollfd p[2] = {{res->a.out_fd, POLLIN, 0}, {res->b.out_fd, POLLIN, 0}};
		if (until && until(res))
			return true;
		if (res->a.eof || res->b.eof) {
			snprintf(res->why, sizeof(res->why), "agent %s exited",
				 res->a.eof ? "A" : "B");
			return false;
		}
		if (res->a.failed || res->b.failed) {
			snprintf(res->why, sizeof(res->why), "agent %s failed: %s",
				 res->a.failed ? "A" : "B",
				 res->a.failed ? res->a.fail_reason : res->b.fail_reason);
			return false;
		}
		if (pr_now_ms() > dl) {
			snprintf(res->why, sizeof(res->why), "timed out after %.0f ms", ms);
			return false;
		}
		poll(p, 2, 10);
		pr_read(&res->a, &res->b, t0, verbose);
		pr_read(&res->b, &res->a, t0, verbose);
	}
}

static inline bool pr_both_ready(struct pr_result *r)
{
	return r->a.t_ready >= 0 && r->b.t_ready >= 0;
}

static inline bool pr_both_selected(struct pr_result *r)
{
	return r->a.t_selected >= 0 && r->b.t_selected >= 0;
}

static inline bool pr_both_data(struct pr_result *r)
{
	return r->a.data && r->b.data;
}

/* pr_start - start both agents and wait until both are ready. */
static inline bool pr_start(struct pr_result *res, char *const argv_a[], char *const argv_b[],
			    pr_spawn_fn hook, void *hook_ctx, bool verbose)
{
	memset(res, 0, sizeof(*res));
	res->a.name = "A";
	res->b.name = "B";
	res->a.out_fd = res->b.out_fd = -1;
	res->connect_ms = res->first_data_ms = -1;
	if (pr_spawn(&res->a, argv_a, hook, hook_ctx, 0) < 0 ||
	    pr_spawn(&res->b, argv_b, hook, hook_ctx, 1) < 0) {
		snprintf(res->why, sizeof(res->why), "cannot start the agents");
		return false;
	}
	return pr_pump(res, pr_now_ms(), 10000, pr_both_ready, verbose);
}

/* pr_data - both send @n datagrams; wait for both reports and check that
 * every datagram arrived and was acknowledged. */
static inline bool pr_data(struct pr_result *res, double t0, unsigned n, bool verbose)
{
	res->a.data = res->b.data = false;
	res->a.t_first_rx = res->b.t_first_rx = -1;
	pr_send(&res->a, json_pack("{s:s,s:i,s:i,s:i}", "cmd", "send", "n", (int)n, "size", 200,
				   "interval_ms", 10));
	pr_send(&res->b, json_pack("{s:s,s:i,s:i,s:i}", "cmd", "send", "n", (int)n, "size", 200,
				   "interval_ms", 10));
	if (!pr_pump(res, t0, 10000 + 20.0 * n, pr_both_data, verbose))
		return false;
	if (res->a.received != (long long)n || res->b.received != (long long)n ||
	    res->a.lost != 0 || res->b.lost != 0) {
		snprintf(res->why, sizeof(res->why),
			 "data plane: A received %lld lost %lld, B received %lld lost %lld, of %u",
			 res->a.received, res->a.lost, res->b.received, res->b.lost, n);
		return false;
	}
	return true;
}

static inline void pr_finish(struct pr_result *res)
{
	if (res->a.buf)
		pr_stop(&res->a);
	if (res->b.buf)
		pr_stop(&res->b);
}

/* pr_run - one trial: start, gather, connect, exchange data, stop.
 * @argv_a/@argv_b: the two agents' command lines. */
static inline void pr_run_hook(char *const argv_a[], char *const argv_b[], unsigned n_data,
			       double deadline_ms, bool verbose, pr_spawn_fn hook, void *hook_ctx,
			       struct pr_result *res)
{
	double t0;
	if (!pr_start(res, argv_a, argv_b, hook, hook_ctx, verbose))
		goto out;
	/* the clock starts when both are ready to work */
	t0 = pr_now_ms();
	{
		struct timespec rt;
		clock_gettime(CLOCK_REALTIME, &rt);
		res->t0_real_ns = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
	}
	res->a.t_ready = res->b.t_ready = 0;
	pr_send(&res->a, json_pack("{s:s}", "cmd", "gather"));
	pr_send(&res->b, json_pack("{s:s}", "cmd", "gather"));
	if (!pr_pump(res, t0, deadline_ms, pr_both_selected, verbose))
		goto out;
	res->connect_ms =
	    res->a.t_selected > res->b.t_selected ? res->a.t_selected : res->b.t_selected;
	if (!pr_data(res, t0, n_data, verbose))
		goto out;
	if (res->a.t_first_rx >= 0 && res->b.t_first_rx >= 0)
		res->first_data_ms =
		    res->a.t_first_rx > res->b.t_first_rx ? res->a.t_first_rx : res->b.t_first_rx;
	res->ok = true;
out:
	pr_finish(res);
}

static inline void pr_run(char *const argv_a[], char *const argv_b[], unsigned n_data,
			  double deadline_ms, bool verbose, struct pr_result *res)
{
	pr_run_hook(argv_a, argv_b, n_data, deadline_ms, verbose, NULL, NULL, res);
}

#endif

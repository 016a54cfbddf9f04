/* probe_lab.h - what the natlab-probe namespace tests share: a clock,
 * natlab-probe run in a node with its JSON verdict read back,
 * a read with a deadline, a JSON field check, and a main() that runs the
 * test's scenario in a forked child (which enters the sandbox itself and
 * exits 77 when it cannot) and hands its status to one cmocka case.
 * Include after <cmocka.h> and <jansson.h>; header-only, static inline. */
#ifndef NATLAB_TESTS_PROBE_LAB_H
#define NATLAB_TESTS_PROBE_LAB_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <signal.h>

#include "emu/node.h"
#include "emu/sandbox.h"

static inline long long probe_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read from @fd into @buf (NUL-terminated) until @stop appears, or until
 * EOF when @stop is NULL, within @timeout_ms. 0, or -ETIMEDOUT, or -EIO at
 * EOF with nothing read. */
static inline int probe_read_until(int fd, char *buf, size_t cap, const char *stop, int timeout_ms)
{
	size_t have = 0;
	long long end = probe_now_ms() + timeout_ms;
	buf[0] = '\0';
	while (have + 1 < cap) {
		long long left = end - probe_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		ssize_t n = read(fd, buf + have, cap - 1 - have);
		if (n <= 0)
			return have ? 0 : -EIO;
		have += (size_t)n;
		buf[have] = '\0';
		if (stop && strstr(buf, stop))
			return 0;
	}
	return 0;
}

/* 0 when field @key of the probe's verdict @o, as compact JSON, is @want;
 * else 1, with both printed. */
static inline int probe_check(json_t *o, const char *key, const char *want)
{
	json_t *v = json_object_get(o, key);
	char *got = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
	int ok = got && strcmp(got, want) == 0;
	if (!ok)
		fprintf(stderr, "probe %s: got %s, want %s\n", key, got ? got : "(none)", want);
	free(got);
	return ok ? 0 : 1;
}

/* TRY(call) - in a scenario with `struct natlab_err e`: a call that fails
 * prints where, what and why, and the scenario returns 1. */
#define TRY(call)                                                                                  \
	do {                                                                                       \
		if ((call) < 0) {                                                                  \
			fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, e.msg);      \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

/* probe_sandbox_enter - 0 inside the sandbox, or 77 (skip) with why. */
static inline int probe_sandbox_enter(void)
{
	struct natlab_err e = {{0}};
	enum emu_sandbox_mode mode;
	if (emu_sandbox_enter(&mode, &e) < 0) {
		fprintf(stderr, "skip: %s\n", e.msg);
		return 77;
	}
	return 0;
}

/* probe_server_start - natlab-stun-server (@argv) in @sv with its stdout
 * on a pipe; waits up to 5 s for its "ready" event, which lands in @buf
 * (for the caller to inspect). *@pid is the server; returns the pipe's read
 * end (the caller closes it), or -1 with the reason printed. */
static inline int probe_server_start(struct emu_node *sv, char **argv, pid_t *pid, char *buf,
				     size_t cap)
{
	struct natlab_err e = {{0}};
	int out[2];
	if (pipe2(out, O_CLOEXEC) != 0)
		return -1;
	struct emu_spawn_opts so = {.stdin_fd = -1, .stdout_fd = out[1], .stderr_fd = 2};
	if (emu_node_spawn(sv, argv, &so, pid, &e) < 0) {
		fprintf(stderr, "spawn natlab-stun-server: %s\n", e.msg);
		close(out[0]);
		close(out[1]);
		return -1;
	}
	close(out[1]);
	if (probe_read_until(out[0], buf, cap, "\"ev\":\"ready\"", 5000) != 0) {
		fprintf(stderr, "server not ready: %s\n", buf);
		close(out[0]);
		return -1;
	}
	return out[0];
}

/* probe_run - spawn natlab-probe (@argv) the probe in @cl with stdout on the pipe @p, wait (with
 * a deadline) for its one JSON line; the parsed object or NULL */
static inline json_t *probe_run(struct emu_node *cl, char **argv, int p[2])
{
	struct natlab_err e = {{0}};
	struct emu_spawn_opts po = {.stdin_fd = -1, .stdout_fd = p[1], .stderr_fd = 2};
	pid_t probe;
	if (emu_node_spawn(cl, argv, &po, &probe, &e) < 0) {
		fprintf(stderr, "spawn probe: %s\n", e.msg);
		return NULL;
	}
	close(p[1]);
	static char buf[8192];
	int r = probe_read_until(p[0], buf, sizeof(buf), NULL, 60000);
	close(p[0]);
	int status = 0;
	if (r != 0)
		kill(probe, SIGKILL);
	waitpid(probe, &status, 0);
	if (r != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "probe failed (%d, status %d): %s\n", r, status, buf);
		return NULL;
	}
	fprintf(stderr, "probe: %s", buf);
	json_error_t je;
	json_t *o = json_loads(buf, JSON_DISABLE_EOF_CHECK, &je);
	if (!o)
		fprintf(stderr, "probe output is not JSON: %s\n", je.text);
	return o;
}

/* PROBE_LAB_MAIN(scenario, test) - main(): run int scenario(void) in a
 * forked child; exit 77 (skip) when it did; else one cmocka case, named
 * @test, asserting that it exited 0. */
#define PROBE_LAB_MAIN(scenario, test)                                                             \
	static int probe_lab_status = -1;                                                          \
	static void test(void **state)                                                             \
	{                                                                                          \
		(void)state;                                                                       \
		assert_int_equal(probe_lab_status, 0);                                             \
	}                                                                                          \
	int main(void)                                                                             \
	{                                                                                          \
		int st;                                                                            \
		pid_t pid = fork();                                                                \
		if (pid < 0)                                                                       \
			return 1;                                                                  \
		if (pid == 0)                                                                      \
			_exit(scenario());                                                         \
		if (waitpid(pid, &st, 0) != pid)                                                   \
			return 1;                                                                  \
		probe_lab_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);           \
		if (probe_lab_status == 77)                                                        \
			return 77;                                                                 \
		const struct CMUnitTest tests[] = {cmocka_unit_test(test)};                        \
		return cmocka_run_group_tests(tests, NULL, NULL);                                  \
	}

#endif

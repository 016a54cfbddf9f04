/* An agent's /tmp is its own and goes with it (emu_spawn_opts.private_tmp,
 * what natlab.agent and adapter-check ask for): a program spawned in a
 * node with it starts with an empty /tmp on a tmpfs, what it writes there
 * never reaches the host's /tmp, not while it runs and not after it was
 * killed with SIGKILL (a browser killed mid-run leaves no profile), and
 * the next agent starts empty again. The same program spawned without it
 * does write into the host's /tmp, so the test can tell the two apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emu/node.h"
#include "sandboxed.h"

#define DEADLINE_MS 10000

static char marker[64]; /* /tmp/natlab-privtmp-<pid>: the file agents write */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read from @fd until a newline or the deadline; the text in @buf. */
static int read_line(int fd, char *buf, size_t len)
{
	long long deadline = now_ms() + DEADLINE_MS;
	size_t have = 0;

	while (have < len - 1) {
		struct pollfd p = {fd, POLLIN, 0};
		long long left = deadline - now_ms();
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		r = read(fd, buf + have, len - 1 - have);
		if (r <= 0)
			return -1;
		have += (size_t)r;
		buf[have] = '\0';
		if (strchr(buf, '\n'))
			return 0;
	}
	return 0;
}

/* Spawn in @n a shell that prints how many entries its /tmp holds and
 * whether /tmp is a tmpfs, writes the marker file and a profile-like
 * directory, says "written" and sleeps. *@out: the first lines. */
static pid_t spawn_writer(struct emu_node *n, bool private_tmp, char *out, size_t len)
{
	char script[512];
	char *argv[] = {"/bin/sh", "-c", script, NULL};
	struct emu_spawn_opts o = {-1, -1, 2, NULL, NULL, private_tmp};
	struct natlab_err e = {""};
	int p[2];
	pid_t pid = -1;

	snprintf(script, sizeof(script),
		 "n=$(ls -A /tmp | wc -l); "
		 "fs=$(stat -f -c %%T /tmp); "
		 "echo x > %s && mkdir -p %s.profile && echo \"entries=$n fs=${fs:-none} written\"; "
		 "exec sleep 60",
		 marker, marker);
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	o.stdout_fd = p[1];
	if (emu_node_spawn(n, argv, &o, &pid, &e) < 0) {
		fprintf(stderr, "spawn: %s\n", e.msg);
		pid = -1;
	}
	close(p[1]);
	if (pid > 0 && read_line(p[0], out, len) < 0)
		snprintf(out, len, "(no answer within %d ms)", DEADLINE_MS);
	close(p[0]);
	return pid;
}

static void kill_group(pid_t pid)
{
	kill(-pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int body(const void *arg)
{
	struct emu_node *n = NULL;
	struct natlab_err e = {""};
	struct stat st;
	char line[256];
	pid_t a, b, c;
	int bad = 0;

	(void)arg;
	if (emu_node_new("privtmp", &n, &e) < 0) {
		fprintf(stderr, "node: %s\n", e.msg);
		return 1;
	}
	/* 1. private: starts empty on a tmpfs, writes nothing on the host */
	a = spawn_writer(n, true, line, sizeof(line));
	printf("private agent: %s", line);
	if (a < 0 || !strstr(line, "entries=0 fs=tmpfs written")) {
		fprintf(stderr, "FAIL: a private /tmp should start empty on a tmpfs: %s\n", line);
		bad = 1;
	}
	if (stat(marker, &st) == 0) {
		fprintf(stderr, "FAIL: %s reached the host's /tmp while the agent ran\n", marker);
		bad = 1;
	}
	/* 2. SIGKILL (a browser killed mid-run): still nothing on the host */
	if (a > 0)
		kill_group(a);
	if (stat(marker, &st) == 0 || stat("/tmp", &st) < 0) {
		fprintf(stderr, "FAIL: %s is on the host's /tmp after the agent was killed\n", marker);
		bad = 1;
	}
	/* 3. the next agent starts empty: the killed one's files are gone */
	b = spawn_writer(n, true, line, sizeof(line));
	printf("next private agent: %s", line);
	if (b < 0 || !strstr(line, "entries=0 ")) {
		fprintf(stderr, "FAIL: the next agent's /tmp holds the killed one's files: %s\n", line);
		bad = 1;
	}
	if (b > 0)
		kill_group(b);
	/* 4. the control: without private_tmp the marker does reach /tmp */
	c = spawn_writer(n, false, line, sizeof(line));
	printf("shared agent: %s", line);
	if (c > 0)
		kill_group(c);
	if (stat(marker, &st) != 0) {
		fprintf(stderr, "FAIL: without private_tmp %s should be on the host's /tmp\n", marker);
		bad = 1;
	}
	unlink(marker);
	snprintf(line, sizeof(line), "%s.profile", marker);
	rmdir(line);
	emu_node_free(n);
	return bad;
}

static void test_private_tmp(void **state)
{
	int st;

	(void)state;
	snprintf(marker, sizeof(marker), "/tmp/natlab-privtmp-%d", (int)getpid());
	st = ns_run_sandboxed(body, NULL);
	if (st == 77)
		skip();
	/* whatever happened inside, nothing may stay behind */
	unlink(marker);
	assert_int_equal(st, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_private_tmp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

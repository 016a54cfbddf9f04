/* A lab killed with SIGKILL at any moment leaves nothing on the host.
 *
 * A child enters the sandbox, builds two nodes joined by a veth and starts
 * a long-running process in one of them, then reports the inodes of its
 * namespaces. We SIGKILL the supervisor (what `kill -9 natlab` does) and
 * poll, with a deadline, until no process on the host is in any of those
 * namespaces and no new interface appeared in ours. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emu/link.h"
#include "emu/node.h"
#include "emu/sandbox.h"

#define DEADLINE_MS 10000

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned long ns_inode(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (unsigned long)st.st_ino : 0;
}

/* When process @pid started, in clock ticks since boot (field 22 of
 * /proc/PID/stat), or -1. */
static long long start_ticks(const char *pid)
{
	char path[64], buf[1024];
	unsigned long long t;
	FILE *f;
	size_t len;
	char *p;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	/* after ") ": state is field 3, starttime field 22 */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			 "%*d %*d %*d %llu",
			 &t) != 1)
		return -1;
	return (long long)t;
}

static long long uptime_ticks(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000) * sysconf(_SC_CLK_TCK) / 1000;
}

/* How many host processes that started before @before (clock ticks since
 * boot; -1: any) live in a namespace with one of these inodes. The start
 * time matters because the kernel reuses a freed namespace's inode number
 * at once: a process of someone else's lab created after the kill may sit
 * in a namespace with one of the old numbers. */
static int procs_in(const unsigned long *inodes, int n, long long before)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int count = 0;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char path[64];
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (before >= 0 && start_ticks(de->d_name) > before)
			continue;
		for (int k = 0; k < 2; k++) {
			snprintf(path, sizeof(path), "/proc/%s/ns/%s", de->d_name,
				 k ? "pid" : "net");
			unsigned long ino = ns_inode(path);
			for (int i = 0; i < n; i++)
				if (ino && ino == inodes[i])
					count++;
		}
	}
	closedir(d);
	return count;
}

static int count_ifaces(void)
{
	DIR *d = opendir("/sys/class/net");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* The lab: runs in the sandbox, reports inodes on @fd, then waits forever. */
static void lab_main(int fd)
{
	struct natlab_err e = {""};
	struct emu_node *a = NULL;
	struct emu_node *b = NULL;
	char *argv[] = {"sleep", "600", NULL};
	char line[256];
	pid_t pid;

	if (emu_sandbox_enter(NULL, &e) < 0) {
		dprintf(fd, "skip %s\n", e.msg);
		_exit(0);
	}
	if (emu_node_new("a", &a, &e) < 0 || emu_node_new("b", &b, &e) < 0 ||
	    emu_link_veth(a, "a0", b, "b0", &e) < 0 ||
	    emu_link_addr_add(a, "a0", "10.9.0.1/24", &e) < 0 ||
	    emu_node_spawn(b, argv, NULL, &pid, &e) < 0) {
		dprintf(fd, "fail %s\n", e.msg);
		_exit(1);
	}
	snprintf(line, sizeof(line), "/proc/%d/ns/net", (int)pid);
	dprintf(fd, "ready %lu %lu %lu %lu\n", ns_inode("/proc/self/ns/pid"),
		ns_inode("/proc/self/ns/net"), ns_inode(line), (unsigned long)0);
	for (;;)
		pause();
}

static void test_sigkill_leaves_nothing(void **state)
{
	int p[2];
	char buf[512] = "";
	size_t got = 0;
	unsigned long inodes[4] = {0};
	int before = count_ifaces();
	long long deadline, killed_at;
	pid_t sup;
	int status;

	assert_int_equal(pipe(p), 0);
	sup = fork();
	assert_true(sup >= 0);
	if (sup == 0) {
		close(p[0]);
		lab_main(p[1]);
	}
	close(p[1]);
	deadline = now_ms() + DEADLINE_MS;
	while (!strchr(buf, '\n') && now_ms() < deadline && got < sizeof(buf) - 1) {
		struct pollfd pfd = {p[0], POLLIN, 0};
		if (poll(&pfd, 1, 100) > 0) {
			ssize_t r = read(p[0], buf + got, sizeof(buf) - 1 - got);
			if (r <= 0)
				break;
			got += (size_t)r;
		}
	}
	close(p[0]);
	if (strncmp(buf, "skip", 4) == 0) {
		kill(sup, SIGKILL);
		waitpid(sup, &status, 0);
		print_message("skipped: %s", buf);
		skip();
	}
	if (strncmp(buf, "ready", 5) != 0) {
		kill(sup, SIGKILL);
		waitpid(sup, &status, 0);
		fail_msg("lab did not come up: %s", buf);
	}
	assert_int_equal(
	    sscanf(buf, "ready %lu %lu %lu %lu", &inodes[0], &inodes[1], &inodes[2], &inodes[3]),
	    4);
	assert_true(procs_in(inodes, 3, -1) >= 2); /* the lab's PID 1 and the sleep */

	assert_int_equal(kill(sup, SIGKILL), 0);
	killed_at = uptime_ticks();
	assert_int_equal(waitpid(sup, &status, 0), sup);

	deadline = now_ms() + DEADLINE_MS;
	while (procs_in(inodes, 3, killed_at) > 0 && now_ms() < deadline)
		usleep(20000);
	assert_int_equal(procs_in(inodes, 3, killed_at), 0);
	assert_int_equal(count_ifaces(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sigkill_leaves_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Where unprivileged user namespaces are refused, natlab says so, says to
 * run it with sudo, and exits 2.
 *
 * We make such a host without touching the real one: a child enters a user
 * namespace mapping root and uid 1000, sets that namespace's
 * user.max_user_namespaces to 0, drops to uid 1000 and runs
 * `natlab doctor`. Needs real root to write a two-line uid_map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok ? 0 : -1;
}

static void test_refused_userns_says_sudo(void **state)
{
	char natlab[512];
	int go[2];
	int ready[2];
	int out[2];
	char buf[4096] = "";
	size_t got = 0;
	ssize_t r;
	char path[64];
	pid_t child;
	int status;

	if (geteuid() != 0)
		skip(); /* writing a two-entry uid_map needs real root */
	snprintf(natlab, sizeof(natlab), "%s/natlab", getenv("NATLAB_BIN_DIR") ? getenv("NATLAB_BIN_DIR") : NATLAB_BIN_DIR);
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(out), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		char c;
		close(go[1]);
		close(out[0]);
		close(ready[0]);
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(90);
		if (write(ready[1], "r", 1) != 1)
			_exit(95);
		close(ready[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(91);
		/* Root of this namespace: forbid any nested user namespace. */
		if (write_str("/proc/sys/user/max_user_namespaces", "0") < 0)
			_exit(92);
		if (setgroups(0, NULL) < 0 || setresgid(1000, 1000, 1000) < 0 || setresuid(1000, 1000, 1000) < 0)
			_exit(93);
		dup2(out[1], 1);
		dup2(out[1], 2);
		execl(natlab, "natlab", "doctor", (char *)NULL);
		_exit(94);
	}
	close(go[0]);
	close(out[1]);
	close(ready[1]);
	/* The maps can be written only once the child is in its namespace. */
	assert_int_equal(read(ready[0], buf, 1), 1);
	close(ready[0]);
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)child);
	assert_int_equal(write_str(path, "0 0 1\n1000 1000 1\n"), 0);
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)child);
	assert_int_equal(write_str(path, "0 0 1\n1000 1000 1\n"), 0);
	assert_int_equal(write(go[1], "g", 1), 1);
	close(go[1]);
	while ((r = read(out[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)r;
	close(out[0]);
	assert_int_equal(waitpid(child, &status, 0), child);
	print_message("%s", buf);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 2);
	assert_non_null(strstr(buf, "user namespace"));
	assert_non_null(strstr(buf, "sudo"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused_userns_says_sudo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

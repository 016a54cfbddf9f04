/* sandbox.c - see sandbox.h for what the sandbox guarantees and why. */
#include "emu/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static bool sandbox_active;
static volatile pid_t sandbox_child;

bool emu_sandbox_active(void)
{
	return sandbox_active;
}

static int write_file(const char *path, const char *text, struct natlab_err *e)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return natlab_err_set(e, errno, "cannot open %s", path);
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		ret = natlab_err_set(e, errno, "cannot write \"%s\" to %s", text, path);
	close(fd);
	return ret;
}

/* Map our own uid/gid to root inside the new user namespace. */
static int map_ids(uid_t uid, gid_t gid, struct natlab_err *e)
{
	char line[64];
	int ret;

	/* user_namespaces(7): setgroups must be denied before an unprivileged
	 * process may write gid_map. */
	ret = write_file("/proc/self/setgroups", "deny", e);
	if (ret < 0)
		return ret;
	snprintf(line, sizeof(line), "0 %u 1", (unsigned)uid);
	ret = write_file("/proc/self/uid_map", line, e);
	if (ret < 0)
		return ret;
	snprintf(line, sizeof(line), "0 %u 1", (unsigned)gid);
	return write_file("/proc/self/gid_map", line, e);
}

static void forward_signal(int sig)
{
	if (sandbox_child > 0)
		kill(sandbox_child, sig);
}

static void supervise(pid_t child)
{
	struct sigaction sa;
	int status = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward_signal;
	sigemptyset(&sa.sa_mask);
	sandbox_child = child;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR)
			_exit(2);
	}
	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	_exit(128 + WTERMSIG(status));
}

int emu_sandbox_enter(enum emu_sandbox_mode *mode, struct natlab_err *e)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int flags = CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID;
	int alive[2];
	struct pollfd pfd;
	pid_t child;
	int ret;

	if (sandbox_active)
		return 0;
	if (uid != 0)
		flags |= CLONE_NEWUSER;
	if (unshare(flags) < 0) {
		int err = errno;
		if (uid != 0 && (err == EPERM || err == EACCES || err == ENOSPC))
			return natlab_err_set(e, err,
					      "cannot create a user namespace (this host refuses unprivileged "
					      "user namespaces: see sysctl kernel.unprivileged_userns_clone, "
					      "user.max_user_namespaces or AppArmor's "
					      "restrict_unprivileged_userns); run natlab with sudo");
		if (err == EPERM)
			return natlab_err_set(e, err,
					      "cannot create network/mount/PID namespaces (missing "
					      "CAP_SYS_ADMIN, or a container that forbids them); run natlab "
					      "as root or in a privileged container");
		return natlab_err_set(e, err, "cannot create the lab's namespaces");
	}
	if (uid != 0) {
		ret = map_ids(uid, gid, e);
		if (ret < 0) {
			natlab_err_prefix(e, "cannot map uid %u into the lab's user namespace", (unsigned)uid);
			return ret;
		}
	}
	/* Nothing mounted in the lab may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return natlab_err_set(e, errno, "cannot make the lab's mounts private");

	/* The supervisor holds the write end of this pipe for as long as it
	 * lives: the child's way to learn whether it died before PDEATHSIG
	 * was armed (getppid() is 0 across a PID namespace boundary). */
	if (pipe2(alive, O_CLOEXEC) < 0)
		return natlab_err_set(e, errno, "cannot create a pipe");
	fflush(NULL);
	child = fork();
	if (child < 0)
		return natlab_err_set(e, errno, "cannot fork the lab's first process");
	if (child > 0) {
		close(alive[0]);
		supervise(child); /* never returns */
	}
	close(alive[1]);

	/* PID 1 of the lab. Die with the supervisor, whatever kills it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return natlab_err_set(e, errno, "cannot set the lab's parent-death signal");
	pfd.fd = alive[0];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 0) != 0)
		_exit(137); /* the supervisor died before prctl took effect */
	/* A /proc for this PID namespace, so that agents and tools see only the
	 * lab's processes and /proc/self/ns/net means the right thing. */
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return natlab_err_set(e, errno, "cannot mount /proc for the lab's PID namespace");
	sandbox_active = true;
	if (mode)
		*mode = uid == 0 ? EMU_SANDBOX_ROOT : EMU_SANDBOX_USERNS;
	return 0;
}

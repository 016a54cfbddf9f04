/* sandboxed.h - run a namespace test's body in a forked child that enters
 * a fresh lab sandbox (emu/sandbox.h), so whatever the body builds dies
 * with the child. Header-only. */
#ifndef NATLAB_TESTS_SANDBOXED_H
#define NATLAB_TESTS_SANDBOXED_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emu/sandbox.h"

/* ns_run_sandboxed - @body(@arg) in the child; 77 (skip) when the sandbox
 * cannot be entered here. SIGPIPE is ignored in the child (a dead agent's
 * pipe is an error to report, not a reason to die). Returns the child's
 * exit status, 1 when it did not exit. */
static inline int ns_run_sandboxed(int (*body)(const void *), const void *arg)
{
	pid_t pid;
	int status = 0;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		struct natlab_err e = {{0}};
		if (emu_sandbox_enter(NULL, &e) < 0) {
			fprintf(stderr, "skip: cannot enter the lab sandbox: %s\n", e.msg);
			_exit(77);
		}
		signal(SIGPIPE, SIG_IGN);
		int ret = body(arg);
		fflush(NULL);
		_exit(ret);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

#endif

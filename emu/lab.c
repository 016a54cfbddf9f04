/* lab.c - nodes and spawned processes of one lab; see lab.h. */
#include "emu/lab.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct emu_lab {
	struct emu_node *nodes[EMU_LAB_NODES_MAX];
	unsigned n_nodes;
	pid_t procs[EMU_LAB_PROCS_MAX]; /* 0: free slot */
};

int emu_lab_new(struct emu_lab **out, struct natlab_err *e)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return natlab_err_set(e, ENOMEM, "lab");
	return 0;
}

static int slot_of(const struct emu_lab *lab, pid_t pid)
{
	for (int i = 0; i < EMU_LAB_PROCS_MAX; i++)
		if (pid > 0 && lab->procs[i] == pid)
			return i;
	return -1;
}

static void reap(pid_t pid, int *status)
{
	int st = 0;

	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (status)
		*status = st;
}

void emu_lab_free(struct emu_lab *lab)
{
	if (!lab)
		return;
	/* Kill every group first, then reap: the processes die in parallel. */
	for (int i = 0; i < EMU_LAB_PROCS_MAX; i++)
		if (lab->procs[i] > 0)
			kill(-lab->procs[i], SIGKILL);
	for (int i = 0; i < EMU_LAB_PROCS_MAX; i++) {
		if (lab->procs[i] > 0)
			reap(lab->procs[i], NULL);
		lab->procs[i] = 0;
	}
	for (unsigned i = 0; i < lab->n_nodes; i++)
		emu_node_free(lab->nodes[i]);
	free(lab);
}

struct emu_node *emu_lab_node_find(const struct emu_lab *lab, const char *name)
{
	for (unsigned i = 0; i < lab->n_nodes; i++)
		if (strcmp(emu_node_name(lab->nodes[i]), name) == 0)
			return lab->nodes[i];
	return NULL;
}

unsigned emu_lab_node_count(const struct emu_lab *lab)
{
	return lab->n_nodes;
}

struct emu_node *emu_lab_node_at(const struct emu_lab *lab, unsigned i)
{
	return i < lab->n_nodes ? lab->nodes[i] : NULL;
}

int emu_lab_node_add(struct emu_lab *lab, const char *name, struct emu_node **out,
		     struct natlab_err *e)
{
	struct emu_node *n;
	int ret;

	if (out)
		*out = NULL;
	if (emu_lab_node_find(lab, name))
		return natlab_err_msg(e, EEXIST,
				      "node %s: this lab has a node of that name already", name);
	if (lab->n_nodes >= EMU_LAB_NODES_MAX)
		return natlab_err_msg(e, ENOSPC, "node %s: a lab holds at most %d nodes", name,
				      EMU_LAB_NODES_MAX);
	ret = emu_node_new(name, &n, e);
	if (ret < 0)
		return ret;
	lab->nodes[lab->n_nodes++] = n;
	if (out)
		*out = n;
	return 0;
}

int emu_lab_spawn(struct emu_lab *lab, struct emu_node *n, char *const argv[],
		  const struct emu_spawn_opts *o, pid_t *pid, struct natlab_err *e)
{
	int slot;
	int ret;

	for (slot = 0; slot < EMU_LAB_PROCS_MAX && lab->procs[slot] != 0; slot++)
		;
	if (slot == EMU_LAB_PROCS_MAX)
		return natlab_err_msg(e, ENOSPC,
				      "node %s: cannot run %s: a lab tracks at most %d processes",
				      emu_node_name(n), argv[0], EMU_LAB_PROCS_MAX);
	ret = emu_node_spawn(n, argv, o, pid, e);
	if (ret < 0)
		return ret;
	lab->procs[slot] = *pid;
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int emu_lab_wait(struct emu_lab *lab, pid_t pid, int *status, int timeout_ms, struct natlab_err *e)
{
	int slot = slot_of(lab, pid);
	long long deadline = now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);

	if (slot < 0)
		return natlab_err_msg(e, ECHILD, "process %d is not one this lab started",
				      (int)pid);
	for (;;) {
		int st = 0;
		pid_t r = waitpid(pid, &st, timeout_ms < 0 ? 0 : WNOHANG);

		if (r == pid) {
			if (status)
				*status = st;
			lab->procs[slot] = 0;
			return 0;
		}
		if (r < 0 && errno != EINTR)
			return natlab_err_set(e, errno, "waiting for process %d", (int)pid);
		if (timeout_ms >= 0 && now_ms() >= deadline)
			return -ETIMEDOUT;
		if (r == 0)
			poll(NULL, 0, 2); /* no pidfd portable to every libc here: short naps */
	}
}

int emu_lab_kill(struct emu_lab *lab, pid_t pid, int *status, struct natlab_err *e)
{
	int slot = slot_of(lab, pid);

	if (slot < 0)
		return natlab_err_msg(e, ECHILD, "process %d is not one this lab started",
				      (int)pid);
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL); /* in case it left its group */
	reap(pid, status);
	lab->procs[slot] = 0;
	return 0;
}

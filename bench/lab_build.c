/* lab_build.c - how fast a lab comes and goes: a five-node lab with two
 * NATs (c1 - nat1 - core - nat2 - c2) built and torn down through the C
 * API, and in the same run through the equivalent `ip`/`nft` command
 * script (bench/lab_build_baseline.sh, fed the very ruleset the C API produced).
 * Prints both medians and their ratio; target: the C API >= 10x faster.
 *
 *   bench_lab_build [ROUNDS]        (default 20)
 *
 * Everything happens inside the lab sandbox; the script gets a private
 * tmpfs on /run so that `ip netns` state never reaches the host. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emu/lab.h"
#include "emu/link.h"
#include "emu/nat.h"
#include "emu/route.h"
#include "emu/sandbox.h"

#define TRY(call)                                                                                  \
	do {                                                                                       \
		if ((call) < 0) {                                                                  \
			fprintf(stderr, "bench_lab_build: %s: %s\n", #call, e->msg);               \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int nat_config(struct emu_nat_config *c, const char *pub, struct natlab_err *e)
{
	int ret = emu_nat_preset("easy", c, e);

	if (ret < 0)
		return ret;
	snprintf(c->outside_ifname, sizeof(c->outside_ifname), "out");
	snprintf(c->public_addrs[0], sizeof(c->public_addrs[0]), "%s", pub);
	c->n_public_addrs = 1;
	return 0;
}

/* The lab of lab_build_baseline.sh, through the C API. */
static int build(struct emu_lab *lab, struct natlab_err *e)
{
	struct emu_node *c1, *nat1, *core, *nat2, *c2;
	struct emu_nat_config cfg;

	TRY(emu_lab_node_add(lab, "c1", &c1, e));
	TRY(emu_lab_node_add(lab, "nat1", &nat1, e));
	TRY(emu_lab_node_add(lab, "core", &core, e));
	TRY(emu_lab_node_add(lab, "nat2", &nat2, e));
	TRY(emu_lab_node_add(lab, "c2", &c2, e));
	TRY(emu_link_veth(c1, "eth0", nat1, "in0", e));
	TRY(emu_link_veth(nat1, "out", core, "r1", e));
	TRY(emu_link_veth(nat2, "out", core, "r2", e));
	TRY(emu_link_veth(c2, "eth0", nat2, "in0", e));
	TRY(emu_link_addr_add(c1, "eth0", "10.0.1.2/24", e));
	TRY(emu_link_addr_add(nat1, "in0", "10.0.1.1/24", e));
	TRY(emu_link_addr_add(nat1, "out", "203.0.113.1/24", e));
	TRY(emu_link_addr_add(core, "r1", "203.0.113.254/24", e));
	TRY(emu_link_addr_add(core, "r2", "198.51.100.254/24", e));
	TRY(emu_link_addr_add(nat2, "out", "198.51.100.1/24", e));
	TRY(emu_link_addr_add(nat2, "in0", "10.0.2.1/24", e));
	TRY(emu_link_addr_add(c2, "eth0", "10.0.2.2/24", e));
	TRY(emu_route_add(c1, "default", "10.0.1.1", NULL, e));
	TRY(emu_route_add(c2, "default", "10.0.2.1", NULL, e));
	TRY(emu_route_add(nat1, "default", "203.0.113.254", NULL, e));
	TRY(emu_route_add(nat2, "default", "198.51.100.254", NULL, e));
	TRY(emu_route_forwarding(nat1, true, e));
	TRY(emu_route_forwarding(nat2, true, e));
	TRY(nat_config(&cfg, "203.0.113.1", e));
	TRY(emu_nat_apply(nat1, &cfg, e));
	TRY(nat_config(&cfg, "198.51.100.1", e));
	TRY(emu_nat_apply(nat2, &cfg, e));
	return 0;
}

static int run_wait(char *const argv[], int out_fd, struct natlab_err *e)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return natlab_err_set(e, errno, "fork");
	if (pid == 0) {
		if (out_fd >= 0)
			dup2(out_fd, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return natlab_err_set(e, 0, "%s exited with status %d", argv[0],
				      WIFEXITED(status) ? WEXITSTATUS(status)
							: 128 + WTERMSIG(status));
	return 0;
}

/* The ruleset the C API put into nat1, as nft prints it, for the script. */
static int dump_ruleset(const char *path, struct natlab_err *e)
{
	struct emu_lab *lab = NULL;
	struct emu_node *nat1;
	int fd, saved, ret;
	char *argv[] = {"nft", "list", "table", "ip", EMU_NAT_TABLE, NULL};

	if (emu_lab_new(&lab, e) < 0)
		return -1;
	ret = build(lab, e);
	if (ret < 0)
		goto out;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = natlab_err_set(e, errno, "%s", path);
		goto out;
	}
	nat1 = emu_lab_node_find(lab, "nat1");
	ret = emu_node_enter(nat1, &saved, e);
	if (ret == 0) {
		ret = run_wait(argv, fd, e);
		emu_node_leave(saved);
	}
	close(fd);
out:
	emu_lab_free(lab);
	return ret;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	struct natlab_err err = {{0}};
	struct natlab_err *e = &err;
	int rounds = argc > 1 ? atoi(argv[1]) : 20;
	char script[512], ruleset[] = "/run/natlab-bench.nft";
	double *api, *cli;

	if (rounds < 1 || rounds > 1000) {
		fprintf(stderr, "usage: bench_lab_build [ROUNDS 1-1000]\n");
		return 2;
	}
	/* The script sits next to this file (CMake compiles it by absolute
	 * path), or under $NATLAB_SOURCE_DIR/bench. */
	if (getenv("NATLAB_SOURCE_DIR"))
		snprintf(script, sizeof(script), "%s/bench/lab_build_baseline.sh",
			 getenv("NATLAB_SOURCE_DIR"));
	else
		snprintf(script, sizeof(script), "%.*s/lab_build_baseline.sh",
			 (int)(strrchr(__FILE__, '/') - __FILE__), __FILE__);
	if (emu_sandbox_enter(NULL, e) < 0) {
		fprintf(stderr, "bench_lab_build: %s\n", e->msg);
		return 77;
	}
	/* `ip netns add` bind-mounts under /run/netns: give it a /run of its
	 * own, private to this sandbox's mount namespace. */
	if (mount("natlab", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0 ||
	    mkdir("/run/netns", 0755) < 0) {
		fprintf(stderr, "bench_lab_build: cannot mount a private /run: %s\n",
			strerror(errno));
		return 1;
	}
	setenv("NATLAB_IN_SANDBOX", "1", 1);
	api = calloc((size_t)rounds, sizeof(*api));
	cli = calloc((size_t)rounds, sizeof(*cli));
	if (!api || !cli)
		return 1;
	if (dump_ruleset(ruleset, e) < 0) {
		fprintf(stderr, "bench_lab_build: cannot dump the NAT ruleset: %s\n", e->msg);
		return 1;
	}
	/* Interleaved, so that both see the same machine load. */
	for (int i = 0; i < rounds; i++) {
		struct emu_lab *lab = NULL;
		char *sargv[] = {"bash", script, ruleset, NULL};
		double t0 = now_ms();

		if (emu_lab_new(&lab, e) < 0 || build(lab, e) < 0) {
			emu_lab_free(lab);
			return 1;
		}
		emu_lab_free(lab);
		api[i] = now_ms() - t0;
		t0 = now_ms();
		if (run_wait(sargv, -1, e) < 0) {
			fprintf(stderr, "bench_lab_build: baseline script: %s\n", e->msg);
			return 1;
		}
		cli[i] = now_ms() - t0;
	}
	double ma = median(api, rounds), mc = median(cli, rounds);
	printf("lab build+teardown, 5 nodes, 4 veths, 2 NATs (%d rounds)\n", rounds);
	printf("  natlab C API    median %8.2f ms\n", ma);
	printf("  ip/nft script   median %8.2f ms\n", mc);
	printf("  ratio           %8.1fx faster (target >= 10x)\n", mc / ma);
	free(api);
	free(cli);
	return 0;
}

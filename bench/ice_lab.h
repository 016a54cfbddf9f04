/* ice_lab.h - the two-NAT lab natlab-ice is tested and benchmarked in
 * (tests/ns/ice_nat.c, bench_ice_connect --nat):
 *
 *   a 10.0.1.2 -- nata (203.0.113.1) --+
 *                                      inet (198.51.100.1: natlab-turn-server,
 *   b 10.0.2.2 -- natb (198.18.0.1) ---+       which also answers STUN)
 *
 * build_delayed() makes every one of the four links an impaired link
 * (emu/impair.h: the userspace link emulator, no sch_netem needed) with
 * the same one-way delay both ways, so a <-> b has an RTT of 8 x delay and
 * a <-> inet one of 4 x delay. lab_free() takes down what either built.
 *
 * Header-only (static functions) so that a test and a benchmark can share
 * it without a library of their own. Build it inside the sandbox.
 */
#ifndef NATLAB_BENCH_ICE_LAB_H
#define NATLAB_BENCH_ICE_LAB_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "bench/ice_pairrun.h"
#include "emu/lab.h"
#include "emu/impair.h"
#include "emu/link.h"
#include "emu/nat.h"
#include "emu/route.h"

#define SRV "198.51.100.1"

struct lab {
	struct emu_lab *lab;
	struct emu_node *a, *b, *nata, *natb, *inet;
	pid_t turn;
	struct emu_impair *imp[4]; /* build_delayed() only; NULL otherwise */
};

#define TRY(call)                                                                                  \
	do {                                                                                       \
		if ((call) < 0) {                                                                  \
			fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, e.msg);      \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

static inline int nat(struct emu_node *n, const char *preset, const char *pub,
		      struct natlab_err *err)
{
	struct natlab_err e = {{0}};
	struct emu_nat_config c;
	TRY(emu_nat_preset(preset, &c, &e));
	snprintf(c.outside_ifname, sizeof(c.outside_ifname), "out");
	snprintf(c.public_addrs[0], sizeof(c.public_addrs[0]), "%s", pub);
	c.n_public_addrs = 1;
	TRY(emu_nat_apply(n, &c, &e));
	(void)err;
	return 0;
}

static inline pid_t spawn(void *ctx, int which, char *const argv[], int in_fd, int out_fd)
{
	struct lab *l = ctx;
	struct natlab_err e = {{0}};
	struct emu_spawn_opts o = {.stdin_fd = in_fd, .stdout_fd = out_fd, .stderr_fd = 2};
	pid_t pid;
	if (emu_lab_spawn(l->lab, which == 0 ? l->a : l->b, argv, &o, &pid, &e) < 0) {
		fprintf(stderr, "spawn: %s\n", e.msg);
		return -1;
	}
	return pid;
}

/* natlab-turn-server in "inet"; ready when its TCP listener accepts. */
static inline int start_turn(struct lab *l, const char *bin)
{
	struct natlab_err e = {{0}};
	char path[512];
	char *argv[] = {path, "--listen", SRV ":3478", "--user", "natlab:natlab", NULL};
	struct emu_spawn_opts o = {.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = 2};
	double dl;
	snprintf(path, sizeof(path), "%s/natlab-turn-server", bin);
	TRY(emu_lab_spawn(l->lab, l->inet, argv, &o, &l->turn, &e));
	dl = pr_now_ms() + 5000;
	while (pr_now_ms() < dl) {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(3478)};
		int fd = emu_node_socket(l->inet, AF_INET, SOCK_STREAM, 0, &e);
		int ok;
		inet_pton(AF_INET, SRV, &sin.sin_addr);
		ok = fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		if (fd >= 0)
			close(fd);
		if (ok)
			return 0;
		usleep(5000);
	}
	fprintf(stderr, "natlab-turn-server did not start\n");
	return -1;
}

/* link - a plain veth, or an impaired link with @delay_us each way. */
static inline int ice_lab_link(struct lab *l, unsigned k, struct emu_node *x, const char *ix,
			       struct emu_node *y, const char *iy, uint32_t delay_us,
			       struct natlab_err *e)
{
	struct emu_impair_config c = {.delay_us = delay_us};
	if (delay_us == 0)
		return emu_link_veth(x, ix, y, iy, e);
	if (emu_impair_new(x, ix, y, iy, &l->imp[k], e) < 0)
		return -1;
	if (emu_impair_set(l->imp[k], EMU_IMPAIR_A_TO_B, &c, e) < 0 ||
	    emu_impair_set(l->imp[k], EMU_IMPAIR_B_TO_A, &c, e) < 0)
		return -1;
	return 0;
}

/* lab_free - the impaired links first (they need their nodes), then the
 * lab with its processes. Accepts a half-built lab. */
/* ice_lab_agent_argv - the command line of agent @impl (natlab-ice or
 * natlab-nice, in @bin) for this lab: its role, the lab's STUN server, TURN
 * server @turn ("udp:IP:PORT", ...) with the lab's user, RTO 200 ms, then
 * the NULL-terminated @extra arguments. @v needs room for 14 + extras;
 * @path (512 bytes) holds the program's path. */
static inline void ice_lab_agent_argv(char **v, char *path, const char *bin, const char *impl,
				      bool controlling, const char *turn, const char *const *extra)
{
	int k = 0;

	snprintf(path, 512, "%s/%s", bin, impl);
	v[k++] = path;
	v[k++] = "--role";
	v[k++] = controlling ? "controlling" : "controlled";
	v[k++] = "--stun";
	v[k++] = SRV ":3478";
	v[k++] = "--turn";
	v[k++] = (char *)turn;
	v[k++] = "--turn-user";
	v[k++] = "natlab";
	v[k++] = "--turn-pass";
	v[k++] = "natlab";
	v[k++] = "--rto-ms";
	v[k++] = "200";
	for (; extra && *extra; extra++)
		v[k++] = (char *)*extra;
	v[k] = NULL;
}

static inline void lab_free(struct lab *l)
{
	for (unsigned k = 0; k < 4; k++) {
		emu_impair_free(l->imp[k]);
		l->imp[k] = NULL;
	}
	emu_lab_free(l->lab);
	l->lab = NULL;
}

static inline int build_delayed(struct lab *l, const char *bin, const char *preset_a,
				const char *preset_b, uint32_t delay_us)
{
	struct natlab_err e = {{0}};
	memset(l, 0, sizeof(*l));
	TRY(emu_lab_new(&l->lab, &e));
	TRY(emu_lab_node_add(l->lab, "a", &l->a, &e));
	TRY(emu_lab_node_add(l->lab, "b", &l->b, &e));
	TRY(emu_lab_node_add(l->lab, "nata", &l->nata, &e));
	TRY(emu_lab_node_add(l->lab, "natb", &l->natb, &e));
	TRY(emu_lab_node_add(l->lab, "inet", &l->inet, &e));
	TRY(ice_lab_link(l, 0, l->a, "eth0", l->nata, "in", delay_us, &e));
	TRY(ice_lab_link(l, 1, l->b, "eth0", l->natb, "in", delay_us, &e));
	TRY(ice_lab_link(l, 2, l->nata, "out", l->inet, "ra", delay_us, &e));
	TRY(ice_lab_link(l, 3, l->natb, "out", l->inet, "rb", delay_us, &e));
	TRY(emu_link_addr_add(l->a, "eth0", "10.0.1.2/24", &e));
	TRY(emu_link_addr_add(l->b, "eth0", "10.0.2.2/24", &e));
	TRY(emu_link_addr_add(l->nata, "in", "10.0.1.1/24", &e));
	TRY(emu_link_addr_add(l->natb, "in", "10.0.2.1/24", &e));
	TRY(emu_link_addr_add(l->nata, "out", "203.0.113.1/24", &e));
	TRY(emu_link_addr_add(l->natb, "out", "198.18.0.1/24", &e));
	TRY(emu_link_addr_add(l->inet, "ra", "203.0.113.254/24", &e));
	TRY(emu_link_addr_add(l->inet, "rb", "198.18.0.254/24", &e));
	TRY(emu_link_addr_add(l->inet, "lo", SRV "/32", &e));
	TRY(emu_route_add(l->a, "default", "10.0.1.1", NULL, &e));
	TRY(emu_route_add(l->b, "default", "10.0.2.1", NULL, &e));
	TRY(emu_route_add(l->nata, "default", "203.0.113.254", NULL, &e));
	TRY(emu_route_add(l->natb, "default", "198.18.0.254", NULL, &e));
	TRY(emu_route_forwarding(l->nata, true, &e));
	TRY(emu_route_forwarding(l->natb, true, &e));
	TRY(emu_route_forwarding(l->inet, true, &e));
	if (nat(l->nata, preset_a, "203.0.113.1", &e) < 0 ||
	    nat(l->natb, preset_b, "198.18.0.1", &e) < 0)
		return -1;
	return start_turn(l, bin);
}

static inline int build(struct lab *l, const char *bin, const char *preset_a, const char *preset_b)
{
	return build_delayed(l, bin, preset_a, preset_b, 0);
}

#endif

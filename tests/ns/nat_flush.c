/* nat_flush.c - "NAT reboot" (emu_nat_flush) and a NAT re-applied with
 * new knobs (emu_nat_apply over an existing NAT), each under a live flow:
 * a client keeps sending through the NAT meanwhile. Every datagram sent
 * after the call returned must leave through a new mapping, and the old
 * public port must be closed: the change is one step, so no packet of the
 * live flow can slip in half-way and teach the fresh sets its old mapping
 * back from a conntrack entry not yet flushed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>

#include "nat_topo.h"

#define FLUSHES	  5	 /* flush rounds, each under the live flow */
#define AFTER_MS  300	 /* how long each round watches the flow after its flush */
#define GAP_NS	  50000L /* between two datagrams of the flow: ~20k/s */
#define PORT_BASE 30000

struct flow {
	int fd;
	atomic_int epoch; /* the number of flushes done when a datagram is sent */
	atomic_bool stop;
};

/* The live flow: "<epoch>" datagrams to SRV1:4000, back to back. */
static void *flow_main(void *arg)
{
	struct flow *f = arg;
	const struct timespec gap = {0, GAP_NS};

	while (!atomic_load(&f->stop)) {
		char m[16];
		snprintf(m, sizeof(m), "%d", atomic_load(&f->epoch));
		udp_send(f->fd, SRV1, 4000, m);
		nanosleep(&gap, NULL);
	}
	return NULL;
}

/* Round r of the re-apply case uses ports PORT_BASE + 1000 r ...: a new
 * ruleset restarts its sequential counter, so each round needs a range of
 * its own to tell its mapping from the last round's. */
static int g_round;
static bool g_reapply;

static void tweak_sequential(struct emu_nat_config *c)
{
	c->ports = EMU_NAT_PORTS_SEQUENTIAL;
	c->port_min = (uint16_t)(PORT_BASE + (g_reapply ? 1000 * g_round : 0));
	c->port_max = (uint16_t)(c->port_min + 999);
}

/* The change under test for round @round; the port its first new mapping
 * must get. */
static int change(struct topo *t, int round, int *want)
{
	struct natlab_err e = {{0}};

	g_round = round;
	if (g_reapply) {
		*want = PORT_BASE + 1000 * round;
		return topo_nat(t, "full-cone", tweak_sequential);
	}
	*want = PORT_BASE + round; /* sequential: the next port */
	if (emu_nat_flush(t->nat, &e) < 0) {
		fprintf(stderr, "flush: %s\n", e.msg);
		return -1;
	}
	return 0;
}

static int live_body(void)
{
	const char *what = g_reapply ? "re-apply" : "flush";
	struct topo t;
	struct flow f = {.fd = -1};
	struct sockaddr_in from;
	pthread_t th;
	bool started = false;
	char m[64];
	int rc = 0, s = -1, port = -1, first = -1;

	/* re-apply: from symmetric to full-cone, each sequential in its own range */
	g_round = 0;
	if (topo_build(&t) < 0 ||
	    topo_nat(&t, g_reapply ? "symmetric" : "full-cone", tweak_sequential) < 0) {
		topo_free(&t);
		return 1;
	}
	s = udp_open(t.inet, SRV1, 4000);
	f.fd = udp_open(t.c1, NULL, 40000);
	CHECK(s >= 0 && f.fd >= 0, "sockets");
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &(int){4 << 20}, sizeof(int));
	CHECK(pthread_create(&th, NULL, flow_main, &f) == 0, "thread");
	started = true;
	CHECK(udp_recv(s, 2000, m, sizeof(m), &from), "the flow does not get through");
	port = first = ntohs(from.sin_port);
	CHECK(g_reapply || port == PORT_BASE, "first mapping %d, want %d", port, PORT_BASE);
	for (int round = 1; round <= FLUSHES; round++) {
		int old = port, after = 0, stale = 0, other = 0, want = 0;
		long long t0 = topo_now_ms(), end;
		CHECK(change(&t, round, &want) == 0, "%s %d failed", what, round);
		atomic_store(&f.epoch, round);
		port = -1;
		end = topo_now_ms() + AFTER_MS;
		while (topo_now_ms() < end && udp_recv(s, 200, m, sizeof(m), &from)) {
			if (atoi(m) != round)
				continue; /* sent before this flush returned */
			after++;
			if (ntohs(from.sin_port) == old)
				stale++;
			else if (port < 0)
				port = ntohs(from.sin_port);
			else if (ntohs(from.sin_port) != port)
				other++;
		}
		fprintf(stderr,
			"%s %d (%lld ms): %d datagrams sent after it, old port %d seen %d times, "
			"new port %d\n",
			what, round, end - AFTER_MS - t0, after, old, stale, port);
		CHECK(after > 0, "%s %d: the flow stopped getting through", what, round);
		CHECK(stale == 0,
		      "%s %d: %d of %d datagrams sent after it left from the old public port %d: "
		      "the old mapping was learnt back",
		      what, round, stale, after, old);
		CHECK(other == 0 && port == want,
		      "%s %d: new mapping %d (want %d), %d datagrams from yet another port", what,
		      round, port, want, other);
	}
	/* and the old mapping no longer leads in */
	atomic_store(&f.stop, true);
	pthread_join(th, NULL);
	started = false;
	while (udp_recv_text(f.fd, 50, m, sizeof(m)))
		;
	udp_send(s, PUB1, (uint16_t)first, "old");
	udp_send(s, PUB1, (uint16_t)port, "control");
	{
		bool old = false, ctl = false;
		while (!ctl && udp_recv(f.fd, 2000, m, sizeof(m), &from)) {
			old |= strcmp(m, "old") == 0;
			ctl |= strcmp(m, "control") == 0;
		}
		CHECK(ctl && !old,
		      "the first mapping still leads in (%d) or the last one does not (%d)", old,
		      !ctl);
	}
out:
	if (started) {
		atomic_store(&f.stop, true);
		pthread_join(th, NULL);
	}
	if (s >= 0)
		close(s);
	if (f.fd >= 0)
		close(f.fd);
	topo_free(&t);
	return rc;
}

static void t_flush_live_flow(void **state)
{
	g_reapply = false;
	TOPO_CASE(live_body);
}

static void t_reapply_live_flow(void **state)
{
	g_reapply = true;
	TOPO_CASE(live_body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_flush_live_flow),
	    cmocka_unit_test(t_reapply_live_flow),
	};

	if (!topo_sandbox_available())
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

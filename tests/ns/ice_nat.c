/* ice_nat.c - natlab-ice through real kernel NATs (emu/nat.h):
 *
 *   a 10.0.1.2 -- nata (203.0.113.1) --+
 *                                      inet (198.51.100.1: natlab-turn-server,
 *   b 10.0.2.2 -- natb (198.18.0.1) ---+       which also answers STUN)
 *
 * Both agents gather host, srflx (STUN) and relayed (TURN) candidates; the
 * test plays the harness (signalling relayed by bench/ice_pairrun.h) and
 * checks the path each pairing of NATs must take:
 *  - port-restricted <-> port-restricted: direct (srflx/prflx), no relay;
 *  - symmetric <-> port-restricted: through the relay;
 *  - udp-blocked <-> port-restricted: the blocked side relays over TCP;
 *  - a NAT reboot mid-session (mappings flushed, back on a new public
 *    address) is caught by consent freshness, and an ICE restart recovers.
 * Each case builds its own lab in its own sandbox; the lab's teardown
 * kills every process it started.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "bench/ice_lab.h"
#include "emu/lab.h"
#include "emu/link.h"
#include "emu/nat.h"
#include "emu/route.h"
#include "emu/sandbox.h"
#include "sandboxed.h"

static void agent_argv(char **v, char *path, bool controlling, const char *turn,
		       const char *const *extra)
{
	ice_lab_agent_argv(v, path, NATLAB_BIN_DIR, "natlab-ice", controlling, turn, extra);
}

/* What a case expects of the selected pair. */
enum path { DIRECT, RELAYED, RELAYED_TCP_A };

static bool is_direct(const char *t)
{
	return strcmp(t, "srflx") == 0 || strcmp(t, "prflx") == 0 || strcmp(t, "host") == 0;
}

static int run_case(const char *preset_a, const char *preset_b, const char *turn_a, enum path want,
		    const char *impl_b, const char *const *extra)
{
	struct lab l;
	struct pr_result r;
	char pa[512], pb[512];
	char *av[24], *bv[24];
	int ret = 1;

	if (build(&l, NATLAB_BIN_DIR, preset_a, preset_b) < 0)
		goto out;
	agent_argv(av, pa, true, turn_a, extra);
	ice_lab_agent_argv(bv, pb, NATLAB_BIN_DIR, impl_b, false, "udp:" SRV ":3478", extra);
	pr_run_hook(av, bv, 20, 20000, getenv("ICE_TEST_VERBOSE") != NULL, spawn, &l, &r);
	fprintf(stderr, "%s <-> %s (%s)%s: %s%s selected A %s->%s%s%s, B %s->%s, connect %.0f ms\n",
		preset_a, preset_b, impl_b, extra ? " trickle" : "",
		r.ok ? "ok" : "FAILED: ", r.ok ? "" : r.why, r.a.sel_local_type,
		r.a.sel_remote_type, r.a.sel_relay_transport[0] ? " via " : "",
		r.a.sel_relay_transport, r.b.sel_local_type, r.b.sel_remote_type, r.connect_ms);
	if (!r.ok)
		goto out;
	switch (want) {
	case DIRECT:
		/* a relay where a direct path exists is a regression */
		if (!is_direct(r.a.sel_local_type) || !is_direct(r.a.sel_remote_type) ||
		    !is_direct(r.b.sel_local_type) || !is_direct(r.b.sel_remote_type))
			goto out;
		break;
	case RELAYED:
		if (strcmp(r.a.sel_local_type, "relay") != 0 &&
		    strcmp(r.a.sel_remote_type, "relay") != 0)
			goto out;
		break;
	case RELAYED_TCP_A:
		if (strcmp(r.a.sel_local_type, "relay") != 0 ||
		    strcmp(r.a.sel_relay_transport, "tcp") != 0)
			goto out;
		break;
	}
	ret = 0;
out:
	emu_lab_free(l.lab);
	return ret;
}

static bool any_consent_lost(struct pr_result *r)
{
	return r->a.n_consent_lost > 0 || r->b.n_consent_lost > 0;
}

static int sel_a, sel_b;
static bool both_reselected(struct pr_result *r)
{
	return r->a.n_selected > sel_a && r->b.n_selected > sel_b;
}

static int run_flush(void)
{
	struct lab l;
	struct pr_result r;
	struct natlab_err e = {{0}};
	char pa[512], pb[512];
	char *av[24], *bv[24];
	bool verbose = getenv("ICE_TEST_VERBOSE") != NULL;
	double t0, t_flush;
	struct pr_agent *lost;
	int ret = 1;

	/* symmetric NAT: after the flush the mapping comes back on a new
	 * random port, so the peer's consent checks to the old one die */
	if (build(&l, NATLAB_BIN_DIR, "symmetric", "full-cone") < 0)
		goto out;
	/* fast consent: checks every ~200 ms, lost after 1.5 s */
	static const char *const fast[] = {"--consent-timeout-ms", "1500", "--keepalive-ms", "200",
					   NULL};
	agent_argv(av, pa, true, "udp:" SRV ":3478", fast);
	agent_argv(bv, pb, false, "udp:" SRV ":3478", fast);
	if (!pr_start(&r, av, bv, spawn, &l, verbose))
		goto fail;
	t0 = pr_now_ms();
	pr_send(&r.a, json_pack("{s:s}", "cmd", "gather"));
	pr_send(&r.b, json_pack("{s:s}", "cmd", "gather"));
	if (!pr_pump(&r, t0, 20000, pr_both_selected, verbose) || !pr_data(&r, t0, 10, verbose))
		goto fail;
	fprintf(stderr, "flush: connected A %s->%s\n", r.a.sel_local_type, r.a.sel_remote_type);
	/* "NAT reboot": mappings flushed and the NAT comes back on another
	 * public address, so the old mapping cannot come back by chance
	 * (ports may be chosen by a hash of the flow) */
	if (emu_nat_flush(l.nata, &e) < 0 ||
	    emu_link_addr_add(l.nata, "out", "203.0.113.3/24", &e) < 0 ||
	    nat(l.nata, "symmetric", "203.0.113.3", &e) < 0) {
		fprintf(stderr, "NAT reboot: %s\n", e.msg);
		goto fail;
	}
	t_flush = pr_now_ms() - t0;
	/* consent timeout 1.5 s: lost within a few seconds, not before 1 s */
	if (!pr_pump(&r, t0, 8000, any_consent_lost, verbose))
		goto fail;
	lost = r.a.n_consent_lost ? &r.a : &r.b;
	fprintf(stderr, "flush: consent lost on %s %.0f ms after the flush\n", lost->name,
		lost->t_consent_lost - t_flush);
	if (lost->t_consent_lost - t_flush < 1000)
		goto fail;
	/* the harness answers with an ICE restart on that side */
	sel_a = r.a.n_selected;
	sel_b = r.b.n_selected;
	pr_send(lost, json_pack("{s:s}", "cmd", "restart"));
	if (!pr_pump(&r, t0, 20000, both_reselected, verbose))
		goto fail;
	fprintf(stderr, "flush: restarted, selected A %s->%s\n", r.a.sel_local_type,
		r.a.sel_remote_type);
	if (!pr_data(&r, t0, 10, verbose))
		goto fail;
	ret = 0;
fail:
	if (ret)
		fprintf(stderr, "flush: FAILED: %s\n", r.why);
	pr_finish(&r);
out:
	emu_lab_free(l.lab);
	return ret;
}

struct nat_case {
	const char *a, *b, *turn_a;
	enum path want;
	const char *impl_b; /* NULL: natlab-ice */
	bool trickle;
};

static int case_body(const void *arg)
{
	static const char *const trickle[] = {"--trickle", NULL};
	const struct nat_case *c = arg;
	return run_case(c->a, c->b, c->turn_a, c->want, c->impl_b ? c->impl_b : "natlab-ice",
			c->trickle ? trickle : NULL);
}

static int flush_body(const void *arg)
{
	(void)arg;
	return run_flush();
}

static void check(int r)
{
	if (r == 77)
		skip();
	assert_int_equal(r, 0);
}

static void t_easy_easy(void **st)
{
	static const struct nat_case c = {"port-restricted-cone",
					  "port-restricted-cone",
					  "udp:" SRV ":3478",
					  DIRECT,
					  NULL,
					  false};
	(void)st;
	check(ns_run_sandboxed(case_body, &c));
}

static void t_symmetric_easy(void **st)
{
	static const struct nat_case c = {
	    "symmetric", "port-restricted-cone", "udp:" SRV ":3478", RELAYED, NULL, false};
	(void)st;
	check(ns_run_sandboxed(case_body, &c));
}

static void t_udp_blocked(void **st)
{
	static const struct nat_case c = {
	    "udp-blocked", "port-restricted-cone", "tcp:" SRV ":3478", RELAYED_TCP_A, NULL, false};
	(void)st;
	check(ns_run_sandboxed(case_body, &c));
}

static void t_trickle_easy_easy(void **st)
{
	static const struct nat_case c = {
	    "port-restricted-cone", "port-restricted-cone", "udp:" SRV ":3478", DIRECT, NULL, true};
	(void)st;
	check(ns_run_sandboxed(case_body, &c));
}

static bool have_nice(void)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/natlab-nice", NATLAB_BIN_DIR);
	return access(p, X_OK) == 0;
}

/* interop through the NATs: natlab-ice controlling, libnice controlled */
static void t_nice_easy_easy(void **st)
{
	static const struct nat_case c = {"port-restricted-cone", "port-restricted-cone",
					  "udp:" SRV ":3478",	  DIRECT,
					  "natlab-nice",	  false};
	(void)st;
	if (!have_nice())
		skip();
	check(ns_run_sandboxed(case_body, &c));
}

static void t_nice_symmetric_easy(void **st)
{
	static const struct nat_case c = {"symmetric", "port-restricted-cone", "udp:" SRV ":3478",
					  RELAYED,     "natlab-nice",	       false};
	(void)st;
	if (!have_nice())
		skip();
	check(ns_run_sandboxed(case_body, &c));
}

static void t_flush_restart(void **st)
{
	(void)st;
	check(ns_run_sandboxed(flush_body, NULL));
}

static int probe(const void *arg)
{
	(void)arg;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_easy_easy),	     cmocka_unit_test(t_symmetric_easy),
	    cmocka_unit_test(t_udp_blocked),	     cmocka_unit_test(t_flush_restart),
	    cmocka_unit_test(t_trickle_easy_easy),   cmocka_unit_test(t_nice_easy_easy),
	    cmocka_unit_test(t_nice_symmetric_easy),
	};
	if (ns_run_sandboxed(probe, NULL) == 77)
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

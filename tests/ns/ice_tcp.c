/* ice_tcp.c - ICE-TCP (RFC 6544) through the lab: natlab-ice across a
 * network that drops every UDP packet but lets TCP through.
 *
 *   a 10.0.1.2 -- nata (udp-blocked NAT, 203.0.113.1) --+
 *                                                       inet (198.51.100.1:
 *   b 10.0.2.2 -- natb ("open": routed, no NAT) --------+   natlab-turn-server)
 *
 * (bench/ice_lab.h's lab, plus a route in inet to b's network, which the
 * "open" preset leaves untranslated). a can reach no one over UDP; b is
 * reachable over TCP. Both agents have a TURN server (a over TCP, b over
 * UDP), so a relayed path exists too:
 *  - with --tcp on both, ICE must select the direct TCP pair (a's active
 *    candidate, seen by b as peer-reflexive through a's NAT, to b's
 *    passive host candidate), not the relay, and carry data both ways;
 *  - the same with libnice's ICE-TCP (natlab-nice --tcp) as b;
 *  - without --tcp, the same lab connects through the relay (the
 *    baseline this feature improves on).
 * The selected pairs are read from the agents' own "selected" events
 * (pr_run's verbose trace, captured from stderr).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench/ice_lab.h"
#include "emu/sandbox.h"
#include "sandboxed.h"

struct endpoint {
	char type[16], transport[8], tcptype[16];
};

struct seen {
	bool selected;
	struct endpoint local, remote;
};

static void endpoint_get(struct endpoint *e, json_t *o)
{
	const char *t = json_string_value(json_object_get(o, "type"));
	const char *tr = json_string_value(json_object_get(o, "transport"));
	const char *tt = json_string_value(json_object_get(o, "tcptype"));
	snprintf(e->type, sizeof(e->type), "%s", t ? t : "?");
	snprintf(e->transport, sizeof(e->transport), "%s", tr ? tr : "?");
	snprintf(e->tcptype, sizeof(e->tcptype), "%s", tt ? tt : "");
}

/* The last "selected"/"switched" event of agents A and B in @f, a
 * pr_run verbose trace ("  123.4 A: {json}"). */
static void read_trace(FILE *f, struct seen *a, struct seen *b)
{
	char line[8192];
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		char who;
		char *js;
		json_t *ev;
		const char *name;
		if (sscanf(line, "%*f %c:", &who) != 1 || (who != 'A' && who != 'B'))
			continue;
		js = strchr(line, '{');
		if (!js)
			continue;
		ev = json_loads(js, 0, NULL);
		if (!ev)
			continue;
		name = json_string_value(json_object_get(ev, "ev"));
		if (name && (strcmp(name, "selected") == 0 || strcmp(name, "switched") == 0)) {
			struct seen *s = who == 'A' ? a : b;
			s->selected = true;
			endpoint_get(&s->local, json_object_get(ev, "local"));
			endpoint_get(&s->remote, json_object_get(ev, "remote"));
		}
		json_decref(ev);
	}
}

/* a's and b's command lines: the lab's servers, A's gathering bounded
 * (its firewall hides the STUN server), --tcp when asked */
static void argv_fill(char **v, char *path, const char *impl, bool controlling, const char *turn,
		      bool tcp)
{
	static const char *const plain[] = {"--gather-timeout-ms", "1000", NULL};
	static const char *const with_tcp[] = {"--gather-timeout-ms", "1000", "--tcp", NULL};

	ice_lab_agent_argv(v, path, NATLAB_BIN_DIR, impl, controlling, turn,
			   tcp ? with_tcp : plain);
}

static void show(const char *who, const struct seen *s)
{
	fprintf(stderr, "  %s selected %s/%s%s%s -> %s/%s%s%s\n", who, s->local.type,
		s->local.transport, s->local.tcptype[0] ? "/" : "", s->local.tcptype,
		s->remote.type, s->remote.transport, s->remote.tcptype[0] ? "/" : "",
		s->remote.tcptype);
}

static int run_case(bool tcp, const char *impl_b)
{
	struct natlab_err e = {{0}};
	struct lab l;
	struct pr_result r;
	struct seen sa = {0}, sb = {0};
	char pa[512], pb[512];
	char *av[24], *bv[24];
	FILE *trace = tmpfile();
	int saved = -1, ret = 1;

	memset(&l, 0, sizeof(l));
	if (!trace)
		goto out;
	if (build(&l, NATLAB_BIN_DIR, "udp-blocked", "open") < 0)
		goto out;
	/* b's network is routed, not translated: inet needs the way to it */
	if (emu_route_add(l.inet, "10.0.2.0/24", "198.18.0.1", NULL, &e) < 0) {
		fprintf(stderr, "route: %s\n", e.msg);
		goto out;
	}
	argv_fill(av, pa, "natlab-ice", true, "tcp:" SRV ":3478", tcp);
	argv_fill(bv, pb, impl_b, false, "udp:" SRV ":3478", tcp);
	/* the verbose trace (and the agents' stderr) into @trace */
	fflush(stderr);
	saved = dup(2);
	if (saved < 0 || dup2(fileno(trace), 2) < 0)
		goto out;
	pr_run_hook(av, bv, 20, 20000, true, spawn, &l, &r);
	fflush(stderr);
	dup2(saved, 2);
	read_trace(trace, &sa, &sb);
	/* connect_ms includes a's gathering, which waits --gather-timeout-ms
	 * for the STUN server its firewall hides; from the later of the two
	 * descriptions on it is ICE's own time */
	fprintf(stderr,
		"udp-blocked <-> open (%s)%s: %s%s, connect %.0f ms, %.0f ms after the "
		"descriptions\n",
		impl_b, tcp ? " --tcp" : "", r.ok ? "ok" : "FAILED: ", r.ok ? "" : r.why,
		r.connect_ms,
		r.connect_ms - (r.a.t_local > r.b.t_local ? r.a.t_local : r.b.t_local));
	show("A", &sa);
	show("B", &sb);
	if (!r.ok || !sa.selected || !sb.selected)
		goto out;
	if (tcp) {
		/* a direct TCP pair on both sides: a's active candidate (a NAT
		 * in front: peer-reflexive) to b's passive host candidate */
		if (strcmp(sa.local.transport, "tcp") != 0 ||
		    strcmp(sb.local.transport, "tcp") != 0 || strcmp(sa.local.type, "relay") == 0 ||
		    strcmp(sa.remote.type, "relay") == 0 || strcmp(sb.local.type, "relay") == 0 ||
		    strcmp(sb.remote.type, "relay") == 0 ||
		    strcmp(sa.local.tcptype, "active") != 0 ||
		    strcmp(sa.remote.tcptype, "passive") != 0 ||
		    strcmp(sb.local.tcptype, "passive") != 0 ||
		    strcmp(sb.remote.type, "prflx") != 0)
			goto out;
	} else {
		/* without ICE-TCP the only way is a's relay over TCP */
		if (strcmp(sa.local.type, "relay") != 0)
			goto out;
	}
	ret = 0;
out:
	if (saved >= 0) {
		dup2(saved, 2);
		close(saved);
	}
	if (ret != 0 && trace) {
		/* the whole trace, to see why */
		char line[8192];
		rewind(trace);
		while (fgets(line, sizeof(line), trace))
			fputs(line, stderr);
	}
	if (trace)
		fclose(trace);
	emu_lab_free(l.lab);
	return ret;
}

/* Each case runs in a forked child inside its own sandbox (sandboxed.h). */
struct case_arg {
	bool tcp;
	const char *impl_b;
	bool probe_only;
};

static int case_body(const void *p)
{
	const struct case_arg *c = p;
	return c->probe_only ? 0 : run_case(c->tcp, c->impl_b);
}

static int sandboxed(bool tcp, const char *impl_b, bool probe_only)
{
	struct case_arg c = {tcp, impl_b, probe_only};
	return ns_run_sandboxed(case_body, &c);
}

static void check(int r)
{
	if (r == 77)
		skip();
	assert_int_equal(r, 0);
}

static void t_tcp_direct(void **st)
{
	(void)st;
	check(sandboxed(true, "natlab-ice", false));
}

/* libnice (natlab-nice, built when libnice-dev is installed) as b */
static void t_tcp_direct_nice(void **st)
{
	char path[512];
	(void)st;
	snprintf(path, sizeof(path), "%s/natlab-nice", NATLAB_BIN_DIR);
	if (access(path, X_OK) != 0)
		skip();
	check(sandboxed(true, "natlab-nice", false));
}

static void t_no_tcp_relays(void **st)
{
	(void)st;
	check(sandboxed(false, "natlab-ice", false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_tcp_direct),
	    cmocka_unit_test(t_tcp_direct_nice),
	    cmocka_unit_test(t_no_tcp_relays),
	};
	if (sandboxed(false, NULL, true) == 77)
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* adaptercheck_net.c - the rounds of `natlab adapter-check` that run the
 * candidate as the default matrix (scenarios/matrix.lua) does: trickling
 * (RFC 8838), behind a NAT, with a STUN server and a TURN server on UDP,
 * TCP (and TLS when the lab certificate is found), the matrix's timer
 * options, against a reference agent behind a port-restricted NAT.
 *
 *   ncand 10.99.1.2 - nnat (10.99.1.1 | 203.0.113.1) - nsrv 203.0.113.10
 *   npeer 10.99.2.2 - nnat2 (10.99.2.1 | 198.51.100.1) - nsrv 198.51.100.10
 *
 * nsrv routes between the two sides and runs natlab-turn-server on
 * 203.0.113.10 with the matrix's listeners (3478 UDP/TCP, 80 TCP, 443 and
 * 5349 TLS); 3478 is the STUN server too (RFC 8656 §2: a TURN
 * server answers Binding requests). One round per kind of matrix cell:
 *   trickle    both NATs port-restricted: a direct (srflx/prflx) path;
 *   relay-udp  the candidate behind a symmetric NAT and only the candidate
 *              given TURN: its own relay over UDP is the only path;
 *   relay-tcp  the candidate behind a UDP-blocking firewall: its relay over
 *              TCP or TLS is the only path;
 *   tcp-web-only  behind a firewall that lets only TCP to 80 and 443 out:
 *              its relay over TCP 80 or TLS 443;
 *   tls-443    the same firewall, TURN given only as TLS on 443.
 * Each round checks the trickle sequence, the srflx and relay candidates,
 * and data both ways; its path is judged as a matrix cell's
 * (docs/expected-matrix.md, "Verdicts"), by natlab.wire itself
 * (harness/wirejudge.h) at the NATs' outsides and the TURN server: the
 * class the data settled on against the round's, and the candidate's
 * latest claim (selected/switched) against the wire. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agents/ice/candidate.h"
#include "emu/link.h"
#include "emu/nat.h"
#include "emu/route.h"
#include "harness/adaptercheck_int.h"
#include "harness/luanet.h"
#include "harness/planechoice.h"
#include "harness/wirejudge.h"

#define NET_CAND_IP  "10.99.1.2"
#define NET_NAT_IN   "10.99.1.1"
#define NET_NAT_OUT  "203.0.113.1"
#define NET_SRV_A    "203.0.113.10"
#define NET_SRV_B    "198.51.100.10"
#define NET_NAT2_OUT "198.51.100.1"
#define NET_NAT2_IN  "10.99.2.1"
#define NET_PEER_IP  "10.99.2.2"
/* The matrix's TURN ports (scen.TURN_PORTS, scenarios/prelude/30_scen.lua):
 * UDP and TCP on 3478 (RFC 8656 §4's default), TCP on 80 and TLS on 443
 * (the ports a web-only firewall lets out), TLS on 5349; agents are given
 * what scen.turn_urls(net, "all") gives: udp 3478, tcp 80, tls 443. */
#define NET_PORT	 "3478"
#define NET_TCP_WEB_PORT "80"
#define NET_TLS_WEB_PORT "443"
#define NET_TLS_PORT	 "5349"

struct net_lab {
	struct emu_node *cand, *nat, *srv, *nat2, *peer;
	pid_t turn_pid;
	int turn_out; /* the TURN server's stdout, drained so it never blocks */
	bool tls;     /* the TURN server has a TLS listener */
	/* the matrix's wire verdict (harness/wirejudge.h) at the NATs'
	 * outsides and the TURN server; NULL: claims only (said once) */
	struct wirejudge *wj;
};

struct net_round {
	const char *name;     /* also the prefix of its lines */
	const char *cand_nat; /* preset in front of the candidate */
	bool peer_turn;	      /* the peer gets the TURN server too */
	bool want_srflx;      /* a srflx candidate is possible */
	const char *want;     /* "direct", "udp", "tcp" (tcp or tls) or "tls": the selected path */
	bool tls_only;	      /* the candidate is given only TURN over TLS on 443 */
	const char *cells;    /* the matrix cells that need what this round checks */
	const char *needs[3]; /* capabilities one of which the round needs (NULL-ended) */
};

static const struct net_round rounds[] = {
    {"trickle",
     "port-restricted-cone",
     true,
     true,
     "direct",
     false,
     "the matrix's direct cells (cone x cone)",
     {NULL}},
    {"relay-udp",
     "symmetric",
     false,
     true,
     "udp",
     false,
     "the matrix's symmetric x port-restricted cells",
     {"turn-udp", NULL}},
    {"relay-tcp",
     "udp-blocked",
     false,
     false,
     "tcp",
     false,
     "the matrix's udp-blocked cells",
     {"turn-tcp", "turn-tls", NULL}},
    /* only TCP to 80 and 443 leaves: TURN over TCP on 80 or TLS on 443 */
    {"tcp-web-only",
     "tcp-web-only",
     false,
     false,
     "tcp",
     false,
     "the matrix's tcp-web-only cells",
     {"turn-tcp", "turn-tls", NULL}},
    /* ... and TLS on 443 alone, the way out of networks whose proxy
     * passes nothing but TLS: a stack without TURN over TLS fails here */
    {"tls-443",
     "tcp-web-only",
     false,
     false,
     "tls",
     true,
     "networks that let only TLS on 443 out (TURN over TLS)",
     {"turn-tls", NULL}},
};

/* Whether the candidate declared (in ready's "capabilities") every one of
 * the round's needs missing: the round is then n/a, as the matrix judges
 * such cells `unsupported` (scenarios/matrix_expected.lua, adjust). A
 * capability declared, or not declared at all, is checked. */
static bool ruled_out(const struct net_round *r, const json_t *ready, char *why, size_t len)
{
	const json_t *caps = json_object_get(ready, "capabilities");
	size_t off = 0;

	if (!r->needs[0])
		return false;
	for (int i = 0; r->needs[i]; i++) {
		if (!json_is_false(json_object_get(caps, r->needs[i])))
			return false;
		off += (size_t)snprintf(why + off, off < len ? len - off : 0, "%s\"%s\": false",
					i ? ", " : "", r->needs[i]);
	}
	return true;
}

static int nat_apply(struct emu_node *n, const char *preset, const char *pub, struct natlab_err *e)
{
	struct emu_nat_config cfg;

	if (emu_nat_preset(preset, &cfg, e) < 0)
		return -1;
	snprintf(cfg.inside_ifname, sizeof(cfg.inside_ifname), "eth0");
	snprintf(cfg.outside_ifname, sizeof(cfg.outside_ifname), "eth1");
	snprintf(cfg.public_addrs[0], sizeof(cfg.public_addrs[0]), "%s", pub);
	cfg.n_public_addrs = 1;
	return emu_nat_apply(n, &cfg, e);
}

static int build(struct ac *ac, struct net_lab *nl)
{
	struct natlab_err e = {""};
	struct emu_lab *lab = ac->lab;

	if (emu_lab_node_add(lab, "ncand", &nl->cand, &e) < 0 ||
	    emu_lab_node_add(lab, "nnat", &nl->nat, &e) < 0 ||
	    emu_lab_node_add(lab, "nsrv", &nl->srv, &e) < 0 ||
	    emu_lab_node_add(lab, "nnat2", &nl->nat2, &e) < 0 ||
	    emu_lab_node_add(lab, "npeer", &nl->peer, &e) < 0 ||
	    emu_link_veth(nl->cand, "eth0", nl->nat, "eth0", &e) < 0 ||
	    emu_link_veth(nl->nat, "eth1", nl->srv, "eth0", &e) < 0 ||
	    emu_link_veth(nl->srv, "eth1", nl->nat2, "eth1", &e) < 0 ||
	    emu_link_veth(nl->nat2, "eth0", nl->peer, "eth0", &e) < 0 ||
	    emu_link_addr_add(nl->cand, "eth0", NET_CAND_IP "/24", &e) < 0 ||
	    emu_link_addr_add(nl->nat, "eth0", NET_NAT_IN "/24", &e) < 0 ||
	    emu_link_addr_add(nl->nat, "eth1", NET_NAT_OUT "/24", &e) < 0 ||
	    emu_link_addr_add(nl->srv, "eth0", NET_SRV_A "/24", &e) < 0 ||
	    emu_link_addr_add(nl->srv, "eth1", NET_SRV_B "/24", &e) < 0 ||
	    emu_link_addr_add(nl->nat2, "eth1", NET_NAT2_OUT "/24", &e) < 0 ||
	    emu_link_addr_add(nl->nat2, "eth0", NET_NAT2_IN "/24", &e) < 0 ||
	    emu_link_addr_add(nl->peer, "eth0", NET_PEER_IP "/24", &e) < 0 ||
	    emu_route_add(nl->cand, "default", NET_NAT_IN, NULL, &e) < 0 ||
	    emu_route_add(nl->nat, "default", NET_SRV_A, NULL, &e) < 0 ||
	    emu_route_add(nl->nat2, "default", NET_SRV_B, NULL, &e) < 0 ||
	    emu_route_add(nl->peer, "default", NET_NAT2_IN, NULL, &e) < 0 ||
	    emu_route_forwarding(nl->nat, true, &e) < 0 ||
	    emu_route_forwarding(nl->srv, true, &e) < 0 ||
	    emu_route_forwarding(nl->nat2, true, &e) < 0 ||
	    nat_apply(nl->nat2, "port-restricted-cone", NET_NAT2_OUT, &e) < 0) {
		fprintf(ac->out, "adapter-check: cannot build the NAT lab: %s\n", e.msg);
		return -1;
	}
	return 0;
}

/* The lab's throw-away TLS certificate (scenarios/certs), if it can be
 * found: $NATLAB_SOURCE_DIR, next to a build directory in the source tree,
 * or the working directory. */
static bool cert_dir(char *buf, size_t len)
{
	char self[PATH_MAX], probe[PATH_MAX + 32];
	const char *env = getenv("NATLAB_SOURCE_DIR");
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *cands[3] = {NULL, NULL, "scenarios/certs"};
	char a[PATH_MAX], b[PATH_MAX];

	if (env) {
		snprintf(a, sizeof(a), "%s/scenarios/certs", env);
		cands[0] = a;
	}
	if (n > 0) {
		char *slash;
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			/* build/bin/natlab -> build/bin/../../scenarios/certs */
			*slash = '\0';
			snprintf(b, sizeof(b), "%s/../../scenarios/certs", self);
			cands[1] = b;
		}
	}
	for (int i = 0; i < 3; i++) {
		if (!cands[i])
			continue;
		snprintf(probe, sizeof(probe), "%s/turn-cert.pem", cands[i]);
		if (access(probe, R_OK) == 0) {
			snprintf(buf, len, "%s", cands[i]);
			return true;
		}
	}
	return false;
}

static void drain(int fd)
{
	char buf[4096];

	while (fd >= 0 && read(fd, buf, sizeof(buf)) > 0)
		;
}

/* natlab-turn-server on nsrv, waited for until its ready event. */
static int start_turn(struct ac *ac, struct net_lab *nl)
{
	char bin[PATH_MAX], dir[PATH_MAX], cert[PATH_MAX + 16], key[PATH_MAX + 16];
	char *argv[20];
	int n = 0, p[2] = {-1, -1}, ret = -1;
	struct emu_spawn_opts so = {-1, -1, ac->verbose ? 2 : -1, NULL, NULL, false};
	struct natlab_err e = {""};
	char line[4096];
	size_t have = 0;
	int64_t deadline = luanet_now_ms() + 5000;

	if (luanet_bin_path("natlab-turn-server", bin, sizeof(bin)) < 0) {
		fprintf(ac->out, "adapter-check: natlab-turn-server not found: the trickle and "
				 "STUN/TURN rounds cannot run (build natlab)\n");
		return -1;
	}
	argv[n++] = bin;
	argv[n++] = "--listen";
	argv[n++] = NET_SRV_A ":" NET_PORT;
	argv[n++] = "--listen";
	argv[n++] = NET_SRV_A ":" NET_TCP_WEB_PORT;
	argv[n++] = "--user";
	argv[n++] = "natlab:natlab";
	nl->tls = cert_dir(dir, sizeof(dir));
	if (nl->tls) {
		snprintf(cert, sizeof(cert), "%s/turn-cert.pem", dir);
		snprintf(key, sizeof(key), "%s/turn-key.pem", dir);
		argv[n++] = "--tls-listen";
		argv[n++] = NET_SRV_A ":" NET_TLS_PORT;
		argv[n++] = "--tls-listen";
		argv[n++] = NET_SRV_A ":" NET_TLS_WEB_PORT;
		argv[n++] = "--cert";
		argv[n++] = cert;
		argv[n++] = "--key";
		argv[n++] = key;
	}
	argv[n] = NULL;
	if (pipe2(p, O_CLOEXEC) < 0)
		goto out;
	so.stdout_fd = p[1];
	if (emu_lab_spawn(ac->lab, nl->srv, argv, &so, &nl->turn_pid, &e) < 0) {
		fprintf(ac->out, "adapter-check: cannot start natlab-turn-server: %s\n", e.msg);
		goto out;
	}
	nl->turn_out = p[0];
	p[0] = -1;
	while (luanet_now_ms() < deadline) {
		struct pollfd pfd = {nl->turn_out, POLLIN, 0};
		ssize_t r;
		if (poll(&pfd, 1, (int)(deadline - luanet_now_ms())) <= 0)
			continue;
		r = read(nl->turn_out, line + have, sizeof(line) - 1 - have);
		if (r <= 0)
			break;
		have += (size_t)r;
		line[have] = '\0';
		if (strstr(line, "\"ev\":\"ready\"")) {
			ret = 0;
			break;
		}
		if (have == sizeof(line) - 1)
			have = 0;
	}
	if (ret < 0)
		fprintf(ac->out, "adapter-check: natlab-turn-server sent no ready event\n");
	fcntl(nl->turn_out, F_SETFL, O_NONBLOCK);
out:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	return ret;
}

/* Whether @cands holds a candidate of @type on @ip. */
static bool has_cand(const json_t *cands, const char *type, const char *ip)
{
	json_t *c;
	size_t i;

	json_array_foreach(cands, i, c)
	{
		struct ice_candidate ic;
		char a[64];
		const char *s = json_string_value(c);
		if (!s || ice_candidate_parse(s, strlen(s), &ic) < 0)
			continue;
		if (strcmp(ice_cand_type_name(ic.type), type) == 0 &&
		    strcmp(ice_addr_ip(&ic.addr, a, sizeof(a)), ip) == 0)
			return true;
	}
	return false;
}

static bool c_first_local(struct ac_agent *c, struct ac_agent *p, void *arg)
{
	(void)p;
	(void)arg;
	return c->locals > 0;
}

static bool c_gathered(struct ac_agent *c, struct ac_agent *p, void *arg)
{
	(void)p;
	(void)arg;
	return c->ended || json_is_true(json_object_get(c->local, "complete"));
}

/* argv: @base, then the options scen.agent and matrix.lua give; TURN as
 * the matrix offers it, or (@tls_only) only over TLS on 443. */
static void round_argv(char **out, char *const *base, const char *role, bool turn, bool tls,
		       bool tls_only)
{
	static char *const tail[] = {"--trickle",
				     "--stun",
				     NET_SRV_A ":" NET_PORT,
				     "--gather-timeout-ms",
				     "1000",
				     "--ta-ms",
				     "10",
				     "--rto-ms",
				     "100",
				     "--nominate-wait-ms",
				     "300",
				     NULL};
	static char *const turns[] = {"--turn", "udp:" NET_SRV_A ":" NET_PORT, "--turn",
				      "tcp:" NET_SRV_A ":" NET_TCP_WEB_PORT, NULL};
	static char *const tls_turn[] = {"--turn", "tls:" NET_SRV_A ":" NET_TLS_WEB_PORT, NULL};
	static char *const creds[] = {"--turn-user", "natlab", "--turn-pass", "natlab", NULL};
	char *const *parts[] = {tail, turn && !tls_only ? turns : NULL,
				turn && tls ? tls_turn : NULL, turn ? creds : NULL};
	int n = 0;

	ac_make_argv(out, base, role);
	while (out[n])
		n++;
	for (size_t k = 0; k < sizeof(parts) / sizeof(parts[0]); k++)
		for (int i = 0; parts[k] && parts[k][i] && n < AC_ARGV_MAX; i++)
			out[n++] = parts[k][i];
	out[n] = NULL;
}

/* The TURN words of @argv ("--turn X", "--turn-user U", "--turn-pass P"),
 * joined for messages that say what the agent was given. */
static void turn_words(char *const *argv, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; argv[i] && argv[i + 1]; i++) {
		if (strncmp(argv[i], "--turn", 6) != 0)
			continue;
		off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s%s %s",
					off ? " " : "", argv[i], argv[i + 1]);
		i++;
	}
}

/* Whether a relay reached over @tr is what a round that wants @want accepts:
 * "udp" or "tls" exactly, "tcp" either stream transport. */
static bool relay_transport_ok(const char *want, const char *tr)
{
	if (strcmp(want, "tcp") == 0)
		return strcmp(tr, "tcp") == 0 || strcmp(tr, "tls") == 0;
	return strcmp(want, tr) == 0;
}

/* The candidate's gathering under --trickle: a local at once, candidate
 * events, an end; then the candidate types the round's network allows. */
static void check_gathering(struct ac *ac, const struct net_round *r, struct ac_agent *cand,
			    struct ac_agent *peer, const char *turn_opts)
{
	int got;

	got = ac_pump(ac, cand, peer, c_first_local, NULL, 5000);
	if (got != 1) {
		ac_say(ac, "FAIL", "%s: no \"local\" within 5 s of gather%s", r->name,
		       got < 0 ? " (the candidate exited: run it by hand with these options)" : "");
		return;
	}
	bool first_complete = json_is_true(json_object_get(cand->local, "complete"));
	got = ac_pump(ac, cand, peer, c_gathered, NULL, ac->timeout_ms);
	/* the credentials of the local and every candidate, however they came
	 * (the first local may hold none yet) */
	json_t *all =
	    json_pack("{s:O?, s:O?, s:b, s:o}", "ufrag", json_object_get(cand->local, "ufrag"),
		      "pwd", json_object_get(cand->local, "pwd"), "complete", 1, "candidates",
		      cand->cands ? json_incref(cand->cands) : json_array());
	int bad = all ? ac_check_local(ac, all, r->name) : 1;
	json_decref(all);
	if (bad > 0)
		return;
	if (first_complete)
		ac_say(ac, "warn",
		       "%s: started with --trickle, the first local was already complete (no "
		       "candidate events): candidates are signalled only once gathering "
		       "ends, which slows every connection",
		       r->name);
	else if (!cand->ended)
		ac_say(ac, "FAIL",
		       "%s: no {\"ev\":\"candidate\",\"end\":true} within %d ms of gather "
		       "(%d candidate events came): a trickling agent ends its candidates "
		       "(docs/agent-protocol.md, Sequences), or its peer never learns that "
		       "gathering is over%s",
		       r->name, ac->timeout_ms, cand->trickled,
		       cand->eof ? "; the candidate exited" : "");
	else
		ac_say(ac, "ok", "%s: local at once, %d candidate events, end-of-candidates",
		       r->name, cand->trickled);
	if (r->want_srflx && !has_cand(cand->cands, "srflx", NET_NAT_OUT))
		ac_say(ac, "FAIL",
		       "%s: no srflx candidate on the NAT's address %s (the agent was given "
		       "--stun %s:%s; RFC 8445 §5.1.1.2)",
		       r->name, NET_NAT_OUT, NET_SRV_A, NET_PORT);
	if (!has_cand(cand->cands, "relay", NET_SRV_A))
		ac_say(ac, "FAIL",
		       "%s: no relay candidate on the TURN server's address %s (the agent was "
		       "given %s%s)",
		       r->name, NET_SRV_A, turn_opts,
		       r->want_srflx ? "" : "; UDP is blocked here, so over TCP or TLS");
	else if (!r->want_srflx || has_cand(cand->cands, "srflx", NET_NAT_OUT))
		ac_say(ac, "ok", "%s: gathered %srelay %s", r->name,
		       r->want_srflx ? "srflx " NET_NAT_OUT " and " : "", NET_SRV_A);
}

/* The selected pair's path against the round's. */
static void check_path(struct ac *ac, const struct net_round *r, const json_t *sel)
{
	const json_t *loc = json_object_get(sel, "local"), *rem = json_object_get(sel, "remote");
	const char *lt = ac_jstr(loc, "type"), *rt = ac_jstr(rem, "type");
	const char *tr = ac_jstr(loc, "relay_transport");
	bool relay = (lt && strcmp(lt, "relay") == 0) || (rt && strcmp(rt, "relay") == 0);

	if (strcmp(r->want, "direct") == 0) {
		if (relay)
			ac_say(ac, "FAIL",
			       "%s: selected a relayed pair where a direct one works (%s): "
			       "%s fail that way",
			       r->name,
			       lt && strcmp(lt, "relay") == 0 ? "local relay" : "remote relay",
			       r->cells);
		else
			ac_say(ac, "ok", "%s: selected a direct pair (%s -> %s)", r->name, lt, rt);
		return;
	}
	if (!lt || strcmp(lt, "relay") != 0) {
		ac_say(ac, "FAIL",
		       "%s: the selected local candidate is %s, not relay: behind this NAT only "
		       "the candidate's own TURN relay reaches the peer",
		       r->name, lt ? lt : "missing");
		return;
	}
	if (!tr) {
		ac_say(ac, "FAIL",
		       "%s: the selected relay has no \"relay_transport\" (udp, tcp or tls): "
		       "the harness then counts it as TURN over UDP, and %s fail",
		       r->name, r->cells);
		return;
	}
	if (!relay_transport_ok(r->want, tr))
		ac_say(ac, "FAIL",
		       "%s: relay_transport is \"%s\", but the relay was reached over %s", r->name,
		       tr,
		       strcmp(r->want, "udp") == 0   ? "UDP"
		       : strcmp(r->want, "tls") == 0 ? "TLS (the only TURN server it was given)"
						     : "TCP or TLS (UDP is blocked)");
	else
		ac_say(ac, "ok", "%s: selected the candidate's relay (relay_transport %s)", r->name,
		       tr);
}

/* The class a round wants, in the matrix's words (scen.class). */
static const char *want_class(const struct net_round *r)
{
	if (strcmp(r->want, "direct") == 0)
		return "direct";
	return strcmp(r->want, "udp") == 0 ? "relay" : "relay-tcp";
}

/* The round's verdict as a matrix cell's (docs/expected-matrix.md,
 * "Verdicts"): the class of the path the data settled on, seen on the
 * wire in the data window (@rec, natlab.wire), against the round's, and
 * the candidate's latest claim (selected or switched) against the wire. */
static void check_wire(struct ac *ac, struct net_lab *nl, const struct net_round *r,
		       const json_t *sel, const json_t *rec)
{
	const json_t *settled = json_object_get(rec, "settled");
	const json_t *side = json_object_get(json_object_get(rec, "sides"), "candidate");
	const char *cls = ac_jstr(settled, "class"), *want = want_class(r);
	const char *tr = ac_jstr(side, "transport");
	const char *lt = ac_jstr(json_object_get(sel, "local"), "type");
	char *claim = wirejudge_check_claim(nl->wj, "candidate", sel);
	bool bad = false;

	if (claim) {
		ac_say(ac, "FAIL",
		       "%s: the candidate's selected pair is not where its data went: %s", r->name,
		       claim);
		bad = true;
	}
	if (!cls || strcmp(cls, want) != 0) {
		ac_say(ac, "FAIL",
		       "%s: the wire shows %s (the candidate claims a %s pair), expected class "
		       "%s: %s fail that way",
		       r->name, cls ? cls : "nothing", lt ? lt : "?", want, r->cells);
		bad = true;
	} else if (strcmp(r->want, "tls") == 0 && (!tr || strcmp(tr, "tls") != 0)) {
		ac_say(ac, "FAIL",
		       "%s: the candidate's data reached the TURN server over %s, not TLS on 443 "
		       "(the only TURN server it was given)",
		       r->name, tr ? tr : "nothing seen");
		bad = true;
	}
	if (lt && strcmp(lt, "relay") == 0 &&
	    !ac_jstr(json_object_get(sel, "local"), "relay_transport")) {
		ac_say(ac, "FAIL",
		       "%s: the selected relay has no \"relay_transport\" (udp, tcp or tls): "
		       "the harness then counts it as TURN over UDP",
		       r->name);
		bad = true;
	}
	if (!bad)
		ac_say(ac, "ok", "%s: the wire settles %s%s%s, as the candidate claims", r->name,
		       cls, tr ? " over " : "", tr ? tr : "");
	free(claim);
}

/* With no data plane in common the matrix judges a window of consent
 * checks (RFC 7675 §5.1: 5 s +- 20 % apart): 6.5 s of them. */
#define CONSENT_WINDOW_MS 6500

/* ready.settle_ms is honoured up to this, as in scenarios/prelude/45_call.lua */
#define MAX_SETTLE_MS 5000

static void run_round(struct ac *ac, struct net_lab *nl, const struct net_round *r,
		      char *const *base, const char *peer_path, struct ac_agent *cand,
		      struct ac_agent *peer)
{
	char *cargv[AC_ARGV_MAX + 1], *pargv[AC_ARGV_MAX + 1],
	    *pbase[2] = {(char *)peer_path, NULL};
	char turn_opts[160], what[32], what_caps[96];
	struct natlab_err e = {""};
	json_t *rec = NULL;

	fprintf(ac->out,
		"adapter-check: round %s: the candidate behind a %s NAT, trickling, "
		"STUN and TURN on %s (%s)\n",
		r->name, r->cand_nat, NET_SRV_A, r->cells);
	drain(nl->turn_out);
	if (nat_apply(nl->nat, r->cand_nat, NET_NAT_OUT, &e) < 0 ||
	    emu_nat_conntrack_flush(nl->nat2, &e) < 0) {
		fprintf(ac->out, "adapter-check: cannot set the NAT up: %s\n", e.msg);
		ac->fails++;
		return;
	}
	/* count from here on (the NAT's rules were just replaced) */
	if (nl->wj && wirejudge_watch(nl->wj, &e) < 0) {
		fprintf(ac->out, "adapter-check: %s: judged on claims only\n", e.msg);
		wirejudge_free(nl->wj);
		nl->wj = NULL;
	}
	if (r->tls_only && !nl->tls) {
		ac_say(ac, "FAIL",
		       "%s: the TURN server has no TLS listener (scenarios/certs not found: set "
		       "NATLAB_SOURCE_DIR), so TURN over TLS on 443 cannot be checked",
		       r->name);
		return;
	}
	round_argv(cargv, base, "controlling", true, nl->tls, r->tls_only);
	round_argv(pargv, pbase, "controlled", r->peer_turn, nl->tls, false);
	if (r->tls_only) {
		snprintf(turn_opts, sizeof(turn_opts), "only ");
		turn_words(cargv, turn_opts + 5, sizeof(turn_opts) - 5);
	} else {
		turn_words(cargv, turn_opts, sizeof(turn_opts));
	}
	ac->cand_node = nl->cand;
	ac->peer_node = nl->peer;
	ac->cand_ip = NET_CAND_IP;
	ac->relay = true;
	ac->trickle = true;
	cand->other = peer;
	peer->other = cand;
	if (ac_agent_spawn(ac, cand, nl->cand, cargv) < 0 ||
	    ac_agent_spawn(ac, peer, nl->peer, pargv) < 0)
		goto out;
	ac_pump(ac, cand, peer, ac_c_ready, NULL, AC_READY_MS);
	if (!cand->ready || !peer->ready) {
		ac_say(ac, "FAIL",
		       "%s: %s sent no \"ready\" with the matrix's options (%s): accept and "
		       "ignore the options you have no knob for",
		       r->name, cand->ready ? "the peer" : "the candidate",
		       "--trickle --stun --turn --turn-user --turn-pass --gather-timeout-ms "
		       "--ta-ms --rto-ms --nominate-wait-ms");
		goto out;
	}
	if (ruled_out(r, cand->ready, what_caps, sizeof(what_caps))) {
		ac_say(ac, "n/a",
		       "%s: the candidate declares %s in its ready event (capabilities): not "
		       "checked; scenarios judge the cells that need it `unsupported`",
		       r->name, what_caps);
		goto out;
	}
	snprintf(what, sizeof(what), "%s: ", r->name);
	if (ac_start(ac, cand, peer, what) < 0)
		goto out;
	check_gathering(ac, r, cand, peer, turn_opts);
	if (cand->eof)
		goto out;
	ac_pump(ac, cand, peer, ac_c_selected_or_failed, NULL, ac->timeout_ms);
	if (!cand->selected || !peer->selected) {
		ac_say(ac, "FAIL", "%s: no pair selected on %s within %d ms%s%s%s%s", r->name,
		       cand->selected ? "the peer" : "the candidate", ac->timeout_ms,
		       cand->failed[0] ? "; candidate failed: " : "", cand->failed,
		       peer->failed[0] ? "; peer failed: " : "", peer->failed);
		goto out;
	}
	snprintf(what, sizeof(what), "%s: selected", r->name);
	if (ac_check_selected(ac, cand->selected, peer->cands, what) > 0)
		goto out;
	snprintf(what, sizeof(what), "%s: ", r->name);
	{
		/* a stack that declares it may still switch pairs after its first
		 * selection (ready.settle_ms, docs/agent-protocol.md) is judged
		 * after that, as the matrix does; its switched events are heard */
		long settle = 0;

		for (int k = 0; k < 2; k++) {
			const json_t *v = json_object_get((k ? peer : cand)->ready, "settle_ms");
			if (json_is_integer(v) && json_integer_value(v) > settle)
				settle = (long)json_integer_value(v);
		}
		if (settle > MAX_SETTLE_MS)
			settle = MAX_SETTLE_MS;
		if (settle > 0) {
			ac_say(ac, "ok", "%s: waited %ld ms (ready.settle_ms) for switches before the data",
			       r->name, settle);
			ac_pump(ac, cand, peer, ac_c_never, NULL, (int)settle);
		}
	}
	if (!nl->wj) {
		check_path(ac, r, cand->selected);
		if (ac->plane != PLANECHOICE_NONE)
			ac_check_data(ac, cand, peer, what, NULL, NULL, NULL);
		goto out;
	}
	/* the data window judged as the matrix judges a cell's: the wire's
	 * settled path, and the claim against it; with no plane in common a
	 * window of consent checks */
	if (ac->plane != PLANECHOICE_NONE) {
		ac_check_data(ac, cand, peer, what, nl->wj, &rec, &e);
	} else if (wirejudge_snap(nl->wj, "data0", &e) == 0) {
		ac_pump(ac, cand, peer, ac_c_never, NULL, CONSENT_WINDOW_MS);
		rec = wirejudge_judge(nl->wj, "data0", "data1", "consent", &e);
	}
	if (!rec)
		ac_say(ac, "FAIL", "%s: %s", r->name, e.msg);
	else
		check_wire(ac, nl, r, cand->selected, rec);
	json_decref(rec);
out:
	ac_agent_send(ac, cand, "{\"cmd\":\"stop\"}");
	ac_agent_send(ac, peer, "{\"cmd\":\"stop\"}");
	ac_agent_close(ac, cand);
	ac_agent_close(ac, peer);
	ac->trickle = false;
}

void ac_net_rounds(struct ac *ac, char *const *base, const char *peer_path)
{
	struct net_lab nl = {.turn_pid = 0, .turn_out = -1};
	struct ac_agent *cand = calloc(1, sizeof(*cand)), *peer = calloc(1, sizeof(*peer));
	struct ac_agent *was_cand = ac->cand, *was_peer = ac->peer;
	struct natlab_err e = {""};

	ac->cand = cand;
	ac->peer = peer;
	if (!cand || !peer || build(ac, &nl) < 0 || start_turn(ac, &nl) < 0) {
		ac->fails++;
		goto out;
	}
	if (!nl.tls)
		fprintf(ac->out,
			"adapter-check: scenarios/certs not found (set NATLAB_SOURCE_DIR): "
			"TURN over TLS is not offered\n");
	{
		/* the points scen.watch makes for a matrix cell: each side's NAT
		 * outside, and the TURN server (its STUN server too) */
		const struct wirejudge_point pts[] = {
		    {"nnat", "candidate", NET_NAT_OUT, "side", "eth1", nl.nat},
		    {"nnat2", "peer", NET_NAT2_OUT, "side", "eth1", nl.nat2},
		    {"nsrv", NULL, NET_SRV_A, "turn", NULL, nl.srv},
		};
		json_t *cfg = json_pack(
		    "{s:[s,s], s:{s:s, s:[i], s:[i,i], s:[i,i]}}", "sides", "candidate", "peer",
		    "turn", "addr", NET_SRV_A, "udp", atoi(NET_PORT), "tcp", atoi(NET_PORT),
		    atoi(NET_TCP_WEB_PORT), "tls", atoi(NET_TLS_PORT), atoi(NET_TLS_WEB_PORT));
		if (wirejudge_new(pts, sizeof(pts) / sizeof(pts[0]), cfg, &nl.wj, &e) < 0)
			fprintf(ac->out,
				"adapter-check: %s: the rounds are judged on claims only\n", e.msg);
		json_decref(cfg);
	}
	ac_agent_reset(cand, "candidate");
	ac_agent_reset(peer, "peer");
	for (size_t i = 0; i < sizeof(rounds) / sizeof(rounds[0]); i++)
		run_round(ac, &nl, &rounds[i], base, peer_path, cand, peer);
out:
	wirejudge_free(nl.wj);
	if (nl.turn_pid > 0)
		emu_lab_kill(ac->lab, nl.turn_pid, NULL, &e);
	if (nl.turn_out >= 0)
		close(nl.turn_out);
	if (cand)
		ac_agent_reset(cand, "candidate");
	if (peer)
		ac_agent_reset(peer, "peer");
	free(cand);
	free(peer);
	ac->cand = was_cand;
	ac->peer = was_peer;
}

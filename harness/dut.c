/* dut.c - `natlab dut --lan IFACE --wan IFACE`: the lab's LAN host on the
 * interface facing the device's inside, its internet (two server
 * addresses) on the one facing its outside, the compliance suite run
 * through the device, results written like `natlab run`'s plus
 * compliance.json. See docs/dut.md. */
#include "harness/dut.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "agents/compliance/compliance.h"
#include "emu/lab.h"
#include "emu/link.h"
#include "emu/route.h"
#include "emu/sandbox.h"
#include "harness/cli.h"
#include "harness/dut_dhcp.h"
#include "harness/dut_iface.h"
#include "harness/dut_io.h"
#include "harness/dut_portmap.h"
#include "harness/luanet.h"
#include "harness/pmcheck.h"
#include "harness/results.h"
#include "harness/scenario.h"

#include <netlink/route/link.h>

#ifndef NATLAB_VERSION
#define NATLAB_VERSION "0.1.0"
#endif

#define DUT_ROUTES_MAX 8

struct dut_opts {
	const char *lan, *wan;
	const char *lan_addr, *lan_gw, *wan_addr;
	const char *srv[2];
	const char *routes[DUT_ROUTES_MAX]; /* "PREFIX=VIA" in the internet node */
	int n_routes;
	const char *out;
	const char *peers; /* traversal: comma-separated presets; NULL = the matrix */
	bool traversal;
	int timeout_max_s, resolution_ms, wait_ms, syn_wait_ms, tcp_timeout_max_s, quota_max;
	bool tcp, force, cgn;
	bool portmap;	    /* ask the device for port mappings (PCP, NAT-PMP, UPnP IGD) */
	const char *sub[2]; /* --cgn: the two subscribers' addresses (NULL: derived) */
	int n_sub;
	uint32_t sub_ip[2]; /* ... as numbers (host order), set before the lab */
	bool dhcp, gw_set;  /* --lan-addr dhcp; --lan-gw given */
	struct dut_dhcp_lease lease;
	char lan_addr_buf[40], lan_gw_buf[20]; /* what DHCP gave */
};

static const char dut_usage[] =
    "usage: natlab dut --lan IFACE --wan IFACE [--lan-addr CIDR|dhcp] [--lan-gw IP]\n"
    "                  [--wan-addr CIDR] [--server-addr IP --server-addr IP]\n"
    "                  [--wan-route PREFIX=VIA ...] [--timeout-max SEC] [--resolution-ms MS]\n"
    "                  [--wait-ms MS] [--syn-wait-ms MS] [--tcp-timeout-max SEC] [--no-tcp]\n"
    "                  [--cgn [--subscriber IP --subscriber IP] [--quota-max N]]\n"
    "                  [--no-portmap] [--peers LIST] [--no-traversal] [--out DIR] [--force]\n\n"
    "Checks a NAT device against RFC 4787 (UDP), RFC 5382 (TCP), RFC 7857 and, with\n"
    "--cgn, RFC 6888 (CGN). The lab's LAN host\n"
    "sits on --lan (the interface facing the device's inside), its internet on --wan\n"
    "(facing the device's outside): two server addresses, on which the device must\n"
    "route (via --wan-addr's address). Needs root; only the two interfaces are touched:\n"
    "they move into the lab and come back with their addresses, routes and state.\n\n"
    "  --lan-addr CIDR     the LAN host's address (default 192.168.1.2/24), or \"dhcp\":\n"
    "                      ask the device (DHCPv4) for address, prefix and gateway\n"
    "  --lan-gw IP         the device's inside address (default 192.168.1.1)\n"
    "  --wan-addr CIDR     the lab's address on the WAN link (default 192.0.2.254/24)\n"
    "  --server-addr IP    twice: the servers' addresses (198.51.100.1, 198.51.100.2)\n"
    "  --wan-route P=VIA   a route in the lab's internet (e.g. to a no-NAT LAN prefix)\n"
    "  --timeout-max SEC   bound of the UDP mapping-timeout search (default 330; 0 skips)\n"
    "  --resolution-ms MS  precision of that search (default 2000)\n"
    "  --wait-ms MS        how long to wait for a packet that may not come (default 500)\n"
    "  --syn-wait-ms MS    unsolicited SYN: silence required (default 6500)\n"
    "  --tcp-timeout-max SEC  bound of the TCP established-timeout search (default 60;\n"
    "                      0 skips; RFC 5382 wants 2 h 4 min, so below that a live\n"
    "                      connection is inconclusive and a dead one a failure)\n"
    "  --no-tcp            skip the RFC 5382 tests\n"
    "  --cgn               the device is a CGN: RFC 6888 per-subscriber quota and fairness,\n"
    "                      with two more LAN addresses as subscribers\n"
    "  --subscriber IP     twice: those addresses (default: --lan-addr + 1 and + 2)\n"
    "  --quota-max N       mappings tried per subscriber (default 1000)\n"
    "  --no-portmap        skip the port-mapping rows (PCP, NAT-PMP, UPnP IGD: a mapping\n"
    "                      asked for, reached from the WAN side, deleted; about 12 s\n"
    "                      when the device offers none)\n"
    "  --peers LIST        traversal suite: the peers' presets (default: all of them)\n"
    "  --no-traversal      skip the traversal suite (scenarios/dut.lua)\n"
    "  --out DIR           results root (default results/): DIR/<run-id>/ with run.json,\n"
    "                      cells.jsonl, junit.xml, report.html and compliance.json\n"
    "  --force             accept an interface that carries the host's default route\n\n"
    "Exit status: 0 no requirement failed, 1 some failed, 2 usage or environment error.\n";

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	stop_flag = sig;
}

static int parse_int(const char *opt, const char *v, int lo, int hi, int *out)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(v ? v : "", &end, 10);
	if (!v || errno || *end || x < lo || x > hi) {
		fprintf(stderr, "natlab dut: %s wants a number %d..%d\n", opt, lo, hi);
		return -1;
	}
	*out = (int)x;
	return 0;
}

static int parse_args(int argc, char **argv, struct dut_opts *o)
{
	int n_srv = 0;

	*o = (struct dut_opts){.lan_addr = "192.168.1.2/24",
			       .lan_gw = "192.168.1.1",
			       .wan_addr = "192.0.2.254/24",
			       .srv = {"198.51.100.1", "198.51.100.2"},
			       .out = "results",
			       .timeout_max_s = 330,
			       .resolution_ms = 2000,
			       .wait_ms = 500,
			       .syn_wait_ms = 6500,
			       .tcp_timeout_max_s = 60,
			       .quota_max = 1000,
			       .tcp = true,
			       .portmap = true,
			       .traversal = true};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = true;

		if (strcmp(a, "--lan") == 0)
			o->lan = v;
		else if (strcmp(a, "--wan") == 0)
			o->wan = v;
		else if (strcmp(a, "--lan-addr") == 0) {
			o->lan_addr = v;
			o->dhcp = v && strcmp(v, "dhcp") == 0;
		} else if (strcmp(a, "--lan-gw") == 0) {
			o->lan_gw = v;
			o->gw_set = true;
		} else if (strcmp(a, "--wan-addr") == 0)
			o->wan_addr = v;
		else if (strcmp(a, "--out") == 0)
			o->out = v;
		else if (strcmp(a, "--peers") == 0)
			o->peers = v;
		else if (strcmp(a, "--server-addr") == 0) {
			if (n_srv >= 2) {
				fprintf(stderr, "natlab dut: --server-addr at most twice\n");
				return -1;
			}
			o->srv[n_srv++] = v;
		} else if (strcmp(a, "--wan-route") == 0) {
			if (o->n_routes >= DUT_ROUTES_MAX || !v || !strchr(v, '=')) {
				fprintf(stderr, "natlab dut: --wan-route PREFIX=VIA (at most %d)\n",
					DUT_ROUTES_MAX);
				return -1;
			}
			o->routes[o->n_routes++] = v;
		} else if (strcmp(a, "--timeout-max") == 0) {
			if (parse_int(a, v, 0, 7200, &o->timeout_max_s) < 0)
				return -1;
		} else if (strcmp(a, "--resolution-ms") == 0) {
			if (parse_int(a, v, 10, 600000, &o->resolution_ms) < 0)
				return -1;
		} else if (strcmp(a, "--wait-ms") == 0) {
			if (parse_int(a, v, 10, 10000, &o->wait_ms) < 0)
				return -1;
		} else if (strcmp(a, "--subscriber") == 0) {
			if (o->n_sub >= 2) {
				fprintf(stderr, "natlab dut: --subscriber at most twice\n");
				return -1;
			}
			o->sub[o->n_sub++] = v;
		} else if (strcmp(a, "--tcp-timeout-max") == 0) {
			if (parse_int(a, v, 0, 86400, &o->tcp_timeout_max_s) < 0)
				return -1;
		} else if (strcmp(a, "--quota-max") == 0) {
			if (parse_int(a, v, 1, 30000, &o->quota_max) < 0)
				return -1;
		} else if (strcmp(a, "--syn-wait-ms") == 0) {
			if (parse_int(a, v, 100, 60000, &o->syn_wait_ms) < 0)
				return -1;
		} else {
			takes = false;
			if (strcmp(a, "--no-tcp") == 0)
				o->tcp = false;
			else if (strcmp(a, "--force") == 0)
				o->force = true;
			else if (strcmp(a, "--cgn") == 0)
				o->cgn = true;
			else if (strcmp(a, "--no-traversal") == 0)
				o->traversal = false;
			else if (strcmp(a, "--no-portmap") == 0)
				o->portmap = false;
			else {
				fprintf(stderr, "natlab dut: unknown argument '%s'\n", a);
				return -1;
			}
		}
		if (takes) {
			if (!v) {
				fprintf(stderr, "natlab dut: %s needs a value\n", a);
				return -1;
			}
			i++;
		}
	}
	if (!o->lan || !o->wan) {
		fprintf(stderr, "natlab dut: --lan IFACE and --wan IFACE are required\n");
		return -1;
	}
	if (strcmp(o->lan, o->wan) == 0) {
		fprintf(stderr, "natlab dut: --lan and --wan must be two interfaces\n");
		return -1;
	}
	return 0;
}

static int ip_of(const char *s, uint32_t *ip)
{
	char buf[64];
	struct in_addr a;

	snprintf(buf, sizeof(buf), "%s", s);
	if (strchr(buf, '/'))
		*strchr(buf, '/') = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	*ip = ntohl(a.s_addr);
	return 0;
}

/* --cgn: the subscribers' addresses (given, or the LAN host's + 1 and + 2),
 * distinct from the host's and the gateway's. */
static int subscribers(struct dut_opts *o, struct natlab_err *e)
{
	uint32_t lan = 0, gw = 0;

	ip_of(o->lan_addr, &lan);
	ip_of(o->lan_gw, &gw);
	for (int i = 0; o->cgn && i < 2; i++) {
		if (o->sub[i] && ip_of(o->sub[i], &o->sub_ip[i]) < 0)
			return natlab_err_msg(e, EINVAL, "--subscriber wants an IPv4 address");
		if (!o->sub[i])
			o->sub_ip[i] = lan + 1 + (uint32_t)i;
		if (o->sub_ip[i] == lan || o->sub_ip[i] == gw ||
		    (i == 1 && o->sub_ip[1] == o->sub_ip[0]))
			return natlab_err_msg(e, EINVAL,
					      "the subscribers' addresses must differ from each "
					      "other, the LAN host's and the gateway's (use "
					      "--subscriber)");
	}
	return 0;
}

/* --lan-addr dhcp: the LAN host's address, prefix and (unless --lan-gw)
 * gateway from the device's DHCP server. */
static int lan_dhcp(struct dut_opts *o, struct emu_node *ln, struct natlab_err *e)
{
	struct dut_dhcp_lease *l = &o->lease;
	char key[96];
	int ret;

	/* The offer comes from the server's address to an interface that has
	 * none yet and no route back: reverse-path filtering (inherited from
	 * the host's settings, often 1 or 2) would drop it. Off in the lab's
	 * LAN node, which routes nothing. */
	snprintf(key, sizeof(key), "net/ipv4/conf/%s/rp_filter", o->lan);
	if ((ret = emu_node_sysctl_set(ln, "net/ipv4/conf/all/rp_filter", "0", e)) < 0 ||
	    (ret = emu_node_sysctl_set(ln, key, "0", e)) < 0)
		return ret;
	if ((ret = dut_dhcp_acquire(ln, o->lan, 10000, l, e)) < 0)
		return ret;
	snprintf(o->lan_addr_buf, sizeof(o->lan_addr_buf), "%u.%u.%u.%u/%d", l->addr >> 24,
		 (l->addr >> 16) & 255, (l->addr >> 8) & 255, l->addr & 255, l->prefix);
	o->lan_addr = o->lan_addr_buf;
	if (!o->gw_set) {
		if (!l->router)
			return natlab_err_msg(e, EINVAL,
					      "the DHCP lease names no router: give --lan-gw");
		snprintf(o->lan_gw_buf, sizeof(o->lan_gw_buf), "%u.%u.%u.%u", l->router >> 24,
			 (l->router >> 16) & 255, (l->router >> 8) & 255, l->router & 255);
		o->lan_gw = o->lan_gw_buf;
	}
	printf("natlab dut: DHCP on %s: %s, router %s, lease %u s\n", o->lan, o->lan_addr,
	       o->lan_gw, l->lease_s);
	return 0;
}

/* Build the two nodes, move the interfaces in, address and route them. */
static int lab_up(struct dut_opts *o, struct emu_lab *lab, struct dut_iface *lan,
		  struct dut_iface *wan, struct emu_node **ln, struct emu_node **wn,
		  struct natlab_err *e)
{
	char wan_ip[64], cidr[64];
	int ret;

	snprintf(wan_ip, sizeof(wan_ip), "%s", o->wan_addr);
	if (strchr(wan_ip, '/'))
		*strchr(wan_ip, '/') = '\0';
	if ((ret = emu_lab_node_add(lab, "lan", ln, e)) < 0 ||
	    (ret = emu_lab_node_add(lab, "internet", wn, e)) < 0)
		return ret;
	if ((ret = dut_iface_move(lan, *ln, e)) < 0 || (ret = dut_iface_move(wan, *wn, e)) < 0)
		return ret;
	if (o->dhcp && ((ret = lan_dhcp(o, *ln, e)) < 0 || (ret = subscribers(o, e)) < 0))
		return ret;
	if ((ret = emu_link_addr_add(*ln, o->lan, o->lan_addr, e)) < 0 ||
	    (ret = emu_route_add(*ln, "default", o->lan_gw, NULL, e)) < 0 ||
	    (ret = emu_link_addr_add(*wn, o->wan, o->wan_addr, e)) < 0)
		return ret;
	for (int i = 0; o->cgn && i < 2; i++) {
		/* the subscribers: more hosts on the LAN, same prefix */
		const char *slash = strchr(o->lan_addr, '/');
		snprintf(cidr, sizeof(cidr), "%u.%u.%u.%u%s", o->sub_ip[i] >> 24,
			 (o->sub_ip[i] >> 16) & 255, (o->sub_ip[i] >> 8) & 255, o->sub_ip[i] & 255,
			 slash ? slash : "/32");
		if ((ret = emu_link_addr_add(*ln, o->lan, cidr, e)) < 0)
			return ret;
	}
	for (int i = 0; i < 2; i++) {
		snprintf(cidr, sizeof(cidr), "%s/32", o->srv[i]);
		if ((ret = emu_link_addr_add(*wn, "lo", cidr, e)) < 0)
			return ret;
	}
	for (int i = 0; i < o->n_routes; i++) {
		char pfx[64];
		snprintf(pfx, sizeof(pfx), "%s", o->routes[i]);
		*strchr(pfx, '=') = '\0';
		if ((ret = emu_route_add(*wn, pfx, strchr(o->routes[i], '=') + 1, NULL, e)) < 0)
			return ret;
	}
	return 0;
}

static const char *outcome_of(enum compl_verdict v)
{
	switch (v) {
	case COMPL_PASS:
	case COMPL_WARN: /* a missed RECOMMENDED is reported, not failed */
		return "pass";
	case COMPL_FAIL:
		return "fail";
	default:
		return "skipped";
	}
}

/* Wait until the core has only the interfaces it had before a traversal
 * cell (the cell's veths die with its nodes' namespaces, asynchronously),
 * so the next cell can use the same interface names. */
static void core_settle(struct emu_node *core, int n_before)
{
	struct nl_sock *sk = emu_node_rtnl(core, NULL);

	for (int i = 0; sk && i < 100; i++) {
		struct nl_cache *c = NULL;
		int n;

		if (rtnl_link_alloc_cache(sk, AF_UNSPEC, &c) < 0)
			return;
		n = nl_cache_nitems(c);
		nl_cache_free(c);
		if (n <= n_before)
			return;
		poll(NULL, 0, 50);
	}
}

/* The traversal suite: scenarios/dut.lua, one cell per peer preset, run in
 * this process with the lab's "lan" and "internet" nodes lent to each
 * cell. Cell records (as `natlab run` writes them) are appended to @out;
 * returns how many failed (no path). */
static int traversal(const struct dut_opts *o, struct emu_node *ln, struct emu_node *wn,
		     json_t *out)
{
	struct natlab_err e = {""};
	char path[PATH_MAX];
	struct luanet_ctx ctx;
	struct scenario *s = NULL;
	json_t *cells = NULL, *ov = json_object(), *c;
	struct nl_cache *lc = NULL;
	int failed = 0, n_before = 0;
	size_t i;

	if (scenario_find("dut", path, sizeof(path), &e) < 0) {
		fprintf(stderr, "natlab dut: traversal suite skipped: %s\n", e.msg);
		json_decref(ov);
		return 0;
	}
	if (o->peers)
		json_object_set_new(ov, "peer", json_string(o->peers));
	/* where the suite watches the device's outside traffic (the wire) */
	json_object_set_new(ov, "wan", json_string(o->wan));
	luanet_ctx_init(&ctx);
	if (scenario_load(path, &ctx, &s, &e) < 0 || scenario_cells(s, ov, 1, &cells, &e) < 0)
		fprintf(stderr, "natlab dut: traversal suite: %s\n", e.msg);
	scenario_free(s);
	luanet_ctx_teardown(&ctx);
	if (emu_node_rtnl(wn, NULL) &&
	    rtnl_link_alloc_cache(emu_node_rtnl(wn, NULL), AF_UNSPEC, &lc) == 0) {
		n_before = nl_cache_nitems(lc);
		nl_cache_free(lc);
	}
	json_array_foreach(cells, i, c)
	{
		json_t *result = json_object(), *rec = json_deep_copy(c);
		const char *outcome, *p;

		if (stop_flag)
			break;
		json_object_set_new(rec, "scenario_file", json_string(path));
		json_object_set_new(rec, "seed", json_integer((json_int_t)(i + 1) * 7919));
		luanet_ctx_init(&ctx);
		ctx.start_ms = luanet_now_ms();
		/* lend the device's two nodes; taken back before the teardown */
		ctx.nodes[0] = ln;
		ctx.nodes[1] = wn;
		ctx.n_nodes = 2;
		if (scenario_load(path, &ctx, &s, &e) == 0) {
			scenario_run_cell(s, rec, 0, result);
		} else {
			json_object_set_new(result, "outcome", json_string("error"));
			json_object_set_new(result, "message", json_string(e.msg));
		}
		if (ctx.result)
			json_object_update(rec, ctx.result);
		json_object_update(rec, result);
		json_object_set(rec, "events", ctx.events);
		json_object_set(rec, "observations", ctx.observations);
		scenario_free(s);
		s = NULL;
		memmove(ctx.nodes, ctx.nodes + 2, sizeof(ctx.nodes[0]) * (ctx.n_nodes - 2));
		ctx.n_nodes -= 2;
		luanet_ctx_teardown(&ctx);
		core_settle(wn, n_before);
		p = json_string_value(json_object_get(rec, "path"));
		if (!json_object_get(rec, "outcome"))
			json_object_set_new(
			    rec, "outcome",
			    json_string(p && strcmp(p, "failed") != 0 ? "pass" : "fail"));
		outcome = json_string_value(json_object_get(rec, "outcome"));
		failed += strcmp(outcome, "fail") == 0 || strcmp(outcome, "error") == 0;
		printf("traversal: device x %-22s %-10s %s\n",
		       json_string_value(json_object_get(json_object_get(rec, "params"), "peer")),
		       p ? p : "-", outcome);
		fflush(stdout);
		json_object_set_new(rec, "index", json_integer((json_int_t)(100 + i)));
		json_array_append_new(out, rec);
		json_decref(result);
	}
	json_decref(cells);
	json_decref(ov);
	return failed;
}

static int write_results(const struct dut_opts *o, const struct compl_config *cfg,
			 const struct compl_report *r, const struct pmcheck_report *pm,
			 const char *started, json_t *trav, struct natlab_err *e)
{
	struct results *res = NULL;
	json_t *cj = compl_report_json(r, cfg), *meta;

	/* the measurements behind the port-mapping rows (docs/probe.md's
	 * "portmap" object); null with --no-portmap */
	json_object_set_new(cj, "portmap", pm ? pmcheck_report_json(pm) : json_null());
	struct utsname u;
	char run_id[96], kernel[300], path[RESULTS_PATH_MAX];
	time_t t = time(NULL);
	struct tm tm;
	char *text;
	int ret;

	uname(&u);
	gmtime_r(&t, &tm);
	snprintf(run_id, sizeof(run_id), "%04d%02d%02d-%02d%02d%02d-%d-dut", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)getpid());
	snprintf(kernel, sizeof(kernel), "%s %s %s", u.sysname, u.release, u.version);
	json_object_set_new(cj, "device",
			    json_pack("{s:s,s:s,s:s,s:s,s:[s,s]}", "lan", o->lan, "wan", o->wan,
				      "lan_addr", o->lan_addr, "lan_gw", o->lan_gw, "servers",
				      o->srv[0], o->srv[1]));
	if (o->dhcp) {
		char srv[20];
		snprintf(srv, sizeof(srv), "%u.%u.%u.%u", o->lease.server >> 24,
			 (o->lease.server >> 16) & 255, (o->lease.server >> 8) & 255,
			 o->lease.server & 255);
		json_object_set_new(
		    json_object_get(cj, "device"), "lan_dhcp",
		    json_pack("{s:s,s:I}", "server", srv, "lease_s", (json_int_t)o->lease.lease_s));
	}
	meta = json_pack("{s:s,s:s,s:s,s:s,s:I,s:{s:[s],s:s,s:s},s:i,s:O}", "natlab_version",
			 NATLAB_VERSION, "kernel", kernel, "machine", u.machine, "start", started,
			 "seed", (json_int_t)0, "options", "scenarios", "dut", "lan", o->lan, "wan",
			 o->wan, "cells_total", r->n_rows + (int)json_array_size(trav),
			 "compliance", cj);
	ret = results_open(o->out, run_id, meta, &res, e);
	for (int i = 0; ret == 0 && i < r->n_rows; i++) {
		const struct compl_row *w = &r->rows[i];
		char id[128], msg[COMPL_MEASURED_MAX + COMPL_EVIDENCE_MAX + 32];
		json_t *cell;

		snprintf(id, sizeof(id), "dut/req=%s", w->key);
		snprintf(msg, sizeof(msg), "%s: %s (%s)", compl_verdict_name(w->verdict),
			 w->measured, w->evidence);
		cell =
		    json_pack("{s:s,s:s,s:{s:s},s:i,s:i,s:s,s:s,s:{s:s,s:s,s:s,s:s}}", "id", id,
			      "scenario", "dut", "params", "requirement", w->req, "trial", 0,
			      "index", i, "outcome", outcome_of(w->verdict), "message", msg,
			      "observations", "verdict", compl_verdict_name(w->verdict), "measured",
			      w->measured, "evidence", w->evidence, "title", w->title);
		ret = results_cell_add(res, cell, e);
		json_decref(cell);
	}
	{
		size_t k;
		json_t *c;
		json_array_foreach(trav, k, c) if (ret == 0) ret = results_cell_add(res, c, e);
	}
	if (ret == 0)
		ret = results_close(res, NULL, e);
	if (ret == 0) {
		snprintf(path, sizeof(path), "%s/compliance.json", results_dir(res));
		text = json_dumps(cj, JSON_INDENT(2));
		ret = text ? results_write_atomic(path, text, strlen(text), e)
			   : natlab_err_set(e, ENOMEM, "compliance.json");
		free(text);
		printf("results: %s (report.html, compliance.json)\n", results_dir(res));
	}
	results_free(res);
	json_decref(meta);
	return ret;
}

/* The device's port mapping (docs/dut.md "Port mapping"): the LAN host
 * asks the device (its gateway) for a mapping with each protocol, the
 * lab's internet sends to it from the second server address, the mapping
 * is deleted; three rows appended to @rep. */
static int portmap_rows(const struct dut_opts *o, struct emu_lab *lab, struct emu_node *ln,
			struct emu_node *wn, const struct compl_config *cfg,
			struct pmcheck_report *pm, struct compl_report *rep)
{
	struct pmcheck_config pc = {.lab = lab,
				    .lan = ln,
				    .wan = wn,
				    .lan_ip = htonl(cfg->lan_ip),
				    .wan_ip = htonl(cfg->server[1].ip),
				    .port_base = 40100,
				    .lifetime_s = 600,
				    .answer_ms = 2000,
				    .reach_ms = 1500,
				    .protocols = (1u << PMCHECK_N) - 1};
	struct natlab_err e = {""};
	uint32_t gw;

	ip_of(o->lan_gw, &gw);
	pc.gw_ip = htonl(gw);
	if (pmcheck_run(&pc, pm, &e) < 0) {
		fprintf(stderr, "natlab dut: %s\n", e.msg);
		return -1;
	}
	dut_portmap_rows(pm, rep);
	return 0;
}

/* bytes beyond one per character ("§" is two): printf pads by bytes */
static int utf8_extra(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) == 0x80;
	return n;
}

static void print_table(const struct compl_report *r)
{
	printf("%-24s %-56s %-12s %s\n", "requirement", "title", "verdict", "measured");
	for (int i = 0; i < r->n_rows; i++) {
		const struct compl_row *w = &r->rows[i];
		printf("%-*s %-*s %-12s %s\n", 24 + utf8_extra(w->req), w->req,
		       56 + utf8_extra(w->title), w->title, compl_verdict_name(w->verdict),
		       w->measured);
	}
	printf("suite took %.1f s\n", r->duration_ms / 1000.0);
}

int cmd_dut(int argc, char **argv)
{
	struct dut_opts o;
	struct dut_iface *lan = NULL, *wan = NULL;
	struct emu_lab *lab = NULL;
	struct emu_node *ln = NULL, *wn = NULL;
	struct natlab_err e = {""};
	struct compl_config cfg = {0};
	struct compl_report *rep = NULL;
	struct dut_io_ctx ioc = {0};
	struct compl_io io;
	struct pmcheck_report pm;
	enum emu_sandbox_mode mode;
	char started[64];
	int status = NATLAB_EXIT_USAGE, fails = 0;
	json_t *trav = json_array();

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(dut_usage, stdout);
			return NATLAB_EXIT_OK;
		}
	if (parse_args(argc, argv, &o) < 0)
		return NATLAB_EXIT_USAGE;
	if ((!o.dhcp && ip_of(o.lan_addr, &cfg.lan_ip) < 0) ||
	    ip_of(o.srv[0], &cfg.server[0].ip) < 0 || ip_of(o.srv[1], &cfg.server[1].ip) < 0 ||
	    ip_of(o.lan_gw, &(uint32_t){0}) < 0 || ip_of(o.wan_addr, &(uint32_t){0}) < 0) {
		fprintf(stderr, "natlab dut: addresses must be IPv4 (CIDR for --lan-addr and "
				"--wan-addr)\n");
		return NATLAB_EXIT_USAGE;
	}
	if (!o.dhcp && subscribers(&o, &e) < 0) {
		fprintf(stderr, "natlab dut: %s\n", e.msg);
		return NATLAB_EXIT_USAGE;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "natlab dut: needs root (it moves real interfaces); run it with "
				"sudo\n");
		return NATLAB_EXIT_USAGE;
	}
	if (dut_iface_save(o.lan, &lan, &e) < 0 || dut_iface_save(o.wan, &wan, &e) < 0) {
		fprintf(stderr, "natlab dut: %s\n", e.msg);
		goto out;
	}
	for (int k = 0; k < 2; k++) {
		struct dut_iface *i = k ? wan : lan;
		if (dut_iface_default_route(i) && !o.force) {
			fprintf(stderr,
				"natlab dut: %s carries this host's default route; moving it would "
				"cut the host off. Use another interface, or --force\n",
				dut_iface_name(i));
			goto out;
		}
	}
	if (emu_sandbox_enter(&mode, &e) < 0) {
		fprintf(stderr, "natlab dut: %s\n", e.msg);
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	results_now_iso(started, sizeof(started));
	if (emu_lab_new(&lab, &e) < 0 || lab_up(&o, lab, lan, wan, &ln, &wn, &e) < 0) {
		fprintf(stderr, "natlab dut: setting up the lab: %s\n", e.msg);
		goto restore;
	}
	ip_of(o.lan_addr, &cfg.lan_ip); /* from DHCP, or checked above */
	cfg.server[0].port = 3478;
	cfg.server[1].port = 3478;
	cfg.wait_ms = o.wait_ms;
	cfg.timeout_max_s = o.timeout_max_s;
	cfg.timeout_resolution_ms = o.resolution_ms;
	cfg.tcp = o.tcp;
	cfg.syn_wait_ms = o.syn_wait_ms;
	cfg.tcp_timeout_max_s = o.tcp_timeout_max_s;
	cfg.cgn = o.cgn;
	cfg.quota_max = o.quota_max;
	ioc.sub_ip[0] = o.cgn ? o.sub_ip[0] : 0;
	ioc.sub_ip[1] = o.cgn ? o.sub_ip[1] : 0;
	ioc.lan = ln;
	ioc.wan = wn;
	ioc.lan_ip = cfg.lan_ip;
	ioc.srv_ip[0] = cfg.server[0].ip;
	ioc.srv_ip[1] = cfg.server[1].ip;
	ioc.stop = &stop_flag;
	dut_io_init(&io, &ioc);
	rep = calloc(1, sizeof(*rep));
	if (!rep)
		goto restore;
	printf("natlab dut: LAN %s (%s via %s), WAN %s (%s; servers %s, %s)\n", o.lan, o.lan_addr,
	       o.lan_gw, o.wan, o.wan_addr, o.srv[0], o.srv[1]);
	fflush(stdout);
	compl_run(&cfg, &io, rep);
	if (o.portmap && !stop_flag && portmap_rows(&o, lab, ln, wn, &cfg, &pm, rep) < 0)
		goto restore;
	for (int i = 0; i < rep->n_rows; i++)
		fails += rep->rows[i].verdict == COMPL_FAIL;
	if (o.traversal && !stop_flag)
		fails += traversal(&o, ln, wn, trav);
	status = fails ? NATLAB_EXIT_FAIL : NATLAB_EXIT_OK;
restore:
	/* the interfaces go home before the lab's namespaces are dropped */
	for (int k = 0; k < 2; k++) {
		struct dut_iface *i = k ? wan : lan;
		if (dut_iface_restore(i, k ? wn : ln, &e) < 0) {
			fprintf(stderr, "natlab dut: restoring %s: %s\n", dut_iface_name(i), e.msg);
			status = NATLAB_EXIT_USAGE;
		}
	}
	emu_lab_free(lab);
	if (stop_flag) {
		fprintf(stderr,
			"natlab dut: interrupted by signal %d; interfaces restored, no "
			"results written\n",
			(int)stop_flag);
		status = NATLAB_EXIT_USAGE;
	} else if (rep && status != NATLAB_EXIT_USAGE) {
		print_table(rep);
		if (write_results(&o, &cfg, rep, o.portmap ? &pm : NULL, started, trav, &e) < 0) {
			fprintf(stderr, "natlab dut: writing results: %s\n", e.msg);
			status = NATLAB_EXIT_USAGE;
		}
	}
out:
	json_decref(trav);
	free(rep);
	dut_iface_free(lan);
	dut_iface_free(wan);
	return status;
}

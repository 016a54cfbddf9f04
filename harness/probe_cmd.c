/* probe_cmd.c - `natlab probe`: natlab-probe behind each preset's NAT, its
 * measurements beside the claims derived from the preset's knobs; see
 * probe_cmd.h and docs/probe.md. */
#include "harness/probe_cmd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emu/lab.h"
#include "emu/link.h"
#include "emu/route.h"
#include "emu/sandbox.h"
#include "harness/cli.h"
#include "harness/luanet.h"
#include "harness/pmcheck.h"
#include "harness/pmserver.h"

/* ---- claims (pure) ---- */

static const char *behaviour_word(int level)
{
	/* emu_nat_mapping and emu_nat_filtering share the order EI < AD < APD */
	static const char *const w[] = {"endpoint-independent", "address-dependent",
					"address-and-port-dependent"};
	return w[level < 0 ? 0 : level > 2 ? 2 : level];
}

static int stricter(int a, int b)
{
	return a > b ? a : b;
}

void probe_claim_derive(const struct emu_nat_config *outer, const struct emu_nat_config *inner,
			bool check_lifetime, struct probe_claim *c)
{
	const struct emu_nat_config *nats[2] = {inner, outer};
	int map = 0, filt = 0;
	bool preserve = true, random = false, udp = true, translate = false;
	unsigned timeout = 0;

	memset(c, 0, sizeof(*c));
	/* Walk the path from the probe outwards. A NAT that does not translate
	 * adds no mapping and no filter, but its firewall knobs still apply. */
	for (int i = 0; i < 2; i++) {
		const struct emu_nat_config *n = nats[i];

		if (!n)
			continue;
		if (n->udp_blocked)
			udp = false;
		if (!n->translate)
			continue;
		translate = true;
		/* A packet passes two NATs only if both let it: the mapping the
		 * server sees changes whenever either NAT's changes, and a
		 * packet in must pass both filters, so the stricter behaviour
		 * of the two is what shows. */
		map = stricter(map, (int)n->mapping);
		filt = stricter(filt, (int)n->filtering);
		if (n->ports != EMU_NAT_PORTS_PRESERVE)
			preserve = false;
		if (n->ports == EMU_NAT_PORTS_RANDOM)
			random = true;
		if (!timeout || n->udp_timeout_s < timeout)
			timeout = n->udp_timeout_s;
	}
	c->udp = udp;
	c->nat = translate;
	c->mapping = behaviour_word(map);
	c->filtering = behaviour_word(filt);
	/* Ports: an outer NAT that preserves keeps whatever pattern the inner
	 * one produced; a random one anywhere hides any pattern. */
	c->ports = preserve ? "preserved" : random ? "random" : "sequential";
	if (!translate) {
		/* no NAT: the "mapped" address is the probe's own */
		c->hairpin = true;
	} else {
		/* Hairpinning is the outermost NAT's business (both probe
		 * sockets sit behind it). docs/probe.md: a hairpinning NAT whose
		 * mapping is address-and-port dependent gives the hairpinned
		 * packet a new mapping, which the peer's filter then drops, so
		 * the probe cannot see it work. */
		c->hairpin = outer->translate ? outer->hairpin : inner->hairpin;
		if (map == EMU_NAT_MAP_APD)
			c->hairpin = false;
	}
	c->udp_timeout_s = timeout;
	c->check_lifetime = check_lifetime && translate && udp;
}

int probe_claim_for_preset(const char *name, unsigned udp_timeout_s, bool check_lifetime,
			   struct probe_claim *c, struct natlab_err *e)
{
	struct emu_nat_config outer, inner;
	const char *in = emu_nat_preset_inner(name);
	int ret = emu_nat_preset(name, &outer, e);

	if (ret < 0)
		return ret;
	if (in) {
		ret = emu_nat_preset(in, &inner, e);
		if (ret < 0)
			return ret;
	}
	if (udp_timeout_s) {
		outer.udp_timeout_s = udp_timeout_s;
		inner.udp_timeout_s = udp_timeout_s;
	}
	probe_claim_derive(&outer, in ? &inner : NULL, check_lifetime, c);
	return 0;
}

static const char *yesno(bool b)
{
	return b ? "yes" : "no";
}

static struct probe_row *row_add(struct probe_row *rows, int *n, const char *what,
				 const char *claimed)
{
	struct probe_row *r = &rows[(*n)++];

	r->what = what;
	snprintf(r->claimed, sizeof(r->claimed), "%s", claimed);
	snprintf(r->measured, sizeof(r->measured), "unknown");
	r->ok = false;
	return r;
}

static void row_str(struct probe_row *r, json_t *v)
{
	if (json_is_string(v))
		snprintf(r->measured, sizeof(r->measured), "%s", json_string_value(v));
	else if (json_is_boolean(v))
		snprintf(r->measured, sizeof(r->measured), "%s", yesno(json_is_true(v)));
	r->ok = strcmp(r->claimed, r->measured) == 0;
}

int probe_claim_compare(const struct probe_claim *c, json_t *m, int lifetime_tol_ms,
			struct probe_row *rows, int *n_rows)
{
	int bad = 0;
	struct probe_row *r;

	*n_rows = 0;
	r = row_add(rows, n_rows, "udp", yesno(c->udp));
	row_str(r, json_object_get(m, "udp"));
	/* With UDP blocked nothing else can be seen; with UDP unexpectedly
	 * blocked the udp row already says what is wrong. */
	if (c->udp && json_is_true(json_object_get(m, "udp"))) {
		row_str(row_add(rows, n_rows, "nat", yesno(c->nat)), json_object_get(m, "nat"));
		row_str(row_add(rows, n_rows, "mapping", c->mapping),
			json_object_get(m, "mapping"));
		row_str(row_add(rows, n_rows, "filtering", c->filtering),
			json_object_get(m, "filtering"));
		row_str(row_add(rows, n_rows, "port assignment", c->ports),
			json_object_get(json_object_get(m, "port_assignment"), "pattern"));
		row_str(row_add(rows, n_rows, "hairpinning", yesno(c->hairpin)),
			json_object_get(m, "hairpinning"));
		/* no preset has an ALG: a rewritten MAPPED-ADDRESS is a bug */
		row_str(row_add(rows, n_rows, "alg", "no"),
			json_object_get(json_object_get(m, "alg"), "detected"));
		if (c->check_lifetime) {
			json_t *lt = json_object_get(m, "lifetime");
			json_t *alive = json_object_get(lt, "alive_ms");
			json_t *exp = json_object_get(lt, "expired_ms");
			long long t_ms = (long long)c->udp_timeout_s * 1000;
			char claim[PROBE_VAL_MAX];

			snprintf(claim, sizeof(claim), "%u s", c->udp_timeout_s);
			r = row_add(rows, n_rows, "mapping lifetime", claim);
			if (json_is_true(json_object_get(lt, "tested")) && json_is_integer(alive)) {
				long long a = json_integer_value(alive);
				if (json_is_integer(exp)) {
					long long x = json_integer_value(exp);
					snprintf(r->measured, sizeof(r->measured), "%.1f..%.1f s",
						 (double)a / 1000, (double)x / 1000);
					/* docs/probe.md: alive_ms <= timeout < expired_ms,
					 * within the search resolution and timer slack */
					r->ok = a <= t_ms + lifetime_tol_ms &&
						x >= t_ms - lifetime_tol_ms;
				} else {
					snprintf(r->measured, sizeof(r->measured),
						 "> %.1f s (alive at the bound)", (double)a / 1000);
				}
			}
		}
	}
	for (int i = 0; i < *n_rows; i++)
		bad += !rows[i].ok;
	return bad;
}

void probe_rows_print(FILE *out, const char *preset, const struct probe_row *rows, int n_rows)
{
	int bad = 0;

	fprintf(out, "%s", preset);
	if (emu_nat_preset_describe(preset))
		fprintf(out, "  (%s)", emu_nat_preset_describe(preset));
	fprintf(out, "\n  %-18s %-28s %-28s\n", "behaviour", "preset claims", "probe measured");
	for (int i = 0; i < n_rows; i++) {
		fprintf(out, "  %-18s %-28s %-28s %s\n", rows[i].what, rows[i].claimed,
			rows[i].measured, rows[i].ok ? "ok" : "MISMATCH");
		bad += !rows[i].ok;
	}
	if (bad)
		fprintf(out, "  verdict: MISMATCH (%d of %d)\n\n", bad, n_rows);
	else
		fprintf(out, "  verdict: match\n\n");
}

/* ---- the lab ---- */

#define SRV_A	 "198.51.100.1"
#define SRV_B	 "198.51.100.2"
#define SRV_PORT "3478"
#define PUBLIC	 "203.0.113.1"
#define CORE_GW	 "203.0.113.254"
/* With --portmap the NAT's public address is outside every special-purpose
 * block: miniupnpd 2.3.1 maps nothing behind TEST-NET-3 (its
 * addr_is_reserved; natlab.PORTMAP_PUBLIC in 45_portmap.lua). It exists
 * only inside the lab's namespaces. */
#define PM_PUBLIC  "203.0.114.1"
#define PM_CORE_GW "203.0.114.254"
#define HOST_IP	   "10.0.0.2"
#define HOST_GW	   "10.0.0.1"
#define HOME_PUB   "100.64.0.2" /* in EMU_NAT_CGN_PREFIX */
#define CARRIER_IN "100.64.0.1"

struct probe_opts {
	bool lifetime;		/* --lifetime: search even for a long timeout */
	unsigned udp_timeout_s; /* --udp-timeout: set on every NAT; 0 = the preset's */
	int rto_ms;
	bool json;
	unsigned portmap; /* --portmap: EMU_NAT_PORTMAP_* served by the NAT; 0 none */
};

/* --portmap: the lifetime asked for, inside the server's [120, 86400] */
#define PM_LIFETIME_S	  600
#define PM_MIN_LIFETIME_S 120
#define PM_MAX_LIFETIME_S 86400
#define PM_PORT_BASE	  40100

/* A short timeout is one a lifetime search can find in a test's time. */
#define PROBE_SHORT_TIMEOUT_S 30

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define TRY(call)                                                                                  \
	do {                                                                                       \
		ret = (call);                                                                      \
		if (ret < 0)                                                                       \
			goto out;                                                                  \
	} while (0)

/* host - [home -] nat - inet (the server's two addresses on its loopback) */
static int lab_build(struct emu_lab *lab, const char *preset, const struct probe_opts *o,
		     struct emu_node **host, struct emu_node **nat, struct emu_node **inet,
		     struct natlab_err *e)
{
	struct emu_nat_config outer, inner;
	const char *in = emu_nat_preset_inner(preset);
	const char *pub = o->portmap ? PM_PUBLIC : PUBLIC, *gw = o->portmap ? PM_CORE_GW : CORE_GW;
	unsigned udp_timeout_s = o->udp_timeout_s;
	struct emu_node *home = NULL;
	char cidr[32];
	int ret;

	TRY(emu_nat_preset(preset, &outer, e));
	if (in)
		TRY(emu_nat_preset(in, &inner, e));
	TRY(emu_lab_node_add(lab, "host", host, e));
	TRY(emu_lab_node_add(lab, "nat", nat, e));
	TRY(emu_lab_node_add(lab, "inet", inet, e));
	TRY(emu_link_veth(*nat, "out", *inet, "r0", e));
	snprintf(cidr, sizeof(cidr), "%s/24", pub);
	TRY(emu_link_addr_add(*nat, "out", cidr, e));
	snprintf(cidr, sizeof(cidr), "%s/24", gw);
	TRY(emu_link_addr_add(*inet, "r0", cidr, e));
	TRY(emu_link_addr_add(*inet, "lo", SRV_A "/32", e));
	TRY(emu_link_addr_add(*inet, "lo", SRV_B "/32", e));
	TRY(emu_route_add(*nat, "default", gw, NULL, e));
	TRY(emu_route_forwarding(*nat, true, e));
	if (in) {
		TRY(emu_lab_node_add(lab, "home", &home, e));
		TRY(emu_link_veth(*host, "eth0", home, "in", e));
		TRY(emu_link_veth(home, "out", *nat, "in", e));
		TRY(emu_link_addr_add(*host, "eth0", "192.168.1.2/24", e));
		TRY(emu_link_addr_add(home, "in", "192.168.1.1/24", e));
		TRY(emu_link_addr_add(home, "out", HOME_PUB "/24", e));
		TRY(emu_link_addr_add(*nat, "in", CARRIER_IN "/24", e));
		TRY(emu_route_add(*host, "default", "192.168.1.1", NULL, e));
		TRY(emu_route_add(home, "default", CARRIER_IN, NULL, e));
		TRY(emu_route_forwarding(home, true, e));
		snprintf(inner.outside_ifname, sizeof(inner.outside_ifname), "out");
		snprintf(inner.public_addrs[0], sizeof(inner.public_addrs[0]), HOME_PUB);
		inner.n_public_addrs = 1;
		if (udp_timeout_s)
			inner.udp_timeout_s = udp_timeout_s;
		TRY(emu_nat_apply(home, &inner, e));
	} else {
		TRY(emu_link_veth(*host, "eth0", *nat, "in", e));
		TRY(emu_link_addr_add(*host, "eth0", HOST_IP "/24", e));
		TRY(emu_link_addr_add(*nat, "in", HOST_GW "/24", e));
		TRY(emu_route_add(*host, "default", HOST_GW, NULL, e));
		/* the "open" preset routes the host's own address */
		TRY(emu_route_add(*inet, "10.0.0.0/24", pub, NULL, e));
	}
	snprintf(outer.outside_ifname, sizeof(outer.outside_ifname), "out");
	snprintf(outer.public_addrs[0], sizeof(outer.public_addrs[0]), "%s", pub);
	outer.n_public_addrs = 1;
	if (udp_timeout_s)
		outer.udp_timeout_s = udp_timeout_s;
	/* --portmap: the NAT's rules let the server's mappings in (the
	 * knob; cmd_probe refuses it for a stacked preset) */
	outer.portmap = o->portmap;
	TRY(emu_nat_apply(*nat, &outer, e));
out:
	if (ret < 0)
		natlab_err_prefix(e, "building the lab for %s", preset);
	return ret;
}

/* Read @fd until EOF or @deadline; appends to @buf (NUL-terminated). Stops
 * early once @until appears when it is not NULL. */
static int read_until(int fd, char *buf, size_t len, const char *until, long long deadline)
{
	size_t n = strlen(buf);

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long long left = deadline - now_ms();
		ssize_t r;

		if (until && strstr(buf, until))
			return 0;
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		if (n + 1 >= len)
			return -ENOBUFS;
		r = read(fd, buf + n, len - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return until ? -EPIPE : 0;
		n += (size_t)r;
		buf[n] = '\0';
	}
}

static int spawn_piped(struct emu_lab *lab, struct emu_node *n, char **argv, int *rfd, pid_t *pid,
		       struct natlab_err *e)
{
	int p[2];
	struct emu_spawn_opts so = {-1, -1, 2, NULL, NULL, false};
	int ret;

	if (pipe2(p, O_CLOEXEC) < 0)
		return natlab_err_set(e, errno, "pipe");
	so.stdout_fd = p[1];
	ret = emu_lab_spawn(lab, n, argv, &so, pid, e);
	close(p[1]);
	if (ret < 0) {
		close(p[0]);
		return ret;
	}
	*rfd = p[0];
	return 0;
}

/* --portmap: the NAT's server up (its files in @dir), before the probe. */
static int portmap_serve(struct emu_lab *lab, struct emu_node *nat, const struct probe_opts *o,
			 char *dir, bool *made, struct natlab_err *e)
{
	struct pmserver_config pc = {.dir = dir,
				     .ext_ifname = "out",
				     .ext_ip = PM_PUBLIC,
				     .lan_ifname = "in",
				     .lan_prefix = "10.0.0.0/24",
				     .protocols = o->portmap,
				     .min_lifetime_s = PM_MIN_LIFETIME_S,
				     .max_lifetime_s = PM_MAX_LIFETIME_S};
	pid_t pid;

	if (!mkdtemp(dir))
		return natlab_err_set(e, errno, "mkdtemp %s", dir);
	*made = true;
	return pmserver_start(lab, nat, &pc, 5000, &pid, e);
}

/* --portmap: the checks from both sides, after the probe (whose sockets
 * are closed by then). */
static int portmap_check(struct emu_lab *lab, struct emu_node *host, struct emu_node *inet,
			 struct pmcheck_report *pm, struct natlab_err *e)
{
	struct pmcheck_config pc = {.lab = lab,
				    .lan = host,
				    .wan = inet,
				    .port_base = PM_PORT_BASE,
				    .lifetime_s = PM_LIFETIME_S,
				    .answer_ms = 2000,
				    .reach_ms = 1500,
				    .protocols = (1u << PMCHECK_N) - 1};

	inet_pton(AF_INET, HOST_IP, &pc.lan_ip);
	inet_pton(AF_INET, HOST_GW, &pc.gw_ip);
	inet_pton(AF_INET, SRV_B, &pc.wan_ip);
	return pmcheck_run(&pc, pm, e);
}

static void dir_remove(const char *dir)
{
	static const char *const f[] = {"miniupnpd.conf", "miniupnpd.pid", "miniupnpd.log"};
	char path[PATH_MAX];

	for (unsigned i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, f[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* Probe one preset in a lab of its own; *@report receives the probe's JSON
 * (caller owns), with --portmap also @pm the port-mapping checks (and the
 * report their JSON under "portmap"). */
static int probe_preset(const char *preset, const struct probe_opts *o, const struct probe_claim *c,
			json_t **report, struct pmcheck_report *pm, struct natlab_err *e)
{
	struct emu_lab *lab = NULL;
	struct emu_node *host = NULL, *nat = NULL, *inet = NULL;
	char pmdir[] = "/tmp/natlab-probe-pm-XXXXXX";
	bool pm_up = false;
	char srv_bin[PATH_MAX], probe_bin[PATH_MAX];
	char rto[16], lmax[16], lres[16], out[8192] = "", ready[4096] = "";
	char *srv_argv[] = {srv_bin, "--addr", SRV_A, "--addr", SRV_B, "--port", SRV_PORT, NULL};
	char *probe_argv[16];
	int srv_fd = -1, probe_fd = -1, ret, k = 0, status = 0;
	long long budget_ms = 30000;
	pid_t srv, pr;
	json_error_t je;

	*report = NULL;
	if (luanet_bin_path("natlab-stun-server", srv_bin, sizeof(srv_bin)) < 0 ||
	    luanet_bin_path("natlab-probe", probe_bin, sizeof(probe_bin)) < 0)
		return natlab_err_msg(
		    e, ENOENT,
		    "natlab-stun-server or natlab-probe not found next to natlab, "
		    "in NATLAB_BIN_DIR or in PATH");
	TRY(emu_lab_new(&lab, e));
	TRY(lab_build(lab, preset, o, &host, &nat, &inet, e));
	if (o->portmap) {
		ret = portmap_serve(lab, nat, o, pmdir, &pm_up, e);
		if (ret < 0)
			goto out;
	}
	TRY(spawn_piped(lab, inet, srv_argv, &srv_fd, &srv, e));
	if (read_until(srv_fd, ready, sizeof(ready), "\"ev\":\"ready\"", now_ms() + 5000) < 0) {
		ret = natlab_err_msg(e, ETIMEDOUT, "natlab-stun-server did not get ready in 5 s");
		goto out;
	}
	snprintf(rto, sizeof(rto), "%d", o->rto_ms);
	probe_argv[k++] = probe_bin;
	probe_argv[k++] = "--server";
	probe_argv[k++] = SRV_A ":" SRV_PORT;
	probe_argv[k++] = "--rto-ms";
	probe_argv[k++] = rto;
	if (c->check_lifetime) {
		/* bound: twice the timeout, so the search surely sees it expire;
		 * resolution: a tenth of it, at least 250 ms */
		int t_ms = (int)c->udp_timeout_s * 1000;
		int res = t_ms / 10 > 250 ? t_ms / 10 : 250;
		snprintf(lmax, sizeof(lmax), "%d", 2 * t_ms + 2000);
		snprintf(lres, sizeof(lres), "%d", res);
		probe_argv[k++] = "--lifetime-max-ms";
		probe_argv[k++] = lmax;
		probe_argv[k++] = "--lifetime-resolution-ms";
		probe_argv[k++] = lres;
		/* each search step idles at most the bound, and there are
		 * about log2(bound / resolution) + 1 of them */
		budget_ms += (2LL * t_ms + 2000) * 8;
	}
	probe_argv[k] = NULL;
	TRY(spawn_piped(lab, host, probe_argv, &probe_fd, &pr, e));
	ret = read_until(probe_fd, out, sizeof(out), NULL, now_ms() + budget_ms);
	if (ret < 0) {
		/* read_until's own verdicts, not a system call's errno */
		if (ret == -ETIMEDOUT)
			natlab_err_msg(e, ret, "natlab-probe gave no complete report within %lld s",
				       budget_ms / 1000);
		else if (ret == -ENOBUFS)
			natlab_err_msg(e, ret, "natlab-probe's report is longer than %zu bytes",
				       sizeof(out) - 1);
		else
			natlab_err_msg(e, ret, "natlab-probe ended before its report was complete");
		goto out;
	}
	TRY(emu_lab_wait(lab, pr, &status, 5000, e));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		ret = natlab_err_msg(e, EIO, "natlab-probe failed (status %d)", status);
		goto out;
	}
	*report = json_loads(out, 0, &je);
	if (!*report) {
		ret = natlab_err_msg(e, EINVAL, "natlab-probe's report is not JSON: %s", je.text);
		goto out;
	}
	if (o->portmap) {
		TRY(portmap_check(lab, host, inet, pm, e));
		json_object_set_new(*report, "portmap", pmcheck_report_json(pm));
	}
out:
	if (srv_fd >= 0)
		close(srv_fd);
	if (probe_fd >= 0)
		close(probe_fd);
	emu_lab_free(lab); /* miniupnpd too */
	if (pm_up) {
		if (ret < 0)
			natlab_err_prefix(e, "(miniupnpd's files kept in %s)", pmdir);
		else
			dir_remove(pmdir);
	}
	return ret;
}

/* ---- the command ---- */

static const char probe_usage[] =
    "usage: natlab probe PRESET... | --all  [--lifetime] [--udp-timeout SEC] [--rto-ms MS]\n"
    "                   [--portmap LIST] [--json]\n\n"
    "Builds a lab per preset (the probe host behind the preset's NAT, behind both NATs\n"
    "for cgnat; natlab-stun-server with two addresses and two ports on the internet),\n"
    "runs natlab-probe and prints what it measured next to what the preset's knobs\n"
    "claim: UDP, NAT, mapping, filtering, port assignment, hairpinning, ALG.\n\n"
    "  --all              every preset (aliases once)\n"
    "  --udp-timeout SEC  set every NAT's UDP mapping timeout; 30 s or less also\n"
    "                     checks the measured mapping lifetime against it\n"
    "  --lifetime         check the mapping lifetime whatever the timeout (a 120 s\n"
    "                     preset timeout takes minutes per preset)\n"
    "  --rto-ms MS        the probe's retransmission wait (default 100)\n"
    "  --portmap LIST     the NAT serves port mapping (knob portmap: upnp,natpmp,pcp;\n"
    "                     miniupnpd in its node): also check which protocols answer,\n"
    "                     the mapping, its lifetime and epoch, that a mapped port is\n"
    "                     reachable from the internet and closed once deleted\n"
    "  --json             also print each probe report (one JSON line per preset)\n\n"
    "Exit status: 0 every preset measured as claimed, 1 some mismatch, 2 usage or\n"
    "environment error (no sandbox, lab not built, probe not run).\n";

static bool is_alias(const char *name)
{
	/* An alias describes the same device as its primary row; probing it
	 * again would only repeat the primary's verdict. */
	struct emu_nat_config a, b;
	const char *const *names = emu_nat_preset_names();

	for (unsigned i = 0; names[i] && strcmp(names[i], name) != 0; i++) {
		if (emu_nat_preset(names[i], &a, NULL) == 0 &&
		    emu_nat_preset(name, &b, NULL) == 0 && memcmp(&a, &b, sizeof(a)) == 0 &&
		    emu_nat_preset_inner(names[i]) == emu_nat_preset_inner(name))
			return true;
	}
	return false;
}

/* --portmap needs one translating NAT: a plain router has no ports to map
 * (emu refuses the knob), and in a stack the server would run in the home
 * NAT, whose outside address is the carrier's private one, behind which
 * miniupnpd refuses to map (45_portmap.lua). */
static bool portmap_probeable(const char *preset)
{
	struct emu_nat_config c;

	return !emu_nat_preset_inner(preset) && emu_nat_preset(preset, &c, NULL) == 0 &&
	       c.translate;
}

int cmd_probe(int argc, char **argv)
{
	struct probe_opts o = {.rto_ms = 100};
	const char *presets[64];
	unsigned n = 0, mismatched = 0;
	bool all = false;
	struct natlab_err e = {""};
	enum emu_sandbox_mode mode;
	int status = NATLAB_EXIT_OK;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		char *end;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(probe_usage, stdout);
			return NATLAB_EXIT_OK;
		} else if (strcmp(a, "--all") == 0) {
			all = true;
		} else if (strcmp(a, "--lifetime") == 0) {
			o.lifetime = true;
		} else if (strcmp(a, "--json") == 0) {
			o.json = true;
		} else if (strcmp(a, "--portmap") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "natlab probe: --portmap needs a value\n");
				return NATLAB_EXIT_USAGE;
			}
			o.portmap = 0;
			if (emu_nat_portmap_parse(argv[++i], &o.portmap, &e) < 0) {
				fprintf(stderr, "natlab probe: --portmap: %s\n", e.msg);
				return NATLAB_EXIT_USAGE;
			}
		} else if (strcmp(a, "--udp-timeout") == 0 || strcmp(a, "--rto-ms") == 0) {
			long v;
			if (i + 1 >= argc) {
				fprintf(stderr, "natlab probe: %s needs a value\n", a);
				return NATLAB_EXIT_USAGE;
			}
			errno = 0;
			v = strtol(argv[++i], &end, 10);
			if (errno || *end || v < 1 || v > 3600) {
				fprintf(stderr, "natlab probe: %s %s: want a number 1..3600\n", a,
					argv[i]);
				return NATLAB_EXIT_USAGE;
			}
			if (a[2] == 'u')
				o.udp_timeout_s = (unsigned)v;
			else
				o.rto_ms = (int)v;
		} else if (a[0] == '-') {
			fprintf(stderr, "natlab probe: unknown option '%s'\n%s", a, probe_usage);
			return NATLAB_EXIT_USAGE;
		} else {
			struct emu_nat_config c;
			if (emu_nat_preset(a, &c, &e) < 0) {
				fprintf(stderr, "natlab probe: %s\n", e.msg);
				return NATLAB_EXIT_USAGE;
			}
			if (n < sizeof(presets) / sizeof(presets[0]))
				presets[n++] = a;
		}
	}
	if (all) {
		if (n) {
			fprintf(stderr, "natlab probe: give presets or --all, not both\n");
			return NATLAB_EXIT_USAGE;
		}
		for (const char *const *p = emu_nat_preset_names(); *p; p++)
			if (!is_alias(*p) && n < sizeof(presets) / sizeof(presets[0]) &&
			    !(o.portmap && !portmap_probeable(*p)))
				presets[n++] = *p;
	}
	for (unsigned i = 0; o.portmap && i < n; i++) {
		if (!portmap_probeable(presets[i])) {
			fprintf(stderr,
				"natlab probe: --portmap: %s is stacked or does not translate; "
				"port mapping is probed on single translating NATs only\n",
				presets[i]);
			return NATLAB_EXIT_USAGE;
		}
	}
	if (n == 0) {
		fprintf(stderr, "natlab probe: no preset given (or --all)\n%s", probe_usage);
		return NATLAB_EXIT_USAGE;
	}
	if (emu_sandbox_enter(&mode, &e) < 0) {
		fprintf(stderr, "natlab probe: %s\n", e.msg);
		return NATLAB_EXIT_USAGE;
	}
	for (unsigned i = 0; i < n; i++) {
		struct probe_claim c;
		struct probe_row rows[PROBE_ROWS_MAX];
		struct pmcheck_report pm;
		json_t *rep = NULL;
		int n_rows, tol_ms, bad;
		bool lifetime;

		/* the timeout the NATs will have, known before the lab exists */
		if (probe_claim_for_preset(presets[i], o.udp_timeout_s, false, &c, &e) < 0) {
			fprintf(stderr, "natlab probe: %s\n", e.msg);
			return NATLAB_EXIT_USAGE;
		}
		lifetime = o.lifetime || c.udp_timeout_s <= PROBE_SHORT_TIMEOUT_S;
		probe_claim_for_preset(presets[i], o.udp_timeout_s, lifetime, &c, &e);
		if (probe_preset(presets[i], &o, &c, &rep, &pm, &e) < 0) {
			fprintf(stderr, "natlab probe: %s: %s\n", presets[i], e.msg);
			status = NATLAB_EXIT_USAGE;
			continue;
		}
		/* the search's resolution plus a second of timer granularity */
		tol_ms = (int)c.udp_timeout_s * 100;
		tol_ms = (tol_ms > 250 ? tol_ms : 250) + 1000;
		bad = probe_claim_compare(&c, rep, tol_ms, rows, &n_rows);
		if (o.portmap) {
			struct probe_portmap_claim pc = {.offered = o.portmap,
							 .public_addr = PM_PUBLIC,
							 .lifetime_s = PM_LIFETIME_S,
							 .min_lifetime_s = PM_MIN_LIFETIME_S,
							 .max_lifetime_s = PM_MAX_LIFETIME_S,
							 .udp = c.udp};
			bad += probe_portmap_compare(&pc, &pm, rows, &n_rows);
		}
		if (bad > 0)
			mismatched++;
		probe_rows_print(stdout, presets[i], rows, n_rows);
		if (o.json) {
			char *s = json_dumps(rep, JSON_COMPACT);
			if (s)
				printf("%s %s\n\n", presets[i], s);
			free(s);
		}
		fflush(stdout);
		json_decref(rep);
	}
	printf("%u preset%s probed: %u as claimed, %u mismatched\n", n, n == 1 ? "" : "s",
	       n - mismatched, mismatched);
	if (status == NATLAB_EXIT_OK && mismatched)
		status = NATLAB_EXIT_FAIL;
	return status;
}

/* bench_ice_connect - time from "gather" to a selected pair on both sides,
 * and to the first datagram received on both sides, for natlab-ice against
 * itself and, in the same run, for the libnice adapter (natlab-nice)
 * against itself; prints medians, p95 and the ratios.
 *
 *   bench_ice_connect [--trials N] [--bin DIR] [--ta-ms N] [--trickle]
 *                     [--nat PRESET_A,PRESET_B [--delay-ms N]]
 *                     [--nomination regular|aggressive]
 *                     [--relay udp|tcp|tls [--cert F --key F]]
 *                     [--ice-opt ARG]... [--nice-opt ARG]... [--check] [--verbose]
 *
 * --nat runs every trial through a fresh two-NAT lab (bench/ice_lab.h) with
 * natlab-turn-server as STUN and TURN server on the "internet" node.
 * --delay-ms makes each of its four links an impaired link (emu/impair.h)
 * with that one-way delay both ways: the agents' RTT is 8 x N.
 * In --nat mode each agent's interface is captured (emu/capture.h) and the
 * first connectivity check each agent sent is read from the capture
 * (bench/ice_capture.h), so the benchmark also prints the phases: gathering,
 * first check, first nominating check, selection, and checks the RFC 8445
 * budget "selected within 3 RTT + 2 Ta of the first check", with RTT the
 * data plane's measured median on the selected pair.
 *
 * Without --nat the agents run in a private network namespace
 * (emu_sandbox_enter) with only loopback up, so every packet stays inside
 * it. --check runs one trial of each pairing, interop included (natlab-ice
 * <-> natlab-nice in both roles), and exits non-zero when any fails: the
 * cli test uses it.
 */
#include <libgen.h>
#include <limits.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include "bench/ice_capture.h"
#include "bench/ice_lab.h"
#include "emu/capture.h"
#include "emu/sandbox.h"

static int lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r = 0;
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		r = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (r == 0 && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double pct(double *v, unsigned n, unsigned p)
{
	unsigned k;
	if (n == 0)
		return -1;
	qsort(v, n, sizeof(*v), cmp_d);
	k = (n * p + 99) / 100;
	return v[k ? k - 1 : 0];
}

struct impl {
	const char *label;
	char path[PATH_MAX];
};

#define NMAX 1000

struct stats {
	double conn[NMAX], data[NMAX];
	unsigned n, fails;
	/* --nat only, from the events and the captures (ms since "gather"):
	 * gathering done (both local descriptions), first check (either
	 * agent), first nominating check (USE-CANDIDATE, controlling agent),
	 * first check -> both selected, the selected path's RTT (data plane
	 * median) and the budget 3 RTT + 2 Ta */
	double gath[NMAX], first[NMAX], nom[NMAX], chk[NMAX], rtt[NMAX], budget[NMAX];
	unsigned nph, within, direct, nnom;
};

static const char *ta_ms;	  /* --ta-ms for both agents, NULL: their defaults */
static const char *relay;	  /* --relay udp|tcp|tls: both agents relay-only via TURN */
static bool trickle;		  /* --trickle: both agents trickle (RFC 8838) */
static const char *nat_a, *nat_b; /* --nat A,B: through two kernel NATs */
static unsigned delay_ms;	  /* --delay-ms: one-way delay of each lab link */
static const char *nomination;	  /* --nomination: for both agents */
static char cap_dir[64];	  /* captures of the current trial */
static const char *bin_dir;
static const char *ice_opts[8]; /* --ice-opt: extra arguments for natlab-ice only */
static unsigned n_ice_opts;
static const char *nice_opts[8]; /* --nice-opt: extra arguments for natlab-nice only */
static unsigned n_nice_opts;
static char turn_arg[64];

/* natlab-turn-server inside the sandbox, on loopback; returns its pid. */
static pid_t start_loopback_turn(const char *bin, const char *cert, const char *key)
{
	char path[PATH_MAX];
	char *argv[16];
	int k = 0;
	pid_t pid;
	double dl;
	snprintf(path, sizeof(path), "%s/natlab-turn-server", bin);
	argv[k++] = path;
	argv[k++] = "--listen";
	argv[k++] = "127.0.0.1:3478";
	argv[k++] = "--user";
	argv[k++] = "natlab:natlab";
	argv[k++] = "--allow-loopback"; /* the peers are on loopback too */
	/* one user for every trial's agents, whose UDP allocations outlive
	 * them (600 s): no per-user quota, or --trials 20 would reach 64 */
	argv[k++] = "--user-quota";
	argv[k++] = "0";
	if (cert && key) {
		argv[k++] = "--tls-listen";
		argv[k++] = "127.0.0.1:5349";
		argv[k++] = "--cert";
		argv[k++] = (char *)cert;
		argv[k++] = "--key";
		argv[k++] = (char *)key;
	}
	argv[k] = NULL;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		execv(path, argv);
		_exit(127);
	}
	if (pid < 0)
		return -1;
	/* ready when its TCP listener accepts (a deadline, not a sleep) */
	dl = pr_now_ms() + 5000;
	while (pr_now_ms() < dl) {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(3478)};
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int ok;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		close(fd);
		if (ok)
			return pid;
		usleep(5000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

static void argv_for(char **argv, const struct impl *im, bool controlling)
{
	int k = 0;
	argv[k++] = (char *)im->path;
	argv[k++] = "--role";
	argv[k++] = controlling ? "controlling" : "controlled";
	if (nat_a) {
		argv[k++] = "--stun";
		argv[k++] = SRV ":3478";
		argv[k++] = "--turn";
		argv[k++] = "udp:" SRV ":3478";
		argv[k++] = "--turn-user";
		argv[k++] = "natlab";
		argv[k++] = "--turn-pass";
		argv[k++] = "natlab";
	} else {
		argv[k++] = "--interface";
		argv[k++] = "lo";
	}
	if (ta_ms) {
		argv[k++] = "--ta-ms";
		argv[k++] = (char *)ta_ms;
	}
	if (trickle)
		argv[k++] = "--trickle";
	if (nomination) {
		argv[k++] = "--nomination";
		argv[k++] = (char *)nomination;
	}
	if (strcmp(im->label, "natlab-ice") == 0)
		for (unsigned i = 0; i < n_ice_opts; i++)
			argv[k++] = (char *)ice_opts[i];
	if (strcmp(im->label, "natlab-nice") == 0)
		for (unsigned i = 0; i < n_nice_opts; i++)
			argv[k++] = (char *)nice_opts[i];
	if (relay) {
		argv[k++] = "--policy";
		argv[k++] = "relay";
		argv[k++] = "--turn";
		argv[k++] = turn_arg;
		argv[k++] = "--turn-user";
		argv[k++] = "natlab";
		argv[k++] = "--turn-pass";
		argv[k++] = "natlab";
	}
	argv[k] = NULL;
}

/* Ta an agent paces its checks with: --ta-ms (or a natlab-ice --ice-opt
 * --ta-ms), else its default (natlab-ice 50 ms as RFC 8445 §14.2 says,
 * libnice 20 ms). */
static double impl_ta(const struct impl *im)
{
	bool ice = strcmp(im->label, "natlab-ice") == 0;
	const char **o = ice ? ice_opts : nice_opts;
	unsigned n = ice ? n_ice_opts : n_nice_opts;
	double ta = ta_ms ? atof(ta_ms) : ice ? 50 : 20;
	for (unsigned i = 0; i + 1 < n; i++)
		if (strcmp(o[i], "--ta-ms") == 0)
			ta = atof(o[i + 1]);
	return ta;
}

static bool is_direct(const char *type)
{
	return strcmp(type, "relay") != 0;
}

/* One trial through a fresh lab, both agents' interfaces captured; the
 * phases go to @st when the trial succeeded. */
static void trial_nat(char **av, char **bv, const struct impl *a, struct stats *st, bool verbose,
		      struct pr_result *r)
{
	struct lab l;
	struct natlab_err e = {{0}};
	struct emu_capture *ca = NULL, *cb = NULL;
	char pa[96], pb[96];
	struct ic_checks ka, kb;
	uint32_t ipa, ipb;
	double first, sel;

	memset(r, 0, sizeof(*r));
	if (build_delayed(&l, bin_dir, nat_a, nat_b, delay_ms * 1000u) < 0) {
		snprintf(r->why, sizeof(r->why), "cannot build the lab");
		lab_free(&l);
		return;
	}
	snprintf(pa, sizeof(pa), "%s/a.pcap", cap_dir);
	snprintf(pb, sizeof(pb), "%s/b.pcap", cap_dir);
	if (emu_capture_start(l.a, "eth0", pa, &ca, &e) < 0 ||
	    emu_capture_start(l.b, "eth0", pb, &cb, &e) < 0) {
		snprintf(r->why, sizeof(r->why), "capture: %s", e.msg);
		emu_capture_stop(ca, NULL);
		lab_free(&l);
		return;
	}
	pr_run_hook(av, bv, 10, 20000 + 400.0 * delay_ms, verbose, spawn, &l, r);
	emu_capture_stop(ca, NULL);
	emu_capture_stop(cb, NULL);
	lab_free(&l);
	inet_pton(AF_INET, "10.0.1.2", &ipa);
	inet_pton(AF_INET, "10.0.2.2", &ipb);
	if (ic_scan(pa, ipa, r->t0_real_ns, &ka) < 0 || ic_scan(pb, ipb, r->t0_real_ns, &kb) < 0) {
		ka.first_check_ms = kb.first_check_ms = -1;
		ka.first_nominate_ms = -1;
	}
	unlink(pa);
	unlink(pb);
	if (!r->ok || st->nph >= NMAX)
		return;
	first = ka.first_check_ms;
	if (first < 0 || (kb.first_check_ms >= 0 && kb.first_check_ms < first))
		first = kb.first_check_ms;
	if (first < 0) {
		/* the agents connected, so checks were sent: a capture that
		 * saw none is broken, and the trial says so */
		snprintf(r->why, sizeof(r->why), "no connectivity check in the captures");
		r->ok = false;
		return;
	}
	sel = r->connect_ms;
	st->gath[st->nph] = r->a.t_local > r->b.t_local ? r->a.t_local : r->b.t_local;
	st->first[st->nph] = first;
	st->chk[st->nph] = sel - first;
	st->rtt[st->nph] = r->a.rtt_median;
	st->budget[st->nph] = 3 * r->a.rtt_median + 2 * impl_ta(a);
	if (ka.first_nominate_ms >= 0)
		st->nom[st->nnom++] = ka.first_nominate_ms;
	if (st->chk[st->nph] <= st->budget[st->nph])
		st->within++;
	if (is_direct(r->a.sel_local_type) && is_direct(r->a.sel_remote_type))
		st->direct++;
	if (verbose)
		fprintf(stderr,
			"  phases: local %.1f/%.1f  checking %.1f/%.1f  first check %.1f/%.1f  "
			"nominate %.1f  selected %.1f/%.1f  rtt %.1f\n",
			r->a.t_local, r->b.t_local, r->a.t_checking, r->b.t_checking,
			ka.first_check_ms, kb.first_check_ms, ka.first_nominate_ms, r->a.t_selected,
			r->b.t_selected, r->a.rtt_median);
	st->nph++;
}

static bool trial(const struct impl *a, const struct impl *b, struct stats *st, bool verbose,
		  bool print)
{
	char *av[40], *bv[40];
	struct pr_result r;
	argv_for(av, a, true);
	argv_for(bv, b, false);
	if (nat_a)
		trial_nat(av, bv, a, st, verbose, &r);
	else
		pr_run(av, bv, 10, 15000, verbose, &r);
	if (print)
		printf("  %-10s (controlling) <-> %-10s (controlled): %s%s%s  selected %s/%s  "
		       "connect %.1f ms  first data %.1f ms\n",
		       a->label, b->label, r.ok ? "ok" : "FAILED", r.ok ? "" : ": ",
		       r.ok ? "" : r.why, r.a.sel_local_type, r.a.sel_remote_type, r.connect_ms,
		       r.first_data_ms);
	else if (!r.ok)
		fprintf(stderr, "  %s trial failed: %s\n", a->label, r.why);
	if (r.ok && relay &&
	    (strcmp(r.a.sel_local_type, "relay") != 0 ||
	     strcmp(r.b.sel_local_type, "relay") != 0)) {
		printf("  FAILED: relay-only agents selected %s/%s\n", r.a.sel_local_type,
		       r.b.sel_local_type);
		r.ok = false;
	}
	if (!r.ok) {
		st->fails++;
		return false;
	}
	if (st->n < NMAX) {
		st->conn[st->n] = r.connect_ms;
		st->data[st->n] = r.first_data_ms;
		st->n++;
	}
	return true;
}

/* The phases of one implementation, one line, key value pairs (bench/run
 * reads them by key). */
static void print_phases(const char *label, const struct impl *im, struct stats *s)
{
	printf("phases %-11s gather %.1f  first-check %.1f  first-nominate %.1f  "
	       "check->selected p50 %.1f p95 %.1f  rtt %.1f  Ta %.0f  budget(3rtt+2ta) %.1f  "
	       "within %u/%u  direct %u/%u\n",
	       label, pct(s->gath, s->nph, 50), pct(s->first, s->nph, 50), pct(s->nom, s->nnom, 50),
	       pct(s->chk, s->nph, 50), pct(s->chk, s->nph, 95), pct(s->rtt, s->nph, 50),
	       impl_ta(im), pct(s->budget, s->nph, 50), s->within, s->nph, s->direct, s->nph);
}

int main(int argc, char **argv)
{
	struct impl ice = {"natlab-ice", ""}, nice = {"natlab-nice", ""};
	/* static: a few tens of kB, and nothing to free on any exit path */
	static struct stats st_ice, st_nice, st_x;
	struct stats *s_ice = &st_ice, *s_nice = &st_nice, *s_x = &st_x;
	const char *bin = getenv("NATLAB_BIN_DIR");
	char self[PATH_MAX];
	unsigned trials = 20;
	bool check = false, verbose = false, have_nice;
	struct natlab_err err;
	enum emu_sandbox_mode mode;
	int bad = 0;
	const char *cert = NULL, *key = NULL;
	pid_t turn_pid = -1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--trials") == 0 && i + 1 < argc)
			trials = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--bin") == 0 && i + 1 < argc)
			bin = argv[++i];
		else if (strcmp(argv[i], "--ta-ms") == 0 && i + 1 < argc)
			ta_ms = argv[++i];
		else if (strcmp(argv[i], "--delay-ms") == 0 && i + 1 < argc)
			delay_ms = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--nomination") == 0 && i + 1 < argc)
			nomination = argv[++i];
		else if (strcmp(argv[i], "--nat") == 0 && i + 1 < argc) {
			char *comma = strchr(argv[++i], ',');
			if (!comma)
				return 2;
			*comma = '\0';
			nat_a = argv[i];
			nat_b = comma + 1;
		} else if (strcmp(argv[i], "--ice-opt") == 0 && i + 1 < argc && n_ice_opts < 8) {
			ice_opts[n_ice_opts++] = argv[++i];
		} else if (strcmp(argv[i], "--nice-opt") == 0 && i + 1 < argc && n_nice_opts < 8) {
			nice_opts[n_nice_opts++] = argv[++i];
		} else if (strcmp(argv[i], "--trickle") == 0)
			trickle = true;
		else if (strcmp(argv[i], "--relay") == 0 && i + 1 < argc)
			relay = argv[++i];
		else if (strcmp(argv[i], "--cert") == 0 && i + 1 < argc)
			cert = argv[++i];
		else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
			key = argv[++i];
		else if (strcmp(argv[i], "--check") == 0)
			check = true;
		else if (strcmp(argv[i], "--verbose") == 0)
			verbose = true;
		else {
			fprintf(stderr,
				"usage: bench_ice_connect [--trials N] [--bin DIR] "
				"[--ta-ms N] [--trickle] [--nat PRESET_A,PRESET_B "
				"[--delay-ms N]] [--nomination regular|aggressive] "
				"[--relay udp|tcp|tls [--cert F --key F]] "
				"[--ice-opt ARG]... [--nice-opt ARG]... [--check] [--verbose]\n");
			return 2;
		}
	}
	if (!s_ice || !s_nice || !s_x || trials < 1 || trials > NMAX || delay_ms > 1000 ||
	    (delay_ms && !nat_a))
		return 2;
	if (!bin) {
		/* build/bench/bench_ice_connect -> build/bin */
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0)
			return 2;
		self[n] = '\0';
		snprintf(ice.path, sizeof(ice.path), "%s/../bin", dirname(self));
		bin = ice.path;
	}
	snprintf(self, sizeof(self), "%s", bin);
	bin_dir = self;
	snprintf(ice.path, sizeof(ice.path), "%s/natlab-ice", self);
	snprintf(nice.path, sizeof(nice.path), "%s/natlab-nice", self);
	have_nice = access(nice.path, X_OK) == 0;
	if (access(ice.path, X_OK) != 0) {
		fprintf(stderr, "bench_ice_connect: %s not found (build first)\n", ice.path);
		return 2;
	}
	if (emu_sandbox_enter(&mode, &err) < 0) {
		fprintf(stderr, "bench_ice_connect: %s\n", err.msg);
		return check ? 77 : 2;
	}
	if (lo_up() < 0) {
		fprintf(stderr, "bench_ice_connect: cannot bring loopback up in the sandbox\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (nat_a) {
		/* /tmp of the sandbox's mount namespace is the host's: a
		 * private folder, emptied after every trial */
		snprintf(cap_dir, sizeof(cap_dir), "/tmp/natlab-icebench.XXXXXX");
		if (!mkdtemp(cap_dir)) {
			fprintf(stderr, "bench_ice_connect: mkdtemp: %s\n", strerror(errno));
			return 2;
		}
	}
	if (relay) {
		if (strcmp(relay, "udp") && strcmp(relay, "tcp") && strcmp(relay, "tls"))
			return 2;
		if (strcmp(relay, "tls") == 0 && (!cert || !key)) {
			fprintf(stderr, "bench_ice_connect: --relay tls needs --cert and --key\n");
			return 2;
		}
		turn_pid = start_loopback_turn(self, cert, key);
		if (turn_pid < 0) {
			fprintf(stderr, "bench_ice_connect: natlab-turn-server did not start\n");
			return 1;
		}
		snprintf(turn_arg, sizeof(turn_arg), "%s:127.0.0.1:%s", relay,
			 strcmp(relay, "tls") == 0 ? "5349" : "3478");
		printf("  relay-only through natlab-turn-server over %s\n", relay);
	}
	if (check) {
		bad |= !trial(&ice, &ice, s_ice, verbose, true);
		/* libnice 0.1.21 in RFC 5245 mode speaks plain TURN to a TLS
		 * port; natlab-turn-server serves that too (docs/turn.md) */
		if (have_nice) {
			bad |= !trial(&ice, &nice, s_x, verbose, true);
			bad |= !trial(&nice, &ice, s_x, verbose, true);
			bad |= !trial(&nice, &nice, s_nice, verbose, true);
		} else {
			printf("  natlab-nice not built (libnice-dev missing): interop skipped\n");
		}
		if (turn_pid > 0) {
			kill(turn_pid, SIGTERM);
			waitpid(turn_pid, NULL, 0);
		}
		if (nat_a)
			rmdir(cap_dir);
		return bad ? 1 : 0;
	}
	if (n_ice_opts) {
		printf("natlab-ice options:");
		for (unsigned i = 0; i < n_ice_opts; i++)
			printf(" %s", ice_opts[i]);
		printf("\n");
	}
	if (n_nice_opts) {
		printf("natlab-nice options:");
		for (unsigned i = 0; i < n_nice_opts; i++)
			printf(" %s", nice_opts[i]);
		printf("\n");
	}
	if (nomination)
		printf("nomination: %s for both agents\n", nomination);
	else
		printf("nomination: each agent's default (natlab-ice regular, libnice "
		       "aggressive)\n");
	if (nat_a && delay_ms)
		printf("bench_ice_connect: %u trials each, through kernel NATs %s <-> %s (STUN and "
		       "TURN/UDP on the internet node), impaired links of %u ms one-way each "
		       "(agent-agent RTT %u ms), Ta %s\n",
		       trials, nat_a, nat_b, delay_ms, 8 * delay_ms,
		       ta_ms ? ta_ms : "each agent's default (natlab-ice 50 ms, libnice 20 ms)");
	else if (nat_a)
		printf("bench_ice_connect: %u trials each, through kernel NATs %s <-> %s (STUN and "
		       "TURN/UDP on the internet node), zero-delay veths, Ta %s\n",
		       trials, nat_a, nat_b,
		       ta_ms ? ta_ms : "each agent's default (natlab-ice 50 ms, libnice 20 ms)");
	else
		printf(
		    "bench_ice_connect: %u trials each, loopback in a private netns, zero delay, "
		    "Ta %s\n",
		    trials,
		    ta_ms ? ta_ms : "each agent's default (natlab-ice 50 ms, libnice 20 ms)");
	/* interleaved, so that both see the same machine load */
	for (unsigned t = 0; t < trials; t++) {
		trial(&ice, &ice, s_ice, verbose, false);
		if (have_nice)
			trial(&nice, &nice, s_nice, verbose, false);
	}
	{
		double ic50 = pct(s_ice->conn, s_ice->n, 50), ic95 = pct(s_ice->conn, s_ice->n, 95);
		double id50 = pct(s_ice->data, s_ice->n, 50), id95 = pct(s_ice->data, s_ice->n, 95);
		printf("%-24s %8s %8s %8s %8s %6s\n", "", "conn p50", "conn p95", "data p50",
		       "data p95", "fails");
		printf("%-24s %8.1f %8.1f %8.1f %8.1f %6u\n", "natlab-ice <-> natlab-ice", ic50,
		       ic95, id50, id95, s_ice->fails);
		if (have_nice) {
			double nc50 = pct(s_nice->conn, s_nice->n, 50);
			double nc95 = pct(s_nice->conn, s_nice->n, 95);
			double nd50 = pct(s_nice->data, s_nice->n, 50);
			double nd95 = pct(s_nice->data, s_nice->n, 95);
			printf("%-24s %8.1f %8.1f %8.1f %8.1f %6u\n", "libnice <-> libnice", nc50,
			       nc95, nd50, nd95, s_nice->fails);
			printf(
			    "ratio natlab-ice / libnice: connect p50 %.2f  p95 %.2f   first data "
			    "p50 %.2f  p95 %.2f  (below 1: natlab-ice faster)\n",
			    ic50 / nc50, ic95 / nc95, id50 / nd50, id95 / nd95);
		} else {
			printf("libnice adapter not built: no baseline\n");
		}
	}
	if (nat_a) {
		/* pct() sorts in place: the within counts were taken per trial */
		double ik = pct(s_ice->chk, s_ice->nph, 50), nk = pct(s_nice->chk, s_nice->nph, 50);
		double ik95 = pct(s_ice->chk, s_ice->nph, 95);
		double nk95 = pct(s_nice->chk, s_nice->nph, 95);
		print_phases("natlab-ice", &ice, s_ice);
		if (have_nice) {
			print_phases("libnice", &nice, s_nice);
			printf("ratio natlab-ice / libnice: first check -> selected p50 %.2f  p95 "
			       "%.2f\n",
			       ik / nk, ik95 / nk95);
		}
		printf("target natlab-ice first check -> selected <= 3 RTT + 2 Ta: %s (%u of %u "
		       "trials within)\n",
		       s_ice->nph && s_ice->within == s_ice->nph ? "met" : "not met", s_ice->within,
		       s_ice->nph);
		rmdir(cap_dir);
	}
	if (turn_pid > 0) {
		kill(turn_pid, SIGTERM);
		waitpid(turn_pid, NULL, 0);
	}
	return 0;
}

/* nat_stun_classic.c - the NAT presets classified by a third party: the
 * classic RFC 3489 client from Debian's stun-client (`stun`) against
 * `stund` (stun-server) running with two addresses in the internet core.
 * The printed type (and port behaviour) must match what each preset
 * claims. Skips (77) with a message when the packages are absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>

#include "nat_topo.h"

struct expect {
	const char *preset;
	const char *want[3]; /* substrings of stun's "Primary:" line */
};

/* stun 0.97 prints "Primary: <mapping>, <filter>, <ports>, <hairpin>". */
static const struct expect expects[] = {
    {"open", {"Primary: Open", NULL}},
    {"full-cone",
     {"Primary: Independent Mapping, Independent Filter", "preserves ports", "will hairpin"}},
    {"restricted-cone",
     {"Primary: Independent Mapping, Address Dependent Filter", "preserves ports", NULL}},
    {"port-restricted-cone",
     {"Primary: Independent Mapping, Port Dependent Filter", "preserves ports", NULL}},
    {"symmetric", {"Primary: Dependent Mapping", "random port", "no hairpin"}},
    {"udp-blocked", {"Primary: Blocked", NULL}},
};

static const struct expect *g_expect;

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[512];

	if (!path)
		path = "/usr/bin:/bin:/usr/sbin:/sbin";
	while (*path) {
		size_t len = strcspn(path, ":");
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, path, prog);
		if (access(buf, X_OK) == 0)
			return true;
		path += len + (path[len] == ':');
	}
	/* sbin is not always in a user's PATH */
	snprintf(buf, sizeof(buf), "/usr/sbin/%s", prog);
	return access(buf, X_OK) == 0;
}

/* stund answers a binding request on SRV1:3478 (polled, with a deadline). */
static bool stund_ready(struct topo *t)
{
	unsigned char req[20] = {0x00, 0x01, 0x00, 0x00, 'n', 'a', 't', 'l', 'a', 'b',
				 '-',  'r',  'e',  'a',	 'd', 'y', '-', 'c', 'h', 'k'};
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(3478)};
	long long deadline = topo_now_ms() + 5000;
	char m[512];
	struct sockaddr_in f;
	int fd = udp_open(t->inet, NULL, 0);
	bool ok = false;

	if (fd < 0)
		return false;
	inet_pton(AF_INET, SRV1, &sa.sin_addr);
	while (!ok && topo_now_ms() < deadline) {
		sendto(fd, req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa));
		ok = udp_recv(fd, 100, m, sizeof(m), &f) == 1;
	}
	close(fd);
	return ok;
}

static int classify_body(void)
{
	const struct expect *x = g_expect;
	struct natlab_err e = {{0}};
	struct topo t;
	char out[2048] = "";
	char stund[] = "stund";
	char *sargv[] = {stund, "-h", SRV1, "-a", SRV2, NULL};
	char *cargv[] = {"stun", SRV1, NULL};
	struct emu_spawn_opts so = {-1, -1, -1, NULL, NULL, false};
	struct emu_spawn_opts co = {-1, -1, -1, NULL, NULL, false};
	int pipefd[2] = {-1, -1};
	pid_t spid, cpid;
	int rc = 1, status, ret;
	ssize_t n, got = 0;

	if (topo_build(&t) < 0 || topo_nat(&t, x->preset, NULL) < 0)
		goto out;
	if (strcmp(x->preset, "open") == 0 &&
	    emu_route_add(t.inet, "10.0.0.0/16", PUB1, NULL, &e) < 0) {
		/* Without NAT the client's own address must be routable. */
		fprintf(stderr, "%s\n", e.msg);
		goto out;
	}
	if (emu_lab_spawn(t.lab, t.inet, sargv, &so, &spid, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		goto out;
	}
	if (!stund_ready(&t)) {
		fprintf(stderr, "stund did not answer within 5 s\n");
		goto out;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		goto out;
	co.stdout_fd = pipefd[1];
	if (emu_lab_spawn(t.lab, t.c1, cargv, &co, &cpid, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		goto out;
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	/* The client ends by itself (a few seconds when UDP is blocked). */
	ret = emu_lab_wait(t.lab, cpid, &status, 60000, &e);
	if (ret < 0) {
		fprintf(stderr, "stun did not finish within 60 s\n");
		goto out; /* emu_lab_free kills it */
	}
	while ((n = read(pipefd[0], out + got, sizeof(out) - 1 - (size_t)got)) > 0)
		got += n;
	out[got] = '\0';
	fprintf(stderr, "%s: %s", x->preset, strstr(out, "Primary") ? strstr(out, "Primary") : out);
	rc = 0;
	for (int i = 0; i < 3 && x->want[i]; i++) {
		if (!strstr(out, x->want[i])) {
			fprintf(stderr, "%s: stun's verdict lacks \"%s\"\n", x->preset, x->want[i]);
			rc = 1;
		}
	}
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	topo_free(&t); /* kills and reaps stund (and stun on failure) */
	return rc;
}

static void t_classify(void **state)
{
	g_expect = *state;
	TOPO_CASE(classify_body);
}

int main(void)
{
	struct CMUnitTest tests[sizeof(expects) / sizeof(expects[0])];

	if (!in_path("stun") || !in_path("stund")) {
		fprintf(stderr, "skip: the classic classifier is not installed (apt-get install "
				"stun-client stun-server)\n");
		return 77;
	}
	if (!topo_sandbox_available())
		return 77;
	for (size_t i = 0; i < sizeof(expects) / sizeof(expects[0]); i++) {
		tests[i] = (struct CMUnitTest){expects[i].preset, t_classify, NULL, NULL,
					       (void *)&expects[i]};
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}

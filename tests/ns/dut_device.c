/* dut_device.c - natlab dut against a "device" that is a namespace with a
 * kernel NAT built from a preset, all inside a sandbox this test enters:
 *
 *   tester: lan0 (10.99.0.1/24, the state to restore) ---- in  device (192.168.1.1)
 *           wan0 (mtu 1400)                          ---- out device (192.0.2.1)
 *
 * natlab dut runs inside "tester" and moves lan0/wan0 into its own lab.
 * Checked: every verdict natlab dut measures that a preset knob decides is
 * the knob's (mapping, filtering, hairpinning, parity, port range); a
 * deliberately non-compliant device (a 5-second UDP mapping timeout) is
 * flagged with the timeout it has; the interfaces come back with their
 * address, MTU and state; an interface carrying the default route is
 * refused without --force. A device with the knob portmap (miniupnpd in
 * its namespace, public address 203.0.114.1 because miniupnpd maps nothing
 * behind TEST-NET) must pass the PCP, NAT-PMP and UPnP IGD rows; one whose
 * server answers PCP only and maps nothing that takes effect ("hollow")
 * must fail the PCP row and leave the others not tested. Exits 77 where the sandbox cannot be
 * entered or natlab dut cannot run (not root). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include <pthread.h>

#include "harness/dut_dhcp.h"
#include "harness/pmserver.h"
#include "nat_topo.h"

#define OK(call) CHECK((call) == 0, "%s: %s", #call, e.msg)

/* the case run by the sandboxed body */
static const char *g_preset;
static unsigned g_timeout_s; /* 0: the preset's */
static bool g_default_route;
static const char *g_timeout_max = "4";
static bool g_traversal;
/* the non-compliant device: conntrack's TCP established timeout (s) and a
 * per-host UDP quota, checked with natlab dut --cgn */
static unsigned g_tcp_est_s;
static unsigned g_quota;
/* the device hands out the LAN host's address by DHCP (natlab dut
 * --lan-addr dhcp) */
static bool g_dhcp;
/* the device serves port mapping (EMU_NAT_PORTMAP_*; 0: none, and natlab
 * dut runs with --no-portmap); g_hollow: its mappings take no effect */
static unsigned g_portmap;
static bool g_hollow;

/* A DHCP server on the device's inside: offers 192.168.1.50/24, router
 * 192.168.1.1, one hour; acknowledges a request for that address, refuses
 * any other. Runs in a thread on a socket made in the device namespace. */
#define LEASE_IP	IP4(192, 168, 1, 50)
#define DEV_IP		IP4(192, 168, 1, 1)
#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
static volatile int g_dhcp_stop;
static int g_dhcp_served; /* acknowledgements sent */

static void *dhcp_server(void *arg)
{
	int fd = *(int *)arg;
	uint8_t buf[1500];

	while (!g_dhcp_stop) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		struct dut_dhcp_msg q, r;
		struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(68)};
		ssize_t n;
		int len;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0 || dut_dhcp_parse(buf, (size_t)n, &q) < 0 || q.op != 1)
			continue;
		r = (struct dut_dhcp_msg){.op = 2,
					  .xid = q.xid,
					  .flags = q.flags,
					  .yiaddr = LEASE_IP,
					  .server_id = DEV_IP,
					  .mask = 0xffffff00u,
					  .router = DEV_IP,
					  .lease_s = 3600};
		memcpy(r.chaddr, q.chaddr, 6);
		if (q.type == DUT_DHCP_DISCOVER)
			r.type = DUT_DHCP_OFFER;
		else if (q.type == DUT_DHCP_REQUEST)
			r.type = q.requested == LEASE_IP && q.server_id == DEV_IP ? DUT_DHCP_ACK
										  : DUT_DHCP_NAK;
		else
			continue;
		len = dut_dhcp_build(&r, buf, sizeof(buf));
		to.sin_addr.s_addr = htonl(INADDR_BROADCAST);
		if (len > 0 &&
		    sendto(fd, buf, (size_t)len, 0, (struct sockaddr *)&to, sizeof(to)) == len &&
		    r.type == DUT_DHCP_ACK)
			g_dhcp_served++;
	}
	return NULL;
}

static const char *verdict(json_t *c, const char *key, const char **measured)
{
	size_t i;
	json_t *r;

	json_array_foreach(json_object_get(c, "requirements"), i, r)
	{
		if (strcmp(json_string_value(json_object_get(r, "key")), key) == 0) {
			if (measured)
				*measured = json_string_value(json_object_get(r, "measured"));
			return json_string_value(json_object_get(r, "verdict"));
		}
	}
	return "absent";
}

/* lan0 still in the tester namespace with its address, wan0 with its MTU */
static int iface_restored(struct emu_node *tester)
{
	struct natlab_err e = {{0}};
	int saved, fd, ok = 0;
	struct ifreq ifr = {0};
	struct sockaddr_in sa = {.sin_family = AF_INET};

	if (emu_node_enter(tester, &saved, &e) < 0)
		return 0;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	inet_pton(AF_INET, "10.99.0.1", &sa.sin_addr);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "wan0");
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    ioctl(fd, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu == 1400 &&
	    ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP))
		ok = 1;
	if (fd >= 0)
		close(fd);
	emu_node_leave(saved);
	return ok;
}

static int dut_body(void)
{
	struct natlab_err e = {{0}};
	struct emu_lab *lab = NULL;
	struct emu_node *tester, *dev;
	struct emu_nat_config c;
	char dir[] = "/tmp/natlab-dut-XXXXXX", path[PATH_MAX], bin[PATH_MAX], log[PATH_MAX];
	json_t *cj = NULL;
	int rc = 0, status = 0, logfd = -1, dhcp_fd = -1;
	pthread_t dhcp_thread;
	bool dhcp_running = false;
	pid_t pid;
	const char *m = NULL;

	CHECK(mkdtemp(dir), "mkdtemp");
	snprintf(bin, sizeof(bin), "%s/natlab", NATLAB_BIN_DIR);
	snprintf(log, sizeof(log), "%s/natlab.log", dir);
	OK(emu_lab_new(&lab, &e));
	OK(emu_lab_node_add(lab, "tester", &tester, &e));
	OK(emu_lab_node_add(lab, "device", &dev, &e));
	OK(emu_link_veth(tester, "lan0", dev, "in", &e));
	OK(emu_link_veth(tester, "wan0", dev, "out", &e));
	OK(emu_link_addr_add(tester, "lan0", "10.99.0.1/24", &e));
	OK(emu_link_set_mtu(tester, "wan0", 1400, &e));
	OK(emu_link_set_mtu(dev, "out", 1400, &e));
	OK(emu_link_addr_add(dev, "in", "192.168.1.1/24", &e));
	OK(emu_link_addr_add(dev, "out", g_portmap ? "203.0.114.1/24" : "192.0.2.1/24", &e));
	OK(emu_route_add(dev, "default", g_portmap ? "203.0.114.254" : "192.0.2.254", NULL, &e));
	OK(emu_route_forwarding(dev, true, &e));
	OK(emu_nat_preset(g_preset, &c, &e));
	snprintf(c.outside_ifname, sizeof(c.outside_ifname), "out");
	snprintf(c.public_addrs[0], sizeof(c.public_addrs[0]), "%s",
		 g_portmap ? "203.0.114.1" : "192.0.2.1");
	c.n_public_addrs = 1;
	c.portmap = g_portmap;
	if (g_timeout_s)
		c.udp_timeout_s = g_timeout_s;
	c.udp_mappings_per_host = g_quota;
	OK(emu_nat_apply(dev, &c, &e));
	if (g_tcp_est_s) {
		char v[16];
		snprintf(v, sizeof(v), "%u", g_tcp_est_s);
		OK(emu_node_sysctl_set(dev, "net/netfilter/nf_conntrack_tcp_timeout_established", v,
				       &e));
	}
	if (g_portmap) {
		struct pmserver_config pc = {.dir = dir,
					     .ext_ifname = "out",
					     .ext_ip = "203.0.114.1",
					     .lan_ifname = "in",
					     .lan_prefix = "192.168.1.0/24",
					     .protocols = g_portmap};
		pid_t spid;
		int r = pmserver_start(lab, dev, &pc, 5000, &spid, &e);
		if (r == -ENOENT) {
			fprintf(stderr, "skip: %s\n", e.msg);
			rc = 77;
			goto out;
		}
		CHECK(r == 0, "miniupnpd: %s", e.msg);
		if (g_hollow)
			OK(emu_nat_portmap_rules(dev, EMU_NAT_PORTMAP_HOLLOW, &e));
	}
	if (g_default_route)
		OK(emu_route_add(tester, "default", "10.99.0.254", NULL, &e));
	if (g_dhcp) {
		struct sockaddr_in any = {.sin_family = AF_INET, .sin_port = htons(67)};
		dhcp_fd = emu_node_socket(dev, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0, &e);
		CHECK(dhcp_fd >= 0, "DHCP server socket: %s", e.msg);
		setsockopt(dhcp_fd, SOL_SOCKET, SO_BROADCAST, &(int){1}, sizeof(int));
		CHECK(setsockopt(dhcp_fd, SOL_SOCKET, SO_BINDTODEVICE, "in", 2) == 0 &&
			  bind(dhcp_fd, (struct sockaddr *)&any, sizeof(any)) == 0,
		      "DHCP server: bind port 67");
		g_dhcp_stop = 0;
		g_dhcp_served = 0;
		CHECK(pthread_create(&dhcp_thread, NULL, dhcp_server, &dhcp_fd) == 0, "thread");
		dhcp_running = true;
	}

	char *argv[32] = {bin,
			  "dut",
			  "--lan",
			  "lan0",
			  "--wan",
			  "wan0",
			  "--out",
			  dir,
			  "--timeout-max",
			  (char *)g_timeout_max,
			  "--resolution-ms",
			  "500",
			  "--wait-ms",
			  "300",
			  "--peers",
			  "full-cone,symmetric",
			  "--tcp-timeout-max",
			  g_tcp_est_s ? "15" : "3"};
	int argc = 18;
	if (g_portmap) {
		argv[argc++] = "--wan-addr";
		argv[argc++] = "203.0.114.254/24";
	} else {
		argv[argc++] = "--no-portmap";
	}
	if (!g_traversal)
		argv[argc++] = "--no-traversal";
	if (g_quota)
		argv[argc++] = "--cgn";
	if (g_dhcp) {
		argv[argc++] = "--lan-addr";
		argv[argc++] = "dhcp";
	}
	argv[argc] = NULL;
	logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	struct emu_spawn_opts so = {-1, logfd, logfd, NULL, NULL, false};
	OK(emu_lab_spawn(lab, tester, argv, &so, &pid, &e));
	CHECK(emu_lab_wait(lab, pid, &status, 240000, &e) == 0, "natlab dut did not end: %s",
	      e.msg);
	CHECK(iface_restored(tester), "lan0/wan0 not restored in the tester namespace");
	if (g_default_route) {
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2,
		      "a default-route interface was not refused (status %d)", status);
		char cmd[PATH_MAX + 64];
		snprintf(cmd, sizeof(cmd), "grep -q 'default route' %s", log);
		CHECK(system(cmd) == 0, "refusal does not name the default route");
		goto out;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
		char cmd[PATH_MAX + 16];
		snprintf(cmd, sizeof(cmd), "cat %s >&2", log);
		if (system(cmd)) {
		}
		CHECK(0, "natlab dut: environment error");
	}
	snprintf(path, sizeof(path), "%s/latest/compliance.json", dir);
	cj = json_load_file(path, 0, NULL);
	CHECK(cj, "no %s", path);
	{
		char *s = json_dumps(cj, JSON_INDENT(1));
		fprintf(stderr, "[%s] %s\n", g_preset, s);
		free(s);
	}
	/* mapping and filtering: exactly the knobs */
	CHECK(strcmp(verdict(cj, "udp_mapping", &m),
		     c.mapping == EMU_NAT_MAP_EI ? "pass" : "fail") == 0,
	      "REQ-1 verdict");
	CHECK(strcmp(m, emu_nat_mapping_name(c.mapping)) == 0 ||
		  strcmp(m, (const char *[]){"endpoint-independent", "address-dependent",
					     "address-and-port-dependent"}[c.mapping]) == 0,
	      "mapping measured %s", m);
	verdict(cj, "udp_filtering", &m);
	CHECK(strcmp(m, (const char *[]){"endpoint-independent", "address-dependent",
					 "address-and-port-dependent"}[c.filtering]) == 0,
	      "filtering measured %s", m);
	/* hairpinning as the knob, seen through an APD mapping as "no" (the
	 * hairpinned packet gets a mapping the peer's filter drops) */
	bool hp = c.hairpin && c.mapping != EMU_NAT_MAP_APD;
	CHECK(strcmp(verdict(cj, "hairpinning", NULL), hp ? "pass" : "fail") == 0, "REQ-9");
	if (hp)
		CHECK(strcmp(verdict(cj, "hairpin_source", NULL), "pass") == 0, "REQ-9b");
	/* preserved ports keep parity; sequential ones alternate it; random
	 * ones keep it for all ten samples once in 1024 runs, which the
	 * suite then rightly reports as kept */
	CHECK(strcmp(verdict(cj, "port_parity", NULL),
		     c.ports == EMU_NAT_PORTS_PRESERVE ? "pass" : "warn") == 0 ||
		  (c.ports == EMU_NAT_PORTS_RANDOM &&
		   strcmp(verdict(cj, "port_parity", NULL), "pass") == 0),
	      "REQ-4");
	/* port_min 1024: a source port below 1024 cannot keep its range */
	CHECK(strcmp(verdict(cj, "port_assignment", &m), c.port_min > 1023 ? "warn" : "pass") == 0,
	      "REQ-3 %s", m);
	CHECK(strcmp(verdict(cj, "pooling", NULL), "pass") == 0, "REQ-2");
	CHECK(strcmp(verdict(cj, "determinism", NULL), "pass") == 0, "REQ-11");
	CHECK(strcmp(verdict(cj, "icmp", NULL), "pass") == 0, "REQ-12");
	CHECK(strcmp(verdict(cj, "fragments", NULL), "pass") == 0, "REQ-14");
	CHECK(strcmp(verdict(cj, "alg", NULL), "pass") == 0, "REQ-10");
	/* RFC 5382 REQ-2: conntrack follows a simultaneous open; RFC 7857:
	 * an inbound RST reaches the host */
	CHECK(strcmp(verdict(cj, "tcp_simultaneous_open", &m), "pass") == 0, "REQ-2 TCP: %s", m);
	CHECK(strcmp(verdict(cj, "tcp_rst", &m), "pass") == 0, "7857 RST: %s", m);
	/* RFC 5382 REQ-4: the emu NAT drops an unsolicited SYN to its public
	 * address (no reset from the router's own stack) */
	CHECK(strcmp(verdict(cj, "tcp_unsolicited_syn", &m), "pass") == 0, "5382 REQ-4: %s", m);
	/* RFC 4787 REQ-13: the device's outside MTU is 1400, the LAN's 1500 */
	CHECK(strcmp(verdict(cj, "df", &m), "pass") == 0 && strstr(m, "MTU 1400"), "REQ-13: %s", m);
	/* out-of-order fragments too (the kernel reassembles them) */
	verdict(cj, "fragments", &m);
	CHECK(strstr(m, "out-of-order: inbound passed, outbound passed"), "REQ-14: %s", m);
	CHECK(strcmp(verdict(cj, "port_randomization", &m),
		     c.ports == EMU_NAT_PORTS_SEQUENTIAL ? "warn" : "pass") == 0,
	      "7857 ports: %s", m);
	CHECK(strcmp(verdict(cj, "pooling_protocols", NULL), "pass") == 0, "7857 pooling");
	if (g_tcp_est_s) {
		/* RFC 5382 REQ-5: a timeout far below 2 h 4 min is found */
		json_t *b = json_object_get(cj, "behaviour");
		json_int_t alive = json_integer_value(json_object_get(b, "tcp_timeout_alive_ms"));
		json_int_t gone = json_integer_value(json_object_get(b, "tcp_timeout_expired_ms"));
		CHECK(strcmp(verdict(cj, "tcp_timeout", &m), "fail") == 0,
		      "a %u s TCP timeout not flagged (%s)", g_tcp_est_s, m);
		CHECK(alive <= g_tcp_est_s * 1000 + 1500 && gone >= g_tcp_est_s * 1000 - 1500,
		      "TCP timeout bracket %lld..%lld ms vs %u s", (long long)alive,
		      (long long)gone, g_tcp_est_s);
	} else {
		/* 5 days (conntrack's default) and a 3 s bound: undecided */
		CHECK(strcmp(verdict(cj, "tcp_timeout", &m), "inconclusive") == 0, "REQ-5 TCP: %s",
		      m);
	}
	if (g_quota) {
		/* RFC 6888: the quota measured exactly, the refusals with ICMP,
		 * the other subscriber unaffected */
		char want[64];
		snprintf(want, sizeof(want), "%u mappings per subscriber", g_quota);
		CHECK(strcmp(verdict(cj, "cgn_port_quota", &m), "pass") == 0 &&
			  strcmp(m, want) == 0,
		      "RFC 6888 REQ-4: %s", m);
		CHECK(strcmp(verdict(cj, "cgn_quota_exhausted", &m), "pass") == 0,
		      "RFC 6888 REQ-11: %s", m);
		CHECK(strcmp(verdict(cj, "cgn_fairness", &m), "pass") == 0, "fairness: %s", m);
		CHECK(strcmp(verdict(cj, "cgn_pooling", NULL), "pass") == 0, "RFC 6888 REQ-2");
	} else {
		CHECK(strcmp(verdict(cj, "cgn_port_quota", NULL), "not-tested") == 0, "CGN rows");
	}
	if (g_timeout_s) {
		json_t *b = json_object_get(cj, "behaviour");
		json_int_t alive = json_integer_value(json_object_get(b, "udp_timeout_alive_ms"));
		json_int_t gone = json_integer_value(json_object_get(b, "udp_timeout_expired_ms"));
		CHECK(strcmp(verdict(cj, "udp_timeout", NULL), "fail") == 0,
		      "a %u s timeout not flagged", g_timeout_s);
		CHECK(alive <= g_timeout_s * 1000 + 1500 && gone >= g_timeout_s * 1000 - 1500,
		      "timeout bracket %lld..%lld ms vs %u s", (long long)alive, (long long)gone,
		      g_timeout_s);
		/* conntrack refreshes on outbound packets */
		CHECK(strcmp(verdict(cj, "refresh", NULL), "pass") == 0, "REQ-6");
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1, "exit %d, want 1", status);
	} else {
		/* 120 s preset timeout, 4 s bound: the search cannot decide */
		CHECK(strcmp(verdict(cj, "udp_timeout", NULL), "inconclusive") == 0, "REQ-5");
	}
	if (g_traversal) {
		/* the traversal suite: the device (port-restricted cone) meets a
		 * full-cone peer through srflx candidates and a symmetric one
		 * only through the relay (docs/expected-matrix.md) */
		char cmd[PATH_MAX + 256];
		snprintf(cmd, sizeof(cmd),
			 "grep '\"peer\":\"full-cone\"' %s/latest/cells.jsonl | grep -q "
			 "'\"path\":\"srflx\"' && grep '\"peer\":\"symmetric\"' "
			 "%s/latest/cells.jsonl | grep -q '\"path\":\"relay-udp\"'",
			 dir, dir);
		CHECK(system(cmd) == 0, "traversal paths (see cells.jsonl above)");
		/* ... as the lab saw the data go: watched on the core's WAN
		 * interface for the device's public address */
		snprintf(
		    cmd, sizeof(cmd),
		    "python3 -c 'import json,sys\n"
		    "c={x.get(\"params\",{}).get(\"peer\"):x for x in "
		    "map(json.loads,open(sys.argv[1]))}\n"
		    "for p,k in ((\"full-cone\",\"direct\"),(\"symmetric\",\"relay\")):\n"
		    " w=c[p][\"wire\"]; assert w[\"settled\"][\"class\"]==k,(p,w[\"settled\"])\n"
		    " assert w[\"points\"][0]==\"internet\",w[\"points\"]' %s/latest/cells.jsonl",
		    dir);
		CHECK(system(cmd) == 0, "traversal wire records (see cells.jsonl above)");
	}
	if (g_portmap) {
		/* docs/dut.md "Port mapping": every protocol served maps,
		 * lets the internet's datagram in, deletes, keeps its epoch */
		json_t *pm = json_object_get(cj, "portmap");
		bool upnpc = system("command -v upnpc >/dev/null") == 0;
		if (g_hollow) {
			/* answers and grants, nothing gets in: a failure */
			CHECK(strcmp(verdict(cj, "pcp", &m), "fail") == 0 &&
				  strstr(m, "not reachable"),
			      "hollow PCP: %s", m);
			CHECK(
			    json_is_false(json_object_get(json_object_get(pm, "pcp"), "reachable")),
			    "hollow PCP reachable");
			CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1, "exit %d, want 1",
			      status);
			/* not served: not offered */
			CHECK(strcmp(verdict(cj, "natpmp", &m), "not-tested") == 0 &&
				  strcmp(m, "no answer: not offered") == 0,
			      "NAT-PMP not served: %s", m);
			CHECK(strcmp(verdict(cj, "upnp_igd", &m), "not-tested") == 0,
			      "UPnP not served: %s", m);
		} else {
			CHECK(strcmp(verdict(cj, "pcp", &m), "pass") == 0 &&
				  strncmp(m, "203.0.114.1:40100, 600 s, epoch", 31) == 0,
			      "PCP: %s", m);
			CHECK(strcmp(verdict(cj, "natpmp", &m), "pass") == 0 &&
				  strncmp(m, "203.0.114.1:40101, 600 s", 24) == 0,
			      "NAT-PMP: %s", m);
			CHECK(strcmp(verdict(cj, "upnp_igd", &m), upnpc ? "pass" : "not-tested") ==
				  0,
			      "UPnP IGD: %s", m);
			CHECK(json_is_true(json_object_get(json_object_get(pm, "natpmp"),
							   "closed_after_delete")),
			      "NAT-PMP: closed after delete");
		}
	} else {
		CHECK(json_is_null(json_object_get(cj, "portmap")), "--no-portmap: rows measured");
	}
	if (g_dhcp) {
		/* the lab's LAN host took the lease: address, prefix, router */
		json_t *d = json_object_get(cj, "device");
		CHECK(g_dhcp_served >= 1, "no DHCPACK sent");
		CHECK(
		    strcmp(json_string_value(json_object_get(d, "lan_addr")), "192.168.1.50/24") ==
			    0 &&
			strcmp(json_string_value(json_object_get(d, "lan_gw")), "192.168.1.1") == 0,
		    "DHCP lease not used");
		CHECK(json_integer_value(
			  json_object_get(json_object_get(d, "lan_dhcp"), "lease_s")) == 3600,
		      "lease time");
	}
	/* the report carries the compliance table */
	snprintf(path, sizeof(path), "grep -q 'table class=\"compliance\"' %s/latest/report.html",
		 dir);
	CHECK(system(path) == 0, "report.html has no compliance table");
out:
	if (dhcp_running) {
		g_dhcp_stop = 1;
		pthread_join(dhcp_thread, NULL);
	}
	if (dhcp_fd >= 0)
		close(dhcp_fd);
	json_decref(cj);
	if (logfd >= 0)
		close(logfd);
	emu_lab_free(lab);
	if (rc) {
		snprintf(path, sizeof(path), "cat %s %s/latest/cells.jsonl >&2", log, dir);
		if (system(path)) {
		}
	}
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	if (system(path)) {
	}
	return rc;
}

static int run_case_dhcp(const char *preset, unsigned timeout_s, bool default_route, bool dhcp)
{
	g_dhcp = dhcp;
	/* the non-compliant device: also a 10 s TCP established timeout and,
	 * as a CGN, a quota of 60 UDP mappings per subscriber */
	g_tcp_est_s = timeout_s ? 10 : 0;
	g_quota = timeout_s ? 60 : 0;
	g_traversal = strcmp(preset, "port-restricted-cone") == 0 && !default_route;
	g_preset = preset;
	g_timeout_s = timeout_s;
	g_default_route = default_route;
	g_timeout_max = timeout_s ? "12" : "4";
	return topo_run_sandboxed(dut_body);
}

static int run_case(const char *preset, unsigned timeout_s, bool default_route)
{
	g_portmap = 0;
	g_hollow = false;
	return run_case_dhcp(preset, timeout_s, default_route, false);
}

static int run_case_portmap(unsigned portmap, bool hollow)
{
	int r;

	g_portmap = portmap;
	g_hollow = hollow;
	r = run_case_dhcp("symmetric", 0, false, false);
	g_portmap = 0;
	g_hollow = false;
	return r;
}

/* symmetric: only a port mapping lets an unsolicited datagram in */
static void t_portmap(void **st)
{
	(void)st;
	int r = run_case_portmap(EMU_NAT_PORTMAP_ALL, false);
	if (r == 77)
		skip();
	assert_int_equal(r, 0);
}

static void t_portmap_hollow(void **st)
{
	(void)st;
	int r = run_case_portmap(EMU_NAT_PORTMAP_PCP, true);
	if (r == 77)
		skip();
	assert_int_equal(r, 0);
}

static void t_dhcp(void **st)
{
	(void)st;
	int r = run_case_dhcp("full-cone", 0, false, true);
	if (r == 77)
		skip();
	assert_int_equal(r, 0);
}

#define CASE(name, preset, t, dr)                                                                  \
	static void name(void **st)                                                                \
	{                                                                                          \
		(void)st;                                                                          \
		int r = run_case(preset, t, dr);                                                   \
		if (r == 77)                                                                       \
			skip();                                                                    \
		assert_int_equal(r, 0);                                                            \
	}

CASE(t_port_restricted, "port-restricted-cone", 0, false)
CASE(t_full_cone, "full-cone", 0, false)
CASE(t_address_dependent, "address-dependent", 0, false)
CASE(t_symmetric, "symmetric", 0, false)
CASE(t_short_timeout, "full-cone", 5, false)
CASE(t_default_route_refused, "full-cone", 0, true)

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "skip: natlab dut needs root\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_default_route_refused),
	    cmocka_unit_test(t_port_restricted),
	    cmocka_unit_test(t_full_cone),
	    cmocka_unit_test(t_address_dependent),
	    cmocka_unit_test(t_symmetric),
	    cmocka_unit_test(t_short_timeout),
	    cmocka_unit_test(t_dhcp),
	    cmocka_unit_test(t_portmap),
	    cmocka_unit_test(t_portmap_hollow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

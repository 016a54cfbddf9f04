/* probe_nat.c - the RFC 5780 probe against a simulated NAT and the real
 * Binding answer logic (stun_server_handle) on a fake clock: for each NAT
 * behaviour the probe must report what the simulated NAT does.
 *
 * The fake network: the probe's sockets live on 10.0.0.2; the NAT's public
 * address is 203.0.113.1; the STUN server listens on 192.0.2.1 and
 * 192.0.2.2, ports 3478 and 3479. Datagrams are queued and delivered 1 ms
 * later, so the probe is never re-entered from its own send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/socket.h>

#include "agents/probe/probe.h"
#include "agents/stun/stun_server.h"

enum sim_map { MAP_EI, MAP_AD, MAP_APD };
enum sim_filter { FILT_EI, FILT_AD, FILT_APD };
enum sim_ports { PORTS_PRESERVE, PORTS_SEQUENTIAL, PORTS_RANDOM };

struct sim_nat {
	bool enabled; /* false: no NAT at all */
	bool udp_blocked;
	enum sim_map map;
	enum sim_filter filter;
	enum sim_ports ports;
	bool hairpin;
	int timeout_ms; /* 0 = never */
	bool alg;	/* rewrite the public IP to the private one in payloads */
};

#define MAX_MAPPINGS 256
#define MAX_PEERS    16
#define MAX_QUEUE    256

struct mapping {
	bool used;
	uint16_t local_port;
	struct stun_addr dest; /* key part, per mapping behaviour */
	uint16_t public_port;
	uint64_t last_ms;
	int n_peers;
	struct stun_addr peers[MAX_PEERS]; /* endpoints it sent to (filtering) */
};

struct packet {
	uint64_t at;
	int sock; /* delivering to a probe socket */
	struct stun_addr from;
	uint8_t buf[1600];
	size_t len;
};

struct sim {
	struct sim_nat nat;
	struct stun_server_config srv;
	uint64_t now;
	struct stun_addr priv, pub;
	uint16_t sock_port[PROBE_MAX_SOCKETS * 4];
	bool sock_open[PROBE_MAX_SOCKETS * 4];
	int n_sock;
	struct mapping maps[MAX_MAPPINGS];
	uint16_t next_seq;
	uint32_t rnd;
	struct packet q[MAX_QUEUE];
	int nq;
	int opened, closed;
};

static struct sim S;

static void enqueue(int sock, const struct stun_addr *from, const uint8_t *buf, size_t len)
{
	assert_true(S.nq < MAX_QUEUE);
	struct packet *pk = &S.q[S.nq++];
	pk->at = S.now + 1;
	pk->sock = sock;
	pk->from = *from;
	memcpy(pk->buf, buf, len);
	pk->len = len;
}

static bool key_match(const struct mapping *m, uint16_t lport, const struct stun_addr *dst)
{
	if (!m->used || m->local_port != lport)
		return false;
	if (S.nat.map == MAP_EI)
		return true;
	if (S.nat.map == MAP_AD)
		return stun_addr_ip_equal(&m->dest, dst);
	return stun_addr_equal(&m->dest, dst);
}

static bool expired(const struct mapping *m)
{
	return S.nat.timeout_ms && S.now - m->last_ms > (uint64_t)S.nat.timeout_ms;
}

static bool port_taken(uint16_t port)
{
	for (int i = 0; i < MAX_MAPPINGS; i++) {
		if (S.maps[i].used && !expired(&S.maps[i]) && S.maps[i].public_port == port)
			return true;
	}
	return false;
}

static struct mapping *outbound(uint16_t lport, const struct stun_addr *dst)
{
	struct mapping *free_slot = NULL;
	for (int i = 0; i < MAX_MAPPINGS; i++) {
		struct mapping *m = &S.maps[i];
		if (m->used && expired(m))
			m->used = false;
		if (key_match(m, lport, dst)) {
			m->last_ms = S.now;
			return m;
		}
		if (!m->used && !free_slot)
			free_slot = m;
	}
	assert_non_null(free_slot);
	struct mapping *m = free_slot;
	memset(m, 0, sizeof(*m));
	m->used = true;
	m->local_port = lport;
	m->dest = *dst;
	m->last_ms = S.now;
	uint16_t port;
	if (S.nat.ports == PORTS_PRESERVE && !port_taken(lport)) {
		port = lport;
	} else if (S.nat.ports == PORTS_RANDOM) {
		do {
			S.rnd = S.rnd * 1103515245u + 12345u;
			port = (uint16_t)(20000 + (S.rnd >> 8) % 40000);
		} while (port_taken(port));
	} else {
		do
			port = S.next_seq++;
		while (port_taken(port));
	}
	m->public_port = port;
	return m;
}

static void remember_peer(struct mapping *m, const struct stun_addr *dst)
{
	for (int i = 0; i < m->n_peers; i++) {
		if (stun_addr_equal(&m->peers[i], dst))
			return;
	}
	if (m->n_peers < MAX_PEERS)
		m->peers[m->n_peers++] = *dst;
}

static bool filter_allows(const struct mapping *m, const struct stun_addr *src)
{
	if (S.nat.filter == FILT_EI)
		return true;
	for (int i = 0; i < m->n_peers; i++) {
		if (S.nat.filter == FILT_AD && stun_addr_ip_equal(&m->peers[i], src))
			return true;
		if (S.nat.filter == FILT_APD && stun_addr_equal(&m->peers[i], src))
			return true;
	}
	return false;
}

static int sock_by_port(uint16_t port)
{
	for (int i = 0; i < S.n_sock; i++) {
		if (S.sock_open[i] && S.sock_port[i] == port)
			return i;
	}
	return -1;
}

/* a datagram reaching the public address from @src: translate in */
static void inbound(const struct stun_addr *src, uint16_t pub_port, uint8_t *buf, size_t len)
{
	for (int i = 0; i < MAX_MAPPINGS; i++) {
		struct mapping *m = &S.maps[i];
		if (!m->used || m->public_port != pub_port)
			continue;
		if (expired(m)) {
			m->used = false;
			return;
		}
		if (!filter_allows(m, src))
			return;
		int s = sock_by_port(m->local_port);
		if (s < 0)
			return;
		if (S.nat.alg) {
			/* a careless ALG: the public IP anywhere in the payload
			 * becomes the private one */
			for (size_t k = 0; k + 4 <= len; k++) {
				if (memcmp(buf + k, S.pub.ip, 4) == 0)
					memcpy(buf + k, S.priv.ip, 4);
			}
		}
		enqueue(s, src, buf, len);
		return;
	}
}

static int server_ep(const struct stun_addr *dst)
{
	for (int ep = 0; ep < STUN_SERVER_ENDPOINTS; ep++) {
		struct stun_addr a;
		if (stun_server_endpoint(&S.srv, ep, &a) && stun_addr_equal(&a, dst))
			return ep;
	}
	return -1;
}

/* a datagram on the "internet" from @src to @dst */
static void internet(const struct stun_addr *src, const struct stun_addr *dst, uint8_t *buf,
		     size_t len)
{
	if (S.nat.enabled && stun_addr_ip_equal(dst, &S.pub)) {
		inbound(src, dst->port, buf, len);
		return;
	}
	if (!S.nat.enabled && stun_addr_ip_equal(dst, &S.priv)) {
		int s = sock_by_port(dst->port);
		if (s >= 0)
			enqueue(s, src, buf, len);
		return;
	}
	int ep = server_ep(dst);
	if (ep < 0)
		return;
	uint8_t out[STUN_SERVER_MAX_ANSWER];
	struct stun_server_answer ans;
	if (stun_server_handle(&S.srv, ep, false, src, buf, len, out, sizeof(out), &ans) != 1)
		return;
	struct stun_addr from;
	stun_server_endpoint(&S.srv, ans.from, &from);
	internet(&from, &ans.to, out, ans.len);
}

static int fake_open(void *ctx, struct stun_addr *local)
{
	(void)ctx;
	assert_true(S.n_sock < PROBE_MAX_SOCKETS * 4);
	int id = S.n_sock++;
	/* the OS hands out scattered ephemeral ports */
	S.sock_port[id] = (uint16_t)(33000 + id * 1013 % 20000);
	S.sock_open[id] = true;
	*local = S.priv;
	local->port = S.sock_port[id];
	S.opened++;
	return id;
}

static void fake_close(void *ctx, int sock)
{
	(void)ctx;
	assert_true(sock >= 0 && sock < S.n_sock && S.sock_open[sock]);
	S.sock_open[sock] = false;
	S.closed++;
}

static int fake_send(void *ctx, int sock, const struct stun_addr *to, const uint8_t *buf,
		     size_t len)
{
	(void)ctx;
	assert_true(S.sock_open[sock]);
	if (S.nat.udp_blocked)
		return 0;
	uint8_t copy[1600];
	memcpy(copy, buf, len);
	struct stun_addr src = S.priv;
	src.port = S.sock_port[sock];
	if (S.nat.enabled) {
		struct mapping *m = outbound(src.port, to);
		remember_peer(m, to);
		src = S.pub;
		src.port = m->public_port;
		/* hairpin: a packet to our own public address */
		if (stun_addr_ip_equal(to, &S.pub)) {
			if (S.nat.hairpin)
				inbound(&src, to->port, copy, len);
			return 0;
		}
	}
	internet(&src, to, copy, len);
	return 0;
}

static void sim_reset(const struct sim_nat *nat, bool server_alt)
{
	memset(&S, 0, sizeof(S));
	S.nat = *nat;
	stun_addr_parse(&S.priv, "10.0.0.2");
	stun_addr_parse(&S.pub, "203.0.113.1");
	stun_addr_parse(&S.srv.addr[0], "192.0.2.1");
	if (server_alt)
		stun_addr_parse(&S.srv.addr[1], "192.0.2.2");
	S.srv.port = 3478;
	S.srv.alt_port = server_alt ? 3479 : 0;
	S.srv.fingerprint = STUN_SERVER_FP_MIRROR;
	S.next_seq = 50000;
	S.rnd = 12345;
}

/* run the probe to the end on the fake clock */
static struct probe_result run(int lifetime_max_ms)
{
	struct probe_config cfg = {.rto_ms = 100,
				   .attempts = 3,
				   .port_samples = 5,
				   .hairpin = true,
				   .lifetime_max_ms = lifetime_max_ms,
				   .lifetime_resolution_ms = 500};
	stun_addr_parse(&cfg.server, "192.0.2.1:3478");
	struct probe_io io = {
	    .ctx = NULL, .open = fake_open, .send = fake_send, .close = fake_close};
	struct probe *p = probe_new(&cfg, &io);
	assert_non_null(p);
	uint64_t deadline = probe_start(p, S.now);
	for (int guard = 0; guard < 100000 && !probe_done(p); guard++) {
		if (S.nq > 0 && S.q[0].at <= S.now) {
			struct packet pk = S.q[0];
			memmove(S.q, S.q + 1, (size_t)(S.nq - 1) * sizeof(S.q[0]));
			S.nq--;
			if (S.sock_open[pk.sock])
				probe_input(p, S.now, pk.sock, &pk.from, pk.buf, pk.len);
			deadline = probe_tick(p, S.now);
			continue;
		}
		uint64_t next = deadline;
		if (S.nq > 0 && (next == 0 || S.q[0].at < next))
			next = S.q[0].at;
		if (next > S.now)
			S.now = next;
		deadline = probe_tick(p, S.now);
	}
	assert_true(probe_done(p));
	struct probe_result r = *probe_result(p);
	probe_free(p);
	assert_int_equal(S.opened, S.closed); /* no socket left behind */
	return r;
}

static void test_full_cone(void **state)
{
	(void)state;
	struct sim_nat nat = {.enabled = true,
			      .map = MAP_EI,
			      .filter = FILT_EI,
			      .ports = PORTS_PRESERVE,
			      .hairpin = true};
	sim_reset(&nat, true);
	struct probe_result r = run(0);
	assert_true(r.udp);
	assert_true(r.nat);
	assert_true(r.rfc5780);
	assert_int_equal(r.mapping, PROBE_ENDPOINT_INDEPENDENT);
	assert_int_equal(r.filtering, PROBE_ENDPOINT_INDEPENDENT);
	assert_int_equal(r.ports, PROBE_PORTS_PRESERVED);
	assert_int_equal(r.n_samples, 5);
	assert_int_equal(r.hairpin, 1);
	assert_int_equal(r.alg, 0);
	assert_false(r.lifetime_tested);
	char s[STUN_ADDR_STRLEN];
	assert_string_equal(stun_addr_ip_format(&r.mapped, s), "203.0.113.1");
	assert_string_equal(r.error, "");
}

static void test_port_restricted_sequential(void **state)
{
	(void)state;
	/* "easy" (Linux home router): EIM, APDF */
	struct sim_nat nat = {.enabled = true,
			      .map = MAP_EI,
			      .filter = FILT_APD,
			      .ports = PORTS_SEQUENTIAL,
			      .hairpin = true};
	sim_reset(&nat, true);
	struct probe_result r = run(0);
	assert_int_equal(r.mapping, PROBE_ENDPOINT_INDEPENDENT);
	assert_int_equal(r.filtering, PROBE_ADDRESS_AND_PORT_DEPENDENT);
	assert_int_equal(r.ports, PROBE_PORTS_SEQUENTIAL);
	/* the hairpin test opens the filter first, so APDF does not hide it */
	assert_int_equal(r.hairpin, 1);
}

static void test_restricted_address_dependent(void **state)
{
	(void)state;
	struct sim_nat nat = {.enabled = true,
			      .map = MAP_AD,
			      .filter = FILT_AD,
			      .ports = PORTS_RANDOM,
			      .hairpin = false};
	sim_reset(&nat, true);
	struct probe_result r = run(0);
	assert_int_equal(r.mapping, PROBE_ADDRESS_DEPENDENT);
	assert_int_equal(r.filtering, PROBE_ADDRESS_DEPENDENT);
	assert_int_equal(r.ports, PROBE_PORTS_RANDOM);
	assert_int_equal(r.hairpin, 0);
}

static void test_symmetric(void **state)
{
	(void)state;
	struct sim_nat nat = {.enabled = true,
			      .map = MAP_APD,
			      .filter = FILT_APD,
			      .ports = PORTS_RANDOM,
			      .hairpin = false};
	sim_reset(&nat, true);
	struct probe_result r = run(0);
	assert_int_equal(r.mapping, PROBE_ADDRESS_AND_PORT_DEPENDENT);
	assert_int_equal(r.filtering, PROBE_ADDRESS_AND_PORT_DEPENDENT);
	assert_int_equal(r.ports, PROBE_PORTS_RANDOM);
	assert_int_equal(r.hairpin, 0);
}

static void test_no_nat(void **state)
{
	(void)state;
	struct sim_nat nat = {.enabled = false};
	sim_reset(&nat, true);
	struct probe_result r = run(0);
	assert_true(r.udp);
	assert_false(r.nat);
	assert_int_equal(r.mapping, PROBE_ENDPOINT_INDEPENDENT);
	assert_int_equal(r.filtering, PROBE_ENDPOINT_INDEPENDENT);
	assert_int_equal(r.ports, PROBE_PORTS_PRESERVED);
}

static void test_udp_blocked(void **state)
{
	(void)state;
	struct sim_nat nat = {.enabled = true, .udp_blocked = true};
	sim_reset(&nat, true);
	struct probe_result r = run(4000);
	assert_false(r.udp);
	assert_int_equal(r.mapping, PROBE_UNKNOWN);
	assert_int_equal(r.filtering, PROBE_UNKNOWN);
	assert_int_equal(r.hairpin, -1);
	assert_false(r.lifetime_tested);
	assert_true(strlen(r.error) > 0);
	/* three sends, 100 ms apart, then it gives up */
	assert_true(r.duration_ms >= 300 && r.duration_ms < 400);
}

static void test_lifetime(void **state)
{
	(void)state;
	struct sim_nat nat = {.enabled = true,
			      .map = MAP_EI,
			      .filter = FILT_APD,
			      .ports = PORTS_PRESERVE,
			      .hairpin = true,
			      .timeout_ms = 5000};
	sim_reset(&nat, true);
	struct probe_result r = run(8000);
	assert_true(r.lifetime_tested);
	assert_true(r.lifetime_alive_ms <= 5000);
	/* the check's answer arrives a few ms after the idle time: a mapping
	 * idle for exactly 5000 ms is already gone by then */
	assert_true(r.lifetime_expired_ms >= 5000);
	assert_true(r.lifetime_expired_ms - r.lifetime_alive_ms <= 500);
	/* a mapping outliving the bound is reported as alive at the bound */
	nat.timeout_ms = 0;
	sim_reset(&nat, true);
	r = run(3000);
	assert_true(r.lifetime_tested);
	assert_int_equal(r.lifetime_alive_ms, 3000);
	assert_int_equal(r.lifetime_expired_ms, -1);
}

static void test_alg_and_plain_server(void **state)
{
	(void)state;
	struct sim_nat nat = {.enabled = true,
			      .map = MAP_EI,
			      .filter = FILT_EI,
			      .ports = PORTS_PRESERVE,
			      .hairpin = true,
			      .alg = true};
	sim_reset(&nat, true);
	struct probe_result r = run(0);
	assert_int_equal(r.alg, 1);
	char s[STUN_ADDR_STRLEN];
	assert_string_equal(stun_addr_ip_format(&r.alg_mapped, s), "10.0.0.2");
	assert_string_equal(stun_addr_ip_format(&r.mapped, s), "203.0.113.1");
	/* a server with one address: no RFC 5780 verdicts, the rest still runs */
	nat.alg = false;
	sim_reset(&nat, false);
	r = run(0);
	assert_true(r.udp);
	assert_false(r.rfc5780);
	assert_int_equal(r.mapping, PROBE_UNKNOWN);
	assert_int_equal(r.filtering, PROBE_UNKNOWN);
	assert_int_equal(r.ports, PROBE_PORTS_PRESERVED);
	assert_int_equal(r.hairpin, 1);
	assert_true(strstr(r.error, "OTHER-ADDRESS") != NULL);
}

static void test_classify_ports(void **state)
{
	(void)state;
	uint16_t l[4] = {40001, 51234, 33333, 60000};
	uint16_t same[4] = {40001, 51234, 33333, 60000};
	uint16_t seq[4] = {50000, 50001, 50003, 50004};
	uint16_t rnd[4] = {50000, 20001, 50003, 50004};
	assert_int_equal(probe_classify_ports(l, same, 4), PROBE_PORTS_PRESERVED);
	assert_int_equal(probe_classify_ports(l, seq, 4), PROBE_PORTS_SEQUENTIAL);
	assert_int_equal(probe_classify_ports(l, rnd, 4), PROBE_PORTS_RANDOM);
	assert_int_equal(probe_classify_ports(l, rnd, 1), PROBE_PORTS_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_cone),
	    cmocka_unit_test(test_port_restricted_sequential),
	    cmocka_unit_test(test_restricted_address_dependent),
	    cmocka_unit_test(test_symmetric),
	    cmocka_unit_test(test_no_nat),
	    cmocka_unit_test(test_udp_blocked),
	    cmocka_unit_test(test_lifetime),
	    cmocka_unit_test(test_alg_and_plain_server),
	    cmocka_unit_test(test_classify_ports),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

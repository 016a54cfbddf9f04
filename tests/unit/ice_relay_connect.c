/* ice_relay_connect.c - the TCP/TLS connect to a TURN server does not
 * block the agent's event loop: ice_relay_new() returns at once, and a
 * server that never answers (or refuses) is reported through failed(),
 * the silent one after ICE_RELAY_CONNECT_TIMEOUT_MS. Loopback only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "agents/ice/relay.h"

struct result {
	int failed, allocated;
	int code;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void on_allocated(void *ctx, struct ice_relay *r, const union ice_addr *relayed,
			 const union ice_addr *mapped)
{
	struct result *res = ctx;
	(void)r;
	(void)relayed;
	(void)mapped;
	res->allocated++;
}

static void on_failed(void *ctx, struct ice_relay *r, int code)
{
	struct result *res = ctx;
	(void)r;
	res->failed++;
	res->code = code;
}

static void on_data(void *ctx, struct ice_relay *r, const union ice_addr *peer, const uint8_t *buf,
		    size_t len)
{
	(void)ctx;
	(void)r;
	(void)peer;
	(void)buf;
	(void)len;
}

/* A loopback TCP socket: listening (never accepting, never answering) or
 * bound and closed again (nothing listens: connections are refused). */
static int server_socket(bool listening, union ice_addr *addr)
{
	socklen_t len = sizeof(addr->in4);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memset(addr, 0, sizeof(*addr));
	addr->in4.sin_family = AF_INET;
	addr->in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, &addr->sa, len), 0);
	assert_int_equal(getsockname(fd, &addr->sa, &len), 0);
	if (listening) {
		assert_int_equal(listen(fd, 4), 0);
		return fd;
	}
	close(fd);
	return -1;
}

/* Drive the relay as natlab-ice's loop does until it reports, at most
 * @limit_ms. Returns the time it took. */
static uint64_t drive(struct ice_relay *r, struct result *res, uint64_t limit_ms)
{
	uint64_t t0 = mono_ms();
	while (!res->failed && !res->allocated && mono_ms() < t0 + limit_ms) {
		struct pollfd p = {.fd = ice_relay_fd(r), .events = POLLIN};
		uint64_t next = ice_relay_tick(r, mono_ms());
		uint64_t now = mono_ms();
		int timeout = next <= now ? 0 : (next - now > 200 ? 200 : (int)(next - now));
		if (res->failed)
			break;
		if (ice_relay_want_write(r))
			p.events |= POLLOUT;
		if (poll(&p, 1, timeout) > 0)
			ice_relay_io(r, p.revents & (POLLIN | POLLHUP | POLLERR),
				     p.revents & POLLOUT, mono_ms());
	}
	return mono_ms() - t0;
}

static void run_case(enum turn_transport tr, bool listening, int want_code, uint64_t min_ms,
		     uint64_t max_ms)
{
	struct result res = {0};
	struct ice_relay_cb cb = {&res, on_allocated, on_failed, on_data};
	struct ice_relay_config cfg;
	struct ice_relay *r = NULL;
	char err[256] = "";
	uint64_t t0, took;
	int lfd;

	memset(&cfg, 0, sizeof(cfg));
	cfg.transport = tr;
	cfg.user = "u";
	cfg.pass = "p";
	lfd = server_socket(listening, &cfg.server);
	t0 = mono_ms();
	assert_int_equal(ice_relay_new(&cfg, &cb, mono_ms(), &r, err, sizeof(err)), 0);
	/* not blocking: the connect (and handshake) are still under way */
	assert_true(mono_ms() - t0 < 200);
	assert_int_equal(res.failed, 0);
	took = drive(r, &res, ICE_RELAY_CONNECT_TIMEOUT_MS + 2000);
	assert_int_equal(res.failed, 1);
	assert_int_equal(res.allocated, 0);
	assert_int_equal(res.code, want_code);
	assert_true(took >= min_ms);
	assert_true(took <= max_ms);
	/* a failed connection no longer asks to be polled for writing */
	assert_false(ice_relay_want_write(r));
	ice_relay_free(r);
	if (lfd >= 0)
		close(lfd);
}

static void test_tls_silent_server_times_out(void **st)
{
	(void)st;
	/* TCP connects (the kernel accepts into the backlog), the TLS
	 * ServerHello never comes */
	run_case(TURN_TRANSPORT_TLS, true, -ETIMEDOUT, ICE_RELAY_CONNECT_TIMEOUT_MS - 50,
		 ICE_RELAY_CONNECT_TIMEOUT_MS + 1000);
}

static void test_tcp_refused_is_reported(void **st)
{
	(void)st;
	run_case(TURN_TRANSPORT_TCP, false, -ECONNREFUSED, 0, 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tls_silent_server_times_out),
	    cmocka_unit_test(test_tcp_refused_is_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

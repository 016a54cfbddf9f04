/* nat_topo.h - the topology shared by the NAT namespace tests (included
 * by each test; not a test itself):
 *
 *   c1 (10.0.0.2)  --in0--+
 *                          nat --out (203.0.113.1, .2)-- inet (198.51.100.1, .2 on lo)
 *   c2 (10.0.1.2)  --in1--+
 *
 * Servers are UDP sockets opened inside "inet"; clients are sockets opened
 * inside c1/c2. Everything lives in a sandbox entered by a forked child.
 */
#ifndef NATLAB_TESTS_NAT_TOPO_H
#define NATLAB_TESTS_NAT_TOPO_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emu/lab.h"
#include "emu/link.h"
#include "emu/nat.h"
#include "emu/route.h"
#include "emu/sandbox.h"
#include "sandboxed.h"

/* CHECK(cond, fmt, ...) - in a test body that has `int rc` and a label
 * `out:` (its cleanup): print where and why, set rc = 1 and go to out. */
#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			rc = 1;                                                                    \
			goto out;                                                                  \
		}                                                                                  \
	} while (0)

#define PUB1 "203.0.113.1"
#define PUB2 "203.0.113.2"
#define SRV1 "198.51.100.1"
#define SRV2 "198.51.100.2"
#define SRV6 "2001:db8:2::1"
#define CLI6 "fd00:10::2"

struct topo {
	struct emu_lab *lab;
	struct emu_node *c1, *c2, *nat, *inet;
};

#define TOPO_TRY(call)                                                                             \
	do {                                                                                       \
		int topo_ret_ = (call);                                                            \
		if (topo_ret_ < 0) {                                                               \
			fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, e.msg);      \
			return topo_ret_;                                                          \
		}                                                                                  \
	} while (0)

static inline int topo_build(struct topo *t)
{
	struct natlab_err e = {{0}};

	memset(t, 0, sizeof(*t));
	TOPO_TRY(emu_lab_new(&t->lab, &e));
	TOPO_TRY(emu_lab_node_add(t->lab, "c1", &t->c1, &e));
	TOPO_TRY(emu_lab_node_add(t->lab, "c2", &t->c2, &e));
	TOPO_TRY(emu_lab_node_add(t->lab, "nat", &t->nat, &e));
	TOPO_TRY(emu_lab_node_add(t->lab, "inet", &t->inet, &e));
	TOPO_TRY(emu_link_veth(t->c1, "eth0", t->nat, "in0", &e));
	TOPO_TRY(emu_link_veth(t->c2, "eth0", t->nat, "in1", &e));
	TOPO_TRY(emu_link_veth(t->nat, "out", t->inet, "r0", &e));
	TOPO_TRY(emu_link_addr_add(t->c1, "eth0", "10.0.0.2/24", &e));
	TOPO_TRY(emu_link_addr_add(t->c2, "eth0", "10.0.1.2/24", &e));
	TOPO_TRY(emu_link_addr_add(t->nat, "in0", "10.0.0.1/24", &e));
	TOPO_TRY(emu_link_addr_add(t->nat, "in1", "10.0.1.1/24", &e));
	TOPO_TRY(emu_link_addr_add(t->nat, "out", PUB1 "/24", &e));
	TOPO_TRY(emu_link_addr_add(t->nat, "out", PUB2 "/24", &e));
	TOPO_TRY(emu_link_addr_add(t->inet, "r0", "203.0.113.254/24", &e));
	TOPO_TRY(emu_link_addr_add(t->inet, "lo", SRV1 "/32", &e));
	TOPO_TRY(emu_link_addr_add(t->inet, "lo", SRV2 "/32", &e));
	TOPO_TRY(emu_route_add(t->c1, "default", "10.0.0.1", NULL, &e));
	TOPO_TRY(emu_route_add(t->c2, "default", "10.0.1.1", NULL, &e));
	TOPO_TRY(emu_route_add(t->nat, "default", "203.0.113.254", NULL, &e));
	/* IPv6, untranslated: c1 fd00:10::2, nat out 2001:db8:1::1, inet
	 * 2001:db8:2::1 */
	TOPO_TRY(emu_link_addr_add(t->c1, "eth0", "fd00:10::2/64", &e));
	TOPO_TRY(emu_link_addr_add(t->nat, "in0", "fd00:10::1/64", &e));
	TOPO_TRY(emu_link_addr_add(t->nat, "out", "2001:db8:1::1/64", &e));
	TOPO_TRY(emu_link_addr_add(t->inet, "r0", "2001:db8:1::fe/64", &e));
	TOPO_TRY(emu_link_addr_add(t->inet, "lo", SRV6 "/128", &e));
	TOPO_TRY(emu_route_add(t->c1, "default6", "fd00:10::1", NULL, &e));
	TOPO_TRY(emu_route_add(t->nat, "default6", "2001:db8:1::fe", NULL, &e));
	TOPO_TRY(emu_route_add(t->inet, "fd00:10::/64", "2001:db8:1::1", NULL, &e));
	TOPO_TRY(emu_route_forwarding(t->nat, true, &e));
	return 0;
}

/* A preset (or its knobs changed by @tweak) applied to the NAT. */
static inline int topo_nat(struct topo *t, const char *preset,
			   void (*tweak)(struct emu_nat_config *))
{
	struct natlab_err e = {{0}};
	struct emu_nat_config c;

	TOPO_TRY(emu_nat_preset(preset, &c, &e));
	snprintf(c.outside_ifname, sizeof(c.outside_ifname), "out");
	snprintf(c.public_addrs[0], sizeof(c.public_addrs[0]), PUB1);
	c.n_public_addrs = 1;
	if (tweak)
		tweak(&c);
	TOPO_TRY(emu_nat_apply(t->nat, &c, &e));
	return 0;
}

static inline void topo_free(struct topo *t)
{
	emu_lab_free(t->lab);
	t->lab = NULL;
}

static inline long long topo_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A UDP socket in @n bound to @addr:@port (NULL / 0: any). */
static inline int udp_open(struct emu_node *n, const char *addr, uint16_t port)
{
	struct natlab_err e = {{0}};
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = emu_node_socket(n, AF_INET, SOCK_DGRAM, 0, &e);

	if (fd < 0) {
		fprintf(stderr, "udp_open: %s\n", e.msg);
		return -1;
	}
	if (addr)
		inet_pton(AF_INET, addr, &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "udp_open: bind %s:%u: %s\n", addr ? addr : "*", port,
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static inline uint16_t udp_local_port(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	getsockname(fd, (struct sockaddr *)&sa, &len);
	return ntohs(sa.sin_port);
}

static inline int udp_send(int fd, const char *addr, uint16_t port, const char *msg)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};

	inet_pton(AF_INET, addr, &sa.sin_addr);
	return sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -1 : 0;
}

/* Wait up to @timeout_ms for a datagram; 1 with its text and source, 0 on
 * timeout. */
static inline int udp_recv(int fd, int timeout_ms, char *msg, size_t msglen,
			   struct sockaddr_in *from)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	socklen_t flen = sizeof(*from);
	ssize_t n;

	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	n = recvfrom(fd, msg, msglen - 1, 0, (struct sockaddr *)from, &flen);
	if (n < 0)
		return 0;
	msg[n] = '\0';
	return 1;
}

/* A UDP socket in @n bound to IPv6 @addr:@port. */
static inline int udp6_open(struct emu_node *n, const char *addr, uint16_t port)
{
	struct natlab_err e = {{0}};
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	int fd = emu_node_socket(n, AF_INET6, SOCK_DGRAM, 0, &e);

	if (fd < 0) {
		fprintf(stderr, "udp6_open: %s\n", e.msg);
		return -1;
	}
	inet_pton(AF_INET6, addr, &sa.sin6_addr);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "udp6_open: bind [%s]:%u: %s\n", addr, port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static inline int udp6_send(int fd, const char *addr, uint16_t port, const char *msg)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(port)};

	inet_pton(AF_INET6, addr, &sa.sin6_addr);
	return sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -1 : 0;
}

/* Wait up to @timeout_ms for a datagram; 1 with its text, 0 on timeout. */
static inline int udp_recv_text(int fd, int timeout_ms, char *msg, size_t msglen)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ssize_t n;

	if (poll(&p, 1, timeout_ms) != 1 || (n = recv(fd, msg, msglen - 1, 0)) < 0)
		return 0;
	msg[n] = '\0';
	return 1;
}

/* An IPv4 or IPv6 socket address from @addr (a ':' makes it IPv6). */
static inline socklen_t topo_sockaddr(const char *addr, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	inet_pton(AF_INET, addr, &s4->sin_addr);
	return sizeof(*s4);
}

/* A TCP connection from @cli to @addr:@port (IPv4 or IPv6): 0 connected,
 * -ETIMEDOUT when the SYN was dropped (no answer within 700 ms; a reset
 * or a SYN-ACK comes back in well under 1 ms), another -errno when
 * refused. */
static inline int tcp_try(struct emu_node *cli, const char *addr, uint16_t port)
{
	struct natlab_err e = {{0}};
	struct sockaddr_storage ss;
	socklen_t sl = topo_sockaddr(addr, port, &ss);
	struct pollfd p;
	int fd = emu_node_socket(cli, ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0, &e);
	int err = 0;
	socklen_t len = sizeof(err);

	if (fd < 0)
		return -EIO;
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		err = errno;
		close(fd);
		return -err;
	}
	p.fd = fd;
	p.events = POLLOUT;
	if (poll(&p, 1, 700) <= 0) {
		close(fd);
		return -ETIMEDOUT;
	}
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	close(fd);
	return -err;
}

/* A TCP listener in @n on @addr:@port (IPv4 or IPv6), or -1. */
static inline int tcp_listen(struct emu_node *n, const char *addr, uint16_t port)
{
	struct natlab_err e = {{0}};
	struct sockaddr_storage ss;
	socklen_t sl = topo_sockaddr(addr, port, &ss);
	int fd = emu_node_socket(n, ss.ss_family, SOCK_STREAM, 0, &e);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 8) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Run @body in a forked child inside a fresh sandbox (sandboxed.h); 77
 * (skip) when the sandbox cannot be entered here. Returns the child's exit
 * status. */
struct topo_body {
	int (*fn)(void);
};

static inline int topo_call_body(const void *b)
{
	return ((const struct topo_body *)b)->fn();
}

static inline int topo_run_sandboxed(int (*body)(void))
{
	struct topo_body b = {body};
	return ns_run_sandboxed(topo_call_body, &b);
}

static inline int topo_nothing(void)
{
	return 0;
}

/* Whether a sandbox can be entered here at all: a test's main() returns
 * 77 (skip) when not, before cmocka runs any case. */
static inline bool topo_sandbox_available(void)
{
	return topo_run_sandboxed(topo_nothing) != 77;
}

/* The body of a cmocka case: @body in a sandbox, skipped where there is
 * none, failed on a non-zero status (the body printed why). A macro so
 * that this header does not need cmocka itself. */
#define TOPO_CASE(body)                                                                            \
	do {                                                                                       \
		int topo_r_ = topo_run_sandboxed(body);                                            \
		if (topo_r_ == 77)                                                                 \
			skip();                                                                    \
		assert_int_equal(topo_r_, 0);                                                      \
	} while (0)

#endif

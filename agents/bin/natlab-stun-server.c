/* natlab-stun-server - a STUN Binding server (RFC 8489) over UDP and TCP,
 * IPv4 and IPv6, with RFC 5780 NAT behaviour discovery when given two
 * addresses and two ports, and RFC 3489 answers for classic clients.
 *
 *   natlab-stun-server --addr A [--addr B] [--port P] [--alt-port Q] [--tcp]
 *                      [--software TEXT] [--fingerprint always|mirror|never]
 *
 * One thread, one epoll loop; UDP is read and answered in batches
 * (recvmmsg/sendmmsg) from buffers allocated once at start, so the hot path
 * allocates nothing. When every socket is bound it prints one JSON line
 * {"ev":"ready",...,"udp":[...],"tcp":[...]} on stdout. It stops on
 * SIGINT/SIGTERM or {"cmd":"stop"} on stdin, printing {"ev":"stats",...}.
 * The answer logic lives in agents/stun/stun_server.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "agents/common/event.h"
#include "agents/stun/stun_server.h"

#define BATCH	       64   /* datagrams per recvmmsg */
#define RX_MAX	       2048 /* a request larger than this is dropped */
#define TCP_BUF	       2048 /* a TCP frame larger than this closes the connection */
#define MAX_CONNS      4096
#define MAX_EVENTS     64
#define SERVER_VERSION "1"

enum kind { K_UDP, K_LISTEN, K_CONN, K_SIGNAL, K_STDIN };

struct handle {
	enum kind kind;
	int fd;
	int ep;
};

struct conn {
	struct handle h; /* first: epoll data points here */
	struct stun_addr peer;
	size_t have;
	uint8_t buf[TCP_BUF];
};

struct server {
	struct stun_server_config cfg;
	bool tcp;
	bool verbose;
	bool want_alt;	  /* bind the alternate port */
	uint16_t alt_req; /* its requested number, 0 = any free port */
	int epfd;
	struct handle udp[STUN_SERVER_ENDPOINTS];
	struct handle listen[STUN_SERVER_ENDPOINTS];
	struct handle sig;
	struct handle in;
	int n_conns;
	bool stop;
	char stdin_line[1024];
	size_t stdin_have;
	unsigned long long requests, answers, dropped, tcp_accepted;
	/* preallocated batch state */
	struct mmsghdr rx[BATCH];
	struct iovec rx_iov[BATCH];
	struct sockaddr_storage rx_from[BATCH];
	uint8_t rx_buf[BATCH][RX_MAX];
	struct mmsghdr tx[BATCH];
	struct iovec tx_iov[BATCH];
	struct sockaddr_storage tx_to[BATCH];
	uint8_t tx_buf[BATCH][STUN_SERVER_MAX_ANSWER];
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: natlab-stun-server --addr A [--addr B] [--port P] [--alt-port Q] [--tcp]\n"
		"                          [--software TEXT] [--fingerprint always|mirror|never]\n"
		"                          [--verbose]\n"
		"  Two addresses enable RFC 5780 behaviour discovery; the alternate port\n"
		"  defaults to P+1 then (0 means any free port). Port 0 picks free ports.\n");
}

static int epoll_add(struct server *s, struct handle *h, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = h};
	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, h->fd, &ev) == 0 ? 0 : -errno;
}

static int open_socket(const struct stun_addr *a, int type, uint16_t *port_out)
{
	struct sockaddr_storage ss;
	socklen_t sl = stun_addr_to_sockaddr(a, &ss);
	int fd = socket(a->family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (type == SOCK_DGRAM) {
		int sz = 4 << 20;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 ||
	    (type == SOCK_STREAM && listen(fd, 512) != 0)) {
		int e = -errno;
		close(fd);
		return e;
	}
	struct sockaddr_storage got;
	socklen_t gl = sizeof(got);
	struct stun_addr ga;
	if (getsockname(fd, (struct sockaddr *)&got, &gl) == 0 &&
	    stun_addr_from_sockaddr(&ga, (struct sockaddr *)&got, gl) == 0)
		*port_out = ga.port;
	return fd;
}

/* Bind the endpoints in the order that fixes ports first: (A1,P1), then
 * (A2,P1) on the same port, then (A1,P2), (A2,P2). */
static int open_endpoints(struct server *s)
{
	static const int order[STUN_SERVER_ENDPOINTS] = {0, 2, 1, 3};
	for (int i = 0; i < STUN_SERVER_ENDPOINTS; i++) {
		int ep = order[i];
		s->udp[ep].fd = s->listen[ep].fd = -1;
	}
	bool want_alt = s->want_alt;
	uint16_t alt = s->alt_req;
	for (int i = 0; i < STUN_SERVER_ENDPOINTS; i++) {
		int ep = order[i];
		int ai = ep >> 1;
		int pi = ep & 1;
		if (s->cfg.addr[ai].family == 0 || (pi && !want_alt))
			continue;
		struct stun_addr a = s->cfg.addr[ai];
		a.port = pi ? alt : s->cfg.port;
		char txt[STUN_ADDR_STRLEN];
		uint16_t got = a.port;
		int fd = open_socket(&a, SOCK_DGRAM, &got);
		if (fd < 0) {
			fprintf(stderr, "natlab-stun-server: cannot bind UDP %s: %s\n",
				stun_addr_format(&a, txt), strerror(-fd));
			return fd;
		}
		if (pi)
			alt = got;
		else
			s->cfg.port = got;
		s->udp[ep] = (struct handle){.kind = K_UDP, .fd = fd, .ep = ep};
		if (s->tcp) {
			a.port = got;
			uint16_t tg;
			int lfd = open_socket(&a, SOCK_STREAM, &tg);
			if (lfd < 0) {
				fprintf(stderr, "natlab-stun-server: cannot listen TCP %s: %s\n",
					stun_addr_format(&a, txt), strerror(-lfd));
				return lfd;
			}
			s->listen[ep] = (struct handle){.kind = K_LISTEN, .fd = lfd, .ep = ep};
		}
	}
	if (want_alt)
		s->cfg.alt_port = alt;
	for (int ep = 0; ep < STUN_SERVER_ENDPOINTS; ep++) {
		if (s->udp[ep].fd >= 0 && epoll_add(s, &s->udp[ep], EPOLLIN) != 0)
			return -errno;
		if (s->listen[ep].fd >= 0 && epoll_add(s, &s->listen[ep], EPOLLIN) != 0)
			return -errno;
	}
	return 0;
}

static void print_ready(struct server *s)
{
	json_t *udp = json_array();
	json_t *tcp = json_array();
	for (int ep = 0; ep < STUN_SERVER_ENDPOINTS; ep++) {
		struct stun_addr a;
		char txt[STUN_ADDR_STRLEN];
		if (!stun_server_endpoint(&s->cfg, ep, &a))
			continue;
		json_array_append_new(udp, json_string(stun_addr_format(&a, txt)));
		if (s->tcp)
			json_array_append_new(tcp, json_string(txt));
	}
	bool rfc5780 = s->cfg.addr[1].family != 0 && s->cfg.alt_port != 0;
	agent_event_emit(NULL, "ready",
			 json_pack("{s:s,s:s,s:o,s:o,s:b}", "impl", "natlab-stun-server", "version",
				   SERVER_VERSION, "udp", udp, "tcp", tcp, "rfc5780", rfc5780));
}

/* ---- UDP ---- */

static void udp_send_one(struct server *s, int from, const struct stun_addr *to, const uint8_t *buf,
			 size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = stun_addr_to_sockaddr(to, &ss);
	if (s->udp[from].fd < 0 ||
	    sendto(s->udp[from].fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&ss, sl) < 0)
		s->dropped++;
	else
		s->answers++;
}

static void udp_readable(struct server *s, struct handle *h)
{
	/* bounded: a flood on one socket must not starve the others */
	for (int round = 0; round < 16; round++) {
		for (int i = 0; i < BATCH; i++) {
			s->rx_iov[i] = (struct iovec){.iov_base = s->rx_buf[i], .iov_len = RX_MAX};
			s->rx[i].msg_hdr = (struct msghdr){.msg_name = &s->rx_from[i],
							   .msg_namelen = sizeof(s->rx_from[i]),
							   .msg_iov = &s->rx_iov[i],
							   .msg_iovlen = 1};
			s->rx[i].msg_len = 0;
		}
		int n = recvmmsg(h->fd, s->rx, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		int q = 0;
		for (int i = 0; i < n; i++) {
			s->requests++;
			if (s->rx[i].msg_hdr.msg_flags & MSG_TRUNC) {
				s->dropped++;
				continue;
			}
			struct stun_addr src;
			if (stun_addr_from_sockaddr(&src, (struct sockaddr *)&s->rx_from[i],
						    s->rx[i].msg_hdr.msg_namelen) != 0) {
				s->dropped++;
				continue;
			}
			struct stun_server_answer ans;
			int r = stun_server_handle(&s->cfg, h->ep, false, &src, s->rx_buf[i],
						   s->rx[i].msg_len, s->tx_buf[q],
						   STUN_SERVER_MAX_ANSWER, &ans);
			if (r != 1) {
				s->dropped++;
				continue;
			}
			if (s->verbose) {
				char a[STUN_ADDR_STRLEN], b[STUN_ADDR_STRLEN];
				fprintf(stderr,
					"request from %s on ep %d -> answer from ep %d to %s\n",
					stun_addr_format(&src, a), h->ep, ans.from,
					stun_addr_format(&ans.to, b));
			}
			if (ans.from != h->ep) {
				udp_send_one(s, ans.from, &ans.to, s->tx_buf[q], ans.len);
				continue;
			}
			socklen_t sl = stun_addr_to_sockaddr(&ans.to, &s->tx_to[q]);
			s->tx_iov[q] = (struct iovec){.iov_base = s->tx_buf[q], .iov_len = ans.len};
			s->tx[q].msg_hdr = (struct msghdr){.msg_name = &s->tx_to[q],
							   .msg_namelen = sl,
							   .msg_iov = &s->tx_iov[q],
							   .msg_iovlen = 1};
			q++;
		}
		int off = 0;
		while (off < q) {
			int k = sendmmsg(h->fd, s->tx + off, (unsigned)(q - off), MSG_DONTWAIT);
			if (k <= 0) {
				/* full socket buffer: UDP may drop, as the network would */
				s->dropped += (unsigned)(q - off);
				break;
			}
			s->answers += (unsigned)k;
			off += k;
		}
		if (n < BATCH)
			return;
	}
}

/* ---- TCP ---- */

static void conn_close(struct server *s, struct conn *c)
{
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->h.fd, NULL);
	close(c->h.fd);
	free(c);
	s->n_conns--;
}

static void listen_readable(struct server *s, struct handle *h)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(h->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct conn *c = NULL;
		if (s->n_conns >= MAX_CONNS || !(c = malloc(sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->h = (struct handle){.kind = K_CONN, .fd = fd, .ep = h->ep};
		c->have = 0;
		if (stun_addr_from_sockaddr(&c->peer, (struct sockaddr *)&ss, sl) != 0 ||
		    epoll_add(s, &c->h, EPOLLIN | EPOLLRDHUP) != 0) {
			close(fd);
			free(c);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		s->n_conns++;
		s->tcp_accepted++;
	}
}

static void conn_readable(struct server *s, struct conn *c)
{
	for (;;) {
		ssize_t n = read(c->h.fd, c->buf + c->have, sizeof(c->buf) - c->have);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(s, c);
			return;
		}
		if (n < 0)
			return;
		c->have += (size_t)n;
		/* RFC 8489 §6.2.2: over TCP, messages are framed by their own
		 * length; several may arrive in one read. */
		size_t used = 0;
		for (;;) {
			long fl = stun_frame_length(c->buf + used, c->have - used);
			if (fl == 0)
				break;
			if (fl < 0 || (size_t)fl > sizeof(c->buf)) {
				conn_close(s, c);
				return;
			}
			if ((size_t)fl > c->have - used)
				break;
			s->requests++;
			struct stun_server_answer ans;
			uint8_t out[STUN_SERVER_MAX_ANSWER];
			int r = stun_server_handle(&s->cfg, c->h.ep, true, &c->peer, c->buf + used,
						   (size_t)fl, out, sizeof(out), &ans);
			used += (size_t)fl;
			if (r != 1) {
				s->dropped++;
				continue;
			}
			/* answers are small; a peer that does not read them
			 * loses its connection rather than our memory */
			if (write(c->h.fd, out, ans.len) != (ssize_t)ans.len) {
				conn_close(s, c);
				return;
			}
			s->answers++;
		}
		memmove(c->buf, c->buf + used, c->have - used);
		c->have -= used;
	}
}

/* ---- control ---- */

static void stdin_line(struct server *s, const char *line)
{
	json_error_t err;
	json_t *o = json_loads(line, 0, &err);
	const char *cmd = o ? json_string_value(json_object_get(o, "cmd")) : NULL;
	if (cmd && strcmp(cmd, "stop") == 0)
		s->stop = true;
	else
		agent_event_emit(NULL, "error",
				 json_pack("{s:s}", "msg",
					   o ? "unknown command (this agent knows: stop)"
					     : "not a JSON object"));
	json_decref(o);
}

static void stdin_readable(struct server *s)
{
	ssize_t n = read(STDIN_FILENO, s->stdin_line + s->stdin_have,
			 sizeof(s->stdin_line) - 1 - s->stdin_have);
	if (n <= 0) {
		if (n == 0 || errno != EAGAIN) {
			/* stdin closed (or /dev/null): keep serving */
			epoll_ctl(s->epfd, EPOLL_CTL_DEL, STDIN_FILENO, NULL);
		}
		return;
	}
	s->stdin_have += (size_t)n;
	s->stdin_line[s->stdin_have] = '\0';
	char *start = s->stdin_line;
	char *nl;
	while ((nl = strchr(start, '\n'))) {
		*nl = '\0';
		if (nl > start)
			stdin_line(s, start);
		start = nl + 1;
	}
	s->stdin_have = strlen(start);
	memmove(s->stdin_line, start, s->stdin_have);
	if (s->stdin_have == sizeof(s->stdin_line) - 1)
		s->stdin_have = 0; /* an over-long line is dropped */
}

static int parse_args(struct server *s, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"addr", required_argument, NULL, 'a'},
	    {"port", required_argument, NULL, 'p'},
	    {"alt-port", required_argument, NULL, 'q'},
	    {"tcp", no_argument, NULL, 't'},
	    {"software", required_argument, NULL, 's'},
	    {"no-fingerprint", no_argument, NULL, 'F'},
	    {"fingerprint", required_argument, NULL, 'f'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int n_addr = 0;
	long port = 3478;
	long alt = -1;
	int c;
	while ((c = getopt_long(argc, argv, "a:p:q:ts:Ff:vh", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'a':
			if (n_addr >= 2 || stun_addr_parse(&s->cfg.addr[n_addr], optarg) != 0) {
				fprintf(stderr, "natlab-stun-server: bad or third --addr %s\n",
					optarg);
				return -EINVAL;
			}
			n_addr++;
			break;
		case 'p':
		case 'q':
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || v < 0 || v > 65535) {
				fprintf(stderr, "natlab-stun-server: bad port %s\n", optarg);
				return -EINVAL;
			}
			if (c == 'p')
				port = v;
			else
				alt = v;
			break;
		case 't':
			s->tcp = true;
			break;
		case 's':
			s->cfg.software = optarg;
			break;
		case 'F':
			s->cfg.fingerprint = STUN_SERVER_FP_NEVER;
			break;
		case 'f':
			if (strcmp(optarg, "always") == 0)
				s->cfg.fingerprint = STUN_SERVER_FP_ALWAYS;
			else if (strcmp(optarg, "mirror") == 0)
				s->cfg.fingerprint = STUN_SERVER_FP_MIRROR;
			else if (strcmp(optarg, "never") == 0)
				s->cfg.fingerprint = STUN_SERVER_FP_NEVER;
			else {
				fprintf(stderr,
					"natlab-stun-server: --fingerprint always|mirror|never\n");
				return -EINVAL;
			}
			break;
		case 'v':
			s->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (n_addr == 0 || optind != argc) {
		usage(stderr);
		return -EINVAL;
	}
	if (n_addr == 2 && s->cfg.addr[0].family != s->cfg.addr[1].family) {
		fprintf(stderr, "natlab-stun-server: both --addr must be the same family\n");
		return -EINVAL;
	}
	for (int i = 0; i < n_addr; i++)
		s->cfg.addr[i].port = 0;
	s->cfg.port = (uint16_t)port;
	if (alt < 0 && n_addr == 2)
		alt = port ? port + 1 : 0; /* 0: any free port, chosen at bind */
	if (alt > 65535 || (alt >= 0 && alt == port && port != 0)) {
		fprintf(stderr, "natlab-stun-server: --alt-port must differ from --port\n");
		return -EINVAL;
	}
	s->want_alt = alt >= 0;
	s->alt_req = alt > 0 ? (uint16_t)alt : 0;
	return 0;
}

int main(int argc, char **argv)
{
	agent_event_start();
	static struct server srv; /* large batch buffers: not on the stack */
	struct server *s = &srv;
	s->cfg.software = "natlab-stun-server";
	s->cfg.fingerprint = STUN_SERVER_FP_MIRROR;
	s->epfd = -1;
	int ret = 1;
	if (parse_args(s, argc, argv) < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0) {
		perror("natlab-stun-server: epoll_create1");
		return 1;
	}
	if (open_endpoints(s) != 0)
		goto out;

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	s->sig =
	    (struct handle){.kind = K_SIGNAL, .fd = signalfd(-1, &mask, SFD_CLOEXEC), .ep = -1};
	if (s->sig.fd < 0 || epoll_add(s, &s->sig, EPOLLIN) != 0)
		goto out;
	s->in = (struct handle){.kind = K_STDIN, .fd = STDIN_FILENO, .ep = -1};
	/* a regular file or /dev/null on stdin cannot be polled: no commands */
	if (epoll_add(s, &s->in, EPOLLIN) != 0 && s->verbose)
		fprintf(stderr, "natlab-stun-server: stdin not pollable; stop with SIGTERM\n");
	print_ready(s);

	struct epoll_event evs[MAX_EVENTS];
	while (!s->stop) {
		int n = epoll_wait(s->epfd, evs, MAX_EVENTS, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		for (int i = 0; i < n && !s->stop; i++) {
			struct handle *h = evs[i].data.ptr;
			switch (h->kind) {
			case K_UDP:
				udp_readable(s, h);
				break;
			case K_LISTEN:
				listen_readable(s, h);
				break;
			case K_CONN:
				conn_readable(s, (struct conn *)h);
				break;
			case K_SIGNAL:
				s->stop = true;
				break;
			case K_STDIN:
				stdin_readable(s);
				break;
			}
		}
	}
	agent_event_emit(NULL, "stats",
			 json_pack("{s:I,s:I,s:I,s:I}", "requests", (json_int_t)s->requests,
				   "answers", (json_int_t)s->answers, "dropped",
				   (json_int_t)s->dropped, "tcp_connections",
				   (json_int_t)s->tcp_accepted));
	ret = 0;
out:
	for (int ep = 0; ep < STUN_SERVER_ENDPOINTS; ep++) {
		if (s->udp[ep].fd > 0)
			close(s->udp[ep].fd);
		if (s->listen[ep].fd > 0)
			close(s->listen[ep].fd);
	}
	if (s->epfd >= 0)
		close(s->epfd);
	return ret;
}

/* natlab-probe - run the RFC 5780 NAT behaviour probe against a STUN server
 * with two addresses and print one JSON object (docs/probe.md) or, with
 * --text, readable lines.
 *
 *   natlab-probe --server IP:PORT [--local IP] [--rto-ms N] [--attempts N]
 *                [--ports N] [--no-hairpin] [--lifetime-max-ms N]
 *                [--lifetime-resolution-ms N] [--text]
 *
 * Exit status: 0 when the probe ran (whatever it found, even "UDP blocked"),
 * 1 when it could not run (no socket), 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agents/common/clock.h"
#include "agents/probe/probe.h"
#include "agents/probe/probe_report.h"

#define MAX_FDS 256

struct net {
	struct stun_addr local_ip; /* port 0 */
	int fd[MAX_FDS];
	int n;
	bool failed;
};

static int net_open(void *ctx, struct stun_addr *local)
{
	struct net *n = ctx;
	if (n->n >= MAX_FDS)
		return -EMFILE;
	struct sockaddr_storage ss;
	socklen_t sl = stun_addr_to_sockaddr(&n->local_ip, &ss);
	int fd = socket(n->local_ip.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
	    stun_addr_from_sockaddr(local, (struct sockaddr *)&ss, sl) != 0) {
		close(fd);
		return -EIO;
	}
	int id = n->n++;
	n->fd[id] = fd;
	return id;
}

static int net_send(void *ctx, int sock, const struct stun_addr *to, const uint8_t *buf, size_t len)
{
	struct net *n = ctx;
	struct sockaddr_storage ss;
	socklen_t sl = stun_addr_to_sockaddr(to, &ss);
	if (sock < 0 || sock >= n->n || n->fd[sock] < 0)
		return -EBADF;
	/* a refused or unreachable destination is an answer the probe
	 * infers from silence, not an error of the tool */
	return sendto(n->fd[sock], buf, len, 0, (struct sockaddr *)&ss, sl) < 0 ? -errno : 0;
}

static void net_close(void *ctx, int sock)
{
	struct net *n = ctx;
	if (sock >= 0 && sock < n->n && n->fd[sock] >= 0) {
		close(n->fd[sock]);
		n->fd[sock] = -1;
	}
}

/* the local address the kernel would use toward @server (no packet sent) */
static int route_source(const struct stun_addr *server, struct stun_addr *out)
{
	struct sockaddr_storage ss;
	socklen_t sl = stun_addr_to_sockaddr(server, &ss);
	int fd = socket(server->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret = -errno;
	if (fd < 0)
		return ret;
	if (connect(fd, (struct sockaddr *)&ss, sl) == 0) {
		sl = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
		    stun_addr_from_sockaddr(out, (struct sockaddr *)&ss, sl) == 0) {
			out->port = 0;
			ret = 0;
		} else {
			ret = -errno;
		}
	} else {
		ret = -errno;
	}
	close(fd);
	return ret;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: natlab-probe --server IP:PORT [--local IP] [--rto-ms N] [--attempts N]\n"
		   "                    [--ports N] [--no-hairpin] [--lifetime-max-ms N]\n"
		   "                    [--lifetime-resolution-ms N] [--text]\n");
}

static int parse_int(const char *s, int min, int max, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end || v < min || v > max)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

int main(int argc, char **argv)
{
	struct probe_config cfg = {.rto_ms = 200,
				   .attempts = 3,
				   .port_samples = 5,
				   .hairpin = true,
				   .lifetime_max_ms = 0,
				   .lifetime_resolution_ms = 1000};
	bool have_server = false, have_local = false, text = false;
	static struct net net;
	static const struct option opts[] = {
	    {"server", required_argument, NULL, 's'},
	    {"local", required_argument, NULL, 'l'},
	    {"rto-ms", required_argument, NULL, 'r'},
	    {"attempts", required_argument, NULL, 'a'},
	    {"ports", required_argument, NULL, 'p'},
	    {"no-hairpin", no_argument, NULL, 'H'},
	    {"lifetime-max-ms", required_argument, NULL, 'L'},
	    {"lifetime-resolution-ms", required_argument, NULL, 'R'},
	    {"text", no_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "s:l:r:a:p:HL:R:th", opts, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case 's':
			bad = stun_addr_parse(&cfg.server, optarg) || cfg.server.port == 0;
			have_server = !bad;
			break;
		case 'l':
			bad = stun_addr_parse(&net.local_ip, optarg) != 0;
			net.local_ip.port = 0;
			have_local = !bad;
			break;
		case 'r':
			bad = parse_int(optarg, 1, 60000, &cfg.rto_ms) != 0;
			break;
		case 'a':
			bad = parse_int(optarg, 1, 100, &cfg.attempts) != 0;
			break;
		case 'p':
			bad = parse_int(optarg, 0, PROBE_MAX_PORT_SAMPLES, &cfg.port_samples) != 0;
			break;
		case 'H':
			cfg.hairpin = false;
			break;
		case 'L':
			bad = parse_int(optarg, 0, 3600000, &cfg.lifetime_max_ms) != 0;
			break;
		case 'R':
			bad = parse_int(optarg, 1, 3600000, &cfg.lifetime_resolution_ms) != 0;
			break;
		case 't':
			text = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			bad = 1;
		}
		if (bad) {
			fprintf(stderr, "natlab-probe: bad option -%c %s\n", c,
				optarg ? optarg : "");
			usage(stderr);
			return 2;
		}
	}
	if (!have_server || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!have_local && route_source(&cfg.server, &net.local_ip) != 0) {
		fprintf(stderr, "natlab-probe: no route to the server\n");
		return 1;
	}
	if (net.local_ip.family != cfg.server.family) {
		fprintf(stderr, "natlab-probe: --local and --server must be the same family\n");
		return 2;
	}
	struct probe_io io = {.ctx = &net, .open = net_open, .send = net_send, .close = net_close};
	struct probe *p = probe_new(&cfg, &io);
	if (!p) {
		fprintf(stderr, "natlab-probe: out of memory\n");
		return 1;
	}
	uint64_t deadline = probe_start(p, agent_clock_ms());
	while (!probe_done(p)) {
		struct pollfd pfd[MAX_FDS];
		int map[MAX_FDS];
		int k = 0;
		for (int i = 0; i < net.n; i++) {
			if (net.fd[i] < 0)
				continue;
			pfd[k] = (struct pollfd){.fd = net.fd[i], .events = POLLIN};
			map[k++] = i;
		}
		uint64_t now = agent_clock_ms();
		int wait_ms = deadline > now ? (int)(deadline - now) : 0;
		int n = poll(pfd, (nfds_t)k, wait_ms);
		if (n < 0 && errno != EINTR)
			break;
		for (int j = 0; n > 0 && j < k; j++) {
			if (!(pfd[j].revents & POLLIN))
				continue;
			uint8_t buf[2048];
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			ssize_t len =
			    recvfrom(pfd[j].fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &sl);
			struct stun_addr from;
			if (len > 0 &&
			    stun_addr_from_sockaddr(&from, (struct sockaddr *)&ss, sl) == 0)
				probe_input(p, agent_clock_ms(), map[j], &from, buf, (size_t)len);
		}
		deadline = probe_tick(p, agent_clock_ms());
	}
	const struct probe_result *r = probe_result(p);
	int ret = 0;
	if (text) {
		probe_report_text(stdout, r, &cfg);
	} else {
		json_t *o = probe_report_json(r, &cfg);
		char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		if (s)
			printf("%s\n", s);
		else
			ret = 1;
		free(s);
		json_decref(o);
	}
	probe_free(p);
	return ret;
}

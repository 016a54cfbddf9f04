/* natlab-turn-client - allocate on a TURN server, relay numbered datagrams
 * to a peer and count what comes back (a UDP echo peer, such as coturn's
 * turnutils_peer, sends them back through the relay).
 *
 * Prints JSON lines: ready, allocated, result (per permission/channel),
 * state changes, and a final "data" summary (sent, received, lost, RTTs).
 * Exit status: 0 when allocated and (with --count) nothing was lost, 1 when
 * the TURN exchange failed or datagrams were lost, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "agents/stun/stun.h"
#include "agents/turn/turn_client.h"
#include "agents/turn/turn_stream.h"

#define SEQ_MAX 100000

struct tool {
	int fd;
	struct turn_stream *st;
	SSL_CTX *tls;
	enum turn_transport transport;
	struct turn_client *tc;
	uint64_t t0;
	int count, size, received, dup;
	uint64_t *sent_at;
	uint8_t *seen;
	double *rtt;
	int nrtt;
	bool failed;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static struct tool T;

static int cb_send(void *ctx, const struct sockaddr *to, const uint8_t *buf, size_t len)
{
	(void)ctx;
	if (T.st)
		return turn_stream_write(T.st, buf, len);
	ssize_t n = sendto(T.fd, buf, len, 0, to, turn_addr_len(to));
	return n < 0 ? -errno : 0;
}

static const char *state_name(enum turn_client_state s)
{
	static const char *const names[] = {"idle",	  "allocating", "allocated",
					    "redirected", "failed",	"closed"};
	return names[s];
}

static void cb_state(void *ctx, enum turn_client_state st, int code)
{
	(void)ctx;
	char r[64], m[64];
	struct sockaddr_storage a, b;
	printf("{\"ev\":\"state\",\"t_ms\":%llu,\"state\":\"%s\",\"code\":%d}\n",
	       (unsigned long long)(now_ms() - T.t0), state_name(st), code);
	if (st == TURN_CLIENT_ALLOCATED && turn_client_relayed(T.tc, 0, &a) == 0 &&
	    turn_client_mapped(T.tc, &b) == 0) {
		printf("{\"ev\":\"allocated\",\"t_ms\":%llu,\"relay\":\"%s\",\"mapped\":\"%s\","
		       "\"lifetime_s\":%u",
		       (unsigned long long)(now_ms() - T.t0),
		       turn_addr_str((struct sockaddr *)&a, r, sizeof(r)),
		       turn_addr_str((struct sockaddr *)&b, m, sizeof(m)),
		       turn_client_lifetime_s(T.tc));
		if (turn_client_relayed(T.tc, 1, &a) == 0)
			printf(",\"relay6\":\"%s\"",
			       turn_addr_str((struct sockaddr *)&a, r, sizeof(r)));
		/* what the accepted Allocate was signed with */
		bool sha256, userhash;
		turn_client_auth_used(T.tc, &sha256, &userhash);
		printf(",\"password_algorithm\":\"%s\",\"userhash\":%s}\n",
		       sha256 ? "SHA-256" : "MD5", userhash ? "true" : "false");
	}
	if (st == TURN_CLIENT_FAILED)
		T.failed = true;
	fflush(stdout);
}

static void cb_result(void *ctx, enum turn_client_op op, const struct sockaddr *peer, int code)
{
	(void)ctx;
	static const char *const ops[] = {"allocate", "refresh", "permission", "channel"};
	char p[64] = "";
	if (peer)
		turn_addr_str(peer, p, sizeof(p));
	printf("{\"ev\":\"result\",\"t_ms\":%llu,\"op\":\"%s\",\"peer\":\"%s\",\"code\":%d}\n",
	       (unsigned long long)(now_ms() - T.t0), ops[op], p, code);
	fflush(stdout);
}

static void cb_data(void *ctx, const struct sockaddr *peer, const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)peer;
	uint32_t seq;
	if (len < 4)
		return;
	memcpy(&seq, buf, 4);
	seq = ntohl(seq);
	if ((int)seq >= T.count)
		return;
	if (T.seen[seq]) {
		T.dup++;
		return;
	}
	T.seen[seq] = 1;
	T.received++;
	T.rtt[T.nrtt++] = (now_us() - (double)T.sent_at[seq]) / 1000.0;
}

static void on_frame(void *arg, const uint8_t *frame, size_t len)
{
	(void)arg;
	turn_client_input(T.tc, frame, len, now_ms());
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int connect_server(const struct sockaddr_storage *srv)
{
	socklen_t len = turn_addr_len((const struct sockaddr *)srv);
	int type = T.transport == TURN_TRANSPORT_UDP ? SOCK_DGRAM : SOCK_STREAM;

	if (T.st) {
		turn_stream_free(T.st);
		T.st = NULL;
	} else if (T.fd >= 0) {
		close(T.fd);
	}
	T.fd = socket(srv->ss_family, type | SOCK_CLOEXEC, 0);
	if (T.fd < 0)
		return -errno;
	if (type == SOCK_DGRAM)
		return 0;
	if (connect(T.fd, (const struct sockaddr *)srv, len) != 0)
		return -errno;
	int one = 1;
	setsockopt(T.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	SSL *ssl = NULL;
	if (T.transport == TURN_TRANSPORT_TLS) {
		ssl = SSL_new(T.tls);
		if (!ssl || SSL_set_fd(ssl, T.fd) != 1 || SSL_connect(ssl) != 1) {
			SSL_free(ssl);
			return -EPROTO;
		}
	}
	/* non-blocking from here: the stream handles partial I/O */
	int fl = fcntl(T.fd, F_GETFL);
	if (fl < 0 || fcntl(T.fd, F_SETFL, fl | O_NONBLOCK) != 0)
		return -errno;
	T.st = turn_stream_new(T.fd, ssl, 1u << 20);
	return T.st ? 0 : -ENOMEM;
}

static int parse_server(const char *txt, struct sockaddr_storage *ss)
{
	struct stun_addr a;
	if (strncmp(txt, "udp:", 4) == 0) {
		T.transport = TURN_TRANSPORT_UDP;
		txt += 4;
	} else if (strncmp(txt, "tcp:", 4) == 0) {
		T.transport = TURN_TRANSPORT_TCP;
		txt += 4;
	} else if (strncmp(txt, "tls:", 4) == 0) {
		T.transport = TURN_TRANSPORT_TLS;
		txt += 4;
	}
	if (stun_addr_parse(&a, txt) != 0 || a.port == 0)
		return -1;
	stun_addr_to_sockaddr(&a, ss);
	return 0;
}

static void usage(void)
{
	puts(
	    "usage: natlab-turn-client --server [udp|tcp|tls:]IP:PORT --user U --pass P [options]\n"
	    "  --peer IP:PORT      the peer to permit and relay to (an echo peer answers)\n"
	    "  --channel           bind a channel (ChannelData) instead of Send indications\n"
	    "  --count N           datagrams to send (default 0: only allocate)\n"
	    "  --size BYTES        datagram size (default 100, at least 4)\n"
	    "  --interval-ms MS    between datagrams (default 5)\n"
	    "  --ipv6              ask for an IPv6 relay (REQUESTED-ADDRESS-FAMILY)\n"
	    "  --dual              ask for IPv4 and IPv6 relays (ADDITIONAL-ADDRESS-FAMILY)\n"
	    "  --sha256            use SHA-256 credentials when offered\n"
	    "  --userhash          send USERHASH instead of USERNAME when the server's\n"
	    "                      nonce allows it (RFC 8489 §9.2.4)\n"
	    "  --lifetime S        requested lifetime\n"
	    "  --hold-ms MS        stay allocated this long after sending (refreshes run)\n"
	    "  --timeout-ms MS     give up after this long (default 20000)");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"server", 1, 0, 's'},  {"user", 1, 0, 'u'},
	    {"pass", 1, 0, 'p'},    {"peer", 1, 0, 'P'},
	    {"channel", 0, 0, 'c'}, {"count", 1, 0, 'n'},
	    {"size", 1, 0, 'z'},    {"interval-ms", 1, 0, 'i'},
	    {"ipv6", 0, 0, '6'},    {"dual", 0, 0, 'd'},
	    {"sha256", 0, 0, 'S'},  {"lifetime", 1, 0, 'l'},
	    {"hold-ms", 1, 0, 'H'}, {"timeout-ms", 1, 0, 't'},
	    {"help", 0, 0, 'h'},    {"userhash", 0, 0, 'U'},
	    {0, 0, 0, 0},
	};
	struct turn_client_config cfg = {.software = "natlab-turn-client"};
	struct sockaddr_storage srv, peer;
	bool have_srv = false, have_peer = false, channel = false;
	int interval = 5, hold = 0, timeout = 20000, o;
	char msg[256];

	T.fd = -1;
	T.size = 100;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			have_srv = parse_server(optarg, &srv) == 0;
			break;
		case 'u':
			cfg.user = optarg;
			break;
		case 'p':
			cfg.pass = optarg;
			break;
		case 'P': {
			struct stun_addr a;
			have_peer = stun_addr_parse(&a, optarg) == 0;
			stun_addr_to_sockaddr(&a, &peer);
			break;
		}
		case 'c':
			channel = true;
			break;
		case 'n':
			T.count = atoi(optarg);
			break;
		case 'z':
			T.size = atoi(optarg);
			break;
		case 'i':
			interval = atoi(optarg);
			break;
		case '6':
			cfg.family = AF_INET6;
			break;
		case 'd':
			cfg.dual = true;
			break;
		case 'S':
			cfg.prefer_sha256 = true;
			break;
		case 'U':
			cfg.userhash = true;
			break;
		case 'l':
			cfg.lifetime_s = (uint32_t)atoi(optarg);
			break;
		case 'H':
			hold = atoi(optarg);
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (!have_srv || !cfg.user || !cfg.pass || T.count < 0 || T.count > SEQ_MAX || T.size < 4 ||
	    T.size > 65000 || (T.count && !have_peer)) {
		usage();
		return 2;
	}
	cfg.transport = T.transport;
	T.sent_at = calloc((size_t)T.count + 1, sizeof(*T.sent_at));
	T.seen = calloc((size_t)T.count + 1, 1);
	T.rtt = calloc((size_t)T.count + 1, sizeof(*T.rtt));
	uint8_t *payload = calloc((size_t)T.size, 1);
	if (T.transport == TURN_TRANSPORT_TLS) {
		/* the lab's certificates are self-signed: no verification */
		T.tls = SSL_CTX_new(TLS_client_method());
		SSL_CTX_set_mode(T.tls, SSL_MODE_ENABLE_PARTIAL_WRITE |
					    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	}
	struct turn_client_cb cb = {
	    .send = cb_send, .state = cb_state, .result = cb_result, .data = cb_data};
	T.t0 = now_ms();
	printf(
	    "{\"ev\":\"ready\",\"t_ms\":0,\"impl\":\"natlab-turn-client\",\"version\":\"0.1\"}\n");
	fflush(stdout);
	int r = connect_server(&srv);
	if (r != 0) {
		printf("{\"ev\":\"failed\",\"t_ms\":%llu,\"reason\":\"connect: %s\"}\n",
		       (unsigned long long)(now_ms() - T.t0), strerror(-r));
		return 1;
	}
	T.tc = turn_client_new(&cfg, &cb, (struct sockaddr *)&srv, msg, sizeof(msg));
	if (!T.tc) {
		fprintf(stderr, "natlab-turn-client: %s\n", msg);
		return 2;
	}
	turn_client_start(T.tc, now_ms());
	uint64_t deadline = T.t0 + (uint64_t)timeout, next_send = 0, done_at = 0;
	int sent = 0;
	bool asked = false;
	static uint8_t buf[65536 + 64];
	while (now_ms() < deadline) {
		uint64_t t = now_ms();
		enum turn_client_state st = turn_client_state(T.tc);
		if (st == TURN_CLIENT_FAILED || st == TURN_CLIENT_CLOSED)
			break;
		if (st == TURN_CLIENT_REDIRECTED) {
			/* over a stream, a 300 means a new connection */
			struct sockaddr_storage to;
			memcpy(&to, turn_client_server(T.tc),
			       turn_addr_len(turn_client_server(T.tc)));
			if (connect_server(&to) != 0)
				break;
			turn_client_start(T.tc, t);
			continue;
		}
		if (st == TURN_CLIENT_ALLOCATED && have_peer && !asked) {
			asked = true;
			if (channel)
				turn_client_bind(T.tc, (struct sockaddr *)&peer, t);
			else
				turn_client_permit(T.tc, (struct sockaddr *)&peer, t);
			next_send = t + 50; /* let the permission land first */
		}
		if (asked && sent < T.count && t >= next_send) {
			uint32_t seq = htonl((uint32_t)sent);
			memcpy(payload, &seq, 4);
			T.sent_at[sent] = (uint64_t)now_us();
			turn_client_send(T.tc, (struct sockaddr *)&peer, payload, (size_t)T.size);
			sent++;
			next_send = t + (uint64_t)interval;
		}
		if (st == TURN_CLIENT_ALLOCATED && sent == T.count && !done_at)
			done_at = t + (uint64_t)hold; /* then echoes get one more second */
		if (done_at && ((t >= done_at && T.received == T.count) || t >= done_at + 1000))
			break;
		uint64_t next = turn_client_tick(T.tc, t);
		if (asked && sent < T.count && next_send < next)
			next = next_send;
		if (done_at && done_at + 1000 < next)
			next = done_at + 1000;
		int wait = next > t ? (int)(next - t) : 0;
		struct pollfd pfd = {.fd = T.fd, .events = POLLIN};
		if (T.st && turn_stream_want_write(T.st))
			pfd.events |= POLLOUT;
		if (poll(&pfd, 1, wait) <= 0)
			continue;
		if (T.st) {
			if (pfd.revents & POLLOUT)
				turn_stream_flush(T.st);
			if (turn_stream_read(T.st, on_frame, NULL) < 0)
				break;
			continue;
		}
		for (int i = 0; i < 64; i++) {
			ssize_t n = recv(T.fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n < 0)
				break;
			turn_client_input(T.tc, buf, (size_t)n, now_ms());
		}
	}
	bool allocated = turn_client_state(T.tc) == TURN_CLIENT_ALLOCATED;
	if (allocated) {
		turn_client_close(T.tc, now_ms());
		/* give the Refresh(0) its answer, briefly */
		uint64_t end = now_ms() + 500;
		while (turn_client_state(T.tc) == TURN_CLIENT_ALLOCATED && now_ms() < end) {
			struct pollfd pfd = {.fd = T.fd, .events = POLLIN};
			if (poll(&pfd, 1, 50) > 0) {
				if (T.st) {
					if (turn_stream_read(T.st, on_frame, NULL) < 0)
						break;
				} else {
					ssize_t n = recv(T.fd, buf, sizeof(buf), MSG_DONTWAIT);
					if (n > 0)
						turn_client_input(T.tc, buf, (size_t)n, now_ms());
				}
			}
			turn_client_tick(T.tc, now_ms());
		}
	}
	qsort(T.rtt, (size_t)T.nrtt, sizeof(double), cmp_double);
	printf("{\"ev\":\"data\",\"t_ms\":%llu,\"allocated\":%s,\"sent\":%d,\"received\":%d,"
	       "\"lost\":%d,"
	       "\"duplicates\":%d,\"rtt_ms_median\":%.3f,\"rtt_ms_p95\":%.3f}\n",
	       (unsigned long long)(now_ms() - T.t0), allocated ? "true" : "false", sent,
	       T.received, sent - T.received, T.dup, T.nrtt ? T.rtt[T.nrtt / 2] : 0.0,
	       T.nrtt ? T.rtt[(T.nrtt * 95) / 100 < T.nrtt ? (T.nrtt * 95) / 100 : T.nrtt - 1]
		      : 0.0);
	int rc = (!allocated || T.failed || T.received < T.count) ? 1 : 0;
	turn_client_free(T.tc);
	turn_stream_free(T.st);
	if (!T.st && T.fd >= 0)
		close(T.fd);
	SSL_CTX_free(T.tls);
	free(T.sent_at);
	free(T.seen);
	free(T.rtt);
	free(payload);
	return rc;
}

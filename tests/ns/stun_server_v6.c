/* stun_server_v6.c - natlab-stun-server with two IPv6 addresses: RFC 5780
 * behaviour discovery over IPv6 (natlab-probe: OTHER-ADDRESS, change
 * requests answered from the other address and port, no NAT found on a
 * plain link), and Binding over TCP on IPv6 (XOR-MAPPED-ADDRESS is the
 * client's IPv6 address and port).
 *
 *   cl 2001:db8::2 --eth0/eth0-- sv 2001:db8::1, 2001:db8::3
 *
 * Everything runs in a sandbox entered by a forked child, which exits 77
 * when namespaces are not available. Waits have deadlines; the nodes and
 * processes die with the sandbox whatever happens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agents/stun/stun.h"
#include "emu/link.h"
#include "emu/node.h"
#include "emu/sandbox.h"
#include "probe_lab.h"

/* natlab-probe in @cl against [2001:db8::1]:3478; its JSON verdict */
static json_t *run_probe(struct emu_node *cl)
{
	char *argv[] = {NATLAB_BIN_DIR "/natlab-probe",
			"--server",
			"[2001:db8::1]:3478",
			"--rto-ms",
			"100",
			"--no-hairpin",
			NULL};
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return NULL;
	return probe_run(cl, argv, p);
}

/* one Binding request over TCP from @cl to [2001:db8::1]:3478; 0 when the
 * answer is a success whose XOR-MAPPED-ADDRESS is the socket's own
 * address and port */
static int tcp_binding(struct emu_node *cl)
{
	struct natlab_err e = {{0}};
	struct sockaddr_in6 srv = {.sin6_family = AF_INET6, .sin6_port = htons(3478)}, me;
	socklen_t mel = sizeof(me);
	uint8_t req[64], ans[512], tid[STUN_TID_LEN];
	struct stun_builder b;
	struct stun_msg m;
	struct stun_addr mapped, want;
	size_t have = 0;
	int ret = 1;

	inet_pton(AF_INET6, "2001:db8::1", &srv.sin6_addr);
	int fd = emu_node_socket(cl, AF_INET6, SOCK_STREAM, 0, &e);
	if (fd < 0) {
		fprintf(stderr, "tcp socket: %s\n", e.msg);
		return 1;
	}
	struct timeval tv = {.tv_sec = 5};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&srv, sizeof(srv)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&me, &mel) != 0) {
		fprintf(stderr, "tcp connect to [2001:db8::1]:3478: %s\n", strerror(errno));
		goto out;
	}
	stun_tid_random(tid);
	stun_builder_init(&b, req, sizeof(req),
			  stun_type_make(STUN_CLASS_REQUEST, STUN_METHOD_BINDING), tid);
	long n = stun_builder_finish(&b);
	if (n <= 0 || write(fd, req, (size_t)n) != n)
		goto out;
	/* RFC 8489 §6.2.2: over TCP the answer is framed by its own length */
	while (have < 20 || have < 20 + (size_t)((ans[2] << 8) | ans[3])) {
		ssize_t k = read(fd, ans + have, sizeof(ans) - have);
		if (k <= 0) {
			fprintf(stderr, "tcp answer: %s\n", k < 0 ? strerror(errno) : "EOF");
			goto out;
		}
		have += (size_t)k;
	}
	if (stun_msg_decode(&m, ans, have, 0, NULL) != 0 || m.cls != STUN_CLASS_SUCCESS ||
	    memcmp(m.tid, tid, STUN_TID_LEN) != 0 ||
	    stun_msg_get_xor_addr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped) != 0) {
		fprintf(stderr, "tcp answer is not a Binding success with XOR-MAPPED-ADDRESS\n");
		goto out;
	}
	stun_addr_from_sockaddr(&want, (struct sockaddr *)&me, mel);
	if (!stun_addr_equal(&mapped, &want)) {
		char a[STUN_ADDR_STRLEN], w[STUN_ADDR_STRLEN];
		fprintf(stderr, "tcp XOR-MAPPED-ADDRESS %s, want %s\n",
			stun_addr_format(&mapped, a), stun_addr_format(&want, w));
		goto out;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

static int scenario(void)
{
	struct natlab_err e = {{0}};
	if (probe_sandbox_enter() != 0)
		return 77;
	struct emu_node *cl = NULL, *sv = NULL;
	TRY(emu_node_new("cl", &cl, &e));
	TRY(emu_node_new("sv", &sv, &e));
	TRY(emu_link_veth(cl, "eth0", sv, "eth0", &e));
	/* documentation prefix (RFC 3849); addresses are added without DAD */
	TRY(emu_link_addr_add(cl, "eth0", "2001:db8::2/64", &e));
	TRY(emu_link_addr_add(sv, "eth0", "2001:db8::1/64", &e));
	TRY(emu_link_addr_add(sv, "eth0", "2001:db8::3/64", &e));
	TRY(emu_link_set_up(cl, "eth0", true, &e));
	TRY(emu_link_set_up(sv, "eth0", true, &e));

	char *srv_argv[] = {NATLAB_BIN_DIR "/natlab-stun-server",
			    "--addr",
			    "2001:db8::1",
			    "--addr",
			    "2001:db8::3",
			    "--port",
			    "3478",
			    "--tcp",
			    NULL};
	pid_t srv;
	char buf[8192];
	int srv_out = probe_server_start(sv, srv_argv, &srv, buf, sizeof(buf));
	if (srv_out < 0)
		return 1;
	int bad = 0;
	if (!strstr(buf, "\"rfc5780\":true")) {
		fprintf(stderr, "RFC 5780 not enabled with two IPv6 addresses: %s\n", buf);
		bad++;
	}

	json_t *o = run_probe(cl);
	if (!o)
		return 1;
	/* no NAT on the link: the probe sees its own address, and the change
	 * requests (other address, other port) all answered */
	bad += probe_check(o, "udp", "true") + probe_check(o, "nat", "false") +
	       probe_check(o, "rfc5780", "true") +
	       probe_check(o, "other_address", "\"[2001:db8::3]:3479\"") +
	       probe_check(o, "mapping", "\"endpoint-independent\"") +
	       probe_check(o, "filtering", "\"endpoint-independent\"") +
	       probe_check(o, "error", "null");
	const char *mapped = json_string_value(json_object_get(o, "mapped"));
	if (!mapped || strncmp(mapped, "[2001:db8::2]:", 14) != 0) {
		fprintf(stderr, "mapped address %s is not the client's\n", mapped ? mapped : "?");
		bad++;
	}
	json_decref(o);

	bad += tcp_binding(cl);
	kill(srv, SIGTERM);
	waitpid(srv, NULL, 0);
	close(srv_out);
	emu_node_free(cl);
	emu_node_free(sv);
	return bad ? 1 : 0;
}

PROBE_LAB_MAIN(scenario, test_stun_server_two_ipv6)

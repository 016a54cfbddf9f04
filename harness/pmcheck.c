/* pmcheck.c - a NAT's port mapping measured from both sides; see pmcheck.h,
 * docs/probe.md "Port mapping" and docs/dut.md. */
#include "harness/pmcheck.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agents/portmap/natpmp.h"
#include "agents/portmap/pcp.h"
#include "harness/luanet.h"

/* RFC 6886 §3.1: "the client ... waits 250 ms for a response ... then
 * doubles the waiting time". PCP's own timers (RFC 6887 §8.1.1: IRT 3 s)
 * are meant for a client that keeps a mapping; a measurement that must
 * also conclude "no answer" uses NAT-PMP's schedule for both, within
 * cfg->answer_ms. */
#define PMCHECK_FIRST_RTO_MS 250
/* how often the internet side sends while waiting for one to arrive */
#define PMCHECK_SEND_EVERY_MS 100
/* upnpc: SSDP discovery (2 s by default), then its SOAP calls */
#define PMCHECK_UPNPC_MS 12000

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *pmcheck_proto_name(enum pmcheck_proto p)
{
	static const char *const n[] = {"pcp", "natpmp", "upnp"};
	return (unsigned)p < PMCHECK_N ? n[p] : "?";
}

/* RFC 6887 §8.5: "If the current PCP server Epoch time (curr_server_time)
 * is less than the previously received PCP server Epoch time
 * (prev_server_time) by more than one second, then the client concludes
 * that the PCP server lost state." Otherwise with client_delta and
 * server_delta the elapsed times on both sides: "if client_delta+2 <
 * server_delta - server_delta/16 or server_delta+2 < client_delta -
 * client_delta/16, then the client MUST consider the server to have lost
 * state". RFC 6886 §3.6 asks the same of a NAT-PMP client (7/8 of the
 * elapsed time, 2 s slack). */
bool pmcheck_epoch_ok(uint32_t epoch1_s, uint32_t epoch2_s, int64_t client_delta_ms)
{
	int64_t cd = client_delta_ms / 1000;
	int64_t sd = (int64_t)epoch2_s - (int64_t)epoch1_s;

	if (sd < -1)
		return false;
	if (sd < 0)
		sd = 0;
	return !(cd + 2 < sd - sd / 16 || sd + 2 < cd - cd / 16);
}

/* ---- sockets ---- */

static int udp_bound(struct emu_node *n, uint32_t ip, uint16_t port, struct natlab_err *e)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = emu_node_socket(n, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, e);
	char ip_s[INET_ADDRSTRLEN];

	if (fd < 0)
		return fd;
	a.sin_addr.s_addr = ip;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int err = errno;
		close(fd);
		inet_ntop(AF_INET, &ip, ip_s, sizeof(ip_s));
		return natlab_err_set(e, err, "port-mapping check: bind %s:%u in node %s", ip_s,
				      port, emu_node_name(n));
	}
	return fd;
}

/* One request to the server (gw:5351) from @fd, resent on RFC 6886's
 * schedule, until @accept takes an answer or @budget_ms ran out. Returns
 * the answer's length (in @buf) or 0 for no answer. */
static ssize_t exchange(const struct pmcheck_config *cfg, int fd, const uint8_t *req, size_t len,
			uint8_t *buf, size_t cap, bool (*accept)(const uint8_t *, size_t, void *),
			void *arg, int budget_ms)
{
	struct sockaddr_in gw = {.sin_family = AF_INET, .sin_port = htons(PCP_SERVER_PORT)};
	int64_t end = now_ms() + budget_ms, next = 0;
	int rto = PMCHECK_FIRST_RTO_MS;

	gw.sin_addr.s_addr = cfg->gw_ip;
	for (;;) {
		int64_t t = now_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (t >= end)
			return 0;
		if (t >= next) {
			/* a lost send is a lost datagram: the next one is due anyway */
			(void)!sendto(fd, req, len, 0, (struct sockaddr *)&gw, sizeof(gw));
			next = t + rto;
			rto *= 2;
		}
		if (poll(&p, 1, (int)((next < end ? next : end) - t)) <= 0)
			continue;
		n = recv(fd, buf, cap, 0);
		if (n > 0 && accept(buf, (size_t)n, arg))
			return n;
	}
}

/* Sends from the internet side to @ext:@port every 100 ms until @data_fd
 * gets the datagram or @ms ran out; a fresh source port each call (a
 * conntrack entry of an earlier flow would outlive a deleted mapping).
 * 1 arrived, 0 not, negative errno when no socket. */
static int reach(const struct pmcheck_config *cfg, int data_fd, const char *ext, uint16_t port,
		 const char *tag, int ms, struct natlab_err *e)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
	int64_t end = now_ms() + ms, next = 0;
	char msg[64], buf[128];
	int fd, got = 0;

	if (inet_pton(AF_INET, ext, &to.sin_addr) != 1 || !port)
		return 0;
	fd = udp_bound(cfg->wan, cfg->wan_ip, 0, e);
	if (fd < 0)
		return fd;
	while (recv(data_fd, buf, sizeof(buf), 0) > 0) {
		/* anything earlier is not this check's */
	}
	snprintf(msg, sizeof(msg), "natlab-pmcheck %s", tag);
	while (!got) {
		int64_t t = now_ms();
		struct pollfd p = {.fd = data_fd, .events = POLLIN};
		ssize_t n;

		if (t >= end)
			break;
		if (t >= next) {
			(void)!sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&to, sizeof(to));
			next = t + PMCHECK_SEND_EVERY_MS;
		}
		if (poll(&p, 1, (int)((next < end ? next : end) - t)) <= 0)
			continue;
		n = recv(data_fd, buf, sizeof(buf) - 1, 0);
		if (n > 0) {
			buf[n] = '\0';
			got = strcmp(buf, msg) == 0;
		}
	}
	close(fd);
	return got;
}

static void result_init(struct pmcheck_result *r)
{
	memset(r, 0, sizeof(*r));
	r->lifetime_s = -1;
	r->epoch_s = -1;
	r->epoch_ok = -1;
	r->reachable = -1;
	r->deleted = -1;
	r->closed_after = -1;
	r->answer_ms = -1;
}

static void ip_str(uint32_t ip, char *buf)
{
	inet_ntop(AF_INET, &ip, buf, INET_ADDRSTRLEN);
}

/* reachable, then (after @del ran) closed: the two datagram checks */
static int reach_both(const struct pmcheck_config *cfg, int data_fd, struct pmcheck_result *r,
		      enum pmcheck_proto p,
		      int (*del)(const struct pmcheck_config *, void *, struct pmcheck_result *),
		      void *arg, struct natlab_err *e)
{
	char tag[32];
	int ret;

	snprintf(tag, sizeof(tag), "%s mapped", pmcheck_proto_name(p));
	ret = reach(cfg, data_fd, r->external, r->external_port, tag, cfg->reach_ms, e);
	if (ret < 0)
		return ret;
	r->reachable = ret;
	ret = del(cfg, arg, r);
	if (ret < 0)
		return ret;
	/* RFC 6887 §15 / RFC 6886 §3.4: once deleted, the port is an
	 * unmapped one again: a new flow to it must not get in */
	snprintf(tag, sizeof(tag), "%s deleted", pmcheck_proto_name(p));
	ret = reach(cfg, data_fd, r->external, r->external_port, tag, cfg->reach_ms, e);
	if (ret < 0)
		return ret;
	r->closed_after = !ret;
	return 0;
}

/* ---- PCP (RFC 6887 §11 MAP) ---- */

struct pcp_ctx {
	int ctl;
	struct pcp_map_request req;
	struct pcp_response resp;
	int decode; /* the last decode's verdict */
	int64_t t_answer;
};

static bool pcp_accept(const uint8_t *b, size_t n, void *arg)
{
	struct pcp_ctx *x = arg;

	x->decode = pcp_response_decode(b, n, &x->resp);
	/* a NAT-PMP-only server's "unsupported version" answer is an answer */
	if (x->decode == -EPROTONOSUPPORT)
		return true;
	/* §11.3: a response must match the request's nonce, protocol and
	 * internal port */
	return x->decode == 0 && x->resp.opcode == PCP_OP_MAP &&
	       memcmp(x->resp.nonce, x->req.nonce, PCP_NONCE_LEN) == 0 &&
	       x->resp.protocol == IPPROTO_UDP && x->resp.internal_port == x->req.internal_port;
}

/* A deletion's answer (PCP §15, NAT-PMP §3.4): whether the server
 * confirmed it, and whether its epoch went on as time did. */
static void note_delete(struct pmcheck_result *r, bool answered, bool success, uint32_t epoch1,
			uint32_t epoch2, int64_t t_answer)
{
	r->deleted = answered && success;
	if (answered)
		r->epoch_ok = pmcheck_epoch_ok(epoch1, epoch2, now_ms() - t_answer);
}

static int pcp_delete(const struct pmcheck_config *cfg, void *arg, struct pmcheck_result *r)
{
	struct pcp_ctx *x = arg;
	uint8_t req[PCP_MSG_MAX], buf[PCP_MSG_MAX];
	uint32_t epoch1 = x->resp.epoch_s;
	int len;

	/* §15: "a PCP client can delete a mapping by sending a MAP request
	 * with the Requested Lifetime set to zero" (same nonce) */
	x->req.lifetime_s = 0;
	len = pcp_map_request_encode(req, sizeof(req), &x->req);
	bool answered = exchange(cfg, x->ctl, req, (size_t)len, buf, sizeof(buf), pcp_accept, x,
				 cfg->answer_ms) > 0 &&
			x->decode == 0;
	note_delete(r, answered, x->resp.result == PCP_SUCCESS, epoch1, x->resp.epoch_s,
		    x->t_answer);
	return 0;
}

static int check_pcp(const struct pmcheck_config *cfg, struct pmcheck_result *r,
		     struct natlab_err *e)
{
	struct pcp_ctx x = {.ctl = -1};
	uint8_t req[PCP_MSG_MAX], buf[PCP_MSG_MAX];
	uint16_t port = (uint16_t)(cfg->port_base + PMCHECK_PCP);
	int data = -1, ret = 0, len;
	int64_t t0;

	r->tested = true;
	x.ctl = udp_bound(cfg->lan, cfg->lan_ip, 0, e);
	data = udp_bound(cfg->lan, cfg->lan_ip, port, e);
	if (x.ctl < 0 || data < 0) {
		ret = x.ctl < 0 ? x.ctl : data;
		goto out;
	}
	/* §11.1: "the mapping nonce ... randomly chosen by the PCP client" */
	if (getrandom(x.req.nonce, sizeof(x.req.nonce), 0) != (ssize_t)sizeof(x.req.nonce))
		for (unsigned i = 0; i < PCP_NONCE_LEN; i++)
			x.req.nonce[i] = (uint8_t)(now_ms() >> (i % 8));
	x.req.lifetime_s = cfg->lifetime_s;
	pcp_ip4_mapped(x.req.client_ip, cfg->lan_ip);
	x.req.protocol = IPPROTO_UDP;
	x.req.internal_port = port;
	x.req.suggested_port = port;
	pcp_ip4_mapped(x.req.suggested_ip, 0);
	len = pcp_map_request_encode(req, sizeof(req), &x.req);
	t0 = now_ms();
	if (exchange(cfg, x.ctl, req, (size_t)len, buf, sizeof(buf), pcp_accept, &x,
		     cfg->answer_ms) == 0) {
		snprintf(r->note, sizeof(r->note), "no PCP answer in %d ms", cfg->answer_ms);
		goto out;
	}
	x.t_answer = now_ms();
	r->answer_ms = x.t_answer - t0;
	if (x.decode == -EPROTONOSUPPORT) {
		/* RFC 6887 §9: a NAT-PMP-only server refuses a PCP request
		 * with its own UNSUPP_VERSION: no PCP offered */
		snprintf(r->result, sizeof(r->result), "UNSUPP_VERSION");
		snprintf(r->note, sizeof(r->note),
			 "a NAT-PMP server answered (version 0, UNSUPP_VERSION): no PCP");
		goto out;
	}
	r->answered = true;
	snprintf(r->result, sizeof(r->result), "%s", pcp_result_name(x.resp.result));
	r->epoch_s = x.resp.epoch_s;
	if (x.resp.result != PCP_SUCCESS) {
		/* §7.2: on an error the lifetime is how long the error holds */
		snprintf(r->note, sizeof(r->note), "MAP refused: %s", r->result);
		goto out;
	}
	r->lifetime_s = x.resp.lifetime_s;
	r->external_port = x.resp.external_port;
	{
		uint32_t ip4;
		if (pcp_ip4_of(x.resp.external_ip, &ip4) == 0)
			ip_str(ip4, r->external);
	}
	ret = reach_both(cfg, data, r, PMCHECK_PCP, pcp_delete, &x, e);
out:
	if (x.ctl >= 0)
		close(x.ctl);
	if (data >= 0)
		close(data);
	return ret;
}

/* ---- NAT-PMP (RFC 6886 §3.2, §3.3) ---- */

struct pmp_ctx {
	int ctl;
	uint8_t opcode; /* the answer wanted */
	uint16_t port;
	struct natpmp_response resp;
	int64_t t_answer;
};

static bool pmp_accept(const uint8_t *b, size_t n, void *arg)
{
	struct pmp_ctx *x = arg;

	if (natpmp_response_decode(b, n, &x->resp) < 0 || x->resp.opcode != x->opcode)
		return false;
	/* an error answer may not carry the port (§3.5) */
	return x->opcode == NATPMP_OP_ADDR || x->resp.result != NATPMP_SUCCESS ||
	       x->resp.internal_port == x->port;
}

static int pmp_delete(const struct pmcheck_config *cfg, void *arg, struct pmcheck_result *r)
{
	struct pmp_ctx *x = arg;
	uint8_t req[NATPMP_MAP_REQ_LEN], buf[64];
	uint32_t epoch1 = x->resp.epoch_s;
	int len;

	/* §3.4: "A mapping may be deleted by the client ... by sending a
	 * request with the Requested Lifetime in Seconds set to zero" and
	 * the Suggested External Port zero */
	len = natpmp_map_request_encode(req, sizeof(req), NATPMP_OP_MAP_UDP, x->port, 0, 0);
	bool answered = exchange(cfg, x->ctl, req, (size_t)len, buf, sizeof(buf), pmp_accept, x,
				 cfg->answer_ms) > 0;
	note_delete(r, answered, x->resp.result == NATPMP_SUCCESS, epoch1, x->resp.epoch_s,
		    x->t_answer);
	return 0;
}

static int check_natpmp(const struct pmcheck_config *cfg, struct pmcheck_result *r,
			struct natlab_err *e)
{
	struct pmp_ctx x = {.ctl = -1};
	uint8_t req[NATPMP_MAP_REQ_LEN], buf[64];
	int data = -1, ret = 0, len;
	int64_t t0;

	r->tested = true;
	x.port = (uint16_t)(cfg->port_base + PMCHECK_NATPMP);
	x.ctl = udp_bound(cfg->lan, cfg->lan_ip, 0, e);
	data = udp_bound(cfg->lan, cfg->lan_ip, x.port, e);
	if (x.ctl < 0 || data < 0) {
		ret = x.ctl < 0 ? x.ctl : data;
		goto out;
	}
	/* §3.2: the external address first (the mapping answer has none) */
	x.opcode = NATPMP_OP_ADDR;
	len = natpmp_addr_request_encode(req, sizeof(req));
	t0 = now_ms();
	if (exchange(cfg, x.ctl, req, (size_t)len, buf, sizeof(buf), pmp_accept, &x,
		     cfg->answer_ms) == 0) {
		snprintf(r->note, sizeof(r->note), "no NAT-PMP answer in %d ms", cfg->answer_ms);
		goto out;
	}
	r->answer_ms = now_ms() - t0;
	if (x.resp.result == NATPMP_UNSUPP_VERSION) {
		/* RFC 6887 §9: a PCP server without NAT-PMP answers a
		 * version 0 request so: no NAT-PMP offered */
		snprintf(r->result, sizeof(r->result), "UNSUPP_VERSION");
		snprintf(r->note, sizeof(r->note),
			 "answered UNSUPP_VERSION (a PCP-only server): no NAT-PMP");
		goto out;
	}
	r->answered = true;
	if (x.resp.result == NATPMP_SUCCESS)
		ip_str(x.resp.external_ip, r->external);
	x.opcode = NATPMP_OP_MAP_UDP;
	len = natpmp_map_request_encode(req, sizeof(req), NATPMP_OP_MAP_UDP, x.port, x.port,
					cfg->lifetime_s);
	if (exchange(cfg, x.ctl, req, (size_t)len, buf, sizeof(buf), pmp_accept, &x,
		     cfg->answer_ms) == 0) {
		snprintf(r->note, sizeof(r->note),
			 "external address answered, mapping not in %d ms", cfg->answer_ms);
		goto out;
	}
	x.t_answer = now_ms();
	snprintf(r->result, sizeof(r->result), "%s", natpmp_result_name(x.resp.result));
	r->epoch_s = x.resp.epoch_s;
	if (x.resp.result != NATPMP_SUCCESS) {
		snprintf(r->note, sizeof(r->note), "mapping refused: %s", r->result);
		goto out;
	}
	r->lifetime_s = x.resp.lifetime_s;
	r->external_port = x.resp.external_port;
	ret = reach_both(cfg, data, r, PMCHECK_NATPMP, pmp_delete, &x, e);
out:
	if (x.ctl >= 0)
		close(x.ctl);
	if (data >= 0)
		close(data);
	return ret;
}

/* ---- UPnP IGD (upnpc, miniupnpc's client) ---- */

/* Runs @argv in the LAN node; its stdout (NUL-terminated, cut at @cap)
 * into @out. 0, or a negative errno when it could not be started. */
static int run_upnpc(const struct pmcheck_config *cfg, char **argv, char *out, size_t cap,
		     struct natlab_err *e)
{
	struct emu_spawn_opts so = {-1, -1, -1, NULL, NULL, false};
	int p[2], ret;
	size_t n = 0;
	int64_t end = now_ms() + PMCHECK_UPNPC_MS;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(p, O_CLOEXEC) < 0)
		return natlab_err_set(e, errno, "pipe");
	so.stdout_fd = p[1];
	ret = emu_lab_spawn(cfg->lab, cfg->lan, argv, &so, &pid, e);
	close(p[1]);
	if (ret < 0) {
		close(p[0]);
		return ret;
	}
	for (;;) {
		struct pollfd q = {.fd = p[0], .events = POLLIN};
		int64_t left = end - now_ms();
		ssize_t r;

		if (left <= 0 || poll(&q, 1, (int)left) <= 0)
			break;
		r = read(p[0], out + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		out[n] = '\0';
		if (n + 1 >= cap)
			break;
	}
	close(p[0]);
	if (emu_lab_wait(cfg->lab, pid, NULL, 1000, NULL) < 0)
		emu_lab_kill(cfg->lab, pid, NULL, NULL);
	return 0;
}

struct upnp_ctx {
	char bin[PATH_MAX];
	char url[256]; /* the IGD's description, for the deletion */
};

static int upnp_delete(const struct pmcheck_config *cfg, void *arg, struct pmcheck_result *r)
{
	struct upnp_ctx *x = arg;
	char port[8], out[4096];
	char *argv[] = {x->bin, "-u", x->url, "-d", port, "UDP", NULL};
	struct natlab_err e = {""};

	snprintf(port, sizeof(port), "%u", r->external_port);
	if (run_upnpc(cfg, argv, out, sizeof(out), &e) < 0)
		return 0;
	/* upnpc 2.2: "UPNP_DeletePortMapping() returned : 0" */
	r->deleted = strstr(out, "UPNP_DeletePortMapping() returned : 0") != NULL;
	return 0;
}

static int check_upnp(const struct pmcheck_config *cfg, struct pmcheck_result *r,
		      struct natlab_err *e)
{
	struct upnp_ctx x = {"", ""};
	char lan[INET_ADDRSTRLEN], port[8], life[16], out[8192];
	char *argv[] = {x.bin, "-e", "natlab-pmcheck", "-a", lan, port, port, "UDP", life, NULL};
	uint16_t iport = (uint16_t)(cfg->port_base + PMCHECK_UPNP);
	const char *s;
	int data, ret;
	int64_t t0;

	if (luanet_bin_path("upnpc", x.bin, sizeof(x.bin)) < 0) {
		snprintf(r->note, sizeof(r->note),
			 "upnpc not installed (scripts/install-deps --portmap: miniupnpc)");
		return 0;
	}
	r->tested = true;
	ip_str(cfg->lan_ip, lan);
	snprintf(port, sizeof(port), "%u", iport);
	snprintf(life, sizeof(life), "%u", cfg->lifetime_s);
	data = udp_bound(cfg->lan, cfg->lan_ip, iport, e);
	if (data < 0)
		return data;
	t0 = now_ms();
	ret = run_upnpc(cfg, argv, out, sizeof(out), e);
	if (ret < 0)
		goto out;
	/* upnpc 2.2.4's lines: " desc: URL", "ExternalIPAddress = A", and
	 * "external A:P UDP is redirected to internal I:Q (duration=N)" */
	if ((s = strstr(out, "desc: ")) != NULL)
		sscanf(s + 6, "%255s", x.url);
	if (!strstr(out, "Found valid IGD") && !strstr(out, "Found a (not connected?) IGD")) {
		snprintf(r->note, sizeof(r->note), "no UPnP IGD found (SSDP) in %d ms",
			 (int)(now_ms() - t0));
		goto out;
	}
	r->answered = true;
	r->answer_ms = now_ms() - t0;
	if ((s = strstr(out, "ExternalIPAddress = ")) != NULL)
		sscanf(s + 20, "%15[0-9.]", r->external);
	if ((s = strstr(out, "is redirected to internal")) != NULL) {
		const char *ext = strstr(out, "external ");
		unsigned p = 0;
		long long d = -1;
		char a[INET_ADDRSTRLEN] = "";
		if (ext && sscanf(ext, "external %15[0-9.]:%u", a, &p) == 2 && p < 65536) {
			snprintf(r->external, sizeof(r->external), "%s", a);
			r->external_port = (uint16_t)p;
		}
		if ((s = strstr(s, "(duration=")) != NULL && sscanf(s, "(duration=%lld", &d) == 1)
			r->lifetime_s = d;
		snprintf(r->result, sizeof(r->result), "SUCCESS");
	} else {
		/* "AddPortMapping(...) failed with code 718 (ConflictInMappingEntry)" */
		const char *f = strstr(out, "failed with code");
		int code = 0;
		if (f && sscanf(f, "failed with code %d", &code) == 1)
			snprintf(r->result, sizeof(r->result), "UPnP error %d", code);
		else
			snprintf(r->result, sizeof(r->result), "no mapping");
		snprintf(r->note, sizeof(r->note), "AddPortMapping: %s", r->result);
		goto out;
	}
	if (!r->external_port) {
		snprintf(r->note, sizeof(r->note), "upnpc named no external port");
		goto out;
	}
	ret = reach_both(cfg, data, r, PMCHECK_UPNP, upnp_delete, &x, e);
out:
	close(data);
	return ret;
}

int pmcheck_run(const struct pmcheck_config *cfg, struct pmcheck_report *rep, struct natlab_err *e)
{
	static int (*const check[PMCHECK_N])(const struct pmcheck_config *, struct pmcheck_result *,
					     struct natlab_err *) = {check_pcp, check_natpmp,
								     check_upnp};

	for (int p = 0; p < PMCHECK_N; p++)
		result_init(&rep->r[p]);
	for (int p = 0; p < PMCHECK_N; p++) {
		int ret;

		if (!(cfg->protocols & (1u << p)))
			continue;
		ret = check[p](cfg, &rep->r[p], e);
		if (ret < 0) {
			natlab_err_prefix(e, "port-mapping check (%s)",
					  pmcheck_proto_name((enum pmcheck_proto)p));
			return ret;
		}
	}
	return 0;
}

static json_t *tri(int v)
{
	return v < 0 ? json_null() : json_boolean(v);
}

json_t *pmcheck_result_json(const struct pmcheck_result *r)
{
	return json_pack(
	    "{s:b,s:b,s:s?,s:s?,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:s?}", "tested", r->tested,
	    "answered", r->answered, "result", r->result[0] ? r->result : NULL, "external",
	    r->external[0] ? r->external : NULL, "external_port",
	    r->external_port ? json_integer(r->external_port) : json_null(), "lifetime_s",
	    r->lifetime_s < 0 ? json_null() : json_integer(r->lifetime_s), "epoch_s",
	    r->epoch_s < 0 ? json_null() : json_integer(r->epoch_s), "epoch_ok", tri(r->epoch_ok),
	    "reachable", tri(r->reachable), "deleted", tri(r->deleted), "closed_after_delete",
	    tri(r->closed_after), "answer_ms",
	    r->answer_ms < 0 ? json_null() : json_integer(r->answer_ms), "note",
	    r->note[0] ? r->note : NULL);
}

json_t *pmcheck_report_json(const struct pmcheck_report *rep)
{
	json_t *o = json_object();

	for (int p = 0; p < PMCHECK_N; p++)
		if (rep->r[p].tested || rep->r[p].note[0])
			json_object_set_new(o, pmcheck_proto_name((enum pmcheck_proto)p),
					    pmcheck_result_json(&rep->r[p]));
	return o;
}

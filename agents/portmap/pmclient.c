/* pmclient.c - PCP / NAT-PMP client state machine, see pmclient.h.
 *
 * Timers, each next to the text it follows:
 *  - PCP (RFC 6887 §8.1.1): "IRT = 3 seconds, MRC = 0, MRT = 1024
 *    seconds, MRD = 0", RT doubling. The first attempt is capped at
 *    cfg.wait_ms: its retransmission comes at MIN(IRT, wait/2), the
 *    attempt ends at wait (auto: PCP has the first half, NAT-PMP the
 *    second). Later requests (refresh, re-map) follow the RFC's times.
 *  - NAT-PMP (RFC 6886 §3.1): "Clients should ... initially wait 250 ms
 *    ... doubl[ing] the waiting time ... [up to] 9 attempts".
 *  - Refresh: RFC 6887 §11.2.1 "renew ... between 1/2 and 5/8 of the
 *    Assigned Lifetime", RFC 6886 §3.3 "halfway to expiry": at 1/2.
 *  - Epoch (RFC 6887 §8.5, RFC 6886 §3.6): checked on every response;
 *    state lost -> PM_EV_LOST and a fresh MAP request. */
#include "agents/portmap/pmclient.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents/portmap/natpmp.h"

#define PCP_IRT_MS    3000u
#define PCP_MRT_MS    1024000u
#define NATPMP_IRT_MS 250u
#define NATPMP_TRIES  9u
#define IPPROTO_UDP_  17
/* auto: how long PCP may still answer once NAT-PMP has (a server that
 * speaks both answers both at once; one that speaks NAT-PMP only never
 * answers PCP, or says UNSUPP_VERSION) */
#define PM_AUTO_GRACE_MS 100u

enum pm_state {
	S_IDLE,
	S_PCP,	  /* a PCP MAP request outstanding */
	S_NATPMP, /* NAT-PMP address + map requests outstanding */
	S_MAPPED,
	S_GAVE_UP, /* the first attempt failed; nothing more */
	S_STOPPED,
};

struct pm_client {
	struct pm_client_config cfg;
	struct pm_client_io io;
	enum pm_state st;
	bool settled;	     /* first attempt over */
	bool first;	     /* still in the first attempt */
	uint64_t start_ms;   /* of the first attempt */
	uint64_t next_tx_ms; /* next retransmission */
	uint32_t rt_ms;	     /* current retransmission timeout */
	unsigned tries;
	/* NAT-PMP needs two answers */
	bool have_addr, have_map;
	uint16_t map_port; /* NAT-PMP: the map answer, until both are in */
	uint32_t map_lifetime_s;
	uint32_t ext_ip;
	uint16_t ext_port;
	uint32_t lifetime_s;
	uint64_t refresh_ms; /* mapped: when to renew */
	uint64_t expire_ms;  /* mapped: when the lease ends */
	const char *proto;   /* the protocol of the live mapping / request */
	/* auto: NAT-PMP answered the probe sent with the first PCP request;
	 * PCP gets PM_AUTO_GRACE_MS more, then NAT-PMP is used */
	uint64_t switch_ms;
	/* RFC 6887 §8.5 */
	bool have_epoch;
	uint32_t prev_server_s;
	uint64_t prev_client_ms;
};

int pm_mode_parse(const char *s, enum pm_mode *m)
{
	if (strcmp(s, "pcp") == 0)
		*m = PM_MODE_PCP;
	else if (strcmp(s, "natpmp") == 0)
		*m = PM_MODE_NATPMP;
	else if (strcmp(s, "auto") == 0)
		*m = PM_MODE_AUTO;
	else
		return -EINVAL;
	return 0;
}

static void emit(struct pm_client *c, enum pm_event_type t, const char *reason)
{
	struct pm_event ev = {.type = t,
			      .protocol = c->proto,
			      .external_ip = c->ext_ip,
			      .external_port = c->ext_port,
			      .lifetime_s = c->lifetime_s,
			      .epoch_s = c->prev_server_s,
			      .reason = reason};
	if (c->io.event)
		c->io.event(c->io.ctx, &ev);
}

static void logf_(struct pm_client *c, const char *fmt, const char *a, unsigned b)
{
	char line[160];
	snprintf(line, sizeof(line), fmt, a, b);
	emit(c, PM_EV_LOG, line);
}

static void settle(struct pm_client *c)
{
	if (c->settled)
		return;
	c->settled = true;
	c->first = false;
	emit(c, PM_EV_SETTLED, NULL);
}

static uint32_t wait_ms(const struct pm_client *c)
{
	return c->cfg.wait_ms ? c->cfg.wait_ms : PM_WAIT_MS_DEFAULT;
}

static uint32_t lifetime_req(const struct pm_client *c)
{
	return c->cfg.lifetime_s ? c->cfg.lifetime_s : PM_LIFETIME_S_DEFAULT;
}

static void send_pcp(struct pm_client *c, uint32_t lifetime_s)
{
	struct pcp_map_request r;
	uint8_t buf[PCP_HDR_LEN + PCP_MAP_LEN];
	int n;

	memset(&r, 0, sizeof(r));
	r.lifetime_s = lifetime_s;
	pcp_ip4_mapped(r.client_ip, c->cfg.client_ip);
	memcpy(r.nonce, c->cfg.nonce, PCP_NONCE_LEN);
	r.protocol = IPPROTO_UDP_;
	r.internal_port = c->cfg.internal_port;
	/* §11.1: the port held before (a renewal, a re-map after a restart),
	 * else the internal port, a hint the server may ignore */
	r.suggested_port = c->ext_port ? c->ext_port : c->cfg.internal_port;
	pcp_ip4_mapped(r.suggested_ip, c->ext_port ? c->ext_ip : 0);
	n = pcp_map_request_encode(buf, sizeof(buf), &r);
	if (n > 0)
		c->io.send(c->io.ctx, buf, (size_t)n);
}

static void send_natpmp(struct pm_client *c, uint32_t lifetime_s, bool with_addr)
{
	uint8_t buf[NATPMP_MAP_REQ_LEN];
	int n;

	if (with_addr && !c->have_addr) {
		n = natpmp_addr_request_encode(buf, sizeof(buf));
		if (n > 0)
			c->io.send(c->io.ctx, buf, (size_t)n);
	}
	n = natpmp_map_request_encode(
	    buf, sizeof(buf), NATPMP_OP_MAP_UDP, c->cfg.internal_port,
	    lifetime_s ? (c->ext_port ? c->ext_port : c->cfg.internal_port) : 0, lifetime_s);
	if (n > 0)
		c->io.send(c->io.ctx, buf, (size_t)n);
}

/* The first retransmission timeout of a request in protocol @pcp. */
static uint32_t first_rt(const struct pm_client *c, bool pcp)
{
	uint32_t rt = pcp ? PCP_IRT_MS : NATPMP_IRT_MS;

	if (c->first && pcp) {
		uint32_t cap = c->cfg.mode == PM_MODE_AUTO ? wait_ms(c) / 4 : wait_ms(c) / 2;
		if (cap && cap < rt)
			rt = cap;
	}
	return rt;
}

static void begin_pcp(struct pm_client *c, uint64_t now)
{
	c->st = S_PCP;
	c->proto = "pcp";
	c->tries = 1;
	c->rt_ms = first_rt(c, true);
	c->next_tx_ms = now + c->rt_ms;
	c->switch_ms = PM_NEVER;
	send_pcp(c, lifetime_req(c));
	if (c->first && c->cfg.mode == PM_MODE_AUTO) {
		/* RFC 6887 §9 lets a client try NAT-PMP after PCP; asking both
		 * at once (the NAT-PMP address request maps nothing) keeps a
		 * NAT-PMP-only gateway from costing half the wait */
		uint8_t b[NATPMP_ADDR_REQ_LEN];
		if (natpmp_addr_request_encode(b, sizeof(b)) > 0)
			c->io.send(c->io.ctx, b, sizeof(b));
	}
}

static void begin_natpmp(struct pm_client *c, uint64_t now)
{
	c->st = S_NATPMP;
	c->proto = "natpmp";
	c->tries = 1;
	c->have_map = false;
	c->rt_ms = first_rt(c, false);
	c->next_tx_ms = now + c->rt_ms;
	send_natpmp(c, lifetime_req(c), true);
}

/* A request cycle for a mapping: the first one, a renewal, a re-map. */
static void begin(struct pm_client *c, uint64_t now)
{
	if (c->cfg.mode == PM_MODE_NATPMP ||
	    (c->cfg.mode == PM_MODE_AUTO && c->proto && strcmp(c->proto, "natpmp") == 0))
		begin_natpmp(c, now);
	else
		begin_pcp(c, now);
}

int pm_client_new(const struct pm_client_config *cfg, const struct pm_client_io *io,
		  struct pm_client **out)
{
	struct pm_client *c;

	*out = NULL;
	if (!cfg->internal_port || (unsigned)cfg->mode > PM_MODE_AUTO || !io->send)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cfg = *cfg;
	c->io = *io;
	*out = c;
	return 0;
}

void pm_client_free(struct pm_client *c)
{
	free(c);
}

bool pm_client_settled(const struct pm_client *c)
{
	return c->settled;
}

void pm_client_start(struct pm_client *c, uint64_t now_ms)
{
	if (c->st != S_IDLE)
		return;
	c->first = true;
	c->start_ms = now_ms;
	begin(c, now_ms);
}

/* RFC 6887 §8.5: "if the current PCP server Epoch time (curr_server_time)
 * is less than the previously received PCP server Epoch time
 * (prev_server_time) by more than one second, then the client MUST treat
 * the server as having lost state"; else with client_delta and
 * server_delta the elapsed times on both sides: "if client_delta+2 <
 * server_delta - server_delta/16 or server_delta+2 < client_delta -
 * client_delta/16, then the client MUST consider the server to have lost
 * state". RFC 6886 §3.6 asks the same of NAT-PMP clients. Returns true
 * when state was lost. */
static bool epoch_lost(struct pm_client *c, uint32_t server_s, uint64_t now)
{
	bool lost = false;

	if (c->have_epoch) {
		uint64_t client_delta = (now - c->prev_client_ms) / 1000;
		int64_t sd = (int64_t)server_s - (int64_t)c->prev_server_s;
		if (sd < -1) {
			lost = true;
		} else if (sd >= 0) {
			uint64_t server_delta = (uint64_t)sd;
			lost = client_delta + 2 < server_delta - server_delta / 16 ||
			       server_delta + 2 < client_delta - client_delta / 16;
		}
	}
	c->have_epoch = true;
	c->prev_server_s = server_s;
	c->prev_client_ms = now;
	return lost;
}

static void mapped(struct pm_client *c, uint32_t ip, uint16_t port, uint32_t lifetime_s,
		   uint64_t now)
{
	bool changed = c->st != S_MAPPED || ip != c->ext_ip || port != c->ext_port;

	c->st = S_MAPPED;
	c->ext_ip = ip;
	c->ext_port = port;
	c->lifetime_s = lifetime_s;
	c->expire_ms = now + (uint64_t)lifetime_s * 1000;
	c->refresh_ms = now + (uint64_t)lifetime_s * 500;
	c->have_map = false;
	if (changed)
		emit(c, PM_EV_MAPPED, NULL);
	settle(c);
}

/* The server lost our mapping (epoch) or it ran out: tell, map again. */
static void lost(struct pm_client *c, const char *why, uint64_t now)
{
	c->st = S_IDLE;
	emit(c, PM_EV_LOST, why);
	begin(c, now);
}

static void on_pcp(struct pm_client *c, const struct pcp_response *r, uint64_t now)
{
	uint32_t ip;

	if (r->opcode != PCP_OP_MAP)
		return;
	/* §11.3: the response must match the request's nonce, protocol and
	 * internal port */
	if (memcmp(r->nonce, c->cfg.nonce, PCP_NONCE_LEN) != 0 || r->protocol != IPPROTO_UDP_ ||
	    r->internal_port != c->cfg.internal_port)
		return;
	if (r->result != PCP_SUCCESS) {
		logf_(c, "PCP MAP refused: %s (%u)", pcp_result_name(r->result), r->result);
		if (c->cfg.mode == PM_MODE_AUTO && c->first) {
			begin_natpmp(c, now);
			return;
		}
		/* §7.4: errors hold for their lifetime; the first attempt is
		 * over, a later one waits for the next refresh time */
		if (c->st == S_PCP && !c->ext_port) {
			c->st = S_GAVE_UP;
			settle(c);
		}
		return;
	}
	if (epoch_lost(c, r->epoch_s, now) && c->st == S_MAPPED) {
		lost(c, "PCP server epoch: the server lost its mappings (RFC 6887 §8.5)", now);
		return;
	}
	if (pcp_ip4_of(r->external_ip, &ip) < 0)
		return; /* an IPv6 external address for an IPv4 host: not ours */
	mapped(c, ip, r->external_port, r->lifetime_s, now);
}

static void on_natpmp(struct pm_client *c, const struct natpmp_response *r, uint64_t now)
{
	if (r->result != NATPMP_SUCCESS) {
		if (r->result == NATPMP_UNSUPP_VERSION && c->st == S_PCP) {
			/* RFC 6887 §9: a NAT-PMP-only server; fall back */
			if (c->cfg.mode == PM_MODE_AUTO)
				begin_natpmp(c, now);
			return;
		}
		logf_(c, "NAT-PMP refused: %s (%u)", natpmp_result_name(r->result), r->result);
		if (c->st == S_NATPMP && !c->ext_port) {
			c->st = S_GAVE_UP;
			settle(c);
		}
		return;
	}
	if (c->st == S_PCP && c->first && r->opcode == NATPMP_OP_ADDR) {
		/* auto's probe: NAT-PMP is there; PCP gets a short grace */
		c->have_addr = true;
		c->ext_ip = r->external_ip;
		if (c->switch_ms == PM_NEVER)
			c->switch_ms = now + PM_AUTO_GRACE_MS;
		return;
	}
	if (c->st != S_NATPMP && c->st != S_MAPPED)
		return;
	if (epoch_lost(c, r->epoch_s, now) && c->st == S_MAPPED) {
		c->have_addr = false;
		lost(c, "NAT-PMP epoch: the gateway lost its mappings (RFC 6886 §3.6)", now);
		return;
	}
	if (r->opcode == NATPMP_OP_ADDR) {
		c->have_addr = true;
		c->ext_ip = r->external_ip;
	} else if (r->opcode == NATPMP_OP_MAP_UDP && r->internal_port == c->cfg.internal_port) {
		c->have_map = true;
		c->map_lifetime_s = r->lifetime_s;
		c->map_port = r->external_port;
		if (c->st == S_MAPPED) /* a renewal's answer */
			mapped(c, c->ext_ip, c->map_port, c->map_lifetime_s, now);
	}
	if (c->st == S_NATPMP && c->have_addr && c->have_map)
		mapped(c, c->ext_ip, c->map_port, c->map_lifetime_s, now);
}

void pm_client_input(struct pm_client *c, const uint8_t *buf, size_t len, uint64_t now_ms)
{
	struct pcp_response pr;
	struct natpmp_response nr;

	if (c->st == S_STOPPED || c->st == S_IDLE)
		return;
	if (len >= 1 && buf[0] == NATPMP_VERSION) {
		if (natpmp_response_decode(buf, len, &nr) == 0)
			on_natpmp(c, &nr, now_ms);
		return;
	}
	if (pcp_response_decode(buf, len, &pr) == 0)
		on_pcp(c, &pr, now_ms);
}

/* The first attempt's bound: auto moves to NAT-PMP at half of it, and
 * every mode gives up at its end. True when the attempt moved on. */
static bool first_deadlines(struct pm_client *c, uint64_t now)
{
	bool pcp = c->st == S_PCP;

	if (!c->first)
		return false;
	if (pcp && c->cfg.mode == PM_MODE_AUTO && now >= c->switch_ms) {
		logf_(c, "NAT-PMP answered, PCP did not in %s%u ms: using NAT-PMP", "",
		      PM_AUTO_GRACE_MS);
		begin_natpmp(c, now);
		return true;
	}
	if (pcp && c->cfg.mode == PM_MODE_AUTO && now >= c->start_ms + wait_ms(c) / 2) {
		logf_(c, "no PCP answer in %s%u ms: trying NAT-PMP", "", wait_ms(c) / 2);
		begin_natpmp(c, now);
		return true;
	}
	if (now >= c->start_ms + wait_ms(c)) {
		logf_(c, "no %s answer in %u ms: no mapped candidate", pcp ? "PCP" : "NAT-PMP",
		      wait_ms(c));
		c->st = S_GAVE_UP;
		settle(c);
		return true;
	}
	return false;
}

static void retransmit(struct pm_client *c, uint64_t now)
{
	bool pcp = c->st == S_PCP;
	uint32_t mrt = pcp ? PCP_MRT_MS : 64000u;

	if (!pcp && !c->first && c->tries >= NATPMP_TRIES) {
		/* RFC 6886 §3.1: after 9 attempts, give up until the next
		 * refresh or expiry */
		c->st = c->ext_port ? S_MAPPED : S_GAVE_UP;
		return;
	}
	c->tries++;
	c->rt_ms = c->rt_ms * 2 > mrt ? mrt : c->rt_ms * 2;
	c->next_tx_ms = now + c->rt_ms;
	if (pcp)
		send_pcp(c, lifetime_req(c));
	else
		send_natpmp(c, lifetime_req(c), true);
}

uint64_t pm_client_tick(struct pm_client *c, uint64_t now_ms)
{
	uint64_t next = PM_NEVER;

	switch (c->st) {
	case S_PCP:
	case S_NATPMP:
		if (!first_deadlines(c, now_ms) && now_ms >= c->next_tx_ms)
			retransmit(c, now_ms);
		if (c->st == S_PCP || c->st == S_NATPMP) {
			uint64_t end = c->start_ms + wait_ms(c);
			next = c->next_tx_ms;
			if (c->first && c->st == S_PCP && c->cfg.mode == PM_MODE_AUTO) {
				end = c->start_ms + wait_ms(c) / 2;
				if (c->switch_ms < end)
					end = c->switch_ms;
			}
			if (c->first && end < next)
				next = end;
		}
		break;
	case S_MAPPED:
		if (now_ms >= c->expire_ms) {
			lost(c, "the mapping's lifetime ran out unrenewed", now_ms);
			return pm_client_tick(c, now_ms);
		}
		if (now_ms >= c->refresh_ms) {
			/* renew: the same request, its answer checked as any
			 * other (epoch included); the mapping holds meanwhile */
			/* unanswered, try again halfway to expiry (3/4,
			 * 7/8, ...), not closer than a second to it */
			c->refresh_ms = now_ms + (c->expire_ms - now_ms) / 2;
			if (c->expire_ms - c->refresh_ms < 1000)
				c->refresh_ms = c->expire_ms;
			if (strcmp(c->proto, "natpmp") == 0)
				send_natpmp(c, lifetime_req(c), true);
			else
				send_pcp(c, lifetime_req(c));
			c->have_addr = false;
		}
		next = c->refresh_ms < c->expire_ms ? c->refresh_ms : c->expire_ms;
		break;
	default:
		break;
	}
	return next;
}

void pm_client_stop(struct pm_client *c, uint64_t now_ms)
{
	(void)now_ms;
	if (c->st == S_MAPPED || c->st == S_PCP || c->st == S_NATPMP) {
		if (c->proto && strcmp(c->proto, "natpmp") == 0)
			send_natpmp(c, 0, false);
		else
			send_pcp(c, 0);
	}
	c->st = S_STOPPED;
}

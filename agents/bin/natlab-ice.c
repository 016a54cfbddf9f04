/* natlab-ice - the lab's ICE agent (RFC 8445), driven by the agent protocol
 * (docs/agent-protocol.md): JSON commands on stdin, JSON events on stdout,
 * log text on stderr.
 *
 * This file is the I/O shell around the pure state machine in
 * agents/ice/ice.c: it owns the sockets and the clock, binds to the
 * interfaces' addresses (listed by agents/ice/hostaddr.c), and runs the
 * data plane (agents/ice/plane.c: numbered messages as raw datagrams on
 * the selected pair, or over a WebRTC data channel on it with --dataplane
 * datachannel). Its command line is parsed by agents/ice/ice_opts.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "agents/portmap/pmice.h"
#include "agents/ice/agentproto.h"
#include "agents/ice/hostaddr.h"
#include "agents/ice/ice.h"
#include "agents/ice/ice_opts.h"
#include "agents/ice/plane.h"
#include "agents/ice/relay.h"
#include "agents/ice/tcpsock.h"

#define IMPL		"natlab-ice"
#define VERSION		"0.1.0"
#define SOCKS_MAX	32
#define LOCAL_CANDS_MAX 64
#define RELAYS_MAX	(ICE_OPTS_TURN_MAX * 8 * 2) /* servers x components x families */
/* base ids at and above this one are relays (the rest index socks[]) */
#define RELAY_BASE 1000
/* ... and from this one on, TCP bases and connections (tcpsock.h) */
#define TCP_BASE 2000

struct sock {
	int fd; /* -1: closed (its address went away); the slot is reused last */
	unsigned component;
	union ice_addr addr;
};

struct app {
	struct ice_agent *agent;
	struct ice_opts opts; /* the command line; opts.cfg is the agent's */
	struct agentproto_out out;
	struct plane *plane; /* the data plane (docs/agent-protocol.md) */
	struct sock socks[SOCKS_MAX];
	unsigned nsocks;
	struct ice_tcpsock *tcps; /* --tcp: ICE-TCP host candidates (RFC 6544) */
	bool gathered_once;
	bool announced; /* "local" sent for the current credentials */
	struct ice_candidate cands[LOCAL_CANDS_MAX];
	struct agentproto_check checks[ICE_CHECKLIST_MAX]; /* for the "checks" event */
	unsigned ncands;
	bool stop;
	uint64_t t0_us;
	/* TURN: one relay per --turn server and component */
	struct ice_relay *relays[RELAYS_MAX];
	unsigned components_of[RELAYS_MAX];
	/* settled: allocated or failed (counted out of relays_pending);
	 * retired: from before a restart, no longer a base, kept until the
	 * new selection so the old pair keeps carrying data (RFC 8445 §9) */
	bool settled[RELAYS_MAX], retired[RELAYS_MAX];
	bool free_retired;
	unsigned nrelays, relays_pending;
	/* when gathering stops waiting for relays still allocating */
	uint64_t relay_deadline_ms;
	/* --portmap: mappings of the host candidates' ports (pmice.h); it
	 * holds gathering like one more relay (relays_pending) */
	struct pmice *pm;
	bool pm_holding;
	/* stdin line assembly */
	char *line;
	size_t line_len;
	bool line_overflow;
};

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t now_us(const struct app *app)
{
	return mono_us() - app->t0_us;
}

static uint64_t now_ms(const struct app *app)
{
	return now_us(app) / 1000u;
}

/* ---- the agent's I/O interface ------------------------------------------- */

static void io_send(void *ctx, int base_id, const union ice_addr *to, const uint8_t *buf,
		    size_t len)
{
	struct app *app = ctx;
	if (app->tcps && ice_tcpsock_owns(app->tcps, base_id)) {
		/* a full queue drops the message, as a lost datagram would be */
		(void)ice_tcpsock_send(app->tcps, base_id, buf, len);
		return;
	}
	if (base_id >= RELAY_BASE) {
		unsigned k = (unsigned)(base_id - RELAY_BASE);
		if (k < app->nrelays && app->relays[k])
			ice_relay_send(app->relays[k], to, buf, len, now_ms(app));
		return;
	}
	if (base_id < 0 || (unsigned)base_id >= app->nsocks || app->socks[base_id].fd < 0)
		return;
	/* Datagrams are allowed to be lost; the agent retransmits. */
	(void)sendto(app->socks[base_id].fd, buf, len, 0, &to->sa, ice_addr_len(to));
}

static void endpoint_of(struct agentproto_endpoint *e, const struct ice_candidate *c)
{
	memset(e, 0, sizeof(*e));
	e->type = c->type;
	e->transport = c->transport;
	e->addr = c->addr;
	e->tcptype = c->tcptype;
}

/* ---- ICE-TCP: the agent asks, tcpsock.c does, the agent hears back ------- */

static int io_tcp_connect(void *ctx, int base_id, const union ice_addr *to)
{
	struct app *app = ctx;
	return ice_tcpsock_connect(app->tcps, base_id, to);
}

static void io_tcp_close(void *ctx, int conn)
{
	struct app *app = ctx;
	ice_tcpsock_close(app->tcps, conn);
}

static void tcp_accepted(void *ctx, int base_id, int conn, const union ice_addr *peer)
{
	struct app *app = ctx;
	ice_agent_tcp_accepted(app->agent, base_id, conn, peer, now_ms(app));
}

static void tcp_connected(void *ctx, int conn)
{
	struct app *app = ctx;
	ice_agent_tcp_connected(app->agent, conn, now_ms(app));
}

static void tcp_closed(void *ctx, int conn)
{
	struct app *app = ctx;
	ice_agent_tcp_closed(app->agent, conn, now_ms(app));
}

static void tcp_message(void *ctx, int conn, const union ice_addr *peer, const uint8_t *buf,
			size_t len)
{
	struct app *app = ctx;
	ice_agent_recv(app->agent, conn, peer, buf, len, now_ms(app));
}

/* RFC 6544 §4.1: for each host address, a passive candidate (a listening
 * socket) and an active one (the address connections leave from). */
static void sync_tcp_hosts(struct app *app)
{
	union ice_addr ips[SOCKS_MAX];
	char ip[INET6_ADDRSTRLEN];
	unsigned n = 0;

	for (unsigned i = 0; i < app->nsocks; i++)
		if (app->socks[i].fd >= 0)
			ips[n++] = app->socks[i].addr;
	ice_tcpsock_retain(app->tcps, ips, n);
	for (unsigned i = 0; i < app->nsocks; i++) {
		const struct sock *s = &app->socks[i];
		union ice_addr bound;
		int id;
		if (s->fd < 0)
			continue;
		id = ice_tcpsock_listen(app->tcps, s->component, &s->addr, &bound);
		if (id >= 0)
			id = ice_agent_add_tcp_host(app->agent, s->component, ICE_TCP_PASSIVE,
						    &bound, id, now_ms(app));
		if (id >= 0) {
			id = ice_tcpsock_active(app->tcps, s->component, &s->addr);
			if (id >= 0)
				id =
				    ice_agent_add_tcp_host(app->agent, s->component, ICE_TCP_ACTIVE,
							   &s->addr, id, now_ms(app));
		}
		if (id < 0)
			agentproto_ev_log(&app->out, now_ms(app), "warning",
					  "no TCP candidates on %s: %s",
					  ice_addr_ip(&s->addr, ip, sizeof(ip)), strerror(-id));
	}
}

static void local_endpoint(struct app *app, struct agentproto_endpoint *e,
			   const struct ice_local *l)
{
	endpoint_of(e, &l->c);
	if (l->base_id >= RELAY_BASE && (unsigned)(l->base_id - RELAY_BASE) < app->nrelays &&
	    app->relays[l->base_id - RELAY_BASE])
		e->relay_transport = ice_relay_transport_name(app->relays[l->base_id - RELAY_BASE]);
}

/* The check list as the harness records it (docs/agent-protocol.md,
 * "checks"): written before "selected", "switched" and "failed". */
static void emit_checks(struct app *app, uint64_t t)
{
	struct ice_pair_info pi;
	size_t n = 0;

	for (unsigned i = 0; n < ICE_CHECKLIST_MAX && ice_agent_pair_info(app->agent, i, &pi);
	     i++) {
		struct agentproto_check *c = &app->checks[n++];
		c->component = pi.component;
		local_endpoint(app, &c->local, pi.local);
		endpoint_of(&c->remote, pi.remote);
		c->state = ice_pair_state_name(pi.state);
		c->priority = pi.priority;
		c->valid = pi.valid;
		c->nominated = pi.nominated;
		c->checks = pi.checks;
		c->rtt_ms = pi.valid ? (int64_t)pi.rtt_ms : -1;
	}
	agentproto_ev_checks(&app->out, t, app->checks, n);
}

static void announce_local(struct app *app, bool complete)
{
	struct agentproto_session sess;
	/* the datachannel plane's DTLS fingerprint, setup and SCTP port */
	plane_session(app->plane, &sess);
	agentproto_ev_local_session(&app->out, now_ms(app), ice_agent_ufrag(app->agent),
				    ice_agent_pwd(app->agent), app->cands, app->ncands, complete,
				    &sess);
	app->announced = true;
}

/* ---- the data plane's I/O (agents/ice/plane.h) ---------------------------- */

static void plane_io_send(void *ctx, const uint8_t *buf, size_t len)
{
	struct app *app = ctx;
	ice_agent_send(app->agent, 1, buf, len, now_ms(app));
}

static uint64_t plane_io_now_us(void *ctx)
{
	return now_us(ctx);
}

static void io_event(void *ctx, const struct ice_event *ev)
{
	struct app *app = ctx;
	struct agentproto_endpoint l, r;
	uint64_t t = now_ms(app);

	switch (ev->type) {
	case ICE_EV_CANDIDATE:
		if (app->ncands < LOCAL_CANDS_MAX)
			app->cands[app->ncands++] = *ev->cand;
		if (app->opts.cfg.trickle && app->announced)
			agentproto_ev_candidate(&app->out, t, ev->cand);
		break;
	case ICE_EV_GATHERING_DONE:
		if (!app->opts.cfg.trickle) {
			announce_local(app, true);
		} else {
			if (!app->announced)
				announce_local(app, true);
			agentproto_ev_end_of_candidates(&app->out, t);
		}
		break;
	case ICE_EV_STATE:
		agentproto_ev_state(&app->out, t, ice_state_name(ev->state));
		break;
	case ICE_EV_SELECTED:
	case ICE_EV_SWITCHED:
		/* the relays of the previous generation may go now, but not
		 * from here: this may run inside one of their callbacks */
		app->free_retired = true;
		local_endpoint(app, &l, ev->local);
		endpoint_of(&r, ev->remote);
		emit_checks(app, t);
		agentproto_ev_pair(&app->out, t,
				   ev->type == ICE_EV_SELECTED ? "selected" : "switched",
				   ev->component, &l, &r, ev->rtt_ms);
		if (ev->component == 1)
			plane_selected(app->plane, ice_agent_controlling(app->agent));
		break;
	case ICE_EV_CONSENT_LOST:
		local_endpoint(app, &l, ev->local);
		endpoint_of(&r, ev->remote);
		agentproto_ev_consent_lost(&app->out, t, ev->component, &l, &r);
		break;
	case ICE_EV_FAILED:
		emit_checks(app, t);
		agentproto_ev_failed(&app->out, t, ev->reason);
		break;
	case ICE_EV_DATA:
		plane_recv(app->plane, ev->component, ev->data, ev->len);
		break;
	case ICE_EV_LOG:
		if (app->opts.verbose)
			fprintf(stderr, "natlab-ice: %llu ms: %s\n", (unsigned long long)t,
				ev->reason);
		break;
	case ICE_EV_RESTARTED:
		app->ncands = 0;
		app->announced = false;
		break;
	}
}

/* ---- gathering ------------------------------------------------------------ */

static int open_sock(struct app *app, const union ice_addr *ip, unsigned component)
{
	union ice_addr a = *ip;
	socklen_t len = ice_addr_len(&a);
	struct sock *s;
	int fd;

	unsigned slot = app->nsocks;

	/* new sockets get new base ids while there is room, so a base id the
	 * old selected pair still uses is not taken over by another address */
	if (slot == SOCKS_MAX) {
		for (slot = 0; slot < SOCKS_MAX && app->socks[slot].fd >= 0; slot++)
			;
		if (slot == SOCKS_MAX)
			return -ENOSPC;
	}
	fd = socket(a.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (a.sa.sa_family == AF_INET6) {
		int on = 1;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	}
	ice_addr_set_port(&a, 0);
	if (bind(fd, &a.sa, len) < 0 || getsockname(fd, &a.sa, &len) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	s = &app->socks[slot];
	s->fd = fd;
	s->component = component;
	s->addr = a;
	if (slot == app->nsocks)
		app->nsocks++;
	return (int)slot;
}

/* Bring the host sockets in line with the addresses the host has now:
 * close those bound to addresses that went away (a roaming host), keep
 * the others (same base ids), open sockets on new addresses; then make
 * every live socket a base of the agent. Used by the first gathering and
 * by every ICE restart (RFC 8445 §9: "the agent MUST gather new
 * candidates"). */
static void sync_hosts(struct app *app)
{
	union ice_addr addrs[SOCKS_MAX];
	char ip[INET6_ADDRSTRLEN];
	int n = ice_hostaddr_list(app->opts.ifaces, app->opts.nifaces, addrs, SOCKS_MAX);
	unsigned live = 0;

	if (n < 0) {
		agentproto_ev_log(&app->out, now_ms(app), "error", "getifaddrs: %s", strerror(-n));
		n = 0;
	}
	for (unsigned i = 0; i < app->nsocks; i++) {
		bool present = false;
		if (app->socks[i].fd < 0)
			continue;
		for (int k = 0; k < n && !present; k++)
			present = ice_addr_same_ip(&addrs[k], &app->socks[i].addr);
		if (present)
			continue;
		agentproto_ev_log(&app->out, now_ms(app), "info",
				  "address %s is gone: closing its socket",
				  ice_addr_ip(&app->socks[i].addr, ip, sizeof(ip)));
		close(app->socks[i].fd);
		app->socks[i].fd = -1;
	}
	for (int k = 0; k < n; k++) {
		for (unsigned c = 1; c <= app->opts.cfg.components; c++) {
			bool have = false;
			int id;
			for (unsigned i = 0; i < app->nsocks && !have; i++)
				have = app->socks[i].fd >= 0 && app->socks[i].component == c &&
				       ice_addr_same_ip(&addrs[k], &app->socks[i].addr);
			if (have)
				continue;
			id = open_sock(app, &addrs[k], c);
			if (id < 0)
				agentproto_ev_log(
				    &app->out, now_ms(app), "warning", "cannot bind %s: %s",
				    ice_addr_ip(&addrs[k], ip, sizeof(ip)), strerror(-id));
		}
	}
	for (unsigned i = 0; i < app->nsocks; i++) {
		if (app->socks[i].fd < 0)
			continue;
		ice_agent_add_host(app->agent, app->socks[i].component, ICE_TRANSPORT_UDP,
				   &app->socks[i].addr, (int)i, now_ms(app));
		live++;
	}
	if (live == 0)
		agentproto_ev_log(&app->out, now_ms(app), "warning", "no usable local address");
	if (app->tcps)
		sync_tcp_hosts(app);
}

static int relay_index(struct app *app, struct ice_relay *r)
{
	for (unsigned k = 0; k < app->nrelays; k++)
		if (app->relays[k] == r)
			return (int)k;
	return -1;
}

static void relay_settled(struct app *app, int k)
{
	if (app->settled[k])
		return;
	app->settled[k] = true;
	if (app->relays_pending > 0 && --app->relays_pending == 0)
		ice_agent_gather_done(app->agent, now_ms(app));
}

/* The relay deadline passed: gathering completes with what it has. */
static void relay_deadline(struct app *app)
{
	if (app->relays_pending == 0 || now_ms(app) < app->relay_deadline_ms)
		return;
	for (unsigned k = 0; k < app->nrelays; k++) {
		char ip[INET6_ADDRSTRLEN];
		if (!app->relays[k] || app->settled[k] || app->retired[k])
			continue;
		agentproto_ev_log(&app->out, now_ms(app), "warning",
				  "TURN %s:%s:%u still allocating: gathering completes without it",
				  ice_relay_transport_name(app->relays[k]),
				  ice_addr_ip(ice_relay_server(app->relays[k]), ip, sizeof(ip)),
				  ice_addr_port(ice_relay_server(app->relays[k])));
		app->settled[k] = true;
	}
	app->relays_pending = 0;
	ice_agent_gather_done(app->agent, now_ms(app));
}

static void relay_allocated(void *ctx, struct ice_relay *r, const union ice_addr *relayed,
			    const union ice_addr *mapped)
{
	struct app *app = ctx;
	int k = relay_index(app, r);
	if (k < 0 || app->retired[k])
		return;
	const char *tr = ice_relay_transport_name(r);
	enum ice_relay_via via = strcmp(tr, "udp") == 0	  ? ICE_RELAY_VIA_UDP
				 : strcmp(tr, "tcp") == 0 ? ICE_RELAY_VIA_TCP
							  : ICE_RELAY_VIA_TLS;
	ice_agent_add_relay(app->agent, app->components_of[k], relayed, ice_relay_server(r), mapped,
			    via, RELAY_BASE + k, now_ms(app));
	relay_settled(app, k);
}

static void relay_failed(void *ctx, struct ice_relay *r, int code)
{
	struct app *app = ctx;
	char ip[INET6_ADDRSTRLEN];
	int k = relay_index(app, r);
	if (k < 0 || app->retired[k])
		return;
	agentproto_ev_log(&app->out, now_ms(app), "warning", "TURN %s:%s:%u failed: %s%d",
			  ice_relay_transport_name(r),
			  ice_addr_ip(ice_relay_server(r), ip, sizeof(ip)),
			  ice_addr_port(ice_relay_server(r)), code < 0 ? "errno " : "error ",
			  code < 0 ? -code : code);
	/* the relay stays in the table (its candidate, if any, keeps its
	 * base id) but no longer takes part */
	relay_settled(app, k);
}

static void relay_data(void *ctx, struct ice_relay *r, const union ice_addr *peer,
		       const uint8_t *buf, size_t len)
{
	struct app *app = ctx;
	int k = relay_index(app, r);
	if (k >= 0)
		ice_agent_recv(app->agent, RELAY_BASE + k, peer, buf, len, now_ms(app));
}

/* A free relay slot: a new one while there is room (a retired relay's
 * base id stays its own until it is freed), else one freed before. */
static int relay_slot(struct app *app)
{
	if (app->nrelays < RELAYS_MAX)
		return (int)app->nrelays++;
	for (unsigned k = 0; k < RELAYS_MAX; k++)
		if (!app->relays[k])
			return (int)k;
	return -1;
}

/* Gathering waits for relay allocations at most as long as it waits for
 * STUN servers (gather_timeout_ms). Where UDP is blocked, an Allocate over
 * UDP is answered by nothing and would hold the end of gathering for the
 * whole RFC 8489 transaction timeout (39.5 s) while the TCP/TLS relays are
 * long ready. A relay that completes later is still added (and trickled
 * when trickling); it just no longer delays the "local" event. */
static void open_relays(struct app *app)
{
	struct ice_relay_cb cb = {app, relay_allocated, relay_failed, relay_data};
	uint32_t wait_ms = app->opts.cfg.gather_timeout_ms ? app->opts.cfg.gather_timeout_ms : 3000;

	app->relay_deadline_ms = now_ms(app) + wait_ms;
	for (unsigned s = 0; s < app->opts.nturn * (app->opts.turn_dual ? 2 : 1); s++) {
		/* with --turn-dual the second round asks each server for a
		 * relay of the family it is not reached over */
		struct ice_relay_config rc = app->opts.turn[s % app->opts.nturn];
		if (s >= app->opts.nturn)
			rc.family = rc.server.sa.sa_family == AF_INET6 ? AF_INET : AF_INET6;
		for (unsigned c = 1; c <= app->opts.cfg.components; c++) {
			char err[256];
			struct ice_relay *r = NULL;
			int k = relay_slot(app);
			if (k < 0)
				break;
			/* register before creating: callbacks may come at once */
			app->components_of[k] = c;
			app->relays[k] = NULL;
			app->settled[k] = false;
			app->retired[k] = false;
			app->relays_pending++;
			if (ice_relay_new(&rc, &cb, now_ms(app), &r, err, sizeof(err)) < 0) {
				agentproto_ev_log(&app->out, now_ms(app), "warning",
						  "TURN server %u: %s", s % app->opts.nturn + 1,
						  err);
				if ((unsigned)k == app->nrelays - 1)
					app->nrelays--;
				app->relays_pending--;
				continue;
			}
			app->relays[k] = r;
		}
	}
}

static void free_retired_relays(struct app *app)
{
	for (unsigned k = 0; k < app->nrelays; k++) {
		if (!app->retired[k])
			continue;
		ice_relay_free(app->relays[k]);
		app->relays[k] = NULL;
		app->retired[k] = false;
	}
	app->free_retired = false;
}

/* ---- --portmap (agents/portmap/pmice.h) ----------------------------------- */

static void pm_mapped(void *ctx, int base_id, const union ice_addr *mapped, const char *protocol,
		      uint32_t lifetime_s)
{
	struct app *app = ctx;
	(void)protocol;
	(void)lifetime_s;
	(void)ice_agent_add_mapped(app->agent, base_id, mapped, now_ms(app));
}

static void pm_settled(void *ctx)
{
	struct app *app = ctx;
	if (!app->pm_holding)
		return;
	app->pm_holding = false;
	if (app->relays_pending > 0 && --app->relays_pending == 0)
		ice_agent_gather_done(app->agent, now_ms(app));
}

static void pm_log(void *ctx, const char *level, const char *msg)
{
	struct app *app = ctx;
	agentproto_ev_log(&app->out, now_ms(app), level, "%s", msg);
}

/* Asks for a mapping of every IPv4 host socket's port; gathering waits
 * for the first answers (at most --portmap-wait-ms) as for a relay. */
static void pm_start(struct app *app)
{
	if (!app->pm)
		return;
	for (unsigned i = 0; i < app->nsocks; i++)
		if (app->socks[i].fd >= 0)
			(void)pmice_add(app->pm, (int)i, &app->socks[i].addr, now_ms(app));
	if (pmice_pending(app->pm) && !app->pm_holding) {
		app->pm_holding = true;
		app->relays_pending++;
	}
	pmice_remapped(app->pm);
}

/* io->regather: an ICE restart (ours or the peer's) forgot every base.
 * Hosts: the addresses the host has now. Relays: new allocations, from
 * the current address (a TURN allocation is bound to the client's
 * 5-tuple, RFC 8656 §2.2, which a roam or a NAT reboot changes); the old
 * ones are retired, not freed, so the old pair keeps carrying data until
 * the new selection (RFC 8445 §9). */
static bool regather(void *ctx, uint64_t now)
{
	struct app *app = ctx;
	(void)now;
	if (app->free_retired)
		free_retired_relays(app);
	for (unsigned k = 0; k < app->nrelays; k++) {
		if (!app->relays[k])
			continue;
		if (app->retired[k]) {
			/* a second restart before any selection: the
			 * oldest generation can go */
			ice_relay_free(app->relays[k]);
			app->relays[k] = NULL;
			app->retired[k] = false;
			continue;
		}
		app->retired[k] = true;
	}
	app->relays_pending = 0;
	/* a peer's restart before our first "gather" gathers for it */
	app->gathered_once = true;
	if (app->opts.cfg.policy != ICE_POLICY_RELAY)
		sync_hosts(app);
	open_relays(app);
	app->pm_holding = false;
	pm_start(app);
	return app->relays_pending > 0;
}

static void do_gather(struct app *app)
{
	if (!app->gathered_once) {
		if (app->opts.cfg.policy != ICE_POLICY_RELAY)
			sync_hosts(app);
		app->gathered_once = true;
		open_relays(app);
		pm_start(app);
		ice_agent_gather(app->agent, app->relays_pending > 0, now_ms(app));
	} else {
		/* gathering again without a restart: announce what we have */
		announce_local(app, true);
		return;
	}
	if (app->opts.cfg.trickle && !app->announced)
		announce_local(app, false);
}

/* ---- commands ------------------------------------------------------------- */

static void do_remote_cands(struct app *app, const struct agentproto_cmd *cmd)
{
	if (cmd->nskipped)
		agentproto_ev_log(&app->out, now_ms(app), "warning",
				  "%u remote candidate(s) ignored, first: %s", cmd->nskipped,
				  cmd->skipped);
	for (unsigned i = 0; i < cmd->ncands; i++) {
		int r;
		/* permissions first, so the first relayed check is not dropped
		 * by the TURN server (RFC 8656 §9) */
		for (unsigned k = 0; k < app->nrelays; k++)
			if (app->relays[k] && !app->retired[k])
				ice_relay_prepare(app->relays[k], &cmd->cands[i].addr, now_ms(app));
		r = ice_agent_add_remote(app->agent, &cmd->cands[i], now_ms(app));
		if (r < 0 && r != -EEXIST)
			agentproto_ev_log(&app->out, now_ms(app), "warning",
					  "remote candidate %u not used: %s", i, strerror(-r));
	}
}

static void do_command(struct app *app, const char *line, size_t len)
{
	struct agentproto_cmd *cmd = malloc(sizeof(*cmd));
	char err[AGENTPROTO_ERR_MAX];
	int r;

	if (!cmd) {
		agentproto_ev_error(&app->out, now_ms(app), "out of memory");
		return;
	}
	if (agentproto_cmd_parse(line, len, cmd, err, sizeof(err)) < 0) {
		agentproto_ev_error(&app->out, now_ms(app), "%s", err);
		goto out;
	}
	switch (cmd->type) {
	case AGENTPROTO_GATHER:
		/* the plane the harness chose from both ready events: set up
		 * before the first local, which carries its session */
		if (cmd->dataplane != AGENTPROTO_DATAPLANE_UNSET && !app->gathered_once)
			plane_use(app->plane,
				  cmd->dataplane == AGENTPROTO_DATAPLANE_DATACHANNEL
				      ? ICE_DATAPLANE_DATACHANNEL
				      : ICE_DATAPLANE_DATAGRAM,
				  app->opts.cfg.controlling);
		do_gather(app);
		break;
	case AGENTPROTO_REMOTE:
		r = ice_agent_set_remote(app->agent, cmd->ufrag, cmd->pwd, now_ms(app));
		if (r < 0) {
			agentproto_ev_error(&app->out, now_ms(app),
					    "remote: ufrag/pwd outside RFC 8839 limits");
			break;
		}
		plane_remote(app->plane, &cmd->session);
		/* a peer restart restarted us: announce the new credentials */
		if (app->opts.cfg.trickle && !app->announced && app->gathered_once)
			announce_local(app, false);
		do_remote_cands(app, cmd);
		if (!app->opts.cfg.trickle)
			ice_agent_remote_done(app->agent, now_ms(app));
		break;
	case AGENTPROTO_CANDIDATE:
		do_remote_cands(app, cmd);
		break;
	case AGENTPROTO_END_OF_CANDIDATES:
		ice_agent_remote_done(app->agent, now_ms(app));
		break;
	case AGENTPROTO_SEND:
		if (!ice_agent_selected(app->agent, 1, NULL, NULL)) {
			agentproto_ev_error(&app->out, now_ms(app), "send: no selected pair yet");
			break;
		}
		plane_send_cmd(app->plane, cmd);
		break;
	case AGENTPROTO_RESTART:
		ice_agent_restart(app->agent, false, now_ms(app));
		if (app->opts.cfg.trickle && !app->announced)
			announce_local(app, false);
		break;
	case AGENTPROTO_STOP:
		app->stop = true;
		break;
	}
out:
	free(cmd);
}

static void read_stdin(struct app *app)
{
	char buf[8192];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n == 0) {
		/* the harness went away: nothing left to do */
		app->stop = true;
		return;
	}
	if (n < 0)
		return;
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			if (app->line_overflow)
				agentproto_ev_error(&app->out, now_ms(app),
						    "command line longer than %d bytes",
						    AGENTPROTO_LINE_MAX);
			else if (app->line_len > 0)
				do_command(app, app->line, app->line_len);
			app->line_len = 0;
			app->line_overflow = false;
			if (app->stop)
				return;
			continue;
		}
		if (app->line_len >= AGENTPROTO_LINE_MAX) {
			app->line_overflow = true;
			continue;
		}
		app->line[app->line_len++] = buf[i];
	}
}

static void read_sock(struct app *app, unsigned id)
{
	uint8_t buf[2048];
	for (int k = 0; k < 64; k++) {
		union ice_addr from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(app->socks[id].fd, buf, sizeof(buf), 0, &from.sa, &fl);
		if (n < 0)
			return;
		ice_agent_recv(app->agent, (int)id, &from, buf, (size_t)n, now_ms(app));
	}
}

/* ---- main loop ------------------------------------------------------------ */

int main(int argc, char **argv)
{
	struct app app;
	struct ice_io io;
	char err[ICE_OPTS_ERR_MAX];
	int rc = 1;

	memset(&app, 0, sizeof(app));
	app.t0_us = mono_us();
	app.out.f = stdout;
	/* A TURN server that closes our TCP/TLS connection must cost that
	 * relay, not the agent: OpenSSL writes with write(2), which raises
	 * SIGPIPE on a closed connection (seen against libwebrtc, whose
	 * checks reach every relay: natlab-ice died of it mid-cell). */
	signal(SIGPIPE, SIG_IGN);
	rc = ice_opts_parse(&app.opts, argc, argv, err, sizeof(err));
	if (rc == ICE_OPTS_HELP) {
		ice_opts_usage(stdout);
		return 0;
	}
	if (rc < 0) {
		if (err[0])
			fprintf(stderr, "natlab-ice: %s\n", err);
		if (app.opts.usage)
			ice_opts_usage(stderr);
		return 2;
	}
	rc = 1;
	if (app.opts.cfg.seed == 0 &&
	    getrandom(&app.opts.cfg.seed, sizeof(app.opts.cfg.seed), 0) < 0)
		app.opts.cfg.seed = mono_us() ^ (uint64_t)getpid();
	app.line = malloc(AGENTPROTO_LINE_MAX);
	if (!app.line)
		goto out;
	io.ctx = &app;
	io.send = io_send;
	io.event = io_event;
	io.regather = regather;
	io.tcp_connect = NULL;
	io.tcp_close = NULL;
	if (app.opts.tcp) {
		struct ice_tcpsock_cb tcb = {&app, tcp_accepted, tcp_connected, tcp_closed,
					     tcp_message};
		if (ice_tcpsock_new(&tcb, TCP_BASE, &app.tcps) < 0)
			goto out;
		io.tcp_connect = io_tcp_connect;
		io.tcp_close = io_tcp_close;
	}
	if (ice_agent_new(&app.opts.cfg, &io, &app.agent) < 0) {
		fprintf(stderr, "natlab-ice: bad configuration\n");
		goto out;
	}
	if (app.opts.portmap) {
		struct pmice_config pc = {.lifetime_s = app.opts.portmap_lifetime_s,
					  .wait_ms = app.opts.portmap_wait_ms,
					  .seed = app.opts.cfg.seed};
		struct pmice_cb pcb = {&app, pm_mapped, pm_settled, pm_log};
		(void)pm_mode_parse(app.opts.portmap, &pc.mode);
		if (pmice_new(&pc, &pcb, &app.pm) < 0)
			goto out;
	}
	{
		struct plane_io pio = {&app, plane_io_send, plane_io_now_us};
		char perr[256];
		/* docs/agent-protocol.md, Capabilities: what this run can do;
		 * ICE-TCP (RFC 6544) only with --tcp */
		const struct agentproto_cap caps[] = {
		    {"trickle", true},	{"restart", true},    {"turn-udp", true},
		    {"turn-tcp", true}, {"turn-tls", true},   {"ice-tcp", app.opts.tcp},
		    {"ipv6", true},	{"components", true}, {"consent", true},
		};
		int r = plane_new(app.opts.dataplane, app.opts.cfg.controlling, &pio, &app.out,
				  &app.plane, perr, sizeof(perr));
		if (r < 0) {
			fprintf(stderr, "natlab-ice: --dataplane datachannel: %s\n", perr);
			rc = r == -ENOTSUP ? 2 : 1;
			goto out;
		}
		plane_offer(app.plane, app.opts.offer_dataplanes);
		plane_ev_ready(app.plane, IMPL, VERSION, caps, sizeof(caps) / sizeof(caps[0]));
	}
	if (app.opts.nturn && (!app.opts.turn_user || !app.opts.turn_pass))
		agentproto_ev_log(&app.out, now_ms(&app), "warning",
				  "--turn without --turn-user/--turn-pass: the server will refuse");
	while (!app.stop) {
		struct pollfd pfd[SOCKS_MAX + RELAYS_MAX + 1 + ICE_TCPSOCK_FDS_MAX + PMICE_MAX];
		unsigned tcp_off, ntcp = 0, pm_off, npm = 0;
		if (app.free_retired)
			free_retired_relays(&app);
		relay_deadline(&app);
		uint64_t next_ms = ice_agent_tick(app.agent, now_ms(&app));
		unsigned np;

		if (app.relays_pending > 0 && app.relay_deadline_ms < next_ms)
			next_ms = app.relay_deadline_ms;
		if (app.pm) {
			uint64_t t = pmice_tick(app.pm, now_ms(&app));
			if (t < next_ms)
				next_ms = t;
		}
		for (unsigned k = 0; k < app.nrelays; k++) {
			uint64_t rt;
			if (!app.relays[k])
				continue;
			rt = ice_relay_tick(app.relays[k], now_ms(&app));
			if (rt < next_ms)
				next_ms = rt;
		}
		int timeout = -1;
		/* data plane: due messages, the final report, DTLS/SCTP timers */
		long pt = plane_poll(app.plane);

		if (next_ms != ICE_NEVER) {
			uint64_t nm = now_ms(&app);
			uint64_t w = next_ms > nm ? next_ms - nm : 0;
			timeout = w > 60000 ? 60000 : (int)w;
		}
		if (pt >= 0 && (timeout < 0 || pt < timeout))
			timeout = (int)pt;
		pfd[0].fd = STDIN_FILENO;
		pfd[0].events = POLLIN;
		for (unsigned i = 0; i < app.nsocks; i++) {
			pfd[i + 1].fd = app.socks[i].fd;
			pfd[i + 1].events = POLLIN;
		}
		np = app.nsocks + 1;
		for (unsigned k = 0; k < app.nrelays; k++) {
			pfd[np].fd = app.relays[k] ? ice_relay_fd(app.relays[k]) : -1;
			pfd[np].events = POLLIN;
			if (app.relays[k] && ice_relay_want_write(app.relays[k]))
				pfd[np].events |= POLLOUT;
			np++;
		}
		tcp_off = np;
		if (app.tcps)
			ntcp = ice_tcpsock_pollfds(app.tcps, &pfd[tcp_off]);
		np += ntcp;
		pm_off = np;
		if (app.pm)
			npm = pmice_pollfds(app.pm, &pfd[pm_off]);
		np += npm;
		if (poll(pfd, np, timeout) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (unsigned i = 0; i < app.nsocks; i++)
			if (pfd[i + 1].revents & POLLIN)
				read_sock(&app, i);
		for (unsigned k = 0; k < app.nrelays; k++) {
			short re = pfd[app.nsocks + 1 + k].revents;
			if (app.relays[k] && re)
				ice_relay_io(app.relays[k], re & (POLLIN | POLLHUP | POLLERR),
					     re & POLLOUT, now_ms(&app));
		}
		if (app.tcps)
			ice_tcpsock_io(app.tcps, &pfd[tcp_off], ntcp);
		if (app.pm)
			pmice_io(app.pm, &pfd[pm_off], npm, now_ms(&app));
		if (pfd[0].revents & (POLLIN | POLLHUP))
			read_stdin(&app);
	}
	plane_close(app.plane);
	/* leave no port mapping behind (RFC 6887 §15, RFC 6886 §3.4) */
	if (app.pm)
		pmice_stop(app.pm, now_ms(&app));
	/* leave no allocation behind on the TURN server (RFC 8656 §8) */
	for (unsigned k = 0; k < app.nrelays; k++)
		if (app.relays[k])
			ice_relay_release(app.relays[k], now_ms(&app));
	agentproto_ev_state(&app.out, now_ms(&app), "closed");
	rc = 0;
out:
	for (unsigned i = 0; i < app.nsocks; i++)
		if (app.socks[i].fd >= 0)
			close(app.socks[i].fd);
	for (unsigned k = 0; k < app.nrelays; k++)
		ice_relay_free(app.relays[k]);
	/* before the agent: a closing SCTP association may still send */
	plane_free(app.plane);
	ice_agent_free(app.agent);
	ice_tcpsock_free(app.tcps);
	pmice_free(app.pm);
	free(app.line);
	return rc;
}

/* ice.c - the RFC 8445 agent state machine (see ice.h): creation, pairs,
 * checks, incoming requests and responses, nomination and selection. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agents/ice/ice_priv.h"

/* ---- small helpers ----------------------------------------------------- */

uint64_t icei_rng_next(struct ice_agent *a)
{
	/* splitmix64: deterministic under a fixed seed, which the fake-clock
	 * tests need; the binary seeds it from getrandom(). */
	uint64_t z = (a->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_chars(struct ice_agent *a, char *out, size_t n)
{
	static const char ice_chars[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i++)
		out[i] = ice_chars[icei_rng_next(a) & 63];
	out[n] = '\0';
}

void icei_new_txid(struct ice_agent *a, uint8_t txid[ICE_TXID_LEN])
{
	uint64_t x = icei_rng_next(a);
	uint64_t y = icei_rng_next(a);
	memcpy(txid, &x, 8);
	memcpy(txid + 8, &y, 4);
}

void icei_emit(struct ice_agent *a, const struct ice_event *ev)
{
	if (a->io.event)
		a->io.event(a->io.ctx, ev);
}

void icei_logf(struct ice_agent *a, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	struct ice_event ev = {.type = ICE_EV_LOG, .reason = buf};
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	icei_emit(a, &ev);
}

void icei_set_state(struct ice_agent *a, enum ice_state s)
{
	struct ice_event ev = {.type = ICE_EV_STATE, .state = s};
	if (a->state == s)
		return;
	a->state = s;
	icei_emit(a, &ev);
}

static void to_stun(struct stun_addr *s, const union ice_addr *a)
{
	stun_addr_from_sockaddr(s, &a->sa, ice_addr_len(a));
}

void icei_from_stun(union ice_addr *a, const struct stun_addr *s)
{
	struct sockaddr_storage ss;
	socklen_t n = stun_addr_to_sockaddr(s, &ss);
	memset(a, 0, sizeof(*a));
	memcpy(a, &ss, n < sizeof(*a) ? n : sizeof(*a));
}

uint32_t icei_ta(const struct ice_agent *a)
{
	return a->cfg.ta_ms;
}

const char *ice_state_name(enum ice_state s)
{
	static const char *const names[] = {"new",	 "gathering", "checking",     "connected",
					    "completed", "failed",    "disconnected", "closed"};
	return (unsigned)s < 8 ? names[s] : "?";
}

/* ---- creation ------------------------------------------------------------ */

void icei_new_credentials(struct ice_agent *a)
{
	rng_chars(a, a->ufrag, ICE_UFRAG_LEN);
	rng_chars(a, a->pwd, ICE_PWD_LEN);
}

int ice_agent_new(const struct ice_config *cfg, const struct ice_io *io, struct ice_agent **out)
{
	struct ice_agent *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->cfg = *cfg;
	a->io = *io;
	if (a->cfg.components == 0)
		a->cfg.components = 1;
	if (a->cfg.components > ICE_COMPONENT_MAX)
		goto inval;
	/* RFC 8445 §14.2: "Ta ... SHOULD be configurable"; "the default ...
	 * 50 ms" and it "MUST NOT be less than 5 ms". */
	if (a->cfg.ta_ms == 0)
		a->cfg.ta_ms = 50;
	if (a->cfg.ta_ms < 5)
		a->cfg.ta_ms = 5;
	/* RFC 8445 §14.3: RTO = MAX (500ms, Ta * (Num-Waiting +
	 * Num-In-Progress)); the 500 ms floor is configurable here. */
	if (a->cfg.rto_ms == 0)
		a->cfg.rto_ms = 500;
	/* RFC 8489 §6.2.1: "Rc SHOULD be configurable and SHOULD have a
	 * default of 7"; "Rm SHOULD be configurable and SHOULD have a default
	 * of 16". */
	if (a->cfg.max_tx == 0)
		a->cfg.max_tx = 7;
	if (a->cfg.rm == 0)
		a->cfg.rm = 16;
	/* RFC 7675 §5.1: "Consent expires after 30 seconds"; consent checks
	 * are sent every 5 s on average. */
	if (a->cfg.keepalive_ms == 0)
		a->cfg.keepalive_ms = 5000;
	if (a->cfg.consent_timeout_ms == 0)
		a->cfg.consent_timeout_ms = 30000;
	if (a->cfg.nominate_wait_ms == 0)
		a->cfg.nominate_wait_ms = 100;
	if (a->cfg.gather_timeout_ms == 0)
		a->cfg.gather_timeout_ms = 3000;
	if (a->cfg.n_stun > ICE_STUN_SERVERS_MAX)
		a->cfg.n_stun = ICE_STUN_SERVERS_MAX;
	a->rng = cfg->seed ^ 0x6e61746c61626963ULL;
	a->controlling = cfg->controlling;
	/* RFC 8445 §7.1.3: the tie-breaker is "a 64-bit unsigned integer"
	 * chosen at random. */
	a->tiebreaker = cfg->tiebreaker ? cfg->tiebreaker : icei_rng_next(a);
	a->comps = calloc(a->cfg.components + 1, sizeof(*a->comps));
	if (!a->comps)
		goto nomem;
	for (unsigned i = 0; i <= a->cfg.components; i++) {
		a->comps[i].sel_pl = -1;
		a->comps[i].sel_pr = -1;
	}
	icei_new_credentials(a);
	a->state = ICE_STATE_NEW;
	*out = a;
	return 0;
nomem:
	ice_agent_free(a);
	return -ENOMEM;
inval:
	ice_agent_free(a);
	return -EINVAL;
}

void ice_agent_free(struct ice_agent *a)
{
	if (!a)
		return;
	free(a->comps);
	free(a);
}

const char *ice_agent_ufrag(const struct ice_agent *a)
{
	return a->ufrag;
}

const char *ice_agent_pwd(const struct ice_agent *a)
{
	return a->pwd;
}

bool ice_agent_controlling(const struct ice_agent *a)
{
	return a->controlling;
}

enum ice_state ice_agent_state(const struct ice_agent *a)
{
	return a->state;
}

const struct ice_checklist *ice_agent_checklist(const struct ice_agent *a)
{
	return &a->cl;
}

unsigned ice_agent_checks_sent(const struct ice_agent *a)
{
	return a->checks_sent;
}

unsigned ice_agent_pair_count(const struct ice_agent *a)
{
	return a->cl.n;
}

bool ice_agent_pair_info(const struct ice_agent *a, unsigned i, struct ice_pair_info *out)
{
	const struct ice_pair *p;

	if (i >= a->cl.n)
		return false;
	p = &a->cl.pairs[i];
	*out = (struct ice_pair_info){
	    .component = p->component,
	    .local = &a->locals[p->valid && p->valid_local >= 0 ? p->valid_local : p->local],
	    .remote = &a->remotes[p->remote],
	    .state = p->state,
	    .priority = p->priority,
	    .valid = p->valid,
	    .nominated = p->nominated,
	    .checks = p->tx_count,
	    .rtt_ms = p->valid ? p->rtt_ms : 0,
	};
	return true;
}

bool ice_agent_selected(const struct ice_agent *a, unsigned component,
			const struct ice_local **local, const struct ice_candidate **remote)
{
	if (component < 1 || component > a->cfg.components || !a->comps[component].selected)
		return false;
	if (local)
		*local = &a->comps[component].sel_l;
	if (remote)
		*remote = &a->comps[component].sel_r;
	return true;
}

/* ---- pairs ---------------------------------------------------------------- */

static int pair_index(const struct ice_agent *a, int local, int remote)
{
	return ice_checklist_find(&a->cl, local, remote);
}

/* Which locals take part in pairs: hosts (their srflx candidates are
 * pruned to them, RFC 8445 §6.1.2.4) and relays. */
bool icei_local_pairs(const struct ice_local *l)
{
	return l->c.type == ICE_CAND_HOST || l->c.type == ICE_CAND_RELAY;
}

void icei_pair_local_with_remotes(struct ice_agent *a, int li)
{
	if (!icei_local_checkable(&a->locals[li]))
		return;
	for (unsigned r = 0; r < a->nremotes; r++)
		ice_checklist_add(&a->cl, a->locals, li, a->remotes, (int)r, a->controlling);
}

void icei_pair_remote_with_locals(struct ice_agent *a, int ri)
{
	for (unsigned l = 0; l < a->nlocals; l++)
		if (icei_local_pairs(&a->locals[l]) && icei_local_checkable(&a->locals[l]))
			ice_checklist_add(&a->cl, a->locals, (int)l, a->remotes, ri,
					  a->controlling);
}

void icei_tq_push(struct ice_agent *a, int local, int remote)
{
	for (unsigned i = 0; i < a->tq_n; i++)
		if (a->tq[i].local == local && a->tq[i].remote == remote)
			return;
	if (a->tq_n == ICE_CHECKLIST_MAX)
		return;
	a->tq[a->tq_n].local = local;
	a->tq[a->tq_n].remote = remote;
	a->tq_n++;
	/* An idle pacer wakes up: the check goes out at the next tick (the
	 * last one was at least Ta ago, or the pacer would not be idle). */
	if (a->next_pace_ms == ICE_NEVER)
		a->next_pace_ms = 0;
}

int icei_tq_pop(struct ice_agent *a)
{
	while (a->tq_n > 0) {
		struct tq_entry e = a->tq[0];
		int pi;
		memmove(&a->tq[0], &a->tq[1], (a->tq_n - 1) * sizeof(a->tq[0]));
		a->tq_n--;
		pi = pair_index(a, e.local, e.remote);
		if (pi >= 0)
			return pi;
	}
	return -1;
}

/* ---- STUN messages -------------------------------------------------------- */

static uint32_t prflx_priority(const struct ice_local *l)
{
	/* RFC 8445 §7.1.1: PRIORITY "MUST be set equal to the priority that
	 * would be assigned ... to a peer-reflexive candidate" (type
	 * preference 110, same local preference and component). */
	unsigned local_pref = (l->c.priority >> 8) & 0xffff;
	if (l->c.transport == ICE_TRANSPORT_TCP)
		return icei_tcp_prflx_priority(l);
	return ice_priority(ice_type_pref(ICE_CAND_PRFLX, l->c.transport), local_pref,
			    l->c.component);
}

long icei_build_request(struct ice_agent *a, const uint8_t txid[ICE_TXID_LEN],
			const struct ice_local *l, bool use_cand, bool controlling, uint8_t *buf,
			size_t cap)
{
	struct stun_builder b;
	char user[2 * ICE_CRED_MAX + 2];

	/* RFC 8445 §7.2.2: "The username ... is formed by concatenating the
	 * username fragment provided by the peer with the username fragment
	 * of the ICE agent sending the request, separated by a colon". */
	snprintf(user, sizeof(user), "%s:%s", a->rufrag, a->ufrag);
	stun_builder_init(&b, buf, cap, stun_type_make(STUN_CLASS_REQUEST, STUN_METHOD_BINDING),
			  txid);
	stun_builder_add_string(&b, STUN_ATTR_USERNAME, user);
	stun_builder_add_u32(&b, STUN_ATTR_PRIORITY, prflx_priority(l));
	/* RFC 8445 §7.1.3: the controlling agent includes ICE-CONTROLLING,
	 * the controlled one ICE-CONTROLLED, with its tie-breaker. */
	stun_builder_add_u64(&b, controlling ? STUN_ATTR_ICE_CONTROLLING : STUN_ATTR_ICE_CONTROLLED,
			     a->tiebreaker);
	if (use_cand)
		stun_builder_add_flag(&b, STUN_ATTR_USE_CANDIDATE);
	/* RFC 8445 §7.2.2: short-term credentials; the password is the
	 * peer's. §7.1: FINGERPRINT on every check. */
	stun_builder_add_integrity(&b, (const uint8_t *)a->rpwd, strlen(a->rpwd));
	stun_builder_add_fingerprint(&b);
	return stun_builder_finish(&b);
}

void icei_send_pair_request(struct ice_agent *a, struct ice_pair *p)
{
	uint8_t buf[MSG_MAX];
	const struct ice_local *l = &a->locals[p->local];
	long n = icei_build_request(a, p->txid, l, p->tx_use_candidate, p->tx_controlling, buf,
				    sizeof(buf));
	if (n > 0 && l->c.transport == ICE_TRANSPORT_TCP)
		icei_tcp_send(a, p, buf, (size_t)n);
	else if (n > 0)
		a->io.send(a->io.ctx, l->base_id, &a->remotes[p->remote].addr, buf, (size_t)n);
}

void icei_start_check(struct ice_agent *a, int pi, uint64_t now)
{
	struct ice_pair *p = &a->cl.pairs[pi];
	unsigned busy = ice_checklist_count(&a->cl, ICE_PAIR_WAITING) +
			ice_checklist_count(&a->cl, ICE_PAIR_IN_PROGRESS);
	uint64_t rto = (uint64_t)icei_ta(a) * busy;

	if (p->tx_active) {
		/* RFC 8445 §7.3.1.4: the in-progress transaction is cancelled
		 * (no more retransmissions) but its answer still counts. */
		memcpy(p->old_txid, p->txid, ICE_TXID_LEN);
		p->old_active = true;
	}
	icei_new_txid(a, p->txid);
	p->tx_active = true;
	p->tx_fast_rtx = false;
	p->tx_count = 1;
	p->tx_first_ms = now;
	p->tx_rto_ms = (uint32_t)(rto > a->cfg.rto_ms ? rto : a->cfg.rto_ms);
	p->tx_next_ms = now + p->tx_rto_ms;
	p->tx_controlling = a->controlling;
	/* RFC 8445 §8.1.1 regular nomination: the controlling agent
	 * "nominates ... by sending a request with USE-CANDIDATE" on a valid
	 * pair. Aggressive nomination (RFC 5245 §8.1.1.2) puts it in every
	 * check. */
	p->tx_use_candidate = a->controlling && (a->cfg.aggressive || p->nominate_pending);
	p->state = ICE_PAIR_IN_PROGRESS;
	a->checks_sent++;
	icei_logf(a, "t=%llu check %s%s", (unsigned long long)now, p->foundation,
		  p->tx_use_candidate ? " USE-CANDIDATE" : "");
	icei_send_pair_request(a, p);
}

static void send_response(struct ice_agent *a, int base_id, const union ice_addr *to,
			  const struct stun_msg *req, int error)
{
	uint8_t buf[MSG_MAX];
	struct stun_builder b;
	struct stun_addr mapped;
	long n;

	stun_builder_init(
	    &b, buf, sizeof(buf),
	    stun_type_make(error ? STUN_CLASS_ERROR : STUN_CLASS_SUCCESS, STUN_METHOD_BINDING),
	    req->tid);
	if (error) {
		stun_builder_add_error(&b, error, NULL);
		/* RFC 8489 §14.9: a 420 lists the attributes it did not
		 * understand in UNKNOWN-ATTRIBUTES */
		if (error == 420)
			stun_builder_add_unknown_attrs(&b, req->unknown, req->n_unknown);
	} else {
		/* RFC 8445 §7.3.1.2 (by RFC 8489 §7.3.1): XOR-MAPPED-ADDRESS
		 * is the source transport address of the request. */
		to_stun(&mapped, to);
		stun_builder_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
	}
	/* RFC 8445 §7.3: "The response MUST ... use the same password" as the
	 * request, i.e. ours. */
	stun_builder_add_integrity(&b, (const uint8_t *)a->pwd, strlen(a->pwd));
	stun_builder_add_fingerprint(&b);
	n = stun_builder_finish(&b);
	if (n > 0)
		a->io.send(a->io.ctx, base_id, to, buf, (size_t)n);
}

/* ---- selection, nomination ------------------------------------------------ */

bool icei_all_selected(const struct ice_agent *a)
{
	for (unsigned c = 1; c <= a->cfg.components; c++)
		if (!a->comps[c].selected || a->comps[c].sel_pl < 0)
			return false;
	return true;
}

static void report_pair(struct ice_agent *a, enum ice_event_type t, unsigned c)
{
	struct ice_event ev = {.type = t,
			       .component = c,
			       .local = &a->comps[c].sel_l,
			       .remote = &a->comps[c].sel_r,
			       .rtt_ms = a->comps[c].rtt_ms};
	icei_emit(a, &ev);
}

/* Whether the path from local @l to remote @r is a relay path: either end
 * relayed makes it one. */
static bool ends_relayed(const struct ice_agent *a, int l, int r)
{
	return a->locals[l].c.type == ICE_CAND_RELAY || a->remotes[r].type == ICE_CAND_RELAY;
}

static bool pair_relayed(const struct ice_agent *a, const struct ice_pair *p)
{
	return ends_relayed(a, p->local, p->remote);
}

/* Whether component @c's selected pair is relayed (either end). */
static bool selection_relayed(const struct ice_agent *a, unsigned c)
{
	const struct comp *cp = &a->comps[c];

	return cp->selected && cp->sel_pl >= 0 && ends_relayed(a, cp->sel_pl, cp->sel_pr);
}

bool icei_checks_wanted(const struct ice_agent *a)
{
	if (!icei_all_selected(a))
		return true;
	/* --nominate-relay-first: a direct pair may still replace the relay */
	for (unsigned c = 1; a->cfg.relay_first && c <= a->cfg.components; c++)
		if (selection_relayed(a, c))
			return true;
	return false;
}

/* Pick the highest-priority valid nominated pair of @c as selected. */
static void update_selection(struct ice_agent *a, unsigned c, uint64_t now)
{
	struct comp *cp = &a->comps[c];
	const struct ice_pair *best = NULL;
	bool was;

	for (unsigned i = 0; i < a->cl.n; i++) {
		const struct ice_pair *p = &a->cl.pairs[i];
		if (p->component == c && p->valid && p->nominated) {
			best = p;
			break; /* sorted by priority */
		}
	}
	if (!best)
		return;
	if (cp->sel_pl == best->local && cp->sel_pr == best->remote && cp->selected)
		return;
	/* A restart (sel_pl == -1 with selected set) makes the next one a new
	 * selection, not a switch. */
	was = cp->selected && cp->sel_pl >= 0;
	cp->selected = true;
	cp->sel_pl = best->local;
	cp->sel_pr = best->remote;
	cp->sel_l = a->locals[best->valid_local >= 0 ? best->valid_local : best->local];
	/* Data leaves from the checked pair's base whatever the valid local
	 * candidate's type (RFC 8445 §7.2.5.3.2). */
	cp->sel_l.base_id = a->locals[best->local].base_id;
	/* ... and, for TCP (RFC 6544), over the pair's connection. */
	if (best->conn >= 0)
		cp->sel_l.base_id = best->conn;
	cp->sel_r = a->remotes[best->remote];
	cp->sel_prio = best->priority;
	cp->rtt_ms = best->rtt_ms;
	cp->lost = false;
	cp->ctx_active = false;
	cp->consent_ok_ms = now;
	cp->consent_next_ms = now + a->cfg.keepalive_ms;
	report_pair(a, was ? ICE_EV_SWITCHED : ICE_EV_SELECTED, c);
	/* --nominate-relay-first: on a relay, keep checking (and may nominate
	 * again, relay_first_pick) */
	if (a->cfg.relay_first)
		cp->nominating = false;
	if (!a->cfg.aggressive && !(a->cfg.relay_first && pair_relayed(a, best))) {
		/* RFC 8445 §8.1.2: once a pair is nominated for a component,
		 * "the agent MUST remove all candidate pairs for that component
		 * from the checklist that are in Waiting or Frozen state"
		 * (marked Failed here, so indices stay put; a peer's check on
		 * one of them still triggers a check). */
		for (unsigned i = 0; i < a->cl.n; i++) {
			struct ice_pair *p = &a->cl.pairs[i];
			if (p->component == c &&
			    (p->state == ICE_PAIR_WAITING || p->state == ICE_PAIR_FROZEN))
				p->state = ICE_PAIR_FAILED;
		}
	}
	if (icei_all_selected(a))
		icei_set_state(a, ICE_STATE_CONNECTED);
}

/* RFC 8445 §14.3: "RTO = MAX (500ms, Ta * (Num-Waiting + Num-In-Progress))"
 * is the default a peer retransmits its checks at. */
#define PEER_RTO_MS 500u

/* When regular nomination of component @c may happen: ICE_NEVER while it
 * has no valid pair (or is nominating, or has selected).
 *
 * RFC 8445 §8.1.1: "the controlling agent MAY ... wait for checks of
 * higher-priority pairs" and "Once the controlling agent has successfully
 * nominated a candidate pair, the agent MUST NOT nominate another pair"
 * — when to stop waiting is the controlling agent's choice. The rule:
 *  - nominate at once when no higher-priority pair of the component can
 *    still succeed (all Failed);
 *  - else wait nominate_wait_ms after the component's first valid pair;
 *  - when the best valid pair is relayed (either end) and a higher-priority direct
 *    (non-relayed) pair is still Waiting, Frozen or In-Progress, wait
 *    until each such in-progress check has been retransmitted once and
 *    that retransmission had one RTO to be answered (tx_first_ms +
 *    2 * RTO), bounded by MAX(nominate_wait_ms, 3 * RTO) after the
 *    first valid pair; RTO here is never taken below the 500 ms a
 *    peer's own checks are retransmitted at (PEER_RTO_MS), whatever
 *    --rto-ms says of ours.
 * Why: behind address-dependent filtering a direct check often reaches
 * the peer's NAT before the peer's own check opened it and is dropped;
 * its retransmission one RTO later (500 ms by default, RFC 8445 §14.3)
 * is the one that gets through. A relayed pair becomes valid within a
 * round trip, so a fixed 100 ms wait locked calls onto the relay that
 * would have been direct (docs/expected-matrix.md). A relay is the last
 * resort, so it is worth one retransmission's wait; the bound keeps a
 * truly blocked direct path from delaying the call by more than ~1.5 s.
 * The direct path can also open from the peer's side: its check reaches
 * us (our NAT opened by our check) and our triggered check answers it.
 * That happens at the peer's pace, not ours: libwebrtc as the
 * controlled agent checks its direct pairs up to a second late once a
 * relayed pair works, and a lab run with --rto-ms 100 (a 300 ms bound)
 * nominated the relay in 19 of 81 natlab-ice x libwebrtc cells that a
 * 500 ms floor makes direct (docs/implementations.md, `## libwebrtc`).
 *  - when the best valid pair is direct, a higher-priority pair can only
 *    change which direct path carries the call, so it is waited for only
 *    while its check can still be answered about as fast as the valid
 *    pair's was: until its first request is 5/4 of the valid pair's
 *    round trip old, and never past
 *    nominate_wait_ms after the first valid pair. A check unanswered by
 *    then was lost or goes nowhere (private addresses of another
 *    network, typically); its retransmission comes an RTO later (500 ms,
 *    §14.3), which a short wait could not cover anyway. Waiting the
 *    full nominate_wait_ms for such a pair was 100 ms of the 553 ms
 *    from first check to selection on 25 ms links (docs/performance.md). */
static uint64_t nominate_at(const struct ice_agent *a, unsigned c)
{
	const struct comp *cp = &a->comps[c];
	const struct ice_pair *best = NULL;
	bool better_pending = false, relayed;
	uint64_t first = cp->first_valid_ms, wait, cap, at, patience;
	uint32_t rto;

	if (cp->nominating || (cp->selected && cp->sel_pl >= 0))
		return ICE_NEVER;
	for (unsigned i = 0; i < a->cl.n; i++) {
		const struct ice_pair *p = &a->cl.pairs[i];
		if (p->component != c)
			continue;
		if (p->valid) {
			best = p;
			break; /* sorted by priority */
		}
		if (p->state != ICE_PAIR_FAILED)
			better_pending = true;
	}
	if (!best)
		return ICE_NEVER;
	if (!better_pending)
		return 0;
	/* the two cases of the rule above: a relayed best pair waits at
	 * least nominate_wait_ms, for each better direct check's first
	 * retransmission, up to MAX(nominate_wait_ms, 3 * RTO), RTO at least
	 * PEER_RTO_MS; a direct
	 * one waits for each better check 5/4 of its own round trip, up to
	 * nominate_wait_ms */
	relayed = pair_relayed(a, best);
	rto = a->cfg.rto_ms > PEER_RTO_MS ? a->cfg.rto_ms : PEER_RTO_MS;
	wait = a->cfg.nominate_wait_ms;
	if (relayed && wait < 3 * (uint64_t)rto)
		wait = 3 * (uint64_t)rto;
	cap = first + wait;
	at = relayed ? first + a->cfg.nominate_wait_ms : 0;
	patience = (uint64_t)best->rtt_ms + best->rtt_ms / 4 + 1;
	for (unsigned i = 0; i < a->cl.n; i++) {
		const struct ice_pair *p = &a->cl.pairs[i];
		uint64_t t;
		if (p == best)
			break;
		if (p->component != c || p->state == ICE_PAIR_FAILED ||
		    (relayed && pair_relayed(a, p)))
			continue;
		if (p->state != ICE_PAIR_IN_PROGRESS || !p->tx_active)
			return cap; /* not checked yet: wait for it, boundedly */
		t = p->tx_first_ms +
		    (relayed ? 2 * (uint64_t)(p->tx_rto_ms > rto ? p->tx_rto_ms : rto) : patience);
		if (t > at)
			at = t;
	}
	return at < cap ? at : cap;
}

/* --nominate-relay-first (natlab-ice): what stacks such as libwebrtc do
 * (relay first, a direct pair 150-300 ms later): nominate the first valid
 * relayed pair at once; while on a relayed pair, nominate a direct pair as
 * soon as one is valid. The second nomination departs from RFC 8445
 * §8.1.1 ("Once the controlling agent has successfully nominated a
 * candidate pair, the agent MUST NOT nominate another pair"), as those
 * stacks' renomination does; the peer follows because it selects "the
 * highest-priority valid nominated pair" anyway. Returns the pair's index,
 * or -1 (then, before any selection, the ordinary rule applies). */
static int relay_first_pick(const struct ice_agent *a, unsigned c)
{
	const struct comp *cp = &a->comps[c];
	bool on_relay = selection_relayed(a, c);
	bool selected = cp->selected && cp->sel_pl >= 0;

	if (cp->nominating || (selected && !on_relay))
		return -1;
	for (unsigned i = 0; i < a->cl.n; i++) {
		const struct ice_pair *p = &a->cl.pairs[i];
		if (p->component != c || !p->valid)
			continue;
		if (!selected && pair_relayed(a, p))
			return (int)i;
		if (on_relay && !pair_relayed(a, p))
			return (int)i;
	}
	return -1;
}

/* Whether component @c has a relayed pair still on its way to valid
 * (frozen, waiting or in progress) and nothing selected yet. */
static bool relay_pending(const struct ice_agent *a, unsigned c)
{
	if (a->comps[c].selected && a->comps[c].sel_pl >= 0)
		return false;
	for (unsigned i = 0; i < a->cl.n; i++) {
		const struct ice_pair *p = &a->cl.pairs[i];
		if (p->component == c && pair_relayed(a, p) &&
		    (p->state == ICE_PAIR_FROZEN || p->state == ICE_PAIR_WAITING ||
		     p->state == ICE_PAIR_IN_PROGRESS))
			return true;
	}
	return false;
}

/* The pair regular nomination of component @c would nominate (its index in
 * the check list, -1: none), from when (*at; ICE_NEVER: not yet) and by
 * which rule (*rule, for the log). One rule for icei_maybe_nominate and
 * icei_nominate_deadline, so the timer and the nomination cannot
 * disagree. */
static int nomination(const struct ice_agent *a, unsigned c, uint64_t *at, const char **rule)
{
	*rule = "";
	if (a->cfg.relay_first) {
		int i = relay_first_pick(a, c);
		if (i >= 0) {
			*at = 0;
			*rule = "(relay first) ";
			return i;
		}
		/* --nominate-relay-first stands for stacks that nominate a
		 * relay first: while a relayed pair of the component may
		 * still become valid, a direct one is not nominated before it
		 * (on this lab's sub-millisecond links the direct check often
		 * answers first, and the behaviour under test would never
		 * show). The relay's check answer wakes the agent, not a
		 * timer. */
		if (relay_pending(a, c)) {
			*at = ICE_NEVER;
			return -1;
		}
	}
	*at = nominate_at(a, c);
	if (*at == ICE_NEVER)
		return -1;
	/* the highest-priority valid pair (the list is sorted by priority) */
	for (unsigned i = 0; i < a->cl.n; i++)
		if (a->cl.pairs[i].component == c && a->cl.pairs[i].valid)
			return (int)i;
	return -1;
}

/* RFC 8445 §8.1.1: regular nomination by the controlling agent. */
void icei_maybe_nominate(struct ice_agent *a, uint64_t now)
{
	if (!a->controlling || a->cfg.aggressive || !a->have_remote)
		return;
	for (unsigned c = 1; c <= a->cfg.components; c++) {
		const char *rule;
		uint64_t at;
		int best = nomination(a, c, &at, &rule);
		if (best < 0 || now < at)
			continue;
		a->comps[c].nominating = true;
		a->cl.pairs[best].nominate_pending = true;
		icei_tq_push(a, a->cl.pairs[best].local, a->cl.pairs[best].remote);
		icei_logf(a, "nominating %scomponent %u pair %s", rule, c,
			  a->cl.pairs[best].foundation);
	}
}

uint64_t icei_nominate_deadline(const struct ice_agent *a)
{
	uint64_t d = ICE_NEVER;
	if (!a->controlling || a->cfg.aggressive || !a->have_remote)
		return d;
	for (unsigned c = 1; c <= a->cfg.components; c++) {
		const char *rule;
		uint64_t t;
		if (nomination(a, c, &t, &rule) >= 0 && t < d)
			d = t;
	}
	return d;
}

/* ---- role ---------------------------------------------------------------- */

static void switch_role(struct ice_agent *a, bool controlling)
{
	if (a->controlling == controlling)
		return;
	a->controlling = controlling;
	/* RFC 8445 §7.2.5.1: on a role change the agent "MUST ... recompute
	 * the pair priorities". */
	ice_checklist_reprioritize(&a->cl, a->locals, a->remotes, controlling);
	for (unsigned c = 1; c <= a->cfg.components; c++)
		a->comps[c].nominating = false;
	icei_logf(a, "role switched to %s", controlling ? "controlling" : "controlled");
}

/* ---- incoming requests (RFC 8445 §7.3) ------------------------------------ */

static int learn_prflx_remote(struct ice_agent *a, unsigned component, const union ice_addr *from,
			      uint32_t priority)
{
	struct ice_candidate c;
	for (unsigned i = 0; i < a->nremotes; i++)
		if (a->remotes[i].component == component &&
		    a->remotes[i].transport == ICE_TRANSPORT_UDP &&
		    ice_addr_equal(&a->remotes[i].addr, from))
			return (int)i;
	if (a->nremotes == ICE_REMOTES_MAX)
		return -ENOSPC;
	/* RFC 8445 §7.3.1.3: "the agent constructs a remote candidate ... Its
	 * type is peer reflexive. Its priority is set equal to the value of
	 * the PRIORITY attribute ... The foundation ... SHOULD be an
	 * arbitrary value, different from the foundations of all other remote
	 * candidates." */
	memset(&c, 0, sizeof(c));
	snprintf(c.foundation, sizeof(c.foundation), "prflx%u", ++a->prflx_seq);
	c.component = component;
	c.transport = ICE_TRANSPORT_UDP;
	c.priority = priority;
	c.addr = *from;
	c.type = ICE_CAND_PRFLX;
	a->remotes[a->nremotes] = c;
	icei_logf(a, "learned peer-reflexive remote candidate");
	return (int)a->nremotes++;
}

static void nominate_on_success(struct ice_agent *a, int pi, uint64_t now)
{
	struct ice_pair *p = &a->cl.pairs[pi];
	p->nominated = true;
	update_selection(a, p->component, now);
}

static void on_request(struct ice_agent *a, int base_id, const union ice_addr *from,
		       const struct stun_msg *m, uint64_t now)
{
	char user[STUN_MAX_USERNAME_LEN + 1];
	size_t ul = strlen(a->ufrag);
	uint32_t prio = 0;
	uint64_t their_tb;
	int li, ri, pi;
	bool use_cand;

	li = icei_find_local_by_base(a, base_id);
	if (li < 0)
		return;
	/* RFC 8445 §7.3: USERNAME "LFRAG:RFRAG" with our ufrag first, and
	 * MESSAGE-INTEGRITY with our password (RFC 8489 §9.1.3: a missing
	 * one is 400, a wrong one 401). */
	if (stun_msg_get_string(m, STUN_ATTR_USERNAME, user, sizeof(user)) < 0 ||
	    strncmp(user, a->ufrag, ul) != 0 || user[ul] != ':') {
		send_response(a, base_id, from, m, 401);
		return;
	}
	if (stun_msg_check_integrity(m, (const uint8_t *)a->pwd, strlen(a->pwd)) < 0) {
		send_response(a, base_id, from, m, 401);
		return;
	}
	/* RFC 8489 §6.3.1: If the request contains one or more unknown
	 * comprehension-required attributes, the server replies with an error
	 * response with an error code of 420 (Unknown Attribute) and includes
	 * an UNKNOWN-ATTRIBUTES attribute ... (§6.3: after the authentication
	 * checks). */
	if (m->n_unknown) {
		send_response(a, base_id, from, m, 420);
		return;
	}
	if (stun_msg_get_u32(m, STUN_ATTR_PRIORITY, &prio) < 0) {
		send_response(a, base_id, from, m, 400);
		return;
	}
	/* RFC 8445 §7.3.1.1 role conflict. */
	if (a->controlling && stun_msg_get_u64(m, STUN_ATTR_ICE_CONTROLLING, &their_tb) == 0) {
		/* "If the agent's tie-breaker value is larger than or equal
		 * to the contents of the ICE-CONTROLLING attribute, the agent
		 * generates a Binding error response and includes an
		 * ERROR-CODE attribute with a value of 487 (Role Conflict) but
		 * retains its role. If the agent's tie-breaker value is less
		 * than ..., the agent switches to the controlled role." */
		if (a->tiebreaker >= their_tb) {
			send_response(a, base_id, from, m, 487);
			return;
		}
		switch_role(a, false);
	} else if (!a->controlling &&
		   stun_msg_get_u64(m, STUN_ATTR_ICE_CONTROLLED, &their_tb) == 0) {
		/* "If the agent's tie-breaker value is larger than or equal
		 * to the contents of the ICE-CONTROLLED attribute, the agent
		 * switches to the controlling role. If ... less than ..., the
		 * agent generates a Binding error response ... 487". */
		if (a->tiebreaker >= their_tb) {
			switch_role(a, true);
		} else {
			send_response(a, base_id, from, m, 487);
			return;
		}
	}
	send_response(a, base_id, from, m, 0);

	if (a->locals[li].c.transport == ICE_TRANSPORT_TCP)
		ri = icei_tcp_learn_remote(a, li, from, prio);
	else
		ri = learn_prflx_remote(a, a->locals[li].c.component, from, prio);
	if (ri < 0)
		return;
	use_cand = stun_msg_has(m, STUN_ATTR_USE_CANDIDATE) && !a->controlling;
	if (!a->have_remote) {
		/* RFC 8445 §7.3: before the peer's credentials are known the
		 * response is sent; the triggered check waits for them. */
		icei_record_early(a, li, ri,
				  a->locals[li].c.transport == ICE_TRANSPORT_TCP ? base_id : -1,
				  stun_msg_has(m, STUN_ATTR_USE_CANDIDATE));
		return;
	}
	pi = pair_index(a, li, ri);
	if (pi < 0) {
		/* RFC 8445 §7.3.1.4: "If the pair is not already on the
		 * checklist ... the pair is inserted into the checklist based
		 * on its priority. Its state is set to Waiting [and it is
		 * enqueued into the triggered-check queue]." */
		pi = ice_checklist_add(&a->cl, a->locals, li, a->remotes, ri, a->controlling);
		if (pi < 0)
			return;
		a->cl.pairs[pi].state = ICE_PAIR_WAITING;
		if (a->state == ICE_STATE_NEW || a->state == ICE_STATE_GATHERING)
			icei_set_state(a, ICE_STATE_CHECKING);
	}
	{
		struct ice_pair *p = &a->cl.pairs[pi];
		bool tcp = icei_pair_is_tcp(a, p);
		if (tcp)
			icei_tcp_bind_pair(a, p, base_id);
		if (use_cand)
			p->use_cand_rx = true;
		switch (p->state) {
		case ICE_PAIR_SUCCEEDED:
			/* "If the state of the pair is Succeeded, there is
			 * nothing further to do" — except nomination
			 * (§7.3.1.5): the controlled agent marks the valid pair
			 * nominated. */
			if (use_cand && p->valid)
				nominate_on_success(a, pi, now);
			return;
		case ICE_PAIR_IN_PROGRESS:
			/* §7.3.1.4: "If the state of that pair is In-Progress,
			 * the agent cancels the In-Progress transaction ...
			 * [and] MUST enqueue the pair in the triggered
			 * checklist". Done literally, two agents whose checks
			 * cross on the wire re-trigger each other forever; so
			 * a transaction still on its first transmission is
			 * left to finish (its answer is on the way), and only
			 * one already retransmitted, whose request was likely
			 * lost, is cancelled and re-checked (start_check keeps
			 * the old one answerable). */
			if (p->tx_count <= 1) {
				/* ... but its request may have been lost (a TURN
				 * permission not yet installed on the peer's
				 * side, typically): as RFC 5245 §7.2.1.4 put it,
				 * "generate an immediate retransmit", once per
				 * transaction so that crossing retransmits do not
				 * ping-pong either. */
				/* (TCP delivers the first one, RFC 8489
				 * §6.2.2: no retransmissions there) */
				if (!p->tx_fast_rtx && !tcp) {
					p->tx_fast_rtx = true;
					icei_send_pair_request(a, p);
				}
				return;
			}
			/* fall through */
		case ICE_PAIR_FROZEN:
		case ICE_PAIR_WAITING:
		case ICE_PAIR_FAILED:
			p->state = ICE_PAIR_WAITING;
			icei_tq_push(a, p->local, p->remote);
			if (a->next_pace_ms == ICE_NEVER)
				a->next_pace_ms = now;
			break;
		}
	}
}

/* ---- responses to our checks (RFC 8445 §7.2.5) ---------------------------- */

static int find_local_addr(const struct ice_agent *a, const union ice_addr *addr,
			   const struct ice_local *base)
{
	for (unsigned i = 0; i < a->nlocals; i++)
		if (ice_addr_equal(&a->locals[i].c.addr, addr) &&
		    a->locals[i].base_id == base->base_id)
			return (int)i;
	return -1;
}

static void on_check_response(struct ice_agent *a, int pi, int base_id, const union ice_addr *from,
			      const struct stun_msg *m, uint64_t now)
{
	struct ice_pair *p = &a->cl.pairs[pi];
	const struct ice_local *l = &a->locals[p->local];
	struct stun_addr sa;
	union ice_addr mapped;
	int code = 0;
	int vl;

	/* RFC 8445 §7.2.5: responses are authenticated with the peer's
	 * password; others are discarded. */
	if (stun_msg_check_integrity(m, (const uint8_t *)a->rpwd, strlen(a->rpwd)) < 0)
		return;
	icei_logf(a, "t=%llu response %s cls=%d", (unsigned long long)now, p->foundation, m->cls);
	p->tx_active = false;
	p->old_active = false;
	/* RFC 8489 §6.3.3 / §6.3.4: a response with unknown
	 * comprehension-required attributes is discarded and the transaction
	 * is considered to have failed; RFC 8445 §7.2.5.2.4 (a failed
	 * transaction): the pair becomes Failed. */
	if (m->n_unknown) {
		p->state = ICE_PAIR_FAILED;
		return;
	}
	if (m->cls == STUN_CLASS_ERROR) {
		stun_msg_get_error(m, &code, NULL, NULL);
		if (code == 487) {
			/* RFC 8445 §7.2.5.1: "If the Binding request generates
			 * a 487 (Role Conflict) error response, and if the ICE
			 * agent included an ICE-CONTROLLED attribute in the
			 * request, the agent MUST switch to the controlling
			 * role. If the agent included an ICE-CONTROLLING
			 * attribute ..., the agent MUST switch to the controlled
			 * role. ... the agent MUST add the candidate pair ... to
			 * the triggered-check queue ... and set the candidate
			 * pair state to Waiting." */
			int lk = p->local, rk = p->remote;
			switch_role(a, !p->tx_controlling);
			pi = pair_index(a, lk, rk);
			a->cl.pairs[pi].state = ICE_PAIR_WAITING;
			icei_tq_push(a, lk, rk);
			return;
		}
		/* §7.2.5.2.4: other errors fail the pair. */
		p->state = ICE_PAIR_FAILED;
		return;
	}
	/* RFC 8445 §7.2.5.2.1: "The ICE agent MUST check that the source and
	 * destination transport addresses in the Binding request and
	 * response are symmetric ... If the addresses are not symmetric, the
	 * agent MUST set the candidate pair state to Failed." */
	if (l->c.transport == ICE_TRANSPORT_TCP
		? base_id != p->conn
		: base_id != l->base_id || !ice_addr_equal(from, &a->remotes[p->remote].addr)) {
		p->state = ICE_PAIR_FAILED;
		return;
	}
	if (stun_msg_get_xor_addr(m, STUN_ATTR_XOR_MAPPED_ADDRESS, &sa) < 0) {
		p->state = ICE_PAIR_FAILED;
		return;
	}
	icei_from_stun(&mapped, &sa);
	/* RFC 8445 §7.2.5.3.1: a mapped address that matches no local
	 * candidate is a new peer-reflexive local candidate whose priority is
	 * the PRIORITY the request carried and whose base is the base the
	 * check was sent from. It is not signalled. */
	vl = l->c.transport == ICE_TRANSPORT_TCP ? icei_tcp_mapped_local(a, p->local, &mapped)
						 : find_local_addr(a, &mapped, l);
	if (vl < 0) {
		struct ice_local nl;
		memset(&nl, 0, sizeof(nl));
		nl.c = l->c;
		nl.c.type = ICE_CAND_PRFLX;
		nl.c.addr = mapped;
		nl.c.priority = prflx_priority(l);
		nl.c.has_related = true;
		nl.c.related = l->base;
		ice_foundation_make(nl.c.foundation, ICE_CAND_PRFLX, &l->base, NULL,
				    l->c.transport);
		nl.base = l->base;
		nl.base_id = l->base_id;
		vl = icei_add_local(a, &nl);
		p = &a->cl.pairs[pi];
	}
	/* §7.2.5.3.2: the pair goes into the valid list; §7.2.5.3.3: its
	 * state is Succeeded and the Frozen pairs with its foundation are
	 * unfrozen. */
	p->state = ICE_PAIR_SUCCEEDED;
	p->valid = true;
	p->valid_local = vl;
	p->rtt_ms = (uint32_t)(now - p->tx_first_ms);
	if (a->comps[p->component].first_valid_ms == 0)
		a->comps[p->component].first_valid_ms = now ? now : 1;
	ice_checklist_unfreeze_foundation(&a->cl, p->foundation);
	/* §7.2.5.3.4 / §8.1.1: a successful check that carried
	 * USE-CANDIDATE nominates (controlling); on the controlled side a
	 * pair whose peer sent USE-CANDIDATE is nominated once its own
	 * check succeeds. */
	if ((p->tx_use_candidate && a->controlling) || (!a->controlling && p->use_cand_rx))
		nominate_on_success(a, pi, now);
	icei_maybe_nominate(a, now);
}

static void on_consent_response(struct ice_agent *a, unsigned c, int base_id,
				const union ice_addr *from, const struct stun_msg *m, uint64_t now)
{
	struct comp *cp = &a->comps[c];
	if (stun_msg_check_integrity(m, (const uint8_t *)a->rpwd, strlen(a->rpwd)) < 0)
		return;
	cp->ctx_active = false;
	/* RFC 7675 §5.1: consent is granted by a success response from the
	 * address the request went to. */
	/* RFC 8489 §6.3.3: unknown comprehension-required attributes fail
	 * the transaction: no consent from it */
	if (m->cls == STUN_CLASS_SUCCESS && !m->n_unknown &&
	    (cp->sel_r.transport == ICE_TRANSPORT_TCP ? base_id == cp->sel_l.base_id
						      : ice_addr_equal(from, &cp->sel_r.addr)))
		cp->consent_ok_ms = now;
}

void ice_agent_recv(struct ice_agent *a, int base_id, const union ice_addr *from,
		    const uint8_t *buf, size_t len, uint64_t now_ms)
{
	struct stun_msg m;
	int li;

	if (!stun_is_message(buf, len)) {
		struct ice_event ev = {.type = ICE_EV_DATA, .data = buf, .len = len};
		li = icei_find_local_by_base(a, base_id);
		if (li >= 0) {
			ev.component = a->locals[li].c.component;
		} else {
			/* RFC 8445 §9: the previously selected pair keeps
			 * working during a restart, also when a regather
			 * dropped its base. */
			for (unsigned c = 1; c <= a->cfg.components && !ev.component; c++)
				if (a->comps[c].selected && a->comps[c].sel_l.base_id == base_id)
					ev.component = c;
			if (!ev.component)
				return;
		}
		icei_emit(a, &ev);
		return;
	}
	if (stun_msg_decode(&m, buf, len, 0, NULL) < 0)
		return;
	/* RFC 8445 §7.1 / RFC 8489 §14.7: checks carry FINGERPRINT; a wrong
	 * one means "not for us". */
	if (m.fp_idx >= 0 && stun_msg_check_fingerprint(&m) < 0)
		return;
	if (m.method != STUN_METHOD_BINDING)
		return;
	if (m.cls == STUN_CLASS_REQUEST) {
		on_request(a, base_id, from, &m, now_ms);
		return;
	}
	if (m.cls == STUN_CLASS_INDICATION)
		return; /* RFC 8445 §11 keepalive: nothing to answer */
	for (unsigned i = 0; i < a->cl.n; i++) {
		struct ice_pair *p = &a->cl.pairs[i];
		if ((p->tx_active && memcmp(p->txid, m.tid, ICE_TXID_LEN) == 0) ||
		    (p->old_active && memcmp(p->old_txid, m.tid, ICE_TXID_LEN) == 0)) {
			on_check_response(a, (int)i, base_id, from, &m, now_ms);
			return;
		}
	}
	for (unsigned i = 0; i < a->ngtx; i++) {
		struct gather_tx *g = &a->gtx[i];
		if (!g->done && memcmp(g->txid, m.tid, ICE_TXID_LEN) == 0) {
			icei_on_gather_response(a, g, &m, now_ms);
			return;
		}
	}
	for (unsigned c = 1; c <= a->cfg.components; c++) {
		struct comp *cp = &a->comps[c];
		if (cp->ctx_active && memcmp(cp->ctxid, m.tid, ICE_TXID_LEN) == 0) {
			on_consent_response(a, c, base_id, from, &m, now_ms);
			return;
		}
	}
}

/* ice_timer.c - the agent's timers: Ta pacing, retransmissions, consent
 * freshness, failure, and ICE restart (RFC 8445 §6.1.4, §9, §14; RFC 7675). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agents/ice/ice_priv.h"

/* ---- timers --------------------------------------------------------------- */

static uint64_t min64(uint64_t x, uint64_t y)
{
	return x < y ? x : y;
}

static bool checks_finished(const struct ice_agent *a)
{
	return ice_checklist_count(&a->cl, ICE_PAIR_IN_PROGRESS) == 0 && a->tq_n == 0;
}

static void check_failure(struct ice_agent *a)
{
	struct ice_event ev = {.type = ICE_EV_FAILED};
	if (a->failed_reported || !a->have_remote || a->gathering)
		return;
	/* Trickle ICE (RFC 8838 §8): failure only once the peer said
	 * end-of-candidates; without trickle the description was complete. */
	if (a->cfg.trickle && !a->remote_done)
		return;
	for (unsigned c = 1; c <= a->cfg.components; c++) {
		bool alive = false;
		if (a->comps[c].selected && a->comps[c].sel_pl >= 0)
			continue;
		for (unsigned i = 0; i < a->cl.n; i++) {
			const struct ice_pair *p = &a->cl.pairs[i];
			if (p->component == c && (p->state != ICE_PAIR_FAILED || p->valid))
				alive = true;
		}
		if (alive)
			continue;
		/* RFC 8445 §7.2.5.4 / §8.1.2: all pairs of a component failed:
		 * the check list (and ICE) fails. */
		a->failed_reported = true;
		ev.reason = a->cl.n == 0 ? "no candidate pairs" : "all candidate pairs failed";
		icei_set_state(a, ICE_STATE_FAILED);
		icei_emit(a, &ev);
		return;
	}
	(void)checks_finished;
}

static uint64_t tick_pacing(struct ice_agent *a, uint64_t now)
{
	int pi = -1;

	if (a->next_pace_ms == ICE_NEVER || now < a->next_pace_ms)
		return a->next_pace_ms;
	/* RFC 8445 §6.1.4.2: "When the timer fires and there is a pair in the
	 * triggered-check queue, the agent removes the top pair from the
	 * queue, performs a connectivity check on that pair, ... If the
	 * triggered-check queue is empty, the agent picks an ordinary pair".
	 * RFC 8445 §5.1.1.2 paces gathering requests with the same Ta. */
	if (a->have_remote)
		pi = icei_tq_pop(a);
	if (pi >= 0) {
		icei_start_check(a, pi, now);
		goto sent;
	}
	for (unsigned i = 0; i < a->ngtx; i++) {
		if (!a->gtx[i].done && a->gtx[i].count == 0) {
			icei_send_gather(a, &a->gtx[i], now);
			goto sent;
		}
	}
	/* §8.1.2: once every component has its nominated pair, ordinary
	 * checks stop. */
	if (a->have_remote && icei_checks_wanted(a)) {
		pi = ice_checklist_next_ordinary(&a->cl);
		if (pi >= 0) {
			icei_start_check(a, pi, now);
			goto sent;
		}
	}
	a->next_pace_ms = ICE_NEVER;
	return ICE_NEVER;
sent:
	/* "Ta ... the time between the sending of two requests" */
	a->next_pace_ms = now + icei_ta(a);
	return a->next_pace_ms;
}

static uint64_t tick_retransmit(struct ice_agent *a, uint64_t now)
{
	uint64_t next = ICE_NEVER;
	for (unsigned i = 0; i < a->cl.n; i++) {
		struct ice_pair *p = &a->cl.pairs[i];
		if (!p->tx_active)
			continue;
		if (now >= p->tx_next_ms) {
			if (p->tx_count >= a->cfg.max_tx) {
				/* RFC 8489 §6.2.1: no answer after Rc requests
				 * and Rm*RTO: the transaction failed, and with
				 * it the pair (RFC 8445 §7.2.5.2.2). */
				p->tx_active = false;
				p->state = ICE_PAIR_FAILED;
				if (p->nominate_pending)
					a->comps[p->component].nominating = false;
				if (icei_pair_is_tcp(a, p))
					icei_tcp_fail_pair(a, p);
				continue;
			}
			p->tx_count++;
			/* RFC 8489 §6.2.2: over TCP "there are no retransmissions
			 * at the STUN protocol level"; the transaction still
			 * gives up when a UDP one would, so TCP checks fail on
			 * the same (configurable) schedule. */
			if (!icei_pair_is_tcp(a, p))
				icei_send_pair_request(a, p);
			if (p->tx_count >= a->cfg.max_tx)
				p->tx_next_ms = now + (uint64_t)p->tx_rto_ms * a->cfg.rm;
			else
				p->tx_next_ms = now + ((uint64_t)p->tx_rto_ms << (p->tx_count - 1));
		}
		next = min64(next, p->tx_next_ms);
	}
	for (unsigned i = 0; i < a->ngtx; i++) {
		struct gather_tx *g = &a->gtx[i];
		if (g->done || g->count == 0)
			continue;
		if (now >= g->next_ms || now >= a->gather_start_ms + a->cfg.gather_timeout_ms) {
			if (g->count >= a->cfg.max_tx ||
			    now >= a->gather_start_ms + a->cfg.gather_timeout_ms) {
				g->done = true;
				icei_logf(a, "STUN server %u did not answer", g->server);
				icei_gather_check_done(a);
				continue;
			}
			icei_send_gather(a, g, now);
		}
		next = min64(next, g->next_ms);
		next = min64(next, a->gather_start_ms + a->cfg.gather_timeout_ms);
	}
	return next;
}

static uint64_t tick_consent(struct ice_agent *a, uint64_t now)
{
	uint64_t next = ICE_NEVER;
	if (a->cfg.keepalive_ms == UINT32_MAX)
		return next;
	for (unsigned c = 1; c <= a->cfg.components; c++) {
		struct comp *cp = &a->comps[c];
		uint8_t buf[MSG_MAX];
		long n;
		if (!cp->selected || cp->lost || cp->sel_pl < 0)
			continue;
		/* RFC 7675 §5.1: "if no consent is received within 30
		 * seconds, consent has expired" — the agent stops sending
		 * and the harness hears "consent-lost". */
		if (now >= cp->consent_ok_ms + a->cfg.consent_timeout_ms) {
			struct ice_event ev = {.type = ICE_EV_CONSENT_LOST,
					       .component = c,
					       .local = &cp->sel_l,
					       .remote = &cp->sel_r};
			cp->lost = true;
			icei_emit(a, &ev);
			icei_set_state(a, ICE_STATE_DISCONNECTED);
			continue;
		}
		if (now >= cp->consent_next_ms) {
			/* RFC 7675 §5.1: consent requests at randomized
			 * intervals ("0.8 to 1.2 times the basic period") so
			 * peers do not synchronise; they are Binding requests
			 * like checks, so they are also RFC 8445 §11
			 * keepalives. */
			uint64_t jitter = a->cfg.keepalive_ms / 5;
			uint64_t span = 2 * jitter + 1;
			icei_new_txid(a, cp->ctxid);
			cp->ctx_active = true;
			n = icei_build_request(a, cp->ctxid, &cp->sel_l, false, a->controlling, buf,
					       sizeof(buf));
			if (n > 0)
				a->io.send(a->io.ctx, cp->sel_l.base_id, &cp->sel_r.addr, buf,
					   (size_t)n);
			cp->consent_next_ms =
			    now + a->cfg.keepalive_ms - jitter + icei_rng_next(a) % span;
		}
		next = min64(next, cp->consent_next_ms);
		next = min64(next, cp->consent_ok_ms + a->cfg.consent_timeout_ms);
	}
	return next;
}

uint64_t ice_agent_tick(struct ice_agent *a, uint64_t now_ms)
{
	uint64_t next;

	icei_maybe_nominate(a, now_ms);
	next = tick_retransmit(a, now_ms);
	next = min64(next, tick_pacing(a, now_ms));
	next = min64(next, tick_consent(a, now_ms));
	next = min64(next, icei_nominate_deadline(a));
	check_failure(a);
	if (a->state == ICE_STATE_CONNECTED && checks_finished(a) &&
	    ice_checklist_count(&a->cl, ICE_PAIR_WAITING) == 0) {
		icei_set_state(a, ICE_STATE_COMPLETED);
		/* TCP connections of pairs not selected are no longer needed
		 * (RFC 6544: once ICE completes, an agent may close them) */
		icei_tcp_close_unused(a, false);
	}
	/* A restart or a new pair may have made pacing due again. */
	if (a->next_pace_ms != ICE_NEVER)
		next = min64(next, a->next_pace_ms);
	return next;
}

int ice_agent_send(struct ice_agent *a, unsigned component, const uint8_t *buf, size_t len,
		   uint64_t now_ms)
{
	struct comp *cp;
	if (component < 1 || component > a->cfg.components)
		return -EINVAL;
	cp = &a->comps[component];
	/* RFC 7675 §5.1: after consent expires "the agent MUST cease
	 * transmission on that 5-tuple". */
	if (!cp->selected || cp->lost)
		return -ENOTCONN;
	a->io.send(a->io.ctx, cp->sel_l.base_id, &cp->sel_r.addr, buf, len);
	(void)now_ms;
	return 0;
}

/* ---- restart (RFC 8445 §9) ------------------------------------------------ */

void icei_restart(struct ice_agent *a, bool relay_pending, bool regather, uint64_t now)
{
	unsigned k = 0;
	struct ice_event ev = {.type = ICE_EV_RESTARTED};

	icei_new_credentials(a);
	a->have_remote = false;
	a->remote_done = false;
	a->rufrag[0] = '\0';
	a->rpwd[0] = '\0';
	/* Keep the bases (hosts, relays); reflexive candidates are learned
	 * again. */
	for (unsigned i = 0; i < a->nlocals; i++)
		if (icei_local_pairs(&a->locals[i]))
			a->locals[k++] = a->locals[i];
	a->nlocals = k;
	a->nremotes = 0;
	a->cl.n = 0;
	a->tq_n = 0;
	a->nearly = 0;
	/* TCP connections: only the selected pair's stays, carrying data
	 * until the new selection (checks will open new ones) */
	icei_tcp_close_unused(a, false);
	a->failed_reported = false;
	for (unsigned c = 1; c <= a->cfg.components; c++) {
		struct comp *cp = &a->comps[c];
		/* RFC 8445 §9: "the agent MUST ... continue to use the
		 * previously selected pair until a new one is selected"; the
		 * old pair keeps carrying data but is no longer checked. */
		cp->sel_pl = -1;
		cp->sel_pr = -1;
		cp->nominating = false;
		cp->first_valid_ms = 0;
		cp->ctx_active = false;
	}
	a->state = ICE_STATE_NEW;
	if (regather && a->io.regather) {
		/* RFC 8445 §9: "the agent MUST gather new candidates": the
		 * bases go too, so an address that disappeared (a host that
		 * roamed) is no longer a candidate and a new one becomes
		 * one. Nothing may refer to the old locals from here on. */
		a->nlocals = 0;
		a->ngtx = 0;
		a->gathering = false;
		a->gather_complete = false;
	}
	icei_emit(a, &ev);
	if (!regather)
		return;
	if (a->io.regather)
		relay_pending = a->io.regather(a->io.ctx, now);
	ice_agent_gather(a, relay_pending, now);
}

void ice_agent_restart(struct ice_agent *a, bool relay_pending, uint64_t now_ms)
{
	icei_restart(a, relay_pending, true, now_ms);
}

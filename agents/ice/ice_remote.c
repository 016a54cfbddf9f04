/* ice_remote.c - the peer's description in the agent (RFC 8445 §5.3,
 * §6.1): its credentials (a change of which is the peer's ICE restart,
 * §9), its candidates, trickled or not (RFC 8838), and the checks that
 * arrived before it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "agents/ice/ice_priv.h"

static void start_checking(struct ice_agent *a, uint64_t now)
{
	ice_checklist_unfreeze_initial(&a->cl);
	if (a->state == ICE_STATE_NEW || a->state == ICE_STATE_GATHERING)
		icei_set_state(a, ICE_STATE_CHECKING);
	if (a->next_pace_ms == ICE_NEVER || a->next_pace_ms == 0 || a->next_pace_ms < now)
		a->next_pace_ms = now;
}

/* RFC 8445 §7.3: a check may arrive before the peer's description; it is
 * answered at once, but the triggered check it calls for (§7.3.1.4) needs
 * the peer's password, and its USE-CANDIDATE (§7.3.1.5) a pair to mark.
 * Both wait here for ice_agent_set_remote. Without this, a controlled
 * agent whose peer nominated before the description arrived (a peer whose
 * own gathering finished first) never learnt of the nomination and never
 * selected. */
void icei_record_early(struct ice_agent *a, int li, int ri, int conn, bool use_cand)
{
	for (unsigned i = 0; i < a->nearly; i++) {
		struct early_req *e = &a->early[i];
		if (e->local == li && e->remote == ri) {
			e->use_cand = e->use_cand || use_cand;
			e->conn = conn;
			return;
		}
	}
	if (a->nearly == ICE_CHECKLIST_MAX)
		return;
	a->early[a->nearly++] = (struct early_req){li, ri, conn, use_cand};
}

static void replay_early(struct ice_agent *a)
{
	for (unsigned i = 0; i < a->nearly; i++) {
		const struct early_req *e = &a->early[i];
		struct ice_pair *p;
		int pi = ice_checklist_find(&a->cl, e->local, e->remote);
		if (pi < 0)
			pi = ice_checklist_add(&a->cl, a->locals, e->local, a->remotes, e->remote,
					       a->controlling);
		if (pi < 0)
			continue;
		p = &a->cl.pairs[pi];
		if (e->conn >= 0 && icei_tcp_conn(a, e->conn))
			icei_tcp_bind_pair(a, p, e->conn);
		if (e->use_cand && !a->controlling)
			p->use_cand_rx = true;
		if (p->state == ICE_PAIR_SUCCEEDED || p->state == ICE_PAIR_IN_PROGRESS)
			continue;
		p->state = ICE_PAIR_WAITING;
		icei_tq_push(a, p->local, p->remote);
	}
	a->nearly = 0;
}

static bool valid_cred(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);
	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '+' || ch == '/'))
			return false;
	}
	return true;
}

int ice_agent_set_remote(struct ice_agent *a, const char *ufrag, const char *pwd, uint64_t now_ms)
{
	/* RFC 8839 §5.4: ice-ufrag 4..256 ice-chars, ice-pwd 22..256. */
	if (!valid_cred(ufrag, 4, ICE_CRED_MAX) || !valid_cred(pwd, 22, ICE_CRED_MAX))
		return -EINVAL;
	if (a->have_remote && (strcmp(ufrag, a->rufrag) != 0 || strcmp(pwd, a->rpwd) != 0)) {
		/* RFC 8445 §9: "an ICE restart ... indicated by a change in
		 * ufrag and pwd"; the agent that sees it restarts too. */
		icei_logf(a, "peer restarted: restarting");
		icei_restart(a, a->relay_pending, true, now_ms);
	}
	snprintf(a->rufrag, sizeof(a->rufrag), "%s", ufrag);
	snprintf(a->rpwd, sizeof(a->rpwd), "%s", pwd);
	if (!a->have_remote) {
		a->have_remote = true;
		/* Pairs learned from early checks (prflx remotes) now get
		 * their locals ... */
		for (unsigned r = 0; r < a->nremotes; r++)
			icei_pair_remote_with_locals(a, (int)r);
		/* ... and what those checks asked for is done now. */
		replay_early(a);
	}
	if (!a->cfg.trickle && a->nremotes > 0)
		a->remote_done = false;
	start_checking(a, now_ms);
	return 0;
}

int ice_agent_add_remote(struct ice_agent *a, const struct ice_candidate *c, uint64_t now_ms)
{
	int ri = -1;

	if (c->component < 1 || c->component > a->cfg.components)
		return -EINVAL;
	for (unsigned i = 0; i < a->nremotes; i++) {
		struct ice_candidate *r = &a->remotes[i];
		if (r->component == c->component && r->transport == c->transport &&
		    ice_addr_equal(&r->addr, &c->addr)) {
			if (r->type != ICE_CAND_PRFLX)
				return -EEXIST;
			/* RFC 8838 §11 / RFC 8445 §7.3.1.3: a signalled
			 * candidate replaces the peer-reflexive one learned
			 * earlier; its pairs keep their states. */
			*r = *c;
			ice_checklist_reprioritize(&a->cl, a->locals, a->remotes, a->controlling);
			return 0;
		}
	}
	if (a->nremotes == ICE_REMOTES_MAX)
		return -ENOSPC;
	a->remotes[a->nremotes] = *c;
	ri = (int)a->nremotes++;
	if (a->have_remote) {
		icei_pair_remote_with_locals(a, ri);
		start_checking(a, now_ms);
	}
	return 0;
}

void ice_agent_remote_done(struct ice_agent *a, uint64_t now_ms)
{
	a->remote_done = true;
	(void)now_ms;
}

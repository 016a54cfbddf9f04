/* checklist.c - RFC 8445 §6.1.2 check lists. */
#include "agents/ice/checklist.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

uint64_t ice_pair_priority(uint32_t g, uint32_t d)
{
	/* RFC 8445 §6.1.2.3: "pair priority = 2^32*MIN(G,D) + 2*MAX(G,D) +
	 * (G>D?1:0)" */
	uint64_t mn = g < d ? g : d;
	uint64_t mx = g < d ? d : g;
	return (mn << 32) + 2 * mx + (g > d ? 1 : 0);
}

static uint64_t pair_prio(const struct ice_local *l, const struct ice_candidate *r,
			  bool controlling)
{
	return controlling ? ice_pair_priority(l->c.priority, r->priority)
			   : ice_pair_priority(r->priority, l->c.priority);
}

static bool pairable(const struct ice_local *l, const struct ice_candidate *r)
{
	if (l->c.component != r->component || l->c.transport != r->transport)
		return false;
	/* RFC 8445 §6.1.2.2: "A local candidate is paired with a remote
	 * candidate if and only if the two candidates have the same component
	 * ID and have the same IP address version." */
	if (l->c.addr.sa.sa_family != r->addr.sa.sa_family)
		return false;
	/* RFC 6544 §6.2: an active candidate pairs with a passive one, S-O
	 * with S-O. */
	if (l->c.transport == ICE_TRANSPORT_TCP) {
		if (l->c.tcptype == ICE_TCP_ACTIVE)
			return r->tcptype == ICE_TCP_PASSIVE;
		if (l->c.tcptype == ICE_TCP_PASSIVE)
			return r->tcptype == ICE_TCP_ACTIVE;
		return l->c.tcptype == ICE_TCP_SO && r->tcptype == ICE_TCP_SO;
	}
	/* Link-local addresses only reach link-local addresses. */
	if (ice_addr_is_link_local(&l->c.addr) != ice_addr_is_link_local(&r->addr))
		return false;
	return true;
}

static void sort_pairs(struct ice_checklist *cl)
{
	/* Insertion sort: lists are short (≤ 100) and nearly sorted. RFC
	 * 8445 §6.1.2.3: "the agent ... orders the pairs in decreasing order
	 * of pair priority". Ties broken by component so RTP goes first. */
	for (unsigned i = 1; i < cl->n; i++) {
		struct ice_pair p = cl->pairs[i];
		unsigned j = i;
		while (j > 0 && (cl->pairs[j - 1].priority < p.priority ||
				 (cl->pairs[j - 1].priority == p.priority &&
				  cl->pairs[j - 1].component > p.component))) {
			cl->pairs[j] = cl->pairs[j - 1];
			j--;
		}
		cl->pairs[j] = p;
	}
}

int ice_checklist_find(const struct ice_checklist *cl, int local, int remote)
{
	for (unsigned i = 0; i < cl->n; i++)
		if (cl->pairs[i].local == local && cl->pairs[i].remote == remote)
			return (int)i;
	return -1;
}

int ice_checklist_add(struct ice_checklist *cl, const struct ice_local *locals, int local,
		      const struct ice_candidate *remotes, int remote, bool controlling)
{
	const struct ice_local *l = &locals[local];
	const struct ice_candidate *r = &remotes[remote];
	struct ice_pair p;
	int i;

	if (!pairable(l, r))
		return -EINVAL;
	memset(&p, 0, sizeof(p));
	/* RFC 8445 §6.1.2.4: "the agent MUST prune the list. This is done by
	 * removing a pair if its local and remote candidates are identical to
	 * the local and remote candidates of a pair higher up on the priority
	 * list" after replacing "each server-reflexive local candidate ...
	 * with its base". The caller passes @local as the base's index for
	 * reflexive candidates (ice.c keeps host bases at the same index as
	 * their socket); here a reflexive or relayed candidate whose base
	 * equals its own address is the same thing, so the address match
	 * below covers both. */
	p.local = local;
	p.remote = remote;
	p.component = l->c.component;
	p.priority = pair_prio(l, r, controlling);
	p.state = ICE_PAIR_FROZEN;
	p.valid_local = -1;
	p.conn = -1;
	snprintf(p.foundation, sizeof(p.foundation), "%s:%s", l->c.foundation, r->foundation);
	for (unsigned k = 0; k < cl->n; k++) {
		const struct ice_pair *q = &cl->pairs[k];
		const struct ice_local *ql = &locals[q->local];
		if (q->remote == remote && ql->base_id == l->base_id &&
		    ice_addr_equal(&ql->base, &l->base) && ql->c.type != ICE_CAND_RELAY &&
		    l->c.type != ICE_CAND_RELAY)
			return -EEXIST;
	}
	if (cl->n == ICE_CHECKLIST_MAX) {
		/* Drop the lowest-priority Frozen pair to make room, if the
		 * new one beats it. */
		struct ice_pair *last = &cl->pairs[cl->n - 1];
		if (last->priority >= p.priority || last->state != ICE_PAIR_FROZEN)
			return -ENOSPC;
		cl->n--;
	}
	cl->pairs[cl->n++] = p;
	sort_pairs(cl);
	i = ice_checklist_find(cl, local, remote);
	return i;
}

void ice_checklist_reprioritize(struct ice_checklist *cl, const struct ice_local *locals,
				const struct ice_candidate *remotes, bool controlling)
{
	for (unsigned i = 0; i < cl->n; i++)
		cl->pairs[i].priority = pair_prio(&locals[cl->pairs[i].local],
						  &remotes[cl->pairs[i].remote], controlling);
	sort_pairs(cl);
}

void ice_checklist_unfreeze_initial(struct ice_checklist *cl)
{
	for (unsigned i = 0; i < cl->n; i++) {
		struct ice_pair *best = NULL;
		bool seen = false;
		if (cl->pairs[i].state != ICE_PAIR_FROZEN)
			continue;
		/* Is this foundation already unfrozen somewhere? */
		for (unsigned k = 0; k < cl->n; k++)
			if (strcmp(cl->pairs[k].foundation, cl->pairs[i].foundation) == 0 &&
			    cl->pairs[k].state != ICE_PAIR_FROZEN)
				seen = true;
		if (seen)
			continue;
		for (unsigned k = 0; k < cl->n; k++) {
			struct ice_pair *q = &cl->pairs[k];
			if (strcmp(q->foundation, cl->pairs[i].foundation) != 0)
				continue;
			/* "ordered by the lowest component ID and then the
			 * highest priority if component IDs are equal" */
			if (!best || q->component < best->component ||
			    (q->component == best->component && q->priority > best->priority))
				best = q;
		}
		best->state = ICE_PAIR_WAITING;
	}
}

void ice_checklist_unfreeze_foundation(struct ice_checklist *cl, const char *foundation)
{
	for (unsigned i = 0; i < cl->n; i++)
		if (cl->pairs[i].state == ICE_PAIR_FROZEN &&
		    strcmp(cl->pairs[i].foundation, foundation) == 0)
			cl->pairs[i].state = ICE_PAIR_WAITING;
}

int ice_checklist_next_ordinary(struct ice_checklist *cl)
{
	/* Pairs are sorted: the first Waiting one has the highest priority. */
	for (unsigned i = 0; i < cl->n; i++)
		if (cl->pairs[i].state == ICE_PAIR_WAITING)
			return (int)i;
	/* RFC 8445 §6.1.4.2: "If there is no pair in the Waiting state, and
	 * if there are one or more pairs in the Frozen state, the agent checks
	 * the foundation associated with each pair in the Frozen state. For a
	 * given foundation, if there is no pair (in any checklist in the
	 * checklist set) in the Waiting or In-Progress state, the agent puts
	 * the candidate pair state to Waiting". */
	for (unsigned i = 0; i < cl->n; i++) {
		bool busy = false;
		if (cl->pairs[i].state != ICE_PAIR_FROZEN)
			continue;
		for (unsigned k = 0; k < cl->n; k++)
			if (strcmp(cl->pairs[k].foundation, cl->pairs[i].foundation) == 0 &&
			    (cl->pairs[k].state == ICE_PAIR_WAITING ||
			     cl->pairs[k].state == ICE_PAIR_IN_PROGRESS))
				busy = true;
		if (!busy) {
			cl->pairs[i].state = ICE_PAIR_WAITING;
			return (int)i;
		}
	}
	return -1;
}

unsigned ice_checklist_count(const struct ice_checklist *cl, enum ice_pair_state s)
{
	unsigned n = 0;
	for (unsigned i = 0; i < cl->n; i++)
		if (cl->pairs[i].state == s)
			n++;
	return n;
}

const char *ice_pair_state_name(enum ice_pair_state s)
{
	static const char *const names[] = {"frozen", "waiting", "in-progress", "succeeded",
					    "failed"};
	return (unsigned)s < 5 ? names[s] : "?";
}

/* ice_gather.c - local candidates and gathering (RFC 8445 §5.1). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agents/ice/ice_priv.h"

/* ---- locals --------------------------------------------------------------- */

static unsigned host_local_pref(const struct ice_agent *a, const union ice_addr *addr)
{
	/* RFC 8445 §5.1.2.1: with several host addresses "the local
	 * preference ... SHOULD be unique for each one"; here the caller's
	 * order (first is best), per IP, shared by the components. */
	unsigned distinct = 0;
	for (unsigned i = 0; i < a->nlocals; i++) {
		const struct ice_local *l = &a->locals[i];
		bool seen = false;
		if ((l->c.type != ICE_CAND_HOST && l->c.type != ICE_CAND_RELAY) ||
		    l->c.transport == ICE_TRANSPORT_TCP)
			continue;
		if (ice_addr_same_ip(&l->c.addr, addr))
			return (l->c.priority >> 8) & 0xffff;
		for (unsigned k = 0; k < i; k++)
			if ((a->locals[k].c.type == ICE_CAND_HOST ||
			     a->locals[k].c.type == ICE_CAND_RELAY) &&
			    a->locals[k].c.transport != ICE_TRANSPORT_TCP &&
			    ice_addr_same_ip(&a->locals[k].c.addr, &l->c.addr))
				seen = true;
		if (!seen)
			distinct++;
	}
	return distinct * 256 > 65535 ? 0 : 65535 - distinct * 256;
}

static void signal_local(struct ice_agent *a, int li)
{
	struct ice_event ev = {.type = ICE_EV_CANDIDATE, .cand = &a->locals[li].c};
	if (!a->locals[li].hidden && a->locals[li].c.type != ICE_CAND_PRFLX)
		icei_emit(a, &ev);
}

int icei_add_local(struct ice_agent *a, const struct ice_local *l)
{
	if (a->nlocals == ICE_LOCALS_MAX)
		return -ENOSPC;
	a->locals[a->nlocals] = *l;
	return (int)a->nlocals++;
}

int ice_agent_add_host(struct ice_agent *a, unsigned component, enum ice_transport tr,
		       const union ice_addr *addr, int base_id, uint64_t now_ms)
{
	struct ice_local l;
	int li;

	if (component < 1 || component > a->cfg.components)
		return -EINVAL;
	if (tr != ICE_TRANSPORT_UDP)
		return -EPROTONOSUPPORT;
	memset(&l, 0, sizeof(l));
	l.c.component = component;
	l.c.transport = tr;
	l.c.addr = *addr;
	l.c.type = ICE_CAND_HOST;
	l.c.priority =
	    ice_priority(ice_type_pref(ICE_CAND_HOST, tr), host_local_pref(a, addr), component);
	ice_foundation_make(l.c.foundation, ICE_CAND_HOST, addr, NULL, tr);
	/* RFC 8445 §5.1.1.1: "the base of a host candidate is the host
	 * candidate itself". */
	l.base = *addr;
	l.base_id = base_id;
	l.hidden = a->cfg.policy != ICE_POLICY_ALL;
	li = icei_add_local(a, &l);
	if (li < 0)
		return li;
	if (a->gathering || a->gather_complete)
		signal_local(a, li);
	if (a->have_remote)
		icei_pair_local_with_remotes(a, li);
	(void)now_ms;
	return li;
}

/* A candidate gathered after the peer's description may be the one that
 * works: announce it, pair it with the remote candidates, and let its
 * pairs start (RFC 8445 §6.1.2.6 unfreezing, §6.1.4.2 pacing). Returns
 * its index or a negative errno. */
static int add_and_pair(struct ice_agent *a, const struct ice_local *l, uint64_t now_ms)
{
	int li = icei_add_local(a, l);

	if (li < 0)
		return li;
	if (a->gathering || a->gather_complete)
		signal_local(a, li);
	if (a->have_remote) {
		icei_pair_local_with_remotes(a, li);
		ice_checklist_unfreeze_initial(&a->cl);
		if (a->next_pace_ms == ICE_NEVER)
			a->next_pace_ms = now_ms;
	}
	return li;
}

/* RFC 6544 §4.2 other-pref: "If any two candidates have the same
 * type-preference and direction-pref, they MUST have a unique other-pref
 * ... other-pref is the preference for the particular IP address from which
 * the candidate was obtained. When there is only a single IP address, this
 * value SHOULD be set to the maximum allowed value (8191)." Here: 8191 for
 * the first IP, one less for each further one, in the caller's order. */
static unsigned tcp_other_pref(const struct ice_agent *a, unsigned component, enum ice_tcptype tt,
			       const union ice_addr *addr)
{
	unsigned distinct = 0;
	for (unsigned i = 0; i < a->nlocals; i++) {
		const struct ice_local *l = &a->locals[i];
		if (l->c.type != ICE_CAND_HOST || l->c.transport != ICE_TRANSPORT_TCP ||
		    l->c.component != component || l->c.tcptype != tt)
			continue;
		if (ice_addr_same_ip(&l->c.addr, addr))
			return (l->c.priority >> 8) & 0x1fff;
		distinct++;
	}
	return distinct > 8191 ? 0 : 8191 - distinct;
}

int ice_agent_add_tcp_host(struct ice_agent *a, unsigned component, enum ice_tcptype tcptype,
			   const union ice_addr *addr, int base_id, uint64_t now_ms)
{
	struct ice_local l;

	if (component < 1 || component > a->cfg.components)
		return -EINVAL;
	if (tcptype != ICE_TCP_ACTIVE && tcptype != ICE_TCP_PASSIVE)
		return -EINVAL;
	if (!a->io.tcp_connect || !a->io.tcp_close)
		return -EOPNOTSUPP;
	memset(&l, 0, sizeof(l));
	l.c.component = component;
	l.c.transport = ICE_TRANSPORT_TCP;
	l.c.tcptype = tcptype;
	l.c.addr = *addr;
	/* RFC 6544 §4.5: an active candidate's port is meaningless (its
	 * connections get theirs from the kernel) and is signalled as 9,
	 * the discard port. */
	if (tcptype == ICE_TCP_ACTIVE)
		ice_addr_set_port(&l.c.addr, 9);
	l.c.type = ICE_CAND_HOST;
	l.c.priority = ice_priority(
	    ice_type_pref(ICE_CAND_HOST, ICE_TRANSPORT_TCP),
	    ice_tcp_local_pref(ICE_CAND_HOST, tcptype, tcp_other_pref(a, component, tcptype, addr)),
	    component);
	ice_foundation_make(l.c.foundation, ICE_CAND_HOST, addr, NULL, ICE_TRANSPORT_TCP);
	l.base = l.c.addr;
	l.base_id = base_id;
	l.hidden = a->cfg.policy != ICE_POLICY_ALL;
	return add_and_pair(a, &l, now_ms);
}

/* RFC 8445 §5.1.2.1: "If there are multiple candidates for a particular
 * component, the local preference MUST be unique for each one". Relayed
 * candidates of one TURN server share its IP, so the per-IP rule of hosts
 * would make them equal: rank them by how the server is reached (the
 * 0x2000 steps), then by arrival. */
static unsigned relay_local_pref(const struct ice_agent *a, unsigned component,
				 enum ice_relay_via via)
{
	unsigned n = 0;
	for (unsigned i = 0; i < a->nlocals; i++)
		if (a->locals[i].c.type == ICE_CAND_RELAY && a->locals[i].c.component == component)
			n++;
	if (n > 0x1fff)
		n = 0x1fff;
	return (unsigned)via * 0x2000u + (0x1fffu - n);
}

int ice_agent_add_relay(struct ice_agent *a, unsigned component, const union ice_addr *relayed,
			const union ice_addr *server, const union ice_addr *mapped,
			enum ice_relay_via via, int base_id, uint64_t now_ms)
{
	struct ice_local l;

	if (component < 1 || component > a->cfg.components)
		return -EINVAL;
	memset(&l, 0, sizeof(l));
	l.c.component = component;
	l.c.transport = ICE_TRANSPORT_UDP;
	l.c.addr = *relayed;
	l.c.type = ICE_CAND_RELAY;
	l.c.priority = ice_priority(ice_type_pref(ICE_CAND_RELAY, ICE_TRANSPORT_UDP),
				    relay_local_pref(a, component, via), component);
	ice_foundation_make_relay(l.c.foundation, relayed, server, via);
	if (mapped) {
		l.c.has_related = true;
		l.c.related = *mapped;
	}
	/* RFC 8445 §5.1.1.2: "the base of a relayed candidate is that
	 * candidate itself". */
	l.base = *relayed;
	l.base_id = base_id;
	return add_and_pair(a, &l, now_ms);
}

int icei_find_local_by_base(const struct ice_agent *a, int base_id)
{
	/* a TCP connection belongs to the base that opened or accepted it */
	for (unsigned i = 0; i < ICE_TCP_CONNS_MAX; i++)
		if (a->tconns[i].used && a->tconns[i].conn == base_id) {
			base_id = a->tconns[i].base_id;
			break;
		}
	for (unsigned i = 0; i < a->nlocals; i++)
		if (a->locals[i].base_id == base_id && icei_local_pairs(&a->locals[i]))
			return (int)i;
	return -1;
}

/* ---- gathering ------------------------------------------------------------ */

void icei_gather_check_done(struct ice_agent *a)
{
	struct ice_event ev = {.type = ICE_EV_GATHERING_DONE};
	if (!a->gathering || a->relay_pending)
		return;
	for (unsigned i = 0; i < a->ngtx; i++)
		if (!a->gtx[i].done)
			return;
	a->gathering = false;
	a->gather_complete = true;
	icei_emit(a, &ev);
}

void ice_agent_gather(struct ice_agent *a, bool relay_pending, uint64_t now_ms)
{
	a->gathering = true;
	a->gather_start_ms = now_ms;
	a->gather_complete = false;
	a->relay_pending = relay_pending;
	a->ngtx = 0;
	if (a->state == ICE_STATE_NEW)
		icei_set_state(a, ICE_STATE_GATHERING);
	for (unsigned i = 0; i < a->nlocals; i++) {
		/* relays kept across a restart are signalled again with the
		 * new credentials */
		if (a->locals[i].c.type == ICE_CAND_RELAY)
			signal_local(a, (int)i);
		if (a->locals[i].c.type != ICE_CAND_HOST)
			continue;
		signal_local(a, (int)i);
		/* (TCP host candidates get no server-reflexive ones here: that
		 * would take STUN over TCP, RFC 6544 §5.2) */
		if (a->locals[i].c.transport == ICE_TRANSPORT_TCP)
			continue;
		/* RFC 8445 §5.1.1.2: server-reflexive candidates come from a
		 * Binding request from each host base to each STUN server of
		 * the same address family. */
		for (unsigned s = 0; s < a->cfg.n_stun && a->ngtx < GATHER_MAX; s++) {
			struct gather_tx *g = &a->gtx[a->ngtx];
			if (a->cfg.policy == ICE_POLICY_RELAY ||
			    a->cfg.stun[s].sa.sa_family != a->locals[i].c.addr.sa.sa_family ||
			    ice_addr_is_loopback(&a->locals[i].c.addr) !=
				ice_addr_is_loopback(&a->cfg.stun[s]))
				continue;
			memset(g, 0, sizeof(*g));
			g->local = (int)i;
			g->server = s;
			icei_new_txid(a, g->txid);
			g->rto_ms = a->cfg.rto_ms;
			g->next_ms = now_ms;
			a->ngtx++;
		}
	}
	if (a->next_pace_ms == 0 || a->next_pace_ms == ICE_NEVER || a->next_pace_ms < now_ms)
		a->next_pace_ms = now_ms;
	icei_gather_check_done(a);
}

void ice_agent_gather_done(struct ice_agent *a, uint64_t now_ms)
{
	a->relay_pending = false;
	icei_gather_check_done(a);
	(void)now_ms;
}

void icei_send_gather(struct ice_agent *a, struct gather_tx *g, uint64_t now)
{
	uint8_t buf[MSG_MAX];
	struct stun_builder b;
	long n;

	stun_builder_init(&b, buf, sizeof(buf),
			  stun_type_make(STUN_CLASS_REQUEST, STUN_METHOD_BINDING), g->txid);
	stun_builder_add_fingerprint(&b);
	n = stun_builder_finish(&b);
	g->count++;
	/* RFC 8489 §6.2.1: RTO doubles after each retransmission; the last
	 * request is followed by Rm*RTO of waiting. */
	if (g->count >= a->cfg.max_tx)
		g->next_ms = now + (uint64_t)a->cfg.rto_ms * a->cfg.rm;
	else
		g->next_ms = now + ((uint64_t)a->cfg.rto_ms << (g->count - 1));
	if (n > 0)
		a->io.send(a->io.ctx, a->locals[g->local].base_id, &a->cfg.stun[g->server], buf,
			   (size_t)n);
}

void icei_on_gather_response(struct ice_agent *a, struct gather_tx *g, const struct stun_msg *m,
			     uint64_t now)
{
	struct stun_addr sa;
	union ice_addr mapped;
	struct ice_local l;
	const struct ice_local *host = &a->locals[g->local];
	int li;

	g->done = true;
	/* RFC 8489 §6.3.3: a success response with unknown
	 * comprehension-required attributes is discarded and the transaction
	 * has failed (no server-reflexive candidate from it) */
	if (m->cls != STUN_CLASS_SUCCESS || m->n_unknown ||
	    stun_msg_get_xor_addr(m, STUN_ATTR_XOR_MAPPED_ADDRESS, &sa) < 0) {
		icei_gather_check_done(a);
		return;
	}
	icei_from_stun(&mapped, &sa);
	/* RFC 8445 §5.1.3: a server-reflexive candidate equal to its base is
	 * redundant ("eliminate redundant candidates"); so is one already
	 * known with the same base. */
	if (ice_addr_equal(&mapped, &host->c.addr))
		goto out;
	for (unsigned i = 0; i < a->nlocals; i++)
		if (a->locals[i].c.type == ICE_CAND_SRFLX &&
		    ice_addr_equal(&a->locals[i].c.addr, &mapped) &&
		    ice_addr_equal(&a->locals[i].base, &host->base))
			goto out;
	memset(&l, 0, sizeof(l));
	l.c.component = host->c.component;
	l.c.transport = host->c.transport;
	l.c.addr = mapped;
	l.c.type = ICE_CAND_SRFLX;
	l.c.priority = ice_priority(ice_type_pref(ICE_CAND_SRFLX, l.c.transport),
				    (host->c.priority >> 8) & 0xffff, l.c.component);
	ice_foundation_make(l.c.foundation, ICE_CAND_SRFLX, &host->base, &a->cfg.stun[g->server],
			    l.c.transport);
	l.c.has_related = true;
	l.c.related = host->base;
	l.base = host->base;
	l.base_id = host->base_id;
	li = icei_add_local(a, &l);
	if (li >= 0)
		signal_local(a, li);
out:
	(void)now;
	icei_gather_check_done(a);
}

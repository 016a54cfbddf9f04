/* ice_tcp.c - TCP candidates (RFC 6544) in the agent state machine: the
 * connections checks and data travel on, pairing rules, priorities.
 *
 * The machine stays pure: it asks the caller to open a connection
 * (io->tcp_connect) and to close one (io->tcp_close); the caller reports
 * what the network did (ice_agent_tcp_accepted/_connected/_closed) and
 * feeds every message that arrives on a connection to ice_agent_recv()
 * with the connection's handle as the base id. A TCP pair remembers its
 * connection (struct ice_pair.conn); once selected, the connection carries
 * the data (the selected local's base_id is the handle).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "agents/ice/ice_priv.h"

bool icei_pair_is_tcp(const struct ice_agent *a, const struct ice_pair *p)
{
	return a->locals[p->local].c.transport == ICE_TRANSPORT_TCP;
}

/* RFC 6544 §6.2: "When the agent prunes the check list, it MUST also
 * remove any pair for which the local candidate is a passive TCP
 * candidate": a passive candidate cannot open a connection, so its pairs
 * enter the list only through a check that arrives on a connection it
 * accepted (RFC 8445 §7.3.1.4), and are checked back over that
 * connection. */
bool icei_local_checkable(const struct ice_local *l)
{
	return !(l->c.transport == ICE_TRANSPORT_TCP && l->c.tcptype == ICE_TCP_PASSIVE);
}

struct tcp_conn *icei_tcp_conn(struct ice_agent *a, int conn)
{
	if (conn < 0)
		return NULL;
	for (unsigned i = 0; i < ICE_TCP_CONNS_MAX; i++)
		if (a->tconns[i].used && a->tconns[i].conn == conn)
			return &a->tconns[i];
	return NULL;
}

static struct tcp_conn *conn_add(struct ice_agent *a, int conn, int base_id,
				 const union ice_addr *peer, bool open)
{
	for (unsigned i = 0; i < ICE_TCP_CONNS_MAX; i++) {
		struct tcp_conn *tc = &a->tconns[i];
		if (tc->used)
			continue;
		memset(tc, 0, sizeof(*tc));
		tc->used = true;
		tc->open = open;
		tc->conn = conn;
		tc->base_id = base_id;
		tc->peer = *peer;
		return tc;
	}
	return NULL;
}

/* Whether @conn still serves: a selected pair's data (also the old pair
 * during a restart, RFC 8445 §9) or, with @pairs, a pair of the list. */
static bool conn_in_use(const struct ice_agent *a, int conn, bool pairs)
{
	for (unsigned c = 1; c <= a->cfg.components; c++)
		if (a->comps[c].selected && !a->comps[c].lost && a->comps[c].sel_l.base_id == conn)
			return true;
	for (unsigned i = 0; pairs && i < a->cl.n; i++)
		if (a->cl.pairs[i].conn == conn && a->cl.pairs[i].state != ICE_PAIR_FAILED)
			return true;
	return false;
}

static void conn_close(struct ice_agent *a, struct tcp_conn *tc)
{
	int conn = tc->conn;
	tc->used = false;
	for (unsigned i = 0; i < a->cl.n; i++)
		if (a->cl.pairs[i].conn == conn)
			a->cl.pairs[i].conn = -1;
	if (a->io.tcp_close)
		a->io.tcp_close(a->io.ctx, conn);
}

void icei_tcp_close_unused(struct ice_agent *a, bool keep_checking)
{
	for (unsigned i = 0; i < ICE_TCP_CONNS_MAX; i++) {
		struct tcp_conn *tc = &a->tconns[i];
		if (tc->used && !conn_in_use(a, tc->conn, keep_checking))
			conn_close(a, tc);
	}
}

uint32_t icei_tcp_prflx_priority(const struct ice_local *l)
{
	/* RFC 8445 §7.1.1 PRIORITY: the priority of a peer-reflexive
	 * candidate of the same base; for TCP its local preference follows
	 * RFC 6544 §4.2 (direction-pref of a reflexive candidate, the
	 * other-pref of the base). */
	unsigned other = (l->c.priority >> 8) & 0x1fff;
	return ice_priority(ice_type_pref(ICE_CAND_PRFLX, ICE_TRANSPORT_TCP),
			    ice_tcp_local_pref(ICE_CAND_PRFLX, l->c.tcptype, other),
			    l->c.component);
}

void icei_tcp_fail_pair(struct ice_agent *a, struct ice_pair *p)
{
	int conn = p->conn;
	struct tcp_conn *tc;

	p->state = ICE_PAIR_FAILED;
	p->tx_active = false;
	p->old_active = false;
	if (p->nominate_pending)
		a->comps[p->component].nominating = false;
	p->conn = -1;
	tc = icei_tcp_conn(a, conn);
	if (tc && !conn_in_use(a, conn, true))
		conn_close(a, tc);
}

void icei_tcp_send(struct ice_agent *a, struct ice_pair *p, const uint8_t *buf, size_t len)
{
	const struct ice_local *l = &a->locals[p->local];
	const struct ice_candidate *r = &a->remotes[p->remote];
	struct tcp_conn *tc = icei_tcp_conn(a, p->conn);
	int conn;

	if (tc && tc->open) {
		a->io.send(a->io.ctx, tc->conn, &r->addr, buf, len);
		return;
	}
	if (tc)
		return; /* connecting: ice_agent_tcp_connected sends it */
	p->conn = -1;
	/* RFC 6544: the active side opens a TCP connection to the passive
	 * candidate and sends the check over it once it is up; a passive
	 * local candidate only checks over a connection it accepted, and that
	 * one is gone. */
	if (l->c.tcptype != ICE_TCP_ACTIVE || !a->io.tcp_connect) {
		icei_tcp_fail_pair(a, p);
		return;
	}
	conn = a->io.tcp_connect(a->io.ctx, l->base_id, &r->addr);
	if (conn < 0 || icei_tcp_conn(a, conn) || !conn_add(a, conn, l->base_id, &r->addr, false)) {
		icei_logf(a, "TCP connect for %s: %s", p->foundation,
			  conn < 0 ? strerror(-conn) : "no room");
		if (conn >= 0 && !icei_tcp_conn(a, conn) && a->io.tcp_close)
			a->io.tcp_close(a->io.ctx, conn);
		icei_tcp_fail_pair(a, p);
		return;
	}
	p->conn = conn;
}

int icei_tcp_learn_remote(struct ice_agent *a, int li, const union ice_addr *from,
			  uint32_t priority)
{
	const struct ice_local *l = &a->locals[li];
	/* The peer of a connection we opened is its passive candidate; the
	 * peer of one we accepted is an active candidate, whose port is
	 * whatever its connection got (it signalled port 9, RFC 6544 §4.5):
	 * such a one is recognised by its IP address alone. */
	enum ice_tcptype want = l->c.tcptype == ICE_TCP_ACTIVE ? ICE_TCP_PASSIVE : ICE_TCP_ACTIVE;
	struct ice_candidate c;

	for (unsigned i = 0; i < a->nremotes; i++) {
		const struct ice_candidate *r = &a->remotes[i];
		if (r->component != l->c.component || r->transport != ICE_TRANSPORT_TCP ||
		    r->tcptype != want)
			continue;
		if (want == ICE_TCP_ACTIVE ? ice_addr_same_ip(&r->addr, from)
					   : ice_addr_equal(&r->addr, from))
			return (int)i;
	}
	if (a->nremotes == ICE_REMOTES_MAX)
		return -ENOSPC;
	/* RFC 8445 §7.3.1.3 peer-reflexive remote candidate, with the
	 * tcptype the connection shows (RFC 6544). */
	memset(&c, 0, sizeof(c));
	snprintf(c.foundation, sizeof(c.foundation), "prflx%u", ++a->prflx_seq);
	c.component = l->c.component;
	c.transport = ICE_TRANSPORT_TCP;
	c.tcptype = want;
	c.priority = priority;
	c.addr = *from;
	c.type = ICE_CAND_PRFLX;
	a->remotes[a->nremotes] = c;
	icei_logf(a, "learned peer-reflexive TCP remote candidate");
	return (int)a->nremotes++;
}

void icei_tcp_bind_pair(struct ice_agent *a, struct ice_pair *p, int conn)
{
	struct tcp_conn *tc = icei_tcp_conn(a, p->conn);
	/* RFC 6544: the triggered check goes back over the connection
	 * the check came in on; a pair keeps a connection that works. */
	if (p->conn == conn || (tc && tc->open))
		return;
	p->conn = conn;
}

int icei_tcp_mapped_local(const struct ice_agent *a, int li, const union ice_addr *mapped)
{
	const struct ice_local *l = &a->locals[li];
	for (unsigned i = 0; i < a->nlocals; i++) {
		const struct ice_local *c = &a->locals[i];
		if (c->c.transport != ICE_TRANSPORT_TCP || c->c.tcptype != l->c.tcptype ||
		    c->base_id != l->base_id)
			continue;
		/* An active candidate's connections each get a port of their
		 * own: the mapped address is that candidate when its IP is
		 * (a NAT would have changed the IP, making it
		 * peer-reflexive). */
		if (l->c.tcptype == ICE_TCP_ACTIVE ? ice_addr_same_ip(&c->c.addr, mapped)
						   : ice_addr_equal(&c->c.addr, mapped))
			return (int)i;
	}
	return -1;
}

/* ---- the caller's reports ------------------------------------------------ */

void ice_agent_tcp_accepted(struct ice_agent *a, int base_id, int conn, const union ice_addr *peer,
			    uint64_t now_ms)
{
	int li = icei_find_local_by_base(a, base_id);
	(void)now_ms;
	if (li < 0 || a->locals[li].c.transport != ICE_TRANSPORT_TCP ||
	    a->locals[li].c.tcptype != ICE_TCP_PASSIVE || icei_tcp_conn(a, conn) ||
	    !conn_add(a, conn, base_id, peer, true)) {
		if (a->io.tcp_close)
			a->io.tcp_close(a->io.ctx, conn);
		return;
	}
	icei_logf(a, "TCP connection %d accepted", conn);
}

void ice_agent_tcp_connected(struct ice_agent *a, int conn, uint64_t now_ms)
{
	struct tcp_conn *tc = icei_tcp_conn(a, conn);
	(void)now_ms;
	if (!tc || tc->open)
		return;
	tc->open = true;
	icei_logf(a, "TCP connection %d established", conn);
	/* the checks that waited for it go out now */
	for (unsigned i = 0; i < a->cl.n; i++)
		if (a->cl.pairs[i].conn == conn && a->cl.pairs[i].tx_active)
			icei_send_pair_request(a, &a->cl.pairs[i]);
}

void ice_agent_tcp_closed(struct ice_agent *a, int conn, uint64_t now_ms)
{
	struct tcp_conn *tc = icei_tcp_conn(a, conn);
	(void)now_ms;
	if (!tc)
		return;
	tc->used = false;
	icei_logf(a, "TCP connection %d closed", conn);
	for (unsigned i = 0; i < a->cl.n; i++) {
		struct ice_pair *p = &a->cl.pairs[i];
		if (p->conn != conn)
			continue;
		p->conn = -1;
		/* RFC 6544: a check whose connection cannot be set up (or is
		 * lost before the answer) fails. */
		if (p->tx_active)
			icei_tcp_fail_pair(a, p);
	}
	for (unsigned c = 1; c <= a->cfg.components; c++) {
		struct comp *cp = &a->comps[c];
		struct ice_event ev = {.type = ICE_EV_CONSENT_LOST,
				       .component = c,
				       .local = &cp->sel_l,
				       .remote = &cp->sel_r};
		if (!cp->selected || cp->lost || cp->sel_l.base_id != conn)
			continue;
		/* The selected pair's connection is gone: nothing can reach
		 * the peer on it any more, which is what an expired consent
		 * means (RFC 7675 §5.1); no need to wait 30 s to say so. */
		cp->lost = true;
		icei_emit(a, &ev);
		icei_set_state(a, ICE_STATE_DISCONNECTED);
	}
}

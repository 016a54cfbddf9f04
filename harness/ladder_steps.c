/* ladder_steps.c - the steps of a ladder diagram (harness/ladder.h), each
 * from one part of the record: events (agents', servers', faults), the
 * candidates (the servers' answers), the check lists, the wire's flows, the
 * NATs' drops; and the settled path. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/grow.h"
#include "harness/ladder_int.h"

static struct item *item_add(struct ld *l, enum ikind kind, enum pri pri, double t, const char *cls,
			     int from, int to, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

static struct item *item_add(struct ld *l, enum ikind kind, enum pri pri, double t, const char *cls,
			     int from, int to, const char *fmt, ...)
{
	struct item *it;
	char label[LD_LABEL_MAX * 2];
	va_list ap;

	if (isnan(t))
		return NULL;
	if ((kind == IK_ARROW && (from < 0 || to < 0 || from == to)) ||
	    (kind == IK_MARK && from < 0) || (kind == IK_DROP && to < 0) ||
	    (pri < PRI_CLAIM ? l->nlow : l->nhigh) == LD_ITEMS_MAX) {
		l->it_elided++;
		return NULL;
	}
	if (harness_grow((void **)&l->it, &l->cap, l->nit + 1, sizeof(*l->it)) < 0) {
		l->oom = true;
		return NULL;
	}
	va_start(ap, fmt);
	vsnprintf(label, sizeof(label), fmt, ap);
	va_end(ap);
	it = &l->it[l->nit];
	memset(it, 0, sizeof(*it));
	it->label = strdup(label);
	if (!it->label) {
		l->oom = true;
		return NULL;
	}
	it->t = it->t_end = t;
	it->kind = kind;
	it->pri = pri;
	it->cls = cls;
	it->from = from;
	it->to = to;
	it->n = 1;
	it->order = l->nit++;
	it->keep = true;
	if (pri < PRI_CLAIM)
		l->nlow++;
	else
		l->nhigh++;
	return it;
}

/* "type address:port" of an agent-protocol endpoint. */
static void endpoint_str(const json_t *e, char *out, size_t cap)
{
	const char *a = sget(e, "address");
	bool v6 = a && strchr(a, ':');

	snprintf(out, cap, "%s %s%s%s:%lld", sget(e, "type") ? sget(e, "type") : "?", v6 ? "[" : "",
		 a ? a : "?", v6 ? "]" : "", cget(e, "port"));
}

/* The side whose candidate @e (an agent-protocol endpoint) is: the one
 * that lists it among its candidates, -1. */
static int sel_owner(const struct ld *l, const json_t *e)
{
	long long port = cget(e, "port");
	char addr[INET6_ADDRSTRLEN];
	const char *k;
	json_t *v;

	ladder_ip_of(sget(e, "address"), addr, sizeof(addr));
	if (!addr[0])
		return -1;
	json_object_foreach((json_t *)json_object_get(l->cell, "candidates"), k, v)
	{
		size_t i;
		json_t *c;
		json_array_foreach(v, i, c)
		{
			struct ld_cand cd;
			if (ladder_cand_parse(json_string_value(c), &cd) && cd.port == port &&
			    strcmp(cd.ip, addr) == 0)
				return ladder_side_find(l, k);
		}
	}
	return -1;
}

/* The pair side @s selected last: "observations.selected_<side>" (what
 * the scenario prelude keeps for the second side), else the record's
 * "selected" (the first side's) when no other side claims it. Their t_ms
 * is the agent's own clock, so they go to the side's last selection. */
static const json_t *selected_of(const struct ld *l, int s)
{
	const json_t *obs = json_object_get(l->cell, "observations");
	char key[LD_NAME_MAX + 16];
	const json_t *sel;
	int without = 0, which = -1;

	snprintf(key, sizeof(key), "selected_%s", l->side[s]);
	sel = json_object_get(obs, key);
	if (json_is_object(sel))
		return sel;
	for (int o = 0; o < l->nside; o++) {
		snprintf(key, sizeof(key), "selected_%s", l->side[o]);
		if (!json_is_object(json_object_get(obs, key))) {
			without++;
			which = o;
		}
	}
	sel = json_object_get(l->cell, "selected");
	if (!json_is_object(sel))
		return NULL;
	if (without == 1)
		return which == s ? sel : NULL;
	return sel_owner(l, json_object_get(sel, "local")) == s ? sel : NULL;
}

/* Append @fmt to step @i's label. */
__attribute__((format(printf, 3, 4))) static void label_append(struct ld *l, long i,
							       const char *fmt, ...)
{
	char more[200], *label;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(more, sizeof(more), fmt, ap);
	va_end(ap);
	if (asprintf(&label, "%s%s", l->it[i].label, more) < 0) {
		l->oom = true;
		return;
	}
	free(l->it[i].label);
	l->it[i].label = label;
}

/* The record's "switches" ({side, ev, from, to} per pair change after the
 * first selection, in order): onto the side's second, third... selection
 * step. Their t_ms counts from the ICE exchange, not the cell: matched by
 * order, not time. */
static void switch_details(struct ld *l)
{
	int k[LD_SIDES_MAX] = {0};
	size_t i;
	json_t *sw;

	json_array_foreach(json_object_get(l->cell, "switches"), i, sw)
	{
		int s = ladder_side_find(l, sget(sw, "side"));
		const char *from = sget(sw, "from"), *to = sget(sw, "to");

		if (s < 0 || !from || !to || ++k[s] >= l->nclaims[s])
			continue;
		label_append(l, l->claims[s][k[s]], " (%.20s -> %.20s)", from, to);
	}
}

void ladder_selected_details(struct ld *l)
{
	switch_details(l);
	for (int s = 0; s < l->nside; s++) {
		const json_t *sel = selected_of(l, s);
		char lo[96], re[96];

		if (l->sel_item[s] < 0 || !json_is_object(json_object_get(sel, "local")))
			continue;
		endpoint_str(json_object_get(sel, "local"), lo, sizeof(lo));
		endpoint_str(json_object_get(sel, "remote"), re, sizeof(re));
		label_append(l, l->sel_item[s], ": %s -> %s", lo, re);
	}
}

/* One step for a run of events of one kind from one column, each within
 * LD_EVENT_GAP_MS of the last: "rx x40 (371-570 ms)". */
static struct item *aggregate(struct ld *l, int col, const char *ev, double t)
{
	char key[LD_NAME_MAX + 40];
	json_t *hit;

	snprintf(key, sizeof(key), "%d|%.32s", col, ev);
	hit = json_object_get(l->agg, key);
	if (hit) {
		struct item *it = &l->it[json_integer_value(hit)];
		if (t >= it->t_end && t - it->t_end <= LD_EVENT_GAP_MS) {
			it->t_end = t;
			it->n++;
			return it;
		}
	}
	return NULL;
}

static void aggregate_open(struct ld *l, int col, const char *ev, const struct item *it)
{
	char key[LD_NAME_MAX + 40];

	if (!it)
		return;
	snprintf(key, sizeof(key), "%d|%.32s", col, ev);
	if (json_object_set_new(l->agg, key, json_integer((json_int_t)(it - l->it))) < 0)
		l->oom = true;
}

static void fault_step(struct ld *l, const json_t *e, double t)
{
	const char *target = sget(e, "target"), *detail = sget(e, "detail");
	const json_t *res = json_object_get(e, "result");
	bool failed = json_is_integer(res) && json_integer_value(res) != 0;
	int col = ladder_col_find(l, target);

	item_add(l, IK_FAULT, PRI_EVIDENCE, t, "fault", col, col, "fault %.40s%s%.40s%s%.60s%s",
		 sget(e, "ev") ? sget(e, "ev") : "?", target ? " " : "", target ? target : "",
		 detail ? " " : "", detail ? detail : "",
		 failed ? " (the fault itself failed)" : "");
}

/* A server's answer as the agent reports it in a candidate line (RFC 8839
 * §5.1): a srflx address from the STUN server, a relay address from the
 * TURN server, as an arrow to the side; several within LD_EVENT_GAP_MS are
 * one arrow. True when the line was such an answer. */
static bool answer_step(struct ld *l, int s, const char *line, double t)
{
	struct ld_cand cd;
	int col = ladder_side_col(l, s), from;
	const char *key;
	bool relay;
	struct item *it;

	if (!ladder_cand_parse(line, &cd))
		return false;
	relay = cd.type == ICE_CAND_RELAY;
	if (!relay && cd.type != ICE_CAND_SRFLX)
		return false;
	from = ladder_col_role(l, relay ? ROLE_TURN : ROLE_STUN);
	if (from < 0)
		return false;
	l->answered[s] = true;
	key = relay ? "answer:relay" : "answer:srflx";
	if (aggregate(l, col, key, t))
		return true;
	it = item_add(l, IK_ARROW, PRI_CHECK, t, "answer", from, col,
		      relay ? "allocated relay %s:%u" : "mapped address (srflx) %s:%u", cd.ip,
		      cd.port);
	aggregate_open(l, col, key, it);
	return true;
}

static void agent_step(struct ld *l, int s, const json_t *e, const char *ev, double t)
{
	int col = ladder_side_col(l, s), peer = ladder_peer_col(l, s);
	const char *state = sget(e, "state"), *reason = sget(e, "reason");
	struct item *it;

	if (col < 0)
		return;
	if (strcmp(ev, "local") == 0 && isnan(l->local_t[s]))
		l->local_t[s] = t;
	if (strcmp(ev, "candidate") == 0 && isnan(l->cand_t[s]))
		l->cand_t[s] = t;
	if ((strcmp(ev, "selected") == 0 || strcmp(ev, "failed") == 0) && isnan(l->end_t[s]))
		l->end_t[s] = t;
	if (strcmp(ev, "checks") == 0) {
		/* drawn from the cell's "pairs", the side's last check list */
		l->checks_t[s] = t;
		return;
	}
	if (strcmp(ev, "state") == 0) {
		char key[48];

		/* "gathering" is the "local" event's news */
		if (!state || strcmp(state, "gathering") == 0)
			return;
		snprintf(key, sizeof(key), "state:%.30s", state);
		if (aggregate(l, col, key, t))
			return;
		it = item_add(l, IK_MARK, PRI_EVENT, t,
			      strcmp(state, "failed") == 0 ? "fail" : "event", col, col, "%.30s",
			      state);
		aggregate_open(l, col, key, it);
		return;
	}
	if (strcmp(ev, "selected") == 0 || strcmp(ev, "switched") == 0) {
		const json_t *lo = json_object_get(e, "local"), *re = json_object_get(e, "remote");
		char los[96], res[96];

		if (json_is_object(lo) && json_is_object(re)) {
			/* the event's own pair (cells.jsonl keeps its fields) */
			endpoint_str(lo, los, sizeof(los));
			endpoint_str(re, res, sizeof(res));
			it = item_add(l, IK_MARK, PRI_CLAIM, t, "claim", col, col, "%s: %s -> %s",
				      ev, los, res);
		} else {
			it = item_add(l, IK_MARK, PRI_CLAIM, t, "claim", col, col, "%s", ev);
			if (it)
				l->sel_item[s] = (long)(it - l->it);
		}
		if (it && l->nclaims[s] < LD_CLAIMS_MAX)
			l->claims[s][l->nclaims[s]++] = (long)(it - l->it);
		return;
	}
	if (strcmp(ev, "failed") == 0) {
		item_add(l, IK_MARK, PRI_CLAIM, t, "fail", col, col, "failed%s%.80s",
			 reason ? ": " : "", reason ? reason : "");
		return;
	}
	if (strcmp(ev, "local") == 0) {
		const json_t *own = json_object_get(e, "candidates");
		size_t n = json_is_array(own)
			       ? json_array_size(own)
			       : json_array_size(json_object_get(
				     json_object_get(l->cell, "candidates"), l->side[s]));
		size_t i;
		json_t *c;

		if (n)
			item_add(l, IK_MARK, PRI_EVENT, t, "event", col, col,
				 "gathered: %zu candidate%s", n, n == 1 ? "" : "s");
		else
			item_add(l, IK_MARK, PRI_EVENT, t, "event", col, col, "gathered");
		json_array_foreach(own, i, c) answer_step(l, s, json_string_value(c), t);
		return;
	}
	if (strcmp(ev, "candidate") == 0 && answer_step(l, s, sget(e, "candidate"), t))
		return;
	if (aggregate(l, col, ev, t))
		return;
	if (strcmp(ev, "rx") == 0 && peer >= 0) {
		it = item_add(l, IK_ARROW, PRI_DATA, t, "data", peer, col, "rx (%s's word)",
			      l->side[s]);
		if (it)
			it->dash = true; /* the agent's word, not the wire's */
	} else {
		it = item_add(l, IK_MARK, PRI_EVENT, t, "event", col, col, "%.40s", ev);
	}
	aggregate_open(l, col, ev, it);
}

void ladder_events_steps(struct ld *l)
{
	size_t i;
	json_t *e;

	json_array_foreach(l->events, i, e)
	{
		const char *src = sget(e, "src"), *ev = sget(e, "ev");
		double t = nget(e, "t_ms");
		int s, col;
		struct item *it;

		if (!src || !ev || isnan(t))
			continue;
		if (strcmp(src, "fault") == 0) {
			fault_step(l, e, t);
			continue;
		}
		s = ladder_side_find(l, src);
		if (s >= 0) {
			agent_step(l, s, e, ev, t);
			continue;
		}
		col = ladder_server_name(src) ? ladder_col_find(l, src) : -1;
		if (col < 0 || aggregate(l, col, ev, t))
			continue;
		it = item_add(l, IK_MARK, PRI_EVENT, t, "event", col, col, "%.40s", ev);
		aggregate_open(l, col, ev, it);
	}
}

/* The servers' answers as the agents report them in the cell's
 * candidates (records whose events do not keep their lines): the
 * reflexive address the STUN server saw, the relayed addresses TURN
 * allocated; drawn when the side gathered. */
void ladder_answer_steps(struct ld *l)
{
	int stun = ladder_col_role(l, ROLE_STUN), turn = ladder_col_role(l, ROLE_TURN);

	for (int s = 0; s < l->nside; s++) {
		const json_t *list =
		    json_object_get(json_object_get(l->cell, "candidates"), l->side[s]);
		double t = isnan(l->local_t[s]) ? l->cand_t[s] : l->local_t[s];
		char srflx[100] = "", relay[100] = "";

		if (l->answered[s])
			continue; /* drawn from the events' own candidate lines */
		size_t nsrflx = 0, nrelay = 0, i;
		json_t *c;

		json_array_foreach(list, i, c)
		{
			struct ld_cand cd;
			if (!ladder_cand_parse(json_string_value(c), &cd))
				continue;
			if (cd.type == ICE_CAND_SRFLX && nsrflx++ == 0)
				snprintf(srflx, sizeof(srflx), "%s:%u", cd.ip, cd.port);
			if (cd.type == ICE_CAND_RELAY && nrelay++ == 0)
				snprintf(relay, sizeof(relay), "%s:%u", cd.ip, cd.port);
		}
		if (nsrflx && stun >= 0)
			item_add(l, IK_ARROW, PRI_CHECK, t, "answer", stun, ladder_side_col(l, s),
				 "mapped address (srflx) %s%s", srflx,
				 nsrflx > 1 ? " and others" : "");
		if (nrelay && turn >= 0)
			item_add(l, IK_ARROW, PRI_CHECK, t, "answer", turn, ladder_side_col(l, s),
				 "allocated relay %s%s", relay,
				 nrelay > 1 ? " (+ more allocations)" : "");
	}
}

/* Each side's check list, one arrow per remote column: pairs, requests,
 * successes, at the time the side reported it. */
void ladder_check_steps(struct ld *l)
{
	for (int s = 0; s < l->nside; s++) {
		const json_t *list = json_object_get(json_object_get(l->cell, "pairs"), l->side[s]);
		struct {
			int col;
			long long pairs, checks, ok;
			bool nominated;
		} g[LD_COLS_MAX];
		int ng = 0;
		size_t i;
		json_t *p;
		/* the check list as the side reported it, else as it ended */
		double t = isnan(l->checks_t[s]) ? l->end_t[s] : l->checks_t[s];

		if (!json_is_array(list) || isnan(t))
			continue;
		json_array_foreach(list, i, p)
		{
			const json_t *r = json_object_get(p, "remote");
			const char *type = sget(r, "type");
			int col = type && strcmp(type, "relay") == 0
				      ? ladder_col_role(l, ROLE_TURN)
				      : ladder_addr_col(l, sget(r, "address"));
			int k;

			if (col < 0 || col == ladder_side_col(l, s))
				col = ladder_peer_col(l, s);
			if (col < 0)
				continue;
			for (k = 0; k < ng && g[k].col != col; k++)
				;
			if (k == ng) {
				if (ng == LD_COLS_MAX)
					continue;
				memset(&g[ng++], 0, sizeof(g[0]));
				g[k].col = col;
			}
			g[k].pairs++;
			g[k].checks += cget(p, "checks");
			g[k].ok += prefix(sget(p, "state"), "succeeded");
			g[k].nominated |= json_is_true(json_object_get(p, "nominated"));
		}
		for (int k = 0; k < ng; k++)
			item_add(l, IK_ARROW, PRI_CHECK, t, "check", ladder_side_col(l, s),
				 g[k].col, "checks: %lld pairs, %lld requests, %lld succeeded%s",
				 g[k].pairs, g[k].checks, g[k].ok,
				 g[k].nominated ? ", nominated" : "");
	}
}

static bool in_list(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) if (json_string_value(v) &&
					  strcmp(json_string_value(v), s) == 0) return true;
	return false;
}

/* Is the flow on the path the wire settled on? Each direction's first leg
 * (from the sender's outside endpoint to the peer, a TURN listener or a
 * relayed address) is in "directions"; between two relayed addresses (both
 * sides relay) the leg is in "relays". Without directions: by class. */
static bool flow_on_path(const struct ld *l, const json_t *f)
{
	const json_t *settled = json_object_get(l->wire, "settled");
	const json_t *relays = json_object_get(settled, "relays");
	const char *cls = sget(settled, "class"), *kind = sget(f, "kind");
	const char *src = sget(f, "src"), *dst = sget(f, "dst"), *relay = sget(settled, "relay");
	const json_t *tr = json_object_get(settled, "transport");
	bool directions = false;
	const char *k;
	json_t *d;

	if (!cls || !kind || !src || !dst || strcmp(cls, "failed") == 0)
		return false;
	json_object_foreach((json_t *)json_object_get(l->wire, "directions"), k, d)
	{
		const char *from = sget(d, "from"), *to = sget(d, "to");
		if (!from || !to)
			continue;
		directions = true;
		if ((strcmp(from, src) == 0 && strcmp(to, dst) == 0) ||
		    (strcmp(from, dst) == 0 && strcmp(to, src) == 0))
			return true;
	}
	if (strcmp(kind, "relayed") == 0 && in_list(relays, src) && in_list(relays, dst))
		return true;
	if (directions)
		return false;
	if (strcmp(cls, "direct") == 0)
		return strcmp(kind, "direct") == 0;
	if (!prefix(cls, "relay"))
		return false;
	if (strcmp(kind, "relayed") == 0)
		return in_list(relays, src) || in_list(relays, dst) ||
		       (json_array_size(relays) == 0 &&
			(!relay || strcmp(relay, src) == 0 || strcmp(relay, dst) == 0));
	if (prefix(kind, "turn-")) {
		/* a side whose transport is null reached no TURN server */
		const json_t *t = json_object_get(tr, sget(f, "side") ? sget(f, "side") : "");
		if (!json_is_object(tr) || !t)
			return true;
		return json_is_string(t) && strcmp(kind + 5, json_string_value(t)) == 0;
	}
	return false;
}

static const char *flow_cls(const char *kind)
{
	if (prefix(kind, "stun") || prefix(kind, "turn"))
		return "gather";
	if (kind && (strcmp(kind, "direct") == 0 || strcmp(kind, "relayed") == 0))
		return "flow";
	return "other";
}

/* One arrow per 5-tuple (seen at several points: one arrow, a dot at each)
 * from its first packet, and one for its data phase. */
void ladder_flow_steps(struct ld *l)
{
	const json_t *w = json_array_get(json_object_get(l->wire, "window_ms"), 0);
	double w0 = json_is_number(w) ? json_number_value(w) : NAN; /* the data phase's start */
	int stun = ladder_col_role(l, ROLE_STUN), turn = ladder_col_role(l, ROLE_TURN);
	json_t *seen = json_object();
	struct {
		int n;
		long long tx, rx, data;
		bool on;
		double t;
	} rr = {0, 0, 0, 0, false, NAN};
	size_t i;
	json_t *f;

	if (!seen) {
		l->oom = true;
		return;
	}
	json_array_foreach(json_object_get(l->wire, "flows"), i, f)
	{
		const char *kind = sget(f, "kind"), *src = sget(f, "src"), *dst = sget(f, "dst");
		const char *proto = sget(f, "proto");
		int s = ladder_side_find(l, sget(f, "side")),
		    at = ladder_col_find(l, sget(f, "node"));
		int from, to;
		double t = nget(f, "first_ms"), last = nget(f, "last_ms");
		long long dtx = cget(f, "data_tx_pkts"), drx = cget(f, "data_rx_pkts");
		char key[300];
		json_t *hit;
		struct item *it;
		bool on;

		bool relayed = kind && strcmp(kind, "relayed") == 0;

		if (!json_is_object(f) || !src || !dst)
			continue;
		/* one 5-tuple, whichever end a point saw open it */
		snprintf(key, sizeof(key), "%.8s|%.120s|%.120s", proto ? proto : "",
			 strcmp(src, dst) < 0 ? src : dst, strcmp(src, dst) < 0 ? dst : src);
		hit = json_object_get(seen, key);
		if (hit) {
			if (at >= 0)
				l->it[json_integer_value(hit)].obs |= 1u << at;
			continue;
		}
		/* the addresses say whose ends these are (ladder.c, addrs_points);
		 * the kind says where an unknown end is */
		from = ladder_addr_col(l, src);
		to = ladder_addr_col(l, dst);
		if (relayed && turn >= 0 && from == turn && to == turn) {
			/* relayed address to relayed address, inside the TURN
			 * server (checks between two relay candidates): one mark */
			rr.n++;
			rr.tx += cget(f, "tx_pkts");
			rr.rx += cget(f, "rx_pkts");
			rr.data += dtx + drx;
			rr.on |= flow_on_path(l, f);
			rr.t = isnan(rr.t) || t < rr.t ? t : rr.t;
			continue;
		}
		if (from < 0)
			from = relayed ? turn : s >= 0 ? ladder_side_col(l, s) : at;
		if (to < 0 || to == from) {
			int fs =
			    from >= 0 && l->col[from].role == ROLE_AGENT ? l->col[from].side : s;

			if (prefix(kind, "stun"))
				to = stun;
			else if (prefix(kind, "turn") || (relayed && from != turn))
				to = turn;
			else if (relayed || (kind && strcmp(kind, "direct") == 0))
				to = ladder_peer_col(l, fs);
			else
				to = at;
		}
		if (from < 0 || to < 0 || from == to) {
			l->it_elided++;
			continue;
		}
		on = flow_on_path(l, f);
		it = item_add(l, IK_ARROW, PRI_FLOW, t, flow_cls(kind), from, to,
			      "%.10s %.4s %.60s -> %.60s: tx %lld / rx %lld pkts, %.0f-%.0f ms",
			      kind ? kind : "?", proto ? proto : "", src, dst, cget(f, "tx_pkts"),
			      cget(f, "rx_pkts"), t, isnan(last) ? t : last);
		if (!it)
			continue;
		it->both = cget(f, "rx_pkts") > 0;
		it->on = on && dtx + drx == 0;
		if (at >= 0)
			it->obs |= 1u << at;
		if (json_object_set_new(seen, key, json_integer((json_int_t)(it - l->it))) < 0)
			l->oom = true;
		if (dtx + drx > 0) {
			double td = isnan(w0) || w0 < t ? t : w0;
			it = item_add(l, IK_ARROW, PRI_DATA, td, "data", from, to,
				      "data %.10s: tx %lld / rx %lld pkts in the data phase",
				      kind ? kind : "?", dtx, drx);
			if (it) {
				it->both = drx > 0;
				it->on = on;
				if (at >= 0)
					it->obs |= 1u << at;
			}
		}
	}
	if (rr.n) {
		struct item *it = item_add(
		    l, IK_MARK, rr.on ? PRI_DATA : PRI_FLOW, rr.t, "flow", turn, turn,
		    "between relayed addresses: %d flows, tx %lld / rx %lld pkts (%lld in the "
		    "data phase)",
		    rr.n, rr.tx, rr.rx, rr.data);
		if (it)
			it->on = rr.on;
	}
	json_decref(seen);
}

/* evidence.<nat>.drops: an arrow from the sender to the NAT, crossed out. */
void ladder_drop_steps(struct ld *l)
{
	const char *nat;
	json_t *ev;

	json_object_foreach((json_t *)l->evidence, nat, ev)
	{
		int at = ladder_col_find(l, nat);
		size_t i;
		json_t *d;

		if (at < 0) {
			l->it_elided += json_array_size(json_object_get(ev, "drops"));
			continue;
		}
		json_array_foreach(json_object_get(ev, "drops"), i, d)
		{
			const char *src = sget(d, "src"), *dst = sget(d, "dst"),
				   *rule = sget(d, "rule"), *proto = sget(d, "proto");
			double t = nget(d, "first_ms"), last = nget(d, "last_ms");
			int from = ladder_addr_col(l, src);

			if (from < 0 || from == at)
				from = ladder_peer_col(l, l->col[at].side);
			item_add(
			    l, IK_DROP, PRI_EVIDENCE, t, "drop", from, at,
			    "%.30s dropped %lld pkts (%.30s) %.4s %.50s -> %.50s, %.0f-%.0f ms",
			    nat, cget(d, "pkts"), rule ? rule : "?", proto ? proto : "",
			    src ? src : "?", dst ? dst : "?", t, isnan(last) ? t : last);
		}
	}
}

/* ---- the settled path ---- */

void ladder_band_build(const struct ld *l, struct band *b)
{
	const json_t *settled = json_object_get(l->wire, "settled");
	const char *cls = sget(settled, "class"), *path = sget(l->cell, "path");
	bool relay;
	int a, z;

	memset(b, 0, sizeof(*b));
	if (cls) {
		const json_t *tr = json_object_get(settled, "transport");
		char trs[120] = "";
		const char *k, *sep = "";
		json_t *v;
		size_t off = 0;

		json_object_foreach((json_t *)tr, k,
				    v) if (json_string_value(v) && off < sizeof(trs) - 40)
		{
			off += (size_t)snprintf(trs + off, sizeof(trs) - off, "%s%.20s %.8s", sep,
						k, json_string_value(v));
			sep = ", ";
		}
		b->wire = true;
		relay = prefix(cls, "relay");
		b->failed = !relay && strcmp(cls, "direct") != 0;
		snprintf(
		    b->label, sizeof(b->label), "settled path (wire): %.20s%s%.60s%s%s%s%s%s%.30s",
		    cls, sget(settled, "relay") ? " via relayed address " : "",
		    sget(settled, "relay") ? sget(settled, "relay") : "", trs[0] ? "; " : "", trs,
		    b->failed ? " - data did not flow both ways" : "",
		    strcmp(sget(settled, "basis") ? sget(settled, "basis") : "", "consent") == 0
			? " (no data plane in common: decided by consent checks)"
			: "",
		    sget(l->cell, "switch") ? "; the agents switched " : "",
		    sget(l->cell, "switch") ? sget(l->cell, "switch") : "");
	} else if (path) {
		relay = prefix(path, "relay");
		b->failed = strcmp(path, "failed") == 0;
		snprintf(b->label, sizeof(b->label),
			 "path the agents claim (no wire record): %.20s", path);
	} else {
		b->label[0] = '\0';
		return;
	}
	if (b->failed || l->nside < 2)
		return;
	a = ladder_side_col(l, 0);
	z = ladder_side_col(l, l->nside - 1);
	for (int i = 0; i < l->ncol; i++) {
		const struct col *c = &l->col[i];
		bool mine = i == a || i == z ||
			    (c->role == ROLE_NAT && (c->side == 0 || c->side == l->nside - 1));
		if (mine || (relay && c->role == ROLE_TURN))
			b->cols[b->n++] = i;
	}
}

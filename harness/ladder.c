/* ladder.c - a cell's ladder diagram as SVG, from its record only.
 *
 * Three steps: the columns (sides, their NATs, the servers) and every
 * address the record names mapped to a column, here; the steps in time
 * (arrows, marks on a lifeline, drops, faults: ladder_steps.c); then the
 * drawing (ladder_draw.c), which leaves out the least telling steps until
 * it fits the byte budget. */
#include "harness/ladder.h"

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

/* Bare first: "2001:db8::1:5" is an address, not an address and a port. */
void ladder_ip_of(const char *s, char *out, size_t cap)
{
	union ice_addr a;

	out[0] = '\0';
	if (s && (ice_addr_from_text(&a, s, 0) == 0 || ice_addr_parse_hostport(&a, s) == 0))
		ice_addr_ip(&a, out, cap);
}

/* ---- candidate lines ---- */

bool ladder_cand_parse(const char *line, struct ld_cand *c)
{
	struct ice_candidate ic;

	if (!line || ice_candidate_parse(line, strlen(line), &ic) < 0)
		return false;
	ice_addr_ip(&ic.addr, c->ip, sizeof(c->ip));
	c->port = ice_addr_port(&ic.addr);
	c->type = ic.type;
	return true;
}

/* Notes whether candidate @line is a STUN server's answer (srflx) or a
 * TURN server's (relay). */
static void cand_servers(const char *line, bool *stun, bool *turn)
{
	struct ld_cand c;

	if (!ladder_cand_parse(line, &c))
		return;
	*stun |= c.type == ICE_CAND_SRFLX;
	*turn |= c.type == ICE_CAND_RELAY;
}

/* ---- columns ---- */

bool ladder_server_name(const char *s)
{
	return prefix(s, "stun") || prefix(s, "turn");
}

int ladder_side_find(const struct ld *l, const char *name)
{
	for (int i = 0; name && i < l->nside; i++)
		if (strcmp(l->side[i], name) == 0)
			return i;
	return -1;
}

static void side_add(struct ld *l, const char *name)
{
	if (!name || !*name || ladder_server_name(name) || strcmp(name, "harness") == 0 ||
	    strcmp(name, "fault") == 0 || ladder_side_find(l, name) >= 0)
		return;
	if (l->nside == LD_SIDES_MAX || strlen(name) >= LD_NAME_MAX) {
		l->side_elided++;
		return;
	}
	strcpy(l->side[l->nside++], name);
}

/* Events only an ICE agent sends (docs/agent-protocol.md). */
static bool agent_event(const char *ev)
{
	static const char *const evs[] = {"local", "candidate", "selected", "switched",
					  "rx",	   "checks",	"failed",   NULL};

	for (int i = 0; ev && evs[i]; i++)
		if (strcmp(ev, evs[i]) == 0)
			return true;
	return false;
}

static void sides_collect(struct ld *l)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)json_object_get(l->cell, "candidates"), k, v) side_add(l, k);
	json_object_foreach((json_t *)json_object_get(l->cell, "pairs"), k, v) side_add(l, k);
	json_object_foreach(json_object_get(json_object_get(l->wire, "settled"), "transport"), k, v)
	    side_add(l, k);
	json_array_foreach(json_object_get(l->wire, "flows"), i, v) side_add(l, sget(v, "side"));
	json_array_foreach(l->events, i, v) if (agent_event(sget(v, "ev")))
	    side_add(l, sget(v, "src"));
	/* "left" is drawn leftmost and "right" rightmost */
	for (int s = 0; s < l->nside; s++) {
		char tmp[LD_NAME_MAX];
		int to = strcmp(l->side[s], "left") == 0    ? 0
			 : strcmp(l->side[s], "right") == 0 ? l->nside - 1
							    : -1;
		if (to < 0 || to == s)
			continue;
		memcpy(tmp, l->side[to], sizeof(tmp));
		memcpy(l->side[to], l->side[s], sizeof(tmp));
		memcpy(l->side[s], tmp, sizeof(tmp));
	}
}

struct natname {
	char name[LD_NAME_MAX];
	int side;
};

static void nat_add(struct natname *n, int *nn, int cap, const struct ld *l, const char *name)
{
	if (!name || !*name || ladder_server_name(name) || ladder_side_find(l, name) >= 0 ||
	    strlen(name) >= LD_NAME_MAX)
		return;
	for (int i = 0; i < *nn; i++)
		if (strcmp(n[i].name, name) == 0)
			return;
	if (*nn == cap)
		return;
	strcpy(n[*nn].name, name);
	n[*nn].side = -1;
	for (int s = 0; s < l->nside; s++) {
		size_t len = strlen(l->side[s]);
		if (strncmp(name, l->side[s], len) == 0 && name[len] == '-')
			n[*nn].side = s;
	}
	(*nn)++;
}

static void col_push(struct ld *l, const char *name, const char *sub, enum role r, int side)
{
	struct col *c;

	if (l->ncol == LD_COLS_MAX) {
		l->col_elided++;
		return;
	}
	c = &l->col[l->ncol++];
	/* names are shorter than LD_NAME_MAX (side_add, nat_add) */
	memmove(c->name, name, strnlen(name, LD_NAME_MAX - 1));
	c->name[strnlen(name, LD_NAME_MAX - 1)] = '\0';
	snprintf(c->sub, sizeof(c->sub), "%s", sub ? sub : "");
	c->role = r;
	c->side = side;
}

/* A side's NAT preset as the scenarios name the parameter: "<side>"
 * (matrix.lua) or "<side>_nat" (rebinding.lua, keepalive.lua), NULL. */
static const char *side_preset(const struct ld *l, int s)
{
	char key[LD_NAME_MAX + 8];

	if (sget(l->params, l->side[s]))
		return sget(l->params, l->side[s]);
	snprintf(key, sizeof(key), "%s_nat", l->side[s]);
	return sget(l->params, key);
}

/* What the scenario prelude's scen.side() builds for a side whose
 * parameter names a NAT preset: "<side>-nat", and "<side>-cgn" behind it
 * for "cgnat"; "open" has none (scenarios/prelude/30_scen.lua). */
static void nats_from_params(struct ld *l, struct natname *n, int *nn, int cap)
{
	size_t i;
	json_t *e;

	/* a fault aimed at "<side>-nat" or "<side>-cgn" (scen.side's names):
	 * that NAT */
	json_array_foreach(l->events, i, e)
	{
		const char *target = sget(e, "target");
		char node[LD_NAME_MAX];
		size_t len = target ? strcspn(target, ":") : 0;

		if (!target || strcmp(sget(e, "src") ? sget(e, "src") : "", "fault") != 0 ||
		    len >= sizeof(node))
			continue;
		memcpy(node, target, len);
		node[len] = '\0';
		for (int s = 0; s < l->nside; s++) {
			size_t sl = strlen(l->side[s]);
			if (strncmp(node, l->side[s], sl) == 0 &&
			    (strcmp(node + sl, "-nat") == 0 || strcmp(node + sl, "-cgn") == 0))
				nat_add(n, nn, cap, l, node);
		}
	}
	for (int s = 0; s < l->nside; s++) {
		const char *preset = side_preset(l, s);
		char name[LD_NAME_MAX + 8];

		if (!preset || strcmp(preset, "open") == 0)
			continue;
		snprintf(name, sizeof(name), "%s-nat", l->side[s]);
		nat_add(n, nn, cap, l, name);
		if (strcmp(preset, "cgnat") == 0) {
			snprintf(name, sizeof(name), "%s-cgn", l->side[s]);
			nat_add(n, nn, cap, l, name);
		}
	}
}

/* The subtitle of NAT @name of side @s: its preset when the parameters
 * or its evidence ("nat": {"preset": ...}) give it. */
static const char *nat_sub(const struct ld *l, const char *name, int s)
{
	const char *preset = s >= 0 ? side_preset(l, s) : NULL;
	size_t len = s >= 0 ? strlen(l->side[s]) : 0;

	if (!preset) /* what the NAT's evidence says it was built as */
		preset = sget(json_object_get(json_object_get(l->evidence, name), "nat"), "preset");
	if (!preset)
		return "NAT";
	if (strcmp(preset, "cgnat") == 0)
		return strcmp(name + len, "-cgn") == 0 ? "carrier NAT (cgnat)" : "home NAT";
	return preset;
}

static void side_cols(struct ld *l, int s, const struct natname *n, int nn, bool mirrored)
{
	int idx[LD_SIDE_NATS_MAX], k = 0;

	/* the home NAT ("-nat") next to the host, the others beyond it */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < nn; i++) {
			size_t len = strlen(n[i].name);
			bool home = len > 4 && strcmp(n[i].name + len - 4, "-nat") == 0;
			if (n[i].side != s || home != (pass == 0))
				continue;
			if (k == LD_SIDE_NATS_MAX)
				l->col_elided++;
			else
				idx[k++] = i;
		}
	if (!mirrored)
		col_push(l, l->side[s], "agent", ROLE_AGENT, s);
	for (int j = 0; j < k; j++) {
		int i = idx[mirrored ? k - 1 - j : j];
		col_push(l, n[i].name, nat_sub(l, n[i].name, s), ROLE_NAT, s);
	}
	if (mirrored)
		col_push(l, l->side[s], "agent", ROLE_AGENT, s);
}

static void cols_build(struct ld *l)
{
	struct natname n[16];
	int nn = 0, loose = 0, half;
	bool stun = false, turn = false;
	const char *k;
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(l->wire, "points"), i, v)
	{
		const char *p = json_string_value(v);
		stun |= prefix(p, "stun");
		turn |= prefix(p, "turn");
		nat_add(n, &nn, 16, l, p);
	}
	json_array_foreach(json_object_get(l->wire, "flows"), i, v)
	{
		const char *kind = sget(v, "kind");
		stun |= prefix(kind, "stun") || prefix(sget(v, "node"), "stun");
		turn |= prefix(kind, "turn") || (kind && strcmp(kind, "relayed") == 0) ||
			prefix(sget(v, "node"), "turn");
		nat_add(n, &nn, 16, l, sget(v, "node"));
	}
	json_object_foreach((json_t *)l->evidence, k, v) nat_add(n, &nn, 16, l, k);
	nats_from_params(l, n, &nn, 16);
	json_array_foreach(l->events, i, v)
	{
		const json_t *own = json_object_get(v, "candidates");
		const char *line = sget(v, "candidate");
		size_t j;
		json_t *c;

		stun |= prefix(sget(v, "src"), "stun");
		turn |= prefix(sget(v, "src"), "turn");
		/* the agent's own lines (cells.jsonl keeps event fields) */
		cand_servers(line, &stun, &turn);
		json_array_foreach(own, j, c) cand_servers(json_string_value(c), &stun, &turn);
		turn |= prefix(sget(json_object_get(v, "local"), "type"), "relay") ||
			prefix(sget(json_object_get(v, "remote"), "type"), "relay");
	}
	json_object_foreach((json_t *)json_object_get(l->cell, "candidates"), k, v)
	{
		size_t j;
		json_t *c;
		json_array_foreach(v, j, c) cand_servers(json_string_value(c), &stun, &turn);
	}
	turn |= prefix(sget(json_object_get(l->wire, "settled"), "class"), "relay");
	turn |= prefix(sget(l->cell, "path"), "relay");

	half = (l->nside + 1) / 2;
	for (int s = 0; s < half; s++)
		side_cols(l, s, n, nn, false);
	for (int j = 0; j < nn; j++)
		if (n[j].side < 0) {
			if (loose++ < LD_LOOSE_NATS_MAX)
				col_push(l, n[j].name, "NAT", ROLE_NAT, -1);
			else
				l->col_elided++;
		}
	if (stun)
		col_push(l, "stun", "STUN server", ROLE_STUN, -1);
	if (turn)
		col_push(l, "turn", "TURN server", ROLE_TURN, -1);
	for (int s = half; s < l->nside; s++)
		side_cols(l, s, n, nn, true);
}

/* Under a NAT's heading, what its evidence counters say it dropped
 * ("drop_filtering": 14 -> "dropped: filtering 14"): the drops list is
 * bounded, the counters are not. */
static void nat_notes(struct ld *l)
{
	for (int i = 0; i < l->ncol; i++) {
		const json_t *counters =
		    json_object_get(json_object_get(l->evidence, l->col[i].name), "counters");
		struct col *c = &l->col[i];
		size_t off = 0;
		const char *k;
		json_t *v;

		json_object_foreach((json_t *)counters, k, v)
		{
			long long n = json_is_integer(v) ? json_integer_value(v) : 0;
			int w;
			if (!prefix(k, "drop_") || n <= 0 || off >= sizeof(c->note))
				continue;
			w = snprintf(c->note + off, sizeof(c->note) - off, "%s%.20s %lld",
				     off ? ", " : "dropped: ", k + 5, n);
			off += w > 0 ? (size_t)w : 0;
		}
	}
}

int ladder_col_role(const struct ld *l, enum role r)
{
	for (int i = 0; i < l->ncol; i++)
		if (l->col[i].role == r)
			return i;
	return -1;
}

/* The column of a node, side or fault target ("node:ifname"). */
int ladder_col_find(const struct ld *l, const char *name)
{
	size_t len;

	if (!name || !*name)
		return -1;
	for (int i = 0; i < l->ncol; i++)
		if (strcmp(l->col[i].name, name) == 0)
			return i;
	if (prefix(name, "stun"))
		return ladder_col_role(l, ROLE_STUN);
	if (prefix(name, "turn"))
		return ladder_col_role(l, ROLE_TURN);
	len = strcspn(name, ":");
	for (int i = 0; name[len] && i < l->ncol; i++)
		if (strlen(l->col[i].name) == len && strncmp(l->col[i].name, name, len) == 0)
			return i;
	return -1;
}

int ladder_side_col(const struct ld *l, int s)
{
	return s >= 0 ? ladder_col_find(l, l->side[s]) : -1;
}

/* The other side of a two-sided call. */
int ladder_peer_col(const struct ld *l, int s)
{
	return l->nside == 2 && s >= 0 ? ladder_side_col(l, 1 - s) : -1;
}

/* ---- addresses ---- */

static void addr_add(struct ld *l, const char *hostport, int col)
{
	char ip[80];

	if (col < 0)
		return;
	ladder_ip_of(hostport, ip, sizeof(ip));
	if (!ip[0] || json_object_get(l->addr, ip))
		return;
	if (json_object_set_new(l->addr, ip, json_integer(col)) < 0)
		l->oom = true;
}

int ladder_addr_col(const struct ld *l, const char *hostport)
{
	char ip[80];
	json_t *v;

	ladder_ip_of(hostport, ip, sizeof(ip));
	v = ip[0] ? json_object_get(l->addr, ip) : NULL;
	return v ? (int)json_integer_value(v) : -1;
}

/* An endpoint object of the agent protocol ({type, address, port, ...}):
 * relayed candidates are the TURN server's, the others @owner's. */
static void addr_endpoint(struct ld *l, const json_t *e, int owner)
{
	const char *type = sget(e, "type");

	if (!json_is_object(e))
		return;
	addr_add(l, sget(e, "address"),
		 type && strcmp(type, "relay") == 0 ? ladder_col_role(l, ROLE_TURN) : owner);
}

/* Each observation point's own outside address: the one IP at one end of
 * every flow seen there (results/README.md, "wire"), found as the IP most
 * flows of that point name. It is its side's (a NAT's or an open host's),
 * or the server's. Which end opened a flow says nothing of whose it is. */
static void addrs_points(struct ld *l)
{
	json_t *tally = json_object(), *best = json_object();
	const char *node;
	json_t *v, *b;
	size_t i;

	if (!tally || !best) {
		l->oom = true;
		goto out;
	}
	json_array_foreach(json_object_get(l->wire, "flows"), i, v)
	{
		const char *at = sget(v, "node");
		const char *ends[2] = {sget(v, "src"), sget(v, "dst")};

		if (!at || strlen(at) >= LD_NAME_MAX)
			continue;
		for (int e = 0; e < 2; e++) {
			char ip[80], key[LD_NAME_MAX + 84];
			json_int_t n;

			ladder_ip_of(ends[e], ip, sizeof(ip));
			if (!ip[0])
				continue;
			snprintf(key, sizeof(key), "%s|%s", at, ip);
			n = json_integer_value(json_object_get(tally, key)) + 1;
			b = json_object_get(best, at);
			if (json_object_set_new(tally, key, json_integer(n)) < 0 ||
			    (n > json_integer_value(json_object_get(b, "n")) &&
			     json_object_set_new(best, at,
						 json_pack("{s:s,s:I}", "ip", ip, "n", n)) < 0)) {
				l->oom = true;
				goto out;
			}
		}
	}
	json_object_foreach(best, node, b)
	{
		int col = ladder_col_find(l, node);
		const struct col *c = col >= 0 ? &l->col[col] : NULL;

		if (c && c->role == ROLE_NAT && c->side >= 0)
			col = ladder_side_col(l, c->side);
		addr_add(l, sget(b, "ip"), col);
	}
out:
	json_decref(tally);
	json_decref(best);
}

static void addrs_build(struct ld *l)
{
	const json_t *settled = json_object_get(l->wire, "settled");
	int turn = ladder_col_role(l, ROLE_TURN), stun = ladder_col_role(l, ROLE_STUN);
	const char *k;
	json_t *v;
	size_t i;

	/* the wire first: what the lab saw outranks what agents said */
	addrs_points(l);
	json_array_foreach(json_object_get(l->wire, "flows"), i, v)
	{
		const char *kind = sget(v, "kind");

		/* clients open these, to the server's listener */
		if (prefix(kind, "stun"))
			addr_add(l, sget(v, "dst"), stun);
		else if (prefix(kind, "turn"))
			addr_add(l, sget(v, "dst"), turn);
	}
	addr_add(l, sget(settled, "relay"), turn);
	/* a relayed flow: the relayed address (on the TURN server's IP) and
	 * a peer, in either order (src is the initiator) */
	json_array_foreach(json_object_get(l->wire, "flows"), i, v)
	{
		const char *kind = sget(v, "kind");
		if (!kind || strcmp(kind, "relayed") != 0 ||
		    ladder_addr_col(l, sget(v, "dst")) == turn ||
		    ladder_addr_col(l, sget(v, "src")) >= 0)
			continue;
		addr_add(l, sget(v, "src"), turn);
	}
	json_object_foreach((json_t *)json_object_get(l->wire, "directions"), k, v)
	{
		char from[LD_NAME_MAX], to[LD_NAME_MAX];
		const char *arrow = strstr(k, "->");

		if (!arrow || (size_t)(arrow - k) >= sizeof(from) ||
		    strlen(arrow + 2) >= sizeof(to))
			continue;
		memcpy(from, k, (size_t)(arrow - k));
		from[arrow - k] = '\0';
		strcpy(to, arrow + 2);
		if (sget(v, "relay"))
			addr_add(l, sget(v, "relay"), turn);
		if (!prefix(sget(v, "class"), "relay")) {
			addr_add(l, sget(v, "from"), ladder_col_find(l, from));
			addr_add(l, sget(v, "to"), ladder_col_find(l, to));
		}
	}
	json_object_foreach((json_t *)json_object_get(l->cell, "candidates"), k, v)
	{
		int s = ladder_side_find(l, k);
		size_t j;
		json_t *c;

		json_array_foreach(v, j, c)
		{
			struct ld_cand cd;
			if (ladder_cand_parse(json_string_value(c), &cd))
				addr_add(l, cd.ip,
					 cd.type == ICE_CAND_RELAY ? turn : ladder_side_col(l, s));
		}
	}
	json_object_foreach((json_t *)json_object_get(l->cell, "pairs"), k, v)
	{
		int s = ladder_side_find(l, k);
		size_t j;
		json_t *p;

		json_array_foreach(v, j, p)
		{
			addr_endpoint(l, json_object_get(p, "local"), ladder_side_col(l, s));
			addr_endpoint(l, json_object_get(p, "remote"), ladder_peer_col(l, s));
		}
	}
}

static void ld_free(struct ld *l)
{
	for (size_t i = 0; i < l->nit; i++)
		free(l->it[i].label);
	free(l->it);
	json_decref(l->addr);
	json_decref(l->agg);
}

char *ladder_svg(const json_t *cell, size_t max_bytes)
{
	struct ld l;
	struct band bd;
	char *svg = NULL;
	int err = ENOENT;

	memset(&l, 0, sizeof(l));
	if (!json_is_object(cell)) {
		errno = ENOENT;
		return NULL;
	}
	l.cell = cell;
	l.wire =
	    json_is_object(json_object_get(cell, "wire")) ? json_object_get(cell, "wire") : NULL;
	l.evidence = json_is_object(json_object_get(cell, "evidence"))
			 ? json_object_get(cell, "evidence")
			 : NULL;
	l.params = json_object_get(cell, "params");
	l.events =
	    json_is_array(json_object_get(cell, "events")) ? json_object_get(cell, "events") : NULL;
	for (int s = 0; s < LD_SIDES_MAX; s++) {
		l.local_t[s] = l.cand_t[s] = l.checks_t[s] = l.end_t[s] = NAN;
		l.sel_item[s] = -1;
	}
	l.addr = json_object();
	l.agg = json_object();
	if (!l.addr || !l.agg) {
		err = ENOMEM;
		goto out;
	}
	sides_collect(&l);
	cols_build(&l);
	if (l.ncol == 0)
		goto out;
	nat_notes(&l);
	addrs_build(&l);
	ladder_events_steps(&l);
	ladder_selected_details(&l);
	ladder_answer_steps(&l);
	ladder_check_steps(&l);
	ladder_flow_steps(&l);
	ladder_drop_steps(&l);
	if (l.oom) {
		err = ENOMEM;
		goto out;
	}
	ladder_band_build(&l, &bd);
	if (l.nit == 0 && !bd.label[0])
		goto out;
	err = -ladder_fit(&l, &bd, max_bytes, &svg);
out:
	ld_free(&l);
	if (err)
		errno = err;
	return err ? NULL : svg;
}

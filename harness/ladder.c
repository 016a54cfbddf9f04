/* ladder.c - a cell's ladder diagram as SVG, from its record only.
 *
 * Three steps: the columns (sides, their NATs, the servers), the steps in
 * time (items: arrows, marks on a lifeline, drops, faults) with every
 * address the record names mapped to a column, then the drawing, which
 * leaves out the least telling steps until it fits the byte budget. */
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

#define LD_SIDES_MAX	  4 /* call sides drawn; more are counted */
#define LD_SIDE_NATS_MAX  2 /* a side's NATs: its home NAT and a carrier NAT */
#define LD_LOOSE_NATS_MAX 2 /* NATs that belong to no side */
#define LD_COLS_MAX	  (LD_SIDES_MAX * (1 + LD_SIDE_NATS_MAX) + LD_LOOSE_NATS_MAX + 2)
#define LD_NAME_MAX	  64   /* a node or side name, NUL included */
#define LD_HEAD_CHARS	  22   /* a heading's bytes before it is cut */
#define LD_LABEL_MAX	  120  /* a step's label bytes before it is cut */
#define LD_ITEMS_MAX	  2000 /* steps considered; more are counted */
#define LD_EVENT_GAP_MS	  100  /* events of one kind this close are one step */
#define LD_NOTE_RESERVE	  400  /* bytes kept for the elision note */

/* geometry, in px */
#define LD_X0	     70	 /* the time axis */
#define LD_COLW	     150 /* between lifelines */
#define LD_TOP	     44	 /* headings */
#define LD_ROWH	     24
#define LD_RMARGIN   120
#define LD_MIN_WIDTH 640

enum role { ROLE_AGENT, ROLE_NAT, ROLE_STUN, ROLE_TURN };

struct col {
	char name[LD_NAME_MAX];
	char sub[LD_NAME_MAX];
	char note[LD_NAME_MAX]; /* a NAT's drop counters, "" */
	enum role role;
	int side; /* owning side, -1 */
};

enum ikind { IK_ARROW, IK_MARK, IK_DROP, IK_FAULT };

/* What is left out first when the budget is short: lowest first. */
enum pri { PRI_EVENT, PRI_CHECK, PRI_FLOW, PRI_DATA, PRI_CLAIM, PRI_EVIDENCE, PRI_N };

static const char *const pri_names[PRI_N] = {"agent events", "checks and answers", "flows", "data",
					     "selections",   "drops and faults"};

struct item {
	double t, t_end;
	enum ikind kind;
	enum pri pri;
	const char *cls; /* k-<cls>: the colour */
	int from, to;	 /* columns, -1 for none */
	bool both, on, dash;
	uint32_t obs; /* columns the flow was seen at */
	int n;	      /* events folded into this step */
	char *label;
	size_t order;
	bool keep;
};

struct sb {
	char *p;
	size_t n, cap;
	bool oom;
};

struct ld {
	const json_t *cell, *wire, *evidence, *params, *events;
	char side[LD_SIDES_MAX][LD_NAME_MAX];
	int nside;
	size_t side_elided;
	struct col col[LD_COLS_MAX];
	int ncol;
	size_t col_elided;
	json_t *addr; /* ip -> column */
	json_t *agg;  /* "col|ev" -> item index of the open aggregate */
	struct item *it;
	size_t nit, cap, it_elided;
	size_t nlow, nhigh; /* steps below PRI_CLAIM, and the others */
	double local_t[LD_SIDES_MAX], cand_t[LD_SIDES_MAX], checks_t[LD_SIDES_MAX];
	double end_t[LD_SIDES_MAX];  /* the side's first selection or failure */
	long sel_item[LD_SIDES_MAX]; /* the side's last selection step, -1 */
	bool oom;
};

/* ---- small helpers ---- */

static const char *sget(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* A finite number under @k, else NAN. */
static double nget(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	double d;

	if (!json_is_number(v))
		return NAN;
	d = json_number_value(v);
	if (!isfinite(d) || d > 1e12 || d < -1e12)
		return NAN;
	return d;
}

/* A count under @k: integers and reals, clamped to [0, 2^53]. */
static long long cget(const json_t *o, const char *k)
{
	double d = nget(o, k);

	if (isnan(d) || d < 0)
		return 0;
	return d > 9007199254740992.0 ? 9007199254740992LL : (long long)d;
}

static bool prefix(const char *s, const char *p)
{
	return s && strncmp(s, p, strlen(p)) == 0;
}

static void sb_put(struct sb *b, const char *s, size_t len)
{
	if (b->oom)
		return;
	if (harness_grow((void **)&b->p, &b->cap, b->n + len + 1, 1) < 0) {
		b->oom = true;
		return;
	}
	memcpy(b->p + b->n, s, len);
	b->n += len;
	b->p[b->n] = '\0';
}

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sb *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	sb_put(b, tmp, (size_t)len < sizeof(tmp) ? (size_t)len : sizeof(tmp) - 1);
}

/* The length of the well-formed UTF-8 character at @s that XML 1.0 §2.2
 * allows (no C0 control but tab, newline, CR; no surrogate, no U+FFFE or
 * U+FFFF), or 0: labels are cut by byte counts, so a character may be
 * torn. */
static size_t xml_char(const unsigned char *s, size_t left)
{
	uint32_t cp;
	size_t n;

	if (s[0] < 0x80)
		return s[0] >= 0x20 || s[0] == '\t' || s[0] == '\n' || s[0] == '\r' ? 1 : 0;
	if (s[0] >= 0xF0 && s[0] <= 0xF4)
		n = 4, cp = s[0] & 0x07;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		n = 3, cp = s[0] & 0x0F;
	else if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2, cp = s[0] & 0x1F;
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
		return 0;
	return n;
}

/* @s escaped for XML text and attribute values (XML 1.0 §2.4, §3.3.3), at
 * most @max bytes of it, cut with an ellipsis; what XML cannot hold
 * (control characters, torn or malformed UTF-8) is left out. */
static void sb_esc(struct sb *b, const char *s, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len, i = 0;

	if (!s)
		return;
	len = strlen(s);
	while (i < len && i < max) {
		size_t n = xml_char(u + i, len - i);
		if (n == 0) {
			i++;
			continue;
		}
		if (i + n > max)
			break;
		switch (u[i]) {
		case '&':
			sb_put(b, "&amp;", 5);
			break;
		case '<':
			sb_put(b, "&lt;", 4);
			break;
		case '>':
			sb_put(b, "&gt;", 4);
			break;
		case '"':
			sb_put(b, "&quot;", 6);
			break;
		case '\'':
			sb_put(b, "&#39;", 5);
			break;
		case '\t':
		case '\n':
		case '\r':
			sb_put(b, " ", 1); /* attribute values normalise them anyway */
			break;
		default:
			sb_put(b, s + i, n);
		}
		i += n;
	}
	if (i < len)
		sb_put(b, "\xE2\x80\xA6", 3);
}

/* The address part of "a.b.c.d:port", "[v6]:port", a bare address. */
static void ip_of(const char *s, char *out, size_t cap)
{
	const char *end;
	size_t len;

	out[0] = '\0';
	if (!s || !*s)
		return;
	if (s[0] == '[') {
		s++;
		end = strchr(s, ']');
	} else {
		end = strchr(s, ':');
		if (end && strchr(end + 1, ':'))
			end = NULL; /* a bare IPv6 address */
	}
	len = end ? (size_t)(end - s) : strlen(s);
	if (len >= cap)
		return;
	memcpy(out, s, len);
	out[len] = '\0';
}

/* ---- columns ---- */

static bool server_name(const char *s)
{
	return prefix(s, "stun") || prefix(s, "turn");
}

static int side_find(const struct ld *l, const char *name)
{
	for (int i = 0; name && i < l->nside; i++)
		if (strcmp(l->side[i], name) == 0)
			return i;
	return -1;
}

static void side_add(struct ld *l, const char *name)
{
	if (!name || !*name || server_name(name) || strcmp(name, "harness") == 0 ||
	    strcmp(name, "fault") == 0 || side_find(l, name) >= 0)
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
	if (!name || !*name || server_name(name) || side_find(l, name) >= 0 ||
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

/* What the scenario prelude's scen.side() builds for a side whose
 * parameter names a NAT preset: "<side>-nat", and "<side>-cgn" behind it
 * for "cgnat"; "open" has none (scenarios/prelude/30_scen.lua). */
static void nats_from_params(struct ld *l, struct natname *n, int *nn, int cap)
{
	for (int s = 0; s < l->nside; s++) {
		const char *preset = sget(l->params, l->side[s]);
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
 * give it. */
static const char *nat_sub(const struct ld *l, const char *name, int s)
{
	const char *preset = s >= 0 ? sget(l->params, l->side[s]) : NULL;
	size_t len = s >= 0 ? strlen(l->side[s]) : 0;

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
		stun |= prefix(sget(v, "src"), "stun");
		turn |= prefix(sget(v, "src"), "turn");
	}
	json_object_foreach((json_t *)json_object_get(l->cell, "candidates"), k, v)
	{
		size_t j;
		json_t *c;
		json_array_foreach(v, j, c)
		{
			const char *line = json_string_value(c);
			stun |= line && strstr(line, " typ srflx") != NULL;
			turn |= line && strstr(line, " typ relay") != NULL;
		}
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

static int col_role(const struct ld *l, enum role r)
{
	for (int i = 0; i < l->ncol; i++)
		if (l->col[i].role == r)
			return i;
	return -1;
}

/* The column of a node, side or fault target ("node:ifname"). */
static int col_find(const struct ld *l, const char *name)
{
	size_t len;

	if (!name || !*name)
		return -1;
	for (int i = 0; i < l->ncol; i++)
		if (strcmp(l->col[i].name, name) == 0)
			return i;
	if (prefix(name, "stun"))
		return col_role(l, ROLE_STUN);
	if (prefix(name, "turn"))
		return col_role(l, ROLE_TURN);
	len = strcspn(name, ":");
	for (int i = 0; name[len] && i < l->ncol; i++)
		if (strlen(l->col[i].name) == len && strncmp(l->col[i].name, name, len) == 0)
			return i;
	return -1;
}

static int side_col(const struct ld *l, int s)
{
	return s >= 0 ? col_find(l, l->side[s]) : -1;
}

/* The other side of a two-sided call. */
static int peer_col(const struct ld *l, int s)
{
	return l->nside == 2 && s >= 0 ? side_col(l, 1 - s) : -1;
}

/* ---- addresses ---- */

static void addr_add(struct ld *l, const char *hostport, int col)
{
	char ip[80];

	if (col < 0)
		return;
	ip_of(hostport, ip, sizeof(ip));
	if (!ip[0] || json_object_get(l->addr, ip))
		return;
	if (json_object_set_new(l->addr, ip, json_integer(col)) < 0)
		l->oom = true;
}

static int addr_col(const struct ld *l, const char *hostport)
{
	char ip[80];
	json_t *v;

	ip_of(hostport, ip, sizeof(ip));
	v = ip[0] ? json_object_get(l->addr, ip) : NULL;
	return v ? (int)json_integer_value(v) : -1;
}

/* "candidate:F 1 udp PRIO ADDR PORT typ TYPE ..." (RFC 8839 §5.1): the
 * address, port and type, or false. */
static bool cand_parse(const char *line, char *addr, size_t acap, char *port, size_t pcap,
		       char *type, size_t tcap)
{
	char buf[512], *save = NULL, *tok;
	int i = 0;

	if (!line || strlen(line) >= sizeof(buf))
		return false;
	strcpy(buf, line);
	addr[0] = port[0] = type[0] = '\0';
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save), i++) {
		if (i == 4)
			snprintf(addr, acap, "%s", tok);
		else if (i == 5)
			snprintf(port, pcap, "%s", tok);
		else if (i == 7)
			snprintf(type, tcap, "%s", tok);
	}
	return addr[0] && type[0];
}

/* An endpoint object of the agent protocol ({type, address, port, ...}):
 * relayed candidates are the TURN server's, the others @owner's. */
static void addr_endpoint(struct ld *l, const json_t *e, int owner)
{
	const char *type = sget(e, "type");

	if (!json_is_object(e))
		return;
	addr_add(l, sget(e, "address"),
		 type && strcmp(type, "relay") == 0 ? col_role(l, ROLE_TURN) : owner);
}

static void addrs_build(struct ld *l)
{
	const json_t *settled = json_object_get(l->wire, "settled");
	int turn = col_role(l, ROLE_TURN), stun = col_role(l, ROLE_STUN);
	const char *k;
	json_t *v;
	size_t i;

	/* the wire first: what the lab saw outranks what agents said */
	json_array_foreach(json_object_get(l->wire, "flows"), i, v)
	{
		const char *kind = sget(v, "kind");
		int s = side_find(l, sget(v, "side"));
		bool relayed = kind && strcmp(kind, "relayed") == 0;

		if (relayed)
			continue; /* after the TURN server's own address is known */
		addr_add(l, sget(v, "src"), side_col(l, s));
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
		if (!kind || strcmp(kind, "relayed") != 0 || addr_col(l, sget(v, "dst")) == turn)
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
			addr_add(l, sget(v, "from"), col_find(l, from));
			addr_add(l, sget(v, "to"), col_find(l, to));
		}
	}
	json_object_foreach((json_t *)json_object_get(l->cell, "candidates"), k, v)
	{
		int s = side_find(l, k);
		size_t j;
		json_t *c;

		json_array_foreach(v, j, c)
		{
			char addr[80], port[16], type[16];
			if (!cand_parse(json_string_value(c), addr, sizeof(addr), port,
					sizeof(port), type, sizeof(type)))
				continue;
			addr_add(l, addr, strcmp(type, "relay") == 0 ? turn : side_col(l, s));
		}
	}
	json_object_foreach((json_t *)json_object_get(l->cell, "pairs"), k, v)
	{
		int s = side_find(l, k);
		size_t j;
		json_t *p;

		json_array_foreach(v, j, p)
		{
			addr_endpoint(l, json_object_get(p, "local"), side_col(l, s));
			addr_endpoint(l, json_object_get(p, "remote"), peer_col(l, s));
		}
	}
}

/* ---- steps ---- */

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
	const char *addr = sget(e, "address");
	long long port = cget(e, "port");
	const char *k;
	json_t *v;

	if (!addr)
		return -1;
	json_object_foreach((json_t *)json_object_get(l->cell, "candidates"), k, v)
	{
		size_t i;
		json_t *c;
		json_array_foreach(v, i, c)
		{
			char a[80], p[16], type[16];
			if (cand_parse(json_string_value(c), a, sizeof(a), p, sizeof(p), type,
				       sizeof(type)) &&
			    strcmp(a, addr) == 0 && atoll(p) == port)
				return side_find(l, k);
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

static void selected_details(struct ld *l)
{
	for (int s = 0; s < l->nside; s++) {
		const json_t *sel = selected_of(l, s);
		char lo[96], re[96], *label;
		struct item *it;

		if (l->sel_item[s] < 0 || !json_is_object(json_object_get(sel, "local")))
			continue;
		it = &l->it[l->sel_item[s]];
		endpoint_str(json_object_get(sel, "local"), lo, sizeof(lo));
		endpoint_str(json_object_get(sel, "remote"), re, sizeof(re));
		if (asprintf(&label, "%s: %s -> %s", it->label, lo, re) < 0) {
			l->oom = true;
			return;
		}
		free(it->label);
		it->label = label;
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
	int col = col_find(l, target);

	item_add(l, IK_FAULT, PRI_EVIDENCE, t, "fault", col, col, "fault %.40s%s%.40s%s%.60s%s",
		 sget(e, "ev") ? sget(e, "ev") : "?", target ? " " : "", target ? target : "",
		 detail ? " " : "", detail ? detail : "",
		 failed ? " (the fault itself failed)" : "");
}

static void agent_step(struct ld *l, int s, const char *ev, double t)
{
	int col = side_col(l, s), peer = peer_col(l, s);
	struct item *it;

	if (col < 0)
		return;
	if (strcmp(ev, "local") == 0 && isnan(l->local_t[s]))
		l->local_t[s] = t;
	if (strcmp(ev, "candidate") == 0 && isnan(l->cand_t[s]))
		l->cand_t[s] = t;
	if (strcmp(ev, "checks") == 0 && isnan(l->checks_t[s]))
		l->checks_t[s] = t;
	if ((strcmp(ev, "selected") == 0 || strcmp(ev, "failed") == 0) && isnan(l->end_t[s]))
		l->end_t[s] = t;
	if (strcmp(ev, "state") == 0 || strcmp(ev, "checks") == 0)
		return; /* carries no news of its own here; checks are drawn from "pairs" */
	if (strcmp(ev, "selected") == 0 || strcmp(ev, "switched") == 0) {
		it = item_add(l, IK_MARK, PRI_CLAIM, t, "claim", col, col, "%s", ev);
		if (it)
			l->sel_item[s] = (long)(it - l->it);
		return;
	}
	if (strcmp(ev, "failed") == 0) {
		item_add(l, IK_MARK, PRI_CLAIM, t, "fail", col, col, "failed");
		return;
	}
	if (strcmp(ev, "local") == 0) {
		size_t n = json_array_size(
		    json_object_get(json_object_get(l->cell, "candidates"), l->side[s]));
		if (n)
			item_add(l, IK_MARK, PRI_EVENT, t, "event", col, col,
				 "gathered: %zu candidates", n);
		else
			item_add(l, IK_MARK, PRI_EVENT, t, "event", col, col, "gathered");
		return;
	}
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

static void events_steps(struct ld *l)
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
		s = side_find(l, src);
		if (s >= 0) {
			agent_step(l, s, ev, t);
			continue;
		}
		col = server_name(src) ? col_find(l, src) : -1;
		if (col < 0 || aggregate(l, col, ev, t))
			continue;
		it = item_add(l, IK_MARK, PRI_EVENT, t, "event", col, col, "%.40s", ev);
		aggregate_open(l, col, ev, it);
	}
}

/* The servers' answers as the agents report them in their candidates: the
 * reflexive address the STUN server saw, the relayed addresses TURN
 * allocated; drawn when the side gathered. */
static void answer_steps(struct ld *l)
{
	int stun = col_role(l, ROLE_STUN), turn = col_role(l, ROLE_TURN);

	for (int s = 0; s < l->nside; s++) {
		const json_t *list =
		    json_object_get(json_object_get(l->cell, "candidates"), l->side[s]);
		double t = isnan(l->local_t[s]) ? l->cand_t[s] : l->local_t[s];
		char srflx[100] = "", relay[100] = "";
		size_t nsrflx = 0, nrelay = 0, i;
		json_t *c;

		json_array_foreach(list, i, c)
		{
			char addr[80], port[16], type[16];
			if (!cand_parse(json_string_value(c), addr, sizeof(addr), port,
					sizeof(port), type, sizeof(type)))
				continue;
			if (strcmp(type, "srflx") == 0 && nsrflx++ == 0)
				snprintf(srflx, sizeof(srflx), "%s:%s", addr, port);
			if (strcmp(type, "relay") == 0 && nrelay++ == 0)
				snprintf(relay, sizeof(relay), "%s:%s", addr, port);
		}
		if (nsrflx && stun >= 0)
			item_add(l, IK_ARROW, PRI_CHECK, t, "answer", stun, side_col(l, s),
				 "mapped address (srflx) %s%s", srflx,
				 nsrflx > 1 ? " and others" : "");
		if (nrelay && turn >= 0)
			item_add(l, IK_ARROW, PRI_CHECK, t, "answer", turn, side_col(l, s),
				 "allocated relay %s%s", relay,
				 nrelay > 1 ? " (+ more allocations)" : "");
	}
}

/* Each side's check list, one arrow per remote column: pairs, requests,
 * successes, at the time the side reported it. */
static void check_steps(struct ld *l)
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
				      ? col_role(l, ROLE_TURN)
				      : addr_col(l, sget(r, "address"));
			int k;

			if (col < 0 || col == side_col(l, s))
				col = peer_col(l, s);
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
			item_add(l, IK_ARROW, PRI_CHECK, t, "check", side_col(l, s), g[k].col,
				 "checks: %lld pairs, %lld requests, %lld succeeded%s", g[k].pairs,
				 g[k].checks, g[k].ok, g[k].nominated ? ", nominated" : "");
	}
}

/* Is the flow on the path the wire settled on? */
static bool flow_on_path(const struct ld *l, const json_t *f)
{
	const json_t *settled = json_object_get(l->wire, "settled");
	const char *cls = sget(settled, "class"), *kind = sget(f, "kind");
	const char *src = sget(f, "src"), *dst = sget(f, "dst");
	const char *k;
	json_t *d;

	if (!cls || !kind || !src || !dst)
		return false;
	if (strcmp(cls, "direct") == 0) {
		bool any = false;
		if (strcmp(kind, "direct") != 0)
			return false;
		json_object_foreach((json_t *)json_object_get(l->wire, "directions"), k, d)
		{
			const char *from = sget(d, "from"), *to = sget(d, "to");
			any = true;
			if (from && to &&
			    ((strcmp(from, src) == 0 && strcmp(to, dst) == 0) ||
			     (strcmp(from, dst) == 0 && strcmp(to, src) == 0)))
				return true;
		}
		return !any;
	}
	if (!prefix(cls, "relay"))
		return false;
	if (strcmp(kind, "relayed") == 0) {
		const char *relay = sget(settled, "relay");
		return !relay || strcmp(relay, src) == 0 || strcmp(relay, dst) == 0;
	}
	if (prefix(kind, "turn-")) {
		const char *tr = sget(json_object_get(settled, "transport"), sget(f, "side"));
		return !tr || strcmp(kind + 5, tr) == 0;
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
static void flow_steps(struct ld *l)
{
	const json_t *win = json_object_get(l->wire, "window_ms");
	double w0 = json_is_array(win) ? json_number_value(json_array_get(win, 0)) : NAN;
	int stun = col_role(l, ROLE_STUN), turn = col_role(l, ROLE_TURN);
	json_t *seen = json_object();
	size_t i;
	json_t *f;

	if (!seen) {
		l->oom = true;
		return;
	}
	if (!json_is_number(json_array_get(win, 0)))
		w0 = NAN;
	json_array_foreach(json_object_get(l->wire, "flows"), i, f)
	{
		const char *kind = sget(f, "kind"), *src = sget(f, "src"), *dst = sget(f, "dst");
		const char *proto = sget(f, "proto");
		int s = side_find(l, sget(f, "side")), at = col_find(l, sget(f, "node"));
		int from, to;
		double t = nget(f, "first_ms"), last = nget(f, "last_ms");
		long long dtx = cget(f, "data_tx_pkts"), drx = cget(f, "data_rx_pkts");
		char key[300];
		json_t *hit;
		struct item *it;
		bool on;

		if (!json_is_object(f) || !src || !dst)
			continue;
		snprintf(key, sizeof(key), "%.8s|%.120s|%.120s", proto ? proto : "", src, dst);
		hit = json_object_get(seen, key);
		if (hit) {
			if (at >= 0)
				l->it[json_integer_value(hit)].obs |= 1u << at;
			continue;
		}
		if (kind && strcmp(kind, "relayed") == 0) {
			int cs = addr_col(l, src), cd = addr_col(l, dst);
			if (cs >= 0 && cs != turn) { /* the peer began it */
				from = cs;
				to = turn;
			} else {
				from = turn;
				to = cd >= 0 && cd != turn     ? cd
				     : s >= 0 && l->nside == 2 ? side_col(l, 1 - s)
							       : -1;
			}
		} else {
			from = s >= 0 ? side_col(l, s) : addr_col(l, src);
			if (prefix(kind, "stun"))
				to = stun;
			else if (prefix(kind, "turn"))
				to = turn;
			else
				to = addr_col(l, dst);
			if (to < 0 || to == from)
				to = kind && strcmp(kind, "direct") == 0 ? peer_col(l, s) : at;
		}
		if (from < 0)
			from = at;
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
	json_decref(seen);
}

/* evidence.<nat>.drops: an arrow from the sender to the NAT, crossed out. */
static void drop_steps(struct ld *l)
{
	const char *nat;
	json_t *ev;

	json_object_foreach((json_t *)l->evidence, nat, ev)
	{
		int at = col_find(l, nat);
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
			int from = addr_col(l, src);

			if (from < 0 || from == at)
				from = peer_col(l, l->col[at].side);
			item_add(
			    l, IK_DROP, PRI_EVIDENCE, t, "drop", from, at,
			    "%.30s dropped %lld pkts (%.30s) %.4s %.50s -> %.50s, %.0f-%.0f ms",
			    nat, cget(d, "pkts"), rule ? rule : "?", proto ? proto : "",
			    src ? src : "?", dst ? dst : "?", t, isnan(last) ? t : last);
		}
	}
}

/* ---- the settled path ---- */

struct band {
	bool wire, failed;
	int cols[LD_COLS_MAX];
	int n;
	char label[300];
};

static void band_build(const struct ld *l, struct band *b)
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
		snprintf(b->label, sizeof(b->label), "settled path (wire): %.20s%s%.60s%s%s%s", cls,
			 sget(settled, "relay") ? " via relayed address " : "",
			 sget(settled, "relay") ? sget(settled, "relay") : "", trs[0] ? "; " : "",
			 trs, b->failed ? " - data did not flow both ways" : "");
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
	a = side_col(l, 0);
	z = side_col(l, l->nside - 1);
	for (int i = 0; i < l->ncol; i++) {
		const struct col *c = &l->col[i];
		bool mine = i == a || i == z ||
			    (c->role == ROLE_NAT && (c->side == 0 || c->side == l->nside - 1));
		if (mine || (relay && c->role == ROLE_TURN))
			b->cols[b->n++] = i;
	}
}

/* ---- drawing ---- */

static const char css[] =
    ".ladder text{fill:#222}.ladder .col{font-weight:bold;font-size:11px}"
    ".ladder .sub,.ladder .t,.ladder .note{fill:#666}"
    ".ladder .life{stroke:#bbb;stroke-dasharray:4 3}"
    ".ladder .ar line{stroke:var(--c);stroke-width:1.3}.ladder .ar polygon,.ladder .mark "
    "circle{fill:var(--c)}"
    ".ladder .dash line{stroke-dasharray:5 3}.ladder .on line{stroke-width:3.5}"
    ".ladder .on text{font-weight:bold}.ladder .obs{fill:#fff;stroke:#333}"
    ".ladder g{--c:#666}.ladder .k-gather{--c:#7570b3}.ladder .k-answer{--c:#9e9ac8}"
    ".ladder .k-check{--c:#d95f02}.ladder .k-flow{--c:#1f78b4}.ladder .k-data{--c:#1b9e77}"
    ".ladder .k-claim{--c:#e7298a}.ladder .k-fail{--c:#d7301f}"
    ".ladder .nat-drops{fill:#b0261a}.ladder .drop line{stroke:#d7301f;stroke-dasharray:2 "
    "2}.ladder .drop path{stroke:#d7301f;"
    "stroke-width:3}.ladder .drop text,.ladder .fault text{fill:#b0261a}"
    ".ladder .fault line{stroke:#d7301f;stroke-dasharray:8 4}.ladder .fault "
    "path{stroke:#d7301f;stroke-width:2}"
    ".ladder .settled polyline{stroke:#1b9e77;stroke-width:9;stroke-opacity:.35;fill:none}"
    ".ladder .settled circle{fill:#1b9e77}.ladder .settled.claim polyline{stroke:#888;"
    "stroke-dasharray:6 4}.ladder .settled.claim circle{fill:#888}";

static int col_x(int c)
{
	return LD_X0 + c * LD_COLW + LD_COLW / 2;
}

/* The label of a step: "rx x40 (371-570 ms)" for a folded run. */
static void label_text(struct sb *b, const struct item *it)
{
	char more[80] = "";

	if (it->n > 1)
		snprintf(more, sizeof(more), " x%d (%.0f-%.0f ms)", it->n, it->t, it->t_end);
	sb_esc(b, it->label, LD_LABEL_MAX);
	sb_put(b, more, strlen(more));
}

/* Text next to x: to its right in the left part of the page, else to its
 * left, so that it stays on the page. */
static void text_at(struct sb *b, int x, int y, int w, bool right_of)
{
	if (right_of || x < w / 2)
		sb_printf(b, "<text x=\"%d\" y=\"%d\">", x, y);
	else
		sb_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", x, y);
}

static void head(struct sb *b, int x, int y, bool right)
{
	int d = right ? 7 : -7; /* the tip at x, the base behind it */

	sb_printf(b, "<polygon points=\"%d,%d %d,%d %d,%d\"/>", x, y, x - d, y - 4, x - d, y + 4);
}

static void item_draw(const struct ld *l, struct sb *b, const struct item *it, int y, int w)
{
	int x1 = it->from >= 0 ? col_x(it->from) : LD_X0, x2 = col_x(it->to >= 0 ? it->to : 0);
	int lo = x1 < x2 ? x1 : x2, hi = x1 < x2 ? x2 : x1;
	int ly = y + 5; /* the line, under its label */

	switch (it->kind) {
	case IK_ARROW:
		sb_printf(b, "<g class=\"ar k-%s%s%s\" data-from=\"", it->cls, it->on ? " on" : "",
			  it->dash ? " dash" : "");
		sb_esc(b, l->col[it->from].name, LD_NAME_MAX);
		sb_put(b, "\" data-to=\"", 11);
		sb_esc(b, l->col[it->to].name, LD_NAME_MAX);
		sb_printf(b, "\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", x1, ly, x2, ly);
		head(b, x2, ly, x2 > x1);
		if (it->both)
			head(b, x1, ly, x1 > x2);
		for (int c = 0; c < l->ncol; c++)
			if (it->obs & (1u << c))
				sb_printf(b,
					  "<circle class=\"obs\" cx=\"%d\" cy=\"%d\" r=\"2.5\"/>",
					  col_x(c), ly);
		text_at(b, (lo + hi) / 2 < w / 2 ? lo + 8 : hi - 8, y, w, (lo + hi) / 2 < w / 2);
		break;
	case IK_MARK:
		sb_printf(b, "<g class=\"mark k-%s\" data-col=\"", it->cls);
		sb_esc(b, l->col[it->from].name, LD_NAME_MAX);
		sb_printf(b, "\"><circle cx=\"%d\" cy=\"%d\" r=\"4\"/>", x1, ly);
		text_at(b, x1 < w / 2 ? x1 + 8 : x1 - 8, ly + 3, w, false);
		break;
	case IK_DROP:
		sb_put(b, "<g class=\"drop\" data-at=\"", 25);
		sb_esc(b, l->col[it->to].name, LD_NAME_MAX);
		if (it->from >= 0) {
			sb_put(b, "\" data-from=\"", 13);
			sb_esc(b, l->col[it->from].name, LD_NAME_MAX);
			sb_printf(b, "\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", x1, ly,
				  x2, ly);
		} else {
			sb_put(b, "\">", 2);
		}
		sb_printf(b, "<path d=\"M%d %dL%d %dM%d %dL%d %d\"/>", x2 - 6, ly - 6, x2 + 6,
			  ly + 6, x2 + 6, ly - 6, x2 - 6, ly + 6);
		if (it->from >= 0)
			text_at(b, (lo + hi) / 2 < w / 2 ? lo + 8 : hi - 8, y, w,
				(lo + hi) / 2 < w / 2);
		else
			text_at(b, x2 < w / 2 ? x2 + 10 : x2 - 10, y, w, false);
		break;
	case IK_FAULT:
		sb_put(b, "<g class=\"fault\"", 16);
		if (it->from >= 0) {
			sb_put(b, " data-col=\"", 11);
			sb_esc(b, l->col[it->from].name, LD_NAME_MAX);
			sb_put(b, "\"", 1);
		}
		sb_printf(b, "><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", LD_X0, ly, w - 10,
			  ly);
		if (it->from >= 0)
			sb_printf(b, "<path d=\"M%d %dL%d %dM%d %dL%d %d\"/>", x1 - 5, ly - 5,
				  x1 + 5, ly + 5, x1 + 5, ly - 5, x1 - 5, ly + 5);
		sb_printf(b, "<text x=\"%d\" y=\"%d\">", LD_X0 + 4, y);
		break;
	}
	label_text(b, it);
	sb_put(b, "</text></g>\n", 12);
}

static void band_draw(const struct ld *l, struct sb *b, const struct band *bd, int y)
{
	if (!bd->label[0])
		return;
	sb_printf(b, "<g class=\"settled%s\" data-source=\"%s\" data-path=\"",
		  bd->wire ? "" : " claim", bd->wire ? "wire" : "claim");
	for (int i = 0; i < bd->n; i++) {
		if (i)
			sb_put(b, ",", 1);
		sb_esc(b, l->col[bd->cols[i]].name, LD_NAME_MAX);
	}
	sb_put(b, "\">", 2);
	if (bd->n > 1) {
		sb_put(b, "<polyline points=\"", 18);
		for (int i = 0; i < bd->n; i++)
			sb_printf(b, "%s%d,%d", i ? " " : "", col_x(bd->cols[i]), y + 6);
		sb_put(b, "\"/>", 3);
		for (int i = 0; i < bd->n; i++)
			sb_printf(b, "<circle cx=\"%d\" cy=\"%d\" r=\"5\"/>", col_x(bd->cols[i]),
				  y + 6);
	}
	sb_printf(b, "<text x=\"%d\" y=\"%d\">", LD_X0 + 4, y - 6);
	sb_esc(b, bd->label, sizeof(bd->label));
	sb_put(b, "</text></g>\n", 12);
}

/* Among steps at one time: what led to a selection, the selection, then
 * what flowed after it. */
static int item_phase(const struct item *it)
{
	static const int phase[PRI_N] = {
	    [PRI_EVENT] = 0, [PRI_CHECK] = 1,	 [PRI_FLOW] = 1,
	    [PRI_CLAIM] = 2, [PRI_EVIDENCE] = 2, [PRI_DATA] = 3,
	};
	return phase[it->pri];
}

static int item_cmp(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;

	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	if (item_phase(a) != item_phase(b))
		return item_phase(a) - item_phase(b);
	return (a->order > b->order) - (a->order < b->order);
}

/* The whole picture of the items marked keep; @dropped[p] steps of
 * priority p were left out for the budget. */
static void render(const struct ld *l, const struct band *bd, const size_t *dropped, size_t budget,
		   struct sb *b)
{
	const char *id = sget(l->cell, "id");
	size_t rows = 0, all = 0;
	int w = LD_X0 + l->ncol * LD_COLW + LD_RMARGIN, h, y, bottom;
	double last_t = NAN;

	for (size_t i = 0; i < l->nit; i++)
		rows += l->it[i].keep;
	bottom = LD_TOP + (int)rows * LD_ROWH + 8;
	h = bottom + 40 + 16 + 3 * 14 + 10; /* band, elision note, legend */
	if (w < LD_MIN_WIDTH)
		w = LD_MIN_WIDTH; /* room for the legend */
	b->n = 0;
	sb_printf(b,
		  "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"ladder\" width=\"%d\" "
		  "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" "
		  "font-size=\"10\" role=\"img\" data-cell=\"",
		  w, h, w, h);
	sb_esc(b, id ? id : "", 200);
	sb_put(b, "\" aria-label=\"ladder diagram of ", 32);
	sb_esc(b, id ? id : "the cell", 200);
	sb_put(b, "\"><title>ladder diagram of ", 27);
	sb_esc(b, id ? id : "the cell", 200);
	sb_put(b, "</title><style>", 15);
	sb_put(b, css, sizeof(css) - 1);
	sb_printf(b, "</style>\n<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", w, h);
	for (int c = 0; c < l->ncol; c++) {
		int x = col_x(c);
		sb_printf(b, "<text class=\"col\" data-col=\"");
		sb_esc(b, l->col[c].name, LD_NAME_MAX);
		sb_printf(b, "\" x=\"%d\" y=\"14\" text-anchor=\"middle\">", x);
		sb_esc(b, l->col[c].name, LD_HEAD_CHARS);
		sb_printf(b, "</text><text class=\"sub\" x=\"%d\" y=\"28\" text-anchor=\"middle\">",
			  x);
		sb_esc(b, l->col[c].sub, LD_HEAD_CHARS);
		sb_put(b, "</text>", 7);
		if (l->col[c].note[0]) {
			sb_printf(b,
				  "<text class=\"nat-drops\" x=\"%d\" y=\"40\" "
				  "text-anchor=\"middle\">",
				  x);
			sb_esc(b, l->col[c].note, LD_HEAD_CHARS + 8);
			sb_put(b, "</text>", 7);
		}
		sb_printf(b, "<line class=\"life\" x1=\"%d\" y1=\"44\" x2=\"%d\" y2=\"%d\"/>\n", x,
			  x, bottom + 20);
	}
	y = LD_TOP + 10;
	for (size_t i = 0; i < l->nit; i++) {
		const struct item *it = &l->it[i];
		if (!it->keep)
			continue;
		if (it->t != last_t)
			sb_printf(b, "<text class=\"t\" x=\"4\" y=\"%d\">%.0f ms</text>", y + 8,
				  it->t);
		last_t = it->t;
		item_draw(l, b, it, y, w);
		y += LD_ROWH;
	}
	band_draw(l, b, bd, bottom + 14);
	y = bottom + 40 + 10;
	for (int p = 0; p < PRI_N; p++)
		all += dropped[p];
	if (all || l->it_elided || l->col_elided || l->side_elided) {
		const char *sep = "";
		sb_printf(b, "<text class=\"note elided\" x=\"4\" y=\"%d\">not drawn:", y);
		if (all) {
			sb_printf(b, " %zu steps to stay under %zu bytes (", all, budget);
			for (int p = 0; p < PRI_N; p++)
				if (dropped[p]) {
					sb_printf(b, "%s%zu %s", sep, dropped[p], pri_names[p]);
					sep = ", ";
				}
			sb_put(b, ");", 2);
		}
		if (l->it_elided)
			sb_printf(b, " %zu steps beyond %d or with no column;", l->it_elided,
				  LD_ITEMS_MAX);
		if (l->col_elided || l->side_elided)
			sb_printf(b, " %zu columns;", l->col_elided + l->side_elided);
		sb_put(b, " cells.jsonl has everything</text>\n", 35);
		y += 16;
	}
	sb_printf(b,
		  "<text class=\"note\" x=\"4\" y=\"%d\">time runs down, one row per step "
		  "(ms since the cell began, not to scale); dots on an arrow: where the lab saw "
		  "it</text>\n<text class=\"note\" x=\"4\" y=\"%d\">purple: STUN/TURN, "
		  "orange: checks, blue: flows, green: data (bold: the settled path; dashed: an "
		  "agent's word)</text>\n<text class=\"note\" x=\"4\" y=\"%d\">pink: "
		  "selections, red x: dropped by a NAT, red dashes: a fault</text>\n</svg>\n",
		  y, y + 14, y + 28);
}

/* Leave out steps, least telling first and latest first within a kind,
 * until the picture fits @max; false when not even the frame fits. */
static bool fit(struct ld *l, const struct band *bd, size_t max, struct sb *b)
{
	size_t dropped[PRI_N] = {0};
	size_t *by = NULL, nby = 0, pos = 0;
	bool ok = false;

	render(l, bd, dropped, max, b);
	if (b->oom || b->n <= max)
		return !b->oom;
	by = malloc(l->nit * sizeof(*by) + 1);
	if (!by) {
		b->oom = true;
		return false;
	}
	for (int p = 0; p < PRI_N; p++)
		for (size_t i = l->nit; i-- > 0;)
			if (l->it[i].pri == (enum pri)p)
				by[nby++] = i;
	for (;;) {
		/* each step costs about its share of the page: drop that many */
		size_t kept = l->nit - pos;
		size_t per = kept ? b->n / (kept + 4) + 1 : 1;
		size_t need = (b->n - max + LD_NOTE_RESERVE) / per + 1;

		if (pos == nby)
			break;
		for (size_t k = 0; k < need && pos < nby; k++, pos++) {
			l->it[by[pos]].keep = false;
			dropped[l->it[by[pos]].pri]++;
		}
		render(l, bd, dropped, max, b);
		if (b->oom)
			break;
		if (b->n <= max) {
			ok = true;
			break;
		}
	}
	free(by);
	return ok;
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
	struct sb b = {0};
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
	events_steps(&l);
	selected_details(&l);
	answer_steps(&l);
	check_steps(&l);
	flow_steps(&l);
	drop_steps(&l);
	if (l.oom) {
		err = ENOMEM;
		goto out;
	}
	band_build(&l, &bd);
	if (l.nit == 0 && !bd.label[0])
		goto out;
	qsort(l.it, l.nit, sizeof(*l.it), item_cmp);
	if (!fit(&l, &bd, max_bytes, &b)) {
		err = b.oom ? ENOMEM : ENOSPC;
		free(b.p);
		b.p = NULL;
		goto out;
	}
	err = 0;
out:
	ld_free(&l);
	if (err)
		errno = err;
	return err ? NULL : b.p;
}

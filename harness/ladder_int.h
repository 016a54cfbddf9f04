/* ladder_int.h - shared by the three files of the ladder diagram: ladder.c
 * (the columns, the addresses, ladder_svg), ladder_steps.c (the steps in
 * time) and ladder_draw.c (the SVG and its byte budget). Not an interface:
 * harness/ladder.h is. */
#ifndef NATLAB_HARNESS_LADDER_INT_H
#define NATLAB_HARNESS_LADDER_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "agents/ice/candidate.h"

#define LD_SIDES_MAX	  4 /* call sides drawn; more are counted */
#define LD_SIDE_NATS_MAX  2 /* a side's NATs: its home NAT and a carrier NAT */
#define LD_LOOSE_NATS_MAX 2 /* NATs that belong to no side */
#define LD_COLS_MAX	  (LD_SIDES_MAX * (1 + LD_SIDE_NATS_MAX) + LD_LOOSE_NATS_MAX + 2)
#define LD_NAME_MAX	  64   /* a node or side name, NUL included */
#define LD_HEAD_CHARS	  22   /* a heading's bytes before it is cut */
#define LD_LABEL_MAX	  120  /* a step's label bytes before it is cut */
#define LD_ITEMS_MAX	  2000 /* steps considered, per class (below PRI_CLAIM; the rest) */
#define LD_EVENT_GAP_MS	  100  /* events of one kind this close are one step */
#define LD_CLAIMS_MAX	  16   /* a side's selections annotated with the wire's switches */
#define LD_NOTE_RESERVE	  400  /* bytes kept for the elision note */

/* geometry, in px */
#define LD_X0	     70	 /* the time axis */
#define LD_COLW	     150 /* between lifelines */
#define LD_TOP	     52	 /* headings: name, role, a NAT's drop counters */
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

/* One step: one row of the diagram. */
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

/* A diagram being built: the record (borrowed), its sides and columns, the
 * address -> column map, the steps, and what each side did when. */
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
	double end_t[LD_SIDES_MAX];		  /* the side's first selection or failure */
	long sel_item[LD_SIDES_MAX];		  /* the side's last selection step, -1 */
	long claims[LD_SIDES_MAX][LD_CLAIMS_MAX]; /* the side's selection steps */
	int nclaims[LD_SIDES_MAX];
	bool answered[LD_SIDES_MAX]; /* answers drawn from the events' candidate lines */
	bool oom;
};

/* The settled path: the columns it crossed, and what it was. */
struct band {
	bool wire, failed;
	int cols[LD_COLS_MAX];
	int n;
	char label[400];
};

/* ---- record access (every key may be missing or of the wrong type) ---- */
static inline const char *sget(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* A finite number under @k, else NAN. */
static inline double nget(const json_t *o, const char *k)
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
static inline long long cget(const json_t *o, const char *k)
{
	double d = nget(o, k);

	if (isnan(d) || d < 0)
		return 0;
	return d > 9007199254740992.0 ? 9007199254740992LL : (long long)d;
}

static inline bool prefix(const char *s, const char *p)
{
	return s && strncmp(s, p, strlen(p)) == 0;
}

/* ---- ladder.c: columns and addresses ---- */

/* Does @s name a STUN or TURN server node ("stun", "turn", "turn-server")? */
bool ladder_server_name(const char *s);
/* The side called @name, -1. */
int ladder_side_find(const struct ld *l, const char *name);
/* The first column in role @r, -1. */
int ladder_col_role(const struct ld *l, enum role r);
/* The column of a node, side or fault target ("node:ifname"), -1. */
int ladder_col_find(const struct ld *l, const char *name);
/* Side @s's column, and the other side's of a two-sided call; -1. */
int ladder_side_col(const struct ld *l, int s);
int ladder_peer_col(const struct ld *l, int s);
/* The address of a bare address, "a.b.c.d:port" or "[v6]:port", as text in
 * one form whoever wrote it (@cap at least INET6_ADDRSTRLEN); "" when @s
 * is none. */
void ladder_ip_of(const char *s, char *out, size_t cap);
/* The column an address ("ip:port", "[v6]:port", bare) belongs to, -1. */
int ladder_addr_col(const struct ld *l, const char *hostport);
/* A candidate line's address (as text, the form the wire's records use),
 * port and type. */
struct ld_cand {
	char ip[INET6_ADDRSTRLEN];
	unsigned port;
	enum ice_cand_type type;
};
/* "candidate:F 1 udp PRIO ADDR PORT typ TYPE ..." (RFC 8839 §5.1), read
 * by ice_candidate_parse into *@c; false when @line is none. */
bool ladder_cand_parse(const char *line, struct ld_cand *c);

/* ---- ladder_steps.c: the steps, each adding to l->it ---- */

/* Agent, server and fault events: aggregated marks and arrows. */
void ladder_events_steps(struct ld *l);
/* The selected pairs onto each side's last selection. */
void ladder_selected_details(struct ld *l);
/* The servers' answers, from the candidates. */
void ladder_answer_steps(struct ld *l);
/* The check lists. */
void ladder_check_steps(struct ld *l);
/* The wire's flows. */
void ladder_flow_steps(struct ld *l);
/* The NATs' drops. */
void ladder_drop_steps(struct ld *l);
/* The settled path (the wire's, else the agents' claim). */
void ladder_band_build(const struct ld *l, struct band *b);

/* ladder_fit - sort @l's steps in time, then draw them, leaving out the
 * least telling ones (lowest priority, latest first) until the SVG fits
 * @max bytes; *@out is the caller's. 0, -ENOSPC when not even the frame
 * fits, -ENOMEM. */
int ladder_fit(struct ld *l, const struct band *bd, size_t max, char **out);

#endif

/* ladder_draw.c - the SVG of a ladder diagram (harness/ladder.h): the
 * headings and lifelines, one row per step, the settled path, the notes;
 * and the fit to a byte budget. */
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

struct sb {
	char *p;
	size_t n, cap;
	bool oom;
};

static const char *const pri_names[PRI_N] = {"agent events", "checks and answers", "flows", "data",
					     "selections",   "drops and faults"};

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

/* Formatted into the buffer whole, however long (a cut tag would not be
 * XML). */
__attribute__((format(printf, 2, 3))) static void sb_printf(struct sb *b, const char *fmt, ...)
{
	char tmp[512], *big;
	va_list ap, again;
	int len;

	va_start(ap, fmt);
	va_copy(again, ap);
	len = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (len < 0) {
		b->oom = true; /* an encoding error: no output is better than a torn one */
	} else if ((size_t)len < sizeof(tmp)) {
		sb_put(b, tmp, (size_t)len);
	} else if (!(big = malloc((size_t)len + 1))) {
		b->oom = true;
	} else {
		vsnprintf(big, (size_t)len + 1, fmt, again);
		sb_put(b, big, (size_t)len);
		free(big);
	}
	va_end(again);
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
		sb_printf(b, "<g class=\"mark k-%s%s\" data-col=\"", it->cls, it->on ? " on" : "");
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
	const char *id = json_string_value(json_object_get(l->cell, "id"));
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

int ladder_fit(struct ld *l, const struct band *bd, size_t max, char **out)
{
	struct sb b = {0};

	if (l->nit) /* a diagram of the settled path alone has no steps (and it NULL) */
		qsort(l->it, l->nit, sizeof(*l->it), item_cmp);
	if (!fit(l, bd, max, &b)) {
		free(b.p);
		return b.oom ? -ENOMEM : -ENOSPC;
	}
	*out = b.p;
	return 0;
}

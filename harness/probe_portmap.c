/* probe_portmap.c - `natlab probe --portmap`: the port-mapping rows, what
 * the NAT's knobs claim beside what harness/pmcheck.c measured. Pure; see
 * probe_cmd.h and docs/probe.md "Port mapping". */
#include <stdio.h>
#include <string.h>

#include "emu/nat.h"
#include "harness/probe_cmd.h"

/* the knob's bit for each pmcheck protocol */
static unsigned knob_bit(enum pmcheck_proto p)
{
	static const unsigned bit[PMCHECK_N] = {EMU_NAT_PORTMAP_PCP, EMU_NAT_PORTMAP_NATPMP,
						EMU_NAT_PORTMAP_UPNP};
	return bit[p];
}

/* row names: static strings, one set per protocol */
static const char *const row_name[PMCHECK_N][5] = {
    {"pcp answers", "pcp mapping", "pcp reachable", "pcp deleted", "pcp epoch"},
    {"natpmp answers", "natpmp mapping", "natpmp reachable", "natpmp deleted", "natpmp epoch"},
    {"upnp answers", "upnp mapping", "upnp reachable", "upnp deleted", NULL},
};

static struct probe_row *add(struct probe_row *rows, int *n, const char *what, const char *claimed)
{
	struct probe_row *r;

	if (*n >= PROBE_ROWS_MAX)
		return NULL;
	r = &rows[(*n)++];
	r->what = what;
	snprintf(r->claimed, sizeof(r->claimed), "%s", claimed);
	snprintf(r->measured, sizeof(r->measured), "unknown");
	r->ok = false;
	return r;
}

static const char *tri_word(int v, const char *yes, const char *no)
{
	return v < 0 ? "not measured" : v ? yes : no;
}

uint32_t probe_portmap_lifetime_claim(const struct probe_portmap_claim *c)
{
	/* RFC 6887 §15: "the server ... MAY choose a lifetime shorter or
	 * longer"; the knob's server grants the request clamped into
	 * [portmap min, portmap max] */
	uint32_t l = c->lifetime_s;

	if (l < c->min_lifetime_s)
		l = c->min_lifetime_s;
	if (l > c->max_lifetime_s)
		l = c->max_lifetime_s;
	return l;
}

int probe_portmap_compare(const struct probe_portmap_claim *c, const struct pmcheck_report *rep,
			  struct probe_row *rows, int *n_rows)
{
	int bad = 0, first = *n_rows;
	uint32_t life = probe_portmap_lifetime_claim(c);

	for (int p = 0; p < PMCHECK_N; p++) {
		const struct pmcheck_result *m = &rep->r[p];
		bool offered = c->offered & knob_bit((enum pmcheck_proto)p);
		struct probe_row *r;
		char claim[PROBE_VAL_MAX];

		r = add(rows, n_rows, row_name[p][0], offered ? "yes" : "no");
		if (!r)
			break;
		if (!m->tested) {
			snprintf(r->measured, sizeof(r->measured), "not tested");
			/* no client here (upnpc): nothing to set beside a
			 * claim of "no" either, but nothing contradicts it */
			r->ok = !offered;
			continue;
		}
		snprintf(r->measured, sizeof(r->measured), "%s", m->answered ? "yes" : "no");
		r->ok = m->answered == offered;
		if (!offered || !m->answered)
			continue;
		/* what an offered server must do with the mapping */
		snprintf(claim, sizeof(claim), "%s, %u s", c->public_addr, life);
		r = add(rows, n_rows, row_name[p][1], claim);
		if (!r)
			break;
		if (m->external_port)
			snprintf(r->measured, sizeof(r->measured), "%s:%u, %lld s",
				 m->external[0] ? m->external : "?", m->external_port,
				 (long long)m->lifetime_s);
		else
			snprintf(r->measured, sizeof(r->measured), "%s",
				 m->result[0] ? m->result : "no mapping");
		/* UPnP's GetSpecificPortMappingEntry gives the lease left,
		 * read back a moment after AddPortMapping: a few seconds
		 * under the grant */
		r->ok = m->external_port && strcmp(m->external, c->public_addr) == 0 &&
			m->lifetime_s <= (int64_t)life &&
			m->lifetime_s >= (int64_t)life - PROBE_PORTMAP_LIFETIME_SLACK_S;
		if (!m->external_port)
			continue;
		/* RFC 6887 §11.3: a mapped port is reachable from outside,
		 * whatever the filtering; nothing gets through a NAT that
		 * blocks UDP */
		r = add(rows, n_rows, row_name[p][2], c->udp ? "yes" : "no");
		if (!r)
			break;
		snprintf(r->measured, sizeof(r->measured), "%s",
			 tri_word(m->reachable, "yes", "no"));
		r->ok = m->reachable == (int)c->udp;
		/* RFC 6887 §15, RFC 6886 §3.4: deleted, the port is unmapped
		 * again: a new flow to it is filtered */
		r = add(rows, n_rows, row_name[p][3], "acknowledged, closed");
		if (!r)
			break;
		snprintf(r->measured, sizeof(r->measured), "%s, %s",
			 tri_word(m->deleted, "acknowledged", "not acknowledged"),
			 tri_word(m->closed_after, "closed", "still open"));
		r->ok = m->deleted == 1 && m->closed_after == 1;
		if (!row_name[p][4])
			continue;
		r = add(rows, n_rows, row_name[p][4], "consistent");
		if (!r)
			break;
		if (m->epoch_s >= 0)
			snprintf(r->measured, sizeof(r->measured), "%lld s, %s",
				 (long long)m->epoch_s,
				 tri_word(m->epoch_ok, "consistent", "lost state"));
		r->ok = m->epoch_ok == 1;
	}
	for (int i = first; i < *n_rows; i++)
		bad += !rows[i].ok;
	return bad;
}

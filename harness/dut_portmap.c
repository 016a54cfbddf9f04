/* dut_portmap.c - the device's port-mapping rows, see dut_portmap.h. */
#include "harness/dut_portmap.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *req, *title, *key;
} row_of[PMCHECK_N] = {
    {"RFC 6887 PCP", "PCP MAP: mapped port reachable, deleted, epoch kept", "pcp"},
    {"RFC 6886 NAT-PMP", "NAT-PMP: mapped port reachable, deleted, epoch kept", "natpmp"},
    {"UPnP IGD", "UPnP IGD AddPortMapping: reachable, deleted", "upnp_igd"},
};

static const char *tri(int v, const char *yes, const char *no)
{
	return v < 0 ? "not measured" : v ? yes : no;
}

static struct compl_row *row_add(struct compl_report *r, enum pmcheck_proto p)
{
	struct compl_row *w;

	if (r->n_rows >= COMPL_ROWS_MAX)
		return NULL;
	w = &r->rows[r->n_rows++];
	w->req = row_of[p].req;
	w->title = row_of[p].title;
	w->key = row_of[p].key;
	w->measured[0] = w->evidence[0] = '\0';
	return w;
}

void dut_portmap_rows(const struct pmcheck_report *pm, struct compl_report *r)
{
	for (int p = 0; p < PMCHECK_N; p++) {
		const struct pmcheck_result *m = &pm->r[p];
		struct compl_row *w = row_add(r, (enum pmcheck_proto)p);
		char epoch[48] = "";

		if (!w)
			return;
		if (!m->tested || !m->answered) {
			/* a device need not offer port mapping */
			w->verdict = COMPL_NOT_TESTED;
			snprintf(w->measured, sizeof(w->measured), "%s",
				 !m->tested ? "not tested"
				 : strcmp(m->result, "UNSUPP_VERSION") == 0
				     ? "not offered (UNSUPP_VERSION)"
				     : "no answer: not offered");
			snprintf(w->evidence, sizeof(w->evidence), "%s", m->note);
			continue;
		}
		if (!m->external_port) {
			w->verdict = COMPL_INCONCLUSIVE;
			snprintf(w->measured, sizeof(w->measured), "answers, maps nothing: %s",
				 m->result[0] ? m->result : "?");
			snprintf(w->evidence, sizeof(w->evidence),
				 "answered in %lld ms; %s (a refusal may be the device's policy)",
				 (long long)m->answer_ms, m->note);
			continue;
		}
		if (m->epoch_s >= 0)
			snprintf(epoch, sizeof(epoch), ", epoch %lld s", (long long)m->epoch_s);
		/* RFC 6887 §11 / RFC 6886 §3.3: a granted mapping forwards
		 * what the internet sends to the external port; RFC 6887 §15,
		 * RFC 6886 §3.4: lifetime 0 deletes it; RFC 6887 §8.5: an
		 * epoch that jumps means every mapping was lost */
		if (m->reachable != 1 || m->deleted != 1 || m->closed_after != 1 ||
		    m->epoch_ok == 0)
			w->verdict = COMPL_FAIL;
		else
			w->verdict = COMPL_PASS;
		snprintf(w->measured, sizeof(w->measured), "%s:%u, %lld s%s%s",
			 m->external[0] ? m->external : "?", m->external_port,
			 (long long)m->lifetime_s, epoch,
			 m->reachable == 1 ? "" : "; not reachable");
		snprintf(w->evidence, sizeof(w->evidence),
			 "answered in %lld ms (%s); a datagram from the internet to the mapped "
			 "port: %s; deletion: %s; a fresh datagram after it: %s; epoch: %s%s%s",
			 (long long)m->answer_ms, m->result,
			 tri(m->reachable, "arrived", "did not arrive"),
			 tri(m->deleted, "acknowledged", "not acknowledged"),
			 tri(m->closed_after, "dropped", "arrived (still open)"),
			 m->epoch_ok < 0 ? "none"
			 : m->epoch_ok	 ? "consistent"
					 : "lost state",
			 m->note[0] ? "; " : "", m->note);
	}
}

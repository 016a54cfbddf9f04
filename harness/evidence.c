/* evidence.c - each NAT node's evidence in a cell; see evidence.h. */
#include "harness/evidence.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu/conntrack.h"
#include "emu/nat.h"
#include "emu/nat_evidence.h"

struct evidence_nat {
	struct emu_nat_droplog *log;
	bool stopped;
	struct emu_nat_drops drops; /* final, once stopped */
	struct emu_nat_droplog_stats st;
	char pcap_rel[4096];
	uint64_t base[EMU_NAT_CTR_N]; /* counted by tables a re-apply replaced */
	uint64_t forgotten;	      /* mappings a flush or re-apply dropped */
	/* read just before a flush or re-apply, kept once it succeeded */
	uint64_t pending[EMU_NAT_CTR_N], pending_live;
	bool pending_reapply;
	json_t *nat; /* the knobs, as recorded */
};

static json_t *knobs_json(const struct emu_nat_config *c, const char *preset)
{
	json_t *j = json_object();

	if (preset)
		json_object_set_new(j, "preset", json_string(preset));
	json_object_set_new(j, "translate", json_boolean(c->translate));
	if (c->translate) {
		json_object_set_new(j, "mapping", json_string(emu_nat_mapping_name(c->mapping)));
		json_object_set_new(j, "filtering",
				    json_string(emu_nat_filtering_name(c->filtering)));
	}
	json_object_set_new(j, "hairpin", json_boolean(c->hairpin));
	json_object_set_new(j, "udp_blocked", json_boolean(c->udp_blocked));
	return j;
}

int evidence_nat_start(struct emu_node *n, const struct emu_nat_config *cfg, const char *preset,
		       const char *pcap_abs, const char *pcap_rel, struct evidence_nat **out,
		       struct natlab_err *e)
{
	struct evidence_nat *ev = calloc(1, sizeof(*ev));
	int ret;

	*out = NULL;
	if (!ev)
		return natlab_err_set(e, ENOMEM, "node %s: evidence", emu_node_name(n));
	ret = emu_nat_droplog_start(n, pcap_abs, &ev->log, e);
	if (ret < 0) {
		free(ev);
		return ret;
	}
	if (pcap_abs && pcap_rel)
		snprintf(ev->pcap_rel, sizeof(ev->pcap_rel), "%s", pcap_rel);
	ev->nat = knobs_json(cfg, preset);
	*out = ev;
	return 0;
}

static void before_change(struct evidence_nat *ev, struct emu_node *n, bool reapply)
{
	struct natlab_err e;

	if (!ev)
		return;
	if (emu_nat_counters_read(n, ev->pending, &ev->pending_live, &e) < 0) {
		memset(ev->pending, 0, sizeof(ev->pending));
		ev->pending_live = 0;
	}
	ev->pending_reapply = reapply;
}

void evidence_nat_before_flush(struct evidence_nat *ev, struct emu_node *n)
{
	before_change(ev, n, false);
}

void evidence_nat_before_reapply(struct evidence_nat *ev, struct emu_node *n)
{
	before_change(ev, n, true);
}

void evidence_nat_changed(struct evidence_nat *ev)
{
	if (!ev)
		return;
	/* a flush keeps the table and its counters; a re-apply replaces them */
	if (ev->pending_reapply)
		for (int i = 0; i < EMU_NAT_CTR_N; i++)
			ev->base[i] += ev->pending[i];
	ev->forgotten += ev->pending_live;
	memset(ev->pending, 0, sizeof(ev->pending));
	ev->pending_live = 0;
	ev->pending_reapply = false;
}

void evidence_nat_reapplied(struct evidence_nat *ev, const struct emu_nat_config *cfg,
			    const char *preset)
{
	if (!ev)
		return;
	evidence_nat_changed(ev);
	json_decref(ev->nat);
	ev->nat = knobs_json(cfg, preset);
}

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_UDP	   ? "udp"
	       : p == IPPROTO_TCP  ? "tcp"
	       : p == IPPROTO_ICMP ? "icmp"
				   : "ip";
}

static json_t *drops_json(const struct emu_nat_drops *d, int64_t start_ms)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < d->n; i++) {
		const struct emu_nat_drop *x = &d->d[i];
		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "rule",
						   emu_nat_counter_rule(x->rule), "proto",
						   proto_name(x->proto), "src", x->src, "dst",
						   x->dst, "pkts", (json_int_t)x->pkts, "first_ms",
						   (json_int_t)(x->first_ms - start_ms), "last_ms",
						   (json_int_t)(x->last_ms - start_ms)));
	}
	return a;
}

static json_t *conntrack_json(struct emu_node *n)
{
	struct emu_ct_udp v[EVIDENCE_CONNTRACK_MAX];
	struct natlab_err e = {""};
	size_t count = 0;
	json_t *a;

	if (emu_conntrack_ip4(n, v, EVIDENCE_CONNTRACK_MAX, &count, &e) < 0)
		return json_pack("{s:s}", "error", e.msg);
	a = json_array();
	for (size_t i = 0; i < count && i < EVIDENCE_CONNTRACK_MAX; i++) {
		char o[2][64], r[2][64];
		snprintf(o[0], sizeof(o[0]), "%s:%u", v[i].osrc, v[i].osport);
		snprintf(o[1], sizeof(o[1]), "%s:%u", v[i].odst, v[i].odport);
		snprintf(r[0], sizeof(r[0]), "%s:%u", v[i].rsrc, v[i].rsport);
		snprintf(r[1], sizeof(r[1]), "%s:%u", v[i].rdst, v[i].rdport);
		json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "proto", proto_name(v[i].proto),
				      "src", o[0], "dst", o[1], "reply_src", r[0], "reply_dst",
				      r[1], "timeout_s", (json_int_t)v[i].timeout_s);
		if (v[i].proto == IPPROTO_TCP)
			json_object_set_new(
			    j, "state", json_string(emu_conntrack_tcp_state_name(v[i].tcp_state)));
		json_array_append_new(a, j);
	}
	if (count > EVIDENCE_CONNTRACK_MAX)
		json_array_append_new(
		    a, json_pack("{s:I}", "more", (json_int_t)(count - EVIDENCE_CONNTRACK_MAX)));
	return a;
}

json_t *evidence_nat_json(struct evidence_nat *ev, struct emu_node *n, int64_t start_ms, bool final,
			  bool conntrack, struct natlab_err *e)
{
	uint64_t c[EMU_NAT_CTR_N], live = 0, created, gone;
	struct emu_nat_drops drops;
	struct emu_nat_droplog_stats st;
	json_t *j, *ctr;
	uint64_t dropped = 0;

	if (emu_nat_counters_read(n, c, &live, e) < 0)
		return NULL;
	if (final && !ev->stopped) {
		emu_nat_droplog_stop(ev->log, &ev->drops, &ev->st);
		ev->log = NULL;
		ev->stopped = true;
	}
	if (ev->stopped) {
		drops = ev->drops;
		st = ev->st;
	} else {
		emu_nat_droplog_snapshot(ev->log, &drops, &st);
	}
	emu_nat_drops_sort(&drops);
	ctr = json_object();
	for (int i = 0; i < EMU_NAT_CTR_N; i++) {
		const char *name = emu_nat_counter_name((enum emu_nat_counter)i);
		json_object_set_new(ctr, name, json_integer((json_int_t)(c[i] + ev->base[i])));
		if (strncmp(name, "drop_", 5) == 0)
			dropped += c[i] + ev->base[i];
	}
	/* A mapping made and no longer live, unless a flush or a re-apply
	 * (faults on the timeline) dropped it: its timeout passed. */
	created = c[EMU_NAT_CTR_MAPPINGS_UDP] + ev->base[EMU_NAT_CTR_MAPPINGS_UDP];
	gone = created > live + ev->forgotten ? created - live - ev->forgotten : 0;
	json_object_set_new(ctr, "expired", json_integer((json_int_t)gone));
	/* every counted drop is logged by the same rule: what the counters
	 * saw and the log did not deliver was lost on the way */
	j = json_pack("{s:o,s:I,s:o,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}}", "counters", ctr,
		      "live_mappings_udp", (json_int_t)live, "drops", drops_json(&drops, start_ms),
		      "drop_log", "logged", (json_int_t)st.logged, "overruns", (json_int_t)st.lost,
		      "unlogged", (json_int_t)(dropped > st.logged ? dropped - st.logged : 0),
		      "other_pkts", (json_int_t)drops.other_pkts, "unparsed",
		      (json_int_t)drops.unparsed, "pcap_packets", (json_int_t)st.pcap_packets,
		      "pcap_skipped", (json_int_t)st.pcap_skipped, "pcap_bytes",
		      (json_int_t)st.pcap_bytes);
	if (ev->forgotten)
		json_object_set_new(j, "forgotten_mappings",
				    json_integer((json_int_t)ev->forgotten));
	if (ev->pcap_rel[0] && st.pcap_bytes)
		json_object_set_new(j, "pcap", json_string(ev->pcap_rel));
	json_object_set(j, "nat", ev->nat);
	if (conntrack)
		json_object_set_new(j, "conntrack", conntrack_json(n));
	return j;
}

void evidence_nat_free(struct evidence_nat *ev)
{
	if (!ev)
		return;
	emu_nat_droplog_stop(ev->log, NULL, NULL);
	json_decref(ev->nat);
	free(ev);
}

/* "APDF filtering" for the filtering rule of an APDF NAT, else the rule. */
static void rule_label(const json_t *node_ev, const char *rule, char *buf, size_t len)
{
	const char *f =
	    json_string_value(json_object_get(json_object_get(node_ev, "nat"), "filtering"));

	if (strcmp(rule, "filtering") == 0 && f) {
		size_t i = 0;
		for (; f[i] && i + 2 < len; i++)
			buf[i] = (char)toupper((unsigned char)f[i]);
		snprintf(buf + i, len - i, "F filtering");
		return;
	}
	snprintf(buf, len, "%s", rule);
}

size_t evidence_explain(const json_t *evidence, char *buf, size_t len)
{
	const json_t *best[EVIDENCE_EXPLAIN_MAX] = {NULL};
	const char *best_node[EVIDENCE_EXPLAIN_MAX] = {NULL};
	const json_t *best_ev[EVIDENCE_EXPLAIN_MAX] = {NULL};
	const char *node;
	json_t *ev;
	size_t used = 0;

	if (len)
		buf[0] = '\0';
	/* the largest drop entries over every NAT, in node order on ties */
	json_object_foreach((json_t *)evidence, node, ev)
	{
		size_t i;
		json_t *d;
		json_array_foreach(json_object_get(ev, "drops"), i, d)
		{
			json_int_t p = json_integer_value(json_object_get(d, "pkts"));
			for (int k = 0; k < EVIDENCE_EXPLAIN_MAX; k++) {
				if (best[k] &&
				    json_integer_value(json_object_get(best[k], "pkts")) >= p)
					continue;
				for (int m = EVIDENCE_EXPLAIN_MAX - 1; m > k; m--) {
					best[m] = best[m - 1];
					best_node[m] = best_node[m - 1];
					best_ev[m] = best_ev[m - 1];
				}
				best[k] = d;
				best_node[k] = node;
				best_ev[k] = ev;
				break;
			}
		}
	}
	for (int k = 0; k < EVIDENCE_EXPLAIN_MAX && best[k] && used + 1 < len; k++) {
		char label[64];
		json_int_t p = json_integer_value(json_object_get(best[k], "pkts"));
		int w;
		rule_label(best_ev[k], json_string_value(json_object_get(best[k], "rule")) ?: "?",
			   label, sizeof(label));
		w = snprintf(
		    buf + used, len - used, "%s%s (%s) dropped %lld %s packet%s from %s to %s",
		    k ? "; " : "", best_node[k], label, (long long)p,
		    json_string_value(json_object_get(best[k], "proto")) ?: "", p == 1 ? "" : "s",
		    json_string_value(json_object_get(best[k], "src")) ?: "?",
		    json_string_value(json_object_get(best[k], "dst")) ?: "?");
		if (w < 0)
			break;
		used += (size_t)w < len - used ? (size_t)w : len - used - 1;
	}
	return used;
}

bool evidence_outcome_quiet(const char *outcome)
{
	return strcmp(outcome, "pass") == 0 || strcmp(outcome, "skipped") == 0 ||
	       strcmp(outcome, "unsupported") == 0;
}

void evidence_annotate(json_t *cell)
{
	const char *outcome = json_string_value(json_object_get(cell, "outcome"));
	const char *msg = json_string_value(json_object_get(cell, "message"));
	const json_t *ev = json_object_get(cell, "evidence");
	char why[512], *text;

	if (!outcome || evidence_outcome_quiet(outcome) || !json_is_object(ev) ||
	    evidence_explain(ev, why, sizeof(why)) == 0)
		return;
	if (asprintf(&text, "%s%sevidence: %s", msg ? msg : "", msg && *msg ? "; " : "", why) < 0)
		return;
	json_object_set_new(cell, "message", json_string(text));
	free(text);
}

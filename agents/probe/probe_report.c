/* probe_report.c - JSON and text renderings of a probe result. Field names
 * and values are part of natlab's interface (docs/probe.md): change them
 * only with PROBE_REPORT_VERSION. */
#include "agents/probe/probe_report.h"

static json_t *addr_or_null(bool have, const struct stun_addr *a)
{
	char s[STUN_ADDR_STRLEN];
	return have ? json_string(stun_addr_format(a, s)) : json_null();
}

static json_t *tristate(int v)
{
	return v < 0 ? json_null() : json_boolean(v > 0);
}

json_t *probe_report_json(const struct probe_result *r, const struct probe_config *cfg)
{
	char s[STUN_ADDR_STRLEN];
	json_t *samples = json_array();
	for (int i = 0; samples && i < r->n_samples; i++)
		json_array_append_new(samples, json_pack("{s:i,s:i}", "local", r->sample_local[i],
							 "mapped", r->sample_mapped[i]));
	json_t *lifetime = json_pack(
	    "{s:b,s:i,s:o,s:o}", "tested", r->lifetime_tested, "max_ms", cfg->lifetime_max_ms,
	    "alive_ms", r->lifetime_tested ? json_integer(r->lifetime_alive_ms) : json_null(),
	    "expired_ms",
	    r->lifetime_tested && r->lifetime_expired_ms >= 0 ? json_integer(r->lifetime_expired_ms)
							      : json_null());
	json_t *alg = json_pack("{s:o,s:o}", "detected", tristate(r->alg), "mapped_address",
				addr_or_null(r->alg >= 0, &r->alg_mapped));
	json_t *ports =
	    json_pack("{s:s,s:o}", "pattern", probe_ports_name(r->ports), "samples", samples);
	return json_pack(
	    "{s:s,s:i,s:s,s:b,s:o,s:o,s:b,s:b,s:o,s:s,s:s,s:o,s:o,s:o,s:o,s:I,s:o}", "probe",
	    "natlab-probe", "version", PROBE_REPORT_VERSION, "server",
	    stun_addr_format(&cfg->server, s), "udp", r->udp, "local",
	    addr_or_null(r->udp, &r->local), "mapped", addr_or_null(r->udp, &r->mapped), "nat",
	    r->nat, "rfc5780", r->rfc5780, "other_address", addr_or_null(r->rfc5780, &r->other),
	    "mapping", probe_behaviour_name(r->mapping), "filtering",
	    probe_behaviour_name(r->filtering), "hairpinning", tristate(r->hairpin),
	    "port_assignment", ports, "alg", alg, "lifetime", lifetime, "duration_ms",
	    (json_int_t)r->duration_ms, "error", r->error[0] ? json_string(r->error) : json_null());
}

void probe_report_text(FILE *out, const struct probe_result *r, const struct probe_config *cfg)
{
	char a[STUN_ADDR_STRLEN], b[STUN_ADDR_STRLEN];
	fprintf(out, "STUN server       %s%s\n", stun_addr_format(&cfg->server, a),
		r->rfc5780 ? "" : " (no RFC 5780 alternate address)");
	if (!r->udp) {
		fprintf(out, "UDP               blocked: no answer\n");
	} else {
		fprintf(out, "UDP               open\n");
		fprintf(out, "local address     %s\n", stun_addr_format(&r->local, a));
		fprintf(out, "mapped address    %s (%s)\n", stun_addr_format(&r->mapped, b),
			r->nat ? "behind a NAT" : "no NAT");
		fprintf(out, "mapping           %s\n", probe_behaviour_name(r->mapping));
		fprintf(out, "filtering         %s\n", probe_behaviour_name(r->filtering));
		fprintf(out, "hairpinning       %s\n",
			r->hairpin < 0 ? "not tested"
			: r->hairpin   ? "yes"
				       : "no");
		fprintf(out, "port assignment   %s", probe_ports_name(r->ports));
		for (int i = 0; i < r->n_samples; i++)
			fprintf(out, "%s%u->%u", i ? ", " : " (", r->sample_local[i],
				r->sample_mapped[i]);
		fprintf(out, "%s\n", r->n_samples ? ")" : "");
		if (r->alg < 0)
			fprintf(out, "ALG               unknown (no MAPPED-ADDRESS)\n");
		else if (r->alg)
			fprintf(out, "ALG               detected: MAPPED-ADDRESS rewritten to %s\n",
				stun_addr_format(&r->alg_mapped, a));
		else
			fprintf(out, "ALG               none seen\n");
		if (!r->lifetime_tested)
			fprintf(out, "mapping lifetime  not tested\n");
		else if (r->lifetime_expired_ms < 0)
			fprintf(out, "mapping lifetime  at least %d ms (the bound)\n",
				r->lifetime_alive_ms);
		else
			fprintf(out, "mapping lifetime  between %d and %d ms\n",
				r->lifetime_alive_ms, r->lifetime_expired_ms);
	}
	if (r->error[0])
		fprintf(out, "note              %s\n", r->error);
	fprintf(out, "duration          %llu ms\n", (unsigned long long)r->duration_ms);
}

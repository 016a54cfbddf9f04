/* agentproto.c - agent protocol commands and events (jansson). */
#include "agents/ice/agentproto.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int get_cred(json_t *root, const char *key, char *out, size_t cap, char *err, size_t errlen)
{
	json_t *v = json_object_get(root, key);
	const char *s;
	if (!json_is_string(v))
		return fail(err, errlen, "\"%s\" must be a string", key);
	s = json_string_value(v);
	if (strlen(s) >= cap)
		return fail(err, errlen, "\"%s\" is longer than %zu bytes", key, cap - 1);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

/* One candidate string: parsed into the command, or counted as skipped. */
static int add_cand(struct agentproto_cmd *cmd, json_t *v, char *err, size_t errlen)
{
	const char *s;
	int r;
	if (!json_is_string(v))
		return fail(err, errlen, "candidates must be a=candidate strings");
	s = json_string_value(v);
	if (cmd->ncands == AGENTPROTO_CANDS_MAX)
		return fail(err, errlen, "more than %d candidates", AGENTPROTO_CANDS_MAX);
	r = ice_candidate_parse(s, strlen(s), &cmd->cands[cmd->ncands]);
	if (r == -EAFNOSUPPORT || r == -EPROTONOSUPPORT) {
		/* Usable by another implementation, not by this one: skip
		 * it and say so, as RFC 8839 §5.1 lets an agent ignore
		 * candidates it cannot use. */
		if (cmd->nskipped++ == 0)
			snprintf(cmd->skipped, sizeof(cmd->skipped), "%s: %s", s,
				 r == -EAFNOSUPPORT ? "address is not numeric"
						    : "transport not supported");
		return 0;
	}
	if (r < 0)
		return fail(err, errlen, "bad candidate \"%.120s\"", s);
	cmd->ncands++;
	return 0;
}

static int get_uint(json_t *root, const char *key, unsigned max, unsigned *out, bool required,
		    char *err, size_t errlen)
{
	json_t *v = json_object_get(root, key);
	json_int_t x;
	if (!v) {
		if (required)
			return fail(err, errlen, "\"%s\" is missing", key);
		return 0;
	}
	if (!json_is_integer(v))
		return fail(err, errlen, "\"%s\" must be an integer", key);
	x = json_integer_value(v);
	if (x < 0 || (unsigned long long)x > max)
		return fail(err, errlen, "\"%s\" must be within 0..%u", key, max);
	*out = (unsigned)x;
	return 0;
}

/* An optional string field @key of the session object @o into @out (@cap
 * bytes, NUL included); absent leaves @out as it is. @want says what the
 * field must be, for the error. */
static int get_session_string(json_t *o, const char *key, char *out, size_t cap, const char *want,
			      char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) >= cap)
		return fail(err, errlen, "\"session.%s\" must be %s", key, want);
	strcpy(out, json_string_value(v));
	return 0;
}

/* "session" of a remote command: an object relayed verbatim from the
 * peer's "local" event. The fields natlab-ice uses must have their types;
 * any other field (an SDP-only stack may add its own) is left alone. */
static int get_session(json_t *root, struct agentproto_session *s, char *err, size_t errlen)
{
	json_t *o = json_object_get(root, "session");
	json_t *v;
	unsigned port = 0;
	int r;

	if (!o || json_is_null(o))
		return 0;
	if (!json_is_object(o))
		return fail(err, errlen, "\"session\" must be an object");
	s->present = true;
	r = get_session_string(o, "fingerprint", s->fingerprint, sizeof(s->fingerprint),
			       "a string like \"sha-256 AB:CD:...\" (RFC 8122)", err, errlen);
	if (r == 0)
		r = get_session_string(o, "setup", s->setup, sizeof(s->setup),
				       "\"actpass\", \"active\" or \"passive\" (RFC 8842)", err,
				       errlen);
	if (r == 0)
		r = get_uint(o, "sctp_port", 65535, &port, false, err, errlen);
	if (r < 0)
		return r;
	s->sctp_port = port;
	v = json_object_get(o, "max_message_size");
	if (v) {
		json_int_t x = json_is_integer(v) ? json_integer_value(v) : -1;
		if (x < 0 || x > (json_int_t)UINT32_MAX)
			return fail(err, errlen,
				    "\"session.max_message_size\" must be an integer within "
				    "0..4294967295 (RFC 8841; 0: any size)");
		s->has_max_message_size = true;
		s->max_message_size = (uint32_t)x;
	}
	return 0;
}

int agentproto_cmd_parse(const char *line, size_t len, struct agentproto_cmd *cmd, char *err,
			 size_t errlen)
{
	json_error_t je;
	json_t *root;
	json_t *v;
	const char *name;
	int r = 0;

	memset(cmd, 0, sizeof(*cmd));
	if (len > AGENTPROTO_LINE_MAX)
		return fail(err, errlen, "line longer than %d bytes", AGENTPROTO_LINE_MAX);
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return fail(err, errlen, "bad JSON at column %d: %s", je.column, je.text);
	if (!json_is_object(root)) {
		r = fail(err, errlen, "a command must be a JSON object");
		goto out;
	}
	v = json_object_get(root, "cmd");
	if (!json_is_string(v)) {
		r = fail(err, errlen, "\"cmd\" is missing or not a string");
		goto out;
	}
	name = json_string_value(v);
	if (strcmp(name, "gather") == 0) {
		cmd->type = AGENTPROTO_GATHER;
		v = json_object_get(root, "dataplane");
		if (!v || json_is_null(v))
			cmd->dataplane = AGENTPROTO_DATAPLANE_UNSET;
		else if (json_is_string(v) && strcmp(json_string_value(v), "datagram") == 0)
			cmd->dataplane = AGENTPROTO_DATAPLANE_DATAGRAM;
		else if (json_is_string(v) && strcmp(json_string_value(v), "datachannel") == 0)
			cmd->dataplane = AGENTPROTO_DATAPLANE_DATACHANNEL;
		else
			r = fail(err, errlen,
				 "\"dataplane\" must be \"datagram\" or \"datachannel\"");
	} else if (strcmp(name, "remote") == 0) {
		size_t i;
		json_t *c;
		cmd->type = AGENTPROTO_REMOTE;
		r = get_cred(root, "ufrag", cmd->ufrag, sizeof(cmd->ufrag), err, errlen);
		if (r == 0)
			r = get_cred(root, "pwd", cmd->pwd, sizeof(cmd->pwd), err, errlen);
		if (r < 0)
			goto out;
		v = json_object_get(root, "candidates");
		if (v && !json_is_array(v)) {
			r = fail(err, errlen, "\"candidates\" must be an array");
			goto out;
		}
		json_array_foreach(v, i, c)
		{
			r = add_cand(cmd, c, err, errlen);
			if (r < 0)
				goto out;
		}
		r = get_session(root, &cmd->session, err, errlen);
	} else if (strcmp(name, "candidate") == 0) {
		cmd->type = AGENTPROTO_CANDIDATE;
		r = add_cand(cmd, json_object_get(root, "candidate"), err, errlen);
	} else if (strcmp(name, "end-of-candidates") == 0) {
		cmd->type = AGENTPROTO_END_OF_CANDIDATES;
	} else if (strcmp(name, "send") == 0) {
		cmd->type = AGENTPROTO_SEND;
		cmd->size = 100;
		cmd->interval_ms = 20;
		r = get_uint(root, "n", 1000000, &cmd->n, true, err, errlen);
		if (r == 0)
			r = get_uint(root, "size", 1400, &cmd->size, false, err, errlen);
		if (r == 0)
			r = get_uint(root, "interval_ms", 60000, &cmd->interval_ms, false, err,
				     errlen);
	} else if (strcmp(name, "restart") == 0) {
		cmd->type = AGENTPROTO_RESTART;
	} else if (strcmp(name, "stop") == 0) {
		cmd->type = AGENTPROTO_STOP;
	} else {
		r = fail(err, errlen, "unknown command \"%.40s\"", name);
	}
out:
	json_decref(root);
	return r;
}

/* ---- events ---------------------------------------------------------------- */

static void put(struct agentproto_out *o, const char *ev, uint64_t t_ms, json_t *obj)
{
	char *s;
	json_object_set_new(obj, "ev", json_string(ev));
	json_object_set_new(obj, "t_ms", json_integer((json_int_t)t_ms));
	/* JSON_COMPACT never emits a newline: one event, one line. */
	s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(obj);
	if (!s)
		return;
	fputs(s, o->f);
	fputc('\n', o->f);
	fflush(o->f);
	free(s);
}

static json_t *cand_string(const struct ice_candidate *c)
{
	char buf[ICE_CANDIDATE_STR_MAX];
	if (ice_candidate_format(c, buf, sizeof(buf)) < 0)
		return json_null();
	return json_string(buf);
}

void agentproto_ev_ready_full(struct agentproto_out *o, uint64_t t_ms, const char *impl,
			      const char *version, const struct agentproto_cap *caps,
			      unsigned ncaps, const char *const *planes, unsigned nplanes)
{
	json_t *j = json_object();
	json_object_set_new(j, "impl", json_string(impl));
	json_object_set_new(j, "version", json_string(version));
	if (ncaps) {
		json_t *c = json_object();
		for (unsigned i = 0; i < ncaps; i++)
			json_object_set_new(c, caps[i].name, json_boolean(caps[i].have));
		json_object_set_new(j, "capabilities", c);
	}
	if (nplanes) {
		json_t *a = json_array();
		for (unsigned i = 0; i < nplanes; i++)
			json_array_append_new(a, json_string(planes[i]));
		json_object_set_new(j, "dataplanes", a);
	}
	put(o, "ready", t_ms, j);
}

void agentproto_ev_ready(struct agentproto_out *o, uint64_t t_ms, const char *impl,
			 const char *version)
{
	agentproto_ev_ready_full(o, t_ms, impl, version, NULL, 0, NULL, 0);
}

void agentproto_ev_local_session(struct agentproto_out *o, uint64_t t_ms, const char *ufrag,
				 const char *pwd, const struct ice_candidate *cands, unsigned n,
				 bool complete, const struct agentproto_session *s)
{
	json_t *j = json_object();
	json_t *a = json_array();
	for (unsigned i = 0; i < n; i++)
		json_array_append_new(a, cand_string(&cands[i]));
	json_object_set_new(j, "ufrag", json_string(ufrag));
	json_object_set_new(j, "pwd", json_string(pwd));
	json_object_set_new(j, "candidates", a);
	json_object_set_new(j, "complete", json_boolean(complete));
	if (s && s->present) {
		json_t *so = json_object();
		if (s->fingerprint[0])
			json_object_set_new(so, "fingerprint", json_string(s->fingerprint));
		if (s->setup[0])
			json_object_set_new(so, "setup", json_string(s->setup));
		if (s->sctp_port)
			json_object_set_new(so, "sctp_port", json_integer(s->sctp_port));
		if (s->has_max_message_size)
			json_object_set_new(so, "max_message_size",
					    json_integer((json_int_t)s->max_message_size));
		json_object_set_new(j, "session", so);
	}
	put(o, "local", t_ms, j);
}

void agentproto_ev_local(struct agentproto_out *o, uint64_t t_ms, const char *ufrag,
			 const char *pwd, const struct ice_candidate *cands, unsigned n,
			 bool complete)
{
	agentproto_ev_local_session(o, t_ms, ufrag, pwd, cands, n, complete, NULL);
}

void agentproto_ev_candidate(struct agentproto_out *o, uint64_t t_ms, const struct ice_candidate *c)
{
	json_t *j = json_object();
	json_object_set_new(j, "candidate", cand_string(c));
	put(o, "candidate", t_ms, j);
}

void agentproto_ev_end_of_candidates(struct agentproto_out *o, uint64_t t_ms)
{
	json_t *j = json_object();
	json_object_set_new(j, "end", json_true());
	put(o, "candidate", t_ms, j);
}

void agentproto_ev_state(struct agentproto_out *o, uint64_t t_ms, const char *state)
{
	json_t *j = json_object();
	json_object_set_new(j, "state", json_string(state));
	put(o, "state", t_ms, j);
}

static json_t *endpoint(const struct agentproto_endpoint *e)
{
	char ip[INET6_ADDRSTRLEN];
	json_t *j = json_object();
	json_object_set_new(j, "type", json_string(ice_cand_type_name(e->type)));
	json_object_set_new(j, "transport", json_string(ice_transport_name(e->transport)));
	json_object_set_new(j, "address", json_string(ice_addr_ip(&e->addr, ip, sizeof(ip))));
	json_object_set_new(j, "port", json_integer(ice_addr_port(&e->addr)));
	if (e->transport == ICE_TRANSPORT_TCP && ice_tcptype_name(e->tcptype))
		json_object_set_new(j, "tcptype", json_string(ice_tcptype_name(e->tcptype)));
	if (e->type == ICE_CAND_RELAY && e->relay_transport)
		json_object_set_new(j, "relay_transport", json_string(e->relay_transport));
	return j;
}

void agentproto_ev_pair(struct agentproto_out *o, uint64_t t_ms, const char *ev, unsigned component,
			const struct agentproto_endpoint *local,
			const struct agentproto_endpoint *remote, int64_t rtt_ms)
{
	json_t *j = json_object();
	json_object_set_new(j, "component", json_integer(component));
	json_object_set_new(j, "local", endpoint(local));
	json_object_set_new(j, "remote", endpoint(remote));
	if (rtt_ms >= 0)
		json_object_set_new(j, "rtt_ms", json_integer(rtt_ms));
	put(o, ev, t_ms, j);
}

void agentproto_ev_checks(struct agentproto_out *o, uint64_t t_ms, const struct agentproto_check *c,
			  size_t n)
{
	json_t *j = json_object(), *pairs = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *p = json_object();
		json_object_set_new(p, "component", json_integer(c[i].component));
		json_object_set_new(p, "local", endpoint(&c[i].local));
		json_object_set_new(p, "remote", endpoint(&c[i].remote));
		json_object_set_new(p, "state", json_string(c[i].state));
		/* < 2^63: 2^32 * MIN(G,D) with G, D < 2^31 (RFC 8445 §6.1.2.3) */
		json_object_set_new(p, "priority", json_integer((json_int_t)c[i].priority));
		json_object_set_new(p, "valid", json_boolean(c[i].valid));
		json_object_set_new(p, "nominated", json_boolean(c[i].nominated));
		json_object_set_new(p, "checks", json_integer(c[i].checks));
		if (c[i].rtt_ms >= 0)
			json_object_set_new(p, "rtt_ms", json_integer(c[i].rtt_ms));
		json_array_append_new(pairs, p);
	}
	json_object_set_new(j, "pairs", pairs);
	put(o, "checks", t_ms, j);
}

void agentproto_ev_consent_lost(struct agentproto_out *o, uint64_t t_ms, unsigned component,
				const struct agentproto_endpoint *local,
				const struct agentproto_endpoint *remote)
{
	json_t *j = json_object();
	json_object_set_new(j, "component", json_integer(component));
	json_object_set_new(j, "local", endpoint(local));
	json_object_set_new(j, "remote", endpoint(remote));
	put(o, "consent-lost", t_ms, j);
}

void agentproto_ev_failed(struct agentproto_out *o, uint64_t t_ms, const char *reason)
{
	json_t *j = json_object();
	json_object_set_new(j, "reason", json_string(reason));
	put(o, "failed", t_ms, j);
}

void agentproto_ev_rx(struct agentproto_out *o, uint64_t t_ms, uint32_t seq, size_t size)
{
	json_t *j = json_object();
	json_object_set_new(j, "seq", json_integer(seq));
	json_object_set_new(j, "size", json_integer((json_int_t)size));
	put(o, "rx", t_ms, j);
}

void agentproto_ev_data(struct agentproto_out *o, uint64_t t_ms,
			const struct agentproto_data_report *r)
{
	json_t *j = json_object();
	json_object_set_new(j, "sent", json_integer(r->sent));
	json_object_set_new(j, "received", json_integer(r->received));
	json_object_set_new(j, "acked", json_integer(r->acked));
	json_object_set_new(j, "lost", json_integer(r->lost));
	json_object_set_new(j, "rtt_ms_median",
			    r->rtt_ms_median < 0 ? json_null() : json_real(r->rtt_ms_median));
	json_object_set_new(j, "rtt_ms_p95",
			    r->rtt_ms_p95 < 0 ? json_null() : json_real(r->rtt_ms_p95));
	put(o, "data", t_ms, j);
}

void agentproto_ev_log(struct agentproto_out *o, uint64_t t_ms, const char *level, const char *fmt,
		       ...)
{
	char buf[512];
	va_list ap;
	json_t *j = json_object();
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_object_set_new(j, "level", json_string(level));
	json_object_set_new(j, "msg", json_string(buf));
	put(o, "log", t_ms, j);
}

void agentproto_ev_error(struct agentproto_out *o, uint64_t t_ms, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	json_t *j = json_object();
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_object_set_new(j, "msg", json_string(buf));
	put(o, "error", t_ms, j);
}

/* adaptercheck.c - `natlab adapter-check`: a conformance run of one agent
 * against docs/agent-protocol.md (see adaptercheck.h for the checks). */
#include "harness/adaptercheck.h"
#include "harness/adaptercheck_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agents/ice/candidate.h"
#include "emu/lab.h"
#include "emu/link.h"
#include "emu/route.h"
#include "emu/sandbox.h"
#include "harness/cli.h"
#include "harness/luanet.h"
#include "harness/luaproc.h"
#include "harness/planechoice.h"
#include "harness/wirejudge.h"

void ac_say(struct ac *ac, const char *tag, const char *fmt, ...)
{
	va_list ap;

	if (strcmp(tag, "FAIL") == 0)
		ac->fails++;
	else if (strcmp(tag, "warn") == 0)
		ac->warns++;
	fprintf(ac->out, "%-5s ", tag);
	va_start(ap, fmt);
	vfprintf(ac->out, fmt, ap);
	va_end(ap);
	fputc('\n', ac->out);
	/* A failure quotes what the agent itself last said about it (an
	 * `error` or `log` event), once: its own words often name the cause. */
	for (int i = 0; strcmp(tag, "FAIL") == 0 && i < 2; i++) {
		struct ac_agent *a = i ? ac->peer : ac->cand;
		if (a && a->said_new) {
			fprintf(ac->out, "      (the %s last said: %s)\n", a->name, a->said);
			a->said_new = false;
		}
	}
	fflush(ac->out);
}

const char *ac_jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* ---- processes ---- */

void ac_agent_reset(struct ac_agent *a, const char *name)
{
	json_decref(a->ready);
	json_decref(a->local);
	json_decref(a->selected);
	json_decref(a->data);
	json_decref(a->last_error);
	json_decref(a->cands);
	json_decref(a->queued);
	memset(a, 0, sizeof(*a));
	a->name = name;
	a->in_fd = a->out_fd = a->err_fd = -1;
	a->last_t = -1;
}

void ac_agent_close(struct ac *ac, struct ac_agent *a)
{
	struct natlab_err e = {""};

	/* the end of its stdin is a `stop` (docs/agent-protocol.md): the
	 * agent gets the harness's grace time to exit before it is killed */
	if (a->in_fd >= 0)
		close(a->in_fd);
	a->in_fd = -1;
	if (a->pid > 0 && !a->exited &&
	    emu_lab_wait(ac->lab, a->pid, NULL, NATLAB_STOP_GRACE_MS, &e) == 0)
		a->exited = true;
	if (a->out_fd >= 0)
		close(a->out_fd);
	if (a->err_fd >= 0)
		close(a->err_fd);
	a->out_fd = a->err_fd = -1;
	if (a->pid > 0 && !a->exited)
		emu_lab_kill(ac->lab, a->pid, NULL, &e);
	a->pid = 0;
	ac_agent_reset(a, a->name);
}

int ac_agent_spawn(struct ac *ac, struct ac_agent *a, struct emu_node *n, char *const *argv)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
	/* an agent's /tmp is its own (a browser's profile): gone with it */
	struct emu_spawn_opts so = {-1, -1, -1, NULL, NULL, true};
	struct natlab_err e = {""};
	int ret = -1;

	/* stderr comes through the harness too: with -v each line is printed
	 * labelled with the agent's name, apart from the protocol trace */
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    (ac->verbose && pipe2(err, O_CLOEXEC) < 0)) {
		ac_say(ac, "FAIL", "%s: cannot make pipes: %s", a->name, strerror(errno));
		goto out;
	}
	so.stdin_fd = in[0];
	so.stdout_fd = out[1];
	so.stderr_fd = err[1];
	if (emu_lab_spawn(ac->lab, n, argv, &so, &a->pid, &e) < 0) {
		ac_say(ac, "FAIL", "%s: cannot start %s: %s", a->name, argv[0], e.msg);
		goto out;
	}
	a->in_fd = in[1];
	a->out_fd = out[0];
	a->err_fd = err[0];
	in[1] = out[0] = err[0] = -1;
	fcntl(a->out_fd, F_SETFL, O_NONBLOCK);
	if (a->err_fd >= 0)
		fcntl(a->err_fd, F_SETFL, O_NONBLOCK);
	ret = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	return ret;
}

void ac_agent_send(struct ac *ac, struct ac_agent *a, const char *line)
{
	size_t len = strlen(line), off = 0;
	char *buf = malloc(len + 2);

	if (ac->verbose)
		fprintf(ac->out, "      -> %s: %s\n", a->name, line);
	if (!buf)
		return;
	memcpy(buf, line, len);
	buf[len++] = '\n';
	while (a->in_fd >= 0 && off < len) {
		ssize_t w = write(a->in_fd, buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* it exited: the checks that follow ac_say so */
		off += (size_t)w;
	}
	free(buf);
}

void ac_agent_send_json(struct ac *ac, struct ac_agent *a, json_t *cmd)
{
	char *s = json_dumps(cmd, JSON_COMPACT);

	if (s)
		ac_agent_send(ac, a, s);
	free(s);
	json_decref(cmd);
}

/* ---- events ---- */

/* A command that means nothing before @to has the peer's remote (a
 * trickled candidate, the end of candidates): sent, or held until then. */
static void send_after_remote(struct ac *ac, struct ac_agent *to, const char *line)
{
	if (to->has_remote) {
		ac_agent_send(ac, to, line);
		return;
	}
	if (!to->queued)
		to->queued = json_array();
	json_array_append_new(to->queued, json_string(line));
}

static void relay_local(struct ac *ac, struct ac_agent *from, json_t *ev)
{
	json_t *cands = json_object_get(ev, "candidates");
	bool complete = json_is_true(json_object_get(ev, "complete"));
	struct ac_agent *to = from->other;
	size_t i;
	json_t *q;

	if (!ac->relay || (!complete && !ac->trickle) || !to)
		return;
	/* "session" is relayed verbatim, as the harness does
	 * (docs/agent-protocol.md, "Session parameters"); at once, never held
	 * for the other's own local: an answerer needs this one first */
	ac_agent_send_json(ac, to,
			   json_pack("{s:s, s:s?, s:s?, s:O, s:O*}", "cmd", "remote", "ufrag",
				     ac_jstr(ev, "ufrag"), "pwd", ac_jstr(ev, "pwd"), "candidates",
				     json_is_array(cands) ? cands : json_array(), "session",
				     json_object_get(ev, "session")));
	to->has_remote = true;
	json_array_foreach(to->queued, i, q) ac_agent_send(ac, to, json_string_value(q));
	json_decref(to->queued);
	to->queued = NULL;
	/* docs/agent-protocol.md: a trickling agent's complete local is its
	 * end of candidates too */
	if (ac->trickle && complete)
		ac_agent_send(ac, to, "{\"cmd\":\"end-of-candidates\"}");
}

/* A trickled candidate event: kept (its syntax is checked with the rest
 * once gathering ends) and relayed as the harness does. */
static void trickle_candidate(struct ac *ac, struct ac_agent *a, json_t *ev)
{
	const char *c = ac_jstr(ev, "candidate");

	if (json_is_true(json_object_get(ev, "end"))) {
		a->ended = true;
		if (ac->relay && ac->trickle && a->other)
			send_after_remote(ac, a->other, "{\"cmd\":\"end-of-candidates\"}");
		return;
	}
	if (!c) {
		ac_say(ac, "FAIL",
		       "%s: a \"candidate\" event with neither a string \"candidate\" nor "
		       "\"end\":true",
		       a->name);
		return;
	}
	a->trickled++;
	if (a->cands)
		json_array_append_new(a->cands, json_string(c));
	if (ac->relay && ac->trickle && a->other) {
		json_t *cmd = json_pack("{s:s, s:s}", "cmd", "candidate", "candidate", c);
		char *line = cmd ? json_dumps(cmd, JSON_COMPACT) : NULL;
		if (line)
			send_after_remote(ac, a->other, line);
		free(line);
		json_decref(cmd);
	}
}

int ac_start(struct ac *ac, struct ac_agent *cand, struct ac_agent *peer, const char *what)
{
	unsigned oc = planechoice_offer(cand->ready), op = planechoice_offer(peer->ready);
	char tc[64], tp[64];
	struct ac_agent *both[2] = {cand, peer};

	if (json_is_true(json_object_get(cand->ready, "answerer")) &&
	    json_is_true(json_object_get(peer->ready, "answerer"))) {
		ac_say(ac, "FAIL",
		       "%sboth agents declare \"answerer\": true in ready, so there is no "
		       "offerer and no offer/answer can start (the candidate must be the "
		       "offerer in one role: a WebRTC adapter offers when --role controlling)",
		       what);
		return -1;
	}
	ac->plane = planechoice_pick(oc, op, ac->want_plane);
	if (ac->plane == PLANECHOICE_NONE)
		ac_say(ac, "n/a",
		       "%sdata plane: none in common (candidate: %s; peer: %s): data is not "
		       "checked; scenarios judge such cells on the consent checks",
		       what, planechoice_describe(oc, tc, sizeof(tc)),
		       planechoice_describe(op, tp, sizeof(tp)));
	for (int i = 0; i < 2; i++) {
		/* only an agent that declares planes is told which one */
		json_t *g = json_pack("{s:s}", "cmd", "gather");
		if (ac->plane != PLANECHOICE_NONE &&
		    json_is_array(json_object_get(both[i]->ready, "dataplanes")))
			json_object_set_new(g, "dataplane",
					    json_string(planechoice_name(ac->plane)));
		ac_agent_send_json(ac, both[i], g);
	}
	return 0;
}

/* One stdout line: the checks every event gets, then what it tells. */
static void agent_line(struct ac *ac, struct ac_agent *a, const char *line)
{
	json_error_t jerr;
	json_t *ev = json_loads(line, 0, &jerr), *t;
	const char *name;

	if (ac->verbose)
		fprintf(ac->out, "      <- %s: %s\n", a->name, line);
	if (!json_is_object(ev)) {
		if (!a->json_fault)
			ac_say(ac, "FAIL",
			       "%s: stdout line is not a JSON object (%s): \"%.100s\" -- stdout "
			       "carries "
			       "only events; logs go to stderr",
			       a->name, ev ? "not an object" : jerr.text, line);
		a->json_fault = true;
		json_decref(ev);
		return;
	}
	name = ac_jstr(ev, "ev");
	if (!name) {
		if (!a->ev_fault)
			ac_say(ac, "FAIL", "%s: event without a string \"ev\": %.100s", a->name,
			       line);
		a->ev_fault = true;
		json_decref(ev);
		return;
	}
	t = json_object_get(ev, "t_ms");
	if (!json_is_integer(t)) {
		if (!a->t_fault)
			ac_say(
			    ac, "FAIL",
			    "%s: event \"%s\" has no integer \"t_ms\" (milliseconds since start, "
			    "monotonic clock)%s",
			    a->name, name, json_is_real(t) ? ": it is a fraction" : "");
		a->t_fault = true;
	} else if (json_integer_value(t) < a->last_t) {
		if (!a->t_fault)
			ac_say(ac, "FAIL",
			       "%s: t_ms went backwards: %" JSON_INTEGER_FORMAT
			       " in \"%s\" after %lld (use a monotonic clock)",
			       a->name, json_integer_value(t), name, a->last_t);
		a->t_fault = true;
	} else {
		a->last_t = json_integer_value(t);
	}

	if (strcmp(name, "ready") == 0 && !a->ready) {
		a->ready = json_incref(ev);
	} else if (strcmp(name, "local") == 0) {
		json_t *cs = json_object_get(ev, "candidates");
		json_decref(a->local);
		a->local = json_incref(ev);
		a->locals++;
		json_decref(a->cands);
		a->cands = json_is_array(cs) ? json_copy(cs) : json_array();
		relay_local(ac, a, ev);
	} else if (strcmp(name, "candidate") == 0) {
		trickle_candidate(ac, a, ev);
	} else if (strcmp(name, "state") == 0) {
		const char *s = ac_jstr(ev, "state");
		if (s && strcmp(s, "checking") == 0)
			a->checking = true;
	} else if (strcmp(name, "selected") == 0 || strcmp(name, "switched") == 0) {
		json_decref(a->selected);
		a->selected = json_incref(ev);
		a->selecteds++;
	} else if (strcmp(name, "rx") == 0) {
		json_t *seq = json_object_get(ev, "seq");
		if (!json_is_integer(seq) || !json_is_integer(json_object_get(ev, "size"))) {
			a->rx_bad++;
		} else {
			json_int_t s = json_integer_value(seq);
			if (s >= 0 && s < AC_RX_SEQ_MAX && !a->rx_seen[s]) {
				a->rx_seen[s] = 1;
				a->rx++;
			}
		}
	} else if (strcmp(name, "data") == 0) {
		json_decref(a->data);
		a->data = json_incref(ev);
		a->datas++;
	} else if (strcmp(name, "error") == 0) {
		json_decref(a->last_error);
		a->last_error = json_incref(ev);
		a->errors++;
		snprintf(a->said, sizeof(a->said), "error \"%.480s\"",
			 ac_jstr(ev, "msg") ? ac_jstr(ev, "msg") : "(no msg)");
		a->said_new = true;
	} else if (strcmp(name, "log") == 0 && ac_jstr(ev, "msg")) {
		snprintf(a->said, sizeof(a->said), "log \"%.480s\"", ac_jstr(ev, "msg"));
		a->said_new = true;
	} else if (strcmp(name, "failed") == 0) {
		snprintf(a->failed, sizeof(a->failed), "%s",
			 ac_jstr(ev, "reason") ? ac_jstr(ev, "reason") : "(no reason)");
	}
	json_decref(ev);
}

/* -v: print what @a wrote on stderr, one labelled line at a time. */
static void agent_read_stderr(struct ac *ac, struct ac_agent *a)
{
	for (;;) {
		char *nl;
		ssize_t r = read(a->err_fd, a->ebuf + a->elen, sizeof(a->ebuf) - 1 - a->elen);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0 || errno != EAGAIN) {
				close(a->err_fd);
				a->err_fd = -1;
			}
			return;
		}
		a->elen += (size_t)r;
		a->ebuf[a->elen] = '\0';
		while ((nl = memchr(a->ebuf, '\n', a->elen)) || a->elen == sizeof(a->ebuf) - 1) {
			size_t n = nl ? (size_t)(nl - a->ebuf) : a->elen;
			fprintf(ac->out, "      !! %s stderr: %.*s\n", a->name, (int)n, a->ebuf);
			a->elen -= nl ? n + 1 : n;
			memmove(a->ebuf, a->ebuf + (nl ? n + 1 : n), a->elen);
		}
	}
}

/* Read what @a has written; -1 at end of file. */
static int agent_read(struct ac *ac, struct ac_agent *a)
{
	for (;;) {
		char *nl;
		ssize_t r;

		while ((nl = memchr(a->buf, '\n', a->len))) {
			*nl = '\0';
			agent_line(ac, a, a->buf);
			a->len -= (size_t)(nl + 1 - a->buf);
			memmove(a->buf, nl + 1, a->len);
		}
		if (a->len == sizeof(a->buf)) {
			ac_say(ac, "FAIL", "%s: an event line longer than %d bytes", a->name,
			       AC_LINE_MAX);
			a->len = 0;
		}
		r = read(a->out_fd, a->buf + a->len, sizeof(a->buf) - a->len);
		if (r > 0) {
			a->len += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return 0;
		a->eof = true;
		return -1;
	}
}

typedef bool (*ac_cond)(struct ac_agent *cand, struct ac_agent *peer, void *arg);

/* Read both agents until @cond holds (1), @timeout_ms passes (0) or the
 * candidate's stdout closes (-1). */
int ac_pump(struct ac *ac, struct ac_agent *cand, struct ac_agent *peer, ac_cond cond, void *arg,
	    int timeout_ms)
{
	int64_t deadline = luanet_now_ms() + timeout_ms;

	for (;;) {
		struct pollfd pfd[4];
		struct ac_agent *who[4];
		bool is_err[4];
		int n = 0;
		int64_t left;

		if (cond(cand, peer, arg))
			return 1;
		if (cand->eof)
			return -1;
		left = deadline - luanet_now_ms();
		if (left <= 0)
			return 0;
		for (struct ac_agent *a = cand; a; a = a == cand ? peer : NULL) {
			if (a && a->out_fd >= 0 && !a->eof) {
				pfd[n].fd = a->out_fd;
				pfd[n].events = POLLIN;
				pfd[n].revents = 0;
				is_err[n] = false;
				who[n++] = a;
			}
			if (a && a->err_fd >= 0) {
				pfd[n].fd = a->err_fd;
				pfd[n].events = POLLIN;
				pfd[n].revents = 0;
				is_err[n] = true;
				who[n++] = a;
			}
		}
		if (poll(pfd, (nfds_t)n, (int)left) < 0 && errno != EINTR)
			return 0;
		for (int i = 0; i < n; i++) {
			if (pfd[i].revents && is_err[i])
				agent_read_stderr(ac, who[i]);
			else if (pfd[i].revents)
				agent_read(ac, who[i]);
		}
	}
}

bool ac_c_ready(struct ac_agent *c, struct ac_agent *p, void *arg)
{
	(void)arg;
	return c->ready && (!p || p->ready || p->eof);
}

static bool c_local(struct ac_agent *c, struct ac_agent *p, void *arg)
{
	int *min = arg;
	(void)p;
	return c->locals >= *min && json_is_true(json_object_get(c->local, "complete"));
}

bool ac_c_selected_both(struct ac_agent *c, struct ac_agent *p, void *arg)
{
	(void)arg;
	return c->selected && p->selected;
}

bool ac_c_failed(struct ac_agent *c, struct ac_agent *p, void *arg)
{
	(void)arg;
	return c->failed[0] || p->failed[0];
}

bool ac_c_selected_or_failed(struct ac_agent *c, struct ac_agent *p, void *arg)
{
	return ac_c_selected_both(c, p, arg) || ac_c_failed(c, p, arg);
}

static bool c_data_out(struct ac_agent *c, struct ac_agent *p, void *arg)
{
	(void)arg;
	return c->data && p->rx >= AC_DATA_N;
}

static bool c_data_in(struct ac_agent *c, struct ac_agent *p, void *arg)
{
	(void)arg;
	return p->data && c->rx >= AC_DATA_N;
}

static bool c_errors(struct ac_agent *c, struct ac_agent *p, void *arg)
{
	int *min = arg;
	(void)p;
	return c->errors >= *min;
}

bool ac_c_never(struct ac_agent *c, struct ac_agent *p, void *arg)
{
	(void)c;
	(void)p;
	(void)arg;
	return false;
}

/* ---- field checks ---- */

/* RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/"; RFC 8445 §5.3: the
 * username fragment MUST contain at least 24 bits of randomness (4
 * characters), the password at least 128 bits (22 characters); at most
 * 256 characters each. */
static const char *cred_problem(const char *s, size_t min)
{
	size_t n;

	if (!s)
		return "missing";
	n = strlen(s);
	if (n < min)
		return "too short";
	if (n > 256)
		return "longer than 256 characters";
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/'))
			return "has characters outside ice-char (ALPHA / DIGIT / \"+\" / \"/\")";
	}
	return NULL;
}

/* Checks a local event; returns the number of problems. */
int ac_check_local(struct ac *ac, const json_t *ev, const char *what)
{
	int bad = 0, host = 0;
	const char *why;
	json_t *cands = json_object_get(ev, "candidates"), *c;
	size_t i;

	if ((why = cred_problem(ac_jstr(ev, "ufrag"), 4))) {
		ac_say(ac, "FAIL", "%s: ufrag %s (RFC 8445 §5.3: at least 4 ice-chars)", what, why);
		bad++;
	}
	if ((why = cred_problem(ac_jstr(ev, "pwd"), 22))) {
		ac_say(ac, "FAIL", "%s: pwd %s (RFC 8445 §5.3: at least 22 ice-chars)", what, why);
		bad++;
	}
	if (!json_is_boolean(json_object_get(ev, "complete"))) {
		ac_say(ac, "FAIL", "%s: \"complete\" must be true or false", what);
		bad++;
	}
	if (!json_is_array(cands) || json_array_size(cands) == 0) {
		ac_say(ac, "FAIL",
		       "%s: \"candidates\" must be a non-empty array of a=candidate values", what);
		return bad + 1;
	}
	json_array_foreach(cands, i, c)
	{
		struct ice_candidate ic;
		char ip[64];
		const char *s = json_string_value(c);
		int r = s ? ice_candidate_parse(s, strlen(s), &ic) : -EINVAL;
		if (r == -EAFNOSUPPORT || r == -EPROTONOSUPPORT) {
			ac_say(ac, "warn",
			       "%s: candidate %zu \"%s\" is one natlab's agents skip (%s)", what,
			       i + 1, s,
			       r == -EAFNOSUPPORT ? "not a numeric address" : "not UDP or TCP");
			continue;
		}
		if (r < 0) {
			ac_say(
			    ac, "FAIL",
			    "%s: candidate %zu %s%.120s%s is not RFC 8839 syntax (\"candidate:"
			    "FOUNDATION COMPONENT TRANSPORT PRIORITY ADDRESS PORT typ TYPE ...\")",
			    what, i + 1, s ? "\"" : "", s ? s : "(not a string)", s ? "\"" : "");
			bad++;
			continue;
		}
		if (ic.type == ICE_CAND_HOST &&
		    strcmp(ice_addr_ip(&ic.addr, ip, sizeof(ip)), ac->cand_ip) == 0)
			host++;
	}
	if (!host) {
		ac_say(ac, "FAIL",
		       "%s: no host candidate on the node's address %s (every interface "
		       "address is offered as a host candidate, RFC 8445 §5.1.1.1)",
		       what, ac->cand_ip);
		bad++;
	}
	return bad;
}

static int check_endpoint(struct ac *ac, const json_t *o, const char *what)
{
	static const char *const types[] = {"host", "srflx", "prflx", "relay", NULL};
	const char *type = ac_jstr(o, "type"), *tr = ac_jstr(o, "transport"),
		   *a = ac_jstr(o, "address");
	json_t *port = json_object_get(o, "port");
	union ice_addr ia;
	int ok = 0, bad = 0;

	if (!json_is_object(o)) {
		ac_say(ac, "FAIL", "%s must be an object {type, transport, address, port}", what);
		return 1;
	}
	for (int i = 0; types[i]; i++)
		ok |= type && strcmp(type, types[i]) == 0;
	if (!ok) {
		ac_say(ac, "FAIL", "%s.type is %s%s%s, not host, srflx, prflx or relay", what,
		       type ? "\"" : "", type ? type : "missing", type ? "\"" : "");
		bad++;
	}
	if (!tr || (strcmp(tr, "udp") && strcmp(tr, "tcp"))) {
		ac_say(ac, "FAIL", "%s.transport must be \"udp\" or \"tcp\"", what);
		bad++;
	}
	if (!a || ice_addr_from_text(&ia, a, 1) < 0) {
		ac_say(ac, "FAIL", "%s.address must be a numeric IP address", what);
		bad++;
	}
	if (!json_is_integer(port) || json_integer_value(port) < 1 ||
	    json_integer_value(port) > 65535) {
		ac_say(ac, "FAIL", "%s.port must be an integer 1-65535", what);
		bad++;
	}
	if (type && strcmp(type, "relay") == 0 && ac_jstr(o, "relay_transport") &&
	    strcmp(ac_jstr(o, "relay_transport"), "udp") &&
	    strcmp(ac_jstr(o, "relay_transport"), "tcp") &&
	    strcmp(ac_jstr(o, "relay_transport"), "tls")) {
		ac_say(ac, "FAIL", "%s.relay_transport must be udp, tcp or tls", what);
		bad++;
	}
	return bad;
}

/* The selected pair: fields, and a remote the peer really offered. */
int ac_check_selected(struct ac *ac, const json_t *ev, const json_t *peer_cands, const char *what)
{
	char w[96];
	int bad = 0;
	json_t *comp = json_object_get(ev, "component"), *rtt = json_object_get(ev, "rtt_ms");
	json_t *rem = json_object_get(ev, "remote");

	if (!json_is_integer(comp) || json_integer_value(comp) < 1) {
		ac_say(ac, "FAIL", "%s: \"component\" must be an integer >= 1", what);
		bad++;
	}
	snprintf(w, sizeof(w), "%s: local", what);
	bad += check_endpoint(ac, json_object_get(ev, "local"), w);
	snprintf(w, sizeof(w), "%s: remote", what);
	bad += check_endpoint(ac, rem, w);
	if (rtt && !json_is_integer(rtt)) {
		ac_say(ac, "FAIL", "%s: \"rtt_ms\" must be an integer (or absent when unknown)",
		       what);
		bad++;
	}
	if (!bad && peer_cands && ac_jstr(rem, "type") &&
	    strcmp(ac_jstr(rem, "type"), "prflx") != 0) {
		/* the remote end must be one of the candidates the peer gave */
		json_t *c;
		size_t i;
		bool found = false;
		char want[96];
		snprintf(want, sizeof(want), " %s %" JSON_INTEGER_FORMAT " ",
			 ac_jstr(rem, "address"), json_integer_value(json_object_get(rem, "port")));
		json_array_foreach(peer_cands, i, c)
		{
			const char *s = json_string_value(c);
			found |= s && strstr(s, want) != NULL;
		}
		if (!found) {
			ac_say(ac, "FAIL",
			       "%s: remote %s:%" JSON_INTEGER_FORMAT
			       " (%s) is none of the candidates the peer signalled",
			       what, ac_jstr(rem, "address"),
			       json_integer_value(json_object_get(rem, "port")),
			       ac_jstr(rem, "type"));
			bad++;
		}
	}
	return bad;
}

/* ---- the run ---- */

/* Two nodes on one link, each the other's default gateway, as a user's
 * host always has one: a browser gathers host candidates only once a
 * default route exists (Chromium without a media permission gathers only
 * on the default route's interface; Firefox gathers nothing at all
 * without one, whatever its preferences: docs/implementations.md). The
 * gateway is the link's other end, inside the lab: nothing leaves it,
 * and a packet for elsewhere dies at a node that does not forward. */
static int build_lab(struct ac *ac)
{
	struct natlab_err e = {""};

	if (emu_lab_new(&ac->lab, &e) < 0 ||
	    emu_lab_node_add(ac->lab, "cand", &ac->cand_node, &e) < 0 ||
	    emu_lab_node_add(ac->lab, "peer", &ac->peer_node, &e) < 0 ||
	    emu_link_veth(ac->cand_node, "eth0", ac->peer_node, "eth0", &e) < 0 ||
	    emu_link_addr_add(ac->cand_node, "eth0", AC_CAND_IP "/24", &e) < 0 ||
	    emu_link_addr_add(ac->peer_node, "eth0", AC_PEER_IP "/24", &e) < 0 ||
	    emu_route_add(ac->cand_node, "default", AC_PEER_IP, "eth0", &e) < 0 ||
	    emu_route_add(ac->peer_node, "default", AC_CAND_IP, "eth0", &e) < 0) {
		fprintf(ac->out, "adapter-check: cannot build the lab: %s\n", e.msg);
		return -1;
	}
	/* no duplicate address detection delay for IPv6 link-local addresses */
	emu_node_sysctl_set(ac->cand_node, "net/ipv6/conf/all/accept_dad", "0", &e);
	emu_node_sysctl_set(ac->peer_node, "net/ipv6/conf/all/accept_dad", "0", &e);
	return 0;
}

/* argv for one agent: @base words then --role @role. @out has room for
 * AC_ARGV_MAX + 1 pointers. */
void ac_make_argv(char **out, char *const *base, const char *role)
{
	int n = 0;

	while (base[n] && n < AC_ARGV_MAX - 3) {
		out[n] = base[n];
		n++;
	}
	out[n++] = "--role";
	out[n++] = (char *)role;
	out[n] = NULL;
}

/* each side has every datagram of the other */
static bool c_two_way(struct ac_agent *c, struct ac_agent *p, void *arg)
{
	(void)arg;
	return p->rx >= AC_DATA_N && c->rx >= AC_DATA_N;
}

void ac_check_data(struct ac *ac, struct ac_agent *cand, struct ac_agent *peer, const char *what,
		   struct wirejudge *wj, json_t **wire, struct natlab_err *e)
{
	char cmd[128];
	json_t *d;
	int r;

	snprintf(cmd, sizeof(cmd), "{\"cmd\":\"send\",\"n\":%d,\"size\":120,\"interval_ms\":10}",
		 AC_DATA_N);
	if (wj && wirejudge_snap(wj, "data0", e) < 0) {
		*wire = NULL;
		wj = NULL;
	}
	ac_agent_send(ac, cand, cmd);
	if (wj) {
		/* the matrix's data phase (scen.two_way): both send at once, the
		 * window ends when each has the other's datagrams */
		ac_agent_send(ac, peer, cmd);
		ac_pump(ac, cand, peer, c_two_way, NULL, 5000);
		*wire = wirejudge_judge(wj, "data0", "data1", "data", e);
	}
	r = ac_pump(ac, cand, peer, c_data_out, NULL, 5000);
	if (peer->rx == 0)
		ac_say(
		    ac, "FAIL",
		    "%ssend: the peer received none of the %d datagrams the candidate was asked to "
		    "send (docs/agent-protocol.md \"The data plane\": 0xE1 datagrams on the "
		    "selected pair)",
		    what, AC_DATA_N);
	else if (peer->rx < AC_DATA_N)
		ac_say(ac, "warn",
		       "%ssend: the peer received %d of %d datagrams on a loss-free link", what,
		       peer->rx, AC_DATA_N);
	else
		ac_say(ac, "ok", "%ssend: the peer received all %d datagrams", what, AC_DATA_N);
	d = cand->data;
	if (!d) {
		ac_say(
		    ac, "FAIL", "%ssend: no \"data\" event within %d s of the send (%s)", what, 5,
		    r < 0 ? "the candidate exited" : "expected after 1 s without peer datagrams");
	} else {
		json_t *sent = json_object_get(d, "sent"), *acked = json_object_get(d, "acked");
		json_t *lost = json_object_get(d, "lost"), *recv = json_object_get(d, "received");
		int bad = 0;
		if (!json_is_integer(sent) || json_integer_value(sent) != AC_DATA_N) {
			ac_say(ac, "FAIL", "%sdata: \"sent\" must be %d", what, AC_DATA_N);
			bad++;
		}
		if (!json_is_integer(acked) || !json_is_integer(lost) || !json_is_integer(recv)) {
			ac_say(ac, "FAIL",
			       "%sdata: \"received\", \"acked\" and \"lost\" must be integers",
			       what);
			bad++;
		} else if (json_integer_value(lost) !=
			   json_integer_value(sent) - json_integer_value(acked)) {
			ac_say(ac, "FAIL", "%sdata: \"lost\" must be sent - acked", what);
			bad++;
		} else if (json_integer_value(acked) == 0) {
			ac_say(ac, "FAIL",
			       "%sdata: none of the datagrams was acknowledged: the candidate does "
			       "not "
			       "read the peer's 20-byte acknowledgements",
			       what);
			bad++;
		}
		if (!json_object_get(d, "rtt_ms_median") || !json_object_get(d, "rtt_ms_p95")) {
			ac_say(ac, "FAIL",
			       "%sdata: \"rtt_ms_median\" and \"rtt_ms_p95\" must be present "
			       "(numbers, or null without acknowledgements)",
			       what);
			bad++;
		}
		if (!bad)
			ac_say(ac, "ok",
			       "%sdata: sent %" JSON_INTEGER_FORMAT ", acked %" JSON_INTEGER_FORMAT,
			       what, json_integer_value(sent), json_integer_value(acked));
	}

	if (!wj)
		ac_agent_send(ac, peer, cmd);
	ac_pump(ac, cand, peer, c_data_in, NULL, 5000);
	if (cand->rx_bad)
		ac_say(ac, "FAIL", "%srx: %d rx events without integer \"seq\" and \"size\"", what,
		       cand->rx_bad);
	if (cand->rx == 0)
		ac_say(
		    ac, "FAIL",
		    "%srx: the candidate reported none of the peer's %d datagrams as \"rx\" events",
		    what, AC_DATA_N);
	else
		ac_say(ac, "ok", "%srx: the candidate reported %d of the peer's %d datagrams", what,
		       cand->rx, AC_DATA_N);
	if (peer->data && json_integer_value(json_object_get(peer->data, "acked")) == 0)
		ac_say(ac, "FAIL",
		       "%srx: the candidate did not echo acknowledgements of the peer's "
		       "datagrams (the 20-byte answer of the data plane)",
		       what);
}

static void check_malformed(struct ac *ac, struct ac_agent *cand, struct ac_agent *peer)
{
	static const struct {
		const char *line, *what;
	} bad[] = {
	    {"this is not JSON", "a line that is not JSON"},
	    {"{\"cmd\":\"no-such-command\"}", "an unknown command"},
	    {"{\"cmd\":\"candidate\",\"candidate\":\"candidate:1 1 udp notanumber 10.99.0.9 "
	     "7 typ host\"}",
	     "a remote candidate that is not RFC 8839 syntax"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int want = cand->errors + 1;
		ac_agent_send(ac, cand, bad[i].line);
		if (ac_pump(ac, cand, peer, c_errors, &want, 3000) == 1) {
			const char *m = ac_jstr(cand->last_error, "msg");
			if (!m || !*m)
				ac_say(ac, "FAIL",
				       "malformed: the error event for %s has no \"msg\"",
				       bad[i].what);
			else
				ac_say(ac, "ok", "malformed: %s -> error \"%.80s\"", bad[i].what,
				       m);
		} else {
			ac_say(ac, "FAIL",
			       "malformed: %s was not answered with an \"error\" event%s",
			       bad[i].what, cand->eof ? " (the candidate exited)" : "");
		}
		if (cand->eof)
			return;
	}
	/* survival: still running a moment later */
	ac_pump(ac, cand, peer, ac_c_never, NULL, 200);
	if (cand->eof || waitpid(cand->pid, &cand->status, WNOHANG) == cand->pid) {
		cand->exited = !cand->eof ? true : cand->exited;
		ac_say(ac, "FAIL",
		       "malformed: the candidate exited after bad input; it must go on");
	} else {
		ac_say(ac, "ok", "malformed: still running after bad input");
	}
}

static void check_restart(struct ac *ac, struct ac_agent *cand, struct ac_agent *peer)
{
	char *old_u = NULL, *old_p = NULL;
	int want = cand->locals + 1, r;
	const json_t *caps = json_object_get(cand->ready, "capabilities");

	/* issue 17: a check that a declared capability rules out is n/a, as
	 * the scenarios that restart judge such an agent `unsupported` */
	if (json_is_false(json_object_get(caps, "restart"))) {
		ac_say(ac, "n/a",
		       "restart: the candidate declares \"restart\": false in its ready event "
		       "(capabilities): not checked; scenarios that restart judge it `unsupported`");
		return;
	}
	if (cand->local) {
		old_u = strdup(ac_jstr(cand->local, "ufrag") ? ac_jstr(cand->local, "ufrag") : "");
		old_p = strdup(ac_jstr(cand->local, "pwd") ? ac_jstr(cand->local, "pwd") : "");
	}
	json_decref(cand->selected);
	json_decref(peer->selected);
	cand->selected = peer->selected = NULL;
	ac_agent_send(ac, cand, "{\"cmd\":\"restart\"}");
	r = ac_pump(ac, cand, peer, c_local, &want, ac->timeout_ms);
	if (r != 1) {
		ac_say(ac, "FAIL", "restart: no new complete \"local\" within %d ms%s",
		       ac->timeout_ms, r < 0 ? " (the candidate exited)" : "");
		goto out;
	}
	if (old_u &&
	    (strcmp(old_u, ac_jstr(cand->local, "ufrag") ? ac_jstr(cand->local, "ufrag") : "") ==
		 0 ||
	     strcmp(old_p, ac_jstr(cand->local, "pwd") ? ac_jstr(cand->local, "pwd") : "") == 0))
		ac_say(ac, "FAIL",
		       "restart: the new local kept the old ufrag or pwd (RFC 8445 §9: "
		       "an ICE restart changes both)");
	else if (ac_check_local(ac, cand->local, "restart: local") == 0)
		ac_say(ac, "ok", "restart: new credentials and %zu candidates",
		       json_array_size(json_object_get(cand->local, "candidates")));
	r = ac_pump(ac, cand, peer, ac_c_selected_or_failed, NULL, ac->timeout_ms);
	if (cand->selected && peer->selected)
		ac_say(ac, "ok", "restart: a pair selected again on both sides");
	else
		ac_say(ac, "FAIL", "restart: no new selected pair on %s within %d ms%s%s",
		       cand->selected ? "the peer" : "the candidate", ac->timeout_ms,
		       cand->failed[0] ? "; candidate failed: " : "", cand->failed);
out:
	free(old_u);
	free(old_p);
}

static void check_stop(struct ac *ac, struct ac_agent *a)
{
	struct natlab_err e = {""};
	int st = 0;

	ac_agent_send(ac, a, "{\"cmd\":\"stop\"}");
	if (emu_lab_wait(ac->lab, a->pid, &st, NATLAB_STOP_GRACE_MS, &e) < 0) {
		ac_say(ac, "FAIL", "stop: still running %d s after \"stop\"",
		       NATLAB_STOP_GRACE_MS / 1000);
		return;
	}
	a->exited = true;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		ac_say(ac, "ok", "stop: exited with status 0");
	else
		ac_say(ac, "FAIL", "stop: exited with %s %d, not status 0",
		       WIFEXITED(st) ? "status" : "signal",
		       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

/* The candidate controlling: every check. */
static void run_controlling(struct ac *ac, struct ac_agent *cand, struct ac_agent *peer,
			    char *const *cargv, char *const *pargv)
{
	int one = 1, r;

	if (ac_agent_spawn(ac, cand, ac->cand_node, cargv) < 0 ||
	    ac_agent_spawn(ac, peer, ac->peer_node, pargv) < 0)
		return;
	r = ac_pump(ac, cand, peer, ac_c_ready, NULL, AC_READY_MS);
	if (!cand->ready) {
		ac_say(ac, "FAIL", "ready: no \"ready\" event within %d s of starting%s",
		       AC_READY_MS / 1000, r < 0 ? " (the candidate exited: run it by hand to see why)" : "");
		return;
	}
	if (!peer->ready) {
		fprintf(ac->out, "adapter-check: the peer %s did not start\n", pargv[0]);
		ac->fails++;
		return;
	}
	if (!ac_jstr(cand->ready, "impl") || !ac_jstr(cand->ready, "version"))
		ac_say(ac, "FAIL", "ready: \"impl\" and \"version\" must be strings");
	else
		ac_say(ac, "ok", "ready: impl \"%s\" version \"%s\"", ac_jstr(cand->ready, "impl"),
		       ac_jstr(cand->ready, "version"));

	ac->relay = true;
	if (ac_start(ac, cand, peer, "") < 0)
		return;
	r = ac_pump(ac, cand, peer, c_local, &one, ac->timeout_ms);
	if (r != 1) {
		ac_say(ac, "FAIL", "gather: no \"local\" with \"complete\":true within %d ms%s",
		       ac->timeout_ms, cand->locals ? " (a local came, never complete)" : "");
		return;
	}
	if (ac_check_local(ac, cand->local, "gather: local") == 0)
		ac_say(ac, "ok", "gather: local with %zu valid candidates",
		       json_array_size(json_object_get(cand->local, "candidates")));

	r = ac_pump(ac, cand, peer, ac_c_selected_or_failed, NULL, ac->timeout_ms);
	if (!cand->checking)
		ac_say(ac, "FAIL",
		       "remote: no {\"ev\":\"state\",\"state\":\"checking\"} after the "
		       "remote candidates");
	if (!cand->selected) {
		ac_say(ac, "FAIL", "remote: no \"selected\" event within %d ms%s%s", ac->timeout_ms,
		       cand->failed[0] ? "; it failed: " : "", cand->failed);
		return;
	}
	if (ac_check_selected(ac, cand->selected, peer->cands, "selected") == 0)
		ac_say(ac, "ok",
		       "selected: %s %s:%" JSON_INTEGER_FORMAT " -> %s %s:%" JSON_INTEGER_FORMAT,
		       ac_jstr(json_object_get(cand->selected, "local"), "type"),
		       ac_jstr(json_object_get(cand->selected, "local"), "address"),
		       json_integer_value(
			   json_object_get(json_object_get(cand->selected, "local"), "port")),
		       ac_jstr(json_object_get(cand->selected, "remote"), "type"),
		       ac_jstr(json_object_get(cand->selected, "remote"), "address"),
		       json_integer_value(
			   json_object_get(json_object_get(cand->selected, "remote"), "port")));
	if (!peer->selected &&
	    ac_pump(ac, cand, peer, ac_c_selected_both, NULL, ac->timeout_ms) != 1) {
		ac_say(ac, "FAIL",
		       "selected: the peer never selected a pair (the candidate's checks "
		       "or answers did not reach it)");
		return;
	}
	if (ac->plane != PLANECHOICE_NONE)
		ac_check_data(ac, cand, peer, "", NULL, NULL, NULL);
	check_malformed(ac, cand, peer);
	if (cand->eof)
		return;
	check_restart(ac, cand, peer);
	if (cand->eof)
		return;
	check_stop(ac, cand);
}

/* The candidate controlled: it must connect in the other role too. */
static void run_controlled(struct ac *ac, struct ac_agent *cand, struct ac_agent *peer,
			   char *const *cargv, char *const *pargv)
{
	if (ac_agent_spawn(ac, cand, ac->cand_node, cargv) < 0 ||
	    ac_agent_spawn(ac, peer, ac->peer_node, pargv) < 0)
		return;
	ac_pump(ac, cand, peer, ac_c_ready, NULL, AC_READY_MS);
	ac->relay = true;
	if (!cand->ready || !peer->ready) {
		ac_say(ac, "FAIL", "controlled: no \"ready\" from the %s",
		       cand->ready ? "peer" : "candidate");
		return;
	}
	if (ac_start(ac, cand, peer, "controlled: ") < 0)
		return;
	ac_pump(ac, cand, peer, ac_c_selected_or_failed, NULL, ac->timeout_ms);
	if (cand->selected && peer->selected) {
		if (ac_check_selected(ac, cand->selected, peer->cands, "controlled: selected") == 0)
			ac_say(ac, "ok", "controlled: connects with the peer controlling");
	} else {
		ac_say(ac, "FAIL", "controlled: no pair selected on %s within %d ms%s%s",
		       cand->selected ? "the peer" : "the candidate", ac->timeout_ms,
		       cand->failed[0] ? "; candidate failed: " : "", cand->failed);
	}
	ac_agent_send(ac, cand, "{\"cmd\":\"stop\"}");
	ac_agent_send(ac, peer, "{\"cmd\":\"stop\"}");
}

/* A shipped implementation's name (scenarios/prelude/40_impls.lua: "nice",
 * "aiortc", "libwebrtc", "chromium", ...) is its adapter "natlab-<name>", looked up first ("nice"
 * is also coreutils' nice on PATH); anything else a program name or a
 * path. */
static int resolve(const char *name, char *buf, size_t len, FILE *out)
{
	char adapter[128];
	int n = -1;

	if (!strchr(name, '/') && strncmp(name, "natlab-", 7) != 0) {
		n = snprintf(adapter, sizeof(adapter), "natlab-%s", name);
		if (n > 0 && (size_t)n < sizeof(adapter) &&
		    luanet_bin_path(adapter, buf, len) == 0)
			return 0;
	}
	if (luanet_bin_path(name, buf, len) < 0)
		return -1;
	/* "chromium" without natlab-chromium built finds the browser itself,
	 * which speaks no agent protocol: say which program is checked */
	if (n > 0 && (size_t)n < sizeof(adapter) && out)
		fprintf(out,
			"adapter-check: note: no %s in build/bin, $NATLAB_BIN_DIR or PATH (a shipped "
			"adapter is built only when its stack is installed: scripts/install-deps, then "
			"rebuild); checking the program %s itself\n",
			adapter, buf);
	return 0;
}

int adaptercheck_run(const struct adaptercheck_opts *o, FILE *out)
{
	struct ac ac = {.out = out,
			.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 15000,
			.verbose = o->verbose,
			.cand_ip = AC_CAND_IP};
	struct ac_agent *cand = calloc(1, sizeof(*cand)), *peer = calloc(1, sizeof(*peer));
	char cpath[PATH_MAX], ppath[PATH_MAX];
	char *base[AC_ARGV_MAX + 1], *pbase[2];
	char *cargv[AC_ARGV_MAX + 1], *pargv[AC_ARGV_MAX + 1];
	enum emu_sandbox_mode mode;
	struct natlab_err e = {""};
	int n = 0, ret = NATLAB_EXIT_USAGE;

	if (!cand || !peer)
		goto out;
	ac.cand = cand;
	ac.peer = peer;
	if (resolve(o->cmd[0], cpath, sizeof(cpath), out) < 0) {
		fprintf(out,
			"adapter-check: %s: not an executable file, nor a program in build/bin, "
			"$NATLAB_BIN_DIR or PATH\n",
			o->cmd[0]);
		goto out;
	}
	if (resolve(o->peer ? o->peer : "natlab-ice", ppath, sizeof(ppath), NULL) < 0) {
		fprintf(out, "adapter-check: the peer %s is not found (build natlab-ice)\n",
			o->peer ? o->peer : "natlab-ice");
		goto out;
	}
	base[n++] = cpath;
	for (int i = 1; o->cmd[i] && n < AC_ARGV_MAX - 3; i++) {
		base[n++] = o->cmd[i];
		/* "--dataplane X" asks for that plane, as -p dataplane=X does in
		 * the matrix (docs/agent-protocol.md, "The data plane") */
		if (strcmp(o->cmd[i], "--dataplane") == 0 && o->cmd[i + 1])
			ac.want_plane = o->cmd[i + 1];
	}
	base[n] = NULL;
	pbase[0] = ppath;
	pbase[1] = NULL;
	signal(SIGPIPE, SIG_IGN);
	if (emu_sandbox_enter(&mode, &e) < 0) {
		fprintf(out, "adapter-check: %s\n", e.msg);
		goto out;
	}
	if (build_lab(&ac) < 0)
		goto out;
	fprintf(out, "adapter-check: %s (controlling, node cand %s) against %s (node peer %s)\n",
		cpath, AC_CAND_IP, ppath, AC_PEER_IP);
	ac_agent_reset(cand, "candidate");
	ac_agent_reset(peer, "peer");
	cand->other = peer;
	peer->other = cand;
	ac_make_argv(cargv, base, "controlling");
	ac_make_argv(pargv, pbase, "controlled");
	run_controlling(&ac, cand, peer, cargv, pargv);
	ac_agent_close(&ac, cand);
	ac_agent_close(&ac, peer);

	fprintf(out, "adapter-check: %s controlled, %s controlling\n", cpath, ppath);
	cand->other = peer;
	peer->other = cand;
	ac_make_argv(cargv, base, "controlled");
	ac_make_argv(pargv, pbase, "controlling");
	run_controlled(&ac, cand, peer, cargv, pargv);
	ac_agent_close(&ac, cand);
	ac_agent_close(&ac, peer);

	ac_net_rounds(&ac, base, ppath);

	if (ac.fails)
		fprintf(out,
			"adapter-check: %d problem%s (FAIL lines above): %s does not follow "
			"docs/agent-protocol.md\n",
			ac.fails, ac.fails == 1 ? "" : "s", o->cmd[0]);
	else
		fprintf(out, "adapter-check: %s follows docs/agent-protocol.md (%d warning%s)\n",
			o->cmd[0], ac.warns, ac.warns == 1 ? "" : "s");
	ret = ac.fails ? NATLAB_EXIT_FAIL : NATLAB_EXIT_OK;
out:
	if (cand)
		ac_agent_reset(cand, "candidate");
	if (peer)
		ac_agent_reset(peer, "peer");
	free(cand);
	free(peer);
	emu_lab_free(ac.lab);
	return ret;
}

int cmd_adapter_check(int argc, char **argv)
{
	struct adaptercheck_opts o = {NULL, NULL, 15000, 0};
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf(
			    "usage: natlab adapter-check [--peer PROGRAM] [--timeout-ms N] [-v] "
			    "COMMAND [ARGS...]\n\n"
			    "Runs COMMAND (an agent: a path, a program name, or \"nice\") in a "
			    "two-node lab against\n"
			    "PROGRAM (default natlab-ice) and checks that it follows "
			    "docs/agent-protocol.md:\n"
			    "ready, gather/local, remote/checking/selected, send/rx/data, "
			    "malformed lines,\n"
			    "restart, stop, the controlled role, and t_ms on every event; then "
			    "trickle, srflx\n"
			    "and relay candidates behind NATs with a STUN/TURN server, a relay "
			    "over UDP and one\n"
			    "over TCP/TLS, as the default matrix runs it and judged on the wire as "
			    "it judges\n"
			    "its cells. One line per check;\n"
			    "exit 0 when it conforms, 1 when a check failed, 2 when it could not "
			    "run.\n"
			    "Example: natlab adapter-check ./my-adapter --some-option\n");
			return NATLAB_EXIT_OK;
		} else if (strcmp(argv[i], "--peer") == 0 && i + 1 < argc) {
			o.peer = argv[++i];
		} else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc) {
			o.timeout_ms = atoi(argv[++i]);
		} else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
			o.verbose = 1;
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else {
			fprintf(stderr, "natlab adapter-check: unknown option '%s'\n", argv[i]);
			return NATLAB_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		fprintf(stderr,
			"natlab adapter-check: give the agent command: natlab adapter-check "
			"COMMAND [ARGS...]\n");
		return NATLAB_EXIT_USAGE;
	}
	o.cmd = argv + i;
	return adaptercheck_run(&o, stdout);
}

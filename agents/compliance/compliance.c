/* compliance.c - the RFC 4787 / RFC 5382 compliance suite over struct
 * compl_io; see compliance.h and docs/dut.md.
 *
 * The requirement texts next to each test are paraphrases of RFC 4787
 * (UDP) and RFC 5382 (TCP) section 4 / section 5 requirements, with their
 * strength (MUST, SHOULD, RECOMMENDED) as the verdict uses it. */
#include "agents/compliance/compliance_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *compl_addr_str(const struct compl_addr *a, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u:%u", a->ip >> 24, (a->ip >> 16) & 255, (a->ip >> 8) & 255,
		 a->ip & 255, a->port);
	return buf;
}

bool cs_addr_eq(const struct compl_addr *a, const struct compl_addr *b)
{
	return a->ip == b->ip && a->port == b->port;
}

const char *compl_verdict_name(enum compl_verdict v)
{
	switch (v) {
	case COMPL_PASS:
		return "pass";
	case COMPL_WARN:
		return "warn";
	case COMPL_FAIL:
		return "fail";
	case COMPL_INCONCLUSIVE:
		return "inconclusive";
	case COMPL_NOT_TESTED:
		return "not-tested";
	}
	return "?";
}

static const char *const behaviour[] = {"endpoint-independent", "address-dependent",
					"address-and-port-dependent"};

struct compl_row *cs_row(struct suite *s, const char *req, const char *title, const char *key,
			 enum compl_verdict v)
{
	struct compl_report *r = s->r;
	struct compl_row *w;

	if (r->n_rows >= COMPL_ROWS_MAX)
		w = &r->rows[COMPL_ROWS_MAX - 1]; /* cannot happen: the suite has fewer rows */
	else
		w = &r->rows[r->n_rows++];
	w->req = req;
	w->title = title;
	w->key = key;
	w->verdict = v;
	w->measured[0] = w->evidence[0] = '\0';
	return w;
}

void cs_fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(buf, len, f, ap);
	va_end(ap);
}

/* ---- datagrams carrying tokens ---- */

size_t cs_token_make(struct suite *s, uint8_t *buf, size_t len, uint32_t *tok)
{
	*tok = ++s->seq;
	memset(buf, 'x', len);
	memcpy(buf, "NLCP", 4);
	buf[4] = (uint8_t)(*tok >> 24);
	buf[5] = (uint8_t)(*tok >> 16);
	buf[6] = (uint8_t)(*tok >> 8);
	buf[7] = (uint8_t)*tok;
	return len;
}

static uint32_t token_of(const uint8_t *buf, int n)
{
	if (n < 8 || memcmp(buf, "NLCP", 4) != 0)
		return 0;
	return (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
}

/* Wait on @sock for token @tok; 1 with its source and length, 0 when it did
 * not come within @timeout_ms; *@icmp set when an ICMP error came. Other
 * datagrams (late copies from earlier tests) are skipped. */
int cs_await(struct suite *s, int sock, uint32_t tok, int timeout_ms, struct compl_addr *from,
	     int *len, bool *icmp)
{
	uint8_t *buf = s->rx;
	uint64_t end = s->io->now_ms(s->io->ctx) + (uint64_t)timeout_ms;

	for (;;) {
		uint64_t now = s->io->now_ms(s->io->ctx);
		struct compl_addr f;
		int n;

		if (now >= end)
			return 0;
		n = s->io->udp_recv(s->io->ctx, sock, (int)(end - now), &f, buf, PAYLOAD_MAX);
		if (n == -ECONNREFUSED && icmp)
			*icmp = true;
		if (n == -EINTR) /* the caller asked the suite to stop */
			return 0;
		if (n < 0)
			continue;
		if (token_of(buf, n) == tok) {
			if (from)
				*from = f;
			if (len)
				*len = n;
			return 1;
		}
	}
}

/* Send a token of @size bytes from @from_sock to @to and wait for it on
 * @at_sock; 1 when it arrived (source in @seen). */
int cs_pass_one(struct suite *s, int from_sock, const struct compl_addr *to, int at_sock,
		size_t size, int timeout_ms, struct compl_addr *seen, int *len)
{
	static uint8_t buf[PAYLOAD_MAX];
	uint32_t tok;

	cs_token_make(s, buf, size, &tok);
	if (s->io->udp_send(s->io->ctx, from_sock, to, buf, size) < 0)
		return 0;
	return cs_await(s, at_sock, tok, timeout_ms, seen, len, NULL);
}

/* The mapping of LAN socket @l as WAN server socket [a][p] sees it, with
 * two retries for a lost first packet. */
int cs_learn(struct suite *s, int l, int a, int p, struct compl_addr *m)
{
	for (int i = 0; i < 3; i++)
		if (cs_pass_one(s, l, &s->srv_addr[a][p], s->srv[a][p], 64, s->cfg->wait_ms, m,
				NULL))
			return 0;
	return -ETIMEDOUT;
}

/* Does server socket [a][p] reach mapping @m of LAN socket @l? */
int cs_reaches(struct suite *s, int a, int p, const struct compl_addr *m, int l, int wait_ms,
	       struct compl_addr *seen)
{
	return cs_pass_one(s, s->srv[a][p], m, l, 64, wait_ms, seen, NULL);
}

int cs_lan_open(struct suite *s, uint16_t port, struct compl_addr *local)
{
	struct compl_addr dummy;

	return s->io->udp_open(s->io->ctx, COMPL_LAN, 0, port, local ? local : &dummy);
}

void cs_close(struct suite *s, int sock)
{
	if (sock >= 0)
		s->io->close(s->io->ctx, sock);
}

/* ---- behaviours ---- */

/* RFC 4787 §4.1 (the RFC 5780 §4.3 procedure): the same socket to the
 * first server, to the other address, then to the other address and port. */
static int classify_mapping(struct suite *s, char *ev, size_t evlen)
{
	struct compl_addr m1, m2, m3, local;
	int l = cs_lan_open(s, 0, &local), lvl = -1;

	if (l < 0)
		return -1;
	if (cs_learn(s, l, 0, 0, &m1) < 0 || cs_learn(s, l, 1, 0, &m2) < 0)
		goto out;
	if (cs_addr_eq(&m1, &m2)) {
		lvl = 0;
		cs_fmt(ev, evlen, "%s -> %s seen as %s by %s and by %s", A(&local), "servers",
		       A(&m1), A(&s->srv_addr[0][0]), A(&s->srv_addr[1][0]));
		goto out;
	}
	if (cs_learn(s, l, 1, 1, &m3) < 0)
		goto out;
	lvl = cs_addr_eq(&m2, &m3) ? 1 : 2;
	cs_fmt(ev, evlen, "%s seen as %s by %s, %s by %s, %s by %s", A(&local), A(&m1),
	       A(&s->srv_addr[0][0]), A(&m2), A(&s->srv_addr[1][0]), A(&m3), A(&s->srv_addr[1][1]));
out:
	cs_close(s, l);
	return lvl;
}

/* RFC 4787 §5 (RFC 5780 §4.4): a mapping made toward server [0][0], then
 * tried from the other address, then from the same address, other port. */
static int classify_filtering(struct suite *s, char *ev, size_t evlen)
{
	struct compl_addr m, local;
	int l = cs_lan_open(s, 0, &local), lvl = -1;
	int w = s->cfg->wait_ms;

	if (l < 0)
		return -1;
	if (cs_learn(s, l, 0, 0, &m) < 0)
		goto out;
	if (cs_reaches(s, 1, 0, &m, l, w, NULL))
		lvl = 0;
	else if (cs_reaches(s, 0, 1, &m, l, w, NULL))
		lvl = 1;
	else
		lvl = 2;
	cs_fmt(ev, evlen, "mapping %s (for %s) made toward %s; from %s: %s; from %s: %s", A(&m),
	       A(&local), A(&s->srv_addr[0][0]), A(&s->srv_addr[1][0]), lvl == 0 ? "in" : "dropped",
	       A(&s->srv_addr[0][1]),
	       lvl == 0	  ? "(not needed)"
	       : lvl == 1 ? "in"
			  : "dropped");
out:
	cs_close(s, l);
	return lvl;
}

static void test_mapping_filtering(struct suite *s)
{
	char ev[3][COMPL_EVIDENCE_MAX] = {""};
	int map[3], filt[3];
	struct compl_row *w;
	bool same = true;

	for (int i = 0; i < 3; i++) {
		char fev[COMPL_EVIDENCE_MAX] = "";
		map[i] = classify_mapping(s, i ? fev : ev[0], sizeof(fev));
		filt[i] = classify_filtering(s, i ? fev : ev[1], sizeof(fev));
		same = same && map[i] == map[0] && filt[i] == filt[0];
	}
	s->r->mapping = map[0] >= 0 ? behaviour[map[0]] : "unknown";
	s->r->filtering = filt[0] >= 0 ? behaviour[filt[0]] : "unknown";
	/* REQ-1: a NAT MUST have endpoint-independent mapping. */
	w = cs_row(s, "RFC 4787 REQ-1", "endpoint-independent mapping (UDP)", "udp_mapping",
		   map[0] == 0	? COMPL_PASS
		   : map[0] < 0 ? COMPL_INCONCLUSIVE
				: COMPL_FAIL);
	cs_fmt(w->measured, sizeof(w->measured), "%s", s->r->mapping);
	cs_fmt(w->evidence, sizeof(w->evidence), "%s", ev[0]);
	/* REQ-8: endpoint-independent filtering RECOMMENDED for transparency,
	 * address-dependent when more stringent filtering is wanted. */
	w = cs_row(s, "RFC 4787 REQ-8", "filtering (UDP)", "udp_filtering",
		   filt[0] < 0	  ? COMPL_INCONCLUSIVE
		   : filt[0] == 2 ? COMPL_WARN
				  : COMPL_PASS);
	cs_fmt(w->measured, sizeof(w->measured), "%s", s->r->filtering);
	cs_fmt(w->evidence, sizeof(w->evidence), "%s%s", ev[1],
	       filt[0] == 2 ? "; address-and-port-dependent filtering is neither recommended level"
			    : "");
	/* REQ-11: a NAT MUST have deterministic behaviour. */
	w = cs_row(s, "RFC 4787 REQ-11", "deterministic behaviour", "determinism",
		   same ? COMPL_PASS : COMPL_FAIL);
	cs_fmt(w->measured, sizeof(w->measured), "%s", same ? "same 3 times" : "changed");
	cs_fmt(w->evidence, sizeof(w->evidence),
	       "mapping then filtering classified 3 times on fresh sockets: %s/%s, %s/%s, %s/%s",
	       map[0] >= 0 ? behaviour[map[0]] : "?", filt[0] >= 0 ? behaviour[filt[0]] : "?",
	       map[1] >= 0 ? behaviour[map[1]] : "?", filt[1] >= 0 ? behaviour[filt[1]] : "?",
	       map[2] >= 0 ? behaviour[map[2]] : "?", filt[2] >= 0 ? behaviour[filt[2]] : "?");
}

static void test_pooling(struct suite *s)
{
	uint32_t ips[8];
	int n = 0;
	bool paired = true;
	struct compl_row *w;

	for (int i = 0; i < 4; i++) {
		int l = cs_lan_open(s, 0, NULL);
		struct compl_addr m;
		for (int a = 0; a < 2 && l >= 0; a++)
			if (cs_learn(s, l, a, 0, &m) == 0)
				ips[n++] = m.ip;
		cs_close(s, l);
	}
	for (int i = 1; i < n; i++)
		paired = paired && ips[i] == ips[0];
	/* REQ-2: "paired" IP address pooling RECOMMENDED. */
	w = cs_row(s, "RFC 4787 REQ-2", "IP address pooling paired", "pooling",
		   n < 2    ? COMPL_INCONCLUSIVE
		   : paired ? COMPL_PASS
			    : COMPL_WARN);
	cs_fmt(w->measured, sizeof(w->measured), "%s", paired ? "paired" : "arbitrary");
	struct compl_addr first = {n ? ips[0] : 0, 0};
	cs_fmt(w->evidence, sizeof(w->evidence),
	       "%d mappings of one internal address toward 2 server addresses: %s external "
	       "address%s (first %s)",
	       n, paired ? "one" : "several", paired ? "" : "es", A(&first));
	s->paired = n < 2 ? -1 : paired;
	cs_fmt(s->pool_ev, sizeof(s->pool_ev), "%s", w->evidence);
}

static const char *port_pattern(const uint16_t *loc, const uint16_t *map, int n)
{
	bool preserved = true, sequential = n > 2;

	for (int i = 0; i < n; i++)
		preserved = preserved && loc[i] == map[i];
	for (int i = 2; i < n; i++) {
		int d0 = map[1] - map[0], d = map[i] - map[i - 1];
		sequential = sequential && d == d0 && d0 >= 1 && d0 <= 8;
	}
	return preserved ? "preserved" : sequential ? "sequential" : "random";
}

static void test_ports(struct suite *s)
{
	uint16_t loc[PARITY_N], map[PARITY_N];
	int n = 0, parity_kept = 0;
	struct compl_addr la, lb, ma, mb, lowl, lowm;
	struct compl_row *w;
	int a = cs_lan_open(s, 0, &la), b = cs_lan_open(s, 0, &lb), low = -1;
	bool overload = false, have_ab = false, have_low = false;

	if (a >= 0 && b >= 0 && cs_learn(s, a, 0, 0, &ma) == 0 && cs_learn(s, b, 0, 0, &mb) == 0) {
		have_ab = true;
		overload = cs_addr_eq(&ma, &mb);
	}
	cs_close(s, a);
	cs_close(s, b);
	/* a privileged source port: is it kept in 0..1023? */
	for (uint16_t p = 700; p < 720 && low < 0; p++)
		low = cs_lan_open(s, p, &lowl);
	if (low >= 0 && cs_learn(s, low, 0, 0, &lowm) == 0)
		have_low = true;
	cs_close(s, low);
	/* REQ-3: port overloading MUST NOT be used; the source port's range
	 * (0-1023 or 1024-65535) is RECOMMENDED to be kept. */
	w = cs_row(s, "RFC 4787 REQ-3", "no port overloading; port range kept", "port_assignment",
		   !have_ab			  ? COMPL_INCONCLUSIVE
		   : overload			  ? COMPL_FAIL
		   : have_low && lowm.port > 1023 ? COMPL_WARN
						  : COMPL_PASS);
	cs_fmt(w->measured, sizeof(w->measured), "%s; low port %s",
	       !have_ab	  ? "unknown"
	       : overload ? "port overloading"
			  : "distinct mappings",
	       !have_low	   ? "not seen"
	       : lowm.port <= 1023 ? "kept below 1024"
				   : "moved above 1023");
	if (have_ab)
		cs_fmt(w->evidence, sizeof(w->evidence),
		       "%s -> %s and %s -> %s (same server)%s%s%s%s", A(&la), A(&ma), A(&lb),
		       A(&mb), have_low ? "; " : "", have_low ? A(&lowl) : "",
		       have_low ? " -> " : "", have_low ? A(&lowm) : "");

	for (int i = 0; i < PARITY_N; i++) {
		struct compl_addr l, m;
		int k = cs_lan_open(s, 0, &l);
		if (k >= 0 && cs_learn(s, k, 0, 0, &m) == 0) {
			loc[n] = l.port;
			map[n] = m.port;
			parity_kept += (l.port & 1) == (m.port & 1);
			n++;
		}
		cs_close(s, k);
	}
	/* REQ-4: port parity preservation RECOMMENDED. */
	w = cs_row(s, "RFC 4787 REQ-4", "port parity preserved", "port_parity",
		   n < 2	      ? COMPL_INCONCLUSIVE
		   : parity_kept == n ? COMPL_PASS
				      : COMPL_WARN);
	cs_fmt(w->measured, sizeof(w->measured), "%d of %d kept; ports %s", parity_kept, n,
	       n >= 2 ? port_pattern(loc, map, n) : "unknown");
	s->port_pattern = n >= 2 ? port_pattern(loc, map, n) : NULL;
	{
		size_t off = 0;
		off += (size_t)snprintf(w->evidence, sizeof(w->evidence), "local->mapped:");
		for (int i = 0; i < n && off < sizeof(w->evidence); i++)
			off += (size_t)snprintf(w->evidence + off, sizeof(w->evidence) - off,
						" %u->%u", loc[i], map[i]);
		cs_fmt(s->port_ev, sizeof(s->port_ev), "%s", w->evidence);
	}
}

/* One pass of the timeout search: SCAN_POINTS mappings made at once, each
 * left idle for its own time in (lo, hi], then tried from the server it
 * talked to (so no filter is in the way). */
static void scan(struct suite *s, int lo_ms, int hi_ms, int *alive, int *expired, char *ev,
		 size_t evlen)
{
	int l[SCAN_POINTS];
	struct compl_addr m[SCAN_POINTS];
	uint64_t t0[SCAN_POINTS];
	size_t off = strlen(ev);

	for (int k = 0; k < SCAN_POINTS; k++) {
		l[k] = cs_lan_open(s, 0, NULL);
		if (l[k] >= 0 && cs_learn(s, l[k], 0, 0, &m[k]) < 0) {
			cs_close(s, l[k]);
			l[k] = -1;
		}
		t0[k] = s->io->now_ms(s->io->ctx);
	}
	for (int k = 0; k < SCAN_POINTS; k++) {
		uint64_t due = t0[k] + (uint64_t)(lo_ms + (hi_ms - lo_ms) * (k + 1) / SCAN_POINTS);
		uint64_t now = s->io->now_ms(s->io->ctx);
		int idle, ok;

		if (l[k] < 0)
			continue;
		if (due > now)
			s->io->sleep_ms(s->io->ctx, (int)(due - now));
		idle = (int)(s->io->now_ms(s->io->ctx) - t0[k]);
		ok = cs_reaches(s, 0, 0, &m[k], l[k], s->cfg->wait_ms / 2, NULL);
		if (ok && idle > *alive)
			*alive = idle;
		if (!ok && (*expired < 0 || idle < *expired))
			*expired = idle;
		if (off < evlen)
			off += (size_t)snprintf(ev + off, evlen - off, " %d.%ds:%s", idle / 1000,
						idle % 1000 / 100, ok ? "in" : "gone");
		cs_close(s, l[k]);
	}
}

static void test_timeout(struct suite *s)
{
	int bound = s->cfg->timeout_max_s * 1000, alive = -1, expired = -1;
	struct compl_row *w;
	char ev[COMPL_EVIDENCE_MAX] = "idle time:result";

	s->r->timeout_alive_ms = s->r->timeout_expired_ms = -1;
	if (bound <= 0) {
		w = cs_row(s, "RFC 4787 REQ-5", "UDP mapping timeout >= 2 min", "udp_timeout",
			   COMPL_NOT_TESTED);
		cs_fmt(w->measured, sizeof(w->measured), "not measured");
		cs_fmt(w->evidence, sizeof(w->evidence), "the search was switched off (bound 0)");
		return;
	}
	scan(s, 0, bound, &alive, &expired, ev, sizeof(ev));
	if (expired > 0 && alive >= 0 && expired > alive &&
	    expired - alive > s->cfg->timeout_resolution_ms)
		scan(s, alive, expired, &alive, &expired, ev, sizeof(ev));
	s->r->timeout_alive_ms = alive;
	s->r->timeout_expired_ms = expired;
	/* REQ-5: a UDP mapping timer MUST NOT expire in less than two minutes
	 * (unless REQ-5a's exception for destination ports applies); five
	 * minutes or more is RECOMMENDED. */
	w = cs_row(s, "RFC 4787 REQ-5", "UDP mapping timeout >= 2 min", "udp_timeout",
		   COMPL_INCONCLUSIVE);
	if (expired >= 0 && expired < 120000) {
		w->verdict = COMPL_FAIL;
		cs_fmt(w->measured, sizeof(w->measured), "%.1f..%.1f s", alive / 1000.0,
		       expired / 1000.0);
	} else if (expired < 0 && alive >= 120000) {
		w->verdict = alive >= 300000 ? COMPL_PASS : COMPL_WARN;
		cs_fmt(w->measured, sizeof(w->measured), "> %.1f s", alive / 1000.0);
	} else if (expired >= 120000) {
		w->verdict = alive >= 300000 ? COMPL_PASS : COMPL_WARN;
		cs_fmt(w->measured, sizeof(w->measured), "%.1f..%.1f s", alive / 1000.0,
		       expired / 1000.0);
	} else {
		cs_fmt(w->measured, sizeof(w->measured), "> %.1f s (the search bound)",
		       alive / 1000.0);
	}
	cs_fmt(w->evidence, sizeof(w->evidence), "%s%s", ev,
	       w->verdict == COMPL_INCONCLUSIVE ? "; alive at the bound, which is under 2 min"
						: "");
}

static void test_refresh(struct suite *s)
{
	int t = s->r->timeout_expired_ms;
	struct compl_addr ma, mb;
	struct compl_row *w;
	int a = -1, b = -1, out_ok, in_ok;
	uint64_t start;

	w = cs_row(s, "RFC 4787 REQ-6", "outbound refresh", "refresh", COMPL_NOT_TESTED);
	if (t <= 0) {
		cs_fmt(w->measured, sizeof(w->measured), "not measured");
		cs_fmt(w->evidence, sizeof(w->evidence),
		       "needs a measured mapping timeout (none expired within the search bound)");
		return;
	}
	a = cs_lan_open(s, 0, NULL);
	b = cs_lan_open(s, 0, NULL);
	if (a < 0 || b < 0 || cs_learn(s, a, 0, 0, &ma) < 0 || cs_learn(s, b, 0, 0, &mb) < 0) {
		cs_fmt(w->measured, sizeof(w->measured), "no mapping");
		goto out;
	}
	/* Keep A alive by outbound packets only and B by inbound packets only,
	 * every third of the timeout, for 1.6 timeouts; then try both. */
	start = s->io->now_ms(s->io->ctx);
	while (s->io->now_ms(s->io->ctx) - start < (uint64_t)t * 16 / 10) {
		uint8_t buf[64];
		uint32_t tok;
		s->io->sleep_ms(s->io->ctx, t / 3);
		cs_token_make(s, buf, sizeof(buf), &tok);
		s->io->udp_send(s->io->ctx, a, &s->srv_addr[0][0], buf, sizeof(buf));
		s->io->udp_send(s->io->ctx, s->srv[0][0], &mb, buf, sizeof(buf));
	}
	out_ok = cs_reaches(s, 0, 0, &ma, a, s->cfg->wait_ms, NULL);
	in_ok = cs_reaches(s, 0, 0, &mb, b, s->cfg->wait_ms, NULL);
	/* REQ-6: the refresh direction MUST include outbound ("NAT Outbound
	 * refresh behavior" True); inbound refresh MAY. */
	w->verdict = out_ok ? COMPL_PASS : COMPL_FAIL;
	cs_fmt(w->measured, sizeof(w->measured), "outbound %s, inbound %s",
	       out_ok ? "refreshes" : "does not refresh", in_ok ? "refreshes" : "does not refresh");
	cs_fmt(w->evidence, sizeof(w->evidence),
	       "timeout about %.1f s; mapping %s kept by outbound packets every %.1f s for %.1f s: "
	       "%s; "
	       "mapping %s by inbound packets only: %s",
	       t / 1000.0, A(&ma), t / 3000.0, t * 1.6 / 1000, out_ok ? "alive" : "expired", A(&mb),
	       in_ok ? "alive" : "expired");
out:
	cs_close(s, a);
	cs_close(s, b);
}

static void test_hairpin(struct suite *s)
{
	struct compl_addr l1, l2, m1, m2, f1 = {0, 0}, f2 = {0, 0};
	int a = cs_lan_open(s, 0, &l1), b = cs_lan_open(s, 0, &l2), got1 = 0, got2 = 0;
	struct compl_row *w, *w2;

	w = cs_row(s, "RFC 4787 REQ-9", "hairpinning", "hairpinning", COMPL_INCONCLUSIVE);
	w2 = cs_row(s, "RFC 4787 REQ-9b", "hairpinned packets carry the external source",
		    "hairpin_source", COMPL_NOT_TESTED);
	if (a < 0 || b < 0 || cs_learn(s, a, 0, 0, &m1) < 0 || cs_learn(s, b, 0, 0, &m2) < 0) {
		cs_fmt(w->measured, sizeof(w->measured), "no mapping");
		goto out;
	}
	/* Both directions: the first send also opens the sender's own filter
	 * toward the other mapping, so a filtering NAT does not hide it. */
	got2 = cs_pass_one(s, a, &m2, b, 64, s->cfg->wait_ms, &f2, NULL);
	got1 = cs_pass_one(s, b, &m1, a, 64, s->cfg->wait_ms, &f1, NULL);
	s->r->hairpin = got1 || got2;
	/* REQ-9: a NAT MUST support hairpinning. */
	w->verdict = s->r->hairpin ? COMPL_PASS : COMPL_FAIL;
	cs_fmt(w->measured, sizeof(w->measured), "%s", s->r->hairpin ? "yes" : "no");
	cs_fmt(w->evidence, sizeof(w->evidence),
	       "%s (mapped %s) -> %s: %s; %s (mapped %s) -> %s: %s", A(&l1), A(&m1), A(&m2),
	       got2 ? "arrived" : "lost", A(&l2), A(&m2), A(&m1), got1 ? "arrived" : "lost");
	if (s->r->hairpin) {
		/* REQ-9b: hairpinned packets MUST appear to come from the
		 * sender's external mapped address, not its internal one. */
		bool ext = got1 ? cs_addr_eq(&f1, &m2) : cs_addr_eq(&f2, &m1);
		w2->verdict = ext ? COMPL_PASS : COMPL_FAIL;
		cs_fmt(w2->measured, sizeof(w2->measured), "%s",
		       ext ? "external mapped address" : "not the external mapping");
		cs_fmt(w2->evidence, sizeof(w2->evidence),
		       "source seen: %s (external %s, internal %s)", got1 ? A(&f1) : A(&f2),
		       got1 ? A(&m2) : A(&m1), got1 ? A(&l2) : A(&l1));
	} else {
		cs_fmt(w2->measured, sizeof(w2->measured), "no hairpinned packet");
		cs_fmt(w2->evidence, sizeof(w2->evidence), "nothing hairpinned to look at");
	}
out:
	cs_close(s, a);
	cs_close(s, b);
}

static void test_alg(struct suite *s)
{
	uint8_t buf[128];
	struct compl_addr local, sip = s->srv_addr[0][0];
	int l = cs_lan_open(s, 0, &local), w5060;
	int changed = 0, seen = 0;
	struct compl_row *w;
	char text[64];

	sip.port = SIP_PORT;
	w5060 = s->io->udp_open(s->io->ctx, COMPL_WAN, 0, SIP_PORT, &sip);
	/* The internal address as text and as raw bytes: what an ALG looks for. */
	cs_fmt(text, sizeof(text), " %u.%u.%u.%u:%u ", local.ip >> 24, (local.ip >> 16) & 255,
	       (local.ip >> 8) & 255, local.ip & 255, local.port);
	for (int t = 0; t < 2; t++) {
		int srv = t == 0 ? s->srv[0][0] : w5060;
		const struct compl_addr *to = t == 0 ? &s->srv_addr[0][0] : &sip;
		uint32_t tok;
		size_t n;
		if (srv < 0 || l < 0)
			continue;
		cs_token_make(s, buf, 8, &tok);
		n = 8;
		memcpy(buf + n, text, strlen(text));
		n += strlen(text);
		buf[n++] = (uint8_t)(local.ip >> 24);
		buf[n++] = (uint8_t)(local.ip >> 16);
		buf[n++] = (uint8_t)(local.ip >> 8);
		buf[n++] = (uint8_t)local.ip;
		buf[n++] = (uint8_t)(local.port >> 8);
		buf[n++] = (uint8_t)local.port;
		for (int i = 0; i < 3; i++) {
			int len = 0;
			s->io->udp_send(s->io->ctx, l, to, buf, n);
			if (cs_await(s, srv, tok, s->cfg->wait_ms, NULL, &len, NULL)) {
				seen++;
				if ((size_t)len != n || memcmp(s->rx, buf, n) != 0)
					changed++;
				break;
			}
		}
	}
	/* REQ-10: UDP ALGs are RECOMMENDED to be off by default (they must not
	 * interfere with applications that do not need them). */
	w = cs_row(s, "RFC 4787 REQ-10", "no ALG interference", "alg",
		   seen == 0 ? COMPL_INCONCLUSIVE
		   : changed ? COMPL_WARN
			     : COMPL_PASS);
	cs_fmt(w->measured, sizeof(w->measured), "%s",
	       seen == 0 ? "nothing arrived"
	       : changed ? "payload rewritten"
			 : "payload untouched");
	cs_fmt(w->evidence, sizeof(w->evidence),
	       "payload with the internal endpoint as text and as raw bytes sent to %s and to port "
	       "%u: %d of %d arrived, %d changed",
	       A(&s->srv_addr[0][0]), SIP_PORT, seen, w5060 >= 0 ? 2 : 1, changed);
	cs_close(s, l);
	cs_close(s, w5060);
}

static void test_icmp(struct suite *s)
{
	struct compl_addr m, peer, again;
	int l = cs_lan_open(s, 0, NULL), w = -1, alive = 0;
	bool icmp = false;
	struct compl_row *row_;
	uint8_t buf[64];
	uint32_t tok;

	row_ =
	    cs_row(s, "RFC 4787 REQ-12", "ICMP does not end a mapping", "icmp", COMPL_INCONCLUSIVE);
	/* A peer of its own on the server side, so that the ICMP error belongs
	 * to the very flow (and mapping) under test whatever the mapping
	 * behaviour: talk, close the peer's port, talk again (the server side
	 * answers ICMP port unreachable through the device), reopen, and see
	 * whether the mapping still delivers. */
	w = s->io->udp_open(s->io->ctx, COMPL_WAN, 0, 0, &peer);
	if (l < 0 || w < 0 || !cs_pass_one(s, l, &peer, w, 64, s->cfg->wait_ms, &m, NULL)) {
		cs_fmt(row_->measured, sizeof(row_->measured), "no mapping");
		goto out;
	}
	cs_close(s, w);
	w = -1;
	cs_token_make(s, buf, sizeof(buf), &tok);
	s->io->udp_send(s->io->ctx, l, &peer, buf, sizeof(buf));
	cs_await(s, l, 0xffffffffu, s->cfg->wait_ms, NULL, NULL, &icmp);
	w = s->io->udp_open(s->io->ctx, COMPL_WAN, 0, peer.port, &again);
	if (w >= 0)
		alive = cs_pass_one(s, w, &m, l, 64, s->cfg->wait_ms, NULL, NULL);
	/* REQ-12: receipt of any ICMP message MUST NOT terminate the mapping. */
	row_->verdict = w < 0 ? COMPL_INCONCLUSIVE : alive ? COMPL_PASS : COMPL_FAIL;
	cs_fmt(row_->measured, sizeof(row_->measured), "mapping %s; ICMP error %s",
	       alive ? "survived" : "gone", icmp ? "forwarded inside" : "not seen inside");
	cs_fmt(row_->evidence, sizeof(row_->evidence),
	       "mapping %s toward %s; that port closed, a datagram sent (ICMP port unreachable "
	       "comes back), the port reopened, %s -> %s: %s",
	       A(&m), A(&peer), A(&peer), A(&m), alive ? "arrived" : "lost");
out:
	cs_close(s, l);
	cs_close(s, w);
}

static void test_fragments(struct suite *s)
{
	struct compl_addr m;
	int l = cs_lan_open(s, 0, NULL), in = 0, out = 0, inlen = 0, outlen = 0;
	int rin = 0, rout = 0, rinlen = 0, routlen = 0;
	bool ooo = s->io->udp_send_frags_reversed != NULL;
	struct compl_row *w;

	w = cs_row(s, "RFC 4787 REQ-14", "fragmented datagrams pass", "fragments",
		   COMPL_INCONCLUSIVE);
	if (l < 0 || cs_learn(s, l, 0, 0, &m) < 0) {
		cs_fmt(w->measured, sizeof(w->measured), "no mapping");
		goto out;
	}
	for (int i = 0; i < 3 && !in; i++)
		in = cs_pass_one(s, s->srv[0][0], &m, l, BIG_DATAGRAM, s->cfg->wait_ms, NULL,
				 &inlen);
	for (int i = 0; i < 3 && !out; i++)
		out = cs_pass_one(s, l, &s->srv_addr[0][0], s->srv[0][0], BIG_DATAGRAM,
				  s->cfg->wait_ms, NULL, &outlen);
	/* the same datagrams as hand-made fragments, the last one first */
	for (int i = 0; i < 3 && ooo && rin <= 0; i++)
		rin = cs_frags_reversed(s, s->srv[0][0], &m, l, &rinlen);
	for (int i = 0; i < 3 && ooo && rout <= 0; i++)
		rout = cs_frags_reversed(s, l, &s->srv_addr[0][0], s->srv[0][0], &routlen);
	if (rin < 0 || rout < 0)
		ooo = false; /* could not send them: in-order only */
	/* REQ-14: "A NAT MUST support receiving in-order and out-of-order
	 * fragments, so it MUST have 'Received Fragment Out of Order'
	 * behavior." */
	w->verdict = in && out && inlen == BIG_DATAGRAM && outlen == BIG_DATAGRAM &&
			     (!ooo || (rin == 1 && rout == 1 && rinlen == BIG_DATAGRAM &&
				       routlen == BIG_DATAGRAM))
			 ? COMPL_PASS
			 : COMPL_FAIL;
	if (ooo)
		cs_fmt(w->measured, sizeof(w->measured),
		       "in-order: inbound %s, outbound %s; out-of-order: inbound %s, outbound %s",
		       in ? "passed" : "lost", out ? "passed" : "lost",
		       rin == 1 ? "passed" : "lost", rout == 1 ? "passed" : "lost");
	else
		cs_fmt(w->measured, sizeof(w->measured), "in-order: inbound %s, outbound %s",
		       in ? "passed" : "lost", out ? "passed" : "lost");
	if (ooo)
		cs_fmt(w->evidence, sizeof(w->evidence),
		       "%d-byte datagrams (fragmented at a 1500-byte MTU) %s <-> %s: received %d "
		       "in, %d out; as 1200-byte fragments sent last first: received %d in, %d out",
		       BIG_DATAGRAM, A(&m), A(&s->srv_addr[0][0]), inlen, outlen, rinlen, routlen);
	else
		cs_fmt(w->evidence, sizeof(w->evidence),
		       "%d-byte datagrams (fragmented at a 1500-byte MTU) %s <-> %s: received %d "
		       "in, %d out; out-of-order fragments not sent (no raw socket)",
		       BIG_DATAGRAM, A(&m), A(&s->srv_addr[0][0]), inlen, outlen);
out:
	cs_close(s, l);
}

/* ---- TCP (RFC 5382) ---- */

static void test_tcp(struct suite *s)
{
	const struct compl_io *io = s->io;
	struct compl_addr b0, b1, loc, loc2, f0, f1, probe;
	int lis0 = io->tcp_listen(io->ctx, 0, (uint16_t)(s->srv_addr[0][0].port + 2), &b0);
	int lis1 = io->tcp_listen(io->ctx, 1, (uint16_t)(s->srv_addr[0][0].port + 2), &b1);
	int c0 = -1, c1 = -1, a0 = -1, a1 = -1, r;
	struct compl_row *w, *w2;
	uint64_t t0;

	w = cs_row(s, "RFC 5382 REQ-1", "endpoint-independent mapping (TCP)", "tcp_mapping",
		   COMPL_INCONCLUSIVE);
	w2 = cs_row(s, "RFC 5382 REQ-4", "unsolicited SYN not answered for 6 s",
		    "tcp_unsolicited_syn", COMPL_NOT_TESTED);
	s->r->tcp_mapping = "unknown";
	if (lis0 < 0 || lis1 < 0) {
		cs_fmt(w->evidence, sizeof(w->evidence), "cannot listen on the server side");
		goto out;
	}
	c0 = io->tcp_connect(io->ctx, COMPL_LAN, 0, &b0, 3000, &loc);
	if (c0 >= 0)
		a0 = io->tcp_accept(io->ctx, lis0, 3000, &f0);
	if (c0 < 0 || a0 < 0) {
		cs_fmt(w->measured, sizeof(w->measured), "no TCP connection");
		cs_fmt(w->evidence, sizeof(w->evidence), "connect to %s: %s", A(&b0),
		       strerror(c0 < 0 ? -c0 : -a0));
		goto out;
	}
	/* the same local endpoint toward the other server address */
	c1 = io->tcp_connect(io->ctx, COMPL_LAN, loc.port, &b1, 3000, &loc2);
	if (c1 >= 0)
		a1 = io->tcp_accept(io->ctx, lis1, 3000, &f1);
	if (c1 < 0 || a1 < 0) {
		cs_fmt(w->measured, sizeof(w->measured), "second connection failed");
		cs_fmt(w->evidence, sizeof(w->evidence), "connect from %s to %s: %s", A(&loc),
		       A(&b1), strerror(c1 < 0 ? -c1 : -a1));
		goto out;
	}
	s->r->tcp_mapping = cs_addr_eq(&f0, &f1) ? behaviour[0] : "not endpoint-independent";
	s->tcp_local = loc;
	s->tcp_mapped = f0;
	/* RFC 5382 REQ-1: a NAT MUST have endpoint-independent mapping for TCP. */
	w->verdict = cs_addr_eq(&f0, &f1) ? COMPL_PASS : COMPL_FAIL;
	cs_fmt(w->measured, sizeof(w->measured), "%s", s->r->tcp_mapping);
	cs_fmt(w->evidence, sizeof(w->evidence), "%s seen as %s by %s and as %s by %s", A(&loc),
	       A(&f0), A(&b0), A(&f1), A(&b1));
	if (!s->nat) {
		cs_fmt(w2->measured, sizeof(w2->measured), "no translation seen");
		cs_fmt(w2->evidence, sizeof(w2->evidence),
		       "the device does not translate: a SYN would reach the host itself");
		goto out;
	}
	/* RFC 5382 REQ-4: a NAT MUST NOT answer an unsolicited inbound SYN for
	 * at least 6 seconds (an outbound SYN may still come for it). */
	probe = f0;
	probe.port = (uint16_t)(f0.port == 65535 ? 1025 : f0.port + 1);
	t0 = io->now_ms(io->ctx);
	r = io->tcp_connect(io->ctx, COMPL_WAN, 0, &probe, s->cfg->syn_wait_ms, NULL);
	{
		int el = (int)(io->now_ms(io->ctx) - t0);
		if (r >= 0) {
			w2->verdict = COMPL_FAIL;
			cs_fmt(w2->measured, sizeof(w2->measured), "connection accepted");
			io->close(io->ctx, r);
		} else if (r == -ETIMEDOUT) {
			w2->verdict = COMPL_PASS;
			cs_fmt(w2->measured, sizeof(w2->measured), "silent for %.1f s",
			       el / 1000.0);
		} else {
			w2->verdict = el >= 6000 ? COMPL_PASS : COMPL_FAIL;
			cs_fmt(w2->measured, sizeof(w2->measured), "refused after %.1f s",
			       el / 1000.0);
		}
		cs_fmt(w2->evidence, sizeof(w2->evidence), "SYN from %s to %s (no mapping): %s",
		       A(&s->srv_addr[0][0]), A(&probe),
		       r == -ETIMEDOUT ? "no answer"
		       : r >= 0	       ? "SYN-ACK"
				       : strerror(-r));
	}
out:
	cs_close(s, a0);
	cs_close(s, a1);
	cs_close(s, c0);
	cs_close(s, c1);
	cs_close(s, lis0);
	cs_close(s, lis1);
}

/* ---- the suite ---- */

int compl_run(const struct compl_config *cfg, const struct compl_io *io, struct compl_report *r)
{
	struct suite s = {.cfg = cfg, .io = io, .r = r, .srv = {{-1, -1}, {-1, -1}}, .paired = -1};
	struct compl_addr local, m;
	uint64_t t0 = io->now_ms(io->ctx);
	int l, ret = 0;

	memset(r, 0, sizeof(*r));
	r->mapping = r->filtering = r->tcp_mapping = "unknown";
	r->hairpin = -1;
	r->timeout_alive_ms = r->timeout_expired_ms = -1;
	r->tcp_timeout_alive_ms = r->tcp_timeout_expired_ms = -1;
	r->quota = -1;
	for (int a = 0; a < 2; a++)
		for (int p = 0; p < 2; p++) {
			s.srv[a][p] =
			    io->udp_open(io->ctx, COMPL_WAN, a, (uint16_t)(cfg->server[a].port + p),
					 &s.srv_addr[a][p]);
			if (s.srv[a][p] < 0) {
				struct compl_row *w = cs_row(&s, "setup", "server sockets", "setup",
							     COMPL_NOT_TESTED);
				cs_fmt(w->evidence, sizeof(w->evidence),
				       "cannot open %s port %u: %s", A(&cfg->server[a]),
				       cfg->server[a].port + p, strerror(-s.srv[a][p]));
				ret = s.srv[a][p];
				goto out;
			}
		}
	l = cs_lan_open(&s, 0, &local);
	/* The first datagrams through a device that just came up may be lost
	 * while it resolves its neighbours (an ARP retry is 1 s): up to 9
	 * tries before deciding that UDP does not pass. */
	for (int i = 0; l >= 0 && i < 3 && (ret = cs_learn(&s, l, 0, 0, &m)) < 0; i++)
		;
	if (l < 0 || ret < 0) {
		struct compl_row *w =
		    cs_row(&s, "RFC 4787", "UDP passes the device", "udp", COMPL_FAIL);
		cs_fmt(w->measured, sizeof(w->measured), "no UDP");
		cs_fmt(w->evidence, sizeof(w->evidence), "9 datagrams from %s to %s: none arrived",
		       l < 0 ? "the LAN host" : A(&local), A(&s.srv_addr[0][0]));
		cs_close(&s, l);
		ret = -EHOSTUNREACH;
		if (cfg->tcp)
			test_tcp(&s);
		goto out;
	}
	s.nat = !cs_addr_eq(&local, &m);
	s.udp_local = local;
	s.udp_mapped = m;
	cs_close(&s, l);
	test_mapping_filtering(&s);
	test_pooling(&s);
	test_ports(&s);
	test_timeout(&s);
	test_refresh(&s);
	test_hairpin(&s);
	test_alg(&s);
	test_icmp(&s);
	test_fragments(&s);
	if (cfg->tcp) {
		test_tcp(&s);
		cs_test_tcp_more(&s);
	}
	cs_test_cgn(&s);
	cs_test_7857(&s);
	/* last: a "fragmentation needed" teaches the LAN host a smaller path
	 * MTU toward the server */
	cs_test_df(&s);
out:
	for (int a = 0; a < 2; a++)
		for (int p = 0; p < 2; p++)
			cs_close(&s, s.srv[a][p]);
	r->duration_ms = io->now_ms(io->ctx) - t0;
	return ret;
}

json_t *compl_report_json(const struct compl_report *r, const struct compl_config *cfg)
{
	json_t *reqs = json_array(), *o;
	int count[5] = {0};

	for (int i = 0; i < r->n_rows; i++) {
		const struct compl_row *w = &r->rows[i];
		count[w->verdict]++;
		json_array_append_new(reqs,
				      json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "requirement", w->req,
						"key", w->key, "title", w->title, "verdict",
						compl_verdict_name(w->verdict), "measured",
						w->measured, "evidence", w->evidence));
	}
	o = json_pack("{s:s,s:i,s:I,s:{s:s,s:s,s:s,s:o,s:o,s:o},s:o,s:{s:i,s:i,s:i,s:i,s:i}}",
		      "compliance", "natlab", "version", 1, "duration_ms",
		      (json_int_t)r->duration_ms, "behaviour", "udp_mapping", r->mapping,
		      "udp_filtering", r->filtering, "tcp_mapping", r->tcp_mapping, "hairpinning",
		      r->hairpin < 0 ? json_null() : json_boolean(r->hairpin),
		      "udp_timeout_alive_ms",
		      r->timeout_alive_ms < 0 ? json_null() : json_integer(r->timeout_alive_ms),
		      "udp_timeout_expired_ms",
		      r->timeout_expired_ms < 0 ? json_null() : json_integer(r->timeout_expired_ms),
		      "requirements", reqs, "summary", "pass", count[COMPL_PASS], "warn",
		      count[COMPL_WARN], "fail", count[COMPL_FAIL], "inconclusive",
		      count[COMPL_INCONCLUSIVE], "not_tested", count[COMPL_NOT_TESTED]);
	if (o) {
		json_t *b = json_object_get(o, "behaviour");
		json_object_set_new(b, "tcp_timeout_alive_ms",
				    r->tcp_timeout_alive_ms < 0
					? json_null()
					: json_integer(r->tcp_timeout_alive_ms));
		json_object_set_new(b, "tcp_timeout_expired_ms",
				    r->tcp_timeout_expired_ms < 0
					? json_null()
					: json_integer(r->tcp_timeout_expired_ms));
		/* null: not measured; 0: no limit up to the bound */
		json_object_set_new(b, "cgn_port_quota",
				    r->quota < 0 ? json_null() : json_integer(r->quota));
	}
	if (o && cfg) {
		json_object_set_new(o, "timeout_search_bound_s", json_integer(cfg->timeout_max_s));
		json_object_set_new(o, "tcp_timeout_search_bound_s",
				    json_integer(cfg->tcp_timeout_max_s));
		if (cfg->cgn)
			json_object_set_new(o, "quota_bound", json_integer(cfg->quota_max));
	}
	return o;
}

/* compliance_cgn.c - the RFC 6888 rows (a CGN: per-subscriber port quota,
 * what happens at the quota, fairness between subscribers, paired pooling)
 * and the RFC 7857 updates measurable from outside the device. See
 * compliance.h and docs/dut.md. */
#include "agents/compliance/compliance_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define QUOTA_BASE_PORT 20000 /* subscribers' local ports: 20000, 20001, ... */
#define QUOTA_KEEP	4     /* first mappings kept open, checked after the quota */
#define QUOTA_MISSES	3     /* consecutive failures that end the count */
#define FAIR_N		20    /* new mappings the second subscriber must get */

/* One new mapping of subscriber @side from local port @port toward server
 * [0][0]: 1 when its datagram arrived (socket in *@sock unless closed,
 * mapping in @m), 0 when not (*@icmp when an ICMP error came back), -errno
 * when the socket could not be opened. */
static int sub_map(struct suite *s, enum compl_side side, uint16_t port, bool keep, int *sock,
		   struct compl_addr *m, bool *icmp)
{
	const struct compl_io *io = s->io;
	struct compl_addr local;
	int l = io->udp_open(io->ctx, side, 0, port, &local), ok;

	*sock = -1;
	if (l < 0)
		return l;
	ok = cs_pass_one(s, l, &s->srv_addr[0][0], s->srv[0][0], 64, s->cfg->wait_ms, m, NULL);
	if (!ok && icmp) /* an ICMP error comes back at once if at all */
		cs_await(s, l, 0xffffffffu, 100, NULL, NULL, icmp);
	if (ok && keep)
		*sock = l;
	else
		cs_close(s, l);
	return ok;
}

static const char *const sub_name[] = {"", "", "subscriber 1", "subscriber 2"};

/* RFC 6888 REQ-4: "A CGN MUST support limiting the number of external
 * ports (or, equivalently, 'identifiers' for ICMP) that are assigned per
 * subscriber." Subscriber 1 (an address no earlier test used) makes new
 * mappings, one per local port, until QUOTA_MISSES in a row fail or
 * quota_max succeed. Then, at the quota, REQ-11: "When a CGN is unable to
 * create a dynamic mapping due to resource constraints or administrative
 * restrictions (i.e., quotas): a. it MUST drop the original packet; b. it
 * SHOULD send an ICMP Destination Unreachable message with code 1 (Host
 * Unreachable) to the sender; [...] d. it MUST NOT delete existing
 * mappings in order to 'make room' for the new one." And fairness, the
 * point of a per-subscriber quota: subscriber 2 still gets mappings while
 * subscriber 1 is at its quota. */
static void test_quota(struct suite *s)
{
	struct compl_row *wq, *wx, *wf;
	int keep[QUOTA_KEEP], n_keep = 0, got = 0, tried = 0, misses = 0, alive = 0, fair = 0;
	struct compl_addr km[QUOTA_KEEP], m, first = {0, 0}, last = {0, 0};
	bool icmp = false;
	int r = 0;

	wq = cs_row(s, "RFC 6888 REQ-4", "per-subscriber port quota (CGN)", "cgn_port_quota",
		    COMPL_NOT_TESTED);
	wx = cs_row(s, "RFC 6888 REQ-11", "at the quota: drop, ICMP host unreachable, keep old",
		    "cgn_quota_exhausted", COMPL_NOT_TESTED);
	wf = cs_row(s, "RFC 6888 REQ-4 fairness",
		    "one subscriber at its quota leaves others theirs (CGN)", "cgn_fairness",
		    COMPL_NOT_TESTED);
	s->r->quota = -1;
	if (!s->cfg->cgn) {
		const char *why = "not a CGN run (natlab dut --cgn adds two subscriber addresses)";
		cs_fmt(wq->evidence, sizeof(wq->evidence), "%s", why);
		cs_fmt(wx->evidence, sizeof(wx->evidence), "%s", why);
		cs_fmt(wf->evidence, sizeof(wf->evidence), "%s", why);
		cs_fmt(wq->measured, sizeof(wq->measured), "not measured");
		cs_fmt(wx->measured, sizeof(wx->measured), "not measured");
		cs_fmt(wf->measured, sizeof(wf->measured), "not measured");
		return;
	}
	for (int i = 0; i < s->cfg->quota_max && misses < QUOTA_MISSES; i++) {
		uint16_t port = (uint16_t)(QUOTA_BASE_PORT + i);
		bool k = n_keep < QUOTA_KEEP, ic = false;
		int sock;

		r = sub_map(s, COMPL_SUB1, port, k, &sock, &m, &ic);
		if (r < 0 && r != -EADDRINUSE)
			break;
		if (r < 0)
			continue; /* that local port is taken on this host */
		tried++;
		if (r == 1) {
			got++;
			misses = 0;
			if (!first.port)
				first = m;
			last = m;
			if (k) {
				keep[n_keep] = sock;
				km[n_keep++] = m;
			}
		} else {
			misses++;
			icmp = icmp || ic;
		}
	}
	if (tried == 0) {
		cs_fmt(wq->measured, sizeof(wq->measured), "no socket");
		cs_fmt(wq->evidence, sizeof(wq->evidence), "subscriber 1's sockets: %s",
		       strerror(r < 0 ? -r : EINVAL));
		goto out;
	}
	if (misses < QUOTA_MISSES) {
		/* no limit up to the bound: the limit may exist but be off,
		 * or be higher */
		s->r->quota = 0;
		wq->verdict = got ? COMPL_INCONCLUSIVE : COMPL_FAIL;
		cs_fmt(wq->measured, sizeof(wq->measured), "no limit up to %d mappings", got);
		cs_fmt(wq->evidence, sizeof(wq->evidence),
		       "%s made %d mappings from local ports %d.. toward %s, all delivered "
		       "(first %s, last %s); a limit, if configured, is above the bound",
		       sub_name[COMPL_SUB1], got, QUOTA_BASE_PORT, A(&s->srv_addr[0][0]), A(&first),
		       A(&last));
		cs_fmt(wx->measured, sizeof(wx->measured), "not measured");
		cs_fmt(wx->evidence, sizeof(wx->evidence), "no quota was reached");
		cs_fmt(wf->measured, sizeof(wf->measured), "not measured");
		cs_fmt(wf->evidence, sizeof(wf->evidence), "no quota was reached");
		goto out;
	}
	s->r->quota = got;
	wq->verdict = got > 0 ? COMPL_PASS : COMPL_FAIL;
	cs_fmt(wq->measured, sizeof(wq->measured), "%d mappings per subscriber", got);
	cs_fmt(wq->evidence, sizeof(wq->evidence),
	       "%s: %d new mappings toward %s delivered (first %s, last %s), then %d in a row "
	       "dropped",
	       sub_name[COMPL_SUB1], got, A(&s->srv_addr[0][0]), A(&first), A(&last), misses);
	/* the first mappings must have survived the refusals */
	for (int i = 0; i < n_keep; i++)
		alive += cs_reaches(s, 0, 0, &km[i], keep[i], s->cfg->wait_ms, NULL);
	wx->verdict = alive < n_keep ? COMPL_FAIL : icmp ? COMPL_PASS : COMPL_WARN;
	cs_fmt(wx->measured, sizeof(wx->measured), "dropped; ICMP %s; old mappings %s",
	       icmp ? "host unreachable" : "none", alive == n_keep ? "kept" : "deleted");
	cs_fmt(wx->evidence, sizeof(wx->evidence),
	       "the refused datagrams did not arrive; an ICMP error %s the sender; %d of the %d "
	       "first mappings still deliver inbound",
	       icmp ? "reached" : "did not reach", alive, n_keep);
	/* subscriber 2 while subscriber 1 is at its quota */
	for (int i = 0; i < FAIR_N; i++) {
		int sock;
		if (sub_map(s, COMPL_SUB2, (uint16_t)(QUOTA_BASE_PORT + i), false, &sock, &m,
			    NULL) == 1)
			fair++;
	}
	wf->verdict = fair == FAIR_N ? COMPL_PASS : COMPL_FAIL;
	cs_fmt(wf->measured, sizeof(wf->measured), "%s: %d of %d", sub_name[COMPL_SUB2], fair,
	       FAIR_N);
	cs_fmt(wf->evidence, sizeof(wf->evidence),
	       "with %s at its quota (%d), %s made %d new mappings toward %s: %d delivered",
	       sub_name[COMPL_SUB1], got, sub_name[COMPL_SUB2], FAIR_N, A(&s->srv_addr[0][0]),
	       fair);
out:
	for (int i = 0; i < n_keep; i++)
		cs_close(s, keep[i]);
}

void cs_test_cgn(struct suite *s)
{
	struct compl_row *w;

	test_quota(s);
	/* RFC 6888 REQ-2: "A CGN MUST have a default 'IP address pooling'
	 * behavior of 'Paired' (as defined in Section 4.1 of [RFC4787])." */
	w = cs_row(s, "RFC 6888 REQ-2", "paired pooling (CGN)", "cgn_pooling", COMPL_NOT_TESTED);
	if (!s->cfg->cgn) {
		cs_fmt(w->measured, sizeof(w->measured), "not measured");
		cs_fmt(w->evidence, sizeof(w->evidence), "not a CGN run");
		return;
	}
	w->verdict = s->paired < 0 ? COMPL_INCONCLUSIVE : s->paired ? COMPL_PASS : COMPL_FAIL;
	cs_fmt(w->measured, sizeof(w->measured), "%s",
	       s->paired < 0 ? "unknown"
	       : s->paired   ? "paired"
			     : "arbitrary");
	cs_fmt(w->evidence, sizeof(w->evidence), "%s", s->pool_ev);
}

void cs_test_7857(struct suite *s)
{
	struct compl_row *w;
	const char *p = s->port_pattern;

	/* RFC 7857 §9 (Port Randomization): "A NAT SHOULD follow the
	 * recommendations specified in Section 4 of [RFC6056]": a port that
	 * has to change is chosen so that it cannot be guessed; keeping the
	 * host's port is allowed, handing out the next port is not. */
	w = cs_row(s, "RFC 7857 §9", "external ports not predictable", "port_randomization",
		   !p				  ? COMPL_INCONCLUSIVE
		   : strcmp(p, "sequential") == 0 ? COMPL_WARN
						  : COMPL_PASS);
	cs_fmt(w->measured, sizeof(w->measured), "ports %s", p ? p : "unknown");
	cs_fmt(w->evidence, sizeof(w->evidence), "%s%s", s->port_ev,
	       p && strcmp(p, "sequential") == 0 ? "; each new mapping takes the next port" : "");
	/* RFC 7857 §4 (Address Pooling Paired): the paired pooling of RFC 4787
	 * REQ-2 holds across transport protocols: the host's UDP and TCP
	 * mappings use one external address. */
	w = cs_row(s, "RFC 7857 §4", "paired pooling across UDP and TCP", "pooling_protocols",
		   COMPL_INCONCLUSIVE);
	if (!s->tcp_mapped.port || !s->udp_mapped.port) {
		cs_fmt(w->measured, sizeof(w->measured), "not measured");
		cs_fmt(w->evidence, sizeof(w->evidence), "needs a UDP and a TCP mapping");
		w->verdict = s->cfg->tcp ? COMPL_INCONCLUSIVE : COMPL_NOT_TESTED;
	} else {
		bool same = s->tcp_mapped.ip == s->udp_mapped.ip;
		struct compl_addr u = {s->udp_mapped.ip, 0}, t = {s->tcp_mapped.ip, 0};
		w->verdict = same ? COMPL_PASS : COMPL_WARN;
		cs_fmt(w->measured, sizeof(w->measured), "%s",
		       same ? "one external address" : "different addresses");
		cs_fmt(w->evidence, sizeof(w->evidence),
		       "UDP %s -> %s, TCP %s -> %s (addresses %s, %s)", A(&s->udp_local),
		       A(&s->udp_mapped), A(&s->tcp_local), A(&s->tcp_mapped), A(&u), A(&t));
	}
	/* What cannot be decided from outside in a test run. */
	w = cs_row(s, "RFC 7857 §2.1", "TCP transitory idle timeout >= 4 min", "tcp_transitory",
		   COMPL_NOT_TESTED);
	cs_fmt(w->measured, sizeof(w->measured), "not measured");
	cs_fmt(w->evidence, sizeof(w->evidence),
	       "needs a half-open or closing connection kept idle past 4 minutes per point of a "
	       "search; not run");
	w = cs_row(s, "RFC 7857 §5-§6", "EIM and EIF protocol-dependent", "protocol_independence",
		   COMPL_NOT_TESTED);
	cs_fmt(w->measured, sizeof(w->measured), "not measured");
	cs_fmt(w->evidence, sizeof(w->evidence),
	       "a shared UDP/TCP mapping looks the same from outside as two mappings that kept "
	       "the same port; not decidable here");
}

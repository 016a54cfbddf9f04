/* compliance_tcp.c - the RFC 5382 rows that need TCP beyond connect and
 * accept: simultaneous open (REQ-2), the established-connection idle
 * timeout (REQ-5), and RFC 7857's TCP RST translation. See compliance.h
 * and docs/dut.md. */
#include "agents/compliance/compliance_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define TCP_SCAN_POINTS	 10	 /* connections timed in parallel per pass of the search */
#define SIMOPEN_PORT_OFF 3	 /* the simultaneous-open peer: server port + 3 (3481) */
#define LISTEN_PORT_OFF	 2	 /* the TCP listener: server port + 2 (3480) */
#define TCP_TIMEOUT_MIN	 7440000 /* 2 hours 4 minutes, in ms */

static bool have_tcp_io(const struct compl_io *io)
{
	return io->tcp_start && io->tcp_wait && io->tcp_send && io->tcp_recv;
}

/* One connection from the LAN host (local port @lport, 0 = any) to the
 * listener @lis at @to, accepted: 0 with both ends' ids and addresses. */
static int tcp_pair(struct suite *s, int lis, const struct compl_addr *to, uint16_t lport, int *c,
		    int *a, struct compl_addr *local, struct compl_addr *mapped)
{
	const struct compl_io *io = s->io;

	*a = -1;
	*c = io->tcp_connect(io->ctx, COMPL_LAN, lport, to, 3000, local);
	if (*c < 0)
		return *c;
	*a = io->tcp_accept(io->ctx, lis, 3000, mapped);
	if (*a < 0) {
		int r = *a;
		cs_close(s, *c);
		*c = -1;
		return r;
	}
	return 0;
}

/* @msg from @from arrives whole at @to within the wait? */
static bool tcp_carries(struct suite *s, int from, int to, const char *msg)
{
	const struct compl_io *io = s->io;
	char buf[64];
	size_t want = strlen(msg), got = 0;
	uint64_t end;

	if (io->tcp_send(io->ctx, from, msg, want) < 0)
		return false;
	end = io->now_ms(io->ctx) + (uint64_t)s->cfg->wait_ms;
	while (got < want) {
		uint64_t now = io->now_ms(io->ctx);
		int n;
		if (now >= end)
			return false;
		n = io->tcp_recv(io->ctx, to, (int)(end - now), buf + got, want - got);
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return memcmp(buf, msg, want) == 0;
}

/* RFC 5382 REQ-2: "A NAT MUST support all valid sequences of TCP packets
 * (defined in [RFC0793]) for connections initiated both internally as
 * well as externally when the connection is permitted by the NAT." The
 * sequence NATs most often break is the simultaneous open: both ends send
 * a SYN, the SYNs cross, each answers the other's with a SYN-ACK. Here the
 * LAN host's SYN toward the peer leaves through the device (it opens the
 * way) and is lost beyond it (the WAN side drops it, as if it crossed the
 * peer's SYN in flight); then the peer sends its SYN to the mapping
 * learnt beforehand from a connection of the same local port. */
static void test_simopen(struct suite *s, int lis, const struct compl_addr *to_lis)
{
	const struct compl_io *io = s->io;
	struct compl_row *w = cs_row(s, "RFC 5382 REQ-2", "TCP simultaneous open (valid sequences)",
				     "tcp_simultaneous_open", COMPL_NOT_TESTED);
	struct compl_addr local, mapped, peer = s->srv_addr[1][0], l2, wl;
	int c0 = -1, a0 = -1, c1 = -1, wp = -1, r, rl = -1, rw = -1;
	bool eim = strcmp(s->r->tcp_mapping, "endpoint-independent") == 0;

	peer.port = (uint16_t)(s->srv_addr[0][0].port + SIMOPEN_PORT_OFF);
	if (!have_tcp_io(io) || !io->wan_drop_syn) {
		cs_fmt(w->measured, sizeof(w->measured), "not measured");
		cs_fmt(w->evidence, sizeof(w->evidence),
		       "this network cannot hold back a SYN on the server side");
		return;
	}
	if ((r = tcp_pair(s, lis, to_lis, 0, &c0, &a0, &local, &mapped)) < 0) {
		w->verdict = COMPL_INCONCLUSIVE;
		cs_fmt(w->measured, sizeof(w->measured), "no TCP connection");
		cs_fmt(w->evidence, sizeof(w->evidence), "learning the mapping: connect to %s: %s",
		       A(to_lis), strerror(-r));
		goto out;
	}
	if ((r = io->wan_drop_syn(io->ctx, 1, peer.port)) < 0) {
		cs_fmt(w->measured, sizeof(w->measured), "not measured");
		cs_fmt(w->evidence, sizeof(w->evidence), "cannot drop SYNs to %s: %s", A(&peer),
		       strerror(-r));
		goto out;
	}
	/* the LAN host's SYN, from the local port whose mapping is known */
	c1 = io->tcp_start(io->ctx, COMPL_LAN, 0, local.port, &peer, &l2);
	if (c1 < 0) {
		cs_fmt(w->measured, sizeof(w->measured), "not measured");
		cs_fmt(w->evidence, sizeof(w->evidence), "second socket on %s: %s", A(&local),
		       strerror(-c1));
		goto out;
	}
	io->sleep_ms(io->ctx, 200); /* through the device, dropped beyond it */
	/* the peer's SYN, crossing it, toward the mapping */
	wp = io->tcp_start(io->ctx, COMPL_WAN, 1, peer.port, &mapped, &wl);
	if (wp >= 0) {
		rw = io->tcp_wait(io->ctx, wp, 4000);
		rl = io->tcp_wait(io->ctx, c1, 1000);
	}
	if (wp >= 0 && rw == 0 && rl == 0 && tcp_carries(s, c1, wp, "simopen-out") &&
	    tcp_carries(s, wp, c1, "simopen-in")) {
		w->verdict = COMPL_PASS;
		cs_fmt(w->measured, sizeof(w->measured), "established; data both ways");
	} else {
		/* Under a mapping that is not endpoint-independent the mapping
		 * toward the peer may differ from the one learnt, and the
		 * peer's SYN then went to the wrong port. */
		w->verdict = eim ? COMPL_FAIL : COMPL_INCONCLUSIVE;
		cs_fmt(w->measured, sizeof(w->measured), "%s",
		       wp < 0	 ? "peer socket failed"
		       : rw == 0 ? "no data through the connection"
				 : "not established");
	}
	cs_fmt(w->evidence, sizeof(w->evidence),
	       "mapping %s of %s learnt from a connection to %s; SYN %s -> %s sent (and dropped "
	       "beyond the device), then SYN %s -> %s: peer %s, host %s%s",
	       A(&mapped), A(&local), A(to_lis), A(&local), A(&peer), A(&peer), A(&mapped),
	       rw == 0	? "established"
	       : rw < 0 ? strerror(-rw)
			: "-",
	       rl == 0	? "established"
	       : rl < 0 ? strerror(-rl)
			: "-",
	       w->verdict == COMPL_INCONCLUSIVE
		   ? "; the TCP mapping is not endpoint-independent, so the peer may have aimed "
		     "at the wrong mapping"
		   : "");
out:
	cs_close(s, wp);
	cs_close(s, c1);
	cs_close(s, a0);
	cs_close(s, c0);
}

/* One pass of the established-timeout search: TCP_SCAN_POINTS connections
 * opened at once, each left idle for its own time in (lo, hi], then sent a
 * few bytes from the server side: a device that dropped the connection's
 * state drops them (or answers with a RST), so they never reach the host. */
static void tcp_scan(struct suite *s, int lis, const struct compl_addr *to, int lo_ms, int hi_ms,
		     int *alive, int *expired, char *ev, size_t evlen)
{
	const struct compl_io *io = s->io;
	int c[TCP_SCAN_POINTS], a[TCP_SCAN_POINTS];
	uint64_t t0[TCP_SCAN_POINTS];
	size_t off = strlen(ev);

	for (int k = 0; k < TCP_SCAN_POINTS; k++) {
		struct compl_addr l, m;
		if (tcp_pair(s, lis, to, 0, &c[k], &a[k], &l, &m) < 0)
			c[k] = a[k] = -1;
		t0[k] = io->now_ms(io->ctx);
	}
	for (int k = 0; k < TCP_SCAN_POINTS; k++) {
		uint64_t due =
		    t0[k] + (uint64_t)(lo_ms + (hi_ms - lo_ms) * (k + 1) / TCP_SCAN_POINTS);
		uint64_t now = io->now_ms(io->ctx);
		int idle;
		bool ok;

		if (c[k] < 0)
			continue;
		if (due > now)
			io->sleep_ms(io->ctx, (int)(due - now));
		idle = (int)(io->now_ms(io->ctx) - t0[k]);
		ok = tcp_carries(s, a[k], c[k], "idle-probe");
		if (ok && idle > *alive)
			*alive = idle;
		if (!ok && (*expired < 0 || idle < *expired))
			*expired = idle;
		if (off < evlen)
			off += (size_t)snprintf(ev + off, evlen - off, " %d.%ds:%s", idle / 1000,
						idle % 1000 / 100, ok ? "in" : "gone");
		cs_close(s, a[k]);
		cs_close(s, c[k]);
	}
}

/* RFC 5382 REQ-5: "If a NAT cannot determine whether the endpoints of a
 * TCP connection are active, it MAY abandon the session if it has been
 * idle for some time. In such cases, the value of the 'established
 * connection idle-timeout' MUST NOT be less than 2 hours 4 minutes." Two
 * hours cannot be waited for in a test run: the search goes up to a bound
 * and reports a timeout found below it (a failure) or a connection still
 * alive at it (inconclusive unless the bound reaches 2 h 4 min). */
static void test_tcp_timeout(struct suite *s, int lis, const struct compl_addr *to)
{
	int bound = s->cfg->tcp_timeout_max_s * 1000, alive = -1, expired = -1;
	struct compl_row *w =
	    cs_row(s, "RFC 5382 REQ-5", "TCP established idle timeout >= 2 h 4 min", "tcp_timeout",
		   COMPL_NOT_TESTED);
	char ev[COMPL_EVIDENCE_MAX] = "idle time:result";

	if (!have_tcp_io(s->io) || bound <= 0) {
		cs_fmt(w->measured, sizeof(w->measured), "not measured");
		cs_fmt(w->evidence, sizeof(w->evidence), "%s",
		       bound <= 0 ? "the search was switched off (bound 0)"
				  : "this network cannot send on a TCP connection");
		return;
	}
	tcp_scan(s, lis, to, 0, bound, &alive, &expired, ev, sizeof(ev));
	if (expired > 0 && alive >= 0 && expired > alive &&
	    expired - alive > s->cfg->timeout_resolution_ms)
		tcp_scan(s, lis, to, alive, expired, &alive, &expired, ev, sizeof(ev));
	s->r->tcp_timeout_alive_ms = alive;
	s->r->tcp_timeout_expired_ms = expired;
	if (expired >= 0 && expired < TCP_TIMEOUT_MIN) {
		w->verdict = COMPL_FAIL;
		cs_fmt(w->measured, sizeof(w->measured), "%.1f..%.1f s",
		       alive < 0 ? 0 : alive / 1000.0, expired / 1000.0);
	} else if (alive >= TCP_TIMEOUT_MIN) {
		w->verdict = COMPL_PASS;
		cs_fmt(w->measured, sizeof(w->measured), "> %.1f s", alive / 1000.0);
	} else if (alive < 0) {
		w->verdict = COMPL_INCONCLUSIVE;
		cs_fmt(w->measured, sizeof(w->measured), "no connection");
	} else {
		w->verdict = COMPL_INCONCLUSIVE;
		cs_fmt(w->measured, sizeof(w->measured), "> %.1f s (the search bound)",
		       alive / 1000.0);
	}
	cs_fmt(w->evidence, sizeof(w->evidence), "inbound bytes after an idle time:%s%s", ev + 16,
	       w->verdict == COMPL_INCONCLUSIVE && alive >= 0
		   ? "; alive at the bound, which is under 2 h 4 min"
		   : "");
}

/* RFC 7857 §2.2: "when the NAT receives a TCP RST matching an existing
 * mapping, it MUST translate the packet according to the NAT mapping
 * entry." The server side aborts an established connection; the host must
 * see the reset. (The SHOULD that follows, keeping the state 4 minutes
 * after the RST, is not measured.) */
static void test_tcp_rst(struct suite *s, int lis, const struct compl_addr *to)
{
	const struct compl_io *io = s->io;
	struct compl_row *w = cs_row(s, "RFC 7857 §2.2", "TCP RST translated to the host",
				     "tcp_rst", COMPL_NOT_TESTED);
	struct compl_addr local, mapped;
	int c = -1, a = -1, r;
	char buf[16];

	if (!have_tcp_io(io) || !io->tcp_abort) {
		cs_fmt(w->measured, sizeof(w->measured), "not measured");
		cs_fmt(w->evidence, sizeof(w->evidence), "this network cannot abort a connection");
		return;
	}
	if ((r = tcp_pair(s, lis, to, 0, &c, &a, &local, &mapped)) < 0) {
		w->verdict = COMPL_INCONCLUSIVE;
		cs_fmt(w->measured, sizeof(w->measured), "no TCP connection");
		cs_fmt(w->evidence, sizeof(w->evidence), "connect to %s: %s", A(to), strerror(-r));
		return;
	}
	io->tcp_abort(io->ctx, a);
	r = io->tcp_recv(io->ctx, c, s->cfg->wait_ms * 2, buf, sizeof(buf));
	w->verdict = r == -ECONNRESET ? COMPL_PASS : COMPL_FAIL;
	cs_fmt(w->measured, sizeof(w->measured), "%s",
	       r == -ECONNRESET ? "reset seen by the host"
	       : r == 0		? "end of stream instead of a reset"
				: "no reset reached the host");
	cs_fmt(w->evidence, sizeof(w->evidence),
	       "connection %s (mapped %s) -> %s aborted by the server (RST): host read %s",
	       A(&local), A(&mapped), A(to), r >= 0 ? "end of stream" : strerror(-r));
	cs_close(s, c);
}

void cs_test_tcp_more(struct suite *s)
{
	const struct compl_io *io = s->io;
	struct compl_addr to;
	int lis =
	    io->tcp_listen(io->ctx, 0, (uint16_t)(s->srv_addr[0][0].port + LISTEN_PORT_OFF), &to);

	s->r->tcp_timeout_alive_ms = s->r->tcp_timeout_expired_ms = -1;
	if (lis < 0) {
		struct compl_row *w = cs_row(s, "RFC 5382", "TCP listener on the server side",
					     "tcp_listen", COMPL_NOT_TESTED);
		cs_fmt(w->evidence, sizeof(w->evidence), "cannot listen: %s", strerror(-lis));
		return;
	}
	test_simopen(s, lis, &to);
	test_tcp_rst(s, lis, &to);
	test_tcp_timeout(s, lis, &to);
	cs_close(s, lis);
}

/* compliance_ip.c - the IP-layer rows of RFC 4787: DF handling (REQ-13)
 * and out-of-order fragments (REQ-14's second half). See compliance.h and
 * docs/dut.md. */
#include "agents/compliance/compliance_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define FRAG_LEN 1200 /* fragment payload: a multiple of 8, under any usual MTU */
#define LAN_MTU	 1500 /* the first DF size tried: a full Ethernet frame */

/* Send a token of BIG_DATAGRAM bytes from @from_sock to @to as fragments,
 * last first, and wait for it on @at_sock: 1 when it arrived (length in
 * *@len), 0 when not, a negative errno when it could not be sent. */
int cs_frags_reversed(struct suite *s, int from_sock, const struct compl_addr *to, int at_sock,
		      int *len)
{
	static uint8_t buf[PAYLOAD_MAX];
	uint32_t tok;
	int r;

	cs_token_make(s, buf, BIG_DATAGRAM, &tok);
	r = s->io->udp_send_frags_reversed(s->io->ctx, from_sock, to, buf, BIG_DATAGRAM, FRAG_LEN);
	if (r < 0)
		return r;
	return cs_await(s, at_sock, tok, s->cfg->wait_ms, NULL, len, NULL);
}

/* RFC 4787 REQ-13: "If the packet received on an internal IP address has
 * DF=1, the NAT MUST send back an ICMP message 'Fragmentation needed and
 * DF set' to the host, as described in [RFC0792]" - when the packet does
 * not fit the outside. The largest datagram the LAN link takes is sent
 * with DF; it is only a test of the device when its outside MTU is
 * smaller (otherwise the datagram simply arrives). */
void cs_test_df(struct suite *s)
{
	const struct compl_io *io = s->io;
	struct compl_row *w =
	    cs_row(s, "RFC 4787 REQ-13", "DF=1 too big: ICMP fragmentation needed", "df",
		   COMPL_NOT_TESTED);
	static uint8_t buf[PAYLOAD_MAX];
	struct compl_addr local;
	int l = -1, mtu = LAN_MTU, r = -EMSGSIZE, size = 0, got = 0;
	uint32_t tok = 0;

	if (!io->udp_send_df) {
		cs_fmt(w->measured, sizeof(w->measured), "not measured");
		cs_fmt(w->evidence, sizeof(w->evidence), "this network cannot set DF");
		return;
	}
	l = cs_lan_open(s, 0, &local);
	if (l < 0) {
		cs_fmt(w->measured, sizeof(w->measured), "no socket");
		return;
	}
	/* the LAN link's own MTU may be smaller: then the kernel says so
	 * at once (a local -EMSGSIZE with that MTU) and the next try fits */
	for (int i = 0; i < 3 && r == -EMSGSIZE; i++) {
		size = mtu - 28;
		if (size <= 0 || size > PAYLOAD_MAX)
			break;
		cs_token_make(s, buf, (size_t)size, &tok);
		r = io->udp_send_df(io->ctx, l, &s->srv_addr[0][0], buf, (size_t)size,
				    s->cfg->wait_ms, &mtu);
	}
	if (r == 0 || r == 1)
		got =
		    cs_await(s, s->srv[0][0], tok, r == 1 ? 50 : s->cfg->wait_ms, NULL, NULL, NULL);
	if (r == 1 && !got) {
		/* an ICMP message with the next hop's MTU, as RFC 1191 wants */
		w->verdict = COMPL_PASS;
		cs_fmt(w->measured, sizeof(w->measured), "ICMP fragmentation needed, MTU %d", mtu);
	} else if (got) {
		cs_fmt(w->measured, sizeof(w->measured), "the datagram fit (not exercised)");
	} else if (r == 0) {
		w->verdict = COMPL_FAIL;
		cs_fmt(w->measured, sizeof(w->measured), "dropped without ICMP");
	} else {
		cs_fmt(w->measured, sizeof(w->measured), "not measured");
	}
	cs_fmt(w->evidence, sizeof(w->evidence),
	       "%d-byte UDP datagram (IP %d bytes) with DF from %s to %s: %s%s", size, size + 28,
	       A(&local), A(&s->srv_addr[0][0]),
	       got	? "arrived whole"
	       : r == 1 ? "ICMP type 3 code 4 came back"
	       : r == 0 ? "lost, no ICMP came back"
			: strerror(r < 0 ? -r : 0),
	       got ? "; the device's outside MTU is not below the LAN's (or it fragmented a DF "
		     "packet), so DF handling was not exercised"
		   : "");
	cs_close(s, l);
}

/* nat_sip_alg.c - the sip_alg knob on a real kernel (nat_topo.h's lab):
 * an INVITE sent from c1 (10.0.0.2:5060) through a port-restricted-cone
 * NAT to a "proxy" socket in inet (198.51.100.1:5060).
 *   - knob off: the proxy gets the message byte for byte (private Via,
 *     Contact and SDP);
 *   - knob on: the kernel's SIP helper (nf_nat_sip) rewrote Via, Contact
 *     and the SDP's o=/c= address to the public address 203.0.113.1,
 *     kept the ports a port-preserving NAT keeps (5060, and the media port
 *     4000 it reserved), fixed Content-Length, and no private address is
 *     left in the message.
 * No SIP program needed (scenarios/sip.lua shows the ALG in real calls). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nat_topo.h"

static bool g_alg;

static void tweak_alg(struct emu_nat_config *c)
{
	c->sip_alg = g_alg;
}

/* An INVITE whose every address is c1's: what a UA behind a NAT sends. */
static int invite(char *buf, size_t len)
{
	static const char sdp[] = "v=0\r\n"
				  "o=- 1 1 IN IP4 10.0.0.2\r\n"
				  "s=-\r\n"
				  "c=IN IP4 10.0.0.2\r\n"
				  "t=0 0\r\n"
				  "m=audio 4000 RTP/AVP 0\r\n";

	return snprintf(buf, len,
			"INVITE sip:bob@" SRV1 " SIP/2.0\r\n"
			"Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKnatlab1;rport\r\n"
			"Max-Forwards: 70\r\n"
			"From: <sip:alice@" SRV1 ">;tag=a1\r\n"
			"To: <sip:bob@" SRV1 ">\r\n"
			"Call-ID: 1@10.0.0.2\r\n"
			"CSeq: 1 INVITE\r\n"
			"Contact: <sip:alice@10.0.0.2:5060>\r\n"
			"Content-Type: application/sdp\r\n"
			"Content-Length: %zu\r\n"
			"\r\n%s",
			sizeof(sdp) - 1, sdp);
}

static int alg_body(void)
{
	struct topo t;
	struct sockaddr_in from;
	char out[2048], got[2048], want_len[64];
	const char *body;
	int rc = 0, c = -1, s = -1;

	if (topo_build(&t) < 0 || topo_nat(&t, "port-restricted-cone", tweak_alg) < 0) {
		topo_free(&t);
		return 1;
	}
	c = udp_open(t.c1, "10.0.0.2", 5060);
	s = udp_open(t.inet, SRV1, 5060);
	CHECK(c >= 0 && s >= 0, "sockets");
	CHECK(invite(out, sizeof(out)) < (int)sizeof(out), "INVITE too long");
	CHECK(udp_send(c, SRV1, 5060, out) == 0, "send: %s", strerror(errno));
	CHECK(udp_recv(s, 3000, got, sizeof(got), &from), "the INVITE did not cross the NAT");
	CHECK(from.sin_addr.s_addr == inet_addr(PUB1) && ntohs(from.sin_port) == 5060,
	      "the INVITE came from %s:%u, not the mapping " PUB1 ":5060", inet_ntoa(from.sin_addr),
	      ntohs(from.sin_port));
	if (!g_alg) {
		CHECK(strcmp(got, out) == 0, "without the ALG the message changed:\n%s", got);
		goto out;
	}
	CHECK(strstr(got, "Via: SIP/2.0/UDP " PUB1 ":5060;"), "Via not rewritten:\n%s", got);
	CHECK(strstr(got, "Contact: <sip:alice@" PUB1 ":5060>"), "Contact not rewritten:\n%s", got);
	CHECK(strstr(got, "o=- 1 1 IN IP4 " PUB1 "\r\n"), "SDP o= not rewritten:\n%s", got);
	CHECK(strstr(got, "c=IN IP4 " PUB1 "\r\n"), "SDP c= not rewritten:\n%s", got);
	CHECK(strstr(got, "m=audio 4000 RTP/AVP 0\r\n"),
	      "the media port was not kept (port-preserving NAT, port free):\n%s", got);
	CHECK(!strstr(got, "10.0.0.2:") && !strstr(got, "IP4 10.0.0.2"),
	      "a private address is left:\n%s", got);
	/* the request line and Call-ID are the UA's business: untouched */
	CHECK(strncmp(got, "INVITE sip:bob@" SRV1 " SIP/2.0\r\n", 30) == 0, "request line:\n%s",
	      got);
	body = strstr(got, "\r\n\r\n");
	CHECK(body, "no body:\n%s", got);
	snprintf(want_len, sizeof(want_len), "Content-Length: %zu\r\n", strlen(body + 4));
	CHECK(strstr(got, want_len), "Content-Length not fixed (want %.*s):\n%s",
	      (int)strlen(want_len) - 2, want_len, got);
out:
	if (c >= 0)
		close(c);
	if (s >= 0)
		close(s);
	topo_free(&t);
	return rc;
}

static void t_alg_off(void **state)
{
	(void)state;
	g_alg = false;
	TOPO_CASE(alg_body);
}

static void t_alg_on(void **state)
{
	(void)state;
	g_alg = true;
	TOPO_CASE(alg_body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_alg_off),
	    cmocka_unit_test(t_alg_on),
	};

	if (!topo_sandbox_available())
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* portmap_client.c - the PCP / NAT-PMP client state machine on a fake
 * clock: what it sends when, what it reports, and the bound on how long a
 * silent router holds the first attempt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "agents/portmap/natpmp.h"
#include "agents/portmap/pcp.h"
#include "agents/portmap/pmclient.h"

struct rec {
	unsigned nsent;
	uint8_t last[64];
	size_t last_len;
	unsigned sent_pcp, sent_natpmp;
	uint64_t sent_at[32];
	unsigned mapped, settled, lost;
	uint16_t port;
	const char *proto;
};

static uint64_t now;

static void rec_send(void *ctx, const uint8_t *buf, size_t len)
{
	struct rec *r = ctx;
	if (r->nsent < 32)
		r->sent_at[r->nsent] = now;
	r->nsent++;
	memcpy(r->last, buf, len < 64 ? len : 64);
	r->last_len = len;
	if (buf[0] == 2)
		r->sent_pcp++;
	else
		r->sent_natpmp++;
}

static void rec_event(void *ctx, const struct pm_event *ev)
{
	struct rec *r = ctx;
	if (ev->type == PM_EV_MAPPED) {
		r->mapped++;
		r->port = ev->external_port;
		r->proto = ev->protocol;
	} else if (ev->type == PM_EV_SETTLED) {
		r->settled++;
	} else if (ev->type == PM_EV_LOST) {
		r->lost++;
	}
}

static struct pm_client *client(struct rec *r, enum pm_mode mode, uint32_t lifetime_s)
{
	struct pm_client_config cfg = {.mode = mode,
				       .client_ip = inet_addr("10.1.0.2"),
				       .internal_port = 5000,
				       .lifetime_s = lifetime_s,
				       .wait_ms = 2000,
				       .nonce = {9, 9, 9}};
	struct pm_client_io io = {r, rec_send, rec_event};
	struct pm_client *c;

	memset(r, 0, sizeof(*r));
	now = 1000000;
	assert_int_equal(pm_client_new(&cfg, &io, &c), 0);
	return c;
}

/* Runs the clock to @until, ticking when the client asks to. */
static void run_to(struct pm_client *c, uint64_t until)
{
	for (;;) {
		uint64_t next = pm_client_tick(c, now);
		if (next == PM_NEVER || next > until) {
			now = until;
			pm_client_tick(c, now);
			return;
		}
		now = next > now ? next : now + 1;
	}
}

/* The server's answer to the last PCP MAP request sent. */
static void pcp_answer(struct pm_client *c, struct rec *r, uint8_t result, uint32_t epoch,
		       uint16_t port, uint32_t lifetime_s)
{
	uint8_t b[60] = {0};

	b[0] = 2;
	b[1] = 0x81;
	b[3] = result;
	b[4] = (uint8_t)(lifetime_s >> 24), b[5] = (uint8_t)(lifetime_s >> 16);
	b[6] = (uint8_t)(lifetime_s >> 8), b[7] = (uint8_t)lifetime_s;
	b[8] = (uint8_t)(epoch >> 24), b[9] = (uint8_t)(epoch >> 16);
	b[10] = (uint8_t)(epoch >> 8), b[11] = (uint8_t)epoch;
	memcpy(b + 24, r->last + 24, 18); /* nonce, protocol, internal port */
	b[42] = (uint8_t)(port >> 8), b[43] = (uint8_t)port;
	b[54] = 0xff, b[55] = 0xff, b[56] = 203, b[58] = 114, b[59] = 3;
	pm_client_input(c, b, sizeof(b), now);
}

static void test_pcp_maps_and_renews(void **state)
{
	struct rec r;
	struct pm_client *c = client(&r, PM_MODE_PCP, 20);

	(void)state;
	pm_client_start(c, now);
	assert_int_equal(r.sent_pcp, 1);
	assert_int_equal(r.last_len, 60);
	pcp_answer(c, &r, PCP_SUCCESS, 100, 5000, 20);
	assert_int_equal(r.mapped, 1);
	assert_int_equal(r.settled, 1);
	assert_int_equal(r.port, 5000);
	assert_string_equal(r.proto, "pcp");
	/* RFC 6887 §11.2.1: renewed at half the lifetime, not before */
	run_to(c, now + 9999);
	assert_int_equal(r.nsent, 1);
	run_to(c, now + 1);
	assert_int_equal(r.nsent, 2);
	assert_int_equal(r.last[6] << 8 | r.last[7], 20); /* the same lifetime asked */
	/* the server answers with its epoch 10 s on: nothing new to report */
	pcp_answer(c, &r, PCP_SUCCESS, 110, 5000, 20);
	assert_int_equal(r.mapped, 1);
	assert_int_equal(r.lost, 0);
	/* at stop: MAP with lifetime 0 (RFC 6887 §15) */
	pm_client_stop(c, now);
	assert_int_equal(r.nsent, 3);
	assert_int_equal(r.last[4] | r.last[5] | r.last[6] | r.last[7], 0);
	pm_client_free(c);
}

/* RFC 6887 §8.5: a server epoch that went back means the server lost its
 * mappings; the client says so and maps again. */
static void test_pcp_epoch_restart(void **state)
{
	struct rec r;
	struct pm_client *c = client(&r, PM_MODE_PCP, 20);

	(void)state;
	pm_client_start(c, now);
	pcp_answer(c, &r, PCP_SUCCESS, 500, 5000, 20);
	run_to(c, now + 10000); /* the renewal goes out */
	assert_int_equal(r.nsent, 2);
	pcp_answer(c, &r, PCP_SUCCESS, 3, 5000, 20); /* restarted 3 s ago */
	assert_int_equal(r.lost, 1);
	assert_int_equal(r.nsent, 3); /* mapped again at once */
	pcp_answer(c, &r, PCP_SUCCESS, 3, 5000, 20);
	assert_int_equal(r.mapped, 2);
	/* an epoch that grew too slowly (the server restarted long ago and
	 * ran the same time since) is a loss too: 30 s here, 2 s there */
	run_to(c, now + 10000);
	pcp_answer(c, &r, PCP_SUCCESS, 5, 5000, 20);
	assert_int_equal(r.lost, 2);
	pm_client_free(c);
}

/* A silent router: the first attempt ends at wait_ms (2000) whatever the
 * protocol, with what each RFC retransmits inside that bound. */
static void test_silent_router_bounded(void **state)
{
	struct rec r;
	struct pm_client *c = client(&r, PM_MODE_PCP, 0);
	uint64_t t0 = now;

	(void)state;
	pm_client_start(c, now);
	run_to(c, t0 + 1999);
	assert_int_equal(r.settled, 0);
	assert_int_equal(r.sent_pcp, 2); /* at 0 and at wait/2 (IRT 3 s capped) */
	assert_int_equal(r.sent_at[1] - t0, 1000);
	run_to(c, t0 + 2000);
	assert_int_equal(r.settled, 1);
	assert_int_equal(r.mapped, 0);
	run_to(c, t0 + 600000);
	assert_int_equal(r.nsent, 2); /* and nothing more */
	pm_client_free(c);

	c = client(&r, PM_MODE_NATPMP, 0);
	t0 = now;
	pm_client_start(c, now);
	run_to(c, t0 + 2000);
	/* RFC 6886 §3.1: 250 ms, doubling: address + map at 0, 250, 750, 1750 */
	assert_int_equal(r.sent_natpmp, 8);
	assert_int_equal(r.settled, 1);
	pm_client_free(c);
}

/* auto: PCP first; no answer in the first half, NAT-PMP; its two answers
 * (address, mapping) make the mapping. */
static void test_auto_falls_back(void **state)
{
	struct rec r;
	struct pm_client *c = client(&r, PM_MODE_AUTO, 0);
	uint64_t t0 = now;
	static const uint8_t addr[12] = {0, 128, 0, 0, 0, 0, 0, 7, 203, 0, 114, 3};
	static const uint8_t map[16] = {0,    129,  0,	  0,	0, 0, 0, 7,
					0x13, 0x88, 0x13, 0x89, 0, 0, 0, 60};

	(void)state;
	pm_client_start(c, now);
	/* with the first PCP request, a NAT-PMP address probe (maps nothing) */
	assert_int_equal(r.sent_pcp, 1);
	assert_int_equal(r.sent_natpmp, 1);
	run_to(c, t0 + 999);
	assert_int_equal(r.sent_natpmp, 1);
	run_to(c, t0 + 1000);
	assert_true(r.sent_natpmp >= 3);
	pm_client_input(c, addr, sizeof(addr), now);
	assert_int_equal(r.mapped, 0);
	pm_client_input(c, map, sizeof(map), now);
	assert_int_equal(r.mapped, 1);
	assert_int_equal(r.port, 5001);
	assert_string_equal(r.proto, "natpmp");
	assert_int_equal(r.settled, 1);
	/* stop: NAT-PMP deletion, lifetime 0 and suggested port 0 (§3.4) */
	pm_client_stop(c, now);
	assert_int_equal(r.last_len, 12);
	assert_int_equal(r.last[6] | r.last[7] | r.last[8] | r.last[11], 0);
	pm_client_free(c);

	/* a gateway that answers the NAT-PMP probe and never PCP: NAT-PMP
	 * after a 100 ms grace, not after half the wait */
	c = client(&r, PM_MODE_AUTO, 0);
	t0 = now;
	pm_client_start(c, now);
	now += 10;
	pm_client_input(c, addr, sizeof(addr), now);
	run_to(c, t0 + 109);
	assert_int_equal(r.sent_natpmp, 1);
	run_to(c, t0 + 110);
	assert_int_equal(r.sent_natpmp, 2);
	assert_int_equal(r.last_len, 12); /* the map request alone */
	pm_client_input(c, map, sizeof(map), now);
	assert_int_equal(r.mapped, 1);
	assert_string_equal(r.proto, "natpmp");
	pm_client_free(c);

	/* a NAT-PMP-only server answers PCP with UNSUPP_VERSION: at once */
	c = client(&r, PM_MODE_AUTO, 0);
	pm_client_start(c, now);
	{
		static const uint8_t unsupp[8] = {0, 129, 0, 1, 0, 0, 0, 9};
		pm_client_input(c, unsupp, sizeof(unsupp), now);
	}
	assert_true(r.sent_natpmp >= 3);
	pm_client_free(c);
}

/* A refusal ends the first attempt (no wait), and an answer for another
 * nonce is not ours. */
static void test_refused_and_foreign(void **state)
{
	struct rec r;
	struct pm_client *c = client(&r, PM_MODE_PCP, 0);

	(void)state;
	pm_client_start(c, now);
	r.last[24] ^= 0xff; /* another mapping's nonce */
	pcp_answer(c, &r, PCP_SUCCESS, 1, 5000, 60);
	assert_int_equal(r.mapped, 0);
	r.last[24] ^= 0xff;
	pcp_answer(c, &r, PCP_NOT_AUTHORIZED, 1, 0, 60);
	assert_int_equal(r.mapped, 0);
	assert_int_equal(r.settled, 1);
	pm_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pcp_maps_and_renews),	  cmocka_unit_test(test_pcp_epoch_restart),
	    cmocka_unit_test(test_silent_router_bounded), cmocka_unit_test(test_auto_falls_back),
	    cmocka_unit_test(test_refused_and_foreign),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* pmcheck_good.h - for the port-mapping unit tests (dut_portmap.c,
 * probe_portmap.c): the report of a server doing everything right on
 * every protocol (harness/pmcheck.h), which each test then spoils. */
#ifndef NATLAB_TEST_PMCHECK_GOOD_H
#define NATLAB_TEST_PMCHECK_GOOD_H

#include <string.h>
#include "harness/pmcheck.h"

static inline void pmcheck_good(struct pmcheck_report *rep, int epoch_s, int answer_ms)
{
	memset(rep, 0, sizeof(*rep));
	for (int p = 0; p < PMCHECK_N; p++) {
		struct pmcheck_result *r = &rep->r[p];
		r->tested = r->answered = true;
		strcpy(r->result, "SUCCESS");
		strcpy(r->external, "203.0.114.1");
		r->external_port = (uint16_t)(40100 + p);
		r->lifetime_s = 600;
		r->epoch_s = p == PMCHECK_UPNP ? -1 : epoch_s; /* UPnP IGD has no epoch */
		r->epoch_ok = p == PMCHECK_UPNP ? -1 : 1;
		r->reachable = r->deleted = r->closed_after = 1;
		r->answer_ms = answer_ms;
	}
}

#endif

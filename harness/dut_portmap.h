/* dut_portmap.h - `natlab dut`'s port-mapping rows: the device's PCP,
 * NAT-PMP and UPnP IGD as harness/pmcheck.c measured them, one compliance
 * row each (docs/dut.md "Port mapping"). */
#ifndef NATLAB_HARNESS_DUT_PORTMAP_H
#define NATLAB_HARNESS_DUT_PORTMAP_H

#include "agents/compliance/compliance.h"
#include "harness/pmcheck.h"

/* dut_portmap_rows - append the three rows (keys "pcp", "natpmp",
 * "upnp_igd") to @r. Verdicts: not-tested when the protocol did not answer
 * (not offered) or could not be tried (no upnpc); inconclusive when it
 * answered but mapped nothing (a refusal may be the device's policy);
 * fail when a granted mapping does not let the internet's datagram in,
 * its deletion is not acknowledged or does not close the port, or the
 * epoch says the server lost its state; pass otherwise. Pure. */
void dut_portmap_rows(const struct pmcheck_report *pm, struct compl_report *r);

#endif

/* hostaddr.h - which of this host's addresses natlab-ice gathers host
 * candidates on (RFC 8445 §5.1.1.1: "the agent obtains a set of host
 * candidates" from its interfaces).
 *
 * Reads the interface list (getifaddrs) and opens no socket, so it is
 * tested without any (tests/unit/ice_opts.c).
 */
#ifndef NATLAB_AGENTS_ICE_HOSTADDR_H
#define NATLAB_AGENTS_ICE_HOSTADDR_H

#include "agents/ice/candidate.h"

/* ice_hostaddr_list - the addresses of every up interface, or only of
 * those named in @ifaces (@nifaces of them; 0: every interface).
 * Loopback addresses only when an interface is named or when nothing
 * else exists; IPv6 link-local addresses are left out (they need a scope
 * the candidate line cannot carry). Fills @addrs (at most
 * @cap, the rest are dropped); returns how many, or -errno. */
int ice_hostaddr_list(const char *const *ifaces, unsigned nifaces, union ice_addr *addrs,
		      unsigned cap);

#endif

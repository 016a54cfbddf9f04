/* hostaddr.c - the host addresses natlab-ice gathers on (see hostaddr.h). */
#include "agents/ice/hostaddr.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

static bool iface_wanted(const char *const *ifaces, unsigned nifaces, const char *name)
{
	if (nifaces == 0)
		return true;
	for (unsigned i = 0; i < nifaces; i++)
		if (strcmp(ifaces[i], name) == 0)
			return true;
	return false;
}

int ice_hostaddr_list(const char *const *ifaces, unsigned nifaces, union ice_addr *addrs,
		      unsigned cap)
{
	struct ifaddrs *ifa = NULL, *i;
	unsigned n = 0;
	bool want_lo;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (int pass = 0; pass < 2 && n == 0; pass++) {
		want_lo = pass == 1;
		for (i = ifa; i; i = i->ifa_next) {
			union ice_addr a;
			if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) ||
			    !iface_wanted(ifaces, nifaces, i->ifa_name))
				continue;
			if (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6)
				continue;
			memset(&a, 0, sizeof(a));
			memcpy(&a, i->ifa_addr,
			       i->ifa_addr->sa_family == AF_INET ? sizeof(a.in4) : sizeof(a.in6));
			if (ice_addr_is_link_local(&a))
				continue;
			if (ice_addr_is_loopback(&a) != want_lo &&
			    !(nifaces && ice_addr_is_loopback(&a)))
				continue;
			if (n < cap)
				addrs[n++] = a;
		}
	}
	freeifaddrs(ifa);
	return (int)n;
}

/* ice_portmap.c - a server-reflexive candidate from a port mapping (PCP,
 * NAT-PMP: agents/portmap/), see ice_agent_add_mapped in ice.h. */
#include <errno.h>
#include <string.h>

#include "agents/ice/ice_priv.h"

/* RFC 8445 §5.1.1.2 asks for server-reflexive candidates from STUN; a
 * mapping made with PCP or NAT-PMP is the same thing learnt another way
 * (the practice of RFC 6887 §2.3's "application ... uses the external
 * address in its signalling"): a public address whose packets reach the
 * base. Type srflx, base and related address the host, its own
 * foundation (no STUN server: server NULL). Checks go from the base; the
 * candidate matters to the peer, whose checks to it the mapping lets in
 * whatever the NAT's filtering. */
int ice_agent_add_mapped(struct ice_agent *a, int base_id, const union ice_addr *mapped,
			 uint64_t now_ms)
{
	struct ice_local l;
	const struct ice_local *host;
	int hi = icei_find_local_by_base(a, base_id);
	int li;

	(void)now_ms;
	if (hi < 0)
		return -ENOENT;
	host = &a->locals[hi];
	if (host->c.type != ICE_CAND_HOST)
		return -EINVAL;
	/* RFC 8445 §5.1.3: no redundant candidate (same address and base) */
	if (ice_addr_equal(mapped, &host->c.addr))
		return -EEXIST;
	for (unsigned i = 0; i < a->nlocals; i++)
		if (a->locals[i].c.type == ICE_CAND_SRFLX &&
		    ice_addr_equal(&a->locals[i].c.addr, mapped) &&
		    ice_addr_equal(&a->locals[i].base, &host->base))
			return -EEXIST;
	memset(&l, 0, sizeof(l));
	l.c.component = host->c.component;
	l.c.transport = host->c.transport;
	l.c.addr = *mapped;
	l.c.type = ICE_CAND_SRFLX;
	l.c.priority = ice_priority(ice_type_pref(ICE_CAND_SRFLX, l.c.transport),
				    (host->c.priority >> 8) & 0xffff, l.c.component);
	ice_foundation_make(l.c.foundation, ICE_CAND_SRFLX, &host->base, NULL, l.c.transport);
	l.c.has_related = true;
	l.c.related = host->base;
	l.base = host->base;
	l.base_id = host->base_id;
	li = icei_add_local(a, &l);
	if (li < 0)
		return li;
	if (a->gathering || a->gather_complete) {
		struct ice_event ev = {.type = ICE_EV_CANDIDATE, .cand = &a->locals[li].c};
		icei_emit(a, &ev);
	}
	return li;
}

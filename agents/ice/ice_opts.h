/* ice_opts.h - natlab-ice's command line: the option table, its parsing
 * into a struct natlab-ice runs from, and the usage text.
 *
 * Kept apart from agents/bin/natlab-ice.c so it can be tested without
 * sockets (tests/unit/ice_opts.c). Parsing never prints and never exits:
 * natlab-ice prints the message and the usage text and picks the exit
 * code (getopt_long itself still reports unknown options and missing
 * arguments on stderr, as it always has).
 */
#ifndef NATLAB_AGENTS_ICE_ICE_OPTS_H
#define NATLAB_AGENTS_ICE_ICE_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "agents/ice/ice.h"
#include "agents/ice/relay.h"

#define ICE_OPTS_TURN_MAX   4 /* --turn, each becomes one relay per component */
#define ICE_OPTS_IFACES_MAX 8 /* --interface */
#define ICE_OPTS_ERR_MAX    1024
/* ice_opts_parse's answer to --help */
#define ICE_OPTS_HELP 1

struct ice_opts {
	/* the agent's configuration; seed 0 when --seed was not given (or 0):
	 * the caller picks one */
	struct ice_config cfg;
	/* --turn servers, with --turn-user/--turn-pass and --rto-ms filled in */
	struct ice_relay_config turn[ICE_OPTS_TURN_MAX];
	unsigned nturn;
	const char *turn_user, *turn_pass;
	/* --interface: host candidates only on these (none: every interface) */
	const char *ifaces[ICE_OPTS_IFACES_MAX];
	unsigned nifaces;
	bool tcp; /* --tcp: ICE-TCP host candidates (RFC 6544) */
	/* --turn-dual: each TURN server also gets an allocation of the other
	 * address family (RFC 6156 REQUESTED-ADDRESS-FAMILY), so an IPv6-only
	 * host can reach IPv4-only peers through the relay and back */
	bool turn_dual;
	bool verbose; /* --verbose: the agent's log lines on stderr */
	/* --dataplane: how "send" carries its numbered messages */
	enum ice_opts_dataplane {
		ICE_DATAPLANE_DATAGRAM = 0, /* raw datagrams on the pair (0xE1...) */
		ICE_DATAPLANE_DATACHANNEL,  /* a WebRTC data channel: DTLS + SCTP */
	} dataplane;
	/* --offer-dataplanes (a test double): the planes "ready" declares,
	 * ICE_OPTS_OFFER_* bits; 0: every plane this build has. An offer of
	 * the data channel alone makes it the plane in use */
	unsigned offer_dataplanes;
	/* --portmap: ask the default gateway for a mapping of each IPv4 host
	 * candidate's port (PCP, NAT-PMP, or PCP then NAT-PMP) and offer a
	 * server-reflexive candidate for it (agents/portmap/pmice.h); NULL:
	 * off. --portmap-lifetime (s), --portmap-wait-ms: 0 = defaults. */
	const char *portmap;
	uint32_t portmap_lifetime_s;
	uint32_t portmap_wait_ms;
	/* after an error: whether the usage text should follow the message */
	bool usage;
};

#define ICE_OPTS_OFFER_DATAGRAM	   (1u << 0)
#define ICE_OPTS_OFFER_DATACHANNEL (1u << 1)

/* ice_opts_parse - parse natlab-ice's @argv into @o (zeroed first; the
 * strings in it point into @argv, which must outlive it). Returns 0,
 * ICE_OPTS_HELP when --help came before any bad option, or -EINVAL: @err
 * (at least 1 byte) then holds the message without the program's name,
 * or "" when getopt_long already printed one, and o->usage says whether
 * the usage text should follow. Uses getopt_long, so it resets and
 * changes getopt's globals (optind, optarg). */
int ice_opts_parse(struct ice_opts *o, int argc, char **argv, char *err, size_t errlen);

/* ice_opts_usage - the usage text, to @f. */
void ice_opts_usage(FILE *f);

#endif

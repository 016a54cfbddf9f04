/* planechoice.h - which data plane two agents use (docs/agent-protocol.md,
 * "The data plane"): from the planes each declares in its `ready` event
 * ("dataplanes"; absent: datagram only) and the plane a scenario asks for.
 * Shared by the scenarios (natlab.dataplane_choose, harness/luanet.c) and
 * `natlab adapter-check`, so both pick alike.
 *
 * Pure: JSON in, a choice out. Unit-tested (tests/unit/harness_planechoice.c). */
#ifndef NATLAB_HARNESS_PLANECHOICE_H
#define NATLAB_HARNESS_PLANECHOICE_H

#include <jansson.h>
#include <stddef.h>

/* The planes, as bits of an offer. */
enum planechoice_plane {
	PLANECHOICE_NONE = 0,
	PLANECHOICE_DATAGRAM = 1u << 0,	   /* numbered datagrams on the pair */
	PLANECHOICE_DATACHANNEL = 1u << 1, /* the same messages on a data channel */
};

/* planechoice_offer - the planes @ready (an agent's ready event; NULL or
 * without "dataplanes": datagram only, the protocol's default) offers, as
 * a bit set. Names it does not know are left out (a newer plane is not
 * this harness's); a "dataplanes" that is not an array counts as absent. */
unsigned planechoice_offer(const json_t *ready);

/* planechoice_pick - the plane of two agents offering @a and @b (bit
 * sets): @want (a plane's name, or NULL / "auto" / "" for none asked)
 * when both offer it, else datagram when both do, else datachannel when
 * both do, else PLANECHOICE_NONE (no data plane in common: the cell
 * judges ICE connectivity on consent checks). */
enum planechoice_plane planechoice_pick(unsigned a, unsigned b, const char *want);

/* planechoice_name - "datagram", "datachannel", or NULL for NONE */
const char *planechoice_name(enum planechoice_plane p);

/* planechoice_parse - the plane called @name; PLANECHOICE_NONE when it
 * names none */
enum planechoice_plane planechoice_parse(const char *name);

/* planechoice_describe - @offer as "datagram, datachannel" (or "none")
 * into @buf; returns @buf */
char *planechoice_describe(unsigned offer, char *buf, size_t len);

#endif

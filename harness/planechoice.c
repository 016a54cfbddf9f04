/* planechoice.c - the data plane two agents share (see planechoice.h). */
#include "harness/planechoice.h"

#include <stdio.h>
#include <string.h>

/* In the order the harness prefers them when a scenario asks for none:
 * datagram first (every agent has had it; nothing but ICE on the pair),
 * then the data channel (WebRTC stacks). */
static const struct {
	enum planechoice_plane plane;
	const char *name;
} planes[] = {
    {PLANECHOICE_DATAGRAM, "datagram"},
    {PLANECHOICE_DATACHANNEL, "datachannel"},
};
#define NPLANES (sizeof(planes) / sizeof(planes[0]))

enum planechoice_plane planechoice_parse(const char *name)
{
	for (size_t i = 0; name && i < NPLANES; i++)
		if (strcmp(name, planes[i].name) == 0)
			return planes[i].plane;
	return PLANECHOICE_NONE;
}

const char *planechoice_name(enum planechoice_plane p)
{
	for (size_t i = 0; i < NPLANES; i++)
		if (planes[i].plane == p)
			return planes[i].name;
	return NULL;
}

unsigned planechoice_offer(const json_t *ready)
{
	const json_t *list = ready ? json_object_get(ready, "dataplanes") : NULL;
	unsigned offer = 0;
	size_t i;
	json_t *v;

	/* docs/agent-protocol.md: absent means ["datagram"], what every
	 * adapter written before the field offers */
	if (!json_is_array(list))
		return PLANECHOICE_DATAGRAM;
	json_array_foreach(list, i, v) offer |= (unsigned)planechoice_parse(json_string_value(v));
	return offer;
}

enum planechoice_plane planechoice_pick(unsigned a, unsigned b, const char *want)
{
	unsigned both = a & b;
	enum planechoice_plane w = planechoice_parse(want);

	if (w != PLANECHOICE_NONE && (both & (unsigned)w))
		return w;
	for (size_t i = 0; i < NPLANES; i++)
		if (both & (unsigned)planes[i].plane)
			return planes[i].plane;
	return PLANECHOICE_NONE;
}

char *planechoice_describe(unsigned offer, char *buf, size_t len)
{
	size_t off = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < NPLANES; i++)
		if (offer & (unsigned)planes[i].plane)
			off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s%s",
						off ? ", " : "", planes[i].name);
	if (!off)
		snprintf(buf, len, "none");
	return buf;
}

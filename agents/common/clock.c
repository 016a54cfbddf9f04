/* clock.c - monotonic time for agents (never the wall clock: events and
 * timers must not jump when the host's time is set). */
#include "agents/common/clock.h"

#include <time.h>

uint64_t agent_clock_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t agent_clock_ms(void)
{
	return agent_clock_us() / 1000u;
}

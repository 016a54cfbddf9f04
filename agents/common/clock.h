/* clock.h - the monotonic clock agents use for timers and event stamps. */
#ifndef NATLAB_AGENTS_CLOCK_H
#define NATLAB_AGENTS_CLOCK_H

#include <stdint.h>

/* agent_clock_ms - milliseconds from CLOCK_MONOTONIC. */
uint64_t agent_clock_ms(void);
/* agent_clock_us - microseconds from CLOCK_MONOTONIC. */
uint64_t agent_clock_us(void);

#endif

/* event.h - JSON-lines events on stdout (docs/agent-protocol.md): one
 * object per line, each with "ev" and "t_ms" (milliseconds since the agent
 * started, monotonic). */
#ifndef NATLAB_AGENTS_EVENT_H
#define NATLAB_AGENTS_EVENT_H

#include <jansson.h>
#include <stdio.h>

/* agent_event_start - remember the agent's start time (call first in
 * main). */
void agent_event_start(void);
/* agent_event_t_ms - milliseconds since agent_event_start(). */
long long agent_event_t_ms(void);
/* agent_event_emit - add "ev" and "t_ms" to @obj, write it as one line to
 * @out (stdout when NULL) and flush. Takes ownership of @obj (decref'd).
 * Returns 0 or -EIO. */
int agent_event_emit(FILE *out, const char *ev, json_t *obj);
/* agent_event_log - a {"ev":"log","level":...,"msg":...} line */
void agent_event_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

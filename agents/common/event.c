/* event.c - JSON-lines event output shared by the agents. */
#include "agents/common/event.h"
#include "agents/common/clock.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t start_ms;

void agent_event_start(void)
{
	start_ms = agent_clock_ms();
}

long long agent_event_t_ms(void)
{
	return (long long)(agent_clock_ms() - start_ms);
}

int agent_event_emit(FILE *out, const char *ev, json_t *obj)
{
	int ret = -EIO;
	if (!obj)
		obj = json_object();
	if (!obj)
		return -ENOMEM;
	/* "ev" and "t_ms" first, for readers of the raw lines */
	json_t *line = json_pack("{s:s,s:I}", "ev", ev, "t_ms", (json_int_t)agent_event_t_ms());
	if (!line) {
		json_decref(obj);
		return -ENOMEM;
	}
	json_object_update(line, obj);
	json_decref(obj);
	obj = line;
	/* JSON_COMPACT without JSON_INDENT never emits a newline inside */
	char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s) {
		FILE *f = out ? out : stdout;
		if (fprintf(f, "%s\n", s) >= 0 && fflush(f) == 0)
			ret = 0;
		free(s);
	}
	json_decref(obj);
	return ret;
}

void agent_event_log(const char *level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	agent_event_emit(NULL, "log", json_pack("{s:s,s:s}", "level", level, "msg", msg));
}

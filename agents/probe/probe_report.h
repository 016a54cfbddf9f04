/* probe_report.h - the probe's result as the stable JSON object documented
 * in docs/probe.md, and as readable text. */
#ifndef NATLAB_AGENTS_PROBE_REPORT_H
#define NATLAB_AGENTS_PROBE_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "agents/probe/probe.h"

#define PROBE_REPORT_VERSION 1

/* probe_report_json - a new JSON object (caller owns: json_decref) or NULL
 * on allocation failure. */
json_t *probe_report_json(const struct probe_result *r, const struct probe_config *cfg);
/* probe_report_text - the same facts for a human, several lines. */
void probe_report_text(FILE *out, const struct probe_result *r, const struct probe_config *cfg);

#endif

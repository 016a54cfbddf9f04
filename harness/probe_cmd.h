/* probe_cmd.h - `natlab probe PRESET...` / `natlab probe --all`: natlab-probe
 * behind a preset's NAT, its measurements set beside what the preset claims.
 *
 * The claims are derived from the preset's knobs (emu_nat_preset(), and
 * emu_nat_preset_inner() for a stacked preset), never from a second table,
 * so a preset changed in emu/nat_preset.c is checked against its new knobs.
 * The derivation and the comparison are pure (no lab, no kernel) and
 * exposed for the unit tests; cmd_probe() builds the labs.
 */
#ifndef NATLAB_HARNESS_PROBE_CMD_H
#define NATLAB_HARNESS_PROBE_CMD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "emu/err.h"
#include "emu/nat.h"
#include "harness/pmcheck.h"

/* What a NAT (or a stack of two) should look like to natlab-probe, in the
 * probe's JSON vocabulary (docs/probe.md). */
struct probe_claim {
	bool udp;		/* UDP passes at all */
	bool nat;		/* the mapped address differs from the local one */
	const char *mapping;	/* "endpoint-independent", ... */
	const char *filtering;	/* same values */
	const char *ports;	/* "preserved", "sequential", "random" */
	bool hairpin;		/* hairpinning works */
	unsigned udp_timeout_s; /* the shortest mapping timeout on the path */
	bool check_lifetime;	/* compare the lifetime search with udp_timeout_s */
};

/* probe_claim_derive - the claim of NAT @outer with, for a stacked preset,
 * @inner behind it (NULL otherwise). Two NATs in a row look to the probe
 * like the stricter of each behaviour; ports are preserved only when both
 * preserve. @check_lifetime is copied into the claim. */
void probe_claim_derive(const struct emu_nat_config *outer, const struct emu_nat_config *inner,
			bool check_lifetime, struct probe_claim *c);

/* probe_claim_for_preset - probe_claim_derive for preset @name, with the
 * UDP mapping timeout of every NAT set to @udp_timeout_s when non-zero.
 * -ENOENT (message in @e) for an unknown preset. */
int probe_claim_for_preset(const char *name, unsigned udp_timeout_s, bool check_lifetime,
			   struct probe_claim *c, struct natlab_err *e);

/* 8 behaviours, and up to 14 port-mapping rows (probe_portmap_compare) */
#define PROBE_ROWS_MAX 24
#define PROBE_VAL_MAX  64

struct probe_row {
	const char *what; /* "udp", "mapping", ... (static) */
	char claimed[PROBE_VAL_MAX];
	char measured[PROBE_VAL_MAX];
	bool ok;
};

/* probe_claim_compare - set the probe's JSON report @measured (its schema,
 * docs/probe.md) beside claim @c: one row per behaviour into @rows (room
 * for PROBE_ROWS_MAX), their count in *@n_rows. Behaviours that cannot be
 * seen when UDP is blocked are not compared then. Returns the number of
 * mismatching rows. @lifetime_tol_ms is the slack allowed around the
 * timeout (search resolution plus timer granularity). */
int probe_claim_compare(const struct probe_claim *c, json_t *measured, int lifetime_tol_ms,
			struct probe_row *rows, int *n_rows);

/* What a NAT with the knob portmap claims (docs/probe.md "Port mapping"). */
struct probe_portmap_claim {
	unsigned offered;			 /* EMU_NAT_PORTMAP_* the knob serves */
	const char *public_addr;		 /* the NAT's public address: the mapped one */
	uint32_t lifetime_s;			 /* asked for */
	uint32_t min_lifetime_s, max_lifetime_s; /* the server's clamps */
	bool udp; /* UDP passes (not udp_blocked): a mapped port is reachable */
};

/* probe_portmap_lifetime_claim - the lifetime the server grants: the
 * request clamped into [min, max]. */
uint32_t probe_portmap_lifetime_claim(const struct probe_portmap_claim *c);

/* how far under the granted lifetime a measured one may be (a lease read
 * back after it started to run) */
#define PROBE_PORTMAP_LIFETIME_SLACK_S 5

/* probe_portmap_compare - the port-mapping rows, appended to @rows after
 * *@n_rows (which grows): per protocol whether it answers; for an offered
 * one that answered, the mapping (public address, lifetime), that the
 * mapped port is reachable from outside, that the deletion was
 * acknowledged and the port closed again, and the epoch's consistency
 * (PCP, NAT-PMP). A protocol @rep did not test (no client) matches a claim
 * of "no" only. Returns the number of mismatching rows it added. */
int probe_portmap_compare(const struct probe_portmap_claim *c, const struct pmcheck_report *rep,
			  struct probe_row *rows, int *n_rows);

/* probe_rows_print - the rows as an aligned table on @out. */
void probe_rows_print(FILE *out, const char *preset, const struct probe_row *rows, int n_rows);

/* cmd_probe - the `natlab probe` command (cli.c). */
int cmd_probe(int argc, char **argv);

#endif

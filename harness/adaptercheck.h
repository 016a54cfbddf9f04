/* adaptercheck.h - `natlab adapter-check COMMAND`: drive a candidate agent
 * through docs/agent-protocol.md in a two-node lab and say precisely what
 * is missing or wrong.
 *
 * The candidate runs in node "cand" (10.99.0.1), a reference agent
 * (natlab-ice unless --peer) in node "peer" (10.99.0.2), joined by one
 * veth, each the other's default gateway, inside the sandbox
 * (emu/sandbox.h). The harness relays their
 * signalling as in a scenario and checks, in order: the ready event; gather
 * answered by a complete local with valid credentials (RFC 8445 §5.3) and
 * RFC 8839 candidate lines; remote answered by state checking and a
 * selected event with the protocol's fields; send answered by datagrams
 * the peer receives and acknowledges, a data event, and the peer's
 * datagrams reported as rx; malformed lines answered by error events
 * without dying; restart answered by new credentials and a new selection;
 * stop answered by exit status 0; the controlled role; and, on every
 * event, "ev" and an integer, non-decreasing "t_ms". Then, in a second
 * lab with NATs and natlab-turn-server (adaptercheck_net.c), the rounds
 * the default matrix needs: trickle, srflx and relay candidates, a direct
 * path, a relay over UDP and a relay over TCP/TLS, data both ways, each
 * path judged on the wire as a matrix cell's (harness/wirejudge.h). As a
 * scenario, it relays each local at once (an answerer gets the offer
 * first; two answerers fail), and names the data plane both agents share
 * (harness/planechoice.h) in "gather".
 */
#ifndef NATLAB_HARNESS_ADAPTERCHECK_H
#define NATLAB_HARNESS_ADAPTERCHECK_H

#include <stdio.h>

/* adaptercheck_opts - what to check. Strings are borrowed. */
struct adaptercheck_opts {
	char *const *cmd; /* candidate argv (argv[0] a path or program name), NULL-ended */
	const char *peer; /* reference agent program (default natlab-ice) */
	int timeout_ms;	  /* per step (default 15000) */
	int verbose;	  /* copy both agents' stderr and every event to @out */
};

/* adaptercheck_run - enter the sandbox, build the lab, run every check,
 * print one line per check on @out ("ok", "FAIL", "warn") and a summary.
 * Returns 0 when the candidate conforms, 1 when a check failed, 2 when the
 * check could not run (no sandbox, program not found). */
int adaptercheck_run(const struct adaptercheck_opts *o, FILE *out);

/* cmd_adapter_check - the CLI entry (harness/cli.c). */
int cmd_adapter_check(int argc, char **argv);

#endif

/* pmcheck.h - what a NAT's port-mapping service does, measured from both
 * sides: a host behind the NAT asks for a UDP mapping with PCP (RFC 6887
 * MAP), NAT-PMP (RFC 6886) and UPnP IGD (Debian's upnpc, miniupnpc), a
 * host on the internet side sends a datagram to the mapped public port,
 * the mapping is deleted and a fresh datagram must no longer get in.
 *
 * Used by `natlab probe --portmap` (a lab NAT with the knob portmap,
 * docs/probe.md) and `natlab dut` (a real device, docs/dut.md). The
 * verdict-free measurements land in struct pmcheck_result; the callers
 * set them beside their claims or requirements.
 */
#ifndef NATLAB_HARNESS_PMCHECK_H
#define NATLAB_HARNESS_PMCHECK_H

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "emu/err.h"
#include "emu/lab.h"

enum pmcheck_proto { PMCHECK_PCP, PMCHECK_NATPMP, PMCHECK_UPNP, PMCHECK_N };

struct pmcheck_config {
	struct emu_lab *lab;  /* spawns upnpc (tracked, reaped) */
	struct emu_node *lan; /* the host behind the NAT */
	uint32_t lan_ip;      /* network order: its address */
	uint32_t gw_ip;	      /* network order: the NAT's inside address (PCP/NAT-PMP server) */
	struct emu_node *wan; /* a node on the internet side */
	uint32_t wan_ip;      /* network order: the address it sends from */
	uint16_t port_base;   /* internal ports used: base + enum pmcheck_proto */
	uint32_t lifetime_s;  /* lifetime asked for */
	int answer_ms;	      /* PCP/NAT-PMP: how long to wait for an answer */
	int reach_ms;	      /* how long a datagram may take to arrive (or not) */
	unsigned protocols;   /* which to try: bits 1 << enum pmcheck_proto */
};

#define PMCHECK_NOTE_MAX 192

struct pmcheck_result {
	bool tested; /* tried (the client was there) */
	/* the server answered the mapping request; an UNSUPP_VERSION answer
	 * (the other protocol's server, RFC 6887 §9) counts as no, result
	 * and note say so */
	bool answered;
	char result[32];		/* "SUCCESS", the error's name, "" */
	char external[INET_ADDRSTRLEN]; /* mapped public address ("" unknown) */
	uint16_t external_port;		/* 0: none */
	int64_t lifetime_s;		/* granted; -1 unknown */
	int64_t epoch_s;		/* PCP/NAT-PMP: the map answer's epoch; -1 none */
	int epoch_ok;			/* RFC 6887 §8.5 across the two answers: -1 untested */
	int reachable;			/* the internet side's datagram arrived: -1 untested */
	int deleted;			/* the deletion was acknowledged: -1 untested */
	int closed_after;		/* a fresh datagram after deletion did not arrive: -1 */
	int64_t answer_ms;		/* how long the mapping answer took; -1 none */
	char note[PMCHECK_NOTE_MAX];	/* why a step could not run, or what went wrong */
};

struct pmcheck_report {
	struct pmcheck_result r[PMCHECK_N];
};

/* pmcheck_run - every protocol of cfg->protocols, one after the other
 * (PCP, NAT-PMP, UPnP); the results into @rep (all fields set, untested
 * ones marked). Returns 0, or a negative errno when a socket could not be
 * made in a node (message in @e): a protocol that does not answer is a
 * result, not an error. Leaves no mapping behind that it made. */
int pmcheck_run(const struct pmcheck_config *cfg, struct pmcheck_report *rep, struct natlab_err *e);

/* pmcheck_proto_name - "pcp", "natpmp", "upnp". */
const char *pmcheck_proto_name(enum pmcheck_proto p);

/* pmcheck_result_json - one result as an object (caller owns); the schema
 * is docs/probe.md "Port mapping". pmcheck_report_json: {"pcp":..., ...}
 * with the tested protocols only. */
json_t *pmcheck_result_json(const struct pmcheck_result *r);
json_t *pmcheck_report_json(const struct pmcheck_report *rep);

/* pmcheck_epoch_ok - RFC 6887 §8.5's test (RFC 6886 §3.6 is the same
 * idea): true when a server that said @epoch1_s and, @client_delta_ms
 * later, @epoch2_s kept its state. Pure. */
bool pmcheck_epoch_ok(uint32_t epoch1_s, uint32_t epoch2_s, int64_t client_delta_ms);

#endif

/* agentproto.h - the agent protocol of docs/agent-protocol.md: commands
 * read from the harness (JSON lines on stdin), events written back (JSON
 * lines on stdout). Shared by natlab-ice and the libnice adapter so that
 * both speak exactly the same dialect.
 *
 * Parsing is pure (a line in, a struct out); writing goes to a FILE *.
 */
#ifndef NATLAB_AGENTS_ICE_AGENTPROTO_H
#define NATLAB_AGENTS_ICE_AGENTPROTO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "agents/ice/candidate.h"

/* A command line longer than this is refused (64 remote candidates of
 * ~120 bytes fit many times over). */
#define AGENTPROTO_LINE_MAX  65536
#define AGENTPROTO_CANDS_MAX 64
#define AGENTPROTO_CRED_MAX  256
#define AGENTPROTO_ERR_MAX   256

/* The WebRTC session parameters a "local" event announces and a "remote"
 * command relays (docs/agent-protocol.md, "Session parameters"). Only the
 * fields natlab-ice uses are parsed; others in the object are ignored. */
#define AGENTPROTO_FINGERPRINT_MAX 160
#define AGENTPROTO_SETUP_MAX	   16
struct agentproto_session {
	bool present;				      /* the command/event has a "session" object */
	char fingerprint[AGENTPROTO_FINGERPRINT_MAX]; /* RFC 8122 "sha-256 AB:..", "" if absent */
	char setup[AGENTPROTO_SETUP_MAX];	      /* RFC 8842 actpass/active/passive, "" */
	unsigned sctp_port;			      /* RFC 8841 a=sctp-port, 0 if absent */
	bool has_max_message_size;
	uint32_t max_message_size; /* RFC 8841 a=max-message-size (0: any size) */
};

enum agentproto_cmd_type {
	AGENTPROTO_GATHER,
	AGENTPROTO_REMOTE,
	AGENTPROTO_CANDIDATE,
	AGENTPROTO_END_OF_CANDIDATES,
	AGENTPROTO_SEND,
	AGENTPROTO_RESTART,
	AGENTPROTO_STOP,
};

/* The data plane a "gather" command names (docs/agent-protocol.md, "The
 * data plane"): the one the harness chose from both agents' ready events. */
enum agentproto_dataplane {
	AGENTPROTO_DATAPLANE_UNSET = 0, /* no "dataplane": the agent's own choice */
	AGENTPROTO_DATAPLANE_DATAGRAM,
	AGENTPROTO_DATAPLANE_DATACHANNEL,
};

struct agentproto_cmd {
	enum agentproto_cmd_type type;
	/* gather: the chosen data plane; a name other than the two is an error */
	enum agentproto_dataplane dataplane;
	/* remote */
	char ufrag[AGENTPROTO_CRED_MAX + 1];
	char pwd[AGENTPROTO_CRED_MAX + 1];
	struct ice_candidate cands[AGENTPROTO_CANDS_MAX];
	unsigned ncands;
	/* candidates of a remote/candidate command that could not be used
	 * (FQDN, unknown transport, ...): how many, and the first reason */
	unsigned nskipped;
	char skipped[AGENTPROTO_ERR_MAX];
	/* remote: the peer's session parameters, when it sent any */
	struct agentproto_session session;
	/* send */
	unsigned n;
	unsigned size;
	unsigned interval_ms;
};

/* agentproto_cmd_parse - parse one command line of @len bytes (no NUL
 * needed). Returns 0, or -EINVAL with a message in @err naming the problem
 * (bad JSON, unknown "cmd", missing or mistyped field). */
int agentproto_cmd_parse(const char *line, size_t len, struct agentproto_cmd *cmd, char *err,
			 size_t errlen);

/* Where a pair endpoint is, for selected/switched/consent-lost. */
struct agentproto_endpoint {
	enum ice_cand_type type;
	enum ice_transport transport;
	union ice_addr addr;
	const char *relay_transport; /* "udp"/"tcp"/"tls" for relays, else NULL */
	enum ice_tcptype tcptype;    /* TCP candidates (RFC 6544), else ICE_TCP_NONE */
};

/* The writer: every event gets "ev" and "t_ms" (integer milliseconds from
 * @t0 of the caller's monotonic clock); one line each, flushed. */
struct agentproto_out {
	FILE *f;
};

void agentproto_ev_ready(struct agentproto_out *o, uint64_t t_ms, const char *impl,
			 const char *version);
/* One capability an agent declares in `ready` (docs/agent-protocol.md,
 * "Capabilities"): @name as the document spells it, @have whether this run
 * of the agent can do it. A capability left out is undeclared. */
struct agentproto_cap {
	const char *name;
	bool have;
};
/* agentproto_ev_ready_full - "ready" with "capabilities" (@ncaps of them,
 * none: no field) and "dataplanes": the data planes the agent offers
 * (@nplanes names, "datagram", "datachannel"; none: no field, which means
 * datagram only). */
void agentproto_ev_ready_full(struct agentproto_out *o, uint64_t t_ms, const char *impl,
			      const char *version, const struct agentproto_cap *caps,
			      unsigned ncaps, const char *const *planes, unsigned nplanes);
void agentproto_ev_local(struct agentproto_out *o, uint64_t t_ms, const char *ufrag,
			 const char *pwd, const struct ice_candidate *cands, unsigned n,
			 bool complete);
/* agentproto_ev_local_session - "local" with a "session" object made of
 * @s's non-empty fields (@s NULL or not present: none) */
void agentproto_ev_local_session(struct agentproto_out *o, uint64_t t_ms, const char *ufrag,
				 const char *pwd, const struct ice_candidate *cands, unsigned n,
				 bool complete, const struct agentproto_session *s);
void agentproto_ev_candidate(struct agentproto_out *o, uint64_t t_ms,
			     const struct ice_candidate *c);
void agentproto_ev_end_of_candidates(struct agentproto_out *o, uint64_t t_ms);
void agentproto_ev_state(struct agentproto_out *o, uint64_t t_ms, const char *state);
/* @ev is "selected" or "switched"; @component is added as a field. */
void agentproto_ev_pair(struct agentproto_out *o, uint64_t t_ms, const char *ev, unsigned component,
			const struct agentproto_endpoint *local,
			const struct agentproto_endpoint *remote, int64_t rtt_ms);
/* "checks": the check list, one object per candidate pair (RFC 8445
 * §6.1.2.6 state), written just before "selected", "switched" or "failed"
 * so the harness has it when it stops reading. */
struct agentproto_check {
	unsigned component;
	struct agentproto_endpoint local, remote;
	const char *state; /* frozen, waiting, in-progress, succeeded, failed */
	uint64_t priority;
	bool valid, nominated;
	unsigned checks;
	int64_t rtt_ms; /* negative: none */
};
void agentproto_ev_checks(struct agentproto_out *o, uint64_t t_ms, const struct agentproto_check *c,
			  size_t n);
void agentproto_ev_consent_lost(struct agentproto_out *o, uint64_t t_ms, unsigned component,
				const struct agentproto_endpoint *local,
				const struct agentproto_endpoint *remote);
void agentproto_ev_failed(struct agentproto_out *o, uint64_t t_ms, const char *reason);
void agentproto_ev_rx(struct agentproto_out *o, uint64_t t_ms, uint32_t seq, size_t size);
struct agentproto_data_report {
	unsigned sent, received, acked, lost;
	double rtt_ms_median, rtt_ms_p95; /* negative: no sample */
};
void agentproto_ev_data(struct agentproto_out *o, uint64_t t_ms,
			const struct agentproto_data_report *r);
void agentproto_ev_log(struct agentproto_out *o, uint64_t t_ms, const char *level, const char *fmt,
		       ...) __attribute__((format(printf, 4, 5)));
void agentproto_ev_error(struct agentproto_out *o, uint64_t t_ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif

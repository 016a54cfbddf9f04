/* adaptercheck_int.h - what adaptercheck.c (the protocol rounds) and
 * adaptercheck_net.c (the trickle and STUN/TURN rounds behind NATs) share.
 * Private to `natlab adapter-check`; see adaptercheck.h. */
#ifndef NATLAB_HARNESS_ADAPTERCHECK_INT_H
#define NATLAB_HARNESS_ADAPTERCHECK_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "emu/lab.h"

#define AC_LINE_MAX   65536 /* one event line, as the harness reads them */
#define AC_CAND_IP    "10.99.0.1"
#define AC_PEER_IP    "10.99.0.2"
#define AC_ARGV_MAX   64

/* How long an agent may take to say `ready`, as natlab.ready in scenarios:
 * a browser adapter starts in 1.3-6 s alone and up to 12 s on a loaded
 * host (docs/implementations.md); a working fast agent costs nothing. */
#define AC_READY_MS 30000
#define AC_RX_SEQ_MAX 64
#define AC_DATA_N     5

/* One agent process and what its events told so far. The json_t fields
 * are owned (ac_agent_reset drops them). */
struct ac_agent {
	const char *name; /* "candidate" or "peer" */
	pid_t pid;
	int in_fd, out_fd;
	bool eof, exited;
	int status;
	char buf[AC_LINE_MAX];
	size_t len;
	long long last_t;
	bool t_fault, ev_fault, json_fault;
	json_t *ready, *local, *selected, *data, *last_error;
	json_t *cands; /* every candidate signalled since the last local (local + trickled) */
	int locals, selecteds, errors, datas;
	int trickled; /* candidate events with a candidate */
	bool ended;   /* a {"ev":"candidate","end":true} came */
	bool checking;
	char failed[256];
	char said[512];	 /* its last `error` msg or `log` msg, quoted by the next FAIL */
	bool said_new;	 /* ... not quoted yet */
	int err_fd;	 /* its stderr, read so -v can label it (-1: none) */
	char ebuf[4096]; /* a partial stderr line */
	size_t elen;
	unsigned char rx_seen[AC_RX_SEQ_MAX];
	int rx, rx_bad;
	struct ac_agent *other;
	bool has_remote; /* it was sent the peer's remote */
	json_t *queued;	 /* candidate commands held until then (owned) */
};

struct ac {
	FILE *out;
	/* the data plane of the round's two agents (harness/planechoice.h);
	 * PLANECHOICE_NONE: none in common, data is not checked */
	unsigned plane;
	/* the plane asked for: the candidate's own "--dataplane X", as the
	 * matrix passes -p dataplane=X to its agents (NULL: none) */
	const char *want_plane;
	int fails, warns;
	int timeout_ms;
	int verbose;
	bool relay;	     /* pass each complete local to the other agent as remote */
	bool trickle;	     /* ... and, trickling, every local and candidate as it comes */
	const char *cand_ip; /* the candidate's node address (its host candidate) */
	struct emu_lab *lab;
	struct emu_node *cand_node, *peer_node;
	struct ac_agent *cand, *peer; /* the two agents (owned by the round that runs them),
				       * whose words a FAIL quotes */
};

void ac_say(struct ac *ac, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *ac_jstr(const json_t *o, const char *k);

void ac_agent_reset(struct ac_agent *a, const char *name);
void ac_agent_close(struct ac *ac, struct ac_agent *a);
int ac_agent_spawn(struct ac *ac, struct ac_agent *a, struct emu_node *n, char *const *argv);
void ac_agent_send(struct ac *ac, struct ac_agent *a, const char *line);
/* takes @cmd */
void ac_agent_send_json(struct ac *ac, struct ac_agent *a, json_t *cmd);

typedef bool (*ac_cond)(struct ac_agent *cand, struct ac_agent *peer, void *arg);
/* Read both agents until @cond holds (1), @timeout_ms passes (0) or the
 * candidate's stdout closes (-1). */
int ac_pump(struct ac *ac, struct ac_agent *cand, struct ac_agent *peer, ac_cond cond, void *arg,
	    int timeout_ms);
bool ac_c_ready(struct ac_agent *c, struct ac_agent *p, void *arg);
bool ac_c_selected_both(struct ac_agent *c, struct ac_agent *p, void *arg);
bool ac_c_failed(struct ac_agent *c, struct ac_agent *p, void *arg);
bool ac_c_selected_or_failed(struct ac_agent *c, struct ac_agent *p, void *arg);
/* never holds: ac_pump then just reads both agents for its timeout */
bool ac_c_never(struct ac_agent *c, struct ac_agent *p, void *arg);

/* ac_start - both agents are ready: the offer/answer roles (two
 * answerers: a FAIL, -1) and the data plane (docs/agent-protocol.md),
 * then "gather" to both, naming the plane to an agent that declares
 * planes. @what prefixes the lines. 0 or -1. */
int ac_start(struct ac *ac, struct ac_agent *cand, struct ac_agent *peer, const char *what);

/* Field checks: each prints its FAIL lines and returns how many. */
int ac_check_local(struct ac *ac, const json_t *ev, const char *what);
int ac_check_selected(struct ac *ac, const json_t *ev, const json_t *peer_cands, const char *what);
/* send/rx/data both ways over the selected pair; @what prefixes each line.
 * With @wj, *@wire gets the wire record (harness/wirejudge.h) of the
 * window from the candidate's send until the peer has every datagram and
 * the candidate their acknowledgements (data both ways, as a matrix
 * cell's data phase), NULL with @e filled on error. */
struct wirejudge;
void ac_check_data(struct ac *ac, struct ac_agent *cand, struct ac_agent *peer, const char *what,
		   struct wirejudge *wj, json_t **wire, struct natlab_err *e);

/* argv for one agent: @base words then --role @role. @out has room for
 * AC_ARGV_MAX + 1 pointers. */
void ac_make_argv(char **out, char *const *base, const char *role);

/* adaptercheck_net.c: the candidate behind NATs with STUN and TURN
 * servers, trickling (RFC 8838) as the default matrix runs it: srflx and
 * relay candidates, end-of-candidates, a direct connection, a relay over
 * UDP and a relay over TCP. @base is the candidate's argv (no --role),
 * @peer_path the reference agent. */
void ac_net_rounds(struct ac *ac, char *const *base, const char *peer_path);

#endif

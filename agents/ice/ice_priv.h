/* ice_priv.h - the ICE agent's internals, shared by ice.c (checks,
 * requests, responses, nomination), ice_gather.c (local candidates and
 * gathering), ice_remote.c (the peer's description), ice_timer.c (pacing,
 * retransmissions, consent, restart) and ice_tcp.c (RFC 6544).
 * Not a public interface: use ice.h.
 */
#ifndef NATLAB_AGENTS_ICE_PRIV_H
#define NATLAB_AGENTS_ICE_PRIV_H

#include "agents/ice/ice.h"
#include "agents/stun/stun.h"

#define MSG_MAX	   548 /* a check is ~100 bytes; stay under the IPv4 minimum MTU */
#define GATHER_MAX (ICE_LOCALS_MAX * ICE_STUN_SERVERS_MAX)

struct gather_tx {
	int local; /* the host base */
	unsigned server;
	uint8_t txid[ICE_TXID_LEN];
	unsigned count; /* transmissions so far; 0: not sent yet */
	uint64_t next_ms;
	uint32_t rto_ms;
	bool done;
};

struct comp {
	bool selected;
	struct ice_local sel_l; /* copies: they outlive a restart */
	struct ice_candidate sel_r;
	int sel_pl, sel_pr; /* the pair's keys in the current check list, -1 */
	uint64_t sel_prio;
	uint32_t rtt_ms;
	uint64_t first_valid_ms;
	bool nominating;
	/* RFC 7675 consent freshness */
	bool ctx_active;
	uint8_t ctxid[ICE_TXID_LEN];
	uint64_t consent_next_ms;
	uint64_t consent_ok_ms;
	bool lost;
};

/* One TCP connection of an ICE-TCP candidate (RFC 6544, ice_tcp.c). */
#define ICE_TCP_CONNS_MAX 32
struct tcp_conn {
	bool used;
	bool open;   /* established (accepted ones are at once) */
	int conn;    /* the caller's handle */
	int base_id; /* the TCP base it belongs to: listener or active source */
	union ice_addr peer;
};

/* A check that came before the peer's credentials (ice.c, on_request). */
struct early_req {
	int local, remote;
	int conn; /* TCP: the connection it came on; else -1 */
	bool use_cand;
};

struct tq_entry {
	int local, remote;
};

struct ice_agent {
	struct ice_config cfg;
	struct ice_io io;
	uint64_t rng;
	bool controlling;
	uint64_t tiebreaker;
	char ufrag[ICE_UFRAG_LEN + 1];
	char pwd[ICE_PWD_LEN + 1];
	char rufrag[ICE_CRED_MAX + 1];
	char rpwd[ICE_CRED_MAX + 1];
	bool have_remote;
	bool remote_done;
	struct ice_local locals[ICE_LOCALS_MAX];
	unsigned nlocals;
	struct ice_candidate remotes[ICE_REMOTES_MAX];
	unsigned nremotes;
	unsigned prflx_seq;
	struct ice_checklist cl;
	struct tq_entry tq[ICE_CHECKLIST_MAX];
	unsigned tq_n;
	struct early_req early[ICE_CHECKLIST_MAX];
	unsigned nearly;
	struct gather_tx gtx[GATHER_MAX];
	unsigned ngtx;
	bool gathering;
	uint64_t gather_start_ms;
	bool relay_pending;
	bool gather_complete;
	uint64_t next_pace_ms;
	struct comp *comps; /* [1..components] */
	enum ice_state state;
	bool failed_reported;
	unsigned checks_sent;
	struct tcp_conn tconns[ICE_TCP_CONNS_MAX];
};

uint64_t icei_rng_next(struct ice_agent *a);
void icei_new_txid(struct ice_agent *a, uint8_t txid[ICE_TXID_LEN]);
void icei_emit(struct ice_agent *a, const struct ice_event *ev);
void icei_logf(struct ice_agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void icei_set_state(struct ice_agent *a, enum ice_state s);
void icei_from_stun(union ice_addr *a, const struct stun_addr *s);
uint32_t icei_ta(const struct ice_agent *a);
void icei_new_credentials(struct ice_agent *a);
bool icei_local_pairs(const struct ice_local *l);
void icei_pair_local_with_remotes(struct ice_agent *a, int li);
int icei_tq_pop(struct ice_agent *a);
void icei_tq_push(struct ice_agent *a, int local, int remote);
void icei_pair_remote_with_locals(struct ice_agent *a, int ri);
/* ice_remote.c */
void icei_record_early(struct ice_agent *a, int li, int ri, int conn, bool use_cand);
long icei_build_request(struct ice_agent *a, const uint8_t txid[ICE_TXID_LEN],
			const struct ice_local *l, bool use_cand, bool controlling, uint8_t *buf,
			size_t cap);
void icei_send_pair_request(struct ice_agent *a, struct ice_pair *p);
void icei_start_check(struct ice_agent *a, int pi, uint64_t now);
bool icei_all_selected(const struct ice_agent *a);
/* icei_checks_wanted - ordinary checks go on: some component has no
 * selected pair, or (--nominate-relay-first) sits on a relayed one. */
bool icei_checks_wanted(const struct ice_agent *a);
void icei_maybe_nominate(struct ice_agent *a, uint64_t now);
uint64_t icei_nominate_deadline(const struct ice_agent *a);
void icei_restart(struct ice_agent *a, bool relay_pending, bool regather, uint64_t now);
int icei_add_local(struct ice_agent *a, const struct ice_local *l);
int icei_find_local_by_base(const struct ice_agent *a, int base_id);
void icei_gather_check_done(struct ice_agent *a);
void icei_send_gather(struct ice_agent *a, struct gather_tx *g, uint64_t now);
void icei_on_gather_response(struct ice_agent *a, struct gather_tx *g, const struct stun_msg *m,
			     uint64_t now);

/* ice_tcp.c: TCP candidates (RFC 6544) */
bool icei_pair_is_tcp(const struct ice_agent *a, const struct ice_pair *p);
bool icei_local_checkable(const struct ice_local *l);
struct tcp_conn *icei_tcp_conn(struct ice_agent *a, int conn);
uint32_t icei_tcp_prflx_priority(const struct ice_local *l);
void icei_tcp_send(struct ice_agent *a, struct ice_pair *p, const uint8_t *buf, size_t len);
void icei_tcp_fail_pair(struct ice_agent *a, struct ice_pair *p);
int icei_tcp_learn_remote(struct ice_agent *a, int li, const union ice_addr *from,
			  uint32_t priority);
void icei_tcp_bind_pair(struct ice_agent *a, struct ice_pair *p, int conn);
int icei_tcp_mapped_local(const struct ice_agent *a, int li, const union ice_addr *mapped);
void icei_tcp_close_unused(struct ice_agent *a, bool keep_checking);

#endif

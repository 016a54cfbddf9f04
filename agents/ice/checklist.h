/* checklist.h - RFC 8445 §6.1.2 candidate pairs: formation, priority,
 * ordering, pruning and the Frozen/Waiting/In-Progress/Succeeded/Failed
 * states. Pure code; the agent (ice.c) owns the list and drives it.
 */
#ifndef NATLAB_AGENTS_ICE_CHECKLIST_H
#define NATLAB_AGENTS_ICE_CHECKLIST_H

#include <stdbool.h>
#include <stdint.h>
#include "agents/ice/candidate.h"

/* RFC 8445 §6.1.2.5: "implementations SHOULD limit the number of
 * candidate pairs ... The default for that limit is 100." */
#define ICE_CHECKLIST_MAX 100
#define ICE_TXID_LEN	  12

enum ice_pair_state {
	ICE_PAIR_FROZEN,
	ICE_PAIR_WAITING,
	ICE_PAIR_IN_PROGRESS,
	ICE_PAIR_SUCCEEDED,
	ICE_PAIR_FAILED,
};

/* A local candidate as the agent keeps it: the candidate plus its base
 * (RFC 8445 §5.1.1: "the base of a server-reflexive candidate is the host
 * candidate from which it was derived") and the socket it leaves from. */
struct ice_local {
	struct ice_candidate c;
	union ice_addr base;
	int base_id; /* the caller's socket handle */
	bool hidden; /* a base not signalled (policy nohost) */
};

struct ice_pair {
	int local;  /* index into the local candidate table */
	int remote; /* index into the remote candidate table */
	unsigned component;
	uint64_t priority;
	enum ice_pair_state state;
	char foundation[2 * ICE_FOUNDATION_MAX + 2]; /* "local:remote" */
	/* check transaction */
	uint8_t txid[ICE_TXID_LEN];
	bool tx_active;
	bool tx_use_candidate; /* the check in flight carries USE-CANDIDATE */
	bool tx_controlling;   /* ... and ICE-CONTROLLING (else CONTROLLED) */
	bool tx_fast_rtx;      /* the one early retransmit was used */
	bool old_active;       /* a cancelled transaction still answerable */
	uint8_t old_txid[ICE_TXID_LEN];
	bool nominate_pending; /* regular nomination: next check nominates */
	unsigned tx_count;
	uint64_t tx_next_ms;
	uint64_t tx_first_ms;
	uint32_t tx_rto_ms;
	bool triggered; /* queued in the triggered-check queue */
	/* TCP pairs (RFC 6544): the connection the checks travel on (the
	 * caller's handle), -1 while there is none; UDP pairs: -1 */
	int conn;
	/* results */
	bool valid;	  /* in the valid list (RFC 8445 §7.2.5.3.2) */
	bool nominated;	  /* RFC 8445 §8.1.1 */
	bool use_cand_rx; /* peer sent USE-CANDIDATE on this pair */
	int valid_local;  /* local candidate of the valid pair (may be prflx) */
	uint32_t rtt_ms;
};

struct ice_checklist {
	struct ice_pair pairs[ICE_CHECKLIST_MAX];
	unsigned n;
};

/* RFC 8445 §6.1.2.3: pair priority from the controlling agent's candidate
 * priority @g and the controlled agent's @d. */
uint64_t ice_pair_priority(uint32_t g, uint32_t d);

/* ice_checklist_add - RFC 8445 §6.1.2.2 pair @local with @remote when they
 * can be paired (same component, same address family, same transport; for
 * TCP an active local with a passive remote). A server-reflexive local is
 * replaced by its base (§6.1.2.4), and a pair redundant with one already
 * in the list (same base, same remote) is dropped unless it has higher
 * priority. Keeps the list sorted by decreasing priority. Returns the
 * pair's index, -EEXIST when redundant, -EINVAL when not pairable,
 * -ENOSPC when the list is full (and the new pair is lower than all). */
int ice_checklist_add(struct ice_checklist *cl, const struct ice_local *locals, int local,
		      const struct ice_candidate *remotes, int remote, bool controlling);

/* ice_checklist_reprioritize - recompute every pair's priority after a
 * role change (RFC 8445 §7.2.5.1) and sort again. */
void ice_checklist_reprioritize(struct ice_checklist *cl, const struct ice_local *locals,
				const struct ice_candidate *remotes, bool controlling);

/* ice_checklist_find - the pair with @local (as a base) and @remote. */
int ice_checklist_find(const struct ice_checklist *cl, int local, int remote);

/* ice_checklist_unfreeze_initial - RFC 8445 §6.1.2.6: for each foundation,
 * set the first pair (lowest component ID, then highest priority) to
 * Waiting. */
void ice_checklist_unfreeze_initial(struct ice_checklist *cl);

/* ice_checklist_unfreeze_foundation - RFC 8445 §7.2.5.3.3: after a check
 * succeeds, "the agent MUST change the states for all other Frozen pairs
 * in all checklists with the same foundation to Waiting". */
void ice_checklist_unfreeze_foundation(struct ice_checklist *cl, const char *foundation);

/* ice_checklist_next_ordinary - RFC 8445 §6.1.4.2: the highest-priority
 * Waiting pair; if none, unfreeze the highest-priority Frozen pair whose
 * foundation has no pair Waiting or In-Progress, and return it. -1 when no
 * pair can be checked. */
int ice_checklist_next_ordinary(struct ice_checklist *cl);

unsigned ice_checklist_count(const struct ice_checklist *cl, enum ice_pair_state s);

const char *ice_pair_state_name(enum ice_pair_state s);

#endif

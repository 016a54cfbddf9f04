/* turn_server_priv.h - what the files of the TURN server share
 * (turn_server.c: control; turn_forward.c: data; turn_tcprelay.c: RFC 6062).
 * Not a public interface.
 *
 * The comments next to each rule give the RFC section and the requirement
 * in substance; they are paraphrases written from the RFCs, not checked
 * verbatim quotations, so read the section for the exact wording. */
#ifndef NATLAB_TURN_SERVER_PRIV_H
#define NATLAB_TURN_SERVER_PRIV_H

#include <jansson.h>

#include "agents/stun/stun.h"
#include "agents/turn/turn_auth.h"
#include "agents/turn/turn_policy.h"
#include "agents/turn/turn_server.h"

/* RFC 8656 §7.2: a reservation (EVEN-PORT with R) SHOULD be kept for
 * approximately 30 seconds. */
#define RESV_MAX     64
#define RESV_LIFE_MS 30000u
#define RESV_COOKIE  0x80000000u
/* proto numbers of REQUESTED-TRANSPORT (RFC 8656 §14.7) */
#define PROTO_UDP 17
#define PROTO_TCP 6
/* a relay cookie is slot * 2 + which relay of the allocation */
#define COOKIE(slot, i) ((uint32_t)(slot)*2u + (uint32_t)(i))

struct resv {
	bool used;
	uint64_t token;
	int handle;
	int family;
	struct sockaddr_storage addr;
	uint64_t expires_ms;
};

struct turn_tcpconn;

struct turn_server {
	struct turn_server_config cfg;
	char *realm, *secret, *software;
	struct sockaddr_storage alternate;
	bool have_alternate;
	struct turn_server_io io;
	struct turn_auth *auth;
	struct turn_policy *policy;
	struct turn_ratelimit *rate;
	struct turn_alloc_table *tab;
	struct resv resv[RESV_MAX];
	struct turn_tcpconn *tcp; /* RFC 6062 connections, TURN_TCPCONN_MAX */
	uint32_t tcp_next_id;
	uint64_t start_ms, next_stats_ms;
	/* scratch for every message built; relay receive buffer with room for
	 * a ChannelData header in front */
	uint8_t out[STUN_MAX_MSG_LEN + 64];
	uint8_t rbuf[STUN_CHANNEL_HEADER_LEN + 65536 + 4];
};

/* What authentication established for one request. */
struct authn {
	char user[TURN_AUTH_USERNAME_MAX];
	uint8_t key[TURN_AUTH_KEY_MAX];
	int keylen;
	enum turn_auth_alg alg;
	bool sha256;	  /* the request used MESSAGE-INTEGRITY-SHA256 */
	bool fingerprint; /* the request carried FINGERPRINT: answer with one */
};

void turn_srv_answer_begin(struct turn_server *s, struct stun_builder *b, const struct stun_msg *m,
			   enum stun_class cls);
/* seal with integrity when @au (authenticated) and send */
void turn_srv_answer_send(struct turn_server *s, const struct turn_key *k, struct stun_builder *b,
			  const struct authn *au);
void turn_srv_answer_error(struct turn_server *s, const struct turn_key *k,
			   const struct stun_msg *m, int code, const struct authn *au);
/* emit - send one event (takes the reference) */
void turn_srv_emit(struct turn_server *s, json_t *o);
json_t *turn_srv_alloc_json(struct turn_server *s, const char *ev, const struct turn_alloc *a,
			    uint64_t now_ms);
struct turn_relay *turn_srv_relay_for(struct turn_alloc *a, const struct sockaddr *peer);
int turn_srv_authenticate(struct turn_server *s, const struct turn_key *k, const struct stun_msg *m,
			  uint64_t now_ms, struct authn *au);

/* turn_tcprelay.c (RFC 6062) */
#define TURN_TCPCONN_MAX 1024
int turn_tcp_init(struct turn_server *s);
void turn_tcp_free(struct turn_server *s);
void turn_tcp_on_connect(struct turn_server *s, struct turn_alloc *a, const struct turn_key *k,
			 const struct stun_msg *m, const struct authn *au, uint64_t now_ms);
void turn_tcp_on_bind(struct turn_server *s, const struct turn_key *k, const struct stun_msg *m,
		      const struct authn *au, uint64_t now_ms);
/* close the pending connections of an allocation being deleted */
void turn_tcp_alloc_gone(struct turn_server *s, const struct turn_alloc *a);
/* expire what waited 30 s; returns the next deadline */
uint64_t turn_tcp_tick(struct turn_server *s, uint64_t now_ms);

/* turn_forward.c */
void turn_srv_on_send(struct turn_server *s, const struct turn_key *k, const struct stun_msg *m,
		      uint64_t now_ms);
void turn_srv_on_channel_data(struct turn_server *s, const struct turn_key *k, const uint8_t *buf,
			      size_t len, uint64_t now_ms);

#endif

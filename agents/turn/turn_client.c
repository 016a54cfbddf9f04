#include "agents/turn/turn_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents/stun/stun.h"
#include "agents/turn/turn_auth.h"
#include "agents/turn/turn_chandata.h"

#define TXN_MAX	     16
#define TXN_MSG_MAX  1024
#define PROTO_UDP    17
#define REDIRECT_MAX 3
#define RETRY_MAX    3
/* RFC 8489 §6.2.1: Rc SHOULD be configurable and SHOULD have a default of
 * 7; Rm SHOULD be configurable and SHOULD have a default of 16;
 * §6.2.2: over TCP the client SHOULD consider the transaction failed if it
 * has not received a response by Ti seconds ... Ti SHOULD be configurable
 * and SHOULD have a default of 39.5s. */
#define RC    7
#define RM    16
#define TI_MS 39500

struct peer_ent {
	bool used;
	struct sockaddr_storage addr;
	bool want_perm, perm_ok;
	uint64_t perm_next_ms;
	uint16_t chan;
	bool want_chan, chan_ok;
	uint64_t chan_next_ms;
};

struct txn {
	bool used;
	uint8_t tid[STUN_TID_LEN];
	enum turn_client_op op;
	int peer;	/* index in peers, or -1 */
	bool close;	/* a Refresh with LIFETIME 0 */
	bool forged;	/* an answer failed authentication and was discarded */
	uint8_t key[TURN_AUTH_KEY_MAX]; /* the key the request was signed with */
	int keylen;			/* 0: sent without MESSAGE-INTEGRITY */
	int retries;	/* 401/438 retries */
	uint8_t msg[TXN_MSG_MAX];
	size_t len;
	uint64_t next_ms;
	uint32_t rto_ms;
	int sent;
};

struct turn_client {
	struct turn_client_config cfg;
	char *user, *pass, *software;
	struct turn_client_cb cb;
	struct sockaddr_storage server;
	enum turn_client_state state;
	int error;
	/* what the server's last challenge said */
	char realm[TURN_AUTH_REALM_MAX];
	uint8_t nonce[TURN_AUTH_NONCE_MAX];
	size_t nonce_len;
	bool have_creds;
	uint16_t algs[8];
	size_t nalgs;
	bool use_algs;	/* answer with PASSWORD-ALGORITHM(S) (RFC 8489 §9.2.3.2) */
	bool anonymity; /* the nonce announces username anonymity (USERHASH) */
	uint8_t key[TURN_AUTH_KEY_MAX];
	int keylen;
	bool sha256;
	/* the allocation */
	struct sockaddr_storage relayed[2], mapped;
	bool have_relayed[2];
	uint32_t lifetime_s;
	uint64_t refresh_at_ms;
	int redirects;
	struct peer_ent peers[TURN_CLIENT_PEERS_MAX];
	uint16_t next_chan;
	struct txn txn[TXN_MAX];
	uint64_t ind_ctr;
	uint8_t out[STUN_MAX_MSG_LEN + 64];
};

static void set_state(struct turn_client *c, enum turn_client_state st, int code)
{
	c->state = st;
	c->error = code;
	if (c->cb.state)
		c->cb.state(c->cb.ctx, st, code);
}

struct turn_client *turn_client_new(const struct turn_client_config *cfg,
				    const struct turn_client_cb *cb, const struct sockaddr *server,
				    char *msg, size_t msglen)
{
	struct turn_client *c = calloc(1, sizeof(*c));

	if (!c) {
		snprintf(msg, msglen, "turn client: out of memory");
		return NULL;
	}
	if (!cfg->user || !cfg->pass || strlen(cfg->user) >= TURN_AUTH_USERNAME_MAX) {
		snprintf(msg, msglen,
			 "turn client: a user name (< %d bytes) and a password are needed",
			 TURN_AUTH_USERNAME_MAX);
		goto fail;
	}
	c->cfg = *cfg;
	c->cb = *cb;
	c->user = strdup(cfg->user);
	c->pass = strdup(cfg->pass);
	c->software = cfg->software ? strdup(cfg->software) : NULL;
	if (!c->user || !c->pass || (cfg->software && !c->software)) {
		snprintf(msg, msglen, "turn client: out of memory");
		goto fail;
	}
	c->cfg.user = c->user;
	c->cfg.pass = c->pass;
	c->cfg.software = c->software;
	if (!c->cfg.family)
		c->cfg.family = AF_INET;
	if (!c->cfg.rto_ms)
		c->cfg.rto_ms = 500;
	if (!c->cfg.perm_refresh_ms)
		c->cfg.perm_refresh_ms = 240000;
	if (!c->cfg.chan_refresh_ms)
		c->cfg.chan_refresh_ms = 540000;
	memcpy(&c->server, server, turn_addr_len(server));
	c->next_chan = STUN_CHANNEL_MIN;
	return c;
fail:
	turn_client_free(c);
	return NULL;
}

void turn_client_free(struct turn_client *c)
{
	if (!c)
		return;
	free(c->user);
	free(c->pass);
	free(c->software);
	free(c);
}

/* ---- requests ----------------------------------------------------------- */

static uint16_t op_method(enum turn_client_op op)
{
	switch (op) {
	case TURN_CLIENT_OP_ALLOCATE:
		return STUN_METHOD_ALLOCATE;
	case TURN_CLIENT_OP_REFRESH:
		return STUN_METHOD_REFRESH;
	case TURN_CLIENT_OP_PERMISSION:
		return STUN_METHOD_CREATE_PERMISSION;
	case TURN_CLIENT_OP_CHANNEL:
		return STUN_METHOD_CHANNEL_BIND;
	}
	return 0;
}

static void add_peer_addr(struct stun_builder *b, const struct sockaddr_storage *ss)
{
	struct stun_addr a;
	stun_addr_from_sockaddr(&a, (const struct sockaddr *)ss,
				turn_addr_len((const struct sockaddr *)ss));
	stun_builder_add_xor_addr(b, STUN_ATTR_XOR_PEER_ADDRESS, &a);
}

/* txn_send - (re)build the request of @t with a new transaction ID and the
 * credentials known now, and send it. */
static int txn_send(struct turn_client *c, struct txn *t, uint64_t now_ms)
{
	struct stun_builder b;

	if (stun_tid_random(t->tid) != 0)
		return -EIO;
	t->forged = false; /* a new transaction (§9.2.5 counts per transaction) */
	stun_builder_init(&b, t->msg, sizeof(t->msg),
			  stun_type_make(STUN_CLASS_REQUEST, op_method(t->op)), t->tid);
	switch (t->op) {
	case TURN_CLIENT_OP_ALLOCATE:
		stun_builder_add_requested_transport(&b, PROTO_UDP);
		if (c->cfg.lifetime_s)
			stun_builder_add_u32(&b, STUN_ATTR_LIFETIME, c->cfg.lifetime_s);
		/* RFC 6156 / RFC 8656 §7.1: ask for a family other than IPv4
		 * with REQUESTED-ADDRESS-FAMILY, for both with
		 * ADDITIONAL-ADDRESS-FAMILY (IPv6) */
		if (c->cfg.dual)
			stun_builder_add_family(&b, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, AF_INET6);
		else if (c->cfg.family == AF_INET6)
			stun_builder_add_family(&b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, AF_INET6);
		if (c->cfg.dont_fragment)
			stun_builder_add_flag(&b, STUN_ATTR_DONT_FRAGMENT);
		break;
	case TURN_CLIENT_OP_REFRESH:
		stun_builder_add_u32(&b, STUN_ATTR_LIFETIME,
				     t->close		 ? 0
				     : c->cfg.lifetime_s ? c->cfg.lifetime_s
							 : 600);
		break;
	case TURN_CLIENT_OP_PERMISSION:
		add_peer_addr(&b, &c->peers[t->peer].addr);
		break;
	case TURN_CLIENT_OP_CHANNEL:
		stun_builder_add_channel(&b, c->peers[t->peer].chan);
		add_peer_addr(&b, &c->peers[t->peer].addr);
		break;
	}
	if (c->software)
		stun_builder_add_string(&b, STUN_ATTR_SOFTWARE, c->software);
	t->keylen = 0;
	if (c->have_creds) {
		/* RFC 8489 §9.2.4: if the "Username anonymity" bit is set in
		 * the nonce cookie, the client MAY use USERHASH instead of
		 * USERNAME: SHA-256 of the username, ":" and the realm. */
		uint8_t uh[32];
		if (c->cfg.userhash && c->anonymity && stun_userhash(uh, c->user, c->realm) == 0)
			stun_builder_add(&b, STUN_ATTR_USERHASH, uh, sizeof(uh));
		else
			stun_builder_add_string(&b, STUN_ATTR_USERNAME, c->user);
		stun_builder_add_string(&b, STUN_ATTR_REALM, c->realm);
		stun_builder_add(&b, STUN_ATTR_NONCE, c->nonce, c->nonce_len);
		if (c->use_algs) {
			stun_builder_add_password_algorithms(&b, c->algs, c->nalgs);
			stun_builder_add_password_algorithm(&b, c->sha256 ? STUN_PWALG_SHA256
									  : STUN_PWALG_MD5);
		}
		if (c->sha256)
			stun_builder_add_integrity_sha256(&b, c->key, (size_t)c->keylen);
		else
			stun_builder_add_integrity(&b, c->key, (size_t)c->keylen);
		memcpy(t->key, c->key, sizeof(t->key));
		t->keylen = c->keylen;
	}
	long n = stun_builder_finish(&b);
	if (n < 0)
		return (int)n;
	t->len = (size_t)n;
	t->sent = 1;
	t->rto_ms = c->cfg.rto_ms;
	t->next_ms = now_ms + (c->cfg.transport == TURN_TRANSPORT_UDP ? t->rto_ms : TI_MS);
	return c->cb.send(c->cb.ctx, (const struct sockaddr *)&c->server, t->msg, t->len);
}

static int txn_start(struct turn_client *c, enum turn_client_op op, int peer, bool close,
		     uint64_t now_ms)
{
	for (int i = 0; i < TXN_MAX; i++) {
		struct txn *t = &c->txn[i];
		if (!t->used) {
			memset(t, 0, sizeof(*t));
			t->used = true;
			t->op = op;
			t->peer = peer;
			t->close = close;
			int r = txn_send(c, t, now_ms);
			if (r < 0 && r != -EAGAIN && r != -ENOBUFS)
				t->used = false;
			return r < 0 && t->used ? 0 : r;
		}
	}
	return -EBUSY;
}

static bool txn_pending(const struct turn_client *c, enum turn_client_op op, int peer)
{
	for (int i = 0; i < TXN_MAX; i++) {
		if (c->txn[i].used && c->txn[i].op == op && c->txn[i].peer == peer)
			return true;
	}
	return false;
}

int turn_client_start(struct turn_client *c, uint64_t now_ms)
{
	for (int i = 0; i < TXN_MAX; i++)
		c->txn[i].used = false;
	c->have_relayed[0] = c->have_relayed[1] = false;
	for (int i = 0; i < TURN_CLIENT_PEERS_MAX; i++)
		c->peers[i].perm_ok = c->peers[i].chan_ok = false;
	set_state(c, TURN_CLIENT_ALLOCATING, 0);
	return txn_start(c, TURN_CLIENT_OP_ALLOCATE, -1, false, now_ms);
}

/* ---- peers ---------------------------------------------------------------- */

static int peer_find(struct turn_client *c, const struct sockaddr *peer, bool add)
{
	int free_i = -1;
	for (int i = 0; i < TURN_CLIENT_PEERS_MAX; i++) {
		if (c->peers[i].used &&
		    turn_addr_same((const struct sockaddr *)&c->peers[i].addr, peer))
			return i;
		if (!c->peers[i].used && free_i < 0)
			free_i = i;
	}
	if (!add || free_i < 0)
		return -1;
	struct peer_ent *p = &c->peers[free_i];
	memset(p, 0, sizeof(*p));
	p->used = true;
	memcpy(&p->addr, peer, turn_addr_len(peer));
	return free_i;
}

int turn_client_permit(struct turn_client *c, const struct sockaddr *peer, uint64_t now_ms)
{
	int i = peer_find(c, peer, true);
	if (i < 0)
		return -ENOSPC;
	c->peers[i].want_perm = true;
	c->peers[i].perm_next_ms = now_ms; /* due now: sent by tick once allocated */
	if (c->state == TURN_CLIENT_ALLOCATED && !txn_pending(c, TURN_CLIENT_OP_PERMISSION, i)) {
		c->peers[i].perm_next_ms = now_ms + c->cfg.perm_refresh_ms;
		return txn_start(c, TURN_CLIENT_OP_PERMISSION, i, false, now_ms);
	}
	return 0;
}

int turn_client_bind(struct turn_client *c, const struct sockaddr *peer, uint64_t now_ms)
{
	int i = peer_find(c, peer, true);
	if (i < 0)
		return -ENOSPC;
	struct peer_ent *p = &c->peers[i];
	if (!p->chan) {
		if (c->next_chan > STUN_CHANNEL_MAX)
			return -ENOSPC;
		p->chan = c->next_chan++;
	}
	p->want_chan = true;
	p->chan_next_ms = now_ms;
	if (c->state == TURN_CLIENT_ALLOCATED && !txn_pending(c, TURN_CLIENT_OP_CHANNEL, i)) {
		p->chan_next_ms = now_ms + c->cfg.chan_refresh_ms;
		return txn_start(c, TURN_CLIENT_OP_CHANNEL, i, false, now_ms);
	}
	return 0;
}

int turn_client_send(struct turn_client *c, const struct sockaddr *peer, const uint8_t *buf,
		     size_t len)
{
	long n;

	if (c->state != TURN_CLIENT_ALLOCATED)
		return -ENOTCONN;
	int i = peer_find(c, peer, false);
	if (i >= 0 && c->peers[i].chan_ok) {
		n = turn_chandata_encode(c->out, sizeof(c->out), c->peers[i].chan, buf, len,
					 c->cfg.transport != TURN_TRANSPORT_UDP);
	} else {
		struct stun_builder b;
		uint8_t tid[STUN_TID_LEN] = {0};
		/* an indication's ID only has to differ from the last ones */
		c->ind_ctr++;
		memcpy(tid, &c->ind_ctr, sizeof(c->ind_ctr));
		stun_builder_init(&b, c->out, sizeof(c->out),
				  stun_type_make(STUN_CLASS_INDICATION, STUN_METHOD_SEND), tid);
		struct sockaddr_storage ss;
		memset(&ss, 0, sizeof(ss));
		memcpy(&ss, peer, turn_addr_len(peer));
		add_peer_addr(&b, &ss);
		stun_builder_add(&b, STUN_ATTR_DATA, buf, len);
		n = stun_builder_finish(&b);
	}
	if (n < 0)
		return (int)n;
	return c->cb.send(c->cb.ctx, (const struct sockaddr *)&c->server, c->out, (size_t)n);
}

int turn_client_close(struct turn_client *c, uint64_t now_ms)
{
	if (c->state != TURN_CLIENT_ALLOCATED)
		return -ENOTCONN;
	for (int i = 0; i < TXN_MAX; i++)
		if (c->txn[i].used && c->txn[i].op == TURN_CLIENT_OP_REFRESH && c->txn[i].close)
			return 0; /* already closing */
	return txn_start(c, TURN_CLIENT_OP_REFRESH, -1, true, now_ms);
}

/* ---- answers ---------------------------------------------------------------- */

static void result(struct turn_client *c, const struct txn *t, int code)
{
	if (c->cb.result)
		c->cb.result(c->cb.ctx, t->op,
			     t->peer >= 0 ? (const struct sockaddr *)&c->peers[t->peer].addr : NULL,
			     code);
}

/* nonce_feature - whether security feature bit @n (RFC 8489 §18.1: 0
 * "Password algorithms", 1 "Username anonymity") is set in the 24 bits
 * of a nonce cookie. §9.2 does not say which end bit 0 is: natlab's server
 * (and many others: "obMatJos2gAAA") count from the most significant bit,
 * the RFC's own B.1 vector ("AAAC" for username anonymity) from the least.
 * The two readings never collide for the defined bits, so accept both. */
static bool nonce_feature(uint32_t features, unsigned n)
{
	return (features & (1u << n)) || (features & (0x800000u >> n));
}

/* learn_challenge - take REALM, NONCE and PASSWORD-ALGORITHMS from a 401 or
 * 438 and derive the key. All or nothing: a challenge that lacks one of
 * them, or offers no algorithm we know, leaves the credentials as they
 * were (found by agents/fuzz/turn_client_seq: a 401 with REALM but no
 * NONCE replaced the realm only, and every later request carried a realm
 * that did not match its nonce and key, so the server refused it). */
static int learn_challenge(struct turn_client *c, const struct stun_msg *m)
{
	char realm[TURN_AUTH_REALM_MAX];
	const uint8_t *nonce;
	size_t nlen, nalgs = 0;
	uint16_t algs[8];
	uint32_t features = 0;
	uint8_t key[TURN_AUTH_KEY_MAX];
	bool use_algs = false, sha256 = false, anonymity;

	if (stun_msg_get_string(m, STUN_ATTR_REALM, realm, sizeof(realm)) != 0 ||
	    stun_msg_get_bytes(m, STUN_ATTR_NONCE, &nonce, &nlen) != 0 || nlen > sizeof(c->nonce))
		return -EBADMSG;
	/* RFC 8489 §9.2.3.2: when the nonce carries the Password algorithms
	 * feature bit and the answer has PASSWORD-ALGORITHMS, the client picks
	 * one it supports and echoes the list and its choice. */
	bool have_features = stun_nonce_features(nonce, nlen, &features) == 0;
	anonymity = have_features && nonce_feature(features, 1);
	if (have_features && nonce_feature(features, 0) &&
	    stun_msg_get_password_algorithms(m, algs, 8, &nalgs) == 0) {
		bool md5 = false, sha = false;
		for (size_t i = 0; i < nalgs; i++) {
			md5 |= algs[i] == STUN_PWALG_MD5;
			sha |= algs[i] == STUN_PWALG_SHA256;
		}
		if (!md5 && !sha)
			return -EPROTONOSUPPORT;
		use_algs = true;
		sha256 = sha && (c->cfg.prefer_sha256 || !md5);
	}
	int keylen = turn_auth_key(sha256 ? TURN_AUTH_ALG_SHA256 : TURN_AUTH_ALG_MD5, c->user,
				   strlen(c->user), realm, c->pass, key);
	if (keylen <= 0)
		return -EINVAL;
	memcpy(c->realm, realm, sizeof(c->realm));
	memcpy(c->nonce, nonce, nlen);
	c->nonce_len = nlen;
	memcpy(c->algs, algs, sizeof(c->algs));
	c->nalgs = nalgs;
	c->use_algs = use_algs;
	c->sha256 = sha256;
	c->anonymity = anonymity;
	memcpy(c->key, key, sizeof(c->key));
	c->keylen = keylen;
	c->have_creds = true;
	return 0;
}

static void schedule_refresh(struct turn_client *c, uint64_t now_ms)
{
	uint64_t life = (uint64_t)c->lifetime_s * 1000u;
	/* refresh a minute before the end, or at half time when short */
	c->refresh_at_ms = now_ms + (life > 120000 ? life - 60000 : life / 2);
}

/* refresh_end - a Refresh ended with @code (0: success). Only an
 * allocation still held changes state: RFC 8656 §7 a Refresh with
 * LIFETIME 0 deletes it (CLOSED), a failed one means it is lost (FAILED).
 * Once closed or failed, the answer (or timeout) of another Refresh that
 * was pending changes nothing: found by agents/fuzz/turn_client_seq, two
 * closes that timed out reported CLOSED twice, and a refresh that failed
 * after the close turned CLOSED into FAILED. */
static void refresh_end(struct turn_client *c, const struct txn *t, int code)
{
	if (c->state != TURN_CLIENT_ALLOCATED)
		return;
	if (t->close)
		set_state(c, TURN_CLIENT_CLOSED, code);
	else if (code)
		set_state(c, TURN_CLIENT_FAILED, code);
}

/* txn_fail - @t ends without a usable answer (@code: -ETIMEDOUT, -EPROTO
 * for an answer that had to be discarded, -EBADMSG for one that failed
 * authentication). */
static void txn_fail(struct turn_client *c, struct txn *t, int code)
{
	t->used = false;
	result(c, t, code);
	if (t->op == TURN_CLIENT_OP_ALLOCATE)
		set_state(c, TURN_CLIENT_FAILED, code);
	else if (t->op == TURN_CLIENT_OP_REFRESH)
		refresh_end(c, t, code);
}

static void on_allocated(struct turn_client *c, const struct stun_msg *m, uint64_t now_ms)
{
	struct stun_addr a;
	uint32_t life = 600;

	for (int i = 0; i < 2; i++) {
		c->have_relayed[i] = stun_msg_get_xor_addr_nth(m, STUN_ATTR_XOR_RELAYED_ADDRESS,
							       (unsigned)i, &a) == 0;
		if (c->have_relayed[i])
			stun_addr_to_sockaddr(&a, &c->relayed[i]);
	}
	if (stun_msg_get_xor_addr(m, STUN_ATTR_XOR_MAPPED_ADDRESS, &a) == 0)
		stun_addr_to_sockaddr(&a, &c->mapped);
	stun_msg_get_u32(m, STUN_ATTR_LIFETIME, &life);
	c->lifetime_s = life;
	schedule_refresh(c, now_ms);
	if (!c->have_relayed[0]) {
		set_state(c, TURN_CLIENT_FAILED, -EBADMSG);
		return;
	}
	set_state(c, TURN_CLIENT_ALLOCATED, 0);
	/* permissions and channels asked for before the allocation: now */
	turn_client_tick(c, now_ms);
}

static void on_error(struct turn_client *c, struct txn *t, const struct stun_msg *m, int code,
		     uint64_t now_ms)
{
	/* 401: the first challenge, or a nonce we did not have yet: answer it;
	 * a 401 to a request that had our credentials means they are wrong.
	 * 438: the client SHOULD retry the request using the new NONCE */
	if ((code == 401 && t->keylen == 0) || code == 438) {
		if (t->retries < RETRY_MAX && learn_challenge(c, m) == 0) {
			t->retries++;
			txn_send(c, t, now_ms);
			return;
		}
	}
	if (code == 300 && t->op == TURN_CLIENT_OP_ALLOCATE) {
		struct stun_addr alt;
		/* RFC 8489 §10: the client ... SHOULD use the transport
		 * address in ALTERNATE-SERVER */
		if (c->redirects < REDIRECT_MAX &&
		    stun_msg_get_addr(m, STUN_ATTR_ALTERNATE_SERVER, &alt) == 0) {
			c->redirects++;
			t->used = false;
			stun_addr_to_sockaddr(&alt, &c->server);
			c->have_creds = false; /* another server, another nonce */
			if (c->cfg.transport == TURN_TRANSPORT_UDP)
				turn_client_start(c, now_ms);
			else
				set_state(c, TURN_CLIENT_REDIRECTED, 300);
			return;
		}
	}
	t->used = false;
	result(c, t, code);
	switch (t->op) {
	case TURN_CLIENT_OP_ALLOCATE:
		set_state(c, TURN_CLIENT_FAILED, code);
		break;
	case TURN_CLIENT_OP_REFRESH:
		/* 437: the allocation is gone */
		refresh_end(c, t, code);
		break;
	case TURN_CLIENT_OP_PERMISSION:
		c->peers[t->peer].want_perm = false;
		c->peers[t->peer].perm_ok = false;
		break;
	case TURN_CLIENT_OP_CHANNEL:
		c->peers[t->peer].want_chan = false;
		c->peers[t->peer].chan_ok = false;
		break;
	}
}

static void on_response(struct turn_client *c, const struct stun_msg *m, uint64_t now_ms)
{
	struct txn *t = NULL;
	int code = 0;
	const char *reason;
	size_t rlen;

	for (int i = 0; i < TXN_MAX && !t; i++) {
		if (c->txn[i].used && memcmp(c->txn[i].tid, m->tid, STUN_TID_LEN) == 0)
			t = &c->txn[i];
	}
	if (!t || m->method != op_method(t->op))
		return;
	if (m->cls == STUN_CLASS_ERROR && stun_msg_get_error(m, &code, &reason, &rlen) != 0)
		code = 400;
	/* RFC 8489 §9.2.5: an answer to a request that carried our
	 * credentials, other than a 401 or 438 challenge, is authenticated by
	 * its MESSAGE-INTEGRITY(-SHA256), computed "using the same password it
	 * utilized for the request". "If the value does not match, or if both
	 * MESSAGE-INTEGRITY and MESSAGE-INTEGRITY-SHA256 are absent": over an
	 * unreliable transport "the response MUST be discarded, as if it had
	 * never been received" (retransmissions go on, and a timeout then
	 * signals the violation); over a reliable one it is discarded and "the
	 * layer MUST immediately end the transaction". */
	if (t->keylen > 0 && code != 401 && code != 438 &&
	    ((m->mi_idx < 0 && m->mi256_idx < 0) ||
	     stun_msg_check_integrity(m, t->key, (size_t)t->keylen) != 0)) {
		t->forged = true;
		if (c->cfg.transport != TURN_TRANSPORT_UDP)
			txn_fail(c, t, -EBADMSG);
		return;
	}
	/* RFC 8489 §6.3.3: If the success response contains unknown
	 * comprehension-required attributes, the response is discarded and
	 * the transaction is considered to have failed. §6.3.4: If the error
	 * response contains unknown comprehension-required attributes ...
	 * the transaction is simply considered to have failed. */
	if (m->n_unknown) {
		txn_fail(c, t, -EPROTO);
		return;
	}
	if (m->cls == STUN_CLASS_ERROR) {
		on_error(c, t, m, code, now_ms);
		return;
	}
	t->used = false;
	switch (t->op) {
	case TURN_CLIENT_OP_ALLOCATE:
		on_allocated(c, m, now_ms);
		break;
	case TURN_CLIENT_OP_REFRESH:
		if (t->close) {
			refresh_end(c, t, 0);
		} else {
			uint32_t life = c->lifetime_s;
			stun_msg_get_u32(m, STUN_ATTR_LIFETIME, &life);
			c->lifetime_s = life;
			schedule_refresh(c, now_ms);
		}
		break;
	case TURN_CLIENT_OP_PERMISSION:
		c->peers[t->peer].perm_ok = true;
		break;
	case TURN_CLIENT_OP_CHANNEL:
		/* a channel also installs the permission (RFC 8656 §12.2) */
		c->peers[t->peer].chan_ok = true;
		c->peers[t->peer].perm_ok = true;
		break;
	}
	result(c, t, 0);
}

int turn_client_input(struct turn_client *c, const uint8_t *buf, size_t len, uint64_t now_ms)
{
	struct stun_msg m;

	if (len >= 4 && (buf[0] & 0xc0) == 0x40) {
		uint16_t ch;
		const uint8_t *data;
		size_t dlen;
		if (turn_chandata_decode(buf, len, &ch, &data, &dlen) < 0)
			return 0;
		for (int i = 0; i < TURN_CLIENT_PEERS_MAX; i++) {
			struct peer_ent *p = &c->peers[i];
			if (p->used && p->chan == ch && p->chan_ok) {
				if (c->cb.data)
					c->cb.data(c->cb.ctx, (const struct sockaddr *)&p->addr,
						   data, dlen);
				return 1;
			}
		}
		return 1; /* ChannelData on an unknown channel: ours, dropped */
	}
	if (stun_msg_decode(&m, buf, len, 0, NULL) != 0)
		return 0;
	if (m.cls == STUN_CLASS_INDICATION && m.method == STUN_METHOD_DATA) {
		struct stun_addr p;
		struct sockaddr_storage peer;
		const uint8_t *data;
		size_t dlen;
		if (stun_msg_get_xor_addr(&m, STUN_ATTR_XOR_PEER_ADDRESS, &p) != 0 ||
		    stun_msg_get_bytes(&m, STUN_ATTR_DATA, &data, &dlen) != 0)
			return 1;
		stun_addr_to_sockaddr(&p, &peer);
		if (c->cb.data)
			c->cb.data(c->cb.ctx, (const struct sockaddr *)&peer, data, dlen);
		return 1;
	}
	if (m.cls == STUN_CLASS_SUCCESS || m.cls == STUN_CLASS_ERROR) {
		on_response(c, &m, now_ms);
		return 1;
	}
	return 0;
}

uint64_t turn_client_tick(struct turn_client *c, uint64_t now_ms)
{
	uint64_t next = now_ms + 60000;

	for (int i = 0; i < TXN_MAX; i++) {
		struct txn *t = &c->txn[i];
		if (!t->used || t->next_ms > now_ms)
			continue;
		if (c->cfg.transport == TURN_TRANSPORT_UDP && t->sent < RC) {
			/* RFC 8489 §6.2.1: the RTO doubles after each
			 * retransmission; after the last one the client waits
			 * Rm times the initial RTO. */
			c->cb.send(c->cb.ctx, (const struct sockaddr *)&c->server, t->msg, t->len);
			t->sent++;
			t->rto_ms *= 2;
			t->next_ms =
			    now_ms + (t->sent == RC ? (uint64_t)RM * c->cfg.rto_ms : t->rto_ms);
			continue;
		}
		txn_fail(c, t, t->forged ? -EBADMSG : -ETIMEDOUT);
	}
	/* A deadline that has come must move forward even while its request
	 * is still pending: that request has its own retransmission timer
	 * (RFC 8489 §6.2.1), and a deadline left in the past made every tick
	 * return "now", so the owner spun until the answer came (up to Ti =
	 * 39.5 s; found by agents/fuzz/turn_client_seq). */
	if (c->state == TURN_CLIENT_ALLOCATED) {
		if (now_ms >= c->refresh_at_ms) {
			if (!txn_pending(c, TURN_CLIENT_OP_REFRESH, -1))
				txn_start(c, TURN_CLIENT_OP_REFRESH, -1, false, now_ms);
			c->refresh_at_ms = now_ms + 5000; /* until the answer reschedules */
		}
		if (c->refresh_at_ms < next)
			next = c->refresh_at_ms;
		for (int i = 0; i < TURN_CLIENT_PEERS_MAX; i++) {
			struct peer_ent *p = &c->peers[i];
			if (!p->used)
				continue;
			if (p->want_perm && now_ms >= p->perm_next_ms) {
				p->perm_next_ms = now_ms + c->cfg.perm_refresh_ms;
				if (!txn_pending(c, TURN_CLIENT_OP_PERMISSION, i))
					txn_start(c, TURN_CLIENT_OP_PERMISSION, i, false, now_ms);
			}
			if (p->want_chan && now_ms >= p->chan_next_ms) {
				p->chan_next_ms = now_ms + c->cfg.chan_refresh_ms;
				if (!txn_pending(c, TURN_CLIENT_OP_CHANNEL, i))
					txn_start(c, TURN_CLIENT_OP_CHANNEL, i, false, now_ms);
			}
			if (p->want_perm && p->perm_next_ms < next)
				next = p->perm_next_ms;
			if (p->want_chan && p->chan_next_ms < next)
				next = p->chan_next_ms;
		}
	}
	for (int i = 0; i < TXN_MAX; i++) {
		if (c->txn[i].used && c->txn[i].next_ms < next)
			next = c->txn[i].next_ms;
	}
	return next;
}

enum turn_client_state turn_client_state(const struct turn_client *c)
{
	return c->state;
}

int turn_client_error(const struct turn_client *c)
{
	return c->error;
}

int turn_client_relayed(const struct turn_client *c, int i, struct sockaddr_storage *out)
{
	if (i < 0 || i > 1 || !c->have_relayed[i])
		return -ENOENT;
	*out = c->relayed[i];
	return 0;
}

int turn_client_mapped(const struct turn_client *c, struct sockaddr_storage *out)
{
	if (!c->have_relayed[0])
		return -ENOENT;
	*out = c->mapped;
	return 0;
}

const struct sockaddr *turn_client_server(const struct turn_client *c)
{
	return (const struct sockaddr *)&c->server;
}

uint32_t turn_client_lifetime_s(const struct turn_client *c)
{
	return c->lifetime_s;
}

void turn_client_auth_used(const struct turn_client *c, bool *sha256, bool *userhash)
{
	*sha256 = c->have_creds && c->sha256;
	*userhash = c->have_creds && c->cfg.userhash && c->anonymity;
}

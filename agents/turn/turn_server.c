#include "agents/turn/turn_server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <jansson.h>

#include "agents/stun/stun.h"
#include "agents/turn/turn_auth.h"
#include "agents/turn/turn_chandata.h"
#include "agents/turn/turn_policy.h"
#include "agents/turn/turn_server_priv.h"

static uint32_t def(uint32_t v, uint32_t d)
{
	return v ? v : d;
}

void turn_server_config_defaults(struct turn_server_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_allocs = TURN_DEFAULT_MAX_ALLOCS;
	cfg->user_quota = TURN_DEFAULT_USER_QUOTA;
	cfg->bandwidth_bytes_s = TURN_DEFAULT_BANDWIDTH_BYTES_S;
	cfg->requests_per_s = TURN_DEFAULT_REQUESTS_PER_S;
}

struct turn_server *turn_server_new(const struct turn_server_config *cfg,
				    const struct turn_server_io *io, uint64_t now_ms, char *msg,
				    size_t msglen)
{
	struct turn_server *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(msg, msglen, "turn server: out of memory");
		return NULL;
	}
	s->cfg = *cfg;
	s->io = *io;
	s->cfg.default_lifetime_s = def(cfg->default_lifetime_s, 600);
	s->cfg.max_lifetime_s = def(cfg->max_lifetime_s, 3600);
	if (s->cfg.max_lifetime_s < s->cfg.default_lifetime_s)
		s->cfg.max_lifetime_s = s->cfg.default_lifetime_s;
	s->cfg.perm_lifetime_s = def(cfg->perm_lifetime_s, 300);
	s->cfg.channel_lifetime_s = def(cfg->channel_lifetime_s, 600);
	s->cfg.nonce_lifetime_s = def(cfg->nonce_lifetime_s, 600);
	s->cfg.max_allocs = def(cfg->max_allocs, TURN_DEFAULT_MAX_ALLOCS);
	if (!cfg->relay_ipv4 && !cfg->relay_ipv6)
		s->cfg.relay_ipv4 = true;
	s->realm = strdup(cfg->realm ? cfg->realm : "natlab");
	s->secret = cfg->secret ? strdup(cfg->secret) : NULL;
	s->software = cfg->software ? strdup(cfg->software) : NULL;
	s->cfg.realm = s->realm;
	s->cfg.secret = s->secret;
	s->cfg.software = s->software;
	if (cfg->alternate) {
		memcpy(&s->alternate, cfg->alternate, turn_addr_len(cfg->alternate));
		s->have_alternate = true;
	}
	s->cfg.alternate = NULL;
	struct turn_auth_config ac = {
	    .realm = s->realm,
	    .secret = s->secret,
	    .nonce_lifetime_ms = s->cfg.nonce_lifetime_s * 1000u,
	};
	s->auth = turn_auth_new(&ac, msg, msglen);
	if (!s->auth)
		goto fail;
	s->policy = turn_policy_new(cfg->allow_loopback);
	s->rate = turn_ratelimit_new(cfg->requests_per_s, cfg->requests_per_s);
	s->tab = turn_alloc_table_new(s->cfg.max_allocs);
	if (turn_tcp_init(s) != 0 || !s->realm || (cfg->secret && !s->secret) ||
	    (cfg->software && !s->software) || !s->policy || !s->rate || !s->tab) {
		snprintf(msg, msglen, "turn server: out of memory (%u allocations)",
			 s->cfg.max_allocs);
		goto fail;
	}
	s->start_ms = now_ms;
	s->next_stats_ms = cfg->stats_interval_ms ? now_ms + cfg->stats_interval_ms : UINT64_MAX;
	return s;
fail:
	turn_server_free(s, now_ms);
	return NULL;
}

/* ---- events ----------------------------------------------------------- */

static const char *transport_name(uint8_t t)
{
	return t == TURN_TRANSPORT_TLS ? "tls" : t == TURN_TRANSPORT_TCP ? "tcp" : "udp";
}

void turn_srv_emit(struct turn_server *s, json_t *o)
{
	if (o && s->io.event) {
		char *txt = json_dumps(o, JSON_COMPACT);
		if (txt)
			s->io.event(s->io.ctx, txt);
		free(txt);
	}
	json_decref(o);
}

json_t *turn_srv_alloc_json(struct turn_server *s, const char *ev, const struct turn_alloc *a,
			    uint64_t now_ms)
{
	char buf[64], id[32];
	json_t *relays = json_array();

	for (int i = 0; i < 2; i++) {
		if (a->relay[i].open)
			json_array_append_new(
			    relays,
			    json_string(turn_addr_str((const struct sockaddr *)&a->relay[i].addr,
						      buf, sizeof(buf))));
	}
	snprintf(id, sizeof(id), "%u.%u", a->slot, a->generation);
	return json_pack(
	    "{s:s, s:I, s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "ev", ev,
	    "t_ms", (json_int_t)(now_ms - s->start_ms), "id", id, "user", a->user, "transport",
	    transport_name(a->key.transport), "client",
	    turn_addr_str((const struct sockaddr *)&a->key.client, buf, sizeof(buf)), "relay",
	    relays, "age_ms", (json_int_t)(now_ms - a->created_ms), "expires_in_ms",
	    (json_int_t)(a->expires_ms > now_ms ? a->expires_ms - now_ms : 0), "pkts_to_peer",
	    (json_int_t)a->c.pkts_to_peer, "bytes_to_peer", (json_int_t)a->c.bytes_to_peer,
	    "pkts_from_peer", (json_int_t)a->c.pkts_from_peer, "bytes_from_peer",
	    (json_int_t)a->c.bytes_from_peer, "dropped", (json_int_t)a->c.dropped);
}

static void alloc_delete(struct turn_server *s, struct turn_alloc *a, const char *reason,
			 uint64_t now_ms)
{
	json_t *o = turn_srv_alloc_json(s, "alloc-end", a, now_ms);

	json_object_set_new(o, "reason", json_string(reason));
	turn_srv_emit(s, o);
	turn_tcp_alloc_gone(s, a);
	for (int i = 0; i < 2; i++) {
		if (a->relay[i].open)
			s->io.relay_close(s->io.ctx, a->relay[i].handle);
		a->relay[i].open = false;
	}
	turn_alloc_remove(s->tab, a);
}

void turn_server_free(struct turn_server *s, uint64_t now_ms)
{
	if (!s)
		return;
	if (s->tab) {
		uint32_t cur = 0;
		struct turn_alloc *a;
		while ((a = turn_alloc_next(s->tab, &cur)) != NULL)
			alloc_delete(s, a, "shutdown", now_ms);
	}
	for (int i = 0; i < RESV_MAX; i++) {
		if (s->resv[i].used)
			s->io.relay_close(s->io.ctx, s->resv[i].handle);
	}
	turn_tcp_free(s);
	turn_alloc_table_free(s->tab);
	turn_ratelimit_free(s->rate);
	turn_policy_free(s->policy);
	turn_auth_free(s->auth);
	free(s->realm);
	free(s->secret);
	free(s->software);
	free(s);
}

int turn_server_user_add(struct turn_server *s, const char *user, const char *pass)
{
	return turn_auth_user_add(s->auth, user, pass);
}

int turn_server_deny_add(struct turn_server *s, const char *cidr)
{
	return turn_policy_deny_add(s->policy, cidr);
}

int turn_server_allow_add(struct turn_server *s, const char *cidr)
{
	return turn_policy_allow_add(s->policy, cidr);
}

int turn_server_own_add(struct turn_server *s, const struct sockaddr *sa)
{
	return turn_policy_own_add(s->policy, sa);
}

bool turn_server_has_alloc(struct turn_server *s, const struct turn_key *k)
{
	return turn_alloc_find(s->tab, k) != NULL;
}

uint32_t turn_server_alloc_count(const struct turn_server *s)
{
	return turn_alloc_table_count(s->tab);
}

uint8_t *turn_server_relay_buf(struct turn_server *s, size_t *cap)
{
	*cap = 65535;
	return s->rbuf + STUN_CHANNEL_HEADER_LEN;
}

/* ---- answers ---------------------------------------------------------- */

void turn_srv_answer_begin(struct turn_server *s, struct stun_builder *b, const struct stun_msg *m,
			   enum stun_class cls)
{
	stun_builder_init(b, s->out, sizeof(s->out), stun_type_make(cls, m->method), m->tid);
}

/* answer_send - seal with integrity when @au (authenticated) and send. */
void turn_srv_answer_send(struct turn_server *s, const struct turn_key *k, struct stun_builder *b,
			  const struct authn *au)
{
	if (au) {
		if (s->software)
			stun_builder_add_string(b, STUN_ATTR_SOFTWARE, s->software);
		/* RFC 8489 §9.2.4: the response uses the same integrity
		 * attribute as the request. */
		if (au->sha256)
			stun_builder_add_integrity_sha256(b, au->key, (size_t)au->keylen);
		else
			stun_builder_add_integrity(b, au->key, (size_t)au->keylen);
		if (au->fingerprint)
			stun_builder_add_fingerprint(b);
	}
	long n = stun_builder_finish(b);
	if (n > 0)
		s->io.client_send(s->io.ctx, k, s->out, (size_t)n);
}

void turn_srv_answer_error(struct turn_server *s, const struct turn_key *k,
			   const struct stun_msg *m, int code, const struct authn *au)
{
	struct stun_builder b;

	turn_srv_answer_begin(s, &b, m, STUN_CLASS_ERROR);
	stun_builder_add_error(&b, code, NULL);
	turn_srv_answer_send(s, k, &b, au);
}

/* challenge - 401 or 438 with REALM, a fresh NONCE and, since the nonce
 * announces the password-algorithms feature, PASSWORD-ALGORITHMS (RFC 8489
 * §9.2.4). Unauthenticated: no SOFTWARE, no integrity, so the answer stays
 * small (amplification). */
static void challenge(struct turn_server *s, const struct turn_key *k, const struct stun_msg *m,
		      int code, uint64_t now_ms)
{
	static const uint16_t algs[] = {STUN_PWALG_MD5, STUN_PWALG_SHA256};
	struct stun_builder b;
	char nonce[TURN_AUTH_NONCE_MAX];

	turn_auth_nonce_make(s->auth, now_ms, (const struct sockaddr *)&k->client, nonce,
			     sizeof(nonce));
	/* A stale nonce is the one refusal a well-behaved client recovers from
	 * on its own (it retries with the fresh nonce), so the client cannot
	 * report it: say it here, for whoever watches the server. */
	if (code == 438) {
		char buf[64];
		turn_srv_emit(s, json_pack("{s:s, s:I, s:s, s:s}", "ev", "stale-nonce", "t_ms",
					   (json_int_t)(now_ms - s->start_ms), "client",
					   turn_addr_str((const struct sockaddr *)&k->client, buf,
							 sizeof(buf)),
					   "method", stun_method_name(m->method)));
	}
	turn_srv_answer_begin(s, &b, m, STUN_CLASS_ERROR);
	stun_builder_add_error(&b, code, NULL);
	stun_builder_add_string(&b, STUN_ATTR_REALM, s->realm);
	stun_builder_add_string(&b, STUN_ATTR_NONCE, nonce);
	stun_builder_add_password_algorithms(&b, algs, 2);
	turn_srv_answer_send(s, k, &b, NULL);
}

/* authenticate - RFC 8489 §9.2.4, in the RFC's order. Returns 0 with @au
 * filled, or -1 after answering the error. */
int turn_srv_authenticate(struct turn_server *s, const struct turn_key *k, const struct stun_msg *m,
			  uint64_t now_ms, struct authn *au)
{
	const uint8_t *nonce, *uh;
	size_t nlen, uhlen;
	char realm[TURN_AUTH_REALM_MAX], pass[TURN_AUTH_PASSWORD_MAX];
	bool has_mi = m->mi_idx >= 0 || m->mi256_idx >= 0;

	memset(au, 0, sizeof(*au));
	au->fingerprint = m->fp_idx >= 0;
	/* If the message does not contain a MESSAGE-INTEGRITY or
	 * MESSAGE-INTEGRITY-SHA256 attribute, the server MUST generate an
	 * error response with an error code of 401 (Unauthenticated). */
	if (!has_mi) {
		challenge(s, k, m, 401, now_ms);
		return -1;
	}
	/* If the message contains a MESSAGE-INTEGRITY or a
	 * MESSAGE-INTEGRITY-SHA256 attribute, but is missing either the
	 * USERNAME or USERHASH, REALM, or NONCE attribute, the server MUST
	 * generate an error response with an error code of 400 (Bad Request). */
	bool has_user = stun_msg_get_string(m, STUN_ATTR_USERNAME, au->user, sizeof(au->user)) == 0;
	bool has_uh = stun_msg_get_bytes(m, STUN_ATTR_USERHASH, &uh, &uhlen) == 0 && uhlen == 32;
	if ((!has_user && !has_uh) ||
	    stun_msg_get_string(m, STUN_ATTR_REALM, realm, sizeof(realm)) != 0 ||
	    stun_msg_get_bytes(m, STUN_ATTR_NONCE, &nonce, &nlen) != 0) {
		turn_srv_answer_error(s, k, m, 400, NULL);
		return -1;
	}
	/* If the NONCE is no longer valid, the server MUST generate an error
	 * response with an error code of 438 (Stale Nonce). A nonce that is
	 * not ours, or was given to another source, is treated the same way:
	 * the client retries with the fresh one. */
	if (turn_auth_nonce_check(s->auth, (const char *)nonce, nlen, now_ms,
				  (const struct sockaddr *)&k->client) != 0 ||
	    strcmp(realm, s->realm) != 0) {
		challenge(s, k, m, 438, now_ms);
		return -1;
	}
	if (!has_user && turn_auth_user_by_hash(s->auth, uh, au->user, sizeof(au->user)) != 0) {
		challenge(s, k, m, 401, now_ms);
		return -1;
	}
	int64_t unix_s = s->cfg.unix_offset_s + (int64_t)(now_ms / 1000);
	if (turn_auth_password(s->auth, au->user, strlen(au->user), unix_s, pass, sizeof(pass)) !=
	    0) {
		challenge(s, k, m, 401, now_ms);
		return -1;
	}
	/* If the request contains neither PASSWORD-ALGORITHMS nor
	 * PASSWORD-ALGORITHM, then the request is processed as though
	 * PASSWORD-ALGORITHM were MD5. Otherwise, unless (1) PASSWORD-ALGORITHM
	 * and PASSWORD-ALGORITHMS are both present, (2) PASSWORD-ALGORITHMS
	 * matches the value sent in the response that sent this NONCE, and (3)
	 * PASSWORD-ALGORITHM matches one of the entries in PASSWORD-ALGORITHMS,
	 * the server MUST generate an error response with an error code of 400. */
	uint16_t algs[8], alg = 0;
	size_t nalgs = 0;
	bool has_algs = stun_msg_get_password_algorithms(m, algs, 8, &nalgs) == 0;
	bool has_alg = stun_msg_get_password_algorithm(m, &alg) == 0;
	au->alg = TURN_AUTH_ALG_MD5;
	if (has_algs || has_alg) {
		if (!has_algs || !has_alg || nalgs != 2 || algs[0] != STUN_PWALG_MD5 ||
		    algs[1] != STUN_PWALG_SHA256 ||
		    (alg != STUN_PWALG_MD5 && alg != STUN_PWALG_SHA256)) {
			turn_srv_answer_error(s, k, m, 400, NULL);
			return -1;
		}
		au->alg = alg == STUN_PWALG_SHA256 ? TURN_AUTH_ALG_SHA256 : TURN_AUTH_ALG_MD5;
	}
	au->keylen = turn_auth_key(au->alg, au->user, strlen(au->user), s->realm, pass, au->key);
	au->sha256 = m->mi256_idx >= 0;
	if (au->keylen <= 0 || stun_msg_check_integrity(m, au->key, (size_t)au->keylen) != 0) {
		challenge(s, k, m, 401, now_ms);
		return -1;
	}
	return 0;
}

/* ---- Allocate ----------------------------------------------------------- */

static void relay_family_close(struct turn_server *s, int h)
{
	if (h >= 0)
		s->io.relay_close(s->io.ctx, h);
}

/* open_relay - a relay of @family; with @even an even port, with @reserve
 * also the next port, kept as a reservation whose token goes to *@token. */
static int open_relay(struct turn_server *s, int family, uint32_t cookie, bool even, bool reserve,
		      struct turn_relay *r, uint64_t *token, uint64_t now_ms)
{
	for (int tries = 0; tries < 64; tries++) {
		struct sockaddr_storage bound, next;
		int h = s->io.relay_open(s->io.ctx, family, 0, cookie, &bound);
		if (h < 0)
			return h;
		uint16_t port =
		    ntohs(((struct sockaddr_in *)&bound)->sin_port); /* same offset in v6 */
		if (even && (port & 1)) {
			/* RFC 8656 §7.2: the server MUST allocate a relayed
			 * transport address with an even port number */
			relay_family_close(s, h);
			if (port == 65535)
				continue;
			h = s->io.relay_open(s->io.ctx, family, (uint16_t)(port + 1), cookie,
					     &bound);
			if (h < 0)
				continue;
			port++;
		}
		if (reserve) {
			int ri = -1;
			for (int i = 0; i < RESV_MAX && ri < 0; i++)
				if (!s->resv[i].used)
					ri = i;
			if (ri < 0) {
				relay_family_close(s, h);
				return -ENOSPC;
			}
			int h2 = s->io.relay_open(s->io.ctx, family, (uint16_t)(port + 1),
						  RESV_COOKIE | (uint32_t)ri, &next);
			if (h2 < 0) {
				relay_family_close(s, h);
				continue;
			}
			struct resv *v = &s->resv[ri];
			v->used = true;
			v->handle = h2;
			v->family = family;
			v->addr = next;
			v->expires_ms = now_ms + RESV_LIFE_MS;
			if (getrandom(&v->token, sizeof(v->token), 0) != (ssize_t)sizeof(v->token))
				v->token = now_ms * 2654435761u + (uint64_t)ri;
			*token = v->token;
		}
		r->open = true;
		r->handle = h;
		r->addr = bound;
		return 0;
	}
	return -EADDRINUSE;
}

static void add_relay_addrs(struct stun_builder *b, const struct turn_alloc *a)
{
	for (int i = 0; i < 2; i++) {
		if (a->relay[i].open) {
			struct stun_addr sa;
			stun_addr_from_sockaddr(
			    &sa, (const struct sockaddr *)&a->relay[i].addr,
			    turn_addr_len((const struct sockaddr *)&a->relay[i].addr));
			stun_builder_add_xor_addr(b, STUN_ATTR_XOR_RELAYED_ADDRESS, &sa);
		}
	}
}

static void allocate_success(struct turn_server *s, const struct turn_key *k,
			     const struct stun_msg *m, const struct authn *au,
			     const struct turn_alloc *a, uint64_t token, int addr_err_family,
			     uint64_t now_ms)
{
	struct stun_builder b;
	struct stun_addr mapped;

	turn_srv_answer_begin(s, &b, m, STUN_CLASS_SUCCESS);
	add_relay_addrs(&b, a);
	stun_builder_add_u32(&b, STUN_ATTR_LIFETIME,
			     (uint32_t)((a->expires_ms - now_ms + 999) / 1000));
	if (token)
		stun_builder_add_u64(&b, STUN_ATTR_RESERVATION_TOKEN, token);
	stun_addr_from_sockaddr(&mapped, (const struct sockaddr *)&k->client,
				turn_addr_len((const struct sockaddr *)&k->client));
	stun_builder_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
	/* RFC 8656 §7.2: when the additional family could not be allocated,
	 * ADDRESS-ERROR-CODE ... with error code 440 */
	if (addr_err_family)
		stun_builder_add_address_error(&b, addr_err_family, 440, NULL);
	turn_srv_answer_send(s, k, &b, au);
}

static uint64_t lifetime_ms(const struct turn_server *s, const struct stun_msg *m)
{
	uint32_t want;

	/* RFC 8656 §7.2: If the LIFETIME attribute is present and the value
	 * is less than the default lifetime, the server uses the default
	 * lifetime; if the value is greater than the maximum lifetime, the
	 * server uses the maximum lifetime. */
	if (stun_msg_get_u32(m, STUN_ATTR_LIFETIME, &want) != 0)
		want = s->cfg.default_lifetime_s;
	if (want < s->cfg.default_lifetime_s)
		want = s->cfg.default_lifetime_s;
	if (want > s->cfg.max_lifetime_s)
		want = s->cfg.max_lifetime_s;
	return (uint64_t)want * 1000u;
}

static bool family_ok(const struct turn_server *s, int family)
{
	return (family == AF_INET && s->cfg.relay_ipv4) ||
	       (family == AF_INET6 && s->cfg.relay_ipv6);
}

/* coturn's clients send ADDITIONAL-ADDRESS-FAMILY with the code point of
 * the turnbis drafts, 0x8032, not RFC 8656's 0x8000; the value has the
 * same layout (family byte, 0x01 IPv4 / 0x02 IPv6, then 3 reserved). The
 * codec does not know the old number, so it is read here. */
#define ATTR_ADDITIONAL_ADDRESS_FAMILY_DRAFT 0x8032

static bool legacy_additional_family(const struct stun_msg *m, int *family)
{
	const uint8_t *v;
	size_t n;

	if (stun_msg_get_bytes(m, ATTR_ADDITIONAL_ADDRESS_FAMILY_DRAFT, &v, &n) != 0 || n != 4)
		return false;
	*family = v[0] == 0x02 ? AF_INET6 : v[0] == 0x01 ? AF_INET : 0;
	return true;
}

static void on_allocate(struct turn_server *s, const struct turn_key *k, const struct stun_msg *m,
			const struct authn *au, uint64_t now_ms)
{
	struct turn_alloc *a = turn_alloc_find(s->tab, k);
	uint8_t proto;
	int fam = AF_INET, fam2 = 0, addr_err = 0;
	bool even = false, reserve = false;
	uint64_t token = 0, want_token = 0;
	bool has_token, has_even, has_fam, has_fam2;

	if (a) {
		/* RFC 8656 §7.2: a retransmitted Allocate gets the same
		 * success; another one on this 5-tuple gets 437. */
		if (memcmp(a->txid, m->tid, sizeof(a->txid)) == 0 && strcmp(a->user, au->user) == 0)
			allocate_success(s, k, m, au, a, 0, 0, now_ms);
		else
			turn_srv_answer_error(s, k, m, 437, au);
		return;
	}
	if (s->have_alternate) {
		struct stun_builder b;
		struct stun_addr alt;
		stun_addr_from_sockaddr(&alt, (const struct sockaddr *)&s->alternate,
					turn_addr_len((const struct sockaddr *)&s->alternate));
		turn_srv_answer_begin(s, &b, m, STUN_CLASS_ERROR);
		stun_builder_add_error(&b, 300, NULL);
		stun_builder_add_addr(&b, STUN_ATTR_ALTERNATE_SERVER, &alt);
		turn_srv_answer_send(s, k, &b, au);
		return;
	}
	/* If the REQUESTED-TRANSPORT attribute is not included or is
	 * malformed, the server rejects the request with a 400; if the
	 * transport is not supported, 442 (Unsupported Transport Protocol). */
	if (stun_msg_get_requested_transport(m, &proto) != 0) {
		turn_srv_answer_error(s, k, m, 400, au);
		return;
	}
	if (proto != PROTO_UDP && (proto != PROTO_TCP || !s->io.tcp_listen)) {
		turn_srv_answer_error(s, k, m, 442, au);
		return;
	}
	has_token = stun_msg_get_u64(m, STUN_ATTR_RESERVATION_TOKEN, &want_token) == 0;
	has_even = stun_msg_get_even_port(m, &reserve) == 0;
	has_fam = stun_msg_get_family(m, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, &fam) == 0;
	has_fam2 = stun_msg_get_family(m, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, &fam2) == 0 ||
		   legacy_additional_family(m, &fam2);
	even = has_even;
	/* If the request contains both a RESERVATION-TOKEN and an EVEN-PORT
	 * ... 400; RFC 8656 §7.2 also: RESERVATION-TOKEN with
	 * REQUESTED-ADDRESS-FAMILY is a 400, and so is REQUESTED- with
	 * ADDITIONAL-ADDRESS-FAMILY; ADDITIONAL must name IPv6. */
	/* RFC 6062 §5.1: a TCP allocation is asked for over TCP or TLS, and
	 * If the request contains the DONT-FRAGMENT, EVEN-PORT, or
	 * RESERVATION-TOKEN attribute, the server MUST reject it with 400;
	 * natlab's TCP relays have one family (no ADDITIONAL-ADDRESS-FAMILY). */
	bool tcp = proto == PROTO_TCP;
	if ((has_token && (has_even || has_fam)) || (has_fam && has_fam2) ||
	    (has_fam2 && fam2 != AF_INET6) ||
	    (tcp && (k->transport == TURN_TRANSPORT_UDP || has_token || has_even || has_fam2 ||
		     stun_msg_has(m, STUN_ATTR_DONT_FRAGMENT)))) {
		turn_srv_answer_error(s, k, m, 400, au);
		return;
	}
	if (!has_fam)
		fam = AF_INET;
	if (has_fam && !family_ok(s, fam)) {
		turn_srv_answer_error(s, k, m, 440, au); /* Address Family not Supported */
		return;
	}
	if (!has_fam && !s->cfg.relay_ipv4)
		fam = AF_INET6;
	/* RFC 8656 §7.2: the server MAY reject with 486 (Allocation Quota
	 * Reached) if the user has exceeded quota */
	if (turn_alloc_table_count(s->tab) >= turn_alloc_table_max(s->tab) ||
	    (s->cfg.user_quota &&
	     turn_alloc_table_count_user(s->tab, au->user) >= s->cfg.user_quota)) {
		turn_srv_answer_error(s, k, m, 486, au);
		return;
	}
	a = turn_alloc_add(s->tab, k, now_ms);
	memcpy(a->txid, m->tid, sizeof(a->txid));
	snprintf(a->user, sizeof(a->user), "%s", au->user);
	memcpy(a->hmac_key, au->key, sizeof(a->hmac_key));
	a->hmac_key_len = au->keylen;
	a->alg = au->alg;
	a->dont_fragment = stun_msg_has(m, STUN_ATTR_DONT_FRAGMENT);
	a->expires_ms = now_ms + lifetime_ms(s, m);
	a->tcp = tcp;
	if (tcp) {
		int h = s->io.tcp_listen(s->io.ctx, fam, COOKIE(a->slot, 0), &a->relay[0].addr);
		if (h < 0) {
			turn_alloc_remove(s->tab, a);
			turn_srv_answer_error(s, k, m, 508, au);
			return;
		}
		a->relay[0].open = true;
		a->relay[0].handle = h;
	} else if (has_token) {
		struct resv *v = NULL;
		for (int i = 0; i < RESV_MAX; i++)
			if (s->resv[i].used && s->resv[i].token == want_token &&
			    s->resv[i].expires_ms > now_ms)
				v = &s->resv[i];
		if (!v) {
			turn_alloc_remove(s->tab, a);
			turn_srv_answer_error(s, k, m, 508, au); /* Insufficient Capacity */
			return;
		}
		a->relay[0].open = true;
		a->relay[0].handle = v->handle;
		a->relay[0].addr = v->addr;
		s->io.relay_set_cookie(s->io.ctx, v->handle, COOKIE(a->slot, 0));
		v->used = false;
	} else if (open_relay(s, fam, COOKIE(a->slot, 0), even, even && reserve, &a->relay[0],
			      &token, now_ms) != 0) {
		turn_alloc_remove(s->tab, a);
		turn_srv_answer_error(s, k, m, 508, au);
		return;
	}
	if (has_fam2) {
		if (!family_ok(s, AF_INET6) || open_relay(s, AF_INET6, COOKIE(a->slot, 1), false,
							  false, &a->relay[1], NULL, now_ms) != 0)
			addr_err = AF_INET6;
	}
	allocate_success(s, k, m, au, a, token, addr_err, now_ms);
	turn_srv_emit(s, turn_srv_alloc_json(s, "alloc", a, now_ms));
}

/* ---- Refresh, CreatePermission, ChannelBind -------------------------------- */

static void on_refresh(struct turn_server *s, struct turn_alloc *a, const struct turn_key *k,
		       const struct stun_msg *m, const struct authn *au, uint64_t now_ms)
{
	struct stun_builder b;
	uint32_t want = 1;
	int fam;

	stun_msg_get_u32(m, STUN_ATTR_LIFETIME, &want);
	/* RFC 8656 §7.3: a REQUESTED-ADDRESS-FAMILY the allocation does not
	 * have is 443 (Peer Address Family Mismatch). */
	if (stun_msg_get_family(m, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, &fam) == 0) {
		bool have = false;
		for (int i = 0; i < 2; i++)
			have |= a->relay[i].open && a->relay[i].addr.ss_family == fam;
		if (!have) {
			turn_srv_answer_error(s, k, m, 443, au);
			return;
		}
	}
	turn_srv_answer_begin(s, &b, m, STUN_CLASS_SUCCESS);
	if (want == 0) {
		/* If the requested lifetime is zero, the server deletes the
		 * allocation and answers with LIFETIME 0. */
		stun_builder_add_u32(&b, STUN_ATTR_LIFETIME, 0);
		turn_srv_answer_send(s, k, &b, au);
		alloc_delete(s, a, "refresh-0", now_ms);
		return;
	}
	uint64_t life = lifetime_ms(s, m);
	a->expires_ms = now_ms + life;
	stun_builder_add_u32(&b, STUN_ATTR_LIFETIME, (uint32_t)(life / 1000));
	turn_srv_answer_send(s, k, &b, au);
}

/* relay_for - the allocation's relay of @peer's family, or NULL. */
struct turn_relay *turn_srv_relay_for(struct turn_alloc *a, const struct sockaddr *peer)
{
	for (int i = 0; i < 2; i++) {
		if (a->relay[i].open && a->relay[i].addr.ss_family == peer->sa_family)
			return &a->relay[i];
	}
	return NULL;
}

/* check_peer - RFC 8656 §9.1/§12.1: family mismatch 443, forbidden peer
 * 403. Returns 0 or the error code. */
static int check_peer(struct turn_server *s, struct turn_alloc *a, const struct stun_addr *p,
		      struct sockaddr_storage *ss)
{
	stun_addr_to_sockaddr(p, ss);
	if (!turn_srv_relay_for(a, (const struct sockaddr *)ss))
		return 443;
	if (!turn_policy_peer_allowed(s->policy, (const struct sockaddr *)ss))
		return 403;
	return 0;
}

static void on_create_permission(struct turn_server *s, struct turn_alloc *a,
				 const struct turn_key *k, const struct stun_msg *m,
				 const struct authn *au, uint64_t now_ms)
{
	struct sockaddr_storage peers[TURN_ALLOC_PERMS_MAX];
	struct stun_addr p;
	unsigned n = 0;
	struct stun_builder b;

	/* When the server receives the CreatePermission request, it processes
	 * as per Section 5 plus the specific rules mentioned here. The message
	 * is checked for validity. The CreatePermission request MUST contain at
	 * least one XOR-PEER-ADDRESS attribute ... If an XOR-PEER-ADDRESS
	 * attribute contains an address of an address family that is not the
	 * same as that of a relayed transport address for the allocation, the
	 * server MUST generate an error response with the 443 ... The server
	 * MAY impose restrictions on the IP address allowed in the
	 * XOR-PEER-ADDRESS attribute; if a value is not allowed, the server
	 * rejects the request with a 403 (Forbidden) error. All are checked
	 * before any is installed. */
	while (stun_msg_get_xor_addr_nth(m, STUN_ATTR_XOR_PEER_ADDRESS, n, &p) == 0) {
		if (n >= TURN_ALLOC_PERMS_MAX) {
			turn_srv_answer_error(s, k, m, 508, au);
			return;
		}
		int code = check_peer(s, a, &p, &peers[n]);
		if (code) {
			turn_srv_answer_error(s, k, m, code, au);
			return;
		}
		n++;
	}
	if (n == 0) {
		turn_srv_answer_error(s, k, m, 400, au);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		if (turn_alloc_perm_install(a, (const struct sockaddr *)&peers[i], now_ms,
					    s->cfg.perm_lifetime_s * 1000ull) != 0) {
			turn_srv_answer_error(s, k, m, 508, au);
			return;
		}
	}
	turn_srv_answer_begin(s, &b, m, STUN_CLASS_SUCCESS);
	turn_srv_answer_send(s, k, &b, au);
}

static void on_channel_bind(struct turn_server *s, struct turn_alloc *a, const struct turn_key *k,
			    const struct stun_msg *m, const struct authn *au, uint64_t now_ms)
{
	struct stun_addr p;
	struct sockaddr_storage peer;
	uint16_t ch;
	struct stun_builder b;

	/* RFC 8656 §12.2: CHANNEL-NUMBER in range and an XOR-PEER-ADDRESS,
	 * else 400; family 443; forbidden 403. The range accepted is RFC
	 * 5766's (see turn_chandata.h). */
	/* A channel carries UDP datagrams (RFC 8656 §12); a TCP allocation
	 * (RFC 6062) has none to carry, so binding one there is a 400 too. */
	if (a->tcp || stun_msg_get_channel(m, &ch) != 0 || ch < STUN_CHANNEL_MIN ||
	    ch > TURN_CHANNEL_LEGACY_MAX ||
	    stun_msg_get_xor_addr(m, STUN_ATTR_XOR_PEER_ADDRESS, &p) != 0) {
		turn_srv_answer_error(s, k, m, 400, au);
		return;
	}
	int code = check_peer(s, a, &p, &peer);
	if (code) {
		turn_srv_answer_error(s, k, m, code, au);
		return;
	}
	int r = turn_alloc_channel_bind(a, ch, (const struct sockaddr *)&peer, now_ms,
					s->cfg.channel_lifetime_s * 1000ull);
	if (r == 0) {
		/* the server installs or refreshes a permission for the IP
		 * address in the XOR-PEER-ADDRESS attribute */
		r = turn_alloc_perm_install(a, (const struct sockaddr *)&peer, now_ms,
					    s->cfg.perm_lifetime_s * 1000ull);
	}
	if (r != 0) {
		turn_srv_answer_error(s, k, m, r == -EEXIST ? 400 : 508, au);
		return;
	}
	turn_srv_answer_begin(s, &b, m, STUN_CLASS_SUCCESS);
	turn_srv_answer_send(s, k, &b, au);
}

/* ---- dispatch ---------------------------------------------------------- */

static void on_binding(struct turn_server *s, const struct turn_key *k, const struct stun_msg *m)
{
	struct stun_builder b;
	struct stun_addr mapped;

	stun_addr_from_sockaddr(&mapped, (const struct sockaddr *)&k->client,
				turn_addr_len((const struct sockaddr *)&k->client));
	turn_srv_answer_begin(s, &b, m, STUN_CLASS_SUCCESS);
	stun_builder_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
	turn_srv_answer_send(s, k, &b, NULL);
}

void turn_server_input(struct turn_server *s, const struct turn_key *k, const uint8_t *buf,
		       size_t len, uint64_t now_ms)
{
	struct stun_msg m;
	struct authn au;
	struct turn_alloc *a;

	if (len >= 4 && (buf[0] & 0xc0) == 0x40) {
		turn_srv_on_channel_data(s, k, buf, len, now_ms);
		return;
	}
	if (stun_msg_decode(&m, buf, len, 0, NULL) != 0)
		return;
	if (m.cls == STUN_CLASS_INDICATION) {
		if (m.method == STUN_METHOD_SEND)
			turn_srv_on_send(s, k, &m, now_ms);
		return;
	}
	if (m.cls != STUN_CLASS_REQUEST)
		return;
	/* Over UDP a source may be spoofed: past the rate, say nothing. */
	if (!turn_ratelimit_allow(s->rate, (const struct sockaddr *)&k->client, now_ms))
		return;
	if (m.n_unknown) {
		struct stun_builder b;
		turn_srv_answer_begin(s, &b, &m, STUN_CLASS_ERROR);
		stun_builder_add_error(&b, 420, NULL);
		stun_builder_add_unknown_attrs(&b, m.unknown, m.n_unknown);
		turn_srv_answer_send(s, k, &b, NULL);
		return;
	}
	if (m.method == STUN_METHOD_BINDING) {
		on_binding(s, k, &m);
		return;
	}
	if (m.method != STUN_METHOD_ALLOCATE && m.method != STUN_METHOD_REFRESH &&
	    m.method != STUN_METHOD_CREATE_PERMISSION && m.method != STUN_METHOD_CHANNEL_BIND &&
	    m.method != STUN_METHOD_CONNECT && m.method != STUN_METHOD_CONNECTION_BIND) {
		turn_srv_answer_error(s, k, &m, 400, NULL);
		return;
	}
	if (turn_srv_authenticate(s, k, &m, now_ms, &au) != 0)
		return;
	if (m.method == STUN_METHOD_ALLOCATE) {
		on_allocate(s, k, &m, &au, now_ms);
		return;
	}
	if (m.method == STUN_METHOD_CONNECTION_BIND) {
		/* RFC 6062: on a new connection, which has no allocation */
		turn_tcp_on_bind(s, k, &m, &au, now_ms);
		return;
	}
	a = turn_alloc_find(s->tab, k);
	if (!a) {
		turn_srv_answer_error(s, k, &m, 437, &au); /* Allocation Mismatch */
		return;
	}
	/* RFC 8656 §5: the server MUST ... reject the request with a 441
	 * (Wrong Credentials) when the username differs from the one that
	 * created the allocation. */
	if (strcmp(a->user, au.user) != 0) {
		turn_srv_answer_error(s, k, &m, 441, &au);
		return;
	}
	if (m.method == STUN_METHOD_REFRESH)
		on_refresh(s, a, k, &m, &au, now_ms);
	else if (m.method == STUN_METHOD_CONNECT)
		turn_tcp_on_connect(s, a, k, &m, &au, now_ms);
	else if (m.method == STUN_METHOD_CREATE_PERMISSION)
		on_create_permission(s, a, k, &m, &au, now_ms);
	else
		on_channel_bind(s, a, k, &m, &au, now_ms);
}

void turn_server_conn_closed(struct turn_server *s, const struct turn_key *k, uint64_t now_ms)
{
	struct turn_alloc *a = turn_alloc_find(s->tab, k);

	if (a)
		alloc_delete(s, a, "closed", now_ms);
}

uint64_t turn_server_tick(struct turn_server *s, uint64_t now_ms)
{
	uint64_t next = now_ms + 1000;
	uint32_t cur = 0;
	struct turn_alloc *a;

	/* RFC 8656 §7: When the lifetime expires, the server deletes the
	 * allocation. */
	while ((a = turn_alloc_next_expired(s->tab, now_ms, &cur)) != NULL)
		alloc_delete(s, a, "expired", now_ms);
	for (int i = 0; i < RESV_MAX; i++) {
		if (s->resv[i].used && s->resv[i].expires_ms <= now_ms) {
			s->io.relay_close(s->io.ctx, s->resv[i].handle);
			s->resv[i].used = false;
		}
	}
	if (now_ms >= s->next_stats_ms) {
		cur = 0;
		while ((a = turn_alloc_next(s->tab, &cur)) != NULL)
			turn_srv_emit(s, turn_srv_alloc_json(s, "alloc-stats", a, now_ms));
		s->next_stats_ms = now_ms + s->cfg.stats_interval_ms;
	}
	cur = 0;
	while ((a = turn_alloc_next(s->tab, &cur)) != NULL) {
		if (a->expires_ms < next)
			next = a->expires_ms;
	}
	if (s->next_stats_ms < next)
		next = s->next_stats_ms;
	uint64_t t = turn_tcp_tick(s, now_ms);
	return t < next ? t : next;
}

#include "agents/turn/turn_auth.h"
#include "agents/stun/stun.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

struct turn_auth_user {
	char *name;
	char *pass;
	uint8_t hash[32];
};

struct turn_auth {
	char realm[TURN_AUTH_REALM_MAX];
	char *secret;
	uint32_t nonce_lifetime_ms;
	uint8_t nonce_key[32];
	struct turn_auth_user *users;
	size_t nusers, capusers;
};

/* RFC 8489 §9.2: "obMatJos2" followed by the 24 security-feature bits
 * base64-encoded (4 characters). Bit 0 (most significant) is "Password
 * algorithms", bit 1 "Username anonymity": both set is 0xC00000 -> "wAAA". */
#define NONCE_COOKIE   "obMatJos2"
#define NONCE_FEATURES "wAAA"
#define NONCE_PREFIX   NONCE_COOKIE NONCE_FEATURES
/* prefix + 16 hex digits of expiry + 16 hex digits of MAC */
#define NONCE_LEN (sizeof(NONCE_PREFIX) - 1 + 16 + 16)

struct turn_auth *turn_auth_new(const struct turn_auth_config *cfg, char *msg, size_t msglen)
{
	struct turn_auth *a = calloc(1, sizeof(*a));

	if (!a) {
		snprintf(msg, msglen, "turn auth: out of memory");
		return NULL;
	}
	if (!cfg->realm || strlen(cfg->realm) >= sizeof(a->realm)) {
		snprintf(msg, msglen, "turn auth: realm missing or longer than %d bytes",
			 TURN_AUTH_REALM_MAX - 1);
		goto fail;
	}
	strcpy(a->realm, cfg->realm);
	if (cfg->secret) {
		a->secret = strdup(cfg->secret);
		if (!a->secret) {
			snprintf(msg, msglen, "turn auth: out of memory");
			goto fail;
		}
	}
	a->nonce_lifetime_ms = cfg->nonce_lifetime_ms ? cfg->nonce_lifetime_ms : 600000;
	if (cfg->nonce_key) {
		memcpy(a->nonce_key, cfg->nonce_key, sizeof(a->nonce_key));
	} else if (getrandom(a->nonce_key, sizeof(a->nonce_key), 0) !=
		   (ssize_t)sizeof(a->nonce_key)) {
		snprintf(msg, msglen, "turn auth: getrandom: %s", strerror(errno));
		goto fail;
	}
	return a;
fail:
	turn_auth_free(a);
	return NULL;
}

void turn_auth_free(struct turn_auth *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nusers; i++) {
		free(a->users[i].name);
		free(a->users[i].pass);
	}
	free(a->users);
	free(a->secret);
	free(a);
}

const char *turn_auth_realm(const struct turn_auth *a)
{
	return a->realm;
}

int turn_auth_user_add(struct turn_auth *a, const char *user, const char *pass)
{
	if (strlen(user) >= TURN_AUTH_USERNAME_MAX || strlen(pass) >= TURN_AUTH_PASSWORD_MAX)
		return -EINVAL;
	if (a->nusers == a->capusers) {
		size_t cap = a->capusers ? a->capusers * 2 : 8;
		struct turn_auth_user *u = realloc(a->users, cap * sizeof(*u));
		if (!u)
			return -ENOMEM;
		a->users = u;
		a->capusers = cap;
	}
	struct turn_auth_user *u = &a->users[a->nusers];
	u->name = strdup(user);
	u->pass = strdup(pass);
	if (!u->name || !u->pass) {
		free(u->name);
		free(u->pass);
		return -ENOMEM;
	}
	turn_auth_userhash(user, strlen(user), a->realm, u->hash);
	a->nusers++;
	return 0;
}

static int copy_str(const char *s, char *out, size_t cap)
{
	size_t n = strlen(s);

	if (n >= cap)
		return -ENOSPC;
	memcpy(out, s, n + 1);
	return (int)n;
}

int turn_auth_rest_password(const char *secret, const char *user, size_t ulen, char *out,
			    size_t cap)
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	if (!HMAC(EVP_sha1(), secret, (int)strlen(secret), (const uint8_t *)user, ulen, mac,
		  &maclen))
		return -EINVAL;
	/* base64 of 20 bytes is 28 characters */
	if (cap < 4 * ((maclen + 2) / 3) + 1)
		return -ENOSPC;
	return EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
}

int turn_auth_password(const struct turn_auth *a, const char *user, size_t ulen, int64_t unix_s,
		       char *pass, size_t cap)
{
	for (size_t i = 0; i < a->nusers; i++) {
		if (strlen(a->users[i].name) == ulen && memcmp(a->users[i].name, user, ulen) == 0) {
			int r = copy_str(a->users[i].pass, pass, cap);
			return r < 0 ? r : 0;
		}
	}
	if (!a->secret)
		return -ENOENT;
	/* "expiry:user": the expiry is a unix timestamp in seconds. coturn also
	 * accepts "user:expiry"; we accept only the documented order. */
	size_t i = 0;
	int64_t expiry = 0;
	while (i < ulen && user[i] >= '0' && user[i] <= '9' && i < 18) {
		expiry = expiry * 10 + (user[i] - '0');
		i++;
	}
	if (i == 0 || (i < ulen && user[i] != ':'))
		return -ENOENT;
	if (expiry < unix_s)
		return -EKEYEXPIRED;
	int r = turn_auth_rest_password(a->secret, user, ulen, pass, cap);
	return r < 0 ? r : 0;
}

int turn_auth_user_by_hash(const struct turn_auth *a, const uint8_t hash[32], char *user,
			   size_t cap)
{
	for (size_t i = 0; i < a->nusers; i++) {
		if (memcmp(a->users[i].hash, hash, 32) == 0) {
			int r = copy_str(a->users[i].name, user, cap);
			return r < 0 ? r : 0;
		}
	}
	return -ENOENT;
}

/* The hashing itself is the STUN codec's (stun_key_long_term,
 * stun_userhash); these wrappers only map the TURN side's names and take a
 * counted user name. */
static int user_cstr(const char *user, size_t ulen, char out[TURN_AUTH_USERNAME_MAX + 1])
{
	if (ulen > TURN_AUTH_USERNAME_MAX)
		return -EINVAL;
	memcpy(out, user, ulen);
	out[ulen] = '\0';
	return 0;
}

int turn_auth_key(enum turn_auth_alg alg, const char *user, size_t ulen, const char *realm,
		  const char *pass, uint8_t key[TURN_AUTH_KEY_MAX])
{
	char u[TURN_AUTH_USERNAME_MAX + 1];
	struct stun_key k;
	int ret = user_cstr(user, ulen, u);

	if (ret < 0)
		return ret;
	if (alg != TURN_AUTH_ALG_MD5 && alg != TURN_AUTH_ALG_SHA256)
		return -EINVAL;
	ret = stun_key_long_term(&k, alg == TURN_AUTH_ALG_SHA256 ? STUN_PWALG_SHA256 : STUN_PWALG_MD5,
				 u, realm, pass);
	if (ret < 0)
		return ret;
	if (k.len > TURN_AUTH_KEY_MAX)
		return -EINVAL;
	memcpy(key, k.k, k.len);
	return (int)k.len;
}

void turn_auth_userhash(const char *user, size_t ulen, const char *realm, uint8_t out[32])
{
	char u[TURN_AUTH_USERNAME_MAX + 1];

	if (user_cstr(user, ulen, u) == 0)
		stun_userhash(out, u, realm);
	else
		memset(out, 0, 32);
}

static void nonce_mac(const struct turn_auth *a, uint64_t expiry, const struct sockaddr *src,
		      char hex[17])
{
	/* the client's IP, not its port: RFC 6062 data connections come from
	 * new ports and reuse the control connection's nonce */
	uint8_t buf[8 + 16];
	size_t n = 0;
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	for (int i = 0; i < 8; i++)
		buf[n++] = (uint8_t)(expiry >> (56 - 8 * i));
	if (src && src->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)src;
		memcpy(buf + n, &s4->sin_addr, 4);
		n += 4;
	} else if (src && src->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)src;
		memcpy(buf + n, &s6->sin6_addr, 16);
		n += 16;
	}
	HMAC(EVP_sha256(), a->nonce_key, sizeof(a->nonce_key), buf, n, mac, &maclen);
	for (int i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
}

int turn_auth_nonce_make(const struct turn_auth *a, uint64_t now_ms, const struct sockaddr *src,
			 char *out, size_t cap)
{
	uint64_t expiry = now_ms + a->nonce_lifetime_ms;
	char mac[17];

	if (cap < NONCE_LEN + 1)
		return -ENOSPC;
	nonce_mac(a, expiry, src, mac);
	return snprintf(out, cap, "%s%016" PRIx64 "%s", NONCE_PREFIX, expiry, mac);
}

int turn_auth_nonce_check(const struct turn_auth *a, const char *nonce, size_t len, uint64_t now_ms,
			  const struct sockaddr *src)
{
	const size_t p = sizeof(NONCE_PREFIX) - 1;
	uint64_t expiry = 0;
	char mac[17];

	if (len != NONCE_LEN || memcmp(nonce, NONCE_PREFIX, p) != 0)
		return -EINVAL;
	for (size_t i = p; i < p + 16; i++) {
		char c = nonce[i];
		int v = (c >= '0' && c <= '9')	 ? c - '0'
			: (c >= 'a' && c <= 'f') ? c - 'a' + 10
						 : -1;
		if (v < 0)
			return -EINVAL;
		expiry = (expiry << 4) | (uint64_t)v;
	}
	nonce_mac(a, expiry, src, mac);
	if (memcmp(mac, nonce + p + 16, 16) != 0)
		return -EINVAL;
	if (now_ms >= expiry)
		return -ESTALE;
	return 0;
}

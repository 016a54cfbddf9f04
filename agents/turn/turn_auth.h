/* turn_auth.h - TURN long-term credentials: users, the shared-secret scheme,
 * keys (MD5 and SHA-256 password algorithms), USERHASH and expiring nonces.
 *
 * Pure: no sockets, no clock (times are arguments). The key derivations are
 * RFC 8489 §9.2.2; the shared-secret scheme is the one WebRTC deployments use
 * (draft-uberti-behave-turn-rest): username "expiry:user", password
 * base64(HMAC-SHA1(secret, username)).
 */
#ifndef NATLAB_TURN_AUTH_H
#define NATLAB_TURN_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* RFC 8489 §14.3: USERNAME MUST contain a UTF-8-encoded sequence of fewer
 * than 509 bytes; §14.9 REALM and §14.10 NONCE fewer than 128 characters
 * (up to 763 bytes). */
#define TURN_AUTH_USERNAME_MAX 509
#define TURN_AUTH_REALM_MAX    764
#define TURN_AUTH_NONCE_MAX    764
#define TURN_AUTH_PASSWORD_MAX 256
#define TURN_AUTH_KEY_MAX      32

/* RFC 8489 §18.5: password algorithm numbers. */
enum turn_auth_alg {
	TURN_AUTH_ALG_MD5 = 1,
	TURN_AUTH_ALG_SHA256 = 2,
};

struct turn_auth_config {
	const char *realm;	    /* copied */
	const char *secret;	    /* shared secret of the REST scheme, or NULL; copied */
	uint32_t nonce_lifetime_ms; /* how long a nonce stays fresh (438 after) */
	const uint8_t *nonce_key;   /* 32 bytes keying the nonce MAC; NULL: random */
};

struct turn_auth;

/* turn_auth_new - returns NULL and writes a reason into @msg on failure. */
struct turn_auth *turn_auth_new(const struct turn_auth_config *cfg, char *msg, size_t msglen);
void turn_auth_free(struct turn_auth *a);

/* turn_auth_user_add - add a static user (both strings copied).
 * Returns 0, -EINVAL (too long) or -ENOMEM. */
int turn_auth_user_add(struct turn_auth *a, const char *user, const char *pass);

const char *turn_auth_realm(const struct turn_auth *a);

/* turn_auth_password - the password of @user (@ulen bytes) at @unix_s.
 * A static user wins; otherwise, when a secret is configured and the name is
 * "expiry:rest" with expiry (unix seconds) not passed, the HMAC password.
 * Returns 0, -ENOENT (unknown) or -EKEYEXPIRED (shared-secret name expired). */
int turn_auth_password(const struct turn_auth *a, const char *user, size_t ulen, int64_t unix_s,
		       char *pass, size_t cap);

/* turn_auth_user_by_hash - RFC 8489 §14.4 USERHASH: find the static user whose
 * SHA-256(user ":" realm) is @hash. Copies the name to @user (NUL-terminated).
 * Shared-secret names cannot be found this way (they are not listed).
 * Returns 0 or -ENOENT. */
int turn_auth_user_by_hash(const struct turn_auth *a, const uint8_t hash[32], char *user,
			   size_t cap);

/* turn_auth_rest_password - base64(HMAC-SHA1(@secret, @user)) into @out.
 * Returns the length written, or -ENOSPC. */
int turn_auth_rest_password(const char *secret, const char *user, size_t ulen, char *out,
			    size_t cap);

/* turn_auth_key - RFC 8489 §9.2.2: key = MD5(user:realm:pass) (16 bytes) or
 * SHA-256(user:realm:pass) (32 bytes). Returns the key length, or -EINVAL. */
int turn_auth_key(enum turn_auth_alg alg, const char *user, size_t ulen, const char *realm,
		  const char *pass, uint8_t key[TURN_AUTH_KEY_MAX]);

/* turn_auth_userhash - RFC 8489 §14.4: SHA-256(user ":" realm). */
void turn_auth_userhash(const char *user, size_t ulen, const char *realm, uint8_t out[32]);

/* turn_auth_nonce_make - a nonce bound to @src's IP address that is fresh until
 * @now_ms + nonce_lifetime_ms. It starts with the RFC 8489 §9.2 cookie
 * "obMatJos2" and the security-feature bits (password algorithms and
 * username anonymity), so SHA-256-aware clients know they may use them.
 * Stateless: verified by MAC, nothing stored. Returns its length. */
int turn_auth_nonce_make(const struct turn_auth *a, uint64_t now_ms, const struct sockaddr *src,
			 char *out, size_t cap);

/* turn_auth_nonce_check - 0 fresh; -ESTALE expired (answer 438); -EINVAL
 * not one of ours or for another source (answer 401 with a new nonce). */
int turn_auth_nonce_check(const struct turn_auth *a, const char *nonce, size_t len, uint64_t now_ms,
			  const struct sockaddr *src);

#endif

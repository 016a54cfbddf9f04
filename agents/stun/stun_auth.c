/* stun_auth.c - MESSAGE-INTEGRITY (HMAC-SHA1), MESSAGE-INTEGRITY-SHA256,
 * long-term keys, USERHASH, FINGERPRINT (CRC-32) and the nonce's security
 * feature cookie (RFC 8489 §9, §14.4-§14.7). libcrypto does the hashing,
 * zlib the CRC-32 (libcrypto has none). */
#include "agents/stun/stun.h"
#include "agents/common/bytes.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <zlib.h>

/* ---- CRC-32 ---- */

/* The CRC-32 RFC 8489 §14.7 names (ITU-T V.42, the reflected polynomial
 * 0xEDB88320 with all-ones preset and final inversion) is exactly zlib's
 * crc32; the RFC sentence is at stun_msg_check_fingerprint below. */
uint32_t stun_crc32(const uint8_t *buf, size_t len)
{
	return (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), buf, len);
}

/* ---- HMAC over "the message with the header length patched" ---- */

static EVP_MAC *hmac_mac;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void hmac_init(void)
{
	hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

/* hmac_msg - HMAC(@digest, key) over buf[0..upto) where bytes 2..3 (the
 * message length) are replaced by @patched_len. Writes the full digest to
 * @out (20 or 32 bytes). */
static int hmac_msg(const char *digest, const uint8_t *key, size_t key_len, const uint8_t *buf,
		    size_t upto, uint16_t patched_len, uint8_t *out, size_t out_cap)
{
	int ret = -EIO;
	EVP_MAC_CTX *ctx = NULL;
	pthread_once(&hmac_once, hmac_init);
	if (!hmac_mac)
		return -EIO;
	ctx = EVP_MAC_CTX_new(hmac_mac);
	if (!ctx)
		goto out;
	OSSL_PARAM params[2];
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	/* an empty key is legal for HMAC; OpenSSL wants a non-NULL pointer */
	static const uint8_t empty = 0;
	if (EVP_MAC_init(ctx, key_len ? key : &empty, key_len, params) != 1)
		goto out;
	uint8_t hdr[4];
	memcpy(hdr, buf, 2);
	wr16(hdr + 2, patched_len);
	size_t outl = 0;
	if (EVP_MAC_update(ctx, hdr, 4) != 1 || EVP_MAC_update(ctx, buf + 4, upto - 4) != 1 ||
	    EVP_MAC_final(ctx, out, &outl, out_cap) != 1)
		goto out;
	ret = 0;
out:
	EVP_MAC_CTX_free(ctx);
	return ret;
}

/* RFC 8489 §14.5: "The text used as input to HMAC is the STUN message, up
 * to and including the attribute preceding the MESSAGE-INTEGRITY
 * attribute. The Length field of the STUN message header is adjusted to
 * point to the end of the MESSAGE-INTEGRITY attribute." §14.6 says the
 * same of MESSAGE-INTEGRITY-SHA256. */
static int check_mi(const struct stun_msg *m, int idx, const char *digest, size_t min_len,
		    size_t max_len, const uint8_t *key, size_t key_len)
{
	if (idx < 0)
		return -ENOENT;
	const struct stun_attr *a = &m->attrs[idx];
	if (a->len < min_len || a->len > max_len || (a->len & 3u))
		return -EBADMSG;
	size_t start = a->off - 4;
	uint8_t mac[STUN_HMAC_SHA256_LEN];
	int r = hmac_msg(digest, key, key_len, m->buf, start,
			 (uint16_t)(a->off + a->len - STUN_HEADER_LEN), mac, sizeof(mac));
	if (r)
		return r;
	return CRYPTO_memcmp(mac, m->buf + a->off, a->len) == 0 ? 0 : -EACCES;
}

int stun_msg_check_integrity_sha1(const struct stun_msg *m, const uint8_t *key, size_t key_len)
{
	return check_mi(m, m->mi_idx, "SHA1", STUN_HMAC_SHA1_LEN, STUN_HMAC_SHA1_LEN, key, key_len);
}

/* RFC 8489 §14.6: "The value will be at least 16 bytes and MUST NOT exceed
 * 32 bytes. The value MUST be a multiple of 4". */
int stun_msg_check_integrity_sha256(const struct stun_msg *m, const uint8_t *key, size_t key_len)
{
	return check_mi(m, m->mi256_idx, "SHA256", 16, STUN_HMAC_SHA256_LEN, key, key_len);
}

int stun_msg_check_integrity(const struct stun_msg *m, const uint8_t *key, size_t key_len)
{
	if (m->mi256_idx >= 0)
		return stun_msg_check_integrity_sha256(m, key, key_len);
	return stun_msg_check_integrity_sha1(m, key, key_len);
}

/* RFC 8489 §14.7: "The value of the attribute is computed as the CRC-32 of
 * the STUN message up to (but excluding) the FINGERPRINT attribute itself,
 * XOR'ed with the 32-bit value 0x5354554e." */
int stun_msg_check_fingerprint(const struct stun_msg *m)
{
	if (m->fp_idx < 0)
		return -ENOENT;
	const struct stun_attr *a = &m->attrs[m->fp_idx];
	if (a->len != 4)
		return -EBADMSG;
	uint32_t want = stun_crc32(m->buf, a->off - 4) ^ STUN_FINGERPRINT_XOR;
	return rd32(m->buf + a->off) == want ? 0 : -EACCES;
}

static int add_mi(struct stun_builder *b, uint16_t type, const char *digest, size_t mac_len,
		  const uint8_t *key, size_t key_len)
{
	if (b->err)
		return b->err;
	size_t start = b->len;
	uint8_t *p = stun_builder_reserve(b, type, mac_len);
	if (!p)
		return b->err;
	uint8_t mac[STUN_HMAC_SHA256_LEN];
	/* the header length now already points to the end of this attribute */
	int r = hmac_msg(digest, key, key_len, b->buf, start, (uint16_t)(b->len - STUN_HEADER_LEN),
			 mac, sizeof(mac));
	if (r) {
		b->err = r;
		return r;
	}
	memcpy(p, mac, mac_len);
	b->have_mi = true;
	return 0;
}

int stun_builder_add_integrity(struct stun_builder *b, const uint8_t *key, size_t key_len)
{
	return add_mi(b, STUN_ATTR_MESSAGE_INTEGRITY, "SHA1", STUN_HMAC_SHA1_LEN, key, key_len);
}

int stun_builder_add_integrity_sha256(struct stun_builder *b, const uint8_t *key, size_t key_len)
{
	return add_mi(b, STUN_ATTR_MESSAGE_INTEGRITY_SHA256, "SHA256", STUN_HMAC_SHA256_LEN, key,
		      key_len);
}

int stun_builder_add_fingerprint(struct stun_builder *b)
{
	if (b->err)
		return b->err;
	size_t start = b->len;
	uint8_t *p = stun_builder_reserve(b, STUN_ATTR_FINGERPRINT, 4);
	if (!p)
		return b->err;
	wr32(p, stun_crc32(b->buf, start) ^ STUN_FINGERPRINT_XOR);
	b->sealed = true;
	return 0;
}

/* ---- keys ---- */

static int digest3(const char *digest, const char *a, const char *b, const char *c, uint8_t *out,
		   size_t *out_len)
{
	int ret = -EIO;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_MD *md = EVP_MD_fetch(NULL, digest, NULL);
	unsigned int n = 0;
	if (!ctx || !md || EVP_DigestInit_ex(ctx, md, NULL) != 1)
		goto out;
	if (EVP_DigestUpdate(ctx, a, strlen(a)) != 1 || EVP_DigestUpdate(ctx, ":", 1) != 1 ||
	    EVP_DigestUpdate(ctx, b, strlen(b)) != 1)
		goto out;
	if (c && (EVP_DigestUpdate(ctx, ":", 1) != 1 || EVP_DigestUpdate(ctx, c, strlen(c)) != 1))
		goto out;
	if (EVP_DigestFinal_ex(ctx, out, &n) != 1)
		goto out;
	*out_len = n;
	ret = 0;
out:
	EVP_MD_free(md);
	EVP_MD_CTX_free(ctx);
	return ret;
}

int stun_key_long_term(struct stun_key *key, enum stun_pwalg alg, const char *username,
		       const char *realm, const char *password)
{
	const char *digest;
	if (alg == STUN_PWALG_MD5)
		digest = "MD5";
	else if (alg == STUN_PWALG_SHA256)
		digest = "SHA256";
	else
		return -EINVAL;
	/* RFC 8489 §9.2.2: key = MD5(username ":" OpaqueString(realm) ":"
	 * OpaqueString(password)); for SHA-256 "the key is 32 bytes long". */
	return digest3(digest, username, realm, password, key->k, &key->len);
}

int stun_userhash(uint8_t out[32], const char *username, const char *realm)
{
	size_t n;
	/* RFC 8489 §14.4: userhash = SHA-256(OpaqueString(username) ":"
	 * OpaqueString(realm)) */
	return digest3("SHA256", username, realm, NULL, out, &n);
}

/* ---- nonce cookie ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* RFC 8489 §9.2: "the nonce begins with the 'nonce cookie' ... the string
 * 'obMatJos2' concatenated with the (4-character) base64 encoding of the
 * 24-bit STUN Security Features". */
int stun_nonce_make(char *out, size_t cap, uint32_t features, const char *opaque)
{
	size_t olen = opaque ? strlen(opaque) : 0;
	if (cap < STUN_NONCE_COOKIE_LEN + olen + 1 ||
	    STUN_NONCE_COOKIE_LEN + olen > STUN_MAX_NONCE_LEN)
		return -EMSGSIZE;
	memcpy(out, STUN_NONCE_COOKIE, 9);
	for (int i = 0; i < 4; i++)
		out[9 + i] = b64[(features >> (18 - 6 * i)) & 0x3fu];
	if (olen)
		memcpy(out + STUN_NONCE_COOKIE_LEN, opaque, olen);
	out[STUN_NONCE_COOKIE_LEN + olen] = '\0';
	return (int)(STUN_NONCE_COOKIE_LEN + olen);
}

int stun_nonce_features(const uint8_t *nonce, size_t len, uint32_t *features)
{
	if (len < STUN_NONCE_COOKIE_LEN || memcmp(nonce, STUN_NONCE_COOKIE, 9) != 0)
		return -ENOENT;
	uint32_t f = 0;
	for (int i = 0; i < 4; i++) {
		const char *p = memchr(b64, nonce[9 + i], 64);
		if (!p || nonce[9 + i] == '\0')
			return -EBADMSG;
		f = (f << 6) | (uint32_t)(p - b64);
	}
	*features = f;
	return 0;
}

/* stun.h - the STUN wire codec (RFC 8489), with the attributes of RFC 5780
 * (NAT behaviour discovery), RFC 8656 (TURN), RFC 6062 (TURN-TCP) and
 * RFC 8445 (ICE), and TURN ChannelData framing (RFC 8656 §12.4).
 *
 * Pure: bytes in, structs out. No sockets, no clock, no allocation. The only
 * outside dependency is libcrypto for HMAC-SHA1, HMAC-SHA256, MD5, SHA-256
 * and random transaction IDs.
 *
 * Decoding: stun_msg_decode() checks the framing (header, every attribute
 * length, attribute order around MESSAGE-INTEGRITY and FINGERPRINT) and
 * indexes the attributes; it does not copy. The stun_msg keeps a pointer to
 * the caller's buffer, which must outlive it. Typed getters
 * (stun_msg_get_*) check each value's length before reading it.
 *
 * Encoding: a struct stun_builder writes into a caller buffer, never past
 * its capacity. Errors are sticky: after the first failing add, every later
 * call returns the same error, so a sequence of adds can be checked once at
 * stun_builder_finish().
 *
 * Return convention: 0 (or a length) on success, a negative errno on failure:
 *   -EMSGSIZE  the buffer is too small / the input is truncated
 *   -EBADMSG   malformed input (bad length, bad value)
 *   -ENOMSG    not a STUN message at all (demultiplexing)
 *   -ENOENT    the attribute is absent
 *   -EACCES    integrity or fingerprint mismatch
 *   -EINVAL    bad argument from the caller
 */
#ifndef NATLAB_AGENTS_STUN_H
#define NATLAB_AGENTS_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* RFC 8489 §5: "The magic cookie field MUST contain the fixed value
 * 0x2112A442 in network byte order." */
#define STUN_MAGIC_COOKIE 0x2112A442u
#define STUN_HEADER_LEN	  20
#define STUN_TID_LEN	  12
/* RFC 3489 clients use a 128-bit transaction ID and no cookie. */
#define STUN_CLASSIC_TID_LEN 16
/* The 16-bit length field bounds a message to 20 + 65532 bytes. */
#define STUN_MAX_MSG_LEN (STUN_HEADER_LEN + 65532)
/* A message with more attributes than this is refused as malformed: no
 * legitimate STUN/TURN/ICE message comes near it. */
#define STUN_MAX_ATTRS 64
/* RFC 8489 §14.8: "The reason phrase MUST be a UTF-8-encoded sequence of
 * fewer than 128 characters (which can be as long as 509 bytes...)"; we
 * bound the bytes at 763 as the RFC's length limit does. */
#define STUN_MAX_REASON_LEN 763
/* RFC 8489 §14.3: USERNAME "MUST contain a UTF-8-encoded sequence of fewer
 * than 509 bytes"; §14.9 REALM, §14.10 NONCE: fewer than 763 bytes. */
#define STUN_MAX_USERNAME_LEN 508
#define STUN_MAX_REALM_LEN    762
#define STUN_MAX_NONCE_LEN    762
#define STUN_FINGERPRINT_XOR  0x5354554eu /* RFC 8489 §14.7 */
#define STUN_HMAC_SHA1_LEN    20
#define STUN_HMAC_SHA256_LEN  32
#define STUN_MAX_KEY_LEN      32
#define STUN_MAX_UNKNOWN      16 /* unknown comprehension-required types kept */

/* RFC 8489 §5: the 2-bit class, interleaved into the 14-bit type. */
enum stun_class {
	STUN_CLASS_REQUEST = 0,
	STUN_CLASS_INDICATION = 1,
	STUN_CLASS_SUCCESS = 2,
	STUN_CLASS_ERROR = 3,
};

enum stun_method {
	STUN_METHOD_BINDING = 0x001,
	/* RFC 8656 §17 */
	STUN_METHOD_ALLOCATE = 0x003,
	STUN_METHOD_REFRESH = 0x004,
	STUN_METHOD_SEND = 0x006,
	STUN_METHOD_DATA = 0x007,
	STUN_METHOD_CREATE_PERMISSION = 0x008,
	STUN_METHOD_CHANNEL_BIND = 0x009,
	/* RFC 6062 §6.1 */
	STUN_METHOD_CONNECT = 0x00a,
	STUN_METHOD_CONNECTION_BIND = 0x00b,
	STUN_METHOD_CONNECTION_ATTEMPT = 0x00c,
};

enum stun_attr_type {
	/* RFC 8489 §18.3.1 comprehension-required */
	STUN_ATTR_MAPPED_ADDRESS = 0x0001,
	STUN_ATTR_USERNAME = 0x0006,
	STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
	STUN_ATTR_ERROR_CODE = 0x0009,
	STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000a,
	STUN_ATTR_REALM = 0x0014,
	STUN_ATTR_NONCE = 0x0015,
	STUN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001c,
	STUN_ATTR_PASSWORD_ALGORITHM = 0x001d,
	STUN_ATTR_USERHASH = 0x001e,
	STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	/* RFC 8489 §18.3.2 comprehension-optional */
	STUN_ATTR_PASSWORD_ALGORITHMS = 0x8002,
	STUN_ATTR_ALTERNATE_DOMAIN = 0x8003,
	STUN_ATTR_SOFTWARE = 0x8022,
	STUN_ATTR_ALTERNATE_SERVER = 0x8023,
	STUN_ATTR_FINGERPRINT = 0x8028,
	/* RFC 3489 (classic STUN), answered for old clients */
	STUN_ATTR_RESPONSE_ADDRESS = 0x0002,
	STUN_ATTR_SOURCE_ADDRESS = 0x0004,
	STUN_ATTR_CHANGED_ADDRESS = 0x0005,
	STUN_ATTR_REFLECTED_FROM = 0x000b,
	/* RFC 5780 §7 */
	STUN_ATTR_CHANGE_REQUEST = 0x0003,
	STUN_ATTR_PADDING = 0x0026,
	STUN_ATTR_RESPONSE_PORT = 0x0027,
	STUN_ATTR_RESPONSE_ORIGIN = 0x802b,
	STUN_ATTR_OTHER_ADDRESS = 0x802c,
	/* RFC 8656 §18 */
	STUN_ATTR_CHANNEL_NUMBER = 0x000c,
	STUN_ATTR_LIFETIME = 0x000d,
	STUN_ATTR_XOR_PEER_ADDRESS = 0x0012,
	STUN_ATTR_DATA = 0x0013,
	STUN_ATTR_XOR_RELAYED_ADDRESS = 0x0016,
	STUN_ATTR_REQUESTED_ADDRESS_FAMILY = 0x0017,
	STUN_ATTR_EVEN_PORT = 0x0018,
	STUN_ATTR_REQUESTED_TRANSPORT = 0x0019,
	STUN_ATTR_DONT_FRAGMENT = 0x001a,
	STUN_ATTR_RESERVATION_TOKEN = 0x0022,
	STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY = 0x8000,
	STUN_ATTR_ADDRESS_ERROR_CODE = 0x8001,
	STUN_ATTR_ICMP = 0x8004,
	/* RFC 6062 §6.2 */
	STUN_ATTR_CONNECTION_ID = 0x002a,
	/* RFC 8445 §16.1 */
	STUN_ATTR_PRIORITY = 0x0024,
	STUN_ATTR_USE_CANDIDATE = 0x0025,
	STUN_ATTR_ICE_CONTROLLED = 0x8029,
	STUN_ATTR_ICE_CONTROLLING = 0x802a,
};

/* RFC 5780 §7.2 CHANGE-REQUEST flags */
#define STUN_CHANGE_IP	 0x04u
#define STUN_CHANGE_PORT 0x02u

/* RFC 8489 §14.12 / §18.5 */
enum stun_pwalg {
	STUN_PWALG_MD5 = 0x0001,
	STUN_PWALG_SHA256 = 0x0002,
};

/* RFC 8489 §9.2 / §18.1 security feature bits carried in the nonce cookie
 * (bit 0 of the 24-bit set is the most significant). */
#define STUN_FEATURE_PASSWORD_ALGORITHMS (1u << 0)
#define STUN_FEATURE_USERNAME_ANONYMITY	 (1u << 1)
#define STUN_NONCE_COOKIE		 "obMatJos2"
#define STUN_NONCE_COOKIE_LEN		 13 /* cookie + 4 base64 chars */

/* RFC 8656 §12: channel numbers 0x4000 through 0x4FFF. */
#define STUN_CHANNEL_MIN	0x4000u
#define STUN_CHANNEL_MAX	0x4fffu
#define STUN_CHANNEL_HEADER_LEN 4

/* An IPv4 or IPv6 transport address, in host byte order for the port. */
struct stun_addr {
	int family;	/* AF_INET or AF_INET6 */
	uint16_t port;	/* host order */
	uint8_t ip[16]; /* network order; the first 4 bytes for AF_INET */
};

/* One attribute found by the decoder: its value is m->buf[off .. off+len). */
struct stun_attr {
	uint16_t type;
	uint16_t len;
	uint32_t off;
};

struct stun_msg {
	const uint8_t *buf; /* the whole message; caller owns, must outlive */
	size_t len;	    /* STUN_HEADER_LEN + the header's length field */
	uint16_t type;
	enum stun_class cls;
	uint16_t method;
	bool classic;		   /* RFC 3489: no magic cookie */
	uint8_t tid[STUN_TID_LEN]; /* bytes 8..19 */
	unsigned n_attrs;
	struct stun_attr attrs[STUN_MAX_ATTRS];
	int mi_idx;    /* index of MESSAGE-INTEGRITY, or -1 */
	int mi256_idx; /* index of MESSAGE-INTEGRITY-SHA256, or -1 */
	int fp_idx;    /* index of FINGERPRINT, or -1 */
	/* comprehension-required attributes (0x0000-0x7FFF) this codec does
	 * not know, for a 420 answer (RFC 8489 §6.3.1). */
	unsigned n_unknown;
	uint16_t unknown[STUN_MAX_UNKNOWN];
};

/* ---- message type ---------------------------------------------------- */

/* stun_type_make - the 16-bit message type from a class and a 12-bit
 * method (RFC 8489 §5, Figure 3). */
uint16_t stun_type_make(enum stun_class cls, uint16_t method);
enum stun_class stun_type_class(uint16_t type);
uint16_t stun_type_method(uint16_t type);

const char *stun_method_name(uint16_t method);	  /* "Binding", or "0x..." */
const char *stun_class_name(enum stun_class cls); /* "request", ... */
const char *stun_attr_name(uint16_t type);	  /* "XOR-MAPPED-ADDRESS" or NULL */
/* stun_attr_is_known - whether this codec understands @type. */
bool stun_attr_is_known(uint16_t type);
/* stun_error_reason - the RFC's reason phrase for @code ("Bad Request"), or
 * "Error" for a code it does not name. */
const char *stun_error_reason(int code);

/* stun_tid_random - fill @tid with 96 random bits (RFC 8489 §5:
 * "cryptographically random"). Returns 0 or -EIO. */
int stun_tid_random(uint8_t tid[STUN_TID_LEN]);

/* ---- demultiplexing and framing ---------------------------------------- */

/* stun_is_message - cheap check for demultiplexing (RFC 7983): the first
 * two bits are zero, the magic cookie is there, the length field is a
 * multiple of 4 and matches @len. Does not look at attributes. */
bool stun_is_message(const uint8_t *buf, size_t len);

/* stun_frame_length - over a byte stream (TCP/TLS), the total length of the
 * frame starting at @buf: a STUN message (20 + length) or a ChannelData
 * message (4 + length, padded to 4 as RFC 8656 §12.5 requires over
 * streams). Returns the length (> 0), 0 when fewer than 4 bytes are
 * available, or -EBADMSG when the first byte starts neither. */
long stun_frame_length(const uint8_t *buf, size_t avail);

/* ---- decoding ------------------------------------------------------------ */

/* Accept RFC 3489 messages (no magic cookie) and mark them m->classic. */
#define STUN_DECODE_CLASSIC 0x1u

/* stun_msg_decode - parse and index the message in buf[0..len). @len must
 * be exactly the message (a UDP datagram, or one frame cut by
 * stun_frame_length). On failure, *why (if not NULL) points to a static
 * text. Never reads outside buf[0..len). */
int stun_msg_decode(struct stun_msg *m, const uint8_t *buf, size_t len, unsigned flags,
		    const char **why);

/* stun_msg_find - the first attribute of @type (RFC 8489 §14: "only the
 * first occurrence needs to be processed"), or NULL. */
const struct stun_attr *stun_msg_find(const struct stun_msg *m, uint16_t type);
static inline const uint8_t *stun_attr_value(const struct stun_msg *m, const struct stun_attr *a)
{
	return m->buf + a->off;
}
bool stun_msg_has(const struct stun_msg *m, uint16_t type);

/* Typed getters: 0, -ENOENT when absent, -EBADMSG when the value is
 * malformed (wrong length, unknown family, ...). */
/* MAPPED-ADDRESS, ALTERNATE-SERVER, RESPONSE-ORIGIN, OTHER-ADDRESS,
 * SOURCE-ADDRESS, CHANGED-ADDRESS, RESPONSE-ADDRESS */
int stun_msg_get_addr(const struct stun_msg *m, uint16_t type, struct stun_addr *out);
/* XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS: the n-th
 * occurrence (TURN may carry several XOR-PEER-ADDRESS / XOR-RELAYED). */
int stun_msg_get_xor_addr(const struct stun_msg *m, uint16_t type, struct stun_addr *out);
int stun_msg_get_xor_addr_nth(const struct stun_msg *m, uint16_t type, unsigned nth,
			      struct stun_addr *out);
/* USERNAME, REALM, NONCE, SOFTWARE, DATA, USERHASH, PADDING,
 * ALTERNATE-DOMAIN...: a pointer into the message, not terminated. */
int stun_msg_get_bytes(const struct stun_msg *m, uint16_t type, const uint8_t **val, size_t *len);
/* copies a text attribute into @out (NUL-terminated); -EMSGSIZE if it does
 * not fit */
int stun_msg_get_string(const struct stun_msg *m, uint16_t type, char *out, size_t cap);
/* 32-bit: PRIORITY, LIFETIME, CHANGE-REQUEST, CONNECTION-ID, FINGERPRINT */
int stun_msg_get_u32(const struct stun_msg *m, uint16_t type, uint32_t *out);
/* 64-bit: ICE-CONTROLLED, ICE-CONTROLLING, RESERVATION-TOKEN */
int stun_msg_get_u64(const struct stun_msg *m, uint16_t type, uint64_t *out);
/* ERROR-CODE: code 300..699 and the reason (pointer into the message). */
int stun_msg_get_error(const struct stun_msg *m, int *code, const char **reason,
		       size_t *reason_len);
/* UNKNOWN-ATTRIBUTES: up to @cap types; *n is the number stored. */
int stun_msg_get_unknown_attrs(const struct stun_msg *m, uint16_t *types, size_t cap, size_t *n);
/* CHANNEL-NUMBER (RFC 8656 §14.1) */
int stun_msg_get_channel(const struct stun_msg *m, uint16_t *channel);
/* RESPONSE-PORT (RFC 5780 §7.5) */
int stun_msg_get_response_port(const struct stun_msg *m, uint16_t *port);
/* REQUESTED-TRANSPORT (RFC 8656 §14.7): the IANA protocol number (17) */
int stun_msg_get_requested_transport(const struct stun_msg *m, uint8_t *proto);
/* REQUESTED-ADDRESS-FAMILY / ADDITIONAL-ADDRESS-FAMILY: AF_INET/AF_INET6 */
int stun_msg_get_family(const struct stun_msg *m, uint16_t type, int *family);
/* EVEN-PORT (RFC 8656 §14.6): the R bit */
int stun_msg_get_even_port(const struct stun_msg *m, bool *reserve_next);
/* ADDRESS-ERROR-CODE (RFC 8656 §14.12) */
int stun_msg_get_address_error(const struct stun_msg *m, int *family, int *code,
			       const char **reason, size_t *reason_len);
/* ICMP (RFC 8656 §14.13) */
int stun_msg_get_icmp(const struct stun_msg *m, uint8_t *icmp_type, uint8_t *icmp_code,
		      uint32_t *error_data);
/* PASSWORD-ALGORITHMS (RFC 8489 §14.11): the algorithm numbers, in order */
int stun_msg_get_password_algorithms(const struct stun_msg *m, uint16_t *algs, size_t cap,
				     size_t *n);
/* PASSWORD-ALGORITHM (RFC 8489 §14.12) */
int stun_msg_get_password_algorithm(const struct stun_msg *m, uint16_t *alg);

/* ---- credentials, integrity, fingerprint -------------------------------- */

struct stun_key {
	uint8_t k[STUN_MAX_KEY_LEN];
	size_t len;
};

/* Short-term credentials (RFC 8489 §9.1.1): "key = OpaqueString(password)":
 * pass the (already prepared) password bytes as the key directly.
 *
 * stun_key_long_term - RFC 8489 §9.2.2: key = MD5(username ":"
 * OpaqueString(realm) ":" OpaqueString(password)) (16 bytes) or, for
 * SHA-256, the SHA-256 of the same string (32 bytes). The caller passes
 * strings already prepared (no RFC 8265 processing here). */
int stun_key_long_term(struct stun_key *key, enum stun_pwalg alg, const char *username,
		       const char *realm, const char *password);

/* stun_userhash - RFC 8489 §14.4: SHA-256(OpaqueString(username) ":"
 * OpaqueString(realm)), 32 bytes. */
int stun_userhash(uint8_t out[32], const char *username, const char *realm);

/* stun_msg_check_integrity - verify MESSAGE-INTEGRITY-SHA256 when present
 * (RFC 8489 §9.1.3: the receiver uses the strongest it supports), else
 * MESSAGE-INTEGRITY. @key is the short-term password or the long-term key
 * (stun_key_long_term). Returns 0, -ENOENT (neither present), -EACCES
 * (mismatch), -EBADMSG (bad length). */
int stun_msg_check_integrity(const struct stun_msg *m, const uint8_t *key, size_t key_len);
/* the same for one of the two attributes explicitly */
int stun_msg_check_integrity_sha1(const struct stun_msg *m, const uint8_t *key, size_t key_len);
int stun_msg_check_integrity_sha256(const struct stun_msg *m, const uint8_t *key, size_t key_len);
/* stun_msg_check_fingerprint - 0, -ENOENT, -EACCES */
int stun_msg_check_fingerprint(const struct stun_msg *m);

/* stun_crc32 - the CRC-32 of ISO 3309 / ITU-T V.42 (as zlib's crc32). */
uint32_t stun_crc32(const uint8_t *buf, size_t len);

/* stun_nonce_make - a nonce starting with the RFC 8489 §9.2 security
 * feature cookie "obMatJos2" + base64 of the 24 feature bits, followed by
 * @opaque. Writes a NUL-terminated string; returns its length or -EMSGSIZE. */
int stun_nonce_make(char *out, size_t cap, uint32_t features, const char *opaque);
/* stun_nonce_features - decode the feature bits of a nonce; -ENOENT when
 * the nonce does not start with the cookie, -EBADMSG on bad base64. */
int stun_nonce_features(const uint8_t *nonce, size_t len, uint32_t *features);

/* ---- encoding ------------------------------------------------------------ */

struct stun_builder {
	uint8_t *buf; /* caller owns */
	size_t cap;
	size_t len;	  /* bytes written so far, header included */
	int err;	  /* first error, sticky */
	uint8_t pad_byte; /* value of padding bytes; 0 unless changed */
	bool sealed;	  /* a FINGERPRINT was added: nothing may follow */
	bool have_mi;	  /* a MESSAGE-INTEGRITY(-SHA256) was added */
};

/* stun_builder_init - start a message of @type with @tid in buf[0..cap).
 * Returns 0 or -EMSGSIZE (sticky). */
int stun_builder_init(struct stun_builder *b, uint8_t *buf, size_t cap, uint16_t type,
		      const uint8_t tid[STUN_TID_LEN]);
/* stun_builder_init_classic - an RFC 3489 answer: the 16-byte transaction
 * ID is copied as it came (no cookie). */
int stun_builder_init_classic(struct stun_builder *b, uint8_t *buf, size_t cap, uint16_t type,
			      const uint8_t tid16[STUN_CLASSIC_TID_LEN]);
/* stun_builder_finish - the message length, or the first error. */
long stun_builder_finish(const struct stun_builder *b);

/* stun_builder_reserve - append the header of an attribute of @type whose
 * value is @len bytes, write its padding, and return where the caller
 * writes the value (so large values such as DATA need no extra copy); NULL
 * on error (b->err set). */
uint8_t *stun_builder_reserve(struct stun_builder *b, uint16_t type, size_t len);
/* raw value (copied), padded to 4 */
int stun_builder_add(struct stun_builder *b, uint16_t type, const void *val, size_t len);
int stun_builder_add_string(struct stun_builder *b, uint16_t type, const char *s);
int stun_builder_add_flag(struct stun_builder *b, uint16_t type); /* empty value */
int stun_builder_add_u32(struct stun_builder *b, uint16_t type, uint32_t v);
int stun_builder_add_u64(struct stun_builder *b, uint16_t type, uint64_t v);
int stun_builder_add_addr(struct stun_builder *b, uint16_t type, const struct stun_addr *a);
int stun_builder_add_xor_addr(struct stun_builder *b, uint16_t type, const struct stun_addr *a);
/* ERROR-CODE with @reason, or stun_error_reason(code) when NULL */
int stun_builder_add_error(struct stun_builder *b, int code, const char *reason);
int stun_builder_add_unknown_attrs(struct stun_builder *b, const uint16_t *types, size_t n);
int stun_builder_add_change_request(struct stun_builder *b, uint32_t flags);
int stun_builder_add_response_port(struct stun_builder *b, uint16_t port);
int stun_builder_add_channel(struct stun_builder *b, uint16_t channel);
int stun_builder_add_requested_transport(struct stun_builder *b, uint8_t proto);
int stun_builder_add_family(struct stun_builder *b, uint16_t type, int family);
int stun_builder_add_even_port(struct stun_builder *b, bool reserve_next);
int stun_builder_add_address_error(struct stun_builder *b, int family, int code,
				   const char *reason);
int stun_builder_add_icmp(struct stun_builder *b, uint8_t icmp_type, uint8_t icmp_code,
			  uint32_t error_data);
int stun_builder_add_password_algorithms(struct stun_builder *b, const uint16_t *algs, size_t n);
int stun_builder_add_password_algorithm(struct stun_builder *b, uint16_t alg);
/* MESSAGE-INTEGRITY (HMAC-SHA1, RFC 8489 §14.5) over everything so far */
int stun_builder_add_integrity(struct stun_builder *b, const uint8_t *key, size_t key_len);
/* MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6), full 32 bytes */
int stun_builder_add_integrity_sha256(struct stun_builder *b, const uint8_t *key, size_t key_len);
/* FINGERPRINT (RFC 8489 §14.7); must be the last attribute */
int stun_builder_add_fingerprint(struct stun_builder *b);

/* ---- TURN ChannelData (RFC 8656 §12.4) ---------------------------------- */

/* stun_channel_data_encode - header + @len bytes of data into buf; pads to a
 * multiple of 4 when @pad (required over TCP/TLS, optional over UDP).
 * Returns the frame length or -EMSGSIZE / -EINVAL (channel out of range). */
long stun_channel_data_encode(uint8_t *buf, size_t cap, uint16_t channel, const void *data,
			      size_t len, bool pad);
/* stun_channel_data_decode - parse a ChannelData frame at buf[0..len):
 * *data points into buf. Returns the bytes the frame occupies (header +
 * data, plus padding present in @len up to a multiple of 4), -ENOMSG when
 * the first two bits are not 01, -EMSGSIZE when truncated. */
long stun_channel_data_decode(const uint8_t *buf, size_t len, uint16_t *channel,
			      const uint8_t **data, size_t *data_len);

/* ---- addresses ------------------------------------------------------------ */

int stun_addr_from_sockaddr(struct stun_addr *a, const struct sockaddr *sa, socklen_t sa_len);
/* fills @ss; returns the sockaddr length */
socklen_t stun_addr_to_sockaddr(const struct stun_addr *a, struct sockaddr_storage *ss);
bool stun_addr_equal(const struct stun_addr *a, const struct stun_addr *b);
bool stun_addr_ip_equal(const struct stun_addr *a, const struct stun_addr *b);
/* "192.0.2.1:3478" or "[2001:db8::1]:3478"; returns @out */
#define STUN_ADDR_STRLEN 56
char *stun_addr_format(const struct stun_addr *a, char out[STUN_ADDR_STRLEN]);
/* stun_addr_ip_format - the address without port */
char *stun_addr_ip_format(const struct stun_addr *a, char out[STUN_ADDR_STRLEN]);
/* parses "IP:PORT", "[IPv6]:PORT", or a bare IP (port 0) */
int stun_addr_parse(struct stun_addr *a, const char *s);

#endif

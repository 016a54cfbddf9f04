/* seq.h - what the script-driven fuzz targets (turn_server_seq.c,
 * turn_client_seq.c, ice_agent_seq.c; docs/fuzzing.md, "The
 * state-machine targets") share: the reader of their input script, in
 * which a missing byte reads as 0; the invariant check that names what
 * broke and aborts; an address from text; the exact-size copy of what
 * they feed. Included by each target, and through them all at once by
 * tests/unit/fuzz_regress.c; not a target itself (only the .c files of
 * agents/fuzz/ are). */
#ifndef NATLAB_AGENTS_FUZZ_SEQ_H
#define NATLAB_AGENTS_FUZZ_SEQ_H

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* SEQ_CHECK - @cond must hold; else print "@target: invariant broken: "
 * and the message (a printf format literal and its arguments) and
 * abort(), which libFuzzer reports as a crash with its input. */
#define SEQ_CHECK(target, cond, ...)                                                               \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, target ": invariant broken: " __VA_ARGS__);                \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* the part of the input script not read yet */
struct seq_rd {
	const uint8_t *p;
	size_t n;
};

/* seq_u8 - the next byte of the script, 0 once it is used up */
static inline uint8_t seq_u8(struct seq_rd *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

/* seq_u16 - the next two bytes, most significant first */
static inline uint16_t seq_u16(struct seq_rd *r)
{
	uint16_t hi = seq_u8(r);
	return (uint16_t)(hi << 8 | seq_u8(r));
}

/* seq_addr - @ip (an IPv4 or IPv6 literal, which the caller's tables
 * hold) and @port as a socket address. */
static inline struct sockaddr_storage seq_addr(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		inet_pton(AF_INET6, ip, &s->sin6_addr);
	} else {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;
		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		inet_pton(AF_INET, ip, &s->sin_addr);
	}
	return ss;
}

/* seq_copy - @len bytes of @buf in a buffer of exactly that size, so
 * that ASan catches a read one byte past the message; the caller frees
 * it. NULL without memory. */
static inline uint8_t *seq_copy(const uint8_t *buf, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	if (copy)
		memcpy(copy, buf, len);
	return copy;
}

#endif

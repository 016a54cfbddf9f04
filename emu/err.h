/* err.h - a readable error message written into a caller-owned buffer.
 *
 * Fallible natlab calls return 0 or a negative errno and, on failure, fill a
 * struct natlab_err that the caller may show: which object, which operation,
 * and the kernel's own words (extended ack) where there are some.
 */
#ifndef NATLAB_EMU_ERR_H
#define NATLAB_EMU_ERR_H

#include <stddef.h>

#define NATLAB_ERR_MAX 512

struct natlab_err {
	char msg[NATLAB_ERR_MAX];
};

/* natlab_err_set - format a message into @e (which may be NULL).
 * Returns -abs(@errnum), or -EIO when @errnum is 0, so that callers can write
 * "return natlab_err_set(e, errno, ...)". When @errnum is non-zero its
 * strerror() text is appended after ": ", and for errors whose remedy is
 * the same wherever they happen (privileges, file limits, a missing kernel
 * feature, an address in use or absent) the remedy in parentheses, unless
 * @fmt already gives one after "; ". */
int natlab_err_set(struct natlab_err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* natlab_err_msg - format a message into @e (which may be NULL) for an
 * error natlab found itself (bad input, an unknown name, a limit, a
 * deadline of its own): no errno text and no remedy are appended, since no
 * system call failed and strerror(@errnum) would describe something that
 * did not happen ("unknown NAT preset ...: No such file or directory").
 * Returns -abs(@errnum), or -EIO when @errnum is 0. Use natlab_err_set
 * when a call that sets errno (or returns a negative errno) failed. */
int natlab_err_msg(struct natlab_err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* natlab_err_prefix - prepend "what: " to the message already in @e. */
void natlab_err_prefix(struct natlab_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

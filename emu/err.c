#include "emu/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* What to do about the errors whose remedy does not depend on the call
 * that failed; the others are explained by the caller's own text. */
static const char *err_hint(int errnum)
{
	switch (errnum) {
	case EPERM:
	case EACCES:
		return "run natlab as root, or where allowed with unprivileged user namespaces";
	case EMFILE:
	case ENFILE:
		return "too many open files: raise the limit (ulimit -n) or run fewer --jobs";
	case EOPNOTSUPP:
	case EAFNOSUPPORT:
	case EPROTONOSUPPORT:
		return "this kernel lacks a feature natlab needs; 'natlab doctor' names it";
	case EADDRINUSE:
		return "another socket in this node already holds that address and port";
	case EADDRNOTAVAIL:
		return "that address is not configured on this node";
	default:
		return NULL;
	}
}

int natlab_err_set(struct natlab_err *e, int errnum, const char *fmt, ...)
{
	if (errnum < 0)
		errnum = -errnum;
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
		if (errnum && n >= 0 && (size_t)n < sizeof(e->msg)) {
			/* A caller that already says what to do ("...; run natlab
			 * with sudo") gets no second, generic remedy. */
			const char *hint = strstr(e->msg, "; ") ? NULL : err_hint(errnum);

			snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, ": %s%s%s%s",
				 strerror(errnum), hint ? " (" : "", hint ? hint : "",
				 hint ? ")" : "");
		}
	}
	return errnum ? -errnum : -EIO;
}

int natlab_err_msg(struct natlab_err *e, int errnum, const char *fmt, ...)
{
	if (errnum < 0)
		errnum = -errnum;
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return errnum ? -errnum : -EIO;
}

void natlab_err_prefix(struct natlab_err *e, const char *fmt, ...)
{
	char head[NATLAB_ERR_MAX];
	char old[NATLAB_ERR_MAX];
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	snprintf(e->msg, sizeof(e->msg), "%s: %s", head, old);
}

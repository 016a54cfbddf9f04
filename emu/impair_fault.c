/* impair_fault.c - run-time faults and their event log; see impair_fault.h. */
#include "emu/impair_fault.h"
#include "emu/route.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include "emu/link.h"

struct emu_fault_log {
	pthread_mutex_t mu;
	struct emu_fault_event *ev;
	size_t len;
	size_t cap;
};

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int emu_fault_log_new(struct emu_fault_log **out, struct natlab_err *e)
{
	struct emu_fault_log *log = calloc(1, sizeof(*log));

	*out = NULL;
	if (!log)
		return natlab_err_set(e, ENOMEM, "fault log");
	pthread_mutex_init(&log->mu, NULL);
	*out = log;
	return 0;
}

void emu_fault_log_free(struct emu_fault_log *log)
{
	if (!log)
		return;
	pthread_mutex_destroy(&log->mu);
	free(log->ev);
	free(log);
}

int emu_fault_log_record(struct emu_fault_log *log, const char *kind, const char *target,
			 int result, const char *detail_fmt, ...)
{
	struct emu_fault_event ev;
	va_list ap;
	int ret = 0;

	if (!log)
		return 0; /* faults may be injected without a log */
	memset(&ev, 0, sizeof(ev));
	snprintf(ev.kind, sizeof(ev.kind), "%s", kind);
	snprintf(ev.target, sizeof(ev.target), "%s", target ? target : "");
	va_start(ap, detail_fmt);
	vsnprintf(ev.detail, sizeof(ev.detail), detail_fmt, ap);
	va_end(ap);
	ev.result = result;
	pthread_mutex_lock(&log->mu);
	/* Stamped under the lock, so the log's order is the stamps' order. */
	ev.mono_ns = clock_ns(CLOCK_MONOTONIC);
	ev.real_ns = clock_ns(CLOCK_REALTIME);
	if (log->len == log->cap) {
		size_t cap = log->cap ? log->cap * 2 : 32;
		struct emu_fault_event *p = realloc(log->ev, cap * sizeof(*p));
		if (!p) {
			ret = -ENOMEM;
			goto out;
		}
		log->ev = p;
		log->cap = cap;
	}
	log->ev[log->len++] = ev;
out:
	pthread_mutex_unlock(&log->mu);
	return ret;
}

size_t emu_fault_log_count(struct emu_fault_log *log)
{
	size_t n;

	pthread_mutex_lock(&log->mu);
	n = log->len;
	pthread_mutex_unlock(&log->mu);
	return n;
}

int emu_fault_log_get(struct emu_fault_log *log, size_t i, struct emu_fault_event *ev)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&log->mu);
	if (i < log->len) {
		*ev = log->ev[i];
		ret = 0;
	}
	pthread_mutex_unlock(&log->mu);
	return ret;
}

/* A JSON string: quote, backslash and control characters escaped (RFC
 * 8259 section 7). */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

int emu_fault_log_write_jsonl(struct emu_fault_log *log, FILE *f)
{
	pthread_mutex_lock(&log->mu);
	for (size_t i = 0; i < log->len; i++) {
		const struct emu_fault_event *ev = &log->ev[i];
		fprintf(f, "{\"t_mono_ns\":%llu,\"t_real_ns\":%llu,\"kind\":",
			(unsigned long long)ev->mono_ns, (unsigned long long)ev->real_ns);
		json_str(f, ev->kind);
		fputs(",\"target\":", f);
		json_str(f, ev->target);
		fputs(",\"detail\":", f);
		json_str(f, ev->detail);
		fprintf(f, ",\"result\":%d}\n", ev->result);
	}
	pthread_mutex_unlock(&log->mu);
	return ferror(f) ? -EIO : 0;
}

int emu_fault_link_set(struct emu_fault_log *log, struct emu_impair *l, const char *name, bool up,
		       struct natlab_err *e)
{
	struct natlab_err local;
	struct natlab_err *err = e ? e : &local;
	int ret = emu_impair_set_up(l, up, err);

	emu_fault_log_record(log, up ? "link-up" : "link-down", name, ret, "%s",
			     ret < 0 ? err->msg : "impaired link carrier");
	return ret;
}

int emu_fault_iface_set(struct emu_fault_log *log, struct emu_node *n, const char *ifname, bool up,
			struct natlab_err *e)
{
	struct natlab_err local;
	struct natlab_err *err = e ? e : &local;
	char target[EMU_FAULT_TARGET_MAX];
	int ret = emu_link_set_up(n, ifname, up, err);

	snprintf(target, sizeof(target), "%s:%s", emu_node_name(n), ifname);
	emu_fault_log_record(log, up ? "iface-up" : "iface-down", target, ret, "%s",
			     ret < 0 ? err->msg : "");
	return ret;
}

int emu_fault_blackhole(struct emu_fault_log *log, struct emu_impair *l, const char *name,
			enum emu_impair_dir dir, bool on)
{
	if (dir != EMU_IMPAIR_A_TO_B && dir != EMU_IMPAIR_B_TO_A)
		return -EINVAL;
	emu_impair_blackhole(l, dir, on);
	emu_fault_log_record(log, on ? "blackhole-on" : "blackhole-off", name, 0, "direction %s",
			     dir == EMU_IMPAIR_A_TO_B ? "a->b" : "b->a");
	return 0;
}

static int addr_del(struct emu_node *n, struct nl_sock *sk, int ifindex, const char *cidr,
		    struct natlab_err *e)
{
	struct rtnl_addr *addr = rtnl_addr_alloc();
	struct nl_addr *local = NULL;
	int ret;

	if (!addr)
		return natlab_err_set(e, ENOMEM, "node %s: address %s", emu_node_name(n), cidr);
	ret = nl_addr_parse(cidr, AF_UNSPEC, &local);
	if (ret < 0) {
		ret = natlab_err_msg(e, EINVAL,
				     "node %s: \"%s\" is not an address with a prefix length",
				     emu_node_name(n), cidr);
		goto out;
	}
	rtnl_addr_set_ifindex(addr, ifindex);
	rtnl_addr_set_local(addr, local);
	ret = rtnl_addr_delete(sk, addr, 0);
	if (ret < 0)
		ret = natlab_err_set(e, 0, "node %s: cannot remove %s: %s", emu_node_name(n), cidr,
				     nl_geterror(ret));
out:
	nl_addr_put(local);
	rtnl_addr_put(addr);
	return ret;
}

/* Replace the default route of @gateway's family by one via @gateway out
 * of @ifindex (NLM_F_REPLACE: one atomic change, no moment without a
 * route). */
int emu_fault_roam(struct emu_fault_log *log, struct emu_node *n, const char *ifname,
		   const char *old_cidr, const char *new_cidr, const char *gateway,
		   struct natlab_err *e)
{
	struct natlab_err local;
	struct natlab_err *err = e ? e : &local;
	struct nl_sock *sk = emu_node_rtnl(n, err);
	struct rtnl_link *link = NULL;
	char target[EMU_FAULT_TARGET_MAX];
	int ret;

	snprintf(target, sizeof(target), "%s:%s", emu_node_name(n), ifname);
	if (!sk) {
		ret = -EIO;
		goto out;
	}
	ret = rtnl_link_get_kernel(sk, 0, ifname, &link);
	if (ret < 0) {
		ret = natlab_err_set(err, 0, "node %s: no interface %s: %s", emu_node_name(n),
				     ifname, nl_geterror(ret));
		goto out;
	}
	/* Add first, then remove: the kernel drops routes through a prefix
	 * when its last address goes, and a move should not pass through a
	 * moment with no address at all. */
	ret = emu_link_addr_add(n, ifname, new_cidr, err);
	if (ret < 0)
		goto out;
	if (old_cidr) {
		ret = addr_del(n, sk, rtnl_link_get_ifindex(link), old_cidr, err);
		if (ret < 0)
			goto out;
	}
	if (gateway)
		ret = emu_route_replace(n, strchr(gateway, ':') ? "default6" : "default", gateway, ifname,
					err);
out:
	rtnl_link_put(link);
	emu_fault_log_record(log, "roam", target, ret, "%s -> %s via %s%s%s",
			     old_cidr ? old_cidr : "(none)", new_cidr,
			     gateway ? gateway : "(unchanged)", ret < 0 ? ": " : "",
			     ret < 0 ? err->msg : "");
	return ret;
}

/* nat_drops.c - dropped packets aggregated per (rule, 5-tuple), and the
 * nfnetlink_log packet message read; pure (no kernel), see nat_evidence.h. */
#include "emu/nat_evidence.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <netinet/in.h>

/* The 5-tuple of an IPv4 or IPv6 packet as "addr:port" strings (ports only
 * for UDP/TCP). Length-checked before every read: the log may cut the
 * packet. 0, or -1 when the headers are not all there. */
static int ip_tuple(const uint8_t *p, size_t len, uint8_t *proto, char *src, char *dst)
{
	char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];
	const uint8_t *l4;
	size_t l4len;
	bool v6;

	if (len < 1)
		return -1;
	v6 = (p[0] >> 4) == 6;
	if (!v6) {
		size_t ihl = (size_t)(p[0] & 0x0f) * 4;
		if ((p[0] >> 4) != 4 || ihl < 20 || len < ihl)
			return -1;
		*proto = p[9];
		inet_ntop(AF_INET, p + 12, sa, sizeof(sa));
		inet_ntop(AF_INET, p + 16, da, sizeof(da));
		/* a later fragment carries no ports */
		if ((((p[6] & 0x1f) << 8) | p[7]) != 0)
			*proto = 0;
		l4 = p + ihl;
		l4len = len - ihl;
	} else {
		/* extension headers are not walked: the NAT's drops are UDP/TCP */
		if (len < 40)
			return -1;
		*proto = p[6];
		inet_ntop(AF_INET6, p + 8, sa, sizeof(sa));
		inet_ntop(AF_INET6, p + 24, da, sizeof(da));
		l4 = p + 40;
		l4len = len - 40;
	}
	if ((*proto == IPPROTO_UDP || *proto == IPPROTO_TCP) && l4len >= 4) {
		unsigned sp = (unsigned)(l4[0] << 8 | l4[1]), dp = (unsigned)(l4[2] << 8 | l4[3]);
		snprintf(src, EMU_NAT_ADDRPORT_MAX, v6 ? "[%s]:%u" : "%s:%u", sa, sp);
		snprintf(dst, EMU_NAT_ADDRPORT_MAX, v6 ? "[%s]:%u" : "%s:%u", da, dp);
	} else if (*proto == IPPROTO_UDP || *proto == IPPROTO_TCP) {
		return -1;
	} else {
		snprintf(src, EMU_NAT_ADDRPORT_MAX, "%s", sa);
		snprintf(dst, EMU_NAT_ADDRPORT_MAX, "%s", da);
	}
	return 0;
}

void emu_nat_drops_add(struct emu_nat_drops *a, const char *prefix, const void *ip, size_t len,
		       int64_t t_ms)
{
	char src[EMU_NAT_ADDRPORT_MAX], dst[EMU_NAT_ADDRPORT_MAX];
	int rule = emu_nat_counter_parse(prefix);
	struct emu_nat_drop *d;
	uint8_t proto = 0;

	if (rule < 0 || ip_tuple(ip, len, &proto, src, dst) < 0) {
		a->unparsed++;
		return;
	}
	for (unsigned i = 0; i < a->n; i++) {
		d = &a->d[i];
		if ((int)d->rule == rule && d->proto == proto && strcmp(d->src, src) == 0 &&
		    strcmp(d->dst, dst) == 0) {
			d->pkts++;
			if (t_ms < d->first_ms)
				d->first_ms = t_ms;
			if (t_ms > d->last_ms)
				d->last_ms = t_ms;
			return;
		}
	}
	if (a->n == EMU_NAT_DROPS_MAX) {
		a->other_pkts++;
		return;
	}
	d = &a->d[a->n++];
	d->rule = (enum emu_nat_counter)rule;
	d->proto = proto;
	memcpy(d->src, src, sizeof(src));
	memcpy(d->dst, dst, sizeof(dst));
	d->pkts = 1;
	d->first_ms = d->last_ms = t_ms;
}

static int by_pkts(const void *x, const void *y)
{
	const struct emu_nat_drop *a = x, *b = y;

	if (a->pkts != b->pkts)
		return a->pkts < b->pkts ? 1 : -1;
	return a->first_ms < b->first_ms ? -1 : a->first_ms > b->first_ms;
}

void emu_nat_drops_sort(struct emu_nat_drops *a)
{
	qsort(a->d, a->n, sizeof(a->d[0]), by_pkts);
}

struct nflog_attrs {
	const struct nlattr *a[NFULA_MAX + 1];
};

static int attr_cb(const struct nlattr *attr, void *data)
{
	struct nflog_attrs *t = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, NFULA_MAX) < 0)
		return MNL_CB_OK; /* newer attribute: skip */
	t->a[type] = attr;
	return MNL_CB_OK;
}

int emu_nat_nflog_parse(const struct nlmsghdr *nlh, char *prefix, size_t prefix_len,
			const void **payload, size_t *len)
{
	struct nflog_attrs t;
	const struct nlattr *pa;

	memset(&t, 0, sizeof(t));
	if (nlh->nlmsg_type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET) ||
	    nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct nfgenmsg))
		return -EINVAL;
	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, &t) < 0 || !t.a[NFULA_PAYLOAD])
		return -EINVAL;
	prefix[0] = '\0';
	pa = t.a[NFULA_PREFIX];
	if (pa && prefix_len) {
		/* NUL-terminated by the kernel, but bound the copy anyway */
		size_t n = strnlen(mnl_attr_get_payload(pa), mnl_attr_get_payload_len(pa));
		if (n >= prefix_len)
			n = prefix_len - 1;
		memcpy(prefix, mnl_attr_get_payload(pa), n);
		prefix[n] = '\0';
	}
	*payload = mnl_attr_get_payload(t.a[NFULA_PAYLOAD]);
	*len = mnl_attr_get_payload_len(t.a[NFULA_PAYLOAD]);
	return 0;
}

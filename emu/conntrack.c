/* conntrack.c - a dump of a node's IPv4 UDP (and TCP) conntrack entries
 * (see conntrack.h). */
#include "emu/conntrack.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>

#include "emu/nft.h"

struct dump {
	struct emu_ct_udp *out;
	size_t max, count;
	bool tcp; /* TCP entries too */
};

/* One CTA_TUPLE_* nest: its IPv4 addresses, protocol and ports. Returns 1
 * when the tuple is IPv4 with both ports, 0 otherwise. Every attribute is
 * length-checked by mnl_attr_validate before it is read. */
static int tuple_parse(const struct nlattr *nest, char *src, char *dst, uint16_t *sport,
		       uint16_t *dport, uint8_t *proto)
{
	const struct nlattr *a, *b;
	int have = 0;

	mnl_attr_for_each_nested(a, nest)
	{
		switch (mnl_attr_get_type(a)) {
		case CTA_TUPLE_IP:
			mnl_attr_for_each_nested(b, a)
			{
				int t = mnl_attr_get_type(b);
				if ((t != CTA_IP_V4_SRC && t != CTA_IP_V4_DST) ||
				    mnl_attr_validate(b, MNL_TYPE_U32) < 0)
					continue;
				inet_ntop(AF_INET, mnl_attr_get_payload(b),
					  t == CTA_IP_V4_SRC ? src : dst, EMU_CT_ADDR_STR_MAX);
				have |= t == CTA_IP_V4_SRC ? 1 : 2;
			}
			break;
		case CTA_TUPLE_PROTO:
			mnl_attr_for_each_nested(b, a)
			{
				int t = mnl_attr_get_type(b);
				if (t == CTA_PROTO_NUM && mnl_attr_validate(b, MNL_TYPE_U8) == 0)
					*proto = mnl_attr_get_u8(b);
				else if ((t == CTA_PROTO_SRC_PORT || t == CTA_PROTO_DST_PORT) &&
					 mnl_attr_validate(b, MNL_TYPE_U16) == 0) {
					uint16_t p = ntohs(mnl_attr_get_u16(b));
					if (t == CTA_PROTO_SRC_PORT)
						*sport = p;
					else
						*dport = p;
					have |= t == CTA_PROTO_SRC_PORT ? 4 : 8;
				}
			}
			break;
		default:
			break;
		}
	}
	return have == 15;
}

/* CTA_PROTOINFO { CTA_PROTOINFO_TCP { CTA_PROTOINFO_TCP_STATE } } */
static uint8_t tcp_state(const struct nlattr *nest)
{
	const struct nlattr *a, *b;

	mnl_attr_for_each_nested(a, nest)
	{
		if (mnl_attr_get_type(a) != CTA_PROTOINFO_TCP)
			continue;
		mnl_attr_for_each_nested(b, a)
		{
			if (mnl_attr_get_type(b) == CTA_PROTOINFO_TCP_STATE &&
			    mnl_attr_validate(b, MNL_TYPE_U8) == 0)
				return mnl_attr_get_u8(b);
		}
	}
	return 0;
}

static int entry_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump *d = data;
	const struct nlattr *a;
	struct emu_ct_udp c;
	int ok = 0;

	memset(&c, 0, sizeof(c));
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
	{
		switch (mnl_attr_get_type(a)) {
		case CTA_TUPLE_ORIG:
			ok |=
			    tuple_parse(a, c.osrc, c.odst, &c.osport, &c.odport, &c.proto) ? 1 : 0;
			break;
		case CTA_TUPLE_REPLY:
			ok |=
			    tuple_parse(a, c.rsrc, c.rdst, &c.rsport, &c.rdport, &c.proto) ? 2 : 0;
			break;
		case CTA_PROTOINFO:
			c.tcp_state = tcp_state(a);
			break;
		case CTA_TIMEOUT:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				c.timeout_s = ntohl(mnl_attr_get_u32(a));
			break;
		default:
			break;
		}
	}
	if (ok == 3 && (c.proto == IPPROTO_UDP || (d->tcp && c.proto == IPPROTO_TCP))) {
		if (d->count < d->max)
			d->out[d->count] = c;
		d->count++;
	}
	return MNL_CB_OK;
}

static int dump(struct emu_node *n, bool tcp, struct emu_ct_udp *out, size_t max, size_t *count,
		struct natlab_err *e)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;
	struct dump d = {out, max, 0, tcp};
	int ret;

	/* IPCTNL_MSG_CT_GET with NLM_F_DUMP lists the table of the socket's
	 * network namespace, one message per entry */
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_INET;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	ret = emu_nfnl_request(n, nlh, "conntrack dump", entry_cb, &d, e);
	if (ret < 0)
		return ret;
	*count = d.count;
	return 0;
}

int emu_conntrack_udp4(struct emu_node *n, struct emu_ct_udp *out, size_t max, size_t *count,
		       struct natlab_err *e)
{
	return dump(n, false, out, max, count, e);
}

int emu_conntrack_ip4(struct emu_node *n, struct emu_ct_udp *out, size_t max, size_t *count,
		      struct natlab_err *e)
{
	return dump(n, true, out, max, count, e);
}

const char *emu_conntrack_tcp_state_name(uint8_t state)
{
	/* enum tcp_conntrack (linux/netfilter/nf_conntrack_tcp.h) */
	static const char *const names[] = {"NONE",	"SYN_SENT",   "SYN_RECV", "ESTABLISHED",
					    "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT",
					    "CLOSE",	"SYN_SENT2"};

	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "?";
}

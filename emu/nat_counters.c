/* nat_counters.c - the named counters of a NAT's rules and their reading
 * over the node's netlink socket (libnftnl objects, libmnl); see
 * nat_evidence.h. */
#include "emu/nat_evidence.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/object.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "emu/nat.h"
#include "emu/nft.h"

/* Data, not a switch: name, and whether the IPv6 firewall table counts it. */
static const struct {
	const char *name;
	bool v6;
} counters[EMU_NAT_CTR_N] = {
    [EMU_NAT_CTR_MAPPINGS_UDP] = {"mappings_udp", false},
    [EMU_NAT_CTR_MAPPINGS_TCP] = {"mappings_tcp", false},
    [EMU_NAT_CTR_HAIRPIN] = {"hairpin", false},
    [EMU_NAT_CTR_DROP_FILTERING] = {"drop_filtering", false},
    [EMU_NAT_CTR_DROP_HAIRPIN_FILTER] = {"drop_hairpin_filtering", false},
    [EMU_NAT_CTR_DROP_NO_HAIRPIN] = {"drop_no_hairpin", false},
    [EMU_NAT_CTR_DROP_PORT_CLASH] = {"drop_port_clash", false},
    [EMU_NAT_CTR_DROP_QUOTA] = {"drop_quota", false},
    [EMU_NAT_CTR_DROP_UDP_BLOCKED] = {"drop_udp_blocked", true},
    [EMU_NAT_CTR_DROP_PORT_BLOCKED] = {"drop_port_blocked", true},
    [EMU_NAT_CTR_DROP_TCP_IN_BLOCKED] = {"drop_tcp_in_blocked", true},
    [EMU_NAT_CTR_DROP_SYN] = {"drop_unsolicited_syn", false},
    [EMU_NAT_CTR_DROP_INBOUND6] = {"drop_inbound_v6", true},
};

const char *emu_nat_counter_name(enum emu_nat_counter c)
{
	return (unsigned)c < EMU_NAT_CTR_N ? counters[c].name : NULL;
}

const char *emu_nat_counter_rule(enum emu_nat_counter c)
{
	const char *n = emu_nat_counter_name(c);

	return n && strncmp(n, "drop_", 5) == 0 ? n + 5 : n;
}

int emu_nat_counter_parse(const char *name)
{
	for (int i = 0; name && i < EMU_NAT_CTR_N; i++)
		if (strcmp(name, counters[i].name) == 0 ||
		    strcmp(name, emu_nat_counter_rule((enum emu_nat_counter)i)) == 0)
			return i;
	return -1;
}

bool emu_nat_counter_v6(enum emu_nat_counter c)
{
	return (unsigned)c < EMU_NAT_CTR_N && counters[c].v6;
}

struct ctr_read {
	uint64_t *pkts;
	unsigned tables; /* counters seen in a natlab table */
};

static int obj_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ctr_read *cr = data;
	struct nftnl_obj *o = nftnl_obj_alloc();
	const char *table;
	int i;

	if (!o)
		return MNL_CB_ERROR;
	if (nftnl_obj_nlmsg_parse(nlh, o) == 0 &&
	    nftnl_obj_get_u32(o, NFTNL_OBJ_TYPE) == NFT_OBJECT_COUNTER &&
	    (table = nftnl_obj_get_str(o, NFTNL_OBJ_TABLE)) &&
	    (strcmp(table, EMU_NAT_TABLE) == 0 || strcmp(table, EMU_NAT_TABLE6) == 0) &&
	    (i = emu_nat_counter_parse(nftnl_obj_get_str(o, NFTNL_OBJ_NAME))) >= 0) {
		cr->pkts[i] += nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_PKTS);
		cr->tables++;
	}
	nftnl_obj_free(o);
	return MNL_CB_OK;
}

static int elem_cb(const struct nlmsghdr *nlh, void *data)
{
	uint64_t *n = data;
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it;

	if (!s)
		return MNL_CB_ERROR;
	if (nftnl_set_elems_nlmsg_parse(nlh, s) == 0) {
		it = nftnl_set_elems_iter_create(s);
		while (it && nftnl_set_elems_iter_next(it))
			(*n)++;
		nftnl_set_elems_iter_destroy(it);
	}
	nftnl_set_free(s);
	return MNL_CB_OK;
}

/* The live UDP mappings: set pused holds every live public endpoint; the
 * kernel leaves elements whose timeout passed out of a dump. A NAT with
 * no UDP machinery (udp_blocked, translate off) has no such set: 0. */
static int live_mappings(struct emu_node *n, uint64_t *live, struct natlab_err *e)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;
	int ret;

	*live = 0;
	if (!s)
		return natlab_err_set(e, ENOMEM, "node %s: NAT mappings", emu_node_name(n));
	nftnl_set_set_str(s, NFTNL_SET_TABLE, EMU_NAT_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, "pused");
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_IPV4, NLM_F_DUMP | NLM_F_ACK,
				    (uint32_t)time(NULL));
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	ret = emu_nfnl_request(n, nlh, "listing the NAT's mappings", elem_cb, live, e);
	return ret == -ENOENT ? 0 : ret;
}

int emu_nat_counters_read(struct emu_node *n, uint64_t pkts[EMU_NAT_CTR_N], uint64_t *live_udp,
			  struct natlab_err *e)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ctr_read cr = {.pkts = pkts};
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct nlmsghdr *nlh;
	int ret;

	memset(pkts, 0, sizeof(uint64_t) * EMU_NAT_CTR_N);
	if (!o)
		return natlab_err_set(e, ENOMEM, "node %s: NAT counters", emu_node_name(n));
	/* every family's counter objects in one dump: both natlab tables */
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETOBJ, NFPROTO_UNSPEC, NLM_F_DUMP | NLM_F_ACK,
				    (uint32_t)time(NULL));
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nftnl_obj_nlmsg_build_payload(nlh, o);
	nftnl_obj_free(o);
	ret = emu_nfnl_request(n, nlh, "reading the NAT's counters", obj_cb, &cr, e);
	if (ret < 0)
		return ret;
	if (cr.tables == 0)
		return natlab_err_msg(e, ENOENT, "node %s: no NAT counters (not a NAT?)",
				      emu_node_name(n));
	return live_udp ? live_mappings(n, live_udp, e) : 0;
}

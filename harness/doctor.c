/* doctor.c - probes the kernel features the lab relies on by using them,
 * inside the sandbox, and lists the optional third-party tools found. */
#include "harness/doctor.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/qdisc/netem.h>
#include <netlink/route/qdisc/tbf.h>

#include "emu/link.h"
#include "emu/nat.h"
#include "emu/nat_evidence.h"
#include "emu/nft.h"
#include "emu/node.h"
#include "emu/sandbox.h"

struct doctor {
	FILE *out;
	int missing;
};

static void line(struct doctor *d, const char *status, const char *what, const char *detail,
		 const char *fix)
{
	fprintf(d->out, "%-8s %-26s %s\n", status, what, detail);
	if (fix)
		fprintf(d->out, "%-8s %-26s fix: %s\n", "", "", fix);
	if (strcmp(status, "MISSING") == 0)
		d->missing++;
}

static struct nftnl_table *table_new(const char *name)
{
	struct nftnl_table *t = nftnl_table_alloc();

	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_IPV4);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	return t;
}

/* table ip doctor { chain post { type nat hook postrouting priority 100;
 *   ip saddr 10.0.0.0/8 snat to 192.0.2.1 } } */
static int probe_nat(struct emu_node *n, struct natlab_err *e)
{
	struct emu_nft_batch *b = emu_nft_batch_new();
	struct nftnl_table *t = table_new("doctor_nat");
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_expr *imm = nftnl_expr_alloc("immediate");
	struct nftnl_expr *nat = nftnl_expr_alloc("nat");
	uint32_t addr = htonl(0xc0000201);
	int ret;

	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, "doctor_nat");
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, "post");
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "nat");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_POST_ROUTING);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 100);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, "doctor_nat");
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "post");
	nftnl_expr_set_u32(imm, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
	nftnl_expr_set(imm, NFTNL_EXPR_IMM_DATA, &addr, sizeof(addr));
	nftnl_rule_add_expr(r, imm);
	nftnl_expr_set_u32(nat, NFTNL_EXPR_NAT_TYPE, NFT_NAT_SNAT);
	nftnl_expr_set_u32(nat, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
	nftnl_expr_set_u32(nat, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
	nftnl_rule_add_expr(r, nat);
	emu_nft_batch_add_table(b, t);
	emu_nft_batch_add_chain(b, c);
	emu_nft_batch_add_rule(b, r);
	ret = emu_nft_batch_commit(b, n, e);
	nftnl_rule_free(r);
	nftnl_chain_free(c);
	nftnl_table_free(t);
	emu_nft_batch_free(b);
	return ret;
}

/* map doctor_map { type ipv4_addr : ipv4_addr; flags dynamic, timeout }:
 * a map the packet path adds to and updates (NFT_SET_MAP | NFT_SET_EVAL |
 * NFT_SET_TIMEOUT), the kind the NAT engine keeps its mappings in (pmap,
 * emap, hmap: emu/nat_expr.c nx_dyn_set_add). */
static int probe_dynmap(struct emu_node *n, struct natlab_err *e)
{
	struct emu_nft_batch *b = emu_nft_batch_new();
	struct nftnl_table *t = table_new("doctor_map");
	struct nftnl_set *s = nftnl_set_alloc();
	int ret;

	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_IPV4);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, "doctor_map");
	nftnl_set_set_str(s, NFTNL_SET_NAME, "seen");
	nftnl_set_set_u32(s, NFTNL_SET_ID, 1);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_MAP | NFT_SET_EVAL | NFT_SET_TIMEOUT);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, 7); /* ipv4_addr */
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 4);
	nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, 7);
	nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 4);
	nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, 30000);
	emu_nft_batch_add_table(b, t);
	emu_nft_batch_add_set(b, s);
	ret = emu_nft_batch_commit(b, n, e);
	nftnl_set_free(s);
	nftnl_table_free(t);
	emu_nft_batch_free(b);
	return ret;
}

/* ct timeout udp { l3proto ip; policy = { unreplied: 5, replied: 5 } } */
static int probe_ct_timeout(struct emu_node *n, struct natlab_err *e)
{
	struct emu_nft_batch *b = emu_nft_batch_new();
	struct nftnl_table *t = table_new("doctor_ct");
	struct nftnl_obj *o = nftnl_obj_alloc();
	uint32_t policy[2] = {5, 5}; /* NFTNL_CTTIMEOUT_UDP_UNREPLIED, _REPLIED */
	int ret;

	nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY, NFPROTO_IPV4);
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, "doctor_ct");
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, "udp_short");
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_CT_TIMEOUT);
	nftnl_obj_set_u16(o, NFTNL_OBJ_CT_TIMEOUT_L3PROTO, NFPROTO_IPV4);
	nftnl_obj_set_u8(o, NFTNL_OBJ_CT_TIMEOUT_L4PROTO, IPPROTO_UDP);
	nftnl_obj_set_data(o, NFTNL_OBJ_CT_TIMEOUT_ARRAY, policy, sizeof(policy));
	emu_nft_batch_add_table(b, t);
	emu_nft_batch_add_obj(b, o);
	ret = emu_nft_batch_commit(b, n, e);
	nftnl_obj_free(o);
	nftnl_table_free(t);
	emu_nft_batch_free(b);
	return ret;
}

/* rule: ct state established accept, which needs nf_conntrack. */
static int probe_conntrack(struct emu_node *n, struct natlab_err *e)
{
	struct emu_nft_batch *b = emu_nft_batch_new();
	struct nftnl_table *t = table_new("doctor_conntrack");
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_expr *ct = nftnl_expr_alloc("ct");
	int ret;

	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, "doctor_conntrack");
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, "fwd");
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_FORWARD);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 0);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, "doctor_conntrack");
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "fwd");
	nftnl_expr_set_u32(ct, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
	nftnl_expr_set_u32(ct, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, ct);
	emu_nft_batch_add_table(b, t);
	emu_nft_batch_add_chain(b, c);
	emu_nft_batch_add_rule(b, r);
	ret = emu_nft_batch_commit(b, n, e);
	nftnl_rule_free(r);
	nftnl_chain_free(c);
	nftnl_table_free(t);
	emu_nft_batch_free(b);
	return ret;
}

/* Try to attach a root qdisc of @kind to @ifname; 0 if the kernel has it. */
static int probe_qdisc(struct emu_node *n, const char *ifname, const char *kind,
		       struct natlab_err *e)
{
	struct nl_sock *sk = emu_node_rtnl(n, e);
	struct rtnl_link *link = NULL;
	struct rtnl_qdisc *q = NULL;
	int ret;

	if (!sk)
		return -EIO;
	ret = rtnl_link_get_kernel(sk, 0, ifname, &link);
	if (ret < 0)
		return natlab_err_set(e, 0, "no %s: %s", ifname, nl_geterror(ret));
	q = rtnl_qdisc_alloc();
	rtnl_tc_set_link(TC_CAST(q), link);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
	rtnl_tc_set_handle(TC_CAST(q), TC_HANDLE(1, 0));
	ret = rtnl_tc_set_kind(TC_CAST(q), kind);
	if (ret == 0 && strcmp(kind, "tbf") == 0) {
		rtnl_qdisc_tbf_set_rate(q, 125000, 1600, 0);
		rtnl_qdisc_tbf_set_limit(q, 16000);
	} else if (ret == 0 && strcmp(kind, "htb") == 0) {
		rtnl_htb_set_defcls(q, 1);
	} else if (ret == 0 && strcmp(kind, "netem") == 0) {
		rtnl_netem_set_delay(q, 1000);
	}
	if (ret == 0)
		ret = rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_REPLACE);
	if (ret < 0)
		ret = natlab_err_set(e, 0, "%s", nl_geterror(ret));
	else
		rtnl_qdisc_delete(sk, q);
	rtnl_qdisc_put(q);
	rtnl_link_put(link);
	return ret;
}

/* A qdisc nothing in natlab uses: reported, never a failure. */
static void qdisc_info(struct doctor *d, struct emu_node *n, const char *kind)
{
	struct natlab_err e = {""};
	char what[32];
	char detail[sizeof(e.msg) + 32];

	snprintf(what, sizeof(what), "qdisc %s", kind);
	if (probe_qdisc(n, "veth-a", kind, &e) == 0) {
		line(d, "ok", what, "present, not needed", NULL);
		return;
	}
	snprintf(detail, sizeof(detail), "absent, not needed (%s)", e.msg);
	line(d, "info", what, detail, NULL);
}

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[512];

	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
	while (*path) {
		const char *colon = strchr(path, ':');
		size_t len = colon ? (size_t)(colon - path) : strlen(path);
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, path, prog);
		if (access(buf, X_OK) == 0)
			return true;
		path += len + (colon ? 1 : 0);
	}
	/* Daemons live in sbin, which a user's PATH may lack. */
	snprintf(buf, sizeof(buf), "/usr/sbin/%s", prog);
	return access(buf, X_OK) == 0;
}

static void tool(struct doctor *d, const char *what, const char *prog, const char *pkg)
{
	char detail[160];
	bool have = in_path(prog);

	snprintf(detail, sizeof(detail), "%s %s", prog, have ? "found" : "not found (optional)");
	if (have) {
		line(d, "ok", what, detail, NULL);
	} else {
		char fix[96];
		snprintf(fix, sizeof(fix), "apt-get install %s", pkg);
		line(d, "optional", what, detail, fix);
	}
}

/* The whole NAT ruleset as natlab builds it (every knob's rules, the
 * evidence counters and the drop rules' `log group`), then the listener
 * of the drop log: both need nfnetlink_log. */
static int probe_nat_evidence(struct emu_node *n, struct natlab_err *e)
{
	struct emu_nat_droplog *dl = NULL;
	struct emu_nat_config c;
	int ret = emu_nat_preset("easy", &c, e);

	if (ret < 0)
		return ret;
	snprintf(c.outside_ifname, sizeof(c.outside_ifname), "veth-a");
	snprintf(c.public_addrs[0], sizeof(c.public_addrs[0]), "192.0.2.1");
	c.n_public_addrs = 1;
	ret = emu_nat_apply(n, &c, e);
	if (ret == 0)
		ret = emu_nat_droplog_start(n, NULL, &dl, e);
	emu_nat_droplog_stop(dl, NULL, NULL);
	return ret;
}

static void kernel_check(struct doctor *d, const char *what, int ret, const struct natlab_err *e,
			 const char *fix)
{
	if (ret == 0)
		line(d, "ok", what, "works", NULL);
	else
		line(d, "MISSING", what, e->msg, fix);
}

int doctor_run(FILE *out)
{
	struct doctor d = {out, 0};
	struct natlab_err e = {""};
	struct utsname u;
	enum emu_sandbox_mode mode;
	struct emu_node *a = NULL;
	struct emu_node *b = NULL;
	char detail[256];
	int ret;

	uname(&u);
	snprintf(detail, sizeof(detail), "%s %s %s", u.sysname, u.release, u.machine);
	line(&d, "ok", "kernel", detail, NULL);

	ret = emu_sandbox_enter(&mode, &e);
	if (ret < 0) {
		line(&d, "MISSING", "privileges", e.msg, "run natlab as root (sudo natlab ...)");
		fprintf(out, "\nThe lab cannot run here: %d missing.\n", d.missing);
		return 2;
	}
	line(&d, "ok", "privileges",
	     mode == EMU_SANDBOX_ROOT
		 ? "root: network, mount and PID namespaces"
		 : "unprivileged: user namespace, then network, mount and PID namespaces",
	     NULL);

	ret = emu_node_new("doctor-a", &a, &e);
	kernel_check(&d, "network namespaces", ret, &e, "a kernel with CONFIG_NET_NS=y");
	if (ret == 0)
		ret = emu_node_new("doctor-b", &b, &e);
	if (ret == 0) {
		ret = emu_link_veth(a, "veth-a", b, "veth-b", &e);
		kernel_check(&d, "veth", ret, &e, "modprobe veth (CONFIG_VETH)");
	}
	if (ret == 0) {
		ret = probe_nat(a, &e);
		kernel_check(&d, "nftables NAT", ret, &e,
			     "modprobe nf_tables nft_nat (CONFIG_NFT_NAT)");
		ret = probe_dynmap(a, &e);
		kernel_check(&d, "nftables dynamic maps", ret, &e,
			     "modprobe nft_dynset (CONFIG_NF_TABLES_SET)");
		ret = probe_ct_timeout(a, &e);
		kernel_check(&d, "conntrack timeout policy", ret, &e,
			     "modprobe nft_ct nf_conntrack_timeout (CONFIG_NF_CONNTRACK_TIMEOUT)");
		ret = probe_conntrack(a, &e);
		kernel_check(&d, "conntrack", ret, &e,
			     "modprobe nf_conntrack nft_ct (CONFIG_NF_CONNTRACK)");
		ret = probe_nat_evidence(a, &e);
		kernel_check(&d, "NAT rules, packet log", ret, &e,
			     "modprobe nft_log nfnetlink_log (CONFIG_NFT_LOG, "
			     "CONFIG_NETFILTER_NETLINK_LOG)");
		/* Informational: rate limits, like delay and loss, come from
		 * natlab's own link emulator, so no qdisc is needed. */
		qdisc_info(&d, a, "tbf");
		qdisc_info(&d, a, "htb");
		ret = probe_qdisc(a, "veth-a", "netem", &e);
		if (ret == 0)
			line(&d, "ok", "qdisc netem", "present, not needed", NULL);
		else
			line(&d, "info", "qdisc netem",
			     "absent, not needed: delay, jitter, loss and duplication use "
			     "natlab's own link emulator",
			     NULL);
	}
	emu_node_free(b);
	emu_node_free(a);

	tool(&d, "coturn (TURN peer)", "turnserver", "coturn");
	tool(&d, "coturn test clients", "turnutils_uclient", "coturn");
	tool(&d, "classic STUN client", "stun", "stun-client");
	tool(&d, "classic STUN server", "stund", "stun-server");
	tool(&d, "miniupnpd (NAT knob portmap)", "miniupnpd", "miniupnpd-nftables");
	tool(&d, "upnpc (portmap oracle)", "upnpc", "miniupnpc");
	tool(&d, "natpmpc (portmap oracle)", "natpmpc", "natpmpc");
	tool(&d, "tshark (captures)", "tshark", "tshark");
	tool(&d, "chromium (report tests)", "chromium", "chromium");
	if (access("/usr/lib/x86_64-linux-gnu/libnice.so.10", R_OK) == 0 ||
	    access("/usr/lib/aarch64-linux-gnu/libnice.so.10", R_OK) == 0 || in_path("natlab-nice"))
		line(&d, "ok", "libnice (ICE peer)", "libnice found", NULL);
	else
		line(&d, "optional", "libnice (ICE peer)", "libnice not found (optional)",
		     "apt-get install libnice-dev");

	if (d.missing) {
		fprintf(out, "\nThe lab cannot run here: %d missing (see the fixes above).\n",
			d.missing);
		return 2;
	}
	fprintf(out, "\nThe lab can run here.\n");
	return 0;
}

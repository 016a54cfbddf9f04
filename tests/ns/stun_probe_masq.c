/* stun_probe_masq.c - natlab-probe behind a real kernel NAT: a Linux
 * router doing plain nftables masquerade between the probe and
 * natlab-stun-server (two addresses, two ports). What Linux masquerade
 * does on a quiet lab, and so what the probe must report:
 *  - mapping endpoint-independent (the source port is kept whenever the
 *    resulting conntrack tuple is unique, which it is for each destination);
 *  - filtering address-and-port-dependent (only replies to a tuple pass);
 *  - ports preserved; no hairpinning (no DNAT back in); no ALG.
 *
 *   cl 10.0.0.2 --eth0/lan-- rt 10.0.0.1 | 192.0.2.254 --wan/eth0-- sv 192.0.2.1, .2
 *
 * Everything runs in a sandbox entered by a forked child, which exits 77
 * when namespaces are not available. Waits have deadlines; the nodes and
 * processes die with the sandbox whatever happens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h> /* before the linux/ headers, which would redefine it */
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <netlink/route/route.h>

#include "emu/link.h"
#include "emu/nft.h"
#include "emu/node.h"
#include "emu/sandbox.h"
#include "probe_lab.h"

static int default_route(struct emu_node *n, const char *gw, struct natlab_err *e)
{
	int ret = -EIO;
	struct nl_sock *sk = emu_node_rtnl(n, e);
	struct rtnl_route *r = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *dst = NULL, *via = NULL;
	if (!sk || !r || !nh || nl_addr_parse("0.0.0.0/0", AF_INET, &dst) < 0 ||
	    nl_addr_parse(gw, AF_INET, &via) < 0)
		goto out;
	rtnl_route_set_family(r, AF_INET);
	rtnl_route_set_dst(r, dst);
	rtnl_route_nh_set_gateway(nh, via);
	rtnl_route_add_nexthop(r, nh);
	nh = NULL; /* the route owns it now */
	if (rtnl_route_add(sk, r, NLM_F_CREATE) < 0) {
		snprintf(e->msg, sizeof(e->msg), "default route via %s refused", gw);
		goto out;
	}
	ret = 0;
out:
	if (nh)
		rtnl_route_nh_free(nh);
	nl_addr_put(dst);
	nl_addr_put(via);
	rtnl_route_put(r);
	return ret;
}

/* table ip probe_nat { chain post { type nat hook postrouting priority 100;
 *   oifname "wan" masquerade } } */
static int masquerade(struct emu_node *rt, struct natlab_err *e)
{
	int ret = -ENOMEM;
	struct emu_nft_batch *b = emu_nft_batch_new();
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nftnl_rule *r = nftnl_rule_alloc();
	if (!b || !t || !c || !r)
		goto out;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_IPV4);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, "probe_nat");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, "probe_nat");
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, "post");
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "nat");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_POST_ROUTING);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 100);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, "probe_nat");
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "post");
	struct nftnl_expr *meta = nftnl_expr_alloc("meta");
	struct nftnl_expr *cmp = nftnl_expr_alloc("cmp");
	struct nftnl_expr *masq = nftnl_expr_alloc("masq");
	if (!meta || !cmp || !masq) {
		nftnl_expr_free(meta);
		nftnl_expr_free(cmp);
		nftnl_expr_free(masq);
		goto out;
	}
	char ifname[IFNAMSIZ] = "wan";
	nftnl_expr_set_u32(meta, NFTNL_EXPR_META_KEY, NFT_META_OIFNAME);
	nftnl_expr_set_u32(meta, NFTNL_EXPR_META_DREG, NFT_REG_1);
	nftnl_expr_set_u32(cmp, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(cmp, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(cmp, NFTNL_EXPR_CMP_DATA, ifname, sizeof(ifname));
	nftnl_rule_add_expr(r, meta); /* the rule owns its expressions */
	nftnl_rule_add_expr(r, cmp);
	nftnl_rule_add_expr(r, masq);
	if (emu_nft_batch_add_table(b, t) < 0 || emu_nft_batch_add_chain(b, c) < 0 ||
	    emu_nft_batch_add_rule(b, r) < 0)
		goto out;
	ret = emu_nft_batch_commit(b, rt, e);
out:
	nftnl_rule_free(r);
	nftnl_chain_free(c);
	nftnl_table_free(t);
	emu_nft_batch_free(b);
	return ret;
}

static int scenario(void)
{
	struct natlab_err e = {{0}};
	if (probe_sandbox_enter() != 0)
		return 77;
	struct emu_node *cl = NULL, *rt = NULL, *sv = NULL;
	TRY(emu_node_new("cl", &cl, &e));
	TRY(emu_node_new("rt", &rt, &e));
	TRY(emu_node_new("sv", &sv, &e));
	TRY(emu_link_veth(cl, "eth0", rt, "lan", &e));
	TRY(emu_link_veth(rt, "wan", sv, "eth0", &e));
	TRY(emu_link_addr_add(cl, "eth0", "10.0.0.2/24", &e));
	TRY(emu_link_addr_add(rt, "lan", "10.0.0.1/24", &e));
	TRY(emu_link_addr_add(rt, "wan", "192.0.2.254/24", &e));
	TRY(emu_link_addr_add(sv, "eth0", "192.0.2.1/24", &e));
	TRY(emu_link_addr_add(sv, "eth0", "192.0.2.2/24", &e));
	TRY(emu_link_set_up(cl, "eth0", true, &e));
	TRY(emu_link_set_up(rt, "lan", true, &e));
	TRY(emu_link_set_up(rt, "wan", true, &e));
	TRY(emu_link_set_up(sv, "eth0", true, &e));
	TRY(emu_node_sysctl_set(rt, "net/ipv4/ip_forward", "1", &e));
	TRY(default_route(cl, "10.0.0.1", &e));
	TRY(masquerade(rt, &e));

	int pout[2];
	if (pipe2(pout, O_CLOEXEC) != 0)
		return 1;
	char *srv_argv[] = {NATLAB_BIN_DIR "/natlab-stun-server",
			    "--addr",
			    "192.0.2.1",
			    "--addr",
			    "192.0.2.2",
			    "--port",
			    "3478",
			    NULL};
	pid_t srv;
	char buf[8192];
	int srv_out = probe_server_start(sv, srv_argv, &srv, buf, sizeof(buf));
	if (srv_out < 0)
		return 1;
	char *probe_argv[] = {
	    NATLAB_BIN_DIR "/natlab-probe", "--server", "192.0.2.1:3478", "--rto-ms", "100", NULL};
	json_t *o = probe_run(cl, probe_argv, pout);
	if (!o)
		return 1;
	int bad = probe_check(o, "udp", "true") + probe_check(o, "nat", "true") +
		  probe_check(o, "rfc5780", "true") +
		  probe_check(o, "other_address", "\"192.0.2.2:3479\"") +
		  probe_check(o, "mapping", "\"endpoint-independent\"") +
		  probe_check(o, "filtering", "\"address-and-port-dependent\"") +
		  probe_check(o, "hairpinning", "false") + probe_check(o, "error", "null");
	bad += probe_check(json_object_get(o, "port_assignment"), "pattern", "\"preserved\"");
	bad += probe_check(json_object_get(o, "alg"), "detected", "false");
	const char *mapped = json_string_value(json_object_get(o, "mapped"));
	if (!mapped || strncmp(mapped, "192.0.2.254:", 12) != 0) {
		fprintf(stderr, "mapped address %s is not the router's\n", mapped ? mapped : "?");
		bad++;
	}
	json_decref(o);

	/* mapping lifetime: Linux forgets a UDP conntrack entry (and with it
	 * the mapping) after nf_conntrack_udp_timeout seconds of silence */
	TRY(emu_node_sysctl_set(rt, "net/netfilter/nf_conntrack_udp_timeout", "2", &e));
	if (pipe2(pout, O_CLOEXEC) != 0)
		return 1;
	char *life_argv[] = {NATLAB_BIN_DIR "/natlab-probe",
			     "--server",
			     "192.0.2.1:3478",
			     "--rto-ms",
			     "100",
			     "--ports",
			     "0",
			     "--no-hairpin",
			     "--lifetime-max-ms",
			     "5000",
			     "--lifetime-resolution-ms",
			     "400",
			     NULL};
	o = probe_run(cl, life_argv, pout);
	if (!o)
		return 1;
	json_t *lt = json_object_get(o, "lifetime");
	json_int_t alive = json_integer_value(json_object_get(lt, "alive_ms"));
	json_int_t gone = json_integer_value(json_object_get(lt, "expired_ms"));
	/* conntrack counts in jiffies: allow 100 ms either side of 2 s */
	if (!json_is_true(json_object_get(lt, "tested")) || alive > 2100 || gone < 1900 ||
	    gone - alive > 400) {
		fprintf(stderr, "lifetime alive %lld expired %lld, want around 2000 ms\n",
			(long long)alive, (long long)gone);
		bad++;
	}
	json_decref(o);
	kill(srv, SIGTERM);
	waitpid(srv, NULL, 0);
	close(srv_out);
	emu_node_free(cl);
	emu_node_free(rt);
	emu_node_free(sv);
	return bad ? 1 : 0;
}

PROBE_LAB_MAIN(scenario, test_probe_behind_masquerade)

/* nat_nft_extack.c - an nftables batch the kernel refuses comes back as an
 * error that names the node, the refused object (the n-th message of the
 * batch, not the first) and carries the kernel's extended-ack text, end to
 * end through emu_nft_batch_commit; and a NAT transaction with a bad
 * object in it is refused as a whole (nothing of it is applied).
 *
 * The bad object is a name longer than the kernel's limit (NFT_NAME_MAXLEN
 * 256): libnftnl sends it as given, and the kernel's netlink policy check
 * refuses it with an extended ack ("Attribute failed policy validation" on
 * Linux 6.x; the test asserts that some text is there, not its wording). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* glibc's netinet/in.h (through nat_topo.h) before linux/in.h */
#include "nat_topo.h"

#include <libnftnl/chain.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "emu/nft.h"

static char g_long[300];

/* Whether @msg carries a non-empty " (kernel: ...)" part. */
static bool has_ext_ack(const char *msg)
{
	const char *k = strstr(msg, "(kernel: ");

	return k && k[9] != ')' && k[9] != '\0' && strchr(k, ')');
}

/* table ok, then a set whose name is too long: the second object. */
static int plain_body(void)
{
	struct natlab_err e = {{0}};
	struct emu_lab *lab = NULL;
	struct emu_node *n;
	struct emu_nft_batch *b = emu_nft_batch_new();
	struct nftnl_table *tb = nftnl_table_alloc();
	struct nftnl_set *s = nftnl_set_alloc();
	int rc = 0, r;

	CHECK(b && tb && s, "out of memory");
	CHECK(emu_lab_new(&lab, &e) == 0 && emu_lab_node_add(lab, "fw", &n, &e) == 0, "lab: %s",
	      e.msg);
	nftnl_table_set_u32(tb, NFTNL_TABLE_FAMILY, NFPROTO_IPV4);
	nftnl_table_set_str(tb, NFTNL_TABLE_NAME, "t");
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_IPV4);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, "t");
	nftnl_set_set_str(s, NFTNL_SET_NAME, g_long);
	nftnl_set_set_u32(s, NFTNL_SET_ID, 1);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, 7); /* ipv4_addr */
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 4);
	CHECK(emu_nft_batch_add_table(b, tb) == 0 && emu_nft_batch_add_set(b, s) == 0, "batch");
	r = emu_nft_batch_commit(b, n, &e);
	fprintf(stderr, "refused batch: %d: %s\n", r, e.msg);
	CHECK(r < 0, "a set name of %zu bytes was accepted", strlen(g_long));
	CHECK(strstr(e.msg, "node fw"), "the error does not name the node: %s", e.msg);
	CHECK(strstr(e.msg, "set aaaa"), "the error does not name the refused set: %s", e.msg);
	CHECK(has_ext_ack(e.msg), "no extended-ack text from the kernel: %s", e.msg);
out:
	nftnl_set_free(s);
	nftnl_table_free(tb);
	emu_nft_batch_free(b);
	emu_lab_free(lab);
	return rc;
}

/* A whole NAT ruleset (full-cone) with one bad chain appended: refused as
 * a whole, with the chain named and the kernel's text; the NAT is then
 * not there (c1's datagram reaches the server untranslated). */
static int nat_body(void)
{
	struct natlab_err e = {{0}};
	struct topo t;
	struct emu_nat_config c;
	struct emu_nft_batch *b = emu_nft_batch_new();
	struct nftnl_chain *ch = nftnl_chain_alloc();
	struct sockaddr_in from;
	char m[64], src[INET_ADDRSTRLEN];
	int rc = 0, r, s = -1, cl = -1;

	if (topo_build(&t) < 0) {
		topo_free(&t);
		return 1;
	}
	CHECK(b && ch, "out of memory");
	CHECK(emu_nat_preset("full-cone", &c, &e) == 0, "%s", e.msg);
	snprintf(c.outside_ifname, sizeof(c.outside_ifname), "out");
	snprintf(c.public_addrs[0], sizeof(c.public_addrs[0]), PUB1);
	c.n_public_addrs = 1;
	CHECK(emu_nat_build(&c, b, &e) == 0, "build: %s", e.msg);
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, EMU_NAT_TABLE);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, g_long);
	CHECK(emu_nft_batch_add_chain(b, ch) == 0, "batch full");
	r = emu_nft_batch_commit(b, t.nat, &e);
	fprintf(stderr, "refused NAT batch (%u objects): %d: %s\n", emu_nft_batch_count(b), r,
		e.msg);
	CHECK(r < 0, "a chain name of %zu bytes was accepted", strlen(g_long));
	CHECK(strstr(e.msg, "node nat"), "the error does not name the node: %s", e.msg);
	CHECK(strstr(e.msg, "chain aaaa"), "the error does not name the refused chain: %s", e.msg);
	CHECK(has_ext_ack(e.msg), "no extended-ack text from the kernel: %s", e.msg);
	/* all or nothing: no NAT rule of the batch is in force */
	s = udp_open(t.inet, SRV1, 4000);
	cl = udp_open(t.c1, NULL, 40000);
	CHECK(s >= 0 && cl >= 0, "sockets");
	CHECK(udp_send(cl, SRV1, 4000, "x") == 0, "send");
	CHECK(udp_recv(s, 2000, m, sizeof(m), &from), "nothing arrived (forwarding is on)");
	inet_ntop(AF_INET, &from.sin_addr, src, sizeof(src));
	CHECK(strcmp(src, "10.0.0.2") == 0,
	      "the datagram left translated (from %s): part of the "
	      "refused batch was applied",
	      src);
out:
	if (s >= 0)
		close(s);
	if (cl >= 0)
		close(cl);
	nftnl_chain_free(ch);
	emu_nft_batch_free(b);
	topo_free(&t);
	return rc;
}

static void t_refused_object_named_with_ext_ack(void **state)
{
	TOPO_CASE(plain_body);
}

static void t_refused_nat_batch_is_atomic(void **state)
{
	TOPO_CASE(nat_body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_refused_object_named_with_ext_ack),
	    cmocka_unit_test(t_refused_nat_batch_is_atomic),
	};

	memset(g_long, 'a', sizeof(g_long) - 1);
	if (!topo_sandbox_available())
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

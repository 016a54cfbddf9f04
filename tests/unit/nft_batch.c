/* An nftables batch holds exactly the objects put into it, framed by the
 * batch begin/end messages, and each parses back to what was built. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "emu/err.h"
#include "emu/nft.h"

static void test_batch_round_trip(void **state)
{
	struct emu_nft_batch *b = emu_nft_batch_new();
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_chain *c = nftnl_chain_alloc();
	const struct nlmsghdr *nlh;
	const void *bytes;
	size_t len;
	int left;
	int types[8];
	int n = 0;

	assert_non_null(b);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, "natlab");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, "natlab");
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, "fwd");
	assert_int_equal(emu_nft_batch_add_table(b, t), 0);
	assert_int_equal(emu_nft_batch_add_chain(b, c), 0);
	assert_int_equal(emu_nft_batch_count(b), 2);

	bytes = emu_nft_batch_bytes(b, &len);
	left = (int)len;
	for (nlh = bytes; mnl_nlmsg_ok(nlh, left) && n < 8; nlh = mnl_nlmsg_next(nlh, &left)) {
		types[n++] = nlh->nlmsg_type;
		if ((nlh->nlmsg_type & 0xff) == NFT_MSG_NEWTABLE) {
			struct nftnl_table *back = nftnl_table_alloc();
			assert_int_equal(nftnl_table_nlmsg_parse(nlh, back), 0);
			assert_string_equal(nftnl_table_get_str(back, NFTNL_TABLE_NAME), "natlab");
			assert_int_equal(nftnl_table_get_u32(back, NFTNL_TABLE_FAMILY), NFPROTO_INET);
			nftnl_table_free(back);
		}
		if ((nlh->nlmsg_type & 0xff) == NFT_MSG_NEWCHAIN) {
			struct nftnl_chain *back = nftnl_chain_alloc();
			assert_int_equal(nftnl_chain_nlmsg_parse(nlh, back), 0);
			assert_string_equal(nftnl_chain_get_str(back, NFTNL_CHAIN_NAME), "fwd");
			nftnl_chain_free(back);
		}
	}
	assert_int_equal(n, 4);
	assert_int_equal(types[0], NFNL_MSG_BATCH_BEGIN);
	assert_int_equal(types[1], (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE);
	assert_int_equal(types[2], (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWCHAIN);
	assert_int_equal(types[3], NFNL_MSG_BATCH_END);

	/* A closed batch takes nothing more. */
	assert_int_equal(emu_nft_batch_add_table(b, t), -ENOSPC);
	nftnl_chain_free(c);
	nftnl_table_free(t);
	emu_nft_batch_free(b);
}

static void test_err_messages(void **state)
{
	struct natlab_err e;

	assert_int_equal(natlab_err_set(&e, ENOENT, "node %s: cannot open", "nat1"), -ENOENT);
	assert_string_equal(e.msg, "node nat1: cannot open: No such file or directory");
	natlab_err_prefix(&e, "lab %d", 3);
	assert_string_equal(e.msg, "lab 3: node nat1: cannot open: No such file or directory");
	assert_int_equal(natlab_err_set(&e, 0, "plain"), -EIO);
	assert_string_equal(e.msg, "plain");
	assert_int_equal(natlab_err_set(NULL, -EPERM, "ignored"), -EPERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_round_trip),
		cmocka_unit_test(test_err_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

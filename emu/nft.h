/* nft.h - one nftables transaction: a libmnl batch sent to one node.
 *
 * Build the objects with libnftnl, put each into the batch with
 * emu_nft_batch_add_*(), then emu_nft_batch_commit(): the kernel applies
 * the whole batch or nothing, and the first error comes back with the
 * kernel's extended-ack text and the object it concerns.
 */
#ifndef NATLAB_EMU_NFT_H
#define NATLAB_EMU_NFT_H

#include <stdint.h>
#include "emu/err.h"
#include "emu/node.h"

struct emu_nft_batch;
struct nftnl_table;
struct nftnl_chain;
struct nftnl_set;
struct nftnl_rule;
struct nftnl_obj;

/* emu_nft_batch_new - an empty batch. Caller owns it. */
struct emu_nft_batch *emu_nft_batch_new(void);
void emu_nft_batch_free(struct emu_nft_batch *b);

/* Append one object creation (NLM_F_CREATE) or, for tables, deletion.
 * The objects are serialised at once and stay owned by the caller.
 * Return 0, or -ENOSPC when the batch is full (EMU_NFT_BATCH_MAX). */
int emu_nft_batch_add_table(struct emu_nft_batch *b, struct nftnl_table *t);
int emu_nft_batch_del_table(struct emu_nft_batch *b, struct nftnl_table *t);
int emu_nft_batch_add_chain(struct emu_nft_batch *b, struct nftnl_chain *c);
/* emu_nft_batch_del_chain - delete chain @c (its table, name and family
 * are used; the chain must hold no rules another chain jumps to). */
int emu_nft_batch_del_chain(struct emu_nft_batch *b, struct nftnl_chain *c);
int emu_nft_batch_add_set(struct emu_nft_batch *b, struct nftnl_set *s);
int emu_nft_batch_add_rule(struct emu_nft_batch *b, struct nftnl_rule *r);
/* emu_nft_batch_del_rules - delete every rule of the chain named in @r
 * (table, chain and family set, no handle): a chain flush. */
int emu_nft_batch_del_rules(struct emu_nft_batch *b, struct nftnl_rule *r);
int emu_nft_batch_add_obj(struct emu_nft_batch *b, struct nftnl_obj *o);
/* emu_nft_batch_add_setelems - add the elements attached to @s (with
 * nftnl_set_elem_add) to the set of that name. */
int emu_nft_batch_add_setelems(struct emu_nft_batch *b, struct nftnl_set *s);
/* emu_nft_batch_flush_set - delete every element of set @s (only its table,
 * name and family are used), as `nft flush set` does. */
int emu_nft_batch_flush_set(struct emu_nft_batch *b, struct nftnl_set *s);

/* emu_nft_batch_count - how many objects the batch holds. */
unsigned emu_nft_batch_count(const struct emu_nft_batch *b);

/* emu_nft_batch_bytes - the serialised batch (begin/end markers included),
 * for tests that parse it back without a kernel. */
const void *emu_nft_batch_bytes(const struct emu_nft_batch *b, size_t *len);

/* emu_nfnl_request - one request @nlh (its nlmsg_seq set) on a
 * NETLINK_NETFILTER socket opened inside node @n (extended acks on), then
 * its answers until the ack, or the end of a dump, each passed to @cb
 * (NULL: none expected but the ack). @what names the operation in @e. */
struct nlmsghdr;
int emu_nfnl_request(struct emu_node *n, struct nlmsghdr *nlh, const char *what,
		     int (*cb)(const struct nlmsghdr *nlh, void *data), void *data,
		     struct natlab_err *e);

/* emu_nft_batch_commit - send the batch to node @n's nftables and wait for
 * every acknowledgement. On error, @e names the object the kernel refused
 * (the n-th message of the batch) and carries its extended ack. */
int emu_nft_batch_commit(struct emu_nft_batch *b, struct emu_node *n, struct natlab_err *e);

#define EMU_NFT_BATCH_MAX 512 /* objects per batch */

#endif

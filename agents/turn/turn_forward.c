/* turn_forward.c - the TURN server's data path: Send indications and
 * ChannelData from clients, datagrams from peers (RFC 8656 §11, §12). */
#include <string.h>

#include "agents/turn/turn_chandata.h"
#include "agents/turn/turn_server_priv.h"

/* ---- data ---------------------------------------------------------------- */

static void relay_to_peer(struct turn_server *s, struct turn_alloc *a, const struct sockaddr *peer,
			  const uint8_t *data, size_t len, uint64_t now_ms)
{
	struct turn_relay *r = turn_srv_relay_for(a, peer);

	/* RFC 6062 §3: on a TCP allocation, data reaches a peer over a peer
	 * data connection (Connect or ConnectionAttempt, then
	 * ConnectionBind); its relayed address is a listening TCP socket, not
	 * a UDP socket a Send indication or ChannelData could leave from.
	 * Such data cannot be relayed and is discarded like data without a
	 * permission (found by agents/fuzz/turn_server_seq: a Send indication
	 * went to the listening socket). RFC 8656 §11.2 / §12.6: no
	 * permission (or a denied peer) means the data MUST be silently
	 * discarded. */
	if (!r || a->tcp || !turn_alloc_perm_ok(a, peer, now_ms) ||
	    !turn_policy_peer_allowed(s->policy, peer) ||
	    !turn_bucket_take(&a->bw, s->cfg.bandwidth_bytes_s, s->cfg.bandwidth_bytes_s, len,
			      now_ms)) {
		a->c.dropped++;
		return;
	}
	if (s->io.relay_send(s->io.ctx, r->handle, peer, data, len, a->dont_fragment) < 0) {
		a->c.dropped++;
		return;
	}
	a->c.pkts_to_peer++;
	a->c.bytes_to_peer += len;
}

void turn_srv_on_send(struct turn_server *s, const struct turn_key *k, const struct stun_msg *m,
		      uint64_t now_ms)
{
	struct turn_alloc *a = turn_alloc_find(s->tab, k);
	struct stun_addr p;
	struct sockaddr_storage peer;
	const uint8_t *data;
	size_t len;

	/* RFC 8656 §11.2: a Send indication lacking XOR-PEER-ADDRESS or DATA
	 * is discarded. */
	if (!a || stun_msg_get_xor_addr(m, STUN_ATTR_XOR_PEER_ADDRESS, &p) != 0 ||
	    stun_msg_get_bytes(m, STUN_ATTR_DATA, &data, &len) != 0)
		return;
	if (stun_msg_has(m, STUN_ATTR_DONT_FRAGMENT))
		a->dont_fragment = true;
	stun_addr_to_sockaddr(&p, &peer);
	relay_to_peer(s, a, (const struct sockaddr *)&peer, data, len, now_ms);
}

void turn_srv_on_channel_data(struct turn_server *s, const struct turn_key *k, const uint8_t *buf,
			      size_t len, uint64_t now_ms)
{
	uint16_t ch;
	const uint8_t *data;
	size_t dlen;
	struct turn_alloc *a;
	const struct turn_channel *c;

	if (turn_chandata_decode(buf, len, &ch, &data, &dlen) < 0)
		return;
	a = turn_alloc_find(s->tab, k);
	if (!a)
		return;
	/* RFC 8656 §12.6: data on a channel not bound is discarded. */
	c = turn_alloc_channel_peer(a, ch, now_ms);
	if (!c) {
		a->c.dropped++;
		return;
	}
	relay_to_peer(s, a, (const struct sockaddr *)&c->peer, data, dlen, now_ms);
}

void turn_server_relay_input(struct turn_server *s, uint32_t cookie, int handle,
			     const struct sockaddr *peer, const uint8_t *buf, size_t len,
			     uint64_t now_ms)
{
	struct turn_alloc *a;
	uint16_t ch;
	bool stream;

	if (cookie & RESV_COOKIE)
		return; /* a reserved port receives nothing on anyone's behalf */
	a = turn_alloc_slot(s->tab, cookie / 2);
	if (!a || !a->relay[cookie & 1].open || a->relay[cookie & 1].handle != handle)
		return;
	/* RFC 8656 §11.3: the server MUST check that the allocation has a
	 * permission for the source IP ... if not, the UDP datagram is
	 * silently discarded. */
	if (!turn_alloc_perm_ok(a, peer, now_ms) ||
	    !turn_bucket_take(&a->bw, s->cfg.bandwidth_bytes_s, s->cfg.bandwidth_bytes_s, len,
			      now_ms)) {
		a->c.dropped++;
		return;
	}
	stream = a->key.transport != TURN_TRANSPORT_UDP;
	ch = turn_alloc_channel_number(a, peer, now_ms);
	if (ch) {
		/* If a channel is bound to the peer, the server MUST send the
		 * data as ChannelData; over TCP/TLS padded to 4 (§12.5). */
		long n = turn_chandata_encode(s->rbuf, sizeof(s->rbuf), ch, buf, len, stream);
		if (n < 0)
			return;
		s->io.client_send(s->io.ctx, &a->key, s->rbuf, (size_t)n);
	} else {
		struct stun_builder b;
		struct stun_addr p;
		uint8_t tid[STUN_TID_LEN];
		/* The transaction ID of an indication only has to be unique
		 * enough to tell retransmissions apart; derive it from the
		 * counter instead of calling the random generator per packet. */
		uint64_t ctr = a->c.pkts_from_peer;
		memcpy(tid, &ctr, 8);
		memcpy(tid + 8, &a->generation, 4);
		stun_addr_from_sockaddr(&p, peer, turn_addr_len(peer));
		stun_builder_init(&b, s->out, sizeof(s->out),
				  stun_type_make(STUN_CLASS_INDICATION, STUN_METHOD_DATA), tid);
		stun_builder_add_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, &p);
		stun_builder_add(&b, STUN_ATTR_DATA, buf, len);
		long n = stun_builder_finish(&b);
		if (n < 0)
			return;
		s->io.client_send(s->io.ctx, &a->key, s->out, (size_t)n);
	}
	a->c.pkts_from_peer++;
	a->c.bytes_from_peer += len;
}

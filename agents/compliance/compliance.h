/* compliance.h - the NAT compliance suite (RFC 4787 UDP, RFC 5382 TCP) as
 * pure test logic over an abstract network.
 *
 * The suite owns no sockets and reads no clock: the caller gives it a
 * struct compl_io with sockets on the two sides of the device under test —
 * LAN (the device's inside, one host address) and WAN (the internet side,
 * two server addresses) — and a clock. natlab dut drives it with real
 * sockets in the lab's namespaces (harness/dut_io.c); the unit tests drive
 * it with a simulated NAT on a fake clock.
 *
 * Every verdict is measured: each row carries the value seen and the
 * evidence (addresses and ports observed), never an assumption.
 */
#ifndef NATLAB_AGENTS_COMPLIANCE_H
#define NATLAB_AGENTS_COMPLIANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* LAN: the host behind the device; SUB1/SUB2: two more hosts on the same
 * LAN (other addresses), used as two subscribers by the RFC 6888 checks so
 * that no earlier test's mappings count against their quotas. */
enum compl_side { COMPL_LAN, COMPL_WAN, COMPL_SUB1, COMPL_SUB2 };

struct compl_addr {
	uint32_t ip; /* host byte order */
	uint16_t port;
};

struct compl_io {
	void *ctx;
	/* A UDP socket on @side: LAN binds the host's address, WAN the
	 * server address number @addr_index (0 or 1); @port 0 = any. Returns
	 * an id >= 0 with the bound address in @bound, or a negative errno. */
	int (*udp_open)(void *ctx, enum compl_side side, int addr_index, uint16_t port,
			struct compl_addr *bound);
	int (*udp_send)(void *ctx, int sock, const struct compl_addr *to, const void *buf,
			size_t len);
	/* Wait up to @timeout_ms for a datagram: its length (>= 0) and source,
	 * -ETIMEDOUT, or -ECONNREFUSED when an ICMP error reached the socket. */
	int (*udp_recv)(void *ctx, int sock, int timeout_ms, struct compl_addr *from, void *buf,
			size_t len);
	/* TCP: a listener on WAN address @addr_index; a connection from @side
	 * (LAN: from local port @local_port, 0 = any, shareable by a second
	 * connection) returning its id and local address, -ETIMEDOUT or
	 * -ECONNREFUSED; accept on a listener with the peer in @from. */
	int (*tcp_listen)(void *ctx, int addr_index, uint16_t port, struct compl_addr *bound);
	int (*tcp_connect)(void *ctx, enum compl_side side, uint16_t local_port,
			   const struct compl_addr *to, int timeout_ms, struct compl_addr *local);
	int (*tcp_accept)(void *ctx, int listener, int timeout_ms, struct compl_addr *from);
	void (*close)(void *ctx, int sock);
	uint64_t (*now_ms)(void *ctx);
	void (*sleep_ms)(void *ctx, int ms);

	/* Optional (NULL: the rows that need them are not-tested, saying so). */
	/* TCP without blocking: a connection started from @side (LAN: local
	 * port @local_port, 0 = any, shareable; WAN: server address
	 * @addr_index, port @local_port) toward @to; its id, local address in
	 * @local. tcp_wait: 0 once established, -ETIMEDOUT, or the error
	 * (-ECONNREFUSED, -ECONNRESET, -EHOSTUNREACH...). */
	int (*tcp_start)(void *ctx, enum compl_side side, int addr_index, uint16_t local_port,
			 const struct compl_addr *to, struct compl_addr *local);
	int (*tcp_wait)(void *ctx, int sock, int timeout_ms);
	/* bytes on an established connection: sent (0 or -errno); received
	 * (count > 0, 0 at end of stream, -ETIMEDOUT, -ECONNRESET...) */
	int (*tcp_send)(void *ctx, int sock, const void *buf, size_t len);
	int (*tcp_recv)(void *ctx, int sock, int timeout_ms, void *buf, size_t len);
	/* close with a RST instead of a FIN */
	void (*tcp_abort)(void *ctx, int sock);
	/* The WAN side drops, from now on, SYNs without ACK that arrive for
	 * server address @addr_index port @port: the first SYN of a
	 * simultaneous open "lost in flight" so the other side's SYN crosses
	 * it. 0 or -errno. */
	int (*wan_drop_syn)(void *ctx, int addr_index, uint16_t port);
	/* UDP datagram of @len bytes from UDP socket @sock to @to sent with
	 * DF set: 0 when sent, -EMSGSIZE with the MTU in *@mtu when an ICMP
	 * "fragmentation needed" came back within @timeout_ms (also the
	 * local interface's MTU when the datagram is larger), other -errno. */
	int (*udp_send_df)(void *ctx, int sock, const struct compl_addr *to, const void *buf,
			   size_t len, int timeout_ms, int *mtu);
	/* The same datagram as @sock would send it to @to, but built by hand
	 * and sent as IP fragments of at most @frag_len payload bytes, last
	 * fragment first (out of order). 0 or -errno. */
	int (*udp_send_frags_reversed)(void *ctx, int sock, const struct compl_addr *to,
				       const void *buf, size_t len, size_t frag_len);
};

struct compl_config {
	struct compl_addr server[2]; /* the WAN server addresses; port = first port */
	uint32_t lan_ip;	     /* the LAN host's own address */
	int wait_ms;		     /* how long to wait for what may not come (500) */
	int timeout_max_s;	     /* bound of the UDP mapping-timeout search; 0 = skip */
	int timeout_resolution_ms;   /* stop refining when the bracket is this narrow */
	bool tcp;		     /* run the RFC 5382 tests */
	int syn_wait_ms;	     /* unsolicited SYN: how long silence must last (6500) */
	int tcp_timeout_max_s;	     /* bound of the TCP established-timeout search; 0 = skip */
	bool cgn;		     /* run the RFC 6888 checks on subscribers SUB1 and SUB2 */
	int quota_max;		     /* RFC 6888: mappings tried per subscriber (bound) */
};

enum compl_verdict {
	COMPL_PASS,	    /* meets the requirement */
	COMPL_WARN,	    /* misses a SHOULD / RECOMMENDED */
	COMPL_FAIL,	    /* breaks a MUST */
	COMPL_INCONCLUSIVE, /* measured, but the measurement cannot decide */
	COMPL_NOT_TESTED,   /* could not be measured here (reason in evidence) */
};

#define COMPL_ROWS_MAX	   40
#define COMPL_MEASURED_MAX 96
#define COMPL_EVIDENCE_MAX 384

struct compl_row {
	const char *req;   /* "RFC 4787 REQ-1" (static) */
	const char *title; /* what it is about (static) */
	const char *key;   /* stable machine name, "udp_mapping" (static) */
	enum compl_verdict verdict;
	char measured[COMPL_MEASURED_MAX];
	char evidence[COMPL_EVIDENCE_MAX];
};

struct compl_report {
	struct compl_row rows[COMPL_ROWS_MAX];
	int n_rows;
	/* the behaviours measured, for machine use (and for tests) */
	const char *mapping, *filtering, *tcp_mapping;	  /* "endpoint-independent", ... */
	int hairpin;					  /* -1 unknown, 0 no, 1 yes */
	int timeout_alive_ms, timeout_expired_ms;	  /* -1: none seen */
	int tcp_timeout_alive_ms, tcp_timeout_expired_ms; /* -1: none seen */
	int quota;					  /* RFC 6888: mappings one subscriber got
							     before failure; -1 none, 0 = no limit
							     up to the bound */
	uint64_t duration_ms;
};

/* compl_run - run the whole suite; fills @r. Returns 0, or a negative
 * errno when not even the first datagram could be exchanged (then @r holds
 * what was learnt and one row saying why). */
int compl_run(const struct compl_config *cfg, const struct compl_io *io, struct compl_report *r);

const char *compl_verdict_name(enum compl_verdict v);

/* compl_report_json - the report as the compliance.json object (caller
 * owns; docs/dut.md has the schema). */
json_t *compl_report_json(const struct compl_report *r, const struct compl_config *cfg);

/* compl_addr_str - "a.b.c.d:port" into @buf (at least 22 bytes). */
const char *compl_addr_str(const struct compl_addr *a, char *buf, size_t len);

#endif

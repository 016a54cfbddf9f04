/* compliance_int.h - what the files of the compliance suite share (internal
 * to agents/compliance; the API is compliance.h). */
#ifndef NATLAB_AGENTS_COMPLIANCE_INT_H
#define NATLAB_AGENTS_COMPLIANCE_INT_H

#include "agents/compliance/compliance.h"

#define PAYLOAD_MAX  4096
#define BIG_DATAGRAM 3000 /* larger than a 1500-byte MTU: sent as fragments */
#define SCAN_POINTS  10	  /* mappings timed in parallel per pass of the search */
#define PARITY_N     10	  /* mappings sampled for parity and port pattern */
#define SIP_PORT     5060 /* the port UDP ALGs most often watch */

struct suite {
	const struct compl_config *cfg;
	const struct compl_io *io;
	struct compl_report *r;
	int srv[2][2]; /* WAN sockets: [address][port 0 = first, 1 = first + 1] */
	struct compl_addr srv_addr[2][2];
	uint32_t seq;
	uint8_t rx[PAYLOAD_MAX]; /* the last datagram cs_await() matched */
	bool nat;		 /* the device translates (mapped != local) */
	/* what earlier tests saw, for the rows that reuse it */
	const char *port_pattern;	  /* test_ports: preserved / sequential / random */
	char port_ev[COMPL_EVIDENCE_MAX]; /* ... and its local->mapped list */
	int paired;			  /* test_pooling: -1 unknown, 0 arbitrary, 1 paired */
	char pool_ev[COMPL_EVIDENCE_MAX];
	struct compl_addr udp_local, udp_mapped; /* the first UDP mapping */
	struct compl_addr tcp_local, tcp_mapped; /* a TCP connection's (port 0: none) */
};

#define A(a) compl_addr_str((a), (char[24]){0}, 24)

bool cs_addr_eq(const struct compl_addr *a, const struct compl_addr *b);
/* a new row of the report (static strings), verdict @v until changed */
struct compl_row *cs_row(struct suite *s, const char *req, const char *title, const char *key,
			 enum compl_verdict v);
void cs_fmt(char *buf, size_t len, const char *f, ...) __attribute__((format(printf, 3, 4)));
/* fill @buf with a datagram carrying a fresh token (into *@tok) */
size_t cs_token_make(struct suite *s, uint8_t *buf, size_t len, uint32_t *tok);
/* wait on @sock for token @tok: 1 with its source and length, 0 if not in
 * @timeout_ms; *@icmp set when an ICMP error came */
int cs_await(struct suite *s, int sock, uint32_t tok, int timeout_ms, struct compl_addr *from,
	     int *len, bool *icmp);
/* a token of @size bytes from @from_sock to @to, awaited on @at_sock */
int cs_pass_one(struct suite *s, int from_sock, const struct compl_addr *to, int at_sock,
		size_t size, int timeout_ms, struct compl_addr *seen, int *len);
/* the mapping of LAN socket @l as server socket [a][p] sees it */
int cs_learn(struct suite *s, int l, int a, int p, struct compl_addr *m);
/* does server socket [a][p] reach mapping @m of LAN socket @l? */
int cs_reaches(struct suite *s, int a, int p, const struct compl_addr *m, int l, int wait_ms,
	       struct compl_addr *seen);
int cs_lan_open(struct suite *s, uint16_t port, struct compl_addr *local);
void cs_close(struct suite *s, int sock);

/* compliance_tcp.c: RFC 5382 REQ-2 (simultaneous open), REQ-5 (established
 * timeout), RFC 7857 TCP RST */
void cs_test_tcp_more(struct suite *s);
/* compliance_ip.c: RFC 4787 REQ-13 (DF) and out-of-order fragments (REQ-14) */
void cs_test_df(struct suite *s);
int cs_frags_reversed(struct suite *s, int from_sock, const struct compl_addr *to, int at_sock,
		      int *len);
/* compliance_cgn.c: RFC 6888 per-subscriber quota and fairness; RFC 7857
 * port randomization and address pooling across protocols */
void cs_test_cgn(struct suite *s);
void cs_test_7857(struct suite *s);

#endif

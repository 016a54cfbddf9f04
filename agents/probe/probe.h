/* probe.h - the RFC 5780 NAT behaviour probe as a state machine.
 *
 * The probe owns no sockets and reads no clock: the caller gives it a
 * struct probe_io (open a UDP socket, send, close) and drives it with
 * probe_input() for every datagram and probe_tick() when the deadline it
 * returned has come. Unit tests drive it with a fake network and a fake
 * clock; natlab-probe drives it with real sockets and poll().
 *
 * What it measures, in order (each step starts when the previous one has
 * an answer or has given up after cfg.attempts sends):
 *  1. UDP reachability and the mapped address (RFC 5780 §4.3 test I);
 *  2. mapping behaviour: the same socket to the alternate address, then to
 *     the alternate address and port (§4.3 tests II and III);
 *  3. filtering behaviour on a fresh socket: CHANGE-REQUEST change IP and
 *     port, then change port only (§4.4 tests II and III);
 *  4. port assignment: cfg.port_samples fresh sockets, local vs mapped port;
 *  5. hairpinning: two fresh sockets send to each other's mapped address;
 *  6. ALG: MAPPED-ADDRESS (plain bytes a payload-rewriting ALG would touch)
 *     against XOR-MAPPED-ADDRESS (which it would not recognise);
 *  7. binding lifetime (when cfg.lifetime_max_ms > 0): binary search over
 *     the idle time after which a mapping no longer delivers; each step uses
 *     a fresh mapping and asks the server (RESPONSE-PORT, RFC 5780 §7.5)
 *     to answer from its primary address to that mapping's port.
 */
#ifndef NATLAB_AGENTS_PROBE_H
#define NATLAB_AGENTS_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agents/stun/stun.h"

#define PROBE_MAX_PORT_SAMPLES 16
#define PROBE_MAX_SOCKETS      64

struct probe_io {
	void *ctx;
	/* open a UDP socket on the probe's local address; return its id
	 * (>= 0) and fill @local with its bound address, or a negative errno */
	int (*open)(void *ctx, struct stun_addr *local);
	int (*send)(void *ctx, int sock, const struct stun_addr *to, const uint8_t *buf,
		    size_t len);
	void (*close)(void *ctx, int sock);
};

struct probe_config {
	struct stun_addr server;    /* the STUN server's primary address */
	int rto_ms;		    /* wait between sends of one test (default 200) */
	int attempts;		    /* sends before a test counts as unanswered (3) */
	int port_samples;	    /* mappings sampled for port assignment (5) */
	bool hairpin;		    /* run the hairpinning test */
	int lifetime_max_ms;	    /* bound of the lifetime search; 0 = skip */
	int lifetime_resolution_ms; /* stop when hi - lo <= this (1000) */
};

enum probe_behaviour {
	PROBE_UNKNOWN = 0,
	PROBE_ENDPOINT_INDEPENDENT, /* also what "no NAT" looks like */
	PROBE_ADDRESS_DEPENDENT,
	PROBE_ADDRESS_AND_PORT_DEPENDENT,
};

enum probe_ports {
	PROBE_PORTS_UNKNOWN = 0,
	PROBE_PORTS_PRESERVED,
	PROBE_PORTS_SEQUENTIAL,
	PROBE_PORTS_RANDOM,
};

struct probe_result {
	bool udp;     /* the server answered at all */
	bool nat;     /* the mapped address differs from the local one */
	bool rfc5780; /* the server gave OTHER-ADDRESS */
	struct stun_addr local, mapped, other;
	enum probe_behaviour mapping, filtering;
	int hairpin; /* -1 not tested / unknown, 0 no, 1 yes */
	enum probe_ports ports;
	int n_samples;
	uint16_t sample_local[PROBE_MAX_PORT_SAMPLES];
	uint16_t sample_mapped[PROBE_MAX_PORT_SAMPLES];
	int alg;		     /* -1 unknown, 0 none seen, 1 detected */
	struct stun_addr alg_mapped; /* MAPPED-ADDRESS as received */
	bool lifetime_tested;
	int lifetime_alive_ms;	 /* longest idle time after which it delivered */
	int lifetime_expired_ms; /* shortest idle time after which it did not; -1 none */
	uint64_t duration_ms;
	char error[160]; /* empty, or why a step could not run */
};

struct probe;

/* probe_new - copy @cfg and @io (the io context stays the caller's).
 * Returns NULL on allocation failure. */
struct probe *probe_new(const struct probe_config *cfg, const struct probe_io *io);
/* probe_free - closes every socket the probe still holds; accepts NULL. */
void probe_free(struct probe *p);

/* probe_start - begin at time @now_ms; returns the next deadline. */
uint64_t probe_start(struct probe *p, uint64_t now_ms);
/* probe_input - a datagram arrived on @sock from @from. */
void probe_input(struct probe *p, uint64_t now_ms, int sock, const struct stun_addr *from,
		 const uint8_t *buf, size_t len);
/* probe_tick - fire what is due; returns the next deadline (absolute ms),
 * or 0 when the probe has finished. Call it after probe_input too: an
 * answer may let the probe move on at once. */
uint64_t probe_tick(struct probe *p, uint64_t now_ms);
bool probe_done(const struct probe *p);
const struct probe_result *probe_result(const struct probe *p);

const char *probe_behaviour_name(enum probe_behaviour b);
const char *probe_ports_name(enum probe_ports p);

/* probe_classify_ports - the pattern of @n (local, mapped) port pairs:
 * preserved when every mapped port equals its local port, sequential when
 * successive mapped ports differ by the same small step (1..8), else
 * random. Exposed for tests. */
enum probe_ports probe_classify_ports(const uint16_t *local, const uint16_t *mapped, int n);

#endif

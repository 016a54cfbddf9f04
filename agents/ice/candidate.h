/* candidate.h - ICE candidates: the RFC 8839 a=candidate attribute, RFC 8445
 * priorities and foundations.
 *
 * Pure code: strings in, structs out; no sockets, no clock. Addresses are
 * numeric IPv4/IPv6 only (FQDN and mDNS ".local" names are refused with
 * -EAFNOSUPPORT: a lab agent never needs name resolution).
 */
#ifndef NATLAB_AGENTS_ICE_CANDIDATE_H
#define NATLAB_AGENTS_ICE_CANDIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

/* RFC 8839 §5.1: foundation = 1*32ice-char */
#define ICE_FOUNDATION_MAX 32
/* RFC 8445 §5.1.2.1: component ID "between 1 and 256 inclusive" */
#define ICE_COMPONENT_MAX 256
/* Longest a=candidate value we format: fixed fields + two IPv6 addresses. */
#define ICE_CANDIDATE_STR_MAX 256

enum ice_cand_type { ICE_CAND_HOST, ICE_CAND_SRFLX, ICE_CAND_PRFLX, ICE_CAND_RELAY };
enum ice_transport { ICE_TRANSPORT_UDP, ICE_TRANSPORT_TCP };
/* RFC 6544 §4.5 tcptype */
enum ice_tcptype { ICE_TCP_NONE, ICE_TCP_ACTIVE, ICE_TCP_PASSIVE, ICE_TCP_SO };

union ice_addr {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

struct ice_candidate {
	char foundation[ICE_FOUNDATION_MAX + 1];
	unsigned component;
	enum ice_transport transport;
	uint32_t priority;
	union ice_addr addr;
	enum ice_cand_type type;
	bool has_related;
	union ice_addr related;
	enum ice_tcptype tcptype;
};

/* ice_candidate_parse - parse an a=candidate value ("candidate:..." with or
 * without a leading "a="; trailing CR/LF allowed) of @len bytes (no NUL
 * needed). Unknown extension attributes are skipped as RFC 8839 §5.1 asks
 * ("MUST be ignored"). Returns 0, -EINVAL on syntax errors, -EAFNOSUPPORT
 * for non-numeric addresses, -EPROTONOSUPPORT for transports other than
 * UDP/TCP. */
int ice_candidate_parse(const char *s, size_t len, struct ice_candidate *c);

/* ice_candidate_format - write @c as "candidate:..." into @buf (NUL
 * terminated). Returns the length, or -ENOSPC. */
int ice_candidate_format(const struct ice_candidate *c, char *buf, size_t size);

/* RFC 8445 §5.1.2.1:
 *   priority = (2^24)*(type preference) + (2^8)*(local preference) +
 *              (2^0)*(256 - component ID) */
uint32_t ice_priority(unsigned type_pref, unsigned local_pref, unsigned component);

/* RFC 8445 §5.1.2.2 recommended type preferences: 126 host, 110 prflx,
 * 100 srflx, 0 relay. RFC 6544 §4.2 lowers TCP candidates. */
unsigned ice_type_pref(enum ice_cand_type t, enum ice_transport tr);

/* RFC 6544 §4.2: the local preference of a TCP candidate,
 *   local preference = (2^13) * direction-pref + other-pref
 * with direction-pref from @t and @tt (host and relayed: active 6, passive
 * 4, S-O 2; server and peer reflexive: S-O 6, active 4, passive 2) and
 * @other_pref 0..8191 (clamped). */
unsigned ice_tcp_local_pref(enum ice_cand_type t, enum ice_tcptype tt, unsigned other_pref);

const char *ice_cand_type_name(enum ice_cand_type t);
const char *ice_tcptype_name(enum ice_tcptype t); /* NULL for ICE_TCP_NONE */
const char *ice_transport_name(enum ice_transport t);

/* Addresses as the helpers below see them: family, address and port. */
bool ice_addr_equal(const union ice_addr *a, const union ice_addr *b);
bool ice_addr_same_ip(const union ice_addr *a, const union ice_addr *b);
uint16_t ice_addr_port(const union ice_addr *a);
void ice_addr_set_port(union ice_addr *a, uint16_t port);
socklen_t ice_addr_len(const union ice_addr *a);
/* "ip" text (no port) into @buf of at least INET6_ADDRSTRLEN bytes. */
const char *ice_addr_ip(const union ice_addr *a, char *buf, size_t size);
/* ice_addr_from_text - numeric IPv4/IPv6 @ip and @port into @a. */
int ice_addr_from_text(union ice_addr *a, const char *ip, uint16_t port);
/* ice_addr_parse_hostport - "1.2.3.4:3478" or "[::1]:3478". */
int ice_addr_parse_hostport(union ice_addr *a, const char *s);
bool ice_addr_is_v6(const union ice_addr *a);
/* link-local (fe80::/10, 169.254/16) and loopback checks for gathering. */
bool ice_addr_is_link_local(const union ice_addr *a);
bool ice_addr_is_loopback(const union ice_addr *a);

/* ice_foundation_make - RFC 8445 §5.1.1.3: candidates share a foundation
 * when they have the same type, base IP address, STUN/TURN server IP
 * (@server may be NULL) and transport. The foundation is a stable hash of
 * those four, written as at most 8 ice-chars. */
void ice_foundation_make(char out[ICE_FOUNDATION_MAX + 1], enum ice_cand_type t,
			 const union ice_addr *base, const union ice_addr *server,
			 enum ice_transport tr);

/* How a relayed candidate's TURN server is reached (the order ranks relayed
 * candidates among themselves, ice_agent_add_relay: UDP first, TLS last). */
enum ice_relay_via { ICE_RELAY_VIA_TLS, ICE_RELAY_VIA_TCP, ICE_RELAY_VIA_UDP };

/* ice_foundation_make_relay - the foundation of a relayed candidate at
 * @relayed (its own base) obtained from the TURN server at @server over
 * @via: allocations over UDP, TCP and TLS from one server get different
 * foundations (RFC 8445 §5.1.1.3, "obtained using the same transport
 * protocol"); two over the same transport share one. */
void ice_foundation_make_relay(char out[ICE_FOUNDATION_MAX + 1], const union ice_addr *relayed,
			       const union ice_addr *server, enum ice_relay_via via);

#endif

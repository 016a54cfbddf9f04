/* dut_dhcp.h - a minimal DHCPv4 client (RFC 2131) for natlab dut's LAN
 * host, so that a device which hands out its LAN addresses can be tested
 * as its users meet it: DHCPDISCOVER, DHCPOFFER, DHCPREQUEST, DHCPACK on
 * one interface of a lab node, then the lease's address, prefix and router
 * are used as --lan-addr and --lan-gw.
 *
 * No renewal and no release: a natlab dut run is shorter than a usual
 * lease, and the address goes with the interface when it leaves the lab
 * (a namespace move drops IPv4 addresses). The lease time is reported.
 *
 * The message codec is separate and pure (no sockets) for the unit tests;
 * every read is length-checked.
 */
#ifndef NATLAB_HARNESS_DUT_DHCP_H
#define NATLAB_HARNESS_DUT_DHCP_H

#include <stddef.h>
#include <stdint.h>

#include "emu/err.h"
#include "emu/node.h"

/* RFC 2132 §9.6 message types */
enum dut_dhcp_type {
	DUT_DHCP_DISCOVER = 1,
	DUT_DHCP_OFFER = 2,
	DUT_DHCP_REQUEST = 3,
	DUT_DHCP_DECLINE = 4,
	DUT_DHCP_ACK = 5,
	DUT_DHCP_NAK = 6,
};

#define DUT_DHCP_MSG_MAX 576 /* RFC 2131 §2: every agent accepts 576 bytes */

/* The fields natlab uses; addresses in host byte order, 0 = absent. */
struct dut_dhcp_msg {
	uint8_t op; /* 1 BOOTREQUEST, 2 BOOTREPLY */
	uint32_t xid;
	uint16_t flags;	    /* 0x8000: answer by broadcast */
	uint32_t ciaddr;    /* the client's address (renewing) */
	uint32_t yiaddr;    /* "your" address: what is offered */
	uint8_t chaddr[6];  /* the client's MAC */
	uint8_t type;	    /* option 53 */
	uint32_t server_id; /* option 54 */
	uint32_t requested; /* option 50 */
	uint32_t mask;	    /* option 1 */
	uint32_t router;    /* option 3 (the first router) */
	uint32_t lease_s;   /* option 51 */
};

/* dut_dhcp_build - @m as a BOOTP/DHCP message into @buf: its length, or
 * -ENOSPC when @len is too small. */
int dut_dhcp_build(const struct dut_dhcp_msg *m, uint8_t *buf, size_t len);

/* dut_dhcp_parse - a received message into @m: 0, or -EINVAL when it is
 * not a well-formed DHCP message (short, no magic cookie, an option
 * running past the end, no message type). */
int dut_dhcp_parse(const uint8_t *buf, size_t len, struct dut_dhcp_msg *m);

struct dut_dhcp_lease {
	uint32_t addr, mask, router, server; /* host byte order */
	uint32_t lease_s;
	int prefix; /* from mask */
};

/* dut_dhcp_acquire - run the exchange on interface @ifname (up, without
 * an IPv4 address) of node @n, retrying DISCOVER every second, for up to
 * @timeout_ms; on success the lease is filled in (the caller adds the
 * address). -ETIMEDOUT when no server answered, -ECONNREFUSED on a
 * DHCPNAK. */
int dut_dhcp_acquire(struct emu_node *n, const char *ifname, int timeout_ms,
		     struct dut_dhcp_lease *lease, struct natlab_err *e);

#endif

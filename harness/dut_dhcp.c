/* dut_dhcp.c - the DHCPv4 client of natlab dut's LAN host; see
 * dut_dhcp.h. Message layout: RFC 2131 §2 (fixed BOOTP fields, then the
 * magic cookie and options, RFC 2132). */
#include "harness/dut_dhcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FIXED_LEN  236 /* op .. file */
#define OFF_XID	   4
#define OFF_FLAGS  10
#define OFF_CI	   12
#define OFF_YI	   16
#define OFF_CHADDR 28
#define COOKIE	   0x63825363u /* RFC 2131 §3: 99.130.83.99 */

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* append option @code with a 4-byte value when @v is set */
static size_t opt32(uint8_t *buf, size_t off, uint8_t code, uint32_t v)
{
	if (!v)
		return off;
	buf[off] = code;
	buf[off + 1] = 4;
	put32(buf + off + 2, v);
	return off + 6;
}

int dut_dhcp_build(const struct dut_dhcp_msg *m, uint8_t *buf, size_t len)
{
	size_t off = FIXED_LEN;

	/* fixed part, cookie, 5 options of at most 6 bytes, the request list
	 * (5 bytes) and the end */
	if (len < FIXED_LEN + 4 + 3 + 5 * 6 + 5 + 1)
		return -ENOSPC;
	memset(buf, 0, FIXED_LEN);
	buf[0] = m->op;
	buf[1] = 1; /* htype: Ethernet */
	buf[2] = 6; /* hlen */
	put32(buf + OFF_XID, m->xid);
	buf[OFF_FLAGS] = (uint8_t)(m->flags >> 8);
	buf[OFF_FLAGS + 1] = (uint8_t)m->flags;
	put32(buf + OFF_CI, m->ciaddr);
	put32(buf + OFF_YI, m->yiaddr);
	memcpy(buf + OFF_CHADDR, m->chaddr, 6);
	put32(buf + off, COOKIE);
	off += 4;
	buf[off++] = 53;
	buf[off++] = 1;
	buf[off++] = m->type;
	off = opt32(buf, off, 54, m->server_id);
	off = opt32(buf, off, 50, m->requested);
	off = opt32(buf, off, 1, m->mask);
	off = opt32(buf, off, 3, m->router);
	off = opt32(buf, off, 51, m->lease_s);
	if (m->op == 1) {
		/* parameter request list: mask, router, lease time */
		buf[off++] = 55;
		buf[off++] = 3;
		buf[off++] = 1;
		buf[off++] = 3;
		buf[off++] = 51;
	}
	buf[off++] = 255;
	return (int)off;
}

int dut_dhcp_parse(const uint8_t *buf, size_t len, struct dut_dhcp_msg *m)
{
	size_t off = FIXED_LEN + 4;

	memset(m, 0, sizeof(*m));
	if (len < off || get32(buf + FIXED_LEN) != COOKIE || (buf[0] != 1 && buf[0] != 2))
		return -EINVAL;
	m->op = buf[0];
	m->xid = get32(buf + OFF_XID);
	m->flags = (uint16_t)(buf[OFF_FLAGS] << 8 | buf[OFF_FLAGS + 1]);
	m->ciaddr = get32(buf + OFF_CI);
	m->yiaddr = get32(buf + OFF_YI);
	memcpy(m->chaddr, buf + OFF_CHADDR, 6);
	while (off < len) {
		uint8_t code = buf[off], olen;
		const uint8_t *v;

		if (code == 255)
			break;
		if (code == 0) { /* pad */
			off++;
			continue;
		}
		if (off + 2 > len)
			return -EINVAL;
		olen = buf[off + 1];
		if (off + 2 + olen > len)
			return -EINVAL;
		v = buf + off + 2;
		switch (code) {
		case 53:
			if (olen >= 1)
				m->type = v[0];
			break;
		case 54:
		case 50:
		case 1:
		case 3: /* a router list: the first one */
		case 51:
			if (olen < 4)
				return -EINVAL;
			*(code == 54   ? &m->server_id
			  : code == 50 ? &m->requested
			  : code == 1  ? &m->mask
			  : code == 3  ? &m->router
				       : &m->lease_s) = get32(v);
			break;
		default:
			break;
		}
		off += 2 + (size_t)olen;
	}
	return m->type ? 0 : -EINVAL;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int send_msg(int fd, const struct dut_dhcp_msg *m)
{
	uint8_t buf[DUT_DHCP_MSG_MAX];
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(67)};
	int n = dut_dhcp_build(m, buf, sizeof(buf));

	/* RFC 2131 §4.1: without an address the client broadcasts */
	to.sin_addr.s_addr = htonl(INADDR_BROADCAST);
	if (n < 0)
		return n;
	return sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&to, sizeof(to)) < 0 ? -errno : 0;
}

/* Wait until @end for a reply to @xid of type @want (or a NAK). */
static int await_reply(int fd, uint32_t xid, uint8_t want, uint64_t end, struct dut_dhcp_msg *m)
{
	uint8_t buf[1500];

	for (;;) {
		uint64_t now = now_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (now >= end)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)(end - now)) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0 || dut_dhcp_parse(buf, (size_t)n, m) < 0 || m->op != 2 || m->xid != xid)
			continue; /* not ours */
		if (m->type == DUT_DHCP_NAK)
			return -ECONNREFUSED;
		if (m->type == want && m->yiaddr)
			return 0;
	}
}

int dut_dhcp_acquire(struct emu_node *n, const char *ifname, int timeout_ms,
		     struct dut_dhcp_lease *lease, struct natlab_err *e)
{
	struct dut_dhcp_msg q = {.op = 1, .flags = 0x8000, .type = DUT_DHCP_DISCOVER}, r;
	struct sockaddr_in any = {.sin_family = AF_INET, .sin_port = htons(68)};
	struct ifreq ifr;
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	int fd = emu_node_socket(n, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0, e), ret;

	if (fd < 0)
		return fd;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		ret = natlab_err_set(e, errno, "DHCP on %s: no hardware address", ifname);
		goto out;
	}
	memcpy(q.chaddr, ifr.ifr_hwaddr.sa_data, 6);
	setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &(int){1}, sizeof(int));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0 ||
	    bind(fd, (struct sockaddr *)&any, sizeof(any)) < 0) {
		ret = natlab_err_set(e, errno, "DHCP on %s: cannot bind port 68", ifname);
		goto out;
	}
	/* a transaction id from the MAC and the clock (RFC 2131 §4.4.1:
	 * "random"; unpredictability does not matter inside a lab) */
	q.xid = get32(q.chaddr + 2) ^ (uint32_t)now_ms() ^ 0x6e6c6463u;
	ret = -ETIMEDOUT;
	while (now_ms() < end) {
		uint64_t step = now_ms() + 1000;
		q.type = DUT_DHCP_DISCOVER;
		q.requested = q.server_id = 0;
		if ((ret = send_msg(fd, &q)) < 0)
			break;
		ret = await_reply(fd, q.xid, DUT_DHCP_OFFER, step < end ? step : end, &r);
		if (ret == -ETIMEDOUT)
			continue;
		if (ret < 0)
			break;
		/* RFC 2131 §4.3.2: the REQUEST names the server and the address */
		q.type = DUT_DHCP_REQUEST;
		q.requested = r.yiaddr;
		q.server_id = r.server_id;
		if ((ret = send_msg(fd, &q)) < 0)
			break;
		ret = await_reply(fd, q.xid, DUT_DHCP_ACK,
				  now_ms() + 2000 < end ? now_ms() + 2000 : end, &r);
		if (ret != -ETIMEDOUT)
			break;
	}
	if (ret == 0) {
		lease->addr = r.yiaddr;
		lease->mask = r.mask ? r.mask : 0xffffff00u; /* no option 1: assume a /24 */
		lease->router = r.router;
		lease->server = r.server_id;
		lease->lease_s = r.lease_s;
		lease->prefix = 0;
		for (uint32_t m = lease->mask; m & 0x80000000u; m <<= 1)
			lease->prefix++;
	} else if (ret == -ETIMEDOUT) {
		natlab_err_msg(e, ETIMEDOUT, "DHCP on %s: no offer and acknowledgement in %d ms",
			       ifname, timeout_ms);
	} else if (ret == -ECONNREFUSED) {
		natlab_err_msg(e, ECONNREFUSED, "DHCP on %s: the server refused (DHCPNAK)", ifname);
	} else {
		/* natlab_err_set appends strerror(-ret) itself */
		natlab_err_set(e, -ret, "DHCP on %s", ifname);
	}
out:
	close(fd);
	return ret;
}

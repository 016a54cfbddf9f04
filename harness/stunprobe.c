/* stunprobe.c - one STUN Binding transaction from inside a node, so a
 * scenario can see its address as the far side of a NAT sees it. */
#include "harness/stunprobe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define STUN_HDR	20
#define STUN_MAGIC	0x2112A442u /* RFC 8489 §5: the magic cookie */
#define ATTR_XOR_MAPPED 0x0020

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int stunprobe_binding(const struct emu_node *n, const char *server, unsigned port, int timeout_ms,
		      char *out, size_t len, struct natlab_err *e)
{
	uint8_t req[STUN_HDR] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
	uint8_t resp[1500];
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct pollfd pfd;
	int fd, ret = -ETIMEDOUT;
	ssize_t r;

	if (inet_pton(AF_INET, server, &sa.sin_addr) != 1)
		return natlab_err_msg(e, EINVAL, "stun: '%s' is not an IPv4 address", server);
	if (getrandom(req + 8, 12, 0) != 12)
		return natlab_err_set(e, errno, "stun: transaction id");
	fd = emu_node_socket(n, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0, e);
	if (fd < 0)
		return fd;
	/* RFC 8489 §6.2.1: retransmit with RTO doubling; 3 tries within the timeout. */
	for (int attempt = 0; attempt < 3 && ret == -ETIMEDOUT; attempt++) {
		int wait = timeout_ms / 7 * (1 << attempt);
		if (sendto(fd, req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			ret = natlab_err_set(e, errno, "stun: send to %s:%u", server, port);
			break;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		while (poll(&pfd, 1, wait) == 1) {
			r = recv(fd, resp, sizeof(resp), 0);
			/* RFC 8489 §6.3: a response matches by transaction id; every
			 * length is checked before use. */
			if (r < STUN_HDR || rd16(resp) != 0x0101 ||
			    memcmp(resp + 4, req + 4, 16) != 0)
				continue;
			size_t mlen = rd16(resp + 2);
			if (mlen + STUN_HDR > (size_t)r)
				continue;
			for (size_t off = STUN_HDR; off + 4 <= STUN_HDR + mlen;) {
				uint16_t type = rd16(resp + off), alen = rd16(resp + off + 2);
				if (off + 4 + alen > STUN_HDR + mlen)
					break;
				if (type == ATTR_XOR_MAPPED && alen >= 8 && resp[off + 5] == 0x01) {
					/* RFC 8489 §14.2: X-Port is the port XOR'd with the
					 * cookie's top 16 bits, X-Address with the cookie. */
					uint16_t xport =
					    rd16(resp + off + 6) ^ (uint16_t)(STUN_MAGIC >> 16);
					uint8_t a[4];
					for (int i = 0; i < 4; i++)
						a[i] = resp[off + 8 + i] ^ req[4 + i];
					snprintf(out, len, "%u.%u.%u.%u:%u", a[0], a[1], a[2], a[3],
						 xport);
					ret = 0;
					break;
				}
				off +=
				    4 + ((alen + 3u) & ~3u); /* attributes are padded to 4 bytes */
			}
			if (ret == 0)
				break;
		}
	}
	if (ret == -ETIMEDOUT)
		natlab_err_msg(e, ETIMEDOUT, "stun: no Binding response from %s:%u", server, port);
	close(fd);
	return ret;
}

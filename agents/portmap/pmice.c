/* pmice.c - port mappings for an ICE agent's host candidates, see pmice.h. */
#include "agents/portmap/pmice.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct pm_entry {
	struct pmice *owner;
	struct pm_client *c;
	int fd;
	int base_id;
	union ice_addr host;
	bool settled, live;
	union ice_addr mapped;
	const char *proto;
	uint32_t lifetime_s;
};

struct pmice {
	struct pmice_config cfg;
	struct pmice_cb cb;
	struct pm_entry e[PMICE_MAX];
	unsigned n;
	bool told_settled;
};

static void say(struct pmice *p, const char *level, const char *msg)
{
	if (p->cb.log)
		p->cb.log(p->cb.ctx, level, msg);
}

int pmice_new(const struct pmice_config *cfg, const struct pmice_cb *cb, struct pmice **out)
{
	struct pmice *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->cfg = *cfg;
	p->cb = *cb;
	*out = p;
	return 0;
}

void pmice_free(struct pmice *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->n; i++) {
		pm_client_free(p->e[i].c);
		if (p->e[i].fd >= 0)
			close(p->e[i].fd);
	}
	free(p);
}

int pmice_gateway(uint32_t *gw)
{
	char line[256];
	FILE *f = fopen("/proc/net/route", "r");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	/* Iface Destination Gateway Flags ...: hex, in network order as
	 * printed by the kernel's %08X of the raw value */
	while (fgets(line, sizeof(line), f)) {
		char ifn[64];
		unsigned dest, g, flags;
		if (sscanf(line, "%63s %x %x %x", ifn, &dest, &g, &flags) == 4 && dest == 0 &&
		    (flags & 0x2) && g != 0) {
			*gw = (uint32_t)g;
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

static void entry_send(void *ctx, const uint8_t *buf, size_t len)
{
	struct pm_entry *e = ctx;
	(void)!send(e->fd, buf, len, 0);
}

static void check_settled(struct pmice *p)
{
	if (p->told_settled || pmice_pending(p))
		return;
	p->told_settled = true;
	if (p->cb.settled)
		p->cb.settled(p->cb.ctx);
}

static void entry_event(void *ctx, const struct pm_event *ev)
{
	struct pm_entry *e = ctx;
	struct pmice *p = e->owner;
	char msg[200], ip[INET_ADDRSTRLEN];

	switch (ev->type) {
	case PM_EV_MAPPED:
		e->live = true;
		e->proto = ev->protocol;
		e->lifetime_s = ev->lifetime_s;
		memset(&e->mapped, 0, sizeof(e->mapped));
		e->mapped.in4.sin_family = AF_INET;
		e->mapped.in4.sin_addr.s_addr = ev->external_ip;
		e->mapped.in4.sin_port = htons(ev->external_port);
		snprintf(msg, sizeof(msg),
			 "port mapping (%s): %s:%u -> host port %u, %u s, epoch %u", ev->protocol,
			 inet_ntop(AF_INET, &ev->external_ip, ip, sizeof(ip)), ev->external_port,
			 ice_addr_port(&e->host), ev->lifetime_s, ev->epoch_s);
		say(p, "info", msg);
		if (p->cb.mapped)
			p->cb.mapped(p->cb.ctx, e->base_id, &e->mapped, ev->protocol,
				     ev->lifetime_s);
		break;
	case PM_EV_SETTLED:
		e->settled = true;
		check_settled(p);
		break;
	case PM_EV_LOST:
		e->live = false;
		snprintf(msg, sizeof(msg), "port mapping lost (%s): %s; mapping again",
			 ev->protocol ? ev->protocol : "?", ev->reason ? ev->reason : "");
		say(p, "warning", msg);
		break;
	case PM_EV_LOG:
		say(p, "info", ev->reason ? ev->reason : "");
		break;
	}
}

int pmice_add(struct pmice *p, int base_id, const union ice_addr *host, uint64_t now_ms)
{
	struct pm_client_config cc;
	struct pm_client_io io;
	struct sockaddr_in gw = {.sin_family = AF_INET, .sin_port = htons(PCP_SERVER_PORT)};
	struct sockaddr_in src;
	struct pm_entry *e;
	uint64_t x;
	char msg[160];
	int ret;

	if (host->sa.sa_family != AF_INET || p->n == PMICE_MAX)
		return 0;
	for (unsigned i = 0; i < p->n; i++)
		if (p->e[i].base_id == base_id && ice_addr_equal(&p->e[i].host, host))
			return 0;
	ret = pmice_gateway(&gw.sin_addr.s_addr);
	if (ret < 0) {
		say(p, "warning", "--portmap: no IPv4 default gateway to ask");
		return ret;
	}
	e = &p->e[p->n];
	memset(e, 0, sizeof(*e));
	e->owner = p;
	e->base_id = base_id;
	e->host = *host;
	/* RFC 6887 §8.1: the request's source address is the PCP Client's
	 * IP Address it carries (else ADDRESS_MISMATCH): bind to the host's */
	e->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (e->fd < 0)
		return -errno;
	src = host->in4;
	src.sin_port = 0;
	if (bind(e->fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	    connect(e->fd, (struct sockaddr *)&gw, sizeof(gw)) < 0) {
		ret = -errno;
		snprintf(msg, sizeof(msg), "--portmap: socket to the gateway: %s", strerror(-ret));
		say(p, "warning", msg);
		close(e->fd);
		return ret;
	}
	memset(&cc, 0, sizeof(cc));
	cc.mode = p->cfg.mode;
	cc.client_ip = host->in4.sin_addr.s_addr;
	cc.internal_port = ice_addr_port(host);
	cc.lifetime_s = p->cfg.lifetime_s;
	cc.wait_ms = p->cfg.wait_ms;
	/* RFC 6887 §11.1: "the nonce ... randomly chosen"; from the agent's
	 * seed, so a cell re-run with its seed asks the same */
	x = p->cfg.seed ^ ((uint64_t)cc.internal_port << 32) ^ (uint64_t)p->n;
	for (unsigned i = 0; i < PCP_NONCE_LEN; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		cc.nonce[i] = (uint8_t)(x >> 56);
	}
	io.ctx = e;
	io.send = entry_send;
	io.event = entry_event;
	ret = pm_client_new(&cc, &io, &e->c);
	if (ret < 0) {
		close(e->fd);
		return ret;
	}
	p->n++;
	p->told_settled = false;
	pm_client_start(e->c, now_ms);
	return 0;
}

bool pmice_pending(const struct pmice *p)
{
	for (unsigned i = 0; i < p->n; i++)
		if (!p->e[i].settled)
			return true;
	return false;
}

void pmice_remapped(struct pmice *p)
{
	for (unsigned i = 0; i < p->n; i++)
		if (p->e[i].live && p->cb.mapped)
			p->cb.mapped(p->cb.ctx, p->e[i].base_id, &p->e[i].mapped, p->e[i].proto,
				     p->e[i].lifetime_s);
}

unsigned pmice_pollfds(struct pmice *p, struct pollfd *pfd)
{
	for (unsigned i = 0; i < p->n; i++) {
		pfd[i].fd = p->e[i].fd;
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	return p->n;
}

void pmice_io(struct pmice *p, const struct pollfd *pfd, unsigned n, uint64_t now_ms)
{
	uint8_t buf[PCP_MSG_MAX + 4];

	for (unsigned i = 0; i < n && i < p->n; i++) {
		if (!(pfd[i].revents & POLLIN))
			continue;
		for (;;) {
			ssize_t len = recv(p->e[i].fd, buf, sizeof(buf), 0);
			if (len < 0)
				break; /* EAGAIN, or ICMP unreachable: a silent router */
			pm_client_input(p->e[i].c, buf, (size_t)len, now_ms);
		}
	}
}

uint64_t pmice_tick(struct pmice *p, uint64_t now_ms)
{
	uint64_t next = PM_NEVER;

	for (unsigned i = 0; i < p->n; i++) {
		uint64_t t = pm_client_tick(p->e[i].c, now_ms);
		if (t < next)
			next = t;
	}
	return next;
}

void pmice_stop(struct pmice *p, uint64_t now_ms)
{
	for (unsigned i = 0; i < p->n; i++)
		pm_client_stop(p->e[i].c, now_ms);
}

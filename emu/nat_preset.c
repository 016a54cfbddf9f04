/* nat_preset.c - the preset table, knob names and the coherence check of a
 * NAT configuration; see nat.h. Presets are data: one row per device class. */
#include "emu/nat.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* RFC 4787 REQ-5: "A NAT UDP mapping timer MUST NOT expire in less than two
 * minutes". Every preset but a custom NAT uses this. */
#define PRESET_UDP_TIMEOUT_S 120

struct preset {
	const char *name;
	const char *alias_of; /* NULL for a primary row */
	const char *inner;    /* stacked presets: the inner NAT's preset */
	const char *device;   /* the device class it stands for */
	bool translate;
	enum emu_nat_mapping mapping;
	enum emu_nat_filtering filtering;
	enum emu_nat_ports ports;
	uint16_t port_min, port_max;
	bool hairpin, paired, udp_blocked, tcp_in_blocked;
	uint16_t tcp_ports[2];
	unsigned n_tcp_ports;
};

/* clang-format off */
static const struct preset presets[] = {
	{"open", NULL, NULL, "no NAT, no firewall: a host with a public address (university, server)",
	 false, EMU_NAT_MAP_EI, EMU_NAT_FILTER_EI, EMU_NAT_PORTS_PRESERVE, 1024, 65535,
	 false, false, false, false, {0}, 0},
	{"full-cone", NULL, NULL, "RFC 3489 full cone: game consoles' UPnP-style routers, some CPEs with 'NAT type open'",
	 true, EMU_NAT_MAP_EI, EMU_NAT_FILTER_EI, EMU_NAT_PORTS_PRESERVE, 1024, 65535,
	 true, true, false, false, {0}, 0},
	{"restricted-cone", NULL, NULL, "RFC 3489 restricted cone: many consumer routers (address-dependent filtering)",
	 true, EMU_NAT_MAP_EI, EMU_NAT_FILTER_AD, EMU_NAT_PORTS_PRESERVE, 1024, 65535,
	 true, true, false, false, {0}, 0},
	{"port-restricted-cone", NULL, NULL, "RFC 3489 port-restricted cone: Linux/netfilter home routers (OpenWrt, most CPEs)",
	 true, EMU_NAT_MAP_EI, EMU_NAT_FILTER_APD, EMU_NAT_PORTS_PRESERVE, 1024, 65535,
	 true, true, false, false, {0}, 0},
	{"easy", "port-restricted-cone", NULL, NULL,
	 true, EMU_NAT_MAP_EI, EMU_NAT_FILTER_APD, EMU_NAT_PORTS_PRESERVE, 1024, 65535,
	 true, true, false, false, {0}, 0},
	{"address-dependent", NULL, NULL, "address-dependent mapping and filtering, sequential ports: some enterprise firewalls",
	 true, EMU_NAT_MAP_AD, EMU_NAT_FILTER_AD, EMU_NAT_PORTS_SEQUENTIAL, 1024, 65535,
	 false, true, false, false, {0}, 0},
	{"symmetric", NULL, NULL, "RFC 3489 symmetric: pfSense/FreeBSD pf, enterprise firewalls (random port per destination)",
	 true, EMU_NAT_MAP_APD, EMU_NAT_FILTER_APD, EMU_NAT_PORTS_RANDOM, 1024, 65535,
	 false, true, false, false, {0}, 0},
	{"hard", "symmetric", NULL, NULL,
	 true, EMU_NAT_MAP_APD, EMU_NAT_FILTER_APD, EMU_NAT_PORTS_RANDOM, 1024, 65535,
	 false, true, false, false, {0}, 0},
	/* The carrier half; the home half is the inner preset. RFC 6888 REQ-1:
	 * "If a CGN forwards packets containing a given transport protocol,
	 * then it MUST fulfill that transport protocol's behavioral
	 * requirements" (RFC 4787: EIM, hairpinning); REQ-2: "A CGN MUST have
	 * a default 'IP address pooling' behavior of 'Paired'". */
	{"cgnat", NULL, "port-restricted-cone", "carrier-grade NAT (RFC 6888, 100.64.0.0/10) in front of an easy home NAT: mobile and fibre ISPs",
	 true, EMU_NAT_MAP_EI, EMU_NAT_FILTER_APD, EMU_NAT_PORTS_RANDOM, 1024, 65535,
	 true, true, false, false, {0}, 0},
	{"udp-blocked", NULL, NULL, "a firewall that drops all UDP: corporate and hotel networks",
	 true, EMU_NAT_MAP_EI, EMU_NAT_FILTER_APD, EMU_NAT_PORTS_PRESERVE, 1024, 65535,
	 false, true, true, false, {0}, 0},
	{"tcp-web-only", NULL, NULL, "a proxy-style firewall: outbound TCP to 80/443 only, no UDP, nothing inbound",
	 true, EMU_NAT_MAP_EI, EMU_NAT_FILTER_APD, EMU_NAT_PORTS_PRESERVE, 1024, 65535,
	 false, true, true, true, {80, 443}, 2},
};
/* clang-format on */
#define N_PRESETS (sizeof(presets) / sizeof(presets[0]))

static const char *const preset_names[N_PRESETS + 1] = {
    "open",  "full-cone",	  "restricted-cone", "port-restricted-cone",
    "easy",  "address-dependent", "symmetric",	     "hard",
    "cgnat", "udp-blocked",	  "tcp-web-only",    NULL,
};

const char *const *emu_nat_preset_names(void)
{
	return preset_names;
}

static const struct preset *preset_find(const char *name)
{
	for (size_t i = 0; i < N_PRESETS; i++)
		if (name && strcmp(presets[i].name, name) == 0)
			return &presets[i];
	return NULL;
}

int emu_nat_preset(const char *name, struct emu_nat_config *cfg, struct natlab_err *e)
{
	const struct preset *p = preset_find(name);

	if (!p) {
		char list[256] = "";
		for (size_t i = 0; preset_names[i]; i++) {
			strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
			strncat(list, preset_names[i], sizeof(list) - strlen(list) - 1);
		}
		return natlab_err_msg(e, ENOENT, "unknown NAT preset \"%s\" (known: %s)",
				      name ? name : "(null)", list);
	}
	memset(cfg, 0, sizeof(*cfg));
	cfg->translate = p->translate;
	cfg->mapping = p->mapping;
	cfg->filtering = p->filtering;
	cfg->ports = p->ports;
	cfg->port_min = p->port_min;
	cfg->port_max = p->port_max;
	cfg->hairpin = p->hairpin;
	cfg->udp_timeout_s = PRESET_UDP_TIMEOUT_S;
	/* RFC 4787 REQ-6: "The NAT mapping Refresh Direction MUST have a 'NAT
	 * Outbound refresh behavior' of 'True'"; inbound refresh is a MAY and
	 * Linux conntrack does refresh on inbound traffic. */
	cfg->inbound_refreshes = true;
	cfg->udp_blocked = p->udp_blocked;
	cfg->tcp_in_blocked = p->tcp_in_blocked;
	for (unsigned i = 0; i < p->n_tcp_ports; i++)
		cfg->tcp_out_ports[i] = p->tcp_ports[i];
	cfg->n_tcp_out_ports = p->n_tcp_ports;
	cfg->paired_pooling = p->paired;
	/* udp_mappings_per_host and sip_alg are scenario knobs: no preset
	 * sets them (the memset leaves them off) */
	return 0;
}

const char *emu_nat_preset_describe(const char *name)
{
	const struct preset *p = preset_find(name);

	if (p && p->alias_of)
		p = preset_find(p->alias_of);
	return p ? p->device : NULL;
}

const char *emu_nat_preset_inner(const char *name)
{
	const struct preset *p = preset_find(name);

	return p ? p->inner : NULL;
}

static const char *const mapping_names[] = {"ei", "ad", "apd"};
static const char *const ports_names[] = {"preserve", "sequential", "random"};

const char *emu_nat_mapping_name(enum emu_nat_mapping m)
{
	return (unsigned)m < 3 ? mapping_names[m] : "?";
}

const char *emu_nat_filtering_name(enum emu_nat_filtering f)
{
	return (unsigned)f < 3 ? mapping_names[f] : "?";
}

const char *emu_nat_ports_name(enum emu_nat_ports p)
{
	return (unsigned)p < 3 ? ports_names[p] : "?";
}

static int parse3(const char *what, const char *const names[3], const char *s, int *out,
		  struct natlab_err *e)
{
	for (int i = 0; i < 3; i++) {
		if (s && strcmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return natlab_err_msg(e, EINVAL, "unknown %s \"%s\" (one of %s, %s, %s)", what,
			      s ? s : "(null)", names[0], names[1], names[2]);
}

int emu_nat_mapping_parse(const char *s, enum emu_nat_mapping *m, struct natlab_err *e)
{
	int v;
	int ret = parse3("NAT mapping", mapping_names, s, &v, e);

	if (ret == 0)
		*m = (enum emu_nat_mapping)v;
	return ret;
}

int emu_nat_filtering_parse(const char *s, enum emu_nat_filtering *f, struct natlab_err *e)
{
	int v;
	int ret = parse3("NAT filtering", mapping_names, s, &v, e);

	if (ret == 0)
		*f = (enum emu_nat_filtering)v;
	return ret;
}

int emu_nat_ports_parse(const char *s, enum emu_nat_ports *p, struct natlab_err *e)
{
	int v;
	int ret = parse3("NAT port assignment", ports_names, s, &v, e);

	if (ret == 0)
		*p = (enum emu_nat_ports)v;
	return ret;
}

static const char *const portmap_names[] = {"upnp", "natpmp", "pcp"};

const char *emu_nat_portmap_name(enum emu_nat_portmap p)
{
	for (unsigned i = 0; i < 3; i++)
		if ((unsigned)p == 1u << i)
			return portmap_names[i];
	return "?";
}

int emu_nat_portmap_parse(const char *s, unsigned *mask, struct natlab_err *e)
{
	const char *w = s;

	if (strcmp(s, "none") == 0 || s[0] == '\0')
		return 0;
	while (*w) {
		size_t n = strcspn(w, ",");
		unsigned i;

		for (i = 0; i < 3; i++)
			if (strlen(portmap_names[i]) == n && strncmp(w, portmap_names[i], n) == 0)
				break;
		if (i == 3)
			return natlab_err_msg(e, EINVAL,
					      "NAT: portmap protocol \"%.*s\" is not one of upnp, "
					      "natpmp, pcp (or \"none\")",
					      (int)(n > 32 ? 32 : n), w);
		*mask |= 1u << i;
		w += n;
		if (*w == ',')
			w++;
	}
	return 0;
}

static bool ifname_ok(const char *s)
{
	size_t len = strnlen(s, EMU_NAT_IFNAME_MAX);

	return len > 0 && len < EMU_NAT_IFNAME_MAX && !strchr(s, '/');
}

int emu_nat_config_check(const struct emu_nat_config *c, struct natlab_err *e)
{
	struct in_addr a;

	if ((unsigned)c->mapping > EMU_NAT_MAP_APD)
		return natlab_err_msg(e, EINVAL, "NAT: mapping %d is not one of ei, ad, apd",
				      (int)c->mapping);
	if ((unsigned)c->filtering > EMU_NAT_FILTER_APD)
		return natlab_err_msg(e, EINVAL, "NAT: filtering %d is not one of ei, ad, apd",
				      (int)c->filtering);
	if ((unsigned)c->ports > EMU_NAT_PORTS_RANDOM)
		return natlab_err_msg(
		    e, EINVAL, "NAT: port assignment %d is not one of preserve, sequential, random",
		    (int)c->ports);
	if (c->port_min == 0 || c->port_min > c->port_max)
		return natlab_err_msg(e, EINVAL,
				      "NAT: port range %u-%u is empty or starts at 0 (need 1 <= "
				      "port_min <= port_max <= 65535)",
				      c->port_min, c->port_max);
	if (c->udp_timeout_s == 0 || c->udp_timeout_s > 86400)
		return natlab_err_msg(e, EINVAL,
				      "NAT: udp_timeout_s %u is out of range (1-86400 s)",
				      c->udp_timeout_s);
	if (c->n_tcp_out_ports > EMU_NAT_TCP_PORTS_MAX)
		return natlab_err_msg(e, EINVAL, "NAT: %u tcp_out_ports, at most %d",
				      c->n_tcp_out_ports, EMU_NAT_TCP_PORTS_MAX);
	for (unsigned i = 0; i < c->n_tcp_out_ports; i++)
		if (c->tcp_out_ports[i] == 0)
			return natlab_err_msg(e, EINVAL, "NAT: tcp_out_ports[%u] is 0", i);
	if (c->inside_ifname[0] && !ifname_ok(c->inside_ifname))
		return natlab_err_msg(e, EINVAL,
				      "NAT: inside interface name \"%.16s\" is not 1-15 characters",
				      c->inside_ifname);
	if (!ifname_ok(c->outside_ifname))
		return natlab_err_msg(e, EINVAL,
				      "NAT: the outside interface must be named (1-15 characters)");
	if (c->inside_ifname[0] && strcmp(c->inside_ifname, c->outside_ifname) == 0)
		return natlab_err_msg(e, EINVAL, "NAT: inside and outside interface are both %s",
				      c->outside_ifname);
	if (c->portmap & ~EMU_NAT_PORTMAP_ALL)
		return natlab_err_msg(e, EINVAL, "NAT: portmap mask 0x%x has unknown bits",
				      c->portmap);
	if (c->portmap && !c->translate)
		return natlab_err_msg(e, EINVAL,
				      "NAT: portmap needs a translating NAT (translate = true): "
				      "a plain router has no ports to map");
	if (!c->translate)
		return 0;
	if (c->n_public_addrs == 0 || c->n_public_addrs > EMU_NAT_ADDRS_MAX)
		return natlab_err_msg(e, EINVAL, "NAT: %u public addresses, need 1-%d",
				      c->n_public_addrs, EMU_NAT_ADDRS_MAX);
	for (unsigned i = 0; i < c->n_public_addrs; i++) {
		char s[EMU_NAT_ADDR_STR_MAX];
		snprintf(s, sizeof(s), "%.15s", c->public_addrs[i]);
		if (inet_pton(AF_INET, s, &a) != 1)
			return natlab_err_msg(
			    e, EINVAL, "NAT: public address \"%s\" is not an IPv4 address", s);
	}
	return 0;
}

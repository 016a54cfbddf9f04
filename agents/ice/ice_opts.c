/* ice_opts.c - natlab-ice's command line (see ice_opts.h). */
#include "agents/ice/ice_opts.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agents/portmap/pmclient.h"

void ice_opts_usage(FILE *f)
{
	fprintf(f, "usage: natlab-ice [--role controlling|controlled] [--stun IP:PORT]...\n"
		   "         [--turn udp|tcp|tls:IP:PORT]... [--turn-user U --turn-pass P]\n"
		   "         [--policy all|nohost|relay] [--components N] [--trickle]\n"
		   "         [--nomination regular|aggressive] [--ta-ms N] [--rto-ms N]\n"
		   "         [--retransmits N] [--consent-timeout-ms N] [--keepalive-ms N]\n"
		   "         [--nominate-wait-ms N] [--nominate-relay-first]\n"
		   "         [--gather-timeout-ms N] [--interface NAME]...\n"
		   "         [--tcp] [--turn-dual] [--dataplane datagram|datachannel]\n"
		   "         [--offer-dataplanes datagram|datachannel|datagram,datachannel]\n"
		   "         [--portmap pcp|natpmp|auto] [--portmap-lifetime S]\n"
		   "         [--portmap-wait-ms N]\n"
		   "         [--seed N] [--verbose]\n"
		   "Speaks the agent protocol (docs/agent-protocol.md) on stdin/stdout.\n");
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

enum {
	OPT_STUN = 256,
	OPT_TURN,
	OPT_TURN_USER,
	OPT_TURN_PASS,
	OPT_POLICY,
	OPT_COMPONENTS,
	OPT_TRICKLE,
	OPT_NOMINATION,
	OPT_TA,
	OPT_RTO,
	OPT_CONSENT,
	OPT_KEEPALIVE,
	OPT_RETRANS,
	OPT_NOMWAIT,
	OPT_RELAY_FIRST,
	OPT_GATHER_TIMEOUT,
	OPT_IFACE,
	OPT_SEED,
	OPT_ROLE,
	OPT_TCP,
	OPT_TURN_DUAL,
	OPT_VERBOSE,
	OPT_DATAPLANE,
	OPT_OFFER_PLANES,
	OPT_PORTMAP,
	OPT_PORTMAP_LIFETIME,
	OPT_PORTMAP_WAIT,
	OPT_HELP
};

static int parse_turn(struct ice_opts *o, const char *s)
{
	struct ice_relay_config *t;
	if (o->nturn == ICE_OPTS_TURN_MAX)
		return -ENOSPC;
	t = &o->turn[o->nturn];
	memset(t, 0, sizeof(*t));
	if (strncmp(s, "udp:", 4) == 0)
		t->transport = TURN_TRANSPORT_UDP;
	else if (strncmp(s, "tcp:", 4) == 0)
		t->transport = TURN_TRANSPORT_TCP;
	else if (strncmp(s, "tls:", 4) == 0)
		t->transport = TURN_TRANSPORT_TLS;
	else
		return -EINVAL;
	if (ice_addr_parse_hostport(&t->server, s + 4) < 0)
		return -EINVAL;
	o->nturn++;
	return 0;
}

int ice_opts_parse(struct ice_opts *o, int argc, char **argv, char *err, size_t errlen)
{
	static const struct option opts[] = {
	    {"role", required_argument, NULL, OPT_ROLE},
	    {"stun", required_argument, NULL, OPT_STUN},
	    {"turn", required_argument, NULL, OPT_TURN},
	    {"turn-user", required_argument, NULL, OPT_TURN_USER},
	    {"turn-pass", required_argument, NULL, OPT_TURN_PASS},
	    {"policy", required_argument, NULL, OPT_POLICY},
	    {"components", required_argument, NULL, OPT_COMPONENTS},
	    {"trickle", no_argument, NULL, OPT_TRICKLE},
	    {"nomination", required_argument, NULL, OPT_NOMINATION},
	    {"ta-ms", required_argument, NULL, OPT_TA},
	    {"rto-ms", required_argument, NULL, OPT_RTO},
	    {"retransmits", required_argument, NULL, OPT_RETRANS},
	    {"consent-timeout-ms", required_argument, NULL, OPT_CONSENT},
	    {"keepalive-ms", required_argument, NULL, OPT_KEEPALIVE},
	    {"nominate-wait-ms", required_argument, NULL, OPT_NOMWAIT},
	    {"nominate-relay-first", no_argument, NULL, OPT_RELAY_FIRST},
	    {"gather-timeout-ms", required_argument, NULL, OPT_GATHER_TIMEOUT},
	    {"interface", required_argument, NULL, OPT_IFACE},
	    {"seed", required_argument, NULL, OPT_SEED},
	    {"tcp", no_argument, NULL, OPT_TCP},
	    {"turn-dual", no_argument, NULL, OPT_TURN_DUAL},
	    {"verbose", no_argument, NULL, OPT_VERBOSE},
	    {"dataplane", required_argument, NULL, OPT_DATAPLANE},
	    {"offer-dataplanes", required_argument, NULL, OPT_OFFER_PLANES},
	    {"portmap", required_argument, NULL, OPT_PORTMAP},
	    {"portmap-lifetime", required_argument, NULL, OPT_PORTMAP_LIFETIME},
	    {"portmap-wait-ms", required_argument, NULL, OPT_PORTMAP_WAIT},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	struct ice_config *c = &o->cfg;
	int opt, li = -1;
	uint32_t v;

	memset(o, 0, sizeof(*o));
	err[0] = '\0';
	c->controlling = true;
	/* 0, not 1: GNU getopt starts over (a second parse in one process) */
	optind = 0;
	while ((li = -1, opt = getopt_long(argc, argv, "", opts, &li)) != -1) {
		switch (opt) {
		case OPT_ROLE:
			if (strcmp(optarg, "controlling") == 0)
				c->controlling = true;
			else if (strcmp(optarg, "controlled") == 0)
				c->controlling = false;
			else
				goto bad;
			break;
		case OPT_STUN:
			if (c->n_stun == ICE_STUN_SERVERS_MAX ||
			    ice_addr_parse_hostport(&c->stun[c->n_stun], optarg) < 0) {
				snprintf(err, errlen,
					 "--stun %s: want a numeric IP:PORT (at most %d servers)",
					 optarg, ICE_STUN_SERVERS_MAX);
				return -EINVAL;
			}
			c->n_stun++;
			break;
		case OPT_TURN:
			if (parse_turn(o, optarg) < 0) {
				snprintf(err, errlen,
					 "--turn %s: want udp|tcp|tls:IP:PORT (at most %d)", optarg,
					 ICE_OPTS_TURN_MAX);
				return -EINVAL;
			}
			break;
		case OPT_TURN_USER:
			o->turn_user = optarg;
			break;
		case OPT_TURN_PASS:
			o->turn_pass = optarg;
			break;
		case OPT_POLICY:
			if (strcmp(optarg, "all") == 0)
				c->policy = ICE_POLICY_ALL;
			else if (strcmp(optarg, "nohost") == 0)
				c->policy = ICE_POLICY_NOHOST;
			else if (strcmp(optarg, "relay") == 0)
				c->policy = ICE_POLICY_RELAY;
			else
				goto bad;
			break;
		case OPT_COMPONENTS:
			if (parse_u32(optarg, &v) < 0 || v < 1 || v > 8)
				goto bad;
			c->components = v;
			break;
		case OPT_TRICKLE:
			c->trickle = true;
			break;
		case OPT_NOMINATION:
			if (strcmp(optarg, "regular") == 0)
				c->aggressive = false;
			else if (strcmp(optarg, "aggressive") == 0)
				c->aggressive = true;
			else
				goto bad;
			break;
		case OPT_TA:
			if (parse_u32(optarg, &c->ta_ms) < 0)
				goto bad;
			break;
		case OPT_RTO:
			if (parse_u32(optarg, &c->rto_ms) < 0)
				goto bad;
			break;
		case OPT_RETRANS:
			if (parse_u32(optarg, &v) < 0 || v < 1 || v > 20)
				goto bad;
			c->max_tx = v;
			break;
		case OPT_CONSENT:
			if (parse_u32(optarg, &c->consent_timeout_ms) < 0)
				goto bad;
			break;
		case OPT_KEEPALIVE:
			if (parse_u32(optarg, &v) < 0)
				goto bad;
			/* 0 on the command line: keepalives and consent off */
			c->keepalive_ms = v == 0 ? UINT32_MAX : v;
			break;
		case OPT_NOMWAIT:
			if (parse_u32(optarg, &c->nominate_wait_ms) < 0)
				goto bad;
			break;
		case OPT_RELAY_FIRST:
			c->relay_first = true;
			break;
		case OPT_GATHER_TIMEOUT:
			if (parse_u32(optarg, &c->gather_timeout_ms) < 0)
				goto bad;
			break;
		case OPT_IFACE:
			if (o->nifaces == ICE_OPTS_IFACES_MAX) {
				snprintf(err, errlen, "--interface %s: at most %d interfaces",
					 optarg, ICE_OPTS_IFACES_MAX);
				o->usage = true;
				return -EINVAL;
			}
			o->ifaces[o->nifaces++] = optarg;
			break;
		case OPT_SEED: {
			char *end;
			c->seed = strtoull(optarg, &end, 10);
			if (*end)
				goto bad;
			break;
		}
		case OPT_TCP:
			o->tcp = true;
			break;
		case OPT_TURN_DUAL:
			o->turn_dual = true;
			break;
		case OPT_VERBOSE:
			o->verbose = true;
			break;
		case OPT_DATAPLANE:
			if (strcmp(optarg, "datagram") == 0)
				o->dataplane = ICE_DATAPLANE_DATAGRAM;
			else if (strcmp(optarg, "datachannel") == 0)
				o->dataplane = ICE_DATAPLANE_DATACHANNEL;
			else
				goto bad;
			break;
		case OPT_OFFER_PLANES:
			if (strcmp(optarg, "datagram") == 0)
				o->offer_dataplanes = ICE_OPTS_OFFER_DATAGRAM;
			else if (strcmp(optarg, "datachannel") == 0)
				o->offer_dataplanes = ICE_OPTS_OFFER_DATACHANNEL;
			else if (strcmp(optarg, "datagram,datachannel") == 0 ||
				 strcmp(optarg, "datachannel,datagram") == 0)
				o->offer_dataplanes =
				    ICE_OPTS_OFFER_DATAGRAM | ICE_OPTS_OFFER_DATACHANNEL;
			else
				goto bad;
			break;
		case OPT_PORTMAP: {
			enum pm_mode m;
			if (pm_mode_parse(optarg, &m) < 0)
				goto bad;
			o->portmap = optarg;
			break;
		}
		case OPT_PORTMAP_LIFETIME:
			if (parse_u32(optarg, &o->portmap_lifetime_s) < 0 || !o->portmap_lifetime_s)
				goto bad;
			break;
		case OPT_PORTMAP_WAIT:
			if (parse_u32(optarg, &o->portmap_wait_ms) < 0 || !o->portmap_wait_ms)
				goto bad;
			break;
		case OPT_HELP:
			return ICE_OPTS_HELP;
		default:
			o->usage = true;
			return -EINVAL;
		}
	}
	if (optind != argc) {
		o->usage = true;
		return -EINVAL;
	}
	if (c->components == 0)
		c->components = 1;
	/* a stack with the data channel alone (a WebRTC stack's double) uses it */
	if (o->offer_dataplanes == ICE_OPTS_OFFER_DATACHANNEL)
		o->dataplane = ICE_DATAPLANE_DATACHANNEL;
	else if (o->offer_dataplanes == ICE_OPTS_OFFER_DATAGRAM)
		o->dataplane = ICE_DATAPLANE_DATAGRAM;
	for (unsigned k = 0; k < o->nturn; k++) {
		o->turn[k].user = o->turn_user;
		o->turn[k].pass = o->turn_pass;
		o->turn[k].rto_ms = c->rto_ms;
	}
	return 0;
bad:
	/* name the option as well as the value: "--role: bad value 'boss'" */
	snprintf(err, errlen, "--%s: bad value '%s'", li >= 0 ? opts[li].name : "?", optarg);
	o->usage = true;
	return -EINVAL;
}

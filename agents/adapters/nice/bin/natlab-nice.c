/* natlab-nice - Debian's libnice behind the agent protocol
 * (docs/agent-protocol.md): the first third-party ICE implementation the
 * lab can test, and natlab-ice's interop peer.
 *
 * The protocol's JSON is read and written by the same code as natlab-ice
 * (agents/ice/agentproto.c), and the data plane is the same
 * (agents/ice/dataplane.c), so both measure alike. Options libnice cannot
 * honour are accepted and reported in a "log" event.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <glib.h>
#include <glib-unix.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <nice/agent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "agents/ice/agentproto.h"
#include "agents/ice/dataplane.h"

#define IMPL	   "natlab-nice"
#define IFACES_MAX 8
#define TURN_MAX   4

struct turn_opt {
	NiceRelayType type;
	const char *name;
	char ip[INET6_ADDRSTRLEN];
	unsigned port;
};

struct app {
	GMainLoop *loop;
	NiceAgent *agent;
	guint stream;
	unsigned components;
	bool controlling, trickle, regular;
	bool announced;
	bool gathered;
	GHashTable *sent; /* candidate lines already signalled */
	struct agentproto_out out;
	struct dataplane *dp;
	guint dp_timer;
	uint64_t t0_us;
	char rufrag[AGENTPROTO_CRED_MAX + 1];
	char rpwd[AGENTPROTO_CRED_MAX + 1];
	NiceComponentState last_state;
	bool was_connected;
	bool failed_reported;
	const char *ifaces[IFACES_MAX];
	unsigned nifaces;
	struct turn_opt turn[TURN_MAX];
	unsigned nturn;
	const char *turn_user, *turn_pass;
	GString *line;
	bool overflow;
};

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t t_us(struct app *app)
{
	return mono_us() - app->t0_us;
}

static uint64_t t_ms(struct app *app)
{
	return t_us(app) / 1000u;
}

/* ---- candidates between libnice and RFC 8839 text ------------------------ */

static bool cand_from_nice(struct app *app, NiceCandidate *nc, struct ice_candidate *out)
{
	gchar *sdp = nice_agent_generate_local_candidate_sdp(app->agent, nc);
	bool ok = sdp && ice_candidate_parse(sdp, strlen(sdp), out) == 0;
	g_free(sdp);
	return ok;
}

/* libnice's public candidate does not say which TURN transport a relayed
 * candidate came through (nice_candidate_relay_address() crashes on the
 * candidates of the selected-pair signal), but its SDP does: a relay
 * reached over TCP or TLS has libnice's TCP-active base as related
 * address, whose port is 9 (base_addr itself does not show it).
 * Such a relay is reported as "tcp" even for a --turn tls: server, because
 * that is what goes on the wire: libnice wraps a NICE_RELAY_TYPE_TURN_TLS
 * connection in its pseudo-SSL only in the Google and MSOC compatibility
 * modes; in RFC 5245 mode it opens a TCP connection to the TLS port and
 * sends its Allocate in the clear (seen in a capture with libnice 0.1.21).
 * Servers that accept plain TURN on their TLS ports (coturn,
 * natlab-turn-server) give it a TCP allocation there. The TURN options are
 * copied here before gathering. */
static struct turn_opt relay_turn[TURN_MAX];
static unsigned relay_nturn;
static NiceAgent *relay_agent;

static const char *relay_transport_of(NiceCandidate *nc)
{
	gchar *sdp = nice_agent_generate_local_candidate_sdp(relay_agent, nc);
	struct ice_candidate c;
	bool stream = sdp && ice_candidate_parse(sdp, strlen(sdp), &c) == 0 && c.has_related &&
		      ice_addr_port(&c.related) == 9;
	bool udp = false, tcp = false;

	g_free(sdp);

	for (unsigned k = 0; k < relay_nturn; k++) {
		udp |= relay_turn[k].type == NICE_RELAY_TYPE_TURN_UDP;
		tcp |= relay_turn[k].type != NICE_RELAY_TYPE_TURN_UDP;
	}
	if (!stream)
		return udp ? "udp" : NULL;
	return tcp ? "tcp" : NULL;
}

/* @local: @nc is ours (only our own relays have a known TURN transport) */
static void endpoint_from_nice(struct agentproto_endpoint *e, NiceCandidate *nc, bool local)
{
	char ip[NICE_ADDRESS_STRING_LEN];
	memset(e, 0, sizeof(*e));
	switch (nc->type) {
	case NICE_CANDIDATE_TYPE_HOST:
		e->type = ICE_CAND_HOST;
		break;
	case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE:
		e->type = ICE_CAND_SRFLX;
		break;
	case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE:
		e->type = ICE_CAND_PRFLX;
		break;
	case NICE_CANDIDATE_TYPE_RELAYED:
		e->type = ICE_CAND_RELAY;
		break;
	}
	e->transport =
	    nc->transport == NICE_CANDIDATE_TRANSPORT_UDP ? ICE_TRANSPORT_UDP : ICE_TRANSPORT_TCP;
	switch (nc->transport) {
	case NICE_CANDIDATE_TRANSPORT_TCP_ACTIVE:
		e->tcptype = ICE_TCP_ACTIVE;
		break;
	case NICE_CANDIDATE_TRANSPORT_TCP_PASSIVE:
		e->tcptype = ICE_TCP_PASSIVE;
		break;
	case NICE_CANDIDATE_TRANSPORT_TCP_SO:
		e->tcptype = ICE_TCP_SO;
		break;
	default:
		break;
	}
	nice_address_to_string(&nc->addr, ip);
	ice_addr_from_text(&e->addr, ip, (uint16_t)nice_address_get_port(&nc->addr));
	if (e->type == ICE_CAND_RELAY && local)
		e->relay_transport = relay_transport_of(nc);
}

static unsigned local_cands(struct app *app, struct ice_candidate *out, unsigned max)
{
	unsigned n = 0;
	for (unsigned c = 1; c <= app->components; c++) {
		GSList *l = nice_agent_get_local_candidates(app->agent, app->stream, c);
		for (GSList *i = l; i; i = i->next) {
			if (n < max && cand_from_nice(app, i->data, &out[n]))
				n++;
			nice_candidate_free(i->data);
		}
		g_slist_free(l);
	}
	return n;
}

static void mark_sent(struct app *app, const struct ice_candidate *c)
{
	char buf[ICE_CANDIDATE_STR_MAX];
	if (ice_candidate_format(c, buf, sizeof(buf)) > 0)
		g_hash_table_add(app->sent, g_strdup(buf));
}

static bool was_sent(struct app *app, const struct ice_candidate *c)
{
	char buf[ICE_CANDIDATE_STR_MAX];
	return ice_candidate_format(c, buf, sizeof(buf)) > 0 &&
	       g_hash_table_contains(app->sent, buf);
}

static void announce_local(struct app *app, bool complete)
{
	struct ice_candidate cands[AGENTPROTO_CANDS_MAX];
	gchar *ufrag = NULL, *pwd = NULL;
	unsigned n = local_cands(app, cands, AGENTPROTO_CANDS_MAX);
	nice_agent_get_local_credentials(app->agent, app->stream, &ufrag, &pwd);
	for (unsigned i = 0; i < n; i++)
		mark_sent(app, &cands[i]);
	agentproto_ev_local(&app->out, t_ms(app), ufrag ? ufrag : "", pwd ? pwd : "", cands, n,
			    complete);
	app->announced = true;
	g_free(ufrag);
	g_free(pwd);
}

/* ---- libnice signals ------------------------------------------------------ */

static void on_gathering_done(NiceAgent *agent, guint stream, gpointer data)
{
	struct app *app = data;
	(void)agent;
	(void)stream;
	if (!app->trickle) {
		announce_local(app, true);
		return;
	}
	if (!app->announced)
		announce_local(app, true);
	agentproto_ev_end_of_candidates(&app->out, t_ms(app));
}

static void on_new_candidate(NiceAgent *agent, NiceCandidate *nc, gpointer data)
{
	struct app *app = data;
	struct ice_candidate c;
	(void)agent;
	if (!app->trickle || !app->announced || !cand_from_nice(app, nc, &c) || was_sent(app, &c))
		return;
	/* peer-reflexive locals are never signalled (RFC 8445 §7.2.5.3.1) */
	if (c.type == ICE_CAND_PRFLX)
		return;
	mark_sent(app, &c);
	agentproto_ev_candidate(&app->out, t_ms(app), &c);
}

static void on_selected(NiceAgent *agent, guint stream, guint comp, NiceCandidate *l,
			NiceCandidate *r, gpointer data)
{
	struct app *app = data;
	struct agentproto_endpoint le, re;
	static bool selected[256];
	(void)agent;
	(void)stream;
	endpoint_from_nice(&le, l, true);
	endpoint_from_nice(&re, r, false);
	/* libnice does not expose the nominating check's RTT: omitted. */
	agentproto_ev_pair(&app->out, t_ms(app), selected[comp & 255] ? "switched" : "selected",
			   comp, &le, &re, -1);
	selected[comp & 255] = true;
}

static void on_state(NiceAgent *agent, guint stream, guint comp, guint state, gpointer data)
{
	struct app *app = data;
	const char *s = NULL;
	(void)stream;
	if (comp != 1)
		return;
	switch (state) {
	case NICE_COMPONENT_STATE_GATHERING:
		s = "gathering";
		break;
	case NICE_COMPONENT_STATE_CONNECTING:
		s = "checking";
		break;
	case NICE_COMPONENT_STATE_CONNECTED:
		s = "connected";
		app->was_connected = true;
		break;
	case NICE_COMPONENT_STATE_READY:
		s = "completed";
		app->was_connected = true;
		break;
	case NICE_COMPONENT_STATE_FAILED:
		if (app->was_connected) {
			/* With consent freshness on, libnice fails a component
			 * whose consent expired. */
			NiceCandidate *l = NULL, *r = NULL;
			if (nice_agent_get_selected_pair(agent, app->stream, 1, &l, &r)) {
				struct agentproto_endpoint le, re;
				endpoint_from_nice(&le, l, true);
				endpoint_from_nice(&re, r, false);
				agentproto_ev_consent_lost(&app->out, t_ms(app), 1, &le, &re);
			}
			s = "disconnected";
		} else {
			s = "failed";
			if (!app->failed_reported)
				agentproto_ev_failed(&app->out, t_ms(app),
						     "libnice: all candidate pairs failed");
			app->failed_reported = true;
		}
		break;
	case NICE_COMPONENT_STATE_DISCONNECTED:
		s = "disconnected";
		break;
	default:
		break;
	}
	app->last_state = state;
	if (s)
		agentproto_ev_state(&app->out, t_ms(app), s);
}

static void on_recv(NiceAgent *agent, guint stream, guint comp, guint len, gchar *buf,
		    gpointer data)
{
	struct app *app = data;
	uint8_t reply[DATAPLANE_HEADER_LEN];
	size_t rlen = 0;
	uint32_t seq = 0;
	if (dataplane_input(app->dp, (const uint8_t *)buf, len, t_us(app), &seq, reply, &rlen) ==
	    DATAPLANE_DATA) {
		agentproto_ev_rx(&app->out, t_ms(app), seq, len);
		nice_agent_send(agent, stream, comp, (guint)rlen, (const gchar *)reply);
	}
}

/* ---- data plane timer ----------------------------------------------------- */

static gboolean dp_tick(gpointer data)
{
	struct app *app = data;
	uint8_t buf[DATAPLANE_SIZE_MAX];
	size_t n;
	struct dataplane_report rep;
	while ((n = dataplane_next_send(app->dp, t_us(app), buf)) > 0)
		nice_agent_send(app->agent, app->stream, 1, (guint)n, (const gchar *)buf);
	if (dataplane_report_due(app->dp, t_us(app), &rep)) {
		struct agentproto_data_report r = {rep.sent, rep.received,	rep.acked,
						   rep.lost, rep.rtt_ms_median, rep.rtt_ms_p95};
		agentproto_ev_data(&app->out, t_ms(app), &r);
		app->dp_timer = 0;
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

/* ---- commands ------------------------------------------------------------- */

static void add_iface_addrs(struct app *app)
{
	struct ifaddrs *ifa = NULL;
	if (app->nifaces == 0 || getifaddrs(&ifa) < 0)
		return;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		NiceAddress a;
		bool want = false;
		if (!i->ifa_addr ||
		    (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
			continue;
		for (unsigned k = 0; k < app->nifaces; k++)
			if (strcmp(app->ifaces[k], i->ifa_name) == 0)
				want = true;
		if (!want)
			continue;
		if (i->ifa_addr->sa_family == AF_INET6 &&
		    IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr))
			continue;
		nice_address_init(&a);
		nice_address_set_from_sockaddr(&a, i->ifa_addr);
		nice_agent_add_local_address(app->agent, &a);
	}
	freeifaddrs(ifa);
}

static void set_remote(struct app *app, const struct agentproto_cmd *cmd)
{
	if (app->rufrag[0] &&
	    (strcmp(app->rufrag, cmd->ufrag) != 0 || strcmp(app->rpwd, cmd->pwd) != 0)) {
		/* RFC 8445 §9: the peer restarted; so do we */
		nice_agent_restart(app->agent);
		g_hash_table_remove_all(app->sent);
		app->was_connected = false;
		app->failed_reported = false;
		announce_local(app, !app->trickle);
	}
	snprintf(app->rufrag, sizeof(app->rufrag), "%s", cmd->ufrag);
	snprintf(app->rpwd, sizeof(app->rpwd), "%s", cmd->pwd);
	nice_agent_set_remote_credentials(app->agent, app->stream, cmd->ufrag, cmd->pwd);
}

static void add_remote_cands(struct app *app, const struct agentproto_cmd *cmd)
{
	if (cmd->nskipped)
		agentproto_ev_log(&app->out, t_ms(app), "warning",
				  "%u remote candidate(s) ignored, first: %s", cmd->nskipped,
				  cmd->skipped);
	for (unsigned c = 1; c <= app->components; c++) {
		GSList *list = NULL;
		for (unsigned i = 0; i < cmd->ncands; i++) {
			char text[ICE_CANDIDATE_STR_MAX + 2];
			char line[ICE_CANDIDATE_STR_MAX];
			NiceCandidate *nc;
			if (cmd->cands[i].component != c)
				continue;
			if (ice_candidate_format(&cmd->cands[i], line, sizeof(line)) < 0)
				continue;
			/* libnice parses "a=candidate:..." lines */
			snprintf(text, sizeof(text), "a=%s", line);
			nc = nice_agent_parse_remote_candidate_sdp(app->agent, app->stream, text);
			if (nc)
				list = g_slist_append(list, nc);
			else
				agentproto_ev_log(&app->out, t_ms(app), "warning",
						  "libnice refused candidate: %s", line);
		}
		if (list)
			nice_agent_set_remote_candidates(app->agent, app->stream, c, list);
		g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
	}
}

static void do_command(struct app *app, const char *line, size_t len)
{
	struct agentproto_cmd *cmd = g_malloc(sizeof(*cmd));
	char err[AGENTPROTO_ERR_MAX];
	if (agentproto_cmd_parse(line, len, cmd, err, sizeof(err)) < 0) {
		agentproto_ev_error(&app->out, t_ms(app), "%s", err);
		goto out;
	}
	switch (cmd->type) {
	case AGENTPROTO_GATHER:
		if (app->gathered) {
			announce_local(app, true);
			break;
		}
		app->gathered = true;
		if (!nice_agent_gather_candidates(app->agent, app->stream)) {
			agentproto_ev_failed(&app->out, t_ms(app), "libnice: gathering failed");
			break;
		}
		if (app->trickle && !app->announced)
			announce_local(app, false);
		break;
	case AGENTPROTO_REMOTE:
		set_remote(app, cmd);
		add_remote_cands(app, cmd);
		break;
	case AGENTPROTO_CANDIDATE:
		add_remote_cands(app, cmd);
		break;
	case AGENTPROTO_END_OF_CANDIDATES:
		nice_agent_peer_candidate_gathering_done(app->agent, app->stream);
		break;
	case AGENTPROTO_SEND: {
		NiceCandidate *l = NULL, *r = NULL;
		int rc;
		if (!nice_agent_get_selected_pair(app->agent, app->stream, 1, &l, &r)) {
			agentproto_ev_error(&app->out, t_ms(app), "send: no selected pair yet");
			break;
		}
		rc = dataplane_start(app->dp, cmd->n, cmd->size, (uint64_t)cmd->interval_ms * 1000,
				     t_us(app));
		if (rc < 0) {
			agentproto_ev_error(&app->out, t_ms(app), "send: %s",
					    rc == -EBUSY ? "a send is still running"
							 : "n/size out of range");
			break;
		}
		if (!app->dp_timer)
			app->dp_timer = g_timeout_add(1, dp_tick, app);
		break;
	}
	case AGENTPROTO_RESTART:
		nice_agent_restart(app->agent);
		g_hash_table_remove_all(app->sent);
		app->was_connected = false;
		app->failed_reported = false;
		app->rufrag[0] = '\0';
		announce_local(app, !app->trickle);
		break;
	case AGENTPROTO_STOP:
		g_main_loop_quit(app->loop);
		break;
	}
out:
	g_free(cmd);
}

static gboolean on_stdin(gint fd, GIOCondition cond, gpointer data)
{
	struct app *app = data;
	char buf[8192];
	ssize_t n = read(fd, buf, sizeof(buf));
	(void)cond;
	if (n <= 0) {
		if (n == 0 || errno != EINTR) {
			g_main_loop_quit(app->loop);
			return G_SOURCE_REMOVE;
		}
		return G_SOURCE_CONTINUE;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (app->line->len >= AGENTPROTO_LINE_MAX)
				app->overflow = true;
			else
				g_string_append_c(app->line, buf[i]);
			continue;
		}
		if (app->overflow)
			agentproto_ev_error(&app->out, t_ms(app),
					    "command line longer than %d bytes",
					    AGENTPROTO_LINE_MAX);
		else if (app->line->len)
			do_command(app, app->line->str, app->line->len);
		g_string_truncate(app->line, 0);
		app->overflow = false;
	}
	return G_SOURCE_CONTINUE;
}

/* ---- options -------------------------------------------------------------- */

static void set_uint_prop(struct app *app, const char *name, guint v)
{
	if (g_object_class_find_property(G_OBJECT_GET_CLASS(app->agent), name))
		g_object_set(app->agent, name, v, NULL);
	else
		agentproto_ev_log(&app->out, t_ms(app), "warning",
				  "this libnice has no \"%s\" property: option ignored", name);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: natlab-nice [natlab-ice's options] (see docs/agent-protocol.md)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"role", required_argument, NULL, 'r'},
	    {"stun", required_argument, NULL, 's'},
	    {"turn", required_argument, NULL, 'T'},
	    {"turn-user", required_argument, NULL, 'u'},
	    {"turn-pass", required_argument, NULL, 'p'},
	    {"policy", required_argument, NULL, 'P'},
	    {"components", required_argument, NULL, 'c'},
	    {"trickle", no_argument, NULL, 't'},
	    {"nomination", required_argument, NULL, 'n'},
	    {"ta-ms", required_argument, NULL, 'a'},
	    {"rto-ms", required_argument, NULL, 'o'},
	    {"retransmits", required_argument, NULL, 'x'},
	    {"consent-timeout-ms", required_argument, NULL, 'C'},
	    {"keepalive-ms", required_argument, NULL, 'k'},
	    {"nominate-wait-ms", required_argument, NULL, 'w'},
	    {"gather-timeout-ms", required_argument, NULL, 'w'},
	    {"interface", required_argument, NULL, 'i'},
	    {"seed", required_argument, NULL, 'S'},
	    {"tcp", no_argument, NULL, 'K'},
	    {"turn-dual", no_argument, NULL, 'D'},
	    {"dataplane", required_argument, NULL, 'L'},
	    {"upnp", no_argument, NULL, 'U'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct app app;
	NiceAgentOption flags = NICE_AGENT_OPTION_CONSENT_FRESHNESS;
	const char *stun = NULL, *policy = "all";
	long ta = -1, rto = -1, retrans = -1;
	bool ignored_timers = false, turn_dual = false;
	bool tcp = false;
	const char *plane = NULL; /* --dataplane other than datagram: ignored */
	bool upnp = false;
	int o;

	memset(&app, 0, sizeof(app));
	app.t0_us = mono_us();
	app.out.f = stdout;
	app.controlling = true;
	app.components = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'r':
			if (strcmp(optarg, "controlling") != 0 &&
			    strcmp(optarg, "controlled") != 0) {
				fprintf(stderr, "natlab-nice: --role controlling|controlled\n");
				return 2;
			}
			app.controlling = strcmp(optarg, "controlled") != 0;
			break;
		case 's':
			stun = optarg;
			break;
		case 'T':
			if (app.nturn < TURN_MAX) {
				struct turn_opt *t = &app.turn[app.nturn];
				union ice_addr a;
				const char *colon = strchr(optarg, ':');
				if (!colon || ice_addr_parse_hostport(&a, colon + 1) < 0) {
					fprintf(
					    stderr,
					    "natlab-nice: --turn %s: want udp|tcp|tls:IP:PORT\n",
					    optarg);
					return 2;
				}
				t->type = strncmp(optarg, "tcp", 3) == 0 ? NICE_RELAY_TYPE_TURN_TCP
					  : strncmp(optarg, "tls", 3) == 0
					      ? NICE_RELAY_TYPE_TURN_TLS
					      : NICE_RELAY_TYPE_TURN_UDP;
				ice_addr_ip(&a, t->ip, sizeof(t->ip));
				t->port = ice_addr_port(&a);
				app.nturn++;
			}
			break;
		case 'u':
			app.turn_user = optarg;
			break;
		case 'p':
			app.turn_pass = optarg;
			break;
		case 'P':
			policy = optarg;
			break;
		case 'c':
			app.components = (unsigned)atoi(optarg);
			if (app.components < 1 || app.components > 8)
				return 2;
			break;
		case 't':
			app.trickle = true;
			flags |= NICE_AGENT_OPTION_ICE_TRICKLE;
			break;
		case 'n':
			if (strcmp(optarg, "regular") == 0)
				flags |= NICE_AGENT_OPTION_REGULAR_NOMINATION;
			break;
		case 'a':
			ta = atol(optarg);
			break;
		case 'o':
			rto = atol(optarg);
			break;
		case 'x':
			retrans = atol(optarg);
			break;
		case 'C':
		case 'k':
		case 'w':
			ignored_timers = true;
			break;
		case 'i':
			if (app.nifaces < IFACES_MAX)
				app.ifaces[app.nifaces++] = optarg;
			break;
		case 'K':
			tcp = true;
			break;
		case 'D':
			turn_dual = true;
			break;
		case 'L':
			/* docs/agent-protocol.md: adapters accept --dataplane and
			 * may ignore it; libnice has the datagram plane only */
			if (strcmp(optarg, "datagram") != 0)
				plane = optarg;
			break;
		case 'U':
			upnp = true;
			break;
		case 'S':
		case 'v':
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	app.loop = g_main_loop_new(NULL, FALSE);
	app.sent = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	app.line = g_string_new(NULL);
	if (dataplane_new(&app.dp) < 0)
		return 1;
	app.agent = nice_agent_new_full(g_main_loop_get_context(app.loop),
					NICE_COMPATIBILITY_RFC5245, flags);
	if (!app.agent) {
		fprintf(stderr, "natlab-nice: cannot create a libnice agent\n");
		return 1;
	}
	{
		/* docs/agent-protocol.md, Capabilities. libnice in RFC 5245 mode
		 * has no TURN over TLS (it speaks plain TURN over TCP to a TLS
		 * port, see below); ICE-TCP only with --tcp. */
		const struct agentproto_cap caps[] = {
		    {"trickle", true},	{"restart", true},    {"turn-udp", true},
		    {"turn-tcp", true}, {"turn-tls", false},  {"ice-tcp", tcp},
		    {"ipv6", true},	{"components", true}, {"consent", true},
		};
		/* no "dataplanes": the datagram plane only */
		agentproto_ev_ready_full(&app.out, t_ms(&app), IMPL, NICE_PKG_VERSION, caps,
					 sizeof(caps) / sizeof(caps[0]), NULL, 0);
	}
	/* --tcp: libnice's own ICE-TCP (RFC 6544) host, server-reflexive and
	 * relayed TCP candidates, active and passive; off by default as in
	 * natlab-ice */
	g_object_set(app.agent, "controlling-mode", app.controlling, "upnp", upnp ? TRUE : FALSE,
		     "ice-tcp", tcp ? TRUE : FALSE, NULL);
	/* --upnp: libnice's UPnP IGD client (gupnp-igd) maps each host
	 * candidate's port on the gateway and adds a server-reflexive
	 * candidate for it; gathering waits for it at most upnp-timeout
	 * (libnice's default 200 ms is shorter than an SSDP search on a
	 * loaded machine: 2 s, natlab-ice's --portmap-wait-ms default) */
	if (upnp)
		set_uint_prop(&app, "upnp-timeout", 2000);
	if (stun) {
		union ice_addr a;
		char ip[INET6_ADDRSTRLEN];
		if (ice_addr_parse_hostport(&a, stun) == 0)
			g_object_set(app.agent, "stun-server", ice_addr_ip(&a, ip, sizeof(ip)),
				     "stun-server-port", (guint)ice_addr_port(&a), NULL);
	}
	if (strcmp(policy, "relay") == 0)
		g_object_set(app.agent, "force-relay", TRUE, NULL);
	else if (strcmp(policy, "nohost") == 0)
		agentproto_ev_log(&app.out, t_ms(&app), "warning",
				  "libnice cannot hide host candidates: --policy nohost ignored");
	if (ta >= 0)
		set_uint_prop(&app, "stun-pacing-timer", (guint)ta);
	if (rto >= 0)
		set_uint_prop(&app, "stun-initial-timeout", (guint)rto);
	if (retrans >= 0)
		set_uint_prop(&app, "stun-max-retransmissions", (guint)retrans);
	/* the adapter has no libnice property through which to ask a TURN
	 * server for a relay of another family (RFC 6156) */
	if (plane)
		agentproto_ev_log(&app.out, t_ms(&app), "warning",
				  "natlab-nice has the datagram plane only: --dataplane %s ignored",
				  plane);
	if (turn_dual)
		agentproto_ev_log(
		    &app.out, t_ms(&app), "warning",
		    "natlab-nice cannot ask libnice for a relay of the other address family: "
		    "--turn-dual ignored");
	if (ignored_timers)
		agentproto_ev_log(&app.out, t_ms(&app), "warning",
				  "libnice has fixed consent/keepalive/nomination timers: "
				  "--consent-timeout-ms, --keepalive-ms, --nominate-wait-ms, "
				  "--gather-timeout-ms ignored");
	for (unsigned k = 0; k < app.nturn; k++) {
		if (app.turn[k].type == NICE_RELAY_TYPE_TURN_TLS) {
			agentproto_ev_log(
			    &app.out, t_ms(&app), "warning",
			    "libnice has no TLS in RFC 5245 mode: --turn tls: servers "
			    "get plain TURN over TCP (reported as relay over tcp)");
			break;
		}
	}
	memcpy(relay_turn, app.turn, sizeof(relay_turn));
	relay_nturn = app.nturn;
	relay_agent = app.agent;
	add_iface_addrs(&app);
	app.stream = nice_agent_add_stream(app.agent, app.components);
	for (unsigned c = 1; c <= app.components; c++) {
		for (unsigned k = 0; k < app.nturn; k++)
			nice_agent_set_relay_info(
			    app.agent, app.stream, c, app.turn[k].ip, app.turn[k].port,
			    app.turn_user ? app.turn_user : "", app.turn_pass ? app.turn_pass : "",
			    app.turn[k].type);
		nice_agent_attach_recv(app.agent, app.stream, c, g_main_loop_get_context(app.loop),
				       on_recv, &app);
	}
	g_signal_connect(app.agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done),
			 &app);
	g_signal_connect(app.agent, "new-candidate-full", G_CALLBACK(on_new_candidate), &app);
	g_signal_connect(app.agent, "new-selected-pair-full", G_CALLBACK(on_selected), &app);
	g_signal_connect(app.agent, "component-state-changed", G_CALLBACK(on_state), &app);
	g_unix_fd_add(STDIN_FILENO, G_IO_IN | G_IO_HUP, on_stdin, &app);
	g_main_loop_run(app.loop);
	agentproto_ev_state(&app.out, t_ms(&app), "closed");
	if (app.dp_timer)
		g_source_remove(app.dp_timer);
	g_object_unref(app.agent);
	g_main_loop_unref(app.loop);
	g_hash_table_unref(app.sent);
	g_string_free(app.line, TRUE);
	dataplane_free(app.dp);
	return 0;
}

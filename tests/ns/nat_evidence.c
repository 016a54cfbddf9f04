/* nat_evidence.c - a NAT's evidence (emu/nat_evidence.h) on real packets:
 * a packet the filtering rule refuses adds one to drop_filtering (and to
 * nothing else), reaches the drop log naming its rule and 5-tuple, and is
 * written to the drops pcap; a packet that passes adds nothing; a new
 * mapping adds one to mappings_udp, a new flow of the same EIM mapping
 * does not, and a mapping that timed out leaves the live count; a
 * hairpinned packet is counted; a firewall knob (udp_blocked) counts under
 * its own name, and so do IPv6 flows opened from outside. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sys/stat.h>

#include "emu/nat_evidence.h"
#include "nat_topo.h"

#define DEADLINE_MS 3000

static int read_ctr(struct topo *t, uint64_t c[EMU_NAT_CTR_N], uint64_t *live)
{
	struct natlab_err e = {{0}};

	if (emu_nat_counters_read(t->nat, c, live, &e) < 0) {
		fprintf(stderr, "counters: %s\n", e.msg);
		return -1;
	}
	return 0;
}

/* Poll until counter @which reaches @want (or the deadline). */
static uint64_t wait_ctr(struct topo *t, enum emu_nat_counter which, uint64_t want)
{
	long long end = topo_now_ms() + DEADLINE_MS;
	uint64_t c[EMU_NAT_CTR_N] = {0};

	while (read_ctr(t, c, NULL) == 0 && c[which] < want && topo_now_ms() < end)
		usleep(10000);
	return c[which];
}

/* Poll the drop log until it holds an entry of @rule from @src to @dst
 * with @pkts packets (the log delivers them one by one). */
static const struct emu_nat_drop *wait_drop(struct emu_nat_droplog *dl, struct emu_nat_drops *agg,
					    enum emu_nat_counter rule, const char *src,
					    const char *dst, uint64_t pkts)
{
	const struct emu_nat_drop *found = NULL;

	long long end = topo_now_ms() + DEADLINE_MS;

	do {
		emu_nat_droplog_snapshot(dl, agg, NULL);
		found = NULL;
		for (unsigned i = 0; i < agg->n; i++)
			if (agg->d[i].rule == rule && strcmp(agg->d[i].src, src) == 0 &&
			    strcmp(agg->d[i].dst, dst) == 0)
				found = &agg->d[i];
		if (found && found->pkts >= pkts)
			return found;
		usleep(10000);
	} while (topo_now_ms() < end);
	return found; /* the caller reports what it found */
}

static int filtering_body(void)
{
	struct natlab_err e = {{0}};
	struct emu_nat_droplog *dl = NULL;
	struct emu_nat_droplog_stats st;
	struct emu_nat_drops agg;
	const struct emu_nat_drop *d;
	uint64_t c0[EMU_NAT_CTR_N], c1[EMU_NAT_CTR_N], live = 0;
	char path[] = "/tmp/natlab-evidence-XXXXXX", pcap[64], msg[64], dst[48];
	struct sockaddr_in from;
	struct stat sb;
	struct topo t;
	int rc = 0, cli = -1, s1 = -1, s2 = -1, s3 = -1;
	uint16_t cport;

	CHECK(mkdtemp(path), "mkdtemp");
	snprintf(pcap, sizeof(pcap), "%s/drops-nat.pcap", path);
	if (topo_build(&t) < 0 || topo_nat(&t, "port-restricted-cone", NULL) < 0) {
		topo_free(&t);
		return 1;
	}
	CHECK(emu_nat_droplog_start(t.nat, pcap, &dl, &e) == 0, "droplog: %s", e.msg);
	CHECK(read_ctr(&t, c0, &live) == 0, "counters");
	CHECK(c0[EMU_NAT_CTR_MAPPINGS_UDP] == 0 && c0[EMU_NAT_CTR_DROP_FILTERING] == 0 && live == 0,
	      "a fresh NAT has counted nothing");
	cli = udp_open(t.c1, NULL, 0);
	s1 = udp_open(t.inet, SRV1, 4000);
	s2 = udp_open(t.inet, SRV2, 5000);
	s3 = udp_open(t.inet, SRV2, 4000);
	CHECK(cli >= 0 && s1 >= 0 && s2 >= 0 && s3 >= 0, "sockets");
	cport = udp_local_port(cli);
	/* c1 -> SRV1:4000 opens mapping PUB1:cport (preserved) */
	CHECK(udp_send(cli, SRV1, 4000, "out") == 0, "send");
	CHECK(udp_recv(s1, DEADLINE_MS, msg, sizeof(msg), &from), "SRV1 got nothing");
	CHECK(ntohs(from.sin_port) == cport, "port not preserved: %u", ntohs(from.sin_port));
	CHECK(wait_ctr(&t, EMU_NAT_CTR_MAPPINGS_UDP, 1) == 1,
	      "mappings_udp after the first packet");
	/* the answer passes the filter: nothing dropped */
	CHECK(udp_send(s1, PUB1, cport, "answer") == 0, "send");
	CHECK(udp_recv(cli, DEADLINE_MS, msg, sizeof(msg), &from), "the answer did not arrive");
	/* a second destination: same EIM mapping, no new one (received, so
	 * that it has crossed the NAT before the counters are read below) */
	CHECK(udp_send(cli, SRV2, 4000, "out2") == 0, "send");
	CHECK(udp_recv(s3, DEADLINE_MS, msg, sizeof(msg), &from), "SRV2:4000 got nothing");
	/* APDF: SRV2:5000 never was sent to: dropped by the filtering rule */
	for (int i = 0; i < 3; i++)
		CHECK(udp_send(s2, PUB1, cport, "unsolicited") == 0, "send");
	CHECK(wait_ctr(&t, EMU_NAT_CTR_DROP_FILTERING, 3) == 3, "drop_filtering after 3 refused");
	snprintf(dst, sizeof(dst), PUB1 ":%u", cport);
	d = wait_drop(dl, &agg, EMU_NAT_CTR_DROP_FILTERING, SRV2 ":5000", dst, 3);
	CHECK(d, "the drop log has no filtering entry " SRV2 ":5000 -> %s (%u entries)", dst,
	      agg.n);
	CHECK(d->pkts == 3 && d->proto == IPPROTO_UDP, "entry: %llu packets, proto %u",
	      (unsigned long long)d->pkts, d->proto);
	CHECK(d->first_ms <= d->last_ms, "times");
	CHECK(read_ctr(&t, c1, &live) == 0, "counters");
	CHECK(c1[EMU_NAT_CTR_MAPPINGS_UDP] == 1,
	      "mappings_udp %llu: a new flow of an EIM mapping "
	      "is no new mapping",
	      (unsigned long long)c1[EMU_NAT_CTR_MAPPINGS_UDP]);
	CHECK(live == 1, "live mappings %llu", (unsigned long long)live);
	for (int i = 0; i < EMU_NAT_CTR_N; i++)
		if (i != EMU_NAT_CTR_DROP_FILTERING &&
		    strncmp(emu_nat_counter_name(i), "drop_", 5) == 0)
			CHECK(c1[i] == 0, "%s counted %llu", emu_nat_counter_name(i),
			      (unsigned long long)c1[i]);
	emu_nat_droplog_stop(dl, &agg, &st);
	dl = NULL;
	CHECK(st.logged == 3 && st.lost == 0, "logged %llu lost %llu",
	      (unsigned long long)st.logged, (unsigned long long)st.lost);
	CHECK(st.pcap_packets == 3 && st.write_error == 0, "pcap: %llu packets, error %d",
	      (unsigned long long)st.pcap_packets, st.write_error);
	CHECK(stat(pcap, &sb) == 0 && (uint64_t)sb.st_size == st.pcap_bytes,
	      "pcap size %lld, stats %llu", (long long)sb.st_size,
	      (unsigned long long)st.pcap_bytes);
out:
	emu_nat_droplog_stop(dl, NULL, NULL);
	if (cli >= 0)
		close(cli);
	if (s1 >= 0)
		close(s1);
	if (s2 >= 0)
		close(s2);
	if (s3 >= 0)
		close(s3);
	topo_free(&t);
	unlink(pcap);
	rmdir(path);
	return rc;
}

static int udp_blocked_body(void)
{
	struct natlab_err e = {{0}};
	struct emu_nat_droplog *dl = NULL;
	struct emu_nat_drops agg;
	uint64_t c[EMU_NAT_CTR_N];
	struct topo t;
	int rc = 0, cli = -1;
	char src[48];

	if (topo_build(&t) < 0 || topo_nat(&t, "udp-blocked", NULL) < 0) {
		topo_free(&t);
		return 1;
	}
	CHECK(emu_nat_droplog_start(t.nat, NULL, &dl, &e) == 0, "droplog: %s", e.msg);
	cli = udp_open(t.c1, "10.0.0.2", 0);
	CHECK(cli >= 0, "socket");
	CHECK(udp_send(cli, SRV1, 4000, "out") == 0, "send");
	CHECK(wait_ctr(&t, EMU_NAT_CTR_DROP_UDP_BLOCKED, 1) == 1, "drop_udp_blocked");
	snprintf(src, sizeof(src), "10.0.0.2:%u", udp_local_port(cli));
	CHECK(wait_drop(dl, &agg, EMU_NAT_CTR_DROP_UDP_BLOCKED, src, SRV1 ":4000", 1),
	      "no udp_blocked entry from %s", src);
	CHECK(read_ctr(&t, c, NULL) == 0 && c[EMU_NAT_CTR_DROP_FILTERING] == 0 &&
		  c[EMU_NAT_CTR_MAPPINGS_UDP] == 0,
	      "only the firewall knob counted");
out:
	emu_nat_droplog_stop(dl, NULL, NULL);
	if (cli >= 0)
		close(cli);
	topo_free(&t);
	return rc;
}

static void tweak_short(struct emu_nat_config *c)
{
	c->udp_timeout_s = 1;
}

/* APDM: one mapping per destination, counted once each; they expire
 * (the live count falls to 0, the counter stays), and the next packet
 * makes a new one. */
static int expiry_body(void)
{
	uint64_t c[EMU_NAT_CTR_N], live = 0;
	struct topo t;
	int rc = 0, cli = -1, srv = -1;
	long long end;
	char msg[64];

	if (topo_build(&t) < 0 || topo_nat(&t, "symmetric", tweak_short) < 0) {
		topo_free(&t);
		return 1;
	}
	cli = udp_open(t.c1, NULL, 0);
	srv = udp_open(t.inet, SRV1, 4000);
	CHECK(cli >= 0 && srv >= 0, "sockets");
	CHECK(udp_send(cli, SRV1, 4000, "a") == 0 && udp_send(cli, SRV2, 4000, "b") == 0, "send");
	CHECK(wait_ctr(&t, EMU_NAT_CTR_MAPPINGS_UDP, 2) == 2, "two destinations, two mappings");
	CHECK(udp_recv_text(srv, DEADLINE_MS, msg, sizeof(msg)) && strcmp(msg, "a") == 0, "a");
	/* received before the counters are read: it has crossed the NAT */
	CHECK(udp_send(cli, SRV1, 4000, "a2") == 0, "send");
	CHECK(udp_recv_text(srv, DEADLINE_MS, msg, sizeof(msg)) && strcmp(msg, "a2") == 0, "a2");
	CHECK(read_ctr(&t, c, &live) == 0 && c[EMU_NAT_CTR_MAPPINGS_UDP] == 2 && live == 2,
	      "a second packet of a flow is no new mapping: %llu made, %llu live",
	      (unsigned long long)c[EMU_NAT_CTR_MAPPINGS_UDP], (unsigned long long)live);
	/* 1 s timeout: gone within a few seconds, polled */
	end = topo_now_ms() + 5000;
	while (read_ctr(&t, c, &live) == 0 && live > 0 && topo_now_ms() < end)
		usleep(50000);
	CHECK(live == 0 && c[EMU_NAT_CTR_MAPPINGS_UDP] == 2,
	      "after the timeout: %llu live, %llu made", (unsigned long long)live,
	      (unsigned long long)c[EMU_NAT_CTR_MAPPINGS_UDP]);
	CHECK(udp_send(cli, SRV1, 4000, "again") == 0, "send");
	CHECK(wait_ctr(&t, EMU_NAT_CTR_MAPPINGS_UDP, 3) == 3, "a new mapping after expiry");
out:
	if (cli >= 0)
		close(cli);
	if (srv >= 0)
		close(srv);
	topo_free(&t);
	return rc;
}

/* Hairpinning (full-cone): c1 reaches c2 through c2's public mapping;
 * the hairpinned packet is counted, and gets a mapping of its own. */
static int hairpin_body(void)
{
	uint64_t c[EMU_NAT_CTR_N];
	struct sockaddr_in from;
	struct topo t;
	int rc = 0, c1 = -1, c2 = -1, srv = -1;
	char msg[64];
	uint16_t p2;

	if (topo_build(&t) < 0 || topo_nat(&t, "full-cone", NULL) < 0) {
		topo_free(&t);
		return 1;
	}
	c1 = udp_open(t.c1, NULL, 0);
	c2 = udp_open(t.c2, NULL, 0);
	srv = udp_open(t.inet, SRV1, 4000);
	CHECK(c1 >= 0 && c2 >= 0 && srv >= 0, "sockets");
	CHECK(udp_send(c2, SRV1, 4000, "open") == 0, "send");
	CHECK(udp_recv(srv, DEADLINE_MS, msg, sizeof(msg), &from), "SRV1 got nothing");
	p2 = ntohs(from.sin_port);
	CHECK(udp_send(c1, PUB1, p2, "hairpin") == 0, "send");
	CHECK(udp_recv(c2, DEADLINE_MS, msg, sizeof(msg), &from), "not hairpinned");
	CHECK(wait_ctr(&t, EMU_NAT_CTR_HAIRPIN, 1) == 1, "hairpin counter");
	CHECK(read_ctr(&t, c, NULL) == 0 && c[EMU_NAT_CTR_MAPPINGS_UDP] == 2,
	      "mappings_udp %llu: c2's and the hairpinned flow's",
	      (unsigned long long)c[EMU_NAT_CTR_MAPPINGS_UDP]);
out:
	if (c1 >= 0)
		close(c1);
	if (c2 >= 0)
		close(c2);
	if (srv >= 0)
		close(srv);
	topo_free(&t);
	return rc;
}

/* IPv6 is not translated, but a NAT's IPv6 firewall stops flows opened
 * from outside: counted in table ip6 natlab_fw6 and read back summed with
 * the IPv4 table's, logged with IPv6 addresses. */
static int inbound6_body(void)
{
	struct natlab_err e = {{0}};
	struct emu_nat_droplog *dl = NULL;
	struct emu_nat_drops agg;
	struct topo t;
	int rc = 0, in = -1, out6 = -1;
	char src[64];

	if (topo_build(&t) < 0 || topo_nat(&t, "port-restricted-cone", NULL) < 0) {
		topo_free(&t);
		return 1;
	}
	CHECK(emu_nat_droplog_start(t.nat, NULL, &dl, &e) == 0, "droplog: %s", e.msg);
	in = udp6_open(t.c1, CLI6, 5000);
	out6 = udp6_open(t.inet, SRV6, 0);
	CHECK(in >= 0 && out6 >= 0, "sockets");
	for (int i = 0; i < 2; i++)
		CHECK(udp6_send(out6, CLI6, 5000, "unsolicited") == 0, "send");
	CHECK(wait_ctr(&t, EMU_NAT_CTR_DROP_INBOUND6, 2) == 2, "drop_inbound_v6");
	{
		struct sockaddr_in6 sa;
		socklen_t len = sizeof(sa);
		getsockname(out6, (struct sockaddr *)&sa, &len);
		snprintf(src, sizeof(src), "[" SRV6 "]:%u", ntohs(sa.sin6_port));
	}
	CHECK(wait_drop(dl, &agg, EMU_NAT_CTR_DROP_INBOUND6, src, "[" CLI6 "]:5000", 2),
	      "no inbound_v6 entry from %s (%u entries)", src, agg.n);
out:
	emu_nat_droplog_stop(dl, NULL, NULL);
	if (in >= 0)
		close(in);
	if (out6 >= 0)
		close(out6);
	topo_free(&t);
	return rc;
}

static void t_inbound6_drop(void **state)
{
	TOPO_CASE(inbound6_body);
}

static void t_mappings_expire(void **state)
{
	TOPO_CASE(expiry_body);
}

static void t_hairpin_counted(void **state)
{
	TOPO_CASE(hairpin_body);
}

static void t_filtering_drop(void **state)
{
	TOPO_CASE(filtering_body);
}

static void t_udp_blocked_drop(void **state)
{
	TOPO_CASE(udp_blocked_body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_filtering_drop),	 cmocka_unit_test(t_udp_blocked_drop),
	    cmocka_unit_test(t_mappings_expire), cmocka_unit_test(t_hairpin_counted),
	    cmocka_unit_test(t_inbound6_drop),
	};

	if (!topo_sandbox_available())
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

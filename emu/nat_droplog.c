/* nat_droplog.c - the packets a NAT's drop rules refused, received from
 * the kernel's packet log (nfnetlink_log over libmnl, in the NAT's own
 * namespace) on a thread, aggregated and written to a bounded pcap; see
 * nat_evidence.h. */
#include "emu/nat_evidence.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>

#include "emu/pcap.h"
#include "emu/reader.h"

struct emu_nat_droplog {
	struct mnl_socket *nl;
	struct emu_reader *reader;
	pthread_mutex_t lock; /* guards agg and st */
	struct emu_nat_drops agg;
	struct emu_nat_droplog_stats st;
	struct emu_pcap *pcap; /* the reader thread's own until it stops */
	char *pcap_path;       /* NULL: no pcap; opened on the first drop */
	bool pcap_failed;
	char buf[65536]; /* one recv: several log messages */
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The packet's whole length from its IP header (the log cut it). */
static size_t ip_len(const uint8_t *p, size_t caplen)
{
	if (caplen >= 4 && (p[0] >> 4) == 4)
		return (size_t)(p[2] << 8 | p[3]);
	if (caplen >= 6 && (p[0] >> 4) == 6)
		return 40 + (size_t)(p[4] << 8 | p[5]);
	return caplen;
}

/* The pcap is made on the first drop (a NAT that dropped nothing leaves no
 * file), with its folder (one level) when that is missing. */
static void pcap_create(struct emu_nat_droplog *d)
{
	struct natlab_err e;
	int ret = emu_pcap_open_linktype(d->pcap_path, EMU_PCAP_LINKTYPE_RAW, &d->pcap, &e);

	if (ret == -ENOENT) {
		char *slash = strrchr(d->pcap_path, '/');
		if (slash && slash != d->pcap_path) {
			*slash = '\0';
			mkdir(d->pcap_path, 0755);
			*slash = '/';
			ret = emu_pcap_open_linktype(d->pcap_path, EMU_PCAP_LINKTYPE_RAW, &d->pcap,
						     &e);
		}
	}
	if (ret < 0) {
		d->pcap_failed = true;
		d->st.write_error = ret;
		return;
	}
	d->st.pcap_bytes = EMU_PCAP_FILE_HDR;
}

static int packet_cb(const struct nlmsghdr *nlh, void *data)
{
	struct emu_nat_droplog *d = data;
	char prefix[64];
	const void *pl;
	size_t len;

	if (emu_nat_nflog_parse(nlh, prefix, sizeof(prefix), &pl, &len) < 0)
		return MNL_CB_OK;
	pthread_mutex_lock(&d->lock);
	d->st.logged++;
	emu_nat_drops_add(&d->agg, prefix, pl, len, mono_ms());
	if (d->pcap_path && !d->pcap && !d->pcap_failed)
		pcap_create(d);
	if (d->pcap) {
		uint64_t rec = EMU_PCAP_REC_HDR + len;
		if (d->st.pcap_bytes + rec > EMU_NAT_DROPS_PCAP_MAX) {
			d->st.pcap_skipped++;
		} else {
			int ret = emu_pcap_write_cut(d->pcap, real_ns(), pl, len, ip_len(pl, len));
			if (ret < 0 && !d->st.write_error)
				d->st.write_error = ret;
			d->st.pcap_bytes += rec;
			d->st.pcap_packets++;
		}
	}
	pthread_mutex_unlock(&d->lock);
	return MNL_CB_OK;
}

/* Read everything queued; false when nothing was. On the reader thread. */
static bool drain(void *arg)
{
	struct emu_nat_droplog *d = arg;
	bool any = false;

	for (;;) {
		ssize_t n = recv(mnl_socket_get_fd(d->nl), d->buf, sizeof(d->buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == ENOBUFS) {
				/* the kernel dropped log messages: the counters
				 * stay exact, the aggregate misses some */
				pthread_mutex_lock(&d->lock);
				d->st.lost++;
				pthread_mutex_unlock(&d->lock);
				continue;
			}
			return any;
		}
		mnl_cb_run(d->buf, (size_t)n, 0, 0, packet_cb, d);
		any = true;
	}
}

/* Quiet for EMU_READER_IDLE_MS after a drop: write the pcap out, so a
 * killed cell leaves most of it behind. */
static void flush_idle(void *arg)
{
	struct emu_nat_droplog *d = arg;

	if (d->pcap)
		emu_pcap_flush(d->pcap);
}

/* Bind group EMU_NAT_LOG_GROUP and set how it delivers, in one
 * NFULNL_MSG_CONFIG, acknowledged: the kernel applies the bind command
 * first, then the settings to the instance it made. */
static int nflog_bind(struct mnl_socket *nl)
{
	const struct nfulnl_msg_config_cmd bind = {.command = NFULNL_CFG_CMD_BIND};
	const struct nfulnl_msg_config_mode mode = {.copy_range = htonl(EMU_NAT_LOG_SNAPLEN),
						    .copy_mode = NFULNL_COPY_PACKET};
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;
	ssize_t n;

	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = 1;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(EMU_NAT_LOG_GROUP);
	mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof(bind), &bind);
	mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof(mode), &mode);
	/* one message per packet, at once: the default batches 100 packets
	 * or 1 s, and a cell's last drops would wait */
	mnl_attr_put_u32(nlh, NFULA_CFG_QTHRESH, htonl(1));
	mnl_attr_put_u32(nlh, NFULA_CFG_TIMEOUT, htonl(1));
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	return mnl_cb_run(buf, (size_t)n, 1, mnl_socket_get_portid(nl), NULL, NULL) < 0 ? -errno
											: 0;
}

int emu_nat_droplog_start(struct emu_node *n, const char *pcap_path, struct emu_nat_droplog **out,
			  struct natlab_err *e)
{
	struct emu_nat_droplog *d;
	int saved, ret, sz = 4 << 20;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return natlab_err_set(e, ENOMEM, "node %s: drop log", emu_node_name(n));
	pthread_mutex_init(&d->lock, NULL);
	/* opened inside the node: the log group is the node's own */
	ret = emu_node_enter(n, &saved, e);
	if (ret < 0)
		goto fail;
	d->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	emu_node_leave(saved);
	if (!d->nl) {
		ret = natlab_err_set(e, errno, "cannot open a netfilter netlink socket");
		goto fail;
	}
	if (mnl_socket_bind(d->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = natlab_err_set(e, errno, "bind");
		goto fail;
	}
	if (setsockopt(mnl_socket_get_fd(d->nl), SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(mnl_socket_get_fd(d->nl), SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	ret = nflog_bind(d->nl);
	if (ret < 0) {
		ret = natlab_err_set(e, -ret,
				     "cannot bind log group %d (nfnetlink_log; is the module "
				     "loaded?)",
				     EMU_NAT_LOG_GROUP);
		goto fail;
	}
	if (pcap_path && !(d->pcap_path = strdup(pcap_path))) {
		ret = natlab_err_set(e, ENOMEM, "drops pcap");
		goto fail;
	}
	ret = emu_reader_start(mnl_socket_get_fd(d->nl), drain, pcap_path ? flush_idle : NULL, d,
			       &d->reader, e);
	if (ret < 0)
		goto fail;
	*out = d;
	return 0;
fail:
	natlab_err_prefix(e, "node %s: drop log", emu_node_name(n));
	emu_nat_droplog_stop(d, NULL, NULL);
	return ret;
}

void emu_nat_droplog_snapshot(struct emu_nat_droplog *d, struct emu_nat_drops *out,
			      struct emu_nat_droplog_stats *st)
{
	pthread_mutex_lock(&d->lock);
	if (out)
		*out = d->agg;
	if (st)
		*st = d->st;
	pthread_mutex_unlock(&d->lock);
}

void emu_nat_droplog_stop(struct emu_nat_droplog *d, struct emu_nat_drops *out,
			  struct emu_nat_droplog_stats *st)
{
	int ret;

	if (!d)
		return;
	emu_reader_stop(d->reader);
	ret = emu_pcap_close(d->pcap);
	if (ret < 0 && !d->st.write_error)
		d->st.write_error = ret;
	if (out)
		*out = d->agg;
	if (st)
		*st = d->st;
	if (d->nl)
		mnl_socket_close(d->nl);
	free(d->pcap_path);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* pcap.c - buffered pcap writer; see pcap.h. */
#include "emu/pcap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PCAP_BUF (1u << 20)

struct emu_pcap {
	int fd;
	int err; /* first write error, reported by close */
	uint64_t frames;
	size_t used;
	unsigned char buf[PCAP_BUF];
};

/* The file is written in the host's byte order; readers detect it from the
 * magic number, as pcap-savefile(5) specifies. */
static void put32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put16(unsigned char *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int emu_pcap_flush(struct emu_pcap *p)
{
	int ret;

	if (!p->used)
		return p->err;
	ret = write_all(p->fd, p->buf, p->used);
	p->used = 0;
	if (ret < 0 && !p->err)
		p->err = ret;
	return ret;
}

int emu_pcap_open(const char *path, struct emu_pcap **out, struct natlab_err *e)
{
	return emu_pcap_open_linktype(path, EMU_PCAP_LINKTYPE_EN10MB, out, e);
}

int emu_pcap_open_linktype(const char *path, uint32_t linktype, struct emu_pcap **out,
			   struct natlab_err *e)
{
	struct emu_pcap *p = calloc(1, sizeof(*p));
	unsigned char *h;
	int ret;

	*out = NULL;
	if (!p)
		return natlab_err_set(e, ENOMEM, "capture %s", path);
	p->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (p->fd < 0) {
		ret = natlab_err_set(e, errno, "capture: cannot create %s", path);
		free(p);
		return ret;
	}
	h = p->buf;
	put32(h, EMU_PCAP_MAGIC_NS);
	put16(h + 4, 2); /* version 2.4 */
	put16(h + 6, 4);
	put32(h + 8, 0);  /* thiszone */
	put32(h + 12, 0); /* sigfigs */
	put32(h + 16, EMU_PCAP_SNAPLEN);
	put32(h + 20, linktype);
	p->used = EMU_PCAP_FILE_HDR;
	ret = emu_pcap_flush(p);
	if (ret < 0) {
		natlab_err_set(e, ret, "capture: cannot write %s", path);
		emu_pcap_close(p);
		return ret;
	}
	*out = p;
	return 0;
}

int emu_pcap_write(struct emu_pcap *p, uint64_t ts_ns, const void *frame, size_t len)
{
	return emu_pcap_write_cut(p, ts_ns, frame, len, len);
}

int emu_pcap_write_cut(struct emu_pcap *p, uint64_t ts_ns, const void *frame, size_t caplen,
		       size_t len)
{
	size_t cap = caplen > EMU_PCAP_SNAPLEN ? EMU_PCAP_SNAPLEN : caplen;
	unsigned char *r;

	if (len < cap)
		len = cap;
	if (p->used + EMU_PCAP_REC_HDR + cap > sizeof(p->buf)) {
		int ret = emu_pcap_flush(p);
		if (ret < 0)
			return ret;
	}
	r = p->buf + p->used;
	put32(r, (uint32_t)(ts_ns / 1000000000u));
	put32(r + 4, (uint32_t)(ts_ns % 1000000000u));
	put32(r + 8, (uint32_t)cap);
	put32(r + 12, (uint32_t)len);
	memcpy(r + EMU_PCAP_REC_HDR, frame, cap);
	p->used += EMU_PCAP_REC_HDR + cap;
	p->frames++;
	return 0;
}

uint64_t emu_pcap_frames(const struct emu_pcap *p)
{
	return p->frames;
}

int emu_pcap_close(struct emu_pcap *p)
{
	int ret;

	if (!p)
		return 0;
	emu_pcap_flush(p);
	ret = p->err;
	if (close(p->fd) < 0 && !ret)
		ret = -errno;
	free(p);
	return ret;
}

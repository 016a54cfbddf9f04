/* capture_pcap.c - the pcap writer: byte layout checked field by field,
 * and the file read back by tshark when it is installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "emu/pcap.h"

/* An Ethernet + IPv4 + UDP frame from 192.0.2.1:4000 to 198.51.100.2:@dport
 * carrying @n bytes (checksums left zero: UDP over IPv4 allows it). */
static size_t udp_frame(unsigned char *f, uint16_t dport, size_t n)
{
	static const unsigned char eth[14] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00};
	unsigned char *ip = f + 14;
	unsigned char *udp = ip + 20;
	size_t iplen = 20 + 8 + n;
	uint32_t sum = 0;

	memcpy(f, eth, 14);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (unsigned char)(iplen >> 8);
	ip[3] = (unsigned char)iplen;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, (unsigned char[]){192, 0, 2, 1}, 4);
	memcpy(ip + 16, (unsigned char[]){198, 51, 100, 2}, 4);
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (unsigned char)(~sum >> 8);
	ip[11] = (unsigned char)~sum;
	udp[0] = 4000 >> 8;
	udp[1] = 4000 & 0xff;
	udp[2] = (unsigned char)(dport >> 8);
	udp[3] = (unsigned char)dport;
	udp[4] = (unsigned char)((8 + n) >> 8);
	udp[5] = (unsigned char)(8 + n);
	udp[6] = udp[7] = 0;
	memset(udp + 8, 'x', n);
	return 14 + iplen;
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void writes_header_and_records(void **state)
{
	char path[] = "/tmp/natlab-pcap-XXXXXX";
	int fd = mkstemp(path);
	struct emu_pcap *p = NULL;
	struct natlab_err e = {{0}};
	unsigned char frame[200];
	unsigned char back[4096];
	ssize_t got;
	size_t len;

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(emu_pcap_open(path, &p, &e), 0);
	for (uint16_t i = 0; i < 3; i++) {
		len = udp_frame(frame, (uint16_t)(5000 + i), 10);
		assert_int_equal(
		    emu_pcap_write(p, 1700000000123456789ull + i * 1000ull, frame, len), 0);
	}
	assert_int_equal(emu_pcap_frames(p), 3);
	assert_int_equal(emu_pcap_close(p), 0);

	fd = open(path, O_RDONLY);
	got = read(fd, back, sizeof(back));
	close(fd);
	assert_int_equal(got, 24 + 3 * (16 + len));
	assert_int_equal(get32(back), EMU_PCAP_MAGIC_NS);
	assert_int_equal(get32(back + 16), EMU_PCAP_SNAPLEN);
	assert_int_equal(get32(back + 20), 1);
	/* second record: seconds, nanoseconds, captured and original length */
	const unsigned char *r = back + 24 + 16 + len;
	assert_int_equal(get32(r), 1700000000u);
	assert_int_equal(get32(r + 4), 123457789u);
	assert_int_equal(get32(r + 8), len);
	assert_int_equal(get32(r + 12), len);
	assert_int_equal(r[16 + 14 + 20 + 3], (5001 & 0xff));

	if (access("/usr/bin/tshark", X_OK) == 0) {
		char cmd[512];
		char out[256] = "";
		FILE *f;

		snprintf(cmd, sizeof(cmd),
			 "tshark -r %s -T fields -e frame.time_epoch -e udp.dstport 2>/dev/null",
			 path);
		f = popen(cmd, "r");
		assert_non_null(f);
		size_t n = fread(out, 1, sizeof(out) - 1, f);
		out[n] = 0;
		pclose(f);
		assert_non_null(strstr(out, "1700000000.123456789\t5000\n"));
		assert_non_null(strstr(out, "1700000000.123457789\t5001\n"));
		assert_non_null(strstr(out, "1700000000.123458789\t5002\n"));
	}
	unlink(path);
}

static void long_frames_are_cut_to_the_snaplen(void **state)
{
	char path[] = "/tmp/natlab-pcap-XXXXXX";
	int fd = mkstemp(path);
	struct emu_pcap *p = NULL;
	unsigned char *big = calloc(1, EMU_PCAP_SNAPLEN + 100);
	unsigned char hdr[16];

	assert_true(fd >= 0 && big);
	close(fd);
	assert_int_equal(emu_pcap_open(path, &p, NULL), 0);
	assert_int_equal(emu_pcap_write(p, 0, big, EMU_PCAP_SNAPLEN + 100), 0);
	assert_int_equal(emu_pcap_close(p), 0);
	fd = open(path, O_RDONLY);
	assert_int_equal(pread(fd, hdr, 16, 24), 16);
	close(fd);
	assert_int_equal(get32(hdr + 8), EMU_PCAP_SNAPLEN);
	assert_int_equal(get32(hdr + 12), EMU_PCAP_SNAPLEN + 100);
	free(big);
	unlink(path);
}

static void unwritable_path_is_a_clear_error(void **state)
{
	struct emu_pcap *p = (void *)1;
	struct natlab_err e = {{0}};

	assert_int_equal(emu_pcap_open("/nonexistent-dir/x.pcap", &p, &e), -ENOENT);
	assert_null(p);
	assert_non_null(strstr(e.msg, "/nonexistent-dir/x.pcap"));
	assert_int_equal(emu_pcap_close(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(writes_header_and_records),
	    cmocka_unit_test(long_frames_are_cut_to_the_snaplen),
	    cmocka_unit_test(unwritable_path_is_a_clear_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* turn_bench.h - what the TURN benchmarks (bench_turn_load, bench_turn_relay)
 * share: one allocation's state and the TURN client callbacks that fill it,
 * the monotonic clock, and the server process's memory and CPU from /proc.
 * Included by each benchmark; not a benchmark itself. */
#ifndef NATLAB_BENCH_TURN_BENCH_H
#define NATLAB_BENCH_TURN_BENCH_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "agents/turn/turn_client.h"

struct alloc {
	int fd;	  /* client socket to the server */
	int peer; /* the peer's socket */
	struct sockaddr_storage peer_addr, relayed;
	struct turn_client *tc;
	bool chan_ok;
	uint64_t sent, at_peer, back; /* ChannelData sent, reached the peer, came back */
};

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline uint64_t now_ms(void)
{
	return (uint64_t)(now_s() * 1000.0);
}

/* turn_client callbacks; ctx is the struct alloc */
static inline int cb_send(void *ctx, const struct sockaddr *to, const uint8_t *buf, size_t len)
{
	struct alloc *a = ctx;

	return sendto(a->fd, buf, len, 0, to, sizeof(struct sockaddr_in)) < 0 ? -errno : 0;
}

static inline void cb_result(void *ctx, enum turn_client_op op, const struct sockaddr *peer,
			     int code)
{
	struct alloc *a = ctx;

	(void)peer;
	if (op == TURN_CLIENT_OP_CHANNEL && code == 0)
		a->chan_ok = true;
}

/* A "Key:  value kB" line of /proc/PID/status (e.g. "VmRSS:"), or -1. */
static inline long proc_status(pid_t pid, const char *key)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, strlen(key)) == 0) {
			v = atol(line + strlen(key));
			break;
		}
	}
	fclose(f);
	return v;
}

/* The process's user + system CPU time in seconds. */
static inline double proc_cpu(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long ut = 0, st = 0;
	size_t n;
	char *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime */
	p = strrchr(buf, ')');
	if (p &&
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
		return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

#endif

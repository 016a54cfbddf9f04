/* reader.c - a thread reading one descriptor until stopped; see reader.h. */
#include "emu/reader.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct emu_reader {
	int fd, wake;
	pthread_t thread;
	bool (*drain)(void *arg);
	void (*idle)(void *arg);
	void *arg;
};

static void *reader_thread(void *p)
{
	struct emu_reader *r = p;
	struct pollfd pfd[2] = {{r->fd, POLLIN, 0}, {r->wake, POLLIN, 0}};
	bool pending = false; /* read since the last idle call */

	for (;;) {
		int n = poll(pfd, 2, pending ? EMU_READER_IDLE_MS : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (n == 0) {
			r->idle(r->arg);
			pending = false;
			continue;
		}
		if (pfd[0].revents && r->drain(r->arg) && r->idle)
			pending = true;
		if (pfd[1].revents) {
			r->drain(r->arg); /* what was queued before the stop */
			break;
		}
	}
	return NULL;
}

int emu_reader_start(int fd, bool (*drain)(void *arg), void (*idle)(void *arg), void *arg,
		     struct emu_reader **out, struct natlab_err *e)
{
	struct emu_reader *r = calloc(1, sizeof(*r));
	sigset_t all, old;
	int ret;

	*out = NULL;
	if (!r)
		return natlab_err_set(e, ENOMEM, "reader thread");
	r->fd = fd;
	r->drain = drain;
	r->idle = idle;
	r->arg = arg;
	r->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->wake < 0) {
		ret = natlab_err_set(e, errno, "eventfd");
		goto fail;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = pthread_create(&r->thread, NULL, reader_thread, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		ret = natlab_err_set(e, ret, "cannot start a thread");
		goto fail;
	}
	*out = r;
	return 0;
fail:
	if (r->wake >= 0)
		close(r->wake);
	free(r);
	return ret;
}

void emu_reader_stop(struct emu_reader *r)
{
	if (!r)
		return;
	/* cannot fail: the counter starts at 0 and is written once */
	eventfd_write(r->wake, 1);
	pthread_join(r->thread, NULL);
	close(r->wake);
	free(r);
}

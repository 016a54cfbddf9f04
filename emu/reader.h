/* reader.h - a thread of the caller that reads one descriptor until it is
 * stopped: the loop of a one-interface capture (capture.c) and of a NAT's
 * drop log (nat_droplog.c).
 *
 * The thread takes no process signal (the lab's own handling, a dying
 * agent's SIGPIPE or SIGCHLD, stays on its threads) and sleeps in poll(2)
 * on the descriptor and an eventfd. It calls @drain whenever the
 * descriptor is readable, and @idle once the descriptor has been quiet for
 * EMU_READER_IDLE_MS after a drain that read something (to flush a file
 * soon after the last packet, with no wake-up while nothing is pending).
 * Stopping it drains once more, so what was queued before the stop is
 * read.
 */
#ifndef NATLAB_EMU_READER_H
#define NATLAB_EMU_READER_H

#include <stdbool.h>
#include "emu/err.h"

#define EMU_READER_IDLE_MS 100

struct emu_reader;

/* emu_reader_start - start a thread reading @fd. @drain(@arg) reads
 * everything queued on @fd without blocking and returns whether it read
 * anything; @idle(@arg) may be NULL. Both run on the thread only. @fd stays
 * the caller's and must stay open until emu_reader_stop. Caller owns
 * *@out. 0, or a negative errno with @e filled. */
int emu_reader_start(int fd, bool (*drain)(void *arg), void (*idle)(void *arg), void *arg,
		     struct emu_reader **out, struct natlab_err *e);

/* emu_reader_stop - wake the thread, which drains @fd once more and
 * returns; join it and free @r. Accepts NULL. */
void emu_reader_stop(struct emu_reader *r);

#endif

/* dut_io.h - the compliance suite's network (agents/compliance) made of
 * real sockets in two lab nodes: the LAN host facing the device's inside
 * and the internet node facing its outside. */
#ifndef NATLAB_HARNESS_DUT_IO_H
#define NATLAB_HARNESS_DUT_IO_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "agents/compliance/compliance.h"
#include "emu/node.h"

struct dut_io_ctx {
	struct emu_node *lan, *wan; /* borrowed */
	uint32_t lan_ip;	    /* host byte order */
	uint32_t sub_ip[2];	    /* COMPL_SUB1/2: more LAN addresses; 0 = none */
	uint32_t srv_ip[2];
	bool hold_table; /* the SYN-drop table exists in the wan node */
	/* set (by a signal handler) to make every call return at once */
	volatile sig_atomic_t *stop;
};

/* dut_io_init - fill @io with the socket calls working on @c (borrowed for
 * as long as @io is used). */
void dut_io_init(struct compl_io *io, struct dut_io_ctx *c);

#endif

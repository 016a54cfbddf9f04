/* dut.h - `natlab dut`: a real NAT device between two interfaces, checked
 * by the compliance suite (agents/compliance); docs/dut.md. */
#ifndef NATLAB_HARNESS_DUT_H
#define NATLAB_HARNESS_DUT_H

/* cmd_dut - the command (cli.c); exit 0 no requirement failed, 1 some
 * failed, 2 usage or environment error. */
int cmd_dut(int argc, char **argv);

#endif

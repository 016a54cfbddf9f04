/* cli.c - command dispatch for the natlab executable. */
#include "harness/cli.h"

#include <stdio.h>
#include <string.h>

#include "harness/adaptercheck.h"
#include "harness/commands.h"
#include "harness/doctor.h"
#include "harness/dut.h"
#include "harness/probe_cmd.h"

#ifndef NATLAB_VERSION
#define NATLAB_VERSION "0.1.0"
#endif

static int cmd_help(int argc, char **argv);

static int cmd_doctor(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: natlab doctor\n\n"
		       "Checks what the lab needs (namespaces, veth, nftables NAT, dynamic sets,\n"
		       "conntrack, qdiscs) by using it inside a throw-away sandbox, and lists the\n"
		       "optional third-party tools found. Exit 0 when the lab can run here.\n");
		return NATLAB_EXIT_OK;
	}
	if (argc > 1) {
		fprintf(stderr, "natlab doctor: unexpected argument '%s' (it takes none)\n",
			argv[1]);
		return NATLAB_EXIT_USAGE;
	}
	return doctor_run(stdout);
}

static int cmd_version(int argc, char **argv)
{
	printf("natlab %s\n", NATLAB_VERSION);
	return NATLAB_EXIT_OK;
}

const struct cli_command cli_commands[] = {
    {"run", "run scenarios' cells in parallel and write results", cmd_run},
    {"list", "list scenarios, or one scenario's parameters and cells", cmd_list},
    {"exec", "build a scenario's network and run a command in one node", cmd_exec},
    {"shell", "build a scenario's network and open a shell in one node", cmd_shell},
    {"report", "re-render junit.xml and report.html of a result directory", cmd_report},
    {"merge", "join the result directories of CI shards", cmd_merge},
    {"compare", "changes and regressions between two runs", cmd_compare},
    {"probe", "check that NAT presets behave as they claim (natlab-probe)", cmd_probe},
    {"dut", "check a real NAT device against RFC 4787/5382 through two interfaces", cmd_dut},
    {"adapter-check", "check that an agent program follows the agent protocol", cmd_adapter_check},
    {"doctor", "check what the lab needs and what this machine has", cmd_doctor},
    {"version", "print the version", cmd_version},
    {"help", "list the commands", cmd_help},
    {NULL, NULL, NULL},
};

static int cmd_help(int argc, char **argv)
{
	printf("usage: natlab COMMAND [ARGS]\n\ncommands:\n");
	for (const struct cli_command *c = cli_commands; c->name; c++)
		printf("  %-14s %s\n", c->name, c->summary);
	printf("\n'natlab COMMAND --help' describes one command.\n"
	       "Exit status: 0 success, 1 some cell failed, 2 usage or environment error.\n");
	return NATLAB_EXIT_OK;
}

int cli_main(int argc, char **argv)
{
	if (argc < 2) {
		cmd_help(0, NULL);
		return NATLAB_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cmd_help(0, NULL);
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(0, NULL);
	for (const struct cli_command *c = cli_commands; c->name; c++) {
		if (strcmp(c->name, argv[1]) == 0)
			return c->run(argc - 1, argv + 1);
	}
	fprintf(stderr, "natlab: unknown command '%s'; 'natlab help' lists the commands\n",
		argv[1]);
	return NATLAB_EXIT_USAGE;
}

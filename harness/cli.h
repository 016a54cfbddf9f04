/* cli.h - the `natlab` subcommands. Each takes argc/argv starting at its own
 * name and returns the process exit status:
 *   0 all passed / success, 1 some cell failed, 2 usage or environment error.
 */
#ifndef NATLAB_HARNESS_CLI_H
#define NATLAB_HARNESS_CLI_H

#define NATLAB_EXIT_OK	  0
#define NATLAB_EXIT_FAIL  1
#define NATLAB_EXIT_USAGE 2

struct cli_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

/* The table of commands, NULL-terminated (cli.c). */
extern const struct cli_command cli_commands[];

int cli_main(int argc, char **argv);

#endif

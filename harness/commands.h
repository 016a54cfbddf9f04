/* commands.h - the `natlab` subcommands built on the runner and the
 * result files (cli.c holds the table). Each returns an exit status. */
#ifndef NATLAB_HARNESS_COMMANDS_H
#define NATLAB_HARNESS_COMMANDS_H

int cmd_run(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_shell(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_compare(int argc, char **argv);

#endif

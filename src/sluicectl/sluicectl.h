/* sluicectl.h — the subcommands of sluicectl, one file each. */
#ifndef SLUICECTL_H
#define SLUICECTL_H

/* Exit codes of every subcommand. */
enum { EXIT_OK = 0, EXIT_INVALID = 1, EXIT_USAGE = 2, EXIT_FAIL = 3 };

int cmd_check(int argc, char **argv);
int cmd_remote(int argc, char **argv);
int cmd_counters(int argc, char **argv);
extern const char *ctl_socket; /* -s SOCKET or $SLUICE_SOCKET */

#endif

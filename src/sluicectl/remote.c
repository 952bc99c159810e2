/*
 * remote.c — sluicectl subcommands answered by the running sluiced over its
 * control socket: status, sessions, pending, creations, identity, reload.
 */
#include "sluicectl/sluicectl.h"
#include "control/control.h"

#include <stdlib.h>
#include <string.h>

const char *ctl_socket = SLUICE_SOCKET;

int cmd_remote(int argc, char **argv)
{
	bool json = false;
	char *args[CONTROL_MAX_ARGS];
	int n = 0;
	for (int i = 0; i < argc && n < CONTROL_MAX_ARGS; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else
			args[n++] = argv[i];
	}
	return control_request(ctl_socket, n, args, json);
}

/* counters: one table, --json, or --watch (refreshes in place). */
int cmd_counters(int argc, char **argv)
{
	unsigned interval = 1000, count = 0;
	bool watch = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--watch") == 0)
			watch = true;
		else if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc)
			interval = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
			count = (unsigned)strtoul(argv[++i], NULL, 10);
	}
	if (watch)
		return counters_watch(ctl_socket, interval ? interval : 1000, count);
	return cmd_remote(argc, argv);
}

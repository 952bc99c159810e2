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

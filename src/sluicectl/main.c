/*
 * sluicectl — the administrator's command line for sluice.
 *
 * The grammar is data: one row a subcommand gives its name, its function,
 * its usage line and its help; dispatch and `sluicectl help` read the table.
 */
#include "sluicectl/sluicectl.h"
#include "common/log.h"
#include "common/util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *help;
};

static const struct command commands[] = {
    {"check", cmd_check,
     "check -c FILE [--flow FLOW [--user U] [--groups G,..] [--anonymous] "
     "[--name HOST] [--time 'DAY HH:MM'] [--local|--to-local] "
     "[--filter ok|reject]] [--host] [--json]",
     "validate a policy; with --flow, say what it decides for a session; "
     "with --host, what a start would cut of this host's ways in"},
    {"status", cmd_remote, "status [--json]",
     "the running service: policy, queues, slots, counts"},
    {"sessions", cmd_remote, "sessions [--json]",
     "sessions the policy allowed (conntrack), with rule and user"},
    {"pending", cmd_remote, "pending [--json]",
     "decisions in progress, with age and what they wait for"},
    {"creations", cmd_remote,
     "creations [list | add ADDR tcp|udp PORT [--from SRC] [--timeout S] | "
     "del ADDR tcp|udp PORT [--from SRC]] [--json]",
     "creation elements: kernel-admitted destinations with a timeout"},
    {"floods", cmd_remote, "floods [--json]",
     "sources the kernel's flood limits are refusing, with counts"},
    {"settings", cmd_remote, "settings [--json]",
     "every setting's value in force and whether a reload applies it"},
    {"identity", cmd_remote,
     "identity [list | sources | add ADDR USER [--groups A,B] [--ttl S] | del ADDR\n"
     "          | login ADDR USER [--prefix LEN] [--groups A,B] [--lifetime S] [--source NAME]\n"
     "          | logout ADDR [USER] [--prefix LEN] [--source NAME]] "
     "[--json] [--] (a USER starting with '-' after --)",
     "who is behind a client address (fed by a portal, RADIUS, DHCP)"},
    {"counters", cmd_counters,
     "counters [--json | --watch [--interval MS] [--count N]]",
     "the service's counters, past-threshold values marked '!'"},
    {"alerts", cmd_remote, "alerts [reset [NAME]] [--json]",
     "active alerts; reset re-arms one or all"},
    {"verifiers", cmd_remote, "verifiers [--json]",
     "connectivity verifiers: state, last result, response time, history"},
    {"farm", cmd_remote,
     "farm [list | drain MEMBER | resume MEMBER] [--json]",
     "published server farms; drain/resume a member (FARM/NAME or NAME)"},
    {"reload", cmd_remote, "reload [--confirm DURATION] [--json]",
     "load the policy file again; a bad one is rejected, the old stays; "
     "with --confirm, the old one comes back after DURATION (60s, 5m) "
     "unless `sluicectl confirm` follows"},
    {"confirm", cmd_remote, "confirm [--json]",
     "keep the policy of a `reload --confirm` on probation"},
};

const char *sluicectl_usage(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(name, commands[i].name) == 0)
			return commands[i].usage;
	return "COMMAND [ARGS]";
}

static void usage(FILE *out)
{
	fprintf(out, "usage: sluicectl [-s SOCKET] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-10s %s\n      sluicectl %s\n", commands[i].name,
			commands[i].help, commands[i].usage);
	fprintf(out, "\nSee sluicectl(8).\n");
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN); /* a refused client still reads why */
	/* run by the unit (ExecStartPre, ExecReload): errors to the journal
	 * with their priority (log_journal()) */
	log_init("sluicectl", true, 0);
	if (getenv("SLUICE_SOCKET"))
		ctl_socket = getenv("SLUICE_SOCKET");
	if (argc == 2 && strcmp(argv[1], "-s") == 0) {
		fprintf(stderr, "sluicectl: -s needs a socket path\n");
		return EXIT_USAGE;
	}
	if (argc >= 3 && strcmp(argv[1], "-s") == 0) {
		ctl_socket = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("sluicectl %s\n", SLUICE_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "sluicectl: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}

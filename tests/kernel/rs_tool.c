/*
 * rs_tool — drives the kernel library for tests/kernel/ scripts.
 *
 *   rs_tool gen CONF              print the nft script
 *   rs_tool gen-update CONF FILE  print the nft script as an update of the
 *                                 table FILE (a `gen` output) put in place
 *   rs_tool xt CONF 4|6           print the xt text (fresh install)
 *   rs_tool install CONF          install the ruleset
 *   rs_tool install-broken CONF   install the ruleset plus a rule the kernel
 *                                 rejects (must fail, changing nothing)
 *   rs_tool remove                remove table and xt part
 *   rs_tool fail-closed           leave the fail-closed state
 *   rs_tool probe                 print the probe results
 *   rs_tool creation-add 4|6 DADDR tcp|udp PORT TIMEOUT [SADDR]
 *   rs_tool creation-del 4|6 DADDR tcp|udp PORT [SADDR]
 *   rs_tool creations             print creation elements (JSON)
 * Options before the command: -t TABLE. Exit 0 on success, 1 on failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"
#include "kernel/ruleset.h"

static struct policy *load(const char *path)
{
	struct diags d = {0};
	struct policy *p = policy_load(path, &d);
	if (!p) {
		diags_print(&d, stderr);
		diags_free(&d);
		exit(1);
	}
	diags_free(&d); /* the policy owns its own file names */
	return p;
}

static int done(int rc, char *err)
{
	if (rc < 0)
		fprintf(stderr, "rs_tool: %s\n", err ? err : "failed");
	free(err);
	return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct ruleset_opts o;
	const char *table = NULL;
	char *err = NULL;
	int opt;

	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt == 't')
			table = optarg;
		else
			return 2;
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		fprintf(stderr, "usage: rs_tool [-t TABLE] COMMAND ...\n");
		return 2;
	}
	const char *cmd = argv[0];
	struct policy *p = NULL;
	if (!strcmp(cmd, "gen") || !strcmp(cmd, "xt") ||
	    (!strcmp(cmd, "gen-update") && argc >= 3) ||
	    !strcmp(cmd, "install") || !strcmp(cmd, "install-broken")) {
		if (argc < 2)
			return 2;
		p = load(argv[1]);
	}
	ruleset_opts_init(&o, p);
	if (table)
		o.table = table;

	int rc = 0;
	if (!strcmp(cmd, "gen")) {
		char *s = ruleset_nft(p, &o);
		fputs(s, stdout);
		free(s);
	} else if (!strcmp(cmd, "gen-update")) {
		char *next = ruleset_nft(p, &o), *inst = NULL;
		size_t len = 0;
		FILE *f = fopen(argv[2], "r");
		if (!f || getdelim(&inst, &len, 0, f) < 0)
			rc = -1;
		char *s = rc ? NULL : ruleset_nft_update(next, &o, inst);
		if (!s && !rc)
			err = xstrdup("no update (not this table's ruleset)");
		rc = s ? 0 : -1;
		fputs(s ? s : "", stdout);
		if (f)
			fclose(f);
		free(s);
		free(inst);
		free(next);
	} else if (!strcmp(cmd, "xt")) {
		char *s = ruleset_xt(&o, argc > 2 && !strcmp(argv[2], "6")
					      ? AF_INET6 : AF_INET);
		fputs(s ? s : "", stdout);
		free(s);
	} else if (!strcmp(cmd, "install")) {
		rc = ruleset_install(p, &o, &err);
	} else if (!strcmp(cmd, "install-broken")) {
		/* A rule that parses but that the kernel rejects: it names a
		 * ct timeout object that does not exist. The transaction must
		 * fail as a whole. */
		char *s = ruleset_nft(p, &o);
		size_t n = strlen(s);
		while (n && s[n - 1] != '}')
			n--;
		s[n ? n - 1 : 0] = 0;
		char *bad = xasprintf("%s\tchain broken {\n\t\tct timeout set "
				      "\"no_such_timeout\"\n\t}\n}\n", s);
		rc = nft_apply(bad, &err);
		free(s);
		free(bad);
		if (rc == 0) {
			fprintf(stderr, "rs_tool: broken ruleset accepted\n");
			return 1;
		}
		printf("rejected as expected: %s\n", err);
		free(err);
		err = NULL;
		rc = 0;
	} else if (!strcmp(cmd, "remove")) {
		rc = ruleset_remove(&o, &err);
	} else if (!strcmp(cmd, "fail-closed")) {
		rc = ruleset_leave_fail_closed(&o, &err);
	} else if (!strcmp(cmd, "check")) {
		/* the ruleset watch's check: prints what is missing, exit 0
		 * only when everything is in place */
		char *what = NULL;
		unsigned m = ruleset_check(&o, &what);
		printf("%s\n", m ? what : "intact");
		free(what);
		rc = m ? -1 : 0;
	} else if (!strcmp(cmd, "probe")) {
		printf("nft_queue %s\nxt_nfqueue %s\n",
		       probe_nft_queue() ? "yes" : "no",
		       probe_xt_nfqueue() ? "yes" : "no");
	} else if (!strcmp(cmd, "creation-add") && argc >= 6) {
		rc = creation_add(&o, argv[1][0] == '6' ? AF_INET6 : AF_INET,
				  argv[2], argv[3], (uint16_t)atoi(argv[4]),
				  argc > 6 ? argv[6] : NULL,
				  (uint32_t)atoi(argv[5]), &err);
	} else if (!strcmp(cmd, "creation-del") && argc >= 5) {
		rc = creation_del(&o, argv[1][0] == '6' ? AF_INET6 : AF_INET,
				  argv[2], argv[3], (uint16_t)atoi(argv[4]),
				  argc > 5 ? argv[5] : NULL, &err);
	} else if (!strcmp(cmd, "creations")) {
		char *s = creation_list_json(&o, &err);
		if (s)
			fputs(s, stdout);
		rc = s ? 0 : -1;
		free(s);
	} else {
		fprintf(stderr, "rs_tool: unknown command or arguments\n");
		return 2;
	}
	if (p)
		policy_free(p);
	return done(rc, err);
}

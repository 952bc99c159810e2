/*
 * probe.c — what the running kernel supports.
 *
 * probe_nft_queue(): libnftables' dry run (nft -c) is not a parse-only
 * check: it sends the batch to the kernel, which validates every
 * expression (loading modules on demand) and then aborts the transaction.
 * Checked on the development kernel: a dry run of `queue` fails there with
 * "Could not process rule: No such file or directory" (CONFIG_NFT_QUEUE
 * off) while the same table with `counter` passes, and nothing is created.
 * The throwaway table name carries the pid so probes never collide.
 *
 * probe_xt_nfqueue(): iptables-nft-restore --test builds the batch without
 * sending it, so it cannot tell; instead iptables-nft-restore really loads a
 * chain with an NFQUEUE rule, in a private network namespace of its own
 * (unshare(CLONE_NEWNET) in the child): what the kernel supports is the
 * same in every namespace, and the caller's firewall is never touched.
 * Without the right to create a namespace it falls back to a throwaway
 * chain in the caller's filter table, deleted again (iptables-nft may then
 * leave an empty `table ip filter` behind).
 */
#include "kernel/ruleset.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/util.h"

bool probe_nft_queue(void)
{
	char *e = NULL;
	char *script = xasprintf("table inet sluice_probe_%ld {\n"
				 "\tchain c {\n\t\tqueue flags bypass to 0\n"
				 "\t}\n}\n", (long)getpid());
	int rc = nft_dry_run(script, &e);
	free(script);
	free(e);
	return rc == 0;
}

bool probe_xt_nfqueue(void)
{
	char *argv[] = {(char *)"iptables-nft-restore", (char *)"--noflush",
			NULL};
	char chain[32];
	snprintf(chain, sizeof(chain), "SLPROBE%ld", (long)getpid() % 1000000);
	char *add = xasprintf("*filter\n:%s - [0:0]\n-A %s -j NFQUEUE "
			      "--queue-num 0 --queue-bypass\nCOMMIT\n",
			      chain, chain);
	char *del = xasprintf("*filter\n-F %s\n-X %s\nCOMMIT\n", chain, chain);
	int rc = run_tool_ex(argv, add, NULL, NULL, RUN_NEWNET);
	if (rc == 126) {
		rc = run_tool(argv, add, NULL, NULL);
		if (rc == 0)
			run_tool(argv, del, NULL, NULL);
	}
	free(add);
	free(del);
	return rc == 0;
}

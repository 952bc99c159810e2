/* test_hostcheck.c — `sluicectl check --host`'s reading of this host
 * (src/sluicectl/hostcheck.c) where a kernel scenario cannot make the
 * thing: a WireGuard interface (this machine's kernel has no WireGuard
 * module), read from a sysfs-like class directory made here. */
#include "sluicectl/hostcheck.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[64];

/* An interface NAME under dir with uevent text UEVENT (NULL: no file). */
static void iface(const char *name, const char *uevent)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(mkdir(path, 0755), 0);
	if (!uevent)
		return;
	snprintf(path, sizeof(path), "%s/%s/uevent", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(uevent, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_hostcheck.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void none_then_one(void **state)
{
	(void)state;
	char name[16] = "unset";
	iface("lo", "INTERFACE=lo\nIFINDEX=1\n");
	iface("vx0", "DEVTYPE=vxlan\nINTERFACE=vx0\nIFINDEX=3\n");
	iface("odd", NULL); /* no uevent: skipped */
	/* a line that only starts like it, and one that only ends like it */
	iface("fake", "DEVTYPE=wireguardx\nXDEVTYPE=wireguard\n");
	assert_int_equal(host_wireguard_iface(dir, name, sizeof(name)), 0);
	assert_string_equal(name, "unset");
	iface("wg0", "DEVTYPE=wireguard\nINTERFACE=wg0\nIFINDEX=4\n");
	assert_int_equal(host_wireguard_iface(dir, name, sizeof(name)), 1);
	assert_string_equal(name, "wg0");
	/* a second one is counted; the name is one of them, cut to LEN */
	iface("wg-admins-long", "INTERFACE=wg-admins-long\nDEVTYPE=wireguard\n");
	char cut[5];
	assert_int_equal(host_wireguard_iface(dir, cut, sizeof(cut)), 2);
	assert_true(!strcmp(cut, "wg0") || !strcmp(cut, "wg-a"));
	assert_int_equal(host_wireguard_iface(dir, NULL, 0), 2);
}

static void unreadable(void **state)
{
	(void)state;
	char name[16] = "unset";
	assert_int_equal(host_wireguard_iface("/nonexistent/sluice", name,
					      sizeof(name)), 0);
	assert_string_equal(name, "unset");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(none_then_one, setup, teardown),
	    cmocka_unit_test(unreadable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

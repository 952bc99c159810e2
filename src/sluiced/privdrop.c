/*
 * privdrop.c — sluiced -u USER: after the queues, the netlink sockets, the
 * control socket, the firewall log and the ICMP timeouts are set up as
 * root, sluiced becomes USER with CAP_NET_ADMIN and CAP_NET_RAW only
 * (libcap-ng, capng_change_id(3)). What it does afterwards needs no more:
 * rulesets through libnftables and iptables-nft-restore, conntrack marks
 * and deletions, NFQUEUE verdicts and the net.netfilter sysctls (written
 * with CAP_NET_ADMIN in the network namespace) all ask CAP_NET_ADMIN; the
 * ICMP verifier's raw socket CAP_NET_RAW.
 */
#include "sluiced/privdrop.h"

#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

int privdrop_lookup(const char *name, struct privuser *u, char *err,
		    size_t errlen)
{
	errno = 0;
	struct passwd *pw = getpwnam(name);
	if (!pw) {
		snprintf(err, errlen, "user %s: %s", name,
			 errno ? strerror(errno) : "no such user");
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user %s is root: nothing to drop", name);
		return -1;
	}
	*u = (struct privuser){pw->pw_uid, pw->pw_gid, name};
	return 0;
}

int privdrop_apply(const struct privuser *u, char *err, size_t errlen)
{
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_updatev(CAPNG_ADD,
			  CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_INHERITABLE,
			  CAP_NET_ADMIN, CAP_NET_RAW, -1) < 0) {
		snprintf(err, errlen, "libcap-ng: cannot select capabilities");
		return -1;
	}
	/* setgroups, setresgid, setresuid (in every thread: glibc), then the
	 * capabilities above in this thread, the bounding set cleared */
	int rc = capng_change_id((int)u->uid, (int)u->gid,
				 CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING);
	if (rc < 0) {
		snprintf(err, errlen, "becoming %s (uid %u): capng_change_id "
			 "failed (%d)", u->name, (unsigned)u->uid, rc);
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "no_new_privs: %s", strerror(errno));
		return -1;
	}
	/* never trust it worked: root must be out of reach now */
	if (getuid() == 0 || geteuid() == 0 || setuid(0) == 0 ||
	    privdrop_has_more_than_netadmin()) {
		snprintf(err, errlen, "still privileged after becoming %s",
			 u->name);
		return -1;
	}
	return 0;
}

int privdrop_folder_owner(const char *path, struct privuser *u)
{
	char *dir = strdup(path);
	if (!dir)
		return 0;
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	struct stat st;
	int rc = stat(slash ? dir : ".", &st);
	free(dir);
	if (rc < 0 || st.st_uid == 0)
		return 0;
	*u = (struct privuser){st.st_uid, st.st_gid, "the socket folder's owner"};
	return 1;
}

void privdrop_socket_owner(const struct privuser *u,
			   const struct control_cfg *cfg,
			   struct control_access *a)
{
	if (!cfg->socket_owner)
		a->owner = u->uid;
	if (!cfg->socket_group)
		a->group = u->gid;
}

bool privdrop_has_more_than_netadmin(void)
{
	if (geteuid() == 0)
		return true;
	capng_get_caps_process();
	for (unsigned c = 0; c <= CAP_LAST_CAP; c++) {
		if (c == CAP_NET_ADMIN || c == CAP_NET_RAW)
			continue;
		if (capng_have_capability(CAPNG_EFFECTIVE, c) ||
		    capng_have_capability(CAPNG_PERMITTED, c))
			return true;
	}
	return false;
}

int privdrop_give_file(const struct privuser *u, const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC |
				O_NONBLOCK);
	if (fd < 0)
		return -1;
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) < 0)
		rc = -1;
	else if (S_ISREG(st.st_mode) && st.st_uid == 0 && st.st_nlink == 1)
		rc = fchown(fd, u->uid, (gid_t)-1); /* a hard link: left alone */
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

/*
 * farm_driver — runs the farm manager (src/sluiced/farms.c) the way sluiced
 * does, for tests/kernel/17_farm.sh until sluiced links it: loads a policy,
 * installs its ruleset (with the farms' membership), runs the verifiers and
 * the publish chains on one event loop and serves `verifiers` and `farm` on
 * a control socket. No NFQUEUE worker: sessions that would be queued fall
 * to the fail mode of the policy.
 *
 *   farm_driver -c CONF -s SOCKET        serve (SIGTERM/SIGINT stop, SIGHUP
 *                                        reloads CONF); removes the ruleset
 *                                        on exit
 *   farm_driver -s SOCKET -q CMD [ARG]... [--json]   one control request
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "control/control.h"
#include "kernel/ruleset.h"
#include "sluiced/farms.h"

struct drv {
	const char *conf;
	struct event_base *base;
	struct policy *p;
	struct ruleset_opts o;
	struct farms *fm;
};

static struct policy *load(const char *path)
{
	struct diags d = {0};
	struct policy *p = policy_load(path, &d);
	diags_print(&d, stderr);
	diags_free(&d); /* the policy owns its own file names */
	return p;
}

static void unload(struct policy *p)
{
	policy_free(p);
}

static void kernel_opts(struct drv *d, const struct policy *p, bool nftq)
{
	ruleset_opts_init(&d->o, p);
	d->o.nft_queue = nftq;
	d->o.member_up = farms_member_up;
	d->o.member_ctx = d->fm;
}

static int reload(struct drv *d, struct evbuffer *out)
{
	struct policy *p = load(d->conf);
	char *err = NULL;
	if (!p) {
		evbuffer_add_printf(out, "invalid policy");
		return -1;
	}
	struct ruleset_opts saved = d->o;
	kernel_opts(d, p, saved.nft_queue);
	if (ruleset_install(p, &d->o, &err) < 0) {
		evbuffer_add_printf(out, "%s", err);
		free(err);
		d->o = saved;
		unload(p);
		return -1;
	}
	unload(d->p);
	d->p = p;
	if (farms_configure(d->fm, p, &err) < 0)
		log_warnx("farms: %s", err);
	free(err);
	evbuffer_add_printf(out, "reloaded\n");
	return 0;
}

static int on_command(void *arg, int argc, char **argv, bool json,
		      struct evbuffer *out)
{
	struct drv *d = arg;
	if (!strcmp(argv[0], "reload"))
		return reload(d, out);
	if (!strcmp(argv[0], "status")) {
		struct farms_stats st;
		farms_stats(d->fm, &st);
		evbuffer_add_printf(
		    out, "checks %llu failures %llu state_changes %llu "
			 "map_changes %llu map_failures %llu flushed %llu "
			 "members %u in_map %u down %u drained %u verifiers %u "
			 "up %u down %u\n",
		    (unsigned long long)st.checks_run,
		    (unsigned long long)st.check_failures,
		    (unsigned long long)st.state_changes,
		    (unsigned long long)st.map_changes,
		    (unsigned long long)st.map_failures,
		    (unsigned long long)st.flushed, st.members,
		    st.members_in_map, st.members_down, st.members_drained,
		    st.verifiers, st.verifiers_up, st.verifiers_down);
		return 0;
	}
	return farms_command(d->fm, argc, argv, json, out);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct drv *d = arg;
	if (sig == SIGHUP) {
		struct evbuffer *b = evbuffer_new();
		reload(d, b);
		evbuffer_free(b);
		return;
	}
	event_base_loopbreak(d->base);
}

int main(int argc, char **argv)
{
	const char *sock = NULL;
	struct drv d = {0};
	bool query = false;
	int c;
	while ((c = getopt(argc, argv, "+c:s:q")) != -1) {
		switch (c) {
		case 'c': d.conf = optarg; break;
		case 's': sock = optarg; break;
		case 'q': query = true; break;
		default: goto usage;
		}
	}
	if (!sock)
		goto usage;
	if (query) {
		bool json = false;
		int n = 0;
		char **v = argv + optind;
		for (int i = optind; i < argc; i++)
			if (!strcmp(argv[i], "--json"))
				json = true;
			else
				v[n++] = argv[i];
		return n ? control_request(sock, n, v, json) : 2;
	}
	if (!d.conf || optind != argc)
		goto usage;

	log_init("farm_driver", true, 1);
	signal(SIGPIPE, SIG_IGN);
	d.p = load(d.conf);
	if (!d.p)
		return 1;
	d.base = event_base_new();
	kernel_opts(&d, d.p, probe_nft_queue());
	char *err = NULL;
	if (ruleset_install(d.p, &d.o, &err) < 0) {
		fprintf(stderr, "farm_driver: %s\n", err);
		return 1;
	}
	d.fm = farms_new(d.base, &d.o);
	d.o.member_ctx = d.fm;
	if (farms_configure(d.fm, d.p, &err) < 0)
		log_warnx("farms: %s", err);
	free(err);
	err = NULL;
	struct control *ctl = control_listen(d.base, sock, on_command, &d);
	if (!ctl) {
		perror("farm_driver: control socket");
		farms_free(d.fm);
		ruleset_remove(&d.o, &err);
		return 1;
	}
	struct event *ev[3];
	int sigs[3] = {SIGTERM, SIGINT, SIGHUP};
	for (int i = 0; i < 3; i++) {
		ev[i] = evsignal_new(d.base, sigs[i], on_signal, &d);
		event_add(ev[i], NULL);
	}
	log_info("farm_driver: running %s, control %s", d.conf, sock);
	event_base_dispatch(d.base);

	control_close(ctl);
	farms_free(d.fm);
	if (ruleset_remove(&d.o, &err) < 0)
		log_warnx("ruleset_remove: %s", err);
	free(err);
	for (int i = 0; i < 3; i++)
		event_free(ev[i]);
	event_base_free(d.base);
	unload(d.p);
	log_info("farm_driver: stopped");
	return 0;
usage:
	fprintf(stderr, "usage: farm_driver -c CONF -s SOCKET | -s SOCKET -q "
			"CMD [ARG]... [--json]\n");
	return 2;
}

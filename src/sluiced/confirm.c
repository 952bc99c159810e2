/*
 * confirm.c — `sluicectl reload --confirm DURATION`, the "commit confirmed"
 * of routers: the new policy runs on probation; unless `sluicectl confirm`
 * follows within DURATION, sluiced goes back by itself to the policy that
 * ran before (ruleset, kernel queues' fail mode and length, generation,
 * settings) and revokes what that policy does not allow. A plain reload (or SIGHUP) during the probation makes its
 * policy the permanent one; a second `reload --confirm` restarts the clock
 * and keeps the same policy to go back to. See sluiced(8), RELOAD.
 */
#include "sluiced/daemon.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

struct confirm {
	struct event *timer;
	struct gen *prev;  /* the policy to go back to (a reference) */
	uint64_t probation; /* the generation on probation */
	time_t deadline;
};

int confirm_parse_duration(const char *s, uint32_t *secs)
{
	char *end;
	errno = 0;
	unsigned long v = s && *s >= '0' && *s <= '9' ? strtoul(s, &end, 10) : 0;
	if (!s || *s < '0' || *s > '9' || errno)
		return -1;
	unsigned long mul = !*end || !strcmp(end, "s") ? 1
			    : !strcmp(end, "m")	    ? 60
			    : !strcmp(end, "h")	    ? 3600
						    : 0;
	if (!mul || v == 0 || v > CONFIRM_MAX_S / mul)
		return -1;
	*secs = (uint32_t)(v * mul);
	return 0;
}

static void confirm_clear(struct daemon *d)
{
	struct confirm *c = d->confirm;
	if (!c)
		return;
	event_free(c->timer);
	gen_unref(c->prev);
	free(c);
	d->confirm = NULL;
}

/* The probation is over without a confirm: back to the previous policy. */
static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct confirm *c = d->confirm;
	if (d->gen->id != c->probation) { /* superseded by a plain reload */
		confirm_clear(d);
		return;
	}
	struct gen *prev = c->prev;
	char *err = NULL;
	/* the ruleset and the kernel queues' settings (fail mode, length,
	 * buffer) as the previous policy had them, in the safe order */
	if (daemon_kernel_switch(d, prev->policy, d->gen->policy, NULL,
				 &err) < 0) {
		log_warnx("reload not confirmed, but the previous ruleset was "
			  "rejected: %s; generation %llu stays",
			  err, (unsigned long long)c->probation);
		free(err);
		confirm_clear(d);
		return;
	}
	/* the previous generation itself comes back (its id too): decisions
	 * still running under it may hold references */
	struct gen *g = gen_ref(prev);
	daemon_gen_switch(d, g, NULL);
	size_t cut = g->policy->queue.revoke == REVOKE_ON ? daemon_revoke(d) : 0;
	log_warnx("reload not confirmed within its time: back to the policy "
		  "of generation %llu, %zu sessions revoked",
		  (unsigned long long)g->id, cut);
	confirm_clear(d);
}

int daemon_reload_confirm(struct daemon *d, uint32_t secs,
			  struct evbuffer *out)
{
	struct confirm *c = d->confirm;
	bool pending = c && d->gen->id == c->probation;
	struct gen *prev = NULL;
	if (!pending) {
		confirm_clear(d); /* one superseded by a plain reload */
		pthread_mutex_lock(&d->gen_lock);
		prev = gen_ref(d->gen);
		pthread_mutex_unlock(&d->gen_lock);
	}
	if (daemon_reload(d, out) < 0) {
		gen_unref(prev);
		return -1; /* nothing changed; a pending probation goes on */
	}
	if (!pending) {
		c = d->confirm = xcalloc(1, sizeof(*c));
		c->prev = prev;
		c->timer = evtimer_new(d->base, on_timeout, d);
	}
	c->probation = d->gen->id;
	c->deadline = time(NULL) + secs;
	struct timeval tv = {(time_t)secs, 0};
	evtimer_add(c->timer, &tv);
	evbuffer_add_printf(out, "on probation: generation %llu goes back to "
			    "generation %llu's policy in %u s unless `sluicectl "
			    "confirm` follows\n",
			    (unsigned long long)c->probation,
			    (unsigned long long)c->prev->id, secs);
	return 0;
}

int daemon_confirm(struct daemon *d, struct evbuffer *out)
{
	struct confirm *c = d->confirm;
	if (!c || d->gen->id != c->probation) {
		confirm_clear(d);
		evbuffer_add_printf(out, "nothing to confirm: no reload "
				    "--confirm is on probation");
		return -1;
	}
	evbuffer_add_printf(out, "confirmed: generation %llu stays\n",
			    (unsigned long long)c->probation);
	log_info("reload confirmed: generation %llu stays",
		 (unsigned long long)c->probation);
	confirm_clear(d);
	return 0;
}

long daemon_confirm_left(const struct daemon *d)
{
	const struct confirm *c = d->confirm;
	if (!c || d->gen->id != c->probation)
		return -1;
	long left = (long)(c->deadline - time(NULL));
	return left < 0 ? 0 : left;
}

void daemon_confirm_free(struct daemon *d)
{
	confirm_clear(d);
}

/*
 * vstate.c — the rise/fall state machine of one subscription, its result
 * history, and the names of results and states.
 *
 * unknown --first result--> up (ok) or down (failure), at once;
 * up   --`fall` consecutive failures--> down;
 * down --`rise` consecutive successes--> up.
 * A success resets the failure run and the other way round, so a flapping
 * member never accumulates towards a change.
 */
#include "policy/settings.h"
#include "verify/verify_int.h"

void vsm_init(struct vsm *sm, uint32_t rise, uint32_t fall)
{
	*sm = (struct vsm){
		.state = VS_UNKNOWN,
		.rise = rise ? rise : setting_default(verify_settings, "rise"),
		.fall = fall ? fall : setting_default(verify_settings, "fall"),
	};
}

bool vsm_feed(struct vsm *sm, enum vresult r, enum vstate *prev)
{
	enum vstate old = sm->state, next = old;

	sm->hist[sm->hist_next] = (uint8_t)r;
	sm->hist_next = (sm->hist_next + 1) % VERIFY_HISTORY;
	if (sm->nhist < VERIFY_HISTORY)
		sm->nhist++;

	if (r == VR_OK) {
		sm->fail_run = 0;
		if (sm->ok_run < UINT32_MAX)
			sm->ok_run++;
	} else {
		sm->ok_run = 0;
		if (sm->fail_run < UINT32_MAX)
			sm->fail_run++;
	}

	switch (old) {
	case VS_UNKNOWN:
		next = r == VR_OK ? VS_UP : VS_DOWN;
		break;
	case VS_UP:
		if (sm->fail_run >= sm->fall)
			next = VS_DOWN;
		break;
	case VS_DOWN:
		if (sm->ok_run >= sm->rise)
			next = VS_UP;
		break;
	}
	if (next == old)
		return false;
	sm->state = next;
	if (prev)
		*prev = old;
	return true;
}

unsigned vsm_history(const struct vsm *sm, uint8_t out[VERIFY_HISTORY])
{
	unsigned first = (sm->hist_next + VERIFY_HISTORY - sm->nhist) %
			 VERIFY_HISTORY;

	for (unsigned i = 0; i < sm->nhist; i++)
		out[i] = sm->hist[(first + i) % VERIFY_HISTORY];
	return sm->nhist;
}

const char *vresult_name(enum vresult r)
{
	static const char *const names[VR_COUNT] = {
		[VR_OK] = "ok",
		[VR_TIMEOUT] = "timeout",
		[VR_REFUSED] = "refused",
		[VR_UNREACHABLE] = "unreachable",
		[VR_ADDR] = "address error",
		[VR_TLS] = "tls error",
		[VR_STATUS] = "status mismatch",
		[VR_BODY] = "body mismatch",
		[VR_AUTH] = "auth failed",
		[VR_OTHER] = "other",
		[VR_DNS] = "dns error",
		[VR_ANSWER] = "answer mismatch",
	};
	return (unsigned)r < VR_COUNT ? names[r] : "?";
}

const char *vstate_name(enum vstate s)
{
	switch (s) {
	case VS_UNKNOWN:
		return "unknown";
	case VS_UP:
		return "up";
	case VS_DOWN:
		return "down";
	}
	return "?";
}

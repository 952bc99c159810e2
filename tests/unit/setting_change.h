/*
 * setting_change.h — for tests of the *_cfg_equal comparisons: changes the
 * field of one settings row to another value, so that a comparison that
 * forgets the field is caught by a loop over the table's rows.
 */
#ifndef SLUICE_TESTS_SETTING_CHANGE_H
#define SLUICE_TESTS_SETTING_CHANGE_H

#include "policy/settings.h"

#include <string.h>

/*
 * Changes row S's field in BASE: numbers grow by 1000, bools flip, an enum
 * moves to its next name (wrapping), a string becomes "changed" (or
 * "changed2" when it was "changed"), a list becomes a one-element list of
 * such a string or of the status 204. The new values are static: the
 * caller must not free BASE's copy of them.
 */
static inline void setting_change(const struct setting *s, void *base)
{
	static char changed[] = "changed", changed2[] = "changed2";
	static char *list[] = {changed};
	static struct portrange r204 = {204, 204};
	void *f = (char *)base + s->off;
	size_t *count = (size_t *)((char *)base + s->off2);
	uint32_t v = setting_get(s, base);

	switch (setting_storage(s->type)) {
	case SS_U32:
		setting_set(s, base, v + 1000);
		break;
	case SS_BOOL:
		setting_set(s, base, !v);
		break;
	case SS_INT:
		setting_set(s, base, s->enums[v + 1] ? v + 1 : 0);
		break;
	case SS_STRING: {
		char **str = f;
		*str = *str && !strcmp(*str, changed) ? changed2 : changed;
		break;
	}
	case SS_STRLIST:
		*(char ***)f = list;
		*count = 1;
		break;
	case SS_RANGES:
		*(struct portrange **)f = &r204;
		*count = 1;
		break;
	}
}

#endif

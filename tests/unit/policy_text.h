/*
 * policy_text.h — for the tests of the policy language: a policy loaded
 * from a string, and a search of its located diagnostics.
 */
#ifndef SLUICE_TESTS_POLICY_TEXT_H
#define SLUICE_TESTS_POLICY_TEXT_H

#include "policy/policy.h"

#include <stdbool.h>
#include <string.h>

/* The policy TEXT, loaded as the file "t.conf"; NULL on errors, which go to
 * D (as do warnings). The caller frees both. */
static inline struct policy *load(const char *text, struct diags *d)
{
	return policy_load_buffer("t.conf", text, strlen(text), d);
}

/* True when some diagnostic is at LINE:COL and contains TEXT. */
static inline bool has_diag(const struct diags *d, int line, int col,
			    const char *text)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].loc.line == line && d->v[i].loc.col == col &&
		    strstr(d->v[i].msg, text))
			return true;
	return false;
}

#endif

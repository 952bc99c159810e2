/* reason.c — the names of enum reason (common/reason.h). */
#include "common/reason.h"

static const struct {
	const char *name; /* the decider's */
	const char *log;  /* the firewall log's (sluiced(8) FIREWALL LOG) */
} reason_rows[] = {
    [RSN_RULE] = {"rule", "rule"},
    [RSN_DEFAULT] = {"default", "default"},
    [RSN_DEADLINE] = {"deadline", "deadline"},
    [RSN_SLOTS] = {"slots-full", "slots-full"},
    [RSN_SOURCE] = {"source-full", "per-source"},
    [RSN_MALFORMED] = {"malformed", "fail"},
    [RSN_WATCHDOG] = {"watchdog", "fail"},
    [RSN_SHUTDOWN] = {"shutdown", "fail"},
    [RSN_OVERFLOW] = {"overflow", "fail"},
    [RSN_MISREAD] = {"misread", "misread"},
    [RSN_FILTER] = {"filter", "filter"},
    [RSN_FLOOD_START] = {"flood-start", "flood-start"},
    [RSN_FLOOD_END] = {"flood-end", "flood-end"},
};

_Static_assert(sizeof(reason_rows) / sizeof(reason_rows[0]) == RSN_COUNT,
	       "a name row for every enum reason");

const char *reason_name(enum reason r)
{
	return (unsigned)r < RSN_COUNT && reason_rows[r].name
		   ? reason_rows[r].name
		   : "?";
}

const char *reason_log_name(enum reason r)
{
	return (unsigned)r < RSN_COUNT && reason_rows[r].log
		   ? reason_rows[r].log
		   : "unknown";
}

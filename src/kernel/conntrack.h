/*
 * conntrack.h — reading and changing the kernel's conntrack table
 * (libnetfilter_conntrack): list sessions, delete one (revocation), rewrite
 * a session's mark. Error convention: -1 with errno.
 */
#ifndef SLUICE_CONNTRACK_H
#define SLUICE_CONNTRACK_H

#include "queue/packet.h"

#include <stddef.h>
#include <stdint.h>

struct nf_conntrack;

struct ct_entry {
	struct session_key key; /* original direction */
	uint32_t mark;
	uint32_t timeout;	/* seconds left */
	uint8_t tcp_state;	/* TCP_CONNTRACK_*, 0 for others */
	struct nf_conntrack *ct;
};

struct ct_list {
	struct ct_entry *v;
	size_t n;
};

/* Dumps every conntrack entry (both families) into L. */
int ct_dump(struct ct_list *l);
void ct_list_free(struct ct_list *l);
int ct_delete(const struct ct_entry *e);
int ct_set_mark(const struct ct_entry *e, uint32_t mark);
const char *ct_tcp_state_name(uint8_t s);

#endif

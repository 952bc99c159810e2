/*
 * nftread.c — the counters' read of the kernel table over netlink
 * (libnftnl, libmnl); see nftread.h. Messages: NFT_MSG_GETTABLE,
 * NFT_MSG_GETRULE, NFT_MSG_GETOBJ and NFT_MSG_GETSETELEM of
 * linux/netfilter/nf_tables.h, family NFPROTO_INET, each dump filtered by
 * the table in the kernel.
 */
#include "kernel/nftread.h"
#include "common/hash.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/gen.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

/* A dump's receive buffer (the kernel fills up to this much a recv). */
#define NFTREAD_BUF (1u << 16)
/* Attempts when a dump is interrupted or the table is replaced. */
#define NFTREAD_TRIES 3
/* The longest wait for one answer (the event loop's read: never stuck). */
#define NFTREAD_TIMEOUT_S 2

struct nread {
	struct mnl_socket *nl;
	uint32_t portid, seq;
	char *buf;
	const struct nftread_ops *ops;
	void *ctx;
	uint64_t handle; /* the table's (table_cb) */
	uint32_t flags;	 /* the table's (table_cb) */
	uint64_t n;	 /* setelem_cb: elements so far */
	/* setelem_cb: each element (nftread_set_elems), else NULL */
	void (*elem_fn)(void *ctx, const struct nftread_elem *e);
};

/* NLMSG_ERROR: an acknowledgement (0) ends the answer, an error fails
 * it with errno (as libmnl's own). */
static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;
	errno = e->error < 0 ? -e->error : e->error;
	return MNL_CB_ERROR;
}

/* NLMSG_DONE: the end of a dump, whose payload is the dump's own result
 * (netlink_dump() in net/netlink/af_netlink.c puts the dump callback's
 * error there). libmnl's default ends the dump without looking at it, so
 * a set deleted while its elements were dumped (nf_tables_dump_set()
 * returns -ENOENT) would read as a complete, shorter dump. */
static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)data;
	if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(int))) {
		int err;
		memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
		if (err < 0) {
			errno = -err;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

/* Runs CB on the answers in R->buf[0..N) to request SEQ (mnl_cb_run2 with
 * error_cb, done_cb; NLM_F_DUMP_INTR is libmnl's EINTR). */
static int nread_cb_run(struct nread *r, size_t n, uint32_t seq, mnl_cb_t cb)
{
	static mnl_cb_t ctl[NLMSG_DONE + 1] = {
	    [NLMSG_ERROR] = error_cb,
	    [NLMSG_DONE] = done_cb,
	};
	return mnl_cb_run2(r->buf, n, seq, r->portid, cb, r, ctl,
			   NLMSG_DONE + 1);
}

/* Sends the request NLH and runs CB on every answer until the dump (or
 * the acknowledgement) ends. 0, or -1 with errno (EINTR: the dump was
 * interrupted by a change; ETIMEDOUT: no answer for NFTREAD_TIMEOUT_S;
 * the dump's own error, ENOENT for a set deleted meanwhile). */
static int nread_run(struct nread *r, struct nlmsghdr *nlh, mnl_cb_t cb)
{
	uint32_t seq = nlh->nlmsg_seq;
	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(r->nl, r->buf, NFTREAD_BUF);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				errno = ETIMEDOUT;
			return -1;
		}
		int rc = nread_cb_run(r, (size_t)n, seq, cb);
		if (rc < 0)
			return -1;
		if (rc == MNL_CB_STOP)
			return 0;
	}
}

static struct nlmsghdr *nread_hdr(struct nread *r, uint16_t type,
				  uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(r->buf, type, NFPROTO_INET, flags,
				     ++r->seq);
}

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nread *r = data;
	struct nftnl_table *t = nftnl_table_alloc();
	if (!t)
		return MNL_CB_ERROR;
	if (nftnl_table_nlmsg_parse(nlh, t) == 0) {
		r->handle = nftnl_table_get_u64(t, NFTNL_TABLE_HANDLE);
		r->flags = nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS);
	}
	nftnl_table_free(t);
	return MNL_CB_OK;
}

/* The table's handle into R->handle. 0, or -1 (ENOENT: no such table). */
static int read_handle(struct nread *r, const char *table)
{
	struct nlmsghdr *nlh = nread_hdr(r, NFT_MSG_GETTABLE, NLM_F_ACK);
	struct nftnl_table *t = nftnl_table_alloc();
	if (!t)
		return -1;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	r->handle = 0;
	return nread_run(r, nlh, table_cb);
}

/* What a rule's expressions say: its counter's packets, whether it sets
 * the ct mark, drops or jumps away (goto). */
struct rule_facts {
	uint64_t packets;
	bool allow, deny;
};

static int expr_cb(struct nftnl_expr *e, void *data)
{
	struct rule_facts *f = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	if (!name)
		return MNL_CB_OK;
	if (strcmp(name, "counter") == 0)
		f->packets = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
	else if (strcmp(name, "ct") == 0 && nftnl_expr_is_set(e, NFTNL_EXPR_CT_SREG) &&
		 nftnl_expr_get_u32(e, NFTNL_EXPR_CT_KEY) == NFT_CT_MARK)
		f->allow = true; /* ct mark set */
	else if (strcmp(name, "immediate") == 0 &&
		 nftnl_expr_is_set(e, NFTNL_EXPR_IMM_VERDICT)) {
		int32_t v = (int32_t)nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT);
		if (v == NF_DROP || v == NFT_GOTO)
			f->deny = true;
	}
	return MNL_CB_OK;
}

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	const char **c = data;
	uint8_t len = nftnl_udata_len(attr);
	const char *v = nftnl_udata_get(attr);
	/* the comment is a NUL-terminated string of LEN bytes */
	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT && len > 0 &&
	    v[len - 1] == '\0')
		*c = v;
	return MNL_CB_OK;
}

enum nftread_verdict nftread_rule_verdict(struct nftnl_rule *rule,
					  uint64_t *packets)
{
	struct rule_facts f = {0, false, false};
	nftnl_expr_foreach(rule, expr_cb, &f);
	*packets = f.packets;
	return f.allow ? NFTREAD_ALLOW : f.deny ? NFTREAD_DENY : NFTREAD_NEITHER;
}

const char *nftread_rule_comment(struct nftnl_rule *rule)
{
	uint32_t len = 0;
	const void *ud = nftnl_rule_get_data(rule, NFTNL_RULE_USERDATA, &len);
	const char *comment = NULL;
	if (ud)
		nftnl_udata_parse(ud, len, comment_cb, &comment);
	return comment;
}

/* A rule's chain for verdict_cb. */
struct verdict_walk {
	struct nread *r;
	const char *chain;
};

/* Hands an immediate verdict expression to the reader's verdict callback. */
static int verdict_cb(struct nftnl_expr *e, void *data)
{
	struct verdict_walk *w = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	if (!name || strcmp(name, "immediate") != 0 ||
	    !nftnl_expr_is_set(e, NFTNL_EXPR_IMM_VERDICT))
		return MNL_CB_OK;
	int v = (int)(int32_t)nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT);
	const char *target = (v == NFT_JUMP || v == NFT_GOTO) &&
				     nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN)
				 ? nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN)
				 : NULL;
	w->r->ops->verdict(w->r->ctx, w->chain, v, target);
	return MNL_CB_OK;
}

/* Expressions whose attributes hold state that changes as packets pass
 * (not what the rule does): their names alone go into a digest. */
static bool expr_stateful(const char *name)
{
	return !strcmp(name, "counter") || !strcmp(name, "quota") ||
	       !strcmp(name, "last");
}

/* The digest of the rule in NLH (nftread_ops.rule_digest): its
 * NFTA_RULE_EXPRESSIONS walked as the kernel sent them; *CHAIN its chain
 * (in NLH), NULL when the message has none. */
static uint64_t rule_digest(const struct nlmsghdr *nlh, const char **chain)
{
	const struct nlattr *a, *exprs = NULL;
	*chain = NULL;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) == NFTA_RULE_CHAIN &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			*chain = mnl_attr_get_str(a);
		else if (mnl_attr_get_type(a) == NFTA_RULE_EXPRESSIONS)
			exprs = a;
	}
	/* each expression folded in after those before it */
	uint64_t d = 0;
	const struct nlattr *elem, *x;
	if (exprs)
		mnl_attr_for_each_nested(elem, exprs) {
			const char *name = NULL;
			const struct nlattr *data = NULL;
			mnl_attr_for_each_nested(x, elem) {
				if (mnl_attr_get_type(x) == NFTA_EXPR_NAME &&
				    mnl_attr_validate(x, MNL_TYPE_NUL_STRING) == 0)
					name = mnl_attr_get_str(x);
				else if (mnl_attr_get_type(x) == NFTA_EXPR_DATA)
					data = x;
			}
			if (!name)
				continue;
			uint64_t v[3] = {d, hash_str(name), 0};
			if (data && !expr_stateful(name))
				v[2] = hash_bytes(mnl_attr_get_payload(data),
						  mnl_attr_get_payload_len(data));
			d = hash_bytes(v, sizeof(v));
		}
	return d;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nread *r = data;
	struct nftnl_rule *rule = nftnl_rule_alloc();
	if (!rule)
		return MNL_CB_ERROR;
	if (nftnl_rule_nlmsg_parse(nlh, rule) < 0) {
		nftnl_rule_free(rule);
		return MNL_CB_OK;
	}
	const char *chain;
	uint64_t digest;
	if (r->ops->rule_digest && (digest = rule_digest(nlh, &chain), chain))
		r->ops->rule_digest(r->ctx, chain, digest);
	if (r->ops->verdict && nftnl_rule_is_set(rule, NFTNL_RULE_CHAIN)) {
		struct verdict_walk w = {r, nftnl_rule_get_str(rule,
							       NFTNL_RULE_CHAIN)};
		nftnl_expr_foreach(rule, verdict_cb, &w);
	}
	const char *comment;
	if (r->ops->rule && (comment = nftread_rule_comment(rule))) {
		uint64_t packets;
		enum nftread_verdict v = nftread_rule_verdict(rule, &packets);
		r->ops->rule(r->ctx, comment, v, packets,
			     nftnl_rule_get_u64(rule, NFTNL_RULE_HANDLE));
	}
	nftnl_rule_free(rule);
	return MNL_CB_OK;
}

static int read_rules(struct nread *r, const char *table)
{
	struct nlmsghdr *nlh = nread_hdr(r, NFT_MSG_GETRULE, NLM_F_DUMP);
	struct nftnl_rule *rule = nftnl_rule_alloc();
	if (!rule)
		return -1;
	nftnl_rule_set_str(rule, NFTNL_RULE_TABLE, table);
	nftnl_rule_nlmsg_build_payload(nlh, rule);
	nftnl_rule_free(rule);
	return nread_run(r, nlh, rule_cb);
}

static int obj_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nread *r = data;
	struct nftnl_obj *o = nftnl_obj_alloc();
	if (!o)
		return MNL_CB_ERROR;
	if (nftnl_obj_nlmsg_parse(nlh, o) == 0 && r->ops->counter &&
	    nftnl_obj_get_u32(o, NFTNL_OBJ_TYPE) == NFT_OBJECT_COUNTER &&
	    nftnl_obj_get_str(o, NFTNL_OBJ_NAME))
		r->ops->counter(r->ctx, nftnl_obj_get_str(o, NFTNL_OBJ_NAME),
				nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_PKTS),
				nftnl_obj_get_u64(o, NFTNL_OBJ_HANDLE));
	nftnl_obj_free(o);
	return MNL_CB_OK;
}

static int read_counters(struct nread *r, const char *table)
{
	struct nlmsghdr *nlh = nread_hdr(r, NFT_MSG_GETOBJ, NLM_F_DUMP);
	struct nftnl_obj *o = nftnl_obj_alloc();
	if (!o)
		return -1;
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, table);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nftnl_obj_nlmsg_build_payload(nlh, o);
	nftnl_obj_free(o);
	return nread_run(r, nlh, obj_cb);
}

/* The packets of the counter expression X (an NFTA_LIST_ELEM or
 * NFTA_SET_ELEM_EXPR: NFTA_EXPR_NAME, NFTA_EXPR_DATA) into *PACKETS; other
 * expressions leave it. */
static void elem_counter(const struct nlattr *x, uint64_t *packets)
{
	const struct nlattr *a, *c;
	bool counter = false;
	const struct nlattr *data = NULL;
	mnl_attr_for_each_nested(a, x) {
		if (mnl_attr_get_type(a) == NFTA_EXPR_NAME &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			counter = !strcmp(mnl_attr_get_str(a), "counter");
		else if (mnl_attr_get_type(a) == NFTA_EXPR_DATA)
			data = a;
	}
	if (!counter || !data)
		return;
	mnl_attr_for_each_nested(c, data)
		if (mnl_attr_get_type(c) == NFTA_COUNTER_PACKETS &&
		    mnl_attr_validate(c, MNL_TYPE_U64) == 0)
			*packets = be64toh(mnl_attr_get_u64(c));
}

/* One element E (an NFTA_LIST_ELEM) into *OUT: its key's bytes
 * (NFTA_SET_ELEM_KEY / NFTA_DATA_VALUE), its expiration, its counter
 * (NFTA_SET_ELEM_EXPR, or one of NFTA_SET_ELEM_EXPRESSIONS). */
static void elem_read(const struct nlattr *e, struct nftread_elem *out)
{
	const struct nlattr *a, *v;
	*out = (struct nftread_elem){NULL, 0, 0, -1};
	mnl_attr_for_each_nested(a, e) {
		switch (mnl_attr_get_type(a)) {
		case NFTA_SET_ELEM_KEY:
			mnl_attr_for_each_nested(v, a)
				if (mnl_attr_get_type(v) == NFTA_DATA_VALUE) {
					out->key = mnl_attr_get_payload(v);
					out->len = mnl_attr_get_payload_len(v);
				}
			break;
		case NFTA_SET_ELEM_EXPIRATION:
			if (mnl_attr_validate(a, MNL_TYPE_U64) == 0)
				out->expires_ms =
				    (int64_t)be64toh(mnl_attr_get_u64(a));
			break;
		case NFTA_SET_ELEM_EXPR:
			elem_counter(a, &out->packets);
			break;
		case NFTA_SET_ELEM_EXPRESSIONS:
			mnl_attr_for_each_nested(v, a)
				elem_counter(v, &out->packets);
			break;
		}
	}
}

/* Each element of one NFT_MSG_NEWSETELEM message NLH to R->elem_fn
 * (elem_read), counted in R->n. Walked as raw attributes (libmnl), with
 * no object allocated per element as libnftnl's parser would; the
 * kernel's own dump is most of the cost (160-200 ms for 65,535 elements
 * with counters). */
static int setelem_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nread *r = data;
	const struct nlattr *list = NULL, *a, *e;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS)
			list = a;
	if (!list)
		return MNL_CB_OK;
	mnl_attr_for_each_nested(e, list) {
		if (mnl_attr_get_type(e) != NFTA_LIST_ELEM)
			continue;
		r->n++;
		if (!r->elem_fn)
			continue;
		struct nftread_elem x;
		elem_read(e, &x);
		if (x.key)
			r->elem_fn(r->ctx, &x);
	}
	return MNL_CB_OK;
}

/* The elements of set NAME walked by setelem_cb. 0, or -1 (ENOENT: no
 * such set). */
static int read_set_elems(struct nread *r, const char *table,
			  const char *name)
{
	struct nlmsghdr *nlh = nread_hdr(r, NFT_MSG_GETSETELEM, NLM_F_DUMP);
	struct nftnl_set *s = nftnl_set_alloc();
	if (!s)
		return -1;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	r->n = 0;
	return nread_run(r, nlh, setelem_cb);
}

/* One attempt: 0, or -1 with errno (EINTR or EAGAIN: try again). */
static int read_once(struct nread *r, const char *table)
{
	if (read_handle(r, table) < 0)
		return -1;
	uint64_t first = r->handle;
	if (r->ops->table)
		r->ops->table(r->ctx, first, r->flags);
	if (read_rules(r, table) < 0 ||
	    (r->ops->counter && read_counters(r, table) < 0))
		return -1;
	if (read_handle(r, table) < 0)
		return -1;
	if (r->handle != first) {
		errno = EAGAIN; /* replaced while read */
		return -1;
	}
	return 0;
}

/* R's socket and buffer. 0, or -1 with errno (R holds nothing then). */
static int nread_open(struct nread *r)
{
	r->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!r->nl)
		return -1;
	r->buf = calloc(1, NFTREAD_BUF); /* no uninitialised padding sent */
	if (!r->buf || mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = r->buf ? errno : ENOMEM;
		free(r->buf);
		mnl_socket_close(r->nl);
		errno = err;
		return -1;
	}
	struct timeval tv = {NFTREAD_TIMEOUT_S, 0};
	setsockopt(mnl_socket_get_fd(r->nl), SOL_SOCKET, SO_RCVTIMEO, &tv,
		   sizeof(tv));
	r->portid = mnl_socket_get_portid(r->nl);
	r->seq = (uint32_t)time(NULL);
	return 0;
}

/* Closes R, keeping errno. */
static void nread_close(struct nread *r)
{
	int err = errno;
	free(r->buf);
	mnl_socket_close(r->nl);
	errno = err;
}

static int gen_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_gen *g = nftnl_gen_alloc();
	if (!g)
		return MNL_CB_ERROR;
	if (nftnl_gen_nlmsg_parse(nlh, g) == 0 &&
	    nftnl_gen_is_set(g, NFTNL_GEN_ID))
		*(uint32_t *)data = nftnl_gen_get_u32(g, NFTNL_GEN_ID);
	nftnl_gen_free(g);
	return MNL_CB_STOP;
}

int nftread_genid(uint32_t *gen)
{
	struct nread r = {0};
	if (nread_open(&r) < 0)
		return -1;
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(r.buf, NFT_MSG_GETGEN,
						     AF_UNSPEC, 0, ++r.seq);
	int rc = -1;
	if (mnl_socket_sendto(r.nl, nlh, nlh->nlmsg_len) >= 0) {
		ssize_t n = mnl_socket_recvfrom(r.nl, r.buf, NFTREAD_BUF);
		uint32_t got = 0;
		if (n > 0 && mnl_cb_run(r.buf, (size_t)n, r.seq, r.portid,
					gen_cb, &got) >= 0 && got) {
			*gen = got;
			rc = 0;
		} else if (n >= 0) {
			errno = EPROTO;
		}
	}
	nread_close(&r);
	return rc;
}

int nftread_table(const char *table, const struct nftread_ops *ops,
		  void *ctx)
{
	int rc = -1;
	for (int i = 0; i < NFTREAD_TRIES; i++) {
		/* a new socket each attempt: an interrupted dump leaves the
		 * rest of its answers queued on the old one */
		struct nread r = {.ops = ops, .ctx = ctx};
		if (nread_open(&r) < 0)
			return -1;
		rc = read_once(&r, table);
		nread_close(&r);
		if (rc == 0 || (errno != EINTR && errno != EAGAIN))
			break;
		errno = EAGAIN;
	}
	return rc;
}

int nftread_set_elems(const char *table, const char *set,
		      void (*fn)(void *ctx, const struct nftread_elem *e),
		      void *ctx)
{
	struct nread r = {.ctx = ctx, .elem_fn = fn};
	if (nread_open(&r) < 0)
		return -1;
	int rc = read_set_elems(&r, table, set);
	nread_close(&r);
	return rc < 0 ? -1 : (int)r.n;
}

/* ---- a set's elements read as they come ------------------------------------ */

static int set_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nread *r = data;
	struct nftnl_set *s = nftnl_set_alloc();
	if (!s)
		return MNL_CB_ERROR;
	if (nftnl_set_nlmsg_parse(nlh, s) == 0)
		r->handle = nftnl_set_get_u64(s, NFTNL_SET_HANDLE);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

/* The handle of set NAME of table inet TABLE into R->handle: a set made
 * again (a reload declares its sets anew, ruleset_update.c) has another
 * (nf_tables numbers a table's objects from one counter). 0, or -1 with
 * errno (ENOENT: no such table or set). R's socket blocks. */
static int set_handle(struct nread *r, const char *table, const char *name)
{
	struct nlmsghdr *nlh = nread_hdr(r, NFT_MSG_GETSET, NLM_F_ACK);
	struct nftnl_set *s = nftnl_set_alloc();
	if (!s)
		return -1;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	r->handle = 0;
	return nread_run(r, nlh, set_cb);
}

/* Makes R's socket block (or not). 0, or -1 with errno. */
static int nread_blocking(struct nread *r, bool block)
{
	int fd = mnl_socket_get_fd(r->nl);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, block ? fl & ~O_NONBLOCK : fl | O_NONBLOCK);
}

struct nftread_stream {
	struct nread r;
	uint32_t seq;	 /* the dump's */
	uint64_t handle; /* the set's, when the dump began */
	unsigned parts;	 /* socket buffers read */
	char *table, *set;
};

struct nftread_stream *nftread_set_stream_open(
    const char *table, const char *set,
    void (*fn)(void *ctx, const struct nftread_elem *e), void *ctx)
{
	struct nftread_stream *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->r = (struct nread){.ctx = ctx, .elem_fn = fn};
	if (nread_open(&s->r) < 0) {
		free(s);
		return NULL;
	}
	s->table = strdup(table);
	s->set = strdup(set);
	if (!s->table || !s->set || set_handle(&s->r, table, set) < 0 ||
	    nread_blocking(&s->r, false) < 0) {
		if (!s->table || !s->set)
			errno = ENOMEM;
		nftread_stream_close(s);
		return NULL;
	}
	s->handle = s->r.handle;
	struct nlmsghdr *nlh = nread_hdr(&s->r, NFT_MSG_GETSETELEM, NLM_F_DUMP);
	struct nftnl_set *ns = nftnl_set_alloc();
	if (!ns) {
		nftread_stream_close(s);
		errno = ENOMEM;
		return NULL;
	}
	nftnl_set_set_str(ns, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(ns, NFTNL_SET_NAME, set);
	nftnl_set_elems_nlmsg_build_payload(nlh, ns);
	nftnl_set_free(ns);
	s->seq = nlh->nlmsg_seq;
	if (mnl_socket_sendto(s->r.nl, nlh, nlh->nlmsg_len) < 0) {
		nftread_stream_close(s);
		return NULL;
	}
	return s;
}

int nftread_stream_fd(const struct nftread_stream *s)
{
	return mnl_socket_get_fd(s->r.nl);
}

/* The dump has ended: the set is still the one it began on? 1, or -1
 * with errno (EAGAIN: made again meanwhile; ENOENT: gone). */
static int stream_same_set(struct nftread_stream *s)
{
	if (nread_blocking(&s->r, true) < 0 ||
	    set_handle(&s->r, s->table, s->set) < 0)
		return -1;
	if (s->r.handle != s->handle) {
		errno = EAGAIN;
		return -1;
	}
	return 1;
}

/* Clears NLM_F_DUMP_INTR in the N bytes of messages at BUF. The kernel
 * sets it on a dump's messages once the ruleset's generation has moved
 * (nft_net->base_seq: any commit, to any table: a DNS name's set, the
 * half-open pass, another program's rules), which says nothing of this
 * set; a reload that made the set anew is seen by its handle, a set
 * deleted by the dump's error. */
static void clear_intr(char *buf, size_t n)
{
	int left = (int)n;
	for (struct nlmsghdr *h = (struct nlmsghdr *)buf; mnl_nlmsg_ok(h, left);
	     h = mnl_nlmsg_next(h, &left))
		h->nlmsg_flags &= (uint16_t)~NLM_F_DUMP_INTR;
}

int nftread_stream_read(struct nftread_stream *s, size_t max_reads)
{
	for (size_t i = 0; i < max_reads; i++) {
		ssize_t n = mnl_socket_recvfrom(s->r.nl, s->r.buf, NFTREAD_BUF);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		s->parts++;
		clear_intr(s->r.buf, (size_t)n);
		int rc = nread_cb_run(&s->r, (size_t)n, s->seq, setelem_cb);
		if (rc < 0)
			return -1;
		if (rc == MNL_CB_STOP)
			return stream_same_set(s);
	}
	return 0;
}

uint64_t nftread_stream_count(const struct nftread_stream *s)
{
	return s->r.n;
}

unsigned nftread_stream_parts(const struct nftread_stream *s)
{
	return s->parts;
}

void nftread_stream_close(struct nftread_stream *s)
{
	if (!s)
		return;
	nread_close(&s->r);
	free(s->table);
	free(s->set);
	free(s);
}

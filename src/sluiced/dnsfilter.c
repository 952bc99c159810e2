/*
 * dnsfilter.c — see dnsfilter.h.
 */
#include "sluiced/dnsfilter.h"
#include "common/bytes.h"
#include "common/log.h"
#include "common/util.h"
#include "resolve/resolver.h"
#include "queue/nfq.h"
#include "sluiced/fqueue.h"
#include "stats/counters.h"

#include <netinet/in.h> /* before linux/netfilter.h (its linux/in.h) */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/netfilter.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define EXPIRE_MS 1000	   /* forgets expired queries and bindings */
#define DNS_COPY 0xffff	   /* a whole UDP message, any size */
#define DNS_QUEUE_LEN 4096 /* packets the kernel holds for us */
/* The DNS filter's memory (docs/sluice.conf.5.md, "filter dns"): per
 * source (an address cut to decisions per-source-prefix-v4/v6) and in
 * all; about 400 bytes a query, 250 a binding with its names. */
#define DNS_QUERIES_PER_SOURCE 1024u
#define DNS_BINDINGS_PER_SOURCE 65536u
#define DNS_QUERIES_TOTAL 65536u
#define DNS_BINDINGS_TOTAL 524288u

/* DNS over TCP: any one message per direction, 16 MiB of partial
 * messages in all, 4096 directions (2048 sessions) at once; a direction
 * quiet for 120 s is forgotten (DNS servers close idle connections sooner,
 * RFC 7766 §6.2.3, so a direction is seldom met again without its SYN). */
static const struct dnstcp_cfg TCP_CFG = {.session_cap = DNSTCP_MSG_MAX,
					  .total_cap = 16u << 20,
					  .max_streams = 4096,
					  .idle_ms = 120000};

struct dnsfilter {
	struct fqueue fq; /* its lock guards b, tcp and st */
	uint32_t own;
	struct dnsbind *b;
	struct dnstcp *tcp; /* DNS over TCP put together */
	struct dnsfilter_stats st;
	int rt_prio; /* SCHED_FIFO priority of the thread, 0: as started */
	uint64_t next_expire; /* the queue thread's: next dnsbind_expire() */
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- one packet ------------------------------------------------------------ */

/* The IP header of PKT: fills E's family and addresses, *PROTO and *OFF
 * (the transport header). False when it is not a whole IPv4/IPv6 packet
 * carrying UDP or TCP right after the fixed header. */
static bool read_ip(const uint8_t *pkt, size_t len, struct dns_ends *e,
		    uint8_t *proto, size_t *off, size_t *end)
{
	if (len < 1)
		return false;
	memset(e, 0, sizeof(*e));
	if (pkt[0] >> 4 == 4) {
		size_t ihl = (size_t)(pkt[0] & 15) * 4;
		if (len < 20 || ihl < 20 || ihl > len)
			return false;
		size_t tot = (size_t)pkt[2] << 8 | pkt[3];
		if (tot < ihl || tot > len)
			return false;
		if ((pkt[6] & 0x3f) || pkt[7]) /* a fragment (MF, offset) */
			return false;
		e->family = AF_INET;
		memcpy(e->src, pkt + 12, 4);
		memcpy(e->dst, pkt + 16, 4);
		*proto = pkt[9];
		*off = ihl;
		*end = tot;
		return true;
	}
	if (pkt[0] >> 4 == 6) {
		if (len < 40)
			return false;
		size_t tot = 40 + ((size_t)pkt[4] << 8 | pkt[5]);
		if (tot > len)
			return false;
		e->family = AF_INET6;
		memcpy(e->src, pkt + 8, 16);
		memcpy(e->dst, pkt + 24, 16);
		*proto = pkt[6];
		*off = 40;
		*end = tot;
		return true;
	}
	return false;
}

/* One transport segment at PKT[OFF..END): its ports (into E), payload
 * and, for TCP, sequence number and flags. */
struct seg {
	const uint8_t *data;
	size_t len;
	uint32_t seq;
	unsigned flags;
};

/* Reads the UDP or TCP header at PKT[OFF..END) into E's ports and *S
 * (UDP: the datagram's payload, one DNS message). False when it is not a
 * whole header of PROTO. */
static bool read_transport(const uint8_t *pkt, size_t off, size_t end,
			   uint8_t proto, struct dns_ends *e, struct seg *s)
{
	memset(s, 0, sizeof(*s));
	if (proto == IPPROTO_UDP) {
		if (end - off < 8)
			return false;
		size_t ulen = (size_t)pkt[off + 4] << 8 | pkt[off + 5];
		if (ulen < 8 || ulen > end - off)
			return false;
		e->sport = (uint16_t)(pkt[off] << 8 | pkt[off + 1]);
		e->dport = (uint16_t)(pkt[off + 2] << 8 | pkt[off + 3]);
		s->data = pkt + off + 8;
		s->len = ulen - 8;
		return true;
	}
	if (proto != IPPROTO_TCP || end - off < 20)
		return false;
	size_t doff = (size_t)(pkt[off + 12] >> 4) * 4;
	if (doff < 20 || doff > end - off)
		return false;
	e->sport = (uint16_t)(pkt[off] << 8 | pkt[off + 1]);
	e->dport = (uint16_t)(pkt[off + 2] << 8 | pkt[off + 3]);
	s->seq = (uint32_t)pkt[off + 4] << 24 | (uint32_t)pkt[off + 5] << 16 |
		 (uint32_t)pkt[off + 6] << 8 | pkt[off + 7];
	s->flags = pkt[off + 13] & (DNSTCP_SYN | DNSTCP_FIN | DNSTCP_RST);
	s->data = pkt + off + doff;
	s->len = end - off - doff;
	return true;
}

struct msg_ctx {
	struct dnsbind *b;
	uint64_t now;
	bool not_dns;
};

/* One whole DNS message MSG[0..MLEN) sent E->src → E->dst, shown to the
 * bindings: false when it is to be dropped (malformed, a zone transfer,
 * no DNS header). */
static bool read_message(void *arg, const struct dns_ends *e,
			 const uint8_t *msg, size_t mlen)
{
	struct msg_ctx *c = arg;
	if (mlen < 12) { /* no DNS header */
		c->not_dns = true;
		return false;
	}
	if (msg[2] & 0x80) { /* QR: an answer, server (src) → client */
		enum dnsbind_res r = dnsbind_answer(c->b, e, msg, mlen, c->now);
		return r != DB_MALFORMED;
	}
	enum dnsbind_res r = dnsbind_query(c->b, e, msg, mlen, c->now);
	return r != DB_MALFORMED && r != DB_XFR;
}

bool dnsfilter_packet(struct dnsbind *b, struct dnstcp *t, const uint8_t *pkt,
		      size_t len, uint64_t now, bool *not_dns, bool *tcp_unread)
{
	struct dns_ends e;
	uint8_t proto;
	size_t off, end;
	struct seg s;
	struct msg_ctx c = {b, now, false};

	*not_dns = false;
	*tcp_unread = false;
	if (!read_ip(pkt, len, &e, &proto, &off, &end) ||
	    !read_transport(pkt, off, end, proto, &e, &s)) {
		*not_dns = true;
		return false; /* nothing the kernel would queue here */
	}
	if (proto == IPPROTO_UDP) {
		bool ok = read_message(&c, &e, s.data, s.len);
		*not_dns = c.not_dns;
		return ok;
	}
	if (!t) { /* no reassembly: TCP data passes unread */
		*tcp_unread = s.len > 0;
		return true;
	}
	enum dnstcp_res r = dnstcp_segment(t, &e, s.seq, s.flags, s.data,
					   s.len, now, read_message, &c);
	*not_dns = c.not_dns;
	*tcp_unread = r == DNSTCP_GAP || r == DNSTCP_OVER;
	return r == DNSTCP_READ || r == DNSTCP_EMPTY || r == DNSTCP_DUP;
}

/* ---- the queue thread ---------------------------------------------------------- */

static void on_packet(void *arg, const struct qpacket *pkt)
{
	struct dnsfilter *f = arg;
	bool accept = false, not_dns = false, unread = false;
	f->st.packets++;
	if (pkt->payload)
		accept = dnsfilter_packet(f->b, f->tcp, pkt->payload,
					  pkt->len, now_ms(), &not_dns, &unread);
	else
		not_dns = true; /* cut at the receive slot */
	f->st.not_dns += not_dns;
	f->st.tcp_unread += unread;
	if (accept) {
		nfqs_verdict(f->fq.q, pkt->id, NF_ACCEPT, true, pkt->mark & ~f->own);
	} else {
		f->st.dropped++;
		nfqs_verdict(f->fq.q, pkt->id, NF_DROP, false, 0);
	}
}

/* The thread's real-time priority, when asked: an answer then waits for
 * no ordinary task to be scheduled away. Needs CAP_SYS_NICE or
 * RLIMIT_RTPRIO ≥ PRIO; refused: logged, the thread runs as before. */
static void set_realtime(int prio)
{
	if (prio <= 0)
		return;
	struct sched_param sp = {.sched_priority = prio};
	int e = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	if (e) {
		errno = e;
		log_warn("dns filter: SCHED_FIFO priority %d", prio);
	} else {
		log_info("dns filter: thread runs SCHED_FIFO priority %d", prio);
	}
}

/* The queue thread's start: its scheduling (fqueue first). */
static void thread_first(void *arg)
{
	struct dnsfilter *f = arg;
	set_realtime(f->rt_prio);
	f->next_expire = now_ms() + EXPIRE_MS;
}

/* After every wake-up, under the lock: forgets what expired, once every
 * EXPIRE_MS (fqueue tick). */
static void thread_tick(void *arg)
{
	struct dnsfilter *f = arg;
	uint64_t now = now_ms();
	if (now < f->next_expire)
		return;
	dnsbind_expire(f->b, now);
	dnstcp_expire(f->tcp, now);
	f->next_expire = now + EXPIRE_MS;
}

/* ---- settings -------------------------------------------------------------------- */

/* What the bindings are told at a start or a reload (setup_read: read
 * before the table's lock is taken, as it reads the interfaces and maybe
 * /etc/resolv.conf; setup_apply under it). */
struct setup {
	struct dnsbind_cfg cfg;
	int *fam; /* the gateway's own addresses: fam[i] / addrs[i] */
	uint8_t (*addrs)[16];
	size_t nlocal;
	bool local_read; /* false: getifaddrs failed, the old list stays */
	struct dnsbind_range *trusted; /* the trusted servers */
	size_t ntrusted;
};

/* The gateway's own addresses into S (none and local_read false, logged,
 * when they cannot be read). */
static void read_local(struct setup *s)
{
	struct ifaddrs *ifa = NULL;
	size_t cap = 0;
	if (getifaddrs(&ifa) < 0) {
		log_warn("dns filter: the gateway's addresses");
		return;
	}
	s->local_read = true;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET &&
				     i->ifa_addr->sa_family != AF_INET6))
			continue;
		if (s->nlocal == cap) {
			cap = cap ? cap * 2 : 16;
			s->fam = xrealloc(s->fam, cap * sizeof(*s->fam));
			s->addrs = xrealloc(s->addrs, cap * sizeof(*s->addrs));
		}
		size_t n = s->nlocal++;
		memset(s->addrs[n], 0, 16);
		s->fam[n] = i->ifa_addr->sa_family;
		if (s->fam[n] == AF_INET)
			memcpy(s->addrs[n],
			       &((struct sockaddr_in *)(void *)i->ifa_addr)
				    ->sin_addr, 4);
		else
			memcpy(s->addrs[n],
			       &((struct sockaddr_in6 *)(void *)i->ifa_addr)
				    ->sin6_addr, 16);
	}
	freeifaddrs(ifa);
}

/* True when R holds a loopback address (127.0.0.0/8, ::1). */
static bool range_loopback(const struct dnsbind_range *r)
{
	static const uint8_t v6lo[16] = {[15] = 1};
	return r->family == AF_INET ? r->lo[0] == 127
				    : memcmp(r->lo, v6lo, 16) == 0;
}

/* When one of S's trusted servers is the gateway's loopback (a resolver
 * on the gateway itself: `servers 127.0.0.1`, systemd-resolved's
 * 127.0.0.53), the gateway's own addresses appended, one range each: its
 * clients ask that resolver at an address of the gateway's LAN side. */
static void add_local_if_loopback(struct setup *s)
{
	bool lo = false;
	for (size_t i = 0; i < s->ntrusted && !lo; i++)
		lo = range_loopback(&s->trusted[i]);
	for (size_t i = 0; lo && i < s->nlocal; i++) {
		struct dnsbind_range r = {.family = s->fam[i]};
		memcpy(r.lo, s->addrs[i], 16);
		memcpy(r.hi, s->addrs[i], 16);
		VEC_PUSH(s->trusted, s->ntrusted, r);
	}
}

/* The ranges of address set A appended to *V (*N of them). */
static void ranges_of_set(const struct addrset *a, struct dnsbind_range **v,
			  size_t *n)
{
	for (size_t i = 0; i < a->n4; i++) {
		struct dnsbind_range r = {.family = AF_INET};
		store32(r.lo, a->v4[i].lo);
		store32(r.hi, a->v4[i].hi);
		VEC_PUSH(*v, *n, r);
	}
	for (size_t i = 0; i < a->n6; i++) {
		struct dnsbind_range r = {.family = AF_INET6};
		store128(r.lo, a->v6[i].lo);
		store128(r.hi, a->v6[i].hi);
		VEC_PUSH(*v, *n, r);
	}
}

/* Each of SERVERS[0..NS) (ADDRESS, ADDRESS:PORT, [IPV6]:PORT) as a range
 * of one address appended to *V (*N of them). */
static void ranges_of_servers(char *const *servers, size_t ns,
			      struct dnsbind_range **v, size_t *n)
{
	for (size_t i = 0; i < ns; i++) {
		char addr[INET6_ADDRSTRLEN + 2];
		uint32_t port;
		struct dnsbind_range r = {0};
		resolver_server_split(servers[i], addr, sizeof(addr), &port);
		if (inet_pton(AF_INET, addr, r.lo) == 1)
			r.family = AF_INET;
		else if (inet_pton(AF_INET6, addr, r.lo) == 1)
			r.family = AF_INET6;
		else
			continue;
		memcpy(r.hi, r.lo, sizeof(r.hi));
		VEC_PUSH(*v, *n, r);
	}
}

/* The servers whose answers bind names, into S: resolver { dns-trusted }
 * (a network or computers set), else the resolver's own servers
 * (resolver { servers }, else /etc/resolv.conf's as c-ares reads it; a
 * loopback one is a resolver on the gateway, which its clients reach at
 * the gateway's own addresses: those too). A client asking any other
 * server binds nothing (sluice.conf(5)). */
static void read_trusted(struct setup *s, const struct policy *p)
{
	const char *name = p->resolver.dns_trusted;
	if (name) {
		for (size_t i = 0; i < p->nnets; i++)
			if (strcmp(p->nets[i]->name, name) == 0)
				ranges_of_set(&p->nets[i]->addrs, &s->trusted,
					      &s->ntrusted);
	} else if (p->resolver.nservers) {
		ranges_of_servers(p->resolver.servers, p->resolver.nservers,
				  &s->trusted, &s->ntrusted);
		add_local_if_loopback(s);
	} else {
		size_t nd = 0;
		char **d = resolver_default_servers(&nd);
		ranges_of_servers(d, nd, &s->trusted, &s->ntrusted);
		for (size_t i = 0; i < nd; i++)
			free(d[i]);
		free(d);
		add_local_if_loopback(s);
	}
	if (!s->ntrusted)
		log_warnx("filter dns: no trusted DNS server (resolver { "
			  "dns-trusted } or { servers }): clients' answers bind "
			  "no name");
}

static void cfg_of(const struct policy *p, struct dnsbind_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->grace_s = p->resolver.dns_grace_s;
	c->max_ttl_s = 86400;
	c->query_timeout_ms = 10000;
	c->max_queries = DNS_QUERIES_PER_SOURCE;
	c->max_bindings = DNS_BINDINGS_PER_SOURCE;
	c->max_queries_total = DNS_QUERIES_TOTAL;
	c->max_bindings_total = DNS_BINDINGS_TOTAL;
	/* a source as the decision slots count one (decisions
	 * per-source-prefix-v4/v6) */
	c->prefix_v4 = p->decisions.per_source_prefix_v4;
	c->prefix_v6 = p->decisions.per_source_prefix_v6;
	c->refuse_private = p->resolver.dns_rebinding == REBIND_REFUSE;
}

/* Everything P tells the bindings, into S (free with setup_free). */
static void setup_read(struct setup *s, const struct policy *p)
{
	memset(s, 0, sizeof(*s));
	cfg_of(p, &s->cfg);
	read_local(s);
	read_trusted(s, p);
}

/* S's own addresses (refused as answers: DNS rebinding) and trusted
 * servers into B (its settings are the caller's: new or configure). */
static void setup_apply(struct dnsbind *b, const struct setup *s)
{
	if (s->local_read)
		dnsbind_set_local(b, s->fam, (const uint8_t(*)[16])s->addrs,
				  s->nlocal);
	dnsbind_set_trusted(b, s->trusted, s->ntrusted);
}

static void setup_free(struct setup *s)
{
	free(s->fam);
	free(s->addrs);
	free(s->trusted);
}

struct dnsfilter *dnsfilter_start(const struct policy *p, uint16_t queue,
				  uint32_t own, int rt_prio)
{
	struct nfqs_opts o = {.num = queue,
			      .maxlen = DNS_QUEUE_LEN,
			      .copy = DNS_COPY,
			      .rcvbuf = 4u << 20,
			      .fail_open = false};
	struct dnsfilter *f = xcalloc(1, sizeof(*f));
	struct setup su;
	setup_read(&su, p);
	f->b = dnsbind_new(&su.cfg);
	f->tcp = dnstcp_new(&TCP_CFG);
	setup_apply(f->b, &su);
	setup_free(&su);
	f->own = own;
	f->rt_prio = rt_prio;
	f->fq.name = "dns";
	f->fq.on_packet = on_packet;
	f->fq.first = thread_first;
	f->fq.tick = thread_tick;
	f->fq.arg = f;
	if (fqueue_start(&f->fq, &o) < 0) {
		dnsbind_free(f->b);
		dnstcp_free(f->tcp);
		free(f);
		return NULL;
	}
	return f;
}

void dnsfilter_configure(struct dnsfilter *f, const struct policy *p)
{
	if (!f)
		return;
	struct setup su;
	setup_read(&su, p); /* the interfaces, resolv.conf: before the lock */
	pthread_mutex_lock(&f->fq.lock);
	dnsbind_configure(f->b, &su.cfg);
	setup_apply(f->b, &su);
	pthread_mutex_unlock(&f->fq.lock);
	setup_free(&su);
}

size_t dnsfilter_names(struct dnsfilter *f, int family,
		       const uint8_t client[16], const uint8_t addr[16],
		       void (*append)(void *arg, const char *name), void *arg,
		       bool *partial)
{
	const char *v[DNSBIND_MAX_NAMES];
	bool part = false;
	if (!f)
		return 0;
	pthread_mutex_lock(&f->fq.lock);
	size_t n = dnsbind_names(f->b, family, client, addr, now_ms(), v,
				 DNSBIND_MAX_NAMES, &part);
	for (size_t i = 0; i < n && i < DNSBIND_MAX_NAMES; i++)
		append(arg, v[i]);
	pthread_mutex_unlock(&f->fq.lock);
	if (part && partial)
		*partial = true;
	return n;
}

void dnsfilter_stats(struct dnsfilter *f, struct dnsfilter_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!f)
		return;
	pthread_mutex_lock(&f->fq.lock);
	*out = f->st;
	dnsbind_stats(f->b, &out->bind);
	dnstcp_stats(f->tcp, &out->tcp);
	pthread_mutex_unlock(&f->fq.lock);
}

void dnsfilter_stop(struct dnsfilter *f)
{
	if (!f)
		return;
	fqueue_stop(&f->fq);
	dnsbind_free(f->b);
	dnstcp_free(f->tcp);
	free(f);
}

/* ---- witness ---------------------------------------------------------------------- */

/* V (host order, big-endian value) as network-order bytes. */
static void addr_bytes(const struct flow *fl, bool dst, uint8_t out[16])
{
	memset(out, 0, 16);
	if (fl->family == AF_INET) {
		uint32_t v = dst ? fl->dst4 : fl->src4;
		for (int i = 0; i < 4; i++)
			out[i] = (uint8_t)(v >> (24 - 8 * i));
		return;
	}
	u128 v = dst ? fl->dst6 : fl->src6;
	for (int i = 0; i < 16; i++)
		out[i] = (uint8_t)(v >> (120 - 8 * i));
}

struct told {
	const char *name;
	bool found;
};

static void told_cb(void *arg, const char *name)
{
	struct told *t = arg;
	size_t n = strlen(t->name);
	while (n && t->name[n - 1] == '.')
		n--;
	if (strlen(name) == n && strncasecmp(name, t->name, n) == 0)
		t->found = true;
}

/* True when NAME is an exact entry of one of P's domain sets: the names
 * sluiced resolves ahead of time (lookups_configure). */
static bool resolved_ahead(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->ndoms; i++) {
		const struct domainset *d = p->doms[i];
		for (size_t k = 0; k < d->nexact; k++)
			if (strcasecmp(d->exact[k], name) == 0)
				return true;
	}
	return false;
}

const char *dnsfilter_witness(struct dnsfilter *f, const struct policy *p,
			      const struct flow *fl, const char *name)
{
	if (!name)
		return NULL;
	if (f && !fl->src_local) {
		uint8_t cli[16], dst[16];
		addr_bytes(fl, false, cli);
		addr_bytes(fl, true, dst);
		struct told t = {name, false};
		dnsfilter_names(f, fl->family, cli, dst, told_cb, &t, NULL);
		if (t.found)
			return "dns-answer";
	}
	return resolved_ahead(p, name) ? "resolved-ahead" : "reverse";
}

void dnsfilter_snapshot(struct dnsfilter *f, struct stats_snapshot *s)
{
	struct dnsfilter_stats st;
	dnsfilter_stats(f, &st);
	s->dns_filter_queries = st.bind.queries;
	s->dns_filter_answers_bound = st.bind.answers - st.bind.answers_malformed -
				st.bind.answers_unmatched -
				st.bind.answers_not_bound -
				st.bind.answers_untrusted;
	s->dns_filter_answers_unmatched = st.bind.answers_unmatched;
	s->dns_filter_answers_untrusted = st.bind.answers_untrusted;
	s->dns_filter_dropped = st.dropped;
	s->dns_filter_rebinding_refused = st.bind.rebind_refused;
	s->dns_filter_bindings = st.bind.bindings;
	s->dns_filter_bounded = st.bind.bounded;
	s->dns_filter_tcp_reassembled = st.tcp.reassembled;
	s->dns_filter_tcp_refused = st.tcp.gap + st.tcp.over;
}

bool dnsfilter_first(struct dnsfilter *f, const uint8_t *pkt, size_t len)
{
	bool not_dns, unread;
	if (!f || !pkt)
		return true;
	pthread_mutex_lock(&f->fq.lock);
	bool ok = dnsfilter_packet(f->b, f->tcp, pkt, len, now_ms(), &not_dns,
				   &unread);
	if (!ok)
		f->st.dropped++;
	pthread_mutex_unlock(&f->fq.lock);
	return ok;
}

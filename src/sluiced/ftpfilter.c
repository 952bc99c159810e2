/*
 * ftpfilter.c — see ftpfilter.h.
 */
#include "sluiced/ftpfilter.h"
#include "common/log.h"
#include "common/util.h"
#include "queue/nfq.h"
#include "sluiced/fqueue.h"

#include <netinet/in.h> /* before linux/netfilter.h (its linux/in.h) */
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue_tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define IDLE_S 900	      /* a session silent this long is forgotten */
#define HANDSHAKE_S 60	      /* a session that judged no byte yet this long
				 (the kernel's SYN_RECV timeout) is forgotten */
#define FTP_COPY 0xffff	      /* a whole segment */
#define FTP_QUEUE_LEN 1024    /* packets the kernel holds for us */

enum { AT_LINE, IN_WORD, IN_REST };

/* ---- the commands ------------------------------------------------------------ */

/* Commands that only read or steer the session (RFC 959 §4.1, RFC 775's
 * X-forms, RFC 2389 FEAT/OPTS, RFC 2428 EPRT/EPSV, RFC 3659 SIZE/MDTM/MLST/
 * MLSD/REST, RFC 2640 LANG, RFC 7151 HOST, RFC 1639 LPRT/LPSV). Not here,
 * so refused: STOR STOU APPE ALLO DELE RMD XRMD MKD XMKD RNFR RNTO SITE
 * SMNT AUTH ADAT PROT PBSZ CCC MIC CONF ENC and anything unknown. */
static const char *const readers[] = {
    "USER", "PASS", "ACCT", "CWD",  "XCWD", "CDUP", "XCUP", "PWD",  "XPWD",
    "QUIT", "REIN", "PORT", "PASV", "EPRT", "EPSV", "LPRT", "LPSV", "TYPE",
    "STRU", "MODE", "RETR", "LIST", "NLST", "MLSD", "MLST", "STAT", "HELP",
    "NOOP", "SYST", "FEAT", "OPTS", "SIZE", "MDTM", "REST", "ABOR", "LANG",
    "HOST", "CLNT",
};

/* True when W[0..N) is (PREFIX: the start of) a command that reads. */
static bool reads(const char *w, size_t n, bool prefix)
{
	if (n == 0)
		return prefix;
	for (size_t i = 0; i < ARRAY_SIZE(readers); i++) {
		size_t k = strlen(readers[i]);
		if ((prefix ? n <= k : n == k) &&
		    strncasecmp(w, readers[i], n) == 0)
			return true;
	}
	return false;
}

bool ftp_command_reads(const char *w, size_t n)
{
	return reads(w, n, false);
}

/* ---- the stream -------------------------------------------------------------- */

void ftp_stream_init(struct ftp_stream *s)
{
	memset(s, 0, sizeof(*s));
	s->state = AT_LINE;
}

/* Judges one new byte *C of S's stream (rewriting it); counts in *REFUSED
 * the command words whose refusal starts here. */
static void judge_byte(struct ftp_stream *s, uint8_t *c, int *refused)
{
	bool ends = *c == ' ' || *c == '\r' || *c == '\n';
	if (s->state == AT_LINE) {
		s->wlen = 0;
		s->refusing = false;
		s->state = IN_WORD;
	}
	if (s->state == IN_WORD && ends) {
		/* the word is whole: a command that reads, one refused
		 * already, or the start of a reader the server does not
		 * know ("RET"): no command runs that was not judged */
		s->state = *c == '\n' ? AT_LINE : IN_REST;
		return;
	}
	if (s->state == IN_WORD) {
		if (!s->refusing && s->wlen < sizeof(s->word) &&
		    reads((s->word[s->wlen] = (char)*c, s->word), s->wlen + 1,
			  true)) {
			s->wlen++;
			return;
		}
		if (!s->refusing)
			(*refused)++;
		s->refusing = true;
		*c = 'X';
		return;
	}
	if (*c == '\n')
		s->state = AT_LINE;
}

/* Appends B[0..N) to the window W of S (S->nwin bytes before the call;
 * the caller updates it). */
static void win_append(uint8_t w[FTP_WINDOW], size_t nwin, const uint8_t *b,
		       size_t n)
{
	if (n >= FTP_WINDOW) {
		memcpy(w, b + n - FTP_WINDOW, FTP_WINDOW);
		return;
	}
	if (nwin + n > FTP_WINDOW) {
		size_t drop = nwin + n - FTP_WINDOW;
		memmove(w, w + drop, nwin - drop);
		nwin -= drop;
	}
	memcpy(w + nwin, b, n);
}

/* Appends the new bytes RAW[0..N) (as sent) and PASSED[0..N) (as judged)
 * to S's windows. */
static void win_add(struct ftp_stream *s, const uint8_t *raw,
		    const uint8_t *passed, size_t n)
{
	win_append(s->raw, s->nwin, raw, n);
	win_append(s->win, s->nwin, passed, n);
	s->nwin = s->nwin + n > FTP_WINDOW ? FTP_WINDOW : s->nwin + n;
}

int ftp_stream_start(struct ftp_stream *s, uint32_t ack)
{
	if (s->started)
		return s->start == ack ? 0 : -1;
	s->started = true;
	s->start = s->next = ack;
	return 0;
}

/* How many bytes of S's stream lie before SEQ's start up to NEXT (0 when
 * SEQ is NEXT), or -1 when SEQ is past NEXT (a gap) or before the kept
 * window. Serial arithmetic (RFC 1982): the kept window is far shorter
 * than 2^31, so the signed distance is unambiguous. */
static int64_t bytes_before_next(const struct ftp_stream *s, uint32_t seq)
{
	int64_t ahead = (int32_t)(seq - s->next);
	if (ahead > 0 || -ahead > (int64_t)s->nwin)
		return -1;
	return -ahead;
}

int ftp_stream_judge(struct ftp_stream *s, uint32_t seq, uint8_t *buf,
		     size_t len)
{
	if (!s->started)
		return -1;
	if (len == 0)
		return 0; /* no data: nothing the server could read */
	int64_t old = bytes_before_next(s, seq);
	if (old < 0)
		return -1;
	size_t from = s->nwin - (size_t)old;
	size_t again = (size_t)old < len ? (size_t)old : len;
	/* first copy wins: a byte the server may already hold as judged
	 * must come again the same, or it is not the stream judged */
	if (memcmp(buf, s->raw + from, again) != 0)
		return -1;
	memcpy(buf, s->win + from, again);
	if (again == len)
		return 0;
	size_t n = len - again;
	uint8_t sent[FTP_WINDOW];
	const uint8_t *keep = buf + again + (n > FTP_WINDOW ? n - FTP_WINDOW : 0);
	size_t nkeep = n > FTP_WINDOW ? FTP_WINDOW : n;
	memcpy(sent, keep, nkeep);
	int refused = 0;
	for (size_t i = again; i < len; i++)
		judge_byte(s, &buf[i], &refused);
	win_add(s, sent, keep, nkeep);
	s->next += (uint32_t)n;
	return refused;
}

/* ---- packets ------------------------------------------------------------------- */

bool ftp_read_tcp(uint8_t *pkt, size_t len, int *fam, struct tcphdr **tcp,
		  uint8_t **pay, size_t *plen)
{
	size_t off, end;
	if (len < 1)
		return false;
	if (pkt[0] >> 4 == 4) {
		size_t ihl = (size_t)(pkt[0] & 15) * 4;
		if (len < 20 || ihl < 20 || ihl > len)
			return false;
		end = (size_t)pkt[2] << 8 | pkt[3];
		if (end < ihl || end > len || (pkt[6] & 0x3f) || pkt[7] ||
		    pkt[9] != IPPROTO_TCP)
			return false;
		off = ihl;
		*fam = 4;
	} else if (pkt[0] >> 4 == 6) {
		if (len < 40 || pkt[6] != IPPROTO_TCP)
			return false;
		end = 40 + ((size_t)pkt[4] << 8 | pkt[5]);
		if (end > len)
			return false;
		off = 40;
		*fam = 6;
	} else {
		return false;
	}
	if (end - off < 20)
		return false;
	size_t doff = (size_t)(pkt[off + 12] >> 4) * 4;
	if (doff < 20 || doff > end - off)
		return false;
	*tcp = (struct tcphdr *)(void *)(pkt + off);
	*pay = pkt + off + doff;
	*plen = end - off - doff;
	return true;
}

/* ---- the sessions ------------------------------------------------------------ */

struct session {
	uint8_t key[37]; /* family, addresses, ports (client → server) */
	time_t seen;
	bool closed;	 /* the client's FIN or RST came at the stream's end:
			    its slot goes first, a new SYN/ACK restarts it */
	bool judged;	 /* a client byte was judged: past the handshake */
	struct ftp_stream st;
};

struct ftpfilter {
	struct fqueue fq; /* its lock guards st and ses */
	uint32_t own;
	unsigned prefix_v4, prefix_v6; /* a source: the client address cut to
					  this many bits (atomic) */
	struct ftpfilter_stats st;
	struct session *ses; /* FTP_SESSIONS of them; key[0] == 0: free */
};

/* The session key of the packet PKT of family FAM with TCP header T: the
 * client's address and port first; REPLY: PKT comes from the server. */
static void key_of(const uint8_t *pkt, int fam, const struct tcphdr *t,
		   bool reply, uint8_t key[37])
{
	size_t alen = fam == 4 ? 4 : 16, src = fam == 4 ? 12 : 8;
	const uint8_t *cli = pkt + src + (reply ? alen : 0);
	const uint8_t *srv = pkt + src + (reply ? 0 : alen);
	memset(key, 0, 37);
	key[0] = (uint8_t)fam;
	memcpy(key + 1, cli, alen);
	memcpy(key + 1 + alen, srv, alen);
	memcpy(key + 33, reply ? &t->dest : &t->source, 2);
	memcpy(key + 35, reply ? &t->source : &t->dest, 2);
}

/* True when keys A and B have the same family and client addresses that
 * agree in F's source prefix (one source: ftpfilter_set_prefix()). */
static bool same_source(const struct ftpfilter *f, const uint8_t *a,
			const uint8_t *b)
{
	if (a[0] != b[0])
		return false;
	unsigned bits = __atomic_load_n(a[0] == 4 ? &f->prefix_v4
						  : &f->prefix_v6,
					__ATOMIC_RELAXED);
	size_t whole = bits / 8;
	if (memcmp(a + 1, b + 1, whole) != 0)
		return false;
	if (bits % 8 == 0)
		return true;
	uint8_t m = (uint8_t)(0xff00u >> (bits % 8));
	return ((a[1 + whole] ^ b[1 + whole]) & m) == 0;
}

/* True when S holds a session that never got past the handshake (no
 * client byte judged) for HANDSHAKE_S, or that was silent IDLE_S. */
static bool stale(const struct session *s, time_t now)
{
	return now - s->seen >= (s->judged ? IDLE_S : HANDSHAKE_S);
}

/* Whether slot S may go before BEST (NULL: none yet) when a slot must be
 * reclaimed: closed first, then handshake-only, then stale; idle longest
 * within each. */
static int reclaim_rank(const struct session *s, time_t now)
{
	if (s->closed)
		return 3;
	if (!s->judged)
		return 2;
	return stale(s, now) ? 1 : 0;
}

static bool reclaim_before(const struct session *s, const struct session *best,
			   time_t now)
{
	if (!best)
		return true;
	int a = reclaim_rank(s, now), b = reclaim_rank(best, now);
	return a != b ? a > b : s->seen < best->seen;
}

/* The slot a new session of KEY takes, *RECLAIMED set when it held a
 * session still followed. When KEY's source already holds
 * FTP_PER_SOURCE slots: the one of them reclaim_before() picks if it is
 * closed, handshake-only or stale, else none. Otherwise a free slot, else
 * the one reclaim_before() picks among all if it is closed, handshake-only
 * or stale (a session that judged bytes and is not idle IDLE_S is never
 * taken). NULL when none may be taken. */
static struct session *slot_for_new(struct ftpfilter *f, const uint8_t *key,
				    time_t now, bool *reclaimed)
{
	struct session *free_s = NULL, *any = NULL, *mine = NULL;
	size_t nmine = 0;
	for (size_t i = 0; i < FTP_SESSIONS; i++) {
		struct session *s = &f->ses[i];
		if (s->key[0] == 0) {
			if (!free_s)
				free_s = s;
			continue;
		}
		if (reclaim_before(s, any, now))
			any = s;
		if (same_source(f, s->key, key)) {
			nmine++;
			if (reclaim_before(s, mine, now))
				mine = s;
		}
	}
	struct session *s = nmine >= FTP_PER_SOURCE ? mine
			    : free_s		    ? free_s
						    : any;
	if (!s || s->key[0] == 0) {
		*reclaimed = false;
		return s;
	}
	if (reclaim_rank(s, now) == 0)
		return NULL;
	*reclaimed = !s->closed && !stale(s, now);
	return s;
}

/* The session of KEY (its stream forgotten when it was stale(): only a
 * SYN/ACK starts it again); when CREATE and there is none, a new one in
 * slot_for_new() (counted in reclaimed / no_slot). NULL when there is
 * none (or no slot may be taken). */
static struct session *session_of(struct ftpfilter *f, const uint8_t key[37],
				  bool create, time_t now)
{
	for (size_t i = 0; i < FTP_SESSIONS; i++) {
		struct session *s = &f->ses[i];
		if (s->key[0] == 0 || memcmp(s->key, key, 37) != 0)
			continue;
		if (stale(s, now)) {
			ftp_stream_init(&s->st); /* forgotten */
			s->judged = false;
		}
		s->seen = now;
		return s;
	}
	if (!create)
		return NULL;
	bool reclaimed = false;
	struct session *s = slot_for_new(f, key, now, &reclaimed);
	if (!s) {
		f->st.no_slot++;
		return NULL;
	}
	f->st.reclaimed += reclaimed;
	memcpy(s->key, key, 37);
	s->seen = now;
	s->closed = false;
	s->judged = false;
	ftp_stream_init(&s->st);
	return s;
}

/* ---- the queue thread ---------------------------------------------------------- */

/* The server's SYN/ACK for S acknowledges ACK: S starts there; a closed
 * session (its 5-tuple used again) starts anew. 0, or -1 to drop it
 * (ftp_stream_start()). */
static int session_start(struct session *s, uint32_t ack)
{
	if (s->closed && s->st.start != ack)
		ftp_stream_init(&s->st);
	s->closed = false;
	return ftp_stream_start(&s->st, ack);
}

/* The verdict on the TCP segment TCP (payload PAY[0..PLEN)) of the packet
 * PKT (family FAM): the number of command words refused in it (PAY
 * rewritten), or -1 to drop it. A SYN/ACK is the server's and starts its
 * session's stream; SYN or RST with data is dropped (the server takes no
 * stream bytes from either); a client's FIN or RST without data exactly at
 * the stream's end closes the session (closed: a later retransmission is
 * still judged, its slot is taken first). */
static int judge_segment(struct ftpfilter *f, const uint8_t *pkt, int fam,
			 const struct tcphdr *tcp, uint8_t *pay, size_t plen,
			 time_t now)
{
	uint8_t key[37];
	bool synack = tcp->syn && tcp->ack;
	if (tcp->syn && !tcp->ack && plen)
		f->st.syn_data++; /* TCP Fast Open: the client retries plain */
	if ((tcp->syn || tcp->rst) && plen)
		return -1;
	if (tcp->syn && !tcp->ack)
		return 0; /* the client's plain SYN: its SYN/ACK starts it */
	key_of(pkt, fam, tcp, synack, key);
	struct session *s = session_of(f, key, synack, now);
	if (synack)
		return s ? session_start(s, ntohl(tcp->ack_seq)) : -1;
	if (!s)
		return plen ? -1 : 0; /* no data: nothing to judge */
	uint32_t seq = ntohl(tcp->seq);
	if ((tcp->rst || tcp->fin) && plen == 0) {
		if (s->st.started && seq == s->st.next)
			s->closed = true; /* the session ends */
		return 0;
	}
	int r = ftp_stream_judge(&s->st, seq, pay, plen);
	if (r >= 0 && plen)
		s->judged = true;
	return r;
}

int ftpfilter_judge(struct ftpfilter *f, uint8_t *pkt, size_t len,
		    long long now)
{
	int fam = 0;
	struct tcphdr *tcp = NULL;
	uint8_t *pay = NULL;
	size_t plen = 0;
	f->st.packets++;
	int r = ftp_read_tcp(pkt, len, &fam, &tcp, &pay, &plen)
		    ? judge_segment(f, pkt, fam, tcp, pay, plen, (time_t)now)
		    : -1;
	if (r < 0)
		f->st.dropped++;
	else
		f->st.refused += (uint64_t)r;
	return r;
}

static void on_packet(void *arg, const struct qpacket *pkt)
{
	struct ftpfilter *f = arg;
	int fam = 0;
	struct tcphdr *tcp = NULL;
	uint8_t *pay = NULL, *copy = NULL;
	size_t plen = 0;
	int refused = -1;

	if (pkt->payload && pkt->len == pkt->wire_len) {
		copy = xmalloc(pkt->len);
		memcpy(copy, pkt->payload, pkt->len);
		refused = ftpfilter_judge(f, copy, pkt->len, time(NULL));
		if (refused >= 0)
			ftp_read_tcp(copy, pkt->len, &fam, &tcp, &pay, &plen);
	} else {
		f->st.packets++;
		f->st.dropped++;
	}
	if (refused < 0) {
		nfqs_verdict(f->fq.q, pkt->id, NF_DROP, false, 0);
	} else if (refused > 0 ||
		   (plen && memcmp(pay, pkt->payload + (pay - copy), plen))) {
		if (fam == 4)
			nfq_tcp_compute_checksum_ipv4(
			    tcp, (struct iphdr *)(void *)copy);
		else
			nfq_tcp_compute_checksum_ipv6(
			    tcp, (struct ip6_hdr *)(void *)copy);
		nfqs_verdict_pkt(f->fq.q, pkt->id, NF_ACCEPT, true,
				 pkt->mark & ~f->own, copy, pkt->len);
	} else {
		nfqs_verdict(f->fq.q, pkt->id, NF_ACCEPT, true, pkt->mark & ~f->own);
	}
	free(copy);
}

struct ftpfilter *ftpfilter_new(uint32_t own)
{
	struct ftpfilter *f = xcalloc(1, sizeof(*f));
	f->own = own;
	f->prefix_v4 = 32;
	f->prefix_v6 = 64;
	f->ses = xcalloc(FTP_SESSIONS, sizeof(*f->ses));
	return f;
}

void ftpfilter_free(struct ftpfilter *f)
{
	if (!f)
		return;
	free(f->ses);
	free(f);
}

void ftpfilter_set_prefix(struct ftpfilter *f, unsigned v4, unsigned v6)
{
	if (!f)
		return;
	/* the queue thread reads them: atomic, no lock (also before start) */
	__atomic_store_n(&f->prefix_v4, v4 >= 1 && v4 <= 32 ? v4 : 32,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&f->prefix_v6, v6 >= 1 && v6 <= 128 ? v6 : 64,
			 __ATOMIC_RELAXED);
}

struct ftpfilter *ftpfilter_start(uint16_t queue, uint32_t own)
{
	struct nfqs_opts o = {.num = queue,
			      .maxlen = FTP_QUEUE_LEN,
			      .copy = FTP_COPY,
			      .rcvbuf = 1u << 20,
			      .fail_open = false};
	struct ftpfilter *f = ftpfilter_new(own);
	f->fq.name = "ftp";
	f->fq.on_packet = on_packet;
	f->fq.arg = f;
	if (fqueue_start(&f->fq, &o) < 0) {
		ftpfilter_free(f);
		return NULL;
	}
	return f;
}

/* True when PKT[0..LEN) is a TCP SYN (no ACK) that carries data. */
static bool syn_with_data(const uint8_t *pkt, size_t len)
{
	int fam;
	struct tcphdr *tcp;
	uint8_t *pay, *copy = xmalloc(len ? len : 1);
	size_t plen;
	memcpy(copy, pkt, len); /* ftp_read_tcp() takes a writable packet */
	bool r = ftp_read_tcp(copy, len, &fam, &tcp, &pay, &plen) &&
		 tcp->syn && !tcp->ack && plen > 0;
	free(copy);
	return r;
}

bool ftpfilter_first(struct ftpfilter *f, const uint8_t *pkt, size_t len)
{
	if (!f || !syn_with_data(pkt, len))
		return true;
	pthread_mutex_lock(&f->fq.lock);
	f->st.syn_data++;
	f->st.dropped++;
	pthread_mutex_unlock(&f->fq.lock);
	return false;
}

void ftpfilter_stats(struct ftpfilter *f, struct ftpfilter_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!f)
		return;
	pthread_mutex_lock(&f->fq.lock);
	*out = f->st;
	pthread_mutex_unlock(&f->fq.lock);
}

void ftpfilter_stop(struct ftpfilter *f)
{
	if (!f)
		return;
	fqueue_stop(&f->fq);
	ftpfilter_free(f);
}

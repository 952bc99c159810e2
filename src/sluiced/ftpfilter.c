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

/* Appends the judged bytes B[0..N) to S's window. */
static void win_add(struct ftp_stream *s, const uint8_t *b, size_t n)
{
	if (n >= FTP_WINDOW) {
		memcpy(s->win, b + n - FTP_WINDOW, FTP_WINDOW);
		s->nwin = FTP_WINDOW;
		return;
	}
	if (s->nwin + n > FTP_WINDOW) {
		size_t drop = s->nwin + n - FTP_WINDOW;
		memmove(s->win, s->win + drop, s->nwin - drop);
		s->nwin -= drop;
	}
	memcpy(s->win + s->nwin, b, n);
	s->nwin += n;
}

int ftp_stream_judge(struct ftp_stream *s, uint32_t seq, uint8_t *buf,
		     size_t len)
{
	int refused = 0;
	if (!s->started) {
		s->started = true;
		s->next = seq;
	}
	if (len == 0)
		return 0;
	/* where the segment starts against NEXT (modulo 2^32) */
	int32_t ahead = (int32_t)(seq - s->next);
	if (ahead > 0)
		return -1; /* a gap: wait for the bytes in between */
	size_t old = (size_t)(-(int64_t)ahead);
	if (old > s->nwin)
		return -1; /* before the kept window */
	size_t again = old < len ? old : len;
	memcpy(buf, s->win + s->nwin - old, again);
	if (again == len)
		return 0;
	for (size_t i = again; i < len; i++)
		judge_byte(s, &buf[i], &refused);
	win_add(s, buf + again, len - again);
	s->next += (uint32_t)(len - again);
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
	struct ftp_stream st;
};

struct ftpfilter {
	struct fqueue fq; /* its lock guards st */
	uint32_t own;
	struct ftpfilter_stats st;
	struct session *ses; /* FTP_SESSIONS of them; key[0] == 0: free */
};

static void key_of(const uint8_t *pkt, int fam, const struct tcphdr *t,
		   uint8_t key[37])
{
	memset(key, 0, 37);
	key[0] = (uint8_t)fam;
	if (fam == 4)
		memcpy(key + 1, pkt + 12, 8);
	else
		memcpy(key + 1, pkt + 8, 32);
	memcpy(key + 33, &t->source, 2);
	memcpy(key + 35, &t->dest, 2);
}

/* The session of KEY, a new one (a free slot, or the one idle longest when
 * that was idle IDLE_S), or NULL when all are busy. */
static struct session *session_of(struct ftpfilter *f, const uint8_t key[37],
				  time_t now)
{
	struct session *free_slot = NULL, *oldest = NULL;
	for (size_t i = 0; i < FTP_SESSIONS; i++) {
		struct session *s = &f->ses[i];
		if (s->key[0] == 0) {
			if (!free_slot)
				free_slot = s;
			continue;
		}
		if (memcmp(s->key, key, 37) == 0) {
			s->seen = now;
			return s;
		}
		if (!oldest || s->seen < oldest->seen)
			oldest = s;
	}
	struct session *s = free_slot;
	if (!s && oldest && now - oldest->seen >= IDLE_S)
		s = oldest;
	if (!s)
		return NULL;
	memcpy(s->key, key, 37);
	s->seen = now;
	ftp_stream_init(&s->st);
	return s;
}

/* ---- the queue thread ---------------------------------------------------------- */

static void on_packet(void *arg, const struct qpacket *pkt)
{
	struct ftpfilter *f = arg;
	int fam = 0;
	struct tcphdr *tcp = NULL;
	uint8_t *pay = NULL, *copy = NULL;
	size_t plen = 0;
	int refused = -1;

	f->st.packets++;
	if (pkt->payload && pkt->len == pkt->wire_len) {
		copy = xmalloc(pkt->len);
		memcpy(copy, pkt->payload, pkt->len);
		if (ftp_read_tcp(copy, pkt->len, &fam, &tcp, &pay, &plen)) {
			uint8_t key[37];
			key_of(copy, fam, tcp, key);
			struct session *s = session_of(f, key, time(NULL));
			if (s && (tcp->rst || tcp->fin) && plen == 0) {
				s->key[0] = 0; /* the session ends */
				refused = 0;
			} else if (s) {
				refused = ftp_stream_judge(
				    &s->st, ntohl(tcp->seq), pay, plen);
			}
		}
	}
	if (refused < 0) {
		f->st.dropped++;
		nfqs_verdict(f->fq.q, pkt->id, NF_DROP, false, 0);
	} else if (refused > 0 ||
		   (plen && memcmp(pay, pkt->payload + (pay - copy), plen))) {
		f->st.refused += (uint64_t)refused;
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

struct ftpfilter *ftpfilter_start(uint16_t queue, uint32_t own)
{
	struct nfqs_opts o = {.num = queue,
			      .maxlen = FTP_QUEUE_LEN,
			      .copy = FTP_COPY,
			      .rcvbuf = 1u << 20,
			      .fail_open = false};
	struct ftpfilter *f = xcalloc(1, sizeof(*f));
	f->own = own;
	f->ses = xcalloc(FTP_SESSIONS, sizeof(*f->ses));
	f->fq.name = "ftp";
	f->fq.on_packet = on_packet;
	f->fq.arg = f;
	if (fqueue_start(&f->fq, &o) < 0) {
		free(f->ses);
		free(f);
		return NULL;
	}
	return f;
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
	free(f->ses);
	free(f);
}

/*
 * nftread.h — what the counters and the ruleset watch need of the kernel
 * table, read over netlink with libnftnl: the table's handle, each rule's
 * comment, counter and kind of verdict, the rules' jumps and drops, the
 * named counters; and a set's elements (keys, counters, timeouts). Unlike a listing through libnftables (nft 1.0.6 fetches the
 * elements of every set in the table for any table or chain listing, which
 * under a flood from 65,000 sources is 65,000 per meter), nothing is read
 * that is not asked for.
 */
#ifndef SLUICE_KERNEL_NFTREAD_H
#define SLUICE_KERNEL_NFTREAD_H

#include <stddef.h>
#include <stdint.h>

struct nftnl_rule;

/* A rule's verdict as the counters see it: it allows (sets the ct mark:
 * `ct mark set`), denies (an immediate drop, or a goto: the reject chain)
 * or neither (asks sluiced, NAT, a jump...). */
enum nftread_verdict { NFTREAD_NEITHER = -1, NFTREAD_DENY = 0, NFTREAD_ALLOW = 1 };

/* RULE's verdict (above), and into *PACKETS its anonymous counter's
 * packets (0 without one; a named counter reference is not it). */
enum nftread_verdict nftread_rule_verdict(struct nftnl_rule *rule,
					  uint64_t *packets);
/* RULE's comment (its userdata's NUL-terminated comment record), owned by
 * RULE; NULL without one. */
const char *nftread_rule_comment(struct nftnl_rule *rule);

/* What the reader hands over; any callback may be NULL. Strings live as
 * long as the call. */
struct nftread_ops {
	/* the table's handle and flags (NFT_TABLE_F_DORMANT: its chains
	 * are unhooked, it filters nothing), first, once */
	void (*table)(void *ctx, uint64_t handle, uint32_t flags);
	/* each rule with a comment (rules without one are skipped): PACKETS
	 * of its anonymous counter (0 without), HANDLE the rule's */
	void (*rule)(void *ctx, const char *comment, enum nftread_verdict v,
		     uint64_t packets, uint64_t handle);
	/* each named counter object, with its handle (a reload that flushes
	 * the table keeps the table's handle but makes its objects anew);
	 * NULL: the counters are not read at all */
	void (*counter)(void *ctx, const char *name, uint64_t packets,
			uint64_t handle);
	/* each immediate verdict of each rule, comment or not: the rule's
	 * CHAIN, the VERDICT (NF_DROP, NF_ACCEPT, NFT_JUMP, NFT_GOTO,
	 * NFT_RETURN... of <linux/netfilter/nf_tables.h>) and, for a jump or
	 * goto, its TARGET chain (else NULL) */
	void (*verdict)(void *ctx, const char *chain, int verdict,
			const char *target);
	/* each rule, comment or not: its CHAIN and a DIGEST of what it does
	 * (SipHash under the process key, common/hash.h, of each expression's
	 * name and attributes, the counters' and quotas' values left out), so
	 * that the same rule read again gives the same digest and another
	 * rule, or the same one changed, another */
	void (*rule_digest)(void *ctx, const char *chain, uint64_t digest);
};

/*
 * Reads table inet TABLE: the table (its handle), its rules (dump) and its
 * counter objects (dump); no set's elements. An attempt whose dump the
 * kernel marks interrupted (a change to the ruleset while it ran,
 * NLM_F_DUMP_INTR) or whose table handle changed between its start and
 * its end (the table deleted and made again) is made again on a new
 * socket, up to 3 attempts in all; callbacks may therefore run more than
 * once for a read: CTX is reset by the caller
 * on each OPS->table call. Returns 0, or -1 with errno: ENOENT (no such
 * table), EAGAIN (changed under every attempt), ETIMEDOUT (no answer for
 * 2 s), or the netlink error.
 * Needs CAP_NET_ADMIN in the table's network namespace.
 */
int nftread_table(const char *table, const struct nftread_ops *ops,
		  void *ctx);

/* The kernel's nftables ruleset generation (NFT_MSG_GETGEN's
 * NFTA_GEN_ID), which every committed transaction, of any process and any
 * table, raises by one. 0, or -1 with errno. */
int nftread_genid(uint32_t *gen);

/* One element of a set, as nftread_set_elems gives it. */
struct nftread_elem {
	const void *key;    /* the key's bytes, network order (as stored) */
	size_t len;	    /* 4 for ipv4_addr, 16 for ipv6_addr */
	uint64_t packets;   /* its counter's packets; 0 without one */
	int64_t expires_ms; /* until it times out; -1 without a timeout */
};

/*
 * The elements of set SET of table inet TABLE, one dump: FN(CTX, E) with
 * each (E and its key valid during the call; FN may be NULL to count
 * only). A dump interrupted by a change is not retried. Returns the
 * number of elements, or -1 with errno (ENOENT: no such table or set;
 * EINTR: interrupted). `sluicectl floods`, the flood gauge and the
 * half-open pass read their sets so.
 */
int nftread_set_elems(const char *table, const char *set,
		      void (*fn)(void *ctx, const struct nftread_elem *e),
		      void *ctx);

/*
 * The same dump read piece by piece, for the event loop (a flood from
 * 65,535 sources is 65,535 elements, 160-200 ms of the kernel's dump):
 * nftread_set_stream_open() sends the request on a non-blocking netlink
 * socket of its own (NULL with errno when it cannot); each
 * nftread_stream_read() reads at most MAX_READS socket buffers that have
 * arrived (the kernel fills the next only when the one before was read)
 * and calls FN(CTX, E) for each element in them. It returns 1 when the
 * dump is complete, 0 when more is to come (wait until nftread_stream_fd()
 * is readable), -1 with errno: ENOENT, the set was deleted meanwhile (the
 * dump's own error, in its NLMSG_DONE); EAGAIN, the set was made anew
 * meanwhile (its handle, read when the dump began and when it ended,
 * changed: a reload). A commit elsewhere in the ruleset meanwhile (the
 * kernel's NLM_F_DUMP_INTR, set on a dump for any change to any table) is
 * no error here: it says nothing of this set. Open fails with ENOENT when there is no such table
 * or set. nftread_stream_count() is the number of elements so far,
 * nftread_stream_parts() the socket buffers read; nftread_stream_close()
 * frees S (NULL is fine). The kernel fills a buffer in one walk of the
 * set and resumes the dump by position for the next (nft_rhash_walk()
 * skips the elements counted before), while the packet path adds and
 * removes elements of a dynamic set and its hash table grows and shrinks
 * (rhashtable resizes at 75 % and 30 % load): a dump of more than one
 * buffer may give an element twice, or miss one present throughout, a
 * quarter of the set when a resize falls within it (floods.c reads such a
 * set more than once).
 */
struct nftread_stream;
struct nftread_stream *nftread_set_stream_open(
    const char *table, const char *set,
    void (*fn)(void *ctx, const struct nftread_elem *e), void *ctx);
int nftread_stream_fd(const struct nftread_stream *s);
int nftread_stream_read(struct nftread_stream *s, size_t max_reads);
uint64_t nftread_stream_count(const struct nftread_stream *s);
unsigned nftread_stream_parts(const struct nftread_stream *s);
void nftread_stream_close(struct nftread_stream *s);

#endif

/*
 * radius.h — RADIUS accounting (RFC 2866) as an identity source: reads an
 * Accounting-Request defensively, checks its Request Authenticator with
 * the clients' shared secret, maps it onto the address table (Start and
 * Interim-Update: a login; Stop: a logout) and builds the
 * Accounting-Response. No sockets here: sluiced (src/sluiced/idsources.c)
 * and bench/ feed it datagrams. MD5 from nettle.
 */
#ifndef SLUICE_RADIUS_H
#define SLUICE_RADIUS_H

#include "identity/idtable.h"
#include "policy/policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RADIUS_HDR 20
#define RADIUS_MAX 4096 /* RFC 2865 §3: longest packet */
#define RADIUS_SECRET_MAX 256
#define RADIUS_ACCT_REQUEST 4
#define RADIUS_ACCT_RESPONSE 5

/* Acct-Status-Type values (RFC 2866 §5.1). */
enum { RADIUS_START = 1, RADIUS_STOP = 2, RADIUS_INTERIM = 3,
       RADIUS_ACCT_ON = 7, RADIUS_ACCT_OFF = 8 };

/* IPv6 addresses and prefixes one request may name, all kinds together
 * (more is malformed: a subscriber has one address, one prefix, one
 * delegated prefix, or a few). */
#define RADIUS_V6_MAX 8
/* The widest IPv6 prefix taken as one subscriber's (a /32 is a whole
 * provider's allocation): a wider one is malformed, never a user for a
 * good part of the Internet. */
#define RADIUS_V6_PLEN_MIN IDTABLE_LOGIN_PLEN_MIN6

/* Replays (RFC 5080 §2.2.2, RFC 2869 §5.3): a request sent (its
 * Event-Timestamp plus Acct-Delay-Time) more than RADIUS_MAX_AGE_S before
 * now or RADIUS_MAX_AHEAD_S after, or whose Request Authenticator (a
 * digest of the whole request and the secret: the same bytes have the
 * same) the replay memory holds or may have forgotten (struct radius_seen
 * below), is answered and not applied (a replay, a NAS's clock off, or a
 * retransmission with the same bytes); counted `replayed`. One sent too
 * far ahead, up to RADIUS_REMEMBER_AHEAD_S, is still taken into the
 * memory: refused now, its bytes stay refused when now reaches its window
 * (else a request stamped ahead could be kept and replayed then). Further
 * ahead it is not remembered: its sending time, once forgotten, would be
 * its NAS's floor (a NAS clock set years ahead by mistake, or one request
 * of anyone with the secret, would hold back that NAS for years); a
 * replay of it needs a NAS clock over an hour fast, and waiting for it. */
#define RADIUS_MAX_AGE_S 900
#define RADIUS_MAX_AHEAD_S 300
#define RADIUS_REMEMBER_AHEAD_S 3600
#define RADIUS_SEEN 32768
/* NAS keys given a floor of their own (struct radius_seen). */
#define RADIUS_SEEN_NAS 4096

/* One IPv6 address (PLEN 128) or prefix a request names. */
struct radius_v6 {
	uint8_t addr[16]; /* bits past PLEN zero */
	uint8_t plen;	  /* RADIUS_V6_PLEN_MIN..128 */
};

/* The attributes of an Accounting-Request that matter here. */
struct radius_acct {
	uint8_t id;
	uint32_t status; /* Acct-Status-Type; 0 when absent */
	char user[254];	 /* User-Name, NUL-terminated; "" when absent */
	bool has_v4;
	uint8_t v4[4];	 /* Framed-IP-Address */
	/* Framed-IPv6-Address (RFC 6911), Framed-IPv6-Prefix (RFC 3162) and
	 * Delegated-IPv6-Prefix (RFC 4818), in the order they came */
	struct radius_v6 v6[RADIUS_V6_MAX];
	size_t n6;
	bool has_event_ts;
	uint32_t event_ts; /* Event-Timestamp (RFC 2869 §5.3): Unix seconds */
	uint32_t delay_s;  /* Acct-Delay-Time (RFC 2866 §5.2); 0 when absent */
	/* The NAS key: 8 bytes of MD5 over the NAS-IP-Address,
	 * NAS-Identifier and NAS-IPv6-Address attributes as they came
	 * (never 0); 0 when the request names no NAS. */
	uint64_t nas;
};

enum radius_result {
	RADIUS_OK,
	RADIUS_MALFORMED, /* not a well-formed Accounting-Request */
	RADIUS_BAD_AUTH,  /* the authenticator does not match the secret */
};

/*
 * Reads the LEN bytes of PKT (a UDP payload) as an Accounting-Request and
 * checks its authenticator: MD5(Code, Identifier, Length, 16 zero octets,
 * attributes, SECRET) (RFC 2866 §3). Bytes past the Length field are
 * padding and ignored (RFC 2865 §3). Malformed: shorter than 20 bytes or
 * than its Length, Length outside 20..4096, another code, an attribute
 * running past the end or shorter than 2 bytes, a used attribute of the
 * wrong size, User-Name, Framed-IP-Address or Acct-Status-Type given
 * twice, a User-Name that is not a valid name (common/text.h), an IPv6
 * prefix attribute (Reserved, Prefix-Length, Prefix: RFC 3162 §2.3, RFC
 * 4818 §3) whose Prefix-Length is over 128 or under RADIUS_V6_PLEN_MIN,
 * whose Prefix holds fewer bytes than its length needs or more than 16,
 * more than RADIUS_V6_MAX IPv6 attributes, an Event-Timestamp or
 * Acct-Delay-Time not of 4 bytes or given twice. Prefix bits past the length are cleared. Fills OUT
 * only on RADIUS_OK.
 */
enum radius_result radius_parse_acct(const uint8_t *pkt, size_t len,
				     const uint8_t *secret, size_t slen,
				     struct radius_acct *out);

/* Writes the 20-byte Accounting-Response to REQ (its first 20 bytes)
 * into RESP: code 5, REQ's identifier, length 20, authenticator
 * MD5(5, id, 20, REQ's authenticator, SECRET). */
void radius_acct_response(const uint8_t *req, const uint8_t *secret,
			  size_t slen, uint8_t resp[RADIUS_HDR]);

/* What one datagram came to. */
enum radius_outcome {
	RADIUS_ANSWERED,   /* recorded (or nothing to record); RESP to send */
	RADIUS_DROPPED_CLIENT, /* FROM is not a client: no answer */
	RADIUS_DROPPED_AUTH,   /* bad authenticator: no answer */
	RADIUS_DROPPED_MALFORMED, /* no answer */
};

/*
 * The replay memory (RFC 5080 §2.2.2): the Request Authenticators of the
 * last RADIUS_SEEN requests taken, each with the time it was sent
 * (Event-Timestamp plus Acct-Delay-Time) when it said, and its NAS key
 * (radius_acct.nas). When full, the oldest taken is forgotten, and from
 * then on it fails closed:
 *  - a request with an Event-Timestamp sent no later than the latest
 *    sending time forgotten so far *of its NAS key* (that key's "floor")
 *    is refused, as it may be one forgotten: the 15-minute window shrinks
 *    to what is remembered, whatever the request rate;
 *  - once a request without an Event-Timestamp was forgotten, every
 *    request without one is refused (it has no age to tell it by).
 *
 * Floors per NAS key, not one for all: a NAS whose clock runs ahead (up to
 * RADIUS_MAX_AHEAD_S is taken, and a request stamped further ahead is
 * remembered too) raises only its own key's floor; before, one request
 * stamped 290 s ahead, once forgotten, had every NAS's correctly-timed
 * requests refused. The key is made of what the Request Authenticator
 * covers (NAS-IP-Address, NAS-Identifier, NAS-IPv6-Address, which RFC
 * 2866 §4.1 has every Accounting-Request carry), never of the source
 * address: a captured request of NAS A sent again from B's address (UDP
 * sources are spoofed at will, and both are radius-clients) still names
 * A, so it is judged by A's floor; a key with the source in it would be
 * a key never seen, with no floor, and the replay would be taken.
 * Requests naming no NAS share key 0. What a key cannot do: one with the
 * shared secret can name any NAS, so it can still raise that NAS's floor
 * (it could as well forge that NAS's Stops).
 *
 * Bounded: RADIUS_SEEN_NAS keys have a slot (a floor) of their own; every
 * other key is judged by one shared floor, the "lost" one. When all slots
 * are taken, a new key takes the slot of one counting no remembered
 * request (among the next few looked at), whose floor then goes into the
 * lost floor; a new slot starts at the lost floor (the one its key was
 * judged by). A request remembered without a slot raises the lost floor
 * when forgotten (and its key's floor, if it got a slot since). So a
 * fleet of more than RADIUS_SEEN_NAS NASes, or one with the secret making
 * up keys, can have NASes idle for RADIUS_SEEN requests share a floor
 * again; NASes with a request among the last RADIUS_SEEN keep their own.
 */
struct radius_seen;
/* A new, empty one (about 2.3 MiB); free it with radius_seen_free. */
struct radius_seen *radius_seen_new(void);
void radius_seen_free(struct radius_seen *s);

/* What radius_seen_take() found. */
enum radius_seen_verdict {
	RADIUS_SEEN_NEW,      /* not taken before: now remembered */
	RADIUS_SEEN_AGAIN,    /* remembered: the same bytes taken before */
	RADIUS_SEEN_FLOOR,    /* sent no later than its NAS key's floor:
				 may be one forgotten */
	RADIUS_SEEN_UNTIMED,  /* no Event-Timestamp, and one without was
				 forgotten */
};
/*
 * Takes the request of NAS key NAS whose Request Authenticator is AUTH
 * (16 bytes), sent at SENT (Unix seconds: Event-Timestamp plus
 * Acct-Delay-Time) when TIMED, else with no time: remembers it and gives
 * RADIUS_SEEN_NEW, or refuses it (any other value; nothing remembered) by
 * the rules above. When the memory is full the oldest taken is forgotten
 * first (raising its key's floor, or marking untimed requests lost). No
 * errors. radius_seen_take() is the same for key 0 (no NAS named).
 */
enum radius_seen_verdict radius_seen_take_nas(struct radius_seen *s,
					      uint64_t nas,
					      const uint8_t *auth, bool timed,
					      int64_t sent);
enum radius_seen_verdict radius_seen_take(struct radius_seen *s,
					  const uint8_t *auth, bool timed,
					  int64_t sent);
/* Requests refused by a floor and as untimed (the `replayed` counter
 * counts them too), and the floor NAS key NAS (0 with
 * radius_seen_floor) is judged by (INT64_MIN: none yet). */
uint64_t radius_seen_refused_floor(const struct radius_seen *s);
uint64_t radius_seen_refused_untimed(const struct radius_seen *s);
int64_t radius_seen_floor_of(const struct radius_seen *s, uint64_t nas);
int64_t radius_seen_floor(const struct radius_seen *s);

/* Bytes radius_seen_export() writes at most. */
#define RADIUS_SEEN_SAVE_HEAD 17 /* lost floor (8, big-endian), flags (1),
				  * slots (8) */
#define RADIUS_SEEN_SAVE_NAS 16	 /* key (8), floor (8) */
#define RADIUS_SEEN_SAVE_REC 32	 /* authenticator (16), sent (8), key (8) */
#define RADIUS_SEEN_SAVE_MAX                                                  \
	(RADIUS_SEEN_SAVE_HEAD +                                              \
	 (size_t)RADIUS_SEEN_SAVE_NAS * RADIUS_SEEN_NAS +                     \
	 (size_t)RADIUS_SEEN_SAVE_REC * RADIUS_SEEN)
/* S as bytes into OUT (room for RADIUS_SEEN_SAVE_MAX): the lost floor,
 * whether an untimed request was forgotten, the number of NAS slots, each
 * slot's key and floor, then each authenticator remembered with its
 * sending time (INT64_MIN: none) and NAS key, oldest first; gives the
 * length. For sluiced's state file, so that a restart forgets nothing
 * (a Start captured before it could be replayed after it). */
size_t radius_seen_export(const struct radius_seen *s, uint8_t *out);
/* Reads the LEN bytes at V (radius_seen_export) into S, a new one, as if
 * those requests had been taken in that order, with the floors saved;
 * 0, or -1 (EINVAL: not such bytes; S then as it was). */
int radius_seen_import(struct radius_seen *s, const uint8_t *v, size_t len);
/* Raises every floor of S (each slot's and the lost one) to at least
 * FLOOR: requests sent then or before are refused (a memory that could
 * not be read back: fail closed). */
void radius_seen_hold(struct radius_seen *s, int64_t floor);
/* How many authenticators S has taken since it was made: changes when a
 * save is due. */
uint64_t radius_seen_taken(const struct radius_seen *s);

/* The state one listener needs: the table, the clients, the secret, the
 * lifetime of a login. */
struct radius_ctx {
	struct idtable *ids;
	const struct addrset *clients;
	uint8_t secret[RADIUS_SECRET_MAX];
	size_t slen;
	uint32_t ttl_s;
	struct radius_seen *seen; /* not owned; NULL: no replay memory */
};

/*
 * Handles the datagram PKT (LEN bytes) from FROM (FAMILY AF_INET or
 * AF_INET6, 4 or 16 bytes; an IPv4-mapped IPv6 address counts as IPv4):
 * drops it unless FROM is in CTX's clients and it reads right; Start and
 * Interim-Update log the user in at each address and IPv6 prefix it names
 * (source radius; a prefix stands for every address in it without an entry
 * of its own, idtable.h), Stop logs that user out of each; then writes the
 * response to
 * RESP. NOW is the wall clock (Unix seconds) the Event-Timestamp is held
 * to; a replay, or a request the replay memory may have forgotten, is
 * answered and not applied (radius_seen_take above; counted `replayed`).
 * Every drop is counted in the table's radius counters; a drop is logged
 * by the caller, rate-limited.
 */
enum radius_outcome radius_handle(struct radius_ctx *ctx, int family,
				  const uint8_t *from, const uint8_t *pkt,
				  size_t len, int64_t now,
				  uint8_t resp[RADIUS_HDR]);

/* Reads the shared secret from PATH into CTX (first line, without its
 * line end; 1..256 bytes). 0, or -1 with errno (EINVAL: empty or too
 * long). */
int radius_read_secret(struct radius_ctx *ctx, const char *path);

#endif

/*
 * store.h - the library's side of a session store (store.c): loading
 * sessions, and the commit of a finished turn, which the store owns.
 *
 * A commit has three steps, so that the middle one (the store's I/O) could
 * run elsewhere, for example on a store thread, while the engine goes on:
 *   hf_store_commit_prepare  checks the turn and makes every allocation the last
 *                      step needs; touches nothing;
 *   hf_store_commit_write    the store's commit op; reads only the hf_commit;
 *   hf_store_commit_apply    the turn into the in-memory session; cannot fail.
 * hf_store_commit_turn runs the three in place.
 */
#ifndef HF_STORE_H
#define HF_STORE_H

#include "handoff/store.h"
#include "session.h"

typedef struct hf_commit {
	const char *id;      /* the session's id (borrowed) */
	size_t expected;     /* messages the store must hold before this turn */
	char *agent;         /* the holder after the turn (owned; NULL: none yet) */
	hf_usage usage;
	const char **texts;  /* the turn's message texts (borrowed from turn) */
	hf_msglist *turn;
} hf_commit;

/* Check the turn's messages (HF_EPROTOCOL, HF_ELIMIT, "message 2 of the
 * turn") and prepare everything the other steps need (HF_ENOMEM). agent
 * NULL keeps the session's holder; usage may be NULL. On failure c needs no
 * dispose. s, turn must not change until hf_store_commit_apply/dispose. */
int hf_store_commit_prepare(hf_commit *c, hf_session *s, hf_msglist *turn, const char *agent,
                      const hf_usage *usage, hf_error *err);
/* Store the prepared turn in one transaction. HF_ECONFLICT when the store
 * holds other than c->expected messages; HF_ESTORE. */
int hf_store_commit_write(hf_store *st, const hf_commit *c, hf_error *err);
/* Move the turn into s (c->turn is left empty). Cannot fail. */
void hf_store_commit_apply(hf_commit *c, hf_session *s);
void hf_commit_dispose(hf_commit *c);

/* Commit a finished turn: prepare, write to st (NULL: in memory only),
 * apply. On any error neither st nor s changes and turn stays the
 * caller's; on success the turn's messages have moved into s. */
int hf_store_commit_turn(hf_store *st, hf_session *s, hf_msglist *turn, const char *agent,
                         const hf_usage *usage, hf_error *err);

#endif

/*
 * session.h - conversation state, in memory only: the id, the ordered
 * message history (msglist.h), the agent that holds the conversation and
 * the usage so far. The store (store.h) loads sessions and commits turns;
 * nothing here knows about it.
 */
#ifndef HF_SESSION_H
#define HF_SESSION_H

#include "internal.h"
#include "msglist.h"

/* The history (borrowed, read-only for the runner). */
const hf_msglist *hf_session_history(const hf_session *s);

/* Decode one stored message text and append it (the loader). See
 * hf_msglist_add_stored. */
int hf_session_add_stored(hf_session *s, const char *json, size_t len, hf_error *err);

/* Set the usage so far (the loader). */
void hf_session_set_usage(hf_session *s, const hf_usage *usage);

/* Make room for `n` more messages, so that hf_session_apply of a turn of
 * that many cannot fail. HF_ENOMEM. */
int hf_session_reserve(hf_session *s, size_t n);

/* Apply a committed turn: move its messages to the end of the history
 * (turn is left empty), take `agent` (owned, may be NULL: unchanged) as
 * the holder and add usage (may be NULL). Cannot fail after
 * hf_session_reserve(s, turn's count). */
void hf_session_apply(hf_session *s, hf_msglist *turn, char *agent, const hf_usage *usage);

#endif

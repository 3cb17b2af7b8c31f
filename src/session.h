/*
 * session.h - conversation state (internal layout) and the turn commit.
 * A session is the ordered list of wire-format messages (cJSON objects, as
 * sent to the model, system messages excluded), the agent that holds the
 * conversation, and the usage so far.
 */
#ifndef HF_SESSION_H
#define HF_SESSION_H

#include "internal.h"
#include "handoff/store.h"

#include <cjson/cJSON.h>

struct hf_session {
	char *id;
	char *agent;        /* NULL before the first turn */
	hf_usage usage;
	cJSON *messages;    /* array of message objects */
	char **texts;       /* lazily printed JSON of each message (hf_session_message_json) */
	size_t ntexts;
};

/* Borrowed message array (read-only for the runner). */
const cJSON *hf_session_messages(const hf_session *s);

/* The JSON texts of messages from..count-1 into out (count - from
 * entries), in one pass over the messages; each text is printed once and
 * kept by the session (borrowed, valid until the session changes).
 * HF_ENOMEM. */
int hf_session_message_texts(const hf_session *s, size_t from, const char **out);

/* Validate one stored message text and append it to s (the session record
 * decoder; also used by hf_store_loader_add). HF_EPROTOCOL when the text is
 * not a JSON object with a known role and the fields that role needs. */
int hf_session_add_stored(hf_session *s, const char *json, size_t len, hf_error *err);

/* Commit a finished turn: when st is not NULL, store it in one transaction
 * (expected = the current message count; HF_ECONFLICT if another writer got
 * there first); then append copies of the `turn` messages to s, set the
 * holding agent and add usage. On any error s is unchanged. `turn` stays
 * the caller's. */
int hf_session_commit(hf_session *s, hf_store *st, const cJSON *turn, const char *agent,
                      const hf_usage *usage, hf_error *err);

/* As hf_session_commit, for a caller that already holds each turn message
 * printed (texts[i] is cJSON_PrintUnformatted of turn message i, from
 * hf_malloc): on success the messages and texts move into s (turn is left
 * empty, texts[i] set to NULL); on failure nothing changes and the caller
 * keeps both. */
int hf_session_commit_texts(hf_session *s, hf_store *st, cJSON *turn, char **texts,
                            const char *agent, const hf_usage *usage, hf_error *err);

/* Store operations used by the session layer (store.c). */
int hf_store_commit(hf_store *st, const char *id, size_t expected, const char *agent,
                    const hf_usage *usage, const char *const *messages, size_t n,
                    hf_error *err);
int hf_store_set_agent(hf_store *st, const char *id, const char *agent, hf_error *err);

/* The SQLite store's database path (store_sqlite.c): `path` when not NULL or
 * empty, else $HANDOFF_DB, else $XDG_STATE_HOME/handoff/sessions.db, else
 * $HOME/.local/state/handoff/sessions.db. *out is owned. HF_ESTORE when
 * none of these is set. */
int hf_store_sqlite_path(char **out, const char *path, hf_error *err);

#endif

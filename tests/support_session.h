/*
 * support_session.h - helpers for the session and store tests, and a
 * conformance check any session store must pass.
 */
#ifndef HF_TEST_SUPPORT_SESSION_H
#define HF_TEST_SUPPORT_SESSION_H

#include "support.h"

#include "store.h"

/* cmocka group set-up that calls hf_global_init / hf_global_cleanup. */
int ts_global_setup(void **state);
int ts_global_teardown(void **state);

/* A fresh temporary directory and a database path in it, as *state. */
typedef struct ts_dbdir {
	char *dir;
	char *db; /* dir/sessions.db, not created */
} ts_dbdir;
int ts_dbdir_setup(void **state);
int ts_dbdir_teardown(void **state);

/* Commit the messages of `turn` (a JSON array; it stays the caller's) as
 * one turn through the store's commit (hf_store_commit_turn). */
int ts_session_commit(hf_session *s, hf_store *st, const cJSON *turn, const char *agent,
                      const hf_usage *usage, hf_error *err);

/* A turn of two messages: the user's text and an assistant answer. */
cJSON *ts_turn(const char *user, const char *answer);
/* Commit such a turn with usage {1, 10, 3, 13}; returns the hf_code. */
int ts_commit(hf_session *s, hf_store *st, const char *agent, const char *user,
              const char *answer, hf_error *err);
/* The same, failing the test on an error. */
void ts_must_commit(hf_session *s, hf_store *st, const char *agent, const char *user,
                    const char *answer);

/* What include/handoff/store.h promises, checked on an empty store:
 * round trip, conflicts, list order and limit, latest, set_agent, delete. */
void ts_store_conformance(hf_store *st);

#endif

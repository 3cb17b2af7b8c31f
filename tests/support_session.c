/*
 * support_session.c - helpers for the session and store tests (see
 * support_session.h).
 */
#include "support_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ts_global_setup(void **state)
{
	(void)state;
	return hf_global_init(NULL);
}

int ts_global_teardown(void **state)
{
	(void)state;
	hf_global_cleanup();
	return 0;
}

int ts_dbdir_setup(void **state)
{
	ts_dbdir *d = calloc(1, sizeof(*d));
	hf_global_init(NULL);
	d->dir = ts_tmpdir();
	d->db = ts_path(d->dir, "sessions.db");
	*state = d;
	return 0;
}

int ts_dbdir_teardown(void **state)
{
	ts_dbdir *d = *state;
	ts_rmtree(d->dir);
	free(d->dir);
	free(d->db);
	free(d);
	hf_global_cleanup();
	return 0;
}

cJSON *ts_turn(const char *user, const char *answer)
{
	cJSON *t = cJSON_CreateArray(), *m;
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", "user");
	cJSON_AddStringToObject(m, "content", user);
	cJSON_AddItemToArray(t, m);
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", "assistant");
	cJSON_AddStringToObject(m, "content", answer);
	cJSON_AddItemToArray(t, m);
	return t;
}

int ts_session_commit(hf_session *s, hf_store *st, const cJSON *turn, const char *agent,
                      const hf_usage *usage, hf_error *err)
{
	hf_msglist l = HF_MSGLIST_INIT;
	const cJSON *m;
	int rc = HF_OK;
	if (!cJSON_IsArray(turn))
		return hf_err(err, HF_EINVAL, "ts_session_commit: the turn is not an array");
	cJSON_ArrayForEach(m, turn)
		if (!rc && hf_msglist_add(&l, cJSON_Duplicate(m, 1)))
			rc = hf_err(err, HF_ENOMEM, "out of memory copying a turn");
	if (!rc)
		rc = hf_store_commit_turn(st, s, &l, agent, usage, err);
	hf_msglist_dispose(&l);
	return rc;
}

int ts_commit(hf_session *s, hf_store *st, const char *agent, const char *user,
              const char *answer, hf_error *err)
{
	hf_usage u = { 1, 10, 3, 13 };
	cJSON *t = ts_turn(user, answer);
	int rc = ts_session_commit(s, st, t, agent, &u, err);
	cJSON_Delete(t);
	return rc;
}

void ts_must_commit(hf_session *s, hf_store *st, const char *agent, const char *user,
                    const char *answer)
{
	hf_error err;
	if (ts_commit(s, st, agent, user, answer, &err))
		fail_msg("commit to %s: %s", hf_session_id(s), err.message);
}

/* ---- conformance ---- */

typedef struct listed {
	char ids[8][32];
	size_t messages[8];
	uint64_t tokens[8];
	size_t n;
	size_t stop_after; /* 0: never stop */
} listed;

static int collect(const hf_session_info *info, void *payload)
{
	listed *l = payload;
	assert_true(l->n < 8);
	snprintf(l->ids[l->n], sizeof(l->ids[0]), "%s", info->id);
	l->messages[l->n] = info->messages;
	l->tokens[l->n] = info->usage.total_tokens;
	l->n++;
	return l->stop_after && l->n >= l->stop_after;
}

static listed list_of(hf_store *st, size_t limit, size_t stop_after)
{
	listed l;
	hf_error err;
	memset(&l, 0, sizeof(l));
	l.stop_after = stop_after;
	if (hf_store_list(st, limit, collect, &l, &err))
		fail_msg("list: %s", err.message);
	return l;
}

static void check_round_trip(hf_store *st)
{
	hf_session *s, *back;
	hf_error err;
	hf_usage u;
	size_t i;
	assert_int_equal(hf_session_new(&s, "conf-rt", &err), HF_OK);
	ts_must_commit(s, st, "Spanish agent", "Hola, \xc2\xbf" "qu\xc3\xa9 tal?", "Bien");
	ts_must_commit(s, st, "English agent", "Say \"hi\"", "hi");
	assert_int_equal(hf_store_load(&back, st, "conf-rt", &err), HF_OK);
	assert_string_equal(hf_session_id(back), "conf-rt");
	assert_string_equal(hf_session_agent(back), "English agent");
	assert_int_equal(hf_session_message_count(back), 4);
	for (i = 0; i < 4; i++)
		assert_string_equal(hf_session_message_json(back, i), hf_session_message_json(s, i));
	u = hf_session_usage(back);
	assert_int_equal(u.requests, 2);
	assert_int_equal(u.input_tokens, 20);
	assert_int_equal(u.output_tokens, 6);
	assert_int_equal(u.total_tokens, 26);
	/* A loaded session goes on where the first left off. */
	ts_must_commit(back, st, "English agent", "Bye", "Goodbye");
	hf_session_free(back);
	assert_int_equal(hf_store_load(&back, st, "conf-rt", &err), HF_OK);
	assert_int_equal(hf_session_message_count(back), 6);
	hf_session_free(back);
	hf_session_free(s);
	assert_int_equal(hf_store_delete(st, "conf-rt", &err), HF_OK);
}

static void check_conflict(hf_store *st)
{
	hf_session *a, *b, *fresh;
	hf_error err;
	char before[64];
	assert_int_equal(hf_session_new(&a, "conf-shared", &err), HF_OK);
	ts_must_commit(a, st, "Triage agent", "one", "1");
	assert_int_equal(hf_store_load(&b, st, "conf-shared", &err), HF_OK);
	ts_must_commit(a, st, "Triage agent", "two", "2");
	/* b saw 2 messages; the store now holds 4. */
	snprintf(before, sizeof(before), "%s", hf_session_message_json(b, 1));
	assert_int_equal(ts_commit(b, st, "Other agent", "late", "x", &err), HF_ECONFLICT);
	assert_true(ts_contains(err.message, "reload and retry"));
	assert_int_equal(hf_session_message_count(b), 2);
	assert_string_equal(hf_session_agent(b), "Triage agent");
	assert_string_equal(hf_session_message_json(b, 1), before);
	/* A new session object with an id already stored conflicts too, and
	 * says that it should have been loaded (no other process is involved). */
	assert_int_equal(hf_session_new(&fresh, "conf-shared", &err), HF_OK);
	assert_int_equal(ts_commit(fresh, st, "x", "y", "z", &err), HF_ECONFLICT);
	assert_true(ts_contains(err.message, "already exists in the store"));
	assert_true(ts_contains(err.message, "hf_store_open_session"));
	assert_false(ts_contains(err.message, "another process"));
	assert_int_equal(hf_session_message_count(fresh), 0);
	/* Reloaded, b goes on. */
	hf_session_free(b);
	assert_int_equal(hf_store_load(&b, st, "conf-shared", &err), HF_OK);
	assert_int_equal(hf_session_message_count(b), 4);
	ts_must_commit(b, st, "Other agent", "late", "x");
	hf_session_free(fresh);
	hf_session_free(a);
	hf_session_free(b);
	assert_int_equal(hf_store_delete(st, "conf-shared", &err), HF_OK);
}

static void check_list_latest_delete(hf_store *st)
{
	static const char *const ids[] = { "first", "second", "third" };
	hf_session *s[3], *none = (hf_session *)1;
	hf_error err;
	char *latest = (char *)1;
	listed l;
	size_t i;

	assert_int_equal(hf_store_latest(&latest, st, &err), HF_ENOTFOUND);
	assert_null(latest);
	assert_int_equal(list_of(st, 0, 0).n, 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(hf_session_new(&s[i], ids[i], &err), HF_OK);
		ts_must_commit(s[i], st, "Agent", "q", "a");
	}
	ts_must_commit(s[0], st, "Agent", "again", "a");
	/* Most recently used first, however close in time the writes were. */
	l = list_of(st, 0, 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.ids[0], "first");
	assert_string_equal(l.ids[1], "third");
	assert_string_equal(l.ids[2], "second");
	assert_int_equal(l.messages[0], 4);
	assert_int_equal(l.messages[1], 2);
	assert_int_equal(l.tokens[0], 26);
	l = list_of(st, 2, 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.ids[1], "third");
	assert_int_equal(list_of(st, 0, 1).n, 1); /* a non-zero return stops it */
	assert_int_equal(hf_store_latest(&latest, st, &err), HF_OK);
	assert_string_equal(latest, "first");
	hf_free(latest);

	/* set_agent counts as use, and creates an empty session when needed. */
	assert_int_equal(hf_store_set_agent(st, "second", "English agent", &err), HF_OK);
	assert_int_equal(hf_store_latest(&latest, st, &err), HF_OK);
	assert_string_equal(latest, "second");
	hf_free(latest);
	assert_int_equal(hf_store_set_agent(st, "empty", "Triage agent", &err), HF_OK);
	assert_int_equal(hf_store_load(&none, st, "empty", &err), HF_OK);
	assert_int_equal(hf_session_message_count(none), 0);
	assert_string_equal(hf_session_agent(none), "Triage agent");
	ts_must_commit(none, st, "Triage agent", "now", "then");
	hf_session_free(none);

	assert_int_equal(hf_store_delete(st, "third", &err), HF_OK);
	assert_int_equal(hf_store_delete(st, "third", &err), HF_ENOTFOUND);
	assert_int_equal(hf_store_load(&none, st, "third", &err), HF_ENOTFOUND);
	assert_null(none);
	assert_true(err.message[0] != '\0');
	assert_int_equal(list_of(st, 0, 0).n, 3);
	for (i = 0; i < 3; i++) {
		hf_session_free(s[i]);
		hf_store_delete(st, ids[i], NULL);
	}
	hf_store_delete(st, "empty", NULL);
}

/* Load or start: a new session when absent, the stored one after that. */
static void check_open_session(hf_store *st)
{
	hf_session *s, *again;
	hf_error err;
	assert_int_equal(hf_store_open_session(&s, st, "conf-open", &err), HF_OK);
	assert_int_equal(hf_session_message_count(s), 0);
	assert_null(hf_session_agent(s));
	assert_int_equal(list_of(st, 0, 0).n, 0); /* opening stores nothing */
	ts_must_commit(s, st, "Spanish agent", "Hola", "Buenas");
	assert_int_equal(hf_store_open_session(&again, st, "conf-open", &err), HF_OK);
	assert_int_equal(hf_session_message_count(again), 2);
	assert_string_equal(hf_session_agent(again), "Spanish agent");
	assert_string_equal(hf_session_message_json(again, 1), hf_session_message_json(s, 1));
	ts_must_commit(again, st, "Spanish agent", "Otra", "Vale");
	hf_session_free(again);
	hf_session_free(s);
	assert_int_equal(hf_store_open_session(NULL, st, "conf-open", &err), HF_EINVAL);
	assert_int_equal(hf_store_delete(st, "conf-open", &err), HF_OK);
}

static void check_bad_ids(hf_store *st)
{
	hf_session *s;
	hf_error err;
	assert_int_equal(hf_store_load(&s, st, "../etc", &err), HF_EINVAL);
	assert_int_equal(hf_store_delete(st, "", &err), HF_EINVAL);
	assert_int_equal(hf_store_set_agent(st, "a b", "x", &err), HF_EINVAL);
	assert_int_equal(hf_store_open_session(&s, st, "-x", &err), HF_EINVAL);
}

void ts_store_conformance(hf_store *st)
{
	check_round_trip(st);
	check_conflict(st);
	check_open_session(st);
	check_list_latest_delete(st);
	check_bad_ids(st);
	assert_int_equal(list_of(st, 0, 0).n, 0);
}

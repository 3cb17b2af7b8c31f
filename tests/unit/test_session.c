/*
 * test_session.c - session ids, the stored-message decoder, the message
 * list, reading messages and the all-or-nothing commit of a turn (which the
 * store owns: hf_store_commit_turn).
 */
#include "support_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- ids ---- */

static void test_id_check_table(void **state)
{
	static const struct {
		const char *id;
		const char *error; /* NULL: valid */
	} cases[] = {
		{ "a", NULL },
		{ "s-0123456789abcdefghjkmnpqrs", NULL },
		{ "Team.support_2026:ticket-17", NULL },
		{ "_private", NULL },
		{ ":colon", NULL },
		{ "x.", NULL },
		{ "", "empty" },
		{ ".hidden", "must not start with '.'" },
		{ "-n", "must not start with '-'" },
		{ "a b", "' ' at position 2" },
		{ "dir/file", "'/' at position 4" },
		{ "semi;colon", "';' at position 5" },
		{ "caf\xc3\xa9", "byte 0xc3 at position 4" },
		{ "tab\there", "byte 0x09 at position 4" },
	};
	char long_ok[HF_SESSION_ID_MAX + 1], too_long[HF_SESSION_ID_MAX + 2];
	hf_error err;
	size_t i;

	for (i = 0; i < HF_ARRAY_LEN(cases); i++) {
		int rc = hf_session_id_check(cases[i].id, &err);
		if (!cases[i].error) {
			if (rc != HF_OK)
				fail_msg("'%s' rejected: %s", cases[i].id, err.message);
			continue;
		}
		assert_int_equal(rc, HF_EINVAL);
		if (!strstr(err.message, cases[i].error))
			fail_msg("'%s': got \"%s\", want \"%s\"", cases[i].id, err.message, cases[i].error);
	}
	memset(long_ok, 'k', HF_SESSION_ID_MAX);
	long_ok[HF_SESSION_ID_MAX] = '\0';
	assert_int_equal(hf_session_id_check(long_ok, &err), HF_OK);
	memset(too_long, 'k', HF_SESSION_ID_MAX + 1);
	too_long[HF_SESSION_ID_MAX + 1] = '\0';
	assert_int_equal(hf_session_id_check(too_long, &err), HF_EINVAL);
	assert_true(ts_contains(err.message, "longer than 128"));
	assert_int_equal(hf_session_id_check(NULL, &err), HF_EINVAL);
	(void)state;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_random_ids(void **state)
{
	enum { N = 500 };
	char *ids[N];
	hf_session *s;
	hf_error err;
	size_t i;
	for (i = 0; i < N; i++) {
		assert_int_equal(hf_session_new(&s, NULL, &err), HF_OK);
		ids[i] = strdup(hf_session_id(s));
		assert_int_equal(strlen(ids[i]), 28);
		assert_memory_equal(ids[i], "s-", 2);
		assert_int_equal(hf_session_id_check(ids[i], &err), HF_OK);
		assert_null(hf_session_agent(s));
		assert_int_equal(hf_session_message_count(s), 0);
		hf_session_free(s);
	}
	qsort(ids, N, sizeof(ids[0]), cmp_str);
	for (i = 1; i < N; i++)
		assert_string_not_equal(ids[i - 1], ids[i]);
	for (i = 0; i < N; i++)
		free(ids[i]);
	(void)state;
}

static void test_new_rejects_bad_id(void **state)
{
	hf_session *s = (hf_session *)1;
	hf_error err;
	assert_int_equal(hf_session_new(&s, "no/slash", &err), HF_EINVAL);
	assert_null(s);
	(void)state;
}

/* ---- the decoder ---- */

static const char *const good_records[] = {
	"{\"role\":\"user\",\"content\":\"Hola, \xc2\xbf" "c\xc3\xb3mo est\xc3\xa1s?\"}",
	"{\"content\":\"key order kept\",\"role\":\"user\"}",
	"  {\"role\":\"user\",\"content\":\"\"}\n",
	"{\"role\":\"assistant\",\"content\":\"Bien.\"}",
	"{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":"
	"\"function\",\"function\":{\"name\":\"transfer_to_spanish_agent\",\"arguments\":\"{}\"}}]}",
	"{\"role\":\"assistant\",\"content\":\"text and a call\",\"tool_calls\":[{\"id\":\"c\","
	"\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}",
	"{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"{\\\"assistant\\\": "
	"\\\"Spanish agent\\\"}\"}",
	"{\"role\":\"user\",\"content\":\"escaped \\u00e9 \\ud83d\\ude00\"}",
};

static const struct {
	const char *record;
	const char *error;
} bad_records[] = {
	{ "", "not valid JSON" },
	{ "[]", "must be a JSON object" },
	{ "\"user\"", "must be a JSON object" },
	{ "{\"role\":\"user\",\"content\":\"hi\"} x", "text after the JSON value" },
	{ "{\"role\":\"user\",\"content\":\"hi\"", "not valid JSON" },
	{ "{\"content\":\"hi\"}", "needs a \"role\"" },
	{ "{\"role\":7,\"content\":\"hi\"}", "needs a \"role\"" },
	{ "{\"role\":\"system\",\"content\":\"hi\"}", "system messages are not stored" },
	{ "{\"role\":\"developer\",\"content\":\"hi\"}", "unknown message role 'developer'" },
	{ "{\"role\":\"user\"}", "needs \"content\"" },
	{ "{\"role\":\"user\",\"content\":null}", "content must be a string" },
	{ "{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}", "content must be a string" },
	{ "{\"role\":\"user\",\"content\":\"a\",\"name\":\"bob\"}", "unknown key 'name'" },
	{ "{\"role\":\"user\",\"content\":\"a\",\"content\":\"b\"}", "duplicate key 'content'" },
	{ "{\"role\":\"user\",\"content\":\"a\",\"tool_calls\":[]}", "unknown key 'tool_calls'" },
	{ "{\"role\":\"assistant\",\"content\":null}", "content must be a string" },
	{ "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[]}", "must not be empty" },
	{ "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":{}}", "must be an array" },
	{ "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[7]}", "must be an object" },
	{ "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"type\":\"function\","
	  "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}", "has no 'id'" },
	{ "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"\",\"type\":"
	  "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}", "id must not be empty" },
	{ "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c\",\"type\":"
	  "\"custom\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}", "must be \"function\"" },
	{ "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c\",\"type\":"
	  "\"function\",\"function\":{\"name\":\"f\",\"arguments\":{}}}]}", "arguments must be a string" },
	{ "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c\",\"type\":"
	  "\"function\",\"function\":{\"arguments\":\"{}\"}}]}", "has no 'name'" },
	{ "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c\",\"type\":"
	  "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\",\"x\":1}}]}", "unknown key 'x'" },
	{ "{\"role\":\"tool\",\"content\":\"x\"}", "tool_call_id must be a string" },
	{ "{\"role\":\"tool\",\"tool_call_id\":\"\",\"content\":\"x\"}", "must not be empty" },
	{ "{\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":null}", "content must be a string" },
	{ "{\"role\":\"user\",\"content\":\"bad \xff byte\"}", "not valid UTF-8 (byte 30)" },
	{ "{\"role\":\"user\",\"content\":\"lone \\udc00\"}", "not valid JSON" },
};

static void test_decoder_accepts(void **state)
{
	hf_session *s;
	hf_error err;
	size_t i;
	assert_int_equal(hf_session_new(&s, "dec", &err), HF_OK);
	for (i = 0; i < HF_ARRAY_LEN(good_records); i++) {
		if (hf_session_add_stored(s, good_records[i], strlen(good_records[i]), &err))
			fail_msg("record %zu rejected: %s", i, err.message);
	}
	assert_int_equal(hf_session_message_count(s), HF_ARRAY_LEN(good_records));
	/* Printed back unformatted, keys in their stored order. */
	assert_string_equal(hf_session_message_json(s, 1),
	                    "{\"content\":\"key order kept\",\"role\":\"user\"}");
	assert_string_equal(hf_session_message_json(s, 2), "{\"role\":\"user\",\"content\":\"\"}");
	assert_string_equal(hf_session_message_json(s, 4), good_records[4]);
	assert_null(hf_session_message_json(s, HF_ARRAY_LEN(good_records)));
	hf_session_free(s);
	(void)state;
}

static void test_decoder_rejects(void **state)
{
	hf_session *s;
	hf_error err;
	size_t i;
	assert_int_equal(hf_session_new(&s, "dec", &err), HF_OK);
	for (i = 0; i < HF_ARRAY_LEN(bad_records); i++) {
		const char *r = bad_records[i].record;
		int rc = hf_session_add_stored(s, r, strlen(r), &err);
		if (rc != HF_EPROTOCOL)
			fail_msg("record %zu (%s) gave %d, not HF_EPROTOCOL", i, r, rc);
		if (!strstr(err.message, bad_records[i].error))
			fail_msg("record %zu (%s): got \"%s\", want \"%s\"", i, r, err.message,
			         bad_records[i].error);
	}
	assert_int_equal(hf_session_message_count(s), 0);
	assert_int_equal(hf_session_add_stored(s, NULL, 0, &err), HF_EINVAL);
	hf_session_free(s);
	(void)state;
}

/* The decoder reads exactly len bytes: every prefix of a valid record,
 * in a buffer of exactly that size (ASan catches an over-read), is
 * rejected; the whole record is accepted. */
static void test_decoder_bounded_reads(void **state)
{
	hf_session *s;
	hf_error err;
	size_t i, len, n;
	assert_int_equal(hf_session_new(&s, "dec", &err), HF_OK);
	for (i = 0; i < HF_ARRAY_LEN(good_records); i++) {
		len = strlen(good_records[i]);
		for (n = 0; n <= len; n++) {
			char *exact = malloc(n ? n : 1);
			size_t before = hf_session_message_count(s);
			int rc;
			memcpy(exact, good_records[i], n);
			rc = hf_session_add_stored(s, exact, n, &err);
			/* A prefix may still be valid only by dropping trailing space. */
			if (n == len || (rc == HF_OK && strspn(good_records[i] + n, " \n") == len - n))
				assert_int_equal(rc, HF_OK);
			else
				assert_int_equal(rc, HF_EPROTOCOL);
			assert_int_equal(hf_session_message_count(s), before + (rc == HF_OK));
			free(exact);
		}
	}
	hf_session_free(s);
	(void)state;
}

/* Random byte changes to valid records: never a crash; whatever is
 * accepted prints back to a text the decoder accepts again. */
static void test_decoder_mutations(void **state)
{
	static const char pool[] = "{}[]\":,\\ nul0-9aeE+\x80\xc3\xff";
	hf_session *s, *again;
	hf_error err;
	unsigned long seed = 12345;
	size_t round, accepted = 0;
	assert_int_equal(hf_session_new(&s, "mut", &err), HF_OK);
	assert_int_equal(hf_session_new(&again, "again", &err), HF_OK);
	for (round = 0; round < 20000; round++) {
		const char *base = good_records[round % HF_ARRAY_LEN(good_records)];
		size_t len = strlen(base), k, edits;
		char *buf = malloc(len);
		memcpy(buf, base, len);
		seed = seed * 6364136223846793005UL + 1442695040888963407UL;
		edits = 1 + (seed >> 60) % 3;
		for (k = 0; k < edits; k++) {
			seed = seed * 6364136223846793005UL + 1442695040888963407UL;
			buf[(seed >> 33) % len] = pool[(seed >> 20) % (sizeof(pool) - 1)];
		}
		if (hf_session_add_stored(s, buf, len, &err) == HF_OK) {
			const char *text = hf_session_message_json(s, hf_session_message_count(s) - 1);
			assert_non_null(text);
			assert_int_equal(hf_session_add_stored(again, text, strlen(text), &err), HF_OK);
			accepted++;
		}
		free(buf);
	}
	assert_int_equal(hf_session_message_count(again), accepted);
	/* The mutations exercised both outcomes. */
	assert_true(accepted > 100 && accepted < round - 100);
	hf_session_free(s);
	hf_session_free(again);
	(void)state;
}

/* ---- commit ---- */

/* A store that records what it was asked and answers with `rc`. */
typedef struct probe {
	int rc;
	int commits;
	size_t expected;
	size_t n;
	char agent[64];
	char first[256];
} probe;

static int probe_load(void *impl, const char *id, hf_store_loader *ld, hf_error *err)
{
	(void)impl;
	(void)ld;
	return hf_err(err, HF_ENOTFOUND, "no session '%s'", id);
}

static int probe_commit(void *impl, const char *id, size_t expected, const char *agent,
                        const hf_usage *usage, const char *const *messages, size_t n,
                        hf_error *err)
{
	probe *p = impl;
	(void)id;
	(void)usage;
	p->commits++;
	p->expected = expected;
	p->n = n;
	snprintf(p->agent, sizeof(p->agent), "%s", agent ? agent : "");
	snprintf(p->first, sizeof(p->first), "%s", n ? messages[0] : "");
	return p->rc ? hf_err(err, p->rc, "probe store says no") : HF_OK;
}

static int probe_set_agent(void *impl, const char *id, const char *agent, hf_error *err)
{
	(void)impl, (void)id, (void)agent, (void)err;
	return HF_OK;
}

static int probe_remove(void *impl, const char *id, hf_error *err)
{
	(void)impl, (void)id, (void)err;
	return HF_OK;
}

static int probe_list(void *impl, size_t limit, int (*fn)(const hf_session_info *, void *),
                      void *payload, hf_error *err)
{
	(void)impl, (void)limit, (void)fn, (void)payload, (void)err;
	return HF_OK;
}

static hf_store *probe_store(probe *p)
{
	static const hf_store_ops ops = { HF_STORE_OPS_VERSION, probe_load, probe_commit,
		                          probe_set_agent, probe_remove, probe_list, NULL };
	hf_store *st;
	hf_error err;
	assert_int_equal(hf_store_new(&st, &ops, p, &err), HF_OK);
	return st;
}

static cJSON *turn_of(const char *user, const char *agent, const char *answer)
{
	char text[512];
	snprintf(text, sizeof(text),
	         "[{\"role\":\"user\",\"content\":\"%s\"},"
	         "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\","
	         "\"type\":\"function\",\"function\":{\"name\":\"transfer_to_x\",\"arguments\":\"{}\"}}]},"
	         "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"{\\\"assistant\\\": \\\"%s\\\"}\"},"
	         "{\"role\":\"assistant\",\"content\":\"%s\"}]",
	         user, agent, answer);
	return cJSON_Parse(text);
}

/* Everything observable about a session, as one string (owned). */
static char *snapshot(const hf_session *s)
{
	hf_usage u = hf_session_usage(s);
	size_t i, cap = 4096, len;
	char *out = malloc(cap);
	len = (size_t)snprintf(out, cap, "%s|%s|%llu/%llu/%llu/%llu|%zu", hf_session_id(s),
	                       hf_session_agent(s) ? hf_session_agent(s) : "(none)",
	                       (unsigned long long)u.requests, (unsigned long long)u.input_tokens,
	                       (unsigned long long)u.output_tokens,
	                       (unsigned long long)u.total_tokens, hf_session_message_count(s));
	for (i = 0; i < hf_session_message_count(s); i++) {
		const char *m = hf_session_message_json(s, i);
		if (len + strlen(m) + 2 > cap)
			out = realloc(out, cap = 2 * (len + strlen(m) + 2));
		len += (size_t)sprintf(out + len, "|%s", m);
	}
	return out;
}

static void test_commit_appends(void **state)
{
	hf_usage u1 = { 2, 100, 20, 120 }, u2 = { 1, 50, 5, 55 }, total;
	hf_session *s;
	hf_error err;
	probe p = { 0 };
	hf_store *st = probe_store(&p);
	cJSON *t1 = turn_of("Hola", "Spanish agent", "Buenas"), *t2 = turn_of("Hi", "English agent", "Hello");

	assert_int_equal(hf_session_new(&s, "c1", &err), HF_OK);
	assert_int_equal(ts_session_commit(s, st, t1, "Spanish agent", &u1, &err), HF_OK);
	assert_int_equal(p.commits, 1);
	assert_int_equal(p.expected, 0);
	assert_int_equal(p.n, 4);
	assert_string_equal(p.agent, "Spanish agent");
	assert_string_equal(p.first, "{\"role\":\"user\",\"content\":\"Hola\"}");
	assert_int_equal(hf_session_message_count(s), 4);
	assert_string_equal(hf_session_agent(s), "Spanish agent");

	/* Without a store the session alone changes. */
	assert_int_equal(ts_session_commit(s, NULL, t2, "English agent", &u2, &err), HF_OK);
	assert_int_equal(p.commits, 1);
	assert_int_equal(ts_session_commit(s, st, t1, NULL, NULL, &err), HF_OK);
	assert_int_equal(p.expected, 8);
	assert_string_equal(p.agent, "English agent"); /* NULL agent keeps the holder */
	assert_int_equal(hf_session_message_count(s), 12);
	assert_string_equal(hf_session_agent(s), "English agent");
	total = hf_session_usage(s);
	assert_int_equal(total.requests, 3);
	assert_int_equal(total.input_tokens, 150);
	assert_int_equal(total.output_tokens, 25);
	assert_int_equal(total.total_tokens, 175);
	assert_string_equal(hf_session_message_json(s, 7),
	                    "{\"role\":\"assistant\",\"content\":\"Hello\"}");
	/* The session holds copies: changing the caller's turn changes nothing. */
	cJSON_ReplaceItemInObject(cJSON_GetArrayItem(t2, 3), "content", cJSON_CreateString("changed"));
	{
		hf_message m;
		assert_int_equal(hf_session_message(&m, s, 7, &err), HF_OK);
		assert_string_equal(m.content, "Hello");
	}
	cJSON_Delete(t1);
	cJSON_Delete(t2);
	hf_session_free(s);
	hf_store_free(st);
	(void)state;
}

static void test_commit_failure_changes_nothing(void **state)
{
	static const int codes[] = { HF_ESTORE, HF_ECONFLICT };
	hf_usage u = { 1, 1, 1, 2 };
	hf_session *s;
	hf_error err;
	probe p = { 0 };
	hf_store *st = probe_store(&p);
	cJSON *t = turn_of("Hola", "Spanish agent", "Buenas"), *bad;
	char *before, *after;
	size_t i;

	assert_int_equal(hf_session_new(&s, "c2", &err), HF_OK);
	assert_int_equal(ts_session_commit(s, st, t, "Spanish agent", &u, &err), HF_OK);
	before = snapshot(s);
	for (i = 0; i < HF_ARRAY_LEN(codes); i++) {
		p.rc = codes[i];
		assert_int_equal(ts_session_commit(s, st, t, "English agent", &u, &err), codes[i]);
		assert_string_equal(err.message, "probe store says no");
		after = snapshot(s);
		assert_string_equal(before, after);
		free(after);
	}
	/* An invalid message in the turn: refused before the store sees it. */
	p.rc = 0;
	p.commits = 0;
	bad = cJSON_Parse("[{\"role\":\"user\",\"content\":\"ok\"},{\"role\":\"system\",\"content\":\"x\"}]");
	assert_int_equal(ts_session_commit(s, st, bad, "English agent", &u, &err), HF_EPROTOCOL);
	assert_true(ts_contains(err.message, "message 2 of the turn"));
	assert_int_equal(p.commits, 0);
	after = snapshot(s);
	assert_string_equal(before, after);
	free(after);
	assert_int_equal(ts_session_commit(s, st, NULL, "x", &u, &err), HF_EINVAL);
	free(before);
	cJSON_Delete(bad);
	cJSON_Delete(t);
	hf_session_free(s);
	hf_store_free(st);
	(void)state;
}

/* Fail each allocation of a commit in turn: every failure is HF_ENOMEM
 * with the session and the store unchanged (HF_FAILALLOC builds only). */
static void test_commit_allocation_failures(void **state)
{
#ifdef HF_FAILALLOC
	hf_usage u = { 1, 1, 1, 2 };
	hf_session *s;
	hf_error err;
	probe p = { 0 };
	hf_store *st = probe_store(&p);
	cJSON *t = turn_of("Hola", "Spanish agent", "Buenas");
	char *before, *after;
	unsigned long n;
	int rc = HF_ENOMEM;

	assert_int_equal(hf_session_new(&s, "c3", &err), HF_OK);
	assert_int_equal(ts_session_commit(s, st, t, "Spanish agent", &u, &err), HF_OK);
	before = snapshot(s);
	for (n = 1; rc != HF_OK; n++) {
		p.commits = 0;
		hf_failalloc_set(n);
		rc = ts_session_commit(s, st, t, "English agent", &u, &err);
		hf_failalloc_set(0);
		if (rc == HF_OK)
			break;
		assert_int_equal(rc, HF_ENOMEM);
		assert_int_equal(p.commits, 0);
		after = snapshot(s);
		assert_string_equal(before, after);
		free(after);
	}
	assert_true(n > 5);
	assert_int_equal(p.commits, 1);
	assert_int_equal(hf_session_message_count(s), 8);
	free(before);
	cJSON_Delete(t);
	hf_session_free(s);
	hf_store_free(st);
#else
	skip();
#endif
	(void)state;
}

/* Each message is held once: the turn's texts move into the session (the
 * same pointers, no copy), and the parsed forms are dropped; the parsed
 * form comes back on demand. */
static void test_commit_moves_messages(void **state)
{
	hf_msglist turn = HF_MSGLIST_INIT;
	const hf_msglist *h;
	const char *texts[2];
	hf_session *s;
	hf_error err;
	hf_message m;
	assert_int_equal(hf_session_new(&s, "once", &err), HF_OK);
	assert_int_equal(hf_msglist_add(&turn, cJSON_Parse("{\"role\":\"user\",\"content\":\"Hola\"}")),
	                 HF_OK);
	assert_int_equal(hf_msglist_add(&turn, cJSON_Parse("{\"role\":\"assistant\",\"content\":\"Buenas\"}")),
	                 HF_OK);
	texts[0] = hf_msglist_text(&turn, 0);
	texts[1] = hf_msglist_text(&turn, 1);
	assert_non_null(turn.v[0].tree);
	assert_int_equal(hf_store_commit_turn(NULL, s, &turn, "Spanish agent", NULL, &err), HF_OK);
	assert_int_equal(hf_msglist_count(&turn), 0);
	h = hf_session_history(s);
	assert_int_equal(hf_msglist_count(h), 2);
	assert_ptr_equal(hf_msglist_text(h, 0), texts[0]);
	assert_ptr_equal(hf_session_message_json(s, 1), texts[1]);
	assert_null(h->v[0].tree);
	assert_null(h->v[1].tree);
	assert_int_equal(hf_msglist_role(h, 1), HF_ROLE_ASSISTANT);
	assert_int_equal(hf_session_message(&m, s, 1, &err), HF_OK);
	assert_non_null(h->v[1].tree);
	assert_string_equal(m.role, "assistant");
	assert_string_equal(m.content, "Buenas");
	assert_null(m.tool_call_id);
	assert_int_equal(m.tool_calls, 0);
	assert_int_equal(hf_session_message(&m, s, 2, &err), HF_EINVAL);
	hf_msglist_dispose(&turn);
	hf_session_free(s);
	(void)state;
}

/* A stored message is kept as its canonical text only until asked. */
static void test_decoder_keeps_text_only(void **state)
{
	static const char rec[] = " {\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
	                          "\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"transfer_to_x\","
	                          "\"arguments\":\"{}\"}}]}\n";
	hf_session *s;
	hf_error err;
	hf_message m;
	const char *id, *name, *args;
	assert_int_equal(hf_session_new(&s, "dec", &err), HF_OK);
	assert_int_equal(hf_session_add_stored(s, rec, strlen(rec), &err), HF_OK);
	assert_null(hf_session_history(s)->v[0].tree);
	assert_string_equal(hf_session_message_json(s, 0), "{\"role\":\"assistant\",\"content\":null,"
	                    "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":"
	                    "{\"name\":\"transfer_to_x\",\"arguments\":\"{}\"}}]}");
	assert_int_equal(hf_session_message(&m, s, 0, &err), HF_OK);
	assert_null(m.content);
	assert_int_equal(m.tool_calls, 1);
	assert_int_equal(hf_session_message_tool_call(&id, &name, &args, s, 0, 0, &err), HF_OK);
	assert_string_equal(id, "call_1");
	assert_string_equal(name, "transfer_to_x");
	assert_string_equal(args, "{}");
	assert_int_equal(hf_session_message_tool_call(&id, &name, &args, s, 0, 1, &err), HF_EINVAL);
	hf_session_free(s);
	(void)state;
}

/* The three steps of a commit: prepare changes nothing and makes every
 * allocation; apply after a successful write cannot fail (no allocation
 * at all: with every allocation failing it still applies the turn). */
static void test_commit_steps(void **state)
{
	hf_usage u = { 1, 2, 3, 5 };
	hf_session *s;
	hf_error err;
	probe p = { 0 };
	hf_store *st = probe_store(&p);
	hf_msglist turn = HF_MSGLIST_INIT;
	hf_commit c;
	char *before, *after;

	assert_int_equal(hf_session_new(&s, "steps", &err), HF_OK);
	assert_int_equal(hf_msglist_add(&turn, cJSON_Parse("{\"role\":\"user\",\"content\":\"Hi\"}")), HF_OK);
	before = snapshot(s);
	assert_int_equal(hf_store_commit_prepare(&c, s, &turn, "English agent", &u, &err), HF_OK);
	after = snapshot(s);
	assert_string_equal(before, after);
	free(after);
	assert_int_equal(p.commits, 0);
	assert_string_equal(c.id, "steps");
	assert_int_equal(c.expected, 0);
	assert_int_equal(hf_store_commit_write(st, &c, &err), HF_OK);
	assert_int_equal(p.commits, 1);
	assert_string_equal(p.agent, "English agent");
	after = snapshot(s);
	assert_string_equal(before, after); /* the write alone does not touch s */
	free(after);
	if (hf_failalloc_enabled())
		hf_failalloc_set(1);
	hf_store_commit_apply(&c, s);
	hf_failalloc_set(0);
	hf_commit_dispose(&c);
	assert_int_equal(hf_session_message_count(s), 1);
	assert_string_equal(hf_session_agent(s), "English agent");
	assert_int_equal(hf_session_usage(s).total_tokens, 5);
	free(before);
	hf_msglist_dispose(&turn);
	hf_session_free(s);
	hf_store_free(st);
	(void)state;
}

static void test_set_agent(void **state)
{
	hf_session *s;
	hf_error err;
	assert_int_equal(hf_session_new(&s, "a1", &err), HF_OK);
	assert_int_equal(hf_session_set_agent(s, "English agent", &err), HF_OK);
	assert_string_equal(hf_session_agent(s), "English agent");
	assert_int_equal(hf_session_set_agent(s, "", &err), HF_EINVAL);
	assert_string_equal(hf_session_agent(s), "English agent");
	hf_session_free(s);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_check_table),
		cmocka_unit_test(test_random_ids),
		cmocka_unit_test(test_new_rejects_bad_id),
		cmocka_unit_test(test_decoder_accepts),
		cmocka_unit_test(test_decoder_rejects),
		cmocka_unit_test(test_decoder_bounded_reads),
		cmocka_unit_test(test_decoder_mutations),
		cmocka_unit_test(test_commit_appends),
		cmocka_unit_test(test_commit_failure_changes_nothing),
		cmocka_unit_test(test_commit_allocation_failures),
		cmocka_unit_test(test_commit_moves_messages),
		cmocka_unit_test(test_decoder_keeps_text_only),
		cmocka_unit_test(test_commit_steps),
		cmocka_unit_test(test_set_agent),
	};
	return cmocka_run_group_tests(tests, ts_global_setup, ts_global_teardown);
}

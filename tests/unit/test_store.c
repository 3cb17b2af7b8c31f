/*
 * test_store.c - the session-store extension point (include/handoff/store.h)
 * through a small in-memory store written only against the public headers,
 * the way an application keeps conversations in its own database. The
 * store itself (mem_*) doubles as the example in docs/sessions.md.
 */
#include "support_session.h"

#include <handoff.h>
#include <handoff/store.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- an in-memory store, through the public interface only ---- */

typedef struct mem_session {
	char *id;
	char *agent;
	hf_usage usage;
	char **messages; /* JSON texts, as commit handed them over */
	size_t n;
	unsigned long used; /* the store's clock at the last write */
	struct mem_session *next;
} mem_session;

typedef struct mem_store {
	mem_session *sessions;
	unsigned long clock;
	int *closed_flag; /* set by mem_close, for the test */
} mem_store;

static mem_session *mem_find(mem_store *m, const char *id)
{
	mem_session *s;
	for (s = m->sessions; s && strcmp(s->id, id); s = s->next)
		;
	return s;
}

static int mem_load(void *impl, const char *id, hf_store_loader *ld, hf_error *err)
{
	mem_session *s = mem_find(impl, id);
	size_t i;
	int rc;
	if (!s)
		return HF_ENOTFOUND; /* the library writes a message when we do not */
	if ((rc = hf_store_loader_set(ld, s->agent, &s->usage, err)))
		return rc;
	for (i = 0; i < s->n; i++)
		if ((rc = hf_store_loader_add(ld, s->messages[i], strlen(s->messages[i]), err)))
			return rc;
	return HF_OK;
}

static mem_session *mem_new(const char *id)
{
	mem_session *s = calloc(1, sizeof(*s));
	if (s && !(s->id = strdup(id))) {
		free(s);
		return NULL;
	}
	return s;
}

static void mem_free_session(mem_session *s)
{
	size_t i;
	for (i = 0; i < s->n; i++)
		free(s->messages[i]);
	free(s->messages);
	free(s->agent);
	free(s->id);
	free(s);
}

/* All or nothing: every allocation happens before anything changes. */
static int mem_commit(void *impl, const char *id, size_t expected, const char *agent,
                      const hf_usage *usage, const char *const *messages, size_t n,
                      hf_error *err)
{
	mem_store *m = impl;
	mem_session *s = mem_find(m, id), *fresh = NULL;
	char **grown, *agent_copy;
	size_t i = 0;
	if ((s ? s->n : 0) != expected)
		return hf_err(err, HF_ECONFLICT, "session %s changed; reload and retry", id);
	if (!s && !(s = fresh = mem_new(id)))
		return HF_ENOMEM;
	if (!(agent_copy = strdup(agent ? agent : "")) ||
	    !(grown = realloc(s->messages, (s->n + n + 1) * sizeof(*grown))))
		goto oom;
	s->messages = grown;
	for (i = 0; i < n; i++)
		if (!(s->messages[s->n + i] = strdup(messages[i])))
			goto oom;
	if (fresh) {
		fresh->next = m->sessions;
		m->sessions = fresh;
	}
	free(s->agent);
	s->agent = agent_copy;
	s->used = ++m->clock;
	s->n += n;
	s->usage.requests += usage->requests;
	s->usage.input_tokens += usage->input_tokens;
	s->usage.output_tokens += usage->output_tokens;
	s->usage.total_tokens += usage->total_tokens;
	return HF_OK;
oom:
	while (i--)
		free(s->messages[s->n + i]);
	free(agent_copy);
	if (fresh)
		mem_free_session(fresh);
	return HF_ENOMEM;
}

static int mem_set_agent(void *impl, const char *id, const char *agent, hf_error *err)
{
	/* An empty turn: only the agent changes (a new session gets a row). */
	mem_session *s = mem_find(impl, id);
	hf_usage none = { 0, 0, 0, 0 };
	return mem_commit(impl, id, s ? s->n : 0, agent, &none, NULL, 0, err);
}

static int mem_remove(void *impl, const char *id, hf_error *err)
{
	mem_store *m = impl;
	mem_session **p, *s;
	for (p = &m->sessions; *p && strcmp((*p)->id, id); p = &(*p)->next)
		;
	if (!(s = *p))
		return hf_err(err, HF_ENOTFOUND, "no session '%s' in memory", id);
	*p = s->next;
	mem_free_session(s);
	return HF_OK;
}

static int mem_list(void *impl, size_t limit, int (*fn)(const hf_session_info *, void *),
                    void *payload, hf_error *err)
{
	mem_store *m = impl;
	unsigned long below = (unsigned long)-1;
	size_t shown = 0;
	(void)err;
	/* Most recently used first: walk down the clock values. */
	while (limit == 0 || shown < limit) {
		mem_session *best = NULL, *s;
		hf_session_info info;
		for (s = m->sessions; s; s = s->next)
			if (s->used < below && (!best || s->used > best->used))
				best = s;
		if (!best)
			break;
		below = best->used;
		info.id = best->id;
		info.agent = best->agent;
		info.messages = best->n;
		info.created_at = info.updated_at = (int64_t)best->used;
		info.usage = best->usage;
		shown++;
		if (fn(&info, payload))
			break;
	}
	return HF_OK;
}

static void mem_close(void *impl)
{
	mem_store *m = impl;
	while (m->sessions) {
		mem_session *s = m->sessions;
		m->sessions = s->next;
		mem_free_session(s);
	}
	if (m->closed_flag)
		*m->closed_flag = 1;
	free(m);
}

static const hf_store_ops mem_ops = {
	HF_STORE_OPS_VERSION, mem_load, mem_commit, mem_set_agent, mem_remove, mem_list, mem_close,
};

static hf_store *mem_open(int *closed_flag)
{
	mem_store *m = calloc(1, sizeof(*m));
	hf_store *st;
	hf_error err;
	m->closed_flag = closed_flag;
	assert_int_equal(hf_store_new(&st, &mem_ops, m, &err), HF_OK);
	return st;
}

/* ---- tests ---- */

static void test_new_validates_ops(void **state)
{
	static const char *const names[] = { "load", "commit", "set_agent", "remove", "list" };
	hf_store_ops ops;
	hf_store *st = (hf_store *)1;
	hf_error err;
	size_t i;
	int dummy;

	ops = mem_ops;
	ops.version = HF_STORE_OPS_VERSION + 1;
	assert_int_equal(hf_store_new(&st, &ops, &dummy, &err), HF_EINVAL);
	assert_null(st);
	assert_true(ts_contains(err.message, "version 2"));
	for (i = 0; i < HF_ARRAY_LEN(names); i++) {
		ops = mem_ops;
		if (i == 0) ops.load = NULL;
		if (i == 1) ops.commit = NULL;
		if (i == 2) ops.set_agent = NULL;
		if (i == 3) ops.remove = NULL;
		if (i == 4) ops.list = NULL;
		assert_int_equal(hf_store_new(&st, &ops, &dummy, &err), HF_EINVAL);
		assert_true(ts_contains(err.message, names[i]));
	}
	ops = mem_ops;
	ops.close = NULL; /* optional */
	assert_int_equal(hf_store_new(&st, &ops, &dummy, &err), HF_OK);
	hf_store_free(st);
	assert_int_equal(hf_store_new(&st, NULL, NULL, &err), HF_EINVAL);
	(void)state;
}

static void test_conformance(void **state)
{
	int closed = 0;
	hf_store *st = mem_open(&closed);
	ts_store_conformance(st);
	hf_store_free(st);
	assert_int_equal(closed, 1);
	(void)state;
}

/* A store whose data is damaged: loading fails with HF_EPROTOCOL and no
 * session; a store returning a code outside hf_code becomes HF_ESTORE. */
static int bad_load(void *impl, const char *id, hf_store_loader *ld, hf_error *err)
{
	static const char broken[] = "{\"role\":\"user\",\"content\":";
	(void)impl;
	(void)id;
	return hf_store_loader_add(ld, broken, sizeof(broken) - 1, err);
}

static int weird_remove(void *impl, const char *id, hf_error *err)
{
	(void)impl, (void)id, (void)err;
	return 42;
}

static void test_damaged_store(void **state)
{
	hf_store_ops ops = mem_ops;
	hf_store *st;
	hf_session *s = (hf_session *)1;
	hf_error err;
	ops.load = bad_load;
	ops.remove = weird_remove;
	assert_int_equal(hf_store_new(&st, &ops, calloc(1, sizeof(mem_store)), &err), HF_OK);
	assert_int_equal(hf_store_load(&s, st, "any", &err), HF_EPROTOCOL);
	assert_null(s);
	assert_true(ts_contains(err.message, "not valid JSON"));
	assert_int_equal(hf_store_delete(st, "any", &err), HF_ESTORE);
	assert_int_equal(err.code, HF_ESTORE);
	assert_true(ts_contains(err.message, "remove failed"));
	hf_store_free(st);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_validates_ops),
		cmocka_unit_test(test_conformance),
		cmocka_unit_test(test_damaged_store),
	};
	return cmocka_run_group_tests(tests, ts_global_setup, ts_global_teardown);
}

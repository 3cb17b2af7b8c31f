/*
 * test_engine_tools.c - function tools driven by the engine against the
 * mock: a callback that goes pending and completes from other threads
 * (one turn, and 200 turns at once), the events in order, and a turn
 * cancelled or an engine freed while a tool is pending (on_cancel runs;
 * the late completion only releases the call). Run under TSan in CI.
 */
#include "support.h"

#include "handoff.h"
#include "mock.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char graph_yaml[] =
	"name: Support\nmodel: m\ninstructions: s\ntools: [slow, hold]\n";

/* ---- a small pool completing calls from its own threads ---- */

#define WORKERS 2

static struct pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	hf_tool_call *q[512];
	size_t head, tail;
	bool stop;
	pthread_t th[WORKERS];
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void *worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		hf_tool_call *c;
		while (pool.head == pool.tail && !pool.stop)
			pthread_cond_wait(&pool.cond, &pool.lock);
		if (pool.head == pool.tail)
			break;
		c = pool.q[pool.head++ % 512];
		pthread_mutex_unlock(&pool.lock);
		hf_tool_call_complete(c, HF_OK, "slow result");
		pthread_mutex_lock(&pool.lock);
	}
	pthread_mutex_unlock(&pool.lock);
	return NULL;
}

static void pool_start(void)
{
	size_t i;
	pool.head = pool.tail = 0;
	pool.stop = false;
	for (i = 0; i < WORKERS; i++)
		assert_int_equal(pthread_create(&pool.th[i], NULL, worker, NULL), 0);
}

static void pool_stop(void)
{
	size_t i;
	pthread_mutex_lock(&pool.lock);
	pool.stop = true;
	pthread_cond_broadcast(&pool.cond);
	pthread_mutex_unlock(&pool.lock);
	for (i = 0; i < WORKERS; i++)
		pthread_join(pool.th[i], NULL);
}

static atomic_int slow_calls, cancels;
static hf_tool_call *_Atomic held;

static int slow_fn(hf_tool_call *call, const char *arguments, void *payload)
{
	(void)arguments;
	(void)payload;
	atomic_fetch_add(&slow_calls, 1);
	pthread_mutex_lock(&pool.lock);
	pool.q[pool.tail++ % 512] = call;
	pthread_cond_signal(&pool.cond);
	pthread_mutex_unlock(&pool.lock);
	return HF_TOOL_PENDING;
}

/* Goes pending and is completed by the test, when it chooses. */
static int hold_fn(hf_tool_call *call, const char *arguments, void *payload)
{
	(void)arguments;
	(void)payload;
	atomic_store(&held, call);
	return HF_TOOL_PENDING;
}

static void on_cancel(hf_tool_call *call, void *payload)
{
	(void)payload;
	assert_true(hf_tool_call_cancelled(call));
	atomic_fetch_add(&cancels, 1);
}

/* ---- the world ---- */

typedef struct rec {
	int completions, code;
	char answer[64];
	char events[512];
	hf_session *s;
} rec;

typedef struct world {
	hf_mock *mock;
	char base[128];
	hf_client_options co;
	hf_engine *e;
	hf_graph *g;
	hf_tools *ts;
	char *dir;
	size_t completed;
} world;

static void on_complete(const hf_completion *c, void *payload)
{
	world *w = payload;
	rec *r = c->payload;
	r->completions++;
	r->code = c->code;
	snprintf(r->answer, sizeof(r->answer), "%s", c->answer ? c->answer : "");
	w->completed++;
}

static int on_event(const hf_event *ev, void *payload)
{
	rec *r = payload;
	size_t n = strlen(r->events);
	if (ev->type == HF_EVENT_TOOL_CALL)
		snprintf(r->events + n, sizeof(r->events) - n, "CALL %s; ", ev->tool_name);
	else if (ev->type == HF_EVENT_TOOL_RESULT)
		snprintf(r->events + n, sizeof(r->events) - n, "RESULT %s; ", ev->tool_name);
	else if (ev->type == HF_EVENT_DONE)
		snprintf(r->events + n, sizeof(r->events) - n, "DONE");
	return 0;
}

static void add(hf_tools *ts, const char *name, hf_tool_fn fn)
{
	hf_tool_def d = HF_TOOL_DEF_INIT;
	hf_error err;
	d.name = name;
	d.fn = fn;
	d.on_cancel = on_cancel;
	if (hf_tools_add(ts, &d, &err))
		fail_msg("%s", err.message);
}

static void world_start(world *w, const char *script)
{
	hf_mock_options mo = { 0 };
	hf_engine_options eo = HF_ENGINE_OPTIONS_INIT;
	hf_client_options co = HF_CLIENT_OPTIONS_INIT;
	hf_error err;
	char *path;

	memset(w, 0, sizeof(*w));
	atomic_store(&slow_calls, 0);
	atomic_store(&cancels, 0);
	atomic_store(&held, NULL);
	w->dir = ts_tmpdir();
	path = ts_path(w->dir, "script.json");
	ts_write(path, script);
	mo.host = "127.0.0.1";
	mo.log_memory = 1;
	mo.scenario = path;
	if (hf_mock_start(&w->mock, &mo, &err))
		fail_msg("mock: %s", err.message);
	free(path);
	snprintf(w->base, sizeof(w->base), "%s/v1", hf_mock_url(w->mock));
	w->co = co;
	w->co.base_url = w->base;
	w->co.max_retries = 0;
	eo.client = &w->co;
	eo.on_complete = on_complete;
	eo.payload = w;
	if (hf_engine_new(&w->e, &eo, &err))
		fail_msg("engine: %s", err.message);
	if (hf_graph_load_string(&w->g, graph_yaml, strlen(graph_yaml), "support.yaml", NULL, &err))
		fail_msg("graph: %s", err.message);
	assert_int_equal(hf_tools_new(&w->ts, w->g, NULL, &err), HF_OK);
	add(w->ts, "slow", slow_fn);
	add(w->ts, "hold", hold_fn);
	assert_int_equal(hf_tools_start(w->ts, NULL, &err), HF_OK);
	pool_start();
}

static void world_stop(world *w)
{
	hf_engine_free(w->e); /* NULL after a test freed it */
	pool_stop();
	hf_tools_free(w->ts);
	hf_graph_free(w->g);
	hf_mock_stop(w->mock);
	ts_rmtree(w->dir);
	free(w->dir);
}

static uint64_t submit(world *w, rec *r, const char *sid)
{
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	hf_error err;
	uint64_t id;
	memset(r, 0, sizeof(*r));
	assert_int_equal(hf_session_new(&r->s, sid, &err), HF_OK);
	ro.tools = w->ts;
	ro.on_event = on_event;
	ro.payload = r;
	if (hf_engine_submit(&id, w->e, w->g, r->s, NULL, "go", &ro, &err))
		fail_msg("submit: %s", err.message);
	return id;
}

static void drive_until(world *w, bool (*cond)(world *w), const char *what)
{
	long long end = 0;
	hf_error err;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	end = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000 + TS_SAFETY_MS;
	while (!cond(w)) {
		assert_true(hf_engine_perform(w->e, 100, &err) >= 0);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (ts.tv_sec * 1000LL + ts.tv_nsec / 1000000 > end)
			fail_msg("timed out waiting for %s", what);
	}
}

static size_t target;
static bool all_completed(world *w)
{
	return w->completed >= target;
}

static bool is_held(world *w)
{
	(void)w;
	return atomic_load(&held) != NULL;
}

/* ---- tests ---- */

static void pending_completed_from_another_thread(void **state)
{
	world w;
	rec r;
	(void)state;
	world_start(&w, "{\"replies\":[{\"tool_calls\":[{\"id\":\"c1\",\"name\":\"slow\"}]},"
	                "{\"content\":\"done\"}]}");
	submit(&w, &r, "s1");
	target = 1;
	drive_until(&w, all_completed, "the turn");
	assert_int_equal(r.code, HF_OK);
	assert_string_equal(r.answer, "done");
	assert_string_equal(r.events, "CALL slow; RESULT slow; DONE");
	assert_int_equal(hf_session_message_count(r.s), 4);
	assert_true(strstr(hf_session_message_json(r.s, 2), "slow result") != NULL);
	hf_session_free(r.s);
	world_stop(&w);
}

#define MANY 200

static void many_turns_with_tools(void **state)
{
	world w;
	rec *r = calloc(MANY, sizeof(*r));
	char sid[32];
	size_t i;
	(void)state;
	world_start(&w, "{\"replies\":[{\"tool_calls\":[{\"name\":\"slow\"}],\"repeat\":200},"
	                "{\"content\":\"done\",\"repeat\":200}]}");
	for (i = 0; i < MANY; i++) {
		snprintf(sid, sizeof(sid), "s-%zu", i);
		submit(&w, &r[i], sid);
	}
	target = MANY;
	drive_until(&w, all_completed, "200 turns");
	for (i = 0; i < MANY; i++) {
		assert_int_equal(r[i].completions, 1);
		assert_int_equal(r[i].code, HF_OK);
		assert_string_equal(r[i].answer, "done");
		hf_session_free(r[i].s);
	}
	assert_int_equal(atomic_load(&slow_calls), MANY);
	assert_int_equal(hf_mock_log_count(w.mock), 2 * MANY);
	free(r);
	world_stop(&w);
}

static void cancel_while_pending(void **state)
{
	world w;
	rec r;
	hf_error err;
	uint64_t id;
	(void)state;
	world_start(&w, "{\"replies\":[{\"tool_calls\":[{\"id\":\"c1\",\"name\":\"hold\"}]},"
	                "{\"content\":\"never\"}]}");
	id = submit(&w, &r, "s1");
	drive_until(&w, is_held, "the tool call");
	assert_int_equal(hf_engine_cancel(w.e, id, &err), HF_OK);
	target = 1;
	drive_until(&w, all_completed, "the cancelled turn");
	assert_int_equal(r.code, HF_ECANCELLED);
	assert_int_equal(atomic_load(&cancels), 1);
	assert_int_equal(hf_session_message_count(r.s), 0);
	/* the application completes it afterwards: only released */
	hf_tool_call_complete(atomic_load(&held), HF_OK, "late");
	assert_int_equal(hf_engine_perform(w.e, 0, &err), 0);
	assert_int_equal(hf_mock_log_count(w.mock), 1);
	hf_session_free(r.s);
	world_stop(&w);
}

static void free_while_pending(void **state)
{
	world w;
	rec r;
	(void)state;
	world_start(&w, "{\"replies\":[{\"tool_calls\":[{\"id\":\"c1\",\"name\":\"hold\"}]}]}");
	submit(&w, &r, "s1");
	drive_until(&w, is_held, "the tool call");
	hf_engine_free(w.e);
	w.e = NULL;
	assert_int_equal(r.completions, 1);
	assert_int_equal(r.code, HF_ECANCELLED);
	assert_int_equal(atomic_load(&cancels), 1);
	hf_tool_call_complete(atomic_load(&held), HF_OK, "late");
	hf_session_free(r.s);
	world_stop(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pending_completed_from_another_thread),
		cmocka_unit_test(many_turns_with_tools),
		cmocka_unit_test(cancel_while_pending),
		cmocka_unit_test(free_while_pending),
	};
	hf_error err;
	int rc;
	if (hf_global_init(&err))
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	hf_global_cleanup();
	return rc;
}

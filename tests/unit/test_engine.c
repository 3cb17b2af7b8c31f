/*
 * test_engine.c - the engine in its simple loop (hf_engine_perform)
 * against the real mock endpoint on 127.0.0.1: hundreds of conversations
 * in flight on one thread, routed and answered exactly as hf_run does and
 * committed to a SQLite store; and completion exactly once under faults
 * (drop, 500 retried, stall past the idle timeout, cancel, the engine
 * freed with turns in flight), with sessions and store left unchanged by
 * every turn that did not finish.
 */
#include "support_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANY 300

static hf_engine *engine_new(te_endpoint *ep, te_batch *b)
{
	hf_engine *e;
	hf_error err;
	ep->engine.payload = b;
	if (hf_engine_new(&e, &ep->engine, &err))
		fail_msg("hf_engine_new: %s", err.message);
	return e;
}

static void run_idle(hf_engine *e)
{
	hf_error err;
	if (hf_engine_run_until_idle(e, &err))
		fail_msg("run_until_idle: %s", err.message);
}

/* Steps of the loop for about ms milliseconds. */
static void run_for(hf_engine *e, long ms)
{
	long long until = te_now_ms() + ms;
	hf_error err;
	while (te_now_ms() < until)
		assert_true(hf_engine_perform(e, 10, &err) >= 0);
}

typedef struct logged {
	hf_engine *e;
	hf_mock *mock;
	size_t n;
} logged;

static bool step_until_logged(void *arg)
{
	logged *l = arg;
	hf_error err;
	if (hf_mock_log_count(l->mock) >= l->n)
		return true;
	assert_true(hf_engine_perform(l->e, 10, &err) >= 0);
	return false;
}

/* Step the loop until the mock has received n requests (it logs each on
 * arrival, before its latency). */
static void run_until_logged(hf_engine *e, hf_mock *mock, size_t n)
{
	logged l = { e, mock, n };
	ts_wait_until(step_until_logged, &l, "requests to reach the mock");
}

/* How many requests in m's log were answered with `status`. */
static size_t mock_requests(const te_mock *m, int status)
{
	size_t i, n = 0, count = hf_mock_log_count(m->mock);
	char want[32];
	snprintf(want, sizeof(want), "\"status\":%d", status);
	for (i = 0; i < count; i++) {
		char *entry = hf_mock_log_get(m->mock, i);
		n += ts_contains(entry, want);
		hf_free(entry);
	}
	return n;
}

/* Exactly `want` requests in m's log; on a mismatch, the log is printed
 * first (status and the start of each body), to tell retries from extra
 * model calls. */
static void assert_requests(const te_mock *m, size_t want)
{
	size_t i, n = hf_mock_log_count(m->mock);
	if (n != want)
		for (i = 0; i < n; i++) {
			char *entry = hf_mock_log_get(m->mock, i);
			print_message("request %zu: %.240s\n", i, entry);
			hf_free(entry);
		}
	assert_int_equal(n, want);
}

/* A SQLite store in a fresh temporary directory. */
typedef struct temp_store {
	char *dir;
	hf_store *store;
} temp_store;

static hf_store *store_open(temp_store *t)
{
	char *db;
	hf_error err;
	t->dir = ts_tmpdir();
	db = ts_path(t->dir, "sessions.db");
	if (hf_store_open_sqlite(&t->store, db, &err))
		fail_msg("store: %s", err.message);
	free(db);
	return t->store;
}

static void store_close(temp_store *t)
{
	hf_store_free(t->store);
	ts_rmtree(t->dir);
	free(t->dir);
}

/* ---- many conversations ---- */

static void test_many_conversations_sqlite(void **state)
{
	temp_store ts;
	te_endpoint ep;
	te_batch b;
	hf_engine *e;
	hf_store *store;
	hf_error err;
	size_t i;
	(void)state;

	store = store_open(&ts);
	hf_mock_log_clear(te_fast.mock);
	te_endpoint_init(&ep, &te_fast, NULL, -1);
	te_batch_init(&b, MANY, "many");
	e = engine_new(&ep, &b);
	te_submit_all(e, &b, store);
	run_idle(e);
	assert_int_equal(b.completed, MANY);
	for (i = 0; i < MANY; i++)
		te_assert_ok(&b, i, &te_reference, store);
	/* Two model calls per conversation: triage, then the answering agent. */
	assert_requests(&te_fast, 2 * MANY);

	/* A second turn in every conversation: sticky, so one call each. */
	hf_mock_log_clear(te_fast.mock);
	for (i = 0; i < MANY; i++) {
		b.recs[i].done_events = b.recs[i].completions = 0;
		te_submit(e, &b, i, store);
	}
	run_idle(e);
	assert_requests(&te_fast, MANY);
	for (i = 0; i < MANY; i++) {
		hf_session *stored;
		assert_int_equal(b.recs[i].completions, 1);
		assert_int_equal(b.recs[i].code, HF_OK);
		assert_string_equal(b.recs[i].agent, te_expected_agent(i));
		assert_int_equal(hf_session_message_count(b.recs[i].session), te_reference.messages[i % 2] + 2);
		assert_int_equal(hf_store_load(&stored, store, hf_session_id(b.recs[i].session), &err),
		                 HF_OK);
		assert_int_equal(hf_session_message_count(stored), te_reference.messages[i % 2] + 2);
		hf_session_free(stored);
	}
	hf_engine_free(e);
	te_batch_dispose(&b);
	store_close(&ts);
}

/* ---- several turns per conversation ---- */

#define CONVERSATIONS 60
#define TURNS 3

/* Conversations that submit their next turn from on_complete. */
typedef struct chain {
	hf_engine *e;
	hf_store *store;
	te_batch *b;
	int turns[CONVERSATIONS]; /* completed, each HF_OK */
	int failed;
} chain;

static void chain_submit(chain *ch, size_t i)
{
	hf_run_options o = HF_RUN_OPTIONS_INIT;
	hf_error err;
	o.payload = &ch->b->recs[i];
	if (hf_engine_submit(&ch->b->recs[i].id, ch->e, te_graph(), ch->b->recs[i].session,
	                     ch->store, te_input(i), &o, &err))
		fail_msg("submit %zu: %s", i, err.message);
}

static void chain_on_complete(const hf_completion *c, void *payload)
{
	chain *ch = payload;
	size_t i = (size_t)((te_rec *)c->payload - ch->b->recs);
	if (c->code != HF_OK) {
		ch->failed++;
		return;
	}
	/* The session is the caller's again: its next turn, from here. */
	if (++ch->turns[i] < TURNS)
		chain_submit(ch, i);
}

/* `conversations` conversations whose next turn is submitted from their
 * own on_complete, driven by the documented loop: hf_engine_perform's
 * count includes those turns, so the loop ends only when every
 * conversation had all its turns, each committed to the store. */
static void run_chains(size_t conversations)
{
	temp_store ts;
	te_endpoint ep;
	te_batch b;
	chain ch = { 0 };
	hf_error err;
	size_t i;
	int n;

	ch.store = store_open(&ts);
	ch.b = &b;
	hf_mock_log_clear(te_fast.mock);
	te_endpoint_init(&ep, &te_fast, NULL, -1);
	ep.engine.on_complete = chain_on_complete;
	ep.engine.payload = &ch;
	te_batch_init(&b, conversations, "chain");
	if (hf_engine_new(&ch.e, &ep.engine, &err))
		fail_msg("hf_engine_new: %s", err.message);
	for (i = 0; i < conversations; i++)
		chain_submit(&ch, i);
	while ((n = hf_engine_perform(ch.e, 1000, &err)) > 0) {
	}
	assert_int_equal(n, 0);
	assert_int_equal(ch.failed, 0);
	for (i = 0; i < conversations; i++) {
		/* Each turn adds the user's message and the answer; later turns
		 * stay with the agent holding the conversation. */
		size_t want = te_reference.messages[i % 2] + 2 * (TURNS - 1);
		hf_session *stored;
		assert_int_equal(ch.turns[i], TURNS);
		assert_int_equal(hf_session_message_count(b.recs[i].session), want);
		assert_int_equal(hf_store_load(&stored, ch.store, hf_session_id(b.recs[i].session),
		                               &err), HF_OK);
		assert_int_equal(hf_session_message_count(stored), want);
		assert_string_equal(hf_session_agent(stored), te_expected_agent(i));
		hf_session_free(stored);
	}
	/* Triage and the answering agent, then one call per later turn. */
	assert_requests(&te_fast, conversations * (2 + (TURNS - 1)));
	hf_engine_free(ch.e);
	te_batch_dispose(&b);
	store_close(&ts);
}

/* One conversation: each step that completes a turn leaves nothing in
 * flight but the turn its callback just submitted. */
static void test_resubmit_from_on_complete_one(void **state)
{
	(void)state;
	run_chains(1);
}

static void test_resubmit_from_on_complete_many(void **state)
{
	(void)state;
	run_chains(CONVERSATIONS);
}

/* Completions run by hf_engine_free that try to submit the next turn are
 * refused (the engine is going away), and nothing is left queued. */
typedef struct refusals {
	hf_engine *e;
	te_batch *b;
	size_t completed, refused;
} refusals;

static void refuse_on_complete(const hf_completion *c, void *payload)
{
	refusals *r = payload;
	te_rec *rec = c->payload;
	hf_error err;
	r->completed++;
	assert_int_equal(c->code, HF_ECANCELLED);
	if (hf_engine_submit(NULL, r->e, te_graph(), rec->session, NULL, "again", NULL, &err) ==
	    HF_EINVAL && ts_contains(err.message, "being freed"))
		r->refused++;
}

static void test_submit_during_free_refused(void **state)
{
	te_endpoint ep;
	te_batch b;
	refusals r = { 0 };
	hf_error err;
	size_t i;
	(void)state;

	te_endpoint_init(&ep, &te_slow, NULL, -1);
	ep.engine.on_complete = refuse_on_complete;
	ep.engine.payload = &r;
	ep.engine.max_requests = 5;
	te_batch_init(&b, 20, "refuse");
	r.b = &b;
	if (hf_engine_new(&r.e, &ep.engine, &err))
		fail_msg("hf_engine_new: %s", err.message);
	for (i = 0; i < 10; i++)
		te_submit(r.e, &b, i, NULL);
	run_for(r.e, 100); /* 5 in flight, 5 waiting to start */
	for (; i < b.n; i++) /* queued */
		te_submit(r.e, &b, i, NULL);
	hf_engine_free(r.e);
	assert_int_equal(r.completed, b.n);
	assert_int_equal(r.refused, b.n);
	te_batch_dispose(&b);
}

/* Turn ids are unique and every turn completes even when its input is
 * refused before any request (bad UTF-8): exactly once, with no events. */
static void test_bad_input_completes_once(void **state)
{
	te_endpoint ep;
	te_batch b;
	hf_engine *e;
	hf_run_options o = HF_RUN_OPTIONS_INIT;
	hf_error err;
	(void)state;

	te_endpoint_init(&ep, &te_fast, NULL, -1);
	te_batch_init(&b, 2, "bad");
	e = engine_new(&ep, &b);
	o.payload = &b.recs[0];
	assert_int_equal(hf_engine_submit(&b.recs[0].id, e, te_graph(), b.recs[0].session, NULL,
	                                  "caf\xC3", &o, &err), HF_OK);
	te_submit(e, &b, 1, NULL);
	assert_true(b.recs[1].id > b.recs[0].id);
	run_idle(e);
	te_assert_failed(&b, 0, HF_EINVAL, 0, NULL);
	te_assert_ok(&b, 1, &te_reference, NULL);
	/* Arguments are checked at once. */
	assert_int_equal(hf_engine_submit(NULL, e, te_graph(), NULL, NULL, "x", NULL, &err), HF_EINVAL);
	assert_int_equal(hf_engine_cancel(e, 999, &err), HF_EINVAL);
	assert_int_equal(hf_engine_socket_action(e, 0, HF_POLL_IN, &err), HF_EINVAL);
	hf_engine_free(e);
	te_batch_dispose(&b);
}

/* ---- faults ---- */

/* Every request dropped, no retries: each turn fails once with HF_ENET. */
static void test_drop_fails_each_once(void **state)
{
	temp_store ts;
	te_endpoint ep;
	te_batch b;
	hf_engine *e;
	hf_store *store;
	size_t i;
	(void)state;

	store = store_open(&ts);
	te_endpoint_init(&ep, &te_fast, "drop", 0);
	te_batch_init(&b, 200, "drop");
	e = engine_new(&ep, &b);
	te_submit_all(e, &b, store);
	run_idle(e);
	assert_int_equal(b.completed, b.n);
	for (i = 0; i < b.n; i++) {
		te_assert_failed(&b, i, HF_ENET, 1, store);
		assert_string_equal(b.recs[i].agent, "Triage agent");
		assert_true(ts_contains(b.recs[i].error, "agent 'Triage agent'"));
	}
	hf_engine_free(e);
	te_batch_dispose(&b);
	store_close(&ts);
}

/* The first requests fail (500, or the connection drops) and are retried
 * after a back-off on the engine's timers: every turn still succeeds. */
static void retried(const char *fault, int status)
{
	te_endpoint ep;
	te_batch b;
	hf_engine *e;
	size_t i;

	hf_mock_reset(te_fast.mock);
	hf_mock_log_clear(te_fast.mock);
	te_endpoint_init(&ep, &te_fast, fault, 2);
	te_batch_init(&b, 200, "retry");
	e = engine_new(&ep, &b);
	te_submit_all(e, &b, NULL);
	run_idle(e);
	assert_int_equal(b.completed, b.n);
	for (i = 0; i < b.n; i++)
		te_assert_ok(&b, i, &te_reference, NULL);
	if (status)
		assert_int_equal(mock_requests(&te_fast, status), 50);
	hf_engine_free(e);
	te_batch_dispose(&b);
}

static void test_500_retried(void **state)
{
	(void)state;
	retried("500;times=50", 500);
}

static void test_drop_retried(void **state)
{
	(void)state;
	retried("drop;times=50", 0);
}

/* The endpoint stalls: the idle timeout ends every (streaming) turn. */
static void test_stall_times_out(void **state)
{
	te_endpoint ep;
	te_batch b;
	hf_engine *e;
	size_t i;
	(void)state;

	/* a stall no test outlives: only the idle timeout can end the turns */
	te_endpoint_init(&ep, &te_fast, "stall;ms=3600000", 0);
	ep.client.idle_timeout_ms = 300;
	te_batch_init(&b, 100, "stall");
	e = engine_new(&ep, &b);
	te_submit_all(e, &b, NULL);
	run_idle(e);
	for (i = 0; i < b.n; i++) {
		te_assert_failed(&b, i, HF_ENET, 1, NULL);
		assert_true(ts_contains(b.recs[i].error, "idle timeout"));
	}
	hf_engine_free(e);
	te_batch_dispose(&b);
}

/* hf_engine_cancel on half of the turns while their first request is in
 * flight: those complete once as cancelled, the others are answered. */
static void test_cancel_half(void **state)
{
	temp_store ts;
	te_endpoint ep;
	te_batch b;
	hf_engine *e;
	hf_store *store;
	hf_error err;
	size_t i;
	(void)state;

	store = store_open(&ts);
	te_endpoint_init(&ep, &te_slow, NULL, -1);
	te_batch_init(&b, 200, "cancel");
	e = engine_new(&ep, &b);
	hf_mock_log_clear(te_slow.mock);
	te_submit_all(e, &b, store);
	run_until_logged(e, te_slow.mock, b.n); /* every first request is out */
	/* none is answered yet: te_slow_ms outlasts sending them */
	assert_int_equal(b.completed, 0);
	for (i = 1; i < b.n; i += 2)
		assert_int_equal(hf_engine_cancel(e, b.recs[i].id, &err), HF_OK);
	run_idle(e);
	assert_int_equal(b.completed, b.n);
	for (i = 0; i < b.n; i++) {
		if (i % 2) {
			te_assert_failed(&b, i, HF_ECANCELLED, 1, store);
		} else {
			/* Slow replies, same answers: compare with the fast reference. */
			te_assert_ok(&b, i, &te_reference, store);
		}
	}
	/* Cancelling a finished turn changes nothing. */
	assert_int_equal(hf_engine_cancel(e, b.recs[0].id, &err), HF_OK);
	run_for(e, 20);
	assert_int_equal(b.recs[0].completions, 1);
	hf_engine_free(e);
	te_batch_dispose(&b);
	store_close(&ts);
}

/* max_requests: turns beyond it wait, in order, to start; one cancelled
 * while waiting completes once, without having sent or reported anything. */
static void test_max_requests_waiting(void **state)
{
	te_endpoint ep;
	te_batch b;
	hf_engine *e;
	hf_error err;
	size_t i;
	(void)state;

	hf_mock_log_clear(te_slow.mock);
	te_endpoint_init(&ep, &te_slow, NULL, -1);
	ep.engine.max_requests = 10;
	te_batch_init(&b, 40, "slots");
	e = engine_new(&ep, &b);
	te_submit_all(e, &b, NULL);
	run_until_logged(e, te_slow.mock, 10); /* 10 calls out, 30 turns waiting to start */
	run_for(e, 20); /* (stepping on sends no more: the slots are full) */
	assert_int_equal(hf_mock_log_count(te_slow.mock), 10);
	for (i = 30; i < b.n; i++)
		assert_int_equal(hf_engine_cancel(e, b.recs[i].id, &err), HF_OK);
	run_idle(e);
	assert_int_equal(b.completed, b.n);
	for (i = 0; i < 30; i++)
		te_assert_ok(&b, i, &te_reference, NULL);
	for (; i < b.n; i++)
		te_assert_failed(&b, i, HF_ECANCELLED, 0, NULL);
	assert_int_equal(hf_mock_log_count(te_slow.mock), 2 * 30);
	hf_engine_free(e);
	te_batch_dispose(&b);
}

/* Retries at max_requests: a call whose back-off is over waits for a slot
 * (behind no new turn), and every turn still succeeds. */
static void test_max_requests_retries(void **state)
{
	te_endpoint ep;
	te_batch b;
	hf_engine *e;
	size_t i;
	(void)state;

	hf_mock_reset(te_fast.mock);
	te_endpoint_init(&ep, &te_fast, "500;times=20", 2);
	ep.engine.max_requests = 5;
	te_batch_init(&b, 60, "slots-retry");
	e = engine_new(&ep, &b);
	te_submit_all(e, &b, NULL);
	run_idle(e);
	assert_int_equal(b.completed, b.n);
	for (i = 0; i < b.n; i++)
		te_assert_ok(&b, i, &te_reference, NULL);
	hf_engine_free(e);
	te_batch_dispose(&b);
}

/* Freeing the engine with turns in flight, waiting for a slot, and never
 * started completes every one of them, once, as cancelled. */
static void test_free_in_flight(void **state)
{
	te_endpoint ep;
	te_batch b;
	hf_engine *e;
	size_t i;
	(void)state;

	te_endpoint_init(&ep, &te_slow, NULL, -1);
	ep.engine.max_requests = 150;
	te_batch_init(&b, 250, "free");
	e = engine_new(&ep, &b);
	hf_mock_log_clear(te_slow.mock);
	for (i = 0; i < 200; i++)
		te_submit(e, &b, i, NULL);
	run_until_logged(e, te_slow.mock, 150); /* the slots are full */
	for (; i < b.n; i++) /* queued, never started */
		te_submit(e, &b, i, NULL);
	assert_int_equal(b.completed, 0);
	hf_engine_free(e);
	assert_int_equal(b.completed, b.n);
	for (i = 0; i < b.n; i++)
		te_assert_failed(&b, i, HF_ECANCELLED, i < 150, NULL);
	te_batch_dispose(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_conversations_sqlite),
		cmocka_unit_test(test_resubmit_from_on_complete_one),
		cmocka_unit_test(test_resubmit_from_on_complete_many),
		cmocka_unit_test(test_bad_input_completes_once),
		cmocka_unit_test(test_drop_fails_each_once),
		cmocka_unit_test(test_500_retried),
		cmocka_unit_test(test_drop_retried),
		cmocka_unit_test(test_stall_times_out),
		cmocka_unit_test(test_cancel_half),
		cmocka_unit_test(test_max_requests_waiting),
		cmocka_unit_test(test_max_requests_retries),
		cmocka_unit_test(test_free_in_flight),
		cmocka_unit_test(test_submit_during_free_refused),
	};
	/* Slow enough that every request of a batch is sent before the first
	 * reply, on a loaded machine too (the cancel tests need that). */
	te_slow_ms = 2000;
	return cmocka_run_group_tests(tests, te_group_setup, te_group_teardown);
}

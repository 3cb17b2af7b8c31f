/*
 * test_engine_loop.c - the engine in loop mode: driven by an epoll loop
 * through socket_fn and timer_fn (hf_engine_socket_action /
 * hf_engine_timeout_action), against the real mock on 127.0.0.1.
 * Hundreds of conversations over a few reused connections, retries on the
 * engine's timer, the idle timeout, cancel and free, each turn completing
 * exactly once.
 */
#include "support_engine.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static hf_engine *loop_engine(te_endpoint *ep, te_batch *b, te_loop *l)
{
	hf_engine *e;
	hf_error err;
	ep->engine.payload = b;
	te_loop_init(l, &ep->engine);
	if (hf_engine_new(&e, &ep->engine, &err))
		fail_msg("hf_engine_new: %s", err.message);
	return e;
}

/* n turns ("<prefix>-i") through a loop-mode engine set up by ep, run
 * until all completed (at most max_ms), then the engine freed. The records
 * stay in b and what the loop saw in l (dispose both). */
static void run_batch(te_endpoint *ep, te_batch *b, te_loop *l, size_t n, const char *prefix,
                      long max_ms)
{
	hf_engine *e;
	te_batch_init(b, n, prefix);
	e = loop_engine(ep, b, l);
	te_submit_all(e, b, NULL);
	te_loop_run(l, e, &b->completed, b->n, max_ms);
	hf_engine_free(e);
}

static void batch_dispose(te_batch *b, te_loop *l)
{
	te_loop_dispose(l);
	te_batch_dispose(b);
}

/* 200 conversations through at most 8 connections, reused across them. */
static void test_loop_many_few_connections(void **state)
{
	te_endpoint ep;
	te_batch b;
	te_loop l;
	size_t i;
	(void)state;

	hf_mock_log_clear(te_fast.mock);
	te_endpoint_init(&ep, &te_fast, NULL, -1);
	ep.engine.max_connections = 8;
	run_batch(&ep, &b, &l, 200, "loop", TS_SAFETY_MS);
	for (i = 0; i < b.n; i++)
		te_assert_ok(&b, i, &te_reference, NULL);
	assert_int_equal(hf_mock_log_count(te_fast.mock), 2 * b.n);
	assert_true(l.nports >= 1);
	assert_true(l.nports <= 8);
	batch_dispose(&b, &l);
}

/* max_requests bounds the transfers, and so the connections, at once. */
static void test_loop_max_requests(void **state)
{
	te_endpoint ep;
	te_batch b;
	te_loop l;
	size_t i;
	(void)state;

	te_endpoint_init(&ep, &te_fast, NULL, -1);
	ep.engine.max_requests = 4;
	run_batch(&ep, &b, &l, 100, "slots", TS_SAFETY_MS);
	for (i = 0; i < b.n; i++)
		te_assert_ok(&b, i, &te_reference, NULL);
	assert_true(l.nports >= 1);
	assert_true(l.nports <= 4);
	batch_dispose(&b, &l);
}

/* Failed first attempts wait on the engine's timer, then succeed. */
static void test_loop_retry_timer(void **state)
{
	te_endpoint ep;
	te_batch b;
	te_loop l;
	size_t i, n500 = 0;
	(void)state;

	hf_mock_reset(te_fast.mock);
	hf_mock_log_clear(te_fast.mock);
	te_endpoint_init(&ep, &te_fast, "503;times=30", 2);
	run_batch(&ep, &b, &l, 100, "retry", TS_SAFETY_MS);
	for (i = 0; i < b.n; i++)
		te_assert_ok(&b, i, &te_reference, NULL);
	for (i = 0; i < hf_mock_log_count(te_fast.mock); i++) {
		char *entry = hf_mock_log_get(te_fast.mock, i);
		n500 += ts_contains(entry, "\"status\":503");
		hf_free(entry);
	}
	assert_int_equal(n500, 30);
	assert_int_equal(hf_mock_log_count(te_fast.mock), 2 * b.n + 30);
	batch_dispose(&b, &l);
}

/* A stalled endpoint: the idle timeout fires with no socket activity. */
static void test_loop_stall_idle_timeout(void **state)
{
	te_endpoint ep;
	te_batch b;
	te_loop l;
	size_t i;
	(void)state;

	te_endpoint_init(&ep, &te_fast, "stall;ms=20000", 0);
	ep.client.idle_timeout_ms = 300;
	run_batch(&ep, &b, &l, 100, "stall", TS_SAFETY_MS);
	for (i = 0; i < b.n; i++) {
		te_assert_failed(&b, i, HF_ENET, 1, NULL);
		assert_true(ts_contains(b.recs[i].error, "idle timeout"));
	}
	batch_dispose(&b, &l);
}

/* Nothing listens: every connection is refused, retried once on the
 * engine's timer, and fails; the loop's support checks that each socket is
 * removed while it is still open, however the connection ended. */
static void test_loop_refused(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	te_mock closed = { 0 };
	te_endpoint ep;
	te_batch b;
	te_loop l;
	size_t i;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	(void)state;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd); /* a port that was free a moment ago and is closed now */
	snprintf(closed.v1, sizeof(closed.v1), "http://127.0.0.1:%u/v1", ntohs(sa.sin_port));
	te_endpoint_init(&ep, &closed, NULL, 1);
	run_batch(&ep, &b, &l, 20, "refused", TS_SAFETY_MS);
	for (i = 0; i < b.n; i++) {
		te_assert_failed(&b, i, HF_ENET, 1, NULL);
		assert_true(ts_contains(b.recs[i].error, "127.0.0.1"));
	}
	batch_dispose(&b, &l);
}

/* Cancel a third before they start, then free the engine with the rest in
 * flight: every turn completes once, cancelled, and nothing is stored; the
 * turns cancelled before starting report no events. */
static void test_loop_cancel_then_free(void **state)
{
	te_endpoint ep;
	te_batch b;
	te_loop l;
	hf_engine *e;
	hf_error err;
	size_t i, target = 0;
	(void)state;

	te_endpoint_init(&ep, &te_slow, NULL, -1);
	te_batch_init(&b, 150, "free");
	e = loop_engine(&ep, &b, &l);
	te_submit_all(e, &b, NULL);
	for (i = 0; i < b.n; i += 3, target++)
		assert_int_equal(hf_engine_cancel(e, b.recs[i].id, &err), HF_OK);
	te_loop_run(&l, e, &b.completed, target, TS_SAFETY_MS);
	assert_int_equal(b.completed, target);
	hf_engine_free(e);
	assert_int_equal(b.completed, b.n);
	for (i = 0; i < b.n; i++)
		te_assert_failed(&b, i, HF_ECANCELLED, i % 3 ? 1 : 0, NULL);
	te_loop_dispose(&l);
	te_batch_dispose(&b);
}

/* Options: loop mode needs both callbacks, and loop-mode engines refuse
 * hf_engine_perform. */
static void test_loop_options(void **state)
{
	te_endpoint ep;
	te_batch b = { 0 };
	te_loop l;
	hf_engine *e;
	hf_error err;
	(void)state;

	te_endpoint_init(&ep, &te_fast, NULL, -1);
	te_loop_init(&l, &ep.engine);
	ep.engine.timer_fn = NULL;
	assert_int_equal(hf_engine_new(&e, &ep.engine, &err), HF_EINVAL);
	assert_true(ts_contains(err.message, "socket_fn"));
	te_loop_dispose(&l);
	e = loop_engine(&ep, &b, &l);
	assert_int_equal(hf_engine_perform(e, 0, &err), HF_EINVAL);
	assert_int_equal(hf_engine_timeout_action(e, &err), 0);
	hf_engine_free(e);
	te_loop_dispose(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loop_many_few_connections),
		cmocka_unit_test(test_loop_max_requests),
		cmocka_unit_test(test_loop_retry_timer),
		cmocka_unit_test(test_loop_stall_idle_timeout),
		cmocka_unit_test(test_loop_refused),
		cmocka_unit_test(test_loop_cancel_then_free),
		cmocka_unit_test(test_loop_options),
	};
	/* Slow enough that no reply comes before the cancels are done and every
	 * other request is out, on a loaded machine too. */
	te_slow_ms = 2000;
	return cmocka_run_group_tests(tests, te_group_setup, te_group_teardown);
}

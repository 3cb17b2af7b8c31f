/*
 * test_engine_threads.c - hf_engine_submit, hf_engine_cancel and
 * hf_engine_wakeup from other threads while one thread drives the engine,
 * in both driving modes, against the real mock on 127.0.0.1. Built with
 * -DHANDOFF_TSAN=ON this is the ThreadSanitizer check of the engine.
 */
#include "support_engine.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define THREADS 4
#define PER_THREAD 50
#define CANCEL_EVERY 5 /* each thread cancels every 5th of its turns */

static te_mock slow; /* 300 ms per reply: a cancel lands before the answer */
static te_ref ref;

static int setup(void **state)
{
	hf_error err;
	(void)state;
	if (hf_global_init(&err))
		return -1;
	te_mock_start(&slow, 300);
	te_ref_init(&ref, &slow);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	te_ref_dispose(&ref);
	te_mock_stop(&slow);
	hf_global_cleanup();
	return 0;
}

typedef struct submitter {
	pthread_t thread;
	hf_engine *e;
	te_batch *b;
	size_t first;
} submitter;

/* Submit this thread's share of the batch, cancelling some right away. */
static void *submit_share(void *arg)
{
	submitter *s = arg;
	hf_error err;
	size_t i;
	for (i = s->first; i < s->first + PER_THREAD; i++) {
		te_submit(s->e, s->b, i, NULL);
		if (i % CANCEL_EVERY == 0 && hf_engine_cancel(s->e, s->b->recs[i].id, &err))
			fail_msg("cancel: %s", err.message);
	}
	return NULL;
}

static void start_submitters(submitter *s, hf_engine *e, te_batch *b)
{
	size_t t;
	for (t = 0; t < THREADS; t++) {
		s[t].e = e;
		s[t].b = b;
		s[t].first = t * PER_THREAD;
		assert_int_equal(pthread_create(&s[t].thread, NULL, submit_share, &s[t]), 0);
	}
}

static void check_batch(const te_batch *b)
{
	size_t i;
	assert_int_equal(b->completed, b->n);
	for (i = 0; i < b->n; i++) {
		if (i % CANCEL_EVERY == 0) /* started or not: the threads decide */
			te_assert_failed(b, i, HF_ECANCELLED, -1, NULL);
		else
			te_assert_ok(b, i, &ref, NULL);
	}
}

static void test_threads_perform(void **state)
{
	submitter s[THREADS];
	te_endpoint ep;
	te_batch b;
	hf_engine *e;
	hf_error err;
	long long until;
	size_t t;
	(void)state;

	te_endpoint_init(&ep, &slow, NULL, -1);
	te_batch_init(&b, THREADS * PER_THREAD, "threads");
	ep.engine.payload = &b;
	assert_int_equal(hf_engine_new(&e, &ep.engine, &err), HF_OK);
	start_submitters(s, e, &b);
	until = te_now_ms() + TS_SAFETY_MS;
	while (b.completed < b.n) {
		assert_true(te_now_ms() < until); /* only a hung test gets here */
		assert_true(hf_engine_perform(e, 1000, &err) >= 0);
	}
	for (t = 0; t < THREADS; t++)
		pthread_join(s[t].thread, NULL);
	check_batch(&b);
	hf_engine_free(e);
	te_batch_dispose(&b);
}

static void test_threads_loop(void **state)
{
	submitter s[THREADS];
	te_endpoint ep;
	te_batch b;
	te_loop l;
	hf_engine *e;
	hf_error err;
	size_t t;
	(void)state;

	te_endpoint_init(&ep, &slow, NULL, -1);
	te_batch_init(&b, THREADS * PER_THREAD, "threads-loop");
	ep.engine.payload = &b;
	te_loop_init(&l, &ep.engine);
	assert_int_equal(hf_engine_new(&e, &ep.engine, &err), HF_OK);
	start_submitters(s, e, &b);
	te_loop_run(&l, e, &b.completed, b.n, TS_SAFETY_MS);
	for (t = 0; t < THREADS; t++)
		pthread_join(s[t].thread, NULL);
	check_batch(&b);
	hf_engine_free(e);
	te_loop_dispose(&l);
	te_batch_dispose(&b);
}

static void *wake_later(void *arg)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	hf_engine_wakeup(arg);
	return NULL;
}

/* A wake-up from another thread ends a wait that would otherwise outlast
 * the test's safety bound. (Whether it arrives before or during the wait,
 * the wait must end: the delay only makes "during" the usual case.) */
static void test_wakeup_ends_wait(void **state)
{
	te_endpoint ep;
	hf_engine *e;
	hf_error err;
	pthread_t th;
	long long t0;
	(void)state;

	te_endpoint_init(&ep, &slow, NULL, -1);
	assert_int_equal(hf_engine_new(&e, &ep.engine, &err), HF_OK);
	assert_int_equal(pthread_create(&th, NULL, wake_later, e), 0);
	t0 = te_now_ms();
	assert_int_equal(hf_engine_perform(e, 2 * TS_SAFETY_MS, &err), 0);
	assert_true(te_now_ms() - t0 < 2 * TS_SAFETY_MS); /* woken, not timed out */
	pthread_join(th, NULL);
	hf_engine_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_perform),
		cmocka_unit_test(test_threads_loop),
		cmocka_unit_test(test_wakeup_ends_wait),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

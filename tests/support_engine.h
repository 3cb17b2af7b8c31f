/*
 * support_engine.h - helpers shared by the engine tests (test_engine*.c):
 * a mock endpoint on 127.0.0.1, the default graph, engine options pointed
 * at the mock (with an optional X-Mock-Fault header), and a record of what
 * each submitted turn reported (events and its completion).
 */
#ifndef HF_TEST_SUPPORT_ENGINE_H
#define HF_TEST_SUPPORT_ENGINE_H

#include "support.h"

#include "handoff.h"
#include "mock.h"

/* A running mock with its "/v1" base URL. latency_ms: added per reply. */
typedef struct te_mock {
	hf_mock *mock;
	char v1[128];
} te_mock;

void te_mock_start(te_mock *m, long latency_ms);
void te_mock_stop(te_mock *m);

/* Engine settings aimed at the mock. fault (may be NULL) becomes the
 * X-Mock-Fault header; max_retries -1 keeps the default. The struct holds
 * the strings the options point to. */
typedef struct te_endpoint {
	hf_client_options client;
	hf_engine_options engine;
	char header[256];
	const char *headers[2];
} te_endpoint;

void te_endpoint_init(te_endpoint *ep, const te_mock *m, const char *fault, int max_retries);

/* The default graph (agents/ in the source tree); loaded once. */
const hf_graph *te_graph(void);

/* What one turn reported. */
typedef struct te_rec {
	uint64_t id;
	hf_session *session;
	int completions, done_events, error_events, agent_events;
	int code;
	char agent[64];
	char *answer;
	char error[HF_ERROR_MESSAGE_MAX];
} te_rec;

/* A set of turns submitted together; `completed` counts completions of all. */
typedef struct te_batch {
	te_rec *recs;
	size_t n;
	size_t completed;
} te_batch;

/* n records with sessions "<prefix>-<i>" (hf_session_new). */
void te_batch_init(te_batch *b, size_t n, const char *prefix);
void te_batch_dispose(te_batch *b);

/* hf_engine_complete_fn recording into the te_rec in c->payload; the
 * engine payload must be the te_batch. */
void te_on_complete(const hf_completion *c, void *payload);

/* The input of turn i: Spanish for even i, English for odd i; and the
 * agent that must answer it. */
const char *te_input(size_t i);
const char *te_expected_agent(size_t i);

/* Submit turn i of the batch (its session, te_input(i), store may be
 * NULL); records the turn id. */
void te_submit(hf_engine *e, te_batch *b, size_t i, hf_store *store);

/* The answer and message count hf_run gives for te_input(i) in a new
 * session against m (the reference the engine must match). */
typedef struct te_ref {
	char *answer[2];
	size_t messages[2];
} te_ref;

void te_ref_init(te_ref *ref, const te_mock *m);
void te_ref_dispose(te_ref *ref);

/* Assert that turn i completed once, routed and answered as hf_run does,
 * with its session holding the turn (and the store too, when not NULL). */
void te_assert_ok(const te_batch *b, size_t i, const te_ref *ref, hf_store *store);

/* Assert that turn i completed once with `code`, its session and the store
 * (when not NULL) unchanged (empty). A turn that started (reported AGENT)
 * also reported exactly one ERROR event; one that did not reported nothing.
 * `started`: 1 it must have started, 0 it must not, -1 either. */
void te_assert_failed(const te_batch *b, size_t i, int code, int started, hf_store *store);

long long te_now_ms(void);

/* Group fixtures for cmocka: hf_global_init, a fast mock, a slow one
 * (every reply `slow_ms` late; set te_slow_ms before the group runs) and
 * the reference answers from the fast one. */
extern te_mock te_fast, te_slow;
extern te_ref te_reference;
extern long te_slow_ms;
int te_group_setup(void **state);
int te_group_teardown(void **state);

/* Submit turns [0, b->n) of the batch. */
void te_submit_all(hf_engine *e, te_batch *b, hf_store *store);

/* An epoll loop driving an engine in loop mode (socket_fn + timer_fn). It
 * notes the local port of every TCP socket it is asked to watch, so a test
 * can count the connections the engine opened. */
typedef struct te_loop {
	int epfd;
	long long due;          /* the engine's timer; -1: none */
	unsigned short ports[1024];
	size_t nports;          /* distinct local ports seen */
} te_loop;

/* Set up the loop and point eo's socket_fn, timer_fn and loop_payload at it. */
void te_loop_init(te_loop *l, hf_engine_options *eo);
/* Run until *completed reaches target; fails the test after max_ms. */
void te_loop_run(te_loop *l, hf_engine *e, const size_t *completed, size_t target, long max_ms);
void te_loop_dispose(te_loop *l);

#endif

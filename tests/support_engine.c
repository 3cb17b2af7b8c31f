/*
 * support_engine.c - see support_engine.h.
 */
#include "support_engine.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

long long te_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void te_mock_start(te_mock *m, long latency_ms)
{
	hf_mock_options o = { 0 };
	hf_error err;
	o.latency_ms = latency_ms;
	o.log_memory = true;
	if (hf_mock_start(&m->mock, &o, &err))
		fail_msg("mock: %s", err.message);
	snprintf(m->v1, sizeof(m->v1), "%s/v1", hf_mock_url(m->mock));
}

void te_mock_stop(te_mock *m)
{
	hf_mock_stop(m->mock);
	m->mock = NULL;
}

void te_endpoint_init(te_endpoint *ep, const te_mock *m, const char *fault, int max_retries)
{
	hf_client_options c = HF_CLIENT_OPTIONS_INIT;
	hf_engine_options e = HF_ENGINE_OPTIONS_INIT;
	ep->client = c;
	ep->engine = e;
	ep->client.base_url = m->v1;
	ep->client.max_retries = max_retries;
	if (fault) {
		snprintf(ep->header, sizeof(ep->header), "X-Mock-Fault: %s", fault);
		ep->headers[0] = ep->header;
		ep->headers[1] = NULL;
		ep->client.headers = ep->headers;
	}
	ep->engine.client = &ep->client;
	ep->engine.on_complete = te_on_complete;
}

const hf_graph *te_graph(void)
{
	static hf_graph *g;
	hf_error err;
	if (!g && hf_graph_load(&g, HF_SOURCE_DIR "/agents", NULL, &err))
		fail_msg("default graph: %s", err.message);
	return g;
}

/* ---- records ---- */

static int on_event(const hf_event *ev, void *payload)
{
	te_rec *r = payload;
	if (ev->type == HF_EVENT_DONE)
		r->done_events++;
	else if (ev->type == HF_EVENT_ERROR)
		r->error_events++;
	else if (ev->type == HF_EVENT_AGENT)
		r->agent_events++;
	return 0;
}

void te_on_complete(const hf_completion *c, void *payload)
{
	te_batch *b = payload;
	te_rec *r = c->payload;
	b->completed++;
	r->completions++;
	r->code = c->code;
	assert_int_equal(c->turn_id, r->id);
	assert_string_equal(c->session_id, hf_session_id(r->session));
	snprintf(r->agent, sizeof(r->agent), "%s", c->agent ? c->agent : "");
	if (c->code == HF_OK) {
		assert_null(c->error);
		assert_non_null(c->answer);
		free(r->answer);
		r->answer = strdup(c->answer);
	} else {
		assert_non_null(c->error);
		assert_null(c->answer);
		snprintf(r->error, sizeof(r->error), "%s", c->error->message);
	}
}

void te_batch_init(te_batch *b, size_t n, const char *prefix)
{
	size_t i;
	hf_error err;
	b->recs = calloc(n, sizeof(*b->recs));
	assert_non_null(b->recs);
	b->n = n;
	b->completed = 0;
	for (i = 0; i < n; i++) {
		char id[64];
		snprintf(id, sizeof(id), "%s-%zu", prefix, i);
		assert_int_equal(hf_session_new(&b->recs[i].session, id, &err), HF_OK);
	}
}

void te_batch_dispose(te_batch *b)
{
	size_t i;
	for (i = 0; i < b->n; i++) {
		hf_session_free(b->recs[i].session);
		free(b->recs[i].answer);
	}
	free(b->recs);
	b->recs = NULL;
}

const char *te_input(size_t i)
{
	return i % 2 ? "Hello! Where is my order? It was due yesterday."
	             : "¡Hola! ¿Dónde está mi pedido? Debía llegar ayer.";
}

const char *te_expected_agent(size_t i)
{
	return i % 2 ? "English agent" : "Spanish agent";
}

void te_submit(hf_engine *e, te_batch *b, size_t i, hf_store *store)
{
	hf_run_options o = HF_RUN_OPTIONS_INIT;
	hf_error err;
	te_rec *r = &b->recs[i];
	o.on_event = on_event;
	o.payload = r;
	if (hf_engine_submit(&r->id, e, te_graph(), r->session, store, te_input(i), &o, &err))
		fail_msg("submit %zu: %s", i, err.message);
	assert_true(r->id > 0);
}

void te_submit_all(hf_engine *e, te_batch *b, hf_store *store)
{
	size_t i;
	for (i = 0; i < b->n; i++)
		te_submit(e, b, i, store);
}

/* ---- the reference: hf_run ---- */

void te_ref_init(te_ref *ref, const te_mock *m)
{
	hf_client_options o = HF_CLIENT_OPTIONS_INIT;
	hf_client *c;
	hf_error err;
	size_t i;
	o.base_url = m->v1;
	assert_int_equal(hf_client_new(&c, &o, NULL, &err), HF_OK);
	for (i = 0; i < 2; i++) {
		hf_session *s;
		assert_int_equal(hf_session_new(&s, NULL, &err), HF_OK);
		if (hf_run(&ref->answer[i], c, te_graph(), s, NULL, te_input(i), NULL, &err))
			fail_msg("reference hf_run: %s", err.message);
		assert_string_equal(hf_session_agent(s), te_expected_agent(i));
		ref->messages[i] = hf_session_message_count(s);
		hf_session_free(s);
	}
	hf_client_free(c);
}

void te_ref_dispose(te_ref *ref)
{
	hf_free(ref->answer[0]);
	hf_free(ref->answer[1]);
}

void te_assert_ok(const te_batch *b, size_t i, const te_ref *ref, hf_store *store)
{
	const te_rec *r = &b->recs[i];
	size_t k, n;
	if (r->completions != 1 || r->code != HF_OK)
		fail_msg("turn %zu: %d completions, code %d: %s", i, r->completions, r->code, r->error);
	assert_int_equal(r->done_events, 1);
	assert_int_equal(r->error_events, 0);
	assert_int_equal(r->agent_events, 2); /* triage, then the language's agent */
	assert_string_equal(r->agent, te_expected_agent(i));
	assert_string_equal(r->answer, ref->answer[i % 2]);
	n = hf_session_message_count(r->session);
	assert_int_equal(n, ref->messages[i % 2]);
	assert_string_equal(hf_session_agent(r->session), te_expected_agent(i));
	if (store) {
		hf_session *stored;
		hf_error err;
		assert_int_equal(hf_store_load(&stored, store, hf_session_id(r->session), &err), HF_OK);
		assert_int_equal(hf_session_message_count(stored), n);
		assert_string_equal(hf_session_agent(stored), te_expected_agent(i));
		for (k = 0; k < n; k++)
			assert_string_equal(hf_session_message_json(stored, k),
			                    hf_session_message_json(r->session, k));
		hf_session_free(stored);
	}
}

void te_assert_failed(const te_batch *b, size_t i, int code, int started, hf_store *store)
{
	const te_rec *r = &b->recs[i];
	if (r->completions != 1 || r->code != code)
		fail_msg("turn %zu: %d completions, code %d (want %d): %s", i, r->completions,
		         r->code, code, r->error);
	assert_int_equal(r->done_events, 0);
	if (started >= 0)
		assert_int_equal(r->agent_events > 0, started);
	assert_int_equal(r->error_events, r->agent_events > 0 ? 1 : 0);
	assert_true(r->error[0] != '\0');
	assert_int_equal(hf_session_message_count(r->session), 0);
	assert_null(hf_session_agent(r->session));
	if (store) {
		hf_session *stored = NULL;
		hf_error err;
		assert_int_equal(hf_store_load(&stored, store, hf_session_id(r->session), &err),
		                 HF_ENOTFOUND);
	}
}

/* ---- group fixtures ---- */

te_mock te_fast, te_slow;
te_ref te_reference;
long te_slow_ms = 400;

int te_group_setup(void **state)
{
	hf_error err;
	(void)state;
	if (hf_global_init(&err))
		return -1;
	te_mock_start(&te_fast, 0);
	te_mock_start(&te_slow, te_slow_ms);
	te_ref_init(&te_reference, &te_fast);
	return 0;
}

int te_group_teardown(void **state)
{
	(void)state;
	te_ref_dispose(&te_reference);
	te_mock_stop(&te_fast);
	te_mock_stop(&te_slow);
	hf_global_cleanup();
	return 0;
}

/* ---- an epoll loop for loop mode ---- */

static void note_port(te_loop *l, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	unsigned short port;
	size_t i;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) || ss.ss_family != AF_INET)
		return; /* the engine's wake-up pipe */
	port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	for (i = 0; i < l->nports; i++)
		if (l->ports[i] == port)
			return;
	if (l->nports < HF_ARRAY_LEN(l->ports))
		l->ports[l->nports++] = port;
}

static int loop_socket(int fd, int what, void *payload)
{
	te_loop *l = payload;
	struct epoll_event ev = { 0 };
	if (what & HF_POLL_REMOVE) {
		/* The engine's contract: a socket is removed while it is still
		 * open and watched, never after libcurl closed it. */
		if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL))
			fail_msg("socket %d removed but not watched: %s", fd, strerror(errno));
		return 0;
	}
	assert_true(what & (HF_POLL_IN | HF_POLL_OUT));
	note_port(l, fd);
	ev.events = ((what & HF_POLL_IN) ? EPOLLIN : 0) | ((what & HF_POLL_OUT) ? EPOLLOUT : 0);
	ev.data.fd = fd;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
		return 0;
	return errno == ENOENT ? epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) : -1;
}

static int loop_timer(long ms, void *payload)
{
	te_loop *l = payload;
	l->due = ms < 0 ? -1 : te_now_ms() + ms;
	return 0;
}

void te_loop_init(te_loop *l, hf_engine_options *eo)
{
	memset(l, 0, sizeof(*l));
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	assert_true(l->epfd >= 0);
	l->due = -1;
	eo->socket_fn = loop_socket;
	eo->timer_fn = loop_timer;
	eo->loop_payload = l;
}

void te_loop_run(te_loop *l, hf_engine *e, const size_t *completed, size_t target, long max_ms)
{
	long long until = te_now_ms() + max_ms;
	hf_error err;
	while (*completed < target) {
		struct epoll_event evs[64];
		long long wait = l->due < 0 ? 100 : l->due - te_now_ms();
		int k, i;
		if (te_now_ms() > until)
			fail_msg("loop: %zu of %zu turns completed after %ld ms", *completed, target,
			         max_ms);
		k = epoll_wait(l->epfd, evs, 64, wait < 0 ? 0 : wait > 100 ? 100 : (int)wait);
		for (i = 0; i < k; i++) {
			int ready = ((evs[i].events & EPOLLIN) ? HF_POLL_IN : 0) |
			            ((evs[i].events & EPOLLOUT) ? HF_POLL_OUT : 0) |
			            ((evs[i].events & (EPOLLERR | EPOLLHUP)) ? HF_POLL_ERR : 0);
			if (hf_engine_socket_action(e, evs[i].data.fd, ready, &err) < 0)
				fail_msg("socket_action: %s", err.message);
		}
		if (l->due >= 0 && te_now_ms() >= l->due) {
			l->due = -1;
			if (hf_engine_timeout_action(e, &err) < 0)
				fail_msg("timeout_action: %s", err.message);
		}
	}
}

void te_loop_dispose(te_loop *l)
{
	close(l->epfd);
}

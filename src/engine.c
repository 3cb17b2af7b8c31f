/*
 * engine.c - many turns in flight on one thread (see "Engine" in handoff.h).
 *
 * The engine is only a driver: like hf_run, it moves HTTP between
 * hf_turn_request and hf_turn_apply (turn.c holds every routing rule),
 * with one curl multi handle instead of one blocking easy handle:
 *
 *   submit (any thread) ─► queue ─► driving thread: hf_turn_new
 *     ─► hf_turn_request ─► hf_call_new ─► hf_call_setup(easy) ─► multi
 *     ─► transfer done ─► hf_call_finish ─┬─ RETRY: wait (back-off heap), again
 *                                          └─ DONE: hf_call_reply
 *     ─► hf_turn_apply ─┬─ NEXT: hf_turn_request again
 *                       ├─ TOOLS: hf_turn_tools_start; results posted from
 *                       │   any thread are queued under the lock, and
 *                       │   drain_queue hands each to hf_turn_tool_done;
 *                       │   the last one: hf_turn_tools_finish ─► NEXT / DONE
 *                       └─ DONE / error: on_complete, exactly once
 *
 * A turn holds an easy handle only while its transfer is in the multi;
 * idle handles are pooled (the connections live in the multi's cache, so
 * conversations to one endpoint share them).
 */
#include "heap.h"
#include "list.h"
#include "turn.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EASY_POOL_MAX 4096   /* idle easy handles kept for reuse */
#define NO_DEADLINE (-1LL)

/*
 * A turn's state. Every change goes through mstate(), which checks that
 * the change is one the engine makes and moves the turn out of what held
 * it in its old state and into what holds it in the new one (a list, the
 * retry heap, the multi), so nothing else has to know where a turn is:
 *
 *   QUEUED ─► PENDING ─► STEP ─┬─► SLOT ─────┐
 *                         ▲    ├─► TRANSFER ─┤
 *                         │    ├─► BACKOFF ──┤
 *                         │    └─► TOOLS ────┤
 *                         └──────────────────┘
 *   any state ─► DONE (completed: on_complete, then freed)
 *
 * Every wait ends in STEP, where the driving thread moves the turn on
 * synchronously (start it, build the next request, apply a reply) and
 * picks the next wait, or DONE. A turn is in STEP only inside one call on
 * the driving thread, never between two.
 *
 * The states the second wave adds (DESIGN.md) fit the same pattern, each a
 * wait entered from STEP and left back to STEP (or to DONE), with its
 * holder in mstate():
 *  - ES_TOOLS, waiting for tool results: entered when an applied reply
 *    asks for tools; tools completing later, from any thread, are queued
 *    under the lock like submissions, and drain_queue moves the turn back
 *    to STEP when its last result is in. Holder: a list.
 *  - ES_STORE, waiting for the store: a networked store's commit (after
 *    the last reply) or load (before the first request) runs
 *    asynchronously; its completion moves the turn to STEP. Holder: a list
 *    (the store's own descriptors go to the multi or the loop).
 *  - Guardrails running concurrently with a model call do not need a
 *    state of their own while both run: the turn stays in TRANSFER while
 *    it has transfers outstanding (a count on the turn, and CURLOPT_PRIVATE
 *    naming the call, not the turn), and enters STEP when the last ends. A
 *    reply that arrives before its guardrails finish waits in ES_GUARD.
 */
typedef enum eng_state {
	ES_QUEUED,    /* submitted; in the submission queue (under the lock) */
	ES_PENDING,   /* taken by the driving thread; waits for a slot to start
	               * (e->pending), holding little more than its input */
	ES_STEP,      /* being moved on by the driving thread; held by nothing */
	ES_SLOT,      /* started; its call waits for a free slot (e->slot_wait) */
	ES_TRANSFER,  /* its call's transfer is in the multi (et->easy) */
	ES_BACKOFF,   /* its call waits to be retried (e->backoff) */
	ES_TOOLS,     /* waits for function-tool results (e->tools_wait) */
	ES_DONE       /* completed; about to be freed */
} eng_state;

typedef struct eng_turn {
	uint64_t id;
	eng_state state;         /* QUEUED from hf_engine_submit; then only mstate() */
	const hf_graph *g;
	hf_session *s;
	hf_store *st;
	char *input;             /* until the turn starts */
	hf_run_options opts;     /* the caller's (on_event, payload) */
	hf_turn *turn;           /* NULL until started */
	hf_call *call;           /* the model call in progress */
	CURL *easy;              /* the call's transfer (TRANSFER, and in STEP until
	                          * transfer_done has read it) */
	const char *agent;       /* in charge (borrowed from the graph) */
	hf_usage usage;          /* from DONE */
	hf_link all;             /* in e->live: every turn past QUEUED, not DONE */
	hf_link link;            /* in its state's list, or the submission queue */
	hf_heap_node backoff;    /* in e->backoff (BACKOFF): when to retry */
	int socks[4];            /* loop mode: sockets opened for the transfer in the multi */
	int nsocks;
	hf_engine *e;
	hf_tool_sink sink;       /* where its tool calls post their results */
	bool had_tools;          /* it ran tools: results may be queued for it */
} eng_turn;

/* A cancel request from hf_engine_cancel, queued for the driving thread. */
typedef struct eng_cancel {
	uint64_t id;
	struct eng_cancel *next;
} eng_cancel;

struct hf_engine {
	hf_endpoint ep;
	hf_engine_options opts;
	CURLM *multi;
	bool loop_mode;          /* socket_fn + timer_fn */

	/* Shared with submitting threads (lock). */
	pthread_mutex_t lock;
	hf_list queue;           /* QUEUED turns, in submission order */
	eng_cancel *cancels;
	hf_tool_call *tools_head, *tools_tail; /* tool results posted (any thread) */
	uint64_t last_id;
	bool wake_pending;       /* a wake-up was sent and not drained yet */
	bool closing;            /* hf_engine_free has begun: no more submissions */

	/* Driving thread only. */
	hf_list live;            /* every turn past QUEUED and not DONE */
	hf_list pending;         /* PENDING, in submission order */
	hf_list slot_wait;       /* SLOT, in the order they asked */
	hf_list tools_wait;      /* TOOLS */
	hf_tool_call *batch;     /* tool results taken from the queue, being delivered */
	/* BACKOFF, earliest first. Retry deadlines do not arrive in order
	 * (jitter, Retry-After, different attempt numbers), so a sorted list
	 * costs O(n) per insertion, and many calls back off at once exactly
	 * when the engine is busiest (a 429 or 5xx burst across thousands of
	 * conversations). A binary heap: O(log n) to add or cancel, O(1) for
	 * the earliest, equal deadlines in order; room for every started turn
	 * is reserved when it starts, so entering BACKOFF cannot fail. */
	hf_heap backoff;
	size_t started;          /* turns past PENDING and not DONE */
	size_t in_flight;        /* TRANSFER: transfers in the multi */
	CURL **pool;
	size_t npool;
	int wake_rd, wake_wr;    /* loop mode: the wake-up pipe */
	CURL **watched;          /* loop mode: watched[fd]: the transfer last using fd,
	                          * while socket_fn watches it; else NULL */
	size_t nwatched;
	long long curl_due;      /* loop mode: libcurl's next timeout */
	long long armed;         /* loop mode: the deadline given to timer_fn */
	bool timer_armed;
};

#define TURN_OF(k, member) HF_CONTAINER(k, eng_turn, member)

static void unlock_and_wake(hf_engine *e);

static int multi_error(hf_error *err, CURLMcode mc, const char *what)
{
	return hf_err(err, mc == CURLM_OUT_OF_MEMORY ? HF_ENOMEM : HF_ENET,
	              "libcurl failed to %s: %s", what, curl_multi_strerror(mc));
}

/* ---- easy handle pool ---- */

/* A pooled handle, or a new one prepared for the engine's endpoint. */
static CURL *easy_get(hf_engine *e)
{
	CURL *easy;
	if (e->npool)
		return e->pool[--e->npool];
	if ((easy = curl_easy_init()) && hf_call_easy_prepare(easy, &e->ep, NULL)) {
		curl_easy_cleanup(easy);
		easy = NULL;
	}
	return easy;
}

static void easy_put(hf_engine *e, CURL *easy)
{
	if (e->npool < EASY_POOL_MAX && e->pool)
		e->pool[e->npool++] = easy;
	else
		curl_easy_cleanup(easy);
}

/* ---- loop mode: the sockets the application watches ---- */

/*
 * Sockets in loop mode. The application hears HF_POLL_REMOVE only while a
 * socket is still open. libcurl 7.88 closes a socket that is still
 * connecting without telling (a transfer removed before it connected), and
 * reports its removal afterwards, when the descriptor may already belong to
 * something else. So the engine keeps which descriptors the application
 * watches (and for which transfer) and which sockets the transfer in flight
 * opened: before it removes a transfer still connecting it removes those
 * sockets itself, and it drops libcurl's reports for descriptors nobody
 * watches.
 */
static CURL *watcher(const hf_engine *e, int fd)
{
	return fd >= 0 && (size_t)fd < e->nwatched ? e->watched[fd] : NULL;
}

static int watch(hf_engine *e, int fd, CURL *easy)
{
	if ((size_t)fd >= e->nwatched) {
		size_t n = e->nwatched ? e->nwatched : 64, i;
		CURL **w;
		while (n <= (size_t)fd)
			n *= 2;
		if (!(w = hf_realloc(e->watched, n * sizeof(*w))))
			return -1;
		for (i = e->nwatched; i < n; i++)
			w[i] = NULL;
		e->watched = w;
		e->nwatched = n;
	}
	e->watched[fd] = easy;
	return 0;
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	hf_engine *e = userp;
	int hw = ((what & CURL_POLL_IN) ? HF_POLL_IN : 0) | ((what & CURL_POLL_OUT) ? HF_POLL_OUT : 0);
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		if (!watcher(e, (int)fd))
			return 0;
		e->watched[fd] = NULL;
		hw = HF_POLL_REMOVE;
	} else if (watch(e, (int)fd, easy)) {
		return -1;
	}
	return e->opts.socket_fn((int)fd, hw, e->opts.loop_payload) ? -1 : 0;
}

/* CURLOPT_OPENSOCKETFUNCTION: libcurl's own socket(), noting the socket. */
static curl_socket_t open_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	eng_turn *et = clientp;
	int fd = socket(a->family, a->socktype, a->protocol);
	(void)purpose;
	if (fd >= 0 && et->nsocks < (int)HF_ARRAY_LEN(et->socks))
		et->socks[et->nsocks++] = fd;
	return fd < 0 ? CURL_SOCKET_BAD : fd;
}

/* Before a transfer still connecting leaves the multi (which closes its
 * sockets unannounced): remove the sockets it opened and still uses from
 * the application's loop while they are open. A connected transfer's
 * socket is left to libcurl, which announces its close, or keeps it for
 * the other transfers of the connection (HTTP/2). */
static void unwatch_opened(hf_engine *e, eng_turn *et)
{
	curl_off_t connected = 0;
	int i;
	curl_easy_getinfo(et->easy, CURLINFO_CONNECT_TIME_T, &connected);
	for (i = 0; !connected && i < et->nsocks; i++)
		if (watcher(e, et->socks[i]) == et->easy) {
			e->watched[et->socks[i]] = NULL;
			e->opts.socket_fn(et->socks[i], HF_POLL_REMOVE, e->opts.loop_payload);
		}
}

/* ---- the turn's view of events ---- */

/* Forwards every event to the caller, noting the agent in charge (for
 * completions and error messages) and the turn's usage. */
static int on_event(const hf_event *ev, void *payload)
{
	eng_turn *et = payload;
	if (ev->type == HF_EVENT_AGENT && ev->to)
		et->agent = ev->to;
	else if (ev->type == HF_EVENT_DONE)
		et->usage = ev->usage;
	return et->opts.on_event ? et->opts.on_event(ev, et->opts.payload) : 0;
}

/* ---- the state machine ---- */

/* The changes the diagram at the top allows (checked in debug builds:
 * the sanitizer builds CI runs the engine tests in). */
static inline bool legal(eng_state from, eng_state to)
{
	switch (to) {
	case ES_PENDING:
		return from == ES_QUEUED;
	case ES_STEP:
		return from == ES_PENDING || from == ES_SLOT || from == ES_TRANSFER ||
		       from == ES_BACKOFF || from == ES_TOOLS;
	case ES_SLOT:
	case ES_TRANSFER:
	case ES_BACKOFF:
	case ES_TOOLS:
		return from == ES_STEP;
	case ES_DONE:
		return from != ES_DONE;
	default:
		return false;
	}
}

/* Every state change of a turn: out of what held it in its old state,
 * into what holds it in the new one. It cannot fail; what can (starting a
 * transfer, reserving room) is done by the caller before. */
static void mstate(hf_engine *e, eng_turn *et, eng_state to)
{
	eng_state from = et->state;

	assert(legal(from, to));
	switch (from) {
	case ES_QUEUED:
		/* The caller took it out of the submission queue (under the
		 * lock); from here on the driving thread owns it. */
		if (to != ES_DONE)
			hf_list_push(&e->live, &et->all);
		break;
	case ES_PENDING:
		hf_list_remove(&e->pending, &et->link);
		if (to == ES_STEP)
			e->started++;
		break;
	case ES_SLOT:
		hf_list_remove(&e->slot_wait, &et->link);
		break;
	case ES_TRANSFER:
		if (to == ES_DONE) /* cut short: see unwatch_opened */
			unwatch_opened(e, et);
		curl_multi_remove_handle(e->multi, et->easy);
		e->in_flight--;
		if (to == ES_DONE) {
			easy_put(e, et->easy);
			et->easy = NULL;
		} /* else transfer_done reads the result, then pools the handle */
		break;
	case ES_BACKOFF:
		hf_heap_remove(&e->backoff, &et->backoff);
		break;
	case ES_TOOLS:
		hf_list_remove(&e->tools_wait, &et->link);
		break;
	case ES_STEP:
	case ES_DONE:
		break;
	}
	switch (to) {
	case ES_PENDING:
		hf_list_push(&e->pending, &et->link);
		break;
	case ES_SLOT:
		hf_list_push(&e->slot_wait, &et->link);
		break;
	case ES_TRANSFER: /* start_transfer put et->easy in the multi */
		e->in_flight++;
		break;
	case ES_BACKOFF: /* et->backoff.key: when; room reserved by start_turn */
		hf_heap_push(&e->backoff, &et->backoff);
		break;
	case ES_TOOLS: /* its calls post to et->sink */
		hf_list_push(&e->tools_wait, &et->link);
		break;
	case ES_DONE:
		if (from != ES_QUEUED)
			hf_list_remove(&e->live, &et->all);
		if (from != ES_QUEUED && from != ES_PENDING)
			e->started--;
		break;
	case ES_QUEUED:
	case ES_STEP:
		break;
	}
	et->state = to;
}

/* ---- completion ---- */

/* Take the results queued for et out of a list of posted calls. */
static hf_tool_call *unlink_results(hf_tool_call **head, const eng_turn *et,
                                    hf_tool_call **tail, hf_tool_call *dropped)
{
	hf_tool_call **p = head, *last = NULL;
	while (*p) {
		hf_tool_call *c = *p;
		if (hf_tool_call_sink(c) == &et->sink) {
			*p = *hf_tool_call_link(c);
			*hf_tool_call_link(c) = dropped;
			dropped = c;
		} else {
			last = c;
			p = hf_tool_call_link(c);
		}
	}
	if (tail)
		*tail = last;
	return dropped;
}

/* A turn that ran tools is about to be freed: its calls still out are
 * cancelled (they will never post), and results already posted for it
 * are released, so nothing refers to it afterwards. */
static void drop_tool_results(hf_engine *e, eng_turn *et)
{
	hf_tool_call *dropped;
	hf_turn_tools_cancel(et->turn);
	dropped = unlink_results(&e->batch, et, NULL, NULL);
	pthread_mutex_lock(&e->lock);
	dropped = unlink_results(&e->tools_head, et, &e->tools_tail, dropped);
	pthread_mutex_unlock(&e->lock);
	while (dropped) {
		hf_tool_call *next = *hf_tool_call_link(dropped);
		hf_tool_call_release(dropped);
		dropped = next;
	}
}

/* Report a turn's end once, then free it. A started turn that failed
 * outside hf_turn_apply gets its ERROR event first (hf_turn_fail reports
 * nothing twice). */
static void complete(hf_engine *e, eng_turn *et, int code, const hf_error *err)
{
	hf_completion c = { .turn_id = et->id, .code = code, .agent = et->agent,
		            .session_id = hf_session_id(et->s), .payload = et->opts.payload };
	if (et->had_tools)
		drop_tool_results(e, et);
	if (et->turn && code < 0)
		hf_turn_fail(et->turn, err);
	if (code == HF_OK) {
		c.answer = hf_turn_answer(et->turn);
		c.usage = et->usage;
	} else {
		c.error = err;
	}
	mstate(e, et, ES_DONE);
	/* A turn the callback submits (the same session's next turn too)
	 * is queued and counted by running(), so the caller's loop goes on. */
	if (e->opts.on_complete)
		e->opts.on_complete(&c, e->opts.payload);
	hf_call_free(et->call);
	hf_turn_free(et->turn);
	free(et->input);
	free(et);
}

/* ---- moving a turn on (in STEP) ---- */

/* Put the call's next attempt on an easy handle into the multi. */
static int start_transfer(hf_engine *e, eng_turn *et, hf_error *err)
{
	CURL *easy = easy_get(e);
	CURLMcode mc;
	int rc;
	if (!easy)
		return hf_err(err, HF_ENOMEM, "out of memory creating a transfer");
	if ((rc = hf_call_setup(et->call, easy, err))) {
		easy_put(e, easy);
		return rc;
	}
	curl_easy_setopt(easy, CURLOPT_PRIVATE, et);
	et->nsocks = 0;
	if (e->loop_mode) {
		curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_cb);
		curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, et);
	}
	if ((mc = curl_multi_add_handle(e->multi, easy)) != CURLM_OK) {
		easy_put(e, easy);
		return multi_error(err, mc, "add a transfer");
	}
	et->easy = easy;
	mstate(e, et, ES_TRANSFER);
	return HF_OK;
}

/* Whether max_requests allows one more transfer. */
static bool has_slot(const hf_engine *e)
{
	return !e->opts.max_requests || e->in_flight < (size_t)e->opts.max_requests;
}

/* Start the attempt now, or, at max_requests, when a slot frees (in order). */
static int start_attempt(hf_engine *e, eng_turn *et, hf_error *err)
{
	if (has_slot(e))
		return start_transfer(e, et, err);
	mstate(e, et, ES_SLOT);
	return HF_OK;
}

/* The turn's next model call. */
static int next_request(hf_engine *e, eng_turn *et, hf_error *err)
{
	hf_call_spec spec;
	int rc;
	if ((rc = hf_turn_request(et->turn, &spec, err)))
		return rc;
	if ((rc = hf_call_new(&et->call, &e->ep, &spec, err)))
		return rc;
	return start_attempt(e, et, err);
}

static void start_turn(hf_engine *e, eng_turn *et)
{
	hf_run_options o = et->opts;
	hf_error err;
	int rc;

	mstate(e, et, ES_STEP);
	o.on_event = on_event;
	o.payload = et;
	if (hf_heap_reserve(&e->backoff, e->started))
		rc = hf_err(&err, HF_ENOMEM, "out of memory starting a turn");
	else
		rc = hf_turn_new(&et->turn, et->g, et->s, et->st, et->input, &o, &e->ep, &err);
	free(et->input);
	et->input = NULL;
	if (!rc)
		rc = next_request(e, et, &err);
	if (rc)
		complete(e, et, rc, &err);
}

/* Give free slots to the calls of turns under way first, then start the
 * turns waiting to begin, in the order they were submitted. Starting a
 * turn only when it can send at once keeps a burst of submissions cheap:
 * a turn not started holds little more than its input. */
static void start_waiting(hf_engine *e)
{
	while (e->slot_wait.head && has_slot(e)) {
		eng_turn *et = TURN_OF(e->slot_wait.head, link);
		hf_error err;
		int rc;
		mstate(e, et, ES_STEP);
		if ((rc = start_transfer(e, et, &err)))
			complete(e, et, rc, &err);
	}
	while (e->pending.head && has_slot(e))
		start_turn(e, TURN_OF(e->pending.head, link));
}

static void schedule_retry(hf_engine *e, eng_turn *et, long delay_ms)
{
	et->backoff.key = hf_now_ms() + (delay_ms > 0 ? delay_ms : 0);
	mstate(e, et, ES_BACKOFF);
}

/* A tool call posted to a turn's sink (any thread): queue it for the
 * driving thread. */
static void tool_post(hf_tool_sink *sink, hf_tool_call *call)
{
	eng_turn *et = HF_CONTAINER(sink, eng_turn, sink);
	hf_engine *e = et->e;
	pthread_mutex_lock(&e->lock);
	*hf_tool_call_link(call) = NULL;
	if (e->tools_tail)
		*hf_tool_call_link(e->tools_tail) = call;
	else
		e->tools_head = call;
	e->tools_tail = call;
	unlock_and_wake(e);
}

/* In STEP, after a reply that called function tools: start them, and wait
 * in TOOLS (HF_TURN_TOOLS) unless every result is in already; then what
 * hf_turn_tools_finish says. */
static int start_tools(hf_engine *e, eng_turn *et, hf_error *err)
{
	int n;
	et->had_tools = true;
	n = hf_turn_tools_start(et->turn, &et->sink, err);
	if (n > 0) {
		mstate(e, et, ES_TOOLS);
		return HF_TURN_TOOLS;
	}
	return n < 0 ? n : hf_turn_tools_finish(et->turn, err);
}

/* In STEP, after the turn moved on to rc: send its next request, wait for
 * its tools (TOOLS), or complete it. */
static void turn_moved(hf_engine *e, eng_turn *et, int rc, hf_error *err)
{
	if (rc == HF_TURN_TOOLS)
		return;
	if (rc == HF_TURN_NEXT && !(rc = next_request(e, et, err)))
		return;
	complete(e, et, rc, err);
}

/* A posted tool result, for a turn in TOOLS. */
static void tool_result(hf_engine *e, eng_turn *et, hf_tool_call *call)
{
	hf_error err;
	int n = hf_turn_tool_done(et->turn, call, &err);
	if (n > 0)
		return;
	mstate(e, et, ES_STEP);
	turn_moved(e, et, n < 0 ? n : hf_turn_tools_finish(et->turn, &err), &err);
}

/* A transfer ended: retry, or hand the reply to the turn. */
static void transfer_done(hf_engine *e, eng_turn *et, CURLcode result)
{
	hf_reply reply = { 0 };
	hf_error err;
	long delay = 0;
	int rc;

	mstate(e, et, ES_STEP); /* out of the multi; et->easy still holds the result */
	rc = hf_call_finish(et->call, et->easy, result, &delay, &err);
	easy_put(e, et->easy);
	et->easy = NULL;
	if (rc == HF_CALL_RETRY) {
		schedule_retry(e, et, delay);
		return;
	}
	if (rc == HF_CALL_DONE)
		rc = hf_call_reply(et->call, &reply, &err);
	hf_call_free(et->call);
	et->call = NULL;
	if (rc) {
		hf_turn_blame(et->turn, &err);
		complete(e, et, rc, &err);
		return;
	}
	rc = hf_turn_apply(et->turn, &reply, &err);
	if (rc == HF_TURN_TOOLS)
		rc = start_tools(e, et, &err);
	turn_moved(e, et, rc, &err);
}

/* Every finished transfer libcurl reports. */
static void read_done(hf_engine *e)
{
	struct { eng_turn *et; CURLcode result; } done[256];
	size_t n, i;
	do {
		/* Take a batch first: libcurl looks through its unread messages
		 * each time a handle is removed. */
		CURLMsg *m;
		int left;
		for (n = 0; n < HF_ARRAY_LEN(done) && (m = curl_multi_info_read(e->multi, &left));) {
			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&done[n].et);
			done[n++].result = m->data.result;
		}
		for (i = 0; i < n; i++)
			transfer_done(e, done[i].et, done[i].result);
	} while (n == HF_ARRAY_LEN(done));
	start_waiting(e);
}

/* Start the attempts whose back-off is over. */
static void run_retries(hf_engine *e)
{
	long long now = hf_now_ms();
	hf_heap_node *next;
	while ((next = hf_heap_top(&e->backoff)) && next->key <= now) {
		eng_turn *et = TURN_OF(next, backoff);
		hf_error err;
		int rc;
		mstate(e, et, ES_STEP);
		if ((rc = start_attempt(e, et, &err)))
			complete(e, et, rc, &err);
	}
}

static eng_turn *find_turn(hf_engine *e, uint64_t id)
{
	hf_link *k;
	for (k = e->live.head; k; k = k->next)
		if (TURN_OF(k, all)->id == id)
			return TURN_OF(k, all);
	return NULL;
}

/* Take what other threads queued: new turns to the end of those waiting
 * to start, tool results, then cancels. */
static void drain_queue(hf_engine *e)
{
	hf_list q;
	eng_cancel *c;

	pthread_mutex_lock(&e->lock);
	q = e->queue;
	c = e->cancels;
	e->batch = e->tools_head;
	memset(&e->queue, 0, sizeof(e->queue));
	e->cancels = NULL;
	e->tools_head = e->tools_tail = NULL;
	e->wake_pending = false;
	pthread_mutex_unlock(&e->lock);
	while (q.head) {
		eng_turn *et = TURN_OF(q.head, link);
		hf_list_remove(&q, &et->link);
		mstate(e, et, ES_PENDING);
	}
	/* Tool results: each to its turn, alive (a turn completing takes its
	 * own results out of the batch first: drop_tool_results). */
	while (e->batch) {
		hf_tool_call *call = e->batch;
		e->batch = *hf_tool_call_link(call);
		tool_result(e, HF_CONTAINER(hf_tool_call_sink(call), eng_turn, sink), call);
	}
	while (c) {
		eng_cancel *next = c->next;
		eng_turn *et = find_turn(e, c->id);
		if (et) {
			hf_error err;
			hf_err(&err, HF_ECANCELLED, "turn %llu cancelled (hf_engine_cancel)",
			       (unsigned long long)c->id);
			complete(e, et, HF_ECANCELLED, &err);
		}
		free(c);
		c = next;
	}
	start_waiting(e);
}

/* Turns in the engine: queued by any thread (those submitted from this
 * step's callbacks too) or held by the driving thread. */
static int running(hf_engine *e)
{
	size_t n;
	pthread_mutex_lock(&e->lock);
	n = e->queue.n;
	pthread_mutex_unlock(&e->lock);
	n += e->live.n;
	return n > (size_t)INT32_MAX ? INT32_MAX : (int)n;
}

/* ---- loop mode: libcurl's sockets and timer, plus ours ---- */


/* Tell the application the earliest of libcurl's timeout and the next
 * retry, when it changed or the last one fired. */
static void update_timer(hf_engine *e)
{
	hf_heap_node *retry = hf_heap_top(&e->backoff);
	long long due = e->curl_due, now;
	if (retry && (due == NO_DEADLINE || retry->key < due))
		due = retry->key;
	if (due == NO_DEADLINE ? !e->timer_armed : (e->timer_armed && due == e->armed))
		return;
	e->armed = due;
	e->timer_armed = due != NO_DEADLINE;
	if (due == NO_DEADLINE) {
		e->opts.timer_fn(-1, e->opts.loop_payload);
		return;
	}
	now = hf_now_ms();
	e->opts.timer_fn(due > now ? (long)(due - now) : 0, e->opts.loop_payload);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	hf_engine *e = userp;
	(void)multi;
	e->curl_due = timeout_ms < 0 ? NO_DEADLINE : hf_now_ms() + timeout_ms;
	update_timer(e);
	return 0;
}

/* After an action: libcurl's own view of its next timeout is the truth
 * (a timer that fired early must be asked for again). */
static int loop_finish(hf_engine *e)
{
	long ms = -1;
	read_done(e);
	run_retries(e);
	curl_multi_timeout(e->multi, &ms);
	e->curl_due = ms < 0 ? NO_DEADLINE : hf_now_ms() + ms;
	update_timer(e);
	return running(e);
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	       fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ? -1 : 0;
}

static int loop_setup(hf_engine *e, hf_error *err)
{
	int fds[2];
	if (pipe(fds))
		return hf_err(err, HF_ENET, "cannot create the engine's wake-up pipe: %s",
		              strerror(errno));
	e->wake_rd = fds[0];
	e->wake_wr = fds[1];
	if (set_nonblock(fds[0]) || set_nonblock(fds[1]))
		return hf_err(err, HF_ENET, "cannot set up the engine's wake-up pipe: %s",
		              strerror(errno));
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
	if (e->opts.socket_fn(e->wake_rd, HF_POLL_IN, e->opts.loop_payload))
		return hf_err(err, HF_EINVAL, "socket_fn refused the engine's wake-up descriptor");
	return HF_OK;
}

/* ---- public API ---- */

int hf_engine_new(hf_engine **out, const hf_engine_options *opts, hf_error *err)
{
	hf_engine_options defaults = HF_ENGINE_OPTIONS_INIT;
	hf_engine *e;
	int rc;

	*out = NULL;
	if (opts && opts->version != HF_ENGINE_OPTIONS_VERSION)
		return hf_err(err, HF_EINVAL, "hf_engine_options version %u is not supported (expected %u)",
		              opts->version, HF_ENGINE_OPTIONS_VERSION);
	if (!opts)
		opts = &defaults;
	if (!opts->socket_fn != !opts->timer_fn)
		return hf_err(err, HF_EINVAL,
		              "hf_engine_options: set both socket_fn and timer_fn (loop mode) or neither");
	if (opts->max_connections < 0 || opts->max_host_connections < 0 || opts->max_requests < 0)
		return hf_err(err, HF_EINVAL,
		              "hf_engine_options: max_connections, max_host_connections and "
		              "max_requests must be >= 0");
	if (!(e = hf_calloc(1, sizeof(*e))))
		return hf_err(err, HF_ENOMEM, "out of memory creating an engine");
	e->opts = *opts;
	e->opts.client = NULL;
	e->opts.graph = NULL;
	e->loop_mode = opts->socket_fn != NULL;
	e->wake_rd = e->wake_wr = -1;
	e->curl_due = e->armed = NO_DEADLINE;
	pthread_mutex_init(&e->lock, NULL);
	if ((rc = hf_endpoint_resolve(&e->ep, opts->client, opts->graph, err))) {
		pthread_mutex_destroy(&e->lock);
		free(e);
		return rc;
	}
	e->pool = hf_malloc(EASY_POOL_MAX * sizeof(*e->pool));
	e->multi = curl_multi_init();
	if (!e->pool || !e->multi) {
		hf_engine_free(e);
		return hf_err(err, HF_ENOMEM, "out of memory creating an engine");
	}
	curl_multi_setopt(e->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, opts->max_connections);
	curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS, opts->max_host_connections);
	if (e->loop_mode && (rc = loop_setup(e, err))) {
		hf_engine_free(e);
		return rc;
	}
	*out = e;
	return HF_OK;
}

void hf_engine_free(hf_engine *e)
{
	hf_error err;
	size_t i;

	if (!e)
		return;
	/* Completions below may try to submit more (a conversation's next
	 * turn from on_complete): refuse them, or they would be left queued. */
	pthread_mutex_lock(&e->lock);
	e->closing = true;
	pthread_mutex_unlock(&e->lock);
	if (e->multi) {
		/* Turns never started complete without events: those queued,
		 * then those waiting to start; then the others. */
		hf_err(&err, HF_ECANCELLED, "the engine was freed before the turn finished");
		while (e->queue.head) {
			eng_turn *et = TURN_OF(e->queue.head, link);
			hf_list_remove(&e->queue, &et->link);
			complete(e, et, HF_ECANCELLED, &err);
		}
		while (e->pending.head)
			complete(e, TURN_OF(e->pending.head, link), HF_ECANCELLED, &err);
		while (e->live.head)
			complete(e, TURN_OF(e->live.head, all), HF_ECANCELLED, &err);
	}
	while (e->tools_head) { /* none: every turn took its own out */
		hf_tool_call *next = *hf_tool_call_link(e->tools_head);
		hf_tool_call_release(e->tools_head);
		e->tools_head = next;
	}
	while (e->cancels) {
		eng_cancel *next = e->cancels->next;
		free(e->cancels);
		e->cancels = next;
	}
	for (i = 0; i < e->npool; i++)
		curl_easy_cleanup(e->pool[i]);
	free(e->pool);
	hf_heap_dispose(&e->backoff);
	if (e->loop_mode && e->wake_rd >= 0)
		e->opts.socket_fn(e->wake_rd, HF_POLL_REMOVE, e->opts.loop_payload);
	if (e->multi)
		curl_multi_cleanup(e->multi);
	if (e->wake_rd >= 0)
		close(e->wake_rd);
	if (e->wake_wr >= 0)
		close(e->wake_wr);
	free(e->watched);
	hf_endpoint_dispose(&e->ep);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

/* With e->lock held, after queueing work for the driving thread: release
 * the lock and wake the driving thread, unless a wake-up is already on its
 * way. */
static void unlock_and_wake(hf_engine *e)
{
	bool wake = !e->wake_pending;
	e->wake_pending = true;
	pthread_mutex_unlock(&e->lock);
	if (wake)
		hf_engine_wakeup(e);
}

int hf_engine_submit(uint64_t *turn_id, hf_engine *e, const hf_graph *graph,
                     hf_session *session, hf_store *store, const char *input,
                     const hf_run_options *opts, hf_error *err)
{
	hf_run_options o;
	eng_turn *et;
	int rc;

	if (turn_id)
		*turn_id = 0;
	if (!e || !graph || !session || !input)
		return hf_err(err, HF_EINVAL,
		              "hf_engine_submit: engine, graph, session and input are required");
	if ((rc = hf_run_options_copy(&o, opts, err)))
		return rc;
	if (!(et = hf_calloc(1, sizeof(*et))) || !(et->input = hf_strdup(input))) {
		free(et);
		return hf_err(err, HF_ENOMEM, "out of memory queueing a turn");
	}
	et->g = graph;
	et->s = session;
	et->st = store;
	et->opts = o;
	et->state = ES_QUEUED;
	et->e = e;
	et->sink.post = tool_post;
	pthread_mutex_lock(&e->lock);
	if (e->closing) {
		pthread_mutex_unlock(&e->lock);
		free(et->input);
		free(et);
		return hf_err(err, HF_EINVAL, "hf_engine_submit: the engine is being freed");
	}
	et->id = ++e->last_id;
	if (turn_id) /* before the driving thread can see (and complete) it */
		*turn_id = et->id;
	hf_list_push(&e->queue, &et->link);
	unlock_and_wake(e);
	return HF_OK;
}

int hf_engine_cancel(hf_engine *e, uint64_t turn_id, hf_error *err)
{
	eng_cancel *c;
	uint64_t last;

	if (!e)
		return hf_err(err, HF_EINVAL, "hf_engine_cancel: no engine");
	pthread_mutex_lock(&e->lock);
	last = e->last_id;
	pthread_mutex_unlock(&e->lock);
	if (turn_id == 0 || turn_id > last)
		return hf_err(err, HF_EINVAL, "hf_engine_cancel: this engine issued no turn %llu",
		              (unsigned long long)turn_id);
	if (!(c = hf_calloc(1, sizeof(*c))))
		return hf_err(err, HF_ENOMEM, "out of memory cancelling a turn");
	c->id = turn_id;
	pthread_mutex_lock(&e->lock);
	c->next = e->cancels;
	e->cancels = c;
	unlock_and_wake(e);
	return HF_OK;
}

void hf_engine_wakeup(hf_engine *e)
{
	if (!e)
		return;
	if (e->loop_mode) {
		ssize_t n = write(e->wake_wr, "", 1); /* EAGAIN: a wake-up is pending */
		(void)n;
	} else {
		curl_multi_wakeup(e->multi);
	}
}

int hf_engine_perform(hf_engine *e, int timeout_ms, hf_error *err)
{
	CURLMcode mc;
	int still;

	if (!e || e->loop_mode || timeout_ms < 0)
		return hf_err(err, HF_EINVAL, e && e->loop_mode
		              ? "hf_engine_perform: this engine is driven by socket_fn/timer_fn; "
		                "use hf_engine_socket_action and hf_engine_timeout_action"
		              : "hf_engine_perform: an engine and a timeout >= 0 are required");
	if (hf_heap_top(&e->backoff)) {
		long long wait = hf_heap_top(&e->backoff)->key - hf_now_ms();
		if (wait < timeout_ms)
			timeout_ms = wait > 0 ? (int)wait : 0;
	}
	if ((mc = curl_multi_poll(e->multi, NULL, 0, timeout_ms, NULL)) != CURLM_OK)
		return multi_error(err, mc, "wait for network activity");
	drain_queue(e);
	run_retries(e);
	if ((mc = curl_multi_perform(e->multi, &still)) != CURLM_OK)
		return multi_error(err, mc, "move transfers on");
	read_done(e);
	return running(e);
}

int hf_engine_run_until_idle(hf_engine *e, hf_error *err)
{
	int n;
	while ((n = hf_engine_perform(e, 1000, err)) > 0) {
	}
	return n < 0 ? n : HF_OK;
}

int hf_engine_socket_action(hf_engine *e, int fd, int events, hf_error *err)
{
	CURLMcode mc;
	int still, mask = 0;

	if (!e || !e->loop_mode)
		return hf_err(err, HF_EINVAL,
		              "hf_engine_socket_action: the engine has no socket_fn/timer_fn; "
		              "use hf_engine_perform");
	if (fd == e->wake_rd) {
		char buf[64];
		/* Empty the pipe first: a submission after this wakes us again. */
		while (read(e->wake_rd, buf, sizeof(buf)) > 0) {
		}
		drain_queue(e);
		return loop_finish(e);
	}
	if (events & HF_POLL_IN)
		mask |= CURL_CSELECT_IN;
	if (events & HF_POLL_OUT)
		mask |= CURL_CSELECT_OUT;
	if (events & HF_POLL_ERR)
		mask |= CURL_CSELECT_ERR;
	if ((mc = curl_multi_socket_action(e->multi, fd, mask, &still)) != CURLM_OK)
		return multi_error(err, mc, "move transfers on");
	return loop_finish(e);
}

int hf_engine_timeout_action(hf_engine *e, hf_error *err)
{
	CURLMcode mc;
	int still;

	if (!e || !e->loop_mode)
		return hf_err(err, HF_EINVAL,
		              "hf_engine_timeout_action: the engine has no socket_fn/timer_fn; "
		              "use hf_engine_perform");
	e->timer_armed = false; /* it fired */
	run_retries(e);
	if ((mc = curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &still)) != CURLM_OK)
		return multi_error(err, mc, "move transfers on");
	return loop_finish(e);
}

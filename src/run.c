/*
 * run.c - hf_run, the blocking driver of one turn: it moves HTTP bytes
 * between the turn's requests (hf_turn_request) and its replies
 * (hf_turn_apply) over the client's one reused easy handle, runs the
 * reply's function tools (C callbacks on this thread; results of pending
 * callbacks and MCP calls come back through a queue on the stack), and
 * holds no routing rule (turn.c does).
 */
#include "turn.h"

#include <pthread.h>
#include <time.h>

#define CANCEL_POLL_MS 100 /* how often a wait for tools looks at opts.cancel */

/* Completed tool calls posted from other threads, waiting for this one. */
typedef struct run_sink {
	hf_tool_sink base;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	hf_tool_call *head, *tail;
} run_sink;

static void sink_post(hf_tool_sink *s, hf_tool_call *call)
{
	run_sink *rs = (run_sink *)s;
	pthread_mutex_lock(&rs->lock);
	*hf_tool_call_link(call) = NULL;
	if (rs->tail)
		*hf_tool_call_link(rs->tail) = call;
	else
		rs->head = call;
	rs->tail = call;
	pthread_cond_signal(&rs->cond);
	pthread_mutex_unlock(&rs->lock);
}

static void sink_init(run_sink *rs)
{
	pthread_condattr_t ca;
	rs->base.post = sink_post;
	rs->head = rs->tail = NULL;
	pthread_mutex_init(&rs->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rs->cond, &ca);
	pthread_condattr_destroy(&ca);
}

/* The next posted call, waiting at most CANCEL_POLL_MS; NULL when none came. */
static hf_tool_call *sink_take(run_sink *rs)
{
	hf_tool_call *call;
	pthread_mutex_lock(&rs->lock);
	if (!rs->head) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += CANCEL_POLL_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&rs->cond, &rs->lock, &ts);
	}
	if ((call = rs->head) && !(rs->head = *hf_tool_call_link(call)))
		rs->tail = NULL;
	pthread_mutex_unlock(&rs->lock);
	return call;
}

/* After the turn: calls posted but never taken (the turn was cancelled
 * or failed) are released. No call posts any more: the turn cancelled
 * those outstanding (hf_turn_tools_cancel). */
static void sink_dispose(run_sink *rs)
{
	hf_tool_call *call, *next;
	for (call = rs->head; call; call = next) {
		next = *hf_tool_call_link(call);
		hf_tool_call_release(call);
	}
	pthread_cond_destroy(&rs->cond);
	pthread_mutex_destroy(&rs->lock);
}

/* Run the function tools of the reply just applied, waiting for results
 * posted from other threads. HF_TURN_NEXT, HF_TURN_DONE or a negative code
 * (the turn has reported its error). */
static int run_tools(hf_turn *t, run_sink *rs, const volatile int *cancel, hf_error *err)
{
	int n = hf_turn_tools_start(t, &rs->base, err);
	while (n > 0) {
		hf_tool_call *call;
		if (cancel && *cancel) {
			hf_turn_tools_cancel(t);
			hf_err(err, HF_ECANCELLED, "cancelled while waiting for tool results");
			hf_turn_fail(t, err);
			return HF_ECANCELLED;
		}
		if ((call = sink_take(rs)))
			n = hf_turn_tool_done(t, call, err);
	}
	return n < 0 ? n : hf_turn_tools_finish(t, err);
}

int hf_run(char **answer, hf_client *c, const hf_graph *graph, hf_session *session,
           hf_store *store, const char *input, const hf_run_options *opts, hf_error *err)
{
	hf_turn *t = NULL;
	hf_error local;
	run_sink sink;
	bool tools = false;
	int rc;

	if (!err)
		err = &local;
	if (answer)
		*answer = NULL;
	if (!c)
		return hf_err(err, HF_EINVAL, "hf_run: a client is required");
	if ((rc = hf_turn_new(&t, graph, session, store, input, opts, &c->ep, err)))
		return rc;
	for (;;) {
		hf_call_spec spec;
		hf_reply reply = { 0 };

		if ((rc = hf_turn_request(t, &spec, err))) {
			hf_turn_fail(t, err);
			break;
		}
		if ((rc = hf_call_run(&reply, NULL, c->easy, &c->ep, &spec, err))) {
			hf_turn_blame(t, err);
			hf_turn_fail(t, err);
			break;
		}
		rc = hf_turn_apply(t, &reply, err);
		if (rc == HF_TURN_TOOLS) {
			if (!tools) { /* set up once, only for a turn that runs tools */
				sink_init(&sink);
				tools = true;
			}
			rc = run_tools(t, &sink, opts ? opts->cancel : NULL, err);
		}
		if (rc != HF_TURN_NEXT)
			break;
	}
	if (rc == HF_TURN_DONE && answer) { /* the turn is committed: nothing may fail now */
		*answer = hf_turn_take_answer(t);
	}
	hf_turn_free(t); /* cancels calls still out: nothing posts to the sink after */
	if (tools)
		sink_dispose(&sink);
	return rc;
}

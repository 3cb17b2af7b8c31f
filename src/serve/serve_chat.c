/*
 * serve_chat.c - POST /v1/chat/completions: a request becomes one turn on
 * the engine thread (serve_engine.c), its events become chunks or one JSON
 * reply (serve_chat_wire.c). docs/serve.md "Protocol" and "Sessions".
 *
 * Threads: serve_chat_handle runs on the HTTP side's thread; everything a
 * turn does after that (opening its session in the store, submitting,
 * events, completion, the reply) runs on the engine thread, the only one
 * that touches the store. The mutex guards the list of turns in flight
 * (busy sessions, the in-flight count, draining) and the client-abort
 * hand-over.
 */
#include "serve.h"
#include "serve_chat_wire.h"
#include "serve_engine.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct turn turn;

struct serve_chat {
	serve_graphs *gs;
	const serve_options *o;
	serve_engine *eng;
	hf_store *store;            /* the engine thread's */
	char *db_path;              /* for /readyz */
	pthread_mutex_t mu;
	pthread_cond_t changed;     /* in_flight went down */
	turn *turns;                /* in flight, under mu */
	size_t in_flight;           /* under mu: turns accepted and not yet answered */
	bool draining;              /* under mu */
	serve_chat *next_chat;      /* chats, under chats_mu */
};

struct turn {
	serve_chat *c;
	serve_req *r;
	serve_graph *g;
	serve_chat_request q;
	uint64_t serial;            /* unique in the process: the abort handle */
	char id[48];
	serve_chat_meta meta;
	hf_session *session;
	_Atomic uint64_t turn_id;   /* 0 until submitted */
	atomic_bool aborted;        /* the client went away: send nothing */
	atomic_bool cancelled;      /* drain: cancelled after the grace period */
	/* engine thread only: */
	bool started;               /* the stream's headers and first chunk went out */
	bool streamed_text;
	bool agent_changed;         /* since the last chunk that named the agent */
	char *agent;                /* the agent in charge */
	serve_handoffs handoffs;
	struct timespec t0, t_call;
	turn *next, *prev;          /* c->turns, under c->mu */
};

static double since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (now.tv_nsec - t->tv_nsec) / 1e9;
}

/* ---- the list of turns in flight ---- */

static bool session_busy(serve_chat *c, const char *id)
{
	turn *t;
	for (t = c->turns; t; t = t->next)
		if (t->q.session && !strcmp(t->q.session, id))
			return true;
	return false;
}

/* Take t off the list (under mu): a client abort no longer finds it, and
 * its session may take its next turn. Returns whether it was on it. */
static bool unlink_turn(serve_chat *c, turn *t)
{
	turn *u;
	for (u = c->turns; u && u != t; u = u->next) {}
	if (!u)
		return false;
	if (t->prev)
		t->prev->next = t->next;
	else
		c->turns = t->next;
	if (t->next)
		t->next->prev = t->prev;
	t->next = t->prev = NULL;
	return true;
}

static void turn_free(turn *t)
{
	serve_graph_release(t->g);
	serve_chat_request_free(&t->q);
	hf_session_free(t->session);
	serve_handoffs_free(&t->handoffs);
	free(t->agent);
	free(t);
}

/* The reply went out (or the client is gone): count the turn done. */
static void turn_done(turn *t)
{
	serve_chat *c = t->c;

	pthread_mutex_lock(&c->mu);
	c->in_flight--;
	pthread_cond_broadcast(&c->changed);
	pthread_mutex_unlock(&c->mu);
	turn_free(t);
}

/* ---- replies (engine thread) ---- */

static void set_agent_header(turn *t, const char *agent)
{
	char *v = agent ? serve_header_encode(agent) : NULL;
	if (v)
		serve_req_header(t->r, "X-Handoff-Agent", v);
	free(v);
}

/* Write one rendered chunk (owned) to the stream. */
static void put(turn *t, char *chunk)
{
	if (chunk)
		serve_stream_write(t->r, chunk, strlen(chunk));
	free(chunk);
}

/* Headers and the role chunk, once: at the first text (or at the end), so
 * that a turn failing before any text gets a real status code. */
static void stream_start(turn *t)
{
	if (t->started)
		return;
	t->started = true;
	set_agent_header(t, t->agent);
	serve_stream_begin(t->r);
	put(t, serve_chat_render_chunk(&t->meta, "assistant", "", NULL, NULL,
	                               t->agent ? t->agent : "", &t->handoffs));
	t->agent_changed = false;
}

static void stream_text(turn *t, const char *text)
{
	bool named = t->agent_changed;

	stream_start(t);
	put(t, serve_chat_render_chunk(&t->meta, NULL, text, NULL, NULL,
	                               named && t->agent ? t->agent : NULL, &t->handoffs));
	t->agent_changed = false;
	t->streamed_text = true;
}

static void stream_finish(turn *t, const char *refusal, const hf_usage *usage)
{
	static const char done[] = "data: [DONE]\n\n";

	stream_start(t);
	if (refusal)
		put(t, serve_chat_render_chunk(&t->meta, NULL, NULL, refusal, NULL, NULL, NULL));
	put(t, serve_chat_render_chunk(&t->meta, NULL, NULL, NULL, "stop",
	                               t->agent ? t->agent : "", &t->handoffs));
	if (t->q.include_usage)
		put(t, serve_chat_render_usage_chunk(&t->meta, usage));
	serve_stream_write(t->r, done, sizeof(done) - 1);
	serve_stream_end(t->r);
}

/* Answer with an error: a status before the stream started, else an
 * error chunk and [DONE]. */
static void reply_fail(turn *t, const serve_fail *f)
{
	static const char done[] = "data: [DONE]\n\n";

	if (!t->started) {
		serve_reply_error(t->r, f->status, f->type, *f->param ? f->param : NULL, f->code,
		                  f->message, f->status == 429 ? 1 : 0);
		return;
	}
	put(t, serve_chat_render_error_chunk(&t->meta, f));
	serve_stream_write(t->r, done, sizeof(done) - 1);
	serve_stream_end(t->r);
}

static void reply_completion(turn *t, const char *content, const char *refusal,
                             const hf_usage *usage)
{
	char *json;

	if (t->q.stream) {
		if (content && *content && !t->streamed_text)
			stream_text(t, content);
		stream_finish(t, refusal, usage);
		return;
	}
	json = serve_chat_render_completion(&t->meta, content, refusal, usage,
	                                    t->agent ? t->agent : "", &t->handoffs);
	if (!json) {
		serve_fail f;
		serve_fail_set(&f, 500, "server_error", NULL, "out_of_memory", "out of memory");
		reply_fail(t, &f);
		return;
	}
	set_agent_header(t, t->agent);
	serve_reply_json(t->r, 200, json);
}

/* The turn is over: metrics, access log, then the reply (answer or
 * refusal with code HF_OK / HF_EREFUSAL, else f), and the turn is freed.
 * A client that is gone gets nothing: the request ends as 499 (nginx's
 * "client closed") in the access log. usage may be NULL. */
static void end_turn(turn *t, int code, const serve_fail *f, const hf_usage *usage,
                     const char *answer, const char *refusal)
{
	serve_chat *c = t->c;
	char *path = serve_handoffs_path(&t->handoffs, t->agent);
	hf_usage zero = { 0 };

	serve_metrics_turn(t->q.model, code, since(&t->t0));
	serve_req_log(t->r, t->q.session, t->q.model, path, usage ? usage : &zero);
	free(path);
	pthread_mutex_lock(&c->mu);
	unlink_turn(c, t);
	pthread_mutex_unlock(&c->mu);
	if (atomic_load(&t->aborted)) {
		if (t->started)
			serve_stream_end(t->r);
		else
			serve_reply_error(t->r, 499, "invalid_request_error", NULL, "client_closed",
			                  "the client closed the connection", 0);
	} else if (code == HF_OK || code == HF_EREFUSAL) {
		reply_completion(t, code == HF_OK ? (answer ? answer : "") : NULL, refusal,
		                 usage ? usage : &zero);
	} else {
		reply_fail(t, f);
	}
	turn_done(t);
}

/* ---- the turn (engine thread) ---- */

static int on_event(const hf_event *ev, void *payload)
{
	turn *t = payload;

	switch (ev->type) {
	case HF_EVENT_AGENT:
		if (ev->to && (!t->agent || strcmp(t->agent, ev->to))) {
			char *a = strdup(ev->to);
			if (a) {
				free(t->agent);
				t->agent = a;
				t->agent_changed = t->started;
			}
		}
		break;
	case HF_EVENT_HANDOFF:
		serve_handoffs_add(&t->handoffs, ev->from, ev->to);
		serve_metrics_handoff(ev->from, ev->to);
		break;
	case HF_EVENT_USAGE:
		serve_metrics_model_call(since(&t->t_call));
		clock_gettime(CLOCK_MONOTONIC, &t->t_call);
		break;
	case HF_EVENT_TOOL_RESULT:
		/* The next model call starts when the tools are done. */
		clock_gettime(CLOCK_MONOTONIC, &t->t_call);
		break;
	case HF_EVENT_TEXT_DELTA:
		if (t->q.stream && ev->text_len && !atomic_load(&t->aborted)) {
			char *text = strndup(ev->text, ev->text_len);
			if (text)
				stream_text(t, text);
			free(text);
		}
		break;
	default:
		break;
	}
	return atomic_load(&t->aborted) ? 1 : 0;
}

static void on_complete(const hf_completion *hc, void *payload)
{
	turn *t = hc->payload;
	serve_fail f;
	(void)payload;

	if (hc->agent && (!t->agent || strcmp(t->agent, hc->agent))) {
		char *a = strdup(hc->agent);
		if (a) {
			free(t->agent);
			t->agent = a;
		}
	}
	if (hc->code == HF_OK || hc->code == HF_EREFUSAL) {
		end_turn(t, hc->code, NULL, &hc->usage, hc->answer,
		         hc->code == HF_EREFUSAL ? serve_chat_refusal_text(hc->error) : NULL);
		return;
	}
	serve_fail_from_error(&f, hc->error);
	end_turn(t, hc->code, &f, NULL, NULL, NULL);
}

/* The session a turn runs in: the stored one (stateful) or a new one
 * holding the request's history (stateless). */
static int open_session(turn *t, serve_fail *f)
{
	hf_error err;
	size_t i;

	if (t->q.session) {
		if (hf_store_open_session(&t->session, t->c->store, t->q.session, &err))
			return serve_fail_set(f, 500, "server_error", NULL, "store",
			                      "session %s could not be opened: %s", t->q.session,
			                      err.message);
		return 0;
	}
	if (hf_session_new(&t->session, NULL, &err))
		return serve_fail_set(f, 500, "server_error", NULL, hf_code_name(err.code), "%s",
		                      err.message);
	for (i = 0; i < t->q.nhistory; i++)
		if (hf_session_add_message(t->session, t->q.history[i].json, &err)) {
			char param[32];
			snprintf(param, sizeof(param), "messages[%zu]", t->q.history[i].index);
			return serve_fail_set(f, 400, "invalid_request_error", param, "invalid_message",
			                      "%s: %s", param, err.message);
		}
	return 0;
}

/* Job: open the session and submit the turn. */
static void start_turn(void *payload)
{
	turn *t = payload;
	serve_chat *c = t->c;
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	serve_fail f;
	hf_error err;
	uint64_t id;

	if (atomic_load(&t->aborted) || atomic_load(&t->cancelled)) {
		serve_fail_set(&f, 503, "server_error", NULL, "shutting_down",
		               "the server is shutting down; this turn was not run");
		end_turn(t, HF_ECANCELLED, &f, NULL, NULL, NULL);
		return;
	}
	if (open_session(t, &f)) {
		end_turn(t, HF_ESTORE, &f, NULL, NULL, NULL);
		return;
	}
	if (!t->agent) {
		const char *holder = hf_graph_routing(t->g->graph) == HF_ROUTING_STICKY
		                             ? hf_session_agent(t->session) : NULL;
		const hf_agent *a = holder ? hf_graph_agent_by_name(t->g->graph, holder) : NULL;
		if (!a)
			a = hf_graph_entry(t->g->graph);
		if (a && hf_agent_name(a))
			t->agent = strdup(hf_agent_name(a));
	}
	ro.stream = t->q.stream;
	ro.on_event = on_event;
	ro.payload = t;
	ro.tools = t->g->tools;
	clock_gettime(CLOCK_MONOTONIC, &t->t_call);
	if (hf_engine_submit(&id, serve_engine_hf(c->eng), t->g->graph, t->session,
	                     t->q.session ? c->store : NULL, t->q.input, &ro, &err)) {
		serve_fail_from_error(&f, &err);
		end_turn(t, err.code, &f, NULL, NULL, NULL);
		return;
	}
	atomic_store(&t->turn_id, id);
	/* An abort or a drain that came before the id was known. */
	if (atomic_load(&t->aborted) || atomic_load(&t->cancelled))
		hf_engine_cancel(serve_engine_hf(c->eng), id, NULL);
}

/* Chats of this process, for on_abort (one in handoff-serve). */
static pthread_mutex_t chats_mu = PTHREAD_MUTEX_INITIALIZER;
static serve_chat *chats;

/* The client went away (HTTP thread): cancel its turn; nothing is stored.
 * The payload is the turn's serial, not a pointer: the HTTP side may call
 * this while the engine thread is ending the request and freeing the
 * turn, so the turn is looked up among those still in flight. */
static _Atomic uint64_t last_serial;

static void on_abort(void *payload)
{
	uint64_t serial = (uint64_t)(uintptr_t)payload, id;
	serve_chat *c;
	turn *t;

	pthread_mutex_lock(&chats_mu);
	for (c = chats; c; c = c->next_chat) {
		pthread_mutex_lock(&c->mu);
		for (t = c->turns; t && t->serial != serial; t = t->next) {}
		if (t) {
			atomic_store(&t->aborted, true);
			if ((id = atomic_load(&t->turn_id)))
				hf_engine_cancel(serve_engine_hf(c->eng), id, NULL);
		}
		pthread_mutex_unlock(&c->mu);
	}
	pthread_mutex_unlock(&chats_mu);
}

/* ---- the handler (HTTP thread) ---- */

typedef struct names {
	char text[1024];
	size_t len;
} names;

static void add_name(const char *name, void *payload)
{
	names *n = payload;
	int w = snprintf(n->text + n->len, sizeof(n->text) - n->len, "%s%s", n->len ? ", " : "",
	                 name);
	if (w > 0 && (size_t)w < sizeof(n->text) - n->len)
		n->len += (size_t)w;
}

static void reply(serve_req *r, const serve_fail *f)
{
	serve_reply_error(r, f->status, f->type, *f->param ? f->param : NULL, f->code, f->message,
	                  f->status == 429 ? 1 : 0);
}

void serve_chat_handle(serve_chat *c, serve_req *r)
{
	const char *sh = serve_req_header_in(r, "X-Handoff-Session");
	size_t len = 0;
	const char *body = serve_req_body(r, &len);
	serve_fail f;
	hf_error err;
	turn *t = calloc(1, sizeof(*t));
	int busy = 0;

	if (!t) {
		serve_fail_set(&f, 500, "server_error", NULL, "out_of_memory", "out of memory");
		reply(r, &f);
		return;
	}
	t->c = c;
	t->r = r;
	clock_gettime(CLOCK_MONOTONIC, &t->t0);
	if (serve_chat_parse(&t->q, body, len, sh, &f)) {
		free(t);
		reply(r, &f);
		return;
	}
	serve_req_log(r, t->q.session, t->q.model, NULL, NULL);
	if (!(t->g = serve_graphs_get(c->gs, t->q.model))) {
		names n = { .len = 0 };
		serve_graphs_each(c->gs, add_name, &n);
		serve_fail_set(&f, 404, "invalid_request_error", "model", "model_not_found",
		               "the model '%s' does not exist; served models: %s", t->q.model,
		               n.len ? n.text : "(none)");
		turn_free(t);
		reply(r, &f);
		return;
	}
	pthread_mutex_lock(&c->mu);
	if (c->draining)
		busy = 503;
	else if (c->in_flight >= c->o->max_in_flight)
		busy = 429;
	else if (t->q.session && session_busy(c, t->q.session))
		busy = 409;
	if (!busy) {
		c->in_flight++;
		t->next = c->turns;
		if (c->turns)
			c->turns->prev = t;
		c->turns = t;
		t->serial = atomic_fetch_add(&last_serial, 1) + 1;
		snprintf(t->id, sizeof(t->id), "chatcmpl-%.38s", serve_req_id(r));
	}
	pthread_mutex_unlock(&c->mu);
	if (busy) {
		if (busy == 503)
			serve_fail_set(&f, 503, "server_error", NULL, "shutting_down",
			               "the server is shutting down and takes no new turns");
		else if (busy == 429)
			serve_fail_set(&f, 429, "rate_limit_error", NULL, "too_many_turns",
			               "%zu turns are in flight, the most this server runs at once "
			               "(--max-in-flight); retry shortly", c->o->max_in_flight);
		else
			serve_fail_set(&f, 409, "invalid_request_error", t->q.session_from,
			               "session_busy",
			               "session %s is answering another message; send this one when "
			               "that turn has finished", t->q.session);
		turn_free(t);
		reply(r, &f);
		return;
	}
	t->meta = (serve_chat_meta){ t->id, (long long)time(NULL), t->q.model };
	if (t->q.session)
		serve_req_header(r, "X-Handoff-Session", t->q.session);
	serve_req_on_abort(r, on_abort, (void *)(uintptr_t)t->serial);
	if (serve_engine_post(c->eng, start_turn, t, &err)) {
		/* Stopping: drain came in between. */
		pthread_mutex_lock(&c->mu);
		unlink_turn(c, t);
		pthread_mutex_unlock(&c->mu);
		serve_fail_set(&f, 503, "server_error", NULL, "shutting_down",
		               "the server is shutting down and takes no new turns");
		reply(r, &f);
		turn_done(t);
	}
}

/* ---- life cycle ---- */

static void first_name(const char *name, void *payload)
{
	const char **first = payload;
	if (!*first)
		*first = name;
}

/* The store's path (owned): --db, else the default. */
static int db_path(char **out, const char *db, hf_error *err)
{
	char *def = NULL;
	int rc = db ? HF_OK : hf_store_default_path(&def, err);

	if (rc)
		return rc;
	*out = strdup(db ? db : def);
	hf_free(def);
	if (!*out && err)
		*err = (hf_error){ .code = HF_ENOMEM, .message = "out of memory" };
	return *out ? HF_OK : HF_ENOMEM;
}

int serve_chat_new(serve_chat **out, serve_graphs *gs, const serve_options *o, hf_error *err)
{
	serve_chat *c = calloc(1, sizeof(*c));
	hf_engine_options eo = HF_ENGINE_OPTIONS_INIT;
	pthread_condattr_t ca;
	const char *name = NULL;
	serve_graph *g;
	int rc;

	*out = NULL;
	if (!c) {
		if (err)
			*err = (hf_error){ .code = HF_ENOMEM, .message = "out of memory" };
		return HF_ENOMEM;
	}
	c->gs = gs;
	c->o = o;
	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->changed, &ca);
	pthread_condattr_destroy(&ca);
	rc = db_path(&c->db_path, o->db, err);
	if (!rc)
		rc = hf_store_open_sqlite(&c->store, c->db_path, err);
	/* The endpoint: the environment, then the first graph's file. */
	serve_graphs_each(gs, first_name, &name);
	g = name ? serve_graphs_get(gs, name) : NULL;
	eo.graph = g ? g->graph : NULL;
	eo.on_complete = on_complete;
	eo.payload = c;
	if (!rc)
		rc = serve_engine_start(&c->eng, &eo, err);
	serve_graph_release(g);
	if (rc) {
		serve_chat_free(c);
		return rc;
	}
	pthread_mutex_lock(&chats_mu);
	c->next_chat = chats;
	chats = c;
	pthread_mutex_unlock(&chats_mu);
	*out = c;
	return HF_OK;
}

size_t serve_chat_in_flight(serve_chat *c)
{
	size_t n;

	pthread_mutex_lock(&c->mu);
	n = c->in_flight;
	pthread_mutex_unlock(&c->mu);
	return n;
}

static int count_one(const hf_session_info *info, void *payload)
{
	(void)info;
	(void)payload;
	return 1;
}

bool serve_chat_store_ready(serve_chat *c, hf_error *err)
{
	hf_store *st = NULL;
	int rc = hf_store_open_sqlite_readonly(&st, c->db_path, err);

	if (!rc)
		rc = hf_store_list(st, 1, count_one, NULL, err);
	hf_store_free(st);
	return rc == HF_OK;
}

/* Wait (under mu) until no turn is in flight or deadline passes. */
static void wait_idle(serve_chat *c, long ms)
{
	struct timespec until;

	serve_deadline(&until, ms);
	while (c->in_flight && pthread_cond_timedwait(&c->changed, &c->mu, &until) == 0) {}
}

void serve_chat_drain(serve_chat *c, long grace_ms)
{
	turn *t;

	if (!c || !c->eng)
		return;
	pthread_mutex_lock(&c->mu);
	c->draining = true;
	wait_idle(c, grace_ms > 0 ? grace_ms : 0);
	for (t = c->turns; t; t = t->next) {
		uint64_t id;
		atomic_store(&t->cancelled, true);
		if ((id = atomic_load(&t->turn_id)))
			hf_engine_cancel(serve_engine_hf(c->eng), id, NULL);
	}
	pthread_mutex_unlock(&c->mu);
	/* Cancelled turns complete at the engine's next step; stopping it
	 * completes whatever is left from inside hf_engine_free. */
	serve_engine_stop(c->eng);
	c->eng = NULL;
}

void serve_chat_free(serve_chat *c)
{
	serve_chat **p;

	if (!c)
		return;
	serve_chat_drain(c, 0);
	pthread_mutex_lock(&chats_mu);
	for (p = &chats; *p && *p != c; p = &(*p)->next_chat) {}
	if (*p)
		*p = c->next_chat;
	pthread_mutex_unlock(&chats_mu);
	hf_store_free(c->store);
	free(c->db_path);
	pthread_cond_destroy(&c->changed);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

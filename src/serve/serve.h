/*
 * serve.h - `handoff serve` (the handoff-serve program): agent graphs as an
 * OpenAI-compatible chat-completions endpoint. A front end on the engine,
 * with no routing rule of its own:
 *
 *   client ─► HTTP (libmicrohttpd's thread: parse, auth, limits)
 *          ─► chat (serve_chat.c: request → session + input → hf_engine_submit)
 *          ─► engine thread (serve_engine.c: hf_engine_perform loop)
 *          ─► events → chunks / JSON ─► back to the connection (suspended
 *             while it waits; resumed by serve_reply_* from the engine thread)
 *
 * Files: serve_main.c (options, signals: SIGTERM drains, SIGHUP reloads),
 * serve_http.c (the daemon, routing, auth, limits, error bodies, access
 * log, /healthz /readyz /v1/models /metrics), serve_req.c (the answer
 * functions below, any thread), serve_note.c (log lines), serve_graphs.c (the served
 * graphs, reloaded atomically), serve_chat.c (POST /v1/chat/completions),
 * serve_engine.c (the engine thread), serve_metrics.c (counters and
 * histograms in the Prometheus text format), serve_clock.c (deadlines of
 * the drain's waits). Public API of libhandoff only.
 */
#ifndef HF_SERVE_H
#define HF_SERVE_H

#include <handoff.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ---- options (serve_main.c) ---- */

typedef struct serve_graph_arg {
	const char *name; /* the model id; NULL: the path's directory name */
	const char *path;
} serve_graph_arg;

typedef struct serve_options {
	const char *listen;          /* "ADDR:PORT" (default 127.0.0.1:8000; port 0 picks one) */
	serve_graph_arg *graphs;     /* at least one */
	size_t ngraphs;
	const char *db;              /* session store path; NULL: the default store */
	const char *keys_file;       /* client keys, one per line, mode 0600 */
	const char *access_log;      /* NULL: stderr */
	bool log_texts;              /* access log may include message texts */
	size_t max_body;             /* bytes; default 1 MiB */
	size_t max_in_flight;        /* turns at once; then 429; default 1024 */
	long header_timeout_ms;      /* default 10 s */
	long idle_timeout_ms;        /* a connection with no traffic; default 120 s */
	long grace_ms;               /* SIGTERM: turns in flight get this long; default 30 s */
	const char *ready_file;      /* write "http://ADDR:PORT\n" here once listening */
} serve_options;

/* A log line on stderr, prefixed "handoff serve: " (serve_note.c; any
 * thread). Never a key or a message text. */
void serve_note(const char *fmt, ...);

/* ---- served graphs (serve_graphs.c) ---- */

/* One loaded generation of one graph: the graph and its started tool set.
 * Reference-counted: a turn holds its graph until it completes, so a
 * SIGHUP reload never changes a turn in flight. */
typedef struct serve_graph {
	char *name;
	hf_graph *graph;
	hf_tools *tools;             /* NULL when the graph names no tools */
	int _Atomic refs;
} serve_graph;

typedef struct serve_graphs serve_graphs;

/* Load every graph (validating it and starting its tools). A failure is
 * HF_ECONFIG with err naming the graph and the first problem. */
int serve_graphs_load(serve_graphs **out, const serve_options *o, hf_error *err);
/* Reload every graph; all or nothing: when one fails validation the old
 * set keeps serving and err says why. Any thread. */
int serve_graphs_reload(serve_graphs *gs, const serve_options *o, hf_error *err);
/* The current generation of graph `name` (a new reference), NULL when no
 * graph has that name. Any thread. */
serve_graph *serve_graphs_get(serve_graphs *gs, const char *name);
void serve_graph_release(serve_graph *g);
/* Call fn for each served graph's name (for /v1/models). */
void serve_graphs_each(serve_graphs *gs, void (*fn)(const char *name, void *payload),
                       void *payload);
void serve_graphs_free(serve_graphs *gs);

/* ---- the HTTP side (serve_http.c) ---- */

typedef struct serve_req serve_req;
typedef struct serve_server serve_server;
typedef struct serve_chat serve_chat;

/* The server in two steps, so that a bad listen address or keys file is
 * refused before any graph is loaded: _new reads the keys file (mode 0600;
 * HF_ECONFIG otherwise) and binds the listening socket (HF_EINVAL: a
 * non-loopback address without keys, or an address that does not parse;
 * HF_ENET: cannot bind); _start runs the daemon over the graphs and the
 * chat handler (both borrowed; they outlive the server). */
int serve_server_new(serve_server **out, const serve_options *o, hf_error *err);
int serve_server_start(serve_server *s, serve_graphs *gs, serve_chat *chat, hf_error *err);
/* "http://ADDR:PORT" with the port actually bound. */
const char *serve_server_url(const serve_server *s);
/* Stop accepting connections (draining); requests already accepted go on. */
void serve_server_quiesce(serve_server *s);
/* serve_clock.c: *until = CLOCK_MONOTONIC now + ms (for pthread_cond_timedwait
 * on a condition variable set to that clock); the same clock in ms. */
void serve_deadline(struct timespec *until, long ms);
long serve_now_ms(void);

/* Wait until no request is in progress (the answers of finished turns have
 * reached their clients), at most ms. After serve_server_quiesce and the
 * chat drain, before serve_server_free. NULL-safe. */
void serve_server_flush(serve_server *s, long ms);
/* Stop the daemon (connections still open are closed) and free. NULL-safe. */
void serve_server_free(serve_server *s);

/* An OpenAI error body {"error":{"message","type","param","code"}} with
 * `status`, and (status 429) a Retry-After of retry_after_s. Any thread;
 * ends the request. */
void serve_reply_error(serve_req *r, int status, const char *type, const char *param,
                       const char *code, const char *message, int retry_after_s);
/* A whole JSON body (owned text, taken over). Any thread; ends the request. */
void serve_reply_json(serve_req *r, int status, char *json);
/* Streaming: headers (text/event-stream) then chunks, each "data: …\n\n"
 * text given whole (copied); serve_stream_end ends the request. Any
 * thread; the connection is resumed as bytes arrive. */
void serve_stream_begin(serve_req *r);
void serve_stream_write(serve_req *r, const char *data, size_t len);
void serve_stream_end(serve_req *r);
/* Extra response header (before the first byte of the response). */
void serve_req_header(serve_req *r, const char *name, const char *value);

/* What the chat handler reads from the request (borrowed, valid until the
 * request ends). header() is case-insensitive; NULL when absent. */
const char *serve_req_body(const serve_req *r, size_t *len);
const char *serve_req_header_in(const serve_req *r, const char *name);
const char *serve_req_id(const serve_req *r);
/* Called once (any thread) when the client disconnected before the
 * request ended: the handler cancels its turn. */
void serve_req_on_abort(serve_req *r, void (*fn)(void *payload), void *payload);
/* Access-log fields the handler fills as it learns them. */
void serve_req_log(serve_req *r, const char *session, const char *model, const char *agent_path,
                   const hf_usage *usage);

/* ---- chat completions (serve_chat.c) ---- */

/* The chat handler over the engine thread and the store. */
int serve_chat_new(serve_chat **out, serve_graphs *gs, const serve_options *o, hf_error *err);
/* POST /v1/chat/completions (the request is authenticated and its body
 * whole and within the size limit). Answers through serve_reply_* or the
 * stream functions, now or later from the engine thread. */
void serve_chat_handle(serve_chat *c, serve_req *r);
/* Turns in flight (for draining and the in-flight gauge). */
size_t serve_chat_in_flight(serve_chat *c);
/* Whether the session store answers (for /readyz). */
bool serve_chat_store_ready(serve_chat *c, hf_error *err);
/* Stop taking turns (503 "shutting down"), cancel those still running
 * after grace (their clients get an error chunk or 503), stop the engine
 * thread. */
void serve_chat_drain(serve_chat *c, long grace_ms);
void serve_chat_free(serve_chat *c);

/* ---- metrics (serve_metrics.c) ---- */

/* Process-wide, lock-free counters; any thread. */
void serve_metrics_turn(const char *model, int code, double seconds);
void serve_metrics_model_call(double seconds);
void serve_metrics_handoff(const char *from, const char *to);
void serve_metrics_request(int status);
/* The Prometheus text exposition (owned), in_flight from the chat side. */
char *serve_metrics_render(size_t in_flight);

#endif

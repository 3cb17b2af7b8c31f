/*
 * serve_chat_wire.h - the bytes of POST /v1/chat/completions, without HTTP
 * or an engine: a request body parsed into what a turn needs, hf errors
 * mapped to OpenAI error replies, and the completion / chunk JSON rendered.
 * Pure functions (docs/serve.md "Protocol" and "Sessions" say what they
 * do); serve_chat.c drives them.
 */
#ifndef HF_SERVE_CHAT_WIRE_H
#define HF_SERVE_CHAT_WIRE_H

#include <handoff.h>

#include <stdbool.h>
#include <stddef.h>

/* An error reply: status and the OpenAI error body's fields (type and code
 * are static strings, code may be NULL; param "" for none). */
typedef struct serve_fail {
	int status;
	const char *type;
	char param[64];
	const char *code;
	char message[HF_ERROR_MESSAGE_MAX + 128];
} serve_fail;

/* Fill f (param NULL: none) and return -1, for `return serve_fail_set(...)`. */
int serve_fail_set(serve_fail *f, int status, const char *type, const char *param,
                   const char *code, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* One message of the history a stateless request brings: its index in
 * `messages` (for error messages) and its normalised JSON object text. */
typedef struct serve_history_msg {
	size_t index;
	char *json;
} serve_history_msg;

/* A parsed request. Owned strings; serve_chat_request_free releases them. */
typedef struct serve_chat_request {
	char *model;
	bool stream;
	bool include_usage;          /* stream_options.include_usage */
	char *session;               /* X-Handoff-Session or metadata.session_id; NULL: stateless */
	const char *session_from;    /* "X-Handoff-Session" or "metadata.session_id" */
	char *input;                 /* the trailing user message(s), joined with "\n\n" */
	size_t inputs;               /* how many trailing user messages */
	serve_history_msg *history;  /* the messages before them, system/developer dropped */
	size_t nhistory;
	size_t dropped_system;       /* system/developer messages left out */
} serve_chat_request;

/* Parse and check a request body. session_header is the X-Handoff-Session
 * header's value (NULL when absent). On failure returns -1 with *f the
 * 400 reply (param naming the field) and *q empty; 0 on success. A request
 * that names a session keeps no history (stateful: the store supplies it). */
int serve_chat_parse(serve_chat_request *q, const char *body, size_t len,
                     const char *session_header, serve_fail *f);
void serve_chat_request_free(serve_chat_request *q);

/* The reply for a turn that failed with e (not HF_ECANCELLED, not
 * HF_EREFUSAL: see serve_chat_refusal_text). */
void serve_fail_from_error(serve_fail *f, const hf_error *e);

/* The model's own words from an HF_EREFUSAL message (borrowed from e). */
const char *serve_chat_refusal_text(const hf_error *e);

/* The handoffs of one turn so far, for the "handoff" extra field. */
typedef struct serve_handoffs {
	char **from, **to;
	size_t n, cap;
} serve_handoffs;

int serve_handoffs_add(serve_handoffs *h, const char *from, const char *to);
void serve_handoffs_free(serve_handoffs *h);
/* "A>B>C": the agent path of a turn for the access log (owned; NULL when
 * out of memory). With no handoff, just `agent` (NULL agent: ""). */
char *serve_handoffs_path(const serve_handoffs *h, const char *agent);

/* An agent name as an HTTP header value (owned): bytes outside printable
 * ASCII, and '%', percent-encoded (RFC 3986), so "Agente español" is
 * "Agente%20espa%C3%B1ol". NULL when out of memory. */
char *serve_header_encode(const char *name);

/* What every reply of one request repeats. */
typedef struct serve_chat_meta {
	const char *id;    /* "chatcmpl-…" */
	long long created; /* unix seconds */
	const char *model;
} serve_chat_meta;

/* The non-streaming reply (owned JSON text; NULL when out of memory).
 * Exactly one of content and refusal is set. agent may be NULL. */
char *serve_chat_render_completion(const serve_chat_meta *m, const char *content,
                                   const char *refusal, const hf_usage *usage,
                                   const char *agent, const serve_handoffs *h);

/* One SSE event "data: {chunk}\n\n" (owned; NULL when out of memory).
 * delta fields: role (NULL: none), content / refusal (NULL: none);
 * finish_reason NULL for null. agent set: add the "handoff" field with the
 * agent and h's handoffs (h may be NULL). */
char *serve_chat_render_chunk(const serve_chat_meta *m, const char *role, const char *content,
                              const char *refusal, const char *finish_reason,
                              const char *agent, const serve_handoffs *h);
/* The usage chunk ("choices": []). */
char *serve_chat_render_usage_chunk(const serve_chat_meta *m, const hf_usage *usage);
/* The error chunk of a stream that already started ("choices": [] and the
 * "error" object). */
char *serve_chat_render_error_chunk(const serve_chat_meta *m, const serve_fail *f);

#endif

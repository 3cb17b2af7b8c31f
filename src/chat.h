/*
 * chat.h - the chat-completions wire format: request bodies in the key order
 * the Python Agents SDK sends, reply parsing, and stream delta assembly.
 * No I/O here (see call.h).
 */
#ifndef HF_CHAT_H
#define HF_CHAT_H

#include "graph.h"

#include <cjson/cJSON.h>

typedef struct hf_reply_call {
	char *id;        /* may be generated when the provider sent none */
	char *name;
	char *arguments; /* JSON text; "" from the wire becomes "{}" */
} hf_reply_call;

/* One parsed model reply (choices[0] only). */
typedef struct hf_reply {
	char *content;          /* assistant text; NULL when none */
	char *refusal;          /* the model's refusal (message.refusal); NULL when none */
	hf_reply_call *calls;
	size_t ncalls;
	char *finish_reason;    /* NULL when absent */
	hf_usage usage;         /* requests = 1 */
	bool has_usage;
} hf_reply;

void hf_chat_reply_dispose(hf_reply *r);

/* What to send. Messages and tools are borrowed. */
typedef struct hf_chat_request {
	const char *model;
	const cJSON *messages;         /* array, system message first when any */
	const cJSON *tools;            /* array or NULL */
	const hf_settings *settings;   /* may be NULL */
	const char *compute_provider;  /* may be NULL */
	bool stream;
	bool include_usage;            /* stream_options.include_usage when streaming */
} hf_chat_request;

/* Build the JSON body: keys model, messages, tools, tool_choice,
 * parallel_tool_calls (only with tools), temperature, top_p, max_tokens,
 * stop, seed, stream, stream_options, compute_provider - each only when set.
 * They are written in the order the Python SDK's openai client sends them:
 * messages, model, max_tokens, parallel_tool_calls, seed, stop, stream,
 * stream_options, temperature, tool_choice, tools, top_p, compute_provider
 * (see docs/wire.md). Compact JSON, UTF-8 unescaped; floats as Python prints
 * them (1.0, 0.3). HF_EINVAL without model or messages. *out is owned (hf_free). */
int hf_chat_body(char **out, const hf_chat_request *req, hf_error *err);

/* The parts of a request body that depend only on the agent, rendered
 * once with hf_chat_body so that each request is a join of texts:
 *   {"messages":[<system>,<message>...]<head>[,"stream":true[,"stream_options":
 *   {"include_usage":true}]]<tail>[,"compute_provider":"…"]}
 * which is byte for byte what hf_chat_body writes for the same request. */
typedef struct hf_agent_wire {
	hf_agent_cache cache; /* kept in the agent (graph.h) */
	char *system; /* the system message object, or NULL */
	char *head;   /* ,"model":… and the settings before "stream" */
	char *tail;   /* the settings after "stream_options", and the tools */
} hf_agent_wire;

/* The agent's wire parts into *out, built on first use and kept in the
 * agent, which frees them (safe from several threads). *out is borrowed
 * from the agent; NULL on failure: HF_ENOMEM, HF_EPROTOCOL. */
int hf_chat_agent_wire_get(const hf_agent_wire **out, const hf_agent *a, hf_error *err);

/* Fill w's parts (caller-allocated, may be embedded in a larger struct;
 * w->cache is left alone) for agent a with function_tools (an array of
 * function tool objects, or NULL) sent before its handoff tools. Free the
 * parts with hf_chat_wire_dispose. HF_ENOMEM, HF_EPROTOCOL. */
int hf_chat_wire_build(hf_agent_wire *w, const hf_agent *a, const cJSON *function_tools,
                       hf_error *err);
void hf_chat_wire_dispose(hf_agent_wire *w);

/* Join a request body (see hf_agent_wire) from the agent's parts and n
 * message object texts. *out is owned (hf_free). */
int hf_chat_body_join(char **out, const hf_agent_wire *w, const char *const *messages,
                      size_t n, bool stream, bool include_usage,
                      const char *compute_provider, hf_error *err);

/* Wire-format message builders (new cJSON objects, caller owns). */
cJSON *hf_msg_system(const char *text);   /* {"content":…,"role":"system"} */
cJSON *hf_msg_user(const char *text);     /* {"role":"user","content":…} */
cJSON *hf_msg_assistant(const char *text, const hf_reply_call *calls, size_t ncalls);
cJSON *hf_msg_tool(const char *call_id, const char *content);

/* One handoff tool, as the Python SDK builds it:
 * {"type":"function","function":{"name":…,"description":"Handoff to the X
 * agent to handle the request. <description>","parameters":{"additionalProperties":
 * false,"type":"object","properties":{},"required":[]},"strict":true}} */
cJSON *hf_handoff_tool(const hf_agent *target);

/* Parse a non-streaming reply body. HF_EPROTOCOL names what is wrong
 * (not JSON, no choices, bad tool call, invalid UTF-8). */
int hf_chat_reply_parse(hf_reply *out, const char *body, size_t len, hf_error *err);

/* Streaming: assemble chunks into a reply. Text deltas are passed to fn as
 * they arrive, cut only at UTF-8 character boundaries. */
typedef int (*hf_delta_fn)(void *payload, const char *text, size_t len);

typedef struct hf_stream hf_stream;

/* max_tool_calls: the highest accepted index + 1 (0 = HF_CHAT_MAX_TOOL_CALLS).
 * Call hf_stream_finish at most once. */
int hf_stream_new(hf_stream **out, hf_delta_fn fn, void *payload, size_t max_tool_calls,
                  hf_error *err);
/* Feed the data of one SSE event (a chunk JSON, or an {"error":…} object,
 * which ends the stream with HF_EHTTP/HF_EPROTOCOL). "[DONE]" is accepted. */
int hf_stream_chunk(hf_stream *s, const char *data, size_t len, hf_error *err);
/* The stream ended: move the assembled reply into *out. HF_EPROTOCOL when
 * the stream ended before [DONE] or a tool call misses its name. */
int hf_stream_finish(hf_stream *s, hf_reply *out, hf_error *err);
/* True once the stream sent data: [DONE] or a finish_reason: a reply that
 * ends there is whole even when the connection then closes. */
bool hf_stream_complete(const hf_stream *s);
/* Bytes of text already handed to the delta callback (for retry decisions). */
size_t hf_stream_delivered(const hf_stream *s);
void hf_stream_free(hf_stream *s);

/* ---- helpers shared by chat.c, stream.c and the transport ---- */

/* Tool calls accepted in one reply (a larger count is HF_ELIMIT). */
#define HF_CHAT_MAX_TOOL_CALLS 128

/* Parse exactly one JSON value (whitespace around it allowed); NULL when
 * s[0..len) is not that. Caller owns the result (cJSON_Delete). */
cJSON *hf_json_parse(const char *s, size_t len);
/* HF_EHTTP "the endpoint said: <type> (<code>): <message>" when root holds
 * an "error" member (server text cleaned of control characters), else 0. */
int hf_chat_error_envelope(const cJSON *root, hf_error *err);
/* Both of the above for a reply body or stream chunk (`what` names it in
 * messages): HF_EPROTOCOL when it is not JSON, HF_EHTTP for an error
 * envelope. On HF_OK *root is the caller's (cJSON_Delete); otherwise NULL. */
int hf_chat_parse(cJSON **root, const char *s, size_t len, const char *what, hf_error *err);
/* prompt/completion/total_tokens of a usage object into out (requests = 1). */
void hf_chat_usage(const cJSON *usage, hf_usage *out);
/* Final checks of an assembled reply: every tool call has a name, ids
 * default to "", empty arguments become "{}", all text is valid UTF-8. */
int hf_chat_reply_check(hf_reply *r, hf_error *err);
/* For a reply with neither tool calls nor text (`who` names the agent and
 * model in messages): HF_EREFUSAL with the model's words when it refused,
 * HF_ELIMIT naming the finish reason when it stopped at its token limit
 * ("length") or for another reason than "stop" (e.g. "content_filter");
 * HF_OK otherwise (the caller decides what an empty reply means). */
int hf_chat_reply_unanswered(const hf_reply *r, const char *who, hf_error *err);

#endif

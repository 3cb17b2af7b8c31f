/*
 * mock_internal.h - the parts of `handoff mock` shared between its files:
 * language detection (mock_lang.c), faults (mock_faults.c), the catalogue
 * (mock_catalogue.c), the routing model and scenario (mock_script.c), chat
 * rendering (mock_chat.c), lazy bodies (mock_body.c), the wake-up timer
 * (mock_timer.c), the request log (mock_log.c) and the helpers they share
 * (mock_util.c). The server (mock.c) uses them; they never call back into
 * it. Not for other modules: they use mock.h.
 */
#ifndef HF_MOCK_INTERNAL_H
#define HF_MOCK_INTERNAL_H

#include "chat.h"
#include "internal.h"

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <stdint.h>

/* The fixed `created` time of every reply (2025-01-01T00:00:00Z), so replies
 * are byte-for-byte reproducible. */
#define MOCK_CREATED 1735689600L

typedef struct mock_timer mock_timer;

/* ---- mock_util.c: shared helpers ---- */

/* Error envelope {"error":{"message","type","code"}} as an owned string. */
char *mock_error_json(const char *message, const char *type, const char *code);

/* The whole file at path into out (an empty hf_buf; dispose it).
 * HF_ENOTFOUND naming `what` and path when it cannot be opened, HF_ENOMEM. */
int mock_read_file(hf_buf *out, const char *path, const char *what, hf_error *err);

/* ---- mock_lang.c: languages ---- */

typedef enum mock_lang {
	MOCK_LANG_EN,
	MOCK_LANG_ES,
	MOCK_LANG_FR,
	MOCK_LANG_DE,
	MOCK_LANG_PT,
	MOCK_LANG_IT,
	MOCK_LANG_ZH,
	MOCK_LANG_JA,
	MOCK_LANG_KO,
	MOCK_LANG_RU,
	MOCK_LANG_AR,
	MOCK_LANG_EL,
	MOCK_LANG_HE,
	MOCK_LANG_HI,
	MOCK_LANG_TH,
	MOCK_LANG_COUNT
} mock_lang;

/* The language of a text (UTF-8, need not be valid): scripts first, then
 * stop words and accented letters for Latin text; English by default. */
mock_lang mock_lang_detect(const char *text, size_t len);
/* ISO 639-1 code ("es") and the fixed reply sentence of a language. */
const char *mock_lang_code(mock_lang l);
const char *mock_lang_sentence(mock_lang l);
/* The one language a name or description names ("Spanish agent",
 * "transfer_to_agente_espa_ol", "Habla español"); -1 when it names none or
 * more than one. NULL-safe. */
int mock_lang_named(const char *text);

/* ---- mock_faults.c: faults on demand ---- */

typedef enum mock_fault_kind {
	MOCK_FAULT_NONE,
	MOCK_FAULT_STATUS,        /* 401 403 404 408 409 429 500 503 */
	MOCK_FAULT_DROP,
	MOCK_FAULT_DROP_MID_STREAM,
	MOCK_FAULT_TRUNCATED,
	MOCK_FAULT_BAD_UTF8,
	MOCK_FAULT_STALL,
	MOCK_FAULT_OVERSIZE,
	MOCK_FAULT_EMPTY_ID,
	MOCK_FAULT_MISSING_ID,
	MOCK_FAULT_UNKNOWN_TOOL,
	MOCK_FAULT_MULTI_HANDOFF,
	MOCK_FAULT_ERROR_MID_STREAM
} mock_fault_kind;

typedef struct mock_fault {
	mock_fault_kind kind;
	int status;       /* MOCK_FAULT_STATUS */
	long after;       /* requests that pass before the fault applies */
	long times;       /* faulted requests after those; -1: all */
	long ms;          /* stall / retry-after; -1: not given */
	uint64_t bytes;   /* oversize body size */
	const char *name; /* static canonical name, e.g. "429" or "stall" */
} mock_fault;

/* Parse "NAME[;after=A][;times=T][;ms=M][;bytes=B]". HF_EINVAL names the
 * bad part. */
int mock_fault_parse(mock_fault *f, const char *spec, hf_error *err);

/* Per-spec counters deciding whether the N-th request carrying a given
 * X-Mock-Fault value is faulted. Thread-safe. */
typedef struct mock_fault_counters mock_fault_counters;
mock_fault_counters *mock_fault_counters_new(void);
void mock_fault_counters_free(mock_fault_counters *fc);
/* Count one request for `spec`; true when this one gets fault f. */
bool mock_fault_counters_hit(mock_fault_counters *fc, const char *spec, const mock_fault *f);
void mock_fault_counters_reset(mock_fault_counters *fc);

/* Status, error type, code and message of a status fault. */
void mock_fault_status_error(int status, const char **type, const char **code,
                             const char **message);

/* ---- mock_catalogue.c: Model Hub discovery ---- */

typedef struct mock_catalogue mock_catalogue;

/* Load a catalogue file, or the built-in one when path is NULL. HF_ECONFIG
 * names the problem; HF_ENOTFOUND when the file cannot be read. */
int mock_catalogue_load(mock_catalogue **out, const char *path, hf_error *err);
void mock_catalogue_free(mock_catalogue *c);

/* Each renders one discovery reply: returns the HTTP status and sets *body
 * to an owned JSON text (a list, a detail object or an error envelope);
 * NULL *body means out of memory. Filters may be NULL. */
int mock_catalogue_models(const mock_catalogue *c, const char *provider, char **body);
int mock_catalogue_providers(const mock_catalogue *c, const char *model, char **body);
int mock_catalogue_detail(const mock_catalogue *c, const char *model, const char *provider,
                          char **body);
int mock_catalogue_openai_models(const mock_catalogue *c, char **body);

/* ---- mock_script.c: what the model answers ---- */

/* A scripted reply is the library's own reply type (hf_reply, chat.h; free
 * it with hf_chat_reply_dispose): content NULL means no text, a call's id NULL
 * means the id is left out. finish_reason and usage stay unset: the
 * renderer (mock_chat.c) derives them from the request and the reply. */

/* Append a tool call (copies). HF_ENOMEM. */
int mock_reply_add_call(hf_reply *r, const char *id, const char *name, const char *args);

/* Change a reply as a fault says: bad-utf8 puts invalid UTF-8 in the text,
 * empty-id / missing-id blank the call ids (making a call when there was
 * none), unknown-tool calls lookup_weather, multi-handoff calls the first
 * two transfer tools offered. Other faults leave it. HF_ENOMEM. */
int mock_reply_fault(hf_reply *r, const cJSON *request, const mock_fault *f,
                     _Atomic unsigned long *next_call);

/* The default routing model: decide the reply to a chat request (see
 * docs/mock.md). next_call numbers the generated call ids. */
int mock_route(hf_reply *out, const cJSON *request, _Atomic unsigned long *next_call);

/* ---- mock_tools.c: function tools ---- */

/* True when the request says tool_choice "none". */
bool mock_tool_choice_none(const cJSON *request);

/* The function-tool part of the routing model (docs/mock.md "Function
 * tools"): the answer to function-tool results ending the conversation,
 * else calls to the offered function tools user_text (the latest user
 * message, may be NULL) names, unless one already ran in this turn or
 * tool_choice is "none". Returns true when it decided the reply (*rc:
 * HF_OK or HF_ENOMEM); out is left empty otherwise. */
bool mock_tools_reply(hf_reply *out, const cJSON *request, const char *user_text,
                      _Atomic unsigned long *next_call, int *rc);

/* The tool names a request offers, in order (borrowed from request). */
size_t mock_offered_tools(const cJSON *request, const char **names, size_t max,
                          bool transfers_only);

typedef struct mock_scenario mock_scenario;

/* Load a scenario file. HF_ECONFIG names the bad entry. */
int mock_scenario_load(mock_scenario **out, const char *path, hf_error *err);
void mock_scenario_free(mock_scenario *s);
/* Take the next scripted reply. Returns false when the script has run out
 * (the routing model answers). *fault is the entry's fault spec (borrowed)
 * or NULL. Thread-safe. */
bool mock_scenario_next(mock_scenario *s, hf_reply *out, const char **fault, int *rc);
void mock_scenario_reset(mock_scenario *s);

/* ---- mock_body.c: response bodies produced on demand ---- */

/* A body made of head + unit repeated unit_count times + tail, produced as
 * MHD asks for it. Faults shape it: stall_ms of silence before the first
 * byte, or the connection dropped after `cut` bytes. */
typedef struct mock_body {
	hf_buf head;
	hf_buf unit;
	uint64_t unit_count;
	hf_buf tail;
	bool sized;          /* Content-Length (true) or chunked (false) */
	long stall_ms;       /* > 0: silence before the first byte */
	uint64_t cut;        /* drop the connection after this many bytes; 0: never */
	/* set by mock_body_response */
	struct mock_timer *timer;
	struct MHD_Connection *conn;
	bool stalled;
} mock_body;

/* An MHD response serving b (which it takes over and frees); the stall
 * suspends conn on timer. NULL on failure, b freed. */
struct MHD_Response *mock_body_response(mock_body *b, struct mock_timer *timer,
                                        struct MHD_Connection *conn);
void mock_body_free(mock_body *b);

/* ---- mock_chat.c: chat-completion replies ---- */

typedef struct mock_chat_out {
	const char *content_type;
	mock_body *body;     /* owned */
} mock_chat_out;

typedef struct mock_chat_in {
	const cJSON *request;      /* the parsed body */
	const hf_reply *reply;
	const mock_fault *fault;   /* the body-shaping fault, or NULL */
	unsigned long id;          /* chatcmpl-mock-<id> */
} mock_chat_in;

/* Render the reply, as JSON or as an SSE stream (request "stream": true),
 * shaped by fault. HF_ENOMEM. */
int mock_chat_render(mock_chat_out *out, const mock_chat_in *in);

/* ---- mock_timer.c: wake-ups without blocking MHD's threads ---- */

int mock_timer_start(mock_timer **out, hf_error *err);
/* Suspend conn (from within an MHD callback) and resume it after ms.
 * Returns false, without suspending, once the timer is stopping. */
bool mock_timer_suspend(mock_timer *t, struct MHD_Connection *conn, long ms);
/* Resume every suspended connection and refuse new suspensions; the timer
 * stays valid for request threads until mock_timer_free, which is called
 * after the HTTP server has stopped. */
void mock_timer_stop(mock_timer *t);
void mock_timer_free(mock_timer *t); /* NULL-safe */

/* ---- mock_log.c: the request log ---- */

typedef struct mock_log mock_log;

int mock_log_open(mock_log **out, const char *path, bool memory, hf_error *err);
void mock_log_close(mock_log *l);
/* Whether anything is logged (a file or memory). NULL-safe. */
bool mock_log_on(const mock_log *l);
/* Log one request: headers and query read from conn, body parsed when it
 * is JSON (the raw text under "_raw" otherwise), secrets redacted. */
void mock_log_request(mock_log *l, struct MHD_Connection *conn, const char *method,
                      const char *path, const char *body, size_t len, unsigned status,
                      const char *fault);
size_t mock_log_count(mock_log *l);
char *mock_log_get(mock_log *l, size_t i);
void mock_log_clear(mock_log *l);

#endif

/*
 * handoff.h - the public API of libhandoff, a multi-agent routing runtime.
 *
 * Agents are described in YAML (instructions, model, handoff list). A turn
 * sends the user's input to the agent that holds the conversation over an
 * OpenAI-compatible chat-completions endpoint, follows the handoff tool calls
 * the model returns (as the OpenAI Agents SDK does) until an agent answers,
 * and commits the turn to a session store as a whole.
 *
 * Conventions
 *  - Every name has the prefix hf_ (types, functions) or HF_ (macros, enums).
 *  - Types are opaque, except option structs (which start with a version
 *    field and have an HF_..._INIT macro) and small plain records.
 *  - Every function that can fail returns 0 (HF_OK) or a negative hf_code and,
 *    when its last argument `err` is not NULL, fills it with a message a person
 *    can act on. Out-parameters come first.
 *  - Ownership: an object returned through `**out` belongs to the caller and
 *    is released with its type's _free function (NULL-safe). Strings returned
 *    as `char **out` are owned by the caller and released with hf_free().
 *    `const char *` return values are borrowed from their parent object and
 *    live as long as it does, unless stated otherwise. Input strings are copied.
 *
 * Threads
 *  - Call hf_global_init() once from main() before starting threads.
 *  - A loaded hf_graph is immutable: any number of threads may share it.
 *  - An hf_client, hf_session, hf_store or hf_engine is used by one thread
 *    at a time (a store's ops run on the thread of the call that uses it:
 *    hf_run's caller, or the engine's driving thread).
 *  - Callbacks run on the thread that drives the work (hf_run, or the thread
 *    that calls hf_engine_perform / hf_engine_socket_action).
 *  - The API key is never written to any log, error message or session.
 *
 * This header includes only standard C headers.
 */
#ifndef HANDOFF_H
#define HANDOFF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && !defined(HF_STATIC)
#define HF_EXTERN(type) __declspec(dllimport) type
#elif defined(__GNUC__)
#define HF_EXTERN(type) __attribute__((visibility("default"))) type
#else
#define HF_EXTERN(type) type
#endif

/* ------------------------------------------------------------------ */
/* Version and global set-up                                           */
/* ------------------------------------------------------------------ */

#define HF_VERSION_MAJOR 0
#define HF_VERSION_MINOR 1
#define HF_VERSION_PATCH 0
#define HF_VERSION_STRING "0.1.0"

/* The version of the library actually linked, as "MAJOR.MINOR.PATCH".
 * Static string; never fails. */
HF_EXTERN(const char *) hf_version(void);

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

typedef enum hf_code {
	HF_OK = 0,
	HF_EINVAL = -1,      /* bad argument or bad input text (size, UTF-8) */
	HF_ECONFIG = -2,     /* YAML, graph validation, missing setting */
	HF_EAUTH = -3,       /* the endpoint refused the credentials (401/403) */
	HF_ENET = -4,        /* connection failed, dropped, or timed out */
	HF_EHTTP = -5,       /* the endpoint answered with an error status */
	HF_EPROTOCOL = -6,   /* the reply was not valid chat-completions data */
	HF_EMAXTURNS = -7,   /* too many model calls in one user turn */
	HF_ELOOP = -8,       /* handoff ping-pong inside one user turn */
	HF_ETOOL = -9,       /* the model called a tool that was not offered */
	HF_ESTORE = -10,     /* the session store failed */
	HF_ENOTFOUND = -11,  /* no such agent, session, model or provider */
	HF_ECANCELLED = -12, /* cancelled by a callback or hf_engine_cancel */
	HF_ENOMEM = -13,     /* out of memory */
	HF_ELIMIT = -14,     /* a size or count limit was exceeded */
	HF_ECONFLICT = -15,  /* the session changed under us (another writer) */
	HF_EREFUSAL = -16,   /* the model refused to answer (its words in the message) */
	HF_ETOOLFAIL = -17   /* a function tool failed under `tool_errors: fail` */
} hf_code;

#define HF_ERROR_MESSAGE_MAX 1024

/* A filled-in error. Plain record: the caller owns it (usually on the
 * stack). `message` is always NUL-terminated and never contains the key. */
typedef struct hf_error {
	int code;        /* an hf_code */
	int http_status; /* HTTP status when the endpoint answered, else 0 */
	char message[HF_ERROR_MESSAGE_MAX];
} hf_error;

/* The last error filled on the calling thread by any libhandoff call
 * (thread-local; valid until the thread's next failing call), for callers
 * that passed err = NULL. Never NULL; code HF_OK when there was none. */
HF_EXTERN(const hf_error *) hf_error_last(void);

/* Static, lower-case name of a code ("config", "auth", ...). */
HF_EXTERN(const char *) hf_code_name(int code);

/* Deprecated: exit statuses belong to the command, which keeps its own
 * table (README "Using the command"). This function stays frozen at the
 * 0.1 table for programs that used it: 0 ok, 1 other (a conflict and a
 * refusal included), 2 usage, 3 config, 4 auth, 5 network/HTTP, 6 routing
 * (max turns, loop, unknown tool), 130 interrupted. The `handoff` command
 * also uses 7 (session conflict) and 8 (refusal). */
HF_EXTERN(int) hf_exit_status(int code);

/* Release memory the library handed to the caller as an owned string. */
HF_EXTERN(void) hf_free(void *p);

/* Set up libcurl and other process-wide state. Call once, before threads.
 * Returns HF_ENET if libcurl cannot be initialised. handoff uses cJSON with
 * its default allocator (malloc/free) and never changes cJSON's hooks; an
 * application that installs other cJSON hooks cannot embed it. */
HF_EXTERN(int) hf_global_init(hf_error *err);
HF_EXTERN(void) hf_global_cleanup(void);

/* ------------------------------------------------------------------ */
/* Logging                                                             */
/* ------------------------------------------------------------------ */

typedef enum hf_log_level {
	HF_LOG_ERROR = 0,
	HF_LOG_WARN = 1,
	HF_LOG_INFO = 2,
	HF_LOG_DEBUG = 3,
	HF_LOG_TRACE = 4 /* wire traffic, with credentials redacted */
} hf_log_level;

typedef void (*hf_log_fn)(hf_log_level level, const char *message, void *payload);

/* Route library log messages at or below `level` to `fn` (NULL: off, the
 * default). The library never writes to stdout or stderr itself. Process-wide;
 * set it before threads start. */
HF_EXTERN(void) hf_log_set(hf_log_fn fn, hf_log_level level, void *payload);

/* ------------------------------------------------------------------ */
/* Agent graphs                                                        */
/* ------------------------------------------------------------------ */

typedef struct hf_graph hf_graph;
typedef struct hf_agent hf_agent;
typedef struct hf_diag hf_diag;

typedef enum hf_routing {
	HF_ROUTING_STICKY = 0, /* the next turn starts at the agent holding it */
	HF_ROUTING_ROUTER = 1  /* every turn starts at the entry agent */
} hf_routing;

typedef enum hf_severity { HF_SEV_ERROR = 0, HF_SEV_WARNING = 1 } hf_severity;

/* Load a graph from `path`: a directory of .yaml/.yml files (with an
 * optional handoff.yaml graph file), a single agent file, or a graph file.
 * On success *out is an immutable graph. Every problem found (errors and
 * warnings, each with file:line:col) is put in *diags when diags is not NULL;
 * the caller frees it with hf_diag_free. Returns HF_ECONFIG when any error
 * was found (err holds the first one and a count), HF_ENOTFOUND for a
 * missing path. */
HF_EXTERN(int) hf_graph_load(hf_graph **out, const char *path, hf_diag **diags,
                             hf_error *err);

/* As hf_graph_load, from YAML text in memory; `name` is used as the file
 * name in positions. The text may hold one agent, `agents:` and graph keys. */
HF_EXTERN(int) hf_graph_load_string(hf_graph **out, const char *yaml, size_t len,
                                    const char *name, hf_diag **diags, hf_error *err);

HF_EXTERN(void) hf_graph_free(hf_graph *g);

HF_EXTERN(size_t) hf_graph_agent_count(const hf_graph *g);
/* Agents in load order; NULL when i is out of range. Borrowed from g. */
HF_EXTERN(const hf_agent *) hf_graph_agent_at(const hf_graph *g, size_t i);
HF_EXTERN(const hf_agent *) hf_graph_agent_by_name(const hf_graph *g, const char *name);
HF_EXTERN(const hf_agent *) hf_graph_agent_by_tool(const hf_graph *g, const char *tool_name);
HF_EXTERN(const hf_agent *) hf_graph_entry(const hf_graph *g);
HF_EXTERN(hf_routing) hf_graph_routing(const hf_graph *g);
HF_EXTERN(int) hf_graph_max_turns(const hf_graph *g);

/* Borrowed strings; NULL when the field was not set. */
HF_EXTERN(const char *) hf_agent_name(const hf_agent *a);
HF_EXTERN(const char *) hf_agent_description(const hf_agent *a);
HF_EXTERN(const char *) hf_agent_instructions(const hf_agent *a);
HF_EXTERN(const char *) hf_agent_model(const hf_agent *a); /* graph default applied */
/* The agent's own provider / compute provider; NULL means the client's,
 * which comes from flags, then the environment, then the graph file. */
HF_EXTERN(const char *) hf_agent_provider(const hf_agent *a);
HF_EXTERN(const char *) hf_agent_compute_provider(const hf_agent *a);
HF_EXTERN(const char *) hf_agent_tool_name(const hf_agent *a); /* transfer_to_... */
HF_EXTERN(size_t) hf_agent_handoff_count(const hf_agent *a);
HF_EXTERN(const hf_agent *) hf_agent_handoff_at(const hf_agent *a, size_t i);
/* The agent's `tools:` entries as written ("files.read_text_file",
 * "files.*", "lookup_order"); NULL when i is out of range. A tool set
 * (hf_tools_start) binds them; an entry without a '.' names a C callback. */
HF_EXTERN(size_t) hf_agent_tool_count(const hf_agent *a);
HF_EXTERN(const char *) hf_agent_tool_at(const hf_agent *a, size_t i);
/* How many MCP servers the graph file declares (mcp_servers). */
HF_EXTERN(size_t) hf_graph_mcp_server_count(const hf_graph *g);

/* Write the handoff tool name for an agent name into buf (size cap):
 * "transfer_to_" + name with every character (code point) outside
 * [A-Za-z0-9_] replaced by one '_', lower-cased, as the Python Agents SDK
 * does ("Café-Bot" -> "transfer_to_caf__bot"). HF_EINVAL for an empty name,
 * a name that is not UTF-8, or a result over 64 characters; HF_ELIMIT when
 * cap is too small (65 bytes always suffice). */
HF_EXTERN(int) hf_handoff_tool_name(char *buf, size_t cap, const char *agent_name,
                                    hf_error *err);

typedef enum hf_graph_format {
	HF_GRAPH_MERMAID = 0,
	HF_GRAPH_DOT = 1,
	HF_GRAPH_JSON = 2
} hf_graph_format;

/* Render the graph; *out is an owned NUL-terminated string (hf_free). */
HF_EXTERN(int) hf_graph_export(char **out, const hf_graph *g, hf_graph_format fmt,
                               hf_error *err);

/* Diagnostics collected while loading. Borrowed strings live as long as d. */
HF_EXTERN(size_t) hf_diag_count(const hf_diag *d);
HF_EXTERN(size_t) hf_diag_error_count(const hf_diag *d);
HF_EXTERN(hf_severity) hf_diag_severity(const hf_diag *d, size_t i);
HF_EXTERN(const char *) hf_diag_file(const hf_diag *d, size_t i);
HF_EXTERN(int) hf_diag_line(const hf_diag *d, size_t i); /* 1-based; 0 = whole file */
HF_EXTERN(int) hf_diag_column(const hf_diag *d, size_t i);
HF_EXTERN(const char *) hf_diag_message(const hf_diag *d, size_t i);
/* "file:line:col: error: message" for entry i; borrowed. */
HF_EXTERN(const char *) hf_diag_format(const hf_diag *d, size_t i);
HF_EXTERN(void) hf_diag_free(hf_diag *d);


/* ------------------------------------------------------------------ */
/* Endpoints and the model client                                      */
/* ------------------------------------------------------------------ */

typedef struct hf_client hf_client;

/* How the API key is sent. The Model Hub accepts both headers. */
#define HF_AUTH_BEARER 0x1    /* Authorization: Bearer KEY (default) */
#define HF_AUTH_X_API_KEY 0x2 /* x-api-key: KEY */

#define HF_CLIENT_OPTIONS_VERSION 2 /* 1 is still accepted (no deadline_ms) */

/* Settings that override everything else (flags). Zero / NULL fields are
 * "not set": they fall back to the environment (HANDOFF_BASE_URL,
 * HANDOFF_API_KEY, HANDOFF_API_KEY_FILE, HANDOFF_PROVIDER,
 * HANDOFF_COMPUTE_PROVIDER, HANDOFF_TIMEOUT, with OPENAI_BASE_URL and
 * OPENAI_API_KEY as fallbacks), then to the graph file, then to defaults.
 * Strings are copied by hf_client_new. */
typedef struct hf_client_options {
	unsigned version;
	const char *base_url;         /* e.g. https://host/compute or http://127.0.0.1:8080/v1 */
	const char *api_key;          /* the key itself (library use; never logged) */
	const char *api_key_env;      /* name of the variable holding the key */
	const char *api_key_file;     /* a file holding the key; must be mode 0600 */
	int auth;                     /* HF_AUTH_* bits; 0 = default (bearer) */
	const char *provider;         /* sent as OpenAI-Organization */
	const char *compute_provider; /* sent as compute_provider in the body */
	long connect_timeout_ms;      /* 0 = default 10 s */
	long timeout_ms;              /* whole request; 0 = default 600 s */
	long idle_timeout_ms;         /* between stream bytes; 0 = default 60 s. hf_run
	                               * and hf_ask check it ten times per timeout; the
	                               * engine once a second (libcurl's progress
	                               * callback), so there it may fire up to 1 s late */
	int max_retries;              /* -1 = default 2 */
	long max_retry_after_ms;      /* cap on honoured Retry-After; 0 = 60 s */
	size_t max_response_bytes;    /* 0 = default 8 MiB */
	int insecure;                 /* non-zero: skip TLS verification */
	const char *const *headers;   /* extra "Name: value" lines, NULL-terminated */
	int require_key;              /* non-zero: a missing key is HF_ECONFIG */
	long deadline_ms;             /* (version 2) one request with all its retries and
	                                 the waits between them; 0 = default 1.5 × the
	                                 whole-request timeout (900 s) */
} hf_client_options;

#define HF_CLIENT_OPTIONS_INIT \
	{ HF_CLIENT_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 0, NULL, NULL, 0, 0, 0, -1, 0, 0, 0, NULL, 0, 0 }

/* Create a client: resolves settings from `opts` (may be NULL), the
 * environment and `graph` (may be NULL; its endpoint defaults apply), and
 * keeps one connection for reuse. HF_ECONFIG names exactly what to set when
 * the base URL (or, with require_key, the key) is missing or a key file is
 * unreadable or too open. */
HF_EXTERN(int) hf_client_new(hf_client **out, const hf_client_options *opts,
                             const hf_graph *graph, hf_error *err);
HF_EXTERN(void) hf_client_free(hf_client *c);
/* The resolved base URL as it may be shown: any user name and password in
 * it are left out (they are still sent). Borrowed from c. */
HF_EXTERN(const char *) hf_client_base_url(const hf_client *c);

/* Token usage, summed over the model calls it covers. */
typedef struct hf_usage {
	uint64_t requests;
	uint64_t input_tokens;
	uint64_t output_tokens;
	uint64_t total_tokens;
} hf_usage;

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

typedef enum hf_event_type {
	HF_EVENT_AGENT = 0,      /* the agent answering changed: from (NULL at start) -> to */
	HF_EVENT_TEXT_DELTA = 1, /* streamed text; whole UTF-8 characters */
	HF_EVENT_MESSAGE = 2,    /* a complete assistant message from `agent` */
	HF_EVENT_HANDOFF = 3,    /* `from` called tool `tool_name` (call_id) to hand to `to` */
	HF_EVENT_USAGE = 4,      /* usage of one model call */
	HF_EVENT_ERROR = 5,      /* the turn failed; error is set */
	HF_EVENT_DONE = 6,       /* the turn finished; agent = final agent, usage = turn */
	HF_EVENT_WARNING = 7,    /* something a person should know; text says what */
	HF_EVENT_TOOL_CALL = 8,  /* `agent` called function tool `tool_name` (call_id);
	                          * text = its arguments (JSON text); tool_origin */
	HF_EVENT_TOOL_RESULT = 9 /* that call's result: text = what the model is given,
	                          * tool_error non-zero when it reports a failure */
} hf_event_type;
/* Programs built before a type was added see it as an unknown number: a
 * switch over hf_event.type needs a default case that ignores it. */

/* One event. All pointers are borrowed for the duration of the callback. */
typedef struct hf_event {
	hf_event_type type;
	const char *agent;     /* agent in charge when the event happened */
	const char *from;      /* AGENT, HANDOFF */
	const char *to;        /* AGENT, HANDOFF */
	const char *text;      /* TEXT_DELTA, MESSAGE, DONE (final answer) */
	size_t text_len;
	const char *tool_name; /* HANDOFF, TOOL_CALL, TOOL_RESULT */
	const char *call_id;   /* HANDOFF, TOOL_CALL, TOOL_RESULT */
	hf_usage usage;        /* USAGE (one call), DONE (whole turn) */
	const hf_error *error; /* ERROR */
	const char *session_id;
	uint64_t usage_reported; /* USAGE, DONE: how many of usage.requests model calls
	                          * reported their usage (tokens count only those);
	                          * 0: the endpoint sent none, the tokens are unknown */
	const char *tool_origin; /* TOOL_CALL, TOOL_RESULT: the MCP server's name from
	                          * mcp_servers, or NULL for a C callback */
	int tool_error;          /* TOOL_RESULT: non-zero when the tool failed (its
	                          * error text is what the model is given) */
} hf_event;

/* Return 0 to go on; any other value cancels the turn (HF_ECANCELLED). */
typedef int (*hf_event_fn)(const hf_event *ev, void *payload);

/* ------------------------------------------------------------------ */
/* Single completions (no agents)                                      */
/* ------------------------------------------------------------------ */

#define HF_ASK_OPTIONS_VERSION 1

typedef struct hf_ask_options {
	unsigned version;
	const char *model;            /* required */
	const char *provider;         /* overrides the client's */
	const char *compute_provider; /* overrides the client's */
	const char *system;           /* optional system message */
	int stream;                   /* non-zero: stream, deltas to on_event */
	hf_event_fn on_event;
	void *payload;
	const volatile int *cancel;   /* when set and *cancel becomes non-zero the
	                                 request stops with HF_ECANCELLED (within about
	                                 a second); may be set from a signal handler */
} hf_ask_options;

#define HF_ASK_OPTIONS_INIT { HF_ASK_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 1, NULL, NULL, NULL }

/* One chat completion of `input`. *answer (may be NULL) receives the owned
 * text; *usage (may be NULL) the usage (zero when the endpoint reported none:
 * the USAGE event comes only when it did). Errors: HF_EAUTH, HF_ENET,
 * HF_EHTTP, HF_EPROTOCOL, HF_ECANCELLED, HF_EINVAL (input not UTF-8 or too
 * large), HF_EREFUSAL (the model refused: its words in err), HF_ELIMIT (no
 * answer: the model stopped at its token limit, or a reply over the size
 * limit). */
HF_EXTERN(int) hf_ask(char **answer, hf_usage *usage, hf_client *c, const char *input,
                      const hf_ask_options *opts, hf_error *err);

/* ------------------------------------------------------------------ */
/* Model Hub discovery                                                 */
/* ------------------------------------------------------------------ */

/* Each call returns, in *json_out, an owned JSON text: an array of objects
 * for models/providers, an object for model detail, as the endpoint sent it
 * (checked, re-serialised). provider / model filters may be NULL.
 * HF_ENOTFOUND for an unknown name; HF_EHTTP with a plain message when the
 * server (for example a plain /v1 server) has no provider catalogue. */
HF_EXTERN(int) hf_hub_models(char **json_out, hf_client *c, const char *provider, hf_error *err);
HF_EXTERN(int) hf_hub_providers(char **json_out, hf_client *c, const char *model, hf_error *err);
HF_EXTERN(int) hf_hub_model_detail(char **json_out, hf_client *c, const char *model,
                                   const char *provider, hf_error *err);

/* ------------------------------------------------------------------ */
/* Sessions and stores                                                 */
/* ------------------------------------------------------------------ */

typedef struct hf_session hf_session;
typedef struct hf_store hf_store;

#define HF_SESSION_ID_MAX 128

/* Check a session id: 1..128 characters from [A-Za-z0-9._:-], not starting
 * with '.' or '-'. HF_EINVAL names the offending character. */
HF_EXTERN(int) hf_session_id_check(const char *id, hf_error *err);

/* A new, empty session with `id` (NULL: a fresh random id). */
HF_EXTERN(int) hf_session_new(hf_session **out, const char *id, hf_error *err);
HF_EXTERN(void) hf_session_free(hf_session *s);

HF_EXTERN(const char *) hf_session_id(const hf_session *s);
/* The agent holding the conversation; NULL before the first turn. */
HF_EXTERN(const char *) hf_session_agent(const hf_session *s);
/* Move the conversation to `agent` (no model call). Borrowed name copied. */
HF_EXTERN(int) hf_session_set_agent(hf_session *s, const char *agent, hf_error *err);
HF_EXTERN(hf_usage) hf_session_usage(const hf_session *s);
HF_EXTERN(size_t) hf_session_message_count(const hf_session *s);
/* Message i in chat-completions wire format (JSON object text); borrowed,
 * valid until the session changes. NULL when out of range. */
HF_EXTERN(const char *) hf_session_message_json(const hf_session *s, size_t i);
/* Append one message to the history in memory (not to any store): a
 * chat-completions message object as JSON text, for a conversation kept
 * elsewhere (a stateless server given the history in each request, an
 * import). Roles user, assistant (text and/or tool_calls), tool, system.
 * The next turn sends it like any other history. HF_EPROTOCOL names what
 * is wrong with the message (not an object, unknown role, a missing
 * field); HF_EINVAL (not UTF-8), HF_ENOMEM. */
HF_EXTERN(int) hf_session_add_message(hf_session *s, const char *json, hf_error *err);

/* The parts of one stored message, without parsing its JSON yourself.
 * Strings are borrowed from the session and valid until it changes. */
typedef struct hf_message {
	const char *role;         /* "user", "assistant" or "tool" */
	const char *content;      /* NULL for an assistant message that only calls tools */
	const char *tool_call_id; /* tool messages: the call answered; else NULL */
	size_t tool_calls;        /* assistant messages: how many tool calls */
} hf_message;

/* Fill *out with message i of s. HF_EINVAL when i is out of range,
 * HF_ENOMEM. The first read of a message parses and keeps its JSON in the
 * session, so reading is not safe from two threads at once (a session is
 * used by one thread at a time). */
HF_EXTERN(int) hf_session_message(hf_message *out, const hf_session *s, size_t i,
                                  hf_error *err);
/* Tool call j of assistant message i: its id, function name and
 * arguments (a JSON text), each borrowed like hf_message's strings (any
 * of the out-pointers may be NULL). HF_EINVAL when i or j is out of range. */
HF_EXTERN(int) hf_session_message_tool_call(const char **id, const char **name,
                                            const char **arguments, const hf_session *s,
                                            size_t i, size_t j, hf_error *err);

/* Message text came from users and endpoints: before printing it on a
 * terminal, escape it. *out is an owned copy of `text` (hf_free) in which
 * each control character (Unicode Cc, and the bidi overrides and isolates
 * U+202A-U+202E, U+2066-U+2069), other than those listed in `keep` (for
 * example "\n\t"; NULL keeps none), and each byte that is not UTF-8 is
 * written as an escape (\x1B, \u202E). HF_ENOMEM. */
HF_EXTERN(int) hf_text_escape(char **out, const char *text, const char *keep, hf_error *err);
/* The columns a terminal uses to show UTF-8 `text` (a wide CJK character
 * counts 2, a combining mark 0, a byte that is not UTF-8 1), for aligning
 * tables of agent names and messages. */
HF_EXTERN(size_t) hf_text_width(const char *text);

/* Open (creating if needed) the SQLite store at `path` (NULL: the default,
 * see hf_store_default_path). WAL mode, busy timeout; safe to share between
 * processes. The store must be writable: a read-only file or directory is
 * refused here, before any turn pays for a model call. A database that
 * holds other tables than handoff's is refused without being changed.
 * HF_ESTORE on failure, naming the path. */
HF_EXTERN(int) hf_store_open_sqlite(hf_store **out, const char *path, hf_error *err);
/* Open an existing SQLite store for reading only (listing, loading): the
 * file is never written, its journal mode never changed and no schema
 * created. Writing calls on it fail with HF_ESTORE. HF_ENOTFOUND when
 * the file does not exist; HF_ESTORE when it is not a handoff session
 * database (an empty file included). */
HF_EXTERN(int) hf_store_open_sqlite_readonly(hf_store **out, const char *path, hf_error *err);
/* The default SQLite store path, owned (hf_free): $HANDOFF_DB, else
 * $XDG_STATE_HOME/handoff/sessions.db, else
 * $HOME/.local/state/handoff/sessions.db. HF_ESTORE when none is set. */
HF_EXTERN(int) hf_store_default_path(char **path_out, hf_error *err);
HF_EXTERN(void) hf_store_free(hf_store *st);

/* Load session `id`. HF_ENOTFOUND when the store has no such session. */
HF_EXTERN(int) hf_store_load(hf_session **out, hf_store *st, const char *id, hf_error *err);
/* Load or start: the stored session `id` when the store has it, else a new
 * empty session with that id (stored by its first turn). This is the call
 * for a conversation that may have been stored by an earlier run; a
 * session made with hf_session_new for an id the store already holds
 * fails its first turn with HF_ECONFLICT. Errors: HF_EINVAL (id),
 * HF_ESTORE, HF_EPROTOCOL (damaged stored data), HF_ENOMEM. */
HF_EXTERN(int) hf_store_open_session(hf_session **out, hf_store *st, const char *id,
                                     hf_error *err);
/* Record `agent` as the holder of session `id` without a turn (as the
 * chat's /agent does), so the next run starts there under sticky routing;
 * a session not stored yet is created empty. Pair it with
 * hf_session_set_agent on the session in memory. HF_EINVAL (id, empty
 * agent), HF_ESTORE. */
HF_EXTERN(int) hf_store_set_agent(hf_store *st, const char *id, const char *agent,
                                  hf_error *err);
/* Delete session `id`. HF_ENOTFOUND when absent. */
HF_EXTERN(int) hf_store_delete(hf_store *st, const char *id, hf_error *err);
/* The id of the most recently used session, owned (hf_free).
 * HF_ENOTFOUND when the store is empty. */
HF_EXTERN(int) hf_store_latest(char **id_out, hf_store *st, hf_error *err);

/* One row of hf_store_list; borrowed for the duration of the callback. */
typedef struct hf_session_info {
	const char *id;
	const char *agent;
	size_t messages;
	int64_t created_at; /* unix seconds */
	int64_t updated_at;
	hf_usage usage;
} hf_session_info;

/* Call fn for each stored session, most recently used first (at most
 * `limit`, 0 = all). A non-zero return from fn stops the listing. */
HF_EXTERN(int) hf_store_list(hf_store *st, size_t limit,
                             int (*fn)(const hf_session_info *info, void *payload),
                             void *payload, hf_error *err);

/* ------------------------------------------------------------------ */
/* Tools: C callbacks and MCP servers (docs/tools.md)                  */
/* ------------------------------------------------------------------ */

/*
 * An agent's `tools:` (YAML) names function tools the model may call
 * besides its handoffs: `SERVER.TOOL` or `SERVER.*` for tools of an MCP
 * server declared under the graph file's `mcp_servers:`, and a bare NAME
 * for a C callback the application registers here. A tool set binds them
 * for one loaded graph: it owns the MCP server processes and connections
 * (one per server, shared by every conversation and thread using the set)
 * and the registered callbacks. Give it to turns through
 * hf_run_options.tools.
 *
 * Within a turn (the Agents SDK's loop): the function-tool calls of one
 * reply run (MCP calls concurrently, callbacks one after the other on the
 * thread driving the turn), their results go back as `tool` messages in
 * call order, and the same agent is called again - unless the reply also
 * handed off (tools first, then the first handoff) or the agent's
 * tool_use says to stop. A tool's failure is given to the model as the
 * tool's text unless the graph says `tool_errors: fail`. A turn that fails
 * later may already have run tools: their effects are not undone.
 */
typedef struct hf_tools hf_tools;
typedef struct hf_tool_call hf_tool_call;

/* A callback's answer: it completes later through hf_tool_call_complete. */
#define HF_TOOL_PENDING 1

/* A C tool. `arguments` is the JSON object text the model sent (checked to
 * be a JSON object; not checked against the schema). The callback either
 *  - returns HF_OK after giving its result with hf_tool_call_set_output
 *    (no output: an empty string);
 *  - returns a negative hf_code after hf_tool_call_set_output with the
 *    error text (none: a generic text naming the tool); the model is told
 *    "An error occurred while running the tool. Please try again. Error:
 *    <text>" as the Agents SDK does, or the turn fails under
 *    `tool_errors: fail`;
 *  - or returns HF_TOOL_PENDING and later calls hf_tool_call_complete,
 *    from any thread, exactly once.
 * It runs on the thread driving the turn: hf_run's caller, or the engine's
 * driving thread (where it must not block: return pending instead). */
typedef int (*hf_tool_fn)(hf_tool_call *call, const char *arguments, void *payload);

#define HF_TOOL_DEF_VERSION 1

typedef struct hf_tool_def {
	unsigned version;
	const char *name;        /* ^[A-Za-z0-9_-]{1,64}$ */
	const char *description; /* shown to the model; may be NULL */
	/* JSON Schema of the arguments object, as text; NULL: no arguments.
	 * Checked for the strict mode of function calling: "type": "object",
	 * "additionalProperties": false, every property listed in "required"
	 * (also in nested objects). */
	const char *parameters;
	int strict;              /* non-zero: send "strict": true (schema checked
	                          * either way) */
	hf_tool_fn fn;
	void *payload;
	/* Optional: the turn that made `call` was cancelled while the call was
	 * pending (any thread may call it; the call must still be completed). */
	void (*on_cancel)(hf_tool_call *call, void *payload);
} hf_tool_def;

#define HF_TOOL_DEF_INIT { HF_TOOL_DEF_VERSION, NULL, NULL, NULL, 1, NULL, NULL, NULL }

#define HF_TOOLS_OPTIONS_VERSION 1

typedef struct hf_tools_options {
	unsigned version;
	int max_concurrency;     /* MCP calls of one reply running at once; 0: 8 */
	long start_timeout_ms;   /* starting, initialising and listing one server; 0: 30 s */
	/* Values for ${NAME} in mcp_servers' env and headers; NULL: getenv. */
	const char *(*lookup_env)(const char *name, void *payload);
	void *lookup_payload;
} hf_tools_options;

#define HF_TOOLS_OPTIONS_INIT { HF_TOOLS_OPTIONS_VERSION, 0, 0, NULL, NULL }

/* A tool set for `graph` (borrowed; must outlive the set). No server is
 * started yet. opts may be NULL. HF_EINVAL, HF_ENOMEM. */
HF_EXTERN(int) hf_tools_new(hf_tools **out, const hf_graph *graph,
                            const hf_tools_options *opts, hf_error *err);

/* Register a C tool (def and its strings are copied). Before hf_tools_start
 * only. HF_EINVAL names the problem: a bad name, a name taken by another
 * callback, a schema that is not strict (saying which property). */
HF_EXTERN(int) hf_tools_add(hf_tools *ts, const hf_tool_def *def, hf_error *err);

/* Start every MCP server the graph declares (in parallel), initialise and
 * list their tools, then bind each agent's `tools:` to what exists. Every
 * problem (a server that fails to start, a tool no server lists, a bare
 * name nobody registered, a tool whose name collides with a handoff tool
 * or another tool of the agent) is put in *diags (may be NULL) with the
 * file:line:col of the YAML that named it. HF_ECONFIG when any was an
 * error (err: the first, with a count); HF_ENET / HF_EPROTOCOL for a
 * server that could not be reached or spoke no MCP. A set that failed to
 * start can only be freed. */
HF_EXTERN(int) hf_tools_start(hf_tools *ts, hf_diag **diags, hf_error *err);

/* Stop the servers (stdio: close stdin, wait, SIGTERM, SIGKILL; HTTP:
 * DELETE the session) and free the set. No turn may be using it. NULL-safe. */
HF_EXTERN(void) hf_tools_free(hf_tools *ts);

/* One tool offered to an agent; borrowed for the duration of the callback. */
typedef struct hf_tool_info {
	const char *name;        /* the function name the model sees */
	const char *origin;      /* the MCP server's name, NULL for a C callback */
	const char *description; /* may be NULL */
	const char *parameters;  /* JSON Schema text */
} hf_tool_info;

/* Call fn for each function tool agent `a` is offered, in the order the
 * model sees them (after hf_tools_start). A non-zero return stops. */
HF_EXTERN(int) hf_tools_list(const hf_tools *ts, const hf_agent *a,
                             int (*fn)(const hf_tool_info *info, void *payload),
                             void *payload, hf_error *err);

/* About a call, for the callback (borrowed; valid until it completes). */
HF_EXTERN(const char *) hf_tool_call_name(const hf_tool_call *call);
HF_EXTERN(const char *) hf_tool_call_id(const hf_tool_call *call);
HF_EXTERN(const char *) hf_tool_call_agent(const hf_tool_call *call);
HF_EXTERN(const char *) hf_tool_call_session(const hf_tool_call *call);
/* The run options' payload of the turn that made the call. */
HF_EXTERN(void *) hf_tool_call_turn_payload(const hf_tool_call *call);
/* Non-zero once the turn was cancelled: the result will be dropped. */
HF_EXTERN(int) hf_tool_call_cancelled(const hf_tool_call *call);

/* Set the text given to the model (copied; must be UTF-8; replaces an
 * earlier one). Inside the callback only. HF_EINVAL (not UTF-8), HF_ENOMEM. */
HF_EXTERN(int) hf_tool_call_set_output(hf_tool_call *call, const char *text);

/* Complete a call whose callback returned HF_TOOL_PENDING: code HF_OK with
 * the result text, or a negative hf_code with the error text (text may be
 * NULL). Any thread, exactly once; the call handle is invalid afterwards.
 * After the turn was cancelled it only releases the handle. */
HF_EXTERN(void) hf_tool_call_complete(hf_tool_call *call, int code, const char *text);

/* ------------------------------------------------------------------ */
/* Running a turn                                                      */
/* ------------------------------------------------------------------ */

/* What to do when the model calls a tool the agent did not offer. */
typedef enum hf_tool_not_found {
	HF_TOOL_NOT_FOUND_ERROR = 0,    /* fail the turn with HF_ETOOL */
	HF_TOOL_NOT_FOUND_TELL_MODEL = 1 /* answer the call with an error text and go on */
} hf_tool_not_found;

#define HF_RUN_OPTIONS_VERSION 2 /* 1 is still accepted (no tools) */

typedef struct hf_run_options {
	unsigned version;
	int stream;            /* non-zero: stream replies (text deltas as events) */
	hf_event_fn on_event;  /* may be NULL */
	void *payload;
	int routing;           /* -1: the graph's policy, else an hf_routing */
	int max_turns;         /* 0: the graph's max_turns */
	int tool_not_found;    /* an hf_tool_not_found */
	size_t max_input_bytes;   /* 0: default 64 KiB */
	size_t max_history_messages; /* 0: no limit; see docs/hardening.md "History truncation" */
	const volatile int *cancel;  /* when set and *cancel becomes non-zero the turn
	                                stops with HF_ECANCELLED; may be set from a
	                                signal handler or another thread */
	hf_tools *tools;             /* (version 2) started tool set for the graph's
	                                function tools; NULL: agents that name tools
	                                fail their turn with HF_ECONFIG */
} hf_run_options;

#define HF_RUN_OPTIONS_INIT { HF_RUN_OPTIONS_VERSION, 1, NULL, NULL, -1, 0, 0, 0, 0, NULL, NULL }

/* Run one user turn of `input` in `session` on `graph`, blocking until an
 * agent answers. Input must be UTF-8 (it is NFC-normalised). When `store` is
 * not NULL the finished turn is committed to it in one transaction; on any
 * failure neither the store nor `session` changes. *answer (may be NULL)
 * receives the owned final text.
 * Errors: HF_EINVAL (input), HF_EAUTH, HF_ENET, HF_EHTTP, HF_EPROTOCOL,
 * HF_EMAXTURNS, HF_ELOOP, HF_ETOOL, HF_ETOOLFAIL (a tool failed under
 * `tool_errors: fail`), HF_ESTORE, HF_ECONFLICT, HF_ECANCELLED,
 * HF_EREFUSAL (a model refused), HF_ELIMIT (a model stopped at its token
 * limit without answering, or a size limit). */
HF_EXTERN(int) hf_run(char **answer, hf_client *c, const hf_graph *graph,
                      hf_session *session, hf_store *store, const char *input,
                      const hf_run_options *opts, hf_error *err);

/* ------------------------------------------------------------------ */
/* Engine: many conversations' turns in flight on one thread           */
/* ------------------------------------------------------------------ */

/*
 * An engine runs turns like hf_run does, but many at once on one thread,
 * with the libcurl multi interface: one connection pool for all of them
 * (connections to the endpoint are reused across conversations), no thread
 * per conversation. The application drives it, in one of two ways:
 *
 *  - simple loop: call hf_engine_perform() repeatedly; it waits for
 *    network activity (at most timeout_ms) and moves every turn on;
 *  - its own event loop (epoll, libuv, libevent...): set socket_fn and
 *    timer_fn in the options; the engine says which descriptors to watch
 *    and when to time out, and the loop calls hf_engine_socket_action() /
 *    hf_engine_timeout_action() when one is ready or the timer expires.
 *
 * Threads: the engine is driven by one thread at a time (the "driving
 * thread"), and every callback (events, completions, socket_fn, timer_fn)
 * runs on it. hf_engine_submit, hf_engine_cancel and hf_engine_wakeup may
 * be called from any thread, at any time between hf_engine_new and
 * hf_engine_free, including from callbacks. A graph may be shared by any
 * number of turns; a session belongs to its turn until the turn completes.
 * In on_complete it is the caller's again, and submitting the session's
 * next turn from there is allowed: that is how a conversation runs several
 * turns through the engine (examples/engine_multi_turn.c).
 * A store may serve many turns at once (the SQLite store commits each turn
 * in its own transaction on the driving thread).
 *
 * Each submitted turn reports the same events as hf_run through its run
 * options' on_event (AGENT, TEXT_DELTA, HANDOFF, USAGE, MESSAGE, then DONE
 * or ERROR), then completes exactly once through the engine's on_complete:
 * with HF_OK, an error, or HF_ECANCELLED (hf_engine_cancel, hf_engine_free).
 * A turn that ends before it started (cancelled while waiting to start, or
 * input refused) reports no events, only its completion.
 */
typedef struct hf_engine hf_engine;

/* Socket interest (socket_fn `what`) and readiness (hf_engine_socket_action
 * `events`). */
#define HF_POLL_IN 0x1     /* readable */
#define HF_POLL_OUT 0x2    /* writable */
#define HF_POLL_REMOVE 0x4 /* socket_fn only: stop watching this descriptor */
#define HF_POLL_ERR 0x8    /* socket_action only: error or hang-up on it */

/* Watch `fd` for `what` (HF_POLL_IN and/or HF_POLL_OUT, replacing what was
 * asked before) or stop watching it (HF_POLL_REMOVE). HF_POLL_REMOVE comes
 * only for a descriptor asked for before and while it is still open, so
 * `epoll_ctl(EPOLL_CTL_DEL)` on it succeeds. Return 0, or -1 to fail the
 * transfers using fd. */
typedef int (*hf_engine_socket_fn)(int fd, int what, void *payload);

/* Call hf_engine_timeout_action once, `timeout_ms` from now (0: as soon as
 * possible, from the loop, not from inside this callback); -1: cancel the
 * timer. Each call replaces the previous timer. Return 0. */
typedef int (*hf_engine_timer_fn)(long timeout_ms, void *payload);

/* How one submitted turn ended. All pointers are borrowed for the duration
 * of the on_complete callback. */
typedef struct hf_completion {
	uint64_t turn_id;       /* as returned by hf_engine_submit */
	int code;               /* HF_OK or a negative hf_code (HF_ECANCELLED, ...) */
	const char *answer;     /* the final text (HF_OK), else NULL */
	const char *agent;      /* the agent that answered, or was in charge when
	                           the turn failed; NULL when it never started */
	const char *session_id;
	hf_usage usage;         /* model calls of this turn (HF_OK) */
	const hf_error *error;  /* NULL on HF_OK */
	void *payload;          /* the turn's hf_run_options.payload */
} hf_completion;

typedef void (*hf_engine_complete_fn)(const hf_completion *c, void *payload);

#define HF_ENGINE_OPTIONS_VERSION 1

typedef struct hf_engine_options {
	unsigned version;
	/* The endpoint, resolved once by hf_engine_new as hf_client_new does:
	 * client (may be NULL) > environment > graph's file (may be NULL). */
	const hf_client_options *client;
	const hf_graph *graph;
	long max_connections;        /* open at once in all; 0: no limit */
	long max_host_connections;   /* open at once to one host; 0: no limit */
	/* Model calls in flight at once; more wait, in order, for a free slot
	 * (holding no connection or transfer state). 0: no limit. With HTTP/1.1
	 * each call in flight needs its own connection: a limit of a few
	 * thousand keeps tens of thousands of conversations cheap. */
	long max_requests;
	/* Called once per submitted turn when it ends; may be NULL. */
	hf_engine_complete_fn on_complete;
	void *payload;               /* for on_complete */
	/* Both set: the application's event loop drives the engine. */
	hf_engine_socket_fn socket_fn;
	hf_engine_timer_fn timer_fn;
	void *loop_payload;          /* for socket_fn and timer_fn */
} hf_engine_options;

#define HF_ENGINE_OPTIONS_INIT \
	{ HF_ENGINE_OPTIONS_VERSION, NULL, NULL, 0, 0, 0, NULL, NULL, NULL, NULL, NULL }

/* Create an engine. opts is copied (the client options' strings too); the
 * graph in opts is only read here. With socket_fn and timer_fn set,
 * socket_fn is called from here for the engine's wake-up descriptor.
 * Errors: HF_EINVAL (bad options version, only one of socket_fn and
 * timer_fn), HF_ECONFIG (no base URL; see hf_client_new), HF_ENOMEM,
 * HF_ENET (libcurl or the wake-up pipe could not be set up). */
HF_EXTERN(int) hf_engine_new(hf_engine **out, const hf_engine_options *opts, hf_error *err);

/* Cancel every turn not completed yet and free the engine. Each of those
 * turns completes (on_complete, HF_ECANCELLED) from inside this call, and
 * socket_fn may be called to remove descriptors, so the application's loop
 * must still be usable. A turn submitted from those callbacks is refused
 * (HF_EINVAL). Call it on the driving thread, not from a callback, and not
 * while another thread may still submit. NULL-safe. */
HF_EXTERN(void) hf_engine_free(hf_engine *e);

/* Queue one user turn of `input` in `session` on `graph` (see hf_run for
 * the rules). Any thread. The driving thread starts it at its next step,
 * or, with max_requests reached, when a slot frees (in submission order).
 * graph, session and store (may be NULL: not stored) are borrowed and must
 * stay valid until the turn completes; the session must not be used
 * elsewhere until then (its own on_complete may submit its next turn).
 * input and opts (NULL: defaults) are copied; the opts payload is handed
 * to on_event and back in hf_completion. *turn_id (may be NULL) receives
 * the turn's id (> 0, unique in this engine). Errors here: HF_EINVAL (a
 * missing argument, bad options version, the engine is being freed),
 * HF_ENOMEM; problems with the input itself (UTF-8, size) and everything
 * after are reported through the completion. */
HF_EXTERN(int) hf_engine_submit(uint64_t *turn_id, hf_engine *e, const hf_graph *graph,
                                hf_session *session, hf_store *store, const char *input,
                                const hf_run_options *opts, hf_error *err);

/* Ask for turn `turn_id` to stop: it completes with HF_ECANCELLED at the
 * engine's next step, and its session and store stay as they were. Any
 * thread. A turn that already completed is left alone (returns HF_OK).
 * Errors: HF_EINVAL (an id this engine never issued), HF_ENOMEM. */
HF_EXTERN(int) hf_engine_cancel(hf_engine *e, uint64_t turn_id, hf_error *err);

/* Make the driving thread's current or next wait return early: a poll in
 * hf_engine_perform, or (loop mode) readiness of the wake-up descriptor.
 * Any thread. Submissions and cancels call it themselves. */
HF_EXTERN(void) hf_engine_wakeup(hf_engine *e);

/* Simple loop: one step. Starts queued turns, waits at most timeout_ms
 * (>= 0) for network activity, a due retry or a wake-up, then moves every
 * ready transfer on and runs the callbacks. Returns the number of turns
 * still in the engine (queued or in flight; 0 = idle), counted after the
 * callbacks ran, so turns submitted from them (a conversation's next turn
 * from on_complete) are included; or a negative hf_code: HF_EINVAL (loop
 * mode, negative timeout), HF_ENOMEM, HF_ENET (libcurl failed). Typical
 * use, which ends only when no turn is left:
 *     while (hf_engine_perform(e, 1000, &err) > 0) {}
 */
HF_EXTERN(int) hf_engine_perform(hf_engine *e, int timeout_ms, hf_error *err);

/* Simple loop until no turn is left (turns submitted meanwhile included).
 * Errors as hf_engine_perform. */
HF_EXTERN(int) hf_engine_run_until_idle(hf_engine *e, hf_error *err);

/* Loop mode: descriptor fd (given to socket_fn) is ready for `events`
 * (HF_POLL_IN / HF_POLL_OUT / HF_POLL_ERR bits). Returns as
 * hf_engine_perform (turns submitted from its callbacks included), without
 * waiting. */
HF_EXTERN(int) hf_engine_socket_action(hf_engine *e, int fd, int events, hf_error *err);

/* Loop mode: the timer set through timer_fn expired. Returns as
 * hf_engine_perform, without waiting. */
HF_EXTERN(int) hf_engine_timeout_action(hf_engine *e, hf_error *err);

#ifdef __cplusplus
}
#endif

#endif /* HANDOFF_H */

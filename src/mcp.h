/*
 * mcp.h - the MCP (Model Context Protocol) client: the servers of one tool
 * set, reached over stdio (a child process, newline-delimited JSON-RPC 2.0)
 * or Streamable HTTP (POST per message; JSON or SSE answers).
 *
 * One I/O thread per host ("mcp-host") owns every server connection: the
 * child's pipes, a curl multi for the HTTP servers, a wake-up pipe. Calls
 * come from any thread; their completions run on the host thread, so the
 * caller's done function must only hand the result over (a queue and a
 * wake-up), never block.
 *
 *   hf_mcp_host_new ─► hf_mcp_host_start (blocks: spawn/connect, initialize,
 *   tools/list on every server in parallel) ─► hf_mcp_host_call* ─►
 *   hf_mcp_host_free (shutdown: close stdin, wait, SIGTERM, SIGKILL; DELETE)
 *
 * Files: mcp_rpc.c (JSON-RPC messages, content blocks to text), mcp_stdio.c,
 * mcp_http.c, mcp_host.c (the thread, its poll loop, restarts).
 */
#ifndef HF_MCP_H
#define HF_MCP_H

#include "graph.h"

typedef struct hf_mcp_host hf_mcp_host;

/* One tool a server lists. */
typedef struct hf_mcp_tool {
	char *name;
	char *description;   /* NULL when none */
	char *input_schema;  /* JSON text of inputSchema ({"type":"object"} if absent) */
} hf_mcp_tool;

/* A server's tools at one moment: immutable, reference-counted (a
 * notifications/tools/list_changed re-list publishes a new one). */
typedef struct hf_mcp_tools {
	hf_mcp_tool *tools;
	size_t n;
	unsigned long generation; /* grows with each re-list */
	int _Atomic refs;
} hf_mcp_tools;

void hf_mcp_tools_release(hf_mcp_tools *t);

/* The outcome of one tools/call. `text` (owned by the host; valid during
 * the done callback only) is what the model is given: text blocks joined
 * with "\n", other blocks described ("[image: image/png, 1234 bytes]",
 * "[resource: URI]" with its text when embedded), structuredContent as
 * JSON text when no text block came. code: HF_OK (is_error false: a
 * result; true: the server's isError result, or its JSON-RPC error answer
 * such as "error -32602: Unknown tool"), or a failure with err
 * naming server and tool: HF_ENET (the server died or could not be
 * reached), HF_ELIMIT (a reply over the limit), HF_EPROTOCOL (not MCP),
 * HF_ECANCELLED (hf_mcp_host_cancel), HF_ENET with "timed out" (timeout). */
typedef struct hf_mcp_result {
	int code;
	bool is_error;
	const char *text;
	const hf_error *err; /* when code != HF_OK */
} hf_mcp_result;

/* Runs on the host thread; must not call back into the host except
 * hf_mcp_host_call / hf_mcp_host_cancel. */
typedef void (*hf_mcp_done_fn)(const hf_mcp_result *r, void *payload);

typedef struct hf_mcp_host_options {
	long start_timeout_ms;   /* per server: spawn/connect + initialize + list */
	size_t max_message;      /* largest line / response accepted; 0: 4 MiB */
	/* Expand ${NAME} in env and headers values; NULL: getenv. */
	const char *(*lookup_env)(const char *name, void *payload);
	void *lookup_payload;
	const char *base_dir;    /* default working directory of stdio servers */
} hf_mcp_host_options;

/* A host for the n servers (borrowed; must outlive the host). Starts the
 * thread; no server is contacted yet. HF_ENOMEM, HF_ENET (thread/pipe). */
int hf_mcp_host_new(hf_mcp_host **out, const hf_mcp_server_conf *servers, size_t n,
                    const hf_mcp_host_options *opts, hf_error *err);

/* Start every server and list its tools; blocks until all are up or
 * failed. A server that failed is reported in diags (by its declaration's
 * file:line:col) and its calls fail with HF_ENET; returns the first
 * failure's code (err names the server and the cause: "server 'files':
 * npx exited with status 1: <its last stderr line>") or HF_OK. */
int hf_mcp_host_start(hf_mcp_host *h, hf_diag *diags, hf_error *err);

/* The current tool list of server i (a new reference; release it), NULL
 * when the server is not up. Any thread. */
hf_mcp_tools *hf_mcp_host_tools(hf_mcp_host *h, size_t server);

/* Call tool `name` of server i with `arguments` (a JSON object text).
 * Any thread. done runs exactly once, on the host thread (never inside
 * this call). timeout_ms 0: the server's timeout. *call_id (may be NULL)
 * receives an id for hf_mcp_host_cancel. Errors here (done not called):
 * HF_EINVAL, HF_ENOMEM. */
int hf_mcp_host_call(hf_mcp_host *h, size_t server, const char *name, const char *arguments,
                     long timeout_ms, hf_mcp_done_fn done, void *payload, uint64_t *call_id,
                     hf_error *err);

/* Cancel a call in progress: notifications/cancelled goes to the server
 * and done runs with HF_ECANCELLED (unless it already ran). Any thread. */
void hf_mcp_host_cancel(hf_mcp_host *h, uint64_t call_id);

/* Shut every server down and join the thread; calls still in progress
 * complete with HF_ECANCELLED first. NULL-safe. */
void hf_mcp_host_free(hf_mcp_host *h);

#endif

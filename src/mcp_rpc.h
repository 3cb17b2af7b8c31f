/*
 * mcp_rpc.h - MCP's JSON-RPC 2.0 messages (mcp_rpc.c): building the
 * client's requests and notifications, classifying what a server sends,
 * and reading the results the client needs (initialize, tools/list,
 * tools/call content to text). Pure functions: no I/O, no state; the
 * transports and the host (mcp_host.c) use them, the fuzz target too.
 */
#ifndef HF_MCP_RPC_H
#define HF_MCP_RPC_H

#include "mcp.h"

#include <cjson/cJSON.h>
#include <stdint.h>

/* The protocol version the client offers in initialize. */
#define HF_MCP_PROTOCOL_VERSION "2025-11-25"

/* ---- building (each returns an owned compact JSON text without a
 * newline, or NULL when out of memory) ---- */

char *hf_mcp_rpc_initialize(uint64_t id);
char *hf_mcp_rpc_initialized(void);
/* tools/list; cursor NULL for the first page. */
char *hf_mcp_rpc_tools_list(uint64_t id, const char *cursor);
/* tools/call of `name` with `arguments` (a JSON object text; NULL or ""
 * means {}). HF_EINVAL when arguments is not a JSON object, HF_ENOMEM. */
int hf_mcp_rpc_tools_call(char **out, uint64_t id, const char *name, const char *arguments,
                          hf_error *err);
/* notifications/cancelled for request `id`. */
char *hf_mcp_rpc_cancelled(uint64_t id, const char *reason);
/* The answer to a server's request `id` (copied): an empty result (ping),
 * or when `error` is set a JSON-RPC error -32601 with that message. */
char *hf_mcp_rpc_reply(const cJSON *id, const char *error);

/* ---- reading ---- */

typedef enum hf_mcp_msg_kind {
	HF_MCP_MSG_RESPONSE,     /* an answer to one of our requests */
	HF_MCP_MSG_REQUEST,      /* the server asks something (ping, ...) */
	HF_MCP_MSG_NOTIFICATION  /* the server tells something */
} hf_mcp_msg_kind;

/* One message a server sent; owns `root`, the others point into it. */
typedef struct hf_mcp_msg {
	cJSON *root;
	hf_mcp_msg_kind kind;
	bool has_id;             /* RESPONSE: id is one of ours (an integer >= 0) */
	uint64_t id;
	const cJSON *raw_id;     /* REQUEST: the id to answer with */
	const char *method;      /* REQUEST, NOTIFICATION */
	const cJSON *params;     /* REQUEST, NOTIFICATION: may be NULL */
	const cJSON *result;     /* RESPONSE: NULL when error is set */
	const cJSON *error;      /* RESPONSE: the JSON-RPC error object */
} hf_mcp_msg;

/* Parse one message (len bytes, not NUL-terminated necessarily).
 * HF_EPROTOCOL with a short reason when it is not JSON or not a JSON-RPC
 * message (a response with neither result nor error, or whose result is
 * not an object, counts as a response: the caller fails that request via
 * hf_mcp_rpc_check). HF_ENOMEM. */
int hf_mcp_rpc_parse(hf_mcp_msg *m, const char *text, size_t len, hf_error *err);
void hf_mcp_msg_dispose(hf_mcp_msg *m);

/* A response's outcome: HF_OK when it carries a result object; else
 * HF_EPROTOCOL with the server's error message and code ("error -32602:
 * Unknown tool") or what is wrong with the answer. */
int hf_mcp_rpc_check(const hf_mcp_msg *m, hf_error *err);

/* The initialize result: HF_OK when the server's protocolVersion is one the
 * client speaks (*version points into result), else HF_EPROTOCOL naming
 * the version. */
int hf_mcp_rpc_init_result(const cJSON *result, const char **version, hf_error *err);

/* Append the tools of one tools/list page to *tools (n entries, cap
 * room); *cursor receives the owned nextCursor or NULL. Tools without a
 * string name are an HF_EPROTOCOL error. HF_ENOMEM. */
int hf_mcp_rpc_tools_page(const cJSON *result, hf_mcp_tool **tools, size_t *n, size_t *cap,
                          char **cursor, hf_error *err);
void hf_mcp_tool_list_free(hf_mcp_tool *tools, size_t n);

/* A tools/call result as the model's text (see hf_mcp_result in mcp.h):
 * *text owned. HF_EPROTOCOL when content is not an array of blocks,
 * HF_ENOMEM. */
int hf_mcp_rpc_call_text(const cJSON *result, char **text, bool *is_error, hf_error *err);

/* A new snapshot holding tools (taken over) with one reference. NULL when
 * out of memory (then tools are freed). */
hf_mcp_tools *hf_mcp_tools_new(hf_mcp_tool *tools, size_t n, unsigned long generation);
/* Another reference. */
hf_mcp_tools *hf_mcp_tools_ref(hf_mcp_tools *t);

#endif

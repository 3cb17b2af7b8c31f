/*
 * tools.h - function tools inside the library: a tool set (tools.c) binds
 * each agent's `tools:` to C callbacks and MCP servers' tools, renders the
 * tools array of its requests, and runs calls. The turn (turn.c) drives
 * the calls of one reply; a sink carries completions back to the thread
 * driving the turn.
 */
#ifndef HF_TOOLS_H
#define HF_TOOLS_H

#include "chat.h"

typedef struct hf_tool_sink hf_tool_sink;

/* Where completed calls go: the driver's queue. post runs on any thread
 * (the MCP host's, an application's) and must only queue the call and
 * wake the driver. */
struct hf_tool_sink {
	void (*post)(hf_tool_sink *sink, hf_tool_call *call);
};

/* The request parts of agent `a` with its function tools bound by `ts`
 * (handoff tools after the function tools, as the Agents SDK sends them),
 * for hf_chat_body_join. *out stays valid until hf_tools_wire_release.
 * An agent without `tools:` gets its own cached parts (no allocation). A
 * server's re-list (tools/list_changed) is picked up here: the agent's
 * binding is rebuilt when a server's tool list changed generation.
 * Errors: HF_ECONFIG (ts not started, or not for this graph), HF_ENOMEM. */
int hf_tools_wire(const hf_agent_wire **out, hf_tools *ts, const hf_agent *a, hf_error *err);
void hf_tools_wire_release(hf_tools *ts, const hf_agent_wire *w);

/* Begin one call of function tool `c` requested by agent `a`. On HF_OK
 * *out is a new call; when it finished synchronously (a callback that did
 * not go pending, a tool that does not exist for this agent) its result
 * is already in and *done is true, else it will be posted to `sink` once.
 * turn_payload and session are kept for the callback. The caller owns the
 * call (hf_tool_call_release). HF_ENOMEM. */
int hf_tools_call(hf_tool_call **out, bool *done, hf_tools *ts, const hf_agent *a,
                  const hf_reply_call *c, const char *session, void *turn_payload,
                  hf_tool_sink *sink, hf_error *err);

/* A finished call's result: code HF_OK or a failure; text is what the
 * model is told (already the SDK's error wording for a failure); origin
 * the MCP server or NULL. Borrowed from the call. */
int hf_tool_call_result(const hf_tool_call *call, const char **text, bool *is_error,
                        const char **origin);

/* Cancel a call not finished yet: it will never be posted; its resources
 * go when it ends on its own (MCP: cancelled at once; C: on_cancel, then
 * the application's hf_tool_call_complete). */
void hf_tool_call_cancel(hf_tool_call *call);

/* Release the caller's reference. */
void hf_tool_call_release(hf_tool_call *call);

/* The index of the call in its reply, as set by the turn. */
void hf_tool_call_set_index(hf_tool_call *call, size_t index);
size_t hf_tool_call_index(const hf_tool_call *call);

/* For drivers' queues: the sink the call posts to, and a link the sink
 * may use between post and delivery (one queue at a time). */
hf_tool_sink *hf_tool_call_sink(const hf_tool_call *call);
hf_tool_call **hf_tool_call_link(hf_tool_call *call);

/* Whether `name` is a function tool offered to agent `a` now (ts may be
 * NULL: none is); *origin (may be NULL) gets its MCP server's name
 * (borrowed from the graph) or NULL for a C callback. */
bool hf_tools_offers(hf_tools *ts, const hf_agent *a, const char *name, const char **origin);

/* Calls of one reply outstanding at once (hf_tools_options.max_concurrency). */
size_t hf_tools_concurrency(const hf_tools *ts);

/* The graph the set was made for. */
const hf_graph *hf_tools_graph(const hf_tools *ts);

#endif

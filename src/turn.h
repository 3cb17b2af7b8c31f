/*
 * turn.h - one user turn as a resumable state machine:
 *
 *   hf_turn_new ─► hf_turn_request ─► (caller performs the HTTP call) ─►
 *   hf_turn_apply ─┬─ handoff / tool answered ─► hf_turn_request again
 *                  ├─ function tools ─► HF_TURN_TOOLS: hf_turn_tools_start,
 *                  │    hf_turn_tool_done per result posted to the sink,
 *                  │    hf_turn_tools_finish ─► NEXT (request again) or DONE
 *                  └─ text ─► turn committed, HF_TURN_DONE
 *
 * All routing rules live here. The blocking hf_run (run.c) and the
 * multi-handle engine (engine.c) only move HTTP bytes between
 * hf_turn_request and hf_turn_apply.
 */
#ifndef HF_TURN_H
#define HF_TURN_H

#include "call.h"
#include "store.h"
#include "tools.h"

typedef struct hf_turn hf_turn;

/* hf_turn_apply results */
#define HF_TURN_NEXT 1 /* send the next request (hf_turn_request) */
#define HF_TURN_DONE 0 /* the turn finished and was committed */
#define HF_TURN_TOOLS 2 /* the reply called function tools: run them */

/* Copy run options (NULL: defaults) into *dst: version 2, or version 1
 * (which has no `tools`: NULL). HF_EINVAL for another version. */
int hf_run_options_copy(hf_run_options *dst, const hf_run_options *src, hf_error *err);

/* Prepare a turn: checks and normalises the input, picks the starting agent
 * (emitting AGENT, and a warning when the holding agent left the graph).
 * Graph, session and store are borrowed and must outlive the turn; opts is
 * copied (NULL: defaults). */
int hf_turn_new(hf_turn **out, const hf_graph *g, hf_session *s, hf_store *st,
                const char *input, const hf_run_options *opts, const hf_endpoint *ep,
                hf_error *err);

/* The next model call: fills *spec (the body and strings are owned by the
 * turn and valid until the next hf_turn_* call; on_delta reports streamed
 * text as the turn's TEXT_DELTA events). HF_EMAXTURNS when the turn
 * already made max_turns calls. */
int hf_turn_request(hf_turn *t, hf_call_spec *spec, hf_error *err);

/* Apply the reply of the call made for the last request (moved from;
 * disposed here). Returns HF_TURN_NEXT, HF_TURN_DONE, or a negative code
 * (HF_ETOOL, HF_ELOOP, HF_EPROTOCOL, HF_ESTORE, HF_ECONFLICT,
 * HF_ECANCELLED); then the turn is over and nothing was stored. */
int hf_turn_apply(hf_turn *t, hf_reply *reply, hf_error *err);

/* After HF_TURN_TOOLS: start the reply's function-tool calls. C callbacks
 * run here, one after the other on this thread (each may go pending); MCP
 * calls are handed to the tool set's host, at most max_concurrency at a
 * time. Each call that completes later is posted to `sink` (any thread);
 * the driver then gives it to hf_turn_tool_done on its own thread.
 * Returns the number of calls still outstanding (0: all results are in;
 * call hf_turn_tools_finish), or a negative code (the turn is over). */
int hf_turn_tools_start(hf_turn *t, hf_tool_sink *sink, hf_error *err);

/* A call posted to the sink: record its result (the turn takes the call
 * over and releases it) and start waiting calls. Returns the number still
 * outstanding, or a negative code (tool_errors: fail; the turn is over). */
int hf_turn_tool_done(hf_turn *t, hf_tool_call *call, hf_error *err);

/* Every result is in: append the tool messages in call order (TOOL_RESULT
 * events), then follow a handoff of the same reply or apply the agent's
 * tool_use. HF_TURN_NEXT, HF_TURN_DONE (committed), or a negative code. */
int hf_turn_tools_finish(hf_turn *t, hf_error *err);

/* Cancel the calls still outstanding (MCP: notifications/cancelled; C:
 * on_cancel). Their later completions are dropped without reaching the
 * sink, so the turn may be freed right after. */
void hf_turn_tools_cancel(hf_turn *t);

/* End a turn that failed outside hf_turn_apply (HTTP error, cancel): emits
 * the ERROR event. Each turn reports DONE or ERROR exactly once. */
void hf_turn_fail(hf_turn *t, const hf_error *err);

/* The final text after HF_TURN_DONE, moved to the caller (hf_free); NULL
 * when there is none or it was taken already. */
char *hf_turn_take_answer(hf_turn *t);

/* The final text after HF_TURN_DONE (borrowed). */
const char *hf_turn_answer(const hf_turn *t);

/* Prefix err with the agent whose model call failed ("agent 'X': ..."),
 * for a driver whose HTTP exchange failed before hf_turn_fail. */
void hf_turn_blame(const hf_turn *t, hf_error *err);

void hf_turn_free(hf_turn *t);

#endif

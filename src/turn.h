/*
 * turn.h - one user turn as a resumable state machine:
 *
 *   hf_turn_new ─► hf_turn_request ─► (caller performs the HTTP call) ─►
 *   hf_turn_apply ─┬─ handoff / tool answered ─► hf_turn_request again
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

typedef struct hf_turn hf_turn;

/* hf_turn_apply results */
#define HF_TURN_NEXT 1 /* send the next request (hf_turn_request) */
#define HF_TURN_DONE 0 /* the turn finished and was committed */

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

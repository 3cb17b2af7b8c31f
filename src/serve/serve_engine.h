/*
 * serve_engine.h - the engine thread of handoff serve: one hf_engine driven
 * by hf_engine_perform in a loop on a thread of its own, and a queue of
 * jobs other threads hand to it (work that must run on the driving thread:
 * the session store's calls, submitting a turn).
 */
#ifndef HF_SERVE_ENGINE_H
#define HF_SERVE_ENGINE_H

#include <handoff.h>

typedef struct serve_engine serve_engine;

/* Create the engine (eo copied as hf_engine_new does) and start its thread.
 * Errors as hf_engine_new, HF_ENOMEM, HF_ENET (no thread). */
int serve_engine_start(serve_engine **out, const hf_engine_options *eo, hf_error *err);
/* The engine, for hf_engine_submit / hf_engine_cancel (any thread). */
hf_engine *serve_engine_hf(serve_engine *se);
/* Run fn(payload) on the engine thread, soon, in the order posted. Any
 * thread. HF_ENOMEM; HF_EINVAL once the engine is stopping (fn not run). */
int serve_engine_post(serve_engine *se, void (*fn)(void *payload), void *payload,
                      hf_error *err);
/* Stop the thread and join it, run the jobs still queued (on the calling
 * thread), then free the engine: turns still in it complete with
 * HF_ECANCELLED from inside this call. Not from the engine thread.
 * NULL-safe. */
void serve_engine_stop(serve_engine *se);

#endif

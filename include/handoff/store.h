/*
 * handoff/store.h - the session-store extension point. An application that
 * keeps conversations in its own database implements these operations and
 * wraps them with hf_store_new; the SQLite store (hf_store_open_sqlite) is
 * the default implementation of the same interface.
 *
 * Stability: this "systems" header may change between minor versions; the
 * version field lets the library refuse an implementation it cannot use.
 */
#ifndef HANDOFF_STORE_H
#define HANDOFF_STORE_H

#include "../handoff.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Handed to an implementation's load(): it reports the stored state through
 * the two functions below. */
typedef struct hf_store_loader hf_store_loader;

/* Set the holding agent (may be NULL) and usage of the session being loaded. */
HF_EXTERN(int) hf_store_loader_set(hf_store_loader *ld, const char *agent,
                                   const hf_usage *usage, hf_error *err);
/* Append one stored message (a JSON object text of len bytes, as passed to
 * commit). HF_EPROTOCOL when it is not a valid message. */
HF_EXTERN(int) hf_store_loader_add(hf_store_loader *ld, const char *json, size_t len,
                                   hf_error *err);

#define HF_STORE_OPS_VERSION 1

typedef struct hf_store_ops {
	unsigned version; /* HF_STORE_OPS_VERSION */

	/* Report session `id` through ld. HF_ENOTFOUND when absent. */
	int (*load)(void *impl, const char *id, hf_store_loader *ld, hf_error *err);

	/* Append one finished turn atomically: all of it or nothing. The store
	 * must hold exactly `expected` messages for `id` (0 for a new session),
	 * else return HF_ECONFLICT and change nothing. Then append the n message
	 * texts, set the holding agent and add `usage` to the stored usage. */
	int (*commit)(void *impl, const char *id, size_t expected, const char *agent,
	              const hf_usage *usage, const char *const *messages, size_t n,
	              hf_error *err);

	/* Set the holding agent without a turn (for example /agent in chat). */
	int (*set_agent)(void *impl, const char *id, const char *agent, hf_error *err);

	/* Remove session `id`. HF_ENOTFOUND when absent. */
	int (*remove)(void *impl, const char *id, hf_error *err);

	/* Call fn for each session, most recently used first, at most limit (0 =
	 * all); stop when fn returns non-zero. */
	int (*list)(void *impl, size_t limit,
	            int (*fn)(const hf_session_info *info, void *payload), void *payload,
	            hf_error *err);

	/* Release impl (called by hf_store_free). May be NULL. */
	void (*close)(void *impl);
} hf_store_ops;

/* Wrap an implementation. ops is copied; impl is owned by the store from
 * now on (closed by hf_store_free). HF_EINVAL for an unknown ops version or
 * a missing operation; on failure impl stays the caller's. The library
 * checks session ids before calling an operation, turns a return value
 * outside hf_code into HF_ESTORE, and supplies a message when an operation
 * fails without one. Before commit it has checked every message of the
 * turn; after commit succeeds it applies the turn to the session in memory
 * in a step that cannot fail. A commit conflict for a session that started
 * empty (expected 0) is reported in the library's words: the session
 * already exists in the store and should have been loaded. */
HF_EXTERN(int) hf_store_new(hf_store **out, const hf_store_ops *ops, void *impl,
                            hf_error *err);

#ifdef __cplusplus
}
#endif

#endif

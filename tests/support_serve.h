/*
 * support_serve.h - test helpers around a real handoff-serve: started as a
 * child (port 0, --ready-file) over an in-process mock, serving the
 * repository's agents/ as model "support" with a throwaway SQLite store;
 * what the store holds and the turns-in-flight gauge. Every helper fails
 * the running cmocka test when it cannot do its job.
 */
#ifndef HF_TEST_SUPPORT_SERVE_H
#define HF_TEST_SUPPORT_SERVE_H

#include "support_mock.h"

#include <sys/types.h>

typedef struct ts_served {
	hf_mock *mock;
	char *dir, *db, *ready, *errlog; /* errlog: the server's stderr */
	char url[128];                   /* "http://127.0.0.1:PORT" */
	pid_t pid;
} ts_served;

/* Start a mock (scenario: a JSON text or NULL) and handoff-serve on it.
 * env: extra "K=V" entries for the server, args: extra command-line
 * arguments (both NULL-terminated, may be NULL). Skips the test when
 * handoff-serve was not built. */
void ts_serve_start(ts_served *s, const char *scenario, const char *const *env,
                    const char *const *args);
/* SIGTERM: the server must drain and exit 0; then ts_serve_free. */
void ts_serve_stop(ts_served *s);
/* Stop the mock and remove the files (the server was reaped already). */
void ts_serve_free(ts_served *s);
/* Session `id` in the store: its message count, and its holder copied to
 * agent (cap bytes; may be NULL); -1 when the store does not hold it. */
long ts_serve_stored(ts_served *s, const char *id, char *agent, size_t cap);
/* handoff_turns_in_flight from /metrics; -1 when absent. */
long ts_serve_in_flight(ts_served *s);

#endif

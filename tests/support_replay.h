/*
 * support_replay.h - a loopback server for provider fixtures: it answers
 * every request on 127.0.0.1 (a free port) with one status line, the
 * headers the test gives (none added: no Content-Type unless given) and a
 * fixture file's bytes, then closes the connection. Or, in trickle mode,
 * it sends the headers and then one byte of the body every `trickle_ms`
 * until the client goes away. Runs on its own thread; ts_replay_stop joins
 * it and closes every socket.
 */
#ifndef HF_TEST_SUPPORT_REPLAY_H
#define HF_TEST_SUPPORT_REPLAY_H

#include "support.h"

typedef struct ts_replay ts_replay;

typedef struct ts_replay_opts {
	int status;              /* 0 = 200 */
	const char *headers;     /* extra header lines, each ending in "\r\n"; may be NULL */
	const char *body_file;   /* a fixture under tests/data (relative path), or NULL */
	const char *body;        /* or the body itself (NUL-terminated) */
	long trickle_ms;         /* > 0: one body byte per trickle_ms, repeating the body */
} ts_replay_opts;

/* Start serving; fails the test when it cannot. */
ts_replay *ts_replay_start(const ts_replay_opts *o);
/* "http://127.0.0.1:PORT/v1" (owned by the server). */
const char *ts_replay_url(const ts_replay *r);
/* Requests received so far. */
int ts_replay_requests(ts_replay *r);
void ts_replay_stop(ts_replay *r);

#endif

/*
 * handoff/mock.h - a local, scripted OpenAI-compatible endpoint with the
 * Model Hub discovery routes, for an application's own tests: the server
 * behind `handoff mock`, started in-process on the loopback and a free port.
 * By default it answers like a routing model (the default graph routes as
 * it would with a real model); a scenario file scripts exact replies; a
 * request header asks for faults. Every route, reply and fault is described
 * in docs/mock.md.
 *
 * A test helper in a library of its own, libhandoff-mock (pkg-config
 * handoff-mock; CMake target handoff::handoff_mock), so that libhandoff does
 * not depend on libmicrohttpd. It needs libhandoff too (for hf_error and
 * hf_free), which both build descriptions add.
 *
 * Stability: like handoff/store.h, this header may change between minor
 * versions; the options' version field lets the library refuse options it
 * does not know.
 */
#ifndef HANDOFF_MOCK_H
#define HANDOFF_MOCK_H

#include "../handoff.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hf_mock hf_mock;

#define HF_MOCK_OPTIONS_VERSION 2

/* Zero / NULL fields take the defaults; a zero-initialised struct (version
 * 0) is taken as version 1. Strings are read by hf_mock_start only.
 * Version 2 added max_bodies (a version 1 struct is read without it). */
typedef struct hf_mock_options {
	unsigned version;          /* HF_MOCK_OPTIONS_VERSION */
	const char *host;          /* "127.0.0.1" (default) or "::1"; nothing else */
	unsigned short port;       /* 0: a free port (hf_mock_port says which) */
	const char *catalogue;     /* catalogue JSON file; NULL: the built-in one */
	const char *scenario;      /* scenario file scripting replies; NULL: routing model */
	const char *log_path;      /* request log, one JSON line per request; NULL: none */
	int log_memory;            /* non-zero: keep the request log in memory (hf_mock_log_*) */
	long latency_ms;           /* added before every reply */
	unsigned threads;          /* 0: one thread per core */
	const char *require_key;   /* when set, requests without this key get 401 */
	size_t max_bodies;         /* request body bytes held at once, all connections;
	                            * a request that would exceed it gets 413 (0: 256 MiB) */
} hf_mock_options;

#define HF_MOCK_OPTIONS_INIT \
	{ HF_MOCK_OPTIONS_VERSION, NULL, 0, NULL, NULL, NULL, 0, 0, 0, NULL, 0 }

/* Start serving (threads of its own; returns at once). opts may be NULL
 * (all defaults). HF_EINVAL for a host other than the loopback, a negative
 * latency or an unknown options version; HF_ENOTFOUND / HF_ECONFIG for an
 * unreadable / bad catalogue or scenario file; HF_ENET when the address
 * cannot be bound. */
HF_EXTERN(int) hf_mock_start(hf_mock **out, const hf_mock_options *opts, hf_error *err);
HF_EXTERN(unsigned short) hf_mock_port(const hf_mock *m);
/* "http://127.0.0.1:PORT" (borrowed from m). The OpenAI-compatible base URL
 * is this + "/v1", the Model Hub one this + "/compute". */
HF_EXTERN(const char *) hf_mock_url(const hf_mock *m);
/* Stop serving, close every connection and free everything. NULL-safe. */
HF_EXTERN(void) hf_mock_stop(hf_mock *m);

/* Restart the scenario script, the X-Mock-Fault counters and the reply and
 * call-id counters (also POST /mock/reset). Thread-safe. */
HF_EXTERN(void) hf_mock_reset(hf_mock *m);

/* The in-memory request log (log_memory): the number of entries, entry i
 * as an owned JSON object text (hf_free; NULL when i is out of range or
 * memory ran out), and clear. Thread-safe. */
HF_EXTERN(size_t) hf_mock_log_count(hf_mock *m);
HF_EXTERN(char *) hf_mock_log_get(hf_mock *m, size_t i);
HF_EXTERN(void) hf_mock_log_clear(hf_mock *m);

#ifdef __cplusplus
}
#endif

#endif /* HANDOFF_MOCK_H */

/*
 * mock.h - `handoff mock`: a local, scripted OpenAI-compatible endpoint with
 * the Model Hub discovery routes, built on libmicrohttpd. Tests and
 * benchmarks start it in-process on 127.0.0.1 and a free port.
 */
#ifndef HF_MOCK_H
#define HF_MOCK_H

#include "internal.h"

typedef struct hf_mock hf_mock;

typedef struct hf_mock_options {
	const char *host;          /* "127.0.0.1" (default) or "::1" */
	unsigned short port;       /* 0: a free port */
	const char *catalogue;     /* catalogue JSON file; NULL: the built-in one */
	const char *scenario;      /* scenario file scripting replies; NULL: routing model */
	const char *log_path;      /* request log, one JSON line per request; NULL: none */
	bool log_memory;           /* keep the request log in memory (hf_mock_log_*) */
	long latency_ms;           /* added before every reply */
	unsigned threads;          /* 0: one thread per core */
	const char *require_key;   /* when set, other keys get 401 */
} hf_mock_options;

/* Start serving (threads of its own; returns at once). HF_EINVAL for a host
 * other than the loopback, HF_ENOTFOUND / HF_ECONFIG for an unreadable /
 * bad catalogue or scenario file, HF_ENET when the address cannot be
 * bound. Every reply and fault is described in docs/mock.md. */
int hf_mock_start(hf_mock **out, const hf_mock_options *opts, hf_error *err);
unsigned short hf_mock_port(const hf_mock *m);
/* "http://127.0.0.1:PORT" (borrowed). */
const char *hf_mock_url(const hf_mock *m);
/* Stop serving and free everything. NULL-safe. */
void hf_mock_stop(hf_mock *m);

/* Restart the scenario script, the X-Mock-Fault counters and the reply and
 * call-id counters (also POST /mock/reset). Thread-safe. */
void hf_mock_reset(hf_mock *m);

/* The in-memory request log (log_memory): entry i as a JSON object text
 * (borrowed until the next clear), count, and clear. Thread-safe. */
size_t hf_mock_log_count(hf_mock *m);
char *hf_mock_log_get(hf_mock *m, size_t i); /* owned copy (hf_free) */
void hf_mock_log_clear(hf_mock *m);

#endif

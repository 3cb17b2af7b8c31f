/*
 * call.h - the libcurl transport: resolved endpoint settings, one HTTP
 * exchange with retries (hf_call), status and error classification, size
 * caps, timeouts and a redacting trace. Shared by the blocking path
 * (hf_run, hf_ask, discovery) and the multi-handle engine.
 */
#ifndef HF_CALL_H
#define HF_CALL_H

#include "chat.h"
#include "headers.h"

#include <curl/curl.h>
#include <time.h>

/* Settings after flags > environment > graph file > defaults. Owned strings. */
typedef struct hf_endpoint {
	char *base_url;          /* no trailing slash */
	char *shown_base_url;    /* base_url without user and password, for messages */
	char *api_key;           /* NULL when none; never logged */
	int auth;                /* HF_AUTH_* bits */
	char *provider;          /* OpenAI-Organization; may be NULL */
	char *compute_provider;  /* may be NULL */
	long connect_timeout_ms;
	long timeout_ms;
	long idle_timeout_ms;
	long deadline_ms;        /* all attempts of one call, waits included */
	int max_retries;
	long max_retry_after_ms;
	size_t max_response_bytes;
	bool insecure;
	char **headers;          /* extra "Name: value", NULL-terminated */
	char *user_agent;        /* "handoff/<version>" */
	char *chat_url;          /* base_url + "/chat/completions"; may be NULL */
	char *shown_chat_url;    /* the same for messages; NULL when chat_url is */
	struct curl_slist *chat_headers[2]; /* a POST to chat_url with `provider`:
	                          * [0] JSON, [1] streaming; may be NULL */
} hf_endpoint;

/* Resolve an endpoint (see hf_client_options for the order) into *out,
 * which then owns its strings and header lists: release them with
 * hf_endpoint_dispose. On failure *out is already disposed (zeroed; a
 * second dispose is harmless) and err says why: HF_EINVAL (options version,
 * auth, headers), HF_ECONFIG (base URL, key, environment), HF_ELIMIT (a
 * header line over 4 KiB), HF_ENOMEM. */
int hf_endpoint_resolve(hf_endpoint *out, const hf_client_options *opts,
                        const hf_graph *graph, hf_error *err);
/* Wipe the key (and the header lists holding it) and free everything. */
void hf_endpoint_dispose(hf_endpoint *ep);
struct hf_client {
	hf_endpoint ep;
	CURL *easy;              /* reused across requests: keeps the connection */
};

/* One logical request (with its retries). */
typedef struct hf_call hf_call;

typedef struct hf_call_spec {
	const char *method;      /* "GET" or "POST" */
	const char *path;        /* appended to base_url, e.g. "/chat/completions" */
	const char *body;        /* POST body (borrowed: must outlive the call); NULL for GET */
	bool stream;             /* SSE chat stream */
	const char *provider;    /* overrides ep->provider for this call; may be NULL */
	hf_delta_fn on_delta;    /* stream text deltas; may be NULL */
	void *payload;
	const volatile int *cancel; /* when set and *cancel != 0: stop (HF_ECANCELLED);
	                               checked at each progress tick; signal-safe */
} hf_call_spec;

/* A new call (free with hf_call_free) to `ep`, which it borrows with its
 * chat URL and header lists: ep (and spec->body) must outlive the call.
 * HF_EINVAL for a bad spec or a provider with a control character,
 * HF_ELIMIT for a header line over 4 KiB, HF_ENOMEM. */
int hf_call_new(hf_call **out, const hf_endpoint *ep, const hf_call_spec *spec,
                hf_error *err);
void hf_call_free(hf_call *c);

/* Set the options every call to `ep` shares (protocols, timeouts,
 * callbacks, TLS checks, user agent) on a handle that will serve calls to
 * `ep` only. Once per handle, before its first hf_call_setup. HF_ENOMEM or
 * HF_ENET when libcurl refuses a setting. */
int hf_call_easy_prepare(CURL *easy, const hf_endpoint *ep, hf_error *err);

/* Configure `easy` (prepared for the call's endpoint) for the next attempt:
 * sets every option that changes from call to call (URL, headers, body,
 * the call's callback data, tracing), so each attempt starts from the same
 * configuration whatever the handle did before. Options only others use,
 * such as CURLOPT_PRIVATE, are left as they are. Keeps the connection
 * cache. */
int hf_call_setup(hf_call *c, CURL *easy, hf_error *err);

/* Results of hf_call_finish. */
#define HF_CALL_DONE 0
#define HF_CALL_RETRY 1

/* The transfer on `easy` ended with `rc`. Returns HF_CALL_DONE when the
 * reply is complete and good; HF_CALL_RETRY with *delay_ms when the attempt
 * should be repeated (connection error, 408, 409, 429, 5xx; Retry-After
 * honoured up to the cap; exponential backoff with jitter; never after
 * stream text reached the caller; at most max_retries); otherwise a negative
 * hf_code with err filled (HTTP status, the server's error type, code and
 * message, or the libcurl reason). */
int hf_call_finish(hf_call *c, CURL *easy, CURLcode rc, long *delay_ms, hf_error *err);

/* Run the call to completion on `easy`, sleeping between retries. */
int hf_call_perform(hf_call *c, CURL *easy, hf_error *err);

/* After HF_CALL_DONE: the assembled chat reply (moved out) ... */
int hf_call_reply(hf_call *c, hf_reply *out, hf_error *err);
/* ... or the raw body of a non-chat request (borrowed). */
const char *hf_call_body(const hf_call *c, size_t *len);

/* The blocking path in one step: a new call to ep per spec, run on `easy`
 * (hf_call_perform), then freed. On success the chat reply is moved into
 * *reply, or, when reply is NULL, the raw body into *body (an empty hf_buf;
 * the caller disposes it). Errors as hf_call_new and hf_call_perform. */
int hf_call_run(hf_reply *reply, hf_buf *body, CURL *easy, const hf_endpoint *ep,
                const hf_call_spec *spec, hf_error *err);

/* Ask the call to stop at the next progress tick (any thread; the transfer
 * then ends with HF_ECANCELLED). */
void hf_call_cancel(hf_call *c);

/* ---- retry policy (retry.c), as the openai client does it ---- */

/* True for the statuses worth repeating: 408, 409, 429 and 5xx. */
bool hf_retry_status(long status);
/* True for libcurl results worth repeating: connection failures, drops,
 * timeouts. */
bool hf_retry_curl(CURLcode rc);
/* Delay before retry number `retry` (0 = the first): min(0.5 s * 2^retry,
 * 8 s) * (1 - 0.25 * unit), unit in [0, 1) being random jitter. */
long hf_retry_backoff_ms(int retry, double unit);
/* A Retry-After value (seconds, fractions allowed, or an HTTP date) as ms
 * from `now`; -1 when it cannot be read. */
long hf_retry_after_ms(const char *value, time_t now);

/* ---- errors a user can act on (call_error.c) ---- */

/* Fill err for an HTTP error reply: the status, URL, and the server's error
 * code, type and message (from {"error":{...}}, else a clean excerpt of the
 * body). Returns HF_EAUTH (401/403; `sent_key` says whether a key was sent),
 * HF_ENOTFOUND (404) or HF_EHTTP, with err->http_status set. */
int hf_call_error_http(hf_error *err, long status, const char *url, const char *body, size_t len,
                  bool sent_key);
/* Fill err (HF_ENET) for a failed transfer: what failed and where
 * ("could not connect to 127.0.0.1:8080: Connection refused"), with
 * libcurl's reason and detail (errbuf, os_errno). */
int hf_call_error_net(hf_error *err, CURLcode rc, const char *url, const char *errbuf,
                 long os_errno);

#endif

/*
 * mcp_http.h - one MCP server over Streamable HTTP (mcp_http.c): each
 * message POSTed as its own transfer on the host's curl multi; the answer
 * is JSON or an SSE stream of messages; Mcp-Session-Id kept from the
 * initialize answer and sent after; MCP-Protocol-Version once negotiated;
 * DELETE of the session on free. Host thread only.
 */
#ifndef HF_MCP_HTTP_H
#define HF_MCP_HTTP_H

#include "internal.h"

#include <curl/curl.h>
#include <stdint.h>

typedef struct hf_mcp_http hf_mcp_http;

typedef struct hf_mcp_http_cb {
	/* One JSON-RPC message the server sent (an answer, a notification or
	 * a request), in any transfer. */
	void (*message)(void *payload, const char *text, size_t len);
	/* The transfer that POSTed request `id` ended: code HF_OK, or the
	 * failure (HF_ENET: unreachable or an HTTP error status; HF_ELIMIT: a
	 * message over the limit) with err saying why. Not called for
	 * notifications and answers (id 0), nor after hf_mcp_http_abort. */
	void (*done)(void *payload, uint64_t id, int code, const hf_error *err);
	void *payload;
} hf_mcp_http_cb;

/* A server at url; headers ("Name: value", NULL-terminated, already
 * expanded) are copied. The transfers go on multi (borrowed). HF_ENOMEM. */
int hf_mcp_http_new(hf_mcp_http **out, CURLM *multi, const char *url,
                    char *const *headers, size_t max_message, const hf_mcp_http_cb *cb,
                    hf_error *err);
/* POST msg; id is the request's (0 for a notification or an answer).
 * HF_ENOMEM (nothing sent). */
int hf_mcp_http_post(hf_mcp_http *h, uint64_t id, const char *msg, hf_error *err);
/* Stop waiting for the answer to request id (its transfer is dropped). */
void hf_mcp_http_abort(hf_mcp_http *h, uint64_t id);
/* Send MCP-Protocol-Version: version from now on. HF_ENOMEM. */
int hf_mcp_http_set_version(hf_mcp_http *h, const char *version);
/* Hand the messages read so far to cb.message (after curl_multi_perform:
 * libcurl's callbacks only queue them). */
void hf_mcp_http_dispatch(hf_mcp_http *h);
/* A transfer of the multi ended (from curl_multi_info_read): when it is
 * one of an hf_mcp_http's, handle it and return true. */
bool hf_mcp_http_finished(CURL *easy, CURLcode result);
/* Drop every transfer, DELETE the session (bounded by timeout_ms), free.
 * NULL-safe. */
void hf_mcp_http_free(hf_mcp_http *h, long timeout_ms);

#endif

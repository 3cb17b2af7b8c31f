/*
 * support_mock.h - test helpers around the in-process `handoff mock`
 * (src/mock/mock.h): start one on 127.0.0.1 and a free port with the
 * in-memory request log on, read its log, and a small blocking HTTP client
 * (libcurl easy) plus an SSE splitter for tests of the mock itself.
 * Every helper fails the running cmocka test when it cannot do its job.
 */
#ifndef HF_TEST_SUPPORT_MOCK_H
#define HF_TEST_SUPPORT_MOCK_H

#include "support.h"
#include "mock.h"

#include <cjson/cJSON.h>

/* Start a mock: opts may be NULL (routing model, built-in catalogue). host
 * and port are forced to 127.0.0.1 and 0 unless set, log_memory to true.
 * Stop it with hf_mock_stop. */
hf_mock *tm_start(const hf_mock_options *opts);

/* "http://127.0.0.1:PORT" + suffix ("/v1", "/compute", ...). Owned. */
char *tm_base_url(hf_mock *m, const char *suffix);

/* Request-log entry i parsed (owned, cJSON_Delete), and its "body" member
 * detached from it (owned). Fail the test when there is no entry i. */
cJSON *tm_log_entry(hf_mock *m, size_t i);
cJSON *tm_log_body(hf_mock *m, size_t i);

/* One HTTP exchange. */
typedef struct tm_resp {
	long status;         /* 0 when no response came */
	int curl_code;       /* CURLcode: 0, or e.g. 18 (partial), 52 (empty), 28 (timeout) */
	char *body;          /* owned, NUL-terminated (may hold NULs before len) */
	size_t len;
	char *headers;       /* the response header block, owned */
	double first_byte_s; /* time to the first response byte */
	double total_s;
} tm_resp;

/* method "GET" or "POST"; body NULL for none; headers a NULL-terminated
 * list of "Name: value" or NULL; timeout_ms 0 means 10 s. */
void tm_http(tm_resp *r, const char *method, const char *url, const char *body,
             const char *const *headers, long timeout_ms);
/* POST json to m + path / GET m + path_and_query, headers as above. */
void tm_post(tm_resp *r, hf_mock *m, const char *path, const char *json,
             const char *const *headers);
void tm_get(tm_resp *r, hf_mock *m, const char *path_and_query);
void tm_resp_dispose(tm_resp *r);

/* The value of response header name (case-insensitive), owned; NULL when
 * absent. */
char *tm_header(const tm_resp *r, const char *name);
/* The body parsed as JSON (owned); fails the test when it is not JSON. */
cJSON *tm_json(const tm_resp *r);

/* The data payloads of an SSE body, in order: a NULL-terminated owned array
 * of owned strings (multi-line data joined with "\n"); *n gets the count. */
char **tm_sse_data(const char *body, size_t len, size_t *n);
void tm_strv_free(char **v);

#endif

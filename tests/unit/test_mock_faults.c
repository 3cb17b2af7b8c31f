/*
 * test_mock_faults.c - every X-Mock-Fault, for JSON and streamed replies:
 * status faults with the error envelope (and Retry-After), dropped
 * connections, truncated JSON, invalid UTF-8, stalls, oversize bodies,
 * empty / missing ids, unknown tools, several handoffs, errors mid-stream;
 * the after/times counters; faults on discovery routes; the log.
 */
#include "support_mock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A Spanish request offering two transfer tools. */
#define CHAT_BODY(stream)                                                                       \
	"{\"model\":\"gpt-4o\"," stream "\"messages\":[{\"role\":\"user\",\"content\":"            \
	"\"Hola, ¿me ayudas con mi pedido?\"}],\"tools\":["                                      \
	"{\"type\":\"function\",\"function\":{\"name\":\"transfer_to_spanish_agent\"}},"          \
	"{\"type\":\"function\",\"function\":{\"name\":\"transfer_to_english_agent\"}}]}"

static const char json_req[] = CHAT_BODY("");
static const char stream_req[] = CHAT_BODY("\"stream\":true,");
/* no tools: the reply is text */
static const char text_req[] =
	"{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello there, "
	"how are you doing today?\"}]}";
static const char text_stream_req[] =
	"{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":"
	"\"Hello there, how are you doing today?\"}]}";

static void faulted(tm_resp *r, hf_mock *m, const char *body, const char *fault)
{
	char line[128];
	const char *headers[] = { line, NULL };
	snprintf(line, sizeof(line), "X-Mock-Fault: %s", fault);
	tm_post(r, m, "/v1/chat/completions", body, headers);
}

/* Events of a streamed reply, parsed. */
typedef struct events {
	char **data;
	size_t n;
} events;

static void split(events *e, const tm_resp *r)
{
	e->data = tm_sse_data(r->body, r->len, &e->n);
}

static bool has_done(const events *e)
{
	return e->n && !strcmp(e->data[e->n - 1], "[DONE]");
}

/* The concatenated text deltas of a stream (owned). */
static char *stream_text(const events *e)
{
	char *out = calloc(1, 1 << 16);
	size_t i;
	for (i = 0; i < e->n; i++) {
		cJSON *c = cJSON_Parse(e->data[i]);
		cJSON *d = cJSON_GetObjectItem(
		        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "choices"), 0), "delta"),
		        "content");
		if (cJSON_IsString(d))
			strncat(out, d->valuestring, (1 << 16) - 1 - strlen(out));
		cJSON_Delete(c);
	}
	return out;
}

/* The tool calls of a reply, JSON or streamed, assembled as a client
 * would: a JSON array of {index, id?, name, arguments} (owned). */
static cJSON *calls_of(const tm_resp *r, bool stream)
{
	cJSON *out = cJSON_CreateArray();
	if (!stream) {
		cJSON *j = tm_json(r), *c;
		cJSON *calls = cJSON_GetObjectItem(
		        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "message"),
		        "tool_calls");
		cJSON_ArrayForEach(c, calls) {
			cJSON *o = cJSON_CreateObject(), *id = cJSON_GetObjectItem(c, "id");
			cJSON *fn = cJSON_GetObjectItem(c, "function");
			if (id)
				cJSON_AddStringToObject(o, "id", id->valuestring);
			cJSON_AddStringToObject(o, "name", cJSON_GetObjectItem(fn, "name")->valuestring);
			cJSON_AddStringToObject(o, "arguments",
			                        cJSON_GetObjectItem(fn, "arguments")->valuestring);
			cJSON_AddItemToArray(out, o);
		}
		cJSON_Delete(j);
	} else {
		events e;
		size_t i;
		split(&e, r);
		for (i = 0; i < e.n; i++) {
			cJSON *c = cJSON_Parse(e.data[i]), *d, *tc;
			d = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "choices"), 0), "delta");
			cJSON_ArrayForEach(tc, cJSON_GetObjectItem(d, "tool_calls")) {
				int k = cJSON_GetObjectItem(tc, "index")->valueint;
				cJSON *o = cJSON_GetArrayItem(out, k), *fn = cJSON_GetObjectItem(tc, "function");
				cJSON *id = cJSON_GetObjectItem(tc, "id"), *name = cJSON_GetObjectItem(fn, "name");
				cJSON *args = cJSON_GetObjectItem(fn, "arguments");
				char *joined;
				if (!o) {
					assert_int_equal(k, cJSON_GetArraySize(out));
					o = cJSON_CreateObject();
					cJSON_AddItemToArray(out, o);
					cJSON_AddStringToObject(o, "arguments", "");
				}
				if (id)
					cJSON_AddStringToObject(o, "id", id->valuestring);
				if (name)
					cJSON_AddStringToObject(o, "name", name->valuestring);
				joined = malloc(strlen(cJSON_GetObjectItem(o, "arguments")->valuestring) +
				                strlen(args ? args->valuestring : "") + 1);
				strcpy(joined, cJSON_GetObjectItem(o, "arguments")->valuestring);
				strcat(joined, args ? args->valuestring : "");
				cJSON_ReplaceItemInObject(o, "arguments", cJSON_CreateString(joined));
				free(joined);
			}
			cJSON_Delete(c);
		}
		tm_strv_free(e.data);
	}
	return out;
}

static const char *call_str(cJSON *calls, int i, const char *key)
{
	cJSON *v = cJSON_GetObjectItem(cJSON_GetArrayItem(calls, i), key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- status faults ---- */

static void test_status_faults(void **state)
{
	static const struct {
		const char *fault;
		long status;
		const char *code;
	} cases[] = {
		{ "401", 401, "invalid_api_key" },      { "403", 403, "permission_denied" },
		{ "404", 404, "model_not_found" },      { "408", 408, "request_timeout" },
		{ "409", 409, "conflict" },             { "429", 429, "rate_limit_exceeded" },
		{ "500", 500, "internal_error" },       { "503", 503, "service_unavailable" },
	};
	hf_mock *m = tm_start(NULL);
	size_t i, k;
	(void)state;
	for (k = 0; k < 2; k++) {
		for (i = 0; i < HF_ARRAY_LEN(cases); i++) {
			tm_resp r;
			cJSON *j, *e;
			faulted(&r, m, k ? stream_req : json_req, cases[i].fault);
			assert_int_equal(r.status, cases[i].status);
			j = tm_json(&r); /* an error envelope, also for a stream request */
			e = cJSON_GetObjectItem(j, "error");
			assert_string_equal(cJSON_GetObjectItem(e, "code")->valuestring, cases[i].code);
			assert_true(cJSON_IsString(cJSON_GetObjectItem(e, "type")));
			assert_true(ts_contains(cJSON_GetObjectItem(e, "message")->valuestring, "mock fault"));
			cJSON_Delete(j);
			tm_resp_dispose(&r);
		}
	}
	hf_mock_stop(m);
}

static void test_retry_after(void **state)
{
	hf_mock *m = tm_start(NULL);
	tm_resp r;
	char *ra, *ms;
	(void)state;
	faulted(&r, m, json_req, "429");
	ra = tm_header(&r, "Retry-After");
	ms = tm_header(&r, "retry-after-ms");
	assert_string_equal(ra, "1");
	assert_string_equal(ms, "1000");
	free(ra);
	free(ms);
	tm_resp_dispose(&r);
	faulted(&r, m, json_req, "429;ms=2500");
	ra = tm_header(&r, "Retry-After");
	ms = tm_header(&r, "retry-after-ms");
	assert_string_equal(ra, "3");
	assert_string_equal(ms, "2500");
	free(ra);
	free(ms);
	tm_resp_dispose(&r);
	faulted(&r, m, json_req, "503;ms=20");
	ms = tm_header(&r, "retry-after-ms");
	assert_string_equal(ms, "20");
	free(ms);
	tm_resp_dispose(&r);
	faulted(&r, m, json_req, "500");
	assert_null(tm_header(&r, "Retry-After"));
	tm_resp_dispose(&r);
	hf_mock_stop(m);
}

/* ---- the connection ---- */

static void test_drop(void **state)
{
	hf_mock *m = tm_start(NULL);
	size_t k;
	cJSON *e;
	(void)state;
	for (k = 0; k < 2; k++) {
		tm_resp r;
		faulted(&r, m, k ? stream_req : json_req, "drop");
		assert_int_equal(r.status, 0);
		assert_int_equal(r.curl_code, 52); /* CURLE_GOT_NOTHING */
		assert_int_equal(r.len, 0);
		tm_resp_dispose(&r);
	}
	e = tm_log_entry(m, 0);
	assert_int_equal(cJSON_GetObjectItem(e, "status")->valueint, 0);
	assert_string_equal(cJSON_GetObjectItem(e, "fault")->valuestring, "drop");
	cJSON_Delete(e);
	hf_mock_stop(m);
}

static void test_drop_mid_stream(void **state)
{
	hf_mock *m = tm_start(NULL);
	tm_resp r, full;
	events e;
	char *text, *cl;
	(void)state;
	/* JSON: headers promise the whole body, half arrives */
	tm_post(&full, m, "/v1/chat/completions", text_req, NULL);
	faulted(&r, m, text_req, "drop-mid-stream");
	assert_int_equal(r.status, 200);
	assert_int_equal(r.curl_code, 18); /* CURLE_PARTIAL_FILE */
	cl = tm_header(&r, "Content-Length");
	assert_int_equal(strtoul(cl, NULL, 10), full.len);
	assert_true(r.len > 0 && r.len < full.len);
	free(cl);
	tm_resp_dispose(&r);
	tm_resp_dispose(&full);

	/* stream: some text, then the connection closes without [DONE] */
	faulted(&r, m, text_stream_req, "drop-mid-stream");
	assert_int_equal(r.status, 200);
	assert_int_equal(r.curl_code, 18);
	split(&e, &r);
	assert_false(has_done(&e));
	text = stream_text(&e);
	assert_true(strlen(text) > 0);
	assert_true(strlen(text) < strlen("Hello! I'm happy to help you in English."));
	assert_true(strncmp(text, "Hello! ", 7) == 0);
	free(text);
	tm_strv_free(e.data);
	tm_resp_dispose(&r);

	/* a streamed tool call drops after its first event */
	faulted(&r, m, stream_req, "drop-mid-stream");
	assert_int_equal(r.curl_code, 18);
	assert_true(ts_contains(r.body, "transfer_to_spanish_agent"));
	assert_false(ts_contains(r.body, "[DONE]"));
	tm_resp_dispose(&r);
	hf_mock_stop(m);
}

static void test_truncated(void **state)
{
	hf_mock *m = tm_start(NULL);
	tm_resp r;
	events e;
	size_t i, bad = 0;
	(void)state;
	faulted(&r, m, text_req, "truncated");
	assert_int_equal(r.status, 200);
	assert_int_equal(r.curl_code, 0); /* a clean HTTP reply ... */
	assert_true(ts_contains(r.body, "{\"id\":\"chatcmpl-mock-"));
	assert_null(cJSON_ParseWithLength(r.body, r.len)); /* ... of broken JSON */
	tm_resp_dispose(&r);

	faulted(&r, m, text_stream_req, "truncated");
	assert_int_equal(r.curl_code, 0);
	split(&e, &r);
	assert_true(has_done(&e));
	for (i = 0; i + 1 < e.n; i++) {
		cJSON *c = cJSON_Parse(e.data[i]);
		if (!c)
			bad++;
		cJSON_Delete(c);
	}
	assert_int_equal(bad, 1);
	tm_strv_free(e.data);
	tm_resp_dispose(&r);
	hf_mock_stop(m);
}

static void test_bad_utf8(void **state)
{
	hf_mock *m = tm_start(NULL);
	tm_resp r;
	events e;
	char *text;
	(void)state;
	faulted(&r, m, text_req, "bad-utf8");
	assert_int_equal(r.status, 200);
	assert_true(ts_contains(r.body, "\xC3\x28")); /* the body holds no NUL */
	tm_resp_dispose(&r);
	faulted(&r, m, text_stream_req, "bad-utf8");
	split(&e, &r);
	assert_true(has_done(&e));
	text = stream_text(&e);
	assert_true(ts_contains(text, "\xC3\x28"));
	free(text);
	tm_strv_free(e.data);
	tm_resp_dispose(&r);
	hf_mock_stop(m);
}

static void test_stall(void **state)
{
	hf_mock *m = tm_start(NULL);
	size_t k;
	(void)state;
	char *url = tm_base_url(m, "/v1/chat/completions");
	const char *forever[] = { "X-Mock-Fault: stall;ms=3600000", NULL };
	for (k = 0; k < 2; k++) {
		tm_resp r;
		/* the headers come at once, the body after the stall: a client that
		 * gives up (after 5 s, which only a stuck mock would need for the
		 * headers) during a stall no test outlives has the status only */
		tm_http(&r, "POST", url, k ? text_stream_req : text_req, forever, 5000);
		assert_int_equal(r.curl_code, 28);
		assert_int_equal(r.status, 200);
		assert_false(ts_contains(r.body, "happy"));
		tm_resp_dispose(&r);
		/* a stall that ends: the whole reply, at least that late */
		faulted(&r, m, k ? text_stream_req : text_req, "stall;ms=300");
		assert_int_equal(r.status, 200);
		assert_int_equal(r.curl_code, 0);
		assert_true(r.total_s >= 0.3);
		assert_true(ts_contains(r.body, "happy"));
		tm_resp_dispose(&r);
	}
	free(url);
	hf_mock_stop(m);
}

static void test_stall_does_not_block_others(void **state)
{
	hf_mock_options o = { 0 };
	hf_mock *m;
	tm_resp r;
	char *url;
	const char *stall[] = { "X-Mock-Fault: stall;ms=3600000", NULL };
	(void)state;
	o.threads = 1;
	m = tm_start(&o);
	url = tm_base_url(m, "/v1/chat/completions");
	/* the client gives up on the stalled reply; the single worker thread
	 * answers the next request (blocked by a stall no test outlives, it
	 * would hang until CTest's timeout) */
	tm_http(&r, "POST", url, text_req, stall, 200);
	assert_int_equal(r.curl_code, 28);
	tm_resp_dispose(&r);
	tm_http(&r, "POST", url, text_req, NULL, 0);
	assert_int_equal(r.status, 200);
	tm_resp_dispose(&r);
	free(url);
	hf_mock_stop(m);
}

static void test_oversize(void **state)
{
	hf_mock *m = tm_start(NULL);
	tm_resp r;
	events e;
	cJSON *j;
	const char *content;
	(void)state;
	faulted(&r, m, text_req, "oversize");
	assert_int_equal(r.curl_code, 0);
	assert_true(r.len >= 16u << 20);
	j = tm_json(&r);
	content = cJSON_GetObjectItem(
	                  cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0),
	                                      "message"),
	                  "content")
	                  ->valuestring;
	assert_true(strlen(content) >= 16u << 20);
	assert_int_equal(strspn(content, "x"), strlen(content));
	cJSON_Delete(j);
	tm_resp_dispose(&r);

	faulted(&r, m, text_stream_req, "oversize;bytes=300000");
	assert_int_equal(r.curl_code, 0);
	assert_true(r.len >= 300000);
	split(&e, &r);
	assert_true(has_done(&e));
	assert_true(e.n > 70); /* filler events of about 4 KiB each */
	tm_strv_free(e.data);
	tm_resp_dispose(&r);
	hf_mock_stop(m);
}

/* ---- faults in the reply ---- */

/* The tool calls of a faulted reply to json_req / stream_req (owned). */
static cJSON *faulted_calls(hf_mock *m, bool stream, const char *fault)
{
	tm_resp r;
	cJSON *calls;
	faulted(&r, m, stream ? stream_req : json_req, fault);
	assert_int_equal(r.status, 200);
	calls = calls_of(&r, stream);
	tm_resp_dispose(&r);
	return calls;
}

static void test_empty_and_missing_id(void **state)
{
	hf_mock *m = tm_start(NULL);
	int k;
	(void)state;
	for (k = 0; k < 2; k++) {
		cJSON *calls = faulted_calls(m, k, "empty-id");
		assert_int_equal(cJSON_GetArraySize(calls), 1);
		assert_string_equal(call_str(calls, 0, "id"), "");
		assert_string_equal(call_str(calls, 0, "name"), "transfer_to_spanish_agent");
		cJSON_Delete(calls);
		calls = faulted_calls(m, k, "missing-id");
		assert_int_equal(cJSON_GetArraySize(calls), 1);
		assert_null(call_str(calls, 0, "id"));
		assert_string_equal(call_str(calls, 0, "arguments"), "{}");
		cJSON_Delete(calls);
	}
	hf_mock_stop(m);
}

static void test_unknown_tool_and_multi_handoff(void **state)
{
	hf_mock *m = tm_start(NULL);
	int k;
	(void)state;
	for (k = 0; k < 2; k++) {
		cJSON *calls = faulted_calls(m, k, "unknown-tool");
		assert_int_equal(cJSON_GetArraySize(calls), 1);
		assert_string_equal(call_str(calls, 0, "name"), "lookup_weather");
		assert_string_equal(call_str(calls, 0, "arguments"), "{\"city\":\"Paris\"}");
		assert_true(strncmp(call_str(calls, 0, "id"), "call_", 5) == 0);
		cJSON_Delete(calls);
		calls = faulted_calls(m, k, "multi-handoff");
		assert_int_equal(cJSON_GetArraySize(calls), 2);
		assert_string_equal(call_str(calls, 0, "name"), "transfer_to_spanish_agent");
		assert_string_equal(call_str(calls, 1, "name"), "transfer_to_english_agent");
		assert_string_not_equal(call_str(calls, 0, "id"), call_str(calls, 1, "id"));
		cJSON_Delete(calls);
	}
	hf_mock_stop(m);
}

static void test_error_mid_stream(void **state)
{
	hf_mock *m = tm_start(NULL);
	tm_resp r;
	events e;
	cJSON *err;
	char *text;
	(void)state;
	faulted(&r, m, text_stream_req, "error-mid-stream");
	assert_int_equal(r.status, 200);
	assert_int_equal(r.curl_code, 0);
	split(&e, &r);
	assert_false(has_done(&e));
	err = cJSON_Parse(e.data[e.n - 1]);
	assert_string_equal(
	        cJSON_GetObjectItem(cJSON_GetObjectItem(err, "error"), "code")->valuestring,
	        "mid_stream_error");
	cJSON_Delete(err);
	text = stream_text(&e);
	assert_true(strlen(text) > 0); /* text came first */
	free(text);
	tm_strv_free(e.data);
	tm_resp_dispose(&r);

	/* JSON: a 200 whose body is the error envelope */
	faulted(&r, m, text_req, "error-mid-stream");
	assert_int_equal(r.status, 200);
	assert_true(ts_contains(r.body, "\"code\":\"mid_stream_error\""));
	tm_resp_dispose(&r);
	hf_mock_stop(m);
}

/* ---- counters, routes, errors ---- */

static void test_after_and_times(void **state)
{
	hf_mock *m = tm_start(NULL);
	long want[] = { 200, 500, 500, 200, 200 };
	size_t i;
	tm_resp r;
	(void)state;
	for (i = 0; i < HF_ARRAY_LEN(want); i++) {
		faulted(&r, m, text_req, "500;after=1;times=2");
		assert_int_equal(r.status, want[i]);
		tm_resp_dispose(&r);
	}
	/* another header value counts on its own */
	faulted(&r, m, text_req, "500;times=1");
	assert_int_equal(r.status, 500);
	tm_resp_dispose(&r);
	/* reset restarts the counters */
	hf_mock_reset(m);
	for (i = 0; i < 2; i++) {
		faulted(&r, m, text_req, "500;after=1;times=2");
		assert_int_equal(r.status, want[i]);
		tm_resp_dispose(&r);
	}
	hf_mock_stop(m);
}

static void test_faults_on_discovery(void **state)
{
	hf_mock *m = tm_start(NULL);
	const char *unavailable[] = { "X-Mock-Fault: 503", NULL };
	const char *truncated[] = { "X-Mock-Fault: truncated", NULL };
	tm_resp r;
	char *url = tm_base_url(m, "/compute/models");
	(void)state;
	tm_http(&r, "GET", url, NULL, unavailable, 0);
	assert_int_equal(r.status, 503);
	tm_resp_dispose(&r);
	tm_http(&r, "GET", url, NULL, truncated, 0);
	assert_int_equal(r.status, 200);
	assert_true(ts_contains(r.body, "{\"data\":["));
	assert_null(cJSON_ParseWithLength(r.body, r.len));
	tm_resp_dispose(&r);
	free(url);
	hf_mock_stop(m);
}

static void test_bad_fault_header(void **state)
{
	hf_mock *m = tm_start(NULL);
	const char *bad[] = { "bogus", "500;after", "500;after=x", "500;color=red" };
	size_t i;
	(void)state;
	for (i = 0; i < HF_ARRAY_LEN(bad); i++) {
		tm_resp r;
		faulted(&r, m, text_req, bad[i]);
		assert_int_equal(r.status, 400);
		assert_true(ts_contains(r.body, "\"code\":\"bad_mock_fault\""));
		tm_resp_dispose(&r);
	}
	hf_mock_stop(m);
}

static void test_fault_logged(void **state)
{
	hf_mock *m = tm_start(NULL);
	tm_resp r;
	cJSON *e;
	(void)state;
	faulted(&r, m, text_req, "429;ms=10");
	tm_resp_dispose(&r);
	e = tm_log_entry(m, 0);
	assert_int_equal(cJSON_GetObjectItem(e, "status")->valueint, 429);
	assert_string_equal(cJSON_GetObjectItem(e, "fault")->valuestring, "429");
	assert_string_equal(
	        cJSON_GetObjectItem(cJSON_GetObjectItem(e, "headers"), "x-mock-fault")->valuestring,
	        "429;ms=10");
	cJSON_Delete(e);
	hf_mock_stop(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_faults),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_drop),
		cmocka_unit_test(test_drop_mid_stream),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_utf8),
		cmocka_unit_test(test_stall),
		cmocka_unit_test(test_stall_does_not_block_others),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_empty_and_missing_id),
		cmocka_unit_test(test_unknown_tool_and_multi_handoff),
		cmocka_unit_test(test_error_mid_stream),
		cmocka_unit_test(test_after_and_times),
		cmocka_unit_test(test_faults_on_discovery),
		cmocka_unit_test(test_bad_fault_header),
		cmocka_unit_test(test_fault_logged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

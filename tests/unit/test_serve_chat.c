/*
 * test_serve_chat.c - POST /v1/chat/completions of a real handoff-serve
 * (started on port 0 with --ready-file) against the real mock endpoint
 * (in this process, request log in memory), over loopback with libcurl:
 * sticky sessions across requests, stateless history, streaming with
 * include_usage, 409 on a busy session, a disconnect that cancels its turn,
 * upstream failures mapped to 502/504 with nothing stored.
 */
#include "support.h"
#include "support_serve.h"

#include <curl/curl.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

typedef ts_served served;

/* --grace 10s: a stop never cuts a turn these tests wait for. */
static const char *const grace[] = { "--grace", "10s", NULL };

/* POST body to /v1/chat/completions with an optional session header. */
static void chat(tm_resp *r, served *s, const char *session, const char *body)
{
	char url[256], hdr[256];
	const char *headers[] = { "Content-Type: application/json", session ? hdr : NULL, NULL };

	snprintf(url, sizeof(url), "%s/v1/chat/completions", s->url);
	snprintf(hdr, sizeof(hdr), "X-Handoff-Session: %s", session ? session : "");
	tm_http(r, "POST", url, body, headers, 30000);
}


/* The "handoff" member of j, printed compactly (owned). */
static void assert_handoff(cJSON *j, const char *want)
{
	char *text = cJSON_PrintUnformatted(cJSON_GetObjectItem(j, "handoff"));
	assert_string_equal(text, want);
	free(text);
}

static const char *content_of(cJSON *j)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "message"),
		"content"));
}

static void test_sticky_session_across_requests(void **state)
{
	served s;
	tm_resp r;
	cJSON *j, *body, *msgs;
	char *agent_hdr, holder[128];
	size_t before;
	(void)state;

	ts_serve_start(&s, NULL, NULL, grace);
	chat(&r, &s, "conv-1", "{\"model\":\"support\",\"messages\":[{\"role\":\"user\","
	                       "\"content\":\"Hola, ¿cómo estás?\"}]}");
	assert_int_equal(r.status, 200);
	agent_hdr = tm_header(&r, "X-Handoff-Agent");
	assert_string_equal(agent_hdr, "Spanish%20agent");
	free(agent_hdr);
	j = tm_json(&r);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "object")), "chat.completion");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "model")), "support");
	assert_non_null(content_of(j));
	assert_handoff(j, "{\"agent\":\"Spanish agent\",\"handoffs\":[{\"from\":\"Triage agent\","
	                    "\"to\":\"Spanish agent\"}]}");
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "usage"), "total_tokens")->valueint >
	                 0, 1);
	cJSON_Delete(j);
	tm_resp_dispose(&r);
	assert_int_equal(ts_serve_stored(&s, "conv-1", holder, sizeof(holder)), 4);
	assert_string_equal(holder, "Spanish agent");

	/* The second request resends the history, as clients do: only the
	 * trailing user message is new, and the turn starts at the Spanish
	 * agent (one model call, with the stored history). */
	before = hf_mock_log_count(s.mock);
	chat(&r, &s, "conv-1", "{\"model\":\"support\",\"messages\":["
	                       "{\"role\":\"system\",\"content\":\"IGNORED SYSTEM\"},"
	                       "{\"role\":\"user\",\"content\":\"Hola, ¿cómo estás?\"},"
	                       "{\"role\":\"assistant\",\"content\":\"CLIENT COPY\"},"
	                       "{\"role\":\"user\",\"content\":\"¿Dónde está mi pedido?\"}]}");
	assert_int_equal(r.status, 200);
	j = tm_json(&r);
	assert_handoff(j, "{\"agent\":\"Spanish agent\",\"handoffs\":[]}");
	cJSON_Delete(j);
	tm_resp_dispose(&r);
	assert_int_equal(hf_mock_log_count(s.mock), before + 1);
	body = tm_log_body(s.mock, before);
	msgs = cJSON_GetObjectItem(body, "messages");
	{
		char *text = cJSON_PrintUnformatted(msgs);
		assert_false(ts_contains(text, "IGNORED SYSTEM"));
		assert_false(ts_contains(text, "CLIENT COPY"));
		assert_true(ts_contains(text, "¿Dónde está mi pedido?"));
		free(text);
	}
	/* system (the Spanish agent's instructions), 4 stored, the new one */
	assert_int_equal(cJSON_GetArraySize(msgs), 6);
	cJSON_Delete(body);
	assert_int_equal(ts_serve_stored(&s, "conv-1", NULL, 0), 6);
	ts_serve_stop(&s);
}

static void test_stateless_stores_nothing(void **state)
{
	served s;
	tm_resp r;
	cJSON *body, *msgs, *j;
	hf_store *st = NULL;
	hf_error err;
	char *text;
	(void)state;

	ts_serve_start(&s, NULL, NULL, grace);
	chat(&r, &s, NULL, "{\"model\":\"support\",\"temperature\":0.3,\"user\":\"u1\",\"messages\":["
	                   "{\"role\":\"system\",\"content\":\"CLIENT SYSTEM\"},"
	                   "{\"role\":\"user\",\"content\":\"Hello\"},"
	                   "{\"role\":\"assistant\",\"content\":\"EARLIER ANSWER\"},"
	                   "{\"role\":\"user\",\"content\":\"How are you today?\"}]}");
	assert_int_equal(r.status, 200);
	j = tm_json(&r);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
		                    cJSON_GetObjectItem(j, "handoff"), "agent")), "English agent");
	cJSON_Delete(j);
	assert_null(tm_header(&r, "X-Handoff-Session"));
	tm_resp_dispose(&r);
	/* The entry agent got the client's history without its system message. */
	body = tm_log_body(s.mock, 0);
	msgs = cJSON_GetObjectItem(body, "messages");
	text = cJSON_PrintUnformatted(msgs);
	assert_false(ts_contains(text, "CLIENT SYSTEM"));
	assert_true(ts_contains(text, "EARLIER ANSWER"));
	assert_int_equal(cJSON_GetArraySize(msgs), 4); /* Triage's system, 3 of the client */
	free(text);
	cJSON_Delete(body);
	assert_int_equal(hf_store_open_sqlite_readonly(&st, s.db, &err), 0);
	assert_int_equal(hf_store_latest(&text, st, &err), HF_ENOTFOUND);
	hf_store_free(st);
	ts_serve_stop(&s);
}

static void test_streaming_chunks_and_usage(void **state)
{
	served s;
	tm_resp r;
	char **ev, *ct, *agent;
	size_t n, i;
	char id[128] = "", text[512] = "";
	(void)state;

	ts_serve_start(&s, NULL, NULL, grace);
	chat(&r, &s, "conv-s", "{\"model\":\"support\",\"stream\":true,\"stream_options\":"
	                       "{\"include_usage\":true},\"messages\":[{\"role\":\"user\","
	                       "\"content\":\"Hello, how are you?\"}]}");
	assert_int_equal(r.status, 200);
	ct = tm_header(&r, "Content-Type");
	assert_true(ts_contains(ct, "text/event-stream"));
	free(ct);
	agent = tm_header(&r, "X-Handoff-Agent");
	assert_string_equal(agent, "English%20agent"); /* the agent of the first text */
	free(agent);
	ev = tm_sse_data(r.body, r.len, &n);
	assert_true(n >= 5);
	assert_string_equal(ev[n - 1], "[DONE]");
	for (i = 0; i + 1 < n; i++) {
		cJSON *c = cJSON_Parse(ev[i]), *choices = cJSON_GetObjectItem(c, "choices");
		cJSON *ch = cJSON_GetArrayItem(choices, 0), *delta = cJSON_GetObjectItem(ch, "delta");
		const char *cid = cJSON_GetStringValue(cJSON_GetObjectItem(c, "id"));
		assert_non_null(c);
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(c, "object")),
		                    "chat.completion.chunk");
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(c, "model")), "support");
		assert_true(cJSON_IsNumber(cJSON_GetObjectItem(c, "created")));
		assert_non_null(cid);
		if (!*id)
			snprintf(id, sizeof(id), "%s", cid);
		assert_string_equal(cid, id); /* one id for the whole stream */
		assert_int_equal(strncmp(id, "chatcmpl-", 9), 0);
		if (i == 0) {
			assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(delta, "role")),
			                    "assistant");
		} else if (i < n - 3) {
			assert_true(cJSON_IsNull(cJSON_GetObjectItem(ch, "finish_reason")));
			strncat(text, cJSON_GetStringValue(cJSON_GetObjectItem(delta, "content")),
			        sizeof(text) - strlen(text) - 1);
		} else if (i == n - 3) {
			assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(ch, "finish_reason")),
			                    "stop");
			assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
				                    cJSON_GetObjectItem(c, "handoff"), "agent")), "English agent");
		} else { /* the usage chunk */
			cJSON *u = cJSON_GetObjectItem(c, "usage");
			assert_int_equal(cJSON_GetArraySize(choices), 0);
			assert_true(cJSON_GetObjectItem(u, "total_tokens")->valuedouble > 0);
			assert_true(cJSON_GetObjectItem(u, "total_tokens")->valuedouble ==
			            cJSON_GetObjectItem(u, "prompt_tokens")->valuedouble +
			            cJSON_GetObjectItem(u, "completion_tokens")->valuedouble);
		}
		cJSON_Delete(c);
	}
	assert_true(ts_contains(text, "English"));
	tm_strv_free(ev);
	tm_resp_dispose(&r);
	assert_int_equal(ts_serve_stored(&s, "conv-s", NULL, 0), 4);
	ts_serve_stop(&s);
}

/* ---- a request on its own thread, which can hang up ---- */

typedef struct bg {
	served *s;
	const char *session;
	atomic_bool hang_up;
	long status;
	int curl_code;
	pthread_t th;
} bg;

static size_t sink(char *p, size_t sz, size_t n, void *u)
{
	(void)p;
	(void)u;
	return sz * n;
}

static int progress(void *u, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	bg *g = u;
	(void)a, (void)b, (void)c, (void)d;
	return atomic_load(&g->hang_up) ? 1 : 0;
}

static void *bg_run(void *arg)
{
	bg *g = arg;
	CURL *h = curl_easy_init();
	struct curl_slist *hl = NULL;
	char url[256], hdr[256];

	snprintf(url, sizeof(url), "%s/v1/chat/completions", g->s->url);
	snprintf(hdr, sizeof(hdr), "X-Handoff-Session: %s", g->session);
	hl = curl_slist_append(hl, hdr);
	hl = curl_slist_append(hl, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS,
	                 "{\"model\":\"support\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, g);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)TS_SAFETY_MS);
	g->curl_code = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &g->status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	return NULL;
}


static bool one_in_flight(void *arg)
{
	return ts_serve_in_flight(arg) == 1;
}

static bool none_in_flight(void *arg)
{
	return ts_serve_in_flight(arg) == 0;
}

/* The mock has received the first upstream call: the scenario's stall is
 * taken by the busy turn, not by a later one (serve counts a turn in
 * flight before its request reaches the mock). */
static bool upstream_reached(void *arg)
{
	served *s = arg;
	return hf_mock_log_count(s->mock) >= 1;
}

static void test_busy_session_409_and_disconnect_cancels(void **state)
{
	served s;
	tm_resp r;
	bg g = { 0 };
	cJSON *j;
	(void)state;

	/* The first upstream call stalls: the turn stays busy. */
	ts_serve_start(&s, "[{\"fault\":\"stall;ms=60000\"}]", NULL, grace);
	g.s = &s;
	g.session = "conv-busy";
	assert_int_equal(pthread_create(&g.th, NULL, bg_run, &g), 0);
	ts_wait_until(one_in_flight, &s, "the first turn in flight");
	ts_wait_until(upstream_reached, &s, "the first turn's call at the mock");

	chat(&r, &s, "conv-busy", "{\"model\":\"support\",\"messages\":[{\"role\":\"user\","
	                          "\"content\":\"Hello again\"}]}");
	assert_int_equal(r.status, 409);
	j = tm_json(&r);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"),
	                                                             "code")), "session_busy");
	cJSON_Delete(j);
	tm_resp_dispose(&r);
	/* Another session is not blocked by it. */
	chat(&r, &s, "conv-other", "{\"model\":\"support\",\"messages\":[{\"role\":\"user\","
	                           "\"content\":\"Hello\"}]}");
	assert_int_equal(r.status, 200);
	tm_resp_dispose(&r);

	/* The client hangs up: its turn is cancelled, nothing is stored. */
	atomic_store(&g.hang_up, true);
	pthread_join(g.th, NULL);
	assert_int_equal(g.curl_code, CURLE_ABORTED_BY_CALLBACK);
	ts_wait_until(none_in_flight, &s, "the cancelled turn to end");
	assert_int_equal(ts_serve_stored(&s, "conv-busy", NULL, 0), -1);
	/* The session takes turns again. */
	chat(&r, &s, "conv-busy", "{\"model\":\"support\",\"messages\":[{\"role\":\"user\","
	                          "\"content\":\"Hello again\"}]}");
	assert_int_equal(r.status, 200);
	tm_resp_dispose(&r);
	assert_int_equal(ts_serve_stored(&s, "conv-busy", NULL, 0), 4);
	ts_serve_stop(&s);
}

/* An upstream failure on a stateful request: status and code, and the
 * session stays unstored. */
static void upstream_fails(const char *scenario, const char *const *env, bool stream, int status,
                           const char *code, const char *says)
{
	served s;
	tm_resp r;
	cJSON *j, *e;
	char body[256];

	ts_serve_start(&s, scenario, env, grace);
	snprintf(body, sizeof(body), "{\"model\":\"support\",\"stream\":%s,\"messages\":"
	                             "[{\"role\":\"user\",\"content\":\"Hello\"}]}",
	         stream ? "true" : "false");
	chat(&r, &s, "conv-f", body);
	assert_int_equal(r.status, status);
	j = tm_json(&r);
	e = cJSON_GetObjectItem(j, "error");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(e, "code")), code);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(e, "type")), "upstream_error");
	assert_true(ts_contains(cJSON_GetStringValue(cJSON_GetObjectItem(e, "message")), says));
	cJSON_Delete(j);
	tm_resp_dispose(&r);
	assert_int_equal(ts_serve_stored(&s, "conv-f", NULL, 0), -1);
	ts_serve_stop(&s);
}

static void test_upstream_500_is_502(void **state)
{
	(void)state;
	/* Three 500s: the first try and both retries. */
	upstream_fails("[{\"fault\":\"500\",\"repeat\":3}]", NULL, false, 502, "upstream_http",
	               "HTTP 500");
	upstream_fails("[{\"fault\":\"500\",\"repeat\":3}]", NULL, true, 502, "upstream_http",
	               "HTTP 500");
}

static void test_upstream_429_is_502(void **state)
{
	(void)state;
	upstream_fails("[{\"fault\":\"429;ms=10\",\"repeat\":3}]", NULL, false, 502, "upstream_http",
	               "HTTP 429");
}

static void test_upstream_timeout_is_504(void **state)
{
	static const char *const env[] = { "HANDOFF_TIMEOUT=0.3", NULL };
	(void)state;
	upstream_fails("[{\"fault\":\"stall;ms=20000\",\"repeat\":3}]", env, false, 504,
	               "upstream_timeout", "timed out");
}

/* A failure after the stream started: the text so far, an error chunk,
 * [DONE]; nothing stored. */
static void test_error_after_stream_started(void **state)
{
	served s;
	tm_resp r;
	char **ev;
	size_t n;
	cJSON *c, *e;
	(void)state;

	ts_serve_start(&s, "[{\"tool_calls\":[{\"id\":\"c1\",\"name\":\"transfer_to_english_agent\"}]},"
	                   "{\"content\":\"Hello there my good friend, how are you?\","
	                   "\"fault\":\"error-mid-stream\"}]", NULL, grace);
	chat(&r, &s, "conv-m", "{\"model\":\"support\",\"stream\":true,\"messages\":"
	                       "[{\"role\":\"user\",\"content\":\"Hello\"}]}");
	assert_int_equal(r.status, 200);
	ev = tm_sse_data(r.body, r.len, &n);
	assert_true(n >= 4);
	assert_true(ts_contains(ev[1], "\"content\":\"Hello \""));
	assert_string_equal(ev[n - 1], "[DONE]");
	c = cJSON_Parse(ev[n - 2]);
	e = cJSON_GetObjectItem(c, "error");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(e, "type")), "upstream_error");
	assert_true(ts_contains(cJSON_GetStringValue(cJSON_GetObjectItem(e, "message")),
	                        "mid_stream_error"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "choices")), 0);
	assert_false(ts_contains(r.body, "\"finish_reason\":\"stop\""));
	cJSON_Delete(c);
	tm_strv_free(ev);
	tm_resp_dispose(&r);
	assert_int_equal(ts_serve_stored(&s, "conv-m", NULL, 0), -1);
	ts_serve_stop(&s);
}

static void test_bad_requests(void **state)
{
	served s;
	tm_resp r;
	cJSON *j, *e;
	(void)state;

	ts_serve_start(&s, NULL, NULL, grace);
	chat(&r, &s, NULL, "{\"model\":\"nope\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
	assert_int_equal(r.status, 404);
	j = tm_json(&r);
	e = cJSON_GetObjectItem(j, "error");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(e, "code")), "model_not_found");
	assert_true(ts_contains(cJSON_GetStringValue(cJSON_GetObjectItem(e, "message")), "support"));
	cJSON_Delete(j);
	tm_resp_dispose(&r);
	chat(&r, &s, NULL, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
	assert_int_equal(r.status, 400);
	j = tm_json(&r);
	e = cJSON_GetObjectItem(j, "error");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(e, "param")), "model");
	cJSON_Delete(j);
	tm_resp_dispose(&r);
	assert_int_equal(hf_mock_log_count(s.mock), 0);
	ts_serve_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sticky_session_across_requests),
		cmocka_unit_test(test_stateless_stores_nothing),
		cmocka_unit_test(test_streaming_chunks_and_usage),
		cmocka_unit_test(test_busy_session_409_and_disconnect_cancels),
		cmocka_unit_test(test_upstream_500_is_502),
		cmocka_unit_test(test_upstream_429_is_502),
		cmocka_unit_test(test_upstream_timeout_is_504),
		cmocka_unit_test(test_error_after_stream_started),
		cmocka_unit_test(test_bad_requests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

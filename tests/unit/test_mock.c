/*
 * test_mock.c - `handoff mock` over real HTTP: routes, discovery with and
 * without filters, error envelopes, auth, the request log and its
 * redaction, latency, port 0, reset, the cap on request bodies held at
 * once, and the command line.
 */
#include "support_mock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char hello_en[] =
	"{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello, how are you?\"}]}";

/* The error envelope's code, asserting its shape. Owned. */
static char *error_code(const tm_resp *r)
{
	cJSON *j = tm_json(r), *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	char *code;
	assert_true(cJSON_IsObject(e));
	assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "message")));
	assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "type")));
	assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "code")));
	code = strdup(cJSON_GetObjectItemCaseSensitive(e, "code")->valuestring);
	cJSON_Delete(j);
	return code;
}

static void assert_error(const tm_resp *r, long status, const char *code)
{
	char *c;
	assert_int_equal(r->status, status);
	c = error_code(r);
	assert_string_equal(c, code);
	free(c);
}

/* Comma-joined values of key over the array data (owned). */
static char *join(const cJSON *data, const char *key)
{
	const cJSON *item;
	char *out = calloc(1, 4096);
	cJSON_ArrayForEach(item, data) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, key);
		assert_true(cJSON_IsString(v));
		if (*out)
			strcat(out, ",");
		strncat(out, v->valuestring, 4000 - strlen(out));
	}
	return out;
}

/* GET path and check the comma-joined `key` of its "data" list. */
static void expect_list(hf_mock *m, const char *path, const char *key, const char *want)
{
	tm_resp r;
	cJSON *j;
	char *got;
	tm_get(&r, m, path);
	assert_int_equal(r.status, 200);
	j = tm_json(&r);
	got = join(cJSON_GetObjectItem(j, "data"), key);
	if (strcmp(got, want))
		fail_msg("%s: %s is '%s', expected '%s'", path, key, got, want);
	free(got);
	cJSON_Delete(j);
	tm_resp_dispose(&r);
}

static void test_port_zero_and_url(void **state)
{
	hf_mock *a = tm_start(NULL), *b = tm_start(NULL);
	char expect[64];
	(void)state;
	assert_true(hf_mock_port(a) > 0);
	assert_true(hf_mock_port(b) > 0);
	assert_int_not_equal(hf_mock_port(a), hf_mock_port(b));
	snprintf(expect, sizeof(expect), "http://127.0.0.1:%u", hf_mock_port(a));
	assert_string_equal(hf_mock_url(a), expect);
	hf_mock_stop(a);
	hf_mock_stop(b);
}

static void test_refuses_other_hosts_and_busy_ports(void **state)
{
	hf_mock_options o = { 0 };
	hf_mock *m = NULL, *busy = tm_start(NULL);
	hf_error err;
	(void)state;
	o.host = "0.0.0.0";
	assert_int_equal(hf_mock_start(&m, &o, &err), HF_EINVAL);
	assert_null(m);
	assert_true(ts_contains(err.message, "loopback"));
	o.host = NULL;
	o.port = hf_mock_port(busy);
	assert_int_equal(hf_mock_start(&m, &o, &err), HF_ENET);
	assert_true(ts_contains(err.message, "cannot listen on 127.0.0.1"));
	hf_mock_stop(busy);
}

/* The installed header's options: HF_MOCK_OPTIONS_INIT and a zeroed struct
 * start a mock; options from a newer header are refused. */
static void test_options_version(void **state)
{
	hf_mock_options o = HF_MOCK_OPTIONS_INIT;
	hf_mock *m = NULL;
	hf_error err;
	(void)state;
	assert_int_equal(hf_mock_start(&m, &o, &err), HF_OK);
	hf_mock_stop(m);
	m = NULL;
	o.version = HF_MOCK_OPTIONS_VERSION + 1;
	assert_int_equal(hf_mock_start(&m, &o, &err), HF_EINVAL);
	assert_null(m);
	assert_true(ts_contains(err.message, "hf_mock_options version 3"));
}

static void test_ipv6_loopback(void **state)
{
	hf_mock_options o = { 0 };
	hf_mock *m = NULL;
	hf_error err;
	tm_resp r;
	char *url;
	(void)state;
	o.host = "::1";
	if (hf_mock_start(&m, &o, &err)) { /* no IPv6 on this host */
		assert_int_equal(err.code, HF_ENET);
		skip();
	}
	assert_true(ts_contains(hf_mock_url(m), "http://[::1]:"));
	url = tm_base_url(m, "/v1/models");
	tm_http(&r, "GET", url, NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	tm_resp_dispose(&r);
	free(url);
	hf_mock_stop(m);
}

static void test_chat_reply_shape(void **state)
{
	hf_mock *m = tm_start(NULL);
	const char *paths[] = { "/v1/chat/completions", "/compute/chat/completions" };
	size_t i;
	(void)state;
	for (i = 0; i < 2; i++) {
		tm_resp r;
		cJSON *j, *choice, *msg, *usage;
		char *ctype, id[32];
		tm_post(&r, m, paths[i], hello_en, NULL);
		assert_int_equal(r.status, 200);
		ctype = tm_header(&r, "Content-Type");
		assert_string_equal(ctype, "application/json");
		free(ctype);
		j = tm_json(&r);
		snprintf(id, sizeof(id), "chatcmpl-mock-%zu", i + 1);
		assert_string_equal(cJSON_GetObjectItem(j, "id")->valuestring, id);
		assert_string_equal(cJSON_GetObjectItem(j, "object")->valuestring, "chat.completion");
		assert_true(cJSON_IsNumber(cJSON_GetObjectItem(j, "created")));
		assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "gpt-4o");
		choice = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
		assert_int_equal(cJSON_GetObjectItem(choice, "index")->valueint, 0);
		assert_string_equal(cJSON_GetObjectItem(choice, "finish_reason")->valuestring, "stop");
		msg = cJSON_GetObjectItem(choice, "message");
		assert_string_equal(cJSON_GetObjectItem(msg, "role")->valuestring, "assistant");
		assert_string_equal(cJSON_GetObjectItem(msg, "content")->valuestring,
		                    "Hello! I'm happy to help you in English.");
		assert_null(cJSON_GetObjectItem(msg, "tool_calls"));
		usage = cJSON_GetObjectItem(j, "usage");
		/* 4 per message + bytes/4 rounded up: 4 + 5; reply 40 bytes: 10 */
		assert_int_equal(cJSON_GetObjectItem(usage, "prompt_tokens")->valueint, 9);
		assert_int_equal(cJSON_GetObjectItem(usage, "completion_tokens")->valueint, 10);
		assert_int_equal(cJSON_GetObjectItem(usage, "total_tokens")->valueint, 19);
		cJSON_Delete(j);
		tm_resp_dispose(&r);
	}
	hf_mock_stop(m);
}

static void test_chat_bad_requests(void **state)
{
	hf_mock *m = tm_start(NULL);
	tm_resp r;
	cJSON *body;
	(void)state;
	tm_post(&r, m, "/v1/chat/completions", "{not json", NULL);
	assert_error(&r, 400, "invalid_json");
	tm_resp_dispose(&r);
	tm_post(&r, m, "/v1/chat/completions", "{\"model\":\"gpt-4o\"}", NULL);
	assert_error(&r, 400, "invalid_request");
	tm_resp_dispose(&r);
	/* a body that is not JSON is logged raw */
	body = tm_log_body(m, 0);
	assert_string_equal(cJSON_GetObjectItem(body, "_raw")->valuestring, "{not json");
	cJSON_Delete(body);
	hf_mock_stop(m);
}

static void test_unknown_route_and_method(void **state)
{
	hf_mock *m = tm_start(NULL);
	tm_resp r;
	char *url, *allow;
	(void)state;
	tm_get(&r, m, "/v2/whatever");
	assert_error(&r, 404, "not_found");
	tm_resp_dispose(&r);
	tm_get(&r, m, "/v1/chat/completions");
	assert_error(&r, 405, "method_not_allowed");
	tm_resp_dispose(&r);
	url = tm_base_url(m, "/compute/models");
	tm_http(&r, "POST", url, "{}", NULL, 0);
	assert_error(&r, 405, "method_not_allowed");
	allow = tm_header(&r, "Allow");
	assert_string_equal(allow, "GET");
	free(allow);
	tm_resp_dispose(&r);
	free(url);
	hf_mock_stop(m);
}

static void test_v1_models_and_no_catalogue(void **state)
{
	hf_mock *m = tm_start(NULL);
	tm_resp r;
	cJSON *j, *first;
	(void)state;
	/* one entry per model id, though llama and deepseek have two providers */
	expect_list(m, "/v1/models", "id",
	            "gpt-4o,gpt-4o-mini,llama-3.1-70b-instruct,deepseek-r1,qwen2.5-72b");
	tm_get(&r, m, "/v1/models");
	j = tm_json(&r);
	assert_string_equal(cJSON_GetObjectItem(j, "object")->valuestring, "list");
	first = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "data"), 0);
	assert_string_equal(cJSON_GetObjectItem(first, "object")->valuestring, "model");
	assert_string_equal(cJSON_GetObjectItem(first, "owned_by")->valuestring, "OpenAI");
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(first, "created")));
	cJSON_Delete(j);
	tm_resp_dispose(&r);

	tm_get(&r, m, "/v1/providers");
	assert_error(&r, 404, "not_found");
	assert_true(ts_contains(r.body, "no provider catalogue"));
	tm_resp_dispose(&r);
	tm_get(&r, m, "/v1/modelDetail?model=gpt-4o");
	assert_error(&r, 404, "not_found");
	tm_resp_dispose(&r);
	hf_mock_stop(m);
}

static void test_compute_models(void **state)
{
	hf_mock *m = tm_start(NULL);
	tm_resp r;
	cJSON *j, *first;
	(void)state;
	expect_list(m, "/compute/models", "provider",
	            "OpenAI,OpenAI,Together,Lepton,DeepSeek,Together,Nébula Compute");
	tm_get(&r, m, "/compute/models");
	j = tm_json(&r);
	first = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "data"), 0);
	assert_string_equal(cJSON_GetObjectItem(first, "name")->valuestring, "GPT-4o");
	assert_int_equal(cJSON_GetObjectItem(first, "context_length")->valueint, 128000);
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(first, "compute_providers")));
	assert_null(cJSON_GetObjectItem(first, "pricing")); /* detail only */
	cJSON_Delete(j);
	tm_resp_dispose(&r);

	/* the filter matches case-insensitively, accents included */
	expect_list(m, "/compute/models?provider=together", "id",
	            "llama-3.1-70b-instruct,deepseek-r1");
	expect_list(m, "/compute/models?provider=N%C3%89BULA%20COMPUTE", "name",
	            "通义千问 Qwen2.5 72B");

	tm_get(&r, m, "/compute/models?provider=Nowhere");
	assert_error(&r, 404, "provider_not_found");
	assert_true(ts_contains(r.body, "Nowhere"));
	tm_resp_dispose(&r);
	hf_mock_stop(m);
}

static void test_compute_providers(void **state)
{
	hf_mock *m = tm_start(NULL);
	tm_resp r;
	cJSON *j, *first;
	(void)state;
	expect_list(m, "/compute/providers", "name", "OpenAI,Together,Lepton,DeepSeek,Nébula Compute");
	tm_get(&r, m, "/compute/providers");
	j = tm_json(&r);
	first = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "data"), 0);
	assert_true(cJSON_IsString(cJSON_GetObjectItem(first, "description")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(first, "models")), 2);
	cJSON_Delete(j);
	tm_resp_dispose(&r);

	expect_list(m, "/compute/providers?model=deepseek-r1", "name", "Together,DeepSeek");
	tm_get(&r, m, "/compute/providers?model=gpt-5");
	assert_error(&r, 404, "model_not_found");
	tm_resp_dispose(&r);
	hf_mock_stop(m);
}

static void test_compute_model_detail(void **state)
{
	hf_mock *m = tm_start(NULL);
	tm_resp r;
	cJSON *j, *req;
	(void)state;
	tm_get(&r, m, "/compute/modelDetail?model=llama-3.1-70b-instruct&provider=Lepton");
	assert_int_equal(r.status, 200);
	j = tm_json(&r);
	assert_string_equal(cJSON_GetObjectItem(j, "id")->valuestring, "llama-3.1-70b-instruct");
	assert_string_equal(cJSON_GetObjectItem(j, "provider")->valuestring, "Lepton");
	assert_true(cJSON_IsString(cJSON_GetObjectItem(j, "description")));
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(j, "context_length")));
	assert_true(cJSON_IsObject(cJSON_GetObjectItem(j, "pricing")));
	req = cJSON_GetObjectItem(j, "requirements");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(req, "body"), "compute_provider")
	                            ->valuestring,
	                    "Lepton");
	assert_true(cJSON_IsString(
	        cJSON_GetObjectItem(cJSON_GetObjectItem(req, "headers"), "OpenAI-Organization")));
	cJSON_Delete(j);
	tm_resp_dispose(&r);

	/* without a provider: the model's first pair */
	tm_get(&r, m, "/compute/modelDetail?model=llama-3.1-70b-instruct");
	j = tm_json(&r);
	assert_string_equal(cJSON_GetObjectItem(j, "provider")->valuestring, "Together");
	cJSON_Delete(j);
	tm_resp_dispose(&r);

	tm_get(&r, m, "/compute/modelDetail");
	assert_error(&r, 400, "missing_parameter");
	tm_resp_dispose(&r);
	tm_get(&r, m, "/compute/modelDetail?model=nope");
	assert_error(&r, 404, "model_not_found");
	tm_resp_dispose(&r);
	tm_get(&r, m, "/compute/modelDetail?model=gpt-4o&provider=Nowhere");
	assert_error(&r, 404, "provider_not_found");
	tm_resp_dispose(&r);
	tm_get(&r, m, "/compute/modelDetail?model=gpt-4o&provider=Lepton");
	assert_error(&r, 404, "model_not_found");
	assert_true(ts_contains(r.body, "not offered by provider"));
	tm_resp_dispose(&r);
	hf_mock_stop(m);
}

static void test_catalogue_file(void **state)
{
	hf_mock_options o = { 0 };
	hf_mock *m;
	hf_error err;
	(void)state;
	o.catalogue = HF_TEST_DATA "/mock/catalogue_small.json";
	m = tm_start(&o);
	expect_list(m, "/compute/models", "id", "tiny-1,tiny-2");
	/* a provider named only by a model still lists */
	expect_list(m, "/compute/providers", "name", "Acme,Zeta");
	hf_mock_stop(m);

	m = NULL;
	o.catalogue = HF_TEST_DATA "/mock/catalogue_bad.json";
	assert_int_equal(hf_mock_start(&m, &o, &err), HF_ECONFIG);
	assert_true(ts_contains(err.message, "catalogue_bad.json: models[1]"));
	o.catalogue = HF_TEST_DATA "/mock/no_such_file.json";
	assert_int_equal(hf_mock_start(&m, &o, &err), HF_ENOTFOUND);
	assert_null(m);
}

static void test_auth(void **state)
{
	hf_mock_options o = { 0 };
	hf_mock *m;
	tm_resp r;
	const char *bearer[] = { "Authorization: Bearer sk-mock-sentinel-1234", NULL };
	const char *xkey[] = { "x-api-key: sk-mock-sentinel-1234", NULL };
	const char *wrong[] = { "Authorization: Bearer sk-wrong", NULL };
	size_t i;
	(void)state;
	o.require_key = "sk-mock-sentinel-1234";
	m = tm_start(&o);
	tm_post(&r, m, "/v1/chat/completions", hello_en, NULL);
	assert_error(&r, 401, "invalid_api_key");
	tm_resp_dispose(&r);
	tm_post(&r, m, "/v1/chat/completions", hello_en, wrong);
	assert_error(&r, 401, "invalid_api_key");
	assert_false(ts_contains(r.body, "sk-"));
	tm_resp_dispose(&r);
	tm_post(&r, m, "/v1/chat/completions", hello_en, bearer);
	assert_int_equal(r.status, 200);
	tm_resp_dispose(&r);
	tm_post(&r, m, "/compute/chat/completions", hello_en, xkey);
	assert_int_equal(r.status, 200);
	tm_resp_dispose(&r);
	/* the key never reaches the log */
	for (i = 0; i < hf_mock_log_count(m); i++) {
		char *line = hf_mock_log_get(m, i);
		assert_false(ts_contains(line, "sentinel"));
		hf_free(line);
	}
	hf_mock_stop(m);
}

static void test_log_format_and_redaction(void **state)
{
	hf_mock *m = tm_start(NULL);
	const char *headers[] = { "Authorization: Bearer sk-secret-999", "X-Api-Key: sk-secret-999",
		                      "OpenAI-Organization: OpenAI", NULL };
	tm_resp r;
	cJSON *e, *h, *q;
	char *url;
	(void)state;
	tm_post(&r, m, "/v1/chat/completions", hello_en, headers);
	tm_resp_dispose(&r);
	url = tm_base_url(m, "/compute/models?provider=Lepton");
	tm_http(&r, "GET", url, NULL, headers, 0);
	tm_resp_dispose(&r);
	free(url);
	assert_int_equal(hf_mock_log_count(m), 2);

	e = tm_log_entry(m, 0);
	assert_int_equal(cJSON_GetObjectItem(e, "seq")->valueint, 1);
	assert_string_equal(cJSON_GetObjectItem(e, "method")->valuestring, "POST");
	assert_string_equal(cJSON_GetObjectItem(e, "path")->valuestring, "/v1/chat/completions");
	assert_int_equal(cJSON_GetObjectItem(e, "status")->valueint, 200);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "fault")));
	h = cJSON_GetObjectItem(e, "headers");
	assert_string_equal(cJSON_GetObjectItem(h, "authorization")->valuestring, "[redacted]");
	assert_string_equal(cJSON_GetObjectItem(h, "x-api-key")->valuestring, "[redacted]");
	assert_string_equal(cJSON_GetObjectItem(h, "openai-organization")->valuestring, "OpenAI");
	assert_string_equal(cJSON_GetObjectItem(h, "content-type")->valuestring, "application/json");
	/* the body as parsed JSON, exactly as sent */
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "body"), "model")->valuestring,
	                    "gpt-4o");
	cJSON_Delete(e);

	e = tm_log_entry(m, 1);
	assert_int_equal(cJSON_GetObjectItem(e, "seq")->valueint, 2);
	q = cJSON_GetObjectItem(e, "query");
	assert_string_equal(cJSON_GetObjectItem(q, "provider")->valuestring, "Lepton");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "body")));
	cJSON_Delete(e);

	hf_mock_log_clear(m);
	assert_int_equal(hf_mock_log_count(m), 0);
	assert_null(hf_mock_log_get(m, 0));
	hf_mock_stop(m);
}

static void test_log_file(void **state)
{
	char *dir = ts_tmpdir(), *path = ts_path(dir, "requests.jsonl"), *text, *nl;
	hf_mock_options o = { 0 };
	const char *headers[] = { "Authorization: Bearer sk-file-secret", NULL };
	hf_mock *m;
	tm_resp r;
	cJSON *e;
	(void)state;
	o.log_path = path;
	m = tm_start(&o);
	tm_post(&r, m, "/v1/chat/completions", hello_en, headers);
	tm_resp_dispose(&r);
	tm_get(&r, m, "/v1/models");
	tm_resp_dispose(&r);
	hf_mock_stop(m);
	text = ts_read(path, NULL);
	assert_non_null(text);
	assert_false(ts_contains(text, "sk-file-secret"));
	nl = strchr(text, '\n');
	assert_non_null(nl);
	*nl = '\0';
	e = cJSON_Parse(text);
	assert_non_null(e);
	assert_string_equal(cJSON_GetObjectItem(e, "path")->valuestring, "/v1/chat/completions");
	cJSON_Delete(e);
	e = cJSON_Parse(nl + 1);
	assert_non_null(e);
	assert_string_equal(cJSON_GetObjectItem(e, "path")->valuestring, "/v1/models");
	cJSON_Delete(e);
	free(text);
	ts_rmtree(dir);
	free(path);
	free(dir);
}

static void test_latency(void **state)
{
	hf_mock_options o = { 0 };
	hf_mock *m;
	tm_resp r;
	(void)state;
	o.latency_ms = 150;
	m = tm_start(&o);
	tm_post(&r, m, "/v1/chat/completions", hello_en, NULL);
	assert_int_equal(r.status, 200);
	assert_true(r.total_s >= 0.150);
	tm_resp_dispose(&r);
	tm_get(&r, m, "/compute/models");
	assert_int_equal(r.status, 200);
	assert_true(r.total_s >= 0.150);
	tm_resp_dispose(&r);
	hf_mock_stop(m);
}

static void test_stop_with_requests_waiting(void **state)
{
	hf_mock_options o = { 0 };
	hf_mock *m;
	tm_resp r;
	char *url;
	(void)state;
	/* A request still waits out a latency no test outlives: stopping must
	 * neither wait for it (the test would hang until CTest's timeout) nor
	 * leave its connection suspended. */
	o.latency_ms = 3600 * 1000;
	m = tm_start(&o);
	url = tm_base_url(m, "/v1/chat/completions");
	tm_http(&r, "POST", url, hello_en, NULL, 100); /* gives up after 100 ms */
	assert_int_equal(r.curl_code, 28);
	tm_resp_dispose(&r);
	hf_mock_stop(m);
	free(url);
}

static void test_reset_route(void **state)
{
	hf_mock *m = tm_start(NULL);
	tm_resp r;
	cJSON *j;
	(void)state;
	tm_post(&r, m, "/v1/chat/completions", hello_en, NULL);
	tm_resp_dispose(&r);
	tm_post(&r, m, "/mock/reset", NULL, NULL);
	assert_int_equal(r.status, 200);
	tm_resp_dispose(&r);
	tm_post(&r, m, "/v1/chat/completions", hello_en, NULL);
	j = tm_json(&r);
	/* ids restart */
	assert_string_equal(cJSON_GetObjectItem(j, "id")->valuestring, "chatcmpl-mock-1");
	cJSON_Delete(j);
	tm_resp_dispose(&r);
	hf_mock_stop(m);
}

/* A chat request whose body is about `size` bytes (owned). */
static char *chat_body(size_t size)
{
	static const char head[] = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\","
	                           "\"content\":\"Hello ";
	static const char tail[] = "\"}]}";
	char *b = malloc(size + 1);
	assert_non_null(b);
	assert_true(size > sizeof(head) + sizeof(tail));
	memcpy(b, head, sizeof(head) - 1);
	memset(b + sizeof(head) - 1, 'x', size - (sizeof(head) - 1) - (sizeof(tail) - 1));
	memcpy(b + size - (sizeof(tail) - 1), tail, sizeof(tail));
	return b;
}

/* Send a whole chat request of body `body` that stalls its reply for a
 * minute, on a raw connection, and return once the reply's headers came:
 * the mock has then received the body and holds it until the reply ends.
 * -1 (connection closed) when the reply was not a 200: a request that
 * just finished may not have given its bytes back yet. */
static int held_upload(hf_mock *m, const char *body)
{
	struct sockaddr_in a = { 0 };
	char head[256], got[4096];
	size_t n = 0, len = strlen(body);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	a.sin_family = AF_INET;
	a.sin_port = htons(hf_mock_port(m));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	snprintf(head, sizeof(head),
	         "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	         "Content-Type: application/json\r\nX-Mock-Fault: stall;ms=600000\r\n"
	         "Content-Length: %zu\r\n\r\n",
	         len);
	assert_int_equal(send(fd, head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
	assert_int_equal(send(fd, body, len, MSG_NOSIGNAL), (ssize_t)len);
	while (n < sizeof(got) - 1) {
		ssize_t k = recv(fd, got + n, sizeof(got) - 1 - n, 0);
		assert_true(k > 0);
		n += (size_t)k;
		got[n] = '\0';
		if (strstr(got, "\r\n\r\n"))
			break;
	}
	if (!ts_contains(got, "HTTP/1.1 200")) {
		assert_true(ts_contains(got, "HTTP/1.1 413"));
		close(fd);
		return -1;
	}
	return fd;
}

typedef struct hold {
	hf_mock *m;
	const char *body;
	int fd;
} hold;

static bool holds_upload(void *arg)
{
	hold *h = arg;
	return (h->fd = held_upload(h->m, h->body)) >= 0;
}

typedef struct post_ok {
	hf_mock *m;
	const char *body;
} post_ok;

static bool post_succeeds(void *arg)
{
	post_ok *p = arg;
	tm_resp r;
	bool ok;
	tm_post(&r, p->m, "/v1/chat/completions", p->body, NULL);
	ok = r.status == 200;
	tm_resp_dispose(&r);
	return ok;
}

/* hf_mock_options.max_bodies caps the request bodies held at once over all
 * connections: with two uploads held (a stalled reply keeps its body),
 * every further upload that would take the sum over the cap gets 413 and
 * what it sent is dropped at once (a small request still fits beside the
 * held ones, which it would not if the refused bytes were still counted);
 * a finished request gives its bytes back. */
static void test_max_bodies(void **state)
{
	hf_mock_options o = HF_MOCK_OPTIONS_INIT;
	hf_mock *m;
	char *body = chat_body(24 * 1024);
	post_ok p;
	tm_resp r;
	int held[2];
	size_t i;
	(void)state;
	o.max_bodies = 64 * 1024;
	m = tm_start(&o);
	p.m = m;
	p.body = body;

	/* One at a time, each finished request releases its bytes. */
	for (i = 0; i < 4; i++)
		ts_wait_until(post_succeeds, &p, "a 24 KiB request under a 64 KiB cap succeeds");

	for (i = 0; i < 2; i++) {
		hold h = { m, body, -1 };
		ts_wait_until(holds_upload, &h, "a held 24 KiB upload fits under the 64 KiB cap");
		held[i] = h.fd;
	}
	hf_mock_log_clear(m);
	for (i = 0; i < 3; i++) {
		tm_post(&r, m, "/v1/chat/completions", body, NULL);
		assert_error(&r, 413, "request_too_large");
		tm_resp_dispose(&r);
	}
	tm_post(&r, m, "/v1/chat/completions", hello_en, NULL);
	assert_int_equal(r.status, 200);
	tm_resp_dispose(&r);
	assert_int_equal(hf_mock_log_count(m), 4);

	for (i = 0; i < 2; i++)
		close(held[i]);
	hf_mock_stop(m);
	free(body);
}

static void test_cli(void **state)
{
	ts_proc p;
	const char *help[] = { "mock", "--help", NULL };
	const char *bad_port[] = { "mock", "--port", "70000", NULL };
	const char *bad_host[] = { "mock", "--host", "192.168.1.1", NULL };
	const char *no_env[] = { "mock", "--require-key", "HF_TEST_UNSET_VAR", NULL };
	const char *bad_cap[] = { "mock", "--max-bodies", "0", NULL };
	(void)state;
	ts_run_cli(&p, NULL, NULL, help);
	assert_int_equal(p.status, 0);
	assert_true(ts_contains(p.out, "--catalogue FILE"));
	assert_true(ts_contains(p.out, "X-Mock-Fault"));
	assert_true(ts_contains(p.out, "--max-bodies BYTES"));
	ts_proc_dispose(&p);
	ts_run_cli(&p, NULL, NULL, bad_port);
	assert_int_equal(p.status, 2);
	assert_true(ts_contains(p.err, "--port"));
	ts_proc_dispose(&p);
	ts_run_cli(&p, NULL, NULL, bad_host);
	assert_int_not_equal(p.status, 0);
	assert_true(ts_contains(p.err, "loopback"));
	ts_proc_dispose(&p);
	ts_run_cli(&p, NULL, NULL, no_env);
	assert_int_equal(p.status, 2);
	assert_true(ts_contains(p.err, "HF_TEST_UNSET_VAR"));
	ts_proc_dispose(&p);
	ts_run_cli(&p, NULL, NULL, bad_cap);
	assert_int_equal(p.status, 2);
	assert_true(ts_contains(p.err, "--max-bodies"));
	ts_proc_dispose(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_zero_and_url),
		cmocka_unit_test(test_refuses_other_hosts_and_busy_ports),
		cmocka_unit_test(test_options_version),
		cmocka_unit_test(test_ipv6_loopback),
		cmocka_unit_test(test_chat_reply_shape),
		cmocka_unit_test(test_chat_bad_requests),
		cmocka_unit_test(test_unknown_route_and_method),
		cmocka_unit_test(test_v1_models_and_no_catalogue),
		cmocka_unit_test(test_compute_models),
		cmocka_unit_test(test_compute_providers),
		cmocka_unit_test(test_compute_model_detail),
		cmocka_unit_test(test_catalogue_file),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_log_format_and_redaction),
		cmocka_unit_test(test_log_file),
		cmocka_unit_test(test_latency),
		cmocka_unit_test(test_stop_with_requests_waiting),
		cmocka_unit_test(test_reset_route),
		cmocka_unit_test(test_max_bodies),
		cmocka_unit_test(test_cli),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

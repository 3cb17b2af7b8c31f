/*
 * test_http_mock.c - the model client against the real local endpoint
 * (`handoff mock`, in-process on 127.0.0.1): the wire format read back from
 * the mock's request log, every fault for streaming and non-streaming
 * requests (retried or reported), timeouts, the size cap, cancellation,
 * connection reuse, and a sentinel key that must never show in any log,
 * trace or error.
 */
#include "support_client.h"

#include "call.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SENTINEL "sk-sentinel-XXXXXXXX"
#define MODEL "gpt-4o-mini"

static hf_mock *mock;
static char v1_url[128];

/* ---- fixtures ---- */

static int start_mock(void **state)
{
	(void)state;
	if (!(mock = tc_mock_start(SENTINEL)))
		return -1;
	snprintf(v1_url, sizeof(v1_url), "%s/v1", hf_mock_url(mock));
	return 0;
}

static int stop_mock(void **state)
{
	(void)state;
	tc_mock_stop(mock);
	return 0;
}

static int fresh(void **state)
{
	(void)state;
	tc_mock_fresh(mock);
	return 0;
}

/* Everything the library logs, for the sentinel check. */
static hf_buf logged;

static void capture(hf_log_level level, const char *msg, void *payload)
{
	(void)level;
	(void)payload;
	hf_buf_puts(&logged, msg);
	hf_buf_puts(&logged, "\n");
}

/* Client options for the mock with the sentinel key and, when fault is
 * set, an X-Mock-Fault header. `hdr` must outlive the client. */
static hf_client_options opts_for(const char *fault, char *hdr, size_t cap,
                                  const char **headers)
{
	hf_client_options o = HF_CLIENT_OPTIONS_INIT;
	o.base_url = v1_url;
	o.api_key = SENTINEL;
	if (fault) {
		snprintf(hdr, cap, "X-Mock-Fault: %s", fault);
		headers[0] = hdr;
		headers[1] = NULL;
		o.headers = headers;
	}
	return o;
}

/* What one hf_ask produced. */
typedef struct result {
	int rc;
	hf_error err;
	char *answer;
	hf_usage usage;
	hf_buf deltas;
	int ndeltas;
	int cancel_after;  /* > 0: cancel at this delta */
	bool saw_usage, saw_message;
	double seconds;
} result;

static int on_event(const hf_event *ev, void *payload)
{
	result *r = payload;
	if (ev->type == HF_EVENT_TEXT_DELTA) {
		hf_buf_append(&r->deltas, ev->text, ev->text_len);
		if (++r->ndeltas == r->cancel_after)
			return 1;
	} else if (ev->type == HF_EVENT_USAGE) {
		r->saw_usage = true;
	} else if (ev->type == HF_EVENT_MESSAGE) {
		r->saw_message = true;
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void ask_with(result *r, hf_client *c, hf_ask_options *ao, const char *input)
{
	double t0 = now_s();
	ao->on_event = on_event;
	ao->payload = r;
	if (!ao->model)
		ao->model = MODEL;
	r->rc = hf_ask(&r->answer, &r->usage, c, input, ao, &r->err);
	r->seconds = now_s() - t0;
}

/* One request with `fault` (NULL: none), streaming or not. */
static void ask(result *r, const char *fault, bool stream, hf_client_options *tweak)
{
	char hdr[256];
	const char *headers[2];
	hf_client_options o = opts_for(fault, hdr, sizeof(hdr), headers);
	hf_ask_options ao = HF_ASK_OPTIONS_INIT;
	hf_client *c;
	hf_error err;
	if (tweak) {
		o.max_retries = tweak->max_retries;
		o.idle_timeout_ms = tweak->idle_timeout_ms;
		o.timeout_ms = tweak->timeout_ms;
		o.max_response_bytes = tweak->max_response_bytes;
	}
	assert_int_equal(hf_client_new(&c, &o, NULL, &err), HF_OK);
	ao.stream = stream;
	ask_with(r, c, &ao, "Hello, how are you?");
	hf_client_free(c);
}

static void result_dispose(result *r)
{
	free(r->answer);
	hf_buf_dispose(&r->deltas);
}

static const char *header(const cJSON *entry, const char *name)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(entry, "headers"), name);
	return cJSON_IsString(h) ? h->valuestring : NULL;
}

static char *body_text(const cJSON *entry)
{
	return cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(entry, "body"));
}

/* ---- wire format ---- */

static void test_wire_format(void **state)
{
	hf_client_options o = HF_CLIENT_OPTIONS_INIT;
	hf_ask_options ao = HF_ASK_OPTIONS_INIT;
	result r = { 0 };
	hf_client *c;
	hf_error err;
	cJSON *e;
	char *body;
	(void)state;

	o.base_url = v1_url;
	o.api_key = SENTINEL;
	o.provider = "OpenAI";
	o.compute_provider = "Lepton";
	assert_int_equal(hf_client_new(&c, &o, NULL, &err), HF_OK);
	ao.stream = 0;
	ao.system = "Be brief.";
	ask_with(&r, c, &ao, "Hello there");
	assert_int_equal(r.rc, HF_OK);
	assert_true(strlen(r.answer) > 0);
	assert_true(r.saw_usage && r.saw_message);
	assert_int_equal(r.ndeltas, 0);
	assert_int_equal(r.usage.requests, 1);
	assert_true(r.usage.total_tokens > 0);

	assert_int_equal(hf_mock_log_count(mock), 1);
	e = tc_log_entry(mock, 0);
	assert_string_equal(cJSON_GetObjectItem(e, "method")->valuestring, "POST");
	assert_string_equal(cJSON_GetObjectItem(e, "path")->valuestring, "/v1/chat/completions");
	assert_string_equal(header(e, "authorization"), "[redacted]");
	assert_null(header(e, "x-api-key"));
	assert_string_equal(header(e, "openai-organization"), "OpenAI");
	assert_string_equal(header(e, "user-agent"), "handoff/" HF_VERSION_STRING);
	assert_string_equal(header(e, "content-type"), "application/json");
	assert_string_equal(header(e, "accept"), "application/json");
	body = body_text(e);
	assert_string_equal(body, "{\"messages\":[{\"content\":\"Be brief.\",\"role\":\"system\"},"
	                          "{\"role\":\"user\",\"content\":\"Hello there\"}],\"model\":"
	                          "\"gpt-4o-mini\",\"compute_provider\":\"Lepton\"}");
	free(body);
	cJSON_Delete(e);
	result_dispose(&r);

	/* Streaming; the ask options override the client's providers. */
	memset(&r, 0, sizeof(r));
	ao.stream = 1;
	ao.system = NULL;
	ao.provider = "Together";
	ao.compute_provider = "Together";
	ask_with(&r, c, &ao, "Hello there");
	assert_int_equal(r.rc, HF_OK);
	assert_true(r.ndeltas > 1);
	assert_string_equal(r.deltas.data, r.answer);
	assert_true(r.saw_usage);
	assert_true(r.usage.total_tokens > 0);
	e = tc_log_entry(mock, 1);
	assert_string_equal(header(e, "accept"), "text/event-stream");
	assert_string_equal(header(e, "openai-organization"), "Together");
	body = body_text(e);
	assert_string_equal(body, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}],"
	                          "\"model\":\"gpt-4o-mini\",\"stream\":true,"
	                          "\"stream_options\":{\"include_usage\":true},"
	                          "\"compute_provider\":\"Together\"}");
	free(body);
	cJSON_Delete(e);

	/* The second request reused the first one's connection. */
	{
		long connects = -1;
		curl_easy_getinfo(c->easy, CURLINFO_NUM_CONNECTS, &connects);
		assert_int_equal(connects, 0);
	}
	result_dispose(&r);

	/* Streaming with the client's own provider: the endpoint's shared
	 * headers, untouched by the override before. */
	memset(&r, 0, sizeof(r));
	ao.provider = NULL;
	ao.compute_provider = NULL;
	ask_with(&r, c, &ao, "Hello there");
	assert_int_equal(r.rc, HF_OK);
	e = tc_log_entry(mock, 2);
	assert_string_equal(header(e, "accept"), "text/event-stream");
	assert_string_equal(header(e, "openai-organization"), "OpenAI");
	assert_string_equal(header(e, "authorization"), "[redacted]");
	cJSON_Delete(e);
	result_dispose(&r);
	hf_client_free(c);
}

static void test_auth_headers(void **state)
{
	const char *const extra[] = { "X-Trace-Id: abc-123", NULL };
	hf_client_options o = HF_CLIENT_OPTIONS_INIT;
	hf_ask_options ao = HF_ASK_OPTIONS_INIT;
	result r = { 0 };
	hf_client *c;
	hf_error err;
	cJSON *e;
	(void)state;
	o.base_url = v1_url;
	o.api_key = SENTINEL;
	o.auth = HF_AUTH_X_API_KEY;
	o.headers = extra;
	assert_int_equal(hf_client_new(&c, &o, NULL, &err), HF_OK);
	ask_with(&r, c, &ao, "Hello");
	assert_int_equal(r.rc, HF_OK);
	e = tc_log_entry(mock, 0);
	assert_null(header(e, "authorization"));
	assert_string_equal(header(e, "x-api-key"), "[redacted]");
	assert_string_equal(header(e, "x-trace-id"), "abc-123");
	assert_null(header(e, "openai-organization"));
	cJSON_Delete(e);
	result_dispose(&r);
	hf_client_free(c);

	/* A wrong key: 401 from the mock, not retried, names what to check. */
	o.api_key = "sk-wrong";
	o.auth = HF_AUTH_BEARER | HF_AUTH_X_API_KEY;
	assert_int_equal(hf_client_new(&c, &o, NULL, &err), HF_OK);
	memset(&r, 0, sizeof(r));
	ask_with(&r, c, &ao, "Hello");
	assert_int_equal(r.rc, HF_EAUTH);
	assert_int_equal(r.err.http_status, 401);
	assert_true(ts_contains(r.err.message, "refused the API key (HTTP 401"));
	assert_true(ts_contains(r.err.message, "HANDOFF_API_KEY"));
	assert_false(ts_contains(r.err.message, "sk-wrong"));
	e = tc_log_entry(mock, 1);
	assert_string_equal(header(e, "authorization"), "[redacted]");
	assert_string_equal(header(e, "x-api-key"), "[redacted]");
	cJSON_Delete(e);
	assert_int_equal(hf_mock_log_count(mock), 2);
	result_dispose(&r);
	hf_client_free(c);
}

/* ---- faults, both modes ---- */

static void check_status_fault(const char *fault, int code, long status, bool stream)
{
	result r = { 0 };
	ask(&r, fault, stream, NULL);
	assert_int_equal(r.rc, code);
	assert_int_equal(r.err.http_status, status);
	assert_true(ts_contains(r.err.message, "mock fault"));
	assert_int_equal(hf_mock_log_count(mock), 1); /* not retried */
	result_dispose(&r);
	fresh(NULL);
}

static void test_fault_401_404(void **state)
{
	(void)state;
	check_status_fault("401", HF_EAUTH, 401, false);
	check_status_fault("401", HF_EAUTH, 401, true);
	check_status_fault("404", HF_ENOTFOUND, 404, false);
	check_status_fault("404", HF_ENOTFOUND, 404, true);
}

/* A fault that happens once is retried and the request succeeds. */
static void check_retried_once(const char *fault, bool stream, double min_s)
{
	result r = { 0 };
	ask(&r, fault, stream, NULL);
	assert_int_equal(r.rc, HF_OK);
	assert_true(strlen(r.answer) > 0);
	if (stream)
		assert_string_equal(r.deltas.data, r.answer);
	assert_int_equal(hf_mock_log_count(mock), 2);
	assert_true(r.seconds >= min_s);
	result_dispose(&r);
	fresh(NULL);
}

static void test_retry_then_success(void **state)
{
	int s;
	(void)state;
	for (s = 0; s < 2; s++) {
		check_retried_once("429;times=1", s, 0.95); /* Retry-After: 1 */
		check_retried_once("500;times=1", s, 0.3);  /* backoff >= 375 ms */
		check_retried_once("503;times=1", s, 0.3);
		check_retried_once("408;times=1", s, 0.3);
		check_retried_once("drop;times=1", s, 0.3);
	}
	/* A non-streaming body cut half-way is a transfer error: retried. */
	check_retried_once("drop-mid-stream;times=1", false, 0.3);
}

static void test_retry_after_honoured(void **state)
{
	result r = { 0 };
	(void)state;
	ask(&r, "429;times=1;ms=1500", false, NULL);
	assert_int_equal(r.rc, HF_OK);
	assert_true(r.seconds >= 1.45); /* waited at least as told (load only adds) */
	result_dispose(&r);
}

static void test_gave_up(void **state)
{
	char expect[256];
	result r = { 0 };
	(void)state;
	ask(&r, "429", false, NULL);
	assert_int_equal(r.rc, HF_EHTTP);
	assert_int_equal(r.err.http_status, 429);
	snprintf(expect, sizeof(expect), "HTTP 429 from %s/chat/completions: ", v1_url);
	assert_true(ts_contains(r.err.message, expect));
	assert_true(ts_contains(r.err.message, "rate_limit_exceeded"));
	assert_true(ts_contains(r.err.message, "mock fault 429: rate limit reached"));
	assert_true(ts_contains(r.err.message, "; gave up after 3 attempts"));
	assert_int_equal(hf_mock_log_count(mock), 3);
	result_dispose(&r);
	fresh(NULL);

	memset(&r, 0, sizeof(r));
	ask(&r, "503", true, &(hf_client_options){ .max_retries = 1 });
	assert_int_equal(r.rc, HF_EHTTP);
	assert_true(ts_contains(r.err.message, "gave up after 2 attempts"));
	assert_int_equal(hf_mock_log_count(mock), 2);
	result_dispose(&r);
}

static void test_drop_mid_stream_not_retried(void **state)
{
	result r = { 0 };
	(void)state;
	ask(&r, "drop-mid-stream", true, NULL);
	assert_int_equal(r.rc, HF_ENET);
	assert_true(r.ndeltas > 0);        /* text reached the caller ... */
	assert_int_equal(hf_mock_log_count(mock), 1); /* ... so no retry */
	assert_null(r.answer);
	result_dispose(&r);
}

static void test_bad_replies(void **state)
{
	static const char *const faults[] = { "truncated", "bad-utf8" };
	size_t i;
	int s;
	(void)state;
	for (i = 0; i < 2; i++) {
		for (s = 0; s < 2; s++) {
			result r = { 0 };
			ask(&r, faults[i], s, NULL);
			assert_int_equal(r.rc, HF_EPROTOCOL);
			assert_true(strlen(r.err.message) > 20);
			assert_int_equal(hf_mock_log_count(mock), 1);
			result_dispose(&r);
			fresh(NULL);
		}
	}
}

static void test_error_mid_stream(void **state)
{
	result r = { 0 };
	(void)state;
	ask(&r, "error-mid-stream", true, NULL);
	assert_int_equal(r.rc, HF_EHTTP);
	assert_true(ts_contains(r.err.message, "the stream from "));
	assert_int_equal(hf_mock_log_count(mock), 1);
	result_dispose(&r);
}

static void test_idle_timeout(void **state)
{
	hf_client_options t = { .max_retries = 0, .idle_timeout_ms = 300 };
	result r = { 0 };
	int s;
	(void)state;
	for (s = 0; s < 2; s++) {
		memset(&r, 0, sizeof(r));
		/* a stall no test outlives: only the idle timeout can end it */
		ask(&r, "stall;ms=600000", s, &t);
		assert_int_equal(r.rc, HF_ENET);
		assert_true(ts_contains(r.err.message, "no data for 0.3 s (idle timeout)"));
		assert_true(r.seconds >= 0.29);
		result_dispose(&r);
	}

	/* Idle timeouts are retried like other timeouts. */
	fresh(NULL);
	memset(&r, 0, sizeof(r));
	t.max_retries = 1;
	ask(&r, "stall;ms=5000;times=1", true, &t);
	assert_int_equal(r.rc, HF_OK);
	assert_int_equal(hf_mock_log_count(mock), 2);
	result_dispose(&r);
}

static void test_total_timeout(void **state)
{
	hf_client_options t = { .max_retries = 0, .timeout_ms = 500 };
	result r = { 0 };
	(void)state;
	ask(&r, "stall;ms=600000", false, &t); /* only the timeout can end it */
	assert_int_equal(r.rc, HF_ENET);
	assert_true(ts_contains(r.err.message, "timed out: Operation timed out after"));
	assert_true(r.seconds >= 0.49);
	result_dispose(&r);
}

static void test_oversize(void **state)
{
	hf_client_options t = { .max_retries = -1, .max_response_bytes = 64 * 1024 };
	int s;
	(void)state;
	for (s = 0; s < 2; s++) {
		result r = { 0 };
		ask(&r, "oversize;bytes=300000", s, &t);
		assert_int_equal(r.rc, HF_ELIMIT);
		assert_true(ts_contains(r.err.message, "exceeded the 64 KiB limit"));
		assert_int_equal(hf_mock_log_count(mock), 1);
		result_dispose(&r);
		fresh(NULL);
	}
}

static void test_cancel(void **state)
{
	hf_client_options o = HF_CLIENT_OPTIONS_INIT;
	hf_ask_options ao = HF_ASK_OPTIONS_INIT;
	volatile int flag = 1;
	result r = { 0 };
	hf_client *c;
	hf_error err;
	(void)state;
	o.base_url = v1_url;
	o.api_key = SENTINEL;
	assert_int_equal(hf_client_new(&c, &o, NULL, &err), HF_OK);

	r.cancel_after = 1;
	ask_with(&r, c, &ao, "Hello");
	assert_int_equal(r.rc, HF_ECANCELLED);
	assert_int_equal(r.ndeltas, 1);
	assert_int_equal(hf_mock_log_count(mock), 1);
	result_dispose(&r);

	memset(&r, 0, sizeof(r));
	ao.cancel = &flag;
	ask_with(&r, c, &ao, "Hello");
	assert_int_equal(r.rc, HF_ECANCELLED);
	assert_int_equal(r.ndeltas, 0);
	result_dispose(&r);
	hf_client_free(c);
}

/* A server that ignores "stream": true and answers with one JSON reply. */
static enum MHD_Result json_only(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **req)
{
	static int marker;
	static const char reply[] =
		"{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
		"\"message\":{\"role\":\"assistant\",\"content\":\"Hola\"},"
		"\"finish_reason\":\"stop\"}]}";
	struct MHD_Response *resp;
	enum MHD_Result ret;
	(void)cls, (void)url, (void)method, (void)version, (void)upload;
	if (!*req) {
		*req = &marker;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	resp = MHD_create_response_from_buffer(strlen(reply), (void *)reply, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	ret = MHD_queue_response(conn, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* A streamed request answered with plain JSON: the text arrives as one
 * delta, and cancelling at that delta reports the cancel with its
 * message. */
static void test_stream_ignored_by_server(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	hf_client_options o = HF_CLIENT_OPTIONS_INIT;
	hf_ask_options ao = HF_ASK_OPTIONS_INIT;
	struct MHD_Daemon *d;
	result r = { 0 };
	char base[64];
	hf_client *c;
	hf_error err;
	(void)state;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, json_only, NULL,
	                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
	assert_non_null(d);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u/v1",
	         (unsigned)MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
	o.base_url = base;
	o.api_key = SENTINEL;
	o.max_retries = 0;
	assert_int_equal(hf_client_new(&c, &o, NULL, &err), HF_OK);
	ao.stream = 1;

	ask_with(&r, c, &ao, "Hola");
	assert_int_equal(r.rc, HF_OK);
	assert_int_equal(r.ndeltas, 1);
	assert_string_equal(r.answer, "Hola");
	result_dispose(&r);

	memset(&r, 0, sizeof(r));
	r.cancel_after = 1;
	ask_with(&r, c, &ao, "Hola");
	assert_int_equal(r.rc, HF_ECANCELLED);
	assert_int_equal(r.err.code, HF_ECANCELLED);
	assert_true(ts_contains(r.err.message, "cancelled"));
	result_dispose(&r);
	hf_client_free(c);
	MHD_stop_daemon(d);
}

static void test_bad_input(void **state)
{
	hf_client_options o = HF_CLIENT_OPTIONS_INIT;
	hf_ask_options ao = HF_ASK_OPTIONS_INIT;
	result r = { 0 };
	hf_client *c;
	hf_error err;
	(void)state;
	o.base_url = v1_url;
	assert_int_equal(hf_client_new(&c, &o, NULL, &err), HF_OK);
	ask_with(&r, c, &ao, "bad \xc3\x28 text");
	assert_int_equal(r.rc, HF_EINVAL);
	ao.model = "";
	assert_int_equal(hf_ask(NULL, NULL, c, "hi", &ao, &err), HF_EINVAL);
	assert_true(ts_contains(err.message, "hf_ask_options"));
	assert_int_equal(hf_mock_log_count(mock), 0);
	result_dispose(&r);
	hf_client_free(c);
}

/* A port nothing listens on. */
static int closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void test_connection_refused(void **state)
{
	hf_client_options o = HF_CLIENT_OPTIONS_INIT;
	hf_ask_options ao = HF_ASK_OPTIONS_INIT;
	char url[64], expect[128];
	result r = { 0 };
	hf_client *c;
	hf_error err;
	int port = closed_port();
	(void)state;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", port);
	o.base_url = url;
	o.max_retries = 1;
	assert_int_equal(hf_client_new(&c, &o, NULL, &err), HF_OK);
	ask_with(&r, c, &ao, "Hello");
	assert_int_equal(r.rc, HF_ENET);
	snprintf(expect, sizeof(expect),
	         "could not connect to 127.0.0.1:%d: Connection refused; gave up after 2 attempts",
	         port);
	assert_string_equal(r.err.message, expect);
	assert_true(r.seconds >= 0.37);
	result_dispose(&r);
	hf_client_free(c);
}

/* ---- the sentinel key ---- */

static void test_sentinel_never_shown(void **state)
{
	static const char *const faults[] = { NULL, "401", "429;times=1", "500", "truncated",
		                              "error-mid-stream", "drop-mid-stream" };
	size_t i;
	int s;
	(void)state;
	hf_log_set(capture, HF_LOG_TRACE, NULL);
	for (i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		for (s = 0; s < 2; s++) {
			hf_client_options t = { .max_retries = 1 };
			result r = { 0 };
			ask(&r, faults[i], s, &t);
			assert_false(ts_contains(r.err.message, SENTINEL));
			assert_false(ts_contains(r.answer, SENTINEL));
			result_dispose(&r);
		}
	}
	hf_log_set(NULL, HF_LOG_ERROR, NULL);
	assert_non_null(logged.data);
	assert_true(ts_contains(logged.data, "> Authorization: [redacted]"));
	assert_true(ts_contains(logged.data, "> POST /v1/chat/completions"));
	assert_true(ts_contains(logged.data, "retrying in"));
	assert_false(ts_contains(logged.data, SENTINEL));
	assert_false(ts_contains(logged.data, "XXXXXXXX"));
	for (i = 0; i < hf_mock_log_count(mock); i++) {
		char *e = hf_mock_log_get(mock, i);
		assert_false(ts_contains(e, SENTINEL));
		if (ts_contains(e, "authorization"))
			assert_true(ts_contains(e, "\"authorization\":\"[redacted]\""));
		free(e);
	}
	hf_buf_dispose(&logged);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_wire_format, fresh),
		cmocka_unit_test_setup(test_auth_headers, fresh),
		cmocka_unit_test_setup(test_fault_401_404, fresh),
		cmocka_unit_test_setup(test_retry_then_success, fresh),
		cmocka_unit_test_setup(test_retry_after_honoured, fresh),
		cmocka_unit_test_setup(test_gave_up, fresh),
		cmocka_unit_test_setup(test_drop_mid_stream_not_retried, fresh),
		cmocka_unit_test_setup(test_bad_replies, fresh),
		cmocka_unit_test_setup(test_error_mid_stream, fresh),
		cmocka_unit_test_setup(test_idle_timeout, fresh),
		cmocka_unit_test_setup(test_total_timeout, fresh),
		cmocka_unit_test_setup(test_oversize, fresh),
		cmocka_unit_test_setup(test_cancel, fresh),
		cmocka_unit_test(test_stream_ignored_by_server),
		cmocka_unit_test_setup(test_bad_input, fresh),
		cmocka_unit_test_setup(test_connection_refused, fresh),
		cmocka_unit_test_setup(test_sentinel_never_shown, fresh),
	};
	return cmocka_run_group_tests(tests, start_mock, stop_mock);
}

/*
 * test_http_policy.c - the transport's pure parts: retry decisions and
 * backoff, Retry-After parsing, error messages, and secret scrubbing.
 */
#include "support.h"

#include "call.h"
#include "redact.h"

#include <string.h>
#include <time.h>

static void test_retry_status(void **state)
{
	static const long yes[] = { 408, 409, 429, 500, 502, 503, 504, 599 };
	static const long no[] = { 200, 400, 401, 403, 404, 413, 422 };
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(hf_retry_status(yes[i]));
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(hf_retry_status(no[i]));
	assert_true(hf_retry_curl(CURLE_COULDNT_CONNECT));
	assert_true(hf_retry_curl(CURLE_GOT_NOTHING));
	assert_true(hf_retry_curl(CURLE_PARTIAL_FILE));
	assert_true(hf_retry_curl(CURLE_OPERATION_TIMEDOUT));
	assert_true(hf_retry_curl(CURLE_RECV_ERROR));
	assert_false(hf_retry_curl(CURLE_WRITE_ERROR));
	assert_false(hf_retry_curl(CURLE_ABORTED_BY_CALLBACK));
	assert_false(hf_retry_curl(CURLE_PEER_FAILED_VERIFICATION));
}

/* min(0.5 s * 2^n, 8 s) * (1 - 0.25 * jitter), as the openai client. */
static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(hf_retry_backoff_ms(0, 0.0), 500);
	assert_int_equal(hf_retry_backoff_ms(1, 0.0), 1000);
	assert_int_equal(hf_retry_backoff_ms(2, 0.0), 2000);
	assert_int_equal(hf_retry_backoff_ms(4, 0.0), 8000);
	assert_int_equal(hf_retry_backoff_ms(9, 0.0), 8000);
	assert_int_equal(hf_retry_backoff_ms(0, 0.5), 437);
	assert_int_equal(hf_retry_backoff_ms(4, 0.999), 6002);
}

static void test_retry_after(void **state)
{
	time_t now = time(NULL);
	char date[64];
	struct tm tm;
	(void)state;
	assert_int_equal(hf_retry_after_ms("2", now), 2000);
	assert_int_equal(hf_retry_after_ms("1.5", now), 1500);
	assert_int_equal(hf_retry_after_ms("0", now), 0);
	assert_int_equal(hf_retry_after_ms("soon", now), -1);
	assert_int_equal(hf_retry_after_ms("", now), -1);
	assert_int_equal(hf_retry_after_ms("-3", now), -1);
	gmtime_r(&(time_t){ now + 7 }, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	assert_int_equal(hf_retry_after_ms(date, now), 7000);
	gmtime_r(&(time_t){ now - 60 }, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	assert_int_equal(hf_retry_after_ms(date, now), 0);
}

static void test_http_error_messages(void **state)
{
	static const char url[] = "http://127.0.0.1:8080/v1/chat/completions";
	static const char env429[] =
		"{\"error\":{\"message\":\"slow down\",\"type\":\"requests\","
		"\"code\":\"rate_limit_exceeded\"}}";
	static const char bad_utf8[] = "oops \xff\xfe";
	static const char html[] = "<html>\n<b>Bad gateway</b>\n</html>\n";
	hf_error err;
	(void)state;

	assert_int_equal(hf_call_error_http(&err, 429, url, env429, strlen(env429), true), HF_EHTTP);
	assert_string_equal(err.message, "HTTP 429 from http://127.0.0.1:8080/v1/chat/completions: "
	                                 "requests (rate_limit_exceeded): slow down");
	assert_int_equal(err.http_status, 429);

	assert_int_equal(hf_call_error_http(&err, 401, url, env429, strlen(env429), true), HF_EAUTH);
	assert_true(ts_contains(err.message, "refused the API key (HTTP 401"));
	assert_true(ts_contains(err.message, "check the key (HANDOFF_API_KEY, the variable named by "
	                                     "api_key_env, or the key file)"));
	assert_false(ts_contains(err.message, "--"));
	assert_int_equal(hf_call_error_http(&err, 403, url, "", 0, false), HF_EAUTH);
	assert_true(ts_contains(err.message, "wants an API key (HTTP 403"));
	assert_true(ts_contains(err.message, "a key file (api_key_file, HANDOFF_API_KEY_FILE)"));
	assert_false(ts_contains(err.message, "--"));
	assert_true(ts_contains(err.message, "(empty body)"));

	assert_int_equal(hf_call_error_http(&err, 404, url, "{\"error\":\"no such model\"}", 25, true),
	                 HF_ENOTFOUND);
	assert_true(ts_contains(err.message, "HTTP 404 from"));
	assert_true(ts_contains(err.message, "no such model"));

	assert_int_equal(hf_call_error_http(&err, 502, url, html, strlen(html), true), HF_EHTTP);
	assert_true(ts_contains(err.message, ": <html> <b>Bad gateway</b> </html>"));
	assert_int_equal(hf_call_error_http(&err, 500, url, bad_utf8, strlen(bad_utf8), true), HF_EHTTP);
	assert_true(ts_contains(err.message, "not UTF-8"));
}

static void test_net_error_messages(void **state)
{
	hf_error err;
	(void)state;
	assert_int_equal(hf_call_error_net(&err, CURLE_COULDNT_CONNECT, "http://127.0.0.1:4567/v1/models",
	                              "Failed to connect", 111),
	                 HF_ENET);
	assert_string_equal(err.message, "could not connect to 127.0.0.1:4567: Connection refused");
	hf_call_error_net(&err, CURLE_COULDNT_CONNECT, "https://[::1]/v1", "", 0);
	assert_true(ts_contains(err.message, "could not connect to [::1]:443"));
	hf_call_error_net(&err, CURLE_OPERATION_TIMEDOUT, "http://127.0.0.1:1/x",
	             "Operation timed out after 1000 milliseconds", 0);
	assert_true(ts_contains(err.message, "timed out: Operation timed out after 1000"));
	hf_call_error_net(&err, CURLE_PEER_FAILED_VERIFICATION, "https://127.0.0.1:1/x", "", 0);
	assert_true(ts_contains(err.message, "the insecure option of hf_client_options"));
	assert_false(ts_contains(err.message, "--"));
}

static void test_redact(void **state)
{
	char s[64];
	char small[24];
	(void)state;
	strcpy(s, "key sk-123 and sk-123 again");
	hf_redact(s, sizeof(s), "sk-123");
	assert_string_equal(s, "key [redacted] and [redacted] again");
	strcpy(s, "nothing here");
	hf_redact(s, sizeof(s), "sk-123");
	assert_string_equal(s, "nothing here");
	hf_redact(s, sizeof(s), NULL);
	hf_redact(s, sizeof(s), "");
	assert_string_equal(s, "nothing here");
	/* Growing text is cut at the buffer, never leaving part of the key. */
	strcpy(small, "a sk-1 b sk-1 c sk-1");
	hf_redact(small, sizeof(small), "sk-1");
	assert_false(ts_contains(small, "sk-1"));
	assert_true(strlen(small) < sizeof(small));
	assert_true(hf_redact_header("Authorization: Bearer x", 23));
	assert_true(hf_redact_header("x-api-key: x", 12));
	assert_true(hf_redact_header("X-API-KEY: x", 12));
	assert_false(hf_redact_header("Accept: x", 9));
	assert_false(hf_redact_header("x-api-keys: x", 13));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_status),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_http_error_messages),
		cmocka_unit_test(test_net_error_messages),
		cmocka_unit_test(test_redact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

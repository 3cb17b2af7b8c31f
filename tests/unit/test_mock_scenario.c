/*
 * test_mock_scenario.c - scripted replies from a scenario file: served in
 * order (content, tool calls with given, empty or missing ids, a fault,
 * repeat), then the routing model; restarted by hf_mock_reset and by
 * POST /mock/reset; bad files rejected with the entry named.
 */
#include "support_mock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char hello[] =
	"{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}]}";
static const char hello_stream[] =
	"{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\","
	"\"content\":\"Hello there\"}]}";

static hf_mock *start_scenario(const char *name)
{
	hf_mock_options o = { 0 };
	char path[512];
	snprintf(path, sizeof(path), "%s/mock/%s", HF_TEST_DATA, name);
	o.scenario = path;
	return tm_start(&o);
}

static cJSON *message_of(cJSON *reply)
{
	return cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(reply, "choices"), 0),
	                           "message");
}

/* The content of a non-streaming reply (owned; NULL when null). */
static char *next_content(hf_mock *m)
{
	tm_resp r;
	cJSON *j, *c;
	char *out;
	tm_post(&r, m, "/v1/chat/completions", hello, NULL);
	assert_int_equal(r.status, 200);
	j = tm_json(&r);
	c = cJSON_GetObjectItem(message_of(j), "content");
	out = cJSON_IsString(c) ? strdup(c->valuestring) : NULL;
	cJSON_Delete(j);
	tm_resp_dispose(&r);
	return out;
}

static void expect_content(hf_mock *m, const char *want)
{
	char *got = next_content(m);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_served_in_order(void **state)
{
	hf_mock *m = start_scenario("scenario_basic.json");
	tm_resp r;
	cJSON *j, *calls, *c;
	(void)state;
	expect_content(m, "First scripted reply.");

	tm_post(&r, m, "/v1/chat/completions", hello, NULL);
	j = tm_json(&r);
	calls = cJSON_GetObjectItem(message_of(j), "tool_calls");
	assert_int_equal(cJSON_GetArraySize(calls), 2);
	c = cJSON_GetArrayItem(calls, 0);
	assert_string_equal(cJSON_GetObjectItem(c, "id")->valuestring, "call_a");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "function"), "name")->valuestring,
	                    "transfer_to_spanish_agent");
	c = cJSON_GetArrayItem(calls, 1);
	/* an arguments object is sent as its JSON text */
	assert_string_equal(
	        cJSON_GetObjectItem(cJSON_GetObjectItem(c, "function"), "arguments")->valuestring,
	        "{\"order\":\"A-17\",\"note\":\"café au lait, extra hot\"}");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(message_of(j), "content")));
	cJSON_Delete(j);
	tm_resp_dispose(&r);

	tm_post(&r, m, "/v1/chat/completions", hello, NULL);
	assert_int_equal(r.status, 500);
	assert_true(ts_contains(r.body, "\"code\":\"internal_error\""));
	tm_resp_dispose(&r);

	tm_post(&r, m, "/v1/chat/completions", hello, NULL);
	j = tm_json(&r);
	calls = cJSON_GetObjectItem(message_of(j), "tool_calls");
	assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(calls, 0), "id"));
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(calls, 1), "id")->valuestring, "");
	cJSON_Delete(j);
	tm_resp_dispose(&r);

	expect_content(m, "Twice.");
	expect_content(m, "Twice.");
	/* the script has run out: the routing model answers */
	expect_content(m, "Hello! I'm happy to help you in English.");

	hf_mock_reset(m);
	expect_content(m, "First scripted reply.");
	tm_post(&r, m, "/mock/reset", NULL, NULL);
	assert_int_equal(r.status, 200);
	tm_resp_dispose(&r);
	expect_content(m, "First scripted reply.");
	hf_mock_stop(m);
}

static void test_scripted_calls_stream(void **state)
{
	hf_mock *m = start_scenario("scenario_basic.json");
	tm_resp r;
	char **data, args[2][128] = { "", "" };
	size_t n, i, pieces[2] = { 0, 0 };
	bool head[2] = { false, false };
	(void)state;
	free(next_content(m)); /* entry 1 */
	tm_post(&r, m, "/v1/chat/completions", hello_stream, NULL);
	data = tm_sse_data(r.body, r.len, &n);
	assert_string_equal(data[n - 1], "[DONE]");
	for (i = 0; i + 1 < n; i++) {
		cJSON *c = cJSON_Parse(data[i]), *calls, *call, *fn, *id;
		int k;
		calls = cJSON_GetObjectItem(
		        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "choices"), 0), "delta"),
		        "tool_calls");
		if (!calls) {
			cJSON_Delete(c);
			continue;
		}
		call = cJSON_GetArrayItem(calls, 0);
		k = cJSON_GetObjectItem(call, "index")->valueint;
		assert_true(k == 0 || k == 1);
		fn = cJSON_GetObjectItem(call, "function");
		id = cJSON_GetObjectItem(call, "id");
		if (id) { /* the head: once per call, before its arguments */
			assert_false(head[k]);
			assert_int_equal(pieces[k], 0);
			head[k] = true;
			assert_string_equal(id->valuestring, k ? "call_b" : "call_a");
			assert_string_equal(cJSON_GetObjectItem(fn, "name")->valuestring,
			                    k ? "lookup_order" : "transfer_to_spanish_agent");
		} else {
			assert_true(head[k]);
			strcat(args[k], cJSON_GetObjectItem(fn, "arguments")->valuestring);
			pieces[k]++;
		}
		cJSON_Delete(c);
	}
	assert_string_equal(args[0], "{}");
	assert_string_equal(args[1], "{\"order\":\"A-17\",\"note\":\"café au lait, extra hot\"}");
	assert_int_equal(pieces[1], 3);
	tm_strv_free(data);
	tm_resp_dispose(&r);
	hf_mock_stop(m);
}

static void test_bad_scenarios(void **state)
{
	static const struct {
		const char *file;
		int code;
		const char *says;
	} cases[] = {
		{ "scenario_bad_key.json", HF_ECONFIG, "entry 1: unknown key \"contents\"" },
		{ "scenario_bad_fault.json", HF_ECONFIG, "unknown mock fault 'explode'" },
		{ "scenario_no_name.json", HF_ECONFIG, "entry 0: a tool call needs a string \"name\"" },
		{ "catalogue_small.json", HF_ECONFIG, "a scenario is a JSON object" },
		{ "missing.json", HF_ENOTFOUND, "cannot read the scenario" },
	};
	size_t i;
	(void)state;
	for (i = 0; i < HF_ARRAY_LEN(cases); i++) {
		hf_mock_options o = { 0 };
		hf_mock *m = NULL;
		hf_error err;
		char path[512];
		snprintf(path, sizeof(path), "%s/mock/%s", HF_TEST_DATA, cases[i].file);
		o.scenario = path;
		assert_int_equal(hf_mock_start(&m, &o, &err), cases[i].code);
		assert_null(m);
		if (!ts_contains(err.message, cases[i].says))
			fail_msg("%s: '%s' does not say '%s'", cases[i].file, err.message, cases[i].says);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_served_in_order),
		cmocka_unit_test(test_scripted_calls_stream),
		cmocka_unit_test(test_bad_scenarios),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_hub.c - Model Hub discovery against the local mock: /compute routes
 * with and without filters (escaped names), unknown names, and a plain /v1
 * server that has only /models.
 */
#include "support_client.h"

#include "call.h"

#include <stdlib.h>
#include <string.h>

static hf_mock *mock;
static hf_client *hub, *v1;

static int start(void **state)
{
	hf_client_options o = HF_CLIENT_OPTIONS_INIT;
	hf_error err;
	char url[128];
	(void)state;
	if (!(mock = tc_mock_start(NULL)))
		return -1;
	snprintf(url, sizeof(url), "%s/compute/", hf_mock_url(mock));
	o.base_url = url;
	if (hf_client_new(&hub, &o, NULL, &err))
		return -1;
	snprintf(url, sizeof(url), "%s/v1", hf_mock_url(mock));
	o.base_url = url;
	return hf_client_new(&v1, &o, NULL, &err) ? -1 : 0;
}

static int stop(void **state)
{
	(void)state;
	hf_client_free(hub);
	hf_client_free(v1);
	tc_mock_stop(mock);
	return 0;
}

static int fresh(void **state)
{
	(void)state;
	tc_mock_fresh(mock);
	return 0;
}

/* The last request's path and query value `key`. */
static void check_request(const char *path, const char *key, const char *value)
{
	cJSON *e = tc_log_entry(mock, TC_LAST), *q;
	assert_string_equal(cJSON_GetObjectItem(e, "method")->valuestring, "GET");
	assert_string_equal(cJSON_GetObjectItem(e, "path")->valuestring, path);
	q = cJSON_GetObjectItem(cJSON_GetObjectItem(e, "query"), key);
	if (value)
		assert_string_equal(q->valuestring, value);
	else
		assert_null(q);
	cJSON_Delete(e);
}

/* Parse json as an array; return it with its size. */
static cJSON *array(const char *json, int *n)
{
	cJSON *a = cJSON_Parse(json);
	assert_true(cJSON_IsArray(a));
	*n = cJSON_GetArraySize(a);
	return a;
}

static void test_models(void **state)
{
	char *json;
	hf_error err;
	cJSON *a, *m;
	int n, i;
	(void)state;
	assert_int_equal(hf_hub_models(&json, hub, NULL, &err), HF_OK);
	check_request("/compute/models", "provider", NULL);
	a = array(json, &n);
	assert_true(n >= 3);
	cJSON_ArrayForEach(m, a)
		assert_true(cJSON_IsString(cJSON_GetObjectItem(m, "id")));
	cJSON_Delete(a);
	free(json);

	/* A filter with a space and an accent travels escaped. */
	assert_int_equal(hf_hub_models(&json, hub, "Nébula Compute", &err), HF_OK);
	check_request("/compute/models", "provider", "Nébula Compute");
	a = array(json, &i);
	assert_true(i >= 1 && i < n);
	cJSON_ArrayForEach(m, a)
		assert_string_equal(cJSON_GetObjectItem(m, "provider")->valuestring, "Nébula Compute");
	cJSON_Delete(a);
	free(json);

	assert_int_equal(hf_hub_models(&json, hub, "No Such Provider", &err), HF_ENOTFOUND);
	assert_null(json);
	assert_int_equal(err.http_status, 404);
	assert_true(ts_contains(err.message, "No Such Provider"));
}

static void test_providers(void **state)
{
	char *json;
	hf_error err;
	cJSON *a;
	int all, some;
	(void)state;
	assert_int_equal(hf_hub_providers(&json, hub, NULL, &err), HF_OK);
	check_request("/compute/providers", "model", NULL);
	a = array(json, &all);
	assert_true(all >= 2);
	assert_true(cJSON_IsString(cJSON_GetObjectItem(cJSON_GetArrayItem(a, 0), "name")));
	cJSON_Delete(a);
	free(json);

	assert_int_equal(hf_hub_providers(&json, hub, "llama-3.1-70b-instruct", &err), HF_OK);
	check_request("/compute/providers", "model", "llama-3.1-70b-instruct");
	a = array(json, &some);
	assert_true(some >= 1 && some < all);
	cJSON_Delete(a);
	free(json);

	assert_int_equal(hf_hub_providers(&json, hub, "no-such-model", &err), HF_ENOTFOUND);
	assert_true(ts_contains(err.message, "no-such-model"));
}

static void test_model_detail(void **state)
{
	char *json;
	hf_error err;
	cJSON *d;
	(void)state;
	assert_int_equal(hf_hub_model_detail(&json, hub, "gpt-4o", NULL, &err), HF_OK);
	check_request("/compute/modelDetail", "model", "gpt-4o");
	check_request("/compute/modelDetail", "provider", NULL);
	d = cJSON_Parse(json);
	assert_true(cJSON_IsObject(d));
	assert_string_equal(cJSON_GetObjectItem(d, "id")->valuestring, "gpt-4o");
	cJSON_Delete(d);
	free(json);

	assert_int_equal(hf_hub_model_detail(&json, hub, "llama-3.1-70b-instruct", "Lepton", &err),
	                 HF_OK);
	check_request("/compute/modelDetail", "provider", "Lepton");
	d = cJSON_Parse(json);
	assert_string_equal(cJSON_GetObjectItem(d, "provider")->valuestring, "Lepton");
	cJSON_Delete(d);
	free(json);

	assert_int_equal(hf_hub_model_detail(&json, hub, "no-such-model", NULL, &err),
	                 HF_ENOTFOUND);
	assert_true(ts_contains(err.message, "HTTP 404"));
	assert_true(ts_contains(err.message, "no-such-model"));
	assert_int_equal(hf_hub_model_detail(&json, hub, "", NULL, &err), HF_EINVAL);
}

static void test_plain_v1(void **state)
{
	char *json, expect[256];
	hf_error err;
	cJSON *a;
	int n;
	hf_ask_options ao = HF_ASK_OPTIONS_INIT;
	char *answer;
	(void)state;
	/* A chat POST first: the GET after it on the same handle is a GET. */
	ao.model = "gpt-4o-mini";
	assert_int_equal(hf_ask(&answer, NULL, v1, "Hello", &ao, &err), HF_OK);
	free(answer);
	assert_int_equal(hf_hub_models(&json, v1, NULL, &err), HF_OK);
	check_request("/v1/models", "provider", NULL);
	a = array(json, &n);
	assert_true(n >= 3);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(a, 0), "object")->valuestring,
	                    "model");
	cJSON_Delete(a);
	free(json);

	snprintf(expect, sizeof(expect),
	         "this endpoint (%s/v1) has no provider catalogue; the Model Hub's base URL ends "
	         "in /compute", hf_mock_url(mock));
	assert_int_equal(hf_hub_providers(&json, v1, NULL, &err), HF_EHTTP);
	assert_string_equal(err.message, expect);
	assert_int_equal(hf_hub_model_detail(&json, v1, "gpt-4o", NULL, &err), HF_EHTTP);
	assert_string_equal(err.message, expect);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_models, fresh),
		cmocka_unit_test_setup(test_providers, fresh),
		cmocka_unit_test_setup(test_model_detail, fresh),
		cmocka_unit_test_setup(test_plain_v1, fresh),
	};
	return cmocka_run_group_tests(tests, start, stop);
}

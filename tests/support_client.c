/*
 * support_client.c - helpers shared by the model-client tests (see
 * support_client.h).
 */
#include "support_client.h"

#include <stdio.h>
#include <stdlib.h>

hf_mock *tc_mock_start(const char *key)
{
	hf_mock_options o = { 0 };
	hf_mock *m;
	hf_error err;
	if (hf_global_init(&err)) {
		fprintf(stderr, "init: %s\n", err.message);
		return NULL;
	}
	o.log_memory = true;
	o.require_key = key;
	if (hf_mock_start(&m, &o, &err)) {
		fprintf(stderr, "mock: %s\n", err.message);
		hf_global_cleanup();
		return NULL;
	}
	return m;
}

void tc_mock_stop(hf_mock *m)
{
	hf_mock_stop(m);
	hf_global_cleanup();
}

void tc_mock_fresh(hf_mock *m)
{
	hf_mock_reset(m);
	hf_mock_log_clear(m);
}

cJSON *tc_log_entry(hf_mock *m, size_t i)
{
	size_t n = hf_mock_log_count(m);
	char *s;
	cJSON *j;
	assert_true(n > 0);
	s = hf_mock_log_get(m, i == TC_LAST ? n - 1 : i);
	assert_non_null(s);
	j = cJSON_Parse(s);
	free(s);
	assert_non_null(j);
	return j;
}

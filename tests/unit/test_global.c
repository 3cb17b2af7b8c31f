/*
 * test_global.c - process-wide set-up: hf_global_init leaves the
 * application's cJSON allocator hooks in place (only the allocation-failure
 * test build routes cJSON through hf_malloc).
 */
#include "support.h"

#include "internal.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

static size_t app_allocs;

static void *app_malloc(size_t n)
{
	app_allocs++;
	return malloc(n);
}

static void global_init_keeps_cjson_hooks(void **state)
{
	cJSON_Hooks hooks = { app_malloc, free };
	hf_error err;
	cJSON *o;
	(void)state;
	if (hf_failalloc_enabled())
		skip();
	cJSON_InitHooks(&hooks);
	assert_int_equal(hf_global_init(&err), HF_OK);
	app_allocs = 0;
	o = cJSON_CreateObject();
	assert_non_null(o);
	assert_int_equal(app_allocs, 1);
	cJSON_Delete(o);
	hf_global_cleanup();
	cJSON_InitHooks(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(global_init_keeps_cjson_hooks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

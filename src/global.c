/*
 * global.c - process-wide set-up: libcurl; in the allocation-failure test
 * build only, cJSON's allocator (routed through hf_malloc so the sweep
 * reaches it). A release build leaves cJSON's hooks to the application.
 */
#include "internal.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdlib.h>

static int init_count;

#ifdef HF_FAILALLOC
static void *json_malloc(size_t n)
{
	return hf_malloc(n);
}
#endif

int hf_global_init(hf_error *err)
{
	if (init_count++ > 0)
		return HF_OK;
#ifdef HF_FAILALLOC
	{
		cJSON_Hooks hooks = { json_malloc, free };
		cJSON_InitHooks(&hooks);
	}
#endif
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		init_count = 0;
		return hf_err(err, HF_ENET, "libcurl could not be initialised");
	}
	return HF_OK;
}

void hf_global_cleanup(void)
{
	if (init_count > 0 && --init_count == 0)
		curl_global_cleanup();
}

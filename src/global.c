/*
 * global.c - process-wide set-up: libcurl, and cJSON's allocator (routed
 * through hf_malloc so allocation-failure tests reach it).
 */
#include "internal.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdlib.h>

static int init_count;

static void *json_malloc(size_t n)
{
	return hf_malloc(n);
}

int hf_global_init(hf_error *err)
{
	cJSON_Hooks hooks = { json_malloc, free };
	if (init_count++ > 0)
		return HF_OK;
	cJSON_InitHooks(&hooks);
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

/*
 * fuzz_hub.c - the Model Hub discovery reply decoder (hf_hub_decode, used
 * by hf_hub_models / hf_hub_providers / hf_hub_model_detail). The first
 * byte picks the reply kind (even: list, odd: model detail), the rest is
 * the body. A body is refused with HF_EPROTOCOL or handed back as the
 * right JSON type, which decodes again to the same text (unless a detail
 * object itself holds a "data" object, which is unwrapped once more).
 */
#include "fuzz.h"

#include "hub.h"

#include <cjson/cJSON.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	hf_hub_reply kind;
	char *out = NULL, *again = NULL;
	cJSON *v;
	hf_error err;
	int rc;

	if (!ready)
		ready = hf_global_init(&err) == HF_OK ? 1 : -1;
	if (size == 0)
		return 0;
	kind = (data[0] & 1) ? HF_HUB_DETAIL : HF_HUB_LIST;
	rc = hf_hub_decode(&out, (const char *)data + 1, size - 1, kind, "http://127.0.0.1/fuzz",
	                   &err);
	if (rc != HF_OK) {
		FUZZ_CHECK(rc == HF_EPROTOCOL && out == NULL && err.message[0]);
		return 0;
	}
	FUZZ_CHECK(out != NULL);
	v = cJSON_Parse(out);
	FUZZ_CHECK(v && (kind == HF_HUB_LIST ? cJSON_IsArray(v) : cJSON_IsObject(v)));
	FUZZ_CHECK(hf_hub_decode(&again, out, strlen(out), kind, "again", &err) == HF_OK);
	FUZZ_CHECK(strcmp(again, out) == 0 ||
	           cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(v, "data")));
	cJSON_Delete(v);
	hf_free(again);
	hf_free(out);
	return 0;
}

/*
 * fuzz_session.c - the session record decoder (hf_session_add_stored). The
 * input is split at newlines into stored records, as a store hands them
 * back. Each is accepted or refused with HF_EPROTOCOL, never a crash or a
 * leak; every accepted message prints as wire JSON that the decoder
 * accepts again and that prints the same (a stable round trip).
 */
#include "fuzz.h"

#include "session.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	const char *p = (const char *)data, *end = p + size;
	hf_session *s = NULL, *again = NULL;
	hf_error err;
	size_t i;

	if (!ready)
		ready = hf_global_init(&err) == HF_OK ? 1 : -1;
	FUZZ_CHECK(hf_session_new(&s, "fuzz", &err) == HF_OK);
	FUZZ_CHECK(hf_session_new(&again, "fuzz", &err) == HF_OK);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p), before;
		int rc;
		before = hf_session_message_count(s);
		rc = hf_session_add_stored(s, p, n, &err);
		if (rc == HF_OK) {
			FUZZ_CHECK(hf_session_message_count(s) == before + 1);
		} else {
			FUZZ_CHECK(rc == HF_EPROTOCOL && err.message[0]);
			FUZZ_CHECK(hf_session_message_count(s) == before);
		}
		p += n + (nl != NULL);
	}
	for (i = 0; i < hf_session_message_count(s); i++) {
		const char *text = hf_session_message_json(s, i);
		FUZZ_CHECK(text != NULL);
		FUZZ_CHECK(hf_session_add_stored(again, text, strlen(text), &err) == HF_OK);
		FUZZ_CHECK(strcmp(hf_session_message_json(again, i), text) == 0);
	}
	FUZZ_CHECK(hf_session_message_json(s, i) == NULL);
	hf_session_free(again);
	hf_session_free(s);
	return 0;
}

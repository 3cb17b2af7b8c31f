/*
 * fuzz_reply.c - the chat-completion reply parser (hf_chat_reply_parse, JSON to
 * text and tool calls): any bytes give a checked reply or HF_EPROTOCOL /
 * HF_EHTTP / HF_ELIMIT, never a crash or a leak.
 */
#include "fuzz.h"

#include "chat.h"
#include "text.h"

#include <string.h>

static int init(void)
{
	hf_error err;
	return hf_global_init(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready = -1;
	hf_reply r;
	hf_error err;
	size_t i;
	int rc;

	if (ready < 0)
		ready = init();
	rc = hf_chat_reply_parse(&r, (const char *)data, size, &err);
	if (rc == HF_OK) {
		FUZZ_CHECK(!r.content || hf_text_utf8_valid(r.content, strlen(r.content), NULL));
		FUZZ_CHECK(r.ncalls <= HF_CHAT_MAX_TOOL_CALLS);
		for (i = 0; i < r.ncalls; i++) {
			const hf_reply_call *c = &r.calls[i];
			FUZZ_CHECK(c->id && c->name && *c->name && c->arguments && *c->arguments);
		}
	} else {
		FUZZ_CHECK(rc == HF_EPROTOCOL || rc == HF_EHTTP || rc == HF_ELIMIT);
		FUZZ_CHECK(err.code == rc && err.message[0]);
		FUZZ_CHECK(!r.content && !r.calls && !r.ncalls && !r.finish_reason);
	}
	hf_chat_reply_dispose(&r);
	return 0;
}

/*
 * fuzz_stream.c - streamed replies: bytes through the SSE parser, each
 * event's data into hf_stream_chunk, then hf_stream_finish. Text deltas are
 * whole UTF-8 characters and add up to the final text; a finished reply is
 * checked; every error is a clean code; never a crash or a leak.
 */
#include "fuzz.h"

#include "chat.h"
#include "sse.h"
#include "text.h"

#include <string.h>

typedef struct feed {
	hf_stream *stream;
	hf_buf deltas;   /* every delta, concatenated */
	int rc;          /* first error of hf_stream_chunk */
	hf_error err;
} feed;

static int on_delta(void *payload, const char *text, size_t len)
{
	feed *f = payload;
	FUZZ_CHECK(len > 0 && hf_text_utf8_valid(text, len, NULL));
	FUZZ_CHECK(hf_buf_append(&f->deltas, text, len) == HF_OK);
	return 0;
}

static int on_event(void *payload, const char *event, const char *data, size_t len)
{
	feed *f = payload;
	(void)event;
	f->rc = hf_stream_chunk(f->stream, data, len, &f->err);
	return f->rc != HF_OK; /* stop at the first bad chunk, as the transport does */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	feed f;
	hf_sse p;
	hf_reply r;
	hf_error err;
	uint64_t state = fuzz_hash(data, size);
	size_t off = 0, i;
	int rc = HF_OK;

	if (!ready)
		ready = hf_global_init(&err) == HF_OK ? 1 : -1;
	memset(&f, 0, sizeof(f));
	memset(&r, 0, sizeof(r));
	FUZZ_CHECK(hf_stream_new(&f.stream, on_delta, &f, 0, &err) == HF_OK);
	hf_sse_init(&p, 0, on_event, &f);
	while (rc == HF_OK && off < size) { /* two or three pieces, as a network gives */
		size_t n = 1 + (size_t)(fuzz_next(&state) % (size - off));
		rc = hf_sse_feed(&p, (const char *)data + off, n, &err);
		off += n;
	}
	if (rc == HF_OK)
		rc = hf_sse_finish(&p, &err);
	if (rc == HF_ECANCELLED) {
		rc = f.rc;
		FUZZ_CHECK(rc == HF_EPROTOCOL || rc == HF_EHTTP || rc == HF_ELIMIT);
		FUZZ_CHECK(f.err.code == rc && f.err.message[0]);
	} else if (rc == HF_OK) {
		rc = hf_stream_finish(f.stream, &r, &err);
	}
	FUZZ_CHECK(hf_stream_delivered(f.stream) == f.deltas.len);
	if (rc == HF_OK) {
		size_t n = r.content ? strlen(r.content) : 0;
		FUZZ_CHECK(n == f.deltas.len && (n == 0 || memcmp(r.content, f.deltas.data, n) == 0));
		for (i = 0; i < r.ncalls; i++)
			FUZZ_CHECK(r.calls[i].id && r.calls[i].name && *r.calls[i].name &&
			           r.calls[i].arguments && *r.calls[i].arguments);
	} else {
		FUZZ_CHECK(rc == HF_EPROTOCOL || rc == HF_EHTTP || rc == HF_ELIMIT);
	}
	hf_chat_reply_dispose(&r);
	hf_sse_dispose(&p);
	hf_stream_free(f.stream);
	hf_buf_dispose(&f.deltas);
	return 0;
}

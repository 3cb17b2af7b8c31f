/*
 * fuzz_sse.c - the SSE parser (hf_sse_feed) fed in splits derived from the
 * input: the events (type and data) and the result must be the same as when
 * the stream is fed whole. Never a crash or a leak; the only error is the
 * line/event size limit.
 */
#include "fuzz.h"

#include "sse.h"

#include <string.h>

#define MAX_LINE 512 /* small, so the line and event limits are reached too */

/* The events seen, as "type\0data\0" records. */
static int record(void *payload, const char *event, const char *data, size_t len)
{
	hf_buf *log = payload;
	FUZZ_CHECK(event && data && data[len] == '\0');
	FUZZ_CHECK(hf_buf_append(log, event, strlen(event) + 1) == HF_OK);
	FUZZ_CHECK(hf_buf_append(log, data, len + 1) == HF_OK);
	return 0;
}

/* Feed data whole (state NULL) or in pieces of lengths drawn from the
 * generator; returns the result of the feed or finish that ended it. */
static int feed(hf_buf *log, const uint8_t *data, size_t size, uint64_t *state)
{
	hf_sse p;
	hf_error err;
	size_t off = 0;
	int rc = HF_OK;
	hf_sse_init(&p, MAX_LINE, record, log);
	while (rc == HF_OK && off < size) {
		size_t n = size - off;
		if (state) {
			uint64_t r = fuzz_next(state);
			/* mostly short pieces, sometimes long ones */
			n = (r & 3) ? 1 + (size_t)(r >> 8) % 8 : 1 + (size_t)(r >> 8) % 600;
			if (n > size - off)
				n = size - off;
		}
		rc = hf_sse_feed(&p, (const char *)data + off, n, &err);
		off += n;
	}
	if (rc == HF_OK)
		rc = hf_sse_finish(&p, &err);
	FUZZ_CHECK(rc == HF_OK || rc == HF_ELIMIT);
	hf_sse_dispose(&p);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hf_buf whole = HF_BUF_INIT, split = HF_BUF_INIT;
	uint64_t state = fuzz_hash(data, size);
	int rc_whole = feed(&whole, data, size, NULL);
	int rc_split = feed(&split, data, size, &state);

	FUZZ_CHECK(rc_whole == rc_split);
	FUZZ_CHECK(whole.len == split.len && (whole.len == 0 ||
	                                      memcmp(whole.data, split.data, whole.len) == 0));
	hf_buf_dispose(&split);
	hf_buf_dispose(&whole);
	return 0;
}

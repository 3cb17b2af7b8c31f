/*
 * mock_body.c - response bodies produced as MHD asks for them: head, a unit
 * repeated many times (so a 16 MiB reply never sits in memory), tail; with
 * an optional stall before the first byte (the connection is suspended on
 * the timer, no thread waits) and an optional drop after some bytes.
 */
#include "mock_internal.h"

#include <stdlib.h>
#include <string.h>

#define BLOCK_SIZE (64 * 1024) /* largest buffer MHD asks us to fill */

void mock_body_free(mock_body *b)
{
	if (!b)
		return;
	hf_buf_dispose(&b->head);
	hf_buf_dispose(&b->unit);
	hf_buf_dispose(&b->tail);
	free(b);
}

static uint64_t body_total(const mock_body *b)
{
	return b->head.len + b->unit.len * b->unit_count + b->tail.len;
}

/* Copy up to max bytes of the body from pos. */
static size_t body_copy(const mock_body *b, uint64_t pos, uint64_t limit, char *buf, size_t max)
{
	uint64_t filler = b->unit.len * b->unit_count;
	size_t n = 0;
	while (n < max && pos < limit) {
		const char *src;
		uint64_t avail;
		if (pos < b->head.len) {
			src = b->head.data + pos;
			avail = b->head.len - pos;
		} else if (pos < b->head.len + filler) {
			uint64_t off = (pos - b->head.len) % b->unit.len;
			src = b->unit.data + off;
			avail = b->unit.len - off;
		} else {
			uint64_t off = pos - b->head.len - filler;
			src = b->tail.data + off;
			avail = b->tail.len - off;
		}
		if (avail > limit - pos)
			avail = limit - pos;
		if (avail > max - n)
			avail = max - n;
		memcpy(buf + n, src, (size_t)avail);
		n += (size_t)avail;
		pos += avail;
	}
	return n;
}

static ssize_t body_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	mock_body *b = cls;
	uint64_t total = body_total(b), limit = b->cut && b->cut < total ? b->cut : total;

	if (b->stall_ms > 0 && !b->stalled) {
		b->stalled = true;
		if (mock_timer_suspend(b->timer, b->conn, b->stall_ms))
			return 0; /* called again once resumed */
	}
	if (pos >= limit)
		return b->cut ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
	return (ssize_t)body_copy(b, pos, limit, buf, max);
}

static void body_release(void *cls)
{
	mock_body_free(cls);
}

struct MHD_Response *mock_body_response(mock_body *b, mock_timer *timer,
                                        struct MHD_Connection *conn)
{
	struct MHD_Response *r;
	uint64_t total = body_total(b);
	size_t block = total < BLOCK_SIZE ? (size_t)total + 64 : BLOCK_SIZE;
	b->timer = timer;
	b->conn = conn;
	r = MHD_create_response_from_callback(b->sized ? total : MHD_SIZE_UNKNOWN, block, body_read,
	                                      b, body_release);
	if (!r)
		mock_body_free(b);
	return r;
}

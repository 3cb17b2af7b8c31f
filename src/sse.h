/*
 * sse.h - an incremental server-sent-events parser. Accepts any split of
 * the byte stream (one byte at a time included), LF, CRLF or CR line ends,
 * comments, multi-line data, and bounds the size of one line and one event.
 */
#ifndef HF_SSE_H
#define HF_SSE_H

#include "internal.h"

/* Called once per dispatched event: `event` is the event type ("message"
 * when none was given), data is the joined data lines (NUL-terminated, len
 * excludes the NUL). Return 0 to go on, non-zero to stop parsing (hf_sse_feed
 * then returns HF_ECANCELLED). */
typedef int (*hf_sse_event_fn)(void *payload, const char *event, const char *data,
                               size_t len);

typedef struct hf_sse {
	hf_buf line;         /* the line being read */
	hf_buf data;         /* data of the event being assembled */
	hf_buf event;        /* event type of the event being assembled */
	bool has_data;
	bool last_was_cr;    /* a CR ended the previous chunk: skip a leading LF */
	bool done;           /* saw data: [DONE] */
	size_t max_line;     /* bytes; default 1 MiB */
	hf_sse_event_fn fn;
	void *payload;
} hf_sse;

void hf_sse_init(hf_sse *p, size_t max_line, hf_sse_event_fn fn, void *payload);
/* Feed bytes. HF_ELIMIT when a line or event exceeds max_line;
 * HF_ECANCELLED when the callback stopped it. */
int hf_sse_feed(hf_sse *p, const char *buf, size_t len, hf_error *err);
/* End of stream: dispatches a last event not followed by a blank line. */
int hf_sse_finish(hf_sse *p, hf_error *err);
void hf_sse_dispose(hf_sse *p);

#endif

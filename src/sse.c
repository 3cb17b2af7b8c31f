/*
 * sse.c - an incremental server-sent-events parser (the WHATWG "event
 * stream" rules): fields `data` and `event`, comments, an optional space
 * after the colon, LF / CRLF / CR line ends, events dispatched at a blank
 * line. Lines are found with memchr and, when a whole line is inside the
 * buffer fed, used in place; only a line split across two feeds is copied.
 */
#include "sse.h"

#include <string.h>

#define SSE_DEFAULT_MAX_LINE (1024 * 1024)

void hf_sse_init(hf_sse *p, size_t max_line, hf_sse_event_fn fn, void *payload)
{
	memset(p, 0, sizeof(*p));
	p->max_line = max_line ? max_line : SSE_DEFAULT_MAX_LINE;
	p->fn = fn;
	p->payload = payload;
}

static int too_long(const hf_sse *p, const char *what, hf_error *err)
{
	return hf_err(err, HF_ELIMIT,
	              "the event stream sent %s longer than the limit of %zu bytes", what,
	              p->max_line);
}

static int dispatch(hf_sse *p, hf_error *err)
{
	const char *type, *data;
	int rc;
	if (!p->has_data) { /* an event without data is not dispatched */
		hf_buf_reset(&p->event);
		return HF_OK;
	}
	type = p->event.len ? p->event.data : "message";
	data = p->data.data ? p->data.data : "";
	if (p->data.len == 6 && memcmp(data, "[DONE]", 6) == 0)
		p->done = true;
	rc = p->fn(p->payload, type, data, p->data.len);
	hf_buf_reset(&p->data);
	hf_buf_reset(&p->event);
	p->has_data = false;
	if (rc)
		return hf_err(err, HF_ECANCELLED, "the event stream was stopped by its reader");
	return HF_OK;
}

/* One complete line, without its line end. */
static int line(hf_sse *p, const char *l, size_t n, hf_error *err)
{
	const char *colon, *value;
	size_t name_len, vlen;
	if (n == 0)
		return dispatch(p, err);
	if (l[0] == ':') /* comment */
		return HF_OK;
	colon = memchr(l, ':', n);
	name_len = colon ? (size_t)(colon - l) : n;
	value = colon ? colon + 1 : l + n;
	vlen = n - name_len - (colon ? 1 : 0);
	if (vlen && *value == ' ') {
		value++;
		vlen--;
	}
	if (name_len == 4 && memcmp(l, "data", 4) == 0) {
		if (p->data.len + vlen + 1 > p->max_line)
			return too_long(p, "an event", err);
		if ((p->has_data && hf_buf_append(&p->data, "\n", 1)) ||
		    hf_buf_append(&p->data, value, vlen))
			return hf_err(err, HF_ENOMEM, "out of memory reading the event stream");
		p->has_data = true;
	} else if (name_len == 5 && memcmp(l, "event", 5) == 0) {
		hf_buf_reset(&p->event);
		if (hf_buf_append(&p->event, value, vlen))
			return hf_err(err, HF_ENOMEM, "out of memory reading the event stream");
	}
	/* id, retry and unknown fields are ignored. */
	return HF_OK;
}

/* The first byte at or after s that is c, or end. */
static const char *find(const char *s, const char *end, char c)
{
	const char *f = memchr(s, c, (size_t)(end - s));
	return f ? f : end;
}

int hf_sse_feed(hf_sse *p, const char *buf, size_t len, hf_error *err)
{
	const char *s = buf, *end = buf + len;
	const char *lf = NULL, *cr = NULL; /* next LF / CR at or after s, or end */
	int rc;
	if (len == 0)
		return HF_OK;
	if (p->last_was_cr) { /* CR ended the last feed: a leading LF completes CRLF */
		p->last_was_cr = false;
		if (*s == '\n')
			s++;
	}
	while (s < end) {
		const char *e;
		/* Each search runs only when the previous hit is behind us, so
		 * the buffer is scanned for each byte value at most once. */
		if (!lf || lf < s)
			lf = find(s, end, '\n');
		if (!cr || cr < s)
			cr = find(s, end, '\r');
		e = lf < cr ? lf : cr;
		if (e == end) { /* no line end: keep the start of the line */
			if (p->line.len + (size_t)(end - s) > p->max_line)
				return too_long(p, "a line", err);
			if (hf_buf_append(&p->line, s, (size_t)(end - s)))
				return hf_err(err, HF_ENOMEM, "out of memory reading the event stream");
			return HF_OK;
		}
		if (p->line.len) { /* the line started in an earlier feed */
			if (p->line.len + (size_t)(e - s) > p->max_line)
				return too_long(p, "a line", err);
			if (hf_buf_append(&p->line, s, (size_t)(e - s)))
				return hf_err(err, HF_ENOMEM, "out of memory reading the event stream");
			rc = line(p, p->line.data, p->line.len, err);
			hf_buf_reset(&p->line);
		} else {
			if ((size_t)(e - s) > p->max_line)
				return too_long(p, "a line", err);
			rc = line(p, s, (size_t)(e - s), err);
		}
		if (rc)
			return rc;
		s = e + 1;
		if (*e == '\r') {
			if (s == end)
				p->last_was_cr = true;
			else if (*s == '\n')
				s++;
		}
	}
	return HF_OK;
}

int hf_sse_finish(hf_sse *p, hf_error *err)
{
	int rc = HF_OK;
	p->last_was_cr = false;
	if (p->line.len) {
		rc = line(p, p->line.data, p->line.len, err);
		hf_buf_reset(&p->line);
	}
	if (rc == HF_OK)
		rc = dispatch(p, err);
	return rc;
}

void hf_sse_dispose(hf_sse *p)
{
	hf_buf_dispose(&p->line);
	hf_buf_dispose(&p->data);
	hf_buf_dispose(&p->event);
}

/*
 * test_sse.c - the incremental SSE parser (src/sse.c): the event-stream
 * rules, every way of splitting a recorded stream, size caps, the end of
 * the stream and stopping from the callback.
 */
#include "support.h"
#include "sse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Events seen, as "type\x1fdata\x1e" records. */
typedef struct seen {
	hf_buf log;
	int events;
	int stop_after; /* return non-zero from this event on (0 = never) */
} seen;

static int on_event(void *payload, const char *event, const char *data, size_t len)
{
	seen *s = payload;
	assert_int_equal(strlen(data), len); /* NUL-terminated, no NUL inside here */
	assert_int_equal(hf_buf_puts(&s->log, event), 0);
	assert_int_equal(hf_buf_append(&s->log, "\x1f", 1), 0);
	assert_int_equal(hf_buf_append(&s->log, data, len), 0);
	assert_int_equal(hf_buf_append(&s->log, "\x1e", 1), 0);
	s->events++;
	return s->stop_after && s->events >= s->stop_after;
}

static char *load(const char *name, size_t *len)
{
	char path[512];
	char *text;
	snprintf(path, sizeof(path), "%s/sse/%s", HF_TEST_DATA, name);
	text = ts_read(path, len);
	assert_non_null(text);
	return text;
}

/* Parse buf cut at the given points (ascending, each < len). Returns the
 * log (owned); *done gets the parser's done flag. */
static char *parse_split(const char *buf, size_t len, const size_t *cuts, size_t ncuts,
                         bool *done)
{
	seen s = { HF_BUF_INIT, 0, 0 };
	hf_sse p;
	hf_error err;
	size_t i, at = 0;
	hf_sse_init(&p, 0, on_event, &s);
	for (i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : len;
		if (hf_sse_feed(&p, buf + at, to - at, &err) != HF_OK)
			fail_msg("feed failed: %s", err.message);
		at = to;
	}
	assert_int_equal(hf_sse_finish(&p, &err), HF_OK);
	if (done)
		*done = p.done;
	hf_sse_dispose(&p);
	return hf_buf_detach(&s.log);
}

static void check_every_split(const char *name, int expect_events)
{
	size_t len, i, n;
	char *buf = load(name, &len), *whole, *got;
	size_t *cuts = malloc(len * sizeof(*cuts));
	bool done = false;
	int events = 0;
	whole = parse_split(buf, len, NULL, 0, &done);
	assert_true(done);
	for (i = 0; whole[i]; i++)
		events += whole[i] == '\x1e';
	assert_int_equal(events, expect_events);
	for (i = 0; i <= len; i++) { /* one cut at every point */
		got = parse_split(buf, len, &i, 1, NULL);
		if (strcmp(got, whole))
			fail_msg("%s: different events when cut at byte %zu", name, i);
		free(got);
	}
	for (i = 0; i + 1 < len; i++) /* one byte at a time */
		cuts[i] = i + 1;
	got = parse_split(buf, len, cuts, len - 1, NULL);
	assert_string_equal(got, whole);
	free(got);
	srand(7);
	for (n = 0; n < 300; n++) { /* random cuts, several per stream */
		size_t k = 0, at = 0;
		while (k < 40 && at + 1 < len) {
			at += 1 + (size_t)rand() % 64;
			if (at >= len)
				break;
			cuts[k++] = at;
		}
		got = parse_split(buf, len, cuts, k, NULL);
		assert_string_equal(got, whole);
		free(got);
	}
	free(cuts);
	free(whole);
	free(buf);
}

static void test_openai_text_every_split(void **state)
{
	(void)state;
	check_every_split("openai_text.sse", 17);
}

static void test_openai_tool_calls_every_split(void **state)
{
	(void)state;
	check_every_split("openai_tool_calls.sse", 14);
}

static void test_edge_cases_every_split(void **state)
{
	(void)state;
	check_every_split("edge_cases.sse", 5);
}

static void test_edge_cases_events(void **state)
{
	size_t len;
	char *buf = load("edge_cases.sse", &len);
	char *got = parse_split(buf, len, NULL, 0, NULL);
	(void)state;
	assert_string_equal(got, "message\x1f" "first\x1e"
	                         "ping\x1f" "no space\x1e"
	                         "message\x1f" "line one\nline two\n\n two spaces\x1e"
	                         "message\x1f" "{\"a\":\"\xc3\xa9\"}\x1e"
	                         "message\x1f" "[DONE]\x1e");
	free(got);
	free(buf);
}

/* Feed pieces given as NULL-terminated varargs-free list; returns log. */
static char *parse_pieces(const char *const *pieces, int *rc_out, size_t max_line)
{
	seen s = { HF_BUF_INIT, 0, 0 };
	hf_sse p;
	hf_error err;
	int rc = HF_OK;
	hf_sse_init(&p, max_line, on_event, &s);
	for (; *pieces && rc == HF_OK; pieces++)
		rc = hf_sse_feed(&p, *pieces, strlen(*pieces), &err);
	if (rc == HF_OK)
		rc = hf_sse_finish(&p, &err);
	*rc_out = rc;
	hf_sse_dispose(&p);
	return hf_buf_detach(&s.log);
}

static void test_cr_then_lf_in_next_chunk(void **state)
{
	const char *pieces[] = { "data: a\r", "\ndata: b\r", "\r", NULL };
	int rc;
	char *got = parse_pieces(pieces, &rc, 0);
	(void)state;
	assert_int_equal(rc, HF_OK);
	/* The LF after the CR completes one line end, not a blank line: a and b
	 * are one event. The second CR CR is a line end plus a blank line. */
	assert_string_equal(got, "message\x1f" "a\nb\x1e");
	free(got);
}

static void test_finish_dispatches_pending(void **state)
{
	const char *no_blank[] = { "data: {\"x\":1}\n", NULL };
	const char *no_eol[] = { "event: e\ndata: tail", NULL };
	const char *nothing[] = { "data: one\n\n: comment", NULL };
	int rc;
	char *got;
	(void)state;
	got = parse_pieces(no_blank, &rc, 0);
	assert_int_equal(rc, HF_OK);
	assert_string_equal(got, "message\x1f{\"x\":1}\x1e");
	free(got);
	got = parse_pieces(no_eol, &rc, 0);
	assert_int_equal(rc, HF_OK);
	assert_string_equal(got, "e\x1ftail\x1e");
	free(got);
	got = parse_pieces(nothing, &rc, 0);
	assert_int_equal(rc, HF_OK);
	assert_string_equal(got, "message\x1fone\x1e");
	free(got);
}

static void test_done_is_passed_on(void **state)
{
	seen s = { HF_BUF_INIT, 0, 0 };
	hf_sse p;
	hf_error err;
	(void)state;
	hf_sse_init(&p, 0, on_event, &s);
	assert_int_equal(hf_sse_feed(&p, "data: [DONE] \n\n", 15, &err), HF_OK);
	assert_false(p.done); /* "[DONE] " is not [DONE] */
	assert_int_equal(hf_sse_feed(&p, "data: [DONE]\n\n", 14, &err), HF_OK);
	assert_true(p.done);
	assert_int_equal(s.events, 2);
	assert_non_null(strstr(s.log.data, "message\x1f[DONE]\x1e"));
	hf_sse_dispose(&p);
	hf_buf_dispose(&s.log);
}

static void test_line_limit(void **state)
{
	char line[64];
	int rc;
	char *got;
	const char *exact[] = { line, "\n\n", NULL };
	const char *split[] = { "data: 0123456789", "0123456789", "0123456789\n\n", NULL };
	const char *in_place[] = { "data: 0123456789012345678901234567890\n\n", NULL };
	const char *event[] = { "data: 0123456789\ndata: 0123456789\n", "data: 0123456789\n\n",
		                NULL };
	hf_sse p;
	hf_error err;
	(void)state;
	memset(line, 0, sizeof(line));
	memcpy(line, "data: ", 6);
	memset(line + 6, 'x', 26); /* 32 bytes: exactly the limit */
	got = parse_pieces(exact, &rc, 32);
	assert_int_equal(rc, HF_OK);
	free(got);
	got = parse_pieces(split, &rc, 32); /* a long line across feeds */
	assert_int_equal(rc, HF_ELIMIT);
	free(got);
	got = parse_pieces(in_place, &rc, 32); /* a long line inside one feed */
	assert_int_equal(rc, HF_ELIMIT);
	free(got);
	got = parse_pieces(event, &rc, 30); /* short lines, long event */
	assert_int_equal(rc, HF_ELIMIT);
	assert_string_equal(got, "");
	free(got);
	hf_sse_init(&p, 8, on_event, NULL);
	assert_int_equal(hf_sse_feed(&p, "data: 123456789", 15, &err), HF_ELIMIT);
	assert_string_equal(err.message,
	                    "the event stream sent a line longer than the limit of 8 bytes");
	hf_sse_dispose(&p);
}

static void test_callback_stops(void **state)
{
	seen s = { HF_BUF_INIT, 0, 2 };
	hf_sse p;
	hf_error err;
	const char *text = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
	(void)state;
	hf_sse_init(&p, 0, on_event, &s);
	assert_int_equal(hf_sse_feed(&p, text, strlen(text), &err), HF_ECANCELLED);
	assert_int_equal(s.events, 2);
	hf_sse_dispose(&p);
	hf_buf_dispose(&s.log);
}

static void test_field_rules(void **state)
{
	/* event type resets after each event; an event without data is not
	 * dispatched; "data" alone is an empty line of data; one leading space
	 * only is removed; id/retry/unknown fields and comments are ignored. */
	const char *pieces[] = { "event: a\ndata: 1\n\n", "data: 2\n\n", "event: b\n\n",
		                 "data\n\n", "data:   x\nid: 9\nretry: 1\nfoo: bar\n: c\n\n", NULL };
	int rc;
	char *got = parse_pieces(pieces, &rc, 0);
	(void)state;
	assert_int_equal(rc, HF_OK);
	assert_string_equal(got, "a\x1f" "1\x1e" "message\x1f" "2\x1e" "message\x1f\x1e"
	                         "message\x1f  x\x1e");
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openai_text_every_split),
		cmocka_unit_test(test_openai_tool_calls_every_split),
		cmocka_unit_test(test_edge_cases_every_split),
		cmocka_unit_test(test_edge_cases_events),
		cmocka_unit_test(test_cr_then_lf_in_next_chunk),
		cmocka_unit_test(test_finish_dispatches_pending),
		cmocka_unit_test(test_done_is_passed_on),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_field_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

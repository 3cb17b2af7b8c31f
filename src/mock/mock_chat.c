/*
 * mock_chat.c - a reply rendered as a chat.completion object or as an SSE
 * stream of chat.completion.chunk events (text split per word, tool-call
 * arguments split across chunks, a usage chunk on request, [DONE]), with
 * the faults that change what is rendered: oversize and error-mid-stream,
 * and for streams truncated and drop-mid-stream (mock.c cuts JSON bodies
 * and applies stalls).
 */
#include "mock_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OVERSIZE_UNIT 4096
/* Stands for the filler in an oversize body; split out after printing. */
#define FILL_MARK "@@handoff-mock-fill@@"

typedef struct usage {
	long prompt, completion;
} usage;

/* Length of the UTF-8 sequence starting with byte c (1 for a bad byte). */
static size_t utf8_len(unsigned char c)
{
	if (c >= 0xF0 && c < 0xF8)
		return 4;
	if (c >= 0xE0)
		return 3;
	if (c >= 0xC0)
		return 2;
	return 1;
}

static size_t step(const char *s, size_t i, size_t len)
{
	size_t n = utf8_len((unsigned char)s[i]);
	return i + n > len ? len - i : n;
}

/* Split text into stream pieces: after each run of spaces, and every 4
 * characters in long runs of wide characters (CJK, Thai) without spaces.
 * Returns the count; ends[k] is the end offset of piece k. */
static size_t split_words(const char *s, size_t len, size_t *ends, size_t max)
{
	size_t i = 0, n = 0, wide = 0;
	while (i < len && n + 1 < max) {
		size_t k = step(s, i, len);
		bool space = s[i] == ' ';
		wide = k >= 3 ? wide + 1 : 0;
		i += k;
		if ((space && (i == len || s[i] != ' ')) || wide == 4) {
			ends[n++] = i;
			wide = 0;
		}
	}
	if (i < len || n == 0 || ends[n - 1] != len)
		ends[n++] = len;
	return n;
}

/* Split a JSON arguments text into up to 3 pieces at character boundaries. */
static size_t split_args(const char *s, size_t len, size_t *ends)
{
	size_t n = 0, want = (len + 2) / 3, i = 0;
	if (len == 0) {
		ends[0] = 0;
		return 1;
	}
	while (i < len) {
		size_t start = i;
		while (i < len && i - start < want)
			i += step(s, i, len);
		ends[n++] = i;
	}
	return n;
}

static long tokens(size_t bytes)
{
	return (long)((bytes + 3) / 4);
}

/* Usage: 4 tokens per message plus a token per 4 bytes of text; the same
 * rule for the reply, at least 1. */
static usage count_usage(const cJSON *request, const hf_reply *r)
{
	const cJSON *messages = cJSON_GetObjectItemCaseSensitive(request, "messages"), *m;
	usage u = { 0, 0 };
	size_t i, out = r->content ? strlen(r->content) : 0;
	cJSON_ArrayForEach(m, messages) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
		u.prompt += 4 + (cJSON_IsString(c) ? tokens(strlen(c->valuestring)) : 0);
	}
	for (i = 0; i < r->ncalls; i++)
		out += strlen(r->calls[i].name) + strlen(r->calls[i].arguments);
	u.completion = tokens(out) > 0 ? tokens(out) : 1;
	return u;
}

/* An integer member. cJSON prints every number through "%1.15g" and a
 * sscanf round trip; a raw decimal costs a fraction of that per reply. */
static void add_int(cJSON *obj, const char *key, long v)
{
	char text[24];
	snprintf(text, sizeof(text), "%ld", v);
	cJSON_AddRawToObject(obj, key, text);
}

static cJSON *usage_json(usage u)
{
	cJSON *j = cJSON_CreateObject();
	add_int(j, "prompt_tokens", u.prompt);
	add_int(j, "completion_tokens", u.completion);
	add_int(j, "total_tokens", u.prompt + u.completion);
	return j;
}

/* {"id","object","created","model"} common to replies and chunks. */
static cJSON *envelope(const char *object, unsigned long id, const char *model)
{
	cJSON *j = cJSON_CreateObject();
	char idtext[48];
	snprintf(idtext, sizeof(idtext), "chatcmpl-mock-%lu", id);
	cJSON_AddStringToObject(j, "id", idtext);
	cJSON_AddStringToObject(j, "object", object);
	add_int(j, "created", MOCK_CREATED);
	cJSON_AddStringToObject(j, "model", model);
	return j;
}

static const char *model_of(const cJSON *request)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(request, "model");
	return cJSON_IsString(m) ? m->valuestring : "mock";
}

static const char *finish_reason(const hf_reply *r)
{
	return r->ncalls ? "tool_calls" : "stop";
}

static cJSON *tool_call_json(const hf_reply_call *c, int index, const char *args)
{
	cJSON *j = cJSON_CreateObject(), *fn;
	if (index >= 0)
		add_int(j, "index", index);
	if (c->id)
		cJSON_AddStringToObject(j, "id", c->id);
	cJSON_AddStringToObject(j, "type", "function");
	fn = cJSON_AddObjectToObject(j, "function");
	cJSON_AddStringToObject(fn, "name", c->name);
	cJSON_AddStringToObject(fn, "arguments", args);
	return j;
}

static int print_into(hf_buf *out, cJSON *j)
{
	char *text = j ? cJSON_PrintUnformatted(j) : NULL;
	int rc = text ? hf_buf_puts(out, text) : HF_ENOMEM;
	free(text);
	return rc;
}

/* OVERSIZE_UNIT bytes of 'x' (owned), the filler of oversize replies. */
static char *filler(void)
{
	char *f = hf_malloc(OVERSIZE_UNIT + 1);
	if (f) {
		memset(f, 'x', OVERSIZE_UNIT);
		f[OVERSIZE_UNIT] = '\0';
	}
	return f;
}

/* ---- non-streaming ---- */

static int render_json(hf_buf *out, const mock_chat_in *in, const hf_reply *r, usage u)
{
	cJSON *root = envelope("chat.completion", in->id, model_of(in->request));
	cJSON *choices = cJSON_AddArrayToObject(root, "choices");
	cJSON *choice = cJSON_CreateObject(), *msg;
	size_t i;
	int rc;

	cJSON_AddItemToArray(choices, choice);
	add_int(choice, "index", 0);
	msg = cJSON_AddObjectToObject(choice, "message");
	cJSON_AddStringToObject(msg, "role", "assistant");
	if (r->content)
		cJSON_AddStringToObject(msg, "content", r->content);
	else
		cJSON_AddNullToObject(msg, "content");
	if (r->ncalls) {
		cJSON *calls = cJSON_AddArrayToObject(msg, "tool_calls");
		for (i = 0; i < r->ncalls; i++)
			cJSON_AddItemToArray(calls, tool_call_json(&r->calls[i], -1, r->calls[i].arguments));
	}
	cJSON_AddNullToObject(choice, "logprobs");
	cJSON_AddStringToObject(choice, "finish_reason", finish_reason(r));
	cJSON_AddItemToObject(root, "usage", usage_json(u));
	rc = print_into(out, root);
	cJSON_Delete(root);
	return rc;
}

/* ---- streaming ---- */

typedef struct stream {
	cJSON *chunk;     /* the chunk envelope, reused for every event */
	cJSON *choice;
	hf_buf *out;
	int rc;
} stream;

static void emit_line(stream *s, const char *json, size_t len)
{
	if (!s->rc)
		s->rc = hf_buf_puts(s->out, "data: ");
	if (!s->rc)
		s->rc = hf_buf_append(s->out, json, len);
	if (!s->rc)
		s->rc = hf_buf_puts(s->out, "\n\n");
}

/* One chunk event with delta (consumed) and finish reason (NULL: null). */
static void emit(stream *s, cJSON *delta, const char *finish)
{
	char *text;
	cJSON_ReplaceItemInObjectCaseSensitive(s->choice, "delta", delta ? delta : cJSON_CreateObject());
	cJSON_ReplaceItemInObjectCaseSensitive(s->choice, "finish_reason",
	                                       finish ? cJSON_CreateString(finish)
	                                              : cJSON_CreateNull());
	text = cJSON_PrintUnformatted(s->chunk);
	if (!text) {
		s->rc = HF_ENOMEM;
		return;
	}
	emit_line(s, text, strlen(text));
	free(text);
}

static cJSON *content_delta(const char *text, size_t len)
{
	cJSON *d = cJSON_CreateObject();
	char *piece = hf_strndup(text, len);
	cJSON_AddStringToObject(d, "content", piece ? piece : "");
	free(piece);
	return d;
}

static void emit_content(stream *s, const char *text, size_t from, size_t to)
{
	emit(s, content_delta(text + from, to - from), NULL);
}

static void emit_role(stream *s)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "role", "assistant");
	cJSON_AddStringToObject(d, "content", "");
	emit(s, d, NULL);
}

/* The first event of tool call i: index, id, type, name, empty arguments. */
static void emit_call_head(stream *s, const hf_reply_call *c, int i)
{
	cJSON *d = cJSON_CreateObject(), *calls = cJSON_AddArrayToObject(d, "tool_calls");
	cJSON_AddItemToArray(calls, tool_call_json(c, i, ""));
	emit(s, d, NULL);
}

static void emit_call_args(stream *s, const hf_reply_call *c, int i)
{
	size_t ends[8], n = split_args(c->arguments, strlen(c->arguments), ends), k, from = 0;
	for (k = 0; k < n; k++) {
		cJSON *d = cJSON_CreateObject(), *calls = cJSON_AddArrayToObject(d, "tool_calls");
		cJSON *call = cJSON_CreateObject(), *fn;
		char *piece = hf_strndup(c->arguments + from, ends[k] - from);
		add_int(call, "index", i);
		fn = cJSON_AddObjectToObject(call, "function");
		cJSON_AddStringToObject(fn, "arguments", piece ? piece : "");
		free(piece);
		cJSON_AddItemToArray(calls, call);
		emit(s, d, NULL);
		from = ends[k];
	}
}

/* The usage chunk: no choices, the counts. */
static void emit_usage(stream *s, const mock_chat_in *in, usage u)
{
	cJSON *j = envelope("chat.completion.chunk", in->id, model_of(in->request));
	char *text;
	cJSON_AddArrayToObject(j, "choices");
	cJSON_AddItemToObject(j, "usage", usage_json(u));
	text = cJSON_PrintUnformatted(j);
	if (text)
		emit_line(s, text, strlen(text));
	else
		s->rc = HF_ENOMEM;
	free(text);
	cJSON_Delete(j);
}

static bool include_usage(const cJSON *request)
{
	const cJSON *opts = cJSON_GetObjectItemCaseSensitive(request, "stream_options");
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(opts, "include_usage"));
}

static void emit_error_event(stream *s)
{
	char *e = mock_error_json("mock fault error-mid-stream: the model failed mid-stream",
	                          "server_error", "mid_stream_error");
	if (!e) {
		s->rc = HF_ENOMEM;
		return;
	}
	emit_line(s, e, strlen(e));
	free(e);
}

/* The end of a stream: finish chunk, usage chunk when asked, [DONE]. */
static void emit_end(stream *s, const mock_chat_in *in, const hf_reply *r, usage u,
                     bool usage_on)
{
	emit(s, NULL, finish_reason(r));
	if (usage_on)
		emit_usage(s, in, u);
	if (!s->rc)
		s->rc = hf_buf_puts(s->out, "data: [DONE]\n\n");
}

/* Render the stream into b. Faults: drop-mid-stream and error-mid-stream
 * stop after half the text; truncated cuts the next event's JSON;
 * oversize puts its filler events in b->unit. */
static int render_stream(mock_body *b, const mock_chat_in *in, const hf_reply *r, usage u)
{
	mock_fault_kind fault = in->fault ? in->fault->kind : MOCK_FAULT_NONE;
	bool usage_on = include_usage(in->request), partial;
	size_t ends[512], n = 0, half, k, from = 0, i;
	stream s = { 0 };
	cJSON *choices;

	s.out = &b->head;
	s.chunk = envelope("chat.completion.chunk", in->id, model_of(in->request));
	choices = cJSON_AddArrayToObject(s.chunk, "choices");
	s.choice = cJSON_CreateObject();
	cJSON_AddItemToArray(choices, s.choice);
	add_int(s.choice, "index", 0);
	cJSON_AddObjectToObject(s.choice, "delta");
	cJSON_AddNullToObject(s.choice, "logprobs");
	cJSON_AddNullToObject(s.choice, "finish_reason");
	if (usage_on)
		cJSON_AddNullToObject(s.chunk, "usage");
	if (!s.choice || !cJSON_GetObjectItemCaseSensitive(s.chunk, "model")) {
		cJSON_Delete(s.chunk);
		return HF_ENOMEM;
	}

	emit_role(&s);
	if (r->content)
		n = split_words(r->content, strlen(r->content), ends, HF_ARRAY_LEN(ends));
	partial = fault == MOCK_FAULT_DROP_MID_STREAM || fault == MOCK_FAULT_ERROR_MID_STREAM ||
	          fault == MOCK_FAULT_TRUNCATED;
	half = partial ? (n + 1) / 2 : n;
	for (k = 0; k < half; k++) {
		emit_content(&s, r->content, from, ends[k]);
		from = ends[k];
	}
	if (partial) {
		if (fault == MOCK_FAULT_DROP_MID_STREAM) {
			if (!n && r->ncalls) /* a tool call: drop after its first event */
				emit_call_head(&s, &r->calls[0], 0);
			b->cut = b->head.len;
		} else if (fault == MOCK_FAULT_ERROR_MID_STREAM) {
			emit_error_event(&s);
		} else { /* truncated: the next event's JSON cut in half */
			hf_buf one = HF_BUF_INIT;
			s.out = &one;
			if (k < n)
				emit_content(&s, r->content, from, ends[k]);
			else
				emit(&s, NULL, finish_reason(r));
			s.out = &b->head;
			if (!s.rc && one.len > 8)
				emit_line(&s, one.data + 6, (one.len - 8) / 2);
			hf_buf_dispose(&one);
			emit_end(&s, in, r, u, false);
		}
		cJSON_Delete(s.chunk);
		return s.rc;
	}
	for (i = 0; i < r->ncalls; i++) {
		emit_call_head(&s, &r->calls[i], (int)i);
		emit_call_args(&s, &r->calls[i], (int)i);
	}
	if (fault == MOCK_FAULT_OVERSIZE) { /* filler events, then the end */
		char *fill = filler();
		s.out = &b->unit;
		if (fill)
			emit_content(&s, fill, 0, OVERSIZE_UNIT);
		else
			s.rc = HF_ENOMEM;
		free(fill);
		b->unit_count = in->fault->bytes / (b->unit.len ? b->unit.len : 1) + 1;
		s.out = &b->tail;
	}
	emit_end(&s, in, r, u, usage_on);
	cJSON_Delete(s.chunk);
	return s.rc;
}

/* An oversize JSON reply: the content is a long run of 'x' produced by b's
 * unit, with the JSON around it printed by cJSON. */
static int render_oversize_json(mock_body *b, const mock_chat_in *in, const hf_reply *r,
                                usage u)
{
	hf_reply big = *r;
	hf_buf text = HF_BUF_INIT;
	const char *mark;
	int rc;
	big.content = FILL_MARK;
	rc = render_json(&text, in, &big, u);
	mark = rc ? NULL : strstr(text.data, FILL_MARK);
	if (mark) {
		size_t at = (size_t)(mark - text.data);
		char *fill = filler();
		rc = hf_buf_append(&b->head, text.data, at);
		if (!rc)
			rc = hf_buf_puts(&b->tail, mark + strlen(FILL_MARK));
		if (!rc)
			rc = fill ? hf_buf_append(&b->unit, fill, OVERSIZE_UNIT) : HF_ENOMEM;
		free(fill);
		b->unit_count = in->fault->bytes / OVERSIZE_UNIT + 1;
	} else if (!rc) {
		rc = HF_ENOMEM;
	}
	hf_buf_dispose(&text);
	return rc;
}

int mock_chat_render(mock_chat_out *out, const mock_chat_in *in)
{
	const cJSON *stream = cJSON_GetObjectItemCaseSensitive(in->request, "stream");
	mock_fault_kind fault = in->fault ? in->fault->kind : MOCK_FAULT_NONE;
	usage u = count_usage(in->request, in->reply);
	mock_body *b = hf_calloc(1, sizeof(*b));
	int rc;

	out->body = NULL;
	if (!b)
		return HF_ENOMEM;
	if (cJSON_IsTrue(stream)) {
		out->content_type = "text/event-stream";
		rc = render_stream(b, in, in->reply, u);
	} else {
		out->content_type = "application/json";
		b->sized = true;
		if (fault == MOCK_FAULT_ERROR_MID_STREAM) {
			char *e = mock_error_json("mock fault error-mid-stream: the model failed",
			                          "server_error", "mid_stream_error");
			rc = e ? hf_buf_puts(&b->head, e) : HF_ENOMEM;
			free(e);
		} else if (fault == MOCK_FAULT_OVERSIZE) {
			rc = render_oversize_json(b, in, in->reply, u);
		} else {
			rc = render_json(&b->head, in, in->reply, u);
		}
	}
	if (rc) {
		mock_body_free(b);
		return rc;
	}
	out->body = b;
	return HF_OK;
}

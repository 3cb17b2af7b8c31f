/*
 * stream.c - assembling a streamed chat completion from its chunks
 * (the data of each SSE event): text deltas passed on as they arrive, cut
 * only at UTF-8 character boundaries; tool-call deltas assembled by index
 * as the Python Agents SDK does (id and name replaced when present and not
 * empty, arguments concatenated); a refusal collected apart from the text;
 * finish_reason and usage kept. Strings are joined as the official clients
 * join decoded strings: a UTF-16 surrogate pair whose halves arrive in two
 * chunks (escaped as lone \uD83D then \uDE00) becomes one character.
 */
#include "chat.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

typedef struct stream_call {
	hf_buf id, name, arguments;
	unsigned args_held;   /* a high surrogate ending the last arguments piece */
	bool seen;
} stream_call;

struct hf_stream {
	hf_delta_fn fn;
	void *payload;
	size_t max_calls;
	hf_buf text;          /* all text so far */
	size_t delivered;     /* bytes of text handed to fn */
	bool has_text;
	unsigned text_held;   /* a high surrogate ending the last text piece */
	hf_buf refusal;       /* delta.refusal, concatenated */
	unsigned refusal_held;
	bool has_refusal;
	bool marked;          /* the current chunk had lone surrogates (hf_text_json_mark_surrogates) */
	stream_call *calls;   /* slots by index; unseen slots are gaps */
	size_t ncalls;
	char *finish_reason;
	hf_usage usage;
	bool has_usage;
	bool done;            /* saw [DONE] */
};

int hf_stream_new(hf_stream **out, hf_delta_fn fn, void *payload, size_t max_tool_calls,
                  hf_error *err)
{
	hf_stream *s = hf_calloc(1, sizeof(*s));
	*out = NULL;
	if (!s)
		return hf_err(err, HF_ENOMEM, "out of memory starting a stream");
	s->fn = fn;
	s->payload = payload;
	s->max_calls = max_tool_calls ? max_tool_calls : HF_CHAT_MAX_TOOL_CALLS;
	*out = s;
	return HF_OK;
}

static int nomem(hf_error *err)
{
	return hf_err(err, HF_ENOMEM, "out of memory reading the stream");
}

static int lone(unsigned u, const char *what, hf_error *err)
{
	return hf_err(err, HF_EPROTOCOL, "the reply's %s has a lone UTF-16 surrogate (\\u%04x) "
	              "that no other half completes", what, u);
}

/* Append piece t[0..n) of a streamed string to b. In a chunk that had lone
 * surrogates (s->marked) they are in generalized UTF-8: a high one ending
 * the piece is held in *held for the next piece, a low one starting a piece
 * completes the held one; any other is an error. */
static int piece(hf_stream *s, hf_buf *b, unsigned *held, const char *t, size_t n,
                 const char *what, hf_error *err)
{
	unsigned u = 0;
	size_t i;
	if (!s->marked && !*held)
		return hf_buf_append(b, t, n) ? nomem(err) : HF_OK;
	if (*held) {
		utf8proc_uint8_t enc[4];
		utf8proc_ssize_t len;
		if (s->marked)
			u = hf_text_surrogate_at(t, n);
		if (u < 0xdc00)
			return lone(*held, what, err);
		len = utf8proc_encode_char(0x10000 + (((utf8proc_int32_t)*held - 0xd800) << 10) +
		                           ((utf8proc_int32_t)u - 0xdc00), enc);
		if (hf_buf_append(b, (const char *)enc, (size_t)len))
			return nomem(err);
		*held = 0;
		t += 3;
		n -= 3;
	}
	if (n >= 3 && (u = hf_text_surrogate_at(t + n - 3, 3)) != 0 && u < 0xdc00) {
		*held = u;
		n -= 3;
	}
	for (i = 0; i + 3 <= n; i++)
		if ((u = hf_text_surrogate_at(t + i, n - i)))
			return lone(u, what, err);
	return hf_buf_append(b, t, n) ? nomem(err) : HF_OK;
}

/* Append a text delta and hand on everything up to the last complete
 * character; an incomplete character waits for the next chunk. */
static int text(hf_stream *s, const char *t, hf_error *err)
{
	size_t n = strlen(t), pending, ready;
	const char *start;
	int rc;
	if (n == 0)
		return HF_OK;
	if ((rc = piece(s, &s->text, &s->text_held, t, n, "text", err)))
		return rc;
	s->has_text = true;
	start = s->text.data + s->delivered;
	pending = s->text.len - s->delivered;
	ready = pending - hf_text_utf8_incomplete_tail(start, pending);
	if (!hf_text_utf8_valid(start, ready, NULL))
		return hf_err(err, HF_EPROTOCOL, "the reply's text is not valid UTF-8");
	if (ready == 0)
		return HF_OK;
	s->delivered += ready;
	if (s->fn && s->fn(s->payload, start, ready))
		return hf_err(err, HF_ECANCELLED, "the reply was cancelled by its reader");
	return HF_OK;
}

static int set_buf(hf_buf *b, const char *v, hf_error *err)
{
	hf_buf_reset(b);
	return hf_buf_puts(b, v) ? nomem(err) : HF_OK;
}

/* A member that is a string, null or absent: *v is the string or NULL. */
static bool opt_string(const char **v, const cJSON *o, const char *key)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, key);
	*v = cJSON_IsString(m) ? m->valuestring : NULL;
	return !m || cJSON_IsNull(m) || cJSON_IsString(m);
}

static int call_delta(hf_stream *s, const cJSON *tc, size_t pos, hf_error *err)
{
	const cJSON *index = cJSON_GetObjectItemCaseSensitive(tc, "index");
	const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
	const char *id, *name = NULL, *args = NULL;
	size_t i = pos; /* providers that omit index send calls in order */
	stream_call *c;
	int rc;
	if (!cJSON_IsObject(tc) || (fn && !cJSON_IsNull(fn) && !cJSON_IsObject(fn)) ||
	    !opt_string(&id, tc, "id") || (cJSON_IsObject(fn) && (!opt_string(&name, fn, "name") ||
	                                                          !opt_string(&args, fn, "arguments"))))
		return hf_err(err, HF_EPROTOCOL, "a tool call in the stream is malformed");
	if (index && !cJSON_IsNull(index)) {
		double d = index->valuedouble;
		if (!cJSON_IsNumber(index) || !(d >= 0))
			return hf_err(err, HF_EPROTOCOL, "a tool call in the stream has a bad index");
		i = d < (double)s->max_calls ? (size_t)d : s->max_calls; /* no overflow */
		if (i < s->max_calls && (double)i != d)
			return hf_err(err, HF_EPROTOCOL, "a tool call in the stream has a bad index");
	}
	if (i >= s->max_calls)
		return hf_err(err, HF_ELIMIT, "the reply has more than %zu tool calls", s->max_calls);
	if (i >= s->ncalls) {
		stream_call *grown = hf_realloc(s->calls, (i + 1) * sizeof(*grown));
		if (!grown)
			return nomem(err);
		memset(grown + s->ncalls, 0, (i + 1 - s->ncalls) * sizeof(*grown));
		s->calls = grown;
		s->ncalls = i + 1;
	}
	c = &s->calls[i];
	c->seen = true;
	if (id && *id && (rc = set_buf(&c->id, id, err)))
		return rc;
	if (name && *name && (rc = set_buf(&c->name, name, err)))
		return rc;
	if (args && *args)
		return piece(s, &c->arguments, &c->args_held, args, strlen(args), "tool call arguments",
		             err);
	return HF_OK;
}

static int chunk(hf_stream *s, const cJSON *root, hf_error *err)
{
	const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
	const cJSON *choice, *delta, *calls, *tc;
	const char *content, *finish, *refusal;
	size_t pos = 0;
	int rc;
	if (!cJSON_IsObject(root))
		return hf_err(err, HF_EPROTOCOL, "a stream chunk is not a JSON object");
	if (cJSON_IsObject(usage)) {
		hf_chat_usage(usage, &s->usage);
		s->has_usage = true;
	}
	if (!choices || cJSON_IsNull(choices))
		return HF_OK;
	if (!cJSON_IsArray(choices))
		return hf_err(err, HF_EPROTOCOL, "a stream chunk's choices is not a list");
	choice = choices->child;
	if (!choice) /* the usage chunk has no choices */
		return HF_OK;
	delta = cJSON_GetObjectItemCaseSensitive(choice, "delta");
	if (!cJSON_IsObject(choice) || (delta && !cJSON_IsNull(delta) && !cJSON_IsObject(delta)) ||
	    !opt_string(&finish, choice, "finish_reason") || !opt_string(&content, delta, "content") ||
	    !opt_string(&refusal, delta, "refusal"))
		return hf_err(err, HF_EPROTOCOL, "a stream chunk's choice is malformed");
	if (finish) {
		free(s->finish_reason);
		if (!(s->finish_reason = hf_strdup(finish)))
			return nomem(err);
	}
	if (content && (rc = text(s, content, err)))
		return rc;
	if (refusal && *refusal) {
		if ((rc = piece(s, &s->refusal, &s->refusal_held, refusal, strlen(refusal), "refusal",
		                err)))
			return rc;
		s->has_refusal = true;
	}
	calls = cJSON_GetObjectItemCaseSensitive(delta, "tool_calls");
	if (calls && !cJSON_IsNull(calls) && !cJSON_IsArray(calls))
		return hf_err(err, HF_EPROTOCOL, "a stream chunk's tool_calls is not a list");
	cJSON_ArrayForEach(tc, calls) {
		if ((rc = call_delta(s, tc, pos++, err)))
			return rc;
	}
	return HF_OK;
}

int hf_stream_chunk(hf_stream *s, const char *data, size_t len, hf_error *err)
{
	cJSON *root;
	int rc;
	if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		s->done = true;
		return HF_OK;
	}
	rc = hf_chat_parse(&root, data, len, "a stream chunk", err);
	if (rc == HF_EPROTOCOL && !root && hf_text_utf8_valid(data, len, NULL)) {
		/* cJSON refuses a lone surrogate; a pair split across two
		 * chunks has one at the end of one and the start of the next. */
		char *marked = NULL;
		size_t mlen;
		long n = hf_text_json_mark_surrogates(&marked, &mlen, NULL, data, len);
		if (n < 0)
			return nomem(err);
		if (n > 0) {
			rc = hf_chat_parse(&root, marked, mlen, "a stream chunk", err);
			s->marked = true;
		}
		free(marked);
	}
	if (rc == HF_OK)
		rc = chunk(s, root, err);
	s->marked = false;
	cJSON_Delete(root);
	return rc;
}

int hf_stream_finish(hf_stream *s, hf_reply *out, hf_error *err)
{
	size_t i, n = 0;
	int rc;
	memset(out, 0, sizeof(*out));
	/* Python accepts a stream that just stops; we want [DONE] or at least
	 * a finish_reason, so a dropped connection is not taken for a reply. */
	if (!s->done && !s->finish_reason)
		return hf_err(err, HF_EPROTOCOL, "the stream ended before the reply was complete");
	if (s->delivered != s->text.len)
		return hf_err(err, HF_EPROTOCOL, "the reply's text is not valid UTF-8");
	if (s->text_held || s->refusal_held)
		return lone(s->text_held ? s->text_held : s->refusal_held,
		            s->text_held ? "text" : "refusal", err);
	for (i = 0; i < s->ncalls; i++) {
		if (s->calls[i].args_held)
			return lone(s->calls[i].args_held, "tool call arguments", err);
		n += s->calls[i].seen;
	}
	if (n && !(out->calls = hf_calloc(n, sizeof(*out->calls))))
		return nomem(err);
	for (i = 0; i < s->ncalls; i++) {
		stream_call *c = &s->calls[i];
		hf_reply_call *t;
		if (!c->seen)
			continue;
		t = &out->calls[out->ncalls++];
		t->id = hf_buf_detach(&c->id);
		t->name = hf_buf_detach(&c->name);
		t->arguments = hf_buf_detach(&c->arguments);
		if (!t->id || !t->name || !t->arguments) {
			hf_chat_reply_dispose(out);
			return nomem(err);
		}
	}
	if ((s->has_text && !(out->content = hf_buf_detach(&s->text))) ||
	    (s->has_refusal && !(out->refusal = hf_buf_detach(&s->refusal)))) {
		hf_chat_reply_dispose(out);
		return nomem(err);
	}
	out->finish_reason = s->finish_reason;
	s->finish_reason = NULL;
	out->usage = s->usage;
	out->usage.requests = 1;
	out->has_usage = s->has_usage;
	rc = hf_chat_reply_check(out, err);
	if (rc)
		hf_chat_reply_dispose(out);
	return rc;
}

bool hf_stream_complete(const hf_stream *s)
{
	return s->done || s->finish_reason;
}

size_t hf_stream_delivered(const hf_stream *s)
{
	return s->delivered;
}

void hf_stream_free(hf_stream *s)
{
	size_t i;
	if (!s)
		return;
	for (i = 0; i < s->ncalls; i++) {
		hf_buf_dispose(&s->calls[i].id);
		hf_buf_dispose(&s->calls[i].name);
		hf_buf_dispose(&s->calls[i].arguments);
	}
	free(s->calls);
	hf_buf_dispose(&s->text);
	hf_buf_dispose(&s->refusal);
	free(s->finish_reason);
	free(s);
}

/*
 * bench_sse.c - how fast a streamed chat completion is read: the SSE parser
 * alone, and the parser plus chunk assembly (JSON of every chunk parsed,
 * text deltas checked and handed on, tool calls assembled).
 *
 * The input is built in memory: streamed replies in the byte format OpenAI
 * sends (a role chunk, one chunk per token of text - accented, CJK and emoji
 * text among it - a finish chunk, the usage chunk, data: [DONE]; every
 * fourth reply is a tool call with its arguments in pieces; a keep-alive
 * comment now and then), repeated to the requested size. It is fed in
 * 16 KiB pieces, as libcurl hands over a body.
 *
 *   bench_sse [MIB [RUNS]]      (default 64 MiB, 7 runs; assembly: RUNS/2+1)
 *
 * Prints two lines (MB = 10^6 bytes, the median of the runs):
 *   sse_parse bytes=N events=E runs=R mb_per_s=X
 *   sse_assemble bytes=N replies=P runs=R mb_per_s=X
 * Target for sse_parse: >= 1000 MB/s.
 */
#include "chat.h"
#include "sse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PIECE (16 * 1024)

static const char *const words[] = {
	"The", " weather", " in", " Madrid", " is", " sunny", ",", " with", " a", " high",
	" of", " 31", "\xc2\xb0", "C", ".", " \xc2\xbf", "Qu\xc3\xa9", " m\xc3\xa1s", " necesitas",
	"?", " \xe4\xbb\x8a\xe5\xa4\xa9", "\xe5\xa4\xa9\xe6\xb0\x94", "\xe5\xbe\x88", "\xe5\xa5\xbd",
	"\xe3\x80\x82", " \xf0\x9f\x98\x8a", "\\n", " Let", " me", " know", " if", " you",
	" want", " the", " forecast", " for", " tomorrow", " as", " well", "!",
};

#define HEAD \
	"data: {\"id\":\"chatcmpl-C1x9yQ2wF3sVt7LrBn4KpDm8ZeHa\",\"object\":\"chat.completion.chunk\"," \
	"\"created\":1754500123,\"model\":\"gpt-4o-2024-08-06\",\"service_tier\":\"default\"," \
	"\"system_fingerprint\":\"fp_07871e2ad8\",\"choices\":"

static void die(const char *what, const hf_error *err)
{
	fprintf(stderr, "bench_sse: %s: %s\n", what, err ? err->message : "failed");
	exit(1);
}

static void put(hf_buf *b, const char *s)
{
	if (hf_buf_puts(b, s))
		die("out of memory building the input", NULL);
}

static void chunk(hf_buf *b, const char *delta, const char *finish)
{
	put(b, HEAD "[{\"index\":0,\"delta\":");
	put(b, delta);
	put(b, ",\"logprobs\":null,\"finish_reason\":");
	put(b, finish);
	put(b, "}],\"usage\":null}\n\n");
}

static void text_reply(hf_buf *b, unsigned *seed)
{
	char delta[128];
	int i, n = 30 + (int)(*seed % 40);
	chunk(b, "{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}", "null");
	for (i = 0; i < n; i++) {
		*seed = *seed * 1103515245u + 12345u;
		snprintf(delta, sizeof(delta), "{\"content\":\"%s\"}",
		         words[(*seed >> 16) % (sizeof(words) / sizeof(words[0]))]);
		chunk(b, delta, "null");
		if (i % 25 == 24)
			put(b, ": keep-alive\n\n");
	}
	chunk(b, "{}", "\"stop\"");
}

static void tool_reply(hf_buf *b)
{
	static const char *const args[] = { "{\\\"", "city", "\\\":\\\"", "Mad", "rid", "\\\"}" };
	char delta[160];
	size_t i;
	chunk(b, "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":"
	         "\"call_Xq1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
	         "\"arguments\":\"\"}}],\"refusal\":null}", "null");
	for (i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		snprintf(delta, sizeof(delta),
		         "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"%s\"}}]}", args[i]);
		chunk(b, delta, "null");
	}
	chunk(b, "{}", "\"tool_calls\"");
}

static char *build(size_t size, size_t *len, size_t *replies)
{
	hf_buf b = HF_BUF_INIT;
	unsigned seed = 42;
	*replies = 0;
	while (b.len < size) {
		if (*replies % 4 == 3)
			tool_reply(&b);
		else
			text_reply(&b, &seed);
		put(&b, "data: {\"id\":\"chatcmpl-C1x9yQ2wF3sVt7LrBn4KpDm8ZeHa\",\"object\":"
		        "\"chat.completion.chunk\",\"created\":1754500123,\"model\":\"gpt-4o-2024-08-06\","
		        "\"choices\":[],\"usage\":{\"prompt_tokens\":31,\"completion_tokens\":45,"
		        "\"total_tokens\":76}}\n\ndata: [DONE]\n\n");
		(*replies)++;
	}
	*len = b.len;
	return hf_buf_detach(&b);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Feed the whole input in PIECE-sized pieces; returns seconds. */
static double feed_all(hf_sse *p, const char *in, size_t len)
{
	hf_error err;
	size_t at;
	double t0 = now_s();
	for (at = 0; at < len; at += PIECE)
		if (hf_sse_feed(p, in + at, len - at < PIECE ? len - at : PIECE, &err))
			die("parse", &err);
	if (hf_sse_finish(p, &err))
		die("parse", &err);
	return now_s() - t0;
}

/* ---- parse only: the callback counts ---- */

typedef struct counts {
	size_t events, bytes;
} counts;

static int count_event(void *payload, const char *event, const char *data, size_t len)
{
	counts *c = payload;
	(void)event;
	(void)data;
	c->events++;
	c->bytes += len;
	return 0;
}

/* ---- parse and assemble: one hf_stream per reply ---- */

typedef struct assembly {
	hf_stream *s;
	size_t replies, text;
	hf_error err;
} assembly;

static int on_text(void *payload, const char *text, size_t len)
{
	assembly *a = payload;
	(void)text;
	a->text += len;
	return 0;
}

static int assemble_event(void *payload, const char *event, const char *data, size_t len)
{
	assembly *a = payload;
	hf_reply r;
	(void)event;
	if (hf_stream_chunk(a->s, data, len, &a->err))
		die("assemble", &a->err);
	if (len == 6 && !memcmp(data, "[DONE]", 6)) {
		if (hf_stream_finish(a->s, &r, &a->err))
			die("assemble", &a->err);
		hf_chat_reply_dispose(&r);
		hf_stream_free(a->s);
		if (hf_stream_new(&a->s, on_text, a, 0, &a->err))
			die("assemble", &a->err);
		a->replies++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 64, len, replies, i;
	int runs = argc > 2 ? atoi(argv[2]) : 7, aruns;
	double *t;
	char *in;
	counts c = { 0, 0 };
	if (mib == 0 || runs <= 0) {
		fprintf(stderr, "usage: bench_sse [MIB [RUNS]]\n");
		return 2;
	}
	aruns = runs / 2 + 1;
	in = build(mib << 20, &len, &replies);
	t = calloc((size_t)runs, sizeof(*t));
	for (i = 0; i < (size_t)runs; i++) {
		hf_sse p;
		c.events = c.bytes = 0;
		hf_sse_init(&p, 0, count_event, &c);
		t[i] = feed_all(&p, in, len);
		hf_sse_dispose(&p);
	}
	qsort(t, (size_t)runs, sizeof(*t), cmp_double);
	printf("sse_parse bytes=%zu events=%zu runs=%d mb_per_s=%.0f\n", len, c.events, runs,
	       len / t[runs / 2] / 1e6);
	for (i = 0; i < (size_t)aruns; i++) {
		assembly a = { NULL, 0, 0, { 0, 0, "" } };
		hf_sse p;
		if (hf_stream_new(&a.s, on_text, &a, 0, &a.err))
			die("assemble", &a.err);
		hf_sse_init(&p, 0, assemble_event, &a);
		t[i] = feed_all(&p, in, len);
		hf_sse_dispose(&p);
		hf_stream_free(a.s);
		if (a.replies != replies)
			die("assemble: replies lost", NULL);
	}
	qsort(t, (size_t)aruns, sizeof(*t), cmp_double);
	printf("sse_assemble bytes=%zu replies=%zu runs=%d mb_per_s=%.0f\n", len, replies, aruns,
	       len / t[aruns / 2] / 1e6);
	free(t);
	free(in);
	return 0;
}

/*
 * test_mock_stream.c - the mock's SSE streams, parsed here from the raw
 * bytes: chunk structure, text split over several chunks, tool-call deltas
 * (index, id and name first, arguments in pieces), the usage chunk and
 * [DONE].
 */
#include "support_mock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_HELLO                                                                   \
	"{\"model\":\"gpt-4o\",\"stream\":true%s,\"messages\":[{\"role\":\"user\","   \
	"\"content\":\"Hello, how are you?\"}]%s}"

typedef struct stream {
	tm_resp r;
	char **data;  /* event payloads */
	size_t n;
	cJSON **chunks; /* parsed payloads; NULL for [DONE] */
} stream;

static void open_stream(stream *s, hf_mock *m, const char *body)
{
	size_t i;
	tm_post(&s->r, m, "/v1/chat/completions", body, NULL);
	assert_int_equal(s->r.status, 200);
	assert_int_equal(s->r.curl_code, 0);
	s->data = tm_sse_data(s->r.body, s->r.len, &s->n);
	s->chunks = calloc(s->n + 1, sizeof(*s->chunks));
	for (i = 0; i < s->n; i++) {
		if (!strcmp(s->data[i], "[DONE]"))
			continue;
		s->chunks[i] = cJSON_Parse(s->data[i]);
		if (!s->chunks[i])
			fail_msg("event %zu is not JSON: %s", i, s->data[i]);
	}
}

static void close_stream(stream *s)
{
	size_t i;
	for (i = 0; i < s->n; i++)
		cJSON_Delete(s->chunks[i]);
	free(s->chunks);
	tm_strv_free(s->data);
	tm_resp_dispose(&s->r);
}

static cJSON *choice0(cJSON *chunk)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItem(chunk, "choices"), 0);
}

static cJSON *delta(cJSON *chunk)
{
	return cJSON_GetObjectItem(choice0(chunk), "delta");
}

/* Every chunk before [DONE] is a chat.completion.chunk of one id. */
static void assert_chunks(const stream *s, const char *id)
{
	size_t i;
	assert_true(s->n >= 3);
	assert_string_equal(s->data[s->n - 1], "[DONE]");
	for (i = 0; i + 1 < s->n; i++) {
		cJSON *c = s->chunks[i];
		assert_non_null(c);
		assert_string_equal(cJSON_GetObjectItem(c, "object")->valuestring, "chat.completion.chunk");
		assert_string_equal(cJSON_GetObjectItem(c, "id")->valuestring, id);
		assert_string_equal(cJSON_GetObjectItem(c, "model")->valuestring, "gpt-4o");
		assert_true(cJSON_IsNumber(cJSON_GetObjectItem(c, "created")));
	}
}

static void test_text_stream(void **state)
{
	hf_mock *m = tm_start(NULL);
	char body[512], text[256] = "", *ctype, *te;
	stream s;
	size_t i, pieces = 0;
	cJSON *last;
	(void)state;
	snprintf(body, sizeof(body), STREAM_HELLO, "", "");
	open_stream(&s, m, body);
	ctype = tm_header(&s.r, "Content-Type");
	assert_string_equal(ctype, "text/event-stream");
	te = tm_header(&s.r, "Transfer-Encoding");
	assert_string_equal(te, "chunked");
	free(ctype);
	free(te);
	assert_chunks(&s, "chatcmpl-mock-1");
	/* first: the role, with empty content */
	assert_string_equal(cJSON_GetObjectItem(delta(s.chunks[0]), "role")->valuestring, "assistant");
	assert_string_equal(cJSON_GetObjectItem(delta(s.chunks[0]), "content")->valuestring, "");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(choice0(s.chunks[0]), "finish_reason")));
	/* then the text in several pieces */
	for (i = 1; i + 2 < s.n; i++) {
		cJSON *c = cJSON_GetObjectItem(delta(s.chunks[i]), "content");
		assert_true(cJSON_IsString(c));
		assert_null(cJSON_GetObjectItem(delta(s.chunks[i]), "role"));
		strcat(text, c->valuestring);
		pieces++;
	}
	assert_true(pieces >= 3);
	assert_string_equal(text, "Hello! I'm happy to help you in English.");
	/* last chunk: empty delta and the finish reason; no usage chunk */
	last = s.chunks[s.n - 2];
	assert_int_equal(cJSON_GetArraySize(delta(last)), 0);
	assert_string_equal(cJSON_GetObjectItem(choice0(last), "finish_reason")->valuestring, "stop");
	for (i = 0; i + 1 < s.n; i++)
		assert_null(cJSON_GetObjectItem(s.chunks[i], "usage"));
	close_stream(&s);
	hf_mock_stop(m);
}

static void test_usage_chunk(void **state)
{
	hf_mock *m = tm_start(NULL);
	char body[512];
	stream s;
	tm_resp plain;
	cJSON *usage, *expect, *j;
	size_t i;
	(void)state;
	snprintf(body, sizeof(body), STREAM_HELLO, ",\"stream_options\":{\"include_usage\":true}", "");
	open_stream(&s, m, body);
	assert_chunks(&s, "chatcmpl-mock-1");
	/* the usage chunk comes last, with no choices; the others carry null */
	usage = s.chunks[s.n - 2];
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(usage, "choices")), 0);
	for (i = 0; i + 2 < s.n; i++)
		assert_true(cJSON_IsNull(cJSON_GetObjectItem(s.chunks[i], "usage")));
	assert_string_equal(cJSON_GetObjectItem(choice0(s.chunks[s.n - 3]), "finish_reason")->valuestring,
	                    "stop");
	/* the same counts as the non-streaming reply */
	snprintf(body, sizeof(body), STREAM_HELLO, "", "");
	tm_post(&plain, m, "/v1/chat/completions",
	        "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\","
	        "\"content\":\"Hello, how are you?\"}]}",
	        NULL);
	j = tm_json(&plain);
	expect = cJSON_GetObjectItem(j, "usage");
	assert_true(cJSON_Compare(cJSON_GetObjectItem(usage, "usage"), expect, true));
	assert_true(cJSON_GetObjectItem(expect, "total_tokens")->valueint > 0);
	cJSON_Delete(j);
	tm_resp_dispose(&plain);
	close_stream(&s);
	hf_mock_stop(m);
}

static void test_tool_call_stream(void **state)
{
	hf_mock *m = tm_start(NULL);
	const char *tools = ",\"tools\":[{\"type\":\"function\",\"function\":"
	                    "{\"name\":\"transfer_to_spanish_agent\"}}]";
	char body[512], args[64] = "";
	stream s;
	cJSON *first, *call, *fn, *last;
	size_t i, arg_chunks = 0;
	(void)state;
	snprintf(body, sizeof(body),
	         "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\","
	         "\"content\":\"Hola, ¿qué tal?\"}]%s}",
	         tools);
	open_stream(&s, m, body);
	assert_chunks(&s, "chatcmpl-mock-1");
	assert_string_equal(cJSON_GetObjectItem(delta(s.chunks[0]), "role")->valuestring, "assistant");
	/* the call's first chunk: index, id, type, name, empty arguments */
	first = delta(s.chunks[1]);
	call = cJSON_GetArrayItem(cJSON_GetObjectItem(first, "tool_calls"), 0);
	assert_int_equal(cJSON_GetObjectItem(call, "index")->valueint, 0);
	assert_string_equal(cJSON_GetObjectItem(call, "id")->valuestring, "call_1");
	assert_string_equal(cJSON_GetObjectItem(call, "type")->valuestring, "function");
	fn = cJSON_GetObjectItem(call, "function");
	assert_string_equal(cJSON_GetObjectItem(fn, "name")->valuestring, "transfer_to_spanish_agent");
	assert_string_equal(cJSON_GetObjectItem(fn, "arguments")->valuestring, "");
	/* then the arguments in pieces, by index only */
	for (i = 2; i + 2 < s.n; i++) {
		call = cJSON_GetArrayItem(cJSON_GetObjectItem(delta(s.chunks[i]), "tool_calls"), 0);
		assert_non_null(call);
		assert_int_equal(cJSON_GetObjectItem(call, "index")->valueint, 0);
		assert_null(cJSON_GetObjectItem(call, "id"));
		fn = cJSON_GetObjectItem(call, "function");
		assert_null(cJSON_GetObjectItem(fn, "name"));
		strcat(args, cJSON_GetObjectItem(fn, "arguments")->valuestring);
		arg_chunks++;
	}
	assert_true(arg_chunks >= 2);
	assert_string_equal(args, "{}");
	last = s.chunks[s.n - 2];
	assert_string_equal(cJSON_GetObjectItem(choice0(last), "finish_reason")->valuestring,
	                    "tool_calls");
	close_stream(&s);
	hf_mock_stop(m);
}

static void test_cjk_text_split_at_characters(void **state)
{
	hf_mock *m = tm_start(NULL);
	char text[256] = "";
	stream s;
	size_t i, pieces = 0;
	(void)state;
	open_stream(&s, m,
	            "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\","
	            "\"content\":\"你好，今天天气怎么样？\"}]}");
	assert_chunks(&s, "chatcmpl-mock-1");
	for (i = 1; i + 2 < s.n; i++) {
		/* each piece parsed as JSON, so each is whole UTF-8 */
		strcat(text, cJSON_GetObjectItem(delta(s.chunks[i]), "content")->valuestring);
		pieces++;
	}
	assert_true(pieces >= 3);
	assert_string_equal(text, "你好！我很乐意用中文帮助你。");
	close_stream(&s);
	hf_mock_stop(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_stream),
		cmocka_unit_test(test_usage_chunk),
		cmocka_unit_test(test_tool_call_stream),
		cmocka_unit_test(test_cjk_text_split_at_characters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_mock_tools.c - the mock model's function tools, over HTTP against
 * the real mock on loopback: a user message naming an offered function
 * tool gets a call to it (arguments from a JSON object in the message, or
 * key=value pairs typed by the tool's schema), several named tools get
 * several calls in message order, tool results are answered with their
 * output, tool_choice "none" stops every call, and streams carry the same.
 */
#include "support_mock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_SCHEMA                                                                    \
	"{\"type\":\"object\",\"properties\":{"                                             \
	"\"path\":{\"type\":\"string\"},\"head\":{\"type\":\"integer\"},"                   \
	"\"ratio\":{\"type\":[\"number\",\"null\"]},\"verbose\":{\"type\":\"boolean\"},"    \
	"\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},"                  \
	"\"required\":[\"path\",\"head\",\"ratio\",\"verbose\",\"tags\"],"                  \
	"\"additionalProperties\":false}"

typedef struct conv {
	cJSON *req;
	cJSON *messages;
	cJSON *tools;
} conv;

static void conv_init(conv *c, const char *user)
{
	cJSON *m;
	c->req = cJSON_CreateObject();
	cJSON_AddStringToObject(c->req, "model", "gpt-4o");
	c->messages = cJSON_AddArrayToObject(c->req, "messages");
	c->tools = cJSON_AddArrayToObject(c->req, "tools");
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", "system");
	cJSON_AddStringToObject(m, "content", "You are the support agent.");
	cJSON_AddItemToArray(c->messages, m);
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", "user");
	cJSON_AddStringToObject(m, "content", user);
	cJSON_AddItemToArray(c->messages, m);
}

/* Offer a function tool; schema NULL: none. */
static void offer(conv *c, const char *name, const char *schema)
{
	cJSON *t = cJSON_CreateObject(), *fn;
	cJSON_AddStringToObject(t, "type", "function");
	fn = cJSON_AddObjectToObject(t, "function");
	cJSON_AddStringToObject(fn, "name", name);
	cJSON_AddStringToObject(fn, "description", "A tool.");
	if (schema)
		cJSON_AddItemToObject(fn, "parameters", cJSON_Parse(schema));
	cJSON_AddItemToArray(c->tools, t);
}

/* The assistant message calling `name` (call id) and the tool's answer. */
static void add_result(conv *c, const char *id, const char *name, const char *output)
{
	cJSON *m = cJSON_CreateObject(), *calls, *call, *fn;
	cJSON_AddStringToObject(m, "role", "assistant");
	cJSON_AddNullToObject(m, "content");
	calls = cJSON_AddArrayToObject(m, "tool_calls");
	call = cJSON_CreateObject();
	cJSON_AddStringToObject(call, "id", id);
	cJSON_AddStringToObject(call, "type", "function");
	fn = cJSON_AddObjectToObject(call, "function");
	cJSON_AddStringToObject(fn, "name", name);
	cJSON_AddStringToObject(fn, "arguments", "{}");
	cJSON_AddItemToArray(calls, call);
	cJSON_AddItemToArray(c->messages, m);
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", "tool");
	cJSON_AddStringToObject(m, "tool_call_id", id);
	cJSON_AddStringToObject(m, "content", output);
	cJSON_AddItemToArray(c->messages, m);
}

/* The reply's message (non-streaming), owned by *root. */
static cJSON *ask(hf_mock *m, conv *c, cJSON **root)
{
	char *body = cJSON_PrintUnformatted(c->req);
	cJSON *choice;
	tm_resp r;
	tm_post(&r, m, "/v1/chat/completions", body, NULL);
	assert_int_equal(r.status, 200);
	*root = tm_json(&r);
	choice = cJSON_GetArrayItem(cJSON_GetObjectItem(*root, "choices"), 0);
	tm_resp_dispose(&r);
	free(body);
	return cJSON_GetObjectItem(choice, "message");
}

static const char *call_field(const cJSON *msg, int i, const char *key)
{
	const cJSON *call = cJSON_GetArrayItem(cJSON_GetObjectItem(msg, "tool_calls"), i);
	const cJSON *v = cJSON_GetObjectItem(call, key);
	if (!v)
		v = cJSON_GetObjectItem(cJSON_GetObjectItem(call, "function"), key);
	if (!cJSON_IsString(v))
		fail_msg("tool call %d has no \"%s\"", i, key);
	return v->valuestring;
}

/* The single call the reply makes: its name and arguments text. */
static void assert_one_call(hf_mock *m, conv *c, const char *name, const char *args)
{
	cJSON *root, *msg = ask(m, c, &root);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(msg, "tool_calls")), 1);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(msg, "content")));
	assert_string_equal(call_field(msg, 0, "name"), name);
	assert_string_equal(call_field(msg, 0, "arguments"), args);
	cJSON_Delete(root);
}

/* The reply is text (returned, owned) without calls. */
static char *assert_text(hf_mock *m, conv *c)
{
	cJSON *root, *msg = ask(m, c, &root), *content;
	char *out;
	assert_null(cJSON_GetObjectItem(msg, "tool_calls"));
	content = cJSON_GetObjectItem(msg, "content");
	assert_true(cJSON_IsString(content));
	out = strdup(content->valuestring);
	cJSON_Delete(root);
	return out;
}

/* The reply is exactly the text `expected`. */
static void assert_answer(hf_mock *m, conv *c, const char *expected)
{
	char *text = assert_text(m, c);
	assert_string_equal(text, expected);
	free(text);
}

static void test_pairs_typed_by_schema(void **state)
{
	hf_mock *m = tm_start(NULL);
	conv c;
	(void)state;
	conv_init(&c, "please read_text_file path=\"my \\\"big\\\" file.txt\" head=3 ratio=0.5 "
	              "verbose=TRUE tags=[\"a\",\"b\"] other=1");
	offer(&c, "read_text_file", READ_SCHEMA);
	assert_one_call(m, &c, "read_text_file",
	                "{\"path\":\"my \\\"big\\\" file.txt\",\"head\":3,\"ratio\":0.5,"
	                "\"verbose\":true,\"tags\":[\"a\",\"b\"]}");
	cJSON_Delete(c.req);

	/* values that do not read as their type stay strings: the tool will
	 * say what is wrong, as a real model's bad arguments would */
	conv_init(&c, "read_text_file head=3.5 verbose=maybe ratio=x tags=notjson path=a.txt");
	offer(&c, "read_text_file", READ_SCHEMA);
	assert_one_call(m, &c, "read_text_file",
	                "{\"path\":\"a.txt\",\"head\":\"3.5\",\"ratio\":\"x\",\"verbose\":\"maybe\","
	                "\"tags\":\"notjson\"}");
	cJSON_Delete(c.req);

	/* pairs before the tool's name count too */
	conv_init(&c, "with path=b.txt please run read_text_file head=1");
	offer(&c, "read_text_file", READ_SCHEMA);
	assert_one_call(m, &c, "read_text_file", "{\"path\":\"b.txt\",\"head\":1}");
	cJSON_Delete(c.req);

	/* a key inside another word is not that key; none given: {} */
	conv_init(&c, "run read_text_file xpath=b.txt");
	offer(&c, "read_text_file", READ_SCHEMA);
	assert_one_call(m, &c, "read_text_file", "{}");
	cJSON_Delete(c.req);
	hf_mock_stop(m);
}

static void test_json_object_in_message(void **state)
{
	hf_mock *m = tm_start(NULL);
	conv c;
	(void)state;
	conv_init(&c, "Call lookup_order with {not json} then {\"order\": \"A-17\", \"n\": 2} please");
	offer(&c, "lookup_order", NULL);
	assert_one_call(m, &c, "lookup_order", "{\"order\":\"A-17\",\"n\":2}");
	cJSON_Delete(c.req);
	hf_mock_stop(m);
}

static void test_server_dot_tool_and_word_bounds(void **state)
{
	hf_mock *m = tm_start(NULL);
	conv c;
	(void)state;
	conv_init(&c, "files.read_text_file path=a.txt");
	offer(&c, "read_text_file", READ_SCHEMA);
	assert_one_call(m, &c, "read_text_file", "{\"path\":\"a.txt\"}");
	cJSON_Delete(c.req);

	/* only inside longer names: no call, the routing model answers */
	conv_init(&c, "Hello, use xread_text_file or read_text_files or read_text_file-2");
	offer(&c, "read_text_file", READ_SCHEMA);
	assert_answer(m, &c, "Hello! I'm happy to help you in English.");
	cJSON_Delete(c.req);

	/* a handoff tool named in the message is not a function tool: no
	 * arguments from the message; it is taken by topic ("billing") */
	conv_init(&c, "Hello, please transfer_to_billing amount=3");
	offer(&c, "transfer_to_billing", NULL);
	assert_one_call(m, &c, "transfer_to_billing", "{}");
	cJSON_Delete(c.req);
	hf_mock_stop(m);
}

static void test_several_tools_in_message_order(void **state)
{
	hf_mock *m = tm_start(NULL);
	conv c;
	cJSON *root, *msg;
	(void)state;
	conv_init(&c, "first list_directory path=docs then read_text_file path=docs/a.txt head=2");
	offer(&c, "read_text_file", READ_SCHEMA);
	offer(&c, "list_directory", "{\"type\":\"object\",\"properties\":{\"path\":"
	                            "{\"type\":\"string\"},\"head\":{\"type\":\"integer\"}}}");
	offer(&c, "unused_tool", NULL);
	offer(&c, "transfer_to_spanish_agent", NULL);
	msg = ask(m, &c, &root);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(msg, "tool_calls")), 2);
	assert_string_equal(call_field(msg, 0, "name"), "list_directory");
	assert_string_equal(call_field(msg, 0, "id"), "call_1");
	assert_string_equal(call_field(msg, 1, "name"), "read_text_file");
	assert_string_equal(call_field(msg, 1, "id"), "call_2");
	/* each call's pairs from the words after its name, then the message's */
	assert_string_equal(call_field(msg, 0, "arguments"), "{\"path\":\"docs\"}");
	assert_string_equal(call_field(msg, 1, "arguments"), "{\"path\":\"docs/a.txt\",\"head\":2}");
	assert_string_equal(
	        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "choices"), 0),
	                            "finish_reason")
	                ->valuestring,
	        "tool_calls");
	cJSON_Delete(root);
	cJSON_Delete(c.req);
	hf_mock_stop(m);
}

static void test_answers_tool_results(void **state)
{
	hf_mock *m = tm_start(NULL);
	conv c;
	char *text, big[301];
	(void)state;
	conv_init(&c, "please read_text_file path=a.txt");
	offer(&c, "read_text_file", READ_SCHEMA);
	add_result(&c, "call_9", "read_text_file", "hello from a.txt");
	assert_answer(m, &c, "The tool read_text_file returned: hello from a.txt");
	cJSON_Delete(c.req);

	/* long outputs are cut at 200 bytes on a character boundary */
	memset(big, 'x', 199);
	strcpy(big + 199, "é and more that is never quoted ...");
	conv_init(&c, "please read_text_file");
	offer(&c, "read_text_file", READ_SCHEMA);
	add_result(&c, "call_9", "read_text_file", big);
	text = assert_text(m, &c);
	assert_int_equal(strlen(text), strlen("The tool read_text_file returned: ") + 199 +
	                                       strlen("…"));
	assert_true(ts_contains(text, "xxx…"));
	free(text);
	cJSON_Delete(c.req);
	hf_mock_stop(m);
}

/* A tool ran in this turn and a handoff followed: the new agent, offered
 * the same tool, answers instead of calling it again. */
static void test_no_second_call_in_a_turn(void **state)
{
	hf_mock *m = tm_start(NULL);
	conv c;
	(void)state;
	conv_init(&c, "Hello, please read_text_file path=a.txt");
	offer(&c, "read_text_file", READ_SCHEMA);
	add_result(&c, "call_1", "read_text_file", "hello");
	add_result(&c, "call_2", "transfer_to_english_agent", "{\"assistant\": \"English agent\"}");
	assert_answer(m, &c, "Hello! I'm happy to help you in English.");
	cJSON_Delete(c.req);
	hf_mock_stop(m);
}

static void test_tool_choice_none(void **state)
{
	hf_mock *m = tm_start(NULL);
	conv c;
	(void)state;
	conv_init(&c, "Hola, por favor read_text_file path=a.txt");
	offer(&c, "read_text_file", READ_SCHEMA);
	offer(&c, "transfer_to_spanish_agent", NULL);
	cJSON_AddStringToObject(c.req, "tool_choice", "none");
	assert_answer(m, &c, "¡Hola! Con gusto te ayudo en español.");
	/* and without it: the tool is called */
	cJSON_DeleteItemFromObject(c.req, "tool_choice");
	assert_one_call(m, &c, "read_text_file", "{\"path\":\"a.txt\"}");
	cJSON_Delete(c.req);
	hf_mock_stop(m);
}

/* What a streamed reply to c carries: the first call's name (into name,
 * cap bytes), its arguments and the text, joined from the chunks. */
static void stream_reply(hf_mock *m, conv *c, char *name, size_t cap, hf_buf *args,
                         hf_buf *text)
{
	char *body, **events;
	size_t n, i;
	tm_resp r;
	cJSON_DeleteItemFromObject(c->req, "stream");
	cJSON_AddTrueToObject(c->req, "stream");
	body = cJSON_PrintUnformatted(c->req);
	tm_post(&r, m, "/v1/chat/completions", body, NULL);
	assert_int_equal(r.status, 200);
	events = tm_sse_data(r.body, r.len, &n);
	for (i = 0; i < n; i++) {
		cJSON *j = cJSON_Parse(events[i]), *delta, *fn;
		delta = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0),
		                            "delta");
		fn = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(delta, "tool_calls"), 0),
		                         "function");
		if (cJSON_IsString(cJSON_GetObjectItem(fn, "name")))
			snprintf(name, cap, "%s", cJSON_GetObjectItem(fn, "name")->valuestring);
		if (cJSON_IsString(cJSON_GetObjectItem(fn, "arguments")))
			hf_buf_puts(args, cJSON_GetObjectItem(fn, "arguments")->valuestring);
		if (cJSON_IsString(cJSON_GetObjectItem(delta, "content")))
			hf_buf_puts(text, cJSON_GetObjectItem(delta, "content")->valuestring);
		cJSON_Delete(j);
	}
	tm_strv_free(events);
	tm_resp_dispose(&r);
	free(body);
}

/* The stream of a call carries the same name and arguments, and a
 * streamed answer to a result the same text. */
static void test_streamed(void **state)
{
	hf_mock *m = tm_start(NULL);
	conv c;
	char name[64] = "";
	hf_buf args = HF_BUF_INIT, text = HF_BUF_INIT;
	(void)state;
	conv_init(&c, "please read_text_file path=\"a b.txt\" head=12");
	offer(&c, "read_text_file", READ_SCHEMA);
	stream_reply(m, &c, name, sizeof(name), &args, &text);
	assert_string_equal(name, "read_text_file");
	assert_string_equal(args.data, "{\"path\":\"a b.txt\",\"head\":12}");
	assert_int_equal(text.len, 0);

	add_result(&c, "call_1", "read_text_file", "twelve lines");
	name[0] = '\0';
	hf_buf_reset(&args);
	stream_reply(m, &c, name, sizeof(name), &args, &text);
	assert_string_equal(name, "");
	assert_int_equal(args.len, 0);
	assert_string_equal(text.data, "The tool read_text_file returned: twelve lines");
	hf_buf_dispose(&args);
	hf_buf_dispose(&text);
	cJSON_Delete(c.req);
	hf_mock_stop(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pairs_typed_by_schema),
		cmocka_unit_test(test_json_object_in_message),
		cmocka_unit_test(test_server_dot_tool_and_word_bounds),
		cmocka_unit_test(test_several_tools_in_message_order),
		cmocka_unit_test(test_answers_tool_results),
		cmocka_unit_test(test_no_second_call_in_a_turn),
		cmocka_unit_test(test_tool_choice_none),
		cmocka_unit_test(test_streamed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_chat.c - the chat-completions wire format (src/chat.c, src/stream.c):
 * request bodies compared byte for byte with what the Python Agents SDK
 * sends (expected strings produced by Python's json.dumps with the openai
 * client's settings: separators (",", ":"), ensure_ascii=False), message
 * builders, the handoff tool, reply parsing and stream assembly.
 */
#include "support.h"
#include "chat.h"
#include "sse.h"
#include "text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- */
/* helpers                                                           */
/* ---------------------------------------------------------------- */

static char *print(cJSON *j)
{
	char *s;
	assert_non_null(j);
	s = cJSON_PrintUnformatted(j);
	assert_non_null(s);
	cJSON_Delete(j);
	return s;
}

static void assert_json(cJSON *j, const char *expect)
{
	char *s = print(j);
	assert_string_equal(s, expect);
	free(s);
}

static cJSON *array_of(cJSON *a, cJSON *b, cJSON *c, cJSON *d)
{
	cJSON *arr = cJSON_CreateArray(), *items[] = { a, b, c, d };
	size_t i;
	for (i = 0; i < 4; i++)
		if (items[i])
			cJSON_AddItemToArray(arr, items[i]);
	return arr;
}

static char *body(const hf_chat_request *req)
{
	char *out = NULL;
	hf_error err;
	if (hf_chat_body(&out, req, &err) != HF_OK)
		fail_msg("hf_chat_body: %s", err.message);
	return out;
}

static hf_agent agent(const char *name, const char *tool, const char *desc)
{
	hf_agent a;
	memset(&a, 0, sizeof(a));
	a.name = (char *)name;
	a.tool_name = (char *)tool;
	a.description = (char *)desc;
	return a;
}

#define HANDOFF_SCHEMA \
	"\"parameters\":{\"additionalProperties\":false,\"type\":\"object\",\"properties\":{}," \
	"\"required\":[]},\"strict\":true"

/* ---------------------------------------------------------------- */
/* request bodies                                                    */
/* ---------------------------------------------------------------- */

static void test_sdk_example_request_2(void **state)
{
	/* agents-sdk.md section 6, request 2: the Spanish agent after the
	 * triage handed over. The message list is byte for byte the example's;
	 * the top level is in the order the openai client writes it. */
	hf_reply_call call = { (char *)"call_1", (char *)"transfer_to_spanish_agent", (char *)"" };
	cJSON *msgs = array_of(hf_msg_system("<Spanish instructions>"),
	                       hf_msg_user("Hola, \xc2\xbf" "c\xc3\xb3mo est\xc3\xa1s?"),
	                       hf_msg_assistant(NULL, &call, 1),
	                       hf_msg_tool("call_1", "{\"assistant\": \"Spanish agent\"}"));
	hf_chat_request req = { "M", msgs, NULL, NULL, NULL, false, false };
	char *out = body(&req);
	(void)state;
	assert_string_equal(out,
		"{\"messages\":[{\"content\":\"<Spanish instructions>\",\"role\":\"system\"},"
		"{\"role\":\"user\",\"content\":\"Hola, \xc2\xbf" "c\xc3\xb3mo est\xc3\xa1s?\"},"
		"{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\","
		"\"type\":\"function\",\"function\":{\"name\":\"transfer_to_spanish_agent\","
		"\"arguments\":\"{}\"}}]},"
		"{\"role\":\"tool\",\"tool_call_id\":\"call_1\","
		"\"content\":\"{\\\"assistant\\\": \\\"Spanish agent\\\"}\"}],\"model\":\"M\"}");
	free(out);
	cJSON_Delete(msgs);
}

static void test_sdk_example_request_1(void **state)
{
	/* The triage request: system, user and both handoff tools. */
	hf_agent es = agent("Spanish agent", "transfer_to_spanish_agent", "Answers in Spanish");
	hf_agent en = agent("English agent", "transfer_to_english_agent", NULL);
	cJSON *msgs = array_of(hf_msg_system("Route."), hf_msg_user("Hola"), NULL, NULL);
	cJSON *tools = array_of(hf_handoff_tool(&es), hf_handoff_tool(&en), NULL, NULL);
	hf_chat_request req = { "gpt-4o", msgs, tools, NULL, NULL, false, false };
	char *out = body(&req);
	(void)state;
	assert_string_equal(out,
		"{\"messages\":[{\"content\":\"Route.\",\"role\":\"system\"},"
		"{\"role\":\"user\",\"content\":\"Hola\"}],\"model\":\"gpt-4o\",\"tools\":["
		"{\"type\":\"function\",\"function\":{\"name\":\"transfer_to_spanish_agent\","
		"\"description\":\"Handoff to the Spanish agent agent to handle the request. "
		"Answers in Spanish\"," HANDOFF_SCHEMA "}},"
		"{\"type\":\"function\",\"function\":{\"name\":\"transfer_to_english_agent\","
		"\"description\":\"Handoff to the English agent agent to handle the request. \","
		HANDOFF_SCHEMA "}}]}");
	free(out);
	cJSON_Delete(msgs);
	cJSON_Delete(tools);
}

static void test_body_every_setting(void **state)
{
	char *stop[] = { (char *)"END", (char *)"\n\n", NULL };
	hf_settings st = { 0 };
	hf_agent en = agent("English agent", "transfer_to_english_agent", NULL);
	cJSON *msgs = array_of(hf_msg_user("hi"), NULL, NULL, NULL);
	cJSON *tools = array_of(hf_handoff_tool(&en), NULL, NULL, NULL);
	hf_chat_request req = { "M", msgs, tools, &st, "lepton", true, true };
	char *out;
	(void)state;
	st.has_temperature = st.has_top_p = st.has_max_tokens = st.has_seed = true;
	st.has_parallel_tool_calls = true;
	st.temperature = 0.3;
	st.top_p = 1.0;
	st.max_tokens = 512;
	st.seed = 12345678901234567LL; /* above 2^53: must not go through a double */
	st.parallel_tool_calls = false;
	st.tool_choice = (char *)"transfer_to_spanish_agent";
	st.stop = stop;
	st.nstop = 2;
	out = body(&req);
	assert_string_equal(out,
		"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"model\":\"M\","
		"\"max_tokens\":512,\"parallel_tool_calls\":false,\"seed\":12345678901234567,"
		"\"stop\":[\"END\",\"\\n\\n\"],\"stream\":true,\"stream_options\":{\"include_usage\":true},"
		"\"temperature\":0.3,\"tool_choice\":{\"type\":\"function\",\"function\":"
		"{\"name\":\"transfer_to_spanish_agent\"}},\"tools\":[{\"type\":\"function\",\"function\":"
		"{\"name\":\"transfer_to_english_agent\",\"description\":\"Handoff to the English agent "
		"agent to handle the request. \"," HANDOFF_SCHEMA "}}],\"top_p\":1.0,"
		"\"compute_provider\":\"lepton\"}");
	free(out);
	cJSON_Delete(msgs);
	cJSON_Delete(tools);
}

/* Body for one combination, with the messages and model cut off. */
static char *tail_of(const cJSON *tools, const hf_settings *st, bool stream, bool usage)
{
	static const char head[] = "{\"messages\":[],\"model\":\"m\"";
	cJSON *msgs = cJSON_CreateArray();
	hf_chat_request req = { "m", msgs, tools, st, NULL, stream, usage };
	char *out = body(&req), *tail;
	assert_memory_equal(out, head, sizeof(head) - 1);
	tail = strdup(out + sizeof(head) - 1);
	free(out);
	cJSON_Delete(msgs);
	return tail;
}

static void test_body_omissions(void **state)
{
	static const struct {
		bool tools, stream, usage, parallel;
		const char *choice;
		const char *expect;
	} cases[] = {
		{ false, false, false, false, NULL, "}" },
		{ false, false, true, false, NULL, "}" },              /* usage only when streaming */
		{ false, true, false, false, NULL, ",\"stream\":true}" },
		{ false, true, true, false, NULL,
		  ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}" },
		{ false, false, false, true, NULL, "}" },              /* parallel needs tools */
		{ true, false, false, true, NULL, ",\"parallel_tool_calls\":true,\"tools\":[{}]}" },
		{ true, false, false, false, "auto", ",\"tool_choice\":\"auto\",\"tools\":[{}]}" },
		{ false, false, false, false, "required", ",\"tool_choice\":\"required\"}" },
		{ false, false, false, false, "none", ",\"tool_choice\":\"none\"}" },
		{ false, false, false, false, "Auto",
		  ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"Auto\"}}}" },
	};
	size_t i;
	cJSON *tools = cJSON_CreateArray(), *empty = cJSON_CreateArray();
	(void)state;
	cJSON_AddItemToArray(tools, cJSON_CreateObject());
	for (i = 0; i < HF_ARRAY_LEN(cases); i++) {
		hf_settings st = { 0 };
		char *t;
		st.has_parallel_tool_calls = cases[i].parallel;
		st.parallel_tool_calls = true;
		st.tool_choice = (char *)cases[i].choice;
		t = tail_of(cases[i].tools ? tools : NULL, &st, cases[i].stream, cases[i].usage);
		if (strcmp(t, cases[i].expect))
			fail_msg("case %zu: got %s, expected %s", i, t, cases[i].expect);
		free(t);
	}
	{ /* an empty tool list is no tools, as in the SDK */
		hf_settings st = { 0 };
		char *t;
		st.has_parallel_tool_calls = true;
		t = tail_of(empty, &st, false, false);
		assert_string_equal(t, "}");
		free(t);
		t = tail_of(empty, NULL, false, false);
		assert_string_equal(t, "}");
		free(t);
	}
	cJSON_Delete(tools);
	cJSON_Delete(empty);
}

static void test_body_numbers_as_python(void **state)
{
	/* Python's repr(float), as json.dumps prints a float setting. */
	static const struct {
		double d;
		const char *expect;
	} cases[] = {
		{ 0.3, "0.3" }, { 1.0, "1.0" }, { 0.0, "0.0" }, { -0.0, "-0.0" }, { 2.0, "2.0" },
		{ 0.7, "0.7" }, { 1e-5, "1e-05" }, { 0.0001, "0.0001" },
		{ 0.1 + 0.2, "0.30000000000000004" }, { 1e16, "1e+16" },
		{ 1e15, "1000000000000000.0" }, { 123.456, "123.456" }, { 0.95, "0.95" },
		{ 1.5e-7, "1.5e-07" }, { 0.1 + 0.7, "0.7999999999999999" }, { 1e22, "1e+22" },
		{ 5e-324, "5e-324" }, { 1.7976931348623157e308, "1.7976931348623157e+308" },
	};
	size_t i;
	(void)state;
	for (i = 0; i < HF_ARRAY_LEN(cases); i++) {
		hf_settings st = { 0 };
		char expect[128], *t;
		st.has_temperature = true;
		st.temperature = cases[i].d;
		snprintf(expect, sizeof(expect), ",\"temperature\":%s}", cases[i].expect);
		t = tail_of(NULL, &st, false, false);
		if (strcmp(t, expect))
			fail_msg("case %zu: got %s, expected %s", i, t, expect);
		free(t);
	}
	{
		hf_settings st = { 0 };
		char *t;
		st.has_max_tokens = st.has_seed = true;
		st.max_tokens = 512;
		st.seed = -7;
		t = tail_of(NULL, &st, false, false);
		assert_string_equal(t, ",\"max_tokens\":512,\"seed\":-7}");
		free(t);
	}
}

static void test_body_errors(void **state)
{
	hf_settings st = { 0 };
	cJSON *msgs = cJSON_CreateArray(), *obj = cJSON_CreateObject();
	hf_chat_request req = { NULL, msgs, NULL, NULL, NULL, false, false };
	char *out = (char *)"x";
	hf_error err;
	(void)state;
	assert_int_equal(hf_chat_body(&out, &req, &err), HF_EINVAL);
	assert_null(out);
	req.model = "";
	assert_int_equal(hf_chat_body(&out, &req, &err), HF_EINVAL);
	req.model = "m";
	req.messages = obj;
	assert_int_equal(hf_chat_body(&out, &req, &err), HF_EINVAL);
	req.messages = msgs;
	req.tools = obj;
	assert_int_equal(hf_chat_body(&out, &req, &err), HF_EINVAL);
	req.tools = NULL;
	req.settings = &st;
	st.has_top_p = true;
	st.top_p = NAN;
	assert_int_equal(hf_chat_body(&out, &req, &err), HF_EINVAL);
	assert_non_null(strstr(err.message, "finite"));
	cJSON_Delete(msgs);
	cJSON_Delete(obj);
}

/* ---------------------------------------------------------------- */
/* builders and the handoff tool                                     */
/* ---------------------------------------------------------------- */

static void test_message_builders(void **state)
{
	hf_reply_call calls[2] = {
		{ (char *)"call_a", (char *)"lookup", (char *)"{\"q\":1}" },
		{ NULL, (char *)"transfer_to_x", NULL },
	};
	(void)state;
	assert_json(hf_msg_system("S"), "{\"content\":\"S\",\"role\":\"system\"}");
	assert_json(hf_msg_user("U"), "{\"role\":\"user\",\"content\":\"U\"}");
	assert_json(hf_msg_tool("c1", "out"),
	            "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"out\"}");
	assert_json(hf_msg_assistant("Hi", NULL, 0), "{\"role\":\"assistant\",\"content\":\"Hi\"}");
	assert_json(hf_msg_assistant("Let me check.", calls, 2),
	            "{\"role\":\"assistant\",\"content\":\"Let me check.\",\"tool_calls\":["
	            "{\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"lookup\","
	            "\"arguments\":\"{\\\"q\\\":1}\"}},"
	            "{\"id\":\"\",\"type\":\"function\",\"function\":{\"name\":\"transfer_to_x\","
	            "\"arguments\":\"{}\"}}]}");
	/* Escapes as json.dumps(ensure_ascii=False) writes them: short forms,
	 * \u00XX for other controls, DEL / U+2028 / non-ASCII raw. */
	assert_json(hf_msg_user("a\"b\\c\n\t\x01\x1f\x7f\xc3\xa9/\xe2\x80\xa8"),
	            "{\"role\":\"user\",\"content\":\"a\\\"b\\\\c\\n\\t\\u0001\\u001f\x7f\xc3\xa9/"
	            "\xe2\x80\xa8\"}");
}

static void test_handoff_tool(void **state)
{
	hf_agent with = agent("Spanish agent", "transfer_to_spanish_agent", "Answers in Spanish");
	hf_agent without = agent("Caf\xc3\xa9-Bot", "transfer_to_caf__bot", NULL);
	(void)state;
	assert_json(hf_handoff_tool(&with),
	            "{\"type\":\"function\",\"function\":{\"name\":\"transfer_to_spanish_agent\","
	            "\"description\":\"Handoff to the Spanish agent agent to handle the request. "
	            "Answers in Spanish\"," HANDOFF_SCHEMA "}}");
	assert_json(hf_handoff_tool(&without),
	            "{\"type\":\"function\",\"function\":{\"name\":\"transfer_to_caf__bot\","
	            "\"description\":\"Handoff to the Caf\xc3\xa9-Bot agent to handle the request. \","
	            HANDOFF_SCHEMA "}}");
}

/* ---------------------------------------------------------------- */
/* replies                                                           */
/* ---------------------------------------------------------------- */

static int parse(hf_reply *r, const char *json, hf_error *err)
{
	return hf_chat_reply_parse(r, json, strlen(json), err);
}

static void test_reply_text(void **state)
{
	const char *json =
		"{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1754500000,"
		"\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
		"\"content\":\"\xc2\xa1Hola! \xe4\xbd\xa0\xe5\xa5\xbd\",\"refusal\":null,"
		"\"annotations\":[]},\"logprobs\":null,\"finish_reason\":\"stop\"},"
		"{\"index\":1,\"message\":{\"role\":\"assistant\",\"content\":\"second\"}}],"
		"\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10,\"total_tokens\":29,"
		"\"prompt_tokens_details\":{\"cached_tokens\":0}},\"system_fingerprint\":\"fp_1\"}\n";
	hf_reply r;
	hf_error err;
	(void)state;
	assert_int_equal(parse(&r, json, &err), HF_OK);
	assert_string_equal(r.content, "\xc2\xa1Hola! \xe4\xbd\xa0\xe5\xa5\xbd");
	assert_string_equal(r.finish_reason, "stop");
	assert_int_equal(r.ncalls, 0);
	assert_true(r.has_usage);
	assert_int_equal(r.usage.requests, 1);
	assert_int_equal(r.usage.input_tokens, 19);
	assert_int_equal(r.usage.output_tokens, 10);
	assert_int_equal(r.usage.total_tokens, 29);
	hf_chat_reply_dispose(&r);
	/* empty text is no text (the SDK's `if message.content`); no usage */
	assert_int_equal(parse(&r, "{\"choices\":[{\"message\":{\"content\":\"\"}}]}", &err), HF_OK);
	assert_null(r.content);
	assert_null(r.finish_reason);
	assert_false(r.has_usage);
	assert_int_equal(r.usage.requests, 1);
	hf_chat_reply_dispose(&r);
}

static void test_reply_tool_calls(void **state)
{
	const char *json =
		"{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
		"\"tool_calls\":["
		"{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"transfer_to_spanish_agent\",\"arguments\":\"\"}},"
		"{\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"id\\\":7}\"}},"
		"{\"id\":\"\",\"function\":{\"name\":\"transfer_to_english_agent\"}}]},"
		"\"finish_reason\":\"tool_calls\"}]}";
	hf_reply r;
	hf_error err;
	(void)state;
	assert_int_equal(parse(&r, json, &err), HF_OK);
	assert_null(r.content);
	assert_string_equal(r.finish_reason, "tool_calls");
	assert_int_equal(r.ncalls, 3);
	assert_string_equal(r.calls[0].id, "call_1");
	assert_string_equal(r.calls[0].name, "transfer_to_spanish_agent");
	assert_string_equal(r.calls[0].arguments, "{}");
	assert_string_equal(r.calls[1].id, ""); /* missing: the runner makes one */
	assert_string_equal(r.calls[1].arguments, "{\"id\":7}");
	assert_string_equal(r.calls[2].id, "");
	assert_string_equal(r.calls[2].name, "transfer_to_english_agent");
	assert_string_equal(r.calls[2].arguments, "{}");
	hf_chat_reply_dispose(&r);
}

static void test_reply_error_envelope(void **state)
{
	static const struct {
		const char *json;
		const char *message;
	} cases[] = {
		{ "{\"error\":{\"message\":\"The model `x` does not exist\",\"type\":\"invalid_request_error\","
		  "\"param\":null,\"code\":\"model_not_found\"}}",
		  "the endpoint said: invalid_request_error (model_not_found): The model `x` does not exist" },
		{ "{\"error\":{\"message\":\"Slow down\",\"type\":\"rate_limit_error\",\"code\":429}}",
		  "the endpoint said: rate_limit_error (429): Slow down" },
		{ "{\"error\":{\"message\":\"Bad\",\"type\":\"server_error\",\"code\":null}}",
		  "the endpoint said: server_error: Bad" },
		{ "{\"error\":\"plain text\"}", "the endpoint said: plain text" },
		{ "{\"error\":{}}", "the endpoint said: (no message)" },
		{ "{\"error\":{\"message\":\"a\\u001b[31mred\\nline\"}}",
		  "the endpoint said: a [31mred line" }, /* no terminal escapes */
	};
	size_t i;
	(void)state;
	for (i = 0; i < HF_ARRAY_LEN(cases); i++) {
		hf_reply r;
		hf_error err;
		assert_int_equal(parse(&r, cases[i].json, &err), HF_EHTTP);
		assert_string_equal(err.message, cases[i].message);
		assert_null(r.content);
		assert_int_equal(r.ncalls, 0);
	}
}

static void test_reply_bad(void **state)
{
	static const struct {
		const char *json;
		int code;
		const char *needle;
	} cases[] = {
		{ "", HF_EPROTOCOL, "not valid JSON" },
		{ "<html>502 Bad Gateway</html>", HF_EPROTOCOL, "not valid JSON" },
		{ "{\"choices\":[{\"message\":{\"content\":\"hi\"}}]} trailing", HF_EPROTOCOL, "not valid JSON" },
		{ "{\"choices\":[{\"message\":{\"content\":\"hi\"", HF_EPROTOCOL, "not valid JSON" },
		{ "[1,2]", HF_EPROTOCOL, "not a JSON object" },
		{ "{}", HF_EPROTOCOL, "no choices" },
		{ "{\"choices\":[]}", HF_EPROTOCOL, "no choices" },
		{ "{\"choices\":{}}", HF_EPROTOCOL, "no choices" },
		{ "{\"choices\":[1]}", HF_EPROTOCOL, "no message" },
		{ "{\"choices\":[{\"text\":\"hi\"}]}", HF_EPROTOCOL, "no message" },
		{ "{\"choices\":[{\"message\":{\"content\":7}}]}", HF_EPROTOCOL, "not a string" },
		{ "{\"choices\":[{\"message\":{\"content\":\"a\"},\"finish_reason\":1}]}", HF_EPROTOCOL,
		  "not a string" },
		{ "{\"choices\":[{\"message\":{\"tool_calls\":{}}}]}", HF_EPROTOCOL, "not a list" },
		{ "{\"choices\":[{\"message\":{\"tool_calls\":[1]}}]}", HF_EPROTOCOL, "has no function" },
		{ "{\"choices\":[{\"message\":{\"tool_calls\":[{\"function\":{\"arguments\":\"{}\"}}]}}]}",
		  HF_EPROTOCOL, "tool call 1 of the reply has no name" },
		{ "{\"choices\":[{\"message\":{\"tool_calls\":[{\"function\":{\"name\":\"\"}}]}}]}",
		  HF_EPROTOCOL, "has no name" },
		{ "{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":5,\"function\":{\"name\":\"f\"}}]}}]}",
		  HF_EPROTOCOL, "not a string" },
		{ "{\"choices\":[{\"message\":{\"tool_calls\":[{\"type\":\"custom\",\"function\":{\"name\":\"f\"}}]}}]}",
		  HF_EPROTOCOL, "not a function call" },
		{ "{\"choices\":[{\"message\":{\"content\":\"caf\xc3\"}}]}", HF_EPROTOCOL,
		  "the reply's text is not valid UTF-8" },
		{ "{\"choices\":[{\"message\":{\"content\":\"\xed\xa0\x80\"}}]}", HF_EPROTOCOL,
		  "the reply's text is not valid UTF-8" },
		{ "{\"choices\":[{\"message\":{\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":\"\xff\"}}]}}]}",
		  HF_EPROTOCOL, "not valid UTF-8" },
	};
	size_t i;
	(void)state;
	for (i = 0; i < HF_ARRAY_LEN(cases); i++) {
		hf_reply r;
		hf_error err;
		int rc = parse(&r, cases[i].json, &err);
		if (rc != cases[i].code || !strstr(err.message, cases[i].needle))
			fail_msg("case %zu: rc %d, message \"%s\"", i, rc, rc ? err.message : "");
		assert_null(r.content);
		assert_null(r.calls);
	}
}

static char *calls_json(size_t n)
{
	hf_buf b = HF_BUF_INIT;
	size_t i;
	assert_int_equal(hf_buf_puts(&b, "{\"choices\":[{\"message\":{\"tool_calls\":["), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(hf_buf_printf(&b, "%s{\"id\":\"c%zu\",\"function\":{\"name\":\"f\"}}",
		                               i ? "," : "", i), 0);
	assert_int_equal(hf_buf_puts(&b, "]}}]}"), 0);
	return hf_buf_detach(&b);
}

static void test_reply_too_many_calls(void **state)
{
	char *ok = calls_json(HF_CHAT_MAX_TOOL_CALLS), *over = calls_json(HF_CHAT_MAX_TOOL_CALLS + 1);
	hf_reply r;
	hf_error err;
	(void)state;
	assert_int_equal(parse(&r, ok, &err), HF_OK);
	assert_int_equal(r.ncalls, HF_CHAT_MAX_TOOL_CALLS);
	assert_string_equal(r.calls[127].id, "c127");
	hf_chat_reply_dispose(&r);
	assert_int_equal(parse(&r, over, &err), HF_ELIMIT);
	assert_string_equal(err.message, "the reply has 129 tool calls; the limit is 128");
	free(ok);
	free(over);
}

/* ---------------------------------------------------------------- */
/* stream assembly                                                   */
/* ---------------------------------------------------------------- */

typedef struct deltas {
	hf_buf text;
	hf_buf pieces; /* every delta followed by '|' */
	int stop_at;   /* return non-zero on this delta (1-based; 0 = never) */
	int n;
} deltas;

static int on_delta(void *payload, const char *text, size_t len)
{
	deltas *d = payload;
	assert_true(len > 0);
	assert_true(hf_text_utf8_valid(text, len, NULL)); /* whole characters only */
	assert_int_equal(hf_buf_append(&d->text, text, len), 0);
	assert_int_equal(hf_buf_append(&d->pieces, text, len), 0);
	assert_int_equal(hf_buf_append(&d->pieces, "|", 1), 0);
	return ++d->n == d->stop_at;
}

static void deltas_dispose(deltas *d)
{
	hf_buf_dispose(&d->text);
	hf_buf_dispose(&d->pieces);
}

/* Feed chunk data strings (one per SSE event) into a stream. Returns the
 * first error code (or that of finish) and fills r on success. */
static int run_chunks(const char *const *chunks, size_t n, deltas *d, hf_reply *r, hf_error *err)
{
	hf_stream *s;
	size_t i;
	int rc;
	memset(r, 0, sizeof(*r));
	assert_int_equal(hf_stream_new(&s, on_delta, d, 0, err), HF_OK);
	for (i = 0, rc = HF_OK; i < n && rc == HF_OK; i++)
		rc = hf_stream_chunk(s, chunks[i], strlen(chunks[i]), err);
	if (rc == HF_OK)
		rc = hf_stream_finish(s, r, err);
	hf_stream_free(s);
	return rc;
}

typedef struct pipeline {
	hf_stream *s;
	hf_error err;
	int rc;
} pipeline;

static int feed_stream(void *payload, const char *event, const char *data, size_t len)
{
	pipeline *p = payload;
	(void)event;
	p->rc = hf_stream_chunk(p->s, data, len, &p->err);
	return p->rc != HF_OK;
}

/* Parse a recorded SSE file through hf_sse + hf_stream, cut at `cut`. */
static void run_file(const char *name, size_t cut, deltas *d, hf_reply *r)
{
	char path[512], *buf;
	size_t len;
	pipeline p = { NULL, { 0, 0, "" }, HF_OK };
	hf_sse sse;
	hf_error err;
	snprintf(path, sizeof(path), "%s/sse/%s", HF_TEST_DATA, name);
	buf = ts_read(path, &len);
	assert_non_null(buf);
	if (cut > len)
		cut = len;
	assert_int_equal(hf_stream_new(&p.s, on_delta, d, 0, &err), HF_OK);
	hf_sse_init(&sse, 0, feed_stream, &p);
	assert_int_equal(hf_sse_feed(&sse, buf, cut, &err), HF_OK);
	assert_int_equal(hf_sse_feed(&sse, buf + cut, len - cut, &err), HF_OK);
	assert_int_equal(hf_sse_finish(&sse, &err), HF_OK);
	if (hf_stream_finish(p.s, r, &err) != HF_OK)
		fail_msg("%s: %s", name, err.message);
	hf_sse_dispose(&sse);
	hf_stream_free(p.s);
	free(buf);
}

static void test_stream_recorded_text(void **state)
{
	static const char text[] = "\xc2\xa1Hola! \xc2\xbf" "C\xc3\xb3mo est\xc3\xa1s? "
	                           "\xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c\xe4\xb8\x96\xe7\x95\x8c "
	                           "\xf0\x9f\x91\x8b\nAdi\xc3\xb3s.";
	deltas d = { HF_BUF_INIT, HF_BUF_INIT, 0, 0 };
	hf_reply r;
	(void)state;
	run_file("openai_text.sse", 0, &d, &r);
	assert_string_equal(r.content, text);
	assert_string_equal(d.text.data, text); /* the deltas add up to the reply */
	assert_int_equal(d.n, 13);
	assert_string_equal(r.finish_reason, "stop");
	assert_int_equal(r.ncalls, 0);
	assert_true(r.has_usage);
	assert_int_equal(r.usage.input_tokens, 31);
	assert_int_equal(r.usage.output_tokens, 14);
	assert_int_equal(r.usage.total_tokens, 45);
	hf_chat_reply_dispose(&r);
	deltas_dispose(&d);
}

static void check_tool_reply(const hf_reply *r)
{
	assert_null(r->content);
	assert_string_equal(r->finish_reason, "tool_calls");
	assert_int_equal(r->ncalls, 2);
	assert_string_equal(r->calls[0].id, "call_Xq1");
	assert_string_equal(r->calls[0].name, "transfer_to_spanish_agent");
	assert_string_equal(r->calls[0].arguments, "{}");
	assert_string_equal(r->calls[1].id, "call_Yr2");
	assert_string_equal(r->calls[1].name, "lookup_order");
	assert_string_equal(r->calls[1].arguments, "{\"order_id\":\"A-17\"}");
	assert_int_equal(r->usage.total_tokens, 123);
}

static void test_stream_recorded_tool_calls_every_split(void **state)
{
	size_t cut;
	(void)state;
	for (cut = 0; cut < 4600; cut += 7) {
		deltas d = { HF_BUF_INIT, HF_BUF_INIT, 0, 0 };
		hf_reply r;
		run_file("openai_tool_calls.sse", cut, &d, &r);
		check_tool_reply(&r);
		assert_int_equal(d.n, 0);
		hf_chat_reply_dispose(&r);
		deltas_dispose(&d);
	}
}

#define CHUNK(delta) "{\"choices\":[{\"index\":0,\"delta\":" delta ",\"finish_reason\":null}]}"
#define FINISH(reason) "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"" reason "\"}]}"

static void test_stream_text_split_inside_characters(void **state)
{
	/* é split 1|1, 中 split 2|1, 😀 split 1|2|1: each delta carries whole
	 * characters only; a chunk holding only part of one delivers nothing. */
	const char *chunks[] = {
		CHUNK("{\"content\":\"caf\xc3\"}"),
		CHUNK("{\"content\":\"\xa9 \xe4\xb8\"}"),
		CHUNK("{\"content\":\"\xad\xf0\"}"),
		CHUNK("{\"content\":\"\x9f\x98\"}"),
		CHUNK("{\"content\":\"\x80!\"}"),
		FINISH("stop"),
		"[DONE]",
	};
	deltas d = { HF_BUF_INIT, HF_BUF_INIT, 0, 0 };
	hf_reply r;
	hf_error err;
	(void)state;
	assert_int_equal(run_chunks(chunks, HF_ARRAY_LEN(chunks), &d, &r, &err), HF_OK);
	assert_string_equal(d.pieces.data, "caf|\xc3\xa9 |\xe4\xb8\xad|\xf0\x9f\x98\x80!|");
	assert_string_equal(r.content, "caf\xc3\xa9 \xe4\xb8\xad\xf0\x9f\x98\x80!");
	hf_chat_reply_dispose(&r);
	deltas_dispose(&d);
}

static void test_stream_bad_text(void **state)
{
	const char *invalid[] = { CHUNK("{\"content\":\"ok\"}"), CHUNK("{\"content\":\"a\xff\"}") };
	const char *cut_off[] = { CHUNK("{\"content\":\"caf\xc3\"}"), FINISH("stop"), "[DONE]" };
	deltas d = { HF_BUF_INIT, HF_BUF_INIT, 0, 0 };
	hf_reply r;
	hf_error err;
	(void)state;
	assert_int_equal(run_chunks(invalid, 2, &d, &r, &err), HF_EPROTOCOL);
	assert_string_equal(err.message, "the reply's text is not valid UTF-8");
	assert_string_equal(d.pieces.data, "ok|");
	assert_int_equal(run_chunks(cut_off, 3, &d, &r, &err), HF_EPROTOCOL);
	assert_string_equal(err.message, "the reply's text is not valid UTF-8");
	deltas_dispose(&d);
}

static void test_stream_tool_call_rules(void **state)
{
	/* id and name replaced only by non-empty values (a provider repeating
	 * the full name per chunk must not double it); arguments concatenate;
	 * interleaved indexes. */
	const char *chunks[] = {
		CHUNK("{\"role\":\"assistant\",\"content\":\"Checking.\",\"tool_calls\":["
		      "{\"index\":1,\"id\":\"call_B\",\"type\":\"function\",\"function\":{\"name\":\"beta\",\"arguments\":\"\"}}]}"),
		CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"call_A\",\"function\":{\"name\":\"alpha\",\"arguments\":\"{\\\"x\\\"\"}}]}"),
		CHUNK("{\"tool_calls\":[{\"index\":1,\"id\":\"\",\"function\":{\"name\":\"beta\",\"arguments\":\"{\\\"y\\\":\"}}]}"),
		CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":null,\"function\":{\"name\":null,\"arguments\":\":1}\"}}]}"),
		CHUNK("{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"2}\"}}]}"),
		CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"call_A2\",\"function\":{\"name\":\"\"}}]}"),
		FINISH("tool_calls"),
		"{\"id\":\"x\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":6,\"total_tokens\":11}}",
		"[DONE]",
	};
	deltas d = { HF_BUF_INIT, HF_BUF_INIT, 0, 0 };
	hf_reply r;
	hf_error err;
	(void)state;
	assert_int_equal(run_chunks(chunks, HF_ARRAY_LEN(chunks), &d, &r, &err), HF_OK);
	assert_string_equal(r.content, "Checking.");
	assert_int_equal(r.ncalls, 2);
	assert_string_equal(r.calls[0].id, "call_A2");
	assert_string_equal(r.calls[0].name, "alpha");
	assert_string_equal(r.calls[0].arguments, "{\"x\":1}");
	assert_string_equal(r.calls[1].id, "call_B");
	assert_string_equal(r.calls[1].name, "beta");
	assert_string_equal(r.calls[1].arguments, "{\"y\":2}");
	assert_string_equal(r.finish_reason, "tool_calls");
	assert_true(r.has_usage);
	assert_int_equal(r.usage.input_tokens, 5);
	assert_int_equal(r.usage.output_tokens, 6);
	assert_int_equal(r.usage.total_tokens, 11);
	hf_chat_reply_dispose(&r);
	deltas_dispose(&d);
}

static void test_stream_missing_id_and_empty_arguments(void **state)
{
	const char *chunks[] = {
		/* no index: calls count by position */
		CHUNK("{\"tool_calls\":[{\"function\":{\"name\":\"transfer_to_x\"}},"
		      "{\"function\":{\"name\":\"second\",\"arguments\":\"\"}}]}"),
		"[DONE]",
	};
	deltas d = { HF_BUF_INIT, HF_BUF_INIT, 0, 0 };
	hf_reply r;
	hf_error err;
	(void)state;
	assert_int_equal(run_chunks(chunks, 2, &d, &r, &err), HF_OK);
	assert_int_equal(r.ncalls, 2);
	assert_string_equal(r.calls[0].id, "");
	assert_string_equal(r.calls[0].arguments, "{}");
	assert_string_equal(r.calls[1].name, "second");
	assert_string_equal(r.calls[1].arguments, "{}");
	assert_null(r.finish_reason);
	assert_false(r.has_usage);
	hf_chat_reply_dispose(&r);
	deltas_dispose(&d);
}

static void test_stream_end_rules(void **state)
{
	const char *no_end[] = { CHUNK("{\"content\":\"Hel\"}"), CHUNK("{\"content\":\"lo\"}") };
	const char *finish_only[] = { CHUNK("{\"content\":\"Hello\"}"), FINISH("length") };
	const char *done_only[] = { CHUNK("{\"content\":\"Hello\"}"), "[DONE]" };
	const char *no_name[] = { CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"arguments\":\"{}\"}}]}"),
		                  FINISH("tool_calls"), "[DONE]" };
	deltas d = { HF_BUF_INIT, HF_BUF_INIT, 0, 0 };
	hf_reply r;
	hf_error err;
	(void)state;
	assert_int_equal(run_chunks(no_end, 2, &d, &r, &err), HF_EPROTOCOL);
	assert_string_equal(err.message, "the stream ended before the reply was complete");
	assert_null(r.content);
	assert_int_equal(run_chunks(finish_only, 2, &d, &r, &err), HF_OK);
	assert_string_equal(r.content, "Hello");
	assert_string_equal(r.finish_reason, "length");
	hf_chat_reply_dispose(&r);
	assert_int_equal(run_chunks(done_only, 2, &d, &r, &err), HF_OK);
	assert_string_equal(r.content, "Hello");
	hf_chat_reply_dispose(&r);
	assert_int_equal(run_chunks(no_name, 3, &d, &r, &err), HF_EPROTOCOL);
	assert_string_equal(err.message, "tool call 1 of the reply has no name");
	assert_null(r.calls);
	deltas_dispose(&d);
}

static void test_stream_error_mid_stream(void **state)
{
	const char *chunks[] = {
		CHUNK("{\"content\":\"Hi\"}"),
		"{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"rate_limit_error\","
		"\"code\":\"rate_limit_exceeded\"}}",
		"[DONE]",
	};
	deltas d = { HF_BUF_INIT, HF_BUF_INIT, 0, 0 };
	hf_reply r;
	hf_error err;
	(void)state;
	assert_int_equal(run_chunks(chunks, 3, &d, &r, &err), HF_EHTTP);
	assert_string_equal(err.message, "the endpoint said: rate_limit_error (rate_limit_exceeded): "
	                                 "Rate limit reached");
	assert_string_equal(d.pieces.data, "Hi|");
	deltas_dispose(&d);
}

static void test_stream_bad_chunks(void **state)
{
	static const struct {
		const char *chunk;
		int code;
	} cases[] = {
		{ "not json", HF_EPROTOCOL },
		{ "{\"choices\":[{\"delta\":{}}]} x", HF_EPROTOCOL },
		{ "[]", HF_EPROTOCOL },
		{ "{\"choices\":{}}", HF_EPROTOCOL },
		{ "{\"choices\":[7]}", HF_EPROTOCOL },
		{ "{\"choices\":[{\"delta\":[]}]}", HF_EPROTOCOL },
		{ "{\"choices\":[{\"delta\":{\"content\":5}}]}", HF_EPROTOCOL },
		{ "{\"choices\":[{\"delta\":{},\"finish_reason\":true}]}", HF_EPROTOCOL },
		{ "{\"choices\":[{\"delta\":{\"tool_calls\":{}}}]}", HF_EPROTOCOL },
		{ "{\"choices\":[{\"delta\":{\"tool_calls\":[5]}}]}", HF_EPROTOCOL },
		{ "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":-1}]}}]}", HF_EPROTOCOL },
		{ "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0.5}]}}]}", HF_EPROTOCOL },
		{ "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":\"0\"}]}}]}", HF_EPROTOCOL },
		{ "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":7}]}}]}", HF_EPROTOCOL },
		{ "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":[]}}]}}]}",
		  HF_EPROTOCOL },
		{ "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":128}]}}]}", HF_ELIMIT },
		{ "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1e300}]}}]}", HF_ELIMIT },
	};
	size_t i;
	(void)state;
	for (i = 0; i < HF_ARRAY_LEN(cases); i++) {
		hf_stream *s;
		hf_error err;
		int rc;
		assert_int_equal(hf_stream_new(&s, NULL, NULL, 0, &err), HF_OK);
		rc = hf_stream_chunk(s, cases[i].chunk, strlen(cases[i].chunk), &err);
		if (rc != cases[i].code)
			fail_msg("case %zu: rc %d (%s)", i, rc, rc ? err.message : "");
		hf_stream_free(s);
	}
}

static void test_stream_cancel_and_delivered(void **state)
{
	const char *chunks[] = { CHUNK("{\"content\":\"ab\"}"), CHUNK("{\"content\":\"c\xc3\"}"),
		                 CHUNK("{\"content\":\"\xa9\"}"), CHUNK("{\"content\":\"never\"}") };
	deltas d = { HF_BUF_INIT, HF_BUF_INIT, 3, 0 };
	hf_stream *s;
	hf_error err;
	size_t i;
	int rc = HF_OK;
	(void)state;
	assert_int_equal(hf_stream_new(&s, on_delta, &d, 0, &err), HF_OK);
	assert_int_equal(hf_stream_delivered(s), 0);
	for (i = 0; i < 4 && rc == HF_OK; i++) {
		rc = hf_stream_chunk(s, chunks[i], strlen(chunks[i]), &err);
		if (i == 0)
			assert_int_equal(hf_stream_delivered(s), 2);
		if (i == 1)
			assert_int_equal(hf_stream_delivered(s), 3); /* \xc3 held back */
	}
	assert_int_equal(rc, HF_ECANCELLED);
	assert_int_equal(i, 3);
	assert_int_equal(hf_stream_delivered(s), 5);
	assert_string_equal(d.pieces.data, "ab|c|\xc3\xa9|");
	hf_stream_free(s);
	deltas_dispose(&d);
}

static void test_stream_small_call_limit(void **state)
{
	const char *ok = CHUNK("{\"tool_calls\":[{\"index\":1,\"function\":{\"name\":\"f\"}}]}");
	const char *over = CHUNK("{\"tool_calls\":[{\"index\":2,\"function\":{\"name\":\"f\"}}]}");
	hf_stream *s;
	hf_error err;
	(void)state;
	assert_int_equal(hf_stream_new(&s, NULL, NULL, 2, &err), HF_OK);
	assert_int_equal(hf_stream_chunk(s, ok, strlen(ok), &err), HF_OK);
	assert_int_equal(hf_stream_chunk(s, over, strlen(over), &err), HF_ELIMIT);
	assert_string_equal(err.message, "the reply has more than 2 tool calls");
	hf_stream_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sdk_example_request_2),
		cmocka_unit_test(test_sdk_example_request_1),
		cmocka_unit_test(test_body_every_setting),
		cmocka_unit_test(test_body_omissions),
		cmocka_unit_test(test_body_numbers_as_python),
		cmocka_unit_test(test_body_errors),
		cmocka_unit_test(test_message_builders),
		cmocka_unit_test(test_handoff_tool),
		cmocka_unit_test(test_reply_text),
		cmocka_unit_test(test_reply_tool_calls),
		cmocka_unit_test(test_reply_error_envelope),
		cmocka_unit_test(test_reply_bad),
		cmocka_unit_test(test_reply_too_many_calls),
		cmocka_unit_test(test_stream_recorded_text),
		cmocka_unit_test(test_stream_recorded_tool_calls_every_split),
		cmocka_unit_test(test_stream_text_split_inside_characters),
		cmocka_unit_test(test_stream_bad_text),
		cmocka_unit_test(test_stream_tool_call_rules),
		cmocka_unit_test(test_stream_missing_id_and_empty_arguments),
		cmocka_unit_test(test_stream_end_rules),
		cmocka_unit_test(test_stream_error_mid_stream),
		cmocka_unit_test(test_stream_bad_chunks),
		cmocka_unit_test(test_stream_cancel_and_delivered),
		cmocka_unit_test(test_stream_small_call_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

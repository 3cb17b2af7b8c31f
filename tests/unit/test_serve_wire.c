/*
 * test_serve_wire.c - handoff serve's chat-completions wire without HTTP
 * (src/serve/serve_chat_wire.c): request bodies parsed and refused with the
 * field named, hf errors mapped to statuses, completions and chunks
 * rendered byte for byte.
 */
#include "support.h"

#include "serve_chat_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse body (no session header) expecting failure; check status, param
 * and that the message names the param. */
static void refused(const char *body, const char *header, int status, const char *param)
{
	serve_chat_request q;
	serve_fail f;

	assert_int_equal(serve_chat_parse(&q, body, strlen(body), header, &f), -1);
	assert_int_equal(f.status, status);
	assert_string_equal(f.param, param);
	if (*param)
		assert_true(ts_contains(f.message, param));
	assert_null(q.model);
}

static void test_refusals_name_the_field(void **state)
{
	(void)state;
	refused("not json", NULL, 400, "");
	refused("[1]", NULL, 400, "");
	refused("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", NULL, 400, "model");
	refused("{\"model\":7,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", NULL, 400,
	        "model");
	refused("{\"model\":\"g\"}", NULL, 400, "messages");
	refused("{\"model\":\"g\",\"messages\":[]}", NULL, 400, "messages");
	refused("{\"model\":\"g\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
	        "{\"role\":\"wizard\",\"content\":\"x\"}]}", NULL, 400, "messages[1].role");
	refused("{\"model\":\"g\",\"messages\":[7]}", NULL, 400, "messages[0]");
	refused("{\"model\":\"g\",\"stream\":\"yes\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
	        NULL, 400, "stream");
	refused("{\"model\":\"g\",\"stream_options\":{\"include_usage\":1},"
	        "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
	        NULL, 400, "stream_options.include_usage");
	refused("{\"model\":\"g\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],"
	        "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", NULL, 400, "tools");
	refused("{\"model\":\"g\",\"tool_choice\":\"required\","
	        "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", NULL, 400, "tool_choice");
	refused("{\"model\":\"g\",\"n\":2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
	        NULL, 400, "n");
	/* The new input is the trailing user message(s): there must be one. */
	refused("{\"model\":\"g\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
	        "{\"role\":\"assistant\",\"content\":\"hello\"}]}", NULL, 400, "messages");
	refused("{\"model\":\"g\",\"messages\":[{\"role\":\"user\",\"content\":null}]}", NULL, 400,
	        "messages[0].content");
	refused("{\"model\":\"g\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
	        "\"text\":\"a\"},{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}}]}]}",
	        NULL, 400, "messages[0].content[1]");
	/* Stateless history: a tool message needs its call id. */
	refused("{\"model\":\"g\",\"messages\":[{\"role\":\"tool\",\"content\":\"r\"},"
	        "{\"role\":\"user\",\"content\":\"hi\"}]}", NULL, 400, "messages[0].tool_call_id");
	/* Sessions: a bad id, and two different ids. */
	refused("{\"model\":\"g\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
	        "bad id!", 400, "X-Handoff-Session");
	refused("{\"model\":\"g\",\"metadata\":{\"session_id\":\"-x\"},"
	        "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", NULL, 400,
	        "metadata.session_id");
	refused("{\"model\":\"g\",\"metadata\":{\"session_id\":\"a\"},"
	        "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "b", 400,
	        "metadata.session_id");
}

static void test_stateless_history_and_input(void **state)
{
	static const char body[] =
		"{\"model\":\"support\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
		"\"temperature\":0.2,\"max_tokens\":50,\"user\":\"u-1\",\"tools\":[],\"tool_choice\":\"auto\","
		"\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
		"{\"role\":\"user\",\"content\":\"Hola\"},"
		"{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
		"\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
		"{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":[{\"type\":\"text\",\"text\":\"ok\"}]},"
		"{\"role\":\"developer\",\"content\":\"Be nice.\"},"
		"{\"role\":\"assistant\",\"content\":\"¿Qué tal?\",\"name\":\"x\"},"
		"{\"role\":\"user\",\"content\":\"Bien\"},"
		"{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"y tú\"},{\"type\":\"text\",\"text\":\"?\"}]}]}";
	serve_chat_request q;
	serve_fail f;
	(void)state;

	assert_int_equal(serve_chat_parse(&q, body, strlen(body), NULL, &f), 0);
	assert_string_equal(q.model, "support");
	assert_true(q.stream);
	assert_true(q.include_usage);
	assert_null(q.session);
	assert_int_equal(q.inputs, 2);
	assert_string_equal(q.input, "Bien\n\ny tú\n?");
	assert_int_equal(q.dropped_system, 2);
	assert_int_equal(q.nhistory, 4);
	assert_int_equal(q.history[0].index, 1);
	assert_string_equal(q.history[0].json, "{\"role\":\"user\",\"content\":\"Hola\"}");
	assert_int_equal(q.history[1].index, 2);
	assert_string_equal(q.history[1].json,
	                    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\","
	                    "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}");
	assert_string_equal(q.history[2].json,
	                    "{\"role\":\"tool\",\"content\":\"ok\",\"tool_call_id\":\"c1\"}");
	assert_int_equal(q.history[3].index, 5);
	assert_string_equal(q.history[3].json, "{\"role\":\"assistant\",\"content\":\"¿Qué tal?\"}");
	serve_chat_request_free(&q);
}

static void test_stateful_keeps_no_history(void **state)
{
	static const char body[] =
		"{\"model\":\"g\",\"metadata\":{\"session_id\":\"conv-1\"},"
		"\"messages\":[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":\"old\"},"
		"{\"role\":\"assistant\",\"content\":\"A\"},{\"role\":\"user\",\"content\":\"new\"}]}";
	serve_chat_request q;
	serve_fail f;
	(void)state;

	assert_int_equal(serve_chat_parse(&q, body, strlen(body), NULL, &f), 0);
	assert_string_equal(q.session, "conv-1");
	assert_string_equal(q.session_from, "metadata.session_id");
	assert_false(q.stream);
	assert_string_equal(q.input, "new");
	assert_int_equal(q.nhistory, 0);
	serve_chat_request_free(&q);
	/* The header wins when both say the same. */
	assert_int_equal(serve_chat_parse(&q, body, strlen(body), "conv-1", &f), 0);
	assert_string_equal(q.session_from, "X-Handoff-Session");
	serve_chat_request_free(&q);
}

static void mapped(int code, int http_status, const char *msg, int status, const char *type,
                   const char *scode)
{
	hf_error e = { .code = code, .http_status = http_status };
	serve_fail f;

	snprintf(e.message, sizeof(e.message), "%s", msg);
	serve_fail_from_error(&f, &e);
	assert_int_equal(f.status, status);
	assert_string_equal(f.type, type);
	assert_string_equal(f.code, scode);
	assert_true(ts_contains(f.message, msg));
}

static void test_error_mapping(void **state)
{
	(void)state;
	mapped(HF_EHTTP, 500, "HTTP 500 from http://x/v1/chat/completions: boom", 502,
	       "upstream_error", "upstream_http");
	mapped(HF_EAUTH, 401, "the endpoint refused the key", 502, "upstream_error", "upstream_auth");
	mapped(HF_ENOTFOUND, 404, "HTTP 404 from x: no model", 502, "upstream_error",
	       "upstream_http");
	mapped(HF_ENET, 0, "the request to http://x timed out: Operation timed out", 504,
	       "upstream_error", "upstream_timeout");
	mapped(HF_ENET, 0, "no data for 1.0 s (idle timeout) from http://x", 504, "upstream_error",
	       "upstream_timeout");
	mapped(HF_ENET, 0, "could not connect to x:1: Connection refused", 502, "upstream_error",
	       "upstream_network");
	mapped(HF_EPROTOCOL, 0, "bad JSON", 502, "upstream_error", "upstream_protocol");
	mapped(HF_EMAXTURNS, 0, "too many model calls", 500, "server_error", "max_turns");
	mapped(HF_ELOOP, 0, "ping-pong", 500, "server_error", "handoff_loop");
	mapped(HF_ETOOL, 0, "no such tool", 500, "server_error", "unknown_tool");
	mapped(HF_ECONFLICT, 0, "", 409, "invalid_request_error", "session_conflict");
}

static void test_refusal_text(void **state)
{
	hf_error e = { .code = HF_EREFUSAL };
	(void)state;

	snprintf(e.message, sizeof(e.message), "agent Triage refused to answer: I can't help.");
	assert_string_equal(serve_chat_refusal_text(&e), "I can't help.");
	snprintf(e.message, sizeof(e.message), "no words");
	assert_string_equal(serve_chat_refusal_text(&e), "no words");
}

static void test_render(void **state)
{
	serve_chat_meta m = { "chatcmpl-r1-1", 1735689600, "support" };
	serve_handoffs h = { 0 };
	hf_usage u = { .requests = 2, .input_tokens = 30, .output_tokens = 12, .total_tokens = 42 };
	serve_fail f;
	char *s;
	(void)state;

	assert_int_equal(serve_handoffs_add(&h, "Triage", "Agente español"), 0);
	s = serve_chat_render_completion(&m, "Hola", NULL, &u, "Agente español", &h);
	assert_string_equal(s,
		"{\"id\":\"chatcmpl-r1-1\",\"object\":\"chat.completion\",\"created\":1735689600,"
		"\"model\":\"support\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
		"\"content\":\"Hola\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
		"\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":12,\"total_tokens\":42},"
		"\"handoff\":{\"agent\":\"Agente español\",\"handoffs\":[{\"from\":\"Triage\","
		"\"to\":\"Agente español\"}]}}");
	free(s);
	s = serve_chat_render_completion(&m, NULL, "No.", &u, NULL, NULL);
	assert_true(ts_contains(s, "\"content\":null,\"refusal\":\"No.\"}"));
	assert_false(ts_contains(s, "handoff"));
	free(s);
	s = serve_chat_render_chunk(&m, "assistant", "", NULL, NULL, "Triage", NULL);
	assert_string_equal(s,
		"data: {\"id\":\"chatcmpl-r1-1\",\"object\":\"chat.completion.chunk\",\"created\":1735689600,"
		"\"model\":\"support\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
		"\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}],"
		"\"handoff\":{\"agent\":\"Triage\",\"handoffs\":[]}}\n\n");
	free(s);
	s = serve_chat_render_chunk(&m, NULL, "Ho", NULL, NULL, NULL, NULL);
	assert_string_equal(s,
		"data: {\"id\":\"chatcmpl-r1-1\",\"object\":\"chat.completion.chunk\",\"created\":1735689600,"
		"\"model\":\"support\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Ho\"},"
		"\"logprobs\":null,\"finish_reason\":null}]}\n\n");
	free(s);
	s = serve_chat_render_chunk(&m, NULL, NULL, NULL, "stop", NULL, NULL);
	assert_true(ts_contains(s, "\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n"));
	free(s);
	s = serve_chat_render_usage_chunk(&m, &u);
	assert_string_equal(s,
		"data: {\"id\":\"chatcmpl-r1-1\",\"object\":\"chat.completion.chunk\",\"created\":1735689600,"
		"\"model\":\"support\",\"choices\":[],\"usage\":{\"prompt_tokens\":30,"
		"\"completion_tokens\":12,\"total_tokens\":42}}\n\n");
	free(s);
	serve_fail_set(&f, 502, "upstream_error", NULL, "upstream_http", "HTTP %d", 500);
	s = serve_chat_render_error_chunk(&m, &f);
	assert_string_equal(s,
		"data: {\"id\":\"chatcmpl-r1-1\",\"object\":\"chat.completion.chunk\",\"created\":1735689600,"
		"\"model\":\"support\",\"choices\":[],\"error\":{\"message\":\"HTTP 500\","
		"\"type\":\"upstream_error\",\"param\":null,\"code\":\"upstream_http\"}}\n\n");
	free(s);
	s = serve_handoffs_path(&h, "Agente español");
	assert_string_equal(s, "Triage>Agente español");
	free(s);
	s = serve_handoffs_path(NULL, "Triage");
	assert_string_equal(s, "Triage");
	free(s);
	serve_handoffs_free(&h);
	s = serve_header_encode("Agente español 100%");
	assert_string_equal(s, "Agente%20espa%C3%B1ol%20100%25");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals_name_the_field),
		cmocka_unit_test(test_stateless_history_and_input),
		cmocka_unit_test(test_stateful_keeps_no_history),
		cmocka_unit_test(test_error_mapping),
		cmocka_unit_test(test_refusal_text),
		cmocka_unit_test(test_render),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_wire_join.c - a request joined from an agent's cached parts
 * (hf_chat_agent_wire_get + hf_chat_body_join, the runner's path) is byte for
 * byte the body hf_chat_body builds from the same request.
 */
#include "support.h"

#include "chat.h"
#include "graph.h"

#include <stdlib.h>
#include <string.h>

static const char graph_text[] =
	"entry: Plain\nmodel: base-model\nagents:\n"
	"  - name: Plain\n    handoffs: [Everything, \"Ünïcode \\\"quoted\\\" agent\"]\n"
	"  - name: Everything\n    model: m-2\n    description: all settings\n"
	"    instructions: \"Line one\\nline two \\\"quoted\\\" \\u00e9\"\n    handoff_prompt: true\n"
	"    handoffs: [Plain]\n"
	"    settings: {temperature: 1, top_p: 0.25, max_tokens: 77, seed: 9007199254740993,\n"
	"               stop: [\"a\", \"b\\\"\"], tool_choice: required, parallel_tool_calls: false}\n"
	"  - name: \"Ünïcode \\\"quoted\\\" agent\"\n    instructions: x\n"
	"    settings: {stop: only, tool_choice: none}\n";

static void compare(const hf_agent *a, bool stream, bool usage, const char *cp)
{
	const char *texts[] = {
		"{\"role\":\"user\",\"content\":\"Hola, ¿cómo estás?\"}",
		"{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
		"\"function\":{\"name\":\"transfer_to_plain\",\"arguments\":\"{}\"}}]}",
		"{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"{\\\"assistant\\\": \\\"Plain\\\"}\"}",
	};
	cJSON *messages = cJSON_CreateArray(), *tools = NULL;
	hf_chat_request req = { 0 };
	const hf_agent_wire *w, *again;
	char *want = NULL, *got = NULL;
	hf_error err;
	size_t i;

	if (a->system_prompt)
		cJSON_AddItemToArray(messages, hf_msg_system(a->system_prompt));
	for (i = 0; i < 3; i++)
		cJSON_AddItemToArray(messages, cJSON_Parse(texts[i]));
	if (a->nhandoffs) {
		tools = cJSON_CreateArray();
		for (i = 0; i < a->nhandoffs; i++)
			cJSON_AddItemToArray(tools, hf_handoff_tool(a->handoffs[i]));
	}
	req.model = a->model;
	req.messages = messages;
	req.tools = tools;
	req.settings = &a->settings;
	req.compute_provider = cp;
	req.stream = stream;
	req.include_usage = usage;
	assert_int_equal(hf_chat_body(&want, &req, &err), HF_OK);
	assert_int_equal(hf_chat_agent_wire_get(&w, a, &err), HF_OK);
	assert_non_null(w);
	assert_int_equal(hf_chat_agent_wire_get(&again, a, &err), HF_OK);
	assert_ptr_equal(again, w); /* built once */
	assert_int_equal(hf_chat_body_join(&got, w, texts, 3, stream, usage, cp, &err), HF_OK);
	assert_string_equal(got, want);
	free(want);
	free(got);
	cJSON_Delete(messages);
	cJSON_Delete(tools);
}

static void joined_equals_built(void **state)
{
	hf_graph *g;
	hf_error err;
	size_t i;
	(void)state;
	if (hf_graph_load_string(&g, graph_text, strlen(graph_text), "t.yaml", NULL, &err))
		fail_msg("%s", err.message);
	for (i = 0; i < hf_graph_agent_count(g); i++) {
		const hf_agent *a = hf_graph_agent_at(g, i);
		compare(a, false, false, NULL);
		compare(a, true, false, NULL);
		compare(a, true, true, "lepton \"eu\"");
		compare(a, false, true, "together");
	}
	hf_graph_free(g);
}

static void default_graph(void **state)
{
	hf_graph *g;
	hf_error err;
	size_t i;
	(void)state;
	assert_int_equal(hf_graph_load(&g, HF_SOURCE_DIR "/agents", NULL, &err), HF_OK);
	for (i = 0; i < hf_graph_agent_count(g); i++) {
		compare(hf_graph_agent_at(g, i), true, true, NULL);
		compare(hf_graph_agent_at(g, i), false, false, NULL);
	}
	hf_graph_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(joined_equals_built),
		cmocka_unit_test(default_graph),
	};
	hf_error err;
	hf_global_init(&err);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_tools.c - function tools (C callbacks) in the Agents SDK's loop,
 * through hf_run against the real mock endpoint with scripted replies:
 * arguments reach the callback, results go back to the model in call
 * order, tools then a handoff, the SDK's error wording, tool_errors: fail,
 * tool_use (stop_on_first_tool, stop_at), max_turns counting tool rounds,
 * a failed turn stores nothing; hf_tools_add's strict-schema checks and
 * hf_tools_start's diagnostics.
 */
#include "support.h"

#include "graph.h"
#include "mock.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUPPORT_YAML(extra_graph, extra_agent)                                         \
	"entry: Support\nmodel: m\n" extra_graph "agents:\n"                              \
	"  - name: Support\n    instructions: s\n"                                        \
	"    tools: [lookup, echo, fail_tool, slow]\n    handoffs: [Billing]\n" extra_agent \
	"  - name: Billing\n    instructions: b\n"

/* ---- the tools ---- */

static char last_args[512];
static int lookups, slow_cancels;

/* lookup {"order": "A-17"} -> "order A-17: shipped" */
static int lookup_fn(hf_tool_call *call, const char *arguments, void *payload)
{
	cJSON *a = cJSON_Parse(arguments);
	const cJSON *order = cJSON_GetObjectItemCaseSensitive(a, "order");
	char out[128];
	(void)payload;
	lookups++;
	snprintf(last_args, sizeof(last_args), "%s", arguments);
	snprintf(out, sizeof(out), "order %s: shipped",
	         cJSON_IsString(order) ? order->valuestring : "?");
	cJSON_Delete(a);
	assert_string_equal(hf_tool_call_name(call), "lookup");
	assert_string_equal(hf_tool_call_agent(call), "Support");
	return hf_tool_call_set_output(call, out);
}

static int echo_fn(hf_tool_call *call, const char *arguments, void *payload)
{
	(void)payload;
	return hf_tool_call_set_output(call, arguments);
}

static int fail_fn(hf_tool_call *call, const char *arguments, void *payload)
{
	(void)arguments;
	(void)payload;
	hf_tool_call_set_output(call, "disk on fire");
	return HF_ENET;
}

/* Completes from another thread. */
static void *complete_later(void *arg)
{
	hf_tool_call_complete(arg, HF_OK, "slow result");
	return NULL;
}

static int slow_fn(hf_tool_call *call, const char *arguments, void *payload)
{
	pthread_t th;
	(void)arguments;
	(void)payload;
	assert_int_equal(pthread_create(&th, NULL, complete_later, call), 0);
	pthread_detach(th);
	return HF_TOOL_PENDING;
}

static void slow_cancel(hf_tool_call *call, void *payload)
{
	(void)call;
	(void)payload;
	slow_cancels++;
}

static const char lookup_schema[] =
	"{\"type\":\"object\",\"properties\":{\"order\":{\"type\":\"string\"}},"
	"\"required\":[\"order\"],\"additionalProperties\":false}";

static void add_tool(hf_tools *ts, const char *name, const char *desc, const char *params,
                     hf_tool_fn fn)
{
	hf_tool_def d = HF_TOOL_DEF_INIT;
	hf_error err;
	d.name = name;
	d.description = desc;
	d.parameters = params;
	d.fn = fn;
	d.on_cancel = slow_cancel;
	if (hf_tools_add(ts, &d, &err))
		fail_msg("hf_tools_add %s: %s", name, err.message);
}

/* ---- a test's world ---- */

typedef struct world {
	hf_mock *mock;
	hf_client *c;
	hf_graph *g;
	hf_tools *ts;
	hf_session *s;
	char *dir;
	char events[2048];
} world;

static void world_start(world *w, const char *yaml, const char *script)
{
	hf_mock_options mo = { 0 };
	hf_client_options co = HF_CLIENT_OPTIONS_INIT;
	hf_error err;
	char base[128], *path;

	memset(w, 0, sizeof(*w));
	lookups = slow_cancels = 0;
	last_args[0] = '\0';
	w->dir = ts_tmpdir();
	path = ts_path(w->dir, "script.json");
	ts_write(path, script);
	mo.host = "127.0.0.1";
	mo.log_memory = 1;
	mo.threads = 1;
	mo.scenario = path;
	if (hf_mock_start(&w->mock, &mo, &err))
		fail_msg("mock: %s", err.message);
	free(path);
	snprintf(base, sizeof(base), "%s/v1", hf_mock_url(w->mock));
	co.base_url = base;
	co.max_retries = 0;
	if (hf_client_new(&w->c, &co, NULL, &err))
		fail_msg("client: %s", err.message);
	if (hf_graph_load_string(&w->g, yaml, strlen(yaml), "support.yaml", NULL, &err))
		fail_msg("graph: %s", err.message);
	assert_int_equal(hf_tools_new(&w->ts, w->g, NULL, &err), HF_OK);
	add_tool(w->ts, "lookup", "Find an order", lookup_schema, lookup_fn);
	add_tool(w->ts, "echo", NULL, NULL, echo_fn);
	add_tool(w->ts, "fail_tool", NULL, NULL, fail_fn);
	add_tool(w->ts, "slow", NULL, NULL, slow_fn);
	if (hf_tools_start(w->ts, NULL, &err))
		fail_msg("hf_tools_start: %s", err.message);
	assert_int_equal(hf_session_new(&w->s, NULL, &err), HF_OK);
}

static void world_stop(world *w)
{
	hf_session_free(w->s);
	hf_tools_free(w->ts);
	hf_graph_free(w->g);
	hf_client_free(w->c);
	hf_mock_stop(w->mock);
	ts_rmtree(w->dir);
	free(w->dir);
}

/* Events as "CALL lookup c1; RESULT lookup c1 ok; ..." */
static int record(const hf_event *ev, void *payload)
{
	world *w = payload;
	size_t n = strlen(w->events);
	char *p = w->events + n;
	size_t cap = sizeof(w->events) - n;
	switch (ev->type) {
	case HF_EVENT_TOOL_CALL:
		snprintf(p, cap, "CALL %s %s %s; ", ev->tool_name, ev->call_id, ev->text);
		break;
	case HF_EVENT_TOOL_RESULT:
		snprintf(p, cap, "RESULT %s %s%s; ", ev->tool_name, ev->call_id,
		         ev->tool_error ? " error" : "");
		break;
	case HF_EVENT_HANDOFF:
		snprintf(p, cap, "HANDOFF %s; ", ev->to);
		break;
	case HF_EVENT_MESSAGE:
		snprintf(p, cap, "MESSAGE; ");
		break;
	case HF_EVENT_DONE:
		snprintf(p, cap, "DONE");
		break;
	case HF_EVENT_ERROR:
		snprintf(p, cap, "ERROR");
		break;
	default:
		break;
	}
	return 0;
}

static int run(world *w, const char *input, int max_turns, char **answer, hf_error *err)
{
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	ro.tools = w->ts;
	ro.max_turns = max_turns;
	ro.on_event = record;
	ro.payload = w;
	return hf_run(answer, w->c, w->g, w->s, NULL, input, &ro, err);
}

/* Request body i, as the mock received it (owned). */
static cJSON *body_of(world *w, size_t i)
{
	char *line = hf_mock_log_get(w->mock, i);
	cJSON *entry, *body;
	assert_non_null(line);
	entry = cJSON_Parse(line);
	hf_free(line);
	body = cJSON_DetachItemFromObjectCaseSensitive(entry, "body");
	cJSON_Delete(entry);
	assert_non_null(body);
	return body;
}

/* Message j of request i, printed compactly (owned). */
static char *message_of(world *w, size_t i, int j)
{
	cJSON *b = body_of(w, i);
	cJSON *msgs = cJSON_GetObjectItemCaseSensitive(b, "messages");
	char *text = cJSON_PrintUnformatted(cJSON_GetArrayItem(msgs, j < 0 ? cJSON_GetArraySize(msgs) + j : j));
	cJSON_Delete(b);
	assert_non_null(text);
	return text;
}

static void assert_message(world *w, size_t i, int j, const char *expected)
{
	char *m = message_of(w, i, j);
	assert_string_equal(m, expected);
	free(m);
}

/* ---- the loop ---- */

/* Arguments reach the callback; its result is the next request's tool
 * message; the tools array is the SDK's: function tools, then handoffs. */
static void c_tool_through_hf_run(void **state)
{
	world w;
	hf_error err;
	char *answer = NULL, *tool0;
	cJSON *b;
	(void)state;
	world_start(&w, SUPPORT_YAML("", ""),
	            "{\"replies\":[{\"tool_calls\":[{\"id\":\"c1\",\"name\":\"lookup\","
	            "\"arguments\":{\"order\":\"A-17\"}}]},{\"content\":\"Your order shipped.\"}]}");
	assert_int_equal(run(&w, "where is A-17?", 0, &answer, &err), HF_OK);
	assert_string_equal(answer, "Your order shipped.");
	assert_string_equal(last_args, "{\"order\":\"A-17\"}");
	assert_int_equal(hf_mock_log_count(w.mock), 2);
	b = body_of(&w, 0);
	tool0 = cJSON_PrintUnformatted(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(b, "tools"), 0));
	assert_string_equal(tool0,
	                    "{\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"description\":"
	                    "\"Find an order\",\"parameters\":{\"type\":\"object\",\"properties\":{"
	                    "\"order\":{\"type\":\"string\"}},\"required\":[\"order\"],"
	                    "\"additionalProperties\":false},\"strict\":true}}");
	free(tool0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(b, "tools")), 5);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(
	                            cJSON_GetObjectItemCaseSensitive(
	                                    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(b, "tools"), 4),
	                                    "function"), "name")->valuestring,
	                    "transfer_to_billing");
	cJSON_Delete(b);
	assert_message(&w, 1, -2,
	               "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":"
	               "\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"order\\\":"
	               "\\\"A-17\\\"}\"}}]}");
	assert_message(&w, 1, -1, "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"order A-17: shipped\"}");
	/* the turn, tool messages included, is in the session */
	assert_int_equal(hf_session_message_count(w.s), 4);
	assert_string_equal(hf_session_agent(w.s), "Support");
	assert_string_equal(w.events, "CALL lookup c1 {\"order\":\"A-17\"}; RESULT lookup c1; MESSAGE; DONE");
	hf_free(answer);
	world_stop(&w);
}

/* Two tools of one reply: results in call order (and the pending one,
 * completed from another thread, in its place). */
static void two_tools_in_call_order(void **state)
{
	world w;
	hf_error err;
	char *answer = NULL;
	(void)state;
	world_start(&w, SUPPORT_YAML("", ""),
	            "{\"replies\":[{\"tool_calls\":[{\"id\":\"c1\",\"name\":\"slow\"},"
	            "{\"id\":\"c2\",\"name\":\"echo\",\"arguments\":{\"x\":1}}]},{\"content\":\"ok\"}]}");
	assert_int_equal(run(&w, "go", 0, &answer, &err), HF_OK);
	assert_message(&w, 1, -2, "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"slow result\"}");
	assert_message(&w, 1, -1, "{\"role\":\"tool\",\"tool_call_id\":\"c2\",\"content\":\"{\\\"x\\\":1}\"}");
	assert_string_equal(w.events, "CALL slow c1 {}; CALL echo c2 {\"x\":1}; RESULT slow c1; "
	                              "RESULT echo c2; MESSAGE; DONE");
	assert_int_equal(slow_cancels, 0);
	hf_free(answer);
	world_stop(&w);
}

/* A tool and a handoff in one reply: the tool runs, then the handoff. */
static void tool_then_handoff(void **state)
{
	world w;
	hf_error err;
	char *answer = NULL;
	cJSON *b;
	(void)state;
	world_start(&w, SUPPORT_YAML("", ""),
	            "{\"replies\":[{\"tool_calls\":[{\"id\":\"c1\",\"name\":\"lookup\",\"arguments\":"
	            "{\"order\":\"Z\"}},{\"id\":\"c2\",\"name\":\"transfer_to_billing\"}]},"
	            "{\"content\":\"Billing here.\"}]}");
	assert_int_equal(run(&w, "refund", 0, &answer, &err), HF_OK);
	assert_string_equal(answer, "Billing here.");
	assert_string_equal(hf_session_agent(w.s), "Billing");
	b = body_of(&w, 1);
	assert_null(cJSON_GetObjectItemCaseSensitive(b, "tools")); /* Billing has none */
	cJSON_Delete(b);
	assert_message(&w, 1, 0, "{\"content\":\"b\",\"role\":\"system\"}");
	assert_message(&w, 1, -2, "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"order Z: shipped\"}");
	assert_message(&w, 1, -1,
	               "{\"role\":\"tool\",\"tool_call_id\":\"c2\",\"content\":\"{\\\"assistant\\\": \\\"Billing\\\"}\"}");
	assert_string_equal(w.events, "CALL lookup c1 {\"order\":\"Z\"}; RESULT lookup c1; "
	                              "HANDOFF Billing; MESSAGE; DONE");
	hf_free(answer);
	world_stop(&w);
}

/* A failing callback: the model is told in the SDK's words. */
static void tool_error_told_to_model(void **state)
{
	world w;
	hf_error err;
	char *answer = NULL;
	(void)state;
	world_start(&w, SUPPORT_YAML("", ""),
	            "{\"replies\":[{\"tool_calls\":[{\"id\":\"c1\",\"name\":\"fail_tool\"}]},"
	            "{\"content\":\"Sorry.\"}]}");
	assert_int_equal(run(&w, "go", 0, &answer, &err), HF_OK);
	assert_message(&w, 1, -1,
	               "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"An error occurred while "
	               "running the tool. Please try again. Error: disk on fire\"}");
	assert_true(ts_contains(w.events, "RESULT fail_tool c1 error;"));
	hf_free(answer);
	world_stop(&w);
}

/* tool_errors: fail: the turn fails naming the tool and the error, and
 * nothing is stored. */
static void tool_errors_fail(void **state)
{
	world w;
	hf_error err;
	char *answer = NULL;
	(void)state;
	world_start(&w, SUPPORT_YAML("tool_errors: fail\n", ""),
	            "{\"replies\":[{\"tool_calls\":[{\"id\":\"c1\",\"name\":\"lookup\",\"arguments\":"
	            "{\"order\":\"Q\"}},{\"id\":\"c2\",\"name\":\"fail_tool\"}]},{\"content\":\"never\"}]}");
	assert_int_equal(run(&w, "go", 0, &answer, &err), HF_ETOOLFAIL);
	assert_null(answer);
	assert_true(ts_contains(err.message, "tool 'fail_tool' of agent 'Support' failed"));
	assert_true(ts_contains(err.message, "disk on fire"));
	assert_int_equal(hf_mock_log_count(w.mock), 1);
	assert_int_equal(hf_session_message_count(w.s), 0);
	assert_int_equal(lookups, 1); /* a failed turn may already have run tools */
	assert_true(ts_contains(w.events, "ERROR"));
	world_stop(&w);
}

/* stop_on_first_tool: the first tool's output is the answer; no more
 * model calls, no extra assistant message. */
static void stop_on_first_tool(void **state)
{
	world w;
	hf_error err;
	char *answer = NULL;
	const char *last;
	(void)state;
	world_start(&w, SUPPORT_YAML("", "    tool_use: stop_on_first_tool\n"),
	            "{\"replies\":[{\"tool_calls\":[{\"id\":\"c1\",\"name\":\"lookup\",\"arguments\":"
	            "{\"order\":\"A\"}},{\"id\":\"c2\",\"name\":\"echo\"}]},{\"content\":\"never\"}]}");
	assert_int_equal(run(&w, "go", 0, &answer, &err), HF_OK);
	assert_string_equal(answer, "order A: shipped");
	assert_int_equal(hf_mock_log_count(w.mock), 1);
	assert_int_equal(hf_session_message_count(w.s), 4); /* user, assistant, tool, tool */
	last = hf_session_message_json(w.s, 3);
	assert_true(ts_contains(last, "\"role\":\"tool\""));
	hf_free(answer);
	world_stop(&w);
}

/* stop_at: only a tool named there ends the turn. */
static void stop_at(void **state)
{
	world w;
	hf_error err;
	char *answer = NULL;
	(void)state;
	world_start(&w, SUPPORT_YAML("", "    tool_use: {stop_at: [echo]}\n"),
	            "{\"replies\":[{\"tool_calls\":[{\"id\":\"c1\",\"name\":\"lookup\",\"arguments\":"
	            "{\"order\":\"A\"}}]},{\"tool_calls\":[{\"id\":\"c2\",\"name\":\"echo\","
	            "\"arguments\":{\"final\":true}}]},{\"content\":\"never\"}]}");
	assert_int_equal(run(&w, "go", 0, &answer, &err), HF_OK);
	assert_string_equal(answer, "{\"final\":true}");
	assert_int_equal(hf_mock_log_count(w.mock), 2);
	hf_free(answer);
	world_stop(&w);
}

/* max_turns counts every model call, tool rounds too. */
static void max_turns_counts_tool_rounds(void **state)
{
	world w;
	hf_error err;
	char *answer = NULL;
	(void)state;
	world_start(&w, SUPPORT_YAML("", ""),
	            "{\"replies\":[{\"tool_calls\":[{\"name\":\"echo\"}],\"repeat\":5},{\"content\":\"x\"}]}");
	assert_int_equal(run(&w, "go", 2, &answer, &err), HF_EMAXTURNS);
	assert_true(ts_contains(err.message, "max turns (2)"));
	assert_int_equal(hf_mock_log_count(w.mock), 2);
	assert_int_equal(hf_session_message_count(w.s), 0);
	world_stop(&w);
}

/* A tool the agent was not offered: HF_ETOOL listing what it offers. */
static void unknown_tool_lists_offered(void **state)
{
	world w;
	hf_error err;
	(void)state;
	world_start(&w, SUPPORT_YAML("", ""),
	            "{\"replies\":[{\"tool_calls\":[{\"id\":\"c1\",\"name\":\"lookup_order\"}]}]}");
	assert_int_equal(run(&w, "go", 0, NULL, &err), HF_ETOOL);
	assert_true(ts_contains(err.message, "lookup_order"));
	assert_true(ts_contains(err.message, "it offers: lookup, echo, fail_tool, slow, transfer_to_billing"));
	assert_int_equal(lookups, 0);
	assert_int_equal(hf_session_message_count(w.s), 0);
	world_stop(&w);
}

/* An agent with tools and no tool set (NULL, or version 1 options). */
static void no_tool_set_is_config_error(void **state)
{
	world w;
	hf_error err;
	hf_run_options v1 = HF_RUN_OPTIONS_INIT;
	(void)state;
	world_start(&w, SUPPORT_YAML("", ""), "{\"replies\":[{\"content\":\"x\"}]}");
	assert_int_equal(hf_run(NULL, w.c, w.g, w.s, NULL, "go", NULL, &err), HF_ECONFIG);
	assert_true(ts_contains(err.message, "hf_run_options.tools"));
	assert_true(ts_contains(err.message, "Support"));
	v1.version = 1;
	assert_int_equal(hf_run(NULL, w.c, w.g, w.s, NULL, "go", &v1, &err), HF_ECONFIG);
	assert_int_equal(hf_mock_log_count(w.mock), 0);
	world_stop(&w);
}

/* ---- registering and binding ---- */

static int noop_fn(hf_tool_call *call, const char *arguments, void *payload)
{
	(void)call;
	(void)arguments;
	(void)payload;
	return HF_OK;
}

static void refused(hf_tools *ts, const char *name, const char *params, const char *words)
{
	hf_tool_def d = HF_TOOL_DEF_INIT;
	hf_error err;
	d.name = name;
	d.parameters = params;
	d.fn = noop_fn;
	assert_int_equal(hf_tools_add(ts, &d, &err), HF_EINVAL);
	if (!ts_contains(err.message, words))
		fail_msg("expected \"%s\" in: %s", words, err.message);
}

static void strict_schema_refusals(void **state)
{
	hf_graph *g;
	hf_tools *ts;
	hf_error err;
	static const char yaml[] = "name: A\nmodel: m\n";
	(void)state;
	assert_int_equal(hf_graph_load_string(&g, yaml, strlen(yaml), "a.yaml", NULL, &err), HF_OK);
	assert_int_equal(hf_tools_new(&ts, g, NULL, &err), HF_OK);
	refused(ts, "t", "{\"type\":\"object\",\"properties\":{}}", "additionalProperties");
	refused(ts, "t", "{\"type\":\"array\"}", "\"type\": \"object\"");
	refused(ts, "t", "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"},"
	                 "\"b\":{\"type\":\"string\"}},\"required\":[\"a\"],\"additionalProperties\":false}",
	        "property 'b' is not listed in \"required\"");
	refused(ts, "t", "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"object\","
	                 "\"properties\":{\"b\":{\"type\":\"string\"}},\"required\":[\"b\"]}},"
	                 "\"required\":[\"a\"],\"additionalProperties\":false}",
	        "property 'a' needs \"additionalProperties\": false");
	refused(ts, "t", "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"array\",\"items\":"
	                 "{\"type\":\"object\",\"properties\":{\"c\":{\"type\":\"string\"}},\"required\":[],"
	                 "\"additionalProperties\":false}}},\"required\":[\"a\"],\"additionalProperties\":false}",
	        "property 'a[].c' is not listed");
	refused(ts, "t", "{not json", "not valid JSON");
	refused(ts, "a b", NULL, "'a b'");
	refused(ts, "", NULL, "tool name");
	add_tool(ts, "ok_tool", NULL, lookup_schema, noop_fn);
	refused(ts, "ok_tool", NULL, "already registered");
	hf_tools_free(ts);
	hf_graph_free(g);
}

/* hf_tools_start: bare names nobody registered are errors at their YAML
 * position, with the nearest registered name. (A tool named like a handoff
 * tool is refused by the loader already.) */
static void start_reports_unbound_tools(void **state)
{
	static const char yaml[] =
		"entry: A\nmodel: m\nagents:\n"
		"  - name: A\n    handoffs: [B]\n    tools: [lokup, zzz_unknown]\n"
		"  - name: B\n";
	hf_graph *g;
	hf_tools *ts;
	hf_diag *d = NULL;
	hf_error err;
	size_t i;
	bool near = false, plain = false;
	(void)state;
	assert_int_equal(hf_graph_load_string(&g, yaml, strlen(yaml), "t.yaml", NULL, &err), HF_OK);
	assert_int_equal(hf_tools_new(&ts, g, NULL, &err), HF_OK);
	add_tool(ts, "lookup", NULL, NULL, noop_fn);
	assert_int_equal(hf_tools_start(ts, &d, &err), HF_ECONFIG);
	assert_true(ts_contains(err.message, "t.yaml:6:"));
	assert_int_equal(hf_diag_error_count(d), 2);
	for (i = 0; i < hf_diag_count(d); i++) {
		assert_string_equal(hf_diag_file(d, i), "t.yaml");
		assert_int_equal(hf_diag_line(d, i), 6);
		near |= ts_contains(hf_diag_message(d, i), "did you mean 'lookup'");
		plain |= ts_contains(hf_diag_message(d, i), "'zzz_unknown', which no C callback registers");
	}
	assert_true(near);
	assert_true(plain);
	hf_diag_free(d);
	hf_tools_free(ts);
	hf_graph_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(c_tool_through_hf_run),
		cmocka_unit_test(two_tools_in_call_order),
		cmocka_unit_test(tool_then_handoff),
		cmocka_unit_test(tool_error_told_to_model),
		cmocka_unit_test(tool_errors_fail),
		cmocka_unit_test(stop_on_first_tool),
		cmocka_unit_test(stop_at),
		cmocka_unit_test(max_turns_counts_tool_rounds),
		cmocka_unit_test(unknown_tool_lists_offered),
		cmocka_unit_test(no_tool_set_is_config_error),
		cmocka_unit_test(strict_schema_refusals),
		cmocka_unit_test(start_reports_unbound_tools),
	};
	hf_error err;
	int rc;
	if (hf_global_init(&err))
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	hf_global_cleanup();
	return rc;
}

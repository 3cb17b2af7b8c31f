/*
 * test_runner.c - the triage engine end to end against the local mock
 * endpoint: routing, sticky and router policies, handoff rules, the wire
 * format the Python Agents SDK sends, failures that must leave the stored
 * conversation unchanged, and sessions shared between processes.
 */
#include "support.h"

#include "graph.h"
#include "mock.h"
#include "session.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct fixture {
	hf_mock *mock;
	char base[128];
	hf_graph *g;
	char *dir;
	char *db;
	hf_store *st;
} fixture;

static fixture fx;

static hf_mock *start_mock(const char *scenario)
{
	hf_mock_options mo = { 0 };
	hf_mock *m = NULL;
	hf_error err;
	mo.host = "127.0.0.1";
	mo.log_memory = true;
	mo.threads = 1;
	mo.scenario = scenario;
	if (hf_mock_start(&m, &mo, &err))
		fail_msg("mock: %s", err.message);
	return m;
}

static int setup(void **state)
{
	hf_error err;
	(void)state;
	assert_int_equal(hf_global_init(&err), HF_OK);
	fx.mock = start_mock(NULL);
	snprintf(fx.base, sizeof(fx.base), "%s/v1", hf_mock_url(fx.mock));
	if (hf_graph_load(&fx.g, HF_SOURCE_DIR "/agents", NULL, &err))
		fail_msg("graph: %s", err.message);
	fx.dir = ts_tmpdir();
	fx.db = ts_path(fx.dir, "sessions.db");
	if (hf_store_open_sqlite(&fx.st, fx.db, &err))
		fail_msg("store: %s", err.message);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	hf_store_free(fx.st);
	hf_graph_free(fx.g);
	hf_mock_stop(fx.mock);
	ts_rmtree(fx.dir);
	free(fx.dir);
	free(fx.db);
	hf_global_cleanup();
	return 0;
}

static int reset_mock(void **state)
{
	(void)state;
	hf_mock_reset(fx.mock);
	hf_mock_log_clear(fx.mock);
	return 0;
}

/* A client for the mock; fault (may be NULL) becomes X-Mock-Fault. */
static hf_client *client_for(const char *base, const char *fault, int retries, long idle_ms)
{
	static char header[256];
	static const char *headers[2];
	hf_client_options o = HF_CLIENT_OPTIONS_INIT;
	hf_client *c = NULL;
	hf_error err;
	o.base_url = base;
	o.max_retries = retries;
	o.idle_timeout_ms = idle_ms;
	if (fault) {
		snprintf(header, sizeof(header), "X-Mock-Fault: %s", fault);
		headers[0] = header;
		headers[1] = NULL;
		o.headers = headers;
	}
	if (hf_client_new(&c, &o, NULL, &err))
		fail_msg("client: %s", err.message);
	return c;
}

/* Request body i of the mock log (owned cJSON). */
static cJSON *logged_body(hf_mock *m, size_t i)
{
	char *line = hf_mock_log_get(m, i);
	cJSON *entry, *body;
	assert_non_null(line);
	entry = cJSON_Parse(line);
	hf_free(line);
	assert_non_null(entry);
	body = cJSON_DetachItemFromObjectCaseSensitive(entry, "body");
	cJSON_Delete(entry);
	assert_non_null(body);
	return body;
}

static const char *system_prompt_of(const cJSON *body)
{
	const cJSON *m0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(body, "messages"), 0);
	const cJSON *role = cJSON_GetObjectItemCaseSensitive(m0, "role");
	assert_string_equal(role->valuestring, "system");
	return cJSON_GetObjectItemCaseSensitive(m0, "content")->valuestring;
}

static const char *agent_prompt(const char *name)
{
	return hf_graph_agent_by_name(fx.g, name)->system_prompt;
}

static int run_turn(hf_client *c, hf_session *s, hf_store *st, const char *text,
                    const hf_run_options *ro, char **answer, hf_error *err)
{
	return hf_run(answer, c, fx.g, s, st, text, ro, err);
}

/* ---- routing ---- */

static void routes_by_language(const char *input, const char *agent, const char *word)
{
	hf_client *c = client_for(fx.base, NULL, -1, 0);
	hf_session *s;
	hf_error err;
	char *answer = NULL;
	cJSON *b0, *b1;

	assert_int_equal(hf_session_new(&s, NULL, &err), HF_OK);
	if (run_turn(c, s, fx.st, input, NULL, &answer, &err))
		fail_msg("run: %s", err.message);
	assert_true(ts_contains(answer, word));
	assert_string_equal(hf_session_agent(s), agent);
	assert_int_equal(hf_session_message_count(s), 4);
	assert_int_equal(hf_mock_log_count(fx.mock), 2);
	b0 = logged_body(fx.mock, 0);
	b1 = logged_body(fx.mock, 1);
	assert_string_equal(system_prompt_of(b0), agent_prompt("Triage agent"));
	assert_string_equal(system_prompt_of(b1), agent_prompt(agent));
	cJSON_Delete(b0);
	cJSON_Delete(b1);
	hf_free(answer);
	hf_session_free(s);
	hf_client_free(c);
}

static void spanish_goes_to_spanish_agent(void **state)
{
	(void)state;
	routes_by_language("Hola, ¿cómo estás?", "Spanish agent", "español");
}

static void english_goes_to_english_agent(void **state)
{
	(void)state;
	routes_by_language("Hello, how are you today?", "English agent", "English");
}

/* The follow-up of a sticky session goes straight to the holding agent,
 * and the stored session holds both turns. */
static void sticky_follow_up_skips_triage(void **state)
{
	hf_client *c = client_for(fx.base, NULL, -1, 0);
	hf_session *s, *loaded;
	hf_error err;
	cJSON *b;
	(void)state;

	assert_int_equal(hf_session_new(&s, NULL, &err), HF_OK);
	assert_int_equal(run_turn(c, s, fx.st, "Hola, necesito ayuda", NULL, NULL, &err), HF_OK);
	hf_mock_log_clear(fx.mock);
	assert_int_equal(run_turn(c, s, fx.st, "¿Y qué hora es en Madrid?", NULL, NULL, &err), HF_OK);
	assert_int_equal(hf_mock_log_count(fx.mock), 1);
	b = logged_body(fx.mock, 0);
	assert_string_equal(system_prompt_of(b), agent_prompt("Spanish agent"));
	/* system + 4 messages of turn 1 + the new user message */
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(b, "messages")), 6);
	cJSON_Delete(b);

	assert_int_equal(hf_store_load(&loaded, fx.st, hf_session_id(s), &err), HF_OK);
	assert_int_equal(hf_session_message_count(loaded), 6);
	assert_string_equal(hf_session_agent(loaded), "Spanish agent");
	assert_int_equal(hf_session_usage(loaded).requests, 3);
	hf_session_free(loaded);
	hf_session_free(s);
	hf_client_free(c);
}

/* A language switch goes back through triage to the other agent. */
static void language_switch_goes_back_through_triage(void **state)
{
	hf_client *c = client_for(fx.base, NULL, -1, 0);
	hf_session *s;
	hf_error err;
	cJSON *b;
	(void)state;

	assert_int_equal(hf_session_new(&s, NULL, &err), HF_OK);
	assert_int_equal(run_turn(c, s, NULL, "Hola, ¿qué tal?", NULL, NULL, &err), HF_OK);
	hf_mock_log_clear(fx.mock);
	assert_int_equal(run_turn(c, s, NULL, "Please answer in English from now on", NULL, NULL, &err),
	                 HF_OK);
	assert_string_equal(hf_session_agent(s), "English agent");
	assert_int_equal(hf_mock_log_count(fx.mock), 3);
	b = logged_body(fx.mock, 0);
	assert_string_equal(system_prompt_of(b), agent_prompt("Spanish agent"));
	cJSON_Delete(b);
	b = logged_body(fx.mock, 1);
	assert_string_equal(system_prompt_of(b), agent_prompt("Triage agent"));
	cJSON_Delete(b);
	hf_session_free(s);
	hf_client_free(c);
}

/* Under the router policy every turn starts at the entry agent. */
static void router_policy_starts_at_entry(void **state)
{
	hf_client *c = client_for(fx.base, NULL, -1, 0);
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	hf_session *s;
	hf_error err;
	cJSON *b;
	(void)state;

	ro.routing = HF_ROUTING_ROUTER;
	assert_int_equal(hf_session_new(&s, NULL, &err), HF_OK);
	assert_int_equal(run_turn(c, s, NULL, "Hola amigo", &ro, NULL, &err), HF_OK);
	hf_mock_log_clear(fx.mock);
	assert_int_equal(run_turn(c, s, NULL, "¿Y mañana también?", &ro, NULL, &err), HF_OK);
	assert_int_equal(hf_mock_log_count(fx.mock), 2);
	b = logged_body(fx.mock, 0);
	assert_string_equal(system_prompt_of(b), agent_prompt("Triage agent"));
	cJSON_Delete(b);
	hf_session_free(s);
	hf_client_free(c);
}

/* ---- handoff rules ---- */

static const cJSON *msg_at(const cJSON *body, int i)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(body, "messages"), i);
}

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Several handoffs in one reply: the first wins, every call is answered. */
static void several_handoffs_first_wins(void **state)
{
	hf_client *c = client_for(fx.base, "multi-handoff;times=1", -1, 0);
	hf_session *s;
	hf_error err;
	const cJSON *asst, *calls, *t1, *t2;
	cJSON *b;
	(void)state;

	assert_int_equal(hf_session_new(&s, NULL, &err), HF_OK);
	if (run_turn(c, s, NULL, "Hola", NULL, NULL, &err))
		fail_msg("run: %s", err.message);
	/* the mock called the first two offered tools: Spanish, then English */
	assert_string_equal(hf_session_agent(s), "Spanish agent");
	b = logged_body(fx.mock, 1);
	asst = msg_at(b, 2);
	calls = cJSON_GetObjectItemCaseSensitive(asst, "tool_calls");
	assert_int_equal(cJSON_GetArraySize(calls), 2);
	t1 = msg_at(b, 3);
	t2 = msg_at(b, 4);
	assert_string_equal(str_of(t1, "role"), "tool");
	assert_string_equal(str_of(t2, "role"), "tool");
	/* the ignored one first (as the Python SDK orders them), then the winner */
	assert_string_equal(str_of(t1, "tool_call_id"), str_of(cJSON_GetArrayItem(calls, 1), "id"));
	assert_string_equal(str_of(t1, "content"), "Multiple handoffs detected, ignoring this one.");
	assert_string_equal(str_of(t2, "tool_call_id"), str_of(cJSON_GetArrayItem(calls, 0), "id"));
	assert_string_equal(str_of(t2, "content"), "{\"assistant\": \"Spanish agent\"}");
	cJSON_Delete(b);
	hf_session_free(s);
	hf_client_free(c);
}

static void unknown_tool_is_an_error(void **state)
{
	hf_client *c = client_for(fx.base, "unknown-tool;times=1", -1, 0);
	hf_session *s;
	hf_error err;
	(void)state;

	assert_int_equal(hf_session_new(&s, NULL, &err), HF_OK);
	assert_int_equal(run_turn(c, s, fx.st, "Hola", NULL, NULL, &err), HF_ETOOL);
	assert_true(ts_contains(err.message, "lookup_weather"));
	assert_true(ts_contains(err.message, "Triage agent"));
	assert_true(ts_contains(err.message, "transfer_to_spanish_agent"));
	assert_int_equal(hf_exit_status(err.code), 6);
	assert_int_equal(hf_session_message_count(s), 0);
	assert_null(hf_session_agent(s));
	{
		hf_session *none;
		assert_int_equal(hf_store_load(&none, fx.st, hf_session_id(s), &err), HF_ENOTFOUND);
	}
	hf_session_free(s);
	hf_client_free(c);
}

static void unknown_tool_told_to_model(void **state)
{
	hf_client *c = client_for(fx.base, "unknown-tool;times=1", -1, 0);
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	hf_session *s;
	hf_error err;
	cJSON *b;
	(void)state;

	ro.tool_not_found = HF_TOOL_NOT_FOUND_TELL_MODEL;
	assert_int_equal(hf_session_new(&s, NULL, &err), HF_OK);
	if (run_turn(c, s, NULL, "Hola", &ro, NULL, &err))
		fail_msg("run: %s", err.message);
	assert_string_equal(hf_session_agent(s), "Spanish agent");
	b = logged_body(fx.mock, 1);
	assert_string_equal(system_prompt_of(b), agent_prompt("Triage agent"));
	assert_string_equal(str_of(msg_at(b, 3), "content"), "Tool 'lookup_weather' not found.");
	cJSON_Delete(b);
	hf_session_free(s);
	hf_client_free(c);
}

/* Missing or empty call ids are replaced, consistently in history. */
static void missing_call_ids_are_generated(const char *fault)
{
	hf_client *c = client_for(fx.base, fault, -1, 0);
	hf_session *s;
	hf_error err;
	const char *id;
	cJSON *b;

	assert_int_equal(hf_session_new(&s, NULL, &err), HF_OK);
	if (run_turn(c, s, NULL, "Hola", NULL, NULL, &err))
		fail_msg("run: %s", err.message);
	b = logged_body(fx.mock, 1);
	id = str_of(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(msg_at(b, 2), "tool_calls"), 0), "id");
	assert_non_null(id);
	assert_true(strlen(id) > 0);
	assert_string_equal(str_of(msg_at(b, 3), "tool_call_id"), id);
	cJSON_Delete(b);
	hf_session_free(s);
	hf_client_free(c);
}

static void empty_call_id(void **state)
{
	(void)state;
	missing_call_ids_are_generated("empty-id;times=1");
}

static void missing_call_id(void **state)
{
	(void)state;
	missing_call_ids_are_generated("missing-id;times=1");
}

static void max_turns_stops_the_turn(void **state)
{
	hf_client *c = client_for(fx.base, NULL, -1, 0);
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	hf_session *s;
	hf_error err;
	(void)state;

	ro.max_turns = 1;
	assert_int_equal(hf_session_new(&s, NULL, &err), HF_OK);
	assert_int_equal(run_turn(c, s, fx.st, "Hola", &ro, NULL, &err), HF_EMAXTURNS);
	assert_true(ts_contains(err.message, "max turns (1)"));
	assert_int_equal(hf_mock_log_count(fx.mock), 1);
	assert_int_equal(hf_session_message_count(s), 0);
	hf_session_free(s);
	hf_client_free(c);
}

/* A → B → A → B inside one turn stops as a loop before max turns. */
static void ping_pong_is_a_loop(void **state)
{
	static const char graph[] =
		"entry: Agent A\nmodel: m\nagents:\n"
		"  - name: Agent A\n    instructions: a\n    handoffs: [Agent B]\n"
		"  - name: Agent B\n    instructions: b\n    handoffs: [Agent A]\n";
	static const char script[] =
		"{\"replies\": [{\"tool_calls\": [{\"id\": \"c1\", \"name\": \"transfer_to_agent_b\"}]},"
		"{\"tool_calls\": [{\"id\": \"c2\", \"name\": \"transfer_to_agent_a\"}]},"
		"{\"tool_calls\": [{\"id\": \"c3\", \"name\": \"transfer_to_agent_b\"}]},"
		"{\"content\": \"never\"}]}";
	char *path = ts_path(fx.dir, "pingpong.json");
	char base[128];
	hf_graph *g;
	hf_mock *m;
	hf_client *c;
	hf_session *s;
	hf_error err;
	(void)state;

	ts_write(path, script);
	m = start_mock(path);
	snprintf(base, sizeof(base), "%s/v1", hf_mock_url(m));
	c = client_for(base, NULL, -1, 0);
	assert_int_equal(hf_graph_load_string(&g, graph, strlen(graph), "pingpong.yaml", NULL, &err), HF_OK);
	assert_int_equal(hf_session_new(&s, NULL, &err), HF_OK);
	assert_int_equal(hf_run(NULL, c, g, s, NULL, "go", NULL, &err), HF_ELOOP);
	assert_true(ts_contains(err.message, "Agent A → Agent B → Agent A → Agent B"));
	assert_int_equal(hf_mock_log_count(m), 3);
	assert_int_equal(hf_session_message_count(s), 0);
	hf_session_free(s);
	hf_client_free(c);
	hf_graph_free(g);
	hf_mock_stop(m);
	free(path);
}

/* ---- the wire format the Python Agents SDK sends ---- */

/* A handoff tool as the Python SDK builds it, made here by hand. */
static cJSON *sdk_tool(const char *name, const char *tool, const char *description)
{
	char desc[512];
	cJSON *t = cJSON_CreateObject(), *f, *p;
	snprintf(desc, sizeof(desc), "Handoff to the %s agent to handle the request. %s", name,
	         description ? description : "");
	cJSON_AddStringToObject(t, "type", "function");
	f = cJSON_AddObjectToObject(t, "function");
	cJSON_AddStringToObject(f, "name", tool);
	cJSON_AddStringToObject(f, "description", desc);
	p = cJSON_AddObjectToObject(f, "parameters");
	cJSON_AddFalseToObject(p, "additionalProperties");
	cJSON_AddStringToObject(p, "type", "object");
	cJSON_AddObjectToObject(p, "properties");
	cJSON_AddArrayToObject(p, "required");
	cJSON_AddTrueToObject(f, "strict");
	return t;
}

static cJSON *sdk_system(const char *name)
{
	const hf_agent *a = hf_graph_agent_by_name(fx.g, name);
	char *text = hf_asprintf("%s\n\n%s", hf_handoff_prompt_prefix, hf_agent_instructions(a));
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "content", text);
	cJSON_AddStringToObject(m, "role", "system");
	free(text);
	return m;
}

static cJSON *sdk_message(const char *role, const char *content)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", role);
	cJSON_AddStringToObject(m, "content", content);
	return m;
}

static void assert_same_json(const cJSON *want, const cJSON *got)
{
	char *w = cJSON_PrintUnformatted(want), *g = cJSON_PrintUnformatted(got);
	assert_string_equal(g, w);
	cJSON_free(w);
	cJSON_free(g);
}

/* Key by key and in order: messages, model, then the settings in the
 * openai client's order, then tools. */
static void requests_match_the_python_sdk(void **state)
{
	static const char input[] = "Hola, ¿cómo estás?";
	const hf_agent *es = hf_graph_agent_by_name(fx.g, "Spanish agent");
	const hf_agent *en = hf_graph_agent_by_name(fx.g, "English agent");
	const hf_agent *tr = hf_graph_agent_by_name(fx.g, "Triage agent");
	hf_client *c = client_for(fx.base, NULL, -1, 0);
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	hf_session *s;
	hf_error err;
	cJSON *want, *msgs, *tools, *asst, *calls, *call, *fn, *tool, *got;
	const char *call_id;
	(void)state;

	ro.stream = 0;
	assert_int_equal(hf_session_new(&s, NULL, &err), HF_OK);
	assert_int_equal(run_turn(c, s, NULL, input, &ro, NULL, &err), HF_OK);

	/* request 1: the triage agent */
	want = cJSON_CreateObject();
	msgs = cJSON_AddArrayToObject(want, "messages");
	cJSON_AddItemToArray(msgs, sdk_system("Triage agent"));
	cJSON_AddItemToArray(msgs, sdk_message("user", input));
	cJSON_AddStringToObject(want, "model", hf_agent_model(tr));
	cJSON_AddFalseToObject(want, "parallel_tool_calls");
	cJSON_AddNumberToObject(want, "temperature", 0);
	cJSON_AddStringToObject(want, "tool_choice", "required");
	tools = cJSON_AddArrayToObject(want, "tools");
	cJSON_AddItemToArray(tools, sdk_tool("Spanish agent", "transfer_to_spanish_agent",
	                                     hf_agent_description(es)));
	cJSON_AddItemToArray(tools, sdk_tool("English agent", "transfer_to_english_agent",
	                                     hf_agent_description(en)));
	got = logged_body(fx.mock, 0);
	assert_same_json(want, got);
	cJSON_Delete(want);

	/* request 2: the Spanish agent sees the handoff call and its result */
	cJSON_Delete(got);
	got = logged_body(fx.mock, 1);
	call_id = str_of(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(msg_at(got, 2), "tool_calls"), 0), "id");
	want = cJSON_CreateObject();
	msgs = cJSON_AddArrayToObject(want, "messages");
	cJSON_AddItemToArray(msgs, sdk_system("Spanish agent"));
	cJSON_AddItemToArray(msgs, sdk_message("user", input));
	asst = cJSON_CreateObject();
	cJSON_AddStringToObject(asst, "role", "assistant");
	cJSON_AddNullToObject(asst, "content");
	calls = cJSON_AddArrayToObject(asst, "tool_calls");
	call = cJSON_CreateObject();
	cJSON_AddStringToObject(call, "id", call_id);
	cJSON_AddStringToObject(call, "type", "function");
	fn = cJSON_AddObjectToObject(call, "function");
	cJSON_AddStringToObject(fn, "name", "transfer_to_spanish_agent");
	cJSON_AddStringToObject(fn, "arguments", "{}");
	cJSON_AddItemToArray(calls, call);
	cJSON_AddItemToArray(msgs, asst);
	tool = cJSON_CreateObject();
	cJSON_AddStringToObject(tool, "role", "tool");
	cJSON_AddStringToObject(tool, "tool_call_id", call_id);
	cJSON_AddStringToObject(tool, "content", "{\"assistant\": \"Spanish agent\"}");
	cJSON_AddItemToArray(msgs, tool);
	cJSON_AddStringToObject(want, "model", hf_agent_model(es));
	cJSON_AddNumberToObject(want, "temperature", 0.3);
	cJSON_AddItemToObject(want, "tools", cJSON_CreateArray());
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(want, "tools"),
	                     sdk_tool("Triage agent", "transfer_to_triage_agent", hf_agent_description(tr)));
	assert_same_json(want, got);
	cJSON_Delete(want);
	cJSON_Delete(got);
	hf_session_free(s);
	hf_client_free(c);
}

/* ---- streaming ---- */

typedef struct seen {
	char kinds[64];
	size_t n;
	hf_buf text;
	char *final;
} seen;

static int record(const hf_event *ev, void *payload)
{
	static const char code[] = "ATMHUEDW";
	seen *s = payload;
	if (s->n + 1 < sizeof(s->kinds) && (ev->type != HF_EVENT_TEXT_DELTA || s->n == 0 ||
	                                    s->kinds[s->n - 1] != 'T'))
		s->kinds[s->n++] = code[ev->type];
	if (ev->type == HF_EVENT_TEXT_DELTA)
		hf_buf_append(&s->text, ev->text, ev->text_len);
	if (ev->type == HF_EVENT_DONE)
		s->final = strdup(ev->text);
	return 0;
}

static void streaming_with_a_handoff(void **state)
{
	hf_client *c = client_for(fx.base, NULL, -1, 0);
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	hf_session *s;
	hf_error err;
	seen rec = { .text = HF_BUF_INIT };
	char *answer = NULL;
	cJSON *b;
	(void)state;

	ro.on_event = record;
	ro.payload = &rec;
	assert_int_equal(hf_session_new(&s, NULL, &err), HF_OK);
	if (run_turn(c, s, NULL, "Hola, ¿me ayudas?", &ro, &answer, &err))
		fail_msg("run: %s", err.message);
	/* agent, usage, handoff, agent, text..., usage, message, done */
	assert_string_equal(rec.kinds, "AUHATUMD");
	assert_non_null(rec.text.data);
	assert_string_equal(rec.text.data, answer);
	assert_string_equal(rec.final, answer);
	b = logged_body(fx.mock, 0);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "stream")));
	cJSON_Delete(b);
	hf_buf_dispose(&rec.text);
	free(rec.final);
	hf_free(answer);
	hf_session_free(s);
	hf_client_free(c);
}

/* ---- failures leave the stored conversation as it was ---- */

static void failure_keeps_session(const char *fault, int expect, long idle_ms, int stream)
{
	hf_client *ok = client_for(fx.base, NULL, -1, 0);
	hf_client *bad = client_for(fx.base, fault, 1, idle_ms);
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	hf_session *s, *loaded;
	hf_error err;
	char *before;

	ro.stream = stream;
	assert_int_equal(hf_session_new(&s, NULL, &err), HF_OK);
	assert_int_equal(run_turn(ok, s, fx.st, "Hola, buenos días", &ro, NULL, &err), HF_OK);
	before = strdup(hf_session_message_json(s, 3));
	hf_mock_reset(fx.mock);
	/* A new user turn in another language: the failing request is the
	 * second one of the turn (after the Spanish agent hands back). */
	assert_int_equal(run_turn(bad, s, fx.st, "Now in English, please", &ro, NULL, &err), expect);
	assert_int_equal(hf_session_message_count(s), 4);
	assert_string_equal(hf_session_agent(s), "Spanish agent");
	assert_int_equal(hf_store_load(&loaded, fx.st, hf_session_id(s), &err), HF_OK);
	assert_int_equal(hf_session_message_count(loaded), 4);
	assert_string_equal(hf_session_agent(loaded), "Spanish agent");
	assert_string_equal(hf_session_message_json(loaded, 3), before);
	free(before);
	hf_session_free(loaded);
	hf_session_free(s);
	hf_client_free(ok);
	hf_client_free(bad);
}

static void drop_mid_turn_keeps_session(void **state)
{
	(void)state;
	failure_keeps_session("drop;after=1", HF_ENET, 0, 1);
	failure_keeps_session("drop;after=1", HF_ENET, 0, 0);
}

static void http_500_after_retries_keeps_session(void **state)
{
	(void)state;
	failure_keeps_session("500;after=1", HF_EHTTP, 0, 1);
	failure_keeps_session("500;after=1", HF_EHTTP, 0, 0);
}

static void timeout_mid_turn_keeps_session(void **state)
{
	(void)state;
	failure_keeps_session("stall;after=1;ms=3000", HF_ENET, 300, 1);
}

static void drop_mid_stream_keeps_session(void **state)
{
	(void)state;
	failure_keeps_session("drop-mid-stream;after=1", HF_ENET, 0, 1);
}

/* ---- several processes ---- */

/* A second process resumes the session: the follow-up goes straight to
 * the agent that holds it. */
static void second_process_resumes(void **state)
{
	char *db = ts_path(fx.dir, "resume.db");
	char dbopt[4200];
	ts_proc p;
	(void)state;

	snprintf(dbopt, sizeof(dbopt), "--db=%s", db);
	{
		const char *argv[] = { "run", "--mock", dbopt, "--session", "resume-1",
			               HF_SOURCE_DIR "/agents", "Hola, ¿cómo estás?", NULL };
		ts_run_cli(&p, NULL, NULL, argv);
		assert_int_equal(p.status, 0);
		assert_true(ts_contains(p.out, "español"));
		assert_true(ts_contains(p.err, "[Triage agent → Spanish agent]"));
		ts_proc_dispose(&p);
	}
	{
		const char *argv[] = { "run", "--mock", dbopt, "--session", "resume-1", "--json",
			               HF_SOURCE_DIR "/agents", "¿Y mañana?", NULL };
		ts_run_cli(&p, NULL, NULL, argv);
		assert_int_equal(p.status, 0);
		assert_true(ts_contains(p.out, "{\"type\":\"agent\",\"from\":null,\"to\":\"Spanish agent\"}"));
		assert_false(ts_contains(p.out, "\"type\":\"handoff\""));
		assert_true(ts_contains(p.out, "\"type\":\"done\",\"agent\":\"Spanish agent\",\"session\":\"resume-1\""));
		ts_proc_dispose(&p);
	}
	free(db);
}

/* Two processes write different sessions to one database at once. */
static void two_processes_one_database(void **state)
{
	enum { TURNS = 6 };
	char *db = ts_path(fx.dir, "shared.db");
	hf_store *st;
	hf_error err;
	pid_t pid[2];
	int i, k;
	(void)state;

	for (k = 0; k < 2; k++) {
		pid[k] = fork();
		assert_true(pid[k] >= 0);
		if (pid[k] == 0) {
			char sid[32], dbopt[4200];
			snprintf(sid, sizeof(sid), "proc-%d", k);
			snprintf(dbopt, sizeof(dbopt), "--db=%s", db);
			for (i = 0; i < TURNS; i++) {
				pid_t c = fork();
				if (c == 0) {
					int devnull = open("/dev/null", O_WRONLY);
					dup2(devnull, 1);
					dup2(devnull, 2);
					execl(HF_CLI_PATH, HF_CLI_PATH, "run", "--mock", dbopt, "--session", sid,
					      HF_SOURCE_DIR "/agents", k ? "Hello there" : "Hola amigo", (char *)NULL);
					_exit(127);
				}
				int st = 0;
				waitpid(c, &st, 0);
				if (!WIFEXITED(st) || WEXITSTATUS(st))
					_exit(1);
			}
			_exit(0);
		}
	}
	for (k = 0; k < 2; k++) {
		int st = 0;
		waitpid(pid[k], &st, 0);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	assert_int_equal(hf_store_open_sqlite(&st, db, &err), HF_OK);
	for (k = 0; k < 2; k++) {
		hf_session *s;
		char sid[32];
		snprintf(sid, sizeof(sid), "proc-%d", k);
		assert_int_equal(hf_store_load(&s, st, sid, &err), HF_OK);
		/* the first turn hands off (4 messages), each later one is 2 */
		assert_int_equal(hf_session_message_count(s), 4 + 2 * (TURNS - 1));
		assert_string_equal(hf_session_agent(s), k ? "English agent" : "Spanish agent");
		hf_session_free(s);
	}
	hf_store_free(st);
	free(db);
}

/* ---- input ---- */

static void invalid_input_is_rejected(void **state)
{
	hf_client *c = client_for(fx.base, NULL, -1, 0);
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	hf_session *s;
	hf_error err;
	char big[300];
	(void)state;

	assert_int_equal(hf_session_new(&s, NULL, &err), HF_OK);
	assert_int_equal(run_turn(c, s, NULL, "bad \xC3\x28 byte", NULL, NULL, &err), HF_EINVAL);
	assert_true(ts_contains(err.message, "UTF-8"));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ro.max_input_bytes = 100;
	assert_int_equal(run_turn(c, s, NULL, big, &ro, NULL, &err), HF_ELIMIT);
	assert_true(ts_contains(err.message, "299 bytes"));
	assert_int_equal(hf_mock_log_count(fx.mock), 0);
	/* NFC: "e" + combining acute is sent as "é" */
	assert_int_equal(run_turn(c, s, NULL, "cafe\xCC\x81 con leche, por favor", NULL, NULL, &err), HF_OK);
	{
		cJSON *b = logged_body(fx.mock, 0);
		assert_string_equal(str_of(msg_at(b, 1), "content"), "caf\xC3\xA9 con leche, por favor");
		cJSON_Delete(b);
	}
	hf_session_free(s);
	hf_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(spanish_goes_to_spanish_agent, reset_mock),
		cmocka_unit_test_setup(english_goes_to_english_agent, reset_mock),
		cmocka_unit_test_setup(sticky_follow_up_skips_triage, reset_mock),
		cmocka_unit_test_setup(language_switch_goes_back_through_triage, reset_mock),
		cmocka_unit_test_setup(router_policy_starts_at_entry, reset_mock),
		cmocka_unit_test_setup(several_handoffs_first_wins, reset_mock),
		cmocka_unit_test_setup(unknown_tool_is_an_error, reset_mock),
		cmocka_unit_test_setup(unknown_tool_told_to_model, reset_mock),
		cmocka_unit_test_setup(empty_call_id, reset_mock),
		cmocka_unit_test_setup(missing_call_id, reset_mock),
		cmocka_unit_test_setup(max_turns_stops_the_turn, reset_mock),
		cmocka_unit_test_setup(ping_pong_is_a_loop, reset_mock),
		cmocka_unit_test_setup(requests_match_the_python_sdk, reset_mock),
		cmocka_unit_test_setup(streaming_with_a_handoff, reset_mock),
		cmocka_unit_test_setup(drop_mid_turn_keeps_session, reset_mock),
		cmocka_unit_test_setup(http_500_after_retries_keeps_session, reset_mock),
		cmocka_unit_test_setup(timeout_mid_turn_keeps_session, reset_mock),
		cmocka_unit_test_setup(drop_mid_stream_keeps_session, reset_mock),
		cmocka_unit_test_setup(second_process_resumes, reset_mock),
		cmocka_unit_test_setup(two_processes_one_database, reset_mock),
		cmocka_unit_test_setup(invalid_input_is_rejected, reset_mock),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

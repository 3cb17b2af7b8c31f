/*
 * test_tools_mcp.c - issue 11's whole loop as a user runs it: a graph
 * whose Files agent uses the official MCP servers from npm (tests/npm:
 * @modelcontextprotocol/server-filesystem on a throwaway directory,
 * @modelcontextprotocol/server-everything over stdio and in streamableHttp
 * mode), spawned with node, driven through hf_run, the engine and the
 * `handoff` command against the real mock: the user's message names the
 * tool with its arguments, the mock calls it, the result comes back in
 * the next request (the mock's request log) and in the answer, the stored
 * session holds the assistant's tool call and the tool message, the events
 * carry the server as origin; `handoff tools` lists the tools. And the API
 * key reaches no MCP server's environment. Skipped, with the reason
 * printed, only when node cannot be installed (tests/npm/install exits 77).
 */
#include "support.h"
#include "support_mcp.h"
#include "support_mock.h"

#include "handoff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CONTENT "hello from the data directory\n" /* 30 bytes */

static hf_mock *mock;
static char v1[128];
static char *dir, *data, *notes, *graph_dir, *http_log;
static int http_pid = -1, http_port;

/* The graph: a desk handing file questions to the Files agent, which has
 * tools of three servers (two transports). */
static void write_graph(void)
{
	char *path = ts_path(graph_dir, "handoff.yaml");
	char *yaml = hf_asprintf(
		"entry: Desk\nmodel: gpt-4o-mini\nmax_turns: 6\n"
		"mcp_servers:\n"
		"  files:\n    command: node\n    args: [\"%s\", \"%s\"]\n"
		"    env: { LANG: C.UTF-8 }\n    timeout: 30s\n"
		"  everything:\n    command: node\n    args: [\"%s\", stdio]\n"
		"  remote:\n    url: http://127.0.0.1:%d/mcp\n"
		"agents:\n"
		"  - name: Desk\n    instructions: Hand questions about files to the Files agent.\n"
		"    handoffs: [Files agent]\n"
		"  - name: Files agent\n    description: Reads the files of the data directory.\n"
		"    instructions: Use your tools.\n"
		"    tools: [files.read_text_file, files.list_directory, everything.echo, "
		"everything.get-env, remote.get-sum]\n",
		TS_FILESYSTEM, data, TS_EVERYTHING, http_port);
	ts_write(path, yaml);
	hf_free(yaml);
	free(path);
}

static int setup(void **state)
{
	char *raw;
	(void)state;
	if (hf_global_init(NULL))
		return -1;
	mock = tm_start(NULL);
	snprintf(v1, sizeof(v1), "%s/v1", hf_mock_url(mock));
	dir = ts_tmpdir();
	raw = ts_path(dir, "data");
	mkdir(raw, 0700);
	data = realpath(raw, NULL);
	free(raw);
	notes = ts_path(data, "notes.txt");
	ts_write(notes, CONTENT);
	graph_dir = ts_path(dir, "graph");
	mkdir(graph_dir, 0700);
	http_log = ts_path(dir, "http.log");
	if (ts_npm_install() == 0) {
		http_pid = ts_everything_http_start(&http_port, http_log);
		write_graph();
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (http_pid > 0)
		ts_everything_http_stop(http_pid);
	hf_mock_stop(mock);
	ts_rmtree(dir);
	free(dir);
	free(data);
	free(notes);
	free(graph_dir);
	free(http_log);
	hf_global_cleanup();
	return 0;
}

/* ---- a run's record ---- */

typedef struct rec {
	char events[8192];
	int calls, results;
} rec;

/* "CALL tool origin args; RESULT tool origin error? text; " */
static int on_event(const hf_event *ev, void *payload)
{
	rec *r = payload;
	size_t n = strlen(r->events);
	char *p = r->events + n;
	size_t cap = sizeof(r->events) - n;
	if (ev->type == HF_EVENT_TOOL_CALL) {
		r->calls++;
		snprintf(p, cap, "CALL %s %s %.*s; ", ev->tool_name,
		         ev->tool_origin ? ev->tool_origin : "-", (int)ev->text_len, ev->text);
	} else if (ev->type == HF_EVENT_TOOL_RESULT) {
		r->results++;
		snprintf(p, cap, "RESULT %s %s%s %.*s; ", ev->tool_name,
		         ev->tool_origin ? ev->tool_origin : "-", ev->tool_error ? " error" : "",
		         (int)ev->text_len, ev->text);
	}
	return 0;
}

static void load(hf_graph **g, hf_tools **ts)
{
	hf_error err;
	if (hf_graph_load(g, graph_dir, NULL, &err))
		fail_msg("graph: %s", err.message);
	assert_int_equal(hf_tools_new(ts, *g, NULL, &err), HF_OK);
	if (hf_tools_start(*ts, NULL, &err))
		fail_msg("hf_tools_start: %s", err.message);
}

static hf_client *client(void)
{
	hf_client_options co = HF_CLIENT_OPTIONS_INIT;
	hf_client *c;
	hf_error err;
	co.base_url = v1;
	co.max_retries = 0;
	if (hf_client_new(&c, &co, NULL, &err))
		fail_msg("client: %s", err.message);
	return c;
}

/* The index of the assistant message of s that calls `tool`, asserting
 * the next message is its tool message with content `output`. */
static size_t assert_call_stored(const hf_session *s, const char *tool, const char *output)
{
	size_t i, n = hf_session_message_count(s);
	hf_error err;
	for (i = 0; i < n; i++) {
		hf_message m, next;
		assert_int_equal(hf_session_message(&m, s, i, &err), HF_OK);
		for (size_t j = 0; j < m.tool_calls; j++) {
			const char *id, *name;
			assert_int_equal(hf_session_message_tool_call(&id, &name, NULL, s, i, j, &err),
			                 HF_OK);
			if (strcmp(name, tool))
				continue;
			/* its tool message: among those right after the assistant message */
			for (size_t k = i + 1; k < n; k++) {
				assert_int_equal(hf_session_message(&next, s, k, &err), HF_OK);
				if (strcmp(next.role, "tool"))
					break;
				if (!strcmp(next.tool_call_id, id)) {
					assert_string_equal(next.content, output);
					return i;
				}
			}
			fail_msg("the call of %s has no tool message", tool);
		}
	}
	fail_msg("no stored assistant message calls %s", tool);
	return 0;
}

/* The tool message answering a call of the last request the mock saw
 * holds `output`. */
static void assert_sent_back(const char *output)
{
	size_t last = hf_mock_log_count(mock) - 1;
	cJSON *body = tm_log_body(mock, last), *m;
	bool seen = false;
	cJSON_ArrayForEach(m, cJSON_GetObjectItem(body, "messages")) {
		const char *role = cJSON_GetStringValue(cJSON_GetObjectItem(m, "role"));
		const char *content = cJSON_GetStringValue(cJSON_GetObjectItem(m, "content"));
		if (role && !strcmp(role, "tool") && content && !strcmp(content, output))
			seen = true;
	}
	if (!seen)
		fail_msg("the last request carries no tool message '%s'", output);
	cJSON_Delete(body);
}

/* The mock as new: script, counters and request log. */
static void fresh_mock(void)
{
	hf_mock_reset(mock);
	hf_mock_log_clear(mock);
}

static char *read_input(void)
{
	return hf_asprintf("What do my notes say? files.read_text_file path=%s", notes);
}

/* ---- through hf_run ---- */

static void test_hf_run_filesystem(void **state)
{
	hf_graph *g;
	hf_tools *ts;
	hf_client *c;
	hf_session *s, *loaded;
	hf_store *st;
	hf_error err;
	rec r = { 0 };
	char *answer, *input, *db, *expect;
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	(void)state;
	ts_npm_need();
	load(&g, &ts);
	c = client();
	db = ts_path(dir, "run.db");
	assert_int_equal(hf_store_open_sqlite(&st, db, &err), HF_OK);
	assert_int_equal(hf_session_new(&s, NULL, &err), HF_OK);
	input = read_input();
	ro.tools = ts;
	ro.on_event = on_event;
	ro.payload = &r;
	fresh_mock();
	if (hf_run(&answer, c, g, s, st, input, &ro, &err))
		fail_msg("hf_run: %s", err.message);
	/* routed to the Files agent, which read the file and answered from it */
	assert_string_equal(hf_session_agent(s), "Files agent");
	assert_string_equal(answer, "The tool read_text_file returned: " CONTENT);
	expect = hf_asprintf("CALL read_text_file files {\"path\":\"%s\"}; "
	                     "RESULT read_text_file files " CONTENT "; ", notes);
	assert_string_equal(r.events, expect);
	/* desk, files agent calling, files agent with the result */
	assert_int_equal(hf_mock_log_count(mock), 3);
	assert_sent_back(CONTENT);
	/* in memory and in the store: the call and its result */
	assert_call_stored(s, "read_text_file", CONTENT);
	assert_int_equal(hf_store_load(&loaded, st, hf_session_id(s), &err), HF_OK);
	assert_int_equal(hf_session_message_count(loaded), hf_session_message_count(s));
	assert_call_stored(loaded, "read_text_file", CONTENT);

	hf_free(answer);
	hf_free(expect);
	hf_free(input);
	free(db);
	hf_session_free(loaded);
	hf_session_free(s);
	hf_store_free(st);
	hf_client_free(c);
	hf_tools_free(ts);
	hf_graph_free(g);
}

/* Two tools of two servers, stdio and Streamable HTTP, in one reply: both
 * run, their results go back in call order. */
static void test_hf_run_stdio_and_http(void **state)
{
	hf_graph *g;
	hf_tools *ts;
	hf_client *c;
	hf_session *s;
	hf_error err;
	rec r = { 0 };
	char *answer;
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	(void)state;
	ts_npm_need();
	load(&g, &ts);
	c = client();
	assert_int_equal(hf_session_new(&s, NULL, &err), HF_OK);
	ro.tools = ts;
	ro.on_event = on_event;
	ro.payload = &r;
	ro.stream = 0;
	fresh_mock();
	if (hf_run(&answer, c, g, s, NULL,
	           "Files desk: remote.get-sum a=2 b=40 then everything.echo message=hola", &ro,
	           &err))
		fail_msg("hf_run: %s", err.message);
	assert_string_equal(r.events,
	                    "CALL get-sum remote {\"a\":2,\"b\":40}; "
	                    "CALL echo everything {\"message\":\"hola\"}; "
	                    "RESULT get-sum remote The sum of 2 and 40 is 42.; "
	                    "RESULT echo everything Echo: hola; ");
	assert_string_equal(answer, "The tool get-sum returned: The sum of 2 and 40 is 42.\n"
	                            "The tool echo returned: Echo: hola");
	assert_sent_back("The sum of 2 and 40 is 42.");
	assert_sent_back("Echo: hola");
	assert_call_stored(s, "get-sum", "The sum of 2 and 40 is 42.");
	assert_call_stored(s, "echo", "Echo: hola");
	hf_free(answer);
	hf_session_free(s);
	hf_client_free(c);
	hf_tools_free(ts);
	hf_graph_free(g);
}

/* ---- through the engine ---- */

typedef struct eturn {
	rec r;
	hf_session *s;
	int code, completions;
	char answer[HF_ERROR_MESSAGE_MAX + 64];
} eturn;

static void on_complete(const hf_completion *c, void *payload)
{
	eturn *t = c->payload;
	(void)payload;
	t->completions++;
	t->code = c->code;
	snprintf(t->answer, sizeof(t->answer), "%s",
	         c->answer ? c->answer : c->error ? c->error->message : "");
}

static int on_event_turn(const hf_event *ev, void *payload)
{
	return on_event(ev, &((eturn *)payload)->r);
}

static void test_engine(void **state)
{
	static const char *const inputs[3] = { NULL, "Files desk: remote.get-sum a=20 b=22",
		                                 "Files desk: everything.echo message=adios" };
	static const char *const answers[3] = {
		"The tool read_text_file returned: " CONTENT,
		"The tool get-sum returned: The sum of 20 and 22 is 42.",
		"The tool echo returned: Echo: adios",
	};
	hf_client_options co = HF_CLIENT_OPTIONS_INIT;
	hf_engine_options eo = HF_ENGINE_OPTIONS_INIT;
	hf_engine *e;
	hf_graph *g;
	hf_tools *ts;
	hf_error err;
	eturn t[3];
	char *read = NULL;
	(void)state;
	ts_npm_need();
	load(&g, &ts);
	co.base_url = v1;
	co.max_retries = 0;
	eo.client = &co;
	eo.on_complete = on_complete;
	if (hf_engine_new(&e, &eo, &err))
		fail_msg("engine: %s", err.message);
	fresh_mock();
	memset(t, 0, sizeof(t));
	for (int i = 0; i < 3; i++) {
		hf_run_options ro = HF_RUN_OPTIONS_INIT;
		const char *in = inputs[i] ? inputs[i] : (read = read_input());
		ro.tools = ts;
		ro.on_event = on_event_turn;
		ro.payload = &t[i];
		assert_int_equal(hf_session_new(&t[i].s, NULL, &err), HF_OK);
		if (hf_engine_submit(NULL, e, g, t[i].s, NULL, in, &ro, &err))
			fail_msg("submit: %s", err.message);
	}
	if (hf_engine_run_until_idle(e, &err))
		fail_msg("engine: %s", err.message);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(t[i].completions, 1);
		if (t[i].code)
			fail_msg("turn %d: %s", i, t[i].answer);
		assert_string_equal(t[i].answer, answers[i]);
		assert_int_equal(t[i].r.calls, 1);
		assert_int_equal(t[i].r.results, 1);
	}
	assert_true(ts_contains(t[0].r.events, "CALL read_text_file files "));
	assert_true(ts_contains(t[1].r.events, "RESULT get-sum remote The sum of 20 and 22 is 42."));
	assert_true(ts_contains(t[2].r.events, "RESULT echo everything Echo: adios"));
	assert_call_stored(t[0].s, "read_text_file", CONTENT);
	assert_call_stored(t[1].s, "get-sum", "The sum of 20 and 22 is 42.");
	assert_call_stored(t[2].s, "echo", "Echo: adios");
	assert_int_equal(hf_mock_log_count(mock), 9);
	hf_engine_free(e);
	for (int i = 0; i < 3; i++)
		hf_session_free(t[i].s);
	hf_free(read);
	hf_tools_free(ts);
	hf_graph_free(g);
}

/* ---- through the command ---- */

static void run_cli(ts_proc *p, const char *const *argv)
{
	char *base = hf_asprintf("HANDOFF_BASE_URL=%s", v1);
	const char *env[] = { base, NULL };
	ts_run_cli(p, NULL, env, argv);
	hf_free(base);
}

/* The JSON event of `type` (the first) among the lines of out (owned). */
static cJSON *event_of(const char *out, const char *type)
{
	const char *line = out;
	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		cJSON *o = cJSON_ParseWithLength(line, len);
		const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(o, "type"));
		if (t && !strcmp(t, type))
			return o;
		cJSON_Delete(o);
		line = end ? end + 1 : NULL;
	}
	fail_msg("no '%s' event in: %s", type, out);
	return NULL;
}

static const char *str(const cJSON *o, const char *key)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));
	if (!v)
		fail_msg("no string '%s'", key);
	return v;
}

static void test_cli(void **state)
{
	char *input = read_input(), *args = hf_asprintf("{\"path\":\"%s\"}", notes), *line;
	const char *json_argv[] = { "run", "--json", "--no-store", graph_dir, input, NULL };
	const char *argv[] = { "run", "--no-store", graph_dir, input, NULL };
	const char *tools_argv[] = { "tools", graph_dir, NULL };
	const char *tools_json[] = { "tools", "--json", graph_dir, NULL };
	cJSON *ev, *doc, *agent, *tool;
	ts_proc p;
	int n = 0;
	(void)state;
	ts_npm_need();

	run_cli(&p, json_argv);
	if (p.status)
		fail_msg("run --json: exit %d: %s", p.status, p.err);
	ev = event_of(p.out, "tool_call");
	assert_string_equal(str(ev, "agent"), "Files agent");
	assert_string_equal(str(ev, "tool"), "read_text_file");
	assert_string_equal(str(ev, "origin"), "files");
	assert_string_equal(str(ev, "arguments"), args);
	cJSON_Delete(ev);
	ev = event_of(p.out, "tool_result");
	assert_string_equal(str(ev, "origin"), "files");
	assert_string_equal(str(ev, "output"), CONTENT);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(ev, "error")));
	cJSON_Delete(ev);
	ev = event_of(p.out, "done");
	assert_string_equal(str(ev, "text"), "The tool read_text_file returned: " CONTENT);
	cJSON_Delete(ev);
	ts_proc_dispose(&p);

	/* the answer on stdout, the call on stderr */
	run_cli(&p, argv);
	if (p.status)
		fail_msg("run: exit %d: %s", p.status, p.err);
	assert_string_equal(p.out, "The tool read_text_file returned: " CONTENT);
	line = hf_asprintf("\n[Files agent] files.read_text_file %s \xe2\x86\x92 30 B\n", args);
	if (!ts_contains(p.err, line))
		fail_msg("stderr lacks '%s': %s", line, p.err);
	assert_true(ts_contains(p.err, "[Desk \xe2\x86\x92 Files agent]"));
	hf_free(line);
	ts_proc_dispose(&p);

	/* handoff tools: each tool with its server */
	run_cli(&p, tools_argv);
	if (p.status)
		fail_msg("tools: exit %d: %s", p.status, p.err);
	assert_true(ts_contains(p.out, "AGENT        TOOL            ORIGIN      DESCRIPTION\n"));
	assert_true(ts_contains(p.out, "\nFiles agent  read_text_file  files       Read "));
	assert_true(ts_contains(p.out, "\nFiles agent  get-sum         remote      "));
	assert_true(ts_contains(p.out, "\nFiles agent  echo            everything  "));
	ts_proc_dispose(&p);
	run_cli(&p, tools_json);
	assert_int_equal(p.status, 0);
	doc = cJSON_Parse(p.out);
	/* every agent, the Desk with no tools */
	agent = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "agents"), 0);
	assert_string_equal(str(agent, "agent"), "Desk");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(agent, "tools")), 0);
	agent = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "agents"), 1);
	assert_string_equal(str(agent, "agent"), "Files agent");
	cJSON_ArrayForEach(tool, cJSON_GetObjectItem(agent, "tools")) {
		n++;
		assert_non_null(cJSON_GetObjectItem(tool, "parameters"));
	}
	assert_int_equal(n, 5);
	tool = cJSON_GetArrayItem(cJSON_GetObjectItem(agent, "tools"), 4);
	assert_string_equal(str(tool, "name"), "get-sum");
	assert_string_equal(str(tool, "origin"), "remote");
	cJSON_Delete(doc);
	ts_proc_dispose(&p);
	hf_free(input);
	hf_free(args);
}

/* ---- secrets ---- */

#define SENTINEL "sk-sentinel-tools-mcp-4e5f6a7b8c9d"

/* The key handoff has never reaches a server: server-everything's get-env
 * (through the whole loop, the command with the key in its environment)
 * and the C test server's env tool, whose graph passes LANG. */
static void test_key_not_in_server_env(void **state)
{
	char *probe_dir = ts_path(dir, "probe"), *yaml_path = ts_path(probe_dir, "handoff.yaml");
	char *yaml = hf_asprintf("entry: Support\nmodel: m\n"
	                         "mcp_servers:\n  probe:\n    command: %s\n"
	                         "    env: { LANG: C.UTF-8 }\n"
	                         "agents:\n  - name: Support\n    instructions: s\n"
	                         "    tools: [probe.env]\n",
	                         HF_MCP_TEST_SERVER);
	char *base = hf_asprintf("HANDOFF_BASE_URL=%s", v1);
	const char *env[] = { base, "HANDOFF_API_KEY=" SENTINEL, "OPENAI_API_KEY=" SENTINEL, NULL };
	const char *probe_argv[] = { "run", "--json", "--no-store", probe_dir, "probe.env", NULL };
	const char *every_argv[] = { "run", "--json", "--no-store", graph_dir,
		                     "Files desk: everything.get-env", NULL };
	cJSON *ev;
	ts_proc p;
	char *log;
	(void)state;

	mkdir(probe_dir, 0700);
	ts_write(yaml_path, yaml);
	fresh_mock();
	ts_run_cli(&p, NULL, env, probe_argv);
	if (p.status)
		fail_msg("run: exit %d: %s", p.status, p.err);
	ev = event_of(p.out, "tool_result");
	/* exactly PATH, HOME and what the graph lists */
	assert_true(ts_contains(str(ev, "output"), "PATH="));
	assert_true(ts_contains(str(ev, "output"), "LANG=C.UTF-8"));
	assert_false(ts_contains(str(ev, "output"), "API_KEY"));
	assert_false(ts_contains(str(ev, "output"), SENTINEL));
	cJSON_Delete(ev);
	assert_false(ts_contains(p.out, SENTINEL));
	assert_false(ts_contains(p.err, SENTINEL));
	ts_proc_dispose(&p);

	if (ts_npm_install() == 0) {
		ts_run_cli(&p, NULL, env, every_argv);
		if (p.status)
			fail_msg("run: exit %d: %s", p.status, p.err);
		ev = event_of(p.out, "tool_result");
		assert_string_equal(str(ev, "origin"), "everything");
		assert_true(ts_contains(str(ev, "output"), "\"PATH\""));
		assert_false(ts_contains(str(ev, "output"), "API_KEY"));
		assert_false(ts_contains(str(ev, "output"), SENTINEL));
		cJSON_Delete(ev);
		assert_false(ts_contains(p.out, SENTINEL));
		assert_false(ts_contains(p.err, SENTINEL));
		ts_proc_dispose(&p);
	}
	/* the key was sent to the endpoint, and is redacted in its log */
	assert_true(hf_mock_log_count(mock) > 0);
	for (size_t i = 0; i < hf_mock_log_count(mock); i++) {
		log = hf_mock_log_get(mock, i);
		assert_false(ts_contains(log, SENTINEL));
		hf_free(log);
	}

	hf_free(yaml);
	hf_free(base);
	free(yaml_path);
	free(probe_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hf_run_filesystem),
		cmocka_unit_test(test_hf_run_stdio_and_http),
		cmocka_unit_test(test_engine),
		cmocka_unit_test(test_cli),
		cmocka_unit_test(test_key_not_in_server_env),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

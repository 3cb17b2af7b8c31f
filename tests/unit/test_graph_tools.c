/*
 * test_graph_tools.c - the tools side of graph YAML as loaded: mcp_servers
 * (every key, durations, cwd resolution), tool_errors, an agent's tools and
 * tool_use in each accepted form, and the JSON export, which names env
 * variables and headers but never shows their values. The error messages
 * are in test_graph_validate.c.
 */
#include "support.h"

#include "graph.h"
#include "handoff.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char issue_example[] =
	"entry: Support agent\n"
	"model: m\n"
	"mcp_servers:\n"
	"  files:\n"
	"    command: npx                      # spawned directly, no shell\n"
	"    args: [-y, \"@modelcontextprotocol/server-filesystem\", ./data]\n"
	"    env: { LANG: C.UTF-8 }            # only what is listed is passed\n"
	"    timeout: 30s                      # per tool call\n"
	"  remote:\n"
	"    url: http://127.0.0.1:8931/mcp    # Streamable HTTP\n"
	"    headers: { Authorization: \"Bearer ${REMOTE_TOKEN}\" }\n"
	"    allow: [search, fetch]\n"
	"    deny: [delete]\n"
	"    timeout: 1.5\n"
	"agents:\n"
	"  - name: Support agent\n"
	"    handoffs: [Files agent]\n"
	"    tools: [files.read_text_file, remote.*, lookup_order]\n"
	"  - name: Files agent\n"
	"    tools:\n"
	"      - files.*\n"
	"    tool_use: stop_on_first_tool\n"
	"  - name: Quiet agent\n"
	"    tools: [lookup_order, remote.search]\n"
	"    tool_use: {stop_at: [search, lookup_order]}\n"
	"    settings: {tool_choice: lookup_order}\n";

static hf_graph *load_ok(const char *yaml)
{
	hf_graph *g = NULL;
	hf_diag *d = NULL;
	hf_error err;
	int rc = hf_graph_load_string(&g, yaml, strlen(yaml), "t.yaml", &d, &err);
	if (rc)
		fail_msg("load failed: %s", err.message);
	assert_int_equal(hf_diag_error_count(d), 0);
	hf_diag_free(d);
	return g;
}

static void expect_strv(char *const *v, const char *const *want, size_t n)
{
	size_t i;
	assert_non_null(v);
	for (i = 0; i < n; i++)
		assert_string_equal(v[i], want[i]);
	assert_null(v[n]);
}

static void test_servers(void **state)
{
	static const char *const args[] = { "-y", "@modelcontextprotocol/server-filesystem",
		                            "./data" };
	static const char *const env[] = { "LANG=C.UTF-8" };
	static const char *const headers[] = { "Authorization: Bearer ${REMOTE_TOKEN}" };
	static const char *const allow[] = { "search", "fetch" };
	static const char *const deny[] = { "delete" };
	hf_graph *g = load_ok(issue_example);
	const hf_mcp_server_conf *f, *r;
	(void)state;

	assert_false(g->tool_errors_fail); /* default: tell the model */
	assert_int_equal(g->nservers, 2);
	f = &g->servers[0];
	r = &g->servers[1];
	assert_string_equal(f->name, "files");
	assert_string_equal(f->command, "npx");
	assert_null(f->url);
	expect_strv(f->args, args, 3);
	expect_strv(f->env, env, 1);
	assert_null(f->headers);
	assert_null(f->allow);
	assert_null(f->deny);
	assert_int_equal(f->timeout_ms, 30000);
	assert_null(f->cwd); /* from a string: no file directory; the tool set decides */
	assert_string_equal(f->file, "t.yaml");
	assert_int_equal(f->line, 4);
	assert_int_equal(f->col, 3);

	assert_string_equal(r->name, "remote");
	assert_null(r->command);
	assert_string_equal(r->url, "http://127.0.0.1:8931/mcp");
	expect_strv(r->headers, headers, 1); /* ${NAME} kept: expanded when the server starts */
	expect_strv(r->allow, allow, 2);
	expect_strv(r->deny, deny, 1);
	assert_null(r->args);
	assert_null(r->env);
	assert_int_equal(r->timeout_ms, 1500); /* a plain number is seconds */
	assert_null(r->cwd);
	hf_graph_free(g);
}

static void test_durations_and_tool_errors(void **state)
{
	static const struct {
		const char *v;
		long ms;
	} rows[] = { { "30s", 30000 }, { "\"30s\"", 30000 }, { "500ms", 500 }, { "2m", 120000 },
		     { "1h", 3600000 },    { "45", 45000 },      { "0.25", 250 },  { "1ms", 1 },
		     { "24h", 86400000 } };
	size_t i;
	(void)state;
	for (i = 0; i < HF_ARRAY_LEN(rows); i++) {
		char *yaml = hf_asprintf("tool_errors: fail\nmodel: m\ntimeouts: {timeout: %s}\n"
		                         "mcp_servers: {s: {command: x, timeout: %s}}\n"
		                         "agents: [{name: a}]\n",
		                         rows[i].v, rows[i].v);
		hf_graph *g = load_ok(yaml);
		assert_true(g->tool_errors_fail);
		assert_int_equal(g->servers[0].timeout_ms, rows[i].ms);
		assert_int_equal(g->endpoint.timeout_ms, rows[i].ms);
		hf_graph_free(g);
		free(yaml);
	}
	{
		hf_graph *g = load_ok("tool_errors: tell_model\nmodel: m\nagents: [{name: a}]\n");
		assert_false(g->tool_errors_fail);
		assert_int_equal(g->nservers, 0);
		assert_null(g->servers);
		hf_graph_free(g);
	}
}

static void test_agent_tools(void **state)
{
	static const char *const stop[] = { "search", "lookup_order" };
	hf_graph *g = load_ok(issue_example);
	const hf_agent *s = hf_graph_agent_by_name(g, "Support agent");
	const hf_agent *f = hf_graph_agent_by_name(g, "Files agent");
	const hf_agent *q = hf_graph_agent_by_name(g, "Quiet agent");
	(void)state;

	assert_int_equal(s->ntools, 3);
	assert_string_equal(s->tools[0].server, "files");
	assert_string_equal(s->tools[0].name, "read_text_file");
	assert_int_equal(s->tools[0].line, 18);
	assert_int_equal(s->tools[0].col, 13);
	assert_string_equal(s->tools[1].server, "remote");
	assert_string_equal(s->tools[1].name, "*");
	assert_int_equal(s->tools[1].col, 35);
	assert_null(s->tools[2].server); /* a bare name: a C callback */
	assert_string_equal(s->tools[2].name, "lookup_order");
	/* the public view: entries as written, the servers' count */
	assert_int_equal(hf_agent_tool_count(s), 3);
	assert_string_equal(hf_agent_tool_at(s, 0), "files.read_text_file");
	assert_string_equal(hf_agent_tool_at(s, 1), "remote.*");
	assert_string_equal(hf_agent_tool_at(s, 2), "lookup_order");
	assert_null(hf_agent_tool_at(s, 3));
	assert_int_equal(hf_graph_mcp_server_count(g), 2);
	assert_int_equal(s->tool_use, HF_TOOL_USE_RUN_LLM_AGAIN);
	assert_null(s->stop_at);

	assert_int_equal(f->ntools, 1);
	assert_string_equal(f->tools[0].server, "files");
	assert_string_equal(f->tools[0].name, "*");
	assert_int_equal(f->tools[0].line, 21);
	assert_int_equal(f->tools[0].col, 9);
	assert_int_equal(f->tool_use, HF_TOOL_USE_STOP_ON_FIRST);

	assert_int_equal(q->tool_use, HF_TOOL_USE_STOP_AT);
	expect_strv(q->stop_at, stop, 2);
	assert_string_equal(q->settings.tool_choice, "lookup_order");
	hf_graph_free(g);

	g = load_ok("name: a\nmodel: m\ntool_use: run_llm_again\n");
	assert_int_equal(g->agents[0].ntools, 0);
	assert_null(g->agents[0].tools);
	assert_int_equal(g->agents[0].tool_use, HF_TOOL_USE_RUN_LLM_AGAIN);
	hf_graph_free(g);

	/* tool_choice: required is fine with tools and no handoffs */
	g = load_ok("name: a\nmodel: m\ntools: [cb]\nsettings: {tool_choice: required}\n");
	assert_string_equal(g->agents[0].settings.tool_choice, "required");
	hf_graph_free(g);
}

/* From files, a stdio server's cwd is absolute: by default its file's
 * directory, a relative cwd joined to it, an absolute one kept. */
static void test_cwd_from_files(void **state)
{
	char *dir = ts_tmpdir(), *sub = ts_path(dir, "g"), *path = ts_path(sub, "handoff.yaml");
	char real[PATH_MAX], here[PATH_MAX], *want;
	hf_graph *g = NULL;
	hf_error err;
	(void)state;
	assert_int_equal(mkdir(sub, 0700), 0);
	ts_write(path, "model: m\n"
	               "mcp_servers:\n"
	               "  a: {command: x}\n"
	               "  b: {command: x, cwd: data}\n"
	               "  c: {command: x, cwd: /srv/tools}\n"
	               "  d: {url: \"http://h\"}\n"
	               "agents: [{name: a}]\n");
	assert_non_null(realpath(sub, real));
	assert_int_equal(hf_graph_load(&g, real, NULL, &err), HF_OK);
	assert_string_equal(g->servers[0].cwd, real);
	want = hf_asprintf("%s/data", real);
	assert_string_equal(g->servers[1].cwd, want);
	free(want);
	assert_string_equal(g->servers[2].cwd, "/srv/tools");
	assert_null(g->servers[3].cwd); /* HTTP: no process */
	hf_graph_free(g);

	/* a relative graph path: made absolute from the working directory */
	assert_non_null(getcwd(here, sizeof(here)));
	assert_int_equal(chdir(real), 0);
	assert_int_equal(chdir(".."), 0);
	assert_int_equal(hf_graph_load(&g, "g/handoff.yaml", NULL, &err), HF_OK);
	assert_int_equal(chdir(here), 0);
	assert_string_equal(g->servers[0].cwd, real);
	hf_graph_free(g);

	ts_rmtree(dir);
	free(path);
	free(sub);
	free(dir);
}

static const cJSON *item(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v)
		fail_msg("no '%s' in the JSON", key);
	return v;
}

static void expect_json_strings(const cJSON *arr, const char *const *want, size_t n)
{
	size_t i;
	assert_int_equal(cJSON_GetArraySize(arr), (int)n);
	for (i = 0; i < n; i++)
		assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(arr, (int)i)), want[i]);
}

static void test_export_json(void **state)
{
	static const char *const tools[] = { "files.read_text_file", "remote.*", "lookup_order" };
	static const char *const auth[] = { "Authorization", "X-Api-Key" };
	static const char *const envs[] = { "LANG", "TOKEN" };
	static const char *const stop[] = { "search", "lookup_order" };
	hf_graph *g;
	hf_error err;
	char *out = NULL, *yaml;
	cJSON *root;
	const cJSON *servers, *agents, *s;
	(void)state;

	/* secrets in values, and ${NAME} references: neither may be exported */
	yaml = hf_asprintf("tool_errors: fail\n%s", issue_example);
	{
		char *p = strstr(yaml, "{ LANG: C.UTF-8 }");
		char *fixed = hf_asprintf("%.*s{ LANG: C.UTF-8, TOKEN: sk-env-secret }%s",
		                          (int)(p - yaml), yaml, p + strlen("{ LANG: C.UTF-8 }"));
		free(yaml);
		yaml = fixed;
		p = strstr(yaml, "\" }\n    allow");
		fixed = hf_asprintf("%.*s\", X-Api-Key: sk-header-secret }%s", (int)(p - yaml), yaml,
		                    p + 3);
		free(yaml);
		yaml = fixed;
	}
	g = load_ok(yaml);
	assert_int_equal(hf_graph_export(&out, g, HF_GRAPH_JSON, &err), HF_OK);
	assert_false(ts_contains(out, "sk-env-secret"));
	assert_false(ts_contains(out, "sk-header-secret"));
	assert_false(ts_contains(out, "REMOTE_TOKEN"));
	assert_false(ts_contains(out, "Bearer"));
	assert_false(ts_contains(out, "C.UTF-8"));

	root = cJSON_Parse(out);
	assert_non_null(root);
	assert_string_equal(cJSON_GetStringValue(item(root, "tool_errors")), "fail");
	servers = item(root, "mcp_servers");
	assert_int_equal(cJSON_GetArraySize(servers), 2);
	s = cJSON_GetArrayItem(servers, 0);
	assert_string_equal(cJSON_GetStringValue(item(s, "name")), "files");
	assert_string_equal(cJSON_GetStringValue(item(s, "transport")), "stdio");
	assert_string_equal(cJSON_GetStringValue(item(s, "command")), "npx");
	assert_true(cJSON_IsNull(item(s, "url")));
	expect_json_strings(item(s, "env"), envs, 2);
	assert_int_equal(cJSON_GetArraySize(item(s, "headers")), 0);
	assert_int_equal(item(s, "timeout_ms")->valueint, 30000);
	assert_true(cJSON_IsNull(item(s, "allow")));
	s = cJSON_GetArrayItem(servers, 1);
	assert_string_equal(cJSON_GetStringValue(item(s, "transport")), "http");
	assert_string_equal(cJSON_GetStringValue(item(s, "url")), "http://127.0.0.1:8931/mcp");
	expect_json_strings(item(s, "headers"), auth, 2);
	expect_json_strings(item(s, "deny"), (const char *const[]){ "delete" }, 1);

	agents = item(root, "agents");
	expect_json_strings(item(cJSON_GetArrayItem(agents, 0), "tools"), tools, 3);
	assert_string_equal(cJSON_GetStringValue(item(cJSON_GetArrayItem(agents, 0), "tool_use")),
	                    "run_llm_again");
	assert_string_equal(cJSON_GetStringValue(item(cJSON_GetArrayItem(agents, 1), "tool_use")),
	                    "stop_on_first_tool");
	expect_json_strings(item(item(cJSON_GetArrayItem(agents, 2), "tool_use"), "stop_at"), stop,
	                    2);
	cJSON_Delete(root);
	free(out);
	hf_graph_free(g);
	free(yaml);

	/* no servers: an empty list, and tool_errors' default */
	g = load_ok("name: a\nmodel: m\n");
	assert_int_equal(hf_graph_export(&out, g, HF_GRAPH_JSON, &err), HF_OK);
	root = cJSON_Parse(out);
	assert_string_equal(cJSON_GetStringValue(item(root, "tool_errors")), "tell_model");
	assert_int_equal(cJSON_GetArraySize(item(root, "mcp_servers")), 0);
	assert_int_equal(cJSON_GetArraySize(item(cJSON_GetArrayItem(item(root, "agents"), 0), "tools")),
	                 0);
	cJSON_Delete(root);
	free(out);
	hf_graph_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_servers),
		cmocka_unit_test(test_durations_and_tool_errors),
		cmocka_unit_test(test_agent_tools),
		cmocka_unit_test(test_cwd_from_files),
		cmocka_unit_test(test_export_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

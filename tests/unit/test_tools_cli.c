/*
 * test_tools_cli.c - the command line's tools: `handoff tools` (table and
 * --json), `handoff validate` with MCP servers (started, or --offline),
 * `handoff run` refusing a graph whose agent names a C callback it cannot
 * register, and the whole tool loop offline: `handoff run --mock` with the
 * official filesystem MCP server (npm, tests/npm/install), the mock calling
 * read_text_file because the message names it, shown on stderr and as
 * tool_call / tool_result JSON events.
 */
#include "support.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define FS_SERVER HF_SOURCE_DIR "/tests/npm/node_modules/.bin/mcp-server-filesystem"

typedef struct fixture {
	char *dir;    /* the graph directory */
	char *data;   /* what the filesystem server serves */
	char *file;   /* data/a.txt */
} fixture;

/* A graph in a fresh directory: handoff.yaml (with `extra`, and with the
 * filesystem server as `files` serving data/ when files is true) and one
 * agent, Support agent, with `tools` (a YAML flow list, NULL: none). */
static void graph(fixture *f, const char *tools, const char *extra, bool files)
{
	char *path, text[4096];
	int n;
	f->dir = ts_tmpdir();
	f->data = ts_path(f->dir, "data");
	f->file = ts_path(f->data, "a.txt");
	assert_int_equal(mkdir(f->data, 0700), 0);
	path = ts_path(f->dir, "handoff.yaml");
	n = snprintf(text, sizeof(text), "entry: Support agent\nmodel: gpt-4o-mini\n%s",
	             extra ? extra : "");
	if (files)
		snprintf(text + n, sizeof(text) - (size_t)n,
		         "mcp_servers:\n  files:\n    command: %s\n    args: [\"%s\"]\n"
		         "    timeout: 30s\n",
		         FS_SERVER, f->data);
	ts_write(path, text);
	free(path);
	path = ts_path(f->dir, "support.yaml");
	snprintf(text, sizeof(text), "name: Support agent\ninstructions: Help with files.\n%s%s%s",
	         tools ? "tools: " : "", tools ? tools : "", tools ? "\n" : "");
	ts_write(path, text);
	free(path);
}

static void fixture_dispose(fixture *f)
{
	ts_rmtree(f->dir);
	free(f->dir);
	free(f->data);
	free(f->file);
}

/* Install the npm servers, or skip the test saying why (exit 77: node
 * cannot be installed here at all). */
static void need_npm(void)
{
	int st = system(HF_SOURCE_DIR "/tests/npm/install");
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
		fprintf(stderr, "skipped: node and npm cannot be installed here (tests/npm/install)\n");
		skip();
	}
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_tools_lists_callbacks(void **state)
{
	fixture f;
	ts_proc p;
	cJSON *doc, *agent, *tool;
	(void)state;
	graph(&f, "[lookup_order]", NULL, false);
	{
		const char *argv[] = { "tools", f.dir, NULL };
		ts_run_cli(&p, NULL, NULL, argv);
	}
	assert_int_equal(p.status, 0);
	/* a header, then one aligned row */
	assert_true(ts_contains(p.out, "AGENT          TOOL          ORIGIN    DESCRIPTION\n"));
	assert_true(ts_contains(p.out, "Support agent  lookup_order  callback  (registered by the "
	                               "application)\n"));
	ts_proc_dispose(&p);
	{
		const char *argv[] = { "tools", "--json", f.dir, NULL };
		ts_run_cli(&p, NULL, NULL, argv);
	}
	assert_int_equal(p.status, 0);
	doc = cJSON_Parse(p.out);
	assert_non_null(doc);
	agent = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "agents"), 0);
	assert_string_equal(cJSON_GetObjectItem(agent, "agent")->valuestring, "Support agent");
	tool = cJSON_GetArrayItem(cJSON_GetObjectItem(agent, "tools"), 0);
	assert_string_equal(cJSON_GetObjectItem(tool, "name")->valuestring, "lookup_order");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(tool, "origin")));
	cJSON_Delete(doc);
	ts_proc_dispose(&p);
	fixture_dispose(&f);
}

/* run cannot register a C callback: it fails before any model call,
 * naming the tool, with the configuration status. */
static void test_run_refuses_unregistered_callback(void **state)
{
	fixture f;
	ts_proc p;
	(void)state;
	graph(&f, "[lookup_order]", NULL, false);
	{
		const char *argv[] = { "run", "--mock", "--no-store", f.dir, "Hello", NULL };
		ts_run_cli(&p, NULL, NULL, argv);
	}
	assert_int_equal(p.status, 3);
	assert_true(ts_contains(p.err, "lookup_order"));
	assert_true(ts_contains(p.err, "support.yaml:3:"));
	assert_true(ts_contains(p.err, "C callback that an application registers"));
	assert_string_equal(p.out, "");
	ts_proc_dispose(&p);
	fixture_dispose(&f);
}

static void test_validate_offline_and_bad_server(void **state)
{
	fixture f;
	ts_proc p;
	(void)state;
	graph(&f, "[files.read_text_file]",
	      "mcp_servers:\n  files:\n    command: /nonexistent/mcp-server\n", false);
	{
		const char *argv[] = { "validate", "--offline", f.dir, NULL };
		ts_run_cli(&p, NULL, NULL, argv);
	}
	assert_int_equal(p.status, 0);
	assert_true(ts_contains(p.out, "1 agents, entry 'Support agent', ok\n"));
	ts_proc_dispose(&p);
	{
		const char *argv[] = { "validate", f.dir, NULL };
		ts_run_cli(&p, NULL, NULL, argv);
	}
	/* the server cannot start: said as file:line:col naming it */
	assert_int_not_equal(p.status, 0);
	assert_true(ts_contains(p.err, "handoff.yaml:"));
	assert_true(ts_contains(p.err, "files"));
	assert_true(ts_contains(p.out, "error"));
	ts_proc_dispose(&p);
	fixture_dispose(&f);
}

static void test_tools_and_validate_with_mcp(void **state)
{
	fixture f;
	ts_proc p;
	(void)state;
	need_npm();
	graph(&f, "[files.read_text_file, files.list_directory, files.no_such_tool]", NULL, true);
	{
		const char *argv[] = { "validate", f.dir, NULL };
		ts_run_cli(&p, NULL, NULL, argv);
	}
	/* listed, then checked: the unknown tool at its place */
	assert_int_equal(p.status, 3);
	assert_true(ts_contains(p.err, "support.yaml:3:"));
	assert_true(ts_contains(p.err, "no_such_tool"));
	assert_true(ts_contains(p.out, ": 1 error, 0 warnings\n"));
	ts_proc_dispose(&p);
	{
		const char *argv[] = { "tools", f.dir, NULL };
		ts_run_cli(&p, NULL, NULL, argv);
	}
	assert_int_equal(p.status, 3);
	assert_true(ts_contains(p.err, "no_such_tool"));
	ts_proc_dispose(&p);
	fixture_dispose(&f);

	graph(&f, "[files.read_text_file, files.list_directory]", NULL, true);
	{
		const char *argv[] = { "tools", f.dir, NULL };
		ts_run_cli(&p, NULL, NULL, argv);
	}
	assert_int_equal(p.status, 0);
	assert_true(ts_contains(p.out, "Support agent  read_text_file  files"));
	assert_true(ts_contains(p.out, "Support agent  list_directory  files"));
	ts_proc_dispose(&p);
	{
		const char *argv[] = { "validate", f.dir, NULL };
		ts_run_cli(&p, NULL, NULL, argv);
	}
	assert_int_equal(p.status, 0);
	assert_true(ts_contains(p.out, "ok; tools checked against 1 MCP server\n"));
	ts_proc_dispose(&p);
	fixture_dispose(&f);
}

/* The whole loop offline: the mock calls read_text_file because the
 * message names it, the filesystem server reads the file, the mock answers
 * with its text. */
static void test_run_tool_loop(void **state)
{
	fixture f;
	ts_proc p;
	char *msg, *line;
	bool call = false, result = false;
	(void)state;
	need_npm();
	graph(&f, "[files.*]", NULL, true);
	ts_write(f.file, "the contents of a.txt\n");
	msg = malloc(strlen(f.file) + 64);
	sprintf(msg, "please read_text_file path=%s", f.file);
	{
		const char *argv[] = { "run", "--mock", "--no-store", f.dir, msg, NULL };
		ts_run_cli(&p, NULL, NULL, argv);
	}
	assert_int_equal(p.status, 0);
	assert_true(ts_contains(p.out, "The tool read_text_file returned: the contents of a.txt"));
	/* [agent] origin.tool {args} → size, on stderr */
	line = malloc(strlen(f.file) + 128);
	sprintf(line, "[Support agent] files.read_text_file {\"path\":\"%s\"} → 22 B\n", f.file);
	if (!ts_contains(p.err, line))
		fail_msg("no tool line '%s' in:\n%s", line, p.err);
	free(line);
	ts_proc_dispose(&p);

	{
		const char *argv[] = { "run", "--mock", "--no-store", "--json", f.dir, msg, NULL };
		ts_run_cli(&p, NULL, NULL, argv);
	}
	assert_int_equal(p.status, 0);
	for (line = strtok(p.out, "\n"); line; line = strtok(NULL, "\n")) {
		cJSON *ev = cJSON_Parse(line);
		const char *type;
		assert_non_null(ev);
		type = cJSON_GetObjectItem(ev, "type")->valuestring;
		if (!strcmp(type, "tool_call")) {
			cJSON *args = cJSON_Parse(cJSON_GetObjectItem(ev, "arguments")->valuestring);
			call = true;
			assert_string_equal(cJSON_GetObjectItem(ev, "agent")->valuestring, "Support agent");
			assert_string_equal(cJSON_GetObjectItem(ev, "tool")->valuestring, "read_text_file");
			assert_string_equal(cJSON_GetObjectItem(ev, "origin")->valuestring, "files");
			assert_string_equal(cJSON_GetObjectItem(args, "path")->valuestring, f.file);
			assert_true(cJSON_IsString(cJSON_GetObjectItem(ev, "call_id")));
			cJSON_Delete(args);
		} else if (!strcmp(type, "tool_result")) {
			result = true;
			assert_true(call);
			assert_string_equal(cJSON_GetObjectItem(ev, "output")->valuestring,
			                    "the contents of a.txt\n");
			assert_true(cJSON_IsFalse(cJSON_GetObjectItem(ev, "error")));
			assert_string_equal(cJSON_GetObjectItem(ev, "origin")->valuestring, "files");
		}
		cJSON_Delete(ev);
	}
	assert_true(call && result);
	ts_proc_dispose(&p);

	/* a file outside the served directory: the error goes to the model
	 * and shows as → error: on stderr */
	sprintf(msg, "please read_text_file path=/etc/hostname");
	{
		const char *argv[] = { "run", "--mock", "--no-store", f.dir, msg, NULL };
		ts_run_cli(&p, NULL, NULL, argv);
	}
	assert_int_equal(p.status, 0);
	assert_true(ts_contains(p.err, "[Support agent] files.read_text_file {\"path\":\"/etc/hostname\"} → error: "));
	/* the server's own stderr is shown only with --verbose */
	assert_false(ts_contains(p.err, "mcp server 'files': "));
	ts_proc_dispose(&p);
	{
		const char *argv[] = { "run", "--mock", "--no-store", "-v", f.dir, msg, NULL };
		ts_run_cli(&p, NULL, NULL, argv);
	}
	assert_int_equal(p.status, 0);
	if (!ts_contains(p.err, "handoff: mcp server 'files': up, "))
		fail_msg("no server log line with --verbose in:\n%s", p.err);
	assert_true(ts_contains(p.err, "handoff: mcp server 'files': Secure MCP Filesystem Server"));
	ts_proc_dispose(&p);
	free(msg);
	fixture_dispose(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tools_lists_callbacks),
		cmocka_unit_test(test_run_refuses_unregistered_callback),
		cmocka_unit_test(test_validate_offline_and_bad_server),
		cmocka_unit_test(test_tools_and_validate_with_mcp),
		cmocka_unit_test(test_run_tool_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

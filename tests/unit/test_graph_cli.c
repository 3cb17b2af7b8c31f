/*
 * test_graph_cli.c - `handoff validate` and `handoff graph`: exit statuses,
 * what goes to stdout and what to stderr.
 */
#include "support.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AGENTS HF_SOURCE_DIR "/agents"

static void run(ts_proc *p, const char *const *argv)
{
	ts_run_cli(p, NULL, NULL, argv);
}

static void test_validate_default_graph(void **state)
{
	static const char *const argv[] = { "validate", AGENTS, NULL };
	ts_proc p;
	(void)state;
	run(&p, argv);
	assert_int_equal(p.status, 0);
	assert_string_equal(p.out, AGENTS ": 3 agents, entry 'Triage agent', ok\n");
	assert_string_equal(p.err, ""); /* no warnings either */
	ts_proc_dispose(&p);
}

static void test_validate_default_path(void **state)
{
	static const char *const argv[] = { "validate", NULL };
	static const char *const env[] = { "HANDOFF_GRAPH=" AGENTS, NULL };
	ts_proc p;
	(void)state;
	ts_run_cli(&p, NULL, env, argv);
	assert_int_equal(p.status, 0);
	assert_true(ts_contains(p.out, "3 agents, entry 'Triage agent', ok"));
	ts_proc_dispose(&p);
}

static void test_validate_stdin(void **state)
{
	static const char *const argv[] = { "validate", "/dev/stdin", NULL };
	ts_proc p;
	(void)state;
	ts_run_cli(&p, "name: Piped\nmodel: m\nhandoffs: [Piped]\n", NULL, argv);
	assert_int_equal(p.status, 3);
	assert_true(ts_contains(p.err, "/dev/stdin:3:12: error: agent 'Piped' hands off to itself"));
	ts_proc_dispose(&p);
}

static void test_validate_invalid(void **state)
{
	char *dir = ts_tmpdir(), *a = ts_path(dir, "a.yaml"), *b = ts_path(dir, "b.yaml");
	char *expect_a = malloc(strlen(a) + 128), *expect_b = malloc(strlen(b) + 128);
	const char *argv[] = { "validate", dir, NULL };
	ts_proc p;
	(void)state;
	ts_write(a, "name: A\nmodel: m\nhandoffs: [C]\n");
	ts_write(b, "name: B\nmodel: m\ninstruction: hi\n");
	run(&p, argv);
	assert_int_equal(p.status, 3);
	/* every problem, each as file:line:col: error: message */
	sprintf(expect_a, "%s:3:12: error: unknown handoff target 'C'; no agent has that name\n", a);
	sprintf(expect_b, "%s:3:1: error: unknown key 'instruction'; did you mean 'instructions'?\n", b);
	assert_true(ts_contains(p.err, expect_a));
	assert_true(ts_contains(p.err, expect_b));
	assert_true(ts_contains(p.err, "error: 2 agents and no entry agent"));
	assert_true(ts_contains(p.out, ": 3 errors, 0 warnings\n"));
	ts_proc_dispose(&p);
	ts_rmtree(dir);
	free(expect_a);
	free(expect_b);
	free(a);
	free(b);
	free(dir);
}

static void test_validate_warnings(void **state)
{
	char *dir = ts_tmpdir(), *f = ts_path(dir, "g.yaml");
	const char *argv[] = { "validate", f, NULL };
	const char *quiet[] = { "validate", "--quiet", f, NULL };
	ts_proc p;
	(void)state;
	ts_write(f, "entry: A\nmodel: m\nagents:\n  - name: A\n  - name: B\n");
	run(&p, argv);
	assert_int_equal(p.status, 0); /* warnings do not fail */
	assert_true(ts_contains(p.err, "g.yaml:5:11: warning: agent 'B' cannot be reached"));
	assert_true(ts_contains(p.out, ": 2 agents, entry 'A', ok (1 warning)\n"));
	ts_proc_dispose(&p);
	run(&p, quiet);
	assert_int_equal(p.status, 0);
	assert_string_equal(p.err, "");
	ts_proc_dispose(&p);
	ts_rmtree(dir);
	free(f);
	free(dir);
}

static void test_validate_usage(void **state)
{
	static const char *const help[] = { "validate", "--help", NULL };
	static const char *const two[] = { "validate", "a", "b", NULL };
	static const char *const bad[] = { "validate", "--bogus", NULL };
	static const char *const missing[] = { "validate", "/nonexistent/agents", NULL };
	ts_proc p;
	(void)state;
	run(&p, help);
	assert_int_equal(p.status, 0);
	assert_true(ts_contains(p.out, "usage: handoff validate"));
	ts_proc_dispose(&p);
	run(&p, two);
	assert_int_equal(p.status, 2);
	assert_true(ts_contains(p.err, "see 'handoff validate --help'"));
	ts_proc_dispose(&p);
	run(&p, bad);
	assert_int_equal(p.status, 2);
	assert_true(ts_contains(p.err, "unknown option '--bogus'"));
	ts_proc_dispose(&p);
	run(&p, missing);
	assert_int_equal(p.status, 1);
	assert_true(ts_contains(p.err, "/nonexistent/agents"));
	assert_string_equal(p.out, "");
	ts_proc_dispose(&p);
}

static void test_graph_formats(void **state)
{
	static const char *const mermaid[] = { "graph", AGENTS, NULL };
	static const char *const dot[] = { "graph", "--format", "dot", AGENTS, NULL };
	static const char *const json[] = { "graph", AGENTS, "-f", "json", NULL };
	ts_proc p;
	cJSON *root;
	(void)state;
	run(&p, mermaid);
	assert_int_equal(p.status, 0);
	assert_int_equal(strncmp(p.out, "flowchart TD\n", 13), 0);
	assert_true(ts_contains(p.out, "[\"Triage agent\"]:::entry"));
	assert_string_equal(p.err, "");
	ts_proc_dispose(&p);

	run(&p, dot);
	assert_int_equal(p.status, 0);
	assert_int_equal(strncmp(p.out, "digraph G {\n", 12), 0);
	assert_true(ts_contains(p.out, "\"__start__\" -> "));
	ts_proc_dispose(&p);

	run(&p, json);
	assert_int_equal(p.status, 0);
	root = cJSON_Parse(p.out);
	assert_non_null(root);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(root, "entry")), "Triage agent");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(root, "agents")), 3);
	cJSON_Delete(root);
	ts_proc_dispose(&p);
}

static void test_graph_errors(void **state)
{
	static const char *const fmt[] = { "graph", "--format", "png", AGENTS, NULL };
	static const char *const noval[] = { "graph", AGENTS, "--format", NULL };
	static const char *const help[] = { "graph", "--help", NULL };
	char *dir = ts_tmpdir(), *f = ts_path(dir, "bad.yaml");
	const char *invalid[] = { "graph", f, NULL };
	ts_proc p;
	(void)state;
	run(&p, fmt);
	assert_int_equal(p.status, 2);
	assert_true(ts_contains(p.err, "--format takes mermaid, dot or json, not 'png'"));
	assert_string_equal(p.out, "");
	ts_proc_dispose(&p);
	run(&p, noval);
	assert_int_equal(p.status, 2);
	ts_proc_dispose(&p);
	run(&p, help);
	assert_int_equal(p.status, 0);
	assert_true(ts_contains(p.out, "--format"));
	ts_proc_dispose(&p);

	ts_write(f, "name: a\nmodel: m\nhandoffs: [a]\n");
	run(&p, invalid);
	assert_int_equal(p.status, 3);
	assert_true(ts_contains(p.err, "bad.yaml:3:12: error: agent 'a' hands off to itself"));
	assert_string_equal(p.out, "");
	ts_proc_dispose(&p);
	ts_rmtree(dir);
	free(f);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate_default_graph),
		cmocka_unit_test(test_validate_default_path),
		cmocka_unit_test(test_validate_stdin),
		cmocka_unit_test(test_validate_invalid),
		cmocka_unit_test(test_validate_warnings),
		cmocka_unit_test(test_validate_usage),
		cmocka_unit_test(test_graph_formats),
		cmocka_unit_test(test_graph_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

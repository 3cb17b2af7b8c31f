/*
 * test_graph_validate.c - every problem the graph loader reports, each
 * checked for its message and its line:col, and all of them at once.
 */
#include "support.h"

#include "handoff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct loaded {
	int rc;
	hf_graph *g;
	hf_diag *d;
	hf_error err;
	char all[8192]; /* every diagnostic, for failure messages */
} loaded;

static void collect(loaded *l)
{
	size_t i, n = 0;
	l->all[0] = '\0';
	for (i = 0; i < hf_diag_count(l->d) && n < sizeof(l->all); i++)
		n += (size_t)snprintf(l->all + n, sizeof(l->all) - n, "\n  %s", hf_diag_format(l->d, i));
}

static void load_text(loaded *l, const char *yaml, size_t len)
{
	memset(l, 0, sizeof(*l));
	l->rc = hf_graph_load_string(&l->g, yaml, len, "t.yaml", &l->d, &l->err);
	collect(l);
}

static void load(loaded *l, const char *yaml)
{
	load_text(l, yaml, strlen(yaml));
}

static void load_path(loaded *l, const char *path)
{
	memset(l, 0, sizeof(*l));
	l->rc = hf_graph_load(&l->g, path, &l->d, &l->err);
	collect(l);
}

static void dispose(loaded *l)
{
	hf_graph_free(l->g);
	hf_diag_free(l->d);
}

/* The diagnostic whose message is exactly msg (or starts with it, when
 * prefix) has this severity and position. */
static void expect_at(const loaded *l, hf_severity sev, int line, int col, const char *msg,
                      bool prefix)
{
	size_t i;
	for (i = 0; i < hf_diag_count(l->d); i++) {
		const char *m = hf_diag_message(l->d, i);
		if (prefix ? strncmp(m, msg, strlen(msg)) : strcmp(m, msg))
			continue;
		if (hf_diag_severity(l->d, i) != sev || hf_diag_line(l->d, i) != line ||
		    hf_diag_column(l->d, i) != col)
			fail_msg("'%s' is at %d:%d (severity %d), expected %d:%d (%d)", msg,
			         hf_diag_line(l->d, i), hf_diag_column(l->d, i),
			         (int)hf_diag_severity(l->d, i), line, col, (int)sev);
		return;
	}
	fail_msg("no diagnostic '%s'; got:%s", msg, l->all);
}

static void expect_error(const loaded *l, int line, int col, const char *msg)
{
	assert_int_equal(l->rc, HF_ECONFIG);
	assert_null(l->g);
	expect_at(l, HF_SEV_ERROR, line, col, msg, false);
}

static void test_invalid_yaml(void **state)
{
	loaded l;
	(void)state;
	load(&l, "name: a\n  model: m\n");
	assert_int_equal(l.rc, HF_ECONFIG);
	expect_at(&l, HF_SEV_ERROR, 2, 8, "invalid YAML: mapping values are not allowed", true);
	/* the error also comes back in err, with its position */
	assert_true(ts_contains(l.err.message, "t.yaml:2:8: error: invalid YAML"));
	dispose(&l);

	load(&l, "name: a\nmodel: m\ninstructions: [unclosed\n");
	assert_int_equal(l.rc, HF_ECONFIG);
	expect_at(&l, HF_SEV_ERROR, 4, 1, "invalid YAML: did not find expected ',' or ']' "
	                                  "(while parsing a flow sequence at 3:15)", false);
	assert_int_equal(hf_diag_count(l.d), 1); /* no "no agents" on top */
	dispose(&l);
}

static void test_unknown_key(void **state)
{
	loaded l;
	(void)state;
	load(&l, "name: a\nmodel: m\ninstruction: hi\n");
	expect_error(&l, 3, 1, "unknown key 'instruction'; did you mean 'instructions'?");
	dispose(&l);

	load(&l, "name: a\nmodel: m\nsettings:\n  temprature: 1\n  colour: red\n");
	expect_error(&l, 4, 3, "unknown key 'temprature'; did you mean 'temperature'?");
	expect_error(&l, 5, 3, "unknown key 'colour' in settings; the keys are: temperature, "
	                       "top_p, max_tokens, stop, seed, tool_choice, parallel_tool_calls");
	dispose(&l);

	/* agent keys in a graph mapping */
	load(&l, "entry: a\ninstructions: hi\nagents:\n  - name: a\n    model: m\n");
	expect_error(&l, 2, 1, "'instructions' is an agent key; in a graph file, agents go in a "
	                       "list under 'agents:'");
	dispose(&l);
}

static void test_wrong_types(void **state)
{
	loaded l;
	(void)state;
	load(&l, "name: a\n"
	         "model: m\n"
	         "settings:\n"
	         "  temperature: 3\n"
	         "  max_tokens: many\n"
	         "  parallel_tool_calls: \"yes\"\n"
	         "  top_p: -0.1\n"
	         "  stop: {a: b}\n"
	         "  seed: 1.5\n"
	         "handoffs: Spanish agent\n"
	         "handoff_prompt: yes\n"
	         "description: [a, list]\n");
	expect_error(&l, 4, 16, "temperature must be a number from 0 to 2");
	expect_error(&l, 5, 15, "max_tokens must be a whole number from 1 to 2147483647");
	expect_error(&l, 6, 24, "parallel_tool_calls must be true or false");
	expect_error(&l, 7, 10, "top_p must be a number from 0 to 1");
	expect_error(&l, 8, 9, "stop must be text or a list of 1 to 4 texts");
	expect_error(&l, 9, 9, "seed must be a whole number");
	expect_error(&l, 10, 11, "handoffs must be a list of agent names");
	expect_error(&l, 11, 17, "handoff_prompt must be true or false");
	expect_error(&l, 12, 14, "description must be text");
	assert_int_equal(hf_diag_error_count(l.d), 9);
	dispose(&l);

	load(&l, "entry: a\nrouting: fastest\nmax_turns: 0\nmax_retries: 11\n"
	         "base_url: ftp://x\ntimeouts: {timeout: 0}\nagents:\n  - name: a\n    model: m\n");
	expect_error(&l, 2, 10, "routing must be sticky or router");
	expect_error(&l, 3, 12, "max_turns must be a whole number from 1 to 1000");
	expect_error(&l, 4, 14, "max_retries must be a whole number from 0 to 10");
	expect_error(&l, 5, 11, "base_url must start with http:// or https://");
	expect_error(&l, 6, 21, "timeout must be a number of seconds from 0.001 to 86400, or a "
	                       "duration such as 30s or 500ms");
	dispose(&l);

	/* a NUL inside a quoted name */
	load(&l, "name: \"a\\0b\"\nmodel: m\n");
	expect_error(&l, 1, 7, "name must not contain NUL characters");
	dispose(&l);
}

static void test_api_key_env_is_not_echoed(void **state)
{
	loaded l;
	(void)state;
	load(&l, "api_key_env: sk-secret-123\nagents:\n  - name: a\n    model: m\n");
	expect_error(&l, 1, 14, "api_key_env must be the name of an environment variable "
	                        "(letters, digits and _), not the key itself");
	assert_false(ts_contains(l.all, "sk-secret"));
	assert_false(ts_contains(l.err.message, "sk-secret"));
	dispose(&l);
}

static void test_missing_name(void **state)
{
	loaded l;
	(void)state;
	load(&l, "agents:\n  - model: m\n    instructions: hi\n  - name: b\n    model: m\n");
	expect_error(&l, 2, 5, "missing name: every agent needs 'name:'");
	assert_int_equal(hf_diag_error_count(l.d), 1);
	dispose(&l);

	load(&l, "name: \"\"\nmodel: m\n");
	expect_error(&l, 1, 7, "name must not be empty");
	dispose(&l);
}

static void test_no_model(void **state)
{
	loaded l;
	(void)state;
	load(&l, "name: Lone agent\ninstructions: hi\n");
	expect_error(&l, 1, 7, "agent 'Lone agent' has no model and the graph has no default "
	                       "model: set 'model:' in the agent or in the graph file");
	dispose(&l);
}

static void test_duplicate_names(void **state)
{
	loaded l;
	char *dir = ts_path(HF_TEST_DATA, "graphs/dup_across"), *first, *msg;
	(void)state;
	load(&l, "entry: A\nmodel: m\nagents:\n  - name: A\n  - name: B\n    handoffs: [A]\n"
	         "  - name: A\n");
	expect_error(&l, 7, 11, "duplicate agent name 'A' (first defined at t.yaml:4:11)");
	dispose(&l);

	/* across files: the second file is named, the first is mentioned */
	load_path(&l, dir);
	first = ts_path(dir, "a.yaml");
	msg = malloc(strlen(first) + 64);
	sprintf(msg, "duplicate agent name 'Helper' (first defined at %s:1:7)", first);
	expect_error(&l, 2, 7, msg);
	assert_true(ts_contains(hf_diag_file(l.d, 0), "dup_across/b.yaml"));
	dispose(&l);
	free(msg);
	free(first);
	free(dir);
}

static void test_tool_name_collision(void **state)
{
	loaded l;
	(void)state;
	load(&l, "entry: Agent A\nmodel: m\nagents:\n  - name: Agent A\n    handoffs: [agent-a]\n"
	         "  - name: agent-a\n");
	expect_error(&l, 6, 11, "agents 'Agent A' and 'agent-a' both get the handoff tool name "
	                        "'transfer_to_agent_a' ('Agent A' is at t.yaml:4:11); rename one");
	dispose(&l);

	load(&l, "name: this is a very long agent name that goes on and on and on forever\n"
	         "model: m\n");
	expect_error(&l, 1, 7, "agent name 'this is a very long agent name that goes on and on "
	                       "and on forever' gives a handoff tool name over 64 characters");
	dispose(&l);
}

static void test_unknown_handoff(void **state)
{
	loaded l;
	(void)state;
	load(&l, "entry: Triage agent\nmodel: m\nagents:\n"
	         "  - name: Triage agent\n"
	         "    handoffs: [Spanish agent, Englsh agent, Nobody]\n"
	         "  - name: Spanish agent\n"
	         "  - name: English agent\n");
	expect_error(&l, 5, 31, "unknown handoff target 'Englsh agent'; did you mean 'English agent'?");
	expect_error(&l, 5, 45, "unknown handoff target 'Nobody'; no agent has that name");
	dispose(&l);
}

static void test_handoff_to_itself(void **state)
{
	loaded l;
	(void)state;
	load(&l, "name: Loop\nmodel: m\nhandoffs: [Loop]\n");
	expect_error(&l, 3, 12, "agent 'Loop' hands off to itself");
	dispose(&l);

	load(&l, "entry: A\nmodel: m\nagents:\n  - name: A\n    handoffs:\n      - B\n      - B\n"
	         "  - name: B\n");
	expect_error(&l, 7, 9, "handoff 'B' is listed twice");
	dispose(&l);
}

static void test_entry(void **state)
{
	loaded l;
	(void)state;
	load(&l, "model: m\nagents:\n  - name: A\n  - name: B\n");
	expect_error(&l, 1, 1, "2 agents and no entry agent: set 'entry:' in the graph file "
	                       "(handoff.yaml) to the agent that takes the first message");
	dispose(&l);

	load(&l, "entry: Triage\nmodel: m\nagents:\n  - name: Triage agent\n  - name: Other\n"
	         "    handoffs: [Triage agent]\n");
	expect_error(&l, 1, 8, "unknown entry agent 'Triage'; did you mean 'Triage agent'?");
	dispose(&l);

	/* several agent files and no graph file: the whole graph is named */
	load(&l, "name: A\nmodel: m\n---\nname: B\nmodel: m\n");
	expect_error(&l, 0, 0, "2 agents and no entry agent: set 'entry:' in the graph file "
	                       "(handoff.yaml) to the agent that takes the first message");
	dispose(&l);
}

static void test_invalid_utf8(void **state)
{
	loaded l;
	char *path = ts_path(HF_TEST_DATA, "graphs/invalid_utf8.yaml");
	(void)state;
	/* columns count characters: é is one */
	load(&l, "name: a\nmodel: m\ndescription: café \xFF\n");
	expect_error(&l, 3, 19, "invalid UTF-8 (byte 0xFF); files must be UTF-8");
	assert_int_equal(hf_diag_count(l.d), 1);
	dispose(&l);

	load(&l, "name: a\xC3(\n");
	expect_error(&l, 1, 8, "invalid UTF-8 (byte 0xC3); files must be UTF-8");
	dispose(&l);

	load_path(&l, path);
	expect_error(&l, 4, 20, "invalid UTF-8 (byte 0xFF); files must be UTF-8");
	assert_string_equal(hf_diag_file(l.d, 0), path);
	dispose(&l);
	free(path);
}

static void test_empty_graph(void **state)
{
	loaded l;
	char *dir = ts_tmpdir();
	(void)state;
	load(&l, "");
	expect_error(&l, 0, 0, "no agents: add agent files (*.yaml) or a list under 'agents:'");
	expect_at(&l, HF_SEV_WARNING, 0, 0, "file is empty", false);
	dispose(&l);

	load(&l, "model: m\nagents: []\n");
	expect_error(&l, 0, 0, "no agents: add agent files (*.yaml) or a list under 'agents:'");
	dispose(&l);

	load_path(&l, dir); /* a directory without YAML files */
	expect_error(&l, 0, 0, "no agents: add agent files (*.yaml) or a list under 'agents:'");
	assert_string_equal(hf_diag_file(l.d, 0), dir);
	dispose(&l);
	ts_rmtree(dir);
	free(dir);
}

static void test_size_limit(void **state)
{
	loaded l;
	size_t n = 1024 * 1024 + 1;
	char *big = malloc(n + 1), *dir = ts_tmpdir(), *path = ts_path(dir, "big.yaml");
	(void)state;
	memset(big, '#', n);
	big[n] = '\0';
	load_text(&l, big, n);
	expect_error(&l, 0, 0, "file is over the size limit of 1 MiB (1048576 bytes)");
	dispose(&l);

	ts_write(path, big);
	load_path(&l, dir);
	expect_error(&l, 0, 0, "file is over the size limit of 1 MiB (1048576 bytes)");
	assert_string_equal(hf_diag_file(l.d, 0), path);
	dispose(&l);

	big[n - 1] = '\0'; /* exactly 1 MiB of comment: allowed, merely empty */
	load_text(&l, big, n - 1);
	expect_error(&l, 0, 0, "no agents: add agent files (*.yaml) or a list under 'agents:'");
	dispose(&l);
	ts_rmtree(dir);
	free(path);
	free(dir);
	free(big);
}

static void test_hostile_yaml(void **state)
{
	loaded l;
	char deep[128] = "a: ";
	(void)state;
	memset(deep + 3, '[', 40);
	memset(deep + 43, ']', 40);
	load(&l, deep);
	/* the root mapping and 31 lists fit; the 32nd list is one too deep */
	expect_error(&l, 1, 35, "nesting deeper than 32 levels");
	dispose(&l);

	/* a billion laughs: 10^7 nodes from a few hundred bytes */
	load(&l, "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	         "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	         "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	         "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	         "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
	         "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
	         "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n");
	expect_error(&l, 6, 4, "aliases expand this document to over 1000000 nodes");
	dispose(&l);

	load(&l, "name: a\nmodel: m\nsettings: *nothing\n");
	expect_error(&l, 3, 11, "alias '*nothing' has no complete anchor before it");
	dispose(&l);

	load(&l, "- name: a\n  model: m\n");
	expect_error(&l, 1, 1, "a file must hold a mapping: one agent, or graph keys with 'agents:'");
	dispose(&l);
}

static void test_duplicate_keys(void **state)
{
	loaded l;
	(void)state;
	load(&l, "name: a\nmodel: m\nmodel: n\nsettings: {seed: 1, seed: 2}\n");
	expect_error(&l, 3, 1, "duplicate key 'model' (first at 2:1)");
	expect_error(&l, 4, 21, "duplicate key 'seed' (first at 4:12)");
	dispose(&l);

	/* graph keys may be set once in the whole graph */
	load(&l, "entry: a\nagents:\n  - name: a\n    model: m\n---\nentry: b\n");
	expect_error(&l, 6, 8, "'entry' is already set at t.yaml:1:8");
	dispose(&l);
}

static void test_tool_choice(void **state)
{
	loaded l;
	(void)state;
	load(&l, "name: a\nmodel: m\nsettings:\n  tool_choice: required\n");
	expect_error(&l, 4, 16, "tool_choice: required needs at least one handoff");
	dispose(&l);

	load(&l, "entry: a\nmodel: m\nagents:\n  - name: a\n    handoffs: [b]\n"
	         "    settings: {tool_choice: c}\n  - name: b\n  - name: c\n");
	expect_error(&l, 6, 29, "tool_choice must be auto, required, none or one of this agent's "
	                        "handoffs, not 'c'");
	dispose(&l);
}

static void test_unreachable_is_a_warning(void **state)
{
	loaded l;
	(void)state;
	load(&l, "entry: A\nmodel: m\nagents:\n  - name: A\n  - name: B\n");
	assert_int_equal(l.rc, HF_OK);
	assert_non_null(l.g);
	assert_int_equal(hf_diag_error_count(l.d), 0);
	assert_int_equal(hf_diag_count(l.d), 1);
	expect_at(&l, HF_SEV_WARNING, 5, 11, "agent 'B' cannot be reached from the entry agent 'A'",
	          false);
	assert_string_equal(hf_diag_format(l.d, 0),
	                    "t.yaml:5:11: warning: agent 'B' cannot be reached from the entry agent 'A'");
	dispose(&l);
}

static void test_all_problems_at_once(void **state)
{
	loaded l;
	size_t i;
	(void)state;
	load(&l, "entry: Router\n"
	         "agents:\n"
	         "  - name: Router\n"
	         "    instruction: route\n"
	         "    handoffs: [Helpr]\n"
	         "    settings: {temperature: hot}\n"
	         "  - name: Helper\n"
	         "    model: m\n");
	assert_int_equal(l.rc, HF_ECONFIG);
	assert_int_equal(hf_diag_error_count(l.d), 4);
	expect_error(&l, 3, 11, "agent 'Router' has no model and the graph has no default model: "
	                        "set 'model:' in the agent or in the graph file");
	expect_error(&l, 4, 5, "unknown key 'instruction'; did you mean 'instructions'?");
	expect_error(&l, 5, 16, "unknown handoff target 'Helpr'; did you mean 'Helper'?");
	expect_error(&l, 6, 29, "temperature must be a number from 0 to 2");
	/* sorted by position; err holds the first and the count of the rest */
	for (i = 1; i < hf_diag_count(l.d); i++)
		assert_true(hf_diag_line(l.d, i - 1) <= hf_diag_line(l.d, i));
	assert_string_equal(l.err.message,
	                    "t.yaml:3:11: error: agent 'Router' has no model and the graph has no "
	                    "default model: set 'model:' in the agent or in the graph file "
	                    "(and 3 more errors)");
	dispose(&l);
}

static void test_missing_path(void **state)
{
	hf_graph *g = NULL;
	hf_diag *d = NULL;
	hf_error err;
	(void)state;
	assert_int_equal(hf_graph_load(&g, "/nonexistent/agents", &d, &err), HF_ENOTFOUND);
	assert_null(g);
	assert_true(ts_contains(err.message, "/nonexistent/agents"));
	hf_diag_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_yaml),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_api_key_env_is_not_echoed),
		cmocka_unit_test(test_missing_name),
		cmocka_unit_test(test_no_model),
		cmocka_unit_test(test_duplicate_names),
		cmocka_unit_test(test_tool_name_collision),
		cmocka_unit_test(test_unknown_handoff),
		cmocka_unit_test(test_handoff_to_itself),
		cmocka_unit_test(test_entry),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_empty_graph),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_hostile_yaml),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_tool_choice),
		cmocka_unit_test(test_unreachable_is_a_warning),
		cmocka_unit_test(test_all_problems_at_once),
		cmocka_unit_test(test_missing_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_graph_validate.c - every problem the graph loader reports, each
 * checked for its message and its line:col, and all of them at once.
 */
#include "support.h"

#include "handoff.h"

#include <stdint.h>
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

/* A diagnostic whose message is exactly msg (or starts with it, when
 * prefix) has this severity and position. */
static void expect_at(const loaded *l, hf_severity sev, int line, int col, const char *msg,
                      bool prefix)
{
	size_t i, first = SIZE_MAX;
	for (i = 0; i < hf_diag_count(l->d); i++) {
		const char *m = hf_diag_message(l->d, i);
		if (prefix ? strncmp(m, msg, strlen(msg)) : strcmp(m, msg))
			continue;
		if (hf_diag_severity(l->d, i) == sev && hf_diag_line(l->d, i) == line &&
		    hf_diag_column(l->d, i) == col)
			return;
		if (first == SIZE_MAX)
			first = i;
	}
	if (first != SIZE_MAX)
		fail_msg("'%s' is at %d:%d (severity %d), expected %d:%d (%d)", msg,
		         hf_diag_line(l->d, first), hf_diag_column(l->d, first),
		         (int)hf_diag_severity(l->d, first), line, col, (int)sev);
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

static void test_mcp_server_errors(void **state)
{
	loaded l;
	(void)state;
	load(&l, "mcp_servers:\n"
	         "  both: {command: x, url: \"http://h/mcp\"}\n"
	         "  neither: {args: [a]}\n"
	         "  \"bad.name\": {command: x}\n"
	         "  web: {url: \"ftp://h\", args: [a], env: {A: b}, cwd: /x}\n"
	         "  cmd: {command: \"\", headers: {X-A: b}, timeout: 0, allow: [ok, \"no.t\"], deny: nope}\n"
	         "  env1: {command: x, env: {1A: b, B: [c], C: d, C: e}, args: {a: b}, timeout: 2d}\n"
	         "  hdr: {url: \"https://h\", headers: {\"Bad Name\": x, X: \"a\\nb\", x: y}}\n"
	         "  notmap: x\n"
	         "  both: {command: y}\n"
	         "  cwd0: {command: x, cwd: \"\", colour: red}\n"
	         "tool_errors: sometimes\n"
	         "agents:\n  - name: a\n    model: m\n");
	expect_error(&l, 2, 27, "MCP server 'both' has both command and url; give one: command "
	                        "runs a program (stdio), url is a Streamable HTTP endpoint");
	expect_error(&l, 3, 3, "MCP server 'neither' needs command (a program to run, over stdio) "
	                       "or url (a Streamable HTTP endpoint)");
	expect_error(&l, 4, 3, "MCP server name 'bad.name' must be 1 to 64 letters, digits, _ or -");
	expect_error(&l, 5, 14, "url must start with http:// or https://");
	expect_error(&l, 5, 31, "args is for command (stdio) servers; MCP server 'web' has a url");
	expect_error(&l, 5, 41, "env is for command (stdio) servers; MCP server 'web' has a url");
	expect_error(&l, 5, 54, "cwd is for command (stdio) servers; MCP server 'web' has a url");
	expect_error(&l, 6, 18, "command must not be empty");
	expect_error(&l, 6, 31, "headers is for url (HTTP) servers; MCP server 'cmd' has a command");
	expect_error(&l, 6, 50, "timeout must be a number of seconds from 0.001 to 86400, or a "
	                        "duration such as 30s or 500ms");
	expect_error(&l, 6, 65, "tool name 'no.t' in allow must be 1 to 64 letters, digits, _ or -");
	expect_error(&l, 6, 80, "deny must be a list of tool names");
	expect_error(&l, 7, 28, "env: each name must be an environment variable's (letters, "
	                        "digits and _, not starting with a digit)");
	expect_error(&l, 7, 38, "env 'B': the value must be text");
	expect_error(&l, 7, 49, "variable 'C' is set twice (first at 7:43)");
	expect_error(&l, 7, 62, "args must be a list of texts");
	expect_error(&l, 7, 79, "timeout must be a number of seconds from 0.001 to 86400, or a "
	                        "duration such as 30s or 500ms");
	expect_error(&l, 8, 37, "headers: each name must be a header's (letters, digits and "
	                        "!#$%&'*+-.^_`|~)");
	expect_error(&l, 8, 55, "headers 'X': the value must not contain control characters");
	expect_error(&l, 8, 63, "header 'x' is set twice (first at 8:52)");
	expect_error(&l, 9, 11, "MCP server 'notmap' must be a mapping (command or url, args, "
	                        "env, ...)");
	expect_error(&l, 10, 3, "duplicate MCP server 'both' (first at 2:3)");
	expect_error(&l, 11, 27, "cwd must not be empty");
	expect_error(&l, 11, 31, "unknown key 'colour' in an MCP server; the keys are: command, "
	                         "args, env, cwd, timeout, url, headers, allow, deny");
	expect_error(&l, 12, 14, "tool_errors must be tell_model or fail");
	assert_int_equal(hf_diag_error_count(l.d), 25);
	dispose(&l);

	load(&l, "mcp_servers: [files]\nagents:\n  - name: a\n    model: m\n");
	expect_error(&l, 1, 14, "mcp_servers must be a mapping of server names to their settings "
	                        "(command or url, ...)");
	dispose(&l);

	/* set once in the whole graph */
	load(&l, "mcp_servers: {}\ntool_errors: fail\nagents:\n  - name: a\n    model: m\n"
	         "---\nmcp_servers: {}\ntool_errors: fail\n");
	expect_error(&l, 7, 14, "'mcp_servers' is already set at t.yaml:1:14");
	expect_error(&l, 8, 14, "'tool_errors' is already set at t.yaml:2:14");
	dispose(&l);
}

/* env and header values may be secrets: no message shows one. */
static void test_mcp_values_not_echoed(void **state)
{
	loaded l;
	(void)state;
	load(&l, "mcp_servers:\n"
	         "  a: {command: x, env: {TOKEN: [sk-secret-1], TOKEN: sk-secret-2}}\n"
	         "  b: {url: \"http://h\", headers: {X: \"sk-secret-3\\r\\n\", x: sk-secret-4}}\n"
	         "agents:\n  - name: a\n    model: m\n");
	assert_int_equal(hf_diag_error_count(l.d), 4);
	assert_false(ts_contains(l.all, "sk-secret"));
	assert_false(ts_contains(l.err.message, "sk-secret"));
	dispose(&l);
}

static void test_agent_tools_errors(void **state)
{
	loaded l;
	(void)state;
	load(&l, "mcp_servers: {files: {command: x}, other: {command: y}}\n"
	         "name: a\n"
	         "model: m\n"
	         "tools: [files.read, \"bad name\", \"x.y.z\", \".t\", \"s.\", [l], \"\", lookup, "
	         "lookup, files.*, other.read]\n"
	         "tool_use: {stop_at: [files.read, \"a b\", [x]], stopat: 1}\n");
	/* a graph file's keys and an agent's in one mapping: read as a graph file */
	expect_error(&l, 2, 1, "'name' is an agent key; in a graph file, agents go in a list "
	                       "under 'agents:'");
	dispose(&l);

	load(&l, "mcp_servers: {files: {command: x}, other: {command: y}}\n"
	         "agents:\n"
	         "  - name: a\n"
	         "    model: m\n"
	         "    tools: [files.read, \"bad name\", \"x.y.z\", \".t\", \"s.\", [l], \"\", lookup, "
	         "lookup, files.*, other.read]\n"
	         "    tool_use: {stop_at: [files.read, \"a b\", [x]], stopat: 1}\n");
	expect_error(&l, 5, 25, "tool name 'bad name' must be 1 to 64 letters, digits, _ or -");
	expect_error(&l, 5, 37, "tool name 'y.z' in 'x.y.z' must be 1 to 64 letters, digits, _ or "
	                        "-, or * for all the server's tools");
	expect_error(&l, 5, 46, "MCP server name '' in '.t' must be 1 to 64 letters, digits, _ or -");
	expect_error(&l, 5, 52, "tool name '' in 's.' must be 1 to 64 letters, digits, _ or -, or "
	                        "* for all the server's tools");
	expect_error(&l, 5, 58, "each tool must be a name: SERVER.TOOL, SERVER.* or a C tool's name");
	expect_error(&l, 5, 63, "each tool must be a name: SERVER.TOOL, SERVER.* or a C tool's name");
	expect_error(&l, 5, 75, "tool 'lookup' is listed twice (first at 5:67)");
	expect_error(&l, 5, 83, "tools 'files.*' and 'files.read' (at 5:13) both offer "
	                        "'files.read'; list one or the other");
	expect_error(&l, 5, 92, "tools 'files.read' (at 5:13) and 'other.read' both give the model "
	                        "a tool named 'read'; an agent's tools need distinct names");
	expect_error(&l, 6, 26, "stop_at names tools as the model sees them: 'read', not "
	                        "'files.read'");
	expect_error(&l, 6, 38, "tool name 'a b' in stop_at must be 1 to 64 letters, digits, _ or -");
	expect_error(&l, 6, 45, "each entry of stop_at must be a tool name");
	expect_error(&l, 6, 51, "unknown key 'stopat'; did you mean 'stop_at'?");
	assert_int_equal(hf_diag_error_count(l.d), 13);
	dispose(&l);

	load(&l, "name: b\nmodel: m\ntools: files\ntool_use: sometimes\n");
	expect_error(&l, 3, 8, "tools must be a list of tool names: SERVER.TOOL, SERVER.* or a C "
	                       "tool's name");
	expect_error(&l, 4, 11, "tool_use must be run_llm_again, stop_on_first_tool or {stop_at: "
	                        "[tool names]}");
	dispose(&l);

	load(&l, "name: c\nmodel: m\ntools: [cb1]\ntool_use: {stop_at: []}\n---\n"
	         "name: e\nmodel: m\ntool_use: {}\n");
	expect_error(&l, 4, 21, "stop_at must be a list of 1 to 128 tool names");
	expect_error(&l, 8, 11, "tool_use needs stop_at: a list of tool names");
	dispose(&l);
}

static void test_agent_tools_limits(void **state)
{
	loaded l;
	char *yaml = malloc(64 + 129 * 8 + 2048), *p = yaml;
	int i;
	(void)state;
	p += sprintf(p, "name: a\nmodel: m\ntools: [");
	for (i = 0; i < 129; i++)
		p += sprintf(p, "%st%d", i ? ", " : "", i);
	strcpy(p, "]\n");
	load(&l, yaml);
	expect_error(&l, 3, 8, "tools lists 129 tools; the limit is 128");
	dispose(&l);

	/* 65 characters: too long; over 1024 bytes: not echoed */
	sprintf(yaml, "name: a\nmodel: m\ntools: [%065d]\n", 0);
	load(&l, yaml);
	expect_error(&l, 3, 9, "tool name '"
	                       "00000000000000000000000000000000000000000000000000000000000000000"
	                       "' must be 1 to 64 letters, digits, _ or -");
	dispose(&l);
	p = yaml + sprintf(yaml, "name: a\nmodel: m\ntools: [");
	memset(p, 'x', 1025);
	strcpy(p + 1025, "]\n");
	load(&l, yaml);
	expect_error(&l, 3, 9, "a tool name of 1025 bytes; names are at most 64 characters");
	dispose(&l);
	free(yaml);
}

static void test_tools_link_errors(void **state)
{
	loaded l;
	(void)state;
	/* a single agent file with no graph file: no server is declared */
	load(&l, "name: a\nmodel: m\ntools: [lookup, files.read]\n");
	expect_error(&l, 3, 17, "unknown MCP server 'files' (in 'files.read'); declare it under "
	                        "'mcp_servers:' in the graph file (handoff.yaml)");
	assert_int_equal(hf_diag_error_count(l.d), 1); /* nothing for the bare name */
	dispose(&l);

	load(&l, "entry: A\nmodel: m\n"
	         "mcp_servers: {files: {command: x}, remote: {url: \"http://h\"}}\n"
	         "agents:\n"
	         "  - name: A\n"
	         "    handoffs: [B]\n"
	         "    tools: [fils.read, zzz.write, transfer_to_b, files.transfer_to_b, lookup]\n"
	         "    tool_use: {stop_at: [lookp, transfer_to_b, zebra, lookup]}\n"
	         "  - name: B\n"
	         "    tool_use: {stop_at: [lookup]}\n"
	         "  - name: C\n"
	         "    handoffs: [A]\n"
	         "    tools: [remote.*, cb]\n"
	         "    tool_use: {stop_at: [anything]}\n");
	expect_error(&l, 7, 13, "unknown MCP server 'fils' (in 'fils.read'); did you mean 'files'?");
	expect_error(&l, 7, 24, "unknown MCP server 'zzz' (in 'zzz.write'); no server under "
	                        "'mcp_servers:' has that name");
	expect_error(&l, 7, 35, "tool 'transfer_to_b' has the name of the handoff tool "
	                        "'transfer_to_b' (the handoff to 'B'); the model could not tell "
	                        "them apart: rename one");
	expect_error(&l, 7, 50, "tools 'transfer_to_b' (at 7:35) and 'files.transfer_to_b' both "
	                        "give the model a tool named 'transfer_to_b'; an agent's tools need "
	                        "distinct names");
	expect_error(&l, 8, 26, "stop_at names 'lookp', which is not a tool of agent 'A'; did you "
	                        "mean 'lookup'?");
	expect_error(&l, 8, 48, "stop_at names 'zebra', which is not a tool of agent 'A'");
	expect_error(&l, 10, 26, "stop_at names 'lookup', but agent 'B' has no tools");
	/* transfer_to_b in stop_at is a tool's name; C's SERVER.* may offer 'anything' */
	assert_int_equal(hf_diag_error_count(l.d), 7);
	dispose(&l);

	load(&l, "name: a\nmodel: m\ntools: [lookup]\nsettings: {tool_choice: lokup}\n");
	expect_error(&l, 4, 25, "tool_choice must be auto, required, none or one of this agent's "
	                        "handoffs or tools, not 'lokup'");
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
		cmocka_unit_test(test_mcp_server_errors),
		cmocka_unit_test(test_mcp_values_not_echoed),
		cmocka_unit_test(test_agent_tools_errors),
		cmocka_unit_test(test_agent_tools_limits),
		cmocka_unit_test(test_tools_link_errors),
		cmocka_unit_test(test_missing_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

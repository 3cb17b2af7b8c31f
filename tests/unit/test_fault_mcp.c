/*
 * test_fault_mcp.c - MCP servers that misbehave, through the whole tool
 * loop (hf_run with a SQLite store against the mock, whose model calls the
 * tool the user's message names) and through `handoff run`: what the model
 * is told, the turn's error under `tool_errors: fail` (nothing stored),
 * the command's exit status. Every failure names the server and the tool;
 * none hangs past the tool's timeout; a server that died serves the next
 * turn again. The server is tests/mcp_test_server in its misbehaving
 * modes. The README's "MCP servers" fault table is this table;
 * `test_fault_mcp --table` prints it, and the test checks the README
 * holds it.
 */
#include "support.h"

#include "handoff.h"
#include "mock.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SDK_PREFIX "An error occurred while running the tool. Please try again. Error: "
#define TIMEOUT "300ms"

typedef struct row {
	const char *what;    /* as the README says it */
	const char *mode;    /* mcp_test_server's argument */
	const char *input;   /* the user's message: names the tool */
	const char *told;    /* the tool message's text (exact), after SDK_PREFIX when wrapped;
	                      * start_code: the error after "server 'probe': COMMAND" */
	bool wrapped;        /* told with the SDK's error wording (handoff's own error) */
	bool tool_error;     /* the TOOL_RESULT event reports a failure */
	int fail_code;       /* the turn's code under tool_errors: fail */
	int start_code;      /* non-zero: hf_tools_start fails with it (no turn runs) */
} row;

static const row rows[] = {
	{ "exits during the call", "--exit-on-call", "probe.echo {\"text\": \"crash\"}",
	  "server 'probe' exited (status 3) during tool 'echo'", true, true, HF_ETOOLFAIL, 0 },
	{ "never answers (past `timeout: 300ms`)", "--never-answer", "probe.echo {\"text\": \"hi\"}",
	  "server 'probe' tool 'echo': timed out after 300 ms", true, true, HF_ETOOLFAIL, 0 },
	{ "a line that is not JSON before the answer", "--garbage", "probe.echo {\"text\": \"hi\"}",
	  "hi", false, false, HF_OK, 0 },
	{ "an answer whose result is not an object", "--bad-answer", "probe.echo {\"text\": \"hi\"}",
	  "server 'probe' tool 'echo': the answer's result is not an object", true, true, HF_ETOOLFAIL,
	  0 },
	{ "a 5 MB line (over the 4 MiB message limit)", "--long-line=5000000",
	  "probe.echo {\"text\": \"hi\"}",
	  "server 'probe' tool 'echo': the server sent a message over the 4194304-byte limit "
	  "(max_message); it is restarted",
	  true, true, HF_ETOOLFAIL, 0 },
	{ "a 10 MB result", "--big-result", "probe.echo {\"text\": \"hi\"}",
	  "server 'probe' tool 'echo': the server sent a message over the 4194304-byte limit "
	  "(max_message); it is restarted",
	  true, true, HF_ETOOLFAIL, 0 },
	{ "an answer to an unknown id before the answer", "--unknown-id",
	  "probe.echo {\"text\": \"hi\"}", "hi", false, false, HF_OK, 0 },
	{ "an `isError: true` result", NULL, "probe.fail", "the tool failed on purpose", false, true,
	  HF_ETOOLFAIL, 0 },
	{ "cannot start (exits at once)", "--fail-start", "probe.echo {\"text\": \"hi\"}",
	  " exited (status 1): no configuration found", false,
	  false, HF_ENET, HF_ENET },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

static hf_mock *mock;
static char v1[128];
static char *dir;

/* The graph of a row in dir/<i>-<fail|tell>/handoff.yaml with the tool
 * timeout `timeout`; owned path. */
static char *write_graph_timeout(size_t i, bool fail, const char *timeout)
{
	char name[32], *gdir, *path, *yaml;
	snprintf(name, sizeof(name), "%zu-%s", i, fail ? "fail" : "tell");
	gdir = ts_path(dir, name);
	mkdir(gdir, 0700);
	path = ts_path(gdir, "handoff.yaml");
	yaml = hf_asprintf("entry: Support\nmodel: m\n%s"
	                   "mcp_servers:\n  probe:\n    command: %s\n    args: [%s]\n"
	                   "    timeout: %s\n"
	                   "agents:\n  - name: Support\n    instructions: s\n"
	                   "    tools: [probe.*]\n",
	                   fail ? "tool_errors: fail\n" : "", HF_MCP_TEST_SERVER,
	                   rows[i].mode ? rows[i].mode : "", timeout);
	ts_write(path, yaml);
	free(yaml);
	free(path);
	return gdir;
}

/* Only the row that waits for the timeout has a short one: the others
 * must not depend on how fast the machine is. */
static char *write_graph(size_t i, bool fail)
{
	return write_graph_timeout(i, fail, !strcmp(rows[i].mode ? rows[i].mode : "",
	                                            "--never-answer") ? TIMEOUT : "30s");
}

static char *told_text(const row *r)
{
	return hf_asprintf("%s%s", r->wrapped ? SDK_PREFIX : "", r->told);
}

/* The content of the last tool message of the last request the mock saw
 * (owned), or NULL. */
static char *last_tool_message(void)
{
	size_t n = hf_mock_log_count(mock);
	char *text = n ? hf_mock_log_get(mock, n - 1) : NULL, *out = NULL;
	cJSON *entry = cJSON_Parse(text), *m;
	cJSON_ArrayForEach(m, cJSON_GetObjectItem(cJSON_GetObjectItem(entry, "body"), "messages")) {
		const char *role = cJSON_GetStringValue(cJSON_GetObjectItem(m, "role"));
		const char *content = cJSON_GetStringValue(cJSON_GetObjectItem(m, "content"));
		if (role && !strcmp(role, "tool") && content) {
			free(out);
			out = strdup(content);
		}
	}
	cJSON_Delete(entry);
	hf_free(text);
	return out;
}

typedef struct seen {
	int results, errors;
} seen;

static int on_event(const hf_event *ev, void *payload)
{
	seen *s = payload;
	if (ev->type == HF_EVENT_TOOL_RESULT) {
		s->results++;
		s->errors += ev->tool_error != 0;
		assert_string_equal(ev->tool_origin, "probe");
	}
	return 0;
}

/* One row in one mode through hf_run. */
static void run_row(size_t i, bool fail)
{
	const row *r = &rows[i];
	hf_client_options co = HF_CLIENT_OPTIONS_INIT;
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	char *gdir = write_graph(i, fail), *db = ts_path(gdir, "s.db"), *answer = NULL;
	char *told = told_text(r), *got;
	hf_graph *g;
	hf_tools *ts;
	hf_client *c;
	hf_store *st;
	hf_session *s, *loaded;
	hf_error err;
	seen sn = { 0 };
	int rc, expect = fail ? r->fail_code : HF_OK;

	if (hf_graph_load(&g, gdir, NULL, &err))
		fail_msg("graph: %s", err.message);
	assert_int_equal(hf_tools_new(&ts, g, NULL, &err), HF_OK);
	rc = hf_tools_start(ts, NULL, &err);
	if (r->start_code) {
		/* before any model call: the error names the server and its cause */
		if (rc != r->start_code)
			fail_msg("%s: hf_tools_start gave %s (%s)", r->what, hf_code_name(rc), err.message);
		got = hf_asprintf("server 'probe': %s%s", HF_MCP_TEST_SERVER, r->told);
		assert_string_equal(err.message, got);
		free(got);
		goto out;
	}
	if (rc)
		fail_msg("%s: hf_tools_start: %s", r->what, err.message);
	co.base_url = v1;
	co.max_retries = 0;
	assert_int_equal(hf_client_new(&c, &co, NULL, &err), HF_OK);
	assert_int_equal(hf_store_open_sqlite(&st, db, &err), HF_OK);
	assert_int_equal(hf_session_new(&s, "fault", &err), HF_OK);
	ro.tools = ts;
	ro.on_event = on_event;
	ro.payload = &sn;
	hf_mock_reset(mock);
	hf_mock_log_clear(mock);
	rc = hf_run(&answer, c, g, s, st, r->input, &ro, &err);
	if (rc != expect)
		fail_msg("%s (%s): got %s (%s), expected %s", r->what, fail ? "fail" : "tell",
		         hf_code_name(rc), rc ? err.message : answer, hf_code_name(expect));
	/* a failure under tool_errors: fail ends the turn without its result */
	if (sn.results != (rc ? 0 : 1) || sn.errors != (rc ? 0 : (int)r->tool_error))
		fail_msg("%s (%s): %d tool_result events, %d errors", r->what, fail ? "fail" : "tell",
		         sn.results, sn.errors);
	if (rc == HF_OK) {
		/* the model was told, in the request after the call */
		got = last_tool_message();
		if (!got || strcmp(got, told))
			fail_msg("%s: the model was told '%s', expected '%s'", r->what, got, told);
		free(got);
		assert_true(!strncmp(answer, "The tool ", 9));
		assert_int_equal(hf_session_message_count(s), 4);
		assert_int_equal(hf_store_load(&loaded, st, "fault", &err), HF_OK);
		assert_int_equal(hf_session_message_count(loaded), 4);
		hf_session_free(loaded);
	} else {
		/* the turn failed naming tool and server; nothing was stored */
		char *words = hf_asprintf("tool 'probe.%s' of agent 'Support' failed (tool_errors: "
		                          "fail): %s", strstr(r->input, "fail") ? "fail" : "echo",
		                          r->told);
		if (!ts_contains(err.message, words))
			fail_msg("%s: the error '%s' does not say '%s'", r->what, err.message, words);
		free(words);
		assert_int_equal(hf_session_message_count(s), 0);
		assert_int_equal(hf_store_load(&loaded, st, "fault", &err), HF_ENOTFOUND);
		/* only the call that failed was made */
		assert_int_equal(hf_mock_log_count(mock), 1);
	}
	hf_free(answer);
	hf_session_free(s);
	hf_store_free(st);
	hf_client_free(c);
out:
	hf_tools_free(ts);
	hf_graph_free(g);
	free(told);
	free(db);
	free(gdir);
}

static void matrix(void **state)
{
	(void)state;
	for (size_t i = 0; i < NROWS; i++) {
		run_row(i, false);
		run_row(i, true);
	}
}

/* A server that exited is restarted (after 0.5 s: a call meanwhile waits
 * for it, within its timeout): the next turn's call works. */
static void restarted_after_exit(void **state)
{
	hf_client_options co = HF_CLIENT_OPTIONS_INIT;
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	char *gdir = write_graph_timeout(0, false, "30s"), *answer;
	hf_graph *g;
	hf_tools *ts;
	hf_client *c;
	hf_session *s;
	hf_error err;
	(void)state;
	assert_int_equal(hf_graph_load(&g, gdir, NULL, &err), HF_OK);
	assert_int_equal(hf_tools_new(&ts, g, NULL, &err), HF_OK);
	assert_int_equal(hf_tools_start(ts, NULL, &err), HF_OK);
	co.base_url = v1;
	assert_int_equal(hf_client_new(&c, &co, NULL, &err), HF_OK);
	assert_int_equal(hf_session_new(&s, NULL, &err), HF_OK);
	ro.tools = ts;
	assert_int_equal(hf_run(&answer, c, g, s, NULL, rows[0].input, &ro, &err), HF_OK);
	assert_true(ts_contains(answer, "exited (status 3) during tool 'echo'"));
	hf_free(answer);
	if (hf_run(&answer, c, g, s, NULL, "probe.echo {\"text\": \"back again\"}", &ro, &err))
		fail_msg("second turn: %s", err.message);
	assert_string_equal(answer, "The tool echo returned: back again");
	hf_free(answer);
	hf_session_free(s);
	hf_client_free(c);
	hf_tools_free(ts);
	hf_graph_free(g);
	free(gdir);
}

static int cli_status(size_t i, bool fail, char **err_out)
{
	char *gdir = write_graph(i, fail), *base = hf_asprintf("HANDOFF_BASE_URL=%s", v1);
	const char *env[] = { base, NULL };
	const char *argv[] = { "run", "--no-store", gdir, rows[i].input, NULL };
	ts_proc p;
	int st;
	ts_run_cli(&p, NULL, env, argv);
	st = p.status;
	*err_out = strdup(p.err);
	ts_proc_dispose(&p);
	free(base);
	free(gdir);
	return st;
}

/* The command's exit status for a code (README, "Using the command"). */
static int exit_of(int code)
{
	return code == HF_OK ? 0 : code == HF_ENET ? 5 : code == HF_ETOOLFAIL ? 6 : -1;
}

/* The same through `handoff run`: its exit status, and stderr naming
 * server and tool (the tool line, or the error). */
static void cli_exit_statuses(void **state)
{
	(void)state;
	for (size_t i = 0; i < NROWS; i++) {
		for (int fail = 0; fail <= 1; fail++) {
			const row *r = &rows[i];
			char *err;
			int expect = exit_of(r->start_code ? r->start_code : fail ? r->fail_code : HF_OK);
			int st = cli_status(i, fail, &err);
			if (st != expect)
				fail_msg("%s (%s): exit %d, expected %d; stderr: %s", r->what,
				         fail ? "fail" : "tell", st, expect, err);
			assert_true(ts_contains(err, "probe"));
			if (!r->start_code && !(fail && r->fail_code))
				assert_true(ts_contains(err, "[Support] probe."));
			free(err);
		}
	}
}

/* ---- the table ---- */

/* Row i of the README's table (owned). */
static char *table_row(size_t i)
{
	const row *r = &rows[i];
	char *tell, *fail, *line;
	int tell_exit = exit_of(r->start_code ? r->start_code : HF_OK);
	int fail_exit = exit_of(r->start_code ? r->start_code : r->fail_code);
	if (r->start_code)
		tell = hf_asprintf("no model call: `server 'probe': COMMAND%s` (%s)", r->told,
		                   hf_code_name(r->start_code));
	else
		tell = hf_asprintf("`%s%s`%s", r->wrapped ? "… Error: " : "", r->told,
		                   r->tool_error ? " (an error)" : "");
	if (r->start_code)
		fail = strdup("the same");
	else if (r->fail_code)
		fail = hf_asprintf("%s, nothing stored", hf_code_name(r->fail_code));
	else
		fail = strdup("succeeds");
	line = hf_asprintf("| %s | %s | %s | %d / %d |", r->what, tell, fail, tell_exit, fail_exit);
	free(tell);
	free(fail);
	return line;
}

static const char table_head[] =
	"| the MCP server | the model is told | with `tool_errors: fail` | exit |\n"
	"|---|---|---|---|";

static void print_table(void)
{
	puts(table_head);
	for (size_t i = 0; i < NROWS; i++) {
		char *line = table_row(i);
		puts(line);
		free(line);
	}
}

/* The README holds exactly this table. */
static void readme_has_table(void **state)
{
	size_t len;
	char *readme = ts_read(HF_SOURCE_DIR "/README.md", &len);
	(void)state;
	assert_non_null(readme);
	assert_true(ts_contains(readme, table_head));
	for (size_t i = 0; i < NROWS; i++) {
		char *line = table_row(i), *nl = hf_asprintf("\n%s\n", line);
		if (!ts_contains(readme, nl))
			fail_msg("README.md lacks the row (run test_fault_mcp --table):\n%s", line);
		free(nl);
		free(line);
	}
	free(readme);
}

static int setup(void **state)
{
	hf_error err;
	(void)state;
	if (hf_global_init(&err))
		return -1;
	hf_mock_options mo = { .host = "127.0.0.1", .threads = 2, .log_memory = 1 };
	if (hf_mock_start(&mock, &mo, &err))
		return -1;
	snprintf(v1, sizeof(v1), "%s/v1", hf_mock_url(mock));
	dir = ts_tmpdir();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	hf_mock_stop(mock);
	ts_rmtree(dir);
	free(dir);
	hf_global_cleanup();
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(matrix),
		cmocka_unit_test(restarted_after_exit),
		cmocka_unit_test(cli_exit_statuses),
		cmocka_unit_test(readme_has_table),
	};
	if (argc > 1 && !strcmp(argv[1], "--table")) {
		print_table();
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}

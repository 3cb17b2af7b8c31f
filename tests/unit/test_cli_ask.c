/*
 * test_cli_ask.c - `handoff ask` run as a command against the local mock
 * (in this process): streamed and whole answers, JSON lines, usage on
 * stderr, stdin input, configuration from flags / environment / graph
 * file, exit statuses, Ctrl-C, and a sentinel key that never shows in what
 * the command prints.
 */
#include "support_client.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SENTINEL "sk-sentinel-XXXXXXXX"

static hf_mock *mock;
static char base_env[160], base_url[128];
static const char *const key_env = "HANDOFF_API_KEY=" SENTINEL;

static int start(void **state)
{
	(void)state;
	if (!(mock = tc_mock_start(SENTINEL)))
		return -1;
	snprintf(base_url, sizeof(base_url), "%s/v1", hf_mock_url(mock));
	snprintf(base_env, sizeof(base_env), "HANDOFF_BASE_URL=%s", base_url);
	return 0;
}

static int stop(void **state)
{
	(void)state;
	tc_mock_stop(mock);
	return 0;
}

static int fresh(void **state)
{
	(void)state;
	tc_mock_fresh(mock);
	return 0;
}

/* Run `handoff ask ARGS` with the mock's URL and the sentinel key in the
 * environment; nothing it prints may hold the key. */
static void run(ts_proc *p, const char *input, const char *const *argv)
{
	const char *env[] = { base_env, key_env, NULL };
	ts_run_cli(p, input, env, argv);
	assert_false(ts_contains(p->out, SENTINEL));
	assert_false(ts_contains(p->err, SENTINEL));
}

static void test_stream_and_whole(void **state)
{
	const char *const streamed[] = { "ask", "-m", "gpt-4o-mini", "Hello", "there", NULL };
	const char *const whole[] = { "ask", "-m", "gpt-4o-mini", "--no-stream", "-v", "Hello",
		                      "there", NULL };
	const char *const piped[] = { "ask", "-m", "gpt-4o-mini", NULL };
	ts_proc a, b, c;
	cJSON *e;
	(void)state;
	run(&a, NULL, streamed);
	assert_int_equal(a.status, 0);
	assert_true(strlen(a.out) > 2);
	assert_int_equal(a.out[strlen(a.out) - 1], '\n');
	assert_int_equal(a.out[strlen(a.out) - 2] == '\n', 0);
	assert_string_equal(a.err, "");
	e = tc_log_entry(mock, TC_LAST);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "body"), "stream")));
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(
	                                        cJSON_GetObjectItem(e, "body"), "messages"), 0),
	                                        "content")->valuestring,
	                    "Hello there");
	cJSON_Delete(e);

	run(&b, NULL, whole);
	assert_int_equal(b.status, 0);
	assert_string_equal(b.out, a.out);
	assert_true(ts_contains(b.err, "usage: 1 request, "));
	assert_true(ts_contains(b.err, " tokens (gpt-4o-mini)"));
	e = tc_log_entry(mock, TC_LAST);
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "body"), "stream"));
	cJSON_Delete(e);

	run(&c, "Hello there\n", piped);
	assert_int_equal(c.status, 0);
	assert_string_equal(c.out, a.out);
	ts_proc_dispose(&a);
	ts_proc_dispose(&b);
	ts_proc_dispose(&c);
}

static void test_json_lines(void **state)
{
	const char *const argv[] = { "ask", "-m", "gpt-4o-mini", "--json", "Hola, ¿cómo estás?",
		                     NULL };
	hf_buf text = HF_BUF_INIT;
	char *line, *save = NULL;
	int deltas = 0, usage = 0, message = 0, done = 0;
	ts_proc p;
	(void)state;
	run(&p, NULL, argv);
	assert_int_equal(p.status, 0);
	for (line = strtok_r(p.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		cJSON *o = cJSON_Parse(line);
		const char *type;
		assert_non_null(o);
		type = cJSON_GetObjectItem(o, "type")->valuestring;
		assert_int_equal(done, 0); /* done comes last */
		if (!strcmp(type, "text_delta")) {
			hf_buf_puts(&text, cJSON_GetObjectItem(o, "text")->valuestring);
			deltas++;
		} else if (!strcmp(type, "usage")) {
			assert_true(cJSON_GetObjectItem(o, "total_tokens")->valuedouble > 0);
			usage++;
		} else if (!strcmp(type, "message")) {
			assert_string_equal(cJSON_GetObjectItem(o, "text")->valuestring, text.data);
			message++;
		} else {
			assert_string_equal(type, "done");
			assert_string_equal(cJSON_GetObjectItem(o, "text")->valuestring, text.data);
			assert_true(cJSON_IsObject(cJSON_GetObjectItem(o, "usage")));
			done++;
		}
		cJSON_Delete(o);
	}
	assert_true(deltas > 1);
	assert_int_equal(usage, 1);
	assert_int_equal(message, 1);
	assert_int_equal(done, 1);
	hf_buf_dispose(&text);
	ts_proc_dispose(&p);
}

static void test_errors(void **state)
{
	const char *const no_model[] = { "ask", "Hello", NULL };
	const char *const fault401[] = { "ask", "-m", "m", "--header", "X-Mock-Fault: 401",
		                         "Hello", NULL };
	const char *const json401[] = { "ask", "-m", "m", "--json", "--header",
		                        "X-Mock-Fault: 401", "Hello", NULL };
	const char *const plain[] = { "ask", "-m", "m", "Hello", NULL };
	const char *const no_env[] = { NULL };
	ts_proc p;
	cJSON *o;
	(void)state;
	run(&p, NULL, no_model);
	assert_int_equal(p.status, 2);
	assert_true(ts_contains(p.err, "-m MODEL"));
	ts_proc_dispose(&p);

	run(&p, NULL, fault401);
	assert_int_equal(p.status, 4);
	assert_string_equal(p.out, "");
	assert_true(ts_contains(p.err, "refused the API key (HTTP 401"));
	assert_true(ts_contains(p.err, "handoff: hint: --api-key-env NAME or --api-key-file PATH"));
	ts_proc_dispose(&p);

	run(&p, NULL, json401);
	assert_int_equal(p.status, 4);
	o = cJSON_Parse(p.out);
	assert_non_null(o);
	assert_string_equal(cJSON_GetObjectItem(o, "type")->valuestring, "error");
	assert_string_equal(cJSON_GetObjectItem(o, "code")->valuestring, "auth");
	assert_true(ts_contains(cJSON_GetObjectItem(o, "message")->valuestring, "HTTP 401"));
	cJSON_Delete(o);
	ts_proc_dispose(&p);

	/* No endpoint anywhere: exit 3 and what to set. */
	ts_run_cli(&p, NULL, no_env, plain);
	assert_int_equal(p.status, 3);
	assert_true(ts_contains(p.err, "no endpoint: set base_url in hf_client_options, "
	                               "HANDOFF_BASE_URL (or OPENAI_BASE_URL)"));
	/* The command adds its own flag to the library's words. */
	assert_true(ts_contains(p.err, "handoff: hint: --base-url URL sets the endpoint"));
	ts_proc_dispose(&p);
}

/* Flags override the environment, which overrides the graph file. */
static void test_config_precedence(void **state)
{
	char *dir = ts_tmpdir(), *file, yaml[512], bad_env[64], flag_url[160];
	const char *argv_graph[] = { "ask", "--graph", NULL, "Hello", NULL };
	const char *argv_flag[] = { "ask", "--graph", NULL, "--base-url", flag_url, "Hello", NULL };
	const char *env_graph[] = { key_env, NULL };
	const char *env_bad[] = { key_env, bad_env, NULL };
	ts_proc p;
	cJSON *e;
	(void)state;
	snprintf(yaml, sizeof(yaml),
	         "entry: Solo\nmodel: graph-model\nbase_url: %s\nprovider: GraphOrg\n", base_url);
	file = ts_path(dir, "handoff.yaml");
	ts_write(file, yaml);
	free(file);
	file = ts_path(dir, "solo.yaml");
	ts_write(file, "name: Solo\ninstructions: Answer.\n");
	free(file);
	argv_graph[2] = argv_flag[2] = dir;

	ts_run_cli(&p, NULL, env_graph, argv_graph);
	assert_int_equal(p.status, 0);
	e = tc_log_entry(mock, TC_LAST);
	assert_string_equal(
		cJSON_GetObjectItem(cJSON_GetObjectItem(e, "body"), "model")->valuestring,
		"graph-model");
	assert_string_equal(
		cJSON_GetObjectItem(cJSON_GetObjectItem(e, "headers"), "openai-organization")
			->valuestring,
		"GraphOrg");
	cJSON_Delete(e);
	ts_proc_dispose(&p);

	/* The environment wins over the graph: a dead URL fails. */
	snprintf(bad_env, sizeof(bad_env), "HANDOFF_BASE_URL=http://127.0.0.1:1/v1");
	ts_run_cli(&p, NULL, env_bad, argv_graph);
	assert_int_equal(p.status, 5);
	assert_true(ts_contains(p.err, "could not connect to 127.0.0.1:1"));
	ts_proc_dispose(&p);

	/* The flag wins over the environment. */
	snprintf(flag_url, sizeof(flag_url), "%s/", base_url);
	ts_run_cli(&p, NULL, env_bad, argv_flag);
	assert_int_equal(p.status, 0);
	ts_proc_dispose(&p);
	ts_rmtree(dir);
	free(dir);
}

static bool request_arrived(void *arg)
{
	return hf_mock_log_count(arg) > 0;
}

/* Ctrl-C while the endpoint stalls: the request stops, exit 130. The
 * signal goes once the request has reached the mock (the command is then
 * waiting on it with its handler in place), not after a guessed time. */
static void test_interrupt(void **state)
{
	char env_url[200];
	pid_t pid;
	int st;
	(void)state;
	snprintf(env_url, sizeof(env_url), "%s", base_env);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		putenv(env_url);
		putenv((char *)key_env);
		execl(HF_CLI_PATH, HF_CLI_PATH, "ask", "-m", "m", "--header",
		      "X-Mock-Fault: stall;ms=20000", "Hello", (char *)NULL);
		_exit(127);
	}
	ts_wait_until(request_arrived, mock, "the request to reach the mock");
	kill(pid, SIGINT);
	ts_wait_child(pid, &st);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 130);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_stream_and_whole, fresh),
		cmocka_unit_test_setup(test_json_lines, fresh),
		cmocka_unit_test_setup(test_errors, fresh),
		cmocka_unit_test_setup(test_config_precedence, fresh),
		cmocka_unit_test_setup(test_interrupt, fresh),
	};
	return cmocka_run_group_tests(tests, start, stop);
}

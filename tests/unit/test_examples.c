/*
 * test_examples.c - runs each program in examples/ against the mock on
 * 127.0.0.1 and checks what it prints (and, for http_service, what it
 * answers over HTTP and keeps in its database).
 *
 * The examples are found next to the handoff command's directory:
 * dirname(HF_CLI_PATH)/examples/<name> (examples/CMakeLists.txt builds them
 * there). A test is skipped when its example was not built
 * (-DHANDOFF_BUILD_EXAMPLES=OFF). Each example gets HANDOFF_BASE_URL (the
 * mock), HANDOFF_GRAPH (the default graph in the source tree) and
 * HANDOFF_DB (a temporary database) in its environment. The example graphs
 * of examples/graphs run too: orders with tool_callback, files through the
 * command with the filesystem MCP server from tests/npm.
 */
#include "support.h"
#include "support_mcp.h"

#include "handoff.h"
#include "mock.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static hf_mock *mock;
static char v1[128];
static char *tmp;
static hf_client *client;
static hf_graph *graph;

static int setup(void **state)
{
	hf_mock_options mo = { 0 };
	hf_client_options co = HF_CLIENT_OPTIONS_INIT;
	hf_error err;
	(void)state;
	if (hf_global_init(&err))
		return -1;
	mo.log_memory = true;
	if (hf_mock_start(&mock, &mo, &err))
		return -1;
	snprintf(v1, sizeof(v1), "%s/v1", hf_mock_url(mock));
	co.base_url = v1;
	tmp = ts_tmpdir();
	return hf_graph_load(&graph, HF_SOURCE_DIR "/agents", NULL, &err) ||
	       hf_client_new(&client, &co, graph, &err) ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	hf_client_free(client);
	hf_graph_free(graph);
	hf_mock_stop(mock);
	ts_rmtree(tmp);
	free(tmp);
	hf_global_cleanup();
	return 0;
}

/* The path of example `name`; skips the test when it was not built. */
static char *example(const char *name)
{
	char *cli = strdup(HF_CLI_PATH), *path;
	path = hf_asprintf("%s/examples/%s", dirname(cli), name);
	free(cli);
	if (access(path, X_OK)) {
		free(path);
		skip();
	}
	return path;
}

/* The answer hf_run gives in-process for `text` in a new session. */
static char *reference(const char *text, const char *agent)
{
	hf_session *s;
	hf_error err;
	char *answer;
	assert_int_equal(hf_session_new(&s, NULL, &err), HF_OK);
	if (hf_run(&answer, client, graph, s, NULL, text, NULL, &err))
		fail_msg("reference: %s", err.message);
	assert_string_equal(hf_session_agent(s), agent);
	hf_session_free(s);
	return answer;
}

/* ---- running a program ---- */

typedef struct child {
	pid_t pid;
	int out;       /* its stdout (a pipe) */
	char *err_path;
} child;

/* Start path with argv (argv[0] included), stdin from `input` (may be
 * NULL) and the test environment. */
static void spawn(child *c, const char *path, const char *const *argv, const char *input)
{
	char *in_path = ts_path(tmp, "stdin");
	int fds[2];
	ts_write(in_path, input ? input : "");
	c->err_path = ts_path(tmp, "stderr");
	assert_int_equal(pipe(fds), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		char *db = ts_path(tmp, "sessions.db");
		int in = open(in_path, O_RDONLY);
		int err = open(c->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(in, 0);
		dup2(fds[1], 1);
		dup2(err, 2);
		close(fds[0]);
		setenv("HANDOFF_BASE_URL", v1, 1);
		setenv("HANDOFF_GRAPH", HF_SOURCE_DIR "/agents", 1);
		setenv("HANDOFF_DB", db, 1);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	c->out = fds[0];
	free(in_path);
}

/* Wait for the child (bounded: support.h); returns its exit status. */
static int reap(child *c)
{
	int st = 0;
	ts_wait_child(c->pid, &st);
	close(c->out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Run to the end: exit status, stdout and stderr (owned). */
static int run(const char *path, const char *const *argv, const char *input, char **out,
               char **err)
{
	child c;
	hf_buf b = HF_BUF_INIT;
	char chunk[4096];
	ssize_t n;
	int status;
	spawn(&c, path, argv, input);
	while ((n = read(c.out, chunk, sizeof(chunk))) > 0)
		hf_buf_append(&b, chunk, (size_t)n);
	status = reap(&c);
	*out = b.data ? b.data : strdup("");
	*err = ts_read(c.err_path, NULL);
	free(c.err_path);
	return status;
}

/* ---- the examples ---- */

static void test_minimal(void **state)
{
	char *path = example("minimal"), *out, *err, *want, *answer;
	const char *argv_es[] = { path, NULL };
	const char *argv_en[] = { path, HF_SOURCE_DIR "/agents", "What time is it in London?", NULL };
	(void)state;

	assert_int_equal(run(path, argv_es, NULL, &out, &err), 0);
	answer = reference("Hola, ¿qué hora es en Madrid?", "Spanish agent");
	want = hf_asprintf("Spanish agent: %s\n", answer);
	assert_string_equal(out, want);
	free(out), free(err), free(want), free(answer);

	assert_int_equal(run(path, argv_en, NULL, &out, &err), 0);
	assert_true(!strncmp(out, "English agent: ", 15) && strlen(out) > 16);
	free(out), free(err);
	free(path);
}

static void test_multi_turn_resumes(void **state)
{
	char *path = example("multi_turn"), *db = ts_path(tmp, "multi.db"), *out, *err;
	const char *argv[] = { path, "-d", db, "-s", "conv-1", NULL };
	(void)state;

	assert_int_equal(run(path, argv, "Hola, ¿me ayudas?\nHello, can you help me?\n", &out, &err), 0);
	assert_true(ts_contains(out, "session conv-1: 0 messages so far\n"));
	assert_true(ts_contains(out, "\n[Spanish agent] "));
	assert_true(ts_contains(out, "\n[English agent] "));
	assert_true(ts_contains(out, "held by English agent\n"));
	free(out), free(err);

	/* Another process continues the stored conversation, at the agent
	 * holding it (sticky): one model call, no triage. */
	hf_mock_log_clear(mock);
	assert_int_equal(run(path, argv, "Thanks, and one more thing?\n", &out, &err), 0);
	assert_false(ts_contains(out, "session conv-1: 0 messages"));
	assert_true(ts_contains(out, "\n[English agent] "));
	assert_int_equal(hf_mock_log_count(mock), 1);
	free(out), free(err);
	free(db);
	free(path);
}

static void test_streaming(void **state)
{
	char *path = example("streaming"), *out, *err, *want, *answer;
	const char *argv[] = { path, NULL };
	(void)state;

	assert_int_equal(run(path, argv, NULL, &out, &err), 0);
	answer = reference("Hello! What can you do for me?", "English agent");
	want = hf_asprintf("%s\n", answer);
	free(answer);
	assert_string_equal(out, want);
	assert_true(ts_contains(err, "[agent: Triage agent]\n"));
	assert_true(ts_contains(err, "[handoff: Triage agent -> English agent "
	                             "(transfer_to_english_agent)]\n"));
	assert_true(ts_contains(err, "[agent: English agent]\n"));
	assert_true(ts_contains(err, "[done: English agent, 2 model calls"));
	free(out), free(err), free(want);
	free(path);
}

static void test_engine_epoll(void **state)
{
	char *path = example("engine_epoll"), *out, *err;
	const char *argv[] = { path, "-n", "300", NULL };
	(void)state;

	assert_int_equal(run(path, argv, NULL, &out, &err), 0);
	assert_true(ts_contains(out, "conversations=300 ok=300 failed=0 spanish=150 english=150 "));
	free(out), free(err);
	free(path);
}

/* Several turns per conversation, each submitted from the previous one's
 * completion: every turn runs before the loop ends, the first in each
 * conversation through triage, the later ones at the agent holding it. */
static void test_engine_multi_turn(void **state)
{
	char *path = example("engine_multi_turn"), *out, *err;
	const char *argv[] = { path, "-n", "40", "-t", "3", NULL };
	(void)state;

	hf_mock_log_clear(mock);
	assert_int_equal(run(path, argv, NULL, &out, &err), 0);
	assert_string_equal(out, "conversations=40 turns=3 ok=120 failed=0 stayed=40\n");
	assert_int_equal(hf_mock_log_count(mock), 40 * (2 + 1 + 1));
	free(out), free(err);
	free(path);
}

/* ---- http_service ---- */

typedef struct http_reply {
	long status;
	hf_buf body;
} http_reply;

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
	hf_buf_append(&((http_reply *)ud)->body, p, size * n);
	return size * n;
}

/* Send n POST bodies to url at once (curl multi); replies in r. */
static void post_all(const char *url, const char *const *bodies, http_reply *r, size_t n)
{
	CURLM *multi = curl_multi_init();
	CURL **easy = calloc(n, sizeof(*easy));
	int running = 1;
	size_t i;
	for (i = 0; i < n; i++) {
		easy[i] = curl_easy_init();
		curl_easy_setopt(easy[i], CURLOPT_URL, url);
		curl_easy_setopt(easy[i], CURLOPT_POSTFIELDS, bodies[i]);
		curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, collect);
		curl_easy_setopt(easy[i], CURLOPT_WRITEDATA, &r[i]);
		curl_easy_setopt(easy[i], CURLOPT_TIMEOUT_MS, 30000L);
		curl_multi_add_handle(multi, easy[i]);
	}
	while (running) {
		curl_multi_perform(multi, &running);
		if (running)
			curl_multi_poll(multi, NULL, 0, 1000, NULL);
	}
	for (i = 0; i < n; i++) {
		curl_easy_getinfo(easy[i], CURLINFO_RESPONSE_CODE, &r[i].status);
		curl_multi_remove_handle(multi, easy[i]);
		curl_easy_cleanup(easy[i]);
	}
	free(easy);
	curl_multi_cleanup(multi);
}

static http_reply post(const char *url, const char *body)
{
	http_reply r = { 0, HF_BUF_INIT };
	post_all(url, &body, &r, 1);
	return r;
}

static const char *field(cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Start the service; its URL from its first line of output. */
static child start_service(const char *path, const char *db, char *url, size_t cap)
{
	const char *argv[] = { path, "-p", "0", "-d", db, NULL };
	char line[256];
	size_t n = 0;
	child c;
	spawn(&c, path, argv, NULL);
	while (n < sizeof(line) - 1 && read(c.out, line + n, 1) == 1 && line[n] != '\n')
		n++;
	line[n] = '\0';
	if (sscanf(line, "listening on %255s", url) != 1 || strlen(url) >= cap)
		fail_msg("http_service printed '%s'", line);
	return c;
}

static void stop_service(child *c)
{
	kill(c->pid, SIGTERM);
	assert_int_equal(reap(c), 0);
	free(c->err_path);
}

static void test_http_service(void **state)
{
	char *path = example("http_service"), *db = ts_path(tmp, "http.db"), url[256];
	const char *bodies[20];
	http_reply r, many[20];
	child c;
	cJSON *j;
	char *sid, *second;
	hf_store *store;
	hf_session *stored;
	hf_error err;
	size_t i;
	(void)state;

	c = start_service(path, db, url, sizeof(url));
	r = post(url, "{\"text\":\"Hola, necesito ayuda con mi cuenta\"}");
	assert_int_equal(r.status, 200);
	assert_non_null(j = cJSON_Parse(r.body.data));
	assert_string_equal(field(j, "agent"), "Spanish agent");
	assert_true(strlen(field(j, "text")) > 0);
	sid = strdup(field(j, "session"));
	cJSON_Delete(j);
	hf_buf_dispose(&r.body);

	/* The same conversation, now in English: back through triage. */
	second = hf_asprintf("{\"session\":\"%s\",\"text\":\"Sorry, can we speak English?\"}", sid);
	r = post(url, second);
	assert_int_equal(r.status, 200);
	assert_non_null(j = cJSON_Parse(r.body.data));
	assert_string_equal(field(j, "session"), sid);
	assert_string_equal(field(j, "agent"), "English agent");
	cJSON_Delete(j);
	hf_buf_dispose(&r.body);

	/* Twenty conversations at once, half in each language. */
	memset(many, 0, sizeof(many));
	for (i = 0; i < 20; i++)
		bodies[i] = i % 2 ? "{\"text\":\"Hello, I need help with my account\"}"
		                  : "{\"text\":\"Hola, necesito ayuda con mi cuenta\"}";
	post_all(url, bodies, many, 20);
	for (i = 0; i < 20; i++) {
		assert_int_equal(many[i].status, 200);
		assert_non_null(j = cJSON_Parse(many[i].body.data));
		assert_string_equal(field(j, "agent"), i % 2 ? "English agent" : "Spanish agent");
		cJSON_Delete(j);
		hf_buf_dispose(&many[i].body);
	}

	/* Bad requests. */
	r = post(url, "{\"session\":\"x\"}");
	assert_int_equal(r.status, 400);
	hf_buf_dispose(&r.body);
	r = post(url, "{\"session\":\"../etc\",\"text\":\"hi\"}");
	assert_int_equal(r.status, 400);
	hf_buf_dispose(&r.body);
	stop_service(&c);

	/* The conversation outlived the service. */
	assert_int_equal(hf_store_open_sqlite(&store, db, &err), HF_OK);
	assert_int_equal(hf_store_load(&stored, store, sid, &err), HF_OK);
	assert_string_equal(hf_session_agent(stored), "English agent");
	assert_true(hf_session_message_count(stored) >= 8);
	hf_session_free(stored);
	hf_store_free(store);
	free(second);
	free(sid);
	free(db);
	free(path);
}

/* The C tool answered from a worker thread: every conversation's answer
 * quotes its order's record, every lookup ran on the worker. */
static void test_tool_callback(void **state)
{
	static const char *const records[] = {
		"[Orders agent] The tool lookup_order returned: "
		"{\"order\":\"A1001\",\"status\":\"delivered\",\"delivery\":\"2026-11-28\"}",
		"[Orders agent] The tool lookup_order returned: "
		"{\"order\":\"A1002\",\"status\":\"in transit\",\"delivery\":\"2026-12-04\"}",
		"[Orders agent] The tool lookup_order returned: "
		"{\"order\":\"A1003\",\"status\":\"being packed\",\"delivery\":\"2026-12-06\"}",
	};
	char *path = example("tool_callback"), *out, *err, *line, *save = NULL;
	const char *argv[] = { path, "-n", "20", HF_SOURCE_DIR "/examples/graphs/orders", NULL };
	int answers = 0;
	(void)state;

	hf_mock_log_clear(mock);
	if (run(path, argv, NULL, &out, &err))
		fail_msg("tool_callback failed: %s", err);
	assert_true(ts_contains(out, "\n20 answered, 0 failed, 20 lookups on the worker thread\n"));
	/* the first three answers, each one order's record */
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "[Orders agent] ", 15))
			continue;
		answers++;
		if (strcmp(line, records[0]) && strcmp(line, records[1]) && strcmp(line, records[2]))
			fail_msg("an answer without its order's record: %s", line);
	}
	assert_int_equal(answers, 3);
	/* each conversation: Reception hands off, Orders calls, Orders answers */
	assert_int_equal(hf_mock_log_count(mock), 60);
	free(out), free(err);
	free(path);
}

/* Copy examples/graphs/files to dir, running the filesystem server from
 * tests/npm with node instead of npx (tests never download). */
static void copy_files_graph(const char *dir)
{
	static const char *const files[] = { "router.yaml", "files.yaml", "data/hello.txt" };
	char *src, *dst, *text, *data = ts_path(dir, "data"), *at;
	const char *npx = "command: npx\n    args: [-y, \"@modelcontextprotocol/server-filesystem\", "
	                  "./data]\n";
	mkdir(dir, 0700);
	mkdir(data, 0700);
	free(data);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		src = hf_asprintf("%s/examples/graphs/files/%s", HF_SOURCE_DIR, files[i]);
		dst = ts_path(dir, files[i]);
		text = ts_read(src, NULL);
		assert_non_null(text);
		ts_write(dst, text);
		free(text), free(src), free(dst);
	}
	text = ts_read(HF_SOURCE_DIR "/examples/graphs/files/handoff.yaml", NULL);
	assert_non_null(text);
	at = strstr(text, npx);
	if (!at)
		fail_msg("examples/graphs/files/handoff.yaml no longer starts the server with: %s", npx);
	*at = '\0';
	src = hf_asprintf("%scommand: node\n    args: [\"%s\", ./data]\n%s", text, TS_FILESYSTEM,
	                  at + strlen(npx));
	dst = ts_path(dir, "handoff.yaml");
	ts_write(dst, src);
	free(text), free(src), free(dst);
}

/* The files example through the command, as its header says to run it. */
static void test_files_graph(void **state)
{
	char *dir = ts_path(tmp, "files"), *base = hf_asprintf("HANDOFF_BASE_URL=%s", v1);
	const char *env[] = { base, NULL };
	const char *run_argv[] = { "run", "--no-store", dir,
		                   "What does hello.txt say? read_text_file path=hello.txt", NULL };
	const char *tools_argv[] = { "tools", dir, NULL };
	const char *validate_argv[] = { "validate", dir, NULL };
	ts_proc p;
	(void)state;
	ts_npm_need();
	copy_files_graph(dir);

	ts_run_cli(&p, NULL, env, validate_argv);
	if (p.status)
		fail_msg("validate: exit %d: %s", p.status, p.err);
	ts_proc_dispose(&p);

	ts_run_cli(&p, NULL, env, tools_argv);
	assert_int_equal(p.status, 0);
	assert_true(ts_contains(p.out, "\nFiles agent  read_text_file  files   "));
	assert_true(ts_contains(p.out, "\nFiles agent  list_directory  files   "));
	assert_true(ts_contains(p.out, "\nFiles agent  search_files    files   "));
	assert_true(ts_contains(p.out, "\nFiles agent  get_file_info   files   "));
	assert_false(ts_contains(p.out, "write_file")); /* not in allow: */
	ts_proc_dispose(&p);

	ts_run_cli(&p, NULL, env, run_argv);
	if (p.status)
		fail_msg("run: exit %d: %s", p.status, p.err);
	assert_string_equal(p.out, "The tool read_text_file returned: Hello from the data directory.\n");
	assert_true(ts_contains(p.err, "[Router \xe2\x86\x92 Files agent]\n"));
	assert_true(ts_contains(p.err, "[Files agent] files.read_text_file {\"path\":\"hello.txt\"} "
	                               "\xe2\x86\x92 31 B\n"));
	ts_proc_dispose(&p);
	free(base);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_multi_turn_resumes),
		cmocka_unit_test(test_streaming),
		cmocka_unit_test(test_engine_epoll),
		cmocka_unit_test(test_engine_multi_turn),
		cmocka_unit_test(test_http_service),
		cmocka_unit_test(test_tool_callback),
		cmocka_unit_test(test_files_graph),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

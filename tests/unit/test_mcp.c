/*
 * test_mcp.c - the MCP host over stdio against tests/mcp_test_server.c:
 * the tools and their content blocks as text, the child's environment and
 * directory, timeouts, cancel, and every way the server misbehaves (exits,
 * never answers, garbage, an over-long line, 10 MB, an unknown id, an old
 * protocol version, a failed start), each with its exact outcome.
 */
#include "support.h"
#include "support_mcp.h"

#include "mcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* A host for one test-server conf with these modes, started. */
typedef struct fixture {
	hf_mcp_server_conf conf[2];
	size_t n;
	hf_mcp_host *h;
	hf_mcp_host_options opts;
	hf_diag *diags;
	int start_rc;
	hf_error err;
} fixture;

static void fx_open(fixture *f, const char *name, const char *const *modes, size_t max_message)
{
	hf_error err;
	memset(f, 0, sizeof(*f));
	ts_mcp_conf(&f->conf[0], name, modes);
	f->n = 1;
	f->opts.max_message = max_message;
	f->opts.start_timeout_ms = 30000;
	assert_int_equal(hf_diag_new(&f->diags), HF_OK);
	assert_int_equal(hf_mcp_host_new(&f->h, f->conf, f->n, &f->opts, &err), HF_OK);
	f->start_rc = hf_mcp_host_start(f->h, f->diags, &f->err);
}

static void fx_close(fixture *f)
{
	hf_mcp_host_free(f->h);
	for (size_t i = 0; i < f->n; i++)
		ts_mcp_conf_dispose(&f->conf[i]);
	hf_diag_free(f->diags);
}

static void expect_text(hf_mcp_host *h, const char *tool, const char *args, const char *text,
                        bool is_error)
{
	ts_mcp_call c;
	ts_mcp_call_init(&c);
	ts_mcp_call_run(&c, h, 0, tool, args, 0);
	assert_int_equal(c.runs, 1);
	if (c.code != HF_OK)
		fail_msg("%s: %s", tool, c.message);
	assert_string_equal(c.text, text);
	assert_int_equal(c.is_error, is_error);
	ts_mcp_call_dispose(&c);
}

/* The call fails with code and a message holding each of the needles. */
static void expect_fail(hf_mcp_host *h, const char *tool, const char *args, long timeout_ms,
                        int code, const char *n1, const char *n2)
{
	ts_mcp_call c;
	ts_mcp_call_init(&c);
	ts_mcp_call_run(&c, h, 0, tool, args, timeout_ms);
	assert_int_equal(c.runs, 1);
	if (c.code != code || !strstr(c.message, n1) || (n2 && !strstr(c.message, n2)))
		fail_msg("%s: code %d (want %d), message '%s' (want '%s' and '%s')", tool, c.code, code,
		         c.message, n1, n2 ? n2 : "");
	ts_mcp_call_dispose(&c);
}

static void test_tools_and_content(void **state)
{
	fixture f;
	hf_mcp_tools *t;
	(void)state;
	fx_open(&f, "test", NULL, 0);
	assert_int_equal(f.start_rc, HF_OK);
	t = hf_mcp_host_tools(f.h, 0);
	assert_non_null(t);
	assert_int_equal(t->n, 10);
	assert_string_equal(t->tools[0].name, "echo");
	assert_string_equal(t->tools[0].description, "a test tool");
	assert_string_equal(t->tools[0].input_schema, "{\"type\":\"object\"}");
	assert_int_equal(t->generation, 1);
	hf_mcp_tools_release(t);

	expect_text(f.h, "echo", "{\"text\":\"h\\u00e9llo\\nworld\"}", "h\xc3\xa9llo\nworld", false);
	expect_text(f.h, "echo", NULL, "", false);
	expect_text(f.h, "fail", "{}", "the tool failed on purpose", true);
	expect_text(f.h, "image", "{}", "[image: image/png, 3 bytes]", false);
	expect_text(f.h, "structured", "{}", "{\"temperature\":21.5,\"unit\":\"C\"}", false);
	expect_text(f.h, "resource", "{}",
	            "[resource: file:///tmp/a.txt]\n[resource: file:///tmp/b.txt]\ninside b", false);
	/* a JSON-RPC error is the tool's error text */
	expect_text(f.h, "nope", "{}", "error -32602: Unknown tool", true);
	/* the server asks ping; the host answers */
	expect_text(f.h, "ping_me", "{}", "pong received", false);
	/* arguments that are not an object never reach the server */
	expect_fail(f.h, "echo", "[1,2]", 0, HF_EINVAL, "server 'test' tool 'echo'",
	            "not a JSON object");
	fx_close(&f);
}

static const char *lookup(const char *name, void *payload)
{
	(void)payload;
	if (strcmp(name, "MY_TOKEN") == 0)
		return "tok-123";
	if (strcmp(name, "PATH") == 0)
		return "/usr/bin:/bin";
	if (strcmp(name, "HOME") == 0)
		return "/home/tester";
	return NULL;
}

static void test_env_and_cwd(void **state)
{
	char *env[] = { "LANG=C.UTF-8", "TOKEN=Bearer ${MY_TOKEN}!", NULL };
	char *dir = ts_tmpdir(), *real = realpath(dir, NULL);
	hf_mcp_server_conf conf;
	hf_mcp_host_options opts = { 0 };
	hf_mcp_host *h;
	hf_error err;
	(void)state;
	ts_mcp_conf(&conf, "envy", NULL);
	conf.env = env;
	opts.lookup_env = lookup;
	opts.base_dir = dir;
	assert_int_equal(hf_mcp_host_new(&h, &conf, 1, &opts, &err), HF_OK);
	assert_int_equal(hf_mcp_host_start(h, NULL, &err), HF_OK);
	/* exactly the listed variables, PATH and HOME: never HANDOFF_API_KEY,
	 * which this test runs with */
	assert_non_null(getenv("HANDOFF_API_KEY"));
	expect_text(h, "env", "{}",
	            "LANG=C.UTF-8\nTOKEN=Bearer tok-123!\nPATH=/usr/bin:/bin\nHOME=/home/tester", false);
	expect_text(h, "cwd", "{}", real, false);
	hf_mcp_host_free(h);

	/* an unset ${NAME} fails the start, naming the server and variable */
	char *bad[] = { "X=${NOT_SET_ANYWHERE}", NULL };
	conf.env = bad;
	assert_int_equal(hf_mcp_host_new(&h, &conf, 1, &opts, &err), HF_OK);
	assert_int_equal(hf_mcp_host_start(h, NULL, &err), HF_ECONFIG);
	assert_true(ts_contains(err.message, "server 'envy'"));
	assert_true(ts_contains(err.message, "${NOT_SET_ANYWHERE}"));
	hf_mcp_host_free(h);
	ts_mcp_conf_dispose(&conf);
	ts_rmtree(dir);
	free(dir);
	free(real);
}

static void test_timeout_then_alive(void **state)
{
	fixture f;
	(void)state;
	ts_log_capture();
	fx_open(&f, "sleepy", NULL, 0);
	expect_fail(f.h, "slow", "{\"ms\":600000}", 50, HF_ENET, "server 'sleepy' tool 'slow'",
	            "timed out after 50 ms");
	/* the server was told, and still answers */
	ts_log_wait("mcp server 'sleepy': cancelled ");
	expect_text(f.h, "echo", "{\"text\":\"still here\"}", "still here", false);
	fx_close(&f);
	ts_log_stop();
}

static void test_cancel(void **state)
{
	fixture f;
	ts_mcp_call c;
	char want[64];
	(void)state;
	ts_log_capture();
	fx_open(&f, "sleepy", NULL, 0);
	ts_mcp_call_init(&c);
	ts_mcp_call_start(&c, f.h, 0, "slow", "{\"ms\":600000}", 0);
	hf_mcp_host_cancel(f.h, c.id);
	ts_mcp_call_wait(&c);
	assert_int_equal(c.code, HF_ECANCELLED);
	assert_true(ts_contains(c.message, "server 'sleepy' tool 'slow'"));
	/* notifications/cancelled names the request: the server saw it (or
	 * the call never left the host, when the cancel came first) */
	snprintf(want, sizeof(want), "mcp server 'sleepy': cancelled %llu",
	         (unsigned long long)c.id);
	ts_log_wait(want);
	/* cancelling again, or an unknown id, does nothing */
	hf_mcp_host_cancel(f.h, c.id);
	hf_mcp_host_cancel(f.h, 999999);
	expect_text(f.h, "echo", "{\"text\":\"ok\"}", "ok", false);
	assert_int_equal(c.runs, 1);
	ts_mcp_call_dispose(&c);
	fx_close(&f);
	ts_log_stop();
}

static void test_free_cancels_in_flight(void **state)
{
	fixture f;
	ts_mcp_call c;
	(void)state;
	fx_open(&f, "sleepy", NULL, 0);
	ts_mcp_call_init(&c);
	ts_mcp_call_start(&c, f.h, 0, "slow", "{\"ms\":600000}", 0);
	fx_close(&f);
	assert_true(c.done);
	assert_int_equal(c.runs, 1);
	assert_int_equal(c.code, HF_ECANCELLED);
	assert_true(ts_contains(c.message, "server 'sleepy' tool 'slow': cancelled"));
	ts_mcp_call_dispose(&c);
}

static void test_exit_during_call_restarts(void **state)
{
	const char *modes[] = { "--exit-on-call", NULL };
	fixture f;
	(void)state;
	ts_log_capture();
	fx_open(&f, "crashy", modes, 0);
	assert_int_equal(f.start_rc, HF_OK);
	expect_fail(f.h, "echo", "{\"text\":\"crash\"}", 0, HF_ENET,
	            "server 'crashy' exited (status 3) during tool 'echo'", NULL);
	assert_true(ts_log_has("mcp server 'crashy': crashing on purpose"));
	/* restarted (after the back-off): the next call is answered */
	expect_text(f.h, "echo", "{\"text\":\"again\"}", "again", false);
	assert_true(ts_log_has("restarting it in 500 ms"));
	fx_close(&f);
	ts_log_stop();
}

static void test_never_answers(void **state)
{
	const char *modes[] = { "--never-answer", NULL };
	fixture f;
	(void)state;
	fx_open(&f, "mute", modes, 0);
	expect_fail(f.h, "echo", "{\"text\":\"x\"}", 100, HF_ENET, "server 'mute' tool 'echo'",
	            "timed out");
	fx_close(&f);
}

static void test_garbage_line(void **state)
{
	const char *modes[] = { "--garbage", NULL };
	fixture f;
	(void)state;
	ts_log_capture();
	fx_open(&f, "noisy", modes, 0);
	expect_text(f.h, "echo", "{\"text\":\"fine\"}", "fine", false);
	assert_true(ts_log_has("mcp server 'noisy': not JSON, ignored: this is not JSON {"));
	fx_close(&f);
	ts_log_stop();
}

static void test_bad_answer(void **state)
{
	const char *modes[] = { "--bad-answer", NULL };
	fixture f;
	(void)state;
	fx_open(&f, "odd", modes, 0);
	expect_fail(f.h, "echo", "{}", 0, HF_EPROTOCOL, "server 'odd' tool 'echo'",
	            "the answer's result is not an object");
	fx_close(&f);
}

static void test_long_line(void **state)
{
	const char *modes[] = { "--long-line=100000", NULL };
	fixture f;
	(void)state;
	fx_open(&f, "wordy", modes, 4096);
	assert_int_equal(f.start_rc, HF_OK);
	expect_fail(f.h, "echo", "{}", 0, HF_ELIMIT, "server 'wordy' tool 'echo'",
	            "over the 4096-byte limit (max_message)");
	/* restarted: it answers again (over the limit again) */
	expect_fail(f.h, "echo", "{}", 0, HF_ELIMIT, "server 'wordy' tool 'echo'", "4096-byte");
	fx_close(&f);
}

static void test_big_result(void **state)
{
	const char *modes[] = { "--big-result", NULL };
	fixture f;
	(void)state;
	fx_open(&f, "huge", modes, 0);
	expect_fail(f.h, "echo", "{}", 0, HF_ELIMIT, "server 'huge' tool 'echo'",
	            "over the 4194304-byte limit");
	fx_close(&f);
}

static void test_unknown_id(void **state)
{
	const char *modes[] = { "--unknown-id", NULL };
	fixture f;
	(void)state;
	ts_log_capture();
	fx_open(&f, "confused", modes, 0);
	expect_text(f.h, "echo", "{\"text\":\"mine\"}", "mine", false);
	assert_true(ts_log_has("mcp server 'confused': an answer to no request of ours"));
	fx_close(&f);
	ts_log_stop();
}

static void test_notification_before_initialize(void **state)
{
	const char *modes[] = { "--notify-first", NULL };
	fixture f;
	(void)state;
	ts_log_capture();
	fx_open(&f, "chatty", modes, 0);
	assert_int_equal(f.start_rc, HF_OK);
	assert_true(ts_log_has("starting up"));
	expect_text(f.h, "echo", "{\"text\":\"hi\"}", "hi", false);
	fx_close(&f);
	ts_log_stop();
}

static void test_out_of_order(void **state)
{
	const char *modes[] = { "--reverse=3", NULL };
	const char *texts[] = { "first", "second", "third" };
	fixture f;
	ts_mcp_call c[3];
	char args[64];
	(void)state;
	fx_open(&f, "backwards", modes, 0);
	for (int i = 0; i < 3; i++) {
		ts_mcp_call_init(&c[i]);
		snprintf(args, sizeof(args), "{\"text\":\"%s\"}", texts[i]);
		ts_mcp_call_start(&c[i], f.h, 0, "echo", args, 0);
	}
	for (int i = 0; i < 3; i++) {
		ts_mcp_call_wait(&c[i]);
		assert_int_equal(c[i].code, HF_OK);
		assert_string_equal(c[i].text, texts[i]);
		ts_mcp_call_dispose(&c[i]);
	}
	fx_close(&f);
}

typedef struct gen_wait {
	hf_mcp_host *h;
	unsigned long generation;
} gen_wait;

static bool generation_reached(void *arg)
{
	gen_wait *g = arg;
	hf_mcp_tools *t = hf_mcp_host_tools(g->h, 0);
	bool r = t && t->generation >= g->generation;
	hf_mcp_tools_release(t);
	return r;
}

static void test_list_changed(void **state)
{
	const char *modes[] = { "--list-changed", NULL };
	fixture f;
	hf_mcp_tools *before, *after;
	gen_wait g;
	(void)state;
	fx_open(&f, "growing", modes, 0);
	before = hf_mcp_host_tools(f.h, 0);
	assert_int_equal(before->n, 10);
	expect_text(f.h, "echo", "{\"text\":\"x\"}", "x", false);
	g.h = f.h;
	g.generation = 2;
	ts_wait_until(generation_reached, &g, "the re-listed tools");
	after = hf_mcp_host_tools(f.h, 0);
	assert_int_equal(after->n, 11);
	assert_string_equal(after->tools[10].name, "added");
	/* the old snapshot is still whole for whoever holds it */
	assert_int_equal(before->n, 10);
	assert_int_equal(before->generation, 1);
	hf_mcp_tools_release(before);
	hf_mcp_tools_release(after);
	expect_text(f.h, "added", "{}", "the added tool", false);
	fx_close(&f);
}

static void test_paginated_list(void **state)
{
	const char *modes[] = { "--paginate", NULL };
	fixture f;
	hf_mcp_tools *t;
	(void)state;
	fx_open(&f, "paged", modes, 0);
	t = hf_mcp_host_tools(f.h, 0);
	assert_int_equal(t->n, 10);
	assert_string_equal(t->tools[0].name, "echo");
	assert_string_equal(t->tools[9].name, "ping_me");
	hf_mcp_tools_release(t);
	fx_close(&f);
}

static void test_protocol_versions(void **state)
{
	const char *old[] = { "--version=2024-11-05", NULL };
	const char *ok1[] = { "--version=2025-06-18", NULL };
	const char *ok2[] = { "--version=2025-03-26", NULL };
	fixture f;
	(void)state;
	fx_open(&f, "ancient", old, 0);
	assert_int_equal(f.start_rc, HF_EPROTOCOL);
	assert_true(ts_contains(f.err.message, "server 'ancient'"));
	assert_true(ts_contains(f.err.message, "'2024-11-05'"));
	assert_int_equal(hf_diag_count(f.diags), 1);
	assert_string_equal(hf_diag_file(f.diags, 0), "graph.yaml");
	assert_int_equal(hf_diag_line(f.diags, 0), 3);
	assert_null(hf_mcp_host_tools(f.h, 0));
	expect_fail(f.h, "echo", "{}", 0, HF_ENET, "server 'ancient' tool 'echo'",
	            "not running");
	fx_close(&f);
	fx_open(&f, "v0618", ok1, 0);
	assert_int_equal(f.start_rc, HF_OK);
	fx_close(&f);
	fx_open(&f, "v0326", ok2, 0);
	assert_int_equal(f.start_rc, HF_OK);
	fx_close(&f);
}

static void test_failed_start(void **state)
{
	const char *modes[] = { "--fail-start", NULL };
	fixture f;
	hf_mcp_server_conf conf;
	hf_mcp_host *h;
	hf_error err;
	(void)state;
	fx_open(&f, "broken", modes, 0);
	assert_int_equal(f.start_rc, HF_ENET);
	assert_true(ts_contains(f.err.message, "server 'broken': "));
	assert_true(ts_contains(f.err.message, "exited (status 1): no configuration found"));
	fx_close(&f);

	ts_mcp_conf(&conf, "missing", NULL);
	conf.command = "/nonexistent/mcp-server";
	assert_int_equal(hf_mcp_host_new(&h, &conf, 1, NULL, &err), HF_OK);
	assert_int_equal(hf_mcp_host_start(h, NULL, &err), HF_ENET);
	assert_true(ts_contains(err.message, "server 'missing': cannot run '/nonexistent/mcp-server'"));
	hf_mcp_host_free(h);
	conf.command = "no-such-mcp-server-anywhere";
	assert_int_equal(hf_mcp_host_new(&h, &conf, 1, NULL, &err), HF_OK);
	assert_int_equal(hf_mcp_host_start(h, NULL, &err), HF_ENET);
	assert_true(ts_contains(err.message, "not found in PATH"));
	hf_mcp_host_free(h);
	ts_mcp_conf_dispose(&conf);
}

/* A Streamable HTTP server nobody listens for: the start fails, naming
 * the server and the URL (without its password). */
static void test_http_unreachable(void **state)
{
	struct sockaddr_in a = { 0 };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char url[96];
	hf_mcp_server_conf conf;
	hf_mcp_host *h;
	hf_error err;
	(void)state;
	/* a port bound but not listening: connections are refused */
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	snprintf(url, sizeof(url), "http://user:s3cret@127.0.0.1:%d/mcp", ntohs(a.sin_port));
	ts_mcp_conf(&conf, "remote", NULL);
	conf.command = NULL;
	conf.url = url;
	assert_int_equal(hf_mcp_host_new(&h, &conf, 1, NULL, &err), HF_OK);
	assert_int_equal(hf_mcp_host_start(h, NULL, &err), HF_ENET);
	assert_true(ts_contains(err.message, "server 'remote': cannot reach http://127.0.0.1:"));
	assert_false(ts_contains(err.message, "s3cret"));
	expect_fail(h, "echo", "{}", 0, HF_ENET, "server 'remote' tool 'echo'", "not running");
	hf_mcp_host_free(h);
	ts_mcp_conf_dispose(&conf);
	close(fd);
}

static void test_one_bad_server_of_two(void **state)
{
	const char *bad[] = { "--fail-start", NULL };
	hf_mcp_server_conf conf[2];
	hf_mcp_host *h;
	hf_diag *d;
	hf_error err;
	(void)state;
	ts_mcp_conf(&conf[0], "bad", bad);
	ts_mcp_conf(&conf[1], "good", NULL);
	assert_int_equal(hf_diag_new(&d), HF_OK);
	assert_int_equal(hf_mcp_host_new(&h, conf, 2, NULL, &err), HF_OK);
	assert_int_equal(hf_mcp_host_start(h, d, &err), HF_ENET);
	assert_int_equal(hf_diag_count(d), 1);
	assert_true(ts_contains(hf_diag_message(d, 0), "server 'bad'"));
	{
		ts_mcp_call c;
		ts_mcp_call_init(&c);
		ts_mcp_call_run(&c, h, 1, "echo", "{\"text\":\"good\"}", 0);
		assert_int_equal(c.code, HF_OK);
		assert_string_equal(c.text, "good");
		ts_mcp_call_dispose(&c);
	}
	hf_mcp_host_free(h);
	hf_diag_free(d);
	ts_mcp_conf_dispose(&conf[0]);
	ts_mcp_conf_dispose(&conf[1]);
}

static void test_no_process_left(void **state)
{
	fixture f;
	ts_mcp_call c;
	long pid;
	(void)state;
	fx_open(&f, "reaped", NULL, 0);
	ts_mcp_call_init(&c);
	ts_mcp_call_run(&c, f.h, 0, "pid", "{}", 0);
	assert_int_equal(c.code, HF_OK);
	pid = atol(c.text);
	assert_true(pid > 1);
	assert_int_equal(kill((pid_t)pid, 0), 0);
	fx_close(&f);
	/* stopped and reaped: no such process any more */
	assert_int_equal(kill((pid_t)pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	ts_mcp_call_dispose(&c);
}

static void test_many_in_flight(void **state)
{
	enum { N = 500 };
	fixture f;
	static ts_mcp_call c[N];
	char args[64], want[32];
	(void)state;
	fx_open(&f, "busy", NULL, 0);
	for (int i = 0; i < N; i++) {
		ts_mcp_call_init(&c[i]);
		snprintf(args, sizeof(args), "{\"text\":\"n%d\"}", i);
		ts_mcp_call_start(&c[i], f.h, 0, "echo", args, 0);
	}
	for (int i = 0; i < N; i++) {
		ts_mcp_call_wait(&c[i]);
		snprintf(want, sizeof(want), "n%d", i);
		assert_int_equal(c[i].code, HF_OK);
		assert_string_equal(c[i].text, want);
		ts_mcp_call_dispose(&c[i]);
	}
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tools_and_content),
		cmocka_unit_test(test_env_and_cwd),
		cmocka_unit_test(test_timeout_then_alive),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_free_cancels_in_flight),
		cmocka_unit_test(test_exit_during_call_restarts),
		cmocka_unit_test(test_never_answers),
		cmocka_unit_test(test_garbage_line),
		cmocka_unit_test(test_bad_answer),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_big_result),
		cmocka_unit_test(test_unknown_id),
		cmocka_unit_test(test_notification_before_initialize),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_list_changed),
		cmocka_unit_test(test_paginated_list),
		cmocka_unit_test(test_protocol_versions),
		cmocka_unit_test(test_failed_start),
		cmocka_unit_test(test_http_unreachable),
		cmocka_unit_test(test_one_bad_server_of_two),
		cmocka_unit_test(test_no_process_left),
		cmocka_unit_test(test_many_in_flight),
	};
	hf_global_init(NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

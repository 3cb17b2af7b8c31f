/*
 * test_mcp_npm.c - the MCP host against the official servers from npm
 * (tests/npm, pinned by its package-lock; tests/npm/install installs them):
 * @modelcontextprotocol/server-everything over stdio and in streamableHttp
 * mode (Streamable HTTP on a free loopback port), and
 * @modelcontextprotocol/server-filesystem on a throwaway directory. Skipped,
 * with the reason printed, only when node cannot be installed.
 */
#define _GNU_SOURCE
#include "support.h"
#include "support_mcp.h"

#include "mcp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define NPM_DIR HF_SOURCE_DIR "/tests/npm"
#define EVERYTHING NPM_DIR "/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
#define FILESYSTEM NPM_DIR "/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js"

static int installed = -1; /* install's exit status */

static int setup(void **state)
{
	(void)state;
	if (installed < 0) {
		int st = system(NPM_DIR "/install");
		installed = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
	}
	return 0;
}

/* Skip when node cannot be installed; fail when the install broke. */
static void need_node(void)
{
	if (installed == 77) {
		print_message("skipped: node/npm cannot be installed here (tests/npm/install said why)\n");
		skip();
	}
	if (installed != 0)
		fail_msg("tests/npm/install failed (exit %d)", installed);
}

static bool has_tool(hf_mcp_tools *t, const char *name)
{
	for (size_t i = 0; t && i < t->n; i++)
		if (strcmp(t->tools[i].name, name) == 0)
			return true;
	return false;
}

static void start_host(hf_mcp_host **h, hf_mcp_server_conf *conf)
{
	hf_mcp_host_options opts = { 0 };
	hf_error err;
	opts.start_timeout_ms = 50000;
	assert_int_equal(hf_mcp_host_new(h, conf, 1, &opts, &err), HF_OK);
	if (hf_mcp_host_start(*h, NULL, &err))
		fail_msg("start: %s", err.message);
}

static void call_ok(hf_mcp_host *h, const char *tool, const char *args, ts_mcp_call *c)
{
	ts_mcp_call_init(c);
	ts_mcp_call_run(c, h, 0, tool, args, 30000);
	if (c->code != HF_OK)
		fail_msg("%s: %s", tool, c->message);
}

/* echo, get-sum, get-tiny-image and get-env of server-everything. */
static void everything_calls(hf_mcp_host *h)
{
	hf_mcp_tools *t = hf_mcp_host_tools(h, 0);
	ts_mcp_call c;
	assert_true(has_tool(t, "echo"));
	assert_true(has_tool(t, "get-sum"));
	hf_mcp_tools_release(t);

	call_ok(h, "echo", "{\"message\":\"hola, \\u00bfqu\\u00e9 tal?\"}", &c);
	assert_string_equal(c.text, "Echo: hola, \xc2\xbfqu\xc3\xa9 tal?");
	assert_false(c.is_error);
	ts_mcp_call_dispose(&c);

	call_ok(h, "get-sum", "{\"a\":2,\"b\":40}", &c);
	assert_string_equal(c.text, "The sum of 2 and 40 is 42.");
	ts_mcp_call_dispose(&c);

	call_ok(h, "get-tiny-image", "{}", &c);
	assert_true(ts_contains(c.text, "Here's the image you requested:\n[image: image/png, "));
	assert_true(ts_contains(c.text, " bytes]\nThe image above is the MCP logo."));
	ts_mcp_call_dispose(&c);

	/* bad arguments: the server's error, for the model */
	ts_mcp_call_init(&c);
	ts_mcp_call_run(&c, h, 0, "get-sum", "{\"a\":\"two\"}", 30000);
	assert_int_equal(c.code, HF_OK);
	assert_true(c.is_error);
	ts_mcp_call_dispose(&c);
}

static void test_everything_stdio(void **state)
{
	char *args[] = { EVERYTHING, "stdio", NULL };
	hf_mcp_server_conf conf;
	hf_mcp_host *h;
	ts_mcp_call c;
	(void)state;
	need_node();
	ts_mcp_conf(&conf, "everything", NULL);
	free(conf.args);
	conf.command = "node";
	conf.args = args;
	start_host(&h, &conf);
	everything_calls(h);
	/* the server's environment: PATH and HOME only, never the API key */
	call_ok(h, "get-env", "{}", &c);
	assert_true(ts_contains(c.text, "\"PATH\""));
	assert_false(ts_contains(c.text, "HANDOFF_API_KEY"));
	assert_false(ts_contains(c.text, getenv("HANDOFF_API_KEY")));
	ts_mcp_call_dispose(&c);
	hf_mcp_host_free(h);
}

/* A port free at this moment (bound to port 0, then released). */
static int free_port(void)
{
	struct sockaddr_in a = { 0 };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static bool accepts(void *arg)
{
	struct sockaddr_in a = { 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)*(int *)arg);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static bool file_has_delete(void *arg)
{
	size_t len;
	char *text = ts_read(arg, &len);
	bool r = text && ts_contains(text, "Received session termination request for session");
	free(text);
	return r;
}

static void test_everything_http(void **state)
{
	char *dir = ts_tmpdir(), *log = ts_path(dir, "server.log");
	hf_mcp_server_conf conf;
	hf_mcp_host *h;
	char url[64], port_env[32];
	int port, status;
	pid_t pid;
	(void)state;
	need_node();
	port = free_port();
	snprintf(port_env, sizeof(port_env), "PORT=%d", port);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = { "node", EVERYTHING, "streamableHttp", NULL };
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setenv("PORT", port_env + 5, 1);
		if (!freopen(log, "w", stdout))
			_exit(126);
		execvp("node", argv);
		_exit(127);
	}
	ts_wait_until(accepts, &port, "server-everything listening");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/mcp", port);
	ts_mcp_conf(&conf, "everything-http", NULL);
	conf.command = NULL;
	conf.url = url;
	start_host(&h, &conf);
	everything_calls(h);
	hf_mcp_host_free(h);
	/* the session was ended with DELETE (the server logs it) */
	ts_wait_until(file_has_delete, log, "the DELETE of the session");
	ts_mcp_conf_dispose(&conf);
	kill(-pid, SIGTERM);
	ts_wait_child(pid, &status);
	kill(-pid, SIGKILL);
	ts_rmtree(dir);
	free(dir);
	free(log);
}

static void test_filesystem(void **state)
{
	char *dir = ts_tmpdir(), *real = realpath(dir, NULL), *file = ts_path(real, "a.txt");
	char *args[] = { FILESYSTEM, real, NULL };
	char json[1024];
	hf_mcp_server_conf conf;
	hf_mcp_host *h;
	hf_mcp_tools *t;
	ts_mcp_call c;
	(void)state;
	need_node();
	ts_write(file, "hello from a file\nline two\n");
	ts_mcp_conf(&conf, "files", NULL);
	free(conf.args);
	conf.command = "node";
	conf.args = args;
	start_host(&h, &conf);
	t = hf_mcp_host_tools(h, 0);
	assert_true(has_tool(t, "read_text_file"));
	assert_true(has_tool(t, "list_directory"));
	hf_mcp_tools_release(t);

	snprintf(json, sizeof(json), "{\"path\":\"%s\"}", file);
	call_ok(h, "read_text_file", json, &c);
	assert_string_equal(c.text, "hello from a file\nline two\n");
	ts_mcp_call_dispose(&c);

	snprintf(json, sizeof(json), "{\"path\":\"%s\"}", real);
	call_ok(h, "list_directory", json, &c);
	assert_string_equal(c.text, "[FILE] a.txt");
	ts_mcp_call_dispose(&c);

	/* outside the allowed directory: the server's error, for the model */
	ts_mcp_call_init(&c);
	ts_mcp_call_run(&c, h, 0, "read_text_file", "{\"path\":\"/etc/hostname\"}", 30000);
	assert_int_equal(c.code, HF_OK);
	assert_true(c.is_error);
	assert_true(ts_contains(c.text, "denied"));
	ts_mcp_call_dispose(&c);

	hf_mcp_host_free(h);
	ts_rmtree(dir);
	free(dir);
	free(real);
	free(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_everything_stdio),
		cmocka_unit_test(test_everything_http),
		cmocka_unit_test(test_filesystem),
	};
	hf_global_init(NULL);
	return cmocka_run_group_tests(tests, setup, NULL);
}

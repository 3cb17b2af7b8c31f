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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVERYTHING TS_EVERYTHING
#define FILESYSTEM TS_FILESYSTEM

static int setup(void **state)
{
	(void)state;
	ts_npm_install();
	return 0;
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
	ts_npm_need();
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
	char url[64];
	int port, pid;
	(void)state;
	ts_npm_need();
	pid = ts_everything_http_start(&port, log);
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
	ts_everything_http_stop(pid);
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
	ts_npm_need();
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

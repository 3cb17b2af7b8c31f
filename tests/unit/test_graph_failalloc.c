/*
 * test_graph_failalloc.c - every allocation of loading and exporting a
 * graph fails in turn: the call must return HF_ENOMEM (or succeed when the
 * failure hit nothing), leak nothing (ASan) and leave no half-made graph.
 * Needs a build with -DHANDOFF_FAILALLOC=ON; skipped otherwise.
 */
#include "support.h"

#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define SWEEP_MAX 100000

static const char invalid[] = "entry: A\nmodel: m\nagents:\n  - name: A\n    handoffs: [B, C]\n"
                              "    instruction: x\n  - name: B\n    handoffs: [A]\n  - name: A\n";

/* Tools: MCP servers with every key, each form of tools and tool_use;
 * and the same with the problems that need the whole graph. */
static const char tools_ok[] =
	"entry: A\nmodel: m\ntool_errors: fail\n"
	"mcp_servers:\n"
	"  files: {command: npx, args: [-y, x], env: {LANG: C, T: \"${T}\"}, timeout: 30s,\n"
	"          allow: [read], deny: [write], cwd: data}\n"
	"  web: {url: \"http://h/mcp\", headers: {Authorization: \"Bearer ${K}\"}}\n"
	"agents:\n"
	"  - name: A\n    handoffs: [B]\n    tools: [files.read, web.*, cb]\n"
	"    tool_use: {stop_at: [cb, read]}\n"
	"  - name: B\n    tools: [files.*]\n    tool_use: stop_on_first_tool\n";
static const char tools_invalid[] =
	"entry: A\nmodel: m\n"
	"mcp_servers: {files: {command: x, url: \"http://h\"}, fil: {command: y}}\n"
	"agents:\n"
	"  - name: A\n    handoffs: [B]\n    tools: [fils.read, transfer_to_b, cb, cb]\n"
	"    tool_use: {stop_at: [cbb, zzz]}\n"
	"  - name: B\n    tool_use: {stop_at: [x]}\n";

/* Run fn with the n-th allocation failing, n = 1, 2, ... until a run
 * makes fewer than n allocations. Returns the number of runs. */
static unsigned long sweep(int (*fn)(void), int ok_rc)
{
	unsigned long n;
	for (n = 1; n < SWEEP_MAX; n++) {
		int rc;
		hf_failalloc_set(n);
		rc = fn();
		if (hf_failalloc_count() < n) { /* nothing failed: the normal result */
			hf_failalloc_set(0);
			assert_int_equal(rc, ok_rc);
			return n;
		}
		if (rc != HF_ENOMEM && rc != ok_rc)
			fail_msg("allocation %lu failed and the call returned %d", n, rc);
	}
	hf_failalloc_set(0);
	fail_msg("no end to the allocations");
	return n;
}

static int load_default(void)
{
	hf_graph *g = NULL;
	hf_diag *d = NULL;
	hf_error err;
	int rc = hf_graph_load(&g, HF_SOURCE_DIR "/agents", &d, &err);
	assert_true(rc == HF_OK ? g != NULL : g == NULL);
	hf_graph_free(g);
	hf_diag_free(d);
	return rc;
}

static int load_invalid(void)
{
	hf_graph *g = NULL;
	hf_diag *d = NULL;
	hf_error err;
	int rc = hf_graph_load_string(&g, invalid, strlen(invalid), "t.yaml", &d, &err);
	assert_null(g);
	hf_diag_free(d);
	return rc;
}

static int load_tools_text(const char *yaml, bool ok)
{
	hf_graph *g = NULL;
	hf_diag *d = NULL;
	hf_error err;
	int rc = hf_graph_load_string(&g, yaml, strlen(yaml), "t.yaml", &d, &err);
	assert_true(rc == HF_OK && ok ? g != NULL : g == NULL);
	hf_graph_free(g);
	hf_diag_free(d);
	return rc;
}

static int load_tools(void)
{
	return load_tools_text(tools_ok, true);
}

static int load_tools_invalid(void)
{
	return load_tools_text(tools_invalid, false);
}

static hf_graph *exported; /* loaded once, outside the sweep */

static int export_all(void)
{
	hf_error err;
	int rc = HF_OK, f;
	for (f = HF_GRAPH_MERMAID; f <= HF_GRAPH_JSON && !rc; f++) {
		char *out = NULL;
		rc = hf_graph_export(&out, exported, (hf_graph_format)f, &err);
		assert_true(rc == HF_OK ? out != NULL : out == NULL);
		hf_free(out);
	}
	return rc;
}

static bool failalloc_build(void)
{
	hf_failalloc_set(0);
	load_default();
	return hf_failalloc_count() > 0;
}

static void test_load(void **state)
{
	(void)state;
	if (!failalloc_build())
		skip();
	assert_true(sweep(load_default, HF_OK) > 10);
	assert_true(sweep(load_invalid, HF_ECONFIG) > 10);
	assert_true(sweep(load_tools, HF_OK) > 10);
	assert_true(sweep(load_tools_invalid, HF_ECONFIG) > 10);
}

static void test_export(void **state)
{
	hf_error err;
	(void)state;
	if (!failalloc_build())
		skip();
	assert_int_equal(hf_graph_load(&exported, HF_SOURCE_DIR "/agents", NULL, &err), HF_OK);
	assert_true(sweep(export_all, HF_OK) > 10);
	hf_graph_free(exported);
	assert_int_equal(hf_graph_load_string(&exported, tools_ok, strlen(tools_ok), "t.yaml", NULL,
	                                      &err),
	                 HF_OK);
	assert_true(sweep(export_all, HF_OK) > 10);
	hf_graph_free(exported);
}

static int setup(void **state)
{
	hf_error err;
	(void)state;
	return hf_global_init(&err); /* cJSON allocates through hf_malloc from here */
}

static int teardown(void **state)
{
	(void)state;
	hf_global_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_export),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

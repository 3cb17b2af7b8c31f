/*
 * test_client_config.c - endpoint resolution: flags > environment > graph
 * file > defaults, the API key sources and the key file's mode check, and
 * the messages that say what to set.
 */
#include "support.h"

#include "call.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const vars[] = {
	"HANDOFF_BASE_URL", "OPENAI_BASE_URL", "HANDOFF_API_KEY", "OPENAI_API_KEY",
	"HANDOFF_API_KEY_FILE", "HANDOFF_PROVIDER", "HANDOFF_COMPUTE_PROVIDER", "HANDOFF_TIMEOUT",
	"HANDOFF_AUTH", "GRAPH_KEY", "FLAG_KEY",
};

static int clear_env(void **state)
{
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	return 0;
}

/* A graph whose file set every endpoint key. */
static void graph_with_endpoint(hf_graph *g)
{
	memset(g, 0, sizeof(*g));
	g->endpoint.base_url = "http://graph.test/compute";
	g->endpoint.api_key_env = "GRAPH_KEY";
	g->endpoint.provider = "GraphProvider";
	g->endpoint.compute_provider = "GraphCompute";
	g->endpoint.connect_timeout_ms = 3000;
	g->endpoint.timeout_ms = 30000;
	g->endpoint.idle_timeout_ms = 4000;
	g->endpoint.max_retries = 5;
}

static void test_defaults(void **state)
{
	hf_client_options o = HF_CLIENT_OPTIONS_INIT;
	hf_endpoint ep;
	hf_error err;
	(void)state;
	o.base_url = "http://127.0.0.1:9/v1///";
	assert_int_equal(hf_endpoint_resolve(&ep, &o, NULL, &err), HF_OK);
	assert_string_equal(ep.base_url, "http://127.0.0.1:9/v1");
	assert_null(ep.api_key);
	assert_int_equal(ep.auth, HF_AUTH_BEARER);
	assert_null(ep.provider);
	assert_null(ep.compute_provider);
	assert_int_equal(ep.connect_timeout_ms, 10000);
	assert_int_equal(ep.timeout_ms, 600000);
	assert_int_equal(ep.idle_timeout_ms, 60000);
	assert_int_equal(ep.max_retries, 2);
	assert_int_equal(ep.max_retry_after_ms, 60000);
	assert_int_equal(ep.max_response_bytes, 8u << 20);
	assert_false(ep.insecure);
	assert_string_equal(ep.user_agent, "handoff/" HF_VERSION_STRING);
	assert_null(ep.headers[0]);
	hf_endpoint_dispose(&ep);
}

static void test_missing_base_url(void **state)
{
	hf_endpoint ep;
	hf_error err;
	(void)state;
	assert_int_equal(hf_endpoint_resolve(&ep, NULL, NULL, &err), HF_ECONFIG);
	/* The library's words: the option field and the variables, no CLI flag
	 * (the command adds --base-url as a hint). */
	assert_string_equal(err.message,
	                    "no endpoint: set base_url in hf_client_options, HANDOFF_BASE_URL (or "
	                    "OPENAI_BASE_URL), or base_url in the graph file");
	assert_false(ts_contains(err.message, "--"));
	setenv("HANDOFF_BASE_URL", "ftp://example.test", 1);
	assert_int_equal(hf_endpoint_resolve(&ep, NULL, NULL, &err), HF_ECONFIG);
	assert_true(ts_contains(err.message, "must start with http:// or https://"));
}

/* The graph fills in everything, the environment overrides it, flags
 * override both. */
static void test_precedence(void **state)
{
	hf_client_options o = HF_CLIENT_OPTIONS_INIT;
	hf_endpoint ep;
	hf_error err;
	hf_graph g;
	(void)state;
	graph_with_endpoint(&g);

	setenv("GRAPH_KEY", "graph-key", 1);
	assert_int_equal(hf_endpoint_resolve(&ep, NULL, &g, &err), HF_OK);
	assert_string_equal(ep.base_url, "http://graph.test/compute");
	assert_string_equal(ep.api_key, "graph-key");
	assert_string_equal(ep.provider, "GraphProvider");
	assert_string_equal(ep.compute_provider, "GraphCompute");
	assert_int_equal(ep.connect_timeout_ms, 3000);
	assert_int_equal(ep.timeout_ms, 30000);
	assert_int_equal(ep.idle_timeout_ms, 4000);
	assert_int_equal(ep.max_retries, 5);
	hf_endpoint_dispose(&ep);

	setenv("OPENAI_BASE_URL", "http://openai-env.test/v1", 1);
	assert_int_equal(hf_endpoint_resolve(&ep, NULL, &g, &err), HF_OK);
	assert_string_equal(ep.base_url, "http://openai-env.test/v1");
	hf_endpoint_dispose(&ep);

	setenv("HANDOFF_BASE_URL", "http://env.test/v1/", 1);
	setenv("HANDOFF_PROVIDER", "EnvProvider", 1);
	setenv("HANDOFF_COMPUTE_PROVIDER", "EnvCompute", 1);
	setenv("HANDOFF_TIMEOUT", "2.5", 1);
	assert_int_equal(hf_endpoint_resolve(&ep, NULL, &g, &err), HF_OK);
	assert_string_equal(ep.base_url, "http://env.test/v1");
	assert_string_equal(ep.provider, "EnvProvider");
	assert_string_equal(ep.compute_provider, "EnvCompute");
	assert_int_equal(ep.timeout_ms, 2500);
	hf_endpoint_dispose(&ep);

	o.base_url = "https://flag.test/compute";
	o.provider = "FlagProvider";
	o.compute_provider = "FlagCompute";
	o.timeout_ms = 7000;
	o.connect_timeout_ms = 700;
	o.idle_timeout_ms = 800;
	o.max_retries = 0;
	assert_int_equal(hf_endpoint_resolve(&ep, &o, &g, &err), HF_OK);
	assert_string_equal(ep.base_url, "https://flag.test/compute");
	assert_string_equal(ep.provider, "FlagProvider");
	assert_string_equal(ep.compute_provider, "FlagCompute");
	assert_int_equal(ep.timeout_ms, 7000);
	assert_int_equal(ep.connect_timeout_ms, 700);
	assert_int_equal(ep.idle_timeout_ms, 800);
	assert_int_equal(ep.max_retries, 0);
	hf_endpoint_dispose(&ep);

	setenv("HANDOFF_TIMEOUT", "soon", 1);
	assert_int_equal(hf_endpoint_resolve(&ep, NULL, &g, &err), HF_ECONFIG);
	assert_true(ts_contains(err.message, "HANDOFF_TIMEOUT"));
	assert_true(ts_contains(err.message, "'soon'"));
}

static void test_key_sources(void **state)
{
	hf_client_options o = HF_CLIENT_OPTIONS_INIT;
	hf_endpoint ep;
	hf_error err;
	hf_graph g;
	(void)state;
	graph_with_endpoint(&g);
	o.base_url = "http://127.0.0.1:9/v1";
	o.require_key = 1;

	assert_int_equal(hf_endpoint_resolve(&ep, &o, NULL, &err), HF_ECONFIG);
	assert_string_equal(err.message,
	                    "no API key: set HANDOFF_API_KEY (or OPENAI_API_KEY) or "
	                    "HANDOFF_API_KEY_FILE (a key file), or set api_key_env or api_key_file "
	                    "in hf_client_options");
	assert_int_equal(hf_endpoint_resolve(&ep, &o, &g, &err), HF_ECONFIG);
	assert_string_equal(err.message,
	                    "no API key: set GRAPH_KEY (named by api_key_env in the graph file) or "
	                    "HANDOFF_API_KEY_FILE (a key file), or set api_key_env or api_key_file "
	                    "in hf_client_options");
	/* The default graph names HANDOFF_API_KEY itself: said once, no flag. */
	g.endpoint.api_key_env = "HANDOFF_API_KEY";
	assert_int_equal(hf_endpoint_resolve(&ep, &o, &g, &err), HF_ECONFIG);
	assert_non_null(strstr(err.message, "HANDOFF_API_KEY "));
	assert_null(strstr(strstr(err.message, "HANDOFF_API_KEY ") + 1, "HANDOFF_API_KEY "));
	assert_false(ts_contains(err.message, "--"));
	g.endpoint.api_key_env = "GRAPH_KEY";

	setenv("OPENAI_API_KEY", "openai-key", 1);
	assert_int_equal(hf_endpoint_resolve(&ep, &o, &g, &err), HF_OK);
	assert_string_equal(ep.api_key, "openai-key");
	hf_endpoint_dispose(&ep);
	setenv("HANDOFF_API_KEY", "handoff-key", 1);
	assert_int_equal(hf_endpoint_resolve(&ep, &o, &g, &err), HF_OK);
	assert_string_equal(ep.api_key, "handoff-key");
	hf_endpoint_dispose(&ep);
	setenv("GRAPH_KEY", "graph-key", 1);
	assert_int_equal(hf_endpoint_resolve(&ep, &o, &g, &err), HF_OK);
	assert_string_equal(ep.api_key, "graph-key");
	hf_endpoint_dispose(&ep);

	/* A variable named by a flag is used alone: an unset one is an error. */
	o.api_key_env = "FLAG_KEY";
	assert_int_equal(hf_endpoint_resolve(&ep, &o, &g, &err), HF_ECONFIG);
	assert_string_equal(err.message, "no API key: the variable FLAG_KEY (named by api_key_env "
	                                 "in hf_client_options) is not set");
	assert_false(ts_contains(err.message, "graph-key"));
	setenv("FLAG_KEY", "flag-key", 1);
	assert_int_equal(hf_endpoint_resolve(&ep, &o, &g, &err), HF_OK);
	assert_string_equal(ep.api_key, "flag-key");
	hf_endpoint_dispose(&ep);

	o.api_key = "direct-key";
	assert_int_equal(hf_endpoint_resolve(&ep, &o, &g, &err), HF_OK);
	assert_string_equal(ep.api_key, "direct-key");
	hf_endpoint_dispose(&ep);

	o.api_key = "bad\nkey";
	assert_int_equal(hf_endpoint_resolve(&ep, &o, &g, &err), HF_ECONFIG);
	assert_false(ts_contains(err.message, "bad"));
}

static void test_key_file(void **state)
{
	hf_client_options o = HF_CLIENT_OPTIONS_INIT;
	char *dir = ts_tmpdir(), *path = ts_path(dir, "key"), expect[4096];
	hf_endpoint ep;
	hf_error err;
	(void)state;
	o.base_url = "http://127.0.0.1:9/v1";
	setenv("HANDOFF_API_KEY", "env-key", 1);

	ts_write(path, "  file-key-123 \nsecond line\n");
	chmod(path, 0644);
	o.api_key_file = path;
	assert_int_equal(hf_endpoint_resolve(&ep, &o, NULL, &err), HF_ECONFIG);
	snprintf(expect, sizeof(expect), "%s has mode 0644; run chmod 600 %s", path, path);
	assert_true(ts_contains(err.message, expect));
	assert_false(ts_contains(err.message, "file-key-123"));

	chmod(path, 0600);
	assert_int_equal(hf_endpoint_resolve(&ep, &o, NULL, &err), HF_OK);
	assert_string_equal(ep.api_key, "file-key-123");
	hf_endpoint_dispose(&ep);
	chmod(path, 0400);
	o.api_key_file = NULL;
	setenv("HANDOFF_API_KEY_FILE", path, 1);
	assert_int_equal(hf_endpoint_resolve(&ep, &o, NULL, &err), HF_OK);
	assert_string_equal(ep.api_key, "file-key-123");
	hf_endpoint_dispose(&ep);

	o.api_key_file = dir;
	assert_int_equal(hf_endpoint_resolve(&ep, &o, NULL, &err), HF_ECONFIG);
	assert_true(ts_contains(err.message, "not a regular file"));
	chmod(path, 0600);
	ts_write(path, "\n");
	o.api_key_file = path;
	assert_int_equal(hf_endpoint_resolve(&ep, &o, NULL, &err), HF_ECONFIG);
	assert_true(ts_contains(err.message, "no key"));
	o.api_key_file = "/nonexistent/handoff-key";
	assert_int_equal(hf_endpoint_resolve(&ep, &o, NULL, &err), HF_ECONFIG);
	assert_true(ts_contains(err.message, "/nonexistent/handoff-key"));

	ts_rmtree(dir);
	free(path);
	free(dir);
}

static void test_auth_and_headers(void **state)
{
	hf_client_options o = HF_CLIENT_OPTIONS_INIT;
	const char *const good[] = { "X-Trace: 1", "X-Other: two words", NULL };
	const char *const bad[] = { "X-Evil: 1\r\nAuthorization: x", NULL };
	hf_endpoint ep;
	hf_error err;
	(void)state;
	o.base_url = "http://127.0.0.1:9/v1";

	setenv("HANDOFF_AUTH", "x-api-key", 1);
	assert_int_equal(hf_endpoint_resolve(&ep, &o, NULL, &err), HF_OK);
	assert_int_equal(ep.auth, HF_AUTH_X_API_KEY);
	hf_endpoint_dispose(&ep);
	setenv("HANDOFF_AUTH", "both", 1);
	assert_int_equal(hf_endpoint_resolve(&ep, &o, NULL, &err), HF_OK);
	assert_int_equal(ep.auth, HF_AUTH_BEARER | HF_AUTH_X_API_KEY);
	hf_endpoint_dispose(&ep);
	o.auth = HF_AUTH_BEARER;
	assert_int_equal(hf_endpoint_resolve(&ep, &o, NULL, &err), HF_OK);
	assert_int_equal(ep.auth, HF_AUTH_BEARER);
	hf_endpoint_dispose(&ep);
	o.auth = 0;
	setenv("HANDOFF_AUTH", "basic", 1);
	assert_int_equal(hf_endpoint_resolve(&ep, &o, NULL, &err), HF_ECONFIG);
	assert_true(ts_contains(err.message, "bearer, x-api-key or both"));
	unsetenv("HANDOFF_AUTH");

	o.headers = good;
	assert_int_equal(hf_endpoint_resolve(&ep, &o, NULL, &err), HF_OK);
	assert_string_equal(ep.headers[0], "X-Trace: 1");
	assert_string_equal(ep.headers[1], "X-Other: two words");
	assert_null(ep.headers[2]);
	hf_endpoint_dispose(&ep);
	o.headers = bad;
	assert_int_equal(hf_endpoint_resolve(&ep, &o, NULL, &err), HF_EINVAL);
	/* a refused header's value may be a credential: it is not shown */
	const char *const secret[] = { "X-Trace: 1", "api-key: hidden-value-42\r", NULL };
	o.headers = secret;
	assert_int_equal(hf_endpoint_resolve(&ep, &o, NULL, &err), HF_EINVAL);
	assert_true(ts_contains(err.message, "extra header 2"));
	assert_false(ts_contains(err.message, "hidden-value-42"));
}

/* hf_client_base_url shows the base URL without its user and password. */
static void test_base_url_shown(void **state)
{
	hf_client_options o = HF_CLIENT_OPTIONS_INIT;
	hf_client *c;
	hf_error err;
	(void)state;
	o.base_url = "http://user:pa55word@127.0.0.1:9/v1/";
	o.api_key = "k";
	assert_int_equal(hf_client_new(&c, &o, NULL, &err), HF_OK);
	assert_false(ts_contains(hf_client_base_url(c), "pa55word"));
	assert_false(ts_contains(hf_client_base_url(c), "user"));
	assert_true(ts_contains(hf_client_base_url(c), "127.0.0.1:9/v1"));
	hf_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, clear_env),
		cmocka_unit_test_setup(test_missing_base_url, clear_env),
		cmocka_unit_test_setup(test_precedence, clear_env),
		cmocka_unit_test_setup(test_key_sources, clear_env),
		cmocka_unit_test_setup(test_key_file, clear_env),
		cmocka_unit_test_setup(test_auth_and_headers, clear_env),
		cmocka_unit_test_setup(test_base_url_shown, clear_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

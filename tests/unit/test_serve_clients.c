/*
 * test_serve_clients.c - handoff-serve (started on port 0 with
 * --ready-file) over the real mock endpoint, driven by real clients:
 * the official `openai` npm client and the OpenAI Agents SDK for
 * JavaScript (the scripts in tests/serve, pinned in tests/npm, installed by
 * tests/npm/install; skipped with the reason only when that exits 77),
 * plus libcurl for what the scripts cannot arrange: SIGTERM with streams
 * in flight (each finishes, or is cut with an error chunk; nothing partial
 * is stored) and 429 over --max-in-flight.
 */
#include "support.h"
#include "support_mcp.h"
#include "support_serve.h"

#include <curl/curl.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef ts_served served;

/* ---- the node scripts ---- */

/* Run node tests/serve/SCRIPT ARGS... (NULL-terminated, may be NULL)
 * against s (HANDOFF_SERVE_URL, and HANDOFF_SERVE_KEY when key is set);
 * fail with its output unless it exits 0. */
static void node_run_key(served *s, const char *script, const char *const *args, const char *key)
{
	const char *argv[16];
	size_t n = 0, i;
	char path[1024], *out_path = ts_path(s->dir, "node.out"), *out;
	int st = 0;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/tests/serve/%s", HF_SOURCE_DIR, script);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fo, 1);
		dup2(fo, 2);
		setenv("HANDOFF_SERVE_URL", s->url, 1);
		if (key)
			setenv("HANDOFF_SERVE_KEY", key, 1);
		argv[n++] = "node";
		argv[n++] = path;
		for (i = 0; args && args[i] && n + 1 < sizeof(argv) / sizeof(argv[0]); i++)
			argv[n++] = args[i];
		argv[n] = NULL;
		execvp("node", (char *const *)argv);
		_exit(127);
	}
	ts_wait_child(pid, &st);
	out = ts_read(out_path, NULL);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("node %s %s failed (status %d):\n%s", script, args && args[0] ? args[0] : "",
		         st, out ? out : "(no output)");
	free(out);
	free(out_path);
}

static void node_run_args(served *s, const char *script, const char *const *args)
{
	node_run_key(s, script, args, NULL);
}

static void node_run(served *s, const char *script, const char *kase, const char *key)
{
	const char *args[] = { kase, NULL };
	node_run_key(s, script, args, key);
}

static void test_openai_client(void **state)
{
	served s;
	char holder[128];
	(void)state;

	ts_npm_need();
	ts_serve_start(&s, NULL, NULL, NULL);
	node_run(&s, "openai_client.mjs", "main", NULL);
	/* The sticky session as the store holds it: two turns, the first
	 * handed off (4 messages), the second answered at once (2 more). */
	assert_int_equal(ts_serve_stored(&s, "conv-js", holder, sizeof(holder)), 6);
	assert_string_equal(holder, "Spanish agent");
	assert_int_equal(ts_serve_stored(&s, "conv-js-2", holder, sizeof(holder)), 4);
	assert_string_equal(holder, "English agent");
	ts_serve_stop(&s);
}

static void test_openai_client_auth(void **state)
{
	static const char key[] = "sk-client-test-key-5e1d";
	served s;
	char *dir, *keys, args_keys[1024];
	const char *args[] = { "--keys-file", args_keys, NULL };
	(void)state;

	ts_npm_need();
	dir = ts_tmpdir();
	keys = ts_path(dir, "keys");
	ts_write(keys, "# clients\nsk-other-key\n");
	{
		FILE *f = fopen(keys, "a");
		assert_non_null(f);
		fprintf(f, "%s\n", key);
		fclose(f);
	}
	assert_int_equal(chmod(keys, 0600), 0);
	snprintf(args_keys, sizeof(args_keys), "%s", keys);
	ts_serve_start(&s, NULL, NULL, args);
	node_run(&s, "openai_client.mjs", "auth", key);
	ts_serve_stop(&s);
	ts_rmtree(dir);
	free(dir);
	free(keys);
}

/* ---- the turns in flight gauge ---- */


static bool none_in_flight(void *arg)
{
	return ts_serve_in_flight(arg) == 0;
}

static void test_openai_client_busy_409(void **state)
{
	served s;
	(void)state;

	ts_npm_need();
	ts_serve_start(&s, "[{\"fault\":\"stall;ms=60000\"}]", NULL, NULL);
	node_run(&s, "openai_client.mjs", "busy", NULL);
	/* The abandoned turn is cancelled and stores nothing. */
	ts_wait_until(none_in_flight, &s, "the abandoned turn to end");
	assert_int_equal(ts_serve_stored(&s, "conv-busy", NULL, 0), -1);
	ts_serve_stop(&s);
}

/* One upstream fault row: the scenario fails every upstream call of two
 * requests (streaming and not); the openai client sees status and code,
 * and the session stays unstored. env: one "K=V" for the server, or NULL;
 * calls: the upstream calls the mock must have seen, or -1. */
static void upstream_row(const char *scenario, const char *env, const char *status,
                         const char *code, const char *says, long calls)
{
	served s;
	char *k = NULL;

	ts_npm_need();
	if (env) {
		k = strdup(env);
		*strchr(k, '=') = '\0';
		setenv(k, strchr(env, '=') + 1, 1); /* the server inherits it */
	}
	ts_serve_start(&s, scenario, NULL, NULL);
	if (k) {
		unsetenv(k);
		free(k);
	}
	node_run_args(&s, "openai_client.mjs", (const char *const[]){ "upstream", status, code, says,
	                                                              NULL });
	if (calls >= 0)
		assert_int_equal(hf_mock_log_count(s.mock), calls);
	assert_int_equal(ts_serve_stored(&s, "conv-up", NULL, 0), -1);
	ts_serve_stop(&s);
}

static void test_openai_client_upstream_500(void **state)
{
	(void)state;
	/* Two requests, each the first try and two retries upstream. */
	upstream_row("[{\"fault\":\"500\",\"repeat\":6}]", NULL, "502", "upstream_http", "HTTP 500",
	             6);
}

static void test_openai_client_upstream_429(void **state)
{
	(void)state;
	upstream_row("[{\"fault\":\"429;ms=10\",\"repeat\":6}]", NULL, "502", "upstream_http",
	             "HTTP 429", -1);
}

static void test_openai_client_upstream_drop(void **state)
{
	(void)state;
	upstream_row("[{\"fault\":\"drop\",\"repeat\":6}]", NULL, "502", "upstream_network", ".",
	             -1);
}

static void test_openai_client_upstream_timeout(void **state)
{
	(void)state;
	upstream_row("[{\"fault\":\"stall;ms=20000\",\"repeat\":6}]", "HANDOFF_TIMEOUT=0.3", "504",
	             "upstream_timeout", "timed out", -1);
}

static void test_agents_sdk(void **state)
{
	served s;
	hf_store *st = NULL;
	hf_error err;
	char *latest = NULL;
	(void)state;

	ts_npm_need();
	ts_serve_start(&s, NULL, NULL, NULL);
	node_run(&s, "agents_sdk.mjs", NULL, NULL);
	/* The SDK sends no session: stateless, nothing stored. */
	assert_int_equal(hf_store_open_sqlite_readonly(&st, s.db, &err), 0);
	assert_int_equal(hf_store_latest(&latest, st, &err), HF_ENOTFOUND);
	hf_store_free(st);
	ts_serve_stop(&s);
}

/* ---- requests on their own threads (libcurl) ---- */

typedef struct bg {
	served *s;
	const char *session;
	bool stream;
	atomic_bool hang_up;
	pthread_mutex_t mu;
	char *body; /* what arrived so far, under mu */
	size_t len;
	long status;
	int curl_code;
	pthread_t th;
} bg;

static size_t bg_write(char *p, size_t sz, size_t n, void *u)
{
	bg *g = u;
	char *nb;

	pthread_mutex_lock(&g->mu);
	nb = realloc(g->body, g->len + sz * n + 1);
	if (nb) {
		memcpy(nb + g->len, p, sz * n);
		g->len += sz * n;
		nb[g->len] = '\0';
		g->body = nb;
	}
	pthread_mutex_unlock(&g->mu);
	return nb ? sz * n : 0;
}

static int bg_progress(void *u, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	bg *g = u;
	(void)a, (void)b, (void)c, (void)d;
	return atomic_load(&g->hang_up) ? 1 : 0;
}

static void *bg_run(void *arg)
{
	bg *g = arg;
	CURL *h = curl_easy_init();
	struct curl_slist *hl = NULL;
	char url[256], hdr[256], body[256];

	snprintf(url, sizeof(url), "%s/v1/chat/completions", g->s->url);
	snprintf(hdr, sizeof(hdr), "X-Handoff-Session: %s", g->session);
	snprintf(body, sizeof(body), "{\"model\":\"support\",\"stream\":%s,\"messages\":"
	                             "[{\"role\":\"user\",\"content\":\"Hello, how are you?\"}]}",
	         g->stream ? "true" : "false");
	hl = curl_slist_append(hl, hdr);
	hl = curl_slist_append(hl, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, bg_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, g);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, bg_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, g);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)TS_SAFETY_MS);
	g->curl_code = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &g->status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	return NULL;
}

static void bg_start(bg *g, served *s, const char *session, bool stream)
{
	memset(g, 0, sizeof(*g));
	g->s = s;
	g->session = session;
	g->stream = stream;
	pthread_mutex_init(&g->mu, NULL);
	assert_int_equal(pthread_create(&g->th, NULL, bg_run, g), 0);
}

static void bg_join(bg *g)
{
	pthread_join(g->th, NULL);
}

static void bg_dispose(bg *g)
{
	pthread_mutex_destroy(&g->mu);
	free(g->body);
}

static bool three_in_flight(void *arg)
{
	return ts_serve_in_flight(arg) == 3;
}

static bool one_in_flight(void *arg)
{
	return ts_serve_in_flight(arg) == 1;
}

/* A stream that ended complete: a finish_reason "stop" chunk and [DONE],
 * no error chunk. */
static void assert_stream_complete(const bg *g)
{
	assert_int_equal(g->curl_code, CURLE_OK);
	assert_int_equal(g->status, 200);
	assert_true(ts_contains(g->body, "\"finish_reason\":\"stop\""));
	assert_true(ts_contains(g->body, "data: [DONE]"));
	assert_false(ts_contains(g->body, "\"error\""));
}

/* SIGTERM while three streams wait on the upstream: the server stops
 * accepting, each stream finishes within the grace period and is stored
 * whole, and the server exits 0. */
static void test_sigterm_streams_finish(void **state)
{
	static const char *const args[] = { "--grace", "30s", NULL };
	static const char *const sessions[] = { "drain-a", "drain-b", "drain-c" };
	served s;
	bg g[3];
	int st = 0;
	size_t i;
	char holder[128];
	(void)state;

	/* The three first upstream calls (the triage calls) stall a while: the
	 * turns are in flight when the signal comes (the wait below sees all
	 * three in flight well within it). */
	ts_serve_start(&s, "[{\"fault\":\"stall;ms=3000\",\"repeat\":3}]", NULL, args);
	for (i = 0; i < 3; i++)
		bg_start(&g[i], &s, sessions[i], true);
	ts_wait_until(three_in_flight, &s, "three streams in flight");
	kill(s.pid, SIGTERM);
	for (i = 0; i < 3; i++) {
		bg_join(&g[i]);
		assert_stream_complete(&g[i]);
		bg_dispose(&g[i]);
	}
	ts_wait_child(s.pid, &st);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(ts_serve_stored(&s, sessions[i], holder, sizeof(holder)), 4);
		assert_string_equal(holder, "English agent");
	}
	ts_serve_free(&s);
}

static bool stream_started(void *arg)
{
	bg *g = arg;
	bool yes;

	pthread_mutex_lock(&g->mu);
	yes = g->body && ts_contains(g->body, "moment.");
	pthread_mutex_unlock(&g->mu);
	return yes;
}

/* SIGTERM while a started stream waits on the upstream past the grace
 * period: the stream is cut with a shutting_down error chunk and [DONE],
 * nothing of the turn is stored, the server exits 0. */
static void test_sigterm_cuts_started_stream(void **state)
{
	static const char *const args[] = { "--grace", "200ms", NULL };
	served s;
	bg g;
	int st = 0;
	char *err_at;
	(void)state;

	/* Triage writes text and hands off; the English agent's call stalls. */
	ts_serve_start(&s, "[{\"content\":\"One moment.\",\"tool_calls\":[{\"id\":\"c1\","
	                   "\"name\":\"transfer_to_english_agent\"}]},"
	                   "{\"fault\":\"stall;ms=60000\"}]", NULL, args);
	bg_start(&g, &s, "drain-cut", true);
	ts_wait_until(stream_started, &g, "the stream's first text");
	kill(s.pid, SIGTERM);
	bg_join(&g);
	assert_int_equal(g.curl_code, CURLE_OK);
	assert_int_equal(g.status, 200);
	assert_false(ts_contains(g.body, "\"finish_reason\":\"stop\""));
	err_at = strstr(g.body, "\"error\":");
	assert_non_null(err_at);
	assert_true(ts_contains(err_at, "\"code\":\"shutting_down\""));
	assert_true(ts_contains(err_at, "data: [DONE]"));
	bg_dispose(&g);
	ts_wait_child(s.pid, &st);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(ts_serve_stored(&s, "drain-cut", NULL, 0), -1);
	ts_serve_free(&s);
}

/* --max-in-flight 1: a second turn while one runs gets 429 with
 * Retry-After, in OpenAI's error shape; once the first is gone, turns run
 * again. */
static void test_max_in_flight_429(void **state)
{
	static const char *const args[] = { "--max-in-flight", "1", NULL };
	served s;
	bg g;
	tm_resp r;
	cJSON *j, *e;
	char url[256], *ra;
	const char *headers[] = { "Content-Type: application/json", NULL };
	const char *body = "{\"model\":\"support\",\"messages\":[{\"role\":\"user\","
	                   "\"content\":\"Hello\"}]}";
	(void)state;

	ts_serve_start(&s, "[{\"fault\":\"stall;ms=60000\"}]", NULL, args);
	bg_start(&g, &s, "conv-429", false);
	ts_wait_until(one_in_flight, &s, "the first turn in flight");
	snprintf(url, sizeof(url), "%s/v1/chat/completions", s.url);
	tm_http(&r, "POST", url, body, headers, 10000);
	assert_int_equal(r.status, 429);
	ra = tm_header(&r, "Retry-After");
	assert_non_null(ra);
	assert_true(atoi(ra) >= 1);
	free(ra);
	j = tm_json(&r);
	e = cJSON_GetObjectItem(j, "error");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(e, "type")), "rate_limit_error");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(e, "code")), "too_many_turns");
	cJSON_Delete(j);
	tm_resp_dispose(&r);

	atomic_store(&g.hang_up, true);
	bg_join(&g);
	bg_dispose(&g);
	ts_wait_until(none_in_flight, &s, "the first turn to end");
	tm_http(&r, "POST", url, body, headers, 30000);
	assert_int_equal(r.status, 200);
	tm_resp_dispose(&r);
	ts_serve_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openai_client),
		cmocka_unit_test(test_openai_client_auth),
		cmocka_unit_test(test_openai_client_busy_409),
		cmocka_unit_test(test_openai_client_upstream_500),
		cmocka_unit_test(test_openai_client_upstream_429),
		cmocka_unit_test(test_openai_client_upstream_drop),
		cmocka_unit_test(test_openai_client_upstream_timeout),
		cmocka_unit_test(test_agents_sdk),
		cmocka_unit_test(test_sigterm_streams_finish),
		cmocka_unit_test(test_sigterm_cuts_started_stream),
		cmocka_unit_test(test_max_in_flight_429),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

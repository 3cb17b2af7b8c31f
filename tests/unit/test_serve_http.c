/*
 * test_serve_http.c - handoff serve's HTTP side, against the real program:
 * handoff-serve started as a child on 127.0.0.1 port 0 (it writes its URL
 * to --ready-file), spoken to with libcurl. Routes and their bodies, error
 * shapes, client keys, limits, the metrics text, signals (SIGHUP reload,
 * SIGTERM drain) and the access log.
 */
#include "support.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#ifndef HF_SERVE_PATH
#define HF_SERVE_PATH "handoff-serve"
#endif

#define KEY1 "ck-test-first-0123456789"
#define KEY2 "ck-test-second-abcdefghij"

typedef struct server {
	char *dir;     /* temporary: graph, ready file, stderr, store */
	char *graph;   /* dir/support: a one-agent graph, model id "support" */
	pid_t pid;
	char url[128];
} server;

/* A valid one-agent graph in dir/support (entry `entry`). */
static void write_graph(const char *graph, const char *entry)
{
	char *f = ts_path(graph, "handoff.yaml"), text[256];
	snprintf(text, sizeof(text),
	         "entry: %s\nmodel: gpt-4o-mini\nbase_url: http://127.0.0.1:9/v1\n", entry);
	ts_write(f, text);
	free(f);
	f = ts_path(graph, "helper.yaml");
	ts_write(f, "name: Helper\ninstructions: be brief\n");
	free(f);
}

static int setup(void **state)
{
	server *s = calloc(1, sizeof(*s));
	s->dir = ts_tmpdir();
	s->graph = ts_path(s->dir, "support");
	mkdir(s->graph, 0700);
	write_graph(s->graph, "Helper");
	s->pid = -1;
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	server *s = *state;
	if (s->pid > 0) {
		int st;
		kill(s->pid, SIGKILL);
		waitpid(s->pid, &st, 0);
	}
	ts_rmtree(s->dir);
	free(s->graph);
	free(s->dir);
	free(s);
	return 0;
}

typedef struct start_wait {
	const char *ready;
	pid_t pid;
	bool exited;
} start_wait;

static bool ready_or_exited(void *arg)
{
	start_wait *w = arg;
	int st;
	if (access(w->ready, F_OK) == 0)
		return true;
	if (waitpid(w->pid, &st, WNOHANG) == w->pid) {
		w->exited = true;
		return true;
	}
	return false;
}

/* Start handoff-serve on the graph with extra arguments (NULL-terminated);
 * wait for its ready file and read the URL from it. */
static void start(server *s, const char *const *extra)
{
	char *ready = ts_path(s->dir, "ready"), *err = ts_path(s->dir, "stderr"),
	     *db = ts_path(s->dir, "sessions.db");
	const char *argv[40];
	size_t n = 0, i;
	start_wait w;
	char *url;

	unlink(ready);
	argv[n++] = "handoff-serve";
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	argv[n++] = "--ready-file";
	argv[n++] = ready;
	argv[n++] = "--db";
	argv[n++] = db;
	for (i = 0; extra && extra[i] && n < 38; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fe, 2);
		execv(HF_SERVE_PATH, (char *const *)argv);
		_exit(127);
	}
	w.ready = ready;
	w.pid = s->pid;
	w.exited = false;
	ts_wait_until(ready_or_exited, &w, "handoff-serve's ready file");
	if (w.exited) {
		char *text = ts_read(err, NULL);
		s->pid = -1;
		fail_msg("handoff-serve exited: %s", text ? text : "");
	}
	url = ts_read(ready, NULL);
	assert_non_null(url);
	assert_true(!strncmp(url, "http://127.0.0.1:", 17));
	url[strcspn(url, "\n")] = '\0';
	snprintf(s->url, sizeof(s->url), "%s", url);
	free(url);
	free(ready);
	free(err);
	free(db);
}

static char *server_stderr(server *s)
{
	char *p = ts_path(s->dir, "stderr"), *t = ts_read(p, NULL);
	free(p);
	return t ? t : strdup("");
}

/* ---- HTTP with libcurl ---- */

typedef struct resp {
	long status;
	char *body;
	size_t len;
	char *headers;
	size_t hlen;
} resp;

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	char **buf = ((char **)arg);
	size_t *len = (size_t *)((char **)arg + 1);
	size_t k = size * n;
	*buf = realloc(*buf, *len + k + 1);
	memcpy(*buf + *len, p, k);
	*len += k;
	(*buf)[*len] = '\0';
	return k;
}

typedef struct upload {
	size_t left;
} upload;

static size_t read_zeros(char *p, size_t size, size_t n, void *arg)
{
	upload *u = arg;
	size_t k = size * n < u->left ? size * n : u->left;
	memset(p, 'x', k);
	u->left -= k;
	return k;
}

/* method path on s; body (may be NULL); key: Bearer token (may be NULL);
 * chunked: send body_len bytes with Transfer-Encoding: chunked. */
static void http_ex(resp *r, server *s, const char *method, const char *path, const char *body,
                    size_t body_len, const char *key, bool chunked)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[256], auth[256];
	struct {
		char *buf;
		size_t len;
	} b = { NULL, 0 }, hd = { NULL, 0 };
	upload up = { body_len };
	CURLcode rc;

	assert_non_null(c);
	snprintf(url, sizeof(url), "%s%s", s->url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hd);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	if (key) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
		h = curl_slist_append(h, auth);
	}
	if (chunked) {
		h = curl_slist_append(h, "Transfer-Encoding: chunked");
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, read_zeros);
		curl_easy_setopt(c, CURLOPT_READDATA, &up);
	} else if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		fail_msg("%s %s: %s", method, url, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	r->body = b.buf ? b.buf : strdup("");
	r->len = b.len;
	r->headers = hd.buf ? hd.buf : strdup("");
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
}

static void http(resp *r, server *s, const char *method, const char *path, const char *key)
{
	http_ex(r, s, method, path, NULL, 0, key, false);
}

static void resp_free(resp *r)
{
	free(r->body);
	free(r->headers);
}

/* The value of response header `name` (case-insensitive), owned or NULL. */
static char *header(const resp *r, const char *name)
{
	const char *p = r->headers;
	size_t n = strlen(name);
	while (p && *p) {
		const char *eol = strstr(p, "\r\n");
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			const char *v = p + n + 1;
			while (*v == ' ')
				v++;
			return strndup(v, (size_t)((eol ? eol : v + strlen(v)) - v));
		}
		p = eol ? eol + 2 : NULL;
	}
	return NULL;
}

/* An OpenAI error body with this code; its four fields present. */
static void assert_error(const resp *r, long status, const char *code)
{
	cJSON *doc = cJSON_Parse(r->body), *e;
	assert_int_equal(r->status, status);
	assert_non_null(doc);
	e = cJSON_GetObjectItemCaseSensitive(doc, "error");
	assert_true(cJSON_IsObject(e));
	assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "message")));
	assert_true(strlen(cJSON_GetObjectItemCaseSensitive(e, "message")->valuestring) > 0);
	assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "type")));
	assert_non_null(cJSON_GetObjectItemCaseSensitive(e, "param"));
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "code")), code);
	cJSON_Delete(doc);
}

/* The model ids /v1/models lists, comma-joined (owned). */
static char *model_ids(server *s, const char *key)
{
	resp r = { 0 };
	cJSON *doc, *m;
	char ids[512] = "";
	http(&r, s, "GET", "/v1/models", key);
	assert_int_equal(r.status, 200);
	doc = cJSON_Parse(r.body);
	assert_non_null(doc);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "object")),
	                    "list");
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(doc, "data")) {
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "object")),
		                    "model");
		assert_string_equal(
		        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "owned_by")), "handoff");
		assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(m, "created")));
		if (*ids)
			strcat(ids, ",");
		strncat(ids, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "id")), 100);
	}
	cJSON_Delete(doc);
	resp_free(&r);
	return strdup(ids);
}

/* ---- tests ---- */

static void test_models(void **state)
{
	server *s = *state;
	char named[4200], *ids;
	const char *extra[] = { NULL, "--graph", NULL, NULL };
	snprintf(named, sizeof(named), "other=%s", s->graph);
	extra[0] = s->graph;
	extra[2] = named;
	start(s, extra);
	ids = model_ids(s, NULL);
	/* the --graph ones first, then GRAPH arguments, named for their directory */
	assert_string_equal(ids, "other,support");
	free(ids);
}

static void test_health_and_ready(void **state)
{
	server *s = *state;
	const char *extra[] = { NULL, NULL };
	resp r = { 0 };
	char *id, *id2;
	size_t i;
	extra[0] = s->graph;
	start(s, extra);
	http(&r, s, "GET", "/healthz", NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"status\":\"ok\"}");
	id = header(&r, "X-Request-Id");
	assert_non_null(id);
	assert_int_equal(strlen(id), 32);
	for (i = 0; i < 32; i++)
		assert_non_null(strchr("0123456789abcdef", id[i]));
	resp_free(&r);
	http(&r, s, "GET", "/readyz", NULL);
	assert_int_equal(r.status, 200);
	id2 = header(&r, "X-Request-Id");
	assert_string_not_equal(id, id2); /* one per request */
	resp_free(&r);
	free(id);
	free(id2);
}

static void test_not_found_and_method(void **state)
{
	server *s = *state;
	const char *extra[] = { NULL, NULL };
	resp r = { 0 };
	char *allow;
	extra[0] = s->graph;
	start(s, extra);
	http(&r, s, "GET", "/v1/nothing", NULL);
	assert_error(&r, 404, "unknown_url");
	resp_free(&r);
	http(&r, s, "DELETE", "/v1/models", NULL);
	assert_error(&r, 405, "method_not_allowed");
	allow = header(&r, "Allow");
	assert_string_equal(allow, "GET");
	free(allow);
	resp_free(&r);
	http(&r, s, "GET", "/v1/chat/completions", NULL);
	assert_error(&r, 405, "method_not_allowed");
	resp_free(&r);
}

static char *write_keys(server *s, mode_t mode)
{
	char *p = ts_path(s->dir, "keys");
	ts_write(p, "# client keys\n" KEY1 "\n\n  " KEY2 "  \n");
	chmod(p, mode);
	return p;
}

static void test_auth(void **state)
{
	server *s = *state;
	char *keys = write_keys(s, 0600), *ids;
	const char *extra[] = { NULL, "--keys-file", NULL, NULL };
	resp r = { 0 };
	extra[0] = s->graph;
	extra[2] = keys;
	start(s, extra);
	http(&r, s, "GET", "/v1/models", NULL);
	assert_error(&r, 401, "invalid_api_key");
	resp_free(&r);
	http(&r, s, "GET", "/v1/models", "ck-test-first-0123456788"); /* one byte off */
	assert_error(&r, 401, "invalid_api_key");
	resp_free(&r);
	http(&r, s, "GET", "/v1/models", KEY1 "x"); /* a key as a prefix */
	assert_error(&r, 401, "invalid_api_key");
	resp_free(&r);
	http_ex(&r, s, "POST", "/v1/chat/completions", "{}", 2, NULL, false);
	assert_error(&r, 401, "invalid_api_key");
	resp_free(&r);
	http(&r, s, "GET", "/metrics", NULL);
	assert_error(&r, 401, "invalid_api_key");
	resp_free(&r);
	http(&r, s, "GET", "/readyz", NULL);
	assert_error(&r, 401, "invalid_api_key");
	resp_free(&r);
	http(&r, s, "GET", "/healthz", NULL); /* needs no key */
	assert_int_equal(r.status, 200);
	resp_free(&r);
	ids = model_ids(s, KEY2); /* any key of the file; blanks around it trimmed */
	assert_string_equal(ids, "support");
	free(ids);
	ids = model_ids(s, KEY1);
	free(ids);
	http(&r, s, "GET", "/metrics", KEY1);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	free(keys);
}

static void test_no_keys_needed_without_keys_file(void **state)
{
	server *s = *state;
	const char *extra[] = { NULL, NULL };
	char *ids;
	extra[0] = s->graph;
	start(s, extra);
	ids = model_ids(s, NULL);
	assert_string_equal(ids, "support");
	free(ids);
	ids = model_ids(s, "any-key-at-all");
	free(ids);
}

static void test_keys_file_mode(void **state)
{
	server *s = *state;
	char *keys = write_keys(s, 0644);
	const char *argv[] = { "serve", "--listen", "127.0.0.1:0", "--keys-file", keys, s->graph,
		               NULL };
	ts_proc p;
	ts_run_cli(&p, NULL, NULL, argv); /* through `handoff serve` */
	assert_int_equal(p.status, 3);
	assert_true(ts_contains(p.err, "handoff serve: "));
	assert_true(ts_contains(p.err, "mode 0644"));
	assert_true(ts_contains(p.err, "chmod 600"));
	assert_false(ts_contains(p.err, KEY1));
	ts_proc_dispose(&p);
	free(keys);
}

static void test_non_loopback_refused(void **state)
{
	server *s = *state;
	const char *argv[] = { "serve", "--listen", "0.0.0.0:0", s->graph, NULL };
	const char *argv6[] = { "serve", "--listen", "[::]:0", s->graph, NULL };
	ts_proc p;
	ts_run_cli(&p, NULL, NULL, argv);
	assert_int_equal(p.status, 2);
	assert_true(ts_contains(p.err, "refusing to listen on 0.0.0.0:0"));
	assert_true(ts_contains(p.err, "--keys-file"));
	ts_proc_dispose(&p);
	ts_run_cli(&p, NULL, NULL, argv6);
	assert_int_equal(p.status, 2);
	assert_true(ts_contains(p.err, "--keys-file"));
	ts_proc_dispose(&p);
}

static void test_help(void **state)
{
	static const char *const options[] = {
		"--graph NAME=PATH", "--listen ADDR:PORT", "--ready-file", "--db", "--keys-file",
		"--access-log",      "--log-texts",        "--max-body",   "--max-in-flight",
		"--header-timeout",  "--idle-timeout",     "--grace",      "SIGHUP",
		"SIGTERM",
	};
	const char *argv[] = { "serve", "--help", NULL };
	ts_proc p;
	size_t i;
	(void)state;
	ts_run_cli(&p, NULL, NULL, argv);
	assert_int_equal(p.status, 0);
	for (i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		if (!ts_contains(p.out, options[i]))
			fail_msg("handoff serve --help does not mention %s", options[i]);
	ts_proc_dispose(&p);
}

static void test_body_limit(void **state)
{
	server *s = *state;
	const char *extra[] = { NULL, "--max-body", "1K", NULL };
	char *big = malloc(4096);
	resp r = { 0 };
	extra[0] = s->graph;
	start(s, extra);
	memset(big, ' ', 4096);
	big[0] = '{';
	big[4095] = '}';
	http_ex(&r, s, "POST", "/v1/chat/completions", big, 4096, NULL, false);
	assert_error(&r, 413, "request_too_large");
	resp_free(&r);
	/* no length declared: counted as it arrives */
	http_ex(&r, s, "POST", "/v1/chat/completions", NULL, 64 * 1024, NULL, true);
	assert_error(&r, 413, "request_too_large");
	resp_free(&r);
	free(big);
	/* still serving */
	http(&r, s, "GET", "/healthz", NULL);
	assert_int_equal(r.status, 200);
	resp_free(&r);
}

/* ---- metrics ---- */

static double metric(const char *text, const char *series)
{
	const char *p = text;
	size_t n = strlen(series);
	while ((p = strstr(p, series))) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return -1;
}

static bool valid_name(const char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (!(s[i] == '_' || s[i] == ':' || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') || (i && s[i] >= '0' && s[i] <= '9')))
			return false;
	return n > 0;
}

/* Every line: a # HELP / # TYPE comment or `name{labels} value`, with the
 * series' TYPE declared before it. */
static void check_exposition(const char *text)
{
	char *copy = strdup(text), *line, *save = NULL;
	char typed[32][64];
	size_t ntyped = 0, i;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t n = strcspn(line, "{ ");
		char *end;
		bool known = false;
		if (!strncmp(line, "# HELP ", 7))
			continue;
		if (!strncmp(line, "# TYPE ", 7)) {
			char name[64], type[32];
			assert_int_equal(sscanf(line + 7, "%63s %31s", name, type), 2);
			assert_true(!strcmp(type, "counter") || !strcmp(type, "gauge") ||
			            !strcmp(type, "histogram"));
			assert_true(ntyped < 32);
			snprintf(typed[ntyped++], 64, "%s", name);
			continue;
		}
		assert_true(valid_name(line, n));
		assert_true(!strncmp(line, "handoff_", 8));
		for (i = 0; i < ntyped && !known; i++) {
			size_t k = strlen(typed[i]);
			known = !strncmp(line, typed[i], k) &&
			        (n == k || !strncmp(line + k, "_bucket", n - k) ||
			         !strncmp(line + k, "_sum", n - k) || !strncmp(line + k, "_count", n - k));
		}
		if (!known)
			fail_msg("metric line without a TYPE before it: %s", line);
		if (line[n] == '{') {
			char *close = strchr(line + n, '}');
			assert_non_null(close);
			assert_true(close[1] == ' ');
			n = (size_t)(close - line) + 1;
			assert_non_null(strstr(line, "=\""));
		}
		assert_true(line[n] == ' ');
		strtod(line + n + 1, &end);
		assert_true(end > line + n + 1 && *end == '\0');
	}
	free(copy);
}

static void test_metrics(void **state)
{
	server *s = *state;
	const char *extra[] = { NULL, NULL };
	resp r = { 0 };
	char *ctype;
	extra[0] = s->graph;
	start(s, extra);
	http(&r, s, "GET", "/healthz", NULL);
	resp_free(&r);
	http(&r, s, "GET", "/nowhere", NULL);
	resp_free(&r);
	http(&r, s, "GET", "/metrics", NULL);
	assert_int_equal(r.status, 200);
	ctype = header(&r, "Content-Type");
	assert_true(ts_contains(ctype, "text/plain"));
	free(ctype);
	check_exposition(r.body);
	/* the requests before this one are counted (a request is counted as it
	 * completes: these two completed before their answers were read) */
	assert_true(metric(r.body, "handoff_requests_total{status=\"200\"}") >= 1);
	assert_true(metric(r.body, "handoff_requests_total{status=\"404\"}") >= 1);
	assert_true(metric(r.body, "handoff_turns_in_flight") == 0);
	assert_true(metric(r.body, "handoff_model_calls_total") >= 0);
	assert_true(ts_contains(r.body, "# TYPE handoff_turn_seconds histogram"));
	assert_true(ts_contains(r.body, "# TYPE handoff_model_call_seconds histogram"));
	assert_true(ts_contains(r.body, "# TYPE handoff_handoffs_total counter"));
	assert_true(ts_contains(r.body, "# TYPE handoff_errors_total counter"));
	assert_true(ts_contains(r.body, "# TYPE handoff_turns_total counter"));
	assert_true(metric(r.body, "handoff_turn_seconds_bucket{le=\"+Inf\"}") ==
	            metric(r.body, "handoff_turn_seconds_count"));
	assert_true(metric(r.body, "handoff_turn_seconds_sum") >= 0);
	resp_free(&r);
}

/* ---- signals ---- */

typedef struct log_wait {
	server *s;
	const char *needle;
	int count;
} log_wait;

static int occurrences(const char *text, const char *needle)
{
	int n = 0;
	const char *p = text;
	while ((p = strstr(p, needle))) {
		n++;
		p += strlen(needle);
	}
	return n;
}

static bool stderr_has(void *arg)
{
	log_wait *w = arg;
	char *t = server_stderr(w->s);
	bool yes = occurrences(t, w->needle) >= w->count;
	free(t);
	return yes;
}

static void test_sighup(void **state)
{
	server *s = *state;
	const char *extra[] = { NULL, NULL };
	log_wait w = { s, "reload failed", 1 };
	char *ids, *err;
	resp r = { 0 };
	extra[0] = s->graph;
	start(s, extra);
	write_graph(s->graph, "Nobody"); /* broken: no such entry agent */
	kill(s->pid, SIGHUP);
	ts_wait_until(stderr_has, &w, "the failed reload on stderr");
	err = server_stderr(s);
	assert_true(ts_contains(err, "unknown entry agent 'Nobody'")); /* file:line:col */
	assert_true(ts_contains(err, "handoff.yaml:1:"));
	free(err);
	ids = model_ids(s, NULL); /* the old graph keeps serving */
	assert_string_equal(ids, "support");
	free(ids);
	http(&r, s, "GET", "/readyz", NULL);
	assert_int_equal(r.status, 200);
	resp_free(&r);

	write_graph(s->graph, "Helper"); /* fixed */
	kill(s->pid, SIGHUP);
	w.needle = "reloaded 1 graph";
	ts_wait_until(stderr_has, &w, "the reload on stderr");
	err = server_stderr(s);
	assert_int_equal(occurrences(err, "reload failed"), 1);
	free(err);
	ids = model_ids(s, NULL);
	assert_string_equal(ids, "support");
	free(ids);
}

static void test_sigterm_exits_0(void **state)
{
	server *s = *state;
	const char *extra[] = { NULL, NULL };
	resp r = { 0 };
	int st;
	extra[0] = s->graph;
	start(s, extra);
	http(&r, s, "GET", "/healthz", NULL);
	resp_free(&r);
	kill(s->pid, SIGTERM);
	ts_wait_child(s->pid, &st);
	s->pid = -1;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- the access log ---- */

static char *log_path;

static bool log_lines(void *arg)
{
	char *t = ts_read(log_path, NULL);
	bool yes = t && occurrences(t, "\n") >= *(int *)arg;
	free(t);
	return yes;
}

static void test_access_log(void **state)
{
	server *s = *state;
	char *keys = write_keys(s, 0600), *text, *line, *save = NULL, *id, *err;
	const char *extra[] = { NULL, "--keys-file", NULL, "--access-log", NULL, NULL };
	const char *body = "{\"model\":\"no-such-model\",\"messages\":[{\"role\":\"user\","
	                   "\"content\":\"MARKER-TEXT-7f3a\"}]}";
	int want = 3, n = 0, unauthorized = 0, posts = 0;
	resp r = { 0 };
	log_path = ts_path(s->dir, "access.log");
	extra[0] = s->graph;
	extra[2] = keys;
	extra[4] = log_path;
	start(s, extra);
	http(&r, s, "GET", "/v1/models", KEY1);
	id = header(&r, "X-Request-Id");
	resp_free(&r);
	http(&r, s, "GET", "/v1/models", NULL); /* 401 */
	resp_free(&r);
	http_ex(&r, s, "POST", "/v1/chat/completions", body, strlen(body), KEY1, false);
	resp_free(&r);
	ts_wait_until(log_lines, &want, "three access log lines");
	text = ts_read(log_path, NULL);
	assert_false(ts_contains(text, KEY1));
	assert_false(ts_contains(text, "MARKER-TEXT-7f3a"));
	assert_true(ts_contains(text, id));
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		cJSON *o = cJSON_Parse(line);
		static const char *const fields[] = { "ts",         "request_id",   "method",
			                              "path",       "status",       "ms",
			                              "session",    "model",        "agent_path",
			                              "tokens_in",  "tokens_out",   "tokens_total" };
		size_t i;
		if (!o)
			fail_msg("an access log line is not JSON: %s", line);
		for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (!cJSON_HasObjectItem(o, fields[i]))
				fail_msg("an access log line has no %s: %s", fields[i], line);
		assert_int_equal(strlen(cJSON_GetStringValue(cJSON_GetObjectItem(o, "request_id"))), 32);
		assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "ms")) >= 0);
		if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "path")), "/v1/models") &&
		    (int)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "status")) == 401)
			unauthorized++;
		if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "method")), "POST") &&
		    !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "path")),
		            "/v1/chat/completions"))
			posts++;
		cJSON_Delete(o);
		n++;
	}
	assert_int_equal(n, 3);
	assert_int_equal(unauthorized, 1);
	assert_int_equal(posts, 1);
	err = server_stderr(s); /* nothing of it on stderr: it went to the file */
	assert_false(ts_contains(err, "request_id"));
	assert_false(ts_contains(err, KEY1));
	free(err);
	free(text);
	free(id);
	free(keys);
	free(log_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_models, setup, teardown),
		cmocka_unit_test_setup_teardown(test_health_and_ready, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found_and_method, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_keys_needed_without_keys_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keys_file_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_loopback_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_help, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sighup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_exits_0, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access_log, setup, teardown),
	};
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

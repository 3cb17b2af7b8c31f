/*
 * test_limits.c - every size and count limit ends in a clear error (issue
 * 7, limits), end to end where it can be reached from outside:
 *  - input size: hf_run (64 KiB by default, max_input_bytes) and the CLI;
 *  - response size: the client's cap (max_response_bytes), streamed or not;
 *  - SSE line and event length (the parser's bound; the transport sets it
 *    to the response cap);
 *  - tool calls in one reply: 128 pass, 129 fail the turn;
 *  - history sent to a model (max_history_messages): the oldest messages
 *    are cut, the cut moves forward to a user message, so no tool call is
 *    sent without its result; checked in the mock's request log;
 *  - YAML file size (1 MiB) and nesting depth (32).
 * After a turn that hit a limit, the session holds what it held before.
 */
#include "support.h"

#include "graph_yaml.h"
#include "mock.h"
#include "session.h"
#include "sse.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
	hf_mock *mock;
	char base[160];
	hf_graph *g;
	char *dir;
} fx;

static hf_mock *start_mock(const char *scenario)
{
	hf_mock_options mo = { 0 };
	hf_mock *m = NULL;
	hf_error err;
	mo.host = "127.0.0.1";
	mo.threads = 1;
	mo.log_memory = true;
	mo.scenario = scenario;
	if (hf_mock_start(&m, &mo, &err))
		fail_msg("mock: %s", err.message);
	return m;
}

/* A client for base; fault (may be NULL) becomes X-Mock-Fault; cap 0 keeps
 * the default response cap. */
static hf_client *client_for(const char *base, const char *fault, size_t cap)
{
	static char header[128];
	static const char *headers[2] = { header, NULL };
	hf_client_options o = HF_CLIENT_OPTIONS_INIT;
	hf_client *c = NULL;
	hf_error err;
	o.base_url = base;
	o.max_retries = 0;
	o.max_response_bytes = cap;
	if (fault) {
		snprintf(header, sizeof(header), "X-Mock-Fault: %s", fault);
		o.headers = headers;
	}
	if (hf_client_new(&c, &o, NULL, &err))
		fail_msg("client: %s", err.message);
	return c;
}

static hf_session *new_session(void)
{
	hf_session *s = NULL;
	hf_error err;
	assert_int_equal(hf_session_new(&s, NULL, &err), HF_OK);
	return s;
}

/* A turn that must fail with `code` and a message holding `says`, leaving
 * the session as it was. */
static void turn_fails(hf_client *c, hf_session *s, const char *input,
                       const hf_run_options *ro, int code, const char *says)
{
	size_t before = hf_session_message_count(s);
	char *answer = NULL;
	hf_error err;
	int rc = hf_run(&answer, c, fx.g, s, NULL, input, ro, &err);
	if (rc != code || !ts_contains(err.message, says))
		fail_msg("wanted %s with \"%s\", got %s: %s", hf_code_name(code), says,
		         hf_code_name(rc), err.message);
	assert_null(answer);
	assert_int_equal(hf_session_message_count(s), before);
}

static void turn_ok(hf_client *c, hf_session *s, const char *input, const hf_run_options *ro)
{
	char *answer = NULL;
	hf_error err;
	if (hf_run(&answer, c, fx.g, s, NULL, input, ro, &err))
		fail_msg("turn: %s", err.message);
	assert_non_null(answer);
	hf_free(answer);
}

/* ---- input ---- */

static void test_input_size(void **state)
{
	hf_client *c = client_for(fx.base, NULL, 0);
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	hf_session *s = new_session();
	char *text = malloc(65538);
	(void)state;

	memset(text, 'a', 65536);
	text[65536] = '\0';
	turn_ok(c, s, text, NULL); /* exactly 64 KiB passes */
	text[65535] = 'b';
	memcpy(text + 65536, "c", 2);
	hf_mock_log_clear(fx.mock);
	turn_fails(c, s, text, NULL, HF_ELIMIT, "input is 65537 bytes; the limit is 65536");
	ro.max_input_bytes = 1000;
	text[1001] = '\0';
	turn_fails(c, s, text, &ro, HF_ELIMIT, "input is 1001 bytes; the limit is 1000");
	assert_int_equal(hf_mock_log_count(fx.mock), 0); /* refused before any request */

	/* the CLI says the same and exits 1 */
	{
		const char *argv[] = { "run", "--mock", "--no-store", HF_SOURCE_DIR "/agents", NULL };
		ts_proc p;
		memset(text, 'x', 65536);
		memcpy(text + 65536, "y", 2);
		ts_run_cli(&p, text, NULL, argv);
		assert_int_equal(p.status, 1);
		assert_true(ts_contains(p.err, "input is 65537 bytes; the limit is 65536"));
		assert_string_equal(p.out, "");
		ts_proc_dispose(&p);
	}
	free(text);
	hf_session_free(s);
	hf_client_free(c);
}

/* ---- response ---- */

static void test_response_size(void **state)
{
	hf_client *c = client_for(fx.base, "oversize;bytes=100000", 64 * 1024);
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	hf_session *s = new_session();
	(void)state;

	for (ro.stream = 1; ro.stream >= 0; ro.stream--)
		turn_fails(c, s, "Hola", &ro, HF_ELIMIT, "exceeded the 64 KiB limit");
	hf_client_free(c);
	/* under the cap, the same large reply passes */
	c = client_for(fx.base, "oversize;bytes=100000", 1024 * 1024);
	for (ro.stream = 1; ro.stream >= 0; ro.stream--)
		turn_ok(c, s, "Hola", &ro);
	hf_session_free(s);
	hf_client_free(c);
}

/* ---- SSE ---- */

static int no_event(void *payload, const char *event, const char *data, size_t len)
{
	(void)payload, (void)event, (void)data, (void)len;
	return 0;
}

static void test_sse_line(void **state)
{
	static const char *const streams[] = {
		"data: 0123456789012345678901234567890123456789\n\n",         /* one line */
		"data: 01234567890123456789\ndata: 01234567890123456789\n\n", /* one event */
		": 012345678901234567890123456789012345678901234567890123\n", /* a comment */
	};
	size_t i, split;
	(void)state;
	for (i = 0; i < HF_ARRAY_LEN(streams); i++) {
		for (split = 1; split < strlen(streams[i]); split += 7) { /* whole lines or not */
			hf_sse p;
			hf_error err;
			int rc;
			hf_sse_init(&p, 32, no_event, NULL);
			rc = hf_sse_feed(&p, streams[i], split, &err);
			if (!rc)
				rc = hf_sse_feed(&p, streams[i] + split, strlen(streams[i]) - split, &err);
			if (!rc)
				rc = hf_sse_finish(&p, &err);
			assert_int_equal(rc, HF_ELIMIT);
			assert_true(ts_contains(err.message, "longer than the limit of 32 bytes"));
			hf_sse_dispose(&p);
		}
	}
}

/* ---- tool calls in one reply ---- */

static void test_tool_calls(void **state)
{
	hf_buf b = HF_BUF_INIT;
	char *path = ts_path(fx.dir, "calls.json");
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	hf_session *s = new_session();
	hf_mock *m;
	hf_client *c;
	char base[160];
	int i, pass;
	(void)state;

	/* per pass: 129 calls (refused), 128 calls (the first hands off), text */
	assert_int_equal(hf_buf_puts(&b, "{\"replies\":["), HF_OK);
	for (pass = 0; pass < 2; pass++) {
		int n;
		for (n = 129; n >= 128; n--) {
			hf_buf_puts(&b, "{\"tool_calls\":[");
			for (i = 0; i < n; i++)
				hf_buf_printf(&b, "%s{\"name\":\"transfer_to_spanish_agent\"}", i ? "," : "");
			hf_buf_puts(&b, "]},");
		}
		hf_buf_printf(&b, "{\"content\":\"Hola\"}%s", pass ? "]}" : ",");
	}
	ts_write(path, b.data);
	hf_buf_dispose(&b);
	m = start_mock(path);
	snprintf(base, sizeof(base), "%s/v1", hf_mock_url(m));
	c = client_for(base, NULL, 0);
	ro.routing = HF_ROUTING_ROUTER; /* each turn starts at the router */
	for (ro.stream = 1; ro.stream >= 0; ro.stream--) {
		turn_fails(c, s, "Hola", &ro, HF_ELIMIT,
		           ro.stream ? "more than 128 tool calls" : "129 tool calls; the limit is 128");
		turn_ok(c, s, "Hola", &ro);
	}
	/* user, 128 calls, 128 answers, the answer - twice */
	assert_int_equal(hf_session_message_count(s), 2 * (1 + 1 + 128 + 1));
	hf_client_free(c);
	hf_mock_stop(m);
	hf_session_free(s);
	free(path);
}

/* ---- history sent to a model ---- */

static const char *role_of(const cJSON *m)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "role");
	return cJSON_IsString(r) ? r->valuestring : "";
}

/* Every tool message answers a call made earlier in the same request. */
static void assert_paired(const cJSON *messages)
{
	const cJSON *m, *tc;
	cJSON *ids = cJSON_CreateArray();
	cJSON_ArrayForEach(m, messages) {
		if (!strcmp(role_of(m), "assistant")) {
			cJSON_ArrayForEach(tc, cJSON_GetObjectItemCaseSensitive(m, "tool_calls"))
				cJSON_AddItemToArray(ids, cJSON_CreateString(
					cJSON_GetObjectItemCaseSensitive(tc, "id")->valuestring));
		} else if (!strcmp(role_of(m), "tool")) {
			const char *id = cJSON_GetObjectItemCaseSensitive(m, "tool_call_id")->valuestring;
			const cJSON *known;
			bool found = false;
			cJSON_ArrayForEach(known, ids)
				found = found || !strcmp(known->valuestring, id);
			if (!found)
				fail_msg("tool message for call %s sent without the call", id);
		}
	}
	cJSON_Delete(ids);
}

static void test_history(void **state)
{
	hf_client *c = client_for(fx.base, NULL, 0);
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	hf_session *s = new_session();
	static const char *const inputs[] = { "Hola", "Hello", "¿Qué tal?", "Fine, thanks" };
	size_t n, limit, i, stored;
	(void)state;

	/* history: four routed turns (user, handoff call, its result, answer) */
	ro.routing = HF_ROUTING_ROUTER;
	for (i = 0; i < HF_ARRAY_LEN(inputs); i++)
		turn_ok(c, s, inputs[i], &ro);
	stored = hf_session_message_count(s);
	assert_int_equal(stored, 16);

	for (limit = 0; limit <= stored + 1; limit++) {
		hf_session *copy = new_session();
		size_t start = 0, req;
		for (i = 0; i < stored; i++) { /* the same history, in a session of its own */
			hf_error err;
			const char *m = hf_session_message_json(s, i);
			assert_int_equal(hf_session_add_stored(copy, m, strlen(m), &err), HF_OK);
		}
		if (limit && limit < stored) { /* the first user message among the last `limit` */
			for (start = stored - limit; start < stored; start++)
				if (ts_contains(hf_session_message_json(s, start), "\"role\":\"user\""))
					break;
		}
		hf_mock_log_clear(fx.mock);
		ro.max_history_messages = limit;
		turn_ok(c, copy, "And now?", &ro);
		/* both requests of the turn: system, history[start..], this turn */
		assert_int_equal(hf_mock_log_count(fx.mock), 2);
		for (req = 0; req < 2; req++) {
			char *line = hf_mock_log_get(fx.mock, req);
			cJSON *entry = cJSON_Parse(line);
			const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(entry, "body"), "messages");
			n = (size_t)cJSON_GetArraySize(msgs);
			assert_string_equal(role_of(cJSON_GetArrayItem(msgs, 0)), "system");
			assert_int_equal(n, 1 + (stored - start) + (req ? 3 : 1));
			assert_true(limit == 0 || stored - start <= limit);
			for (i = start; i < stored; i++) { /* the stored messages, as stored */
				cJSON *want = cJSON_Parse(hf_session_message_json(s, i));
				assert_true(cJSON_Compare(cJSON_GetArrayItem(msgs, (int)(1 + i - start)), want,
				                          1));
				cJSON_Delete(want);
			}
			if (start < stored)
				assert_string_equal(role_of(cJSON_GetArrayItem(msgs, 1)), "user");
			assert_paired(msgs);
			cJSON_Delete(entry);
			hf_free(line);
		}
		hf_session_free(copy);
	}
	hf_session_free(s);
	hf_client_free(c);
}

/* ---- YAML ---- */

static void assert_graph_refused(const char *yaml, size_t len, const char *says)
{
	hf_graph *g = NULL;
	hf_diag *d = NULL;
	hf_error err;
	size_t i;
	bool found = false;
	assert_int_equal(hf_graph_load_string(&g, yaml, len, "big.yaml", &d, &err), HF_ECONFIG);
	assert_null(g);
	for (i = 0; i < hf_diag_count(d); i++)
		found = found || ts_contains(hf_diag_format(d, i), says);
	if (!found)
		fail_msg("no diagnostic says \"%s\" (first: %s)", says,
		         hf_diag_count(d) ? hf_diag_format(d, 0) : "none");
	hf_diag_free(d);
}

static void test_yaml_size(void **state)
{
	size_t len = GY_TEXT_MAX + 1;
	char *yaml = malloc(len + 1), *path = ts_path(fx.dir, "big.yaml");
	const char *argv[] = { "validate", path, NULL };
	ts_proc p;
	(void)state;

	/* a valid agent padded with a comment past 1 MiB */
	memset(yaml, '#', len);
	memcpy(yaml, "name: A\nmodel: m\ninstructions: x\n", 33);
	yaml[len - 1] = '\n';
	yaml[len] = '\0';
	assert_graph_refused(yaml, len, "over the size limit of 1 MiB");
	ts_write(path, yaml);
	ts_run_cli(&p, NULL, NULL, argv);
	assert_int_equal(p.status, 3);
	assert_true(ts_contains(p.err, "big.yaml"));
	assert_true(ts_contains(p.err, "over the size limit of 1 MiB"));
	ts_proc_dispose(&p);
	/* at the limit it loads */
	{
		hf_graph *g = NULL;
		hf_error err;
		yaml[GY_TEXT_MAX - 1] = '\n';
		assert_int_equal(hf_graph_load_string(&g, yaml, GY_TEXT_MAX, "a.yaml", NULL, &err),
		                 HF_OK);
		hf_graph_free(g);
	}
	free(yaml);
	free(path);
}

static void test_yaml_depth(void **state)
{
	hf_buf b = HF_BUF_INIT;
	int i;
	(void)state;
	/* flow style, so the depth is in the brackets: settings: [[[...]]] */
	hf_buf_puts(&b, "name: A\nsettings: ");
	for (i = 0; i < GY_DEPTH_MAX + 8; i++)
		hf_buf_puts(&b, "[");
	for (i = 0; i < GY_DEPTH_MAX + 8; i++)
		hf_buf_puts(&b, "]");
	hf_buf_puts(&b, "\n");
	assert_graph_refused(b.data, b.len, "nesting deeper than 32 levels");
	assert_graph_refused(b.data, b.len, "big.yaml:2:");
	hf_buf_dispose(&b);
	/* just inside the limit the message is a schema one, not the depth */
	hf_buf_puts(&b, "name: A\nsettings: ");
	for (i = 0; i < GY_DEPTH_MAX - 2; i++)
		hf_buf_puts(&b, "[");
	for (i = 0; i < GY_DEPTH_MAX - 2; i++)
		hf_buf_puts(&b, "]");
	hf_buf_puts(&b, "\n");
	{
		hf_graph *g = NULL;
		hf_diag *d = NULL;
		hf_error err;
		size_t k;
		assert_int_equal(hf_graph_load_string(&g, b.data, b.len, "ok.yaml", &d, &err),
		                 HF_ECONFIG);
		for (k = 0; k < hf_diag_count(d); k++)
			assert_false(ts_contains(hf_diag_format(d, k), "nesting"));
		hf_diag_free(d);
	}
	hf_buf_dispose(&b);
}

/* ---- set-up ---- */

static int setup(void **state)
{
	hf_error err;
	(void)state;
	if (hf_global_init(&err))
		return -1;
	fx.mock = start_mock(NULL);
	snprintf(fx.base, sizeof(fx.base), "%s/v1", hf_mock_url(fx.mock));
	fx.dir = ts_tmpdir();
	return hf_graph_load(&fx.g, HF_SOURCE_DIR "/agents", NULL, &err);
}

static int teardown(void **state)
{
	(void)state;
	hf_graph_free(fx.g);
	hf_mock_stop(fx.mock);
	ts_rmtree(fx.dir);
	free(fx.dir);
	hf_global_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_input_size),
		cmocka_unit_test(test_response_size),
		cmocka_unit_test(test_sse_line),
		cmocka_unit_test(test_tool_calls),
		cmocka_unit_test(test_history),
		cmocka_unit_test(test_yaml_size),
		cmocka_unit_test(test_yaml_depth),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

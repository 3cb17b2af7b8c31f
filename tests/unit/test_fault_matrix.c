/*
 * test_fault_matrix.c - every fault the mock can inject, streaming and not,
 * through a whole triage turn (hf_run with a SQLite store): the documented
 * outcome (retried and succeeded, or a clear error with its exit status),
 * and the stored conversation unchanged whenever the turn failed. The
 * README's fault table is this table; `test_fault_matrix --table` prints it.
 */
#include "support.h"

#include "mock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct row {
	const char *what;    /* as the README says it */
	const char *fault;   /* X-Mock-Fault header, applied from the 2nd request of the turn */
	int code;            /* expected hf_code (HF_OK: retried or recovered, and succeeded) */
	const char *words;   /* the error message must contain this */
	int modes;           /* BOTH, STREAM (streaming only), PLAIN (non-streaming only) */
} row;

enum { BOTH = 3, PLAIN = 1, STREAM = 2 };

/* "after=1": the first request of the turn (the sticky Spanish agent handing
 * back to triage) passes; the fault hits the triage request. */
static const row rows[] = {
	{ "401 Unauthorized", "401;after=1", HF_EAUTH, "API key", BOTH },
	{ "404 Not Found (unknown model)", "404;after=1", HF_ENOTFOUND, "HTTP 404", BOTH },
	{ "429 + Retry-After, once", "429;after=1;times=1", HF_OK, NULL, BOTH },
	{ "429 on every attempt", "429;after=1", HF_EHTTP, "gave up after 3 attempts", BOTH },
	{ "500, once", "500;after=1;times=1", HF_OK, NULL, BOTH },
	{ "500 on every attempt", "500;after=1", HF_EHTTP, "HTTP 500", BOTH },
	{ "503, once", "503;after=1;times=1", HF_OK, NULL, BOTH },
	{ "connection dropped before headers, once", "drop;after=1;times=1", HF_OK, NULL, BOTH },
	{ "connection dropped before headers, always", "drop;after=1", HF_ENET, NULL, BOTH },
	{ "connection dropped mid-stream (after text)", "drop-mid-stream;after=1", HF_ENET, NULL, STREAM },
	{ "connection dropped mid-body, once", "drop-mid-stream;after=1;times=1", HF_OK, NULL, PLAIN },
	{ "truncated JSON", "truncated;after=1", HF_EPROTOCOL, NULL, BOTH },
	{ "invalid UTF-8 in the reply", "bad-utf8;after=1", HF_EPROTOCOL, "UTF-8", BOTH },
	{ "stall past the idle timeout, once", "stall;after=1;times=1;ms=2000", HF_OK, NULL, BOTH },
	{ "stall past the idle timeout, always", "stall;after=1;ms=2000", HF_ENET, "idle", BOTH },
	{ "reply over the size cap", "oversize;after=1;bytes=2000000", HF_ELIMIT, "limit", BOTH },
	{ "error object mid-stream", "error-mid-stream;after=1", HF_EHTTP, NULL, STREAM },
	{ "empty tool-call id", "empty-id;after=1;times=1", HF_OK, NULL, BOTH },
	{ "missing tool-call id", "missing-id;after=1;times=1", HF_OK, NULL, BOTH },
	{ "unknown tool name", "unknown-tool;after=1", HF_ETOOL, "lookup_weather", BOTH },
};

static hf_mock *mock;
static hf_graph *graph;
static char *dir;

static hf_client *client(const char *fault)
{
	static char base[128], header[160];
	static const char *headers[2];
	hf_client_options o = HF_CLIENT_OPTIONS_INIT;
	hf_client *c = NULL;
	hf_error err;
	snprintf(base, sizeof(base), "%s/v1", hf_mock_url(mock));
	o.base_url = base;
	o.idle_timeout_ms = 400;
	o.max_response_bytes = 1000000;
	o.max_retry_after_ms = 200; /* keep the suite quick; the cap is what is tested */
	if (fault) {
		snprintf(header, sizeof(header), "X-Mock-Fault: %s", fault);
		headers[0] = header;
		headers[1] = NULL;
		o.headers = headers;
	}
	if (hf_client_new(&c, &o, NULL, &err))
		fail_msg("client: %s", err.message);
	return c;
}

/* One row in one mode: a first turn in Spanish succeeds, the second (in
 * English, so two requests: hand back, then triage) meets the fault. */
static int run_row(const row *r, int stream, hf_error *err)
{
	hf_client *ok = client(NULL), *bad = client(r->fault);
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	char *db = ts_path(dir, "faults.db");
	hf_store *st;
	hf_session *s, *loaded;
	char *before;
	int rc;

	ro.stream = stream;
	hf_mock_reset(mock);
	assert_int_equal(hf_store_open_sqlite(&st, db, err), HF_OK);
	assert_int_equal(hf_session_new(&s, NULL, err), HF_OK);
	assert_int_equal(hf_run(NULL, ok, graph, s, st, "Hola, buenos días", &ro, err), HF_OK);
	before = strdup(hf_session_message_json(s, 3));
	rc = hf_run(NULL, bad, graph, s, st, "Now in English, please", &ro, err);
	assert_int_equal(hf_store_load(&loaded, st, hf_session_id(s), err), HF_OK);
	if (rc == HF_OK) {
		assert_string_equal(hf_session_agent(loaded), "English agent");
		assert_int_equal(hf_session_message_count(loaded), 10);
	} else {
		/* the failed turn left both the store and the session as they were */
		assert_string_equal(hf_session_agent(loaded), "Spanish agent");
		assert_int_equal(hf_session_message_count(loaded), 4);
		assert_string_equal(hf_session_message_json(loaded, 3), before);
		assert_int_equal(hf_session_message_count(s), 4);
	}
	free(before);
	hf_session_free(loaded);
	hf_session_free(s);
	hf_store_free(st);
	hf_client_free(ok);
	hf_client_free(bad);
	free(db);
	return rc;
}

static void matrix(void **state)
{
	size_t i;
	int stream;
	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		for (stream = 0; stream <= 1; stream++) {
			const row *r = &rows[i];
			hf_error err = { 0 };
			int rc;
			if (!(r->modes & (stream ? STREAM : PLAIN)))
				continue;
			rc = run_row(r, stream, &err);
			if (rc != r->code)
				fail_msg("%s (%s): got %s (%s), expected %s", r->what,
				         stream ? "streaming" : "non-streaming", hf_code_name(rc), err.message,
				         hf_code_name(r->code));
			if (r->words && !ts_contains(err.message, r->words))
				fail_msg("%s: the message '%s' does not say '%s'", r->what, err.message, r->words);
		}
	}
}

/* A handoff to an agent the current agent does not offer is refused. */
static void handoff_not_offered(void **state)
{
	static const char script[] =
		"[{\"tool_calls\": [{\"id\": \"c1\", \"name\": \"transfer_to_triage_agent\"}]}]";
	char *path = ts_path(dir, "not-offered.json"), base[128];
	hf_mock_options mo = { .host = "127.0.0.1", .threads = 1, .scenario = path };
	hf_client_options o = HF_CLIENT_OPTIONS_INIT;
	hf_mock *m;
	hf_client *c;
	hf_session *s;
	hf_error err;
	int stream;
	(void)state;

	ts_write(path, script);
	for (stream = 0; stream <= 1; stream++) {
		hf_run_options ro = HF_RUN_OPTIONS_INIT;
		ro.stream = stream;
		assert_int_equal(hf_mock_start(&m, &mo, &err), HF_OK);
		snprintf(base, sizeof(base), "%s/v1", hf_mock_url(m));
		o.base_url = base;
		assert_int_equal(hf_client_new(&c, &o, NULL, &err), HF_OK);
		assert_int_equal(hf_session_new(&s, NULL, &err), HF_OK);
		/* triage offers Spanish and English, not itself */
		assert_int_equal(hf_run(NULL, c, graph, s, NULL, "Hola", &ro, &err), HF_ETOOL);
		assert_true(ts_contains(err.message, "'transfer_to_triage_agent'"));
		assert_int_equal(hf_exit_status(err.code), 6);
		assert_int_equal(hf_session_message_count(s), 0);
		hf_session_free(s);
		hf_client_free(c);
		hf_mock_stop(m);
	}
	free(path);
}

/* The exit statuses the command gives for the same faults. */
static void cli_exit_statuses(void **state)
{
	static const struct {
		const char *fault;
		int status;
	} cases[] = {
		{ "X-Mock-Fault: 401", 4 },
		{ "X-Mock-Fault: 500", 5 },
		{ "X-Mock-Fault: unknown-tool", 6 },
		{ "X-Mock-Fault: 500;times=1", 0 },
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[] = { "run", "--mock", "--no-store", "--retries", "1", "--header",
			               cases[i].fault, HF_SOURCE_DIR "/agents", "Hola", NULL };
		ts_proc p;
		ts_run_cli(&p, NULL, NULL, argv);
		if (p.status != cases[i].status)
			fail_msg("%s: exit %d, expected %d; stderr: %s", cases[i].fault, p.status,
			         cases[i].status, p.err);
		if (cases[i].status)
			assert_true(ts_contains(p.err, "handoff: error:"));
		ts_proc_dispose(&p);
	}
}

static int setup(void **state)
{
	hf_mock_options mo = { .host = "127.0.0.1", .threads = 2 };
	hf_error err;
	(void)state;
	assert_int_equal(hf_global_init(&err), HF_OK);
	if (hf_mock_start(&mock, &mo, &err))
		fail_msg("mock: %s", err.message);
	if (hf_graph_load(&graph, HF_SOURCE_DIR "/agents", NULL, &err))
		fail_msg("graph: %s", err.message);
	dir = ts_tmpdir();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	hf_graph_free(graph);
	hf_mock_stop(mock);
	ts_rmtree(dir);
	free(dir);
	hf_global_cleanup();
	return 0;
}

/* --table: print the README's table from the same rows. */
static void print_table(void)
{
	size_t i;
	printf("| fault (from the 2nd request of a turn) | streaming | non-streaming | exit |\n"
	       "|---|---|---|---|\n");
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const row *r = &rows[i];
		const char *out = r->code == HF_OK ? "retried or recovered; succeeded" : hf_code_name(r->code);
		printf("| %s | %s | %s | %d |\n", r->what, r->modes & STREAM ? out : "—",
		       r->modes & PLAIN ? out : "—", hf_exit_status(r->code));
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(matrix),
		cmocka_unit_test(handoff_not_offered),
		cmocka_unit_test(cli_exit_statuses),
	};
	if (argc > 1 && !strcmp(argv[1], "--table")) {
		print_table();
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}

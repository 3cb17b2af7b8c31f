/*
 * test_failalloc.c - the allocation-failure sweep (issue 7): for N = 1, 2,
 * ... the N-th allocation through hf_malloc & co (cJSON's too, see
 * global.c) fails, over loading the default graph (as one YAML text and
 * from agents/) and over whole triage turns through hf_run against the mock
 * with a SQLite store: a new session streamed, and a second turn of a
 * stored session, not streamed; and the first turn through an engine
 * (hf_engine_submit, curl multi). Every run that hit the failure must end in
 * a clean error (HF_ENOMEM, or the error the failed step maps to) with a
 * message, never a crash, and under ASan never a leak; after a failed turn
 * the session object and the stored session are as they were.
 *
 * libyaml, SQLite and libcurl allocate on their own: their allocations are
 * not failed here. The mock runs in a child process, so its allocations
 * are neither counted nor failed.
 *
 * Needs -DHANDOFF_FAILALLOC=ON (hf_failalloc_enabled); skipped otherwise.
 * Environment: HF_FAILALLOC_STEP=k sweeps every k-th N only (a quicker
 * run); HF_FAILALLOC_VERBOSE=1 prints each error other than HF_ENOMEM.
 */
#include "support.h"

#include "internal.h"
#include "mock.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SESSION_ID "sweep"
#define ENGINE_SESSION_ID "sweep-engine"

static struct {
	pid_t mock_pid;
	char base[160];
	char *dir, *db;
	hf_graph *g;
	unsigned long step;
} fx;

/* ---- the mock, in a child process ---- */

static void mock_child(int fd)
{
	hf_mock_options mo = { 0 };
	hf_mock *m = NULL;
	hf_error err;
	char url[160];
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	mo.host = "127.0.0.1";
	mo.threads = 1;
	if (hf_mock_start(&m, &mo, &err)) {
		fprintf(stderr, "mock: %s\n", err.message);
		_exit(1);
	}
	snprintf(url, sizeof(url), "%s/v1\n", hf_mock_url(m));
	if (write(fd, url, strlen(url)) < 0)
		_exit(1);
	close(fd);
	for (;;)
		pause();
}

static void start_mock(void)
{
	int fds[2];
	ssize_t n;
	assert_int_equal(pipe(fds), 0);
	fx.mock_pid = fork();
	assert_true(fx.mock_pid >= 0);
	if (fx.mock_pid == 0) {
		close(fds[0]);
		mock_child(fds[1]);
	}
	close(fds[1]);
	n = read(fds[0], fx.base, sizeof(fx.base) - 1);
	close(fds[0]);
	assert_true(n > 0);
	fx.base[n - 1] = '\0';
}

/* ---- the sweep ---- */

typedef int (*step_fn)(void *arg, hf_error *err);

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run fn with allocation N failing, N = 1, 1 + step, ... until a run makes
 * fewer than N allocations (then it must succeed). Each run that hit the
 * failure must return an error with a message; check (may be NULL) runs
 * after each, without failures. Returns the number of runs. */
static unsigned long sweep(const char *what, step_fn fn, void (*check)(int rc), void *arg)
{
	unsigned long n, runs = 0, nomem = 0;
	double t0 = now_s();
	for (n = 1;; n += fx.step) {
		hf_error err;
		unsigned long seen;
		int rc;
		memset(&err, 0, sizeof(err));
		hf_failalloc_set(n);
		rc = fn(arg, &err);
		seen = hf_failalloc_count();
		hf_failalloc_set(0);
		runs++;
		if (check)
			check(rc);
		if (seen < n) {
			if (rc != HF_OK)
				fail_msg("%s: failed without an allocation failure: %s", what, err.message);
			break;
		}
		if (rc == HF_OK)
			fail_msg("%s: allocation %lu failed, yet the call succeeded", what, n);
		if (!err.message[0] || err.code != rc)
			fail_msg("%s: allocation %lu failed: code %d without a message", what, n, rc);
		nomem += rc == HF_ENOMEM;
		if (getenv("HF_FAILALLOC_VERBOSE") && rc != HF_ENOMEM)
			fprintf(stderr, "N=%lu %s: %s\n", n, hf_code_name(rc), err.message);
	}
	print_message("%s: %lu allocations, %lu runs (%lu HF_ENOMEM, %lu other errors), %.1f s\n",
	              what, n - 1, runs, nomem, runs - 1 - nomem, now_s() - t0);
	return runs;
}

/* ---- graphs ---- */

static int load_text(void *arg, hf_error *err)
{
	const char *text = arg;
	hf_graph *g = NULL;
	hf_diag *d = NULL;
	int rc = hf_graph_load_string(&g, text, strlen(text), "default.yaml", &d, err);
	assert_true(rc == HF_OK ? g != NULL && hf_graph_agent_count(g) == 3 : g == NULL);
	hf_graph_free(g);
	hf_diag_free(d);
	return rc;
}

static int load_dir(void *arg, hf_error *err)
{
	hf_graph *g = NULL;
	int rc = hf_graph_load(&g, arg, NULL, err);
	assert_true(rc == HF_OK ? g != NULL && hf_graph_agent_count(g) == 3 : g == NULL);
	hf_graph_free(g);
	return rc;
}

/* The default graph as one YAML text: handoff.yaml's keys, then each
 * agent file, indented, as an item of `agents:`. */
static char *default_graph_text(void)
{
	static const char *const agents[] = { "triage.yaml", "spanish.yaml", "english.yaml" };
	hf_buf b = HF_BUF_INIT;
	char *text = ts_read(HF_SOURCE_DIR "/agents/handoff.yaml", NULL), *p;
	size_t i, n;
	assert_non_null(text);
	assert_int_equal(hf_buf_printf(&b, "%s\nagents:\n", text), HF_OK);
	free(text);
	for (i = 0; i < HF_ARRAY_LEN(agents); i++) {
		char path[512];
		snprintf(path, sizeof(path), HF_SOURCE_DIR "/agents/%s", agents[i]);
		assert_non_null(text = ts_read(path, NULL));
		assert_int_equal(hf_buf_puts(&b, "  -\n"), HF_OK);
		for (p = text; *p; p += n + (p[n] == '\n')) {
			n = strcspn(p, "\n");
			assert_int_equal(hf_buf_printf(&b, "%s%.*s\n", n ? "    " : "", (int)n, p), HF_OK);
		}
		free(text);
	}
	return hf_buf_detach(&b);
}

static void test_graph(void **state)
{
	char *text;
	hf_error err;
	(void)state;
	if (!hf_failalloc_enabled())
		skip();
	text = default_graph_text();
	assert_int_equal(load_text(text, &err), HF_OK); /* the text itself is good */
	assert_true(sweep("graph from a string", load_text, NULL, text) > 10);
	assert_true(sweep("graph from agents/", load_dir, NULL, HF_SOURCE_DIR "/agents") > 10);
	free(text);
}

/* ---- whole turns ---- */

typedef struct turn_case {
	const char *input;
	int stream;
	int routing;
	size_t stored_before; /* messages the stored session holds before the turn */
} turn_case;

/* Messages of session id in the store (0 when absent); no failures. */
static size_t stored_count(const char *id)
{
	hf_store *st = NULL;
	hf_session *s = NULL;
	hf_error err;
	size_t n = 0;
	int rc;
	assert_int_equal(hf_store_open_sqlite(&st, fx.db, &err), HF_OK);
	rc = hf_store_load(&s, st, id, &err);
	if (rc != HF_ENOTFOUND) {
		assert_int_equal(rc, HF_OK);
		n = hf_session_message_count(s);
	}
	hf_session_free(s);
	hf_store_free(st);
	return n;
}

/* Client, store, session (loaded or new), one hf_run, everything freed: a
 * whole turn as the CLI makes it, with its allocations open to failure. */
static int turn(void *arg, hf_error *err)
{
	const turn_case *tc = arg;
	hf_client_options co = HF_CLIENT_OPTIONS_INIT;
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	hf_client *c = NULL;
	hf_store *st = NULL;
	hf_session *s = NULL;
	char *answer = NULL, *agent_before = NULL;
	size_t before = 0;
	int rc;

	co.base_url = fx.base;
	co.max_retries = 0; /* a failed allocation is not worth a retry's sleep */
	ro.stream = tc->stream;
	ro.routing = tc->routing;
	rc = hf_client_new(&c, &co, fx.g, err);
	if (!rc)
		rc = hf_store_open_sqlite(&st, fx.db, err);
	if (!rc) {
		rc = hf_store_load(&s, st, SESSION_ID, err);
		if (rc == HF_ENOTFOUND)
			rc = hf_session_new(&s, SESSION_ID, err);
	}
	if (!rc) {
		before = hf_session_message_count(s);
		assert_int_equal(before, tc->stored_before);
		if (hf_session_agent(s))
			assert_non_null(agent_before = strdup(hf_session_agent(s)));
		rc = hf_run(&answer, c, fx.g, s, st, tc->input, &ro, err);
		if (rc) { /* the session object is as it was */
			assert_null(answer);
			if (hf_session_message_count(s) != before)
				fail_msg("hf_run failed (%s) but the session changed (%zu messages, %zu "
				         "before)", err->message, hf_session_message_count(s), before);
			if (agent_before)
				assert_string_equal(hf_session_agent(s), agent_before);
			else
				assert_null(hf_session_agent(s));
		} else {
			assert_non_null(answer);
			assert_int_equal(hf_session_message_count(s), before + 4);
		}
	}
	free(agent_before);
	hf_free(answer);
	hf_session_free(s);
	hf_store_free(st);
	hf_client_free(c);
	return rc;
}

static const turn_case *current;

/* After each run: a failed turn left the stored session as it was. */
static void check_store(int rc)
{
	assert_int_equal(stored_count(SESSION_ID), current->stored_before + (rc == HF_OK ? 4 : 0));
}

/* The first turn again, through an engine (curl multi): submit, run until
 * idle, free. The turn completes exactly once, with the code the run ends
 * with; when that is an error, the session and the store are as before. */
typedef struct engine_result {
	int completions;
	int code;
	hf_error error;
} engine_result;

static void on_complete(const hf_completion *c, void *payload)
{
	engine_result *r = payload;
	r->completions++;
	r->code = c->code;
	if (c->error)
		r->error = *c->error;
}

static int engine_turn(void *arg, hf_error *err)
{
	engine_result r;
	hf_client_options co = HF_CLIENT_OPTIONS_INIT;
	hf_engine_options eo = HF_ENGINE_OPTIONS_INIT;
	hf_engine *e = NULL;
	hf_store *st = NULL;
	hf_session *s = NULL;
	bool submitted = false;
	int rc;
	(void)arg;

	memset(&r, 0, sizeof(r));
	co.base_url = fx.base;
	co.max_retries = 0;
	eo.client = &co;
	eo.graph = fx.g;
	eo.on_complete = on_complete;
	eo.payload = &r;
	rc = hf_engine_new(&e, &eo, err);
	if (!rc)
		rc = hf_store_open_sqlite(&st, fx.db, err);
	if (!rc)
		rc = hf_session_new(&s, ENGINE_SESSION_ID, err);
	if (!rc)
		submitted = !(rc = hf_engine_submit(NULL, e, fx.g, s, st, "Hola", NULL, err));
	if (submitted) {
		rc = hf_engine_run_until_idle(e, err);
		hf_engine_free(e); /* completes the turn if it is still in flight */
		e = NULL;
		assert_int_equal(r.completions, 1);
		if (!rc && r.code) {
			rc = r.code;
			*err = r.error;
		}
		assert_int_equal(hf_session_message_count(s), rc ? 0 : 4);
	}
	hf_engine_free(e);
	hf_session_free(s);
	hf_store_free(st);
	return rc;
}

static void check_engine_store(int rc)
{
	assert_int_equal(stored_count(ENGINE_SESSION_ID), rc == HF_OK ? 4 : 0);
}

static void test_turns(void **state)
{
	static const turn_case first = { "Hola, ¿cómo estás?", 1, -1, 0 };
	static const turn_case second = { "What time is it in Madrid?", 0, HF_ROUTING_ROUTER, 4 };
	(void)state;
	if (!hf_failalloc_enabled())
		skip();
	current = &first;
	assert_true(sweep("first turn, streamed, new session", turn, check_store, (void *)&first) >
	            100);
	current = &second;
	assert_true(sweep("second turn, not streamed, stored session", turn, check_store,
	                  (void *)&second) > 100);
	assert_true(sweep("first turn through an engine", engine_turn, check_engine_store, NULL) >
	            100);
}

/* ---- set-up ---- */

static int setup(void **state)
{
	hf_error err;
	const char *step = getenv("HF_FAILALLOC_STEP");
	(void)state;
	if (!hf_failalloc_enabled()) {
		print_message("not a -DHANDOFF_FAILALLOC=ON build: skipped\n");
		return 0;
	}
	fx.step = step && atol(step) > 0 ? (unsigned long)atol(step) : 1;
	start_mock();
	if (hf_global_init(&err)) /* cJSON allocates through hf_malloc from here */
		return -1;
	if (hf_graph_load(&fx.g, HF_SOURCE_DIR "/agents", NULL, &err))
		return -1;
	fx.dir = ts_tmpdir();
	fx.db = ts_path(fx.dir, "sessions.db");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (fx.mock_pid > 0) {
		kill(fx.mock_pid, SIGKILL);
		waitpid(fx.mock_pid, NULL, 0);
	}
	hf_graph_free(fx.g);
	if (fx.dir)
		ts_rmtree(fx.dir);
	free(fx.dir);
	free(fx.db);
	if (hf_failalloc_enabled())
		hf_global_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_graph),
		cmocka_unit_test(test_turns),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

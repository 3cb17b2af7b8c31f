/*
 * test_sessions_cli.c - `handoff sessions list|show|export|delete` on a
 * temporary database filled through the library; reading commands write
 * nothing; a session conflict in `handoff run` has its own exit status.
 */
#include "support_session.h"
#include "support_mock.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef ts_dbdir fixture;

/* A Spanish conversation with a handoff; then a short English one. */
static const char demo_turn[] =
	"[{\"role\":\"user\",\"content\":\"Hola, \xc2\xbf" "c\xc3\xb3mo est\xc3\xa1s?\"},"
	"{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
	"\"function\":{\"name\":\"transfer_to_spanish_agent\",\"arguments\":\"{}\"}}]},"
	"{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"{\\\"assistant\\\": \\\"Spanish agent\\\"}\"},"
	"{\"role\":\"assistant\",\"content\":\"\xc2\xa1" "Estoy bien!\\nGracias.\"}]";
static const char other_turn[] =
	"[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":\"Hello there\"}]";

static void fill(const char *db, const char *id, const char *turn_json, const char *agent,
                 uint64_t tokens)
{
	hf_usage u = { 2, tokens - 10, 10, tokens };
	hf_store *st;
	hf_session *s;
	hf_error err;
	cJSON *turn = cJSON_Parse(turn_json);
	assert_non_null(turn);
	assert_int_equal(hf_store_open_sqlite(&st, db, &err), HF_OK);
	assert_int_equal(hf_session_new(&s, id, &err), HF_OK);
	if (ts_session_commit(s, st, turn, agent, &u, &err))
		fail_msg("commit: %s", err.message);
	hf_session_free(s);
	hf_store_free(st);
	cJSON_Delete(turn);
}

static int setup(void **state)
{
	fixture *f;
	ts_dbdir_setup(state);
	f = *state;
	fill(f->db, "other", other_turn, "English agent", 40);
	fill(f->db, "demo", demo_turn, "Spanish agent", 150);
	return 0;
}

/* Run `handoff sessions ARGS... --db DB`. */
static void run(ts_proc *p, const fixture *f, const char *a1, const char *a2, const char *a3,
                const char *a4)
{
	const char *argv[9];
	size_t n = 0;
	argv[n++] = "sessions";
	if (a1) argv[n++] = a1;
	if (a2) argv[n++] = a2;
	if (a3) argv[n++] = a3;
	if (a4) argv[n++] = a4;
	argv[n++] = "--db";
	argv[n++] = f->db;
	argv[n] = NULL;
	ts_run_cli(p, NULL, NULL, argv);
}

/* The column where `word` starts in the line of text holding `line_key`. */
static long column_of(const char *text, const char *line_key, const char *word)
{
	const char *line = strstr(text, line_key), *start, *w;
	assert_non_null(line);
	for (start = line; start > text && start[-1] != '\n'; start--)
		;
	w = strstr(start, word);
	assert_non_null(w);
	return w - start;
}

static void test_list(void **state)
{
	fixture *f = *state;
	ts_proc p;
	run(&p, f, "list", NULL, NULL, NULL);
	assert_int_equal(p.status, 0);
	assert_true(ts_contains(p.out, "ID"));
	/* Most recent first, and aligned columns. */
	assert_true(strstr(p.out, "demo") < strstr(p.out, "other"));
	assert_int_equal(column_of(p.out, "ID", "AGENT"), column_of(p.out, "demo", "Spanish agent"));
	assert_int_equal(column_of(p.out, "ID", "AGENT"), column_of(p.out, "other", "English agent"));
	assert_int_equal(column_of(p.out, "ID", "TOKENS") + 6, column_of(p.out, "demo", "150") + 3);
	assert_true(ts_contains(p.out, "       4  "));
	ts_proc_dispose(&p);

	run(&p, f, "list", "-n", "1", NULL);
	assert_int_equal(p.status, 0);
	assert_true(ts_contains(p.out, "demo"));
	assert_false(ts_contains(p.out, "other"));
	ts_proc_dispose(&p);
}

static void test_list_json(void **state)
{
	fixture *f = *state;
	cJSON *doc, *first;
	ts_proc p;
	run(&p, f, "list", "--json", NULL, NULL);
	assert_int_equal(p.status, 0);
	doc = cJSON_Parse(p.out);
	assert_non_null(doc);
	assert_int_equal(cJSON_GetArraySize(doc), 2);
	first = cJSON_GetArrayItem(doc, 0);
	assert_string_equal(cJSON_GetObjectItem(first, "id")->valuestring, "demo");
	assert_string_equal(cJSON_GetObjectItem(first, "agent")->valuestring, "Spanish agent");
	assert_int_equal(cJSON_GetObjectItem(first, "messages")->valueint, 4);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(first, "usage"), "total_tokens")->valueint,
	                 150);
	assert_int_equal(strlen(cJSON_GetObjectItem(first, "updated_at")->valuestring), 20);
	cJSON_Delete(doc);
	ts_proc_dispose(&p);
}

static void test_show(void **state)
{
	fixture *f = *state;
	ts_proc p;
	run(&p, f, "show", "demo", NULL, NULL);
	assert_int_equal(p.status, 0);
	assert_true(ts_contains(p.out, "session demo"));
	assert_true(ts_contains(p.out, "user: Hola, \xc2\xbf" "c\xc3\xb3mo est\xc3\xa1s?\n"));
	assert_true(ts_contains(p.out, "\xe2\x86\x92 handed off to Spanish agent\n"));
	assert_true(ts_contains(p.out, "Spanish agent: \xc2\xa1" "Estoy bien!\nGracias.\n"));
	assert_true(strstr(p.out, "user:") < strstr(p.out, "handed off") &&
	            strstr(p.out, "handed off") < strstr(p.out, "Spanish agent:"));
	assert_false(ts_contains(p.out, "transfer_to")); /* the mechanics stay hidden */
	ts_proc_dispose(&p);
}

static void test_export(void **state)
{
	fixture *f = *state;
	cJSON *doc, *msgs;
	ts_proc p;

	run(&p, f, "export", "demo", NULL, NULL);
	assert_int_equal(p.status, 0);
	doc = cJSON_Parse(p.out);
	assert_non_null(doc);
	assert_string_equal(cJSON_GetObjectItem(doc, "id")->valuestring, "demo");
	assert_string_equal(cJSON_GetObjectItem(doc, "agent")->valuestring, "Spanish agent");
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "usage"), "requests")->valueint, 2);
	msgs = cJSON_GetObjectItem(doc, "messages");
	assert_int_equal(cJSON_GetArraySize(msgs), 4);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 2), "content")->valuestring,
	                    "{\"assistant\": \"Spanish agent\"}");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 1), "content")));
	cJSON_Delete(doc);
	ts_proc_dispose(&p);

	run(&p, f, "export", "demo", "--format", "markdown");
	assert_int_equal(p.status, 0);
	assert_int_equal(strncmp(p.out, "---\nid: \"demo\"\nagent: \"Spanish agent\"\nmessages: 4\n", 50), 0);
	assert_true(ts_contains(p.out, "total_tokens: 150}\n---\n"));
	assert_true(ts_contains(p.out, "### user\n\nHola"));
	assert_true(ts_contains(p.out, "*\xe2\x86\x92 handed off to Spanish agent*"));
	assert_true(ts_contains(p.out, "### Spanish agent\n\n\xc2\xa1" "Estoy bien!"));
	ts_proc_dispose(&p);

	run(&p, f, "export", "demo", "--format", "yaml");
	assert_int_equal(p.status, 2);
	assert_true(ts_contains(p.err, "json or markdown"));
	ts_proc_dispose(&p);
}

static void test_delete_and_errors(void **state)
{
	fixture *f = *state;
	char want[4200];
	ts_proc p;

	run(&p, f, "delete", "other", NULL, NULL);
	assert_int_equal(p.status, 0);
	assert_true(ts_contains(p.err, "deleted session 'other'"));
	ts_proc_dispose(&p);

	snprintf(want, sizeof(want), "no session 'other' in %s", f->db);
	run(&p, f, "show", "other", NULL, NULL);
	assert_int_equal(p.status, 1);
	assert_true(ts_contains(p.err, want));
	assert_string_equal(p.out, "");
	ts_proc_dispose(&p);
	run(&p, f, "delete", "other", NULL, NULL);
	assert_int_equal(p.status, 1);
	ts_proc_dispose(&p);

	run(&p, f, "list", NULL, NULL, NULL);
	assert_false(ts_contains(p.out, "other"));
	ts_proc_dispose(&p);

	run(&p, f, "show", "etc/passwd", NULL, NULL);
	assert_int_equal(p.status, 2);
	assert_true(ts_contains(p.err, "'/' at position 4"));
	ts_proc_dispose(&p);
	run(&p, f, "show", NULL, NULL, NULL);
	assert_int_equal(p.status, 2);
	ts_proc_dispose(&p);
	run(&p, f, "rename", "demo", NULL, NULL);
	assert_int_equal(p.status, 2);
	assert_true(ts_contains(p.err, "unknown action 'rename'"));
	ts_proc_dispose(&p);
	run(&p, f, "show", "demo", "--json", NULL);
	assert_int_equal(p.status, 2);
	ts_proc_dispose(&p);
}

static void test_environment_and_missing_db(void **state)
{
	fixture *f = *state;
	char *absent = ts_path(f->dir, "absent/none.db"), env_db[4200];
	const char *env[] = { env_db, NULL };
	const char *list[] = { "sessions", "list", NULL };
	const char *show[] = { "sessions", "show", "demo", "--db", absent, NULL };
	const char *json[] = { "sessions", "list", "--json", "--db", absent, NULL };
	struct stat sb;
	ts_proc p;

	snprintf(env_db, sizeof(env_db), "HANDOFF_DB=%s", f->db);
	ts_run_cli(&p, NULL, env, list); /* HANDOFF_DB selects the database */
	assert_int_equal(p.status, 0);
	assert_true(ts_contains(p.out, "demo"));
	ts_proc_dispose(&p);

	/* Reading never creates a database. */
	ts_run_cli(&p, NULL, NULL, show);
	assert_int_equal(p.status, 1);
	assert_true(ts_contains(p.err, "no session 'demo' in"));
	ts_proc_dispose(&p);
	ts_run_cli(&p, NULL, NULL, json);
	assert_int_equal(p.status, 0);
	assert_string_equal(p.out, "[]\n");
	ts_proc_dispose(&p);
	assert_int_not_equal(stat(absent, &sb), 0);
	free(absent);
}

static void test_help(void **state)
{
	static const char *const actions[] = { "list", "show", "export", "delete" };
	fixture *f = *state;
	char want[64];
	size_t i;
	ts_proc p;
	for (i = 0; i < HF_ARRAY_LEN(actions); i++) {
		run(&p, f, actions[i], "--help", NULL, NULL);
		assert_int_equal(p.status, 0);
		snprintf(want, sizeof(want), "usage: handoff sessions %s", actions[i]);
		assert_true(ts_contains(p.out, want));
		ts_proc_dispose(&p);
	}
	run(&p, f, "--help", NULL, NULL, NULL);
	assert_int_equal(p.status, 0);
	assert_true(ts_contains(p.out, "handoff sessions delete ID"));
	ts_proc_dispose(&p);
}

/* -c names the latest session, so `run` and `chat` refuse it with
 * --session or --no-store before doing anything else (no endpoint set). */
static void test_continue_conflicts(void **state)
{
	static const char *const cases[][6] = {
		{ "run", "-c", "--session", "s1", "hi" },
		{ "run", "-c", "--no-store", "hi", NULL },
		{ "chat", "-c", "--session", "s1", NULL },
		{ "chat", "-c", "--no-store", NULL, NULL },
	};
	size_t i;
	ts_proc p;
	(void)state;
	for (i = 0; i < HF_ARRAY_LEN(cases); i++) {
		ts_run_cli(&p, "", NULL, cases[i]);
		assert_int_equal(p.status, 2); /* usage */
		assert_true(ts_contains(p.err, "-c/--continue cannot be combined with"));
		ts_proc_dispose(&p);
	}
}

static int journal_header(const char *path)
{
	unsigned char h[20];
	int fd = open(path, O_RDONLY), n;
	assert_true(fd >= 0);
	n = (int)read(fd, h, sizeof(h));
	close(fd);
	assert_int_equal(n, 20);
	return h[18];
}

/* Reading commands write nothing: another program's database is refused
 * and stays in its journal mode; an empty file gets no schema. */
static void test_reading_writes_nothing(void **state)
{
	fixture *f = *state;
	char *other = ts_path(f->dir, "other.db"), *empty = ts_path(f->dir, "empty.db");
	sqlite3 *h;
	struct stat sb;
	ts_proc p;
	const char *list_other[] = { "sessions", "list", "--db", other, NULL };
	const char *show_other[] = { "sessions", "show", "x", "--db", other, NULL };
	const char *list_empty[] = { "sessions", "list", "--db", empty, NULL };
	const char *show_empty[] = { "sessions", "show", "x", "--db", empty, NULL };

	assert_int_equal(sqlite3_open(other, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "CREATE TABLE notes (x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	ts_run_cli(&p, NULL, NULL, list_other);
	assert_int_equal(p.status, 1);
	assert_true(ts_contains(p.err, "not a handoff session database"));
	ts_proc_dispose(&p);
	ts_run_cli(&p, NULL, NULL, show_other);
	assert_int_equal(p.status, 1);
	ts_proc_dispose(&p);
	assert_int_equal(journal_header(other), 1); /* not switched to WAL */

	ts_write(empty, "");
	ts_run_cli(&p, NULL, NULL, list_empty);
	assert_int_equal(p.status, 0);
	assert_true(ts_contains(p.err, "no sessions"));
	ts_proc_dispose(&p);
	ts_run_cli(&p, NULL, NULL, show_empty);
	assert_int_equal(p.status, 1);
	assert_true(ts_contains(p.err, "no session 'x'"));
	ts_proc_dispose(&p);
	assert_int_equal(stat(empty, &sb), 0);
	assert_int_equal(sb.st_size, 0); /* no schema created */

	/* A store's own file: listed, and nothing left beside it. */
	run(&p, f, "show", "demo", NULL, NULL);
	assert_int_equal(p.status, 0);
	ts_proc_dispose(&p);
	free(other);
	other = ts_path(f->dir, "sessions.db-shm");
	assert_int_not_equal(stat(other, &sb), 0);
	free(other);
	free(empty);
}

/* `handoff run` on another program's database refuses before touching it. */
static void test_run_refuses_foreign_database(void **state)
{
	fixture *f = *state;
	char *other = ts_path(f->dir, "other.db");
	sqlite3 *h;
	ts_proc p;
	const char *argv[] = { "run", "--mock", "--db", other, HF_SOURCE_DIR "/agents", "Hola", NULL };
	assert_int_equal(sqlite3_open(other, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "CREATE TABLE notes (x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	ts_run_cli(&p, NULL, NULL, argv);
	assert_int_equal(p.status, 1);
	assert_true(ts_contains(p.err, "not a handoff session database"));
	assert_string_equal(p.out, "");
	ts_proc_dispose(&p);
	assert_int_equal(journal_header(other), 1);
	free(other);
}

/* A session conflict: another writer adds a turn while `handoff run
 * --no-stream` waits for its answer. The command exits 7, says the answer
 * was not stored, and does not print it. */
static void test_run_conflict_exit_status(void **state)
{
	fixture *f = *state;
	hf_mock_options mo = { 0 };
	hf_mock *m;
	char *url, *base, *outp = ts_path(f->dir, "out"), *errp = ts_path(f->dir, "err"), *text;
	char status_text[16];
	hf_store *st;
	hf_session *s;
	hf_error err;
	pid_t pid;
	int status, tries;

	mo.latency_ms = 5000; /* the reply waits; the other writer needs far less */
	m = tm_start(&mo);
	url = tm_base_url(m, "/v1");
	base = malloc(strlen(url) + 16);
	sprintf(base, "%s", url);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *argv[] = { "run", "--no-stream", "--session", "demo", "--db", f->db,
			               "--base-url", base, HF_SOURCE_DIR "/agents", "Otra pregunta", NULL };
		ts_proc p;
		ts_run_cli(&p, NULL, NULL, argv);
		ts_write(outp, p.out);
		ts_write(errp, p.err);
		_exit(p.status);
	}
	/* Once the command's request has arrived it has loaded the session. */
	for (tries = 0; hf_mock_log_count(m) == 0 && tries < 60000; tries++) {
		struct timespec ms = { 0, 1000000 };
		nanosleep(&ms, NULL);
	}
	assert_int_equal(hf_mock_log_count(m), 1);
	assert_int_equal(hf_store_open_sqlite(&st, f->db, &err), HF_OK);
	assert_int_equal(hf_store_load(&s, st, "demo", &err), HF_OK);
	ts_must_commit(s, st, "Spanish agent", "meanwhile", "elsewhere");
	hf_session_free(s);
	hf_store_free(st);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	snprintf(status_text, sizeof(status_text), "%d", WEXITSTATUS(status));
	assert_string_equal(status_text, "7");
	text = ts_read(outp, NULL);
	assert_string_equal(text, ""); /* the whole answer was not stored: not shown */
	free(text);
	text = ts_read(errp, NULL);
	assert_true(ts_contains(text, "was changed by another process"));
	assert_true(ts_contains(text, "not stored"));
	free(text);
	assert_int_equal(hf_store_open_sqlite(&st, f->db, &err), HF_OK);
	assert_int_equal(hf_store_load(&s, st, "demo", &err), HF_OK);
	assert_int_equal(hf_session_message_count(s), 6); /* the other writer's turn only */
	hf_session_free(s);
	hf_store_free(st);
	hf_mock_stop(m);
	free(url);
	free(base);
	free(outp);
	free(errp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list, setup, ts_dbdir_teardown),
		cmocka_unit_test_setup_teardown(test_list_json, setup, ts_dbdir_teardown),
		cmocka_unit_test_setup_teardown(test_show, setup, ts_dbdir_teardown),
		cmocka_unit_test_setup_teardown(test_export, setup, ts_dbdir_teardown),
		cmocka_unit_test_setup_teardown(test_delete_and_errors, setup, ts_dbdir_teardown),
		cmocka_unit_test_setup_teardown(test_environment_and_missing_db, setup, ts_dbdir_teardown),
		cmocka_unit_test_setup_teardown(test_help, setup, ts_dbdir_teardown),
		cmocka_unit_test(test_continue_conflicts),
		cmocka_unit_test_setup_teardown(test_reading_writes_nothing, setup, ts_dbdir_teardown),
		cmocka_unit_test_setup_teardown(test_run_refuses_foreign_database, setup, ts_dbdir_teardown),
		cmocka_unit_test_setup_teardown(test_run_conflict_exit_status, setup, ts_dbdir_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

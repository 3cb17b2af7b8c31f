/*
 * test_crash.c - crash safety of stored sessions (issue 7): `handoff run
 * --mock` processes are killed with SIGKILL at random moments, again and
 * again, while other processes write other sessions of the same SQLite
 * database. Afterwards PRAGMA integrity_check says ok, every stored
 * session loads and holds only whole turns (user, then handoff calls each
 * followed by its results, then the answer: no call left dangling), and
 * every session resumes (one more `handoff run --session ID` succeeds).
 *
 * HF_CRASH_KILLS sets how many runs must die by SIGKILL (default 300).
 */
#include "support.h"

#include "internal.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define VICTIMS 2 /* runs being killed at once */
#define WRITERS 2 /* runs of other sessions, never killed */
#define SESSIONS_PER_VICTIM 4

static const char *const inputs[] = { "Hola, ¿qué tal?", "Hello, how are you?",
	                              "¿Dónde está la biblioteca?", "What time is it?" };

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Start `handoff run --mock --db db --session id GRAPH text`, output to
 * /dev/null. */
static pid_t spawn_run(const char *db, const char *id, const char *text)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execl(HF_CLI_PATH, HF_CLI_PATH, "run", "--mock", "--db", db, "--session", id,
		      HF_SOURCE_DIR "/agents", text, (char *)NULL);
		_exit(127);
	}
	return pid;
}

typedef struct slot {
	pid_t pid;
	long long started;  /* us */
	long long kill_at;  /* victims: when to send SIGKILL (us); 0 once sent */
} slot;

typedef struct tally {
	unsigned long kills;      /* victims that died by our SIGKILL */
	unsigned long finished;   /* victims that ended before their kill */
	unsigned long writes;     /* writer runs, all successful */
	unsigned long runs;
	long long write_us;       /* time the writer runs took, in all */
} tally;

/* ---- checking the database ---- */

static void integrity_ok(const char *db)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(h);
}

/* Whole turns only: user, then (assistant tool calls, one tool message per
 * call in order)*, then an assistant answer. Returns the number of turns. */
static size_t whole_turns(const hf_session *s)
{
	size_t i, n = hf_session_message_count(s), turns = 0;
	cJSON *pending = NULL; /* calls not answered yet */
	bool in_turn = false;
	for (i = 0; i < n; i++) {
		cJSON *m = cJSON_Parse(hf_session_message_json(s, i));
		const char *role = cJSON_GetObjectItemCaseSensitive(m, "role")->valuestring;
		const cJSON *calls = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
		if (!strcmp(role, "user")) {
			if (in_turn)
				fail_msg("%s: message %zu: a user message inside a turn", hf_session_id(s), i);
			in_turn = true;
		} else if (!strcmp(role, "tool")) {
			const char *id = cJSON_GetObjectItemCaseSensitive(m, "tool_call_id")->valuestring;
			cJSON *first = pending ? pending->child : NULL;
			const cJSON *fid = cJSON_GetObjectItemCaseSensitive(first, "id");
			if (!first || strcmp(fid->valuestring, id))
				fail_msg("%s: message %zu answers call %s, which is not the next one",
				         hf_session_id(s), i, id);
			cJSON_Delete(cJSON_DetachItemViaPointer(pending, first));
		} else {
			assert_string_equal(role, "assistant");
			if (!in_turn || (pending && pending->child))
				fail_msg("%s: message %zu: an assistant message out of place",
				         hf_session_id(s), i);
			if (cJSON_GetArraySize(calls) > 0) {
				cJSON_Delete(pending);
				pending = cJSON_Duplicate(calls, 1);
			} else {
				in_turn = false;
				turns++;
			}
		}
		cJSON_Delete(m);
	}
	if (in_turn)
		fail_msg("%s: the last turn is not whole (%zu messages)", hf_session_id(s), n);
	cJSON_Delete(pending);
	return turns;
}

typedef struct listing {
	char **ids;
	size_t n;
} listing;

static int keep_id(const hf_session_info *info, void *payload)
{
	listing *l = payload;
	l->ids = realloc(l->ids, (l->n + 1) * sizeof(*l->ids));
	l->ids[l->n++] = strdup(info->id);
	return 0;
}

/* Every session loads, holds whole turns, and takes one more turn. */
static size_t check_sessions(const char *db, size_t *turns)
{
	hf_store *st = NULL;
	listing l = { 0 };
	hf_error err;
	size_t i;
	assert_int_equal(hf_store_open_sqlite(&st, db, &err), HF_OK);
	assert_int_equal(hf_store_list(st, 0, keep_id, &l, &err), HF_OK);
	*turns = 0;
	for (i = 0; i < l.n; i++) {
		hf_session *s = NULL;
		size_t before, after;
		pid_t pid;
		int status;
		if (hf_store_load(&s, st, l.ids[i], &err))
			fail_msg("session %s does not load: %s", l.ids[i], err.message);
		*turns += whole_turns(s);
		before = hf_session_message_count(s);
		hf_session_free(s);
		pid = spawn_run(db, l.ids[i], inputs[i % HF_ARRAY_LEN(inputs)]);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("session %s does not resume (status %d)", l.ids[i], status);
		assert_int_equal(hf_store_load(&s, st, l.ids[i], &err), HF_OK);
		after = hf_session_message_count(s);
		assert_true(after > before);
		whole_turns(s);
		hf_session_free(s);
	}
	for (i = 0; i < l.n; i++)
		free(l.ids[i]);
	free(l.ids);
	hf_store_free(st);
	return i;
}

/* ---- the kill loop ---- */

static void reap(slot *s, bool victim, tally *t, int status)
{
	if (victim && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		t->kills++;
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && victim)
		t->finished++;
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		t->writes++;
		t->write_us += now_us() - s->started;
	} else
		fail_msg("a %s run failed (status %d)", victim ? "killed" : "writer", status);
	s->pid = 0;
}

static void test_sigkill(void **state)
{
	const char *env = getenv("HF_CRASH_KILLS");
	unsigned long target = env && atol(env) > 0 ? (unsigned long)atol(env) : 300;
	char *dir = ts_tmpdir(), *db = ts_path(dir, "sessions.db"), id[64];
	slot victims[VICTIMS], writers[WRITERS];
	tally t = { 0 };
	long long span = 50000, t0;
	size_t sessions, turns, i;
	unsigned seed = (unsigned)now_us();
	(void)state;

	memset(victims, 0, sizeof(victims));
	memset(writers, 0, sizeof(writers));
	t0 = now_us();
	for (;;) {
		pid_t pid;
		int status;
		bool busy = false;
		long long now = now_us();
		/* kills land from the start of a run to a bit past its usual end,
		 * as long as the writers' runs take under the same load */
		if (t.writes >= 4)
			span = t.write_us / (long long)t.writes * 3 / 2;
		for (i = 0; i < VICTIMS; i++) { /* start, or kill when due */
			if (!victims[i].pid && t.kills < target) {
				snprintf(id, sizeof(id), "victim-%zu-%lu", i, t.runs % SESSIONS_PER_VICTIM);
				victims[i].pid = spawn_run(db, id, inputs[rand_r(&seed) % HF_ARRAY_LEN(inputs)]);
				victims[i].kill_at = now + (long long)(rand_r(&seed) % (unsigned)span);
				t.runs++;
			} else if (victims[i].pid && now >= victims[i].kill_at && victims[i].kill_at) {
				kill(victims[i].pid, SIGKILL);
				victims[i].kill_at = 0;
			}
		}
		for (i = 0; i < WRITERS; i++) {
			if (!writers[i].pid) {
				snprintf(id, sizeof(id), "writer-%zu-%lu", i, t.writes % 3);
				writers[i].pid = spawn_run(db, id, inputs[t.writes % HF_ARRAY_LEN(inputs)]);
				writers[i].started = now;
			}
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (i = 0; i < VICTIMS; i++)
				if (victims[i].pid == pid)
					reap(&victims[i], true, &t, status);
			for (i = 0; i < WRITERS; i++)
				if (writers[i].pid == pid)
					reap(&writers[i], false, &t, status);
		}
		for (i = 0; i < VICTIMS; i++)
			busy = busy || victims[i].pid;
		if (t.kills >= target && !busy)
			break;
		{
			struct timespec ts = { 0, 500 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	for (i = 0; i < WRITERS; i++) { /* let the writers finish */
		int status;
		if (writers[i].pid && waitpid(writers[i].pid, &status, 0) == writers[i].pid)
			reap(&writers[i], false, &t, status);
	}
	print_message("%lu runs killed with SIGKILL (%lu finished first, %lu writer runs) in %.1f s; "
	              "kills within %.0f ms of the start\n", t.kills, t.finished, t.writes,
	              (now_us() - t0) / 1e6, span / 1e3);
	assert_true(t.kills >= target);
	assert_true(t.finished > 0); /* the kills reached past the commits too */

	integrity_ok(db);
	sessions = check_sessions(db, &turns);
	integrity_ok(db);
	print_message("integrity ok; %zu sessions, %zu whole turns, each resumed\n", sessions, turns);
	assert_true(sessions >= VICTIMS * SESSIONS_PER_VICTIM / 2 + WRITERS);
	ts_rmtree(dir);
	free(db);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigkill),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_store_sqlite.c - the default session store: round trips, file
 * modes, schema versions, conflicts, list order, delete, several
 * processes writing one database at once, reading without writing, a
 * database that cannot be written, and a full disk.
 */
#define _GNU_SOURCE /* unshare */
#include "support_session.h"
#include "support_mock.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef ts_dbdir fixture;

static hf_store *open_store(const char *path)
{
	hf_store *st;
	hf_error err;
	if (hf_store_open_sqlite(&st, path, &err))
		fail_msg("open %s: %s", path, err.message);
	return st;
}

/* One integer from a SQL query on the database file, through sqlite3. */
static long long query_int(const char *db, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *s;
	long long v = -1;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return v;
}

static void exec_sql(const char *db, const char *sql)
{
	sqlite3 *h;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(h));
	sqlite3_close(h);
}

static char *text_query(const char *db, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *s;
	char *v = NULL;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(h);
	return v;
}

/* ---- tests ---- */

static void test_conformance(void **state)
{
	fixture *f = *state;
	hf_store *st = open_store(f->db);
	ts_store_conformance(st);
	hf_store_free(st);
}

static int keep_info(const hf_session_info *info, void *payload)
{
	*(hf_session_info *)payload = *info;
	return 1;
}

/* Reopened from the file: the same conversation; files private; the
 * layout documented in docs/sessions.md. */
static void test_file(void **state)
{
	fixture *f = *state;
	char *nested = ts_path(f->dir, "a/b/sessions.db"), *parent = ts_path(f->dir, "a/b"), *mode;
	hf_store *st = open_store(nested);
	hf_session *s, *back;
	hf_session_info info;
	time_t now = time(NULL);
	hf_error err;
	struct stat sb;
	size_t i;

	assert_int_equal(stat(parent, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_int_equal(stat(nested, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	assert_int_equal(hf_session_new(&s, "rt", &err), HF_OK);
	ts_must_commit(s, st, "Spanish agent", "Hola", "Bien");
	ts_must_commit(s, st, "English agent", "Hi", "Hello");
	hf_store_free(st);
	st = open_store(nested);
	assert_int_equal(hf_store_load(&back, st, "rt", &err), HF_OK);
	assert_int_equal(hf_session_message_count(back), 4);
	for (i = 0; i < 4; i++)
		assert_string_equal(hf_session_message_json(back, i), hf_session_message_json(s, i));
	assert_int_equal(hf_session_usage(back).total_tokens, 26);

	assert_int_equal(query_int(nested, "SELECT count(*) FROM messages WHERE session_id='rt'"), 4);
	assert_int_equal(query_int(nested, "SELECT max(seq) FROM messages"), 3);
	assert_int_equal(query_int(nested, "SELECT turn FROM messages WHERE seq=2"), 2);
	assert_int_equal(query_int(nested, "PRAGMA user_version"), 1);
	mode = text_query(nested, "PRAGMA journal_mode");
	assert_string_equal(mode, "wal");
	free(mode);
	hf_session_free(back);
	assert_int_equal(hf_store_load(&back, st, "missing", &err), HF_ENOTFOUND);
	assert_true(ts_contains(err.message, "no session 'missing' in "));
	assert_true(ts_contains(err.message, nested));

	/* Times are unix seconds; delete removes the messages too. */
	assert_int_equal(hf_store_list(st, 1, keep_info, &info, &err), HF_OK);
	assert_true(info.created_at <= info.updated_at);
	assert_true(info.updated_at >= now - 5 && info.updated_at <= now + 5);
	assert_int_equal(hf_store_delete(st, "rt", &err), HF_OK);
	assert_int_equal(query_int(nested, "SELECT count(*) FROM messages"), 0);
	hf_session_free(s);
	hf_store_free(st);
	free(nested);
	free(parent);
}

static void test_schema_versions(void **state)
{
	fixture *f = *state;
	char *other = ts_path(f->dir, "other.db"), *junk = ts_path(f->dir, "junk.db");
	hf_store *st = open_store(f->db);
	hf_error err;
	hf_store_free(st);

	exec_sql(f->db, "PRAGMA user_version = 7");
	assert_int_equal(hf_store_open_sqlite(&st, f->db, &err), HF_ESTORE);
	assert_null(st);
	assert_true(ts_contains(err.message, "schema version 7"));
	assert_true(ts_contains(err.message, f->db));

	exec_sql(other, "CREATE TABLE notes (x)");
	assert_int_equal(hf_store_open_sqlite(&st, other, &err), HF_ESTORE);
	assert_true(ts_contains(err.message, "not a handoff session database"));

	ts_write(junk, "this is not a database, just some text that is long enough to matter\n");
	assert_int_equal(hf_store_open_sqlite(&st, junk, &err), HF_ESTORE);
	assert_true(ts_contains(err.message, junk));
	assert_true(ts_contains(err.message, "not a database"));
	free(other);
	free(junk);
}

static void test_damaged_row(void **state)
{
	fixture *f = *state;
	hf_store *st = open_store(f->db);
	hf_session *s;
	hf_error err;
	assert_int_equal(hf_session_new(&s, "dmg", &err), HF_OK);
	ts_must_commit(s, st, "A", "q", "a");
	hf_session_free(s);
	exec_sql(f->db, "UPDATE messages SET data = '{\"role\":\"system\",\"content\":\"x\"}' WHERE seq = 1");
	assert_int_equal(hf_store_load(&s, st, "dmg", &err), HF_EPROTOCOL);
	assert_null(s);
	assert_true(ts_contains(err.message, "session 'dmg', message 2"));
	assert_true(ts_contains(err.message, "system messages are not stored"));
	exec_sql(f->db, "DELETE FROM messages WHERE seq = 1");
	assert_int_equal(hf_store_load(&s, st, "dmg", &err), HF_ESTORE);
	assert_true(ts_contains(err.message, "should hold 2 messages but has 1"));
	hf_store_free(st);
}

static void test_default_path(void **state)
{
	static const char *const vars[] = { "HANDOFF_DB", "XDG_STATE_HOME", "HOME" };
	char *saved[3], *path;
	hf_error err;
	size_t i;
	(void)state;
	for (i = 0; i < 3; i++) {
		saved[i] = getenv(vars[i]) ? strdup(getenv(vars[i])) : NULL;
		unsetenv(vars[i]);
	}
	assert_int_equal(hf_store_default_path(&path, &err), HF_ESTORE);
	assert_true(ts_contains(err.message, "HANDOFF_DB"));
	setenv("HOME", "/home/someone", 1);
	assert_int_equal(hf_store_default_path(&path, &err), HF_OK);
	assert_string_equal(path, "/home/someone/.local/state/handoff/sessions.db");
	free(path);
	setenv("XDG_STATE_HOME", "relative/ignored", 1);
	assert_int_equal(hf_store_default_path(&path, &err), HF_OK);
	assert_string_equal(path, "/home/someone/.local/state/handoff/sessions.db");
	free(path);
	setenv("XDG_STATE_HOME", "/state", 1);
	assert_int_equal(hf_store_default_path(&path, &err), HF_OK);
	assert_string_equal(path, "/state/handoff/sessions.db");
	free(path);
	setenv("HANDOFF_DB", "/x/y.db", 1);
	assert_int_equal(hf_store_default_path(&path, &err), HF_OK);
	assert_string_equal(path, "/x/y.db");
	free(path);
	for (i = 0; i < 3; i++) {
		if (saved[i])
			setenv(vars[i], saved[i], 1);
		else
			unsetenv(vars[i]);
		free(saved[i]);
	}
}

/* ---- several processes ---- */

enum { WRITERS = 4, TURNS = 50 };

/* Child: wait until `start` is closed, open the database (all writers at
 * once, the first of them creating it), then write TURNS turns to session
 * "p<k>", reloading the session from the database every 10 turns. Exit 0
 * when all went well. */
static int writer(const char *db, int k, int start)
{
	char id[16], q[32], a[32], go;
	hf_store *st;
	hf_session *s;
	hf_error err;
	int i;
	snprintf(id, sizeof(id), "p%d", k);
	if (read(start, &go, 1) != 0)
		return 13;
	if (hf_store_open_sqlite(&st, db, &err) || hf_session_new(&s, id, &err)) {
		fprintf(stderr, "writer %d: %s\n", k, err.message);
		return 10;
	}
	for (i = 0; i < TURNS; i++) {
		if (i % 10 == 9) {
			hf_session_free(s);
			if (hf_store_load(&s, st, id, &err))
				return 11;
		}
		snprintf(q, sizeof(q), "%d:%d", k, i);
		snprintf(a, sizeof(a), "answer %d:%d", k, i);
		if (ts_commit(s, st, "Agent", q, a, &err)) {
			fprintf(stderr, "writer %d: %s\n", k, err.message);
			return 12;
		}
	}
	hf_session_free(s);
	hf_store_free(st);
	return 0;
}

static void test_processes_write_different_sessions(void **state)
{
	fixture *f = *state;
	hf_store *st;
	pid_t pids[WRITERS];
	hf_session *s;
	hf_error err;
	char want[32], *check;
	int k, i, status, start[2];

	assert_int_equal(pipe(start), 0);
	for (k = 0; k < WRITERS; k++) {
		pids[k] = fork();
		assert_true(pids[k] >= 0);
		if (pids[k] == 0) {
			close(start[1]);
			_exit(writer(f->db, k, start[0]));
		}
	}
	close(start[0]);
	close(start[1]); /* all at once */
	for (k = 0; k < WRITERS; k++) {
		assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	check = text_query(f->db, "PRAGMA integrity_check");
	assert_string_equal(check, "ok");
	free(check);
	st = open_store(f->db);
	for (k = 0; k < WRITERS; k++) {
		snprintf(want, sizeof(want), "p%d", k);
		assert_int_equal(hf_store_load(&s, st, want, &err), HF_OK);
		assert_int_equal(hf_session_message_count(s), 2 * TURNS);
		assert_int_equal(hf_session_usage(s).requests, TURNS);
		for (i = 0; i < TURNS; i++) {
			hf_message m;
			assert_int_equal(hf_session_message(&m, s, (size_t)(2 * i), NULL), HF_OK);
			snprintf(want, sizeof(want), "%d:%d", k, i);
			assert_string_equal(m.content, want);
		}
		hf_session_free(s);
	}
	assert_int_equal(query_int(f->db, "SELECT count(DISTINCT turn) FROM messages"), TURNS);
	hf_store_free(st);
}

/* Several processes load the same session, wait at a barrier, then all
 * commit with the same expected count: exactly one wins each round. */
static void test_processes_race_one_session(void **state)
{
	enum { RACERS = 4, ROUNDS = 8 };
	fixture *f = *state;
	hf_store *st = open_store(f->db);
	hf_session *s;
	hf_error err;
	int round, k, status, wins, conflicts;

	assert_int_equal(hf_session_new(&s, "contested", &err), HF_OK);
	ts_must_commit(s, st, "A", "start", "ok");
	hf_session_free(s);
	hf_store_free(st);
	for (round = 0; round < ROUNDS; round++) {
		int barrier[2], ready[2];
		pid_t pids[RACERS];
		char go;
		assert_int_equal(pipe(barrier), 0);
		assert_int_equal(pipe(ready), 0);
		for (k = 0; k < RACERS; k++) {
			pids[k] = fork();
			assert_true(pids[k] >= 0);
			if (pids[k] == 0) {
				char q[48];
				int rc;
				close(barrier[1]);
				close(ready[0]);
				if (hf_store_open_sqlite(&st, f->db, &err) ||
				    hf_store_load(&s, st, "contested", &err))
					_exit(10);
				if (write(ready[1], "r", 1) != 1 || read(barrier[0], &go, 1) != 0)
					_exit(11);
				snprintf(q, sizeof(q), "round %d racer %d", round, k);
				rc = ts_commit(s, st, "A", q, "a", &err);
				_exit(rc == HF_OK ? 0 : rc == HF_ECONFLICT ? 3 : 12);
			}
		}
		close(barrier[0]);
		close(ready[1]);
		for (k = 0; k < RACERS; k++)
			assert_int_equal(read(ready[0], &go, 1), 1);
		close(barrier[1]); /* everyone loaded: go */
		close(ready[0]);
		wins = conflicts = 0;
		for (k = 0; k < RACERS; k++) {
			assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
			assert_true(WIFEXITED(status));
			wins += WEXITSTATUS(status) == 0;
			conflicts += WEXITSTATUS(status) == 3;
		}
		assert_int_equal(wins, 1);
		assert_int_equal(conflicts, RACERS - 1);
	}
	assert_int_equal(query_int(f->db, "SELECT message_count FROM sessions"), 2 + 2 * ROUNDS);
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM messages"), 2 + 2 * ROUNDS);
}

/* Child: commit turns to session `id` until killed, each turn numbered on
 * from what the database holds ("<id> <n>", "answer <n>"). After the first
 * commit it writes a byte to `ready` (-1: none). */
static void endless_writer(const char *db, const char *id, int ready)
{
	char q[48], a[48];
	hf_store *st;
	hf_session *s;
	hf_error err;
	size_t n;
	if (hf_store_open_sqlite(&st, db, &err))
		_exit(10);
	if (hf_store_load(&s, st, id, &err) && hf_session_new(&s, id, &err))
		_exit(11);
	for (n = hf_session_message_count(s) / 2;; n++) {
		snprintf(q, sizeof(q), "%s %zu", id, n);
		snprintf(a, sizeof(a), "answer %zu", n);
		if (ts_commit(s, st, "Agent", q, a, &err))
			_exit(12);
		if (ready >= 0) {
			if (write(ready, "", 1) != 1)
				_exit(13);
			close(ready);
			ready = -1;
		}
	}
}

/* A writer of session `id`; with `committed`, returns once it has
 * committed a turn. */
static pid_t spawn_writer(const char *db, const char *id, bool committed)
{
	int fds[2] = { -1, -1 }, status;
	char byte;
	pid_t pid;
	if (committed)
		assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (committed)
			close(fds[0]);
		endless_writer(db, id, fds[1]);
	}
	if (!committed)
		return pid;
	close(fds[1]);
	if (read(fds[0], &byte, 1) != 1) { /* it died before its first commit */
		ts_wait_child(pid, &status);
		fail_msg("writer of %s ended before its first commit (status %d)", id, status);
	}
	close(fds[0]);
	return pid;
}

/* Every stored session holds whole turns, numbered without a gap. */
static void check_whole_turns(hf_store *st, const char *id)
{
	hf_session *s;
	hf_error err;
	char want[48];
	size_t i, n;
	if (hf_store_load(&s, st, id, &err))
		fail_msg("load %s: %s", id, err.message);
	n = hf_session_message_count(s);
	assert_int_equal(n % 2, 0);
	for (i = 0; i < n; i++) {
		hf_message m;
		assert_int_equal(hf_session_message(&m, s, i, NULL), HF_OK);
		if (i % 2 == 0)
			snprintf(want, sizeof(want), "%s %zu", id, i / 2);
		else
			snprintf(want, sizeof(want), "answer %zu", i / 2);
		assert_string_equal(m.content, want);
	}
	assert_int_equal(hf_session_usage(s).requests, n / 2);
	hf_session_free(s);
}

/* Writers killed with SIGKILL at random moments (0 to 8 ms after they
 * start; every fourth 0 to 8 ms after its first commit, so that kills land
 * while turns are being written however loaded the machine is), while
 * another process writes its own session the whole time: the database
 * stays intact and every session holds only whole turns and loads. */
static void test_processes_killed(void **state)
{
	enum { KILLS = 200, SESSIONS = 3 };
	static const char *const ids[SESSIONS] = { "k0", "k1", "k2" };
	fixture *f = *state;
	hf_store *st = open_store(f->db);
	unsigned long seed = 2024;
	char *check;
	pid_t bg, pid;
	int i, status, committed[SESSIONS] = { 0 };
	char q[128];
	hf_store_free(st);

	bg = spawn_writer(f->db, "background", true);
	for (i = 0; i < KILLS; i++) {
		struct timespec delay = { 0, 0 };
		seed = seed * 6364136223846793005UL + 1442695040888963407UL;
		delay.tv_nsec = (long)((seed >> 33) % 8000) * 1000; /* 0 to 8 ms */
		if (i % 4 == 0)
			committed[i % SESSIONS]++;
		pid = spawn_writer(f->db, ids[i % SESSIONS], i % 4 == 0);
		nanosleep(&delay, NULL);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		/* Killed, or (rarely) failed on its own: that must not happen. */
		assert_true(WIFSIGNALED(status));
	}
	kill(bg, SIGKILL);
	assert_int_equal(waitpid(bg, &status, 0), bg);
	assert_true(WIFSIGNALED(status));

	check = text_query(f->db, "PRAGMA integrity_check");
	assert_string_equal(check, "ok");
	free(check);
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM sessions s WHERE message_count !="
	                                  " (SELECT count(*) FROM messages WHERE session_id = s.id)"), 0);
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM (SELECT 1 FROM messages"
	                                  " GROUP BY session_id, turn HAVING count(*) != 2)"), 0);
	st = open_store(f->db);
	for (i = 0; i < SESSIONS; i++)
		check_whole_turns(st, ids[i]);
	check_whole_turns(st, "background");
	hf_store_free(st);
	/* The kills landed while turns were being written: each writer that
	 * was killed after its first commit left at least that turn. */
	for (i = 0; i < SESSIONS; i++) {
		snprintf(q, sizeof(q), "SELECT message_count FROM sessions WHERE id = '%s'", ids[i]);
		assert_true(query_int(f->db, q) >= 2 * committed[i]);
	}
}

/* Fail each library allocation in turn while opening, committing and
 * loading: an error every time, the session and the database unchanged by
 * a failed commit, no leak (HF_FAILALLOC builds only). */
static void test_allocation_failures(void **state)
{
#ifdef HF_FAILALLOC
	fixture *f = *state;
	hf_usage u = { 1, 1, 1, 2 };
	hf_store *st = NULL;
	hf_session *s, *back = NULL;
	hf_error err;
	unsigned long n;
	cJSON *turn = ts_turn("question", "answer");
	int rc = HF_ENOMEM;

	for (n = 1; rc != HF_OK; n++) {
		hf_failalloc_set(n);
		rc = hf_store_open_sqlite(&st, f->db, &err);
		hf_failalloc_set(0);
		assert_true(rc == HF_OK || (rc == HF_ENOMEM && st == NULL));
	}
	assert_int_equal(hf_session_new(&s, "fa", &err), HF_OK);
	ts_must_commit(s, st, "A", "first", "one");
	for (n = 1, rc = HF_ENOMEM; rc != HF_OK; n++) {
		hf_failalloc_set(n);
		rc = ts_session_commit(s, st, turn, "B", &u, &err);
		hf_failalloc_set(0);
		if (rc == HF_OK)
			break;
		assert_int_equal(rc, HF_ENOMEM);
		assert_int_equal(hf_session_message_count(s), 2);
		assert_string_equal(hf_session_agent(s), "A");
		assert_int_equal(query_int(f->db, "SELECT message_count FROM sessions"), 2);
	}
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM messages"), 4);
	/* Out of memory inside the JSON parser looks like bad JSON to it. */
	for (n = 1, rc = HF_ENOMEM; rc != HF_OK; n++) {
		hf_failalloc_set(n);
		rc = hf_store_load(&back, st, "fa", &err);
		hf_failalloc_set(0);
		assert_true(rc == HF_OK || ((rc == HF_ENOMEM || rc == HF_EPROTOCOL) && back == NULL));
	}
	assert_int_equal(hf_session_message_count(back), 4);
	assert_true(n > 10);
	hf_session_free(back);
	hf_session_free(s);
	hf_store_free(st);
	cJSON_Delete(turn);
#else
	skip();
#endif
	(void)state;
}

/* The journal mode byte pair of a database file's header (1 1: rollback
 * journal, 2 2: WAL). */
static int header_mode(const char *path)
{
	unsigned char h[20];
	int fd = open(path, O_RDONLY), n;
	assert_true(fd >= 0);
	n = (int)read(fd, h, sizeof(h));
	close(fd);
	assert_int_equal(n, 20);
	assert_int_equal(h[18], h[19]);
	return h[18];
}

static bool exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

static bool exists_with(const char *path, const char *suffix)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s%s", path, suffix);
	return exists(buf);
}

/* Another program's database is refused before anything is written: its
 * journal mode stays as it was (no WAL switch), no table is added. */
static void test_foreign_database_untouched(void **state)
{
	fixture *f = *state;
	char *other = ts_path(f->dir, "other.db");
	hf_store *st = (hf_store *)1;
	hf_error err;
	exec_sql(other, "CREATE TABLE notes (x); INSERT INTO notes VALUES (1)");
	assert_int_equal(header_mode(other), 1);
	assert_int_equal(hf_store_open_sqlite(&st, other, &err), HF_ESTORE);
	assert_null(st);
	assert_true(ts_contains(err.message, "not a handoff session database"));
	assert_int_equal(hf_store_open_sqlite_readonly(&st, other, &err), HF_ESTORE);
	assert_true(ts_contains(err.message, "not a handoff session database"));
	assert_int_equal(header_mode(other), 1);
	assert_false(exists_with(other, "-wal"));
	assert_int_equal(query_int(other, "SELECT count(*) FROM sqlite_schema"), 1);
	free(other);
}

static int count_info(const hf_session_info *info, void *payload)
{
	(void)info;
	++*(size_t *)payload;
	return 0;
}

/* hf_store_open_sqlite_readonly writes nothing: a missing file is not
 * created, an empty one is not given a schema, a store's sessions are read
 * and every writing call is refused; no -wal or -shm file is left. */
static void test_readonly_open(void **state)
{
	fixture *f = *state;
	char *empty = ts_path(f->dir, "empty.db"), *missing = ts_path(f->dir, "missing.db");
	hf_store *st;
	hf_session *s;
	hf_error err;
	struct stat sb;
	size_t n = 0;

	assert_int_equal(hf_store_open_sqlite_readonly(&st, missing, &err), HF_ENOTFOUND);
	assert_false(exists(missing));
	ts_write(empty, "");
	assert_int_equal(hf_store_open_sqlite_readonly(&st, empty, &err), HF_ESTORE);
	assert_true(ts_contains(err.message, "empty"));
	assert_int_equal(stat(empty, &sb), 0);
	assert_int_equal(sb.st_size, 0);

	st = open_store(f->db);
	assert_int_equal(hf_session_new(&s, "ro", &err), HF_OK);
	ts_must_commit(s, st, "Spanish agent", "Hola", "Buenas");
	hf_session_free(s);
	hf_store_free(st);
	assert_false(exists_with(f->db, "-wal"));
	assert_int_equal(hf_store_open_sqlite_readonly(&st, f->db, &err), HF_OK);
	assert_int_equal(hf_store_list(st, 0, count_info, &n, &err), HF_OK);
	assert_int_equal(n, 1);
	assert_int_equal(hf_store_load(&s, st, "ro", &err), HF_OK);
	assert_int_equal(hf_session_message_count(s), 2);
	assert_int_equal(ts_commit(s, st, "A", "more", "no", &err), HF_ESTORE);
	assert_true(ts_contains(err.message, "read-only"));
	assert_int_equal(hf_store_set_agent(st, "ro", "A", &err), HF_ESTORE);
	assert_int_equal(hf_store_delete(st, "ro", &err), HF_ESTORE);
	assert_int_equal(hf_session_message_count(s), 2);
	hf_session_free(s);
	hf_store_free(st);
	assert_false(exists_with(f->db, "-wal"));
	assert_false(exists_with(f->db, "-shm"));
	assert_int_equal(query_int(f->db, "SELECT message_count FROM sessions"), 2);
	free(empty);
	free(missing);
}

/* A database this process may not write fails when it is opened, before a
 * turn makes (and pays for) a model call: the mock sees no request. Run in
 * a child as an unprivileged user (root may write anything). */
static void test_readonly_database_no_model_call(void **state)
{
	fixture *f = *state;
	hf_mock *m = tm_start(NULL);
	char *url = tm_base_url(m, "/v1");
	hf_store *st = open_store(f->db);
	hf_session *s;
	hf_error err;
	pid_t pid;
	int status;

	assert_int_equal(hf_session_new(&s, "locked", &err), HF_OK);
	ts_must_commit(s, st, "Spanish agent", "Hola", "Buenas");
	hf_session_free(s);
	hf_store_free(st);
	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(chmod(f->db, 0444), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		hf_client_options co = HF_CLIENT_OPTIONS_INIT;
		hf_graph *g;
		hf_client *c;
		if (getuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(20);
		co.base_url = url;
		if (hf_graph_load(&g, HF_SOURCE_DIR "/agents", NULL, &err) ||
		    hf_client_new(&c, &co, g, &err))
			_exit(21);
		if (hf_store_open_sqlite(&st, f->db, &err) == HF_OK) {
			/* opened: the turn would only fail at its commit */
			if (hf_store_load(&s, st, "locked", &err) == HF_OK)
				hf_run(NULL, c, g, s, st, "Hello", NULL, &err);
			_exit(22);
		}
		_exit(err.code == HF_ESTORE && ts_contains(err.message, "read-only") &&
		      ts_contains(err.message, f->db) ? 0 : 23);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(hf_mock_log_count(m), 0);
	assert_false(exists_with(f->db, "-shm"));
	assert_int_equal(chmod(f->db, 0600), 0);
	assert_int_equal(query_int(f->db, "SELECT message_count FROM sessions"), 2);
	hf_mock_stop(m);
	free(url);
}

/* ---- a full disk ---- */

/* What the child of test_full_disk saw. */
typedef struct full_report {
	int setup;           /* 0, or the step that failed */
	int rc;              /* hf_run on the full disk */
	char message[1024];  /* its error */
	size_t stored;       /* messages stored before the turn */
	size_t after_fail;   /* messages loaded back after it */
	int retry_rc;        /* hf_run once space was freed */
	size_t after_retry;  /* messages loaded back after that */
	int shm_left;        /* a -shm or -wal file left after closing */
} full_report;

static bool write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	bool ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	if (fd >= 0)
		close(fd);
	return ok;
}

/* A mount namespace of this process's own (as root, or else in a user
 * namespace of its own), with a 256 KiB tmpfs over dir. */
static bool small_tmpfs(const char *dir)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	char map[64];
	if (unshare(CLONE_NEWNS) != 0) {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
			return false;
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
		if (!write_file("/proc/self/uid_map", map) ||
		    !write_file("/proc/self/setgroups", "deny"))
			return false;
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
		if (!write_file("/proc/self/gid_map", map))
			return false;
	}
	return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
	       mount("tmpfs", dir, "tmpfs", 0, "size=256k,mode=0700") == 0;
}

/* Fill the file system of path to the last byte (ENOSPC). */
static bool fill_disk(const char *path)
{
	static char block[4096];
	size_t chunk = sizeof(block);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	while (chunk > 0) {
		if (write(fd, block, chunk) < 0) {
			if (errno != ENOSPC)
				break;
			chunk /= 2;
		}
	}
	close(fd);
	return chunk == 0;
}

static size_t stored_messages(hf_store *st, const char *id)
{
	hf_session *s;
	hf_error err;
	size_t n;
	if (hf_store_load(&s, st, id, &err))
		return (size_t)-1;
	n = hf_session_message_count(s);
	hf_session_free(s);
	return n;
}

/* The child of test_full_disk: on a tmpfs of its own, store a turn, fill
 * the disk, run a turn against the mock, free the space, run another. */
static void full_disk_child(const fixture *f, const char *url, full_report *rep)
{
	hf_client_options co = HF_CLIENT_OPTIONS_INIT;
	char *filler = ts_path(f->dir, "filler");
	hf_graph *g;
	hf_client *c;
	hf_store *st;
	hf_session *s;
	hf_error err;

	memset(&err, 0, sizeof(err));
	rep->setup = 77;
	if (!small_tmpfs(f->dir))
		return;
	co.base_url = url;
	rep->setup = 1;
	if (hf_graph_load(&g, HF_SOURCE_DIR "/agents", NULL, &err) ||
	    hf_client_new(&c, &co, g, &err))
		goto failed;
	rep->setup = 2;
	if (hf_store_open_sqlite(&st, f->db, &err) || hf_session_new(&s, "full", &err) ||
	    ts_commit(s, st, "Spanish agent", "Hola", "Buenas", &err))
		goto failed;
	hf_session_free(s);
	hf_store_free(st);
	/* Reopened (the WAL is new and empty), then the disk fills up. */
	rep->setup = 3;
	if (hf_store_open_sqlite(&st, f->db, &err) || hf_store_load(&s, st, "full", &err))
		goto failed;
	rep->stored = hf_session_message_count(s);
	rep->setup = 4;
	if (!fill_disk(filler)) {
		snprintf(rep->message, sizeof(rep->message), "filling the disk: %s", strerror(errno));
		return;
	}
	rep->setup = 0;
	rep->rc = hf_run(NULL, c, g, s, st, "Hello", NULL, &err);
	snprintf(rep->message, sizeof(rep->message), "%s", err.message);
	rep->after_fail = stored_messages(st, "full");
	hf_session_free(s);
	unlink(filler);
	if (hf_store_load(&s, st, "full", &err) == HF_OK) {
		rep->retry_rc = hf_run(NULL, c, g, s, st, "Hello", NULL, &err);
		hf_session_free(s);
	} else {
		rep->retry_rc = -1;
	}
	rep->after_retry = stored_messages(st, "full");
	hf_store_free(st);
	rep->shm_left = exists_with(f->db, "-shm") || exists_with(f->db, "-wal");
	return;
failed:
	snprintf(rep->message, sizeof(rep->message), "%s", err.message);
}

/* A full disk (a small tmpfs, filled up, in a mount namespace of a child
 * process): the turn fails saying the disk is full, not "disk I/O error",
 * and the stored conversation is as it was; once space is freed the next
 * turn is stored and closing leaves no -shm or -wal file. Skipped where
 * this process may not mount a tmpfs. */
static void test_full_disk(void **state)
{
	fixture *f = *state;
	hf_mock *m = tm_start(NULL);
	char *url = tm_base_url(m, "/v1");
	full_report rep;
	ssize_t got = 0, k;
	int fds[2], status;
	pid_t pid;

	memset(&rep, 0, sizeof(rep));
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		full_disk_child(f, url, &rep);
		_exit(write(fds[1], &rep, sizeof(rep)) == (ssize_t)sizeof(rep) ? 0 : 1);
	}
	close(fds[1]);
	while (got < (ssize_t)sizeof(rep) &&
	       (k = read(fds[0], (char *)&rep + got, sizeof(rep) - (size_t)got)) > 0)
		got += k;
	close(fds[0]);
	ts_wait_child(pid, &status);
	hf_mock_stop(m);
	free(url);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(got, (ssize_t)sizeof(rep));
	if (rep.setup == 77)
		skip(); /* no mount namespace here */
	if (rep.setup)
		fail_msg("setting up step %d: %s", rep.setup, rep.message);
	assert_int_equal(rep.stored, 2);
	assert_int_equal(rep.rc, HF_ESTORE);
	if (!ts_contains(rep.message, "the disk is full") ||
	    ts_contains(rep.message, "I/O error") || !ts_contains(rep.message, f->db))
		fail_msg("a full disk was reported as: %s", rep.message);
	assert_int_equal(rep.after_fail, 2);
	assert_int_equal(rep.retry_rc, HF_OK);
	assert_true(rep.after_retry > 2);
	assert_false(rep.shm_left);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_conformance, ts_dbdir_setup, ts_dbdir_teardown),
		cmocka_unit_test_setup_teardown(test_file, ts_dbdir_setup, ts_dbdir_teardown),
		cmocka_unit_test_setup_teardown(test_schema_versions, ts_dbdir_setup, ts_dbdir_teardown),
		cmocka_unit_test_setup_teardown(test_damaged_row, ts_dbdir_setup, ts_dbdir_teardown),
		cmocka_unit_test_setup_teardown(test_default_path, ts_dbdir_setup, ts_dbdir_teardown),
		cmocka_unit_test_setup_teardown(test_foreign_database_untouched, ts_dbdir_setup, ts_dbdir_teardown),
		cmocka_unit_test_setup_teardown(test_readonly_open, ts_dbdir_setup, ts_dbdir_teardown),
		cmocka_unit_test_setup_teardown(test_readonly_database_no_model_call, ts_dbdir_setup, ts_dbdir_teardown),
		cmocka_unit_test_setup_teardown(test_full_disk, ts_dbdir_setup, ts_dbdir_teardown),
		cmocka_unit_test_setup_teardown(test_allocation_failures, ts_dbdir_setup, ts_dbdir_teardown),
		cmocka_unit_test_setup_teardown(test_processes_write_different_sessions, ts_dbdir_setup, ts_dbdir_teardown),
		cmocka_unit_test_setup_teardown(test_processes_race_one_session, ts_dbdir_setup, ts_dbdir_teardown),
		cmocka_unit_test_setup_teardown(test_processes_killed, ts_dbdir_setup, ts_dbdir_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

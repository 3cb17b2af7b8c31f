/*
 * store_sqlite.c - the default session store: one SQLite file in WAL mode,
 * shared safely by any number of processes. Each finished turn is one
 * BEGIN IMMEDIATE transaction that first checks the stored message count
 * (optimistic concurrency), so a turn is stored whole or not at all and a
 * second writer of the same session gets HF_ECONFLICT. The schema is in
 * docs/sessions.md.
 */
#include "internal.h"
#include "handoff/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SCHEMA_VERSION 1
#define BUSY_TIMEOUT_MS 5000

static const char schema_sql[] =
	"CREATE TABLE sessions ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" agent TEXT,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL,"
	" requests INTEGER NOT NULL DEFAULT 0,"
	" input_tokens INTEGER NOT NULL DEFAULT 0,"
	" output_tokens INTEGER NOT NULL DEFAULT 0,"
	" total_tokens INTEGER NOT NULL DEFAULT 0,"
	" message_count INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX sessions_by_use ON sessions(updated_at);"
	"CREATE TABLE messages ("
	" session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL,"
	" turn INTEGER NOT NULL,"
	" data TEXT NOT NULL,"
	" PRIMARY KEY (session_id, seq)) WITHOUT ROWID;"
	"PRAGMA user_version = 1;";

/* Statements prepared once per connection. */
enum {
	Q_BEGIN_WRITE,
	Q_BEGIN_READ,
	Q_COMMIT,
	Q_ROLLBACK,
	Q_COUNT,
	Q_LAST_TURN,
	Q_UPSERT,
	Q_INSERT_MESSAGE,
	Q_SESSION,
	Q_MESSAGES,
	Q_DELETE,
	Q_LIST,
	Q_N
};

static const char *const queries[Q_N] = {
	[Q_BEGIN_WRITE] = "BEGIN IMMEDIATE",
	[Q_BEGIN_READ] = "BEGIN",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	[Q_COUNT] = "SELECT message_count FROM sessions WHERE id = ?1",
	[Q_LAST_TURN] = "SELECT turn FROM messages WHERE session_id = ?1 ORDER BY seq DESC LIMIT 1",
	/* updated_at is unix milliseconds, made strictly increasing over the
	 * whole database so "most recently used" is a total order. */
	[Q_UPSERT] =
		"INSERT INTO sessions (id, agent, created_at, updated_at, requests, input_tokens,"
		" output_tokens, total_tokens, message_count)"
		" VALUES (?1, ?2, ?3, max(?3, coalesce((SELECT max(updated_at) FROM sessions), 0) + 1),"
		" ?4, ?5, ?6, ?7, ?8)"
		" ON CONFLICT (id) DO UPDATE SET agent = excluded.agent,"
		" updated_at = excluded.updated_at, requests = requests + excluded.requests,"
		" input_tokens = input_tokens + excluded.input_tokens,"
		" output_tokens = output_tokens + excluded.output_tokens,"
		" total_tokens = total_tokens + excluded.total_tokens,"
		" message_count = excluded.message_count",
	[Q_INSERT_MESSAGE] =
		"INSERT INTO messages (session_id, seq, turn, data) VALUES (?1, ?2, ?3, ?4)",
	[Q_SESSION] = "SELECT agent, requests, input_tokens, output_tokens, total_tokens,"
	              " message_count FROM sessions WHERE id = ?1",
	[Q_MESSAGES] = "SELECT data FROM messages WHERE session_id = ?1 ORDER BY seq",
	[Q_DELETE] = "DELETE FROM sessions WHERE id = ?1",
	[Q_LIST] = "SELECT id, agent, message_count, created_at, updated_at, requests,"
	           " input_tokens, output_tokens, total_tokens FROM sessions"
	           " ORDER BY updated_at DESC, id LIMIT ?1",
};

typedef struct sqlite_store {
	sqlite3 *db;
	char *path;
	bool readonly; /* opened by hf_store_open_sqlite_readonly */
	sqlite3_stmt *q[Q_N];
} sqlite_store;

/* HF_ESTORE naming the database and what SQLite said. */
static int db_err(const sqlite_store *d, hf_error *err, const char *what)
{
	int code = sqlite3_errcode(d->db) & 0xff;
	if (code == SQLITE_FULL || sqlite3_system_errno(d->db) == ENOSPC)
		return hf_err(err, HF_ESTORE, "session database %s: %s: the disk is full; free some "
		                              "space and try again", d->path, what);
	if (code == SQLITE_READONLY)
		return hf_err(err, HF_ESTORE, "session database %s: %s: the database is read-only "
		                              "(check the permissions of the file and its directory)",
		              d->path, what);
	return hf_err(err, HF_ESTORE, "session database %s: %s: %s%s", d->path, what,
	              sqlite3_errmsg(d->db),
	              code == SQLITE_BUSY ? " (another process held it longer than 5 s; try again)"
	                                  : "");
}

/* Writing calls on a store opened for reading. */
static int refuse_write(const sqlite_store *d, hf_error *err)
{
	return hf_err(err, HF_ESTORE, "session database %s was opened read-only", d->path);
}

/* Reset a statement for its next use. */
static sqlite3_stmt *q(sqlite_store *d, int which)
{
	sqlite3_stmt *s = d->q[which];
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

/* Run a statement that returns no rows. */
static int exec_q(sqlite_store *d, int which, hf_error *err)
{
	sqlite3_stmt *s = q(d, which);
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return HF_OK;
	return db_err(d, err, which == Q_COMMIT     ? "committing"
	                      : which == Q_ROLLBACK ? "rolling back"
	                                            : "starting a transaction");
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static sqlite3_int64 to_db(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (sqlite3_int64)v;
}

static uint64_t from_db(sqlite3_stmt *s, int col)
{
	sqlite3_int64 v = sqlite3_column_int64(s, col);
	return v < 0 ? 0 : (uint64_t)v;
}

/* The stored message count of id into *count (0 when absent). */
static int stored_count(sqlite_store *d, const char *id, int64_t *count, hf_error *err)
{
	sqlite3_stmt *s = q(d, Q_COUNT);
	int rc;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	*count = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? HF_OK : db_err(d, err, "reading a session");
}

static int upsert(sqlite_store *d, const char *id, const char *agent, const hf_usage *u,
                  int64_t count, hf_error *err)
{
	sqlite3_stmt *s = q(d, Q_UPSERT);
	int rc;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	if (agent)
		sqlite3_bind_text(s, 2, agent, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, now_ms());
	sqlite3_bind_int64(s, 4, to_db(u->requests));
	sqlite3_bind_int64(s, 5, to_db(u->input_tokens));
	sqlite3_bind_int64(s, 6, to_db(u->output_tokens));
	sqlite3_bind_int64(s, 7, to_db(u->total_tokens));
	sqlite3_bind_int64(s, 8, count);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? HF_OK : db_err(d, err, "writing a session");
}

static int insert_messages(sqlite_store *d, const char *id, int64_t first,
                           const char *const *messages, size_t n, hf_error *err)
{
	sqlite3_stmt *s = q(d, Q_LAST_TURN);
	int64_t turn;
	size_t i;
	int rc;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	turn = (rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0) + 1;
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_err(d, err, "reading a session");
	for (i = 0; i < n; i++) {
		s = q(d, Q_INSERT_MESSAGE);
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, first + (int64_t)i);
		sqlite3_bind_int64(s, 3, turn);
		if (!messages[i])
			return hf_err(err, HF_EINVAL, "message %zu of the turn is NULL", i + 1);
		sqlite3_bind_text(s, 4, messages[i], -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE)
			return db_err(d, err, "writing a message");
	}
	return HF_OK;
}

/* End a write transaction: COMMIT when rc is HF_OK, else ROLLBACK. */
static int finish(sqlite_store *d, int rc, hf_error *err)
{
	if (rc == HF_OK && (rc = exec_q(d, Q_COMMIT, err)) == HF_OK)
		return HF_OK;
	if (!sqlite3_get_autocommit(d->db))
		exec_q(d, Q_ROLLBACK, NULL);
	return rc;
}

static int s_commit(void *impl, const char *id, size_t expected, const char *agent,
                    const hf_usage *usage, const char *const *messages, size_t n,
                    hf_error *err)
{
	sqlite_store *d = impl;
	int64_t count;
	int rc;
	if (d->readonly)
		return refuse_write(d, err);
	if (expected > INT64_MAX - n)
		return hf_err(err, HF_EINVAL, "message count out of range");
	if ((rc = exec_q(d, Q_BEGIN_WRITE, err)))
		return rc;
	if ((rc = stored_count(d, id, &count, err)) == HF_OK && count != (int64_t)expected)
		rc = hf_err(err, HF_ECONFLICT,
		            "session '%s' was changed by another process (it holds %lld messages, "
		            "this one expected %zu); reload and retry", id, (long long)count, expected);
	if (rc == HF_OK)
		rc = upsert(d, id, agent, usage, (int64_t)(expected + n), err);
	if (rc == HF_OK)
		rc = insert_messages(d, id, (int64_t)expected, messages, n, err);
	return finish(d, rc, err);
}

static int s_set_agent(void *impl, const char *id, const char *agent, hf_error *err)
{
	static const hf_usage none = { 0, 0, 0, 0 };
	sqlite_store *d = impl;
	int64_t count;
	int rc;
	if (d->readonly)
		return refuse_write(d, err);
	if ((rc = exec_q(d, Q_BEGIN_WRITE, err)))
		return rc;
	if ((rc = stored_count(d, id, &count, err)) == HF_OK)
		rc = upsert(d, id, agent, &none, count, err);
	return finish(d, rc, err);
}

static int s_remove(void *impl, const char *id, hf_error *err)
{
	sqlite_store *d = impl;
	sqlite3_stmt *s;
	int rc;
	if (d->readonly)
		return refuse_write(d, err);
	s = q(d, Q_DELETE);
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return db_err(d, err, "deleting a session");
	if (sqlite3_changes(d->db) == 0)
		return hf_err(err, HF_ENOTFOUND, "no session '%s' in %s", id, d->path);
	return HF_OK;
}

/* Read the session row and its messages (inside a read transaction). */
static int load_rows(sqlite_store *d, const char *id, hf_store_loader *ld, hf_error *err)
{
	sqlite3_stmt *s = q(d, Q_SESSION);
	int64_t want, got = 0;
	hf_usage u;
	int rc;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return hf_err(err, HF_ENOTFOUND, "no session '%s' in %s", id, d->path);
	if (rc != SQLITE_ROW)
		return db_err(d, err, "reading a session");
	u.requests = from_db(s, 1);
	u.input_tokens = from_db(s, 2);
	u.output_tokens = from_db(s, 3);
	u.total_tokens = from_db(s, 4);
	want = sqlite3_column_int64(s, 5);
	rc = hf_store_loader_set(ld, (const char *)sqlite3_column_text(s, 0), &u, err);
	sqlite3_reset(s);
	if (rc)
		return rc;
	s = q(d, Q_MESSAGES);
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(s, 0);
		if ((rc = hf_store_loader_add(ld, text ? text : "", (size_t)sqlite3_column_bytes(s, 0),
		                              err))) {
			hf_err_prefix(err, "%s: session '%s', message %lld", d->path, id,
			              (long long)got + 1);
			return rc;
		}
		got++;
	}
	if (rc != SQLITE_DONE)
		return db_err(d, err, "reading messages");
	if (got != want)
		return hf_err(err, HF_ESTORE,
		              "session database %s: session '%s' should hold %lld messages but has "
		              "%lld", d->path, id, (long long)want, (long long)got);
	return HF_OK;
}

static int s_load(void *impl, const char *id, hf_store_loader *ld, hf_error *err)
{
	sqlite_store *d = impl;
	int rc;
	if ((rc = exec_q(d, Q_BEGIN_READ, err)))
		return rc;
	rc = load_rows(d, id, ld, err);
	sqlite3_reset(d->q[Q_SESSION]);
	sqlite3_reset(d->q[Q_MESSAGES]);
	exec_q(d, Q_ROLLBACK, NULL);
	return rc;
}

static int s_list(void *impl, size_t limit, int (*fn)(const hf_session_info *, void *),
                  void *payload, hf_error *err)
{
	sqlite_store *d = impl;
	sqlite3_stmt *s = q(d, Q_LIST);
	hf_session_info info;
	int rc;
	sqlite3_bind_int64(s, 1, limit == 0 || limit > INT64_MAX ? -1 : (sqlite3_int64)limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		info.id = (const char *)sqlite3_column_text(s, 0);
		info.agent = (const char *)sqlite3_column_text(s, 1);
		info.messages = (size_t)from_db(s, 2);
		info.created_at = sqlite3_column_int64(s, 3) / 1000;
		info.updated_at = sqlite3_column_int64(s, 4) / 1000;
		info.usage.requests = from_db(s, 5);
		info.usage.input_tokens = from_db(s, 6);
		info.usage.output_tokens = from_db(s, 7);
		info.usage.total_tokens = from_db(s, 8);
		if (!info.id)
			continue;
		if (fn(&info, payload)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? HF_OK : db_err(d, err, "listing sessions");
}

static void s_close(void *impl)
{
	sqlite_store *d = impl;
	size_t i;
	if (!d)
		return;
	for (i = 0; i < Q_N; i++)
		sqlite3_finalize(d->q[i]);
	sqlite3_close(d->db);
	free(d->path);
	free(d);
}

/* ---- opening ---- */

int hf_store_default_path(char **out, hf_error *err)
{
	const char *env = getenv("HANDOFF_DB"), *base;
	if (!out)
		return hf_err(err, HF_EINVAL, "hf_store_default_path: out is NULL");
	*out = NULL;
	if (env && *env)
		*out = hf_strdup(env);
	else if ((base = getenv("XDG_STATE_HOME")) && base[0] == '/')
		*out = hf_asprintf("%s/handoff/sessions.db", base);
	else if ((base = getenv("HOME")) && base[0] == '/')
		*out = hf_asprintf("%s/.local/state/handoff/sessions.db", base);
	else
		return hf_err(err, HF_ESTORE, "no place for the session database: set HANDOFF_DB, "
		                              "XDG_STATE_HOME or HOME, or pass a path");
	return *out ? HF_OK : hf_err(err, HF_ENOMEM, "out of memory");
}

/* `path` when given, else the default. */
static int resolve_path(char **out, const char *path, hf_error *err)
{
	if (!path || !*path)
		return hf_store_default_path(out, err);
	return (*out = hf_strdup(path)) ? HF_OK : hf_err(err, HF_ENOMEM, "out of memory");
}

/* Create the missing parent directories of path (mode 0700) and the file
 * itself (mode 0600) when it does not exist. */
static int create_file(const char *path, hf_error *err)
{
	char *dir = hf_strdup(path), *p;
	struct stat sb;
	int fd;
	if (!dir)
		return hf_err(err, HF_ENOMEM, "out of memory");
	for (p = dir + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && !(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))) {
			hf_err(err, HF_ESTORE, "cannot create directory %s for the session database: %s",
			       dir, strerror(errno));
			free(dir);
			return HF_ESTORE;
		}
		*p = '/';
	}
	free(dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	else if (errno != EEXIST)
		return hf_err(err, HF_ESTORE, "cannot create the session database %s: %s", path,
		              strerror(errno));
	return HF_OK;
}

/* The schema version and the number of schema objects, read without a
 * transaction of our own (nothing is written). */
static int read_schema(sqlite_store *d, int *version, int *objects, hf_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc = HF_OK;
	if (sqlite3_prepare_v2(d->db, "SELECT (SELECT user_version FROM pragma_user_version),"
	                              " (SELECT count(*) FROM sqlite_schema)", -1, &s, NULL) !=
	            SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW)
		rc = db_err(d, err, "reading the schema version");
	else {
		*version = sqlite3_column_int(s, 0);
		*objects = sqlite3_column_int(s, 1);
	}
	sqlite3_finalize(s);
	return rc;
}

/* Refuse a database that is not ours, or newer than we understand. An
 * empty one (version 0, no tables) is acceptable only when `empty_ok`. */
static int check_version(const sqlite_store *d, int version, int objects, bool empty_ok,
                         hf_error *err)
{
	if (version == 0 && objects > 0)
		return hf_err(err, HF_ESTORE, "%s is not a handoff session database (it holds other "
		                              "tables); choose another path", d->path);
	if (version == 0 && !empty_ok)
		return hf_err(err, HF_ESTORE, "%s is not a handoff session database (it is empty)",
		              d->path);
	if (version > SCHEMA_VERSION)
		return hf_err(err, HF_ESTORE, "session database %s has schema version %d, newer than "
		                              "this handoff understands (%d); use a newer handoff",
		              d->path, version, SCHEMA_VERSION);
	return HF_OK;
}

/* Create the schema in a new database, or check the version of an old one,
 * under the write lock (another process may be creating it too). */
static int check_schema(sqlite_store *d, hf_error *err)
{
	int version = -1, tables = 0, rc;
	if (sqlite3_exec(d->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_err(d, err, "opening");
	if ((rc = read_schema(d, &version, &tables, err)) == HF_OK &&
	    (rc = check_version(d, version, tables, true, err)) == HF_OK && version == 0 &&
	    sqlite3_exec(d->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK)
		rc = db_err(d, err, "creating the schema");
	if (rc == HF_OK && sqlite3_exec(d->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = db_err(d, err, "creating the schema");
	if (rc)
		sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Switch to WAL mode. A new database needs a moment alone for that, and
 * SQLite does not wait for it (no busy handler), so retry for as long as
 * the busy timeout when other processes open it at the same time. */
static int set_wal(sqlite_store *d, hf_error *err)
{
	int waited = 0, rc;
	while ((rc = sqlite3_exec(d->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL)) ==
	               SQLITE_BUSY &&
	       waited < BUSY_TIMEOUT_MS)
		waited += sqlite3_sleep(10);
	return rc == SQLITE_OK ? HF_OK : db_err(d, err, "switching to WAL mode");
}

/* Whether this process may write path and create files beside it (the
 * WAL needs its -wal and -shm files). */
static bool writable(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	if (!strcmp(path, ":memory:"))
		return true;
	if (access(path, W_OK) != 0)
		return false;
	if (!slash)
		return access(".", W_OK | X_OK) == 0;
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= sizeof(dir))
		return true; /* too long to check here: SQLite will say */
	memcpy(dir, path, n);
	dir[n] = '\0';
	return access(dir, W_OK | X_OK) == 0;
}

static int prepare_all(sqlite_store *d, hf_error *err)
{
	size_t i;
	for (i = 0; i < Q_N; i++)
		if (sqlite3_prepare_v3(d->db, queries[i], -1, SQLITE_PREPARE_PERSISTENT, &d->q[i],
		                       NULL) != SQLITE_OK)
			return db_err(d, err, "preparing statements");
	return HF_OK;
}

static int open_db(sqlite_store *d, hf_error *err)
{
	int version = 0, objects = 0, rc;
	if (strcmp(d->path, ":memory:") && (rc = create_file(d->path, err)))
		return rc;
	rc = sqlite3_open_v2(d->path, &d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK)
		return d->db ? db_err(d, err, "opening")
		             : hf_err(err, HF_ENOMEM, "out of memory opening %s", d->path);
	sqlite3_busy_timeout(d->db, BUSY_TIMEOUT_MS);
	/* A file we may not write is refused now, not after a paid model call. */
	if (sqlite3_db_readonly(d->db, "main") == 1 || !writable(d->path))
		return hf_err(err, HF_ESTORE, "session database %s is read-only (check the "
		                              "permissions of the file and its directory)", d->path);
	/* Someone else's database is refused before anything is changed. */
	if ((rc = read_schema(d, &version, &objects, err)) ||
	    (rc = check_version(d, version, objects, true, err)))
		return rc;
	if ((rc = set_wal(d, err)))
		return rc;
	/* synchronous=NORMAL: with WAL a committed transaction survives the
	 * process being killed; power loss may lose the latest turns, never a
	 * part of one. */
	if (sqlite3_exec(d->db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;", NULL,
	                 NULL, NULL) != SQLITE_OK)
		return db_err(d, err, "opening");
	if ((rc = check_schema(d, err)))
		return rc;
	return prepare_all(d, err);
}

/* Open for reading only: no file, WAL switch or schema is created, and
 * the connection refuses every change (query_only). When the file may be
 * written it is opened read-write all the same, so that closing it cleans
 * up the -wal and -shm files as any last connection does; a file we may
 * not write is opened SQLITE_OPEN_READONLY. */
static int open_db_readonly(sqlite_store *d, hf_error *err)
{
	struct stat sb;
	int version = 0, objects = 0, rc;
	if (stat(d->path, &sb) != 0)
		return hf_err(err, errno == ENOENT ? HF_ENOTFOUND : HF_ESTORE,
		              "cannot open the session database %s: %s", d->path, strerror(errno));
	rc = sqlite3_open_v2(d->path, &d->db,
	                     writable(d->path) ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK)
		return d->db ? db_err(d, err, "opening")
		             : hf_err(err, HF_ENOMEM, "out of memory opening %s", d->path);
	sqlite3_busy_timeout(d->db, BUSY_TIMEOUT_MS);
	if (sqlite3_exec(d->db, "PRAGMA query_only = ON", NULL, NULL, NULL) != SQLITE_OK)
		return db_err(d, err, "opening");
	if ((rc = read_schema(d, &version, &objects, err)) ||
	    (rc = check_version(d, version, objects, false, err)))
		return rc;
	return prepare_all(d, err);
}

static int open_store(hf_store **out, const char *path, bool readonly, hf_error *err)
{
	static const hf_store_ops ops = { HF_STORE_OPS_VERSION, s_load, s_commit, s_set_agent,
		                          s_remove, s_list, s_close };
	sqlite_store *d;
	int rc;
	if (!out)
		return hf_err(err, HF_EINVAL, "hf_store_open_sqlite: out is NULL");
	*out = NULL;
	if (!(d = hf_calloc(1, sizeof(*d))))
		return hf_err(err, HF_ENOMEM, "out of memory opening the session database");
	d->readonly = readonly;
	if ((rc = resolve_path(&d->path, path, err)) ||
	    (rc = readonly ? open_db_readonly(d, err) : open_db(d, err)) ||
	    (rc = hf_store_new(out, &ops, d, err))) {
		s_close(d);
		return rc;
	}
	return HF_OK;
}

int hf_store_open_sqlite(hf_store **out, const char *path, hf_error *err)
{
	return open_store(out, path, false, err);
}

int hf_store_open_sqlite_readonly(hf_store **out, const char *path, hf_error *err)
{
	return open_store(out, path, true, err);
}

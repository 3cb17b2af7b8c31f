/*
 * support.h - helpers shared by the tests: temporary directories, files,
 * running the `handoff` command and capturing what it prints.
 */
#ifndef HF_TEST_SUPPORT_H
#define HF_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>

/* A fresh directory under $TMPDIR, removed by ts_rmtree. Owned string. */
char *ts_tmpdir(void);
void ts_rmtree(const char *path);
/* Write / read a whole file. ts_read returns an owned string or NULL. */
void ts_write(const char *path, const char *text);
char *ts_read(const char *path, size_t *len);
/* path = dir + "/" + name (owned). */
char *ts_path(const char *dir, const char *name);

/* The result of running a command. */
typedef struct ts_proc {
	int status;   /* exit status, or 128+signal */
	char *out;    /* everything on stdout (owned) */
	char *err;    /* everything on stderr (owned) */
} ts_proc;

/* Run the handoff CLI with argv (NULL-terminated, without the program
 * name), stdin from `input` (may be NULL), extra environment entries
 * "K=V" in env (NULL-terminated, may be NULL). Bounded to 60 s. */
void ts_run_cli(ts_proc *p, const char *input, const char *const *env, const char *const *argv);
void ts_proc_dispose(ts_proc *p);

/* Tests wait for conditions, never for a time. This bound only stops a
 * hung wait, so that the test fails instead of hanging the suite. */
#define TS_SAFETY_MS 60000

/* Poll cond(arg) every millisecond until it is true; fail the test naming
 * `what` when it is still false after TS_SAFETY_MS. */
void ts_wait_until(bool (*cond)(void *arg), void *arg, const char *what);
/* waitpid(pid) bounded by TS_SAFETY_MS: past it the child is killed, reaped
 * and the test fails. */
void ts_wait_child(int pid, int *status);

/* True when needle occurs in haystack. */
bool ts_contains(const char *haystack, const char *needle);

#endif

/*
 * support.c - test helpers (see support.h).
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef HF_CLI_PATH
#define HF_CLI_PATH "handoff"
#endif

char *ts_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *p = malloc(4096);
	snprintf(p, 4096, "%s/hf-test-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(p)) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		abort();
	}
	return p;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void ts_rmtree(const char *path)
{
	if (path)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void ts_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fwrite(text, 1, strlen(text), f);
	fclose(f);
}

char *ts_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, r;
	if (!f)
		return NULL;
	do {
		if (n + 4096 + 1 > cap) {
			cap = (cap ? cap * 2 : 8192);
			buf = realloc(buf, cap);
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
	} while (r > 0);
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

char *ts_path(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

bool ts_contains(const char *haystack, const char *needle)
{
	return haystack && needle && strstr(haystack, needle) != NULL;
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ts_wait_until(bool (*cond)(void *arg), void *arg, const char *what)
{
	long long until = mono_ms() + TS_SAFETY_MS;
	while (!cond(arg)) {
		struct timespec tick = { 0, 1000 * 1000 };
		if (mono_ms() > until)
			fail_msg("still waiting for %s after %d s", what, TS_SAFETY_MS / 1000);
		nanosleep(&tick, NULL);
	}
}

static bool child_done(void *arg)
{
	int *w = arg; /* { pid, status, done } */
	if (!w[2] && waitpid(w[0], &w[1], WNOHANG) == w[0])
		w[2] = 1;
	return w[2];
}

void ts_wait_child(int pid, int *status)
{
	int w[3] = { pid, 0, 0 };
	long long until = mono_ms() + TS_SAFETY_MS;
	while (!child_done(w)) {
		struct timespec tick = { 0, 1000 * 1000 };
		if (mono_ms() > until) {
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			fail_msg("process %d still running after %d s: killed", pid, TS_SAFETY_MS / 1000);
		}
		nanosleep(&tick, NULL);
	}
	*status = w[1];
}

void ts_run_cli(ts_proc *p, const char *input, const char *const *env, const char *const *argv)
{
	char *dir = ts_tmpdir();
	char *in = ts_path(dir, "stdin"), *out = ts_path(dir, "stdout"), *err = ts_path(dir, "stderr");
	pid_t pid;
	int st = 0;
	size_t argc = 0;

	ts_write(in, input ? input : "");
	while (argv[argc])
		argc++;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char **av = calloc(argc + 2, sizeof(*av));
		size_t i;
		int fi = open(in, O_RDONLY), fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600),
		    fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fi, 0);
		dup2(fo, 1);
		dup2(fe, 2);
		for (i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		av[0] = HF_CLI_PATH;
		for (i = 0; i < argc; i++)
			av[i + 1] = argv[i];
		execv(HF_CLI_PATH, (char *const *)av);
		_exit(127);
	}
	ts_wait_child(pid, &st);
	p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	p->out = ts_read(out, NULL);
	p->err = ts_read(err, NULL);
	ts_rmtree(dir);
	free(in);
	free(out);
	free(err);
	free(dir);
}

void ts_proc_dispose(ts_proc *p)
{
	free(p->out);
	free(p->err);
	p->out = p->err = NULL;
}

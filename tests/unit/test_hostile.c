/*
 * test_hostile.c - hostile input and a hostile environment (issue 15): the
 * mock child of --mock dies with its parent and never sees the key.
 */
#define _GNU_SOURCE /* environ */
#include "support.h"

#include "handoff.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* The pid of a child of `parent` (from /proc/PID/stat), or -1. */
static pid_t child_of(pid_t parent)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = -1;
	while (d && found < 0 && (de = readdir(d))) {
		char path[300], buf[512], *p;
		FILE *f;
		int ppid = 0;
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
		    sscanf(p + 1, " %*c %d", &ppid) == 1 && ppid == parent)
			found = atoi(de->d_name);
		fclose(f);
	}
	if (d)
		closedir(d);
	return found;
}

/* Start `handoff run --mock` with a reply that stalls, so that the turn is
 * in flight; return its pid once the mock child is listening (*mock). */
static pid_t start_stalled_run(const char *dir, pid_t *mock)
{
	char *err = ts_path(dir, "stderr");
	pid_t pid;
	int waited;
	unlink(err); /* not the last run's */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int fn = open("/dev/null", O_RDWR);
		dup2(fn, 0);
		dup2(fn, 1);
		dup2(fe, 2);
		execl(HF_CLI_PATH, HF_CLI_PATH, "run", "--mock", "--no-store", "--retries", "0",
		      "--header", "X-Mock-Fault: stall;ms=600000", HF_SOURCE_DIR "/agents", "Hola",
		      (char *)NULL);
		_exit(127);
	}
	for (waited = 0; waited < 30000; waited += 10) {
		char *text = ts_read(err, NULL);
		bool up = ts_contains(text, "using a local mock endpoint");
		free(text);
		if (up)
			break;
		pause_ms(10);
	}
	*mock = child_of(pid);
	if (*mock < 0) {
		char *text = ts_read(err, NULL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("handoff run --mock did not start its mock child; stderr:\n%s", text);
	}
	free(err);
	return pid;
}

/* Wait (30 s at most) for the orphan `pid`, which this process reaps as a
 * subreaper; true when it ended. Kills it when it did not. */
static bool orphan_ends(pid_t pid)
{
	int waited;
	for (waited = 0; waited < 30000; waited += 10) {
		pid_t r = waitpid(pid, NULL, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD))
			return true;
		pause_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return false;
}

/* `handoff run --mock` killed by SIGKILL, SIGTERM or SIGHUP while the turn
 * is in flight: the mock child ends too. */
static void mock_child_dies_with_parent(void **state)
{
	static const int sigs[] = { SIGKILL, SIGTERM, SIGHUP };
	char *dir = ts_tmpdir();
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		pid_t mock, pid = start_stalled_run(dir, &mock);
		kill(pid, sigs[i]);
		waitpid(pid, NULL, 0);
		if (!orphan_ends(mock))
			fail_msg("handoff-mock (pid %d) outlived handoff run killed by signal %d",
			         (int)mock, sigs[i]);
	}
	ts_rmtree(dir);
	free(dir);
}

/* The mock child's environment holds no API key, whatever variable has it. */
static void mock_child_has_no_key(void **state)
{
	char *dir = ts_tmpdir(), path[64], *env;
	pid_t mock, pid;
	size_t len, i;
	(void)state;
	setenv("HANDOFF_API_KEY", "sk-hostile-env-key-1a2b3c4d5e6f", 1);
	setenv("SOME_OTHER_SECRET", "sk-hostile-env-key-1a2b3c4d5e6f", 1);
	pid = start_stalled_run(dir, &mock);
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)mock);
	env = ts_read(path, &len);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_non_null(env);
	for (i = 0; i < len; i++) /* NUL-separated: one string */
		if (!env[i])
			env[i] = '\n';
	if (ts_contains(env, "sk-hostile-env-key"))
		fail_msg("the mock child's environment holds the API key");
	assert_true(ts_contains(env, "PATH="));
	free(env);
	kill(mock, SIGKILL); /* ends already (its parent is gone); reap it */
	waitpid(mock, NULL, 0);
	ts_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mock_child_dies_with_parent),
		cmocka_unit_test(mock_child_has_no_key),
	};
	/* orphans of the children come to this process, which can wait for them */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

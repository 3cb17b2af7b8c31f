/*
 * support_serve.c - see support_serve.h.
 */
#include "support_serve.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static bool file_ready(void *arg)
{
	ts_served *s = arg;
	char *t = ts_read(s->ready, NULL);
	bool ok = t && strchr(t, '\n');
	if (ok) {
		*strchr(t, '\n') = '\0';
		snprintf(s->url, sizeof(s->url), "%s", t);
	}
	free(t);
	return ok;
}

void ts_serve_start(ts_served *s, const char *scenario, const char *const *env,
                    const char *const *args)
{
	hf_mock_options mo = HF_MOCK_OPTIONS_INIT;
	char serve[1024], *base, *sc = NULL;
	const char *argv[32];
	size_t i, n = 0;

	memset(s, 0, sizeof(*s));
	snprintf(serve, sizeof(serve), "%s", HF_CLI_PATH);
	strcpy(strrchr(serve, '/') + 1, "handoff-serve");
	if (access(serve, X_OK)) /* built with the tree unless the build left it out */
		skip();
	s->dir = ts_tmpdir();
	s->db = ts_path(s->dir, "sessions.db");
	s->ready = ts_path(s->dir, "ready");
	s->errlog = ts_path(s->dir, "stderr");
	if (scenario) {
		sc = ts_path(s->dir, "scenario.json");
		ts_write(sc, scenario);
		mo.scenario = sc;
	}
	s->mock = tm_start(&mo);
	free(sc);
	base = tm_base_url(s->mock, "/v1");
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		char graph[1024], url[512];
		int fe = open(s->errlog, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fe, 2);
		snprintf(graph, sizeof(graph), "support=%s/agents", HF_SOURCE_DIR);
		snprintf(url, sizeof(url), "HANDOFF_BASE_URL=%s", base);
		putenv(url);
		for (i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		argv[n++] = serve;
		argv[n++] = "--graph";
		argv[n++] = graph;
		argv[n++] = "--listen";
		argv[n++] = "127.0.0.1:0";
		argv[n++] = "--ready-file";
		argv[n++] = s->ready;
		argv[n++] = "--db";
		argv[n++] = s->db;
		for (i = 0; args && args[i] && n + 1 < sizeof(argv) / sizeof(argv[0]); i++)
			argv[n++] = args[i];
		argv[n] = NULL;
		execv(serve, (char *const *)argv);
		_exit(127);
	}
	free(base);
	ts_wait_until(file_ready, s, "handoff-serve's ready file");
}

void ts_serve_free(ts_served *s)
{
	hf_mock_stop(s->mock);
	ts_rmtree(s->dir);
	free(s->dir);
	free(s->db);
	free(s->ready);
	free(s->errlog);
}

void ts_serve_stop(ts_served *s)
{
	int st = 0;

	kill(s->pid, SIGTERM);
	ts_wait_child(s->pid, &st);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	ts_serve_free(s);
}

long ts_serve_stored(ts_served *s, const char *id, char *agent, size_t cap)
{
	hf_store *st = NULL;
	hf_session *ss = NULL;
	hf_error err;
	long n;

	if (hf_store_open_sqlite_readonly(&st, s->db, &err))
		return -1;
	if (hf_store_load(&ss, st, id, &err)) {
		hf_store_free(st);
		return -1;
	}
	n = (long)hf_session_message_count(ss);
	if (agent)
		snprintf(agent, cap, "%s", hf_session_agent(ss) ? hf_session_agent(ss) : "");
	hf_session_free(ss);
	hf_store_free(st);
	return n;
}

long ts_serve_in_flight(ts_served *s)
{
	char url[256], *p;
	tm_resp r;
	long n = -1;

	snprintf(url, sizeof(url), "%s/metrics", s->url);
	tm_http(&r, "GET", url, NULL, NULL, 10000);
	if (r.body && (p = strstr(r.body, "\nhandoff_turns_in_flight ")))
		n = strtol(p + 25, NULL, 10);
	tm_resp_dispose(&r);
	return n;
}

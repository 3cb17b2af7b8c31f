/*
 * test_hostile.c - hostile input and a hostile environment (issue 15): the
 * mock child of --mock dies with its parent and never sees the key; a YAML
 * diagnostics bomb stays cheap; NUL bytes are refused, never cut at;
 * credentials in the base URL and added headers are not shown; names with
 * control characters are refused and stored text is escaped for terminals
 * and Markdown; key files that are not regular files; too many YAML files.
 */
#define _GNU_SOURCE /* environ */
#include "support.h"
#include "support_mock.h"

#include "chat.h"
#include "support_session.h"
#include "handoff.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
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
	kill(mock, SIGKILL); /* (ends already when its parent is gone); reap it */
	waitpid(mock, NULL, 0);
	assert_non_null(env);
	for (i = 0; i < len; i++) /* NUL-separated: one string */
		if (!env[i])
			env[i] = '\n';
	if (ts_contains(env, "sk-hostile-env-key"))
		fail_msg("the mock child's environment holds the API key");
	assert_true(ts_contains(env, "PATH="));
	free(env);
	ts_rmtree(dir);
	free(dir);
}

/* ---- running the command with bytes on stdin, bounded ---- */

typedef struct run_result {
	int status;       /* exit status, or 128 + signal */
	char *out, *err;  /* owned */
	size_t out_len, err_len;
	long maxrss_kb;   /* peak resident size of the command */
} run_result;

/* Run handoff argv (NULL-terminated, without the program name) with
 * in[0..len) on stdin, in `dir`; 30 s at most, output files at most 64 MiB. */
static void run(run_result *r, const char *dir, const char *in, size_t len,
                const char *const *argv)
{
	char *fin = ts_path(dir, "run-in"), *fout = ts_path(dir, "run-out"),
	     *ferr = ts_path(dir, "run-err");
	struct rusage ru;
	int st = 0, waited = 0;
	pid_t pid;
	FILE *f = fopen(fin, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(in, 1, len, f), len);
	fclose(f);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *av[32] = { HF_CLI_PATH };
		struct rlimit fsize = { 64 << 20, 64 << 20 };
		size_t i;
		int fi = open(fin, O_RDONLY), fo = open(fout, O_WRONLY | O_CREAT | O_TRUNC, 0600),
		    fe = open(ferr, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fi, 0);
		dup2(fo, 1);
		dup2(fe, 2);
		setrlimit(RLIMIT_FSIZE, &fsize);
		for (i = 0; argv[i] && i < 30; i++)
			av[i + 1] = argv[i];
		execv(HF_CLI_PATH, (char *const *)av);
		_exit(127);
	}
	memset(&ru, 0, sizeof(ru));
	for (;;) {
		pid_t w = wait4(pid, &st, WNOHANG, &ru);
		if (w == pid)
			break;
		if (waited >= 30000) {
			kill(pid, SIGKILL);
			wait4(pid, &st, 0, &ru);
			break;
		}
		pause_ms(5);
		waited += 5;
	}
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->maxrss_kb = ru.ru_maxrss;
	r->out = ts_read(fout, &r->out_len);
	r->err = ts_read(ferr, &r->err_len);
	free(fin);
	free(fout);
	free(ferr);
}

static void run_dispose(run_result *r)
{
	free(r->out);
	free(r->err);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- 2: a YAML diagnostics bomb ---- */

/* 990 agents whose handoffs alias one list of 1000 aliases of one
 * 900-character name that no agent has (about 36 KB). Owned. */
static char *diagnostics_bomb(void)
{
	size_t cap = 64 << 10, n = 0, i;
	char *y = malloc(cap), name[901];
	memset(name, 'n', 900);
	name[900] = '\0';
	n += (size_t)snprintf(y + n, cap - n,
	                      "entry: a0\nmodel: m\nagents:\n"
	                      "  - name: a0\n    description: &n %s\n    handoffs: &h [*n", name);
	for (i = 1; i < 1000; i++)
		n += (size_t)snprintf(y + n, cap - n, ", *n");
	n += (size_t)snprintf(y + n, cap - n, "]\n");
	for (i = 1; i < 990; i++)
		n += (size_t)snprintf(y + n, cap - n, "  - {name: a%zu, handoffs: *h}\n", i);
	assert_true(n < cap - 1);
	return y;
}

/* handoff validate on the bomb: a bounded number of lines, each problem
 * once, a "more problems" line when some are not shown, bounded memory. */
static void yaml_diagnostics_bomb(void **state)
{
	char *dir = ts_tmpdir(), *file = ts_path(dir, "bomb.yaml"), *yaml = diagnostics_bomb();
	const char *argv[] = { "validate", file, NULL };
	run_result r;
	(void)state;
	ts_write(file, yaml);
	run(&r, dir, "", 0, argv);
	/* the problems: one unknown target (every agent lists the same node:
	 * one place), hundreds of unreachable agents (50 shown), a "more" line */
	if (r.status != 3 || count_lines(r.err) > 52 || r.maxrss_kb > 256 * 1024 ||
	    !ts_contains(r.err, "more problems not shown"))
		fail_msg("validate: exit %d, %zu lines on stderr (%zu bytes), peak %ld KiB",
		         r.status, count_lines(r.err), r.err_len, r.maxrss_kb);
	assert_non_null(strstr(r.err, "unknown handoff target"));
	assert_null(strstr(strstr(r.err, "unknown handoff target") + 1, "unknown handoff target"));
	run_dispose(&r);
	free(yaml);
	ts_rmtree(dir);
	free(dir);
	free(file);
}

/* Distinct problems past the caps: at most 100 per file are kept, then one
 * line says how many more there were. */
static void diagnostics_are_capped(void **state)
{
	size_t cap = 256 << 10, n = 0, i, count, more = 0;
	char *y = malloc(cap);
	hf_graph *g = NULL;
	hf_diag *d = NULL;
	hf_error err;
	const char *last;
	(void)state;
	n += (size_t)snprintf(y + n, cap - n, "entry: a\nmodel: m\nagents:\n  - name: a\n    handoffs: [");
	for (i = 0; i < 5000; i++)
		n += (size_t)snprintf(y + n, cap - n, "%sno%zu", i ? ", " : "", i);
	n += (size_t)snprintf(y + n, cap - n, "]\n");
	assert_int_equal(hf_graph_load_string(&g, y, n, "capped.yaml", &d, &err), HF_ECONFIG);
	count = hf_diag_count(d);
	assert_true(count <= 101);
	last = hf_diag_message(d, count - 1);
	if (!last || sscanf(last, "%zu more problems not shown", &more) != 1)
		fail_msg("the last problem is '%s'", last ? last : "(none)");
	assert_int_equal(more + (count - 1), 5000);
	hf_diag_free(d);
	free(y);
}

/* The alias budget is the file's: two documents of 600,000 nodes each are
 * one file of 1.2 million. */
static void alias_budget_spans_documents(void **state)
{
	char doc[1024], *y;
	hf_graph *g = NULL;
	hf_diag *d = NULL;
	hf_error err;
	size_t i, n = 0;
	bool found = false;
	(void)state;
	n += (size_t)snprintf(doc + n, sizeof(doc) - n,
	                      "---\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [");
	for (i = 0; i < 10; i++)
		n += (size_t)snprintf(doc + n, sizeof(doc) - n, "%s*a", i ? ", " : "");
	n += (size_t)snprintf(doc + n, sizeof(doc) - n, "]\nc: &c [");
	for (i = 0; i < 10; i++)
		n += (size_t)snprintf(doc + n, sizeof(doc) - n, "%s*b", i ? ", " : "");
	n += (size_t)snprintf(doc + n, sizeof(doc) - n, "]\nd: &d [");
	for (i = 0; i < 10; i++)
		n += (size_t)snprintf(doc + n, sizeof(doc) - n, "%s*c", i ? ", " : "");
	n += (size_t)snprintf(doc + n, sizeof(doc) - n, "]\ne: [");
	for (i = 0; i < 60; i++)
		n += (size_t)snprintf(doc + n, sizeof(doc) - n, "%s*d", i ? ", " : "");
	n += (size_t)snprintf(doc + n, sizeof(doc) - n, "]\n");
	y = malloc(2 * n + 1);
	memcpy(y, doc, n);
	memcpy(y + n, doc, n);
	y[2 * n] = '\0';
	/* one document alone is within the budget */
	assert_int_equal(hf_graph_load_string(&g, doc, n, "one.yaml", &d, &err), HF_ECONFIG);
	for (i = 0; i < hf_diag_count(d); i++)
		assert_false(ts_contains(hf_diag_message(d, i), "aliases expand"));
	hf_diag_free(d);
	assert_int_equal(hf_graph_load_string(&g, y, 2 * n, "two.yaml", &d, &err), HF_ECONFIG);
	for (i = 0; i < hf_diag_count(d); i++)
		found |= ts_contains(hf_diag_message(d, i), "aliases expand this file to over 1000000");
	if (!found)
		fail_msg("no alias error: %s", err.message);
	hf_diag_free(d);
	free(y);
}

/* ---- 3: NUL bytes ---- */

static void nul_in_standard_input(void **state)
{
	static const char text[] = "Hola\0mundo";
	char *dir = ts_tmpdir();
	const char *run_argv[] = { "run", "--mock", "--no-store", HF_SOURCE_DIR "/agents", NULL };
	const char *chat_argv[] = { "chat", "--mock", "--no-store", HF_SOURCE_DIR "/agents", NULL };
	const char *ask_argv[] = { "ask", "-m", "gpt-4o-mini", "--base-url", "http://127.0.0.1:9/v1",
		                   NULL };
	run_result r;
	(void)state;
	run(&r, dir, text, sizeof(text) - 1, run_argv);
	if (r.status != 2 || !ts_contains(r.err, "contains a NUL byte (byte 4)"))
		fail_msg("run: exit %d, stderr: %s", r.status, r.err);
	assert_string_equal(r.out, "");
	run_dispose(&r);
	run(&r, dir, text, sizeof(text) - 1, ask_argv);
	if (r.status != 2 || !ts_contains(r.err, "contains a NUL byte (byte 4)"))
		fail_msg("ask: exit %d, stderr: %s", r.status, r.err);
	run_dispose(&r);
	run(&r, dir, "Hola\0mundo\n", 11, chat_argv);
	if (!ts_contains(r.err, "contains a NUL byte (byte 4)") || ts_contains(r.out, "Hola"))
		fail_msg("chat: exit %d, stdout: %s, stderr: %s", r.status, r.out, r.err);
	run_dispose(&r);
	ts_rmtree(dir);
	free(dir);
}

/* \u0000 in a reply's text or tool name, whole or streamed, is refused;
 * an escaped backslash before "u0000" is just text. */
static void nul_in_reply(void **state)
{
	static const char *const bad[] = {
		"{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"Hola\\u0000mundo\"}}]}",
		"{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{"
		"\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":"
		"\"transfer_to_spanish_agent\\u0000zzz\",\"arguments\":\"{}\"}}]}}]}",
	};
	static const char good[] =
		"{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"a\\\\u0000b\"}}]}";
	static const char chunk[] =
		"{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hola\\u0000mundo\"}}]}";
	hf_reply reply;
	hf_stream *sm;
	hf_error err;
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hf_chat_reply_parse(&reply, bad[i], strlen(bad[i]), &err), HF_EPROTOCOL);
		assert_true(ts_contains(err.message, "NUL character"));
	}
	assert_int_equal(hf_chat_reply_parse(&reply, good, strlen(good), &err), HF_OK);
	assert_string_equal(reply.content, "a\\u0000b");
	hf_chat_reply_dispose(&reply);
	assert_int_equal(hf_stream_new(&sm, NULL, NULL, 0, &err), HF_OK);
	assert_int_equal(hf_stream_chunk(sm, chunk, strlen(chunk), &err), HF_EPROTOCOL);
	assert_true(ts_contains(err.message, "NUL character"));
	hf_stream_free(sm);
}

/* ---- 6: key files: a NUL inside, a FIFO, a directory ---- */

static void key_file_hostile(void **state)
{
	char *dir = ts_tmpdir(), *key = ts_path(dir, "key"), *fifo = ts_path(dir, "fifo");
	const char *argv[] = { "ask", "-m", "m", "--base-url", "http://127.0.0.1:9/v1",
		               "--api-key-file", key, "Hola", NULL };
	run_result r;
	int fd;
	(void)state;
	fd = open(key, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(write(fd, "sk-half\0-of-the-key\n", 20), 20);
	close(fd);
	run(&r, dir, "", 0, argv);
	if (r.status != 3 || !ts_contains(r.err, "contains a NUL byte"))
		fail_msg("key file with a NUL: exit %d, stderr: %s", r.status, r.err);
	assert_false(ts_contains(r.err, "sk-half"));
	run_dispose(&r);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	argv[6] = fifo;
	run(&r, dir, "", 0, argv);
	if (r.status != 3 || !ts_contains(r.err, "is not a regular file"))
		fail_msg("key file that is a FIFO: exit %d, stderr: %s", r.status, r.err);
	run_dispose(&r);
	argv[6] = dir;
	run(&r, dir, "", 0, argv);
	if (r.status != 3 || !ts_contains(r.err, "is not a regular file"))
		fail_msg("key file that is a directory: exit %d, stderr: %s", r.status, r.err);
	run_dispose(&r);
	ts_rmtree(dir);
	free(dir);
	free(key);
	free(fifo);
}

/* ---- 4: credentials in the base URL and in added headers ---- */

static char *log_text;

static void collect_log(hf_log_level level, const char *msg, void *payload)
{
	size_t n = log_text ? strlen(log_text) : 0, m = strlen(msg);
	(void)level;
	(void)payload;
	log_text = realloc(log_text, n + m + 2);
	memcpy(log_text + n, msg, m);
	log_text[n + m] = '\n';
	log_text[n + m + 1] = '\0';
}

static void credentials_not_shown(void **state)
{
	static const char *const headers[] = { "Cookie: session=cookie-secret-77",
		                               "api-key: header-secret-88", "X-Mock-Fault: 500",
		                               NULL };
	hf_mock *m = tm_start(NULL);
	char *plain = tm_base_url(m, "/v1"), url[256];
	hf_client_options co = HF_CLIENT_OPTIONS_INIT;
	hf_ask_options ao = HF_ASK_OPTIONS_INIT;
	hf_client *c;
	hf_error err;
	char *answer = NULL, *dir = ts_tmpdir();
	const char *argv[] = { "models", "--base-url", url, "--retries", "0", "--header",
		               "X-Mock-Fault: 500", NULL };
	run_result r;
	int stream;
	(void)state;
	/* http://user:pass@127.0.0.1:PORT/v1 */
	snprintf(url, sizeof(url), "http://agent:url-secret-99@%s", plain + strlen("http://"));
	co.base_url = url;
	co.headers = headers;
	co.max_retries = 0;
	ao.model = "gpt-4o-mini";
	hf_log_set(collect_log, HF_LOG_TRACE, NULL);
	assert_int_equal(hf_client_new(&c, &co, NULL, &err), HF_OK);
	for (stream = 0; stream < 2; stream++) {
		ao.stream = stream;
		assert_int_equal(hf_ask(&answer, NULL, c, "Hola", &ao, &err), HF_EHTTP);
		if (ts_contains(err.message, "url-secret-99") || !ts_contains(err.message, "127.0.0.1"))
			fail_msg("the error shows the URL's password or no URL: %s", err.message);
	}
	hf_client_free(c);
	hf_log_set(NULL, HF_LOG_ERROR, NULL);
	assert_non_null(log_text);
	assert_true(ts_contains(log_text, "Cookie: [redacted]"));
	if (ts_contains(log_text, "url-secret-99") || ts_contains(log_text, "cookie-secret-77") ||
	    ts_contains(log_text, "header-secret-88"))
		fail_msg("the trace shows a credential:\n%s", log_text);
	free(log_text);
	log_text = NULL;
	/* handoff models */
	run(&r, dir, "", 0, argv);
	if (r.status == 0 || ts_contains(r.err, "url-secret-99") || !ts_contains(r.err, "127.0.0.1"))
		fail_msg("models: exit %d, stderr: %s", r.status, r.err);
	run_dispose(&r);
	/* a URL libcurl refuses is not shown when it might hold a password */
	co.base_url = "http://agent:url-secret-99@[::1";
	if (hf_client_new(&c, &co, NULL, &err) == HF_OK) {
		assert_int_not_equal(hf_ask(&answer, NULL, c, "Hola", &ao, &err), HF_OK);
		hf_client_free(c);
	}
	assert_false(ts_contains(err.message, "url-secret-99"));
	free(plain);
	hf_mock_stop(m);
	ts_rmtree(dir);
	free(dir);
}

/* ---- 5: control characters in names and in stored text ---- */

static void control_characters_in_names(void **state)
{
	static const struct {
		const char *yaml;
		int line, col;
	} cases[] = {
		{ "model: m\nagents:\n  - name: \"Evil\\e]0;pwned\\a\"\n", 3, 11 },
		{ "model: m\nagents:\n  - name: \"Line\\nhandoff: error: forged\"\n", 3, 11 },
		{ "model: m\nagents:\n  - name: \"abc\\u202Edcba\"\n", 3, 11 },
		{ "model: m\nagents:\n  - name: \"iso\\u2066x\"\n", 3, 11 },
		{ "model: m\nagents:\n  - name: \"c1\\u009Bx\"\n", 3, 11 },
		{ "model: m\nentry: a\nagents:\n  - name: a\n    handoffs: [\"b\\e[2J\"]\n  - name: b\n",
		  5, 16 },
	};
	size_t i, j;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hf_graph *g = NULL;
		hf_diag *d = NULL;
		hf_error err;
		bool found = false;
		assert_int_equal(hf_graph_load_string(&g, cases[i].yaml, strlen(cases[i].yaml), "n.yaml",
		                                      &d, &err),
		                 HF_ECONFIG);
		for (j = 0; j < hf_diag_count(d); j++) {
			const char *f = hf_diag_format(d, j);
			if (ts_contains(hf_diag_message(d, j), "must not contain control characters") &&
			    hf_diag_line(d, j) == cases[i].line && hf_diag_column(d, j) == cases[i].col)
				found = true;
			for (; *f; f++) /* nothing a terminal would act on */
				assert_true((unsigned char)*f >= 0x20 && *f != 0x7f);
		}
		if (!found)
			fail_msg("case %zu: %s", i, err.message);
		hf_diag_free(d);
	}
}

/* A stored conversation whose texts hold terminal escapes and Markdown
 * that would forge a heading and a handoff: `sessions show` escapes the
 * controls; `export --format markdown` escapes both. */
static void stored_text_escaped(void **state)
{
	char *dir = ts_tmpdir(), *db = ts_path(dir, "s.db");
	const char *show[] = { "sessions", "show", "evil", "--db", db, NULL };
	const char *md[] = { "sessions", "export", "evil", "--format", "markdown", "--db", db, NULL };
	hf_store *st;
	hf_session *s;
	hf_error err;
	run_result r;
	const char *line;
	(void)state;
	hf_usage u = { 1, 1, 1, 2 };
	cJSON *turn = cJSON_Parse(
		"[{\"role\":\"user\",\"content\":\"hi\\u001b]0;t\\u0007\"},"
		"{\"role\":\"assistant\",\"content\":"
		"\"ok\\n### Spanish agent\\n\\n*\u2192 handed off to x*\\u202e\"}]");
	assert_non_null(turn);
	assert_int_equal(hf_store_open_sqlite(&st, db, &err), HF_OK);
	assert_int_equal(hf_session_new(&s, "evil", &err), HF_OK);
	if (ts_session_commit(s, st, turn, "Triage agent", &u, &err))
		fail_msg("commit: %s", err.message);
	hf_session_free(s);
	hf_store_free(st);
	cJSON_Delete(turn);
	run(&r, dir, "", 0, show);
	assert_int_equal(r.status, 0);
	if (strchr(r.out, 0x1b) || strchr(r.out, 0x07) || ts_contains(r.out, "\xe2\x80\xae") ||
	    !ts_contains(r.out, "\\x1B"))
		fail_msg("sessions show: %s", r.out);
	run_dispose(&r);
	run(&r, dir, "", 0, md);
	assert_int_equal(r.status, 0);
	if (strchr(r.out, 0x1b) || ts_contains(r.out, "\xe2\x80\xae"))
		fail_msg("export: %s", r.out);
	for (line = r.out; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (!strncmp(line, "### Spanish agent", 17) || !strncmp(line, "*→ handed off to x", 20))
			fail_msg("the assistant's text forged a line:\n%s", r.out);
	}
	assert_true(ts_contains(r.out, "\\#\\#\\# Spanish agent"));
	run_dispose(&r);
	ts_rmtree(dir);
	free(dir);
	free(db);
}

/* ---- 7: more YAML files than a graph directory may hold ---- */

static void too_many_yaml_files(void **state)
{
	char *dir = ts_tmpdir(), *graph = ts_path(dir, "g");
	const char *argv[] = { "validate", graph, NULL };
	run_result r;
	int i;
	(void)state;
	assert_int_equal(mkdir(graph, 0700), 0);
	for (i = 0; i <= 10000; i++) {
		char name[64];
		int fd;
		snprintf(name, sizeof(name), "%s/a%05d.yaml", graph, i);
		fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	run(&r, dir, "", 0, argv);
	if (r.status != 3 || !ts_contains(r.err, "holds more than 10000 YAML files") ||
	    ts_contains(r.err, "entry agent") || count_lines(r.err) != 1)
		fail_msg("validate: exit %d, stderr: %s", r.status, r.err);
	run_dispose(&r);
	ts_rmtree(dir);
	free(dir);
	free(graph);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mock_child_dies_with_parent),
		cmocka_unit_test(mock_child_has_no_key),
		cmocka_unit_test(yaml_diagnostics_bomb),
		cmocka_unit_test(diagnostics_are_capped),
		cmocka_unit_test(alias_budget_spans_documents),
		cmocka_unit_test(nul_in_standard_input),
		cmocka_unit_test(nul_in_reply),
		cmocka_unit_test(key_file_hostile),
		cmocka_unit_test(credentials_not_shown),
		cmocka_unit_test(control_characters_in_names),
		cmocka_unit_test(stored_text_escaped),
		cmocka_unit_test(too_many_yaml_files),
	};
	/* orphans of the children come to this process, which can wait for them */
	hf_error err;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) || hf_global_init(&err))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * support_mcp.c - see support_mcp.h.
 */
#include "support_mcp.h"

#include "support.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void ts_mcp_call_init(ts_mcp_call *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
}

void ts_mcp_call_dispose(ts_mcp_call *c)
{
	free(c->text);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
}

static void on_done(const hf_mcp_result *r, void *payload)
{
	ts_mcp_call *c = payload;
	pthread_mutex_lock(&c->lock);
	c->runs++;
	c->code = r->code;
	c->is_error = r->is_error;
	free(c->text);
	c->text = strdup(r->text ? r->text : "");
	snprintf(c->message, sizeof(c->message), "%s", r->err ? r->err->message : "");
	c->done = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

void ts_mcp_call_start(ts_mcp_call *c, hf_mcp_host *h, size_t server, const char *tool,
                       const char *args, long timeout_ms)
{
	hf_error err;
	int rc = hf_mcp_host_call(h, server, tool, args, timeout_ms, on_done, c, &c->id, &err);
	if (rc)
		fail_msg("hf_mcp_host_call: %s", err.message);
}

void ts_mcp_call_wait(ts_mcp_call *c)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += TS_SAFETY_MS / 1000;
	pthread_mutex_lock(&c->lock);
	while (!c->done) {
		if (pthread_cond_timedwait(&c->cond, &c->lock, &until) == ETIMEDOUT) {
			pthread_mutex_unlock(&c->lock);
			fail_msg("an MCP call did not complete");
		}
	}
	pthread_mutex_unlock(&c->lock);
}

void ts_mcp_call_run(ts_mcp_call *c, hf_mcp_host *h, size_t server, const char *tool,
                 const char *args, long timeout_ms)
{
	ts_mcp_call_start(c, h, server, tool, args, timeout_ms);
	ts_mcp_call_wait(c);
}

/* ---- the log ---- */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char *log_text;
static size_t log_len;

static void log_fn(hf_log_level level, const char *msg, void *payload)
{
	size_t n = strlen(msg);
	(void)level;
	(void)payload;
	pthread_mutex_lock(&log_lock);
	char *p = realloc(log_text, log_len + n + 2);
	if (p) {
		log_text = p;
		memcpy(log_text + log_len, msg, n);
		log_len += n;
		log_text[log_len++] = '\n';
		log_text[log_len] = '\0';
	}
	pthread_mutex_unlock(&log_lock);
}

void ts_log_capture(void)
{
	pthread_mutex_lock(&log_lock);
	free(log_text);
	log_text = NULL;
	log_len = 0;
	pthread_mutex_unlock(&log_lock);
	hf_log_set(log_fn, HF_LOG_INFO, NULL);
}

bool ts_log_has(const char *needle)
{
	bool r;
	pthread_mutex_lock(&log_lock);
	r = log_text && strstr(log_text, needle);
	pthread_mutex_unlock(&log_lock);
	return r;
}

static bool log_has_cond(void *arg)
{
	return ts_log_has(arg);
}

void ts_log_wait(const char *needle)
{
	ts_wait_until(log_has_cond, (void *)needle, needle);
}

void ts_log_stop(void)
{
	hf_log_set(NULL, HF_LOG_ERROR, NULL);
	pthread_mutex_lock(&log_lock);
	free(log_text);
	log_text = NULL;
	log_len = 0;
	pthread_mutex_unlock(&log_lock);
}

/* ---- confs ---- */

void ts_mcp_conf(hf_mcp_server_conf *c, const char *name, const char *const *modes)
{
	size_t n = 0;
	memset(c, 0, sizeof(*c));
	c->name = (char *)name;
	c->command = (char *)HF_MCP_TEST_SERVER;
	c->file = (char *)"graph.yaml";
	c->line = 3;
	c->col = 5;
	while (modes && modes[n])
		n++;
	c->args = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		c->args[i] = (char *)modes[i];
}

void ts_mcp_conf_dispose(hf_mcp_server_conf *c)
{
	free(c->args);
	c->args = NULL;
}

/* ---- the npm servers ---- */

static int installed = -1; /* install's exit status */

int ts_npm_install(void)
{
	if (installed < 0) {
		int st = system(TS_NPM_DIR "/install");
		installed = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
	}
	return installed;
}

void ts_npm_need(void)
{
	int st = ts_npm_install();
	if (st == 77) {
		print_message("skipped: node/npm cannot be installed here (tests/npm/install said why)\n");
		skip();
	}
	if (st != 0)
		fail_msg("tests/npm/install failed (exit %d)", st);
}

/* A port free at this moment (bound to port 0, then released). */
static int free_port(void)
{
	struct sockaddr_in a = { 0 };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static bool accepts(void *arg)
{
	struct sockaddr_in a = { 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)*(int *)arg);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

int ts_everything_http_start(int *port, const char *log_path)
{
	char port_text[16];
	pid_t pid;
	*port = free_port();
	snprintf(port_text, sizeof(port_text), "%d", *port);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = { "node", TS_EVERYTHING, "streamableHttp", NULL };
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setenv("PORT", port_text, 1);
		if (!freopen(log_path, "w", stdout))
			_exit(126);
		execvp("node", argv);
		_exit(127);
	}
	ts_wait_until(accepts, port, "server-everything listening");
	return pid;
}

void ts_everything_http_stop(int pid)
{
	int status;
	kill(-pid, SIGTERM);
	ts_wait_child(pid, &status);
	kill(-pid, SIGKILL);
}

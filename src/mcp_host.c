/*
 * mcp_host.c - the MCP host: one thread ("mcp-host") owns every server of
 * a tool set. Its loop polls the stdio pipes, the curl multi of the HTTP
 * servers and a wake-up pipe; calls and cancels from any thread come
 * through a locked queue. Request ids come from one counter (unique per
 * host, so per server too) and index a table of the calls alive; answers
 * in any order, notifications in between. A server that dies is restarted
 * with back-off (0.5 s doubling to 30 s); its calls in flight fail.
 */
#define _GNU_SOURCE /* pipe2 */
#include "mcp.h"

#include "heap.h"
#include "list.h"
#include "mcp_http.h"
#include "mcp_rpc.h"
#include "mcp_stdio.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 60000L
#define DEFAULT_START_TIMEOUT_MS 60000L
#define DEFAULT_MAX_MESSAGE (4u << 20)
#define BACKOFF_FIRST_MS 500L
#define BACKOFF_MAX_MS 30000L
#define SHUTDOWN_GRACE_MS 2000L
#define NBUCKETS 1024u

enum { S_IDLE, S_STARTING, S_UP, S_RESTART_WAIT, S_FAILED };
enum { OP_TOOL, OP_INIT, OP_LIST, OP_CANCEL };

typedef struct mcp_call {
	hf_link link;         /* host queue, server waiting or in-flight list */
	hf_link hlink;        /* the id table */
	hf_heap_node timer;
	int op;
	bool sent, in_table, timed;
	uint64_t id;          /* OP_CANCEL: the call to cancel */
	size_t server;
	char *name, *arguments;
	long timeout_ms;
	hf_mcp_done_fn done;
	void *payload;
} mcp_call;

typedef struct mcp_server {
	hf_mcp_host *h;
	const hf_mcp_server_conf *conf;
	size_t index;
	int state;
	bool is_http;
	hf_mcp_stdio io;
	hf_mcp_http *http;
	hf_mcp_tools *tools;      /* under h->lock */
	unsigned long generation;
	hf_mcp_tool *list;        /* tools/list pages being gathered */
	size_t nlist, caplist;
	bool listing, relist;
	long long start_deadline, restart_at;
	long backoff_ms;
	bool ever_up;
	bool broken;              /* set while reading: stop it after */
	bool broken_during;
	int broken_code;
	unsigned pages;           /* tools/list pages of this listing */
	char broken_why[512];
	hf_list waiting;          /* tool calls until it is up */
	hf_list inflight;         /* tool and internal calls sent */
	hf_error fail;            /* why it is not up */
} mcp_server;

struct hf_mcp_host {
	const hf_mcp_server_conf *confs;
	size_t n;
	mcp_server *servers;
	hf_mcp_host_options opts;
	size_t max_message;
	pthread_t thread;
	bool thread_started;
	int wake[2];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	hf_list queue;            /* under lock */
	bool woken, start_requested, starting, start_done, stop;
	bool stopping;            /* the thread's copy of stop */
	_Atomic uint64_t next_id;
	hf_list buckets[NBUCKETS];
	hf_heap timers;
	CURLM *multi;
};

/* ---- small helpers ---- */

static const char *lookup(hf_mcp_host *h, const char *name)
{
	return h->opts.lookup_env ? h->opts.lookup_env(name, h->opts.lookup_payload) : getenv(name);
}

/* s with every ${NAME} replaced (owned). HF_ECONFIG naming what is unset. */
static int expand(hf_mcp_host *h, char **out, const char *s, const char *what, hf_error *err)
{
	hf_buf b = HF_BUF_INIT;
	int rc = HF_OK;
	while (*s && !rc) {
		const char *end;
		if (s[0] == '$' && s[1] == '{' && (end = strchr(s + 2, '}'))) {
			char name[128];
			const char *v;
			size_t n = (size_t)(end - s - 2);
			if (n == 0 || n >= sizeof(name)) {
				rc = hf_err(err, HF_ECONFIG, "%s: a bad ${NAME}", what);
				break;
			}
			memcpy(name, s + 2, n);
			name[n] = '\0';
			if (!(v = lookup(h, name))) {
				rc = hf_err(err, HF_ECONFIG, "%s uses ${%s}, which is not set", what, name);
				break;
			}
			rc = hf_buf_puts(&b, v);
			s = end + 1;
		} else {
			rc = hf_buf_append(&b, s, 1);
			s++;
		}
	}
	if (rc) {
		hf_buf_dispose(&b);
		return rc == HF_ENOMEM ? hf_err(err, HF_ENOMEM, "out of memory") : rc;
	}
	*out = hf_buf_detach(&b);
	return *out ? HF_OK : hf_err(err, HF_ENOMEM, "out of memory");
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* The expanded copy of v (NULL-terminated) with room for `extra` more. */
static int expand_all(hf_mcp_host *h, char ***out, char *const *v, size_t extra,
                      const char *what, hf_error *err)
{
	size_t n = 0;
	char **r;
	while (v && v[n])
		n++;
	if (!(r = hf_calloc(n + extra + 1, sizeof(*r))))
		return hf_err(err, HF_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		char label[160];
		const char *eq = strpbrk(v[i], "=:");
		snprintf(label, sizeof(label), "%s %.*s", what, eq ? (int)(eq - v[i]) : 64, v[i]);
		int rc = expand(h, &r[i], v[i], label, err);
		if (rc) {
			strv_free(r);
			return rc;
		}
	}
	*out = r;
	return HF_OK;
}

static mcp_server *server_of(const mcp_call *c, hf_mcp_host *h)
{
	return &h->servers[c->server];
}

static void call_free(mcp_call *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->arguments);
	free(c);
}

static mcp_call *table_find(hf_mcp_host *h, uint64_t id)
{
	for (hf_link *k = h->buckets[id & (NBUCKETS - 1)].head; k; k = k->next) {
		mcp_call *c = HF_CONTAINER(k, mcp_call, hlink);
		if (c->id == id)
			return c;
	}
	return NULL;
}

/* Take c out of the table, its list and the timers. */
static void call_detach(hf_mcp_host *h, mcp_call *c, hf_list *list)
{
	if (c->in_table)
		hf_list_remove(&h->buckets[c->id & (NBUCKETS - 1)], &c->hlink);
	c->in_table = false;
	if (list)
		hf_list_remove(list, &c->link);
	if (c->timed)
		hf_heap_remove(&h->timers, &c->timer);
	c->timed = false;
}

/* Finish tool call c (detached): done runs once, then c is freed. */
static void call_finish(mcp_call *c, int code, bool is_error, const char *text,
                        const hf_error *err)
{
	hf_mcp_result r = { code, is_error, text ? text : "", err };
	if (c->done)
		c->done(&r, c->payload);
	call_free(c);
}

static void call_fail(mcp_call *c, int code, const char *fmt, ...) HF_PRINTF(3, 4);
static void call_fail(mcp_call *c, int code, const char *fmt, ...)
{
	hf_error err;
	va_list ap;
	va_start(ap, fmt);
	hf_errv(&err, code, fmt, ap);
	va_end(ap);
	call_finish(c, code, false, err.message, &err);
}

static void wake(hf_mcp_host *h)
{
	char b = 1;
	ssize_t rc;
	do
		rc = write(h->wake[1], &b, 1);
	while (rc < 0 && errno == EINTR);
}

/* ---- sending ---- */

static int send_text(mcp_server *s, uint64_t id, const char *msg, hf_error *err)
{
	if (s->is_http)
		return hf_mcp_http_post(s->http, id, msg, err);
	if (hf_log_enabled(HF_LOG_TRACE))
		hf_log(HF_LOG_TRACE, "mcp server '%s' <- %.2000s", s->conf->name, msg);
	int rc = hf_mcp_stdio_send(&s->io, msg, strlen(msg));
	if (rc == HF_ENOMEM)
		return hf_err(err, HF_ENOMEM, "out of memory");
	/* HF_ENET: its stdin is closed; the end of its output follows and
	 * fails the calls in flight */
	return HF_OK;
}


/* Send a message that needs no answer; a failure is only logged. */
static void send_owned(mcp_server *s, char *msg)
{
	hf_error err;
	if (!msg || send_text(s, 0, msg, &err))
		hf_log(HF_LOG_WARN, "mcp server '%s': a message could not be sent", s->conf->name);
	free(msg);
}

/* Something is wrong with s: remember the first reason; the loop stops or
 * restarts it once it is out of the I/O callbacks (settle). `during`: the
 * calls in flight fail as "server 'X' <why> during tool 'T'". */
static void server_break(mcp_server *s, int code, bool during, const char *fmt, ...)
	HF_PRINTF(4, 5);
static void server_break(mcp_server *s, int code, bool during, const char *fmt, ...)
{
	va_list ap;
	if (s->broken)
		return;
	s->broken = true;
	s->broken_code = code;
	s->broken_during = during;
	va_start(ap, fmt);
	vsnprintf(s->broken_why, sizeof(s->broken_why), fmt, ap);
	va_end(ap);
}

/* A new internal request (initialize, tools/list) in flight. NULL when out
 * of memory. */
static mcp_call *internal_call(mcp_server *s, int op)
{
	hf_mcp_host *h = s->h;
	mcp_call *c = hf_calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->op = op;
	c->server = s->index;
	c->id = atomic_fetch_add(&h->next_id, 1);
	c->sent = c->in_table = true;
	hf_list_push(&h->buckets[c->id & (NBUCKETS - 1)], &c->hlink);
	hf_list_push(&s->inflight, &c->link);
	return c;
}

/* initialize (cursor unused) or one tools/list page. */
static void send_request(mcp_server *s, int op, const char *cursor)
{
	hf_error err;
	mcp_call *c = internal_call(s, op);
	char *msg = !c ? NULL : op == OP_INIT ? hf_mcp_rpc_initialize(c->id)
	                                      : hf_mcp_rpc_tools_list(c->id, cursor);
	if (op == OP_LIST)
		s->listing = true;
	if (!msg)
		server_break(s, HF_ENOMEM, false, "out of memory");
	else if (send_text(s, c->id, msg, &err))
		server_break(s, err.code, false, "%s", err.message);
	free(msg);
}

static void send_tool_call(mcp_server *s, mcp_call *c)
{
	hf_error err;
	char *msg = NULL;
	int rc = hf_mcp_rpc_tools_call(&msg, c->id, c->name, c->arguments, &err);
	if (!rc)
		rc = send_text(s, c->id, msg, &err);
	free(msg);
	if (rc) {
		call_detach(s->h, c, NULL);
		call_fail(c, rc, "server '%s' tool '%s': %s", s->conf->name, c->name, err.message);
		return;
	}
	c->sent = true;
	hf_list_push(&s->inflight, &c->link);
}

/* ---- server state ---- */

static void publish(mcp_server *s)
{
	hf_mcp_host *h = s->h;
	hf_mcp_tools *t = hf_mcp_tools_new(s->list, s->nlist, ++s->generation), *old;
	s->list = NULL;
	s->nlist = s->caplist = 0;
	if (!t) {
		server_break(s, HF_ENOMEM, false, "out of memory");
		return;
	}
	pthread_mutex_lock(&h->lock);
	old = s->tools;
	s->tools = t;
	pthread_mutex_unlock(&h->lock);
	hf_mcp_tools_release(old);
}

static void check_started(hf_mcp_host *h)
{
	if (!h->starting)
		return;
	for (size_t i = 0; i < h->n; i++)
		if (h->servers[i].state == S_STARTING || h->servers[i].state == S_IDLE)
			return;
	pthread_mutex_lock(&h->lock);
	h->starting = false;
	h->start_done = true;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

static void server_up(mcp_server *s)
{
	s->state = S_UP;
	s->ever_up = true;
	s->backoff_ms = BACKOFF_FIRST_MS;
	hf_log(HF_LOG_INFO, "mcp server '%s': up, %zu tools", s->conf->name, s->tools->n);
	while (s->waiting.head && !s->broken) {
		mcp_call *c = HF_CONTAINER(s->waiting.head, mcp_call, link);
		hf_list_remove(&s->waiting, &c->link);
		send_tool_call(s, c);
	}
	check_started(s->h);
}

static void http_message(void *payload, const char *text, size_t len);
static void http_done(void *payload, uint64_t id, int code, const hf_error *err);

static int start_http(mcp_server *s, hf_error *err)
{
	hf_mcp_host *h = s->h;
	char **headers = NULL;
	hf_mcp_http_cb cb = { http_message, http_done, s };
	int rc = expand_all(h, &headers, s->conf->headers, 0, "header", err);
	if (!rc)
		rc = hf_mcp_http_new(&s->http, h->multi, s->conf->url, headers, h->max_message, &cb,
		                     err);
	strv_free(headers);
	return rc;
}

static int start_stdio(mcp_server *s, hf_error *err)
{
	hf_mcp_host *h = s->h;
	const hf_mcp_server_conf *c = s->conf;
	char **env = NULL, **argv = NULL, *cwd = NULL;
	size_t nenv = 0, nargs = 0;
	const char *path = lookup(h, "PATH"), *home = lookup(h, "HOME");
	bool has_path = false, has_home = false;
	int rc = expand_all(h, &env, c->env, 2, "env", err);
	if (rc)
		return rc;
	for (; env[nenv]; nenv++) {
		has_path |= strncmp(env[nenv], "PATH=", 5) == 0;
		has_home |= strncmp(env[nenv], "HOME=", 5) == 0;
	}
	if (path && !has_path && !(env[nenv++] = hf_asprintf("PATH=%s", path)))
		rc = hf_err(err, HF_ENOMEM, "out of memory");
	if (!rc && home && !has_home && !(env[nenv++] = hf_asprintf("HOME=%s", home)))
		rc = hf_err(err, HF_ENOMEM, "out of memory");
	while (c->args && c->args[nargs])
		nargs++;
	if (!rc && !(argv = hf_calloc(nargs + 2, sizeof(*argv))))
		rc = hf_err(err, HF_ENOMEM, "out of memory");
	if (!rc) {
		argv[0] = c->command;
		for (size_t i = 0; i < nargs; i++)
			argv[i + 1] = c->args[i];
		if (c->cwd && c->cwd[0] != '/' && h->opts.base_dir)
			cwd = hf_asprintf("%s/%s", h->opts.base_dir, c->cwd);
		else
			cwd = hf_strdup(c->cwd ? c->cwd : h->opts.base_dir);
		if ((c->cwd || h->opts.base_dir) && !cwd)
			rc = hf_err(err, HF_ENOMEM, "out of memory");
	}
	if (!rc)
		rc = hf_mcp_stdio_spawn(&s->io, c->name, c->command, argv, env, cwd, h->max_message,
		                        err);
	free(argv);
	free(cwd);
	strv_free(env);
	return rc;
}

static void server_start(mcp_server *s)
{
	hf_mcp_host *h = s->h;
	hf_error err;
	long start_ms = h->opts.start_timeout_ms > 0 ? h->opts.start_timeout_ms
	                                              : DEFAULT_START_TIMEOUT_MS;
	s->state = S_STARTING;
	s->broken = false;
	s->listing = s->relist = false;
	s->pages = 0;
	s->start_deadline = hf_now_ms() + start_ms;
	if ((s->is_http ? start_http : start_stdio)(s, &err)) {
		server_break(s, err.code, false, "%s", err.message);
		return;
	}
	send_request(s, OP_INIT, NULL);
}

/* Stop its process or connection (the struct can start again). */
static void server_close(mcp_server *s, long grace_ms)
{
	if (s->is_http) {
		hf_mcp_http_free(s->http, grace_ms);
		s->http = NULL;
	} else if (s->io.pid) {
		hf_mcp_stdio_read_stderr(&s->io);
		hf_mcp_stdio_kill(&s->io);
		s->io.pid = 0;
	}
}

/* A broken server: fail its calls in flight, then stop it and either
 * schedule a restart (it was up before, the host is not stopping) or mark
 * it failed (its waiting calls fail too). */
static void server_down(mcp_server *s)
{
	hf_mcp_host *h = s->h;
	const char *name = s->conf->name, *why = s->broken_why;
	int code = s->broken_code;
	while (s->inflight.head) {
		mcp_call *c = HF_CONTAINER(s->inflight.head, mcp_call, link);
		call_detach(h, c, &s->inflight);
		if (c->op != OP_TOOL)
			call_free(c);
		else if (s->broken_during)
			call_fail(c, code, "server '%s' %s during tool '%s'", name, why, c->name);
		else
			call_fail(c, code, "server '%s' tool '%s': %s", name, c->name, why);
	}
	hf_mcp_tool_list_free(s->list, s->nlist);
	s->list = NULL;
	s->nlist = s->caplist = 0;
	server_close(s, 0);
	s->broken = false;
	if (s->ever_up && !h->stopping) {
		s->state = S_RESTART_WAIT;
		s->restart_at = hf_now_ms() + s->backoff_ms;
		hf_log(HF_LOG_WARN, "mcp server '%s': %s; restarting it in %ld ms", name, why,
		       s->backoff_ms);
		s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff_ms * 2;
		return;
	}
	s->state = S_FAILED;
	if (!s->is_http && s->io.last_err[0] && !strstr(why, s->io.last_err))
		hf_err(&s->fail, code, "server '%s': %s: %s", name, why, s->io.last_err);
	else
		hf_err(&s->fail, code, "server '%s': %s", name, why);
	hf_log(HF_LOG_ERROR, "mcp %s", s->fail.message);
	while (s->waiting.head) {
		mcp_call *c = HF_CONTAINER(s->waiting.head, mcp_call, link);
		call_detach(h, c, &s->waiting);
		call_fail(c, HF_ENET, "server '%s' tool '%s': the server is not running: %s", name,
		          c->name, s->fail.message);
	}
	check_started(h);
}

static void settle(hf_mcp_host *h)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->servers[i].broken)
			server_down(&h->servers[i]);
}

/* ---- what servers send ---- */

static void on_tool_answer(mcp_server *s, mcp_call *c, const hf_mcp_msg *m)
{
	const char *name = s->conf->name;
	hf_error err;
	char *text = NULL;
	bool is_error = false;
	int rc;
	if (m->error) {
		/* a JSON-RPC error (unknown tool, bad arguments): the model is
		 * told, like an isError result */
		hf_mcp_rpc_check(m, &err);
		call_finish(c, HF_OK, true, err.message, NULL);
		return;
	}
	rc = hf_mcp_rpc_check(m, &err);
	if (!rc)
		rc = hf_mcp_rpc_call_text(m->result, &text, &is_error, &err);
	if (rc) {
		call_fail(c, rc, "server '%s' tool '%s': %s", name, c->name, err.message);
		return;
	}
	call_finish(c, HF_OK, is_error, text, NULL);
	free(text);
}

static void on_init(mcp_server *s, const hf_mcp_msg *m)
{
	const char *version;
	hf_error err;
	if (hf_mcp_rpc_check(m, &err)) {
		server_break(s, HF_EPROTOCOL, false, "initialize failed: %s", err.message);
		return;
	}
	if (hf_mcp_rpc_init_result(m->result, &version, &err)) {
		server_break(s, HF_EPROTOCOL, false, "%s", err.message);
		return;
	}
	if (s->is_http && hf_mcp_http_set_version(s->http, version)) {
		server_break(s, HF_ENOMEM, false, "out of memory");
		return;
	}
	send_owned(s, hf_mcp_rpc_initialized());
	send_request(s, OP_LIST, NULL);
}

static void on_list(mcp_server *s, const hf_mcp_msg *m)
{
	char *cursor = NULL;
	hf_error err;
	if (hf_mcp_rpc_check(m, &err) ||
	    hf_mcp_rpc_tools_page(m->result, &s->list, &s->nlist, &s->caplist, &cursor, &err)) {
		server_break(s, err.code, false, "tools/list failed: %s", err.message);
		return;
	}
	if (cursor) {
		if (++s->pages > 1000)
			server_break(s, HF_ELIMIT, false, "tools/list: more than 1000 pages");
		else
			send_request(s, OP_LIST, cursor);
		free(cursor);
		return;
	}
	s->listing = false;
	s->pages = 0;
	publish(s);
	if (s->broken)
		return;
	if (s->state == S_STARTING)
		server_up(s);
	else
		hf_log(HF_LOG_INFO, "mcp server '%s': tools listed again, %zu tools", s->conf->name,
		       s->tools->n);
	if (s->relist) {
		s->relist = false;
		send_request(s, OP_LIST, NULL);
	}
}

static void on_notification(mcp_server *s, const hf_mcp_msg *m)
{
	if (strcmp(m->method, "notifications/tools/list_changed") == 0) {
		if (s->listing || s->state != S_UP)
			s->relist = true;
		else
			send_request(s, OP_LIST, NULL);
	} else if (strcmp(m->method, "notifications/message") == 0 && hf_log_enabled(HF_LOG_INFO)) {
		char *data = m->params ? cJSON_PrintUnformatted(m->params) : NULL;
		hf_log(HF_LOG_INFO, "mcp server '%s': %.1500s", s->conf->name, data ? data : "");
		free(data);
	}
}

static void on_message(mcp_server *s, const char *text, size_t len)
{
	hf_mcp_host *h = s->h;
	hf_mcp_msg m;
	hf_error err;
	mcp_call *c;
	if (s->broken)
		return;
	if (!s->is_http && hf_log_enabled(HF_LOG_TRACE))
		hf_log(HF_LOG_TRACE, "mcp server '%s' -> %.*s", s->conf->name,
		       (int)(len > 2000 ? 2000 : len), text);
	if (hf_mcp_rpc_parse(&m, text, len, &err)) {
		if (err.code == HF_ENOMEM)
			server_break(s, HF_ENOMEM, false, "out of memory");
		else
			hf_log(HF_LOG_WARN, "mcp server '%s': %s, ignored: %.*s", s->conf->name,
			       err.message, (int)(len > 200 ? 200 : len), text);
		return;
	}
	switch (m.kind) {
	case HF_MCP_MSG_REQUEST:
		if (strcmp(m.method, "ping") == 0) {
			send_owned(s, hf_mcp_rpc_reply(m.raw_id, NULL));
		} else {
			char why[160];
			snprintf(why, sizeof(why), "handoff does not support %.100s", m.method);
			send_owned(s, hf_mcp_rpc_reply(m.raw_id, why));
		}
		break;
	case HF_MCP_MSG_NOTIFICATION:
		on_notification(s, &m);
		break;
	case HF_MCP_MSG_RESPONSE:
		c = m.has_id ? table_find(h, m.id) : NULL;
		if (!c || !c->sent || c->server != s->index) {
			hf_log(HF_LOG_WARN, "mcp server '%s': an answer to no request of ours "
			       "(id %.40s), ignored", s->conf->name,
			       m.has_id ? "unknown" : "not ours");
			break;
		}
		call_detach(h, c, &s->inflight);
		if (c->op == OP_TOOL) {
			on_tool_answer(s, c, &m);
		} else {
			if (c->op == OP_INIT)
				on_init(s, &m);
			else
				on_list(s, &m);
			call_free(c);
		}
		break;
	}
	hf_mcp_msg_dispose(&m);
}

static int stdio_line(void *payload, const char *line, size_t len)
{
	mcp_server *s = payload;
	on_message(s, line, len);
	return s->broken;
}

static void http_message(void *payload, const char *text, size_t len)
{
	on_message(payload, text, len);
}

static void http_done(void *payload, uint64_t id, int code, const hf_error *err)
{
	mcp_server *s = payload;
	mcp_call *c = table_find(s->h, id);
	const char *why = err ? err->message : "the HTTP answer held no JSON-RPC response";
	if (!c || !c->sent || c->server != s->index)
		return;
	if (code == HF_OK)
		code = HF_EPROTOCOL;
	if (c->op != OP_TOOL) {
		server_break(s, code, false, "%s", why);
		return;
	}
	call_detach(s->h, c, &s->inflight);
	call_fail(c, code, "server '%s' tool '%s': %s", s->conf->name, c->name, why);
}

/* Its output ended: it exited (or closed stdout: then it is killed). */
static void stdio_ended(mcp_server *s)
{
	char how[96];
	long long until = hf_now_ms() + 1000;
	while (!hf_mcp_stdio_try_reap(&s->io) && hf_now_ms() < until)
		poll(NULL, 0, 5);
	hf_mcp_stdio_read_stderr(&s->io);
	hf_mcp_stdio_describe(&s->io, how, sizeof(how));
	if (s->state == S_STARTING)
		server_break(s, HF_ENET, false, "%s %s", s->conf->command, how);
	else
		server_break(s, HF_ENET, true, "%s", how);
}

static void stdio_events(mcp_server *s, short out_ev, short err_ev, short in_ev)
{
	if (err_ev)
		hf_mcp_stdio_read_stderr(&s->io);
	if (in_ev & POLLOUT)
		hf_mcp_stdio_flush(&s->io);
	if (out_ev && !s->broken) {
		int rc = hf_mcp_stdio_read(&s->io, stdio_line, s);
		if (rc == HF_ELIMIT)
			server_break(s, HF_ELIMIT, false,
			             "the server sent a message over the %zu-byte limit (max_message); "
			             "it is restarted", s->h->max_message);
		else if (rc == HF_ENET)
			stdio_ended(s);
		else if (rc == HF_ENOMEM)
			server_break(s, HF_ENOMEM, false, "out of memory");
	}
}

/* ---- calls, cancels, timers ---- */

static void add_call(hf_mcp_host *h, mcp_call *c)
{
	mcp_server *s = server_of(c, h);
	long t = c->timeout_ms > 0 ? c->timeout_ms
	         : s->conf->timeout_ms > 0 ? s->conf->timeout_ms : DEFAULT_TIMEOUT_MS;
	if (h->stopping) {
		call_fail(c, HF_ECANCELLED, "server '%s' tool '%s': cancelled: the tool set is "
		          "shutting down", s->conf->name, c->name);
		return;
	}
	if (s->state == S_FAILED) {
		call_fail(c, HF_ENET, "server '%s' tool '%s': the server is not running: %s",
		          s->conf->name, c->name, s->fail.message);
		return;
	}
	if (hf_heap_reserve(&h->timers, h->timers.n + 1)) {
		call_fail(c, HF_ENOMEM, "server '%s' tool '%s': out of memory", s->conf->name,
		          c->name);
		return;
	}
	c->timeout_ms = t;
	c->timer.key = hf_now_ms() + t;
	hf_heap_push(&h->timers, &c->timer);
	c->timed = true;
	hf_list_push(&h->buckets[c->id & (NBUCKETS - 1)], &c->hlink);
	c->in_table = true;
	if (s->state == S_UP)
		send_tool_call(s, c);
	else
		hf_list_push(&s->waiting, &c->link);
}

/* Take tool call c out of everything; tell the server when it was sent. */
static void withdraw(hf_mcp_host *h, mcp_call *c, const char *reason)
{
	mcp_server *s = server_of(c, h);
	call_detach(h, c, c->sent ? &s->inflight : &s->waiting);
	if (c->sent) {
		if (s->is_http)
			hf_mcp_http_abort(s->http, c->id);
		send_owned(s, hf_mcp_rpc_cancelled(c->id, reason));
	}
}

static void cancel_call(hf_mcp_host *h, uint64_t id)
{
	mcp_call *c = table_find(h, id);
	if (!c || c->op != OP_TOOL)
		return;
	withdraw(h, c, "cancelled by the client");
	call_fail(c, HF_ECANCELLED, "server '%s' tool '%s': cancelled", server_of(c, h)->conf->name,
	          c->name);
}

static void expire(hf_mcp_host *h, long long now)
{
	hf_heap_node *top;
	while ((top = hf_heap_top(&h->timers)) && top->key <= now) {
		mcp_call *c = HF_CONTAINER(top, mcp_call, timer);
		withdraw(h, c, "timed out");
		call_fail(c, HF_ENET, "server '%s' tool '%s': timed out after %ld ms",
		          server_of(c, h)->conf->name, c->name, c->timeout_ms);
	}
	for (size_t i = 0; i < h->n; i++) {
		mcp_server *s = &h->servers[i];
		if (s->state == S_STARTING && now >= s->start_deadline)
			server_break(s, HF_ENET, false, "did not answer initialize and tools/list "
			             "within %ld ms", h->opts.start_timeout_ms > 0
			             ? h->opts.start_timeout_ms : DEFAULT_START_TIMEOUT_MS);
		else if (s->state == S_RESTART_WAIT && now >= s->restart_at && !h->stopping)
			server_start(s);
	}
}

/* How long the loop may sleep. */
static int next_wait(hf_mcp_host *h, long long now)
{
	long long next = now + 1000;
	hf_heap_node *top = hf_heap_top(&h->timers);
	if (top && top->key < next)
		next = top->key;
	for (size_t i = 0; i < h->n; i++) {
		mcp_server *s = &h->servers[i];
		if (s->state == S_STARTING && s->start_deadline < next)
			next = s->start_deadline;
		if (s->state == S_RESTART_WAIT && s->restart_at < next)
			next = s->restart_at;
	}
	return next <= now ? 0 : (int)(next - now);
}

/* Every call still alive completes with HF_ECANCELLED; every server
 * stops (stdio ones together: close stdin, wait, SIGTERM, SIGKILL). */
static void shut_down(hf_mcp_host *h)
{
	hf_mcp_stdio **ps = hf_calloc(h->n ? h->n : 1, sizeof(*ps));
	size_t np = 0;
	for (size_t i = 0; i < h->n; i++) {
		mcp_server *s = &h->servers[i];
		hf_list *lists[2] = { &s->waiting, &s->inflight };
		for (int l = 0; l < 2; l++)
			while (lists[l]->head) {
				mcp_call *c = HF_CONTAINER(lists[l]->head, mcp_call, link);
				call_detach(h, c, lists[l]);
				if (c->op != OP_TOOL)
					call_free(c);
				else
					call_fail(c, HF_ECANCELLED, "server '%s' tool '%s': cancelled: the "
					          "tool set is shutting down", s->conf->name, c->name);
			}
		hf_mcp_tool_list_free(s->list, s->nlist);
		s->list = NULL;
		if (s->is_http)
			server_close(s, SHUTDOWN_GRACE_MS);
		else if (s->io.pid && ps)
			ps[np++] = &s->io;
		else if (s->io.pid)
			server_close(s, 0);
	}
	hf_mcp_stdio_shutdown(ps, np, SHUTDOWN_GRACE_MS);
	free(ps);
}

/* ---- the thread ---- */

static void take_queue(hf_mcp_host *h, hf_list *ops, bool *start, bool *stop)
{
	char sink[256];
	while (read(h->wake[0], sink, sizeof(sink)) > 0)
		;
	pthread_mutex_lock(&h->lock);
	hf_list_splice(ops, &h->queue);
	h->woken = false;
	*start = h->start_requested && !h->starting && !h->start_done;
	if (*start)
		h->starting = true;
	*stop = h->stopping = h->stop;
	pthread_mutex_unlock(&h->lock);
}

static void run_ops(hf_mcp_host *h, hf_list *ops)
{
	while (ops->head) {
		mcp_call *c = HF_CONTAINER(ops->head, mcp_call, link);
		hf_list_remove(ops, &c->link);
		if (c->op == OP_CANCEL) {
			cancel_call(h, c->id);
			call_free(c);
		} else {
			add_call(h, c);
		}
	}
}

static void *host_main(void *arg)
{
	hf_mcp_host *h = arg;
	size_t cap = 1 + 3 * h->n;
	struct pollfd *pf = hf_calloc(cap, sizeof(*pf));
	struct curl_waitfd *wf = h->multi ? hf_calloc(cap, sizeof(*wf)) : NULL;
	bool stop = false;
	prctl(PR_SET_NAME, "mcp-host");
	if (!pf || (h->multi && !wf)) {
		/* cannot run: fail whatever comes, until stopped */
		hf_log(HF_LOG_ERROR, "mcp host: out of memory");
	}
	while (!stop) {
		hf_list ops = { 0 };
		bool start = false;
		size_t nf = 0;
		int wait = next_wait(h, hf_now_ms());
		if (pf) {
			pf[nf++] = (struct pollfd){ h->wake[0], POLLIN, 0 };
			for (size_t i = 0; i < h->n; i++) {
				hf_mcp_stdio *io = &h->servers[i].io;
				if (h->servers[i].is_http)
					continue;
				pf[nf++] = (struct pollfd){ io->out_fd, POLLIN, 0 };
				pf[nf++] = (struct pollfd){ io->err_fd, POLLIN, 0 };
				pf[nf++] = (struct pollfd){ hf_mcp_stdio_wants_write(io) ? io->in_fd : -1,
				                            POLLOUT, 0 };
			}
		}
		if (wf) {
			int ready = 0;
			size_t k = 0;
			for (size_t i = 0; i < nf; i++) /* the real fds only */
				if (pf[i].fd >= 0)
					wf[k++] = (struct curl_waitfd){ pf[i].fd, pf[i].events, 0 };
			curl_multi_poll(h->multi, wf, (unsigned)k, wait, &ready);
			k = 0;
			for (size_t i = 0; i < nf; i++)
				pf[i].revents = pf[i].fd >= 0 ? wf[k++].revents : 0;
		} else if (pf) {
			poll(pf, nf, wait);
		} else {
			poll(NULL, 0, wait);
		}
		take_queue(h, &ops, &start, &stop);
		if (start) {
			for (size_t i = 0; i < h->n; i++)
				if (h->servers[i].state == S_IDLE)
					server_start(&h->servers[i]);
			settle(h);
			check_started(h);
		}
		run_ops(h, &ops);
		settle(h);
		for (size_t i = 0, f = 1; pf && i < h->n; i++) {
			mcp_server *s = &h->servers[i];
			if (s->is_http)
				continue;
			if (s->io.pid)
				stdio_events(s, pf[f].revents, pf[f + 1].revents, pf[f + 2].revents);
			f += 3;
		}
		settle(h);
		if (h->multi) {
			int running;
			CURLMsg *msg;
			curl_multi_perform(h->multi, &running);
			for (size_t i = 0; i < h->n; i++)
				if (h->servers[i].http)
					hf_mcp_http_dispatch(h->servers[i].http);
			while ((msg = curl_multi_info_read(h->multi, &running)))
				if (msg->msg == CURLMSG_DONE)
					hf_mcp_http_finished(msg->easy_handle, msg->data.result);
			settle(h);
		}
		expire(h, hf_now_ms());
		settle(h);
	}
	shut_down(h);
	free(pf);
	free(wf);
	return NULL;
}

/* ---- the API ---- */

int hf_mcp_host_new(hf_mcp_host **out, const hf_mcp_server_conf *servers, size_t n,
                    const hf_mcp_host_options *opts, hf_error *err)
{
	hf_mcp_host *h;
	sigset_t all, old;
	bool http = false;
	*out = NULL;
	if (n && !servers)
		return hf_err(err, HF_EINVAL, "hf_mcp_host_new: no servers");
	if (!(h = hf_calloc(1, sizeof(*h))))
		return hf_err(err, HF_ENOMEM, "out of memory");
	h->confs = servers;
	h->n = n;
	if (opts)
		h->opts = *opts;
	h->max_message = h->opts.max_message ? h->opts.max_message : DEFAULT_MAX_MESSAGE;
	h->wake[0] = h->wake[1] = -1;
	atomic_init(&h->next_id, 1);
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	if (!(h->servers = hf_calloc(n ? n : 1, sizeof(*h->servers)))) {
		hf_mcp_host_free(h);
		return hf_err(err, HF_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		mcp_server *s = &h->servers[i];
		s->h = h;
		s->conf = &servers[i];
		s->index = i;
		s->is_http = servers[i].url != NULL;
		s->backoff_ms = BACKOFF_FIRST_MS;
		s->io.in_fd = s->io.out_fd = s->io.err_fd = -1;
		http |= s->is_http;
		if (!s->is_http && !servers[i].command) {
			hf_mcp_host_free(h);
			return hf_err(err, HF_EINVAL, "server '%s' has neither command nor url",
			              servers[i].name ? servers[i].name : "?");
		}
	}
	if (http && !(h->multi = curl_multi_init())) {
		hf_mcp_host_free(h);
		return hf_err(err, HF_ENOMEM, "out of memory (curl_multi_init)");
	}
	if (pipe2(h->wake, O_CLOEXEC | O_NONBLOCK)) {
		int e = errno;
		hf_mcp_host_free(h);
		return hf_err(err, HF_ENET, "cannot create the MCP host's wake-up pipe: %s",
		              strerror(e));
	}
	/* the thread takes no signals (SIGPIPE from a closed pipe included);
	 * children get the default mask back before exec */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&h->thread, NULL, host_main, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		hf_mcp_host_free(h);
		return hf_err(err, HF_ENET, "cannot start the MCP host thread: %s", strerror(rc));
	}
	h->thread_started = true;
	*out = h;
	return HF_OK;
}

int hf_mcp_host_start(hf_mcp_host *h, hf_diag *diags, hf_error *err)
{
	int first = HF_OK;
	if (!h)
		return hf_err(err, HF_EINVAL, "hf_mcp_host_start: no host");
	pthread_mutex_lock(&h->lock);
	if (!h->start_requested) {
		h->start_requested = true;
		wake(h);
	}
	while (!h->start_done)
		pthread_cond_wait(&h->cond, &h->lock);
	for (size_t i = 0; i < h->n; i++) {
		mcp_server *s = &h->servers[i];
		if (s->tools || s->fail.code == HF_OK)
			continue;
		if (diags)
			hf_diag_add(diags, HF_SEV_ERROR, s->conf->file, s->conf->line, s->conf->col, "%s",
			            s->fail.message);
		if (first == HF_OK) {
			first = s->fail.code;
			if (err)
				*err = s->fail;
		}
	}
	pthread_mutex_unlock(&h->lock);
	return first;
}

hf_mcp_tools *hf_mcp_host_tools(hf_mcp_host *h, size_t server)
{
	hf_mcp_tools *t = NULL;
	if (!h || server >= h->n)
		return NULL;
	pthread_mutex_lock(&h->lock);
	t = hf_mcp_tools_ref(h->servers[server].tools);
	pthread_mutex_unlock(&h->lock);
	return t;
}

/* Queue op c for the thread. False when the host is stopping. */
static bool enqueue(hf_mcp_host *h, mcp_call *c)
{
	bool ok, need_wake = false;
	pthread_mutex_lock(&h->lock);
	ok = !h->stop;
	if (ok) {
		hf_list_push(&h->queue, &c->link);
		need_wake = !h->woken;
		h->woken = true;
	}
	pthread_mutex_unlock(&h->lock);
	if (need_wake)
		wake(h);
	return ok;
}

int hf_mcp_host_call(hf_mcp_host *h, size_t server, const char *name, const char *arguments,
                     long timeout_ms, hf_mcp_done_fn done, void *payload, uint64_t *call_id,
                     hf_error *err)
{
	mcp_call *c;
	if (!h || server >= h->n || !name || !done)
		return hf_err(err, HF_EINVAL, "hf_mcp_host_call: no host, server, tool or done "
		              "function");
	if (!(c = hf_calloc(1, sizeof(*c))) || !(c->name = hf_strdup(name)) ||
	    (arguments && !(c->arguments = hf_strdup(arguments)))) {
		call_free(c);
		return hf_err(err, HF_ENOMEM, "out of memory");
	}
	c->op = OP_TOOL;
	c->server = server;
	c->timeout_ms = timeout_ms;
	c->done = done;
	c->payload = payload;
	c->id = atomic_fetch_add(&h->next_id, 1);
	if (call_id)
		*call_id = c->id;
	if (!enqueue(h, c)) {
		call_free(c);
		return hf_err(err, HF_EINVAL, "server '%s' tool '%s': the tool set is shutting down",
		              h->confs[server].name, name);
	}
	return HF_OK;
}

void hf_mcp_host_cancel(hf_mcp_host *h, uint64_t call_id)
{
	mcp_call *c;
	if (!h || !call_id)
		return;
	if (!(c = hf_calloc(1, sizeof(*c)))) {
		hf_log(HF_LOG_ERROR, "mcp: out of memory cancelling a call; it runs to its timeout");
		return;
	}
	c->op = OP_CANCEL;
	c->id = call_id;
	if (!enqueue(h, c))
		call_free(c);
}

void hf_mcp_host_free(hf_mcp_host *h)
{
	if (!h)
		return;
	if (h->thread_started) {
		pthread_mutex_lock(&h->lock);
		h->stop = true;
		pthread_mutex_unlock(&h->lock);
		wake(h);
		pthread_join(h->thread, NULL);
	}
	/* ops queued before the stop that the thread did not take */
	while (h->queue.head) {
		mcp_call *c = HF_CONTAINER(h->queue.head, mcp_call, link);
		hf_list_remove(&h->queue, &c->link);
		if (c->op == OP_TOOL)
			call_fail(c, HF_ECANCELLED, "server '%s' tool '%s': cancelled: the tool set is "
			          "shutting down", h->confs[c->server].name, c->name);
		else
			call_free(c);
	}
	for (size_t i = 0; h->servers && i < h->n; i++)
		hf_mcp_tools_release(h->servers[i].tools);
	free(h->servers);
	hf_heap_dispose(&h->timers);
	if (h->multi)
		curl_multi_cleanup(h->multi);
	if (h->wake[0] >= 0)
		close(h->wake[0]);
	if (h->wake[1] >= 0)
		close(h->wake[1]);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	free(h);
}

/*
 * serve_http.c - the HTTP side of handoff serve: the libmicrohttpd daemon
 * (one polling thread over epoll; a connection waiting for its turn is
 * suspended, never a thread per connection), routing, client-key auth,
 * body and connection limits, OpenAI-shaped error bodies, the access log,
 * and /healthz /readyz /v1/models /metrics.
 *
 * A request (serve_req, serve_req.h) is shared by MHD's thread and the
 * chat handler, which answers from any thread through serve_req.c: its
 * response state is under its lock, and three references keep it alive (MHD's until the request completes, the
 * handler's until it ends the request, the streaming response's until MHD
 * drops it). A suspended connection is not polled by MHD, so a watchdog
 * thread watches suspended sockets for the peer hanging up (EPOLLRDHUP)
 * and resumes them so that a client that goes away cancels its turn.
 */
#include "serve_req.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KEYS_FILE_MAX (1 << 20)
#define CONN_MEMORY (16 * 1024)
#define STREAM_BLOCK 4096 /* SSE chunks are small; memory per open stream */

struct serve_server {
	const serve_options *o;
	serve_graphs *gs;
	serve_chat *chat;
	struct MHD_Daemon *d;
	int listen_fd;
	bool v6, quiesced;
	char url[128];
	char **keys;
	size_t nkeys;
	time_t started;
	unsigned header_s, idle_s;
	FILE *log;
	pthread_mutex_t log_lock;
	pthread_mutex_t lock; /* live list, serials */
	pthread_cond_t emptied; /* the live list became empty */
	serve_req *live;
	uint64_t next_serial;
	int ep, stop_fd;
	pthread_t watch;
	bool watching;
};

static int fail(hf_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	err->code = code;
	err->http_status = 0;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

/* ---- the access log ---- */

static void access_log(serve_server *s, serve_req *r)
{
	cJSON *o = cJSON_CreateObject();
	struct timespec now, wall;
	struct tm tm;
	char ts[40];
	char *line;
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	clock_gettime(CLOCK_REALTIME, &wall);
	gmtime_r(&wall.tv_sec, &tm);
	strftime(ts, 24, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + strlen(ts), sizeof(ts) - strlen(ts), ".%03dZ", (int)(wall.tv_nsec / 1000000));
	ms = (double)(now.tv_sec - r->t0.tv_sec) * 1e3 + (double)(now.tv_nsec - r->t0.tv_nsec) / 1e6;
	cJSON_AddStringToObject(o, "ts", ts);
	cJSON_AddStringToObject(o, "request_id", r->id);
	cJSON_AddStringToObject(o, "method", r->method ? r->method : "");
	cJSON_AddStringToObject(o, "path", r->path ? r->path : "");
	cJSON_AddNumberToObject(o, "status", r->status);
	cJSON_AddNumberToObject(o, "ms", (double)(long long)(ms * 1000) / 1000);
#define STR_OR_NULL(k, v) ((v) ? (void)cJSON_AddStringToObject(o, k, v) : (void)cJSON_AddNullToObject(o, k))
	STR_OR_NULL("session", r->session);
	STR_OR_NULL("model", r->model);
	STR_OR_NULL("agent_path", r->agent_path);
#undef STR_OR_NULL
	if (r->have_usage) {
		cJSON_AddNumberToObject(o, "tokens_in", (double)r->usage.input_tokens);
		cJSON_AddNumberToObject(o, "tokens_out", (double)r->usage.output_tokens);
		cJSON_AddNumberToObject(o, "tokens_total", (double)r->usage.total_tokens);
	} else {
		cJSON_AddNullToObject(o, "tokens_in");
		cJSON_AddNullToObject(o, "tokens_out");
		cJSON_AddNullToObject(o, "tokens_total");
	}
	line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!line)
		return;
	pthread_mutex_lock(&s->log_lock);
	fprintf(s->log, "%s\n", line);
	pthread_mutex_unlock(&s->log_lock);
	free(line);
}

/* ---- responses ---- */

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	serve_req *r = cls;
	ssize_t n;
	(void)pos;
	pthread_mutex_lock(&r->lock);
	if (r->off < r->len) {
		size_t k = r->len - r->off < max ? r->len - r->off : max;
		memcpy(buf, r->out + r->off, k);
		r->off += k;
		n = (ssize_t)k;
	} else if (r->gone) {
		n = MHD_CONTENT_READER_END_WITH_ERROR;
	} else if (r->ended) {
		n = MHD_CONTENT_READER_END_OF_STREAM;
	} else {
		serve_req_suspend(r); /* called again once serve_stream_* resumes it */
		n = 0;
	}
	pthread_mutex_unlock(&r->lock);
	return n;
}

static void stream_release(void *cls)
{
	serve_req_unref(cls);
}

/* Queue r's ready response (MHD's thread, in the access handler). */
static enum MHD_Result queue(serve_req *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned status;
	size_t i;

	pthread_mutex_lock(&r->lock);
	if (r->stream) {
		atomic_fetch_add(&r->refs, 1);
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read, r,
		                                         stream_release);
		if (!resp)
			atomic_fetch_sub(&r->refs, 1);
		else {
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
		}
	} else {
		resp = MHD_create_response_from_buffer_with_free_callback(r->whole_len, r->whole, free);
		if (resp) {
			r->whole = NULL;
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype);
		}
	}
	if (!resp) {
		pthread_mutex_unlock(&r->lock);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "X-Request-Id", r->id);
	for (i = 0; i < r->nhdrs; i++)
		MHD_add_response_header(resp, r->hdrs[i].name, r->hdrs[i].value);
	r->queued = true;
	status = (unsigned)r->status;
	pthread_mutex_unlock(&r->lock);
	ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* An answer of the server's own (not the chat handler's), queued now. */
static enum MHD_Result answer_error(serve_req *r, int status, const char *type,
                                    const char *param, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&r->lock);
	serve_req_set_error(r, status, type, param, code, msg, 0);
	r->ended = true;
	pthread_mutex_unlock(&r->lock);
	return queue(r);
}

static enum MHD_Result answer(serve_req *r, int status, char *text, const char *ctype)
{
	if (!text)
		return answer_error(r, 500, "server_error", NULL, NULL, "out of memory");
	pthread_mutex_lock(&r->lock);
	serve_req_set_whole(r, status, text, ctype);
	r->ended = true;
	pthread_mutex_unlock(&r->lock);
	return queue(r);
}

/* ---- the routes of the server's own ---- */

static void add_model(const char *name, void *payload)
{
	void **p = payload;
	cJSON *m = cJSON_CreateObject();
	serve_server *s = p[1];
	cJSON_AddStringToObject(m, "id", name);
	cJSON_AddStringToObject(m, "object", "model");
	cJSON_AddNumberToObject(m, "created", (double)s->started);
	cJSON_AddStringToObject(m, "owned_by", "handoff");
	cJSON_AddItemToArray(p[0], m);
}

static enum MHD_Result models(serve_server *s, serve_req *r)
{
	cJSON *root = cJSON_CreateObject(), *data = cJSON_AddArrayToObject(root, "data");
	void *p[2] = { data, s };
	char *text;
	cJSON_AddStringToObject(root, "object", "list");
	serve_graphs_each(s->gs, add_model, p);
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return answer(r, 200, text, "application/json");
}

static void count_model(const char *name, void *payload)
{
	(void)name;
	++*(size_t *)payload;
}

static enum MHD_Result readyz(serve_server *s, serve_req *r)
{
	hf_error err;
	size_t n = 0;
	serve_graphs_each(s->gs, count_model, &n);
	if (!n)
		return answer_error(r, 503, "service_unavailable", NULL, "not_ready",
		                    "no graph is loaded");
	memset(&err, 0, sizeof(err));
	if (!serve_chat_store_ready(s->chat, &err))
		return answer_error(r, 503, "service_unavailable", NULL, "not_ready",
		                    "the session store does not answer: %s",
		                    err.message[0] ? err.message : hf_code_name(err.code));
	return answer(r, 200, strdup("{\"status\":\"ready\"}"), "application/json");
}

static enum MHD_Result metrics(serve_server *s, serve_req *r)
{
	return answer(r, 200, serve_metrics_render(serve_chat_in_flight(s->chat)),
	              "text/plain; version=0.0.4; charset=utf-8");
}

/* ---- auth ---- */

/* Constant time in the key: every key is compared in full. */
static bool key_matches(const serve_server *s, const char *token)
{
	size_t tlen = strlen(token), i, j;
	unsigned ok = 0;
	for (i = 0; i < s->nkeys; i++) {
		const char *k = s->keys[i];
		size_t klen = strlen(k);
		unsigned diff = (unsigned)(klen ^ tlen);
		for (j = 0; j < klen; j++)
			diff |= (unsigned char)k[j] ^ (unsigned char)(j < tlen ? token[j] : 0);
		ok |= diff == 0;
	}
	return ok != 0;
}

static bool authorized(const serve_server *s, struct MHD_Connection *conn)
{
	const char *auth;
	if (!s->nkeys)
		return true;
	auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!auth || strncasecmp(auth, "Bearer ", 7))
		return false;
	auth += 7;
	while (*auth == ' ')
		auth++;
	return key_matches(s, auth);
}

/* ---- the access handler ---- */

typedef struct route {
	const char *path, *method;
	bool open; /* no key needed */
} route;

static const route routes[] = {
	{ "/v1/chat/completions", "POST", false },
	{ "/v1/models", "GET", false },
	{ "/healthz", "GET", true },
	{ "/readyz", "GET", false },
	{ "/metrics", "GET", false },
};

static serve_req *req_new(serve_server *s, struct MHD_Connection *conn, const char *url,
                          const char *method)
{
	serve_req *r = calloc(1, sizeof(*r));
	const union MHD_ConnectionInfo *ci;
	unsigned char rnd[16];
	size_t i;
	if (!r)
		return NULL;
	r->s = s;
	r->ep = s->ep;
	r->conn = conn;
	r->fd = -1;
	atomic_init(&r->refs, 1);
	pthread_mutex_init(&r->lock, NULL);
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		for (i = 0; i < sizeof(rnd); i++)
			rnd[i] = (unsigned char)rand();
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(r->id + 2 * i, 3, "%02x", rnd[i]);
	r->method = strdup(method);
	r->path = strdup(url);
	if ((ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD)))
		r->fd = ci->connect_fd;
	pthread_mutex_lock(&s->lock);
	r->serial = ++s->next_serial;
	r->next = s->live;
	if (s->live)
		s->live->prev = r;
	s->live = r;
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* Route, auth, and every answer but chat's. A chat request is refused at
 * its first call (first: true) when unauthorized or declared too large,
 * before its body is read; other routes are answered once the request is
 * whole, so that the connection stays open for the next one. */
static enum MHD_Result begin(serve_server *s, serve_req *r, const char *url, const char *method,
                             bool first)
{
	const route *rt = NULL;
	const char *cl;
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (!strcmp(url, routes[i].path))
			rt = &routes[i];
	if (first && (!rt || strcmp(rt->path, "/v1/chat/completions") || strcmp(method, "POST")))
		return MHD_YES; /* answered when whole */
	if (!rt)
		return answer_error(r, 404, "invalid_request_error", NULL, "unknown_url",
		                    "Invalid URL (%s %.200s)", method, url);
	if (strcmp(method, rt->method)) {
		pthread_mutex_lock(&r->lock);
		serve_req_add_header(r, MHD_HTTP_HEADER_ALLOW, rt->method);
		pthread_mutex_unlock(&r->lock);
		return answer_error(r, 405, "invalid_request_error", NULL, "method_not_allowed",
		                    "%s is not allowed on %s; use %s", method, url, rt->method);
	}
	if (!rt->open && !authorized(s, r->conn)) {
		pthread_mutex_lock(&r->lock);
		serve_req_add_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
		pthread_mutex_unlock(&r->lock);
		return answer_error(r, 401, "invalid_request_error", NULL, "invalid_api_key",
		                    "Incorrect API key provided: send one of the server's client keys "
		                    "as 'Authorization: Bearer KEY'");
	}
	if (!strcmp(rt->path, "/healthz"))
		return answer(r, 200, strdup("{\"status\":\"ok\"}"), "application/json");
	if (!strcmp(rt->path, "/v1/models"))
		return models(s, r);
	if (!strcmp(rt->path, "/readyz"))
		return readyz(s, r);
	if (!strcmp(rt->path, "/metrics"))
		return metrics(s, r);
	/* chat: refuse a declared length over the limit before reading it */
	cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > s->o->max_body)
		r->too_big = true;
	if (r->too_big)
		return answer_error(r, 413, "invalid_request_error", NULL, "request_too_large",
		                    "the request body is over the server's limit of %zu bytes",
		                    s->o->max_body);
	r->chat = true;
	return MHD_YES;
}

static bool body_append(serve_req *r, size_t max, const char *data, size_t n)
{
	if (r->body_len + n > max)
		return false;
	if (r->body_len + n + 1 > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap : 4096;
		char *t;
		while (cap < r->body_len + n + 1)
			cap *= 2;
		if (!(t = realloc(r->body, cap)))
			return false;
		r->body = t;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	serve_server *s = cls;
	serve_req *r = *con_cls;
	bool ready;
	(void)version;

	if (!r) {
		if (!(r = req_new(s, conn, url, method)))
			return MHD_NO;
		*con_cls = r;
		MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, s->idle_s);
		return begin(s, r, url, method, true);
	}
	if (*upload_size) {
		if (r->chat && !r->too_big && !r->queued &&
		    !body_append(r, s->o->max_body, upload, *upload_size)) {
			r->too_big = true; /* a chunked body over the limit: the rest is dropped */
			free(r->body);
			r->body = NULL;
			r->body_len = r->body_cap = 0;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->queued)
		return MHD_YES;
	if (!r->chat && !r->ready)
		return begin(s, r, url, method, false);
	if (r->chat && !r->dispatched) {
		if (r->too_big)
			return answer_error(r, 413, "invalid_request_error", NULL, "request_too_large",
			                    "the request body is over the server's limit of %zu bytes",
			                    s->o->max_body);
		r->dispatched = true;
		atomic_fetch_add(&r->refs, 1); /* the handler's, until it ends the request */
		serve_chat_handle(s->chat, r);
	}
	pthread_mutex_lock(&r->lock);
	if (r->gone) { /* resumed because the client went away */
		pthread_mutex_unlock(&r->lock);
		return MHD_NO;
	}
	ready = r->ready;
	if (!ready)
		serve_req_suspend(r); /* called again once serve_reply_* / serve_stream_begin resumes it */
	pthread_mutex_unlock(&r->lock);
	return ready ? queue(r) : MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	serve_server *s = cls;
	serve_req *r = *con_cls;
	void (*fn)(void *);
	void *payload = NULL;
	(void)conn;
	if (!r)
		return;
	*con_cls = NULL;
	pthread_mutex_lock(&s->lock);
	if (r->prev)
		r->prev->next = r->next;
	else
		s->live = r->next;
	if (r->next)
		r->next->prev = r->prev;
	if (!s->live)
		pthread_cond_broadcast(&s->emptied);
	pthread_mutex_unlock(&s->lock);

	pthread_mutex_lock(&r->lock);
	if (r->watched)
		epoll_ctl(s->ep, EPOLL_CTL_DEL, r->fd, NULL);
	r->watched = false;
	r->conn = NULL;
	r->gone = true;
	r->suspended = false;
	/* a stream cut or no answer sent: the client closed the request (logged
	 * and counted as 499, nginx's convention) */
	if ((toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && r->stream) || !r->queued)
		r->status = 499;
	serve_req_take_abort(r, &fn, &payload);
	pthread_mutex_unlock(&r->lock);
	if (fn)
		fn(payload);
	serve_metrics_request(r->status);
	access_log(s, r);
	serve_req_unref(r);
}

/* ---- the watchdog: suspended sockets whose peer hung up ---- */

static void *watchdog(void *arg)
{
	serve_server *s = arg;
	struct epoll_event ev[64];
	for (;;) {
		int i, n = epoll_wait(s->ep, ev, 64, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return NULL;
		for (i = 0; i < n; i++) {
			serve_req *r;
			void (*fn)(void *) = NULL;
			void *payload = NULL;
			if (ev[i].data.u64 == 0)
				return NULL; /* the stop event */
			pthread_mutex_lock(&s->lock);
			for (r = s->live; r && r->serial != ev[i].data.u64; r = r->next)
				;
			if (r)
				atomic_fetch_add(&r->refs, 1);
			pthread_mutex_unlock(&s->lock);
			if (!r)
				continue;
			pthread_mutex_lock(&r->lock);
			if (r->suspended && r->conn) { /* active connections MHD watches itself */
				r->gone = true;
				serve_req_wake(r);
				serve_req_take_abort(r, &fn, &payload);
			}
			pthread_mutex_unlock(&r->lock);
			if (fn)
				fn(payload);
			serve_req_unref(r);
		}
	}
}

/* ---- keys, address, lifecycle ---- */

static void free_keys(serve_server *s)
{
	size_t i;
	for (i = 0; i < s->nkeys; i++) {
		explicit_bzero(s->keys[i], strlen(s->keys[i]));
		free(s->keys[i]);
	}
	free(s->keys);
	s->keys = NULL;
	s->nkeys = 0;
}

/* One key per line (blank lines and lines starting with # skipped); the
 * file must be a regular file only its owner may read. */
static int read_keys(serve_server *s, const char *path, hf_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	char *buf, *line, *save = NULL;
	ssize_t n;
	size_t len = 0;

	if (fd < 0)
		return fail(err, HF_ECONFIG, "cannot read the keys file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, HF_ECONFIG, "the keys file %s is not a regular file", path);
	}
	if (st.st_mode & 077) {
		close(fd);
		return fail(err, HF_ECONFIG, "the keys file %s has mode %04o; run chmod 600 %s", path,
		            (unsigned)(st.st_mode & 07777), path);
	}
	if (!(buf = malloc(KEYS_FILE_MAX + 1))) {
		close(fd);
		return fail(err, HF_ENOMEM, "out of memory reading the keys file %s", path);
	}
	while (len < KEYS_FILE_MAX && (n = read(fd, buf + len, KEYS_FILE_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	if (memchr(buf, '\0', len)) {
		explicit_bzero(buf, len);
		free(buf);
		return fail(err, HF_ECONFIG, "the keys file %s contains a NUL byte", path);
	}
	for (line = strtok_r(buf, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		char **v, *end;
		while (*line == ' ' || *line == '\t')
			line++;
		end = line + strlen(line);
		while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (!*line || *line == '#')
			continue;
		if (!(v = realloc(s->keys, (s->nkeys + 1) * sizeof(*v))) ||
		    !(v[s->nkeys] = strdup(line))) {
			if (v)
				s->keys = v;
			explicit_bzero(buf, len);
			free(buf);
			return fail(err, HF_ENOMEM, "out of memory reading the keys file %s", path);
		}
		s->keys = v;
		s->nkeys++;
	}
	explicit_bzero(buf, len);
	free(buf);
	if (!s->nkeys)
		return fail(err, HF_ECONFIG, "the keys file %s has no key (one per line)", path);
	return HF_OK;
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* "ADDR:PORT", "[V6]:PORT", "localhost:PORT"; numeric addresses only. */
static int parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len,
                        hf_error *err)
{
	char host[128];
	const char *colon, *hs = spec, *he;
	char *end;
	unsigned long port;

	memset(ss, 0, sizeof(*ss));
	if (*spec == '[') {
		hs = spec + 1;
		if (!(he = strchr(hs, ']')) || he[1] != ':')
			goto bad;
		colon = he + 1;
	} else {
		if (!(colon = strrchr(spec, ':')))
			goto bad;
		he = colon;
	}
	if ((size_t)(he - hs) >= sizeof(host) || he == hs)
		goto bad;
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port > 65535)
		goto bad;
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	{
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
			a4->sin_family = AF_INET;
			a4->sin_port = htons((unsigned short)port);
			*len = sizeof(*a4);
			return HF_OK;
		}
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
			a6->sin6_family = AF_INET6;
			a6->sin6_port = htons((unsigned short)port);
			*len = sizeof(*a6);
			return HF_OK;
		}
	}
bad:
	return fail(err, HF_EINVAL,
	            "cannot read the listen address '%.100s': give ADDR:PORT with a numeric "
	            "address, e.g. 127.0.0.1:8000 or [::1]:8000",
	            spec);
}

/* Many open streams need many descriptors: soft limit = hard. */
static rlim_t raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;
	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	/* what MHD says when this file closes a connection whose client went
	 * away (the access log has it as 499): not news */
	if (strstr(msg, "Closing connection (application error") ||
	    strstr(msg, "Application reported internal error"))
		return;
	serve_note("%s", msg);
}

int serve_server_new(serve_server **out, const serve_options *o, hf_error *err)
{
	serve_server *s;
	struct sockaddr_storage ss;
	socklen_t len;
	char host[INET6_ADDRSTRLEN];
	int rc, one = 1;

	*out = NULL;
	if ((rc = parse_listen(o->listen, &ss, &len, err)))
		return rc;
	if (!is_loopback(&ss) && !o->keys_file)
		return fail(err, HF_EINVAL,
		            "refusing to listen on %s without client keys: anyone who can reach it "
		            "could spend your model budget; give --keys-file FILE, or listen on "
		            "127.0.0.1",
		            o->listen);
	if (!(s = calloc(1, sizeof(*s))))
		return fail(err, HF_ENOMEM, "out of memory starting the server");
	s->o = o;
	s->listen_fd = s->ep = s->stop_fd = -1;
	s->log = stderr;
	pthread_mutex_init(&s->lock, NULL);
	{
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->emptied, &ca);
		pthread_condattr_destroy(&ca);
	}
	pthread_mutex_init(&s->log_lock, NULL);
	s->header_s = (unsigned)((o->header_timeout_ms + 999) / 1000);
	s->idle_s = (unsigned)((o->idle_timeout_ms + 999) / 1000);
	if (o->keys_file && (rc = read_keys(s, o->keys_file, err)))
		goto fail;
	if (o->access_log) {
		if (!(s->log = fopen(o->access_log, "ae"))) {
			s->log = stderr;
			rc = fail(err, HF_ECONFIG, "cannot open the access log %s: %s", o->access_log,
			          strerror(errno));
			goto fail;
		}
		setvbuf(s->log, NULL, _IOLBF, 0);
	}
	s->v6 = ss.ss_family == AF_INET6;
	if ((s->listen_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(s->listen_fd, (struct sockaddr *)&ss, len) != 0 || listen(s->listen_fd, 1024) != 0) {
		rc = fail(err, HF_ENET, "cannot listen on %s: %s", o->listen, strerror(errno));
		goto fail;
	}
	len = sizeof(ss);
	getsockname(s->listen_fd, (struct sockaddr *)&ss, &len);
	if (s->v6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
		snprintf(s->url, sizeof(s->url), "http://[%s]:%u", host,
		         ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
		snprintf(s->url, sizeof(s->url), "http://%s:%u", host,
		         ntohs(((struct sockaddr_in *)&ss)->sin_port));
	}
	*out = s;
	return HF_OK;
fail:
	serve_server_free(s);
	return rc;
}

int serve_server_start(serve_server *s, serve_graphs *gs, serve_chat *chat, hf_error *err)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };
	rlim_t fds = raise_fd_limit();
	unsigned limit = fds > 65536 + 64 ? 65536 : fds > 128 ? (unsigned)(fds - 64) : 64;

	s->gs = gs;
	s->chat = chat;
	s->started = time(NULL);
	if ((s->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    epoll_ctl(s->ep, EPOLL_CTL_ADD, s->stop_fd, &ev) != 0)
		return fail(err, HF_ENOMEM, "cannot start the server: %s", strerror(errno));
	if (pthread_create(&s->watch, NULL, watchdog, s) != 0)
		return fail(err, HF_ENOMEM, "cannot start the server's watchdog thread");
	s->watching = true;
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	                                MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC |
	                                MHD_USE_ERROR_LOG | (s->v6 ? MHD_USE_IPv6 : 0),
	                        0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
	                        NULL, MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
	                        MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_CONNECTION_TIMEOUT,
	                        s->header_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
	                        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
	if (!s->d)
		return fail(err, HF_ENET, "cannot start the HTTP server on %s", s->url);
	return HF_OK;
}

const char *serve_server_url(const serve_server *s)
{
	return s->url;
}

void serve_server_quiesce(serve_server *s)
{
	int fd;
	if (!s->d || s->quiesced)
		return;
	s->quiesced = true;
	fd = MHD_quiesce_daemon(s->d);
	if (fd >= 0)
		close(fd);
	s->listen_fd = -1;
}

void serve_server_flush(serve_server *s, long ms)
{
	struct timespec until;

	if (!s || !s->d)
		return;
	serve_deadline(&until, ms);
	pthread_mutex_lock(&s->lock);
	while (s->live && pthread_cond_timedwait(&s->emptied, &s->lock, &until) == 0) {}
	pthread_mutex_unlock(&s->lock);
}

void serve_server_free(serve_server *s)
{
	serve_req *r;
	if (!s)
		return;
	if (s->d) {
		/* MHD stops only with no connection suspended: wake each, as gone */
		pthread_mutex_lock(&s->lock);
		for (r = s->live; r; r = r->next) {
			pthread_mutex_lock(&r->lock);
			if (r->suspended) {
				r->gone = true;
				serve_req_wake(r);
			}
			pthread_mutex_unlock(&r->lock);
		}
		pthread_mutex_unlock(&s->lock);
		MHD_stop_daemon(s->d);
		s->listen_fd = -1; /* MHD closed it */
	}
	if (s->watching) {
		uint64_t one = 1;
		if (write(s->stop_fd, &one, sizeof(one)) != sizeof(one))
			serve_note("cannot stop the watchdog thread");
		pthread_join(s->watch, NULL);
	}
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->ep >= 0)
		close(s->ep);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	if (s->log && s->log != stderr)
		fclose(s->log);
	free_keys(s);
	pthread_cond_destroy(&s->emptied);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->log_lock);
	free(s);
}

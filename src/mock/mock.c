/*
 * mock.c - `handoff mock`: the server. Listens on 127.0.0.1 or ::1 with
 * libmicrohttpd (epoll, a thread pool, suspend/resume), routes each request,
 * applies auth, faults and latency, and hands chat requests to the script
 * (mock_script.c) and renderer (mock_chat.c), discovery to the catalogue.
 */
#include "mock.h"
#include "mock_internal.h"
#include "text.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_BODY (32u << 20)       /* request bodies above this get 413 */
#define MAX_BODIES (256u << 20)    /* default hf_mock_options.max_bodies */
#define CONNECTION_LIMIT 30000
#define LISTEN_BACKLOG 4096
#define IDLE_TIMEOUT_S 120
/* Memory per connection (MHD clears it on every request of a keep-alive
 * connection): room for headers and streamed chunks, small enough for
 * tens of thousands of connections. */
#define CONNECTION_MEMORY ((size_t)16 * 1024)

struct hf_mock {
	struct MHD_Daemon *daemon;
	unsigned short port;
	char url[64];
	long latency_ms;
	size_t max_bodies;               /* all bodies held at once: more get 413 */
	char *require_key;
	mock_catalogue *catalogue;
	mock_scenario *scenario;
	mock_log *log;
	mock_timer *timer;
	mock_fault_counters *faults;
	_Atomic unsigned long next_id;   /* chatcmpl-mock-N */
	_Atomic unsigned long next_call; /* call_N */
	_Atomic size_t body_bytes;       /* request body bytes held, all connections */
};

typedef enum route {
	ROUTE_NONE,
	ROUTE_CHAT,
	ROUTE_MODELS,
	ROUTE_PROVIDERS,
	ROUTE_DETAIL,
	ROUTE_V1_MODELS,
	ROUTE_NO_CATALOGUE,
	ROUTE_RESET
} route;

static const struct {
	const char *path;
	const char *method;
	route r;
} routes[] = {
	{ "/v1/chat/completions", "POST", ROUTE_CHAT },
	{ "/compute/chat/completions", "POST", ROUTE_CHAT },
	{ "/compute/models", "GET", ROUTE_MODELS },
	{ "/compute/providers", "GET", ROUTE_PROVIDERS },
	{ "/compute/modelDetail", "GET", ROUTE_DETAIL },
	{ "/v1/models", "GET", ROUTE_V1_MODELS },
	{ "/v1/providers", "GET", ROUTE_NO_CATALOGUE },
	{ "/v1/modelDetail", "GET", ROUTE_NO_CATALOGUE },
	{ "/mock/reset", "POST", ROUTE_RESET },
};

/* One request in flight (MHD's per-connection request context). */
typedef struct mock_req {
	hf_buf body;
	size_t counted;            /* bytes of body counted in hf_mock.body_bytes */
	bool too_big;
	bool decided;              /* the reply is ready (perhaps waiting out latency) */
	bool drop;                 /* close without answering */
	unsigned status;
	struct MHD_Response *resp;
} mock_req;

/* What one request gets: a status and body, shaped by at most one fault. */
typedef struct answer {
	unsigned status;
	const char *content_type;
	mock_body *body;
	mock_fault fault;          /* MOCK_FAULT_NONE when none applies */
	bool drop;
	const char *allow;         /* Allow header of a 405 */
} answer;

/* Set a JSON body from text (owned). Out of memory (text NULL) leaves no
 * body: the connection is then closed without a reply. */
static void answer_json(answer *a, unsigned status, char *text)
{
	a->content_type = "application/json";
	a->status = status;
	a->body = text ? hf_calloc(1, sizeof(*a->body)) : NULL;
	if (a->body) {
		a->body->sized = true;
		if (hf_buf_puts(&a->body->head, text)) {
			mock_body_free(a->body);
			a->body = NULL;
		}
	}
	free(text);
}

static void answer_error(answer *a, unsigned status, const char *message, const char *type,
                         const char *code)
{
	answer_json(a, status, mock_error_json(message, type, code));
}

/* ---- request checks ---- */

static bool key_matches(const char *given, const char *key)
{
	return given && !strcmp(given, key);
}

static bool authorized(const hf_mock *m, struct MHD_Connection *conn)
{
	const char *auth, *xkey;
	if (!m->require_key)
		return true;
	auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	xkey = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-api-key");
	if (auth && !strncmp(auth, "Bearer ", 7) && key_matches(auth + 7, m->require_key))
		return true;
	return key_matches(xkey, m->require_key);
}

/* The X-Mock-Fault header's fault when it applies to this request: 0 when
 * none (a->fault.kind stays NONE), HF_EINVAL (a 400 answer) when bad. */
static int header_fault(hf_mock *m, struct MHD_Connection *conn, answer *a)
{
	const char *spec = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Mock-Fault");
	mock_fault f;
	hf_error err;
	if (!spec)
		return HF_OK;
	if (mock_fault_parse(&f, spec, &err)) {
		answer_error(a, 400, err.message, "invalid_request_error", "bad_mock_fault");
		return HF_EINVAL;
	}
	if (mock_fault_counters_hit(m->faults, spec, &f))
		a->fault = f;
	return HF_OK;
}

static const char *query(struct MHD_Connection *conn, const char *key)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
	return v && *v ? v : NULL;
}

/* ---- routes ---- */

static void do_chat(hf_mock *m, const mock_req *r, answer *a)
{
	cJSON *req = cJSON_ParseWithLength(r->body.data ? r->body.data : "", r->body.len);
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(req, "model");
	hf_reply reply = { 0 };
	const char *script_fault = NULL;
	mock_chat_out out;
	mock_chat_in in;
	int rc = HF_OK;

	if (!cJSON_IsObject(req)) {
		answer_error(a, 400, "the request body is not a JSON object", "invalid_request_error",
		             "invalid_json");
		goto done;
	}
	if (!cJSON_IsString(model) ||
	    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(req, "messages"))) {
		answer_error(a, 400, "a chat request needs \"model\" (a string) and \"messages\" "
		                     "(an array)",
		             "invalid_request_error", "invalid_request");
		goto done;
	}
	if (mock_scenario_next(m->scenario, &reply, &script_fault, &rc) && script_fault &&
	    a->fault.kind == MOCK_FAULT_NONE)
		mock_fault_parse(&a->fault, script_fault, NULL); /* checked when loaded */
	if (!rc && !reply.content && !reply.ncalls)
		rc = mock_route(&reply, req, &m->next_call);
	if (!rc)
		rc = mock_reply_fault(&reply, req, &a->fault, &m->next_call);
	if (rc) {
		answer_json(a, 500, NULL);
		goto done;
	}
	if (a->fault.kind == MOCK_FAULT_STATUS || a->fault.kind == MOCK_FAULT_DROP)
		goto done; /* the script entry is used up; the fault answers */
	in.request = req;
	in.reply = &reply;
	in.fault = &a->fault;
	in.id = ++m->next_id;
	if (mock_chat_render(&out, &in)) {
		answer_json(a, 500, NULL);
		goto done;
	}
	a->status = 200;
	a->content_type = out.content_type;
	a->body = out.body;
done:
	hf_chat_reply_dispose(&reply);
	cJSON_Delete(req);
}

static void do_route(hf_mock *m, route rt, struct MHD_Connection *conn, const mock_req *r,
                     answer *a)
{
	static const char *const params[] = { "provider", "model" };
	char *body = NULL, msg[96];
	unsigned status;
	size_t i;
	for (i = 0; i < HF_ARRAY_LEN(params); i++) {
		const char *v = query(conn, params[i]);
		if (v && !hf_text_utf8_valid(v, strlen(v), NULL)) {
			snprintf(msg, sizeof(msg), "the query parameter '%s' is not UTF-8 text",
			         params[i]);
			answer_error(a, 400, msg, "invalid_request_error", "invalid_parameter");
			return;
		}
	}
	switch (rt) {
	case ROUTE_CHAT:
		do_chat(m, r, a);
		return;
	case ROUTE_MODELS:
		status = (unsigned)mock_catalogue_models(m->catalogue, query(conn, "provider"), &body);
		break;
	case ROUTE_PROVIDERS:
		status = (unsigned)mock_catalogue_providers(m->catalogue, query(conn, "model"), &body);
		break;
	case ROUTE_DETAIL:
		status = (unsigned)mock_catalogue_detail(m->catalogue, query(conn, "model"),
		                                         query(conn, "provider"), &body);
		break;
	case ROUTE_V1_MODELS:
		status = (unsigned)mock_catalogue_openai_models(m->catalogue, &body);
		break;
	case ROUTE_NO_CATALOGUE:
		answer_error(a, 404,
		             "this server has no provider catalogue: /v1 is a plain "
		             "OpenAI-compatible API (the Model Hub routes are under /compute)",
		             "invalid_request_error", "not_found");
		return;
	case ROUTE_RESET:
		hf_mock_reset(m);
		body = hf_strdup("{\"reset\":true}");
		status = 200;
		break;
	default:
		return;
	}
	answer_json(a, status, body);
}

/* The transport faults every route shares: a status with the error
 * envelope, a stall, and for sized bodies truncation and a dropped
 * connection half-way. (Streams shape these themselves.) */
static void apply_fault(answer *a)
{
	mock_fault *f = &a->fault;
	mock_body *b;
	if (f->kind == MOCK_FAULT_STATUS) {
		const char *type, *code, *message;
		mock_body_free(a->body);
		a->body = NULL;
		mock_fault_status_error(f->status, &type, &code, &message);
		answer_error(a, (unsigned)f->status, message, type, code);
		return;
	}
	if (f->kind == MOCK_FAULT_DROP) {
		a->drop = true;
		return;
	}
	b = a->body;
	if (!b)
		return;
	if (f->kind == MOCK_FAULT_STALL)
		b->stall_ms = f->ms;
	if (!b->sized)
		return;
	if (f->kind == MOCK_FAULT_TRUNCATED) {
		b->head.len /= 2;
		b->head.data[b->head.len] = '\0';
	} else if (f->kind == MOCK_FAULT_DROP_MID_STREAM) {
		b->cut = (b->head.len + b->unit.len * b->unit_count + b->tail.len) / 2;
	}
}

static struct MHD_Response *make_response(hf_mock *m, struct MHD_Connection *conn, answer *a)
{
	mock_body *b = a->body;
	struct MHD_Response *resp;
	bool sized;
	a->body = NULL;
	if (!b)
		return NULL;
	sized = b->sized;
	if (sized && !b->stall_ms && !b->cut && !b->unit_count && !b->tail.len) {
		size_t len = b->head.len;
		char *data = hf_buf_detach(&b->head);
		mock_body_free(b);
		resp = MHD_create_response_from_buffer_with_free_callback(len, data, free);
		if (!resp)
			free(data);
	} else {
		resp = mock_body_response(b, m->timer, conn);
	}
	if (!resp)
		return NULL;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, a->content_type);
	if (a->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, a->allow);
	if (!sized)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	if (a->status == 429 || (a->status == 503 && a->fault.ms >= 0)) {
		long ms = a->fault.ms >= 0 ? a->fault.ms : 1000;
		char v[32];
		snprintf(v, sizeof(v), "%ld", (ms + 999) / 1000);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
		snprintf(v, sizeof(v), "%ld", ms);
		MHD_add_response_header(resp, "retry-after-ms", v);
	}
	return resp;
}

/* Decide the whole reply to a fully received request and log it. */
static void decide(hf_mock *m, mock_req *r, struct MHD_Connection *conn, const char *url,
                   const char *method)
{
	answer a = { 0 };
	route rt = ROUTE_NONE;
	const char *allow = NULL;
	size_t i;
	char msg[300];

	a.fault.ms = -1;
	for (i = 0; i < HF_ARRAY_LEN(routes); i++) {
		if (strcmp(routes[i].path, url))
			continue;
		allow = routes[i].method;
		if (!strcmp(routes[i].method, method))
			rt = routes[i].r;
	}
	if (!allow) {
		snprintf(msg, sizeof(msg), "no such route: %.16s %.200s", method, url);
		answer_error(&a, 404, msg, "invalid_request_error", "not_found");
	} else if (rt == ROUTE_NONE) {
		snprintf(msg, sizeof(msg), "%.16s is not allowed on %.200s", method, url);
		answer_error(&a, 405, msg, "invalid_request_error", "method_not_allowed");
		a.allow = allow;
	} else if (r->too_big) {
		answer_error(&a, 413, "the request body is too large", "invalid_request_error",
		             "request_too_large");
	} else if (rt != ROUTE_RESET && !authorized(m, conn)) {
		answer_error(&a, 401, "missing or incorrect API key (send Authorization: Bearer "
		                      "KEY or x-api-key: KEY)",
		             "invalid_request_error", "invalid_api_key");
	} else if (rt == ROUTE_RESET || !header_fault(m, conn, &a)) {
		do_route(m, rt, conn, r, &a);
		apply_fault(&a);
	}
	if (mock_log_on(m->log))
		mock_log_request(m->log, conn, method, url, r->body.data, r->body.len,
		                 a.drop ? 0 : a.status,
		                 a.fault.kind != MOCK_FAULT_NONE ? a.fault.name : NULL);
	r->drop = a.drop;
	r->status = a.status;
	r->resp = a.drop ? NULL : make_response(m, conn, &a);
	mock_body_free(a.body);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	hf_mock *m = cls;
	mock_req *r = *con_cls;
	enum MHD_Result ret;
	(void)version;

	if (!r) {
		r = hf_calloc(1, sizeof(*r));
		*con_cls = r;
		return r ? MHD_YES : MHD_NO;
	}
	if (*upload_size) {
		size_t n = *upload_size, held = atomic_fetch_add(&m->body_bytes, n) + n;
		if (r->too_big || r->body.len + n > MAX_BODY || held > m->max_bodies ||
		    hf_buf_append(&r->body, upload, n)) {
			/* too large, or too many bodies at once: drop what we hold */
			atomic_fetch_sub(&m->body_bytes, n + r->counted);
			r->counted = 0;
			hf_buf_dispose(&r->body);
			r->too_big = true;
		} else {
			r->counted += n;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (!r->decided) {
		r->decided = true;
		decide(m, r, conn, url, method);
		if (m->latency_ms > 0 && mock_timer_suspend(m->timer, conn, m->latency_ms))
			return MHD_YES; /* called again once resumed */
	}
	if (r->drop || !r->resp)
		return MHD_NO;
	ret = MHD_queue_response(conn, r->status, r->resp);
	MHD_destroy_response(r->resp);
	r->resp = NULL;
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	hf_mock *m = cls;
	mock_req *r = *con_cls;
	(void)conn;
	(void)toe;
	if (!r)
		return;
	atomic_fetch_sub(&m->body_bytes, r->counted);
	if (r->resp)
		MHD_destroy_response(r->resp);
	hf_buf_dispose(&r->body);
	free(r);
	*con_cls = NULL;
}

/* ---- lifecycle ---- */

/* Many concurrent connections need many descriptors: soft limit = hard. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int listen_socket(const char *host, unsigned short port, int *fd_out,
                         unsigned short *bound, hf_error *err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	bool v6 = strchr(host, ':') != NULL;
	int fd, one = 1, e;

	memset(&ss, 0, sizeof(ss));
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		inet_pton(AF_INET6, host, &a->sin6_addr);
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		inet_pton(AF_INET, host, &a->sin_addr);
		len = sizeof(*a);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return hf_err(err, HF_ENET, "cannot create a socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (v6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, LISTEN_BACKLOG)) {
		e = errno;
		close(fd);
		return hf_err(err, HF_ENET, "cannot listen on %s%s%s:%u: %s", v6 ? "[" : "", host,
		              v6 ? "]" : "", port, strerror(e));
	}
	len = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	*bound = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                  : ((struct sockaddr_in *)&ss)->sin_port);
	*fd_out = fd;
	return HF_OK;
}

int hf_mock_start(hf_mock **out, const hf_mock_options *opts, hf_error *err)
{
	static const hf_mock_options defaults = { 0 };
	const char *host;
	unsigned threads;
	hf_mock *m;
	int fd = -1, rc;
	bool v6;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	if (opts->version > HF_MOCK_OPTIONS_VERSION)
		return hf_err(err, HF_EINVAL,
		              "hf_mock_options version %u is newer than this library's %u",
		              opts->version, (unsigned)HF_MOCK_OPTIONS_VERSION);
	host = opts->host && *opts->host ? opts->host : "127.0.0.1";
	if (!strcmp(host, "localhost"))
		host = "127.0.0.1";
	if (strcmp(host, "127.0.0.1") && strcmp(host, "::1"))
		return hf_err(err, HF_EINVAL,
		              "the mock listens only on the loopback: its host must be 127.0.0.1 or ::1, "
		              "not '%.100s'",
		              host);
	if (opts->latency_ms < 0)
		return hf_err(err, HF_EINVAL, "the latency must be 0 or more milliseconds");
	v6 = strchr(host, ':') != NULL;
	raise_fd_limit();
	m = hf_calloc(1, sizeof(*m));
	if (!m)
		return hf_err(err, HF_ENOMEM, "out of memory starting the mock");
	m->latency_ms = opts->latency_ms;
	m->max_bodies = opts->version >= 2 && opts->max_bodies ? opts->max_bodies : MAX_BODIES;
	rc = mock_catalogue_load(&m->catalogue, opts->catalogue, err);
	if (!rc && opts->scenario)
		rc = mock_scenario_load(&m->scenario, opts->scenario, err);
	if (!rc)
		rc = mock_log_open(&m->log, opts->log_path, opts->log_memory, err);
	if (!rc && !(m->faults = mock_fault_counters_new()))
		rc = hf_err(err, HF_ENOMEM, "out of memory starting the mock");
	if (!rc && opts->require_key && !(m->require_key = hf_strdup(opts->require_key)))
		rc = hf_err(err, HF_ENOMEM, "out of memory starting the mock");
	if (!rc)
		rc = mock_timer_start(&m->timer, err);
	if (!rc)
		rc = listen_socket(host, opts->port, &fd, &m->port, err);
	if (rc) {
		hf_mock_stop(m);
		return rc;
	}
	threads = opts->threads;
	if (!threads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n > 0 ? (unsigned)n : 1;
	}
	m->daemon = MHD_start_daemon(
	        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
	                (v6 ? MHD_USE_IPv6 : 0),
	        0, NULL, NULL, on_request, m, MHD_OPTION_LISTEN_SOCKET, fd,
	        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT,
	        (unsigned)CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
	        MHD_OPTION_NOTIFY_COMPLETED, on_completed, m, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	        (size_t)CONNECTION_MEMORY, MHD_OPTION_END);
	if (!m->daemon) {
		unsigned port = m->port;
		if (fcntl(fd, F_GETFD) != -1)
			close(fd);
		hf_mock_stop(m);
		return hf_err(err, HF_ENET, "cannot start the HTTP server on %s port %u", host, port);
	}
	snprintf(m->url, sizeof(m->url), v6 ? "http://[%s]:%u" : "http://%s:%u", host, m->port);
	*out = m;
	return HF_OK;
}

unsigned short hf_mock_port(const hf_mock *m)
{
	return m->port;
}

const char *hf_mock_url(const hf_mock *m)
{
	return m->url;
}

void hf_mock_reset(hf_mock *m)
{
	mock_scenario_reset(m->scenario);
	mock_fault_counters_reset(m->faults);
	m->next_id = 0;
	m->next_call = 0;
}

void hf_mock_stop(hf_mock *m)
{
	if (!m)
		return;
	/* Suspended connections must be resumed before MHD stops; request
	 * threads may still reach the timer until MHD has stopped. */
	mock_timer_stop(m->timer);
	if (m->daemon)
		MHD_stop_daemon(m->daemon);
	mock_timer_free(m->timer);
	mock_fault_counters_free(m->faults);
	mock_log_close(m->log);
	mock_scenario_free(m->scenario);
	mock_catalogue_free(m->catalogue);
	free(m->require_key);
	free(m);
}

size_t hf_mock_log_count(hf_mock *m)
{
	return mock_log_count(m->log);
}

char *hf_mock_log_get(hf_mock *m, size_t i)
{
	return mock_log_get(m->log, i);
}

void hf_mock_log_clear(hf_mock *m)
{
	mock_log_clear(m->log);
}

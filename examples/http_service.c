/*
 * http_service.c - a small HTTP chat service on libmicrohttpd.
 *
 *   ./http_service [-p PORT] [-d DB] [GRAPH]       (PORT 0: any free port)
 *
 *   curl -s http://127.0.0.1:8080/chat -d '{"text":"Hola"}'
 *   {"session":"…","agent":"Spanish agent","text":"…"}
 *   curl -s http://127.0.0.1:8080/chat -d '{"session":"…","text":"¿Y mañana?"}'
 *
 * Conversations persist in a SQLite database (-d, else $HANDOFF_DB, else
 * the user's state directory); a request names its session, or gets a new
 * one. Listens on 127.0.0.1 only; SIGINT or SIGTERM stops it after the
 * turns in flight have been answered.
 *
 * Threads: libmicrohttpd's thread parses a request, loads its session,
 * submits the turn to the engine (hf_engine_submit is safe from any
 * thread) and suspends the connection. One engine thread runs every turn
 * (hf_engine_perform); when a turn completes it writes the reply and
 * resumes the connection. No thread waits for the model.
 */
#include <handoff.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BODY (64 * 1024)

typedef struct service {
	hf_graph *graph;
	hf_engine *engine;
	hf_store *http_store;   /* loads sessions, on the HTTP thread */
	hf_store *engine_store; /* commits turns, on the engine thread */
	pthread_mutex_t lock;   /* guards `closing` against hf_engine_free */
	bool closing;
	atomic_int stop;
} service;

/* One POST /chat, from its first byte to its reply. */
typedef struct request {
	struct MHD_Connection *conn;
	char body[MAX_BODY + 1];
	size_t len;
	bool too_big;
	hf_session *session;    /* owned by the turn while it runs */
	bool answered;          /* status and reply are set */
	unsigned status;
	char *reply;            /* owned JSON text (cJSON_free) */
} request;

/* {"error": message} (plus the session when known) as an owned string. */
static char *error_json(const char *session, const char *message)
{
	cJSON *o = cJSON_CreateObject();
	char *s;
	if (session)
		cJSON_AddStringToObject(o, "session", session);
	cJSON_AddStringToObject(o, "error", message);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, const char *json)
{
	struct MHD_Response *res = MHD_create_response_from_buffer(
		strlen(json), (void *)json, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result r;
	MHD_add_response_header(res, "Content-Type", "application/json");
	r = MHD_queue_response(conn, status, res);
	MHD_destroy_response(res);
	return r;
}

/* Keep an answer for the connection: status and an owned JSON text. */
static void answer(request *r, unsigned status, char *json)
{
	r->status = status;
	r->reply = json;
	r->answered = true;
}

/* Engine thread: a turn ended (exactly once). Reply and wake the connection. */
static void on_complete(const hf_completion *c, void *payload)
{
	request *r = c->payload;
	(void)payload;
	if (c->code == HF_OK) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "session", c->session_id);
		cJSON_AddStringToObject(o, "agent", c->agent);
		cJSON_AddStringToObject(o, "text", c->answer);
		answer(r, MHD_HTTP_OK, cJSON_PrintUnformatted(o));
		cJSON_Delete(o);
	} else {
		answer(r, c->code == HF_EINVAL        ? MHD_HTTP_BAD_REQUEST
		          : c->code == HF_ECONFLICT   ? MHD_HTTP_CONFLICT
		          : c->code == HF_ECANCELLED  ? MHD_HTTP_SERVICE_UNAVAILABLE
		                                      : MHD_HTTP_BAD_GATEWAY,
		       error_json(c->session_id, c->error->message));
	}
	hf_session_free(r->session); /* the turn is over: the session is ours again */
	r->session = NULL;
	MHD_resume_connection(r->conn);
}

/* HTTP thread: parse the request, load or create its session, submit the
 * turn. Returns true when the connection was suspended: it is resumed with
 * an answer. Returns false with an answer to send now. */
static bool start_turn(service *svc, request *r)
{
	cJSON *req = cJSON_ParseWithLength(r->body, r->len);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(req, "session");
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(req, "text");
	const char *sid = cJSON_IsString(id) ? id->valuestring : NULL;
	hf_run_options opts = HF_RUN_OPTIONS_INIT;
	bool suspended = false;
	hf_error err;
	int rc;

	if (!cJSON_IsString(text) || (id && !sid)) {
		answer(r, MHD_HTTP_BAD_REQUEST,
		       error_json(NULL, "expected {\"session\": optional string, \"text\": string}"));
		cJSON_Delete(req);
		return false;
	}
	if (!sid)
		rc = hf_session_new(&r->session, NULL, &err); /* a new conversation */
	else /* the stored conversation, or a new one with that id */
		rc = hf_store_open_session(&r->session, svc->http_store, sid, &err);
	opts.payload = r; /* comes back in hf_completion */
	pthread_mutex_lock(&svc->lock);
	if (!rc && svc->closing) {
		rc = HF_ECANCELLED;
		snprintf(err.message, sizeof(err.message), "the service is shutting down");
	}
	if (!rc) {
		/* Suspend first: the engine thread may answer at once. */
		MHD_suspend_connection(r->conn);
		suspended = true;
		rc = hf_engine_submit(NULL, svc->engine, svc->graph, r->session, svc->engine_store,
		                      text->valuestring, &opts, &err);
	}
	pthread_mutex_unlock(&svc->lock);
	if (rc) {
		hf_session_free(r->session);
		r->session = NULL;
		answer(r, rc == HF_EINVAL ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_SERVICE_UNAVAILABLE,
		       error_json(sid, err.message));
		if (suspended)
			MHD_resume_connection(r->conn);
	}
	cJSON_Delete(req);
	return suspended;
}

/* libmicrohttpd calls this several times per request: headers, body
 * pieces, end of body, and once more after a resume. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **state)
{
	service *svc = cls;
	request *r = *state;
	(void)version;

	if (!r) {
		if (strcmp(url, "/chat") || strcmp(method, "POST"))
			return send_json(conn, MHD_HTTP_NOT_FOUND, "{\"error\":\"POST /chat only\"}");
		if (!(r = calloc(1, sizeof(*r))))
			return MHD_NO;
		r->conn = conn;
		*state = r;
		return MHD_YES;
	}
	if (*upload_size) {
		if (r->len + *upload_size > MAX_BODY) {
			r->too_big = true;
		} else {
			memcpy(r->body + r->len, upload, *upload_size);
			r->len += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (!r->answered && r->too_big)
		answer(r, MHD_HTTP_CONTENT_TOO_LARGE, error_json(NULL, "the body is over 64 KiB"));
	if (!r->answered && start_turn(svc, r))
		return MHD_YES; /* suspended until on_complete */
	return send_json(conn, r->status, r->reply ? r->reply : "{\"error\":\"out of memory\"}");
}

static void on_request_done(void *cls, struct MHD_Connection *conn, void **state,
                            enum MHD_RequestTerminationCode why)
{
	request *r = *state;
	(void)cls, (void)conn, (void)why;
	if (r) {
		cJSON_free(r->reply);
		free(r);
	}
}

/* The engine thread: the only one that drives the engine. */
static void *engine_main(void *arg)
{
	service *svc = arg;
	hf_error err;
	int left = 0;
	while (!atomic_load(&svc->stop) || left > 0) {
		if ((left = hf_engine_perform(svc->engine, 1000, &err)) < 0) {
			fprintf(stderr, "http_service: %s\n", err.message);
			break;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *path = getenv("HANDOFF_GRAPH"), *db = NULL;
	hf_engine_options eo = HF_ENGINE_OPTIONS_INIT;
	service svc = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct sockaddr_in addr = { .sin_family = AF_INET };
	struct MHD_Daemon *httpd = NULL;
	pthread_t engine_thread;
	sigset_t sigs;
	hf_error err;
	int rc, i, sig;
	long port = 8080;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-p") && i + 1 < argc)
			port = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "-d") && i + 1 < argc)
			db = argv[++i];
		else
			path = argv[i];
	}
	/* Signals are taken by sigwait below; threads started later inherit the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	rc = hf_global_init(&err);
	if (!rc)
		rc = hf_graph_load(&svc.graph, path ? path : "agents", NULL, &err);
	if (!rc)
		rc = hf_store_open_sqlite(&svc.http_store, db, &err);
	if (!rc)
		rc = hf_store_open_sqlite(&svc.engine_store, db, &err);
	if (!rc) {
		eo.graph = svc.graph;
		eo.on_complete = on_complete;
		rc = hf_engine_new(&svc.engine, &eo, &err);
	}
	if (rc) {
		fprintf(stderr, "http_service: %s\n", err.message);
		return 1;
	}
	pthread_create(&engine_thread, NULL, engine_main, &svc);

	addr.sin_port = htons((unsigned short)port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	httpd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
	                         MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
	                         0, NULL, NULL, on_request, &svc,
	                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
	                         MHD_OPTION_NOTIFY_COMPLETED, on_request_done, &svc,
	                         MHD_OPTION_END);
	if (httpd) {
		printf("listening on http://127.0.0.1:%u/chat\n",
		       MHD_get_daemon_info(httpd, MHD_DAEMON_INFO_BIND_PORT)->port);
		fflush(stdout);
		sigwait(&sigs, &sig);
	} else {
		fprintf(stderr, "http_service: cannot listen on 127.0.0.1:%ld\n", port);
	}

	/* Stop taking turns, let the engine answer those in flight, then stop. */
	pthread_mutex_lock(&svc.lock);
	svc.closing = true;
	pthread_mutex_unlock(&svc.lock);
	atomic_store(&svc.stop, 1);
	hf_engine_wakeup(svc.engine);
	pthread_join(engine_thread, NULL);
	if (httpd)
		MHD_stop_daemon(httpd);
	hf_engine_free(svc.engine);
	hf_store_free(svc.engine_store);
	hf_store_free(svc.http_store);
	hf_graph_free(svc.graph);
	hf_global_cleanup();
	return httpd ? 0 : 1;
}

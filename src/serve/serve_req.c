/*
 * serve_req.c - the answer functions of serve.h (serve_reply_*,
 * serve_stream_*, serve_req_*): a request's response state under its lock,
 * callable from any thread; the connection is resumed as an answer or
 * stream bytes arrive. MHD's side of a request is in serve_http.c.
 */
#include "serve_req.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

void serve_req_unref(serve_req *r)
{
	size_t i;
	if (atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	for (i = 0; i < r->nhdrs; i++) {
		free(r->hdrs[i].name);
		free(r->hdrs[i].value);
	}
	free(r->hdrs);
	free(r->whole);
	free(r->out);
	free(r->body);
	free(r->method);
	free(r->path);
	free(r->session);
	free(r->model);
	free(r->agent_path);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* With r->lock held: watch the socket while the connection is suspended. */
static void watch_fd(serve_req *r)
{
	struct epoll_event ev;
	if (r->fd < 0 || r->ep < 0)
		return;
	ev.events = EPOLLRDHUP | EPOLLONESHOT;
	ev.data.u64 = r->serial;
	if (epoll_ctl(r->ep, r->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, r->fd, &ev) == 0)
		r->watched = true;
}

/* With r->lock held: suspend (MHD's thread only, in a callback). */
void serve_req_suspend(serve_req *r)
{
	r->suspended = true;
	watch_fd(r);
	MHD_suspend_connection(r->conn);
}

/* With r->lock held: resume when suspended (any thread). A suspended
 * connection cannot complete, so conn is valid here. */
void serve_req_wake(serve_req *r)
{
	if (!r->suspended)
		return;
	r->suspended = false;
	MHD_resume_connection(r->conn);
}

/* Take the abort callback once, if the request is gone before it ended. */
void serve_req_take_abort(serve_req *r, void (**fn)(void *), void **payload)
{
	*fn = NULL;
	if (r->gone && !r->ended && !r->aborted && r->abort_fn) {
		r->aborted = true;
		*fn = r->abort_fn;
		*payload = r->abort_payload;
	}
}

/* ---- the answer functions of serve.h ---- */

/* With r->lock held: append stream bytes. */
static void out_append(serve_req *r, const char *data, size_t len)
{
	if (r->off && r->off == r->len)
		r->off = r->len = 0;
	if (r->len + len > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		char *t;
		while (cap < r->len + len)
			cap *= 2;
		if (!(t = realloc(r->out, cap))) {
			r->gone = true; /* cut the stream rather than send half a chunk */
			return;
		}
		r->out = t;
		r->cap = cap;
	}
	memcpy(r->out + r->len, data, len);
	r->len += len;
}

/* With r->lock held: set a whole response (text taken over). */
void serve_req_set_whole(serve_req *r, int status, char *text, const char *ctype)
{
	free(r->whole);
	r->status = status;
	r->whole = text;
	r->whole_len = text ? strlen(text) : 0;
	r->ctype = ctype;
	r->ready = true;
}

static char *error_body(const char *type, const char *param, const char *code,
                        const char *message)
{
	cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
	char *text;
	cJSON_AddStringToObject(e, "message", message ? message : "");
	cJSON_AddStringToObject(e, "type", type ? type : "server_error");
	if (param)
		cJSON_AddStringToObject(e, "param", param);
	else
		cJSON_AddNullToObject(e, "param");
	if (code)
		cJSON_AddStringToObject(e, "code", code);
	else
		cJSON_AddNullToObject(e, "code");
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return text;
}

/* With r->lock held: add a header to the response (copied). */
void serve_req_add_header(serve_req *r, const char *name, const char *value)
{
	header *h = realloc(r->hdrs, (r->nhdrs + 1) * sizeof(*h));
	if (!h)
		return;
	r->hdrs = h;
	h[r->nhdrs].name = strdup(name);
	h[r->nhdrs].value = strdup(value);
	if (h[r->nhdrs].name && h[r->nhdrs].value)
		r->nhdrs++;
	else {
		free(h[r->nhdrs].name);
		free(h[r->nhdrs].value);
	}
}

/* With r->lock held: the error answer, or (a stream already begun) an
 * error chunk that ends it. */
void serve_req_set_error(serve_req *r, int status, const char *type, const char *param,
                      const char *code, const char *message, int retry_after_s)
{
	char *body = error_body(type, param, code, message);
	if (r->stream) {
		if (body) {
			out_append(r, "data: ", 6);
			out_append(r, body, strlen(body));
			out_append(r, "\n\n", 2);
		}
		free(body);
		return;
	}
	if (status == 429 && retry_after_s > 0) {
		char v[24];
		snprintf(v, sizeof(v), "%d", retry_after_s);
		serve_req_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, v);
	}
	serve_req_set_whole(r, status, body, "application/json");
}

/* Ends the request for the handler: wake the connection, drop its ref. */
static void handler_end(serve_req *r)
{
	void (*fn)(void *);
	void *payload = NULL;
	r->ended = true;
	if (r->conn)
		serve_req_wake(r);
	serve_req_take_abort(r, &fn, &payload);
	pthread_mutex_unlock(&r->lock);
	serve_req_unref(r);
}

void serve_reply_error(serve_req *r, int status, const char *type, const char *param,
                       const char *code, const char *message, int retry_after_s)
{
	pthread_mutex_lock(&r->lock);
	if (!r->ended)
		serve_req_set_error(r, status, type, param, code, message, retry_after_s);
	handler_end(r);
}

void serve_reply_json(serve_req *r, int status, char *json)
{
	pthread_mutex_lock(&r->lock);
	if (!r->ended && !r->stream)
		serve_req_set_whole(r, status, json, "application/json");
	else
		free(json);
	handler_end(r);
}

void serve_stream_begin(serve_req *r)
{
	pthread_mutex_lock(&r->lock);
	if (!r->ready && !r->ended) {
		r->stream = true;
		r->status = 200;
		r->ready = true;
		if (r->conn)
			serve_req_wake(r);
	}
	pthread_mutex_unlock(&r->lock);
}

void serve_stream_write(serve_req *r, const char *data, size_t len)
{
	pthread_mutex_lock(&r->lock);
	if (r->stream && !r->ended && !r->gone) {
		out_append(r, data, len);
		if (r->conn)
			serve_req_wake(r);
	}
	pthread_mutex_unlock(&r->lock);
}

void serve_stream_end(serve_req *r)
{
	pthread_mutex_lock(&r->lock);
	if (!r->ready) { /* never begun: an empty stream */
		r->stream = true;
		r->status = 200;
		r->ready = true;
	}
	handler_end(r);
}

void serve_req_header(serve_req *r, const char *name, const char *value)
{
	pthread_mutex_lock(&r->lock);
	if (!r->queued)
		serve_req_add_header(r, name, value);
	pthread_mutex_unlock(&r->lock);
}

const char *serve_req_body(const serve_req *r, size_t *len)
{
	if (len)
		*len = r->body_len;
	return r->body ? r->body : "";
}

const char *serve_req_header_in(const serve_req *r, const char *name)
{
	return r->conn ? MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name) : NULL;
}

const char *serve_req_id(const serve_req *r)
{
	return r->id;
}

void serve_req_on_abort(serve_req *r, void (*fn)(void *payload), void *payload)
{
	void (*call)(void *) = NULL;
	void *p = NULL;
	pthread_mutex_lock(&r->lock);
	r->abort_fn = fn;
	r->abort_payload = payload;
	serve_req_take_abort(r, &call, &p);
	pthread_mutex_unlock(&r->lock);
	if (call)
		call(p);
}

static void set_str(char **dst, const char *v)
{
	if (!v)
		return;
	free(*dst);
	*dst = strdup(v);
}

void serve_req_log(serve_req *r, const char *session, const char *model, const char *agent_path,
                   const hf_usage *usage)
{
	pthread_mutex_lock(&r->lock);
	set_str(&r->session, session);
	set_str(&r->model, model);
	set_str(&r->agent_path, agent_path);
	if (usage) {
		r->usage = *usage;
		r->have_usage = true;
	}
	pthread_mutex_unlock(&r->lock);
}


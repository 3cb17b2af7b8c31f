/*
 * serve_req.h - a request of handoff serve as serve_http.c (MHD's side)
 * and serve_req.c (the answer functions of serve.h, any thread) share it.
 * Private to those two files.
 */
#ifndef HF_SERVE_REQ_H
#define HF_SERVE_REQ_H

#include "serve.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

typedef struct header {
	char *name, *value;
} header;

struct serve_req {
	serve_server *s;        /* serve_http.c's */
	int ep;                 /* the watchdog's epoll set, -1: none */
	struct MHD_Connection *conn; /* NULL once the request completed */
	pthread_mutex_t lock;
	atomic_int refs;
	serve_req *prev, *next; /* the server's live requests */
	uint64_t serial;        /* the watchdog's name for it */
	int fd;
	bool watched;           /* fd is in the watchdog's epoll set */
	char id[33];
	char *method, *path;
	struct timespec t0;
	/* the request body (chat only) */
	bool chat, dispatched, too_big;
	char *body;
	size_t body_len, body_cap;
	/* the response */
	int status;
	bool ready, queued, ended, stream, suspended, gone, aborted;
	char *whole;
	size_t whole_len;
	const char *ctype;
	header *hdrs;
	size_t nhdrs;
	char *out; /* stream bytes not yet sent: out[off, len) */
	size_t off, len, cap;
	void (*abort_fn)(void *payload);
	void *abort_payload;
	/* access log */
	char *session, *model, *agent_path;
	hf_usage usage;
	bool have_usage;
};

/* Drop a reference; the last frees the request. */
void serve_req_unref(serve_req *r);
/* The functions below are called with r->lock held. */
/* Suspend the connection (MHD's thread, in a callback) and watch its
 * socket for the peer hanging up. */
void serve_req_suspend(serve_req *r);
/* Resume the connection when suspended (any thread). */
void serve_req_wake(serve_req *r);
/* Take the abort callback once, when the request is gone before it ended. */
void serve_req_take_abort(serve_req *r, void (**fn)(void *), void **payload);
/* A whole response (text taken over). */
void serve_req_set_whole(serve_req *r, int status, char *text, const char *ctype);
/* An OpenAI error answer, or (a stream already begun) an error chunk. */
void serve_req_set_error(serve_req *r, int status, const char *type, const char *param,
                         const char *code, const char *message, int retry_after_s);
/* A response header (copied). */
void serve_req_add_header(serve_req *r, const char *name, const char *value);

#endif

/*
 * engine.c - many turns in flight on one thread (see "Engine" in handoff.h).
 *
 * The engine is only a driver: like hf_run, it moves HTTP between
 * hf_turn_request and hf_turn_apply (runner.c holds every routing rule),
 * with one curl multi handle instead of one blocking easy handle:
 *
 *   submit (any thread) ─► queue ─► driving thread: hf_turn_new
 *     ─► hf_turn_request ─► hf_call_new ─► hf_call_setup(easy) ─► multi
 *     ─► transfer done ─► hf_call_finish ─┬─ RETRY: wait (retry list), again
 *                                          └─ DONE: hf_call_reply
 *     ─► hf_turn_apply ─┬─ NEXT: hf_turn_request again
 *                       └─ DONE / error: on_complete, exactly once
 *
 * A turn holds an easy handle only while its transfer is in the multi;
 * idle handles are pooled (the connections live in the multi's cache, so
 * conversations to one endpoint share them).
 */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EASY_POOL_MAX 4096   /* idle easy handles kept for reuse */
#define NO_DEADLINE (-1LL)

typedef struct eng_turn eng_turn;

/* Intrusive doubly-linked lists of turns; `off` is where the list's link
 * sits in eng_turn. */
typedef struct eng_link {
	eng_turn *prev, *next;
} eng_link;

typedef struct eng_list {
	eng_turn *head, *tail;
	size_t n;
	size_t off;
} eng_list;

struct eng_turn {
	uint64_t id;
	const hf_graph *g;
	hf_session *s;
	hf_store *st;
	char *input;             /* until the turn starts */
	hf_run_options opts;     /* the caller's (on_event, payload) */
	hf_turn *turn;           /* NULL until started */
	hf_call *call;           /* the model call in progress */
	CURL *easy;              /* while the call's transfer is in the multi */
	const char *agent;       /* in charge (borrowed from the graph) */
	hf_usage usage;          /* from DONE */
	long long retry_at;      /* monotonic ms, while waiting to retry */
	eng_link at;             /* in e->unstarted or e->turns; .next: submission queue */
	eng_link slot;           /* in e->waiting */
	eng_turn *rnext;         /* the retry list, by retry_at */
	int socks[4];            /* loop mode: sockets opened for the transfer in the multi */
	int nsocks;
	bool unstarted;          /* in e->unstarted */
	bool waiting;            /* in e->waiting */
};

/* A cancel request from hf_engine_cancel, queued for the driving thread. */
typedef struct eng_cancel {
	uint64_t id;
	struct eng_cancel *next;
} eng_cancel;

struct hf_engine {
	hf_endpoint ep;
	hf_engine_options opts;
	CURLM *multi;
	bool loop_mode;          /* socket_fn + timer_fn */

	/* Shared with submitting threads (lock). */
	pthread_mutex_t lock;
	eng_turn *q_head, *q_tail;
	size_t queued;
	eng_cancel *cancels;
	uint64_t last_id;
	bool wake_pending;       /* a wake-up was sent and not drained yet */

	/* Driving thread only. */
	eng_list unstarted;      /* waiting for a slot to start (max_requests) */
	eng_list turns;          /* started, not completed */
	eng_list waiting;        /* calls of started turns waiting for a slot */
	eng_turn *retries;       /* waiting to retry, earliest first */
	size_t in_flight;        /* transfers in the multi */
	CURL **pool;
	size_t npool;
	int wake_rd, wake_wr;    /* loop mode: the wake-up pipe */
	CURL **watched;          /* loop mode: watched[fd]: the transfer last using fd,
	                          * while socket_fn watches it; else NULL */
	size_t nwatched;
	long long curl_due;      /* loop mode: libcurl's next timeout */
	long long armed;         /* loop mode: the deadline given to timer_fn */
	bool timer_armed;
};

static int multi_error(hf_error *err, CURLMcode mc, const char *what)
{
	return hf_err(err, mc == CURLM_OUT_OF_MEMORY ? HF_ENOMEM : HF_ENET,
	              "libcurl failed to %s: %s", what, curl_multi_strerror(mc));
}

/* ---- easy handle pool ---- */

/* A pooled handle, or a new one prepared for the engine's endpoint. */
static CURL *easy_get(hf_engine *e)
{
	CURL *easy;
	if (e->npool)
		return e->pool[--e->npool];
	if ((easy = curl_easy_init()) && hf_easy_prepare(easy, &e->ep, NULL)) {
		curl_easy_cleanup(easy);
		easy = NULL;
	}
	return easy;
}

static void easy_put(hf_engine *e, CURL *easy)
{
	if (e->npool < EASY_POOL_MAX && e->pool)
		e->pool[e->npool++] = easy;
	else
		curl_easy_cleanup(easy);
}

/* ---- loop mode: the sockets the application watches ---- */

/*
 * Sockets in loop mode. The application hears HF_POLL_REMOVE only while a
 * socket is still open. libcurl 7.88 closes a socket that is still
 * connecting without telling (a transfer removed before it connected), and
 * reports its removal afterwards, when the descriptor may already belong to
 * something else. So the engine keeps which descriptors the application
 * watches (and for which transfer) and which sockets the transfer in flight
 * opened: before it removes a transfer still connecting it removes those
 * sockets itself, and it drops libcurl's reports for descriptors nobody
 * watches.
 */
static CURL *watcher(const hf_engine *e, int fd)
{
	return fd >= 0 && (size_t)fd < e->nwatched ? e->watched[fd] : NULL;
}

static int watch(hf_engine *e, int fd, CURL *easy)
{
	if ((size_t)fd >= e->nwatched) {
		size_t n = e->nwatched ? e->nwatched : 64, i;
		CURL **w;
		while (n <= (size_t)fd)
			n *= 2;
		if (!(w = hf_realloc(e->watched, n * sizeof(*w))))
			return -1;
		for (i = e->nwatched; i < n; i++)
			w[i] = NULL;
		e->watched = w;
		e->nwatched = n;
	}
	e->watched[fd] = easy;
	return 0;
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	hf_engine *e = userp;
	int hw = ((what & CURL_POLL_IN) ? HF_POLL_IN : 0) | ((what & CURL_POLL_OUT) ? HF_POLL_OUT : 0);
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		if (!watcher(e, (int)fd))
			return 0;
		e->watched[fd] = NULL;
		hw = HF_POLL_REMOVE;
	} else if (watch(e, (int)fd, easy)) {
		return -1;
	}
	return e->opts.socket_fn((int)fd, hw, e->opts.loop_payload) ? -1 : 0;
}

/* CURLOPT_OPENSOCKETFUNCTION: libcurl's own socket(), noting the socket. */
static curl_socket_t open_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	eng_turn *et = clientp;
	int fd = socket(a->family, a->socktype, a->protocol);
	(void)purpose;
	if (fd >= 0 && et->nsocks < (int)HF_ARRAY_LEN(et->socks))
		et->socks[et->nsocks++] = fd;
	return fd < 0 ? CURL_SOCKET_BAD : fd;
}

/* Before a transfer still connecting leaves the multi (which closes its
 * sockets unannounced): remove the sockets it opened and still uses from
 * the application's loop while they are open. A connected transfer's
 * socket is left to libcurl, which announces its close, or keeps it for
 * the other transfers of the connection (HTTP/2). */
static void unwatch_opened(hf_engine *e, eng_turn *et)
{
	curl_off_t connected = 0;
	int i;
	curl_easy_getinfo(et->easy, CURLINFO_CONNECT_TIME_T, &connected);
	for (i = 0; !connected && i < et->nsocks; i++)
		if (watcher(e, et->socks[i]) == et->easy) {
			e->watched[et->socks[i]] = NULL;
			e->opts.socket_fn(et->socks[i], HF_POLL_REMOVE, e->opts.loop_payload);
		}
}

/* ---- the turn's view of events ---- */

/* Forwards every event to the caller, noting the agent in charge (for
 * completions and error messages) and the turn's usage. */
static int on_event(const hf_event *ev, void *payload)
{
	eng_turn *et = payload;
	if (ev->type == HF_EVENT_AGENT && ev->to)
		et->agent = ev->to;
	else if (ev->type == HF_EVENT_DONE)
		et->usage = ev->usage;
	return et->opts.on_event ? et->opts.on_event(ev, et->opts.payload) : 0;
}

/* ---- completion ---- */

static eng_link *link_of(const eng_list *l, eng_turn *et)
{
	return (eng_link *)(void *)((char *)et + l->off);
}

static void list_push(eng_list *l, eng_turn *et)
{
	eng_link *k = link_of(l, et);
	k->prev = l->tail;
	k->next = NULL;
	if (l->tail)
		link_of(l, l->tail)->next = et;
	else
		l->head = et;
	l->tail = et;
	l->n++;
}

static void list_remove(eng_list *l, eng_turn *et)
{
	eng_link *k = link_of(l, et);
	if (k->prev)
		link_of(l, k->prev)->next = k->next;
	else
		l->head = k->next;
	if (k->next)
		link_of(l, k->next)->prev = k->prev;
	else
		l->tail = k->prev;
	k->prev = k->next = NULL;
	l->n--;
}

static void unlink_retry(hf_engine *e, eng_turn *et)
{
	eng_turn **pp;
	for (pp = &e->retries; *pp; pp = &(*pp)->rnext) {
		if (*pp == et) {
			*pp = et->rnext;
			et->rnext = NULL;
			return;
		}
	}
}

/* Report a turn's end once, then free it. A started turn that failed
 * outside hf_turn_apply gets its ERROR event first (hf_turn_fail reports
 * nothing twice). */
static void complete(hf_engine *e, eng_turn *et, int code, const hf_error *err)
{
	hf_completion c = { .turn_id = et->id, .code = code, .agent = et->agent,
		            .session_id = hf_session_id(et->s), .payload = et->opts.payload };
	if (et->turn && code < 0)
		hf_turn_fail(et->turn, err);
	if (code == HF_OK) {
		c.answer = hf_turn_answer(et->turn);
		c.usage = et->usage;
	} else {
		c.error = err;
	}
	if (et->easy) {
		unwatch_opened(e, et);
		curl_multi_remove_handle(e->multi, et->easy);
		easy_put(e, et->easy);
		e->in_flight--;
	}
	if (et->waiting)
		list_remove(&e->waiting, et);
	if (et->retry_at)
		unlink_retry(e, et);
	if (et->turn)
		list_remove(&e->turns, et);
	else if (et->unstarted)
		list_remove(&e->unstarted, et);
	if (e->opts.on_complete)
		e->opts.on_complete(&c, e->opts.payload);
	hf_call_free(et->call);
	hf_turn_free(et->turn);
	free(et->input);
	free(et);
}

/* ---- moving a turn on ---- */

/* Put the call's next attempt on an easy handle into the multi. */
static int start_transfer(hf_engine *e, eng_turn *et, hf_error *err)
{
	CURL *easy = easy_get(e);
	CURLMcode mc;
	int rc;
	if (!easy)
		return hf_err(err, HF_ENOMEM, "out of memory creating a transfer");
	if ((rc = hf_call_setup(et->call, easy, err))) {
		easy_put(e, easy);
		return rc;
	}
	curl_easy_setopt(easy, CURLOPT_PRIVATE, et);
	et->nsocks = 0;
	if (e->loop_mode) {
		curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_cb);
		curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, et);
	}
	if ((mc = curl_multi_add_handle(e->multi, easy)) != CURLM_OK) {
		easy_put(e, easy);
		return multi_error(err, mc, "add a transfer");
	}
	et->easy = easy;
	e->in_flight++;
	return HF_OK;
}

/* Whether max_requests allows one more transfer. */
static bool has_slot(const hf_engine *e)
{
	return !e->opts.max_requests || e->in_flight < (size_t)e->opts.max_requests;
}

/* Start the attempt now, or, at max_requests, when a slot frees (in order). */
static int start_attempt(hf_engine *e, eng_turn *et, hf_error *err)
{
	if (has_slot(e))
		return start_transfer(e, et, err);
	et->waiting = true;
	list_push(&e->waiting, et);
	return HF_OK;
}

/* The turn's next model call. */
static int next_request(hf_engine *e, eng_turn *et, hf_error *err)
{
	hf_call_spec spec;
	int rc;
	if ((rc = hf_turn_request(et->turn, &spec, err)))
		return rc;
	if ((rc = hf_call_new(&et->call, &e->ep, &spec, err)))
		return rc;
	return start_attempt(e, et, err);
}

static void start_turn(hf_engine *e, eng_turn *et)
{
	hf_run_options o = et->opts;
	hf_error err;
	int rc;

	o.on_event = on_event;
	o.payload = et;
	rc = hf_turn_new(&et->turn, et->g, et->s, et->st, et->input, &o, &e->ep, &err);
	free(et->input);
	et->input = NULL;
	if (!rc) {
		list_push(&e->turns, et);
		rc = next_request(e, et, &err);
	}
	if (rc)
		complete(e, et, rc, &err);
}

/* Give free slots to the calls of turns under way first, then start the
 * turns waiting to begin, in the order they were submitted. Starting a
 * turn only when it can send at once keeps a burst of submissions cheap:
 * a turn not started holds little more than its input. */
static void start_waiting(hf_engine *e)
{
	while (e->waiting.head && has_slot(e)) {
		eng_turn *et = e->waiting.head;
		hf_error err;
		int rc;
		list_remove(&e->waiting, et);
		et->waiting = false;
		if ((rc = start_transfer(e, et, &err)))
			complete(e, et, rc, &err);
	}
	while (e->unstarted.head && has_slot(e)) {
		eng_turn *et = e->unstarted.head;
		list_remove(&e->unstarted, et);
		et->unstarted = false;
		start_turn(e, et);
	}
}

static void schedule_retry(hf_engine *e, eng_turn *et, long delay_ms)
{
	eng_turn **pp = &e->retries;
	et->retry_at = hf_now_ms() + (delay_ms > 0 ? delay_ms : 0);
	while (*pp && (*pp)->retry_at <= et->retry_at)
		pp = &(*pp)->rnext;
	et->rnext = *pp;
	*pp = et;
}

/* A transfer ended: retry, or hand the reply to the turn. */
static void transfer_done(hf_engine *e, eng_turn *et, CURLcode result)
{
	hf_reply reply = { 0 };
	hf_error err;
	long delay = 0;
	int rc;

	curl_multi_remove_handle(e->multi, et->easy);
	rc = hf_call_finish(et->call, et->easy, result, &delay, &err);
	easy_put(e, et->easy);
	et->easy = NULL;
	e->in_flight--;
	if (rc == HF_CALL_RETRY) {
		schedule_retry(e, et, delay);
		return;
	}
	if (rc == HF_CALL_DONE)
		rc = hf_call_reply(et->call, &reply, &err);
	hf_call_free(et->call);
	et->call = NULL;
	if (rc) {
		hf_turn_blame(et->turn, &err);
		complete(e, et, rc, &err);
		return;
	}
	rc = hf_turn_apply(et->turn, &reply, &err);
	if (rc == HF_TURN_NEXT && !(rc = next_request(e, et, &err)))
		return;
	complete(e, et, rc, &err);
}

/* Every finished transfer libcurl reports. */
static void read_done(hf_engine *e)
{
	struct { eng_turn *et; CURLcode result; } done[256];
	size_t n, i;
	do {
		/* Take a batch first: libcurl looks through its unread messages
		 * each time a handle is removed. */
		CURLMsg *m;
		int left;
		for (n = 0; n < HF_ARRAY_LEN(done) && (m = curl_multi_info_read(e->multi, &left));) {
			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&done[n].et);
			done[n++].result = m->data.result;
		}
		for (i = 0; i < n; i++)
			transfer_done(e, done[i].et, done[i].result);
	} while (n == HF_ARRAY_LEN(done));
	start_waiting(e);
}

/* Start the attempts whose back-off is over. */
static void run_retries(hf_engine *e)
{
	long long now = hf_now_ms();
	while (e->retries && e->retries->retry_at <= now) {
		eng_turn *et = e->retries;
		hf_error err;
		int rc;
		e->retries = et->rnext;
		et->rnext = NULL;
		et->retry_at = 0;
		if ((rc = start_attempt(e, et, &err)))
			complete(e, et, rc, &err);
	}
}

static eng_turn *find_turn(hf_engine *e, uint64_t id)
{
	eng_turn *et;
	for (et = e->turns.head; et; et = et->at.next)
		if (et->id == id)
			return et;
	for (et = e->unstarted.head; et; et = et->at.next)
		if (et->id == id)
			return et;
	return NULL;
}

/* Take what other threads queued: start new turns, then apply cancels. */
static void drain_queue(hf_engine *e)
{
	eng_turn *q;
	eng_cancel *c;

	pthread_mutex_lock(&e->lock);
	q = e->q_head;
	c = e->cancels;
	e->q_head = e->q_tail = NULL;
	e->cancels = NULL;
	e->queued = 0;
	e->wake_pending = false;
	pthread_mutex_unlock(&e->lock);
	while (q) { /* to the end of the turns waiting to start */
		eng_turn *et = q;
		q = q->at.next;
		et->unstarted = true;
		list_push(&e->unstarted, et);
	}
	while (c) {
		eng_cancel *next = c->next;
		eng_turn *et = find_turn(e, c->id);
		if (et) {
			hf_error err;
			hf_err(&err, HF_ECANCELLED, "turn %llu cancelled (hf_engine_cancel)",
			       (unsigned long long)c->id);
			complete(e, et, HF_ECANCELLED, &err);
		}
		free(c);
		c = next;
	}
	start_waiting(e);
}

static int running(hf_engine *e)
{
	size_t n;
	pthread_mutex_lock(&e->lock);
	n = e->queued;
	pthread_mutex_unlock(&e->lock);
	n += e->turns.n + e->unstarted.n;
	return n > (size_t)INT32_MAX ? INT32_MAX : (int)n;
}

/* ---- loop mode: libcurl's sockets and timer, plus ours ---- */


/* Tell the application the earliest of libcurl's timeout and the next
 * retry, when it changed or the last one fired. */
static void update_timer(hf_engine *e)
{
	long long due = e->curl_due, now;
	if (e->retries && (due == NO_DEADLINE || e->retries->retry_at < due))
		due = e->retries->retry_at;
	if (due == NO_DEADLINE ? !e->timer_armed : (e->timer_armed && due == e->armed))
		return;
	e->armed = due;
	e->timer_armed = due != NO_DEADLINE;
	if (due == NO_DEADLINE) {
		e->opts.timer_fn(-1, e->opts.loop_payload);
		return;
	}
	now = hf_now_ms();
	e->opts.timer_fn(due > now ? (long)(due - now) : 0, e->opts.loop_payload);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	hf_engine *e = userp;
	(void)multi;
	e->curl_due = timeout_ms < 0 ? NO_DEADLINE : hf_now_ms() + timeout_ms;
	update_timer(e);
	return 0;
}

/* After an action: libcurl's own view of its next timeout is the truth
 * (a timer that fired early must be asked for again). */
static int loop_finish(hf_engine *e)
{
	long ms = -1;
	read_done(e);
	run_retries(e);
	curl_multi_timeout(e->multi, &ms);
	e->curl_due = ms < 0 ? NO_DEADLINE : hf_now_ms() + ms;
	update_timer(e);
	return running(e);
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	       fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ? -1 : 0;
}

static int loop_setup(hf_engine *e, hf_error *err)
{
	int fds[2];
	if (pipe(fds))
		return hf_err(err, HF_ENET, "cannot create the engine's wake-up pipe: %s",
		              strerror(errno));
	e->wake_rd = fds[0];
	e->wake_wr = fds[1];
	if (set_nonblock(fds[0]) || set_nonblock(fds[1]))
		return hf_err(err, HF_ENET, "cannot set up the engine's wake-up pipe: %s",
		              strerror(errno));
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
	if (e->opts.socket_fn(e->wake_rd, HF_POLL_IN, e->opts.loop_payload))
		return hf_err(err, HF_EINVAL, "socket_fn refused the engine's wake-up descriptor");
	return HF_OK;
}

/* ---- public API ---- */

int hf_engine_new(hf_engine **out, const hf_engine_options *opts, hf_error *err)
{
	hf_engine_options defaults = HF_ENGINE_OPTIONS_INIT;
	hf_engine *e;
	int rc;

	*out = NULL;
	if (opts && opts->version != HF_ENGINE_OPTIONS_VERSION)
		return hf_err(err, HF_EINVAL, "hf_engine_options version %u is not supported (expected %u)",
		              opts->version, HF_ENGINE_OPTIONS_VERSION);
	if (!opts)
		opts = &defaults;
	if (!opts->socket_fn != !opts->timer_fn)
		return hf_err(err, HF_EINVAL,
		              "hf_engine_options: set both socket_fn and timer_fn (loop mode) or neither");
	if (opts->max_connections < 0 || opts->max_host_connections < 0 || opts->max_requests < 0)
		return hf_err(err, HF_EINVAL,
		              "hf_engine_options: max_connections, max_host_connections and "
		              "max_requests must be >= 0");
	if (!(e = hf_calloc(1, sizeof(*e))))
		return hf_err(err, HF_ENOMEM, "out of memory creating an engine");
	e->opts = *opts;
	e->opts.client = NULL;
	e->opts.graph = NULL;
	e->loop_mode = opts->socket_fn != NULL;
	e->unstarted.off = e->turns.off = offsetof(eng_turn, at);
	e->waiting.off = offsetof(eng_turn, slot);
	e->wake_rd = e->wake_wr = -1;
	e->curl_due = e->armed = NO_DEADLINE;
	pthread_mutex_init(&e->lock, NULL);
	if ((rc = hf_endpoint_resolve(&e->ep, opts->client, opts->graph, err))) {
		pthread_mutex_destroy(&e->lock);
		free(e);
		return rc;
	}
	e->pool = hf_malloc(EASY_POOL_MAX * sizeof(*e->pool));
	e->multi = curl_multi_init();
	if (!e->pool || !e->multi) {
		hf_engine_free(e);
		return hf_err(err, HF_ENOMEM, "out of memory creating an engine");
	}
	curl_multi_setopt(e->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, opts->max_connections);
	curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS, opts->max_host_connections);
	if (e->loop_mode && (rc = loop_setup(e, err))) {
		hf_engine_free(e);
		return rc;
	}
	*out = e;
	return HF_OK;
}

void hf_engine_free(hf_engine *e)
{
	hf_error err;
	size_t i;

	if (!e)
		return;
	if (e->multi) {
		/* Queued turns never started: they complete without events. */
		eng_turn *q = e->q_head;
		e->q_head = e->q_tail = NULL;
		e->queued = 0;
		hf_err(&err, HF_ECANCELLED, "the engine was freed before the turn finished");
		while (q) {
			eng_turn *next = q->at.next;
			complete(e, q, HF_ECANCELLED, &err);
			q = next;
		}
		while (e->unstarted.head)
			complete(e, e->unstarted.head, HF_ECANCELLED, &err);
		while (e->turns.head)
			complete(e, e->turns.head, HF_ECANCELLED, &err);
	}
	while (e->cancels) {
		eng_cancel *next = e->cancels->next;
		free(e->cancels);
		e->cancels = next;
	}
	for (i = 0; i < e->npool; i++)
		curl_easy_cleanup(e->pool[i]);
	free(e->pool);
	if (e->loop_mode && e->wake_rd >= 0)
		e->opts.socket_fn(e->wake_rd, HF_POLL_REMOVE, e->opts.loop_payload);
	if (e->multi)
		curl_multi_cleanup(e->multi);
	if (e->wake_rd >= 0)
		close(e->wake_rd);
	if (e->wake_wr >= 0)
		close(e->wake_wr);
	free(e->watched);
	hf_endpoint_dispose(&e->ep);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

/* With e->lock held, after queueing work for the driving thread: release
 * the lock and wake the driving thread, unless a wake-up is already on its
 * way. */
static void unlock_and_wake(hf_engine *e)
{
	bool wake = !e->wake_pending;
	e->wake_pending = true;
	pthread_mutex_unlock(&e->lock);
	if (wake)
		hf_engine_wakeup(e);
}

int hf_engine_submit(uint64_t *turn_id, hf_engine *e, const hf_graph *graph,
                     hf_session *session, hf_store *store, const char *input,
                     const hf_run_options *opts, hf_error *err)
{
	hf_run_options defaults = HF_RUN_OPTIONS_INIT;
	eng_turn *et;

	if (turn_id)
		*turn_id = 0;
	if (!e || !graph || !session || !input)
		return hf_err(err, HF_EINVAL,
		              "hf_engine_submit: engine, graph, session and input are required");
	if (opts && opts->version != HF_RUN_OPTIONS_VERSION)
		return hf_err(err, HF_EINVAL, "hf_run_options version %u is not supported (expected %u)",
		              opts->version, HF_RUN_OPTIONS_VERSION);
	if (!(et = hf_calloc(1, sizeof(*et))) || !(et->input = hf_strdup(input))) {
		free(et);
		return hf_err(err, HF_ENOMEM, "out of memory queueing a turn");
	}
	et->g = graph;
	et->s = session;
	et->st = store;
	et->opts = opts ? *opts : defaults;
	pthread_mutex_lock(&e->lock);
	et->id = ++e->last_id;
	if (turn_id) /* before the driving thread can see (and complete) it */
		*turn_id = et->id;
	if (e->q_tail)
		e->q_tail->at.next = et;
	else
		e->q_head = et;
	e->q_tail = et;
	e->queued++;
	unlock_and_wake(e);
	return HF_OK;
}

int hf_engine_cancel(hf_engine *e, uint64_t turn_id, hf_error *err)
{
	eng_cancel *c;
	uint64_t last;

	if (!e)
		return hf_err(err, HF_EINVAL, "hf_engine_cancel: no engine");
	pthread_mutex_lock(&e->lock);
	last = e->last_id;
	pthread_mutex_unlock(&e->lock);
	if (turn_id == 0 || turn_id > last)
		return hf_err(err, HF_EINVAL, "hf_engine_cancel: this engine issued no turn %llu",
		              (unsigned long long)turn_id);
	if (!(c = hf_calloc(1, sizeof(*c))))
		return hf_err(err, HF_ENOMEM, "out of memory cancelling a turn");
	c->id = turn_id;
	pthread_mutex_lock(&e->lock);
	c->next = e->cancels;
	e->cancels = c;
	unlock_and_wake(e);
	return HF_OK;
}

void hf_engine_wakeup(hf_engine *e)
{
	if (!e)
		return;
	if (e->loop_mode) {
		ssize_t n = write(e->wake_wr, "", 1); /* EAGAIN: a wake-up is pending */
		(void)n;
	} else {
		curl_multi_wakeup(e->multi);
	}
}

int hf_engine_perform(hf_engine *e, int timeout_ms, hf_error *err)
{
	CURLMcode mc;
	int still;

	if (!e || e->loop_mode || timeout_ms < 0)
		return hf_err(err, HF_EINVAL, e && e->loop_mode
		              ? "hf_engine_perform: this engine is driven by socket_fn/timer_fn; "
		                "use hf_engine_socket_action and hf_engine_timeout_action"
		              : "hf_engine_perform: an engine and a timeout >= 0 are required");
	if (e->retries) {
		long long wait = e->retries->retry_at - hf_now_ms();
		if (wait < timeout_ms)
			timeout_ms = wait > 0 ? (int)wait : 0;
	}
	if ((mc = curl_multi_poll(e->multi, NULL, 0, timeout_ms, NULL)) != CURLM_OK)
		return multi_error(err, mc, "wait for network activity");
	drain_queue(e);
	run_retries(e);
	if ((mc = curl_multi_perform(e->multi, &still)) != CURLM_OK)
		return multi_error(err, mc, "move transfers on");
	read_done(e);
	return running(e);
}

int hf_engine_run_until_idle(hf_engine *e, hf_error *err)
{
	int n;
	while ((n = hf_engine_perform(e, 1000, err)) > 0) {
	}
	return n < 0 ? n : HF_OK;
}

int hf_engine_socket_action(hf_engine *e, int fd, int events, hf_error *err)
{
	CURLMcode mc;
	int still, mask = 0;

	if (!e || !e->loop_mode)
		return hf_err(err, HF_EINVAL,
		              "hf_engine_socket_action: the engine has no socket_fn/timer_fn; "
		              "use hf_engine_perform");
	if (fd == e->wake_rd) {
		char buf[64];
		/* Empty the pipe first: a submission after this wakes us again. */
		while (read(e->wake_rd, buf, sizeof(buf)) > 0) {
		}
		drain_queue(e);
		return loop_finish(e);
	}
	if (events & HF_POLL_IN)
		mask |= CURL_CSELECT_IN;
	if (events & HF_POLL_OUT)
		mask |= CURL_CSELECT_OUT;
	if (events & HF_POLL_ERR)
		mask |= CURL_CSELECT_ERR;
	if ((mc = curl_multi_socket_action(e->multi, fd, mask, &still)) != CURLM_OK)
		return multi_error(err, mc, "move transfers on");
	return loop_finish(e);
}

int hf_engine_timeout_action(hf_engine *e, hf_error *err)
{
	CURLMcode mc;
	int still;

	if (!e || !e->loop_mode)
		return hf_err(err, HF_EINVAL,
		              "hf_engine_timeout_action: the engine has no socket_fn/timer_fn; "
		              "use hf_engine_perform");
	e->timer_armed = false; /* it fired */
	run_retries(e);
	if ((mc = curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &still)) != CURLM_OK)
		return multi_error(err, mc, "move transfers on");
	return loop_finish(e);
}

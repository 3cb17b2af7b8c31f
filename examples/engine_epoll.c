/*
 * engine_epoll.c - hundreds of conversations on one thread: the engine
 * plugged into an epoll loop through its socket and timer callbacks, the
 * way a service with its own event loop (epoll, libuv, libevent) uses it.
 *
 *   ./engine_epoll [-n N] [GRAPH]
 *
 * Starts N conversations at once (default 300; half in Spanish, half in
 * English), each in its own in-memory session, waits for all of them and
 * prints a summary: how many were answered, by which agent, how fast.
 */
#include <handoff.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

/* The application's loop: an epoll set and one timer (a deadline). */
typedef struct loop {
	int epfd;
	long long due_ms; /* when to call hf_engine_timeout_action; -1: never */
} loop;

/* What the completions add up to. */
typedef struct tally {
	int done, ok, failed, spanish, english;
	char first_error[HF_ERROR_MESSAGE_MAX];
} tally;

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The engine asks to watch a descriptor (or to stop watching it). */
static int on_socket(int fd, int what, void *payload)
{
	loop *l = payload;
	struct epoll_event ev = { 0 };
	if (what & HF_POLL_REMOVE) {
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL); /* fails harmlessly when closed */
		return 0;
	}
	ev.events = ((what & HF_POLL_IN) ? EPOLLIN : 0) | ((what & HF_POLL_OUT) ? EPOLLOUT : 0);
	ev.data.fd = fd;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
		return 0;
	return errno == ENOENT ? epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) : -1;
}

/* The engine asks for a call to hf_engine_timeout_action in ms (-1: none). */
static int on_timer(long ms, void *payload)
{
	loop *l = payload;
	l->due_ms = ms < 0 ? -1 : now_ms() + ms;
	return 0;
}

/* Each conversation's turn ends here exactly once, on the loop's thread. */
static void on_complete(const hf_completion *c, void *payload)
{
	tally *t = payload;
	t->done++;
	if (c->code != HF_OK) {
		if (!t->failed++)
			snprintf(t->first_error, sizeof(t->first_error), "%s", c->error->message);
		return;
	}
	t->ok++;
	if (!strcmp(c->agent, "Spanish agent"))
		t->spanish++;
	else if (!strcmp(c->agent, "English agent"))
		t->english++;
}

int main(int argc, char **argv)
{
	const char *path = getenv("HANDOFF_GRAPH");
	int n = 300, i, rc;
	loop l = { -1, -1 };
	tally t = { 0 };
	hf_engine_options eo = HF_ENGINE_OPTIONS_INIT;
	hf_engine *engine = NULL;
	hf_graph *graph = NULL;
	hf_session **sessions;
	hf_error err;
	long long start;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			n = (int)strtol(argv[++i], NULL, 10);
		else
			path = argv[i];
	}
	if (n < 1 || !(sessions = calloc((size_t)n, sizeof(*sessions))))
		return 2;
	l.epfd = epoll_create1(EPOLL_CLOEXEC);

	rc = hf_global_init(&err);
	if (!rc)
		rc = hf_graph_load(&graph, path ? path : "agents", NULL, &err);
	if (!rc) {
		eo.graph = graph;            /* endpoint defaults from its handoff.yaml */
		eo.on_complete = on_complete;
		eo.payload = &t;
		eo.socket_fn = on_socket;    /* loop mode: we watch the sockets ... */
		eo.timer_fn = on_timer;      /* ... and keep its timer */
		eo.loop_payload = &l;
		rc = hf_engine_new(&engine, &eo, &err);
	}
	start = now_ms();
	/* Queue every conversation's first turn; nothing blocks here. */
	for (i = 0; !rc && i < n; i++) {
		char id[32], text[128];
		snprintf(id, sizeof(id), "conversation-%d", i);
		if (i % 2)
			snprintf(text, sizeof(text), "Hello! Can you check the status of order %d?", i);
		else
			snprintf(text, sizeof(text), "¡Hola! ¿Puedes revisar el estado del pedido %d?", i);
		rc = hf_session_new(&sessions[i], id, &err);
		if (!rc) /* no store: sessions stay in memory; NULL options: defaults */
			rc = hf_engine_submit(NULL, engine, graph, sessions[i], NULL, text, NULL, &err);
	}

	/* The loop: wait for a socket or the timer, tell the engine, repeat. */
	while (!rc && t.done < n) {
		struct epoll_event evs[64];
		long long wait = l.due_ms < 0 ? 1000 : l.due_ms - now_ms();
		int k = epoll_wait(l.epfd, evs, 64, wait < 0 ? 0 : (int)wait);
		/* Both actions return the number of turns left, or an error. */
		for (i = 0; i < k && !rc; i++) {
			int ready = ((evs[i].events & EPOLLIN) ? HF_POLL_IN : 0) |
			            ((evs[i].events & EPOLLOUT) ? HF_POLL_OUT : 0) |
			            ((evs[i].events & (EPOLLERR | EPOLLHUP)) ? HF_POLL_ERR : 0);
			if (hf_engine_socket_action(engine, evs[i].data.fd, ready, &err) < 0)
				rc = 1;
		}
		if (!rc && l.due_ms >= 0 && now_ms() >= l.due_ms) {
			l.due_ms = -1; /* it fired; the engine sets the next one */
			if (hf_engine_timeout_action(engine, &err) < 0)
				rc = 1;
		}
	}
	if (rc)
		fprintf(stderr, "engine_epoll: %s\n", err.message);
	else
		printf("conversations=%d ok=%d failed=%d spanish=%d english=%d seconds=%.2f\n", n,
		       t.ok, t.failed, t.spanish, t.english, (now_ms() - start) / 1000.0);
	if (t.failed)
		fprintf(stderr, "engine_epoll: first failure: %s\n", t.first_error);

	hf_engine_free(engine); /* before the loop goes: it may still call on_socket */
	for (i = 0; i < n; i++)
		hf_session_free(sessions[i]);
	free(sessions);
	hf_graph_free(graph);
	hf_global_cleanup();
	if (l.epfd >= 0)
		close(l.epfd);
	return rc || t.failed ? 1 : 0;
}

/*
 * bench_engine.c - the engine's figures (issue 5, "Performance"):
 *
 *  (a) engine_10k: `handoff mock --latency 100` in a separate process (so
 *      its memory does not count); 10,000 conversations (one triage turn
 *      each: two requests) submitted at once to one engine driven by this
 *      one thread. Prints the wall time from the first submission to the
 *      last completion, and the peak RSS growth (VmHWM after minus VmRSS
 *      before submitting) per conversation.
 *  (b) engine_50: a mock with no added latency; N runs (default 500), 50 in
 *      flight (a new run is submitted as one completes). Prints runs/s and
 *      the per-run latency p50/p99. bench_floor --mode conc does the same
 *      with bare libcurl.
 *
 *   bench_engine --handoff PATH/TO/handoff [--only 10k|50] [--loop]
 *                [--conversations N] [--latency MS] [--runs N]
 *                [--concurrency K] [--max-connections N] [--max-requests N]
 *                [--stream]
 *   bench_engine --base-url URL ...   (a mock already running elsewhere,
 *                started with the latency wanted; --latency only labels)
 *   bench_engine --base-url URL ...
 *
 * --base-url: use a running mock (…/v1; bench/run starts and pins it, with
 * --latency for 10k) instead of starting one; --handoff and --latency are
 * then not used.
 *
 * --loop drives the engine with epoll through socket_fn/timer_fn instead
 * of hf_engine_perform. --max-requests (default 2000; 0: no cap) is the
 * engine's max_requests: with HTTP/1.1 each call in flight holds a
 * connection, and libcurl 7.88 slows down past a few thousand transfers in
 * one multi handle, so the rest wait in the engine. Requests are not streamed unless --stream (the
 * floor's default bodies are not). Each turn uses a new in-memory session
 * with the input "Hola, ¿cómo estás?"; every completion must be HF_OK from
 * the Spanish agent, or the benchmark fails (exit 1).
 */
#include <handoff.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define INPUT "Hola, ¿cómo estás?"

typedef struct options {
	const char *handoff, *base_url;
	const char *only;
	bool loop, stream;
	long conversations, latency_ms, runs, concurrency, max_connections, max_requests;
} options;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "bench_engine: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(1);
}

/* A /proc/self/status field in KiB ("VmRSS", "VmHWM"). */
static long status_kib(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t n = strlen(field);
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

/* ---- the mock, in its own process ---- */

typedef struct mock_proc {
	pid_t pid;
	int note;      /* its stderr, where it says where it listens */
	char url[160];
} mock_proc;

static void mock_start(mock_proc *m, const char *handoff, long latency_ms)
{
	char latency[32], line[256];
	int fds[2];
	size_t n = 0;
	snprintf(latency, sizeof(latency), "%ld", latency_ms);
	if (pipe(fds))
		die("pipe: %s", strerror(errno));
	if ((m->pid = fork()) == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		execl(handoff, handoff, "mock", "--port", "0", "--latency", latency, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while (n < sizeof(line) - 1 && read(fds[0], line + n, 1) == 1 && line[n] != '\n')
		n++;
	line[n] = '\0';
	m->note = fds[0];
	/* "handoff mock: listening on http://127.0.0.1:PORT" */
	if (!strstr(line, "http://") || strlen(strstr(line, "http://")) + 4 > sizeof(m->url))
		die("could not start `handoff mock`: it printed '%s'", line);
	snprintf(m->url, sizeof(m->url), "%s/v1", strstr(line, "http://"));
}

static void mock_stop(mock_proc *m)
{
	kill(m->pid, SIGINT);
	waitpid(m->pid, NULL, 0);
	close(m->note);
}

/* ---- the engine and its driving loop ---- */

typedef struct bench {
	hf_engine *engine;
	const hf_graph *graph;
	hf_run_options run;
	long submitted, completed, target, in_flight_max;
	double *started;   /* per turn id: when submitted (ms) */
	double *latency;   /* per completed run */
	bool refill;       /* (b): submit the next run as one completes */
	int epfd;          /* --loop */
	double due;        /* --loop: the engine's timer; < 0: none */
} bench;

/* One run: a new in-memory session, which rides in the run options'
 * payload back to on_complete. */
static void submit_one(bench *b)
{
	hf_session *s;
	hf_error err;
	uint64_t id;
	if (hf_session_new(&s, NULL, &err))
		die("session: %s", err.message);
	b->run.payload = s;
	if (hf_engine_submit(&id, b->engine, b->graph, s, NULL, INPUT, &b->run, &err))
		die("submit: %s", err.message);
	b->started[id] = now_ms();
	b->submitted++;
}

static void on_complete(const hf_completion *c, void *payload)
{
	bench *b = payload;
	if (c->code != HF_OK)
		die("a turn failed: %s", c->error->message);
	if (strcmp(c->agent, "Spanish agent"))
		die("the wrong agent answered: %s", c->agent);
	b->latency[b->completed++] = now_ms() - b->started[c->turn_id];
	/* The session is done with: the bench keeps no conversation. */
	hf_session_free((hf_session *)c->payload);
	if (b->refill && b->submitted < b->target)
		submit_one(b);
}

static int loop_socket(int fd, int what, void *payload)
{
	bench *b = payload;
	struct epoll_event ev = { 0 };
	if (what & HF_POLL_REMOVE) {
		epoll_ctl(b->epfd, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	ev.events = ((what & HF_POLL_IN) ? EPOLLIN : 0) | ((what & HF_POLL_OUT) ? EPOLLOUT : 0);
	ev.data.fd = fd;
	if (epoll_ctl(b->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
		return 0;
	return errno == ENOENT ? epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) : -1;
}

static int loop_timer(long ms, void *payload)
{
	bench *b = payload;
	b->due = ms < 0 ? -1 : now_ms() + ms;
	return 0;
}

/* Drive the engine until every submitted run completed. */
static void drive(bench *b)
{
	hf_error err;
	while (b->completed < b->target) {
		if (b->epfd < 0) {
			if (hf_engine_perform(b->engine, 1000, &err) < 0)
				die("perform: %s", err.message);
			continue;
		}
		struct epoll_event evs[256];
		double wait = b->due < 0 ? 1000 : b->due - now_ms();
		int k = epoll_wait(b->epfd, evs, 256, wait < 0 ? 0 : (int)wait + 1), i;
		for (i = 0; i < k; i++) {
			int ready = ((evs[i].events & EPOLLIN) ? HF_POLL_IN : 0) |
			            ((evs[i].events & EPOLLOUT) ? HF_POLL_OUT : 0) |
			            ((evs[i].events & (EPOLLERR | EPOLLHUP)) ? HF_POLL_ERR : 0);
			if (hf_engine_socket_action(b->engine, evs[i].data.fd, ready, &err) < 0)
				die("socket_action: %s", err.message);
		}
		if (b->due >= 0 && now_ms() >= b->due) {
			b->due = -1;
			if (hf_engine_timeout_action(b->engine, &err) < 0)
				die("timeout_action: %s", err.message);
		}
	}
}

static void bench_init(bench *b, const options *o, const hf_graph *g, const char *url,
                       long target)
{
	hf_client_options co = HF_CLIENT_OPTIONS_INIT;
	hf_engine_options eo = HF_ENGINE_OPTIONS_INIT;
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	hf_error err;

	memset(b, 0, sizeof(*b));
	b->graph = g;
	b->target = target;
	b->epfd = -1;
	b->due = -1;
	b->started = calloc((size_t)target * 2 + 1, sizeof(double));
	b->latency = calloc((size_t)target, sizeof(double));
	if (!b->started || !b->latency)
		die("%s", "out of memory");
	co.base_url = url;
	eo.client = &co;
	eo.max_connections = o->max_connections;
	eo.max_requests = o->max_requests;
	eo.on_complete = on_complete;
	eo.payload = b;
	if (o->loop) {
		b->epfd = epoll_create1(EPOLL_CLOEXEC);
		eo.socket_fn = loop_socket;
		eo.timer_fn = loop_timer;
		eo.loop_payload = b;
	}
	if (hf_engine_new(&b->engine, &eo, &err))
		die("engine: %s", err.message);
	ro.stream = o->stream;
	b->run = ro;
}

static void bench_dispose(bench *b)
{
	hf_engine_free(b->engine);
	if (b->epfd >= 0)
		close(b->epfd);
	free(b->started);
	free(b->latency);
}

static void submit_batch(bench *b, long n)
{
	long i;
	for (i = 0; i < n; i++)
		submit_one(b);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* CPU seconds this process used (user + system). */
static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double percentile(double *v, long n, double p)
{
	long i = (long)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

/* (a) */
static void bench_10k(const options *o, const hf_graph *g)
{
	mock_proc m;
	bench b;
	long rss_before;
	double t0, wall, cpu0;

	if (!o->base_url)
		mock_start(&m, o->handoff, o->latency_ms);
	bench_init(&b, o, g, o->base_url ? o->base_url : m.url, o->conversations);
	rss_before = status_kib("VmRSS");
	cpu0 = cpu_s();
	t0 = now_ms();
	submit_batch(&b, o->conversations);
	drive(&b);
	wall = (now_ms() - t0) / 1000.0;
	printf("engine_10k conversations=%ld latency_ms=%ld mode=%s stream=%d max_requests=%ld "
	       "wall_s=%.3f cpu_s=%.3f kib_per_conversation=%.1f peak_rss_growth_kib=%ld\n",
	       o->conversations, o->latency_ms, o->loop ? "epoll" : "perform", o->stream,
	       o->max_requests, wall,
	       cpu_s() - cpu0,
	       (double)(status_kib("VmHWM") - rss_before) / (double)o->conversations,
	       status_kib("VmHWM") - rss_before);
	fflush(stdout);
	bench_dispose(&b);
	if (!o->base_url)
		mock_stop(&m);
}

/* (b) */
static void bench_50(const options *o, const hf_graph *g)
{
	mock_proc m;
	bench b;
	double t0, wall;
	long warm = o->concurrency;

	if (!o->base_url)
		mock_start(&m, o->handoff, 0);
	/* Warm-up: one round at full concurrency (connections opened). */
	bench_init(&b, o, g, o->base_url ? o->base_url : m.url, warm);
	submit_batch(&b, warm);
	drive(&b);
	b.completed = b.submitted = 0;
	b.target = o->runs;
	free(b.started);
	free(b.latency);
	b.started = calloc((size_t)(o->runs + warm) * 2 + 1, sizeof(double));
	b.latency = calloc((size_t)o->runs, sizeof(double));
	b.refill = true;
	t0 = now_ms();
	submit_batch(&b, o->concurrency < o->runs ? o->concurrency : o->runs);
	drive(&b);
	wall = (now_ms() - t0) / 1000.0;
	qsort(b.latency, (size_t)o->runs, sizeof(double), cmp_double);
	printf("engine_50 runs=%ld concurrency=%ld mode=%s stream=%d wall_s=%.3f runs_per_s=%.1f "
	       "p50_ms=%.2f p99_ms=%.2f\n",
	       o->runs, o->concurrency, o->loop ? "epoll" : "perform", o->stream, wall,
	       (double)o->runs / wall, percentile(b.latency, o->runs, 0.50),
	       percentile(b.latency, o->runs, 0.99));
	fflush(stdout);
	bench_dispose(&b);
	if (!o->base_url)
		mock_stop(&m);
}

static long number(const char *name, const char *v)
{
	char *end;
	long n = v ? strtol(v, &end, 10) : 0;
	if (!v || *end || n < 0)
		die("%s needs a whole number", name);
	return n;
}

int main(int argc, char **argv)
{
	options o = { .conversations = 10000, .latency_ms = 100, .runs = 500, .concurrency = 50,
		      .max_requests = 2000 };
	struct rlimit rl;
	hf_graph *g;
	hf_error err;
	int i;

	for (i = 1; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(k, "--loop"))
			o.loop = true;
		else if (!strcmp(k, "--stream"))
			o.stream = true;
		else if (!strcmp(k, "--handoff") && v)
			o.handoff = v, i++;
		else if (!strcmp(k, "--base-url") && v)
			o.base_url = v, i++;
		else if (!strcmp(k, "--only") && v)
			o.only = v, i++;
		else if (!strcmp(k, "--conversations"))
			o.conversations = number(k, v), i++;
		else if (!strcmp(k, "--latency"))
			o.latency_ms = number(k, v), i++;
		else if (!strcmp(k, "--runs"))
			o.runs = number(k, v), i++;
		else if (!strcmp(k, "--max-connections"))
			o.max_connections = number(k, v), i++;
		else if (!strcmp(k, "--max-requests"))
			o.max_requests = number(k, v), i++;
		else if (!strcmp(k, "--concurrency"))
			o.concurrency = number(k, v), i++;
		else
			die("unknown option %s (see the comment at the top of bench_engine.c)", k);
	}
	if (!o.handoff && !o.base_url)
		die("%s", "--base-url URL, or --handoff PATH (the handoff command, to run "
		          "`handoff mock`), is required");
	if (o.conversations < 1 || o.runs < 1 || o.concurrency < 1)
		die("%s", "counts must be at least 1");
	/* One descriptor per connection in flight. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (hf_global_init(&err) || hf_graph_load(&g, HF_SOURCE_DIR "/agents", NULL, &err))
		die("%s", err.message);
	if (!o.only || !strcmp(o.only, "10k"))
		bench_10k(&o, g);
	if (!o.only || !strcmp(o.only, "50"))
		bench_50(&o, g);
	hf_graph_free(g);
	hf_global_cleanup();
	return 0;
}

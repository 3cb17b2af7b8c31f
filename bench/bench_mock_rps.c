/*
 * bench_mock_rps.c - how fast `handoff mock` answers. The mock runs in a
 * child process (each side gets its own descriptor limit and CPU); a libcurl
 * multi client in this process, driven by epoll through libcurl's socket
 * interface, measures:
 *
 *  1. throughput: K keep-alive connections kept busy with N small
 *     non-streaming chat requests;
 *  2. delayed requests: D requests in flight at once against a mock with
 *     100 ms latency, each on its own connection. The cold round opens the
 *     D connections; the warm round reuses them, so it shows what the mock
 *     adds (about the latency, when no worker thread waits).
 *
 *   bench_mock_rps [REQUESTS [CONCURRENCY [DELAYED [THREADS]]]]
 *   defaults:       200000     64            10000    1
 *
 * Prints:
 *   mock_rps requests=N concurrency=K threads=T rps=... p50_ms=... p99_ms=...
 *            server_cpu_us_per_req=... client_cpu_us_per_req=... failed=F
 *   mock_delayed requests=D latency_ms=100 cold_total_ms=... warm_total_ms=...
 *            warm_p50_ms=... warm_p99_ms=... server_cpu_ms=... failed=F
 */
#include "mock.h"

#include <curl/curl.h>
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

static const char chat_body[] =
	"{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":\"You route.\"},"
	"{\"role\":\"user\",\"content\":\"Hello, how are you today?\"}]}";

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* ---- the mock, in a child process ---- */

typedef struct server {
	pid_t pid;
	int stop_fd; /* closing it stops the child */
	unsigned port;
} server;

static int server_start(server *s, long latency_ms, unsigned threads)
{
	int up[2], down[2];
	if (pipe(up) || pipe(down))
		return -1;
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		hf_mock_options o = { 0 };
		hf_mock *m;
		hf_error err;
		unsigned port;
		char c;
		close(up[0]);
		close(down[1]);
		o.latency_ms = latency_ms;
		o.threads = threads;
		if (hf_mock_start(&m, &o, &err)) {
			fprintf(stderr, "bench_mock_rps: %s\n", err.message);
			_exit(1);
		}
		port = hf_mock_port(m);
		if (write(up[1], &port, sizeof(port)) != sizeof(port))
			_exit(1);
		while (read(down[0], &c, 1) > 0)
			;
		hf_mock_stop(m);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	s->stop_fd = down[1];
	if (read(up[0], &s->port, sizeof(s->port)) != sizeof(s->port)) {
		close(up[0]);
		return -1;
	}
	close(up[0]);
	return 0;
}

/* Stop the child; returns the CPU time it used, in microseconds. */
static double server_stop(server *s)
{
	struct rusage ru;
	int st;
	close(s->stop_fd);
	if (wait4(s->pid, &st, 0, &ru) != s->pid)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* ---- the client ---- */

/* libcurl walks every cached connection of a multi handle when a transfer
 * is removed, so thousands of connections are split over shards of about
 * sqrt(n) connections, each its own multi handle, all on one epoll loop. */
typedef struct shard {
	CURLM *multi;
	int epfd;
	unsigned index;
	double deadline; /* libcurl's next timeout (now_ms clock); < 0: none */
} shard;

typedef struct client {
	shard *shards;
	size_t nshards;
	CURL **easy;
	double *start;
	size_t n;
	struct curl_slist *hdr;
	int epfd;
} client;

typedef struct run {
	double *lat; /* per-request latency, ms, sorted */
	size_t done, failed;
	double wall_ms;
} run;

static size_t discard(char *p, size_t size, size_t n, void *user)
{
	(void)p;
	(void)user;
	return size * n;
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *user, void *sockp)
{
	shard *sh = user;
	struct epoll_event ev = { 0 };
	(void)e;
	(void)sockp;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(sh->epfd, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
	ev.data.u64 = (uint64_t)sh->index << 32 | (uint32_t)fd;
	if (epoll_ctl(sh->epfd, EPOLL_CTL_ADD, fd, &ev) && errno == EEXIST)
		epoll_ctl(sh->epfd, EPOLL_CTL_MOD, fd, &ev);
	return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *user)
{
	shard *sh = user;
	(void)multi;
	sh->deadline = timeout_ms < 0 ? -1 : now_ms() + (double)timeout_ms;
	return 0;
}

/* n easy handles posting to the mock on port, over ~sqrt(n) shards. */
static int client_init(client *c, unsigned port, size_t n)
{
	size_t i;
	char url[160];
	memset(c, 0, sizeof(*c));
	c->nshards = 1;
	while (c->nshards * c->nshards < n)
		c->nshards++;
	c->shards = calloc(c->nshards, sizeof(*c->shards));
	c->easy = calloc(n, sizeof(*c->easy));
	c->start = calloc(n, sizeof(*c->start));
	c->hdr = curl_slist_append(NULL, "Content-Type: application/json");
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	c->n = n;
	if (!c->shards || !c->easy || !c->start || !c->hdr || c->epfd < 0)
		return -1;
	for (i = 0; i < c->nshards; i++) {
		shard *sh = &c->shards[i];
		sh->multi = curl_multi_init();
		sh->epfd = c->epfd;
		sh->index = (unsigned)i;
		sh->deadline = -1;
		if (!sh->multi)
			return -1;
		curl_multi_setopt(sh->multi, CURLMOPT_MAXCONNECTS, (long)(n / c->nshards + 1));
		curl_multi_setopt(sh->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
		curl_multi_setopt(sh->multi, CURLMOPT_SOCKETDATA, sh);
		curl_multi_setopt(sh->multi, CURLMOPT_TIMERFUNCTION, on_timer);
		curl_multi_setopt(sh->multi, CURLMOPT_TIMERDATA, sh);
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/chat/completions", port);
	for (i = 0; i < n; i++) {
		CURL *e = curl_easy_init();
		if (!e)
			return -1;
		c->easy[i] = e;
		curl_easy_setopt(e, CURLOPT_URL, url);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, chat_body);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->hdr);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)(uintptr_t)i);
		curl_easy_setopt(e, CURLOPT_TIMEOUT, 60L);
		curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	}
	return 0;
}

static void client_free(client *c)
{
	size_t i;
	for (i = 0; c->easy && i < c->n; i++)
		if (c->easy[i])
			curl_easy_cleanup(c->easy[i]);
	for (i = 0; c->shards && i < c->nshards; i++)
		if (c->shards[i].multi)
			curl_multi_cleanup(c->shards[i].multi);
	curl_slist_free_all(c->hdr);
	if (c->epfd >= 0)
		close(c->epfd);
	free(c->shards);
	free(c->easy);
	free(c->start);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Start request k on its handle. */
static void client_send(client *c, size_t k)
{
	c->start[k] = now_ms();
	curl_multi_add_handle(c->shards[k % c->nshards].multi, c->easy[k]);
}

/* Collect finished transfers of one shard; start the next requests. */
static void client_reap(client *c, shard *sh, size_t total, size_t *sent, run *r)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(sh->multi, &left)) != NULL) {
		CURL *e = msg->easy_handle;
		uintptr_t k;
		long status = 0;
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&k);
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
		if (msg->data.result != CURLE_OK || status != 200)
			r->failed++;
		r->lat[r->done++] = now_ms() - c->start[k];
		curl_multi_remove_handle(sh->multi, e);
		if (*sent < total) {
			(*sent)++;
			client_send(c, k);
		}
	}
}

/* Send `total` requests over the handles; each handle sends its next one
 * as soon as its previous one is answered. */
static int client_round(client *c, size_t total, run *r)
{
	struct epoll_event events[256];
	size_t sent = 0, i;
	int running;
	double t0 = now_ms();

	r->lat = calloc(total ? total : 1, sizeof(*r->lat));
	r->done = r->failed = 0;
	if (!r->lat)
		return -1;
	for (i = 0; i < c->n && sent < total; i++, sent++)
		client_send(c, i);
	while (r->done < sent) {
		double wait = 100, now = now_ms();
		int n;
		for (i = 0; i < c->nshards; i++)
			if (c->shards[i].deadline >= 0 && c->shards[i].deadline - now < wait)
				wait = c->shards[i].deadline - now;
		n = epoll_wait(c->epfd, events, 256, wait < 0 ? 0 : (int)wait + 1);
		for (i = 0; n > 0 && i < (size_t)n; i++) {
			shard *sh = &c->shards[events[i].data.u64 >> 32];
			int flags = (events[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
			            (events[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
			            (events[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
			curl_multi_socket_action(sh->multi, (curl_socket_t)(uint32_t)events[i].data.u64,
			                         flags, &running);
			client_reap(c, sh, total, &sent, r);
		}
		now = now_ms();
		for (i = 0; i < c->nshards; i++) {
			shard *sh = &c->shards[i];
			if (sh->deadline >= 0 && now >= sh->deadline) {
				sh->deadline = -1;
				curl_multi_socket_action(sh->multi, CURL_SOCKET_TIMEOUT, 0, &running);
				client_reap(c, sh, total, &sent, r);
			}
		}
	}
	r->wall_ms = now_ms() - t0;
	qsort(r->lat, r->done, sizeof(*r->lat), cmp_double);
	return 0;
}

static double pct(const run *r, double p)
{
	return r->done ? r->lat[(size_t)(p * (double)(r->done - 1))] : 0;
}

/* CPU time this process has used, in microseconds. */
static double self_cpu_us(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static int bench_rps(size_t total, size_t conc, unsigned threads)
{
	server s;
	client c;
	run r = { 0 };
	double cpu, client_cpu = self_cpu_us();
	if (server_start(&s, 0, threads))
		return -1;
	if (client_init(&c, s.port, conc) || client_round(&c, total, &r)) {
		client_free(&c);
		server_stop(&s);
		return -1;
	}
	client_free(&c);
	client_cpu = self_cpu_us() - client_cpu;
	cpu = server_stop(&s);
	printf("mock_rps requests=%zu concurrency=%zu threads=%u rps=%.0f p50_ms=%.3f p99_ms=%.3f "
	       "server_cpu_us_per_req=%.1f client_cpu_us_per_req=%.1f failed=%zu\n",
	       r.done, conc, threads, (double)r.done / (r.wall_ms / 1e3), pct(&r, 0.50),
	       pct(&r, 0.99), cpu / (double)r.done, client_cpu / (double)r.done, r.failed);
	free(r.lat);
	return 0;
}

static int bench_delayed(size_t n, unsigned threads)
{
	server s;
	client c;
	run cold = { 0 }, warm = { 0 };
	double cpu;
	int rc = 0;
	if (server_start(&s, 100, threads))
		return -1;
	if (client_init(&c, s.port, n) || client_round(&c, n, &cold) ||
	    client_round(&c, n, &warm))
		rc = -1;
	client_free(&c);
	cpu = server_stop(&s);
	if (!rc)
		printf("mock_delayed requests=%zu latency_ms=100 cold_total_ms=%.1f warm_total_ms=%.1f "
		       "warm_p50_ms=%.1f warm_p99_ms=%.1f server_cpu_ms=%.0f failed=%zu\n",
		       n, cold.wall_ms, warm.wall_ms, pct(&warm, 0.50), pct(&warm, 0.99), cpu / 1e3,
		       cold.failed + warm.failed);
	free(cold.lat);
	free(warm.lat);
	return rc;
}

int main(int argc, char **argv)
{
	size_t total = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
	size_t conc = argc > 2 ? strtoul(argv[2], NULL, 10) : 64;
	size_t delayed = argc > 3 ? strtoul(argv[3], NULL, 10) : 10000;
	unsigned threads = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 1;
	int rc = 0;

	if (!conc) {
		fprintf(stderr, "usage: bench_mock_rps [REQUESTS [CONCURRENCY [DELAYED [THREADS]]]]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (total && bench_rps(total, conc, threads))
		rc = 1;
	if (!rc && delayed && bench_delayed(delayed, threads))
		rc = 1;
	if (rc)
		fprintf(stderr, "bench_mock_rps: a benchmark could not run\n");
	curl_global_cleanup();
	return rc;
}

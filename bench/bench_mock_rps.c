/*
 * bench_mock_rps.c - how fast `handoff mock` answers. The mock runs in a
 * child process (so each side has its own descriptor limit and CPU); a
 * libcurl multi client in this process keeps K keep-alive connections busy
 * with small non-streaming chat requests, then holds D delayed requests
 * (latency 100 ms) in flight at once.
 *
 *   bench_mock_rps [REQUESTS [CONCURRENCY [DELAYED [THREADS]]]]
 *
 * Prints:
 *   mock_rps requests=N concurrency=K threads=T rps=... p50_ms=... p99_ms=...
 *   mock_delayed requests=D latency_ms=100 total_ms=... p50_ms=... p99_ms=... failed=F
 */
#include "mock.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char chat_body[] =
	"{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":\"You route.\"},"
	"{\"role\":\"user\",\"content\":\"Hello, how are you today?\"}]}";

typedef struct server {
	pid_t pid;
	int stop_fd;      /* closing it stops the child */
	unsigned port;
} server;

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

/* Start a mock in a child process; the child serves until stop_fd closes. */
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
		char c;
		unsigned port = 0;
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

static void server_stop(server *s)
{
	int st;
	close(s->stop_fd);
	waitpid(s->pid, &st, 0);
}

static size_t discard(char *p, size_t size, size_t n, void *user)
{
	(void)p;
	(void)user;
	return size * n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

typedef struct run {
	double *lat;       /* per-request latency, ms */
	size_t done, failed;
	double wall_ms;
} run;

/* Send `total` requests over `conc` easy handles; each handle sends its
 * next request as soon as the previous one completes. */
static int drive(const char *url, size_t total, size_t conc, run *r)
{
	CURLM *multi = curl_multi_init();
	CURL **easy = calloc(conc, sizeof(*easy));
	double *start = calloc(conc, sizeof(*start));
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	size_t sent = 0, i;
	int running = 0;
	double t0;

	r->lat = calloc(total, sizeof(*r->lat));
	r->done = r->failed = 0;
	if (!multi || !easy || !start || !r->lat || !hdr)
		return -1;
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)conc);
	curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)conc);
	t0 = now_ms();
	for (i = 0; i < conc && sent < total; i++, sent++) {
		easy[i] = curl_easy_init();
		curl_easy_setopt(easy[i], CURLOPT_URL, url);
		curl_easy_setopt(easy[i], CURLOPT_POSTFIELDS, chat_body);
		curl_easy_setopt(easy[i], CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(easy[i], CURLOPT_PRIVATE, (void *)(uintptr_t)i);
		curl_easy_setopt(easy[i], CURLOPT_TIMEOUT, 30L);
		start[i] = now_ms();
		curl_multi_add_handle(multi, easy[i]);
	}
	do {
		CURLMsg *msg;
		int left;
		curl_multi_perform(multi, &running);
		while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
			CURL *e = msg->easy_handle;
			uintptr_t k;
			long status = 0;
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&k);
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
			if (msg->data.result != CURLE_OK || status != 200)
				r->failed++;
			r->lat[r->done++] = now_ms() - start[k];
			curl_multi_remove_handle(multi, e);
			if (sent < total) {
				sent++;
				start[k] = now_ms();
				curl_multi_add_handle(multi, e);
				running++;
			}
		}
		if (running)
			curl_multi_poll(multi, NULL, 0, 100, NULL);
	} while (running || r->done < sent);
	r->wall_ms = now_ms() - t0;
	for (i = 0; i < conc; i++)
		if (easy[i])
			curl_easy_cleanup(easy[i]);
	curl_multi_cleanup(multi);
	curl_slist_free_all(hdr);
	free(easy);
	free(start);
	qsort(r->lat, r->done, sizeof(*r->lat), cmp_double);
	return 0;
}

static double pct(const run *r, double p)
{
	size_t i = (size_t)(p * (double)(r->done - 1));
	return r->done ? r->lat[i] : 0;
}

int main(int argc, char **argv)
{
	size_t total = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
	size_t conc = argc > 2 ? strtoul(argv[2], NULL, 10) : 64;
	size_t delayed = argc > 3 ? strtoul(argv[3], NULL, 10) : 10000;
	unsigned threads = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 1;
	server s;
	char url[128];
	run r;

	if (!total || !conc) {
		fprintf(stderr, "usage: bench_mock_rps [REQUESTS [CONCURRENCY [DELAYED [THREADS]]]]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	if (server_start(&s, 0, threads)) {
		fprintf(stderr, "bench_mock_rps: cannot start the mock\n");
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/chat/completions", s.port);
	if (drive(url, total, conc, &r))
		return 1;
	printf("mock_rps requests=%zu concurrency=%zu threads=%u rps=%.0f p50_ms=%.3f p99_ms=%.3f "
	       "failed=%zu\n",
	       r.done, conc, threads, (double)r.done / (r.wall_ms / 1e3), pct(&r, 0.50),
	       pct(&r, 0.99), r.failed);
	free(r.lat);
	server_stop(&s);

	if (delayed) {
		if (server_start(&s, 100, threads)) {
			fprintf(stderr, "bench_mock_rps: cannot start the mock\n");
			return 1;
		}
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/chat/completions", s.port);
		if (drive(url, delayed, delayed, &r))
			return 1;
		printf("mock_delayed requests=%zu latency_ms=100 total_ms=%.1f p50_ms=%.1f "
		       "p99_ms=%.1f failed=%zu\n",
		       r.done, r.wall_ms, pct(&r, 0.50), pct(&r, 0.99), r.failed);
		free(r.lat);
		server_stop(&s);
	}
	curl_global_cleanup();
	return 0;
}

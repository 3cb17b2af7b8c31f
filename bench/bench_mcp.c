/*
 * bench_mcp.c - MCP tools/call throughput over stdio: one calling thread
 * keeps IN_FLIGHT calls of tests/mcp_test_server.c's echo tool in flight
 * through an hf_mcp_host (its thread does the I/O) until N have completed.
 *
 *   bench_mcp [N [IN_FLIGHT [RUNS]]]      (default 200000 64 3)
 *
 * Prints one line (the median run):
 *   mcp_stdio calls=N in_flight=K runs=R calls_per_s=X cpu_us_per_call=Y
 * CPU is the process's (the host thread and the caller, not the server).
 * Target (issue 11): >= 20,000 calls/s.
 */
#include "mcp.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct state {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	long done, failed;
	char first_error[HF_ERROR_MESSAGE_MAX];
} state;

static void on_done(const hf_mcp_result *r, void *payload)
{
	state *s = payload;
	pthread_mutex_lock(&s->lock);
	s->done++;
	if (r->code != HF_OK || r->is_error || strcmp(r->text, "ping") != 0) {
		if (!s->failed++)
			snprintf(s->first_error, sizeof(s->first_error), "%s",
			         r->err ? r->err->message : r->text);
	}
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One run of n calls, k in flight: wall and CPU seconds. */
static int run(hf_mcp_host *h, long n, long k, double *wall, double *cpu)
{
	state s;
	long sent = 0;
	hf_error err;
	double w0, c0;
	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cond, NULL);
	w0 = now_s();
	c0 = cpu_s();
	pthread_mutex_lock(&s.lock);
	while (s.done < n) {
		while (sent < n && sent - s.done < k) {
			pthread_mutex_unlock(&s.lock);
			if (hf_mcp_host_call(h, 0, "echo", "{\"text\":\"ping\"}", 0, on_done, &s, NULL,
			                     &err)) {
				fprintf(stderr, "bench_mcp: %s\n", err.message);
				exit(1);
			}
			sent++;
			pthread_mutex_lock(&s.lock);
		}
		if (s.done < n)
			pthread_cond_wait(&s.cond, &s.lock);
	}
	pthread_mutex_unlock(&s.lock);
	*wall = now_s() - w0;
	*cpu = cpu_s() - c0;
	if (s.failed) {
		fprintf(stderr, "bench_mcp: %ld calls failed, the first: %s\n", s.failed,
		        s.first_error);
		return 1;
	}
	pthread_mutex_destroy(&s.lock);
	pthread_cond_destroy(&s.cond);
	return 0;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000, k = argc > 2 ? atol(argv[2]) : 64;
	int runs = argc > 3 ? atoi(argv[3]) : 3;
	hf_mcp_server_conf conf;
	hf_mcp_host *h;
	hf_error err;
	double rate[32], cpu_per[32], wall, cpu;
	if (n <= 0 || k <= 0 || runs <= 0 || runs > 32) {
		fprintf(stderr, "usage: bench_mcp [N [IN_FLIGHT [RUNS]]]\n");
		return 2;
	}
	memset(&conf, 0, sizeof(conf));
	conf.name = "echo";
	conf.command = HF_MCP_TEST_SERVER;
	if (hf_global_init(&err) || hf_mcp_host_new(&h, &conf, 1, NULL, &err) ||
	    hf_mcp_host_start(h, NULL, &err)) {
		fprintf(stderr, "bench_mcp: %s\n", err.message);
		return 1;
	}
	if (run(h, n / 10 > 1000 ? 1000 : n, k, &wall, &cpu)) /* warm-up */
		return 1;
	for (int i = 0; i < runs; i++) {
		if (run(h, n, k, &wall, &cpu))
			return 1;
		rate[i] = (double)n / wall;
		cpu_per[i] = cpu * 1e6 / (double)n;
	}
	hf_mcp_host_free(h);
	qsort(rate, (size_t)runs, sizeof(double), by_value);
	qsort(cpu_per, (size_t)runs, sizeof(double), by_value);
	printf("mcp_stdio calls=%ld in_flight=%ld runs=%d calls_per_s=%.0f cpu_us_per_call=%.2f\n", n,
	       k, runs, rate[runs / 2], cpu_per[runs / 2]);
	return 0;
}

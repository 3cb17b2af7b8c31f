/*
 * bench_triage.c - handoff in process, answering the triage example N times
 * through the blocking API: one graph and one client (one kept-alive
 * connection) for all runs, and per run a fresh in-memory session and one
 * hf_run of the same input. The contender "handoff" of bench/run, set
 * against bench_floor (the same two requests with bare libcurl) and the
 * Agents SDK (bench/peers/triage.mjs); it prints the same JSON line.
 *
 *   bench_triage --base-url http://127.0.0.1:PORT/v1 [--mode once|seq]
 *                [--n N] [--warmup W] [--stream | --no-stream]
 *                [--graph DIR] [--input TEXT] [--db PATH]
 *
 * --stream (the default, as hf_run's options) streams both replies.
 * --db PATH commits every run's session to the SQLite store at PATH (a
 * fresh session each run, as without it); without it nothing is stored.
 * A run's time goes from the session's creation to its release; the
 * answer must come from the Spanish agent, or the benchmark fails (exit 1).
 * Output (docs/bench-peers.md):
 *   {"contender":"handoff","mode":…,"stream":…,"n":…,"concurrency":1,
 *    "wall_ms":…,"ms_per_run":…,"runs_per_s":…,"p50_ms":…,"p99_ms":…,
 *    "peak_rss_kib":…,"final_output":…,"last_agent":…,"store":"none"|"sqlite"}
 */
#include "bench_line.h"

#include <handoff.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct options {
	const char *base_url, *mode, *graph, *input, *db;
	bool stream;
	long n, warmup;
} options;

/* What the benchmark holds across runs. */
typedef struct bench {
	hf_graph *graph;
	hf_client *client;
	hf_store *store;
	hf_run_options run;
	const char *input;
	char *answer;     /* the last run's answer */
	char *last_agent; /* and the agent that gave it */
} bench;

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "bench_triage: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

__attribute__((noreturn)) static void usage(const char *msg, const char *arg)
{
	if (msg)
		fprintf(stderr, "bench_triage: %s%s\n", msg, arg ? arg : "");
	fprintf(stderr,
	        "usage: bench_triage --base-url URL [--mode once|seq] [--n N] [--warmup W]\n"
	        "       [--stream | --no-stream] [--graph DIR] [--input TEXT] [--db PATH]\n");
	exit(2);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long whole(const char *opt, const char *v, long min)
{
	char *end;
	long x = strtol(v, &end, 10);
	if (*end || end == v || x < min)
		usage("not a valid count for ", opt);
	return x;
}

static options parse_args(int argc, char **argv)
{
	options o = { .mode = "once", .graph = HF_SOURCE_DIR "/agents",
	              .input = "Hola, ¿cómo estás?", .stream = true, .n = 1 };
	for (int i = 1; i < argc; i++) {
		const char *k = argv[i];
		if (!strcmp(k, "--help") || !strcmp(k, "-h"))
			usage(NULL, NULL);
		if (!strcmp(k, "--stream") || !strcmp(k, "--no-stream")) {
			o.stream = !strcmp(k, "--stream");
			continue;
		}
		if (i + 1 >= argc)
			usage("a value is needed after ", k);
		const char *v = argv[++i];
		if (!strcmp(k, "--base-url"))
			o.base_url = v;
		else if (!strcmp(k, "--mode"))
			o.mode = v;
		else if (!strcmp(k, "--graph"))
			o.graph = v;
		else if (!strcmp(k, "--input"))
			o.input = v;
		else if (!strcmp(k, "--db"))
			o.db = v;
		else if (!strcmp(k, "--n"))
			o.n = whole(k, v, 1);
		else if (!strcmp(k, "--warmup"))
			o.warmup = whole(k, v, 0);
		else
			usage("unknown option ", k);
	}
	if (!o.base_url)
		usage("--base-url is required (the endpoint, e.g. http://127.0.0.1:PORT/v1)", NULL);
	if (strcmp(o.mode, "once") && strcmp(o.mode, "seq"))
		usage("--mode must be once or seq, not ", o.mode);
	if (!strcmp(o.mode, "once"))
		o.n = 1;
	return o;
}

static void bench_open(bench *b, const options *o)
{
	hf_client_options co = HF_CLIENT_OPTIONS_INIT;
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	hf_error err;
	memset(b, 0, sizeof(*b));
	co.base_url = o->base_url;
	co.api_key = "dummy"; /* Authorization: Bearer dummy, as the floor sends */
	ro.stream = o->stream;
	b->run = ro;
	b->input = o->input;
	if (hf_global_init(&err) || hf_graph_load(&b->graph, o->graph, NULL, &err) ||
	    hf_client_new(&b->client, &co, b->graph, &err) ||
	    (o->db && hf_store_open_sqlite(&b->store, o->db, &err)))
		die("%s", err.message);
}

static void bench_close(bench *b)
{
	hf_free(b->answer);
	free(b->last_agent);
	hf_store_free(b->store);
	hf_client_free(b->client);
	hf_graph_free(b->graph);
	hf_global_cleanup();
}

/* One triage run in a new session; keeps the answer and the agent. */
static void run_one(bench *b)
{
	hf_session *s;
	hf_error err;
	hf_free(b->answer);
	b->answer = NULL;
	if (hf_session_new(&s, NULL, &err) ||
	    hf_run(&b->answer, b->client, b->graph, s, b->store, b->input, &b->run, &err))
		die("a run failed: %s", err.message);
	if (strcmp(hf_session_agent(s), "Spanish agent"))
		die("the wrong agent answered: %s", hf_session_agent(s));
	if (!b->last_agent && !(b->last_agent = strdup(hf_session_agent(s))))
		die("out of memory");
	hf_session_free(s);
}

static void print_line(const options *o, const bench *b, double wall, double cpu, double *lat)
{
	cJSON *out = bench_line_new("handoff", o->mode, o->stream, o->n, 1, wall, cpu, lat);
	cJSON_AddStringToObject(out, "final_output", b->answer);
	cJSON_AddStringToObject(out, "last_agent", b->last_agent);
	cJSON_AddStringToObject(out, "store", o->db ? "sqlite" : "none");
	char *line = cJSON_PrintUnformatted(out);
	if (!line)
		die("out of memory");
	puts(line);
	free(line);
	cJSON_Delete(out);
}

int main(int argc, char **argv)
{
	options o = parse_args(argc, argv);
	double *lat = malloc((size_t)o.n * sizeof(*lat));
	bench b;
	if (!lat)
		die("out of memory");
	bench_open(&b, &o);
	for (long i = 0; i < o.warmup; i++)
		run_one(&b);
	double t0 = now_ms(), cpu0 = bench_cpu_ms();
	for (long i = 0; i < o.n; i++) {
		double start = now_ms();
		run_one(&b);
		lat[i] = now_ms() - start;
	}
	print_line(&o, &b, now_ms() - t0, bench_cpu_ms() - cpu0, lat);
	bench_close(&b);
	free(lat);
	return 0;
}

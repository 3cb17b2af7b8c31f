/*
 * bench_toolloop.c - handoff running the tool loop of
 * bench/graphs/toolloop.yaml: one agent offered the `echo` tool of an MCP
 * server over stdio (tests/mcp_test_server.c, found on PATH), against an
 * OpenAI-compatible endpoint (bench/run: `handoff mock`, which calls the
 * tool the user's message names, then answers with its result). Each run
 * is one user turn in a fresh in-memory session: two model calls and one
 * tools/call. One graph, one started tool set (one server process, its
 * tools listed once) and one client or engine for all runs. The contender
 * "handoff" of the tool-loop rows, set against the Agents SDK
 * (bench/peers/toolloop.mjs); it prints the same JSON line.
 *
 *   bench_toolloop --base-url http://127.0.0.1:PORT/v1 [--mode once|seq|conc]
 *                  [--n N] [--warmup W] [--concurrency K]
 *                  [--stream | --no-stream] [--graph FILE] [--input TEXT]
 *
 * seq and once: hf_run, one turn after the other. conc: the engine on this
 * thread, K turns in flight (a new one submitted as one completes).
 * --stream (the default) streams both replies. A run that fails, or whose
 * answer differs from the first run's, fails the benchmark (exit 1).
 * Output (docs/bench-peers.md, "Output line"), CPU and peak RSS of this
 * process only (not the MCP server's):
 *   {"contender":"handoff","mode":…,"stream":…,"n":…,"concurrency":…,
 *    "wall_ms":…,"ms_per_run":…,"runs_per_s":…,"cpu_us_per_run":…,
 *    "p50_ms":…,"p99_ms":…,"peak_rss_kib":…,"final_output":…,"last_agent":…}
 */
#include "bench_line.h"

#include <handoff.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct options {
	const char *base_url, *mode, *graph, *input;
	bool stream;
	long n, warmup, concurrency;
} options;

typedef struct bench {
	const options *o;
	hf_graph *graph;
	hf_tools *tools;
	hf_client *client;     /* seq, once */
	hf_engine *engine;     /* conc */
	hf_run_options run;
	char *answer;          /* the first run's answer */
	char *last_agent;      /* and its agent */
	/* conc */
	long submitted, completed, target;
	double *started;       /* per turn id, ms */
	double *lat;           /* per timed run, ms */
	long timed_from;       /* completions before this one are warm-up */
} bench;

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "bench_toolloop: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

__attribute__((noreturn)) static void usage(const char *msg, const char *arg)
{
	if (msg)
		fprintf(stderr, "bench_toolloop: %s%s\n", msg, arg ? arg : "");
	fprintf(stderr,
	        "usage: bench_toolloop --base-url URL [--mode once|seq|conc] [--n N] [--warmup W]\n"
	        "       [--concurrency K] [--stream | --no-stream] [--graph FILE] [--input TEXT]\n");
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
	options o = { .mode = "once", .graph = HF_SOURCE_DIR "/bench/graphs/toolloop.yaml",
	              .input = "echo {\"text\":\"hello\"}", .stream = true, .n = 1,
	              .concurrency = 50 };
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
		else if (!strcmp(k, "--n"))
			o.n = whole(k, v, 1);
		else if (!strcmp(k, "--warmup"))
			o.warmup = whole(k, v, 0);
		else if (!strcmp(k, "--concurrency"))
			o.concurrency = whole(k, v, 1);
		else
			usage("unknown option ", k);
	}
	if (!o.base_url)
		usage("--base-url is required (the endpoint, e.g. http://127.0.0.1:PORT/v1)", NULL);
	if (strcmp(o.mode, "once") && strcmp(o.mode, "seq") && strcmp(o.mode, "conc"))
		usage("--mode must be once, seq or conc, not ", o.mode);
	if (!strcmp(o.mode, "once"))
		o.n = 1;
	if (strcmp(o.mode, "conc"))
		o.concurrency = 1;
	else if (o.concurrency > o.n)
		o.concurrency = o.n;
	return o;
}

/* Keep the first answer; every later one must be the same. */
static void check_answer(bench *b, const char *answer, const char *agent)
{
	if (!b->answer) {
		if (!(b->answer = strdup(answer)) || !(b->last_agent = strdup(agent)))
			die("out of memory");
	} else if (strcmp(b->answer, answer) || strcmp(b->last_agent, agent)) {
		die("a run answered differently: [%s] %s, not [%s] %s", agent, answer,
		    b->last_agent, b->answer);
	}
}

/* ---- seq, once: hf_run ---- */

static void run_one(bench *b)
{
	hf_session *s;
	hf_error err;
	char *answer = NULL;
	if (hf_session_new(&s, NULL, &err) ||
	    hf_run(&answer, b->client, b->graph, s, NULL, b->o->input, &b->run, &err))
		die("a run failed: %s", err.message);
	check_answer(b, answer, hf_session_agent(s));
	hf_free(answer);
	hf_session_free(s);
}

/* ---- conc: the engine, K in flight ---- */

static void submit_one(bench *b)
{
	hf_session *s;
	hf_error err;
	uint64_t id;
	if (hf_session_new(&s, NULL, &err))
		die("session: %s", err.message);
	b->run.payload = s;
	if (hf_engine_submit(&id, b->engine, b->graph, s, NULL, b->o->input, &b->run, &err))
		die("submit: %s", err.message);
	if (id > (uint64_t)(b->o->n + b->o->warmup + b->o->concurrency))
		die("unexpected turn id %llu", (unsigned long long)id);
	b->started[id] = now_ms();
	b->submitted++;
}

static void on_complete(const hf_completion *c, void *payload)
{
	bench *b = payload;
	if (c->code != HF_OK)
		die("a turn failed: %s", c->error->message);
	check_answer(b, c->answer, c->agent);
	if (b->completed >= b->timed_from)
		b->lat[b->completed - b->timed_from] = now_ms() - b->started[c->turn_id];
	b->completed++;
	hf_session_free((hf_session *)c->payload);
	if (b->submitted < b->target)
		submit_one(b);
}

/* Run turns [completed, target) with K in flight; returns when all ended. */
static void drive(bench *b, long target)
{
	hf_error err;
	b->target = target;
	while (b->submitted < target && b->submitted - b->completed < b->o->concurrency)
		submit_one(b);
	while (b->completed < target)
		if (hf_engine_perform(b->engine, 1000, &err) < 0)
			die("perform: %s", err.message);
}

/* ---- set-up ---- */

static void bench_open(bench *b, const options *o)
{
	hf_client_options co = HF_CLIENT_OPTIONS_INIT;
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	hf_error err;
	hf_diag *diags = NULL;
	memset(b, 0, sizeof(*b));
	b->o = o;
	co.base_url = o->base_url;
	co.api_key = "dummy";
	if (hf_global_init(&err) || hf_graph_load(&b->graph, o->graph, NULL, &err) ||
	    hf_tools_new(&b->tools, b->graph, NULL, &err))
		die("%s", err.message);
	if (hf_tools_start(b->tools, &diags, &err))
		die("starting the graph's MCP servers: %s", err.message);
	hf_diag_free(diags);
	ro.stream = o->stream;
	ro.tools = b->tools;
	b->run = ro;
	if (!strcmp(o->mode, "conc")) {
		hf_engine_options eo = HF_ENGINE_OPTIONS_INIT;
		eo.client = &co;
		eo.on_complete = on_complete;
		eo.payload = b;
		b->started = calloc((size_t)(o->n + o->warmup + o->concurrency) + 1, sizeof(double));
		if (!b->started)
			die("out of memory");
		if (hf_engine_new(&b->engine, &eo, &err))
			die("engine: %s", err.message);
	} else if (hf_client_new(&b->client, &co, b->graph, &err)) {
		die("%s", err.message);
	}
}

static void bench_close(bench *b)
{
	hf_engine_free(b->engine);
	hf_client_free(b->client);
	hf_tools_free(b->tools);
	hf_graph_free(b->graph);
	hf_global_cleanup();
	free(b->started);
	free(b->answer);
	free(b->last_agent);
}

int main(int argc, char **argv)
{
	options o = parse_args(argc, argv);
	bench b;
	double t0, cpu0, wall, cpu;
	bench_open(&b, &o);
	b.lat = malloc((size_t)o.n * sizeof(*b.lat));
	if (!b.lat)
		die("out of memory");
	if (b.engine) {
		b.timed_from = o.warmup;
		drive(&b, o.warmup);
		t0 = now_ms();
		cpu0 = bench_cpu_ms();
		drive(&b, o.warmup + o.n);
	} else {
		for (long i = 0; i < o.warmup; i++)
			run_one(&b);
		t0 = now_ms();
		cpu0 = bench_cpu_ms();
		for (long i = 0; i < o.n; i++) {
			double start = now_ms();
			run_one(&b);
			b.lat[i] = now_ms() - start;
		}
	}
	wall = now_ms() - t0;
	cpu = bench_cpu_ms() - cpu0;
	cJSON *out = bench_line_new("handoff", o.mode, o.stream, o.n, o.concurrency, wall, cpu, b.lat);
	cJSON_AddStringToObject(out, "final_output", b.answer);
	cJSON_AddStringToObject(out, "last_agent", b.last_agent);
	char *line = cJSON_PrintUnformatted(out);
	if (!line)
		die("out of memory");
	puts(line);
	free(line);
	cJSON_Delete(out);
	free(b.lat);
	bench_close(&b);
	return 0;
}

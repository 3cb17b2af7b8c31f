/*
 * bench_serve_load.c - the load generator for `handoff serve` (issue 12,
 * "Performance"): K concurrent streaming chat-completions clients on one
 * libcurl multi handle against a URL. Each client sends one stateless turn
 * (one user message, "stream": true, no session), reads the SSE stream to
 * `data: [DONE]` (parsed with the project's src/sse.c), records the turn's
 * latency (request added to the stream's end) and sends the next, until N
 * turns are done. A warm-up round of K turns (connections opened) comes
 * first and is not timed.
 *
 *   bench_serve_load --url http://127.0.0.1:PORT/v1 [--model NAME]
 *                    [--clients K] [--turns N] [--warmup W] [--input TEXT]
 *
 * A turn is an error when the transfer fails, the status is not 200, the
 * stream has an error chunk, or it ends without a `finish_reason` "stop"
 * chunk and [DONE]. Prints one JSON line:
 *   {"contender":"serve_load","clients":K,"turns":N,"wall_ms":…,
 *    "turns_per_s":…,"p50_ms":…,"p99_ms":…,"errors":E,"cpu_ms":…,
 *    "first_error":"…"}
 * Exit status: 0 (even with errors: the caller judges), 1 when it could not
 * run, 2 on a usage error.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "sse.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct options {
	const char *url, *model, *input;
	long clients, turns, warmup;
} options;

typedef struct client {
	CURL *easy;
	hf_sse sse;
	double started;
	bool stopped, errored, done;
	char note[160];     /* why this turn is an error */
} client;

typedef struct load {
	const options *o;
	CURLM *multi;
	struct curl_slist *headers;
	char *body;
	char url[512];
	client *clients;
	long submitted, completed, target, errors;
	double *lat;        /* NULL during the warm-up */
	char first_error[200];
} load;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The process's CPU time (user + system, all threads), ms. */
static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Nearest rank of the sorted latencies (as bench_line.h). */
static double percentile(const double *sorted, long n, double p)
{
	long i = (long)ceil(p / 100.0 * (double)n) - 1;
	return sorted[i < 0 ? 0 : i >= n ? n - 1 : i];
}

/* Figures keep three decimals. */
static double ms3(double x)
{
	return round(x * 1000.0) / 1000.0;
}

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "bench_serve_load: %s%s\n", what, detail ? detail : "");
	exit(1);
}

static void usage(const char *what, const char *detail)
{
	fprintf(stderr, "bench_serve_load: %s%s\n"
	        "usage: bench_serve_load --url http://HOST:PORT/v1 [--model NAME] [--clients K]\n"
	        "       [--turns N] [--warmup W] [--input TEXT]\n", what, detail ? detail : "");
	exit(2);
}

/* One SSE event of a client's stream. */
static int on_event(void *payload, const char *event, const char *data, size_t len)
{
	client *c = payload;
	(void)event;
	(void)len;
	if (!strcmp(data, "[DONE]"))
		return 0;
	if (strstr(data, "\"error\"") && !c->errored) {
		c->errored = true;
		snprintf(c->note, sizeof(c->note), "error chunk: %.120s", data);
	}
	if (strstr(data, "\"finish_reason\":\"stop\""))
		c->done = true;
	return 0;
}

static size_t on_body(char *buf, size_t size, size_t n, void *payload)
{
	client *c = payload;
	hf_error err;
	if (!c->stopped && hf_sse_feed(&c->sse, buf, size * n, &err) != HF_OK) {
		c->stopped = c->errored = true;
		snprintf(c->note, sizeof(c->note), "bad event stream: %.100s", err.message);
	}
	return size * n;
}

/* Start a turn on client c. */
static void start(load *l, client *c)
{
	hf_sse_dispose(&c->sse);
	hf_sse_init(&c->sse, 0, on_event, c);
	c->stopped = c->errored = c->done = false;
	c->note[0] = '\0';
	c->started = now_ms();
	if (curl_multi_add_handle(l->multi, c->easy) != CURLM_OK)
		die("curl_multi_add_handle failed", NULL);
	l->submitted++;
}

/* A client's transfer ended: judge the turn, record it, start the next. */
static void finish(load *l, client *c, CURLcode rc)
{
	long status = 0;
	hf_error err;
	double ms = now_ms() - c->started;
	curl_multi_remove_handle(l->multi, c->easy);
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	if (!c->stopped)
		hf_sse_finish(&c->sse, &err);
	if (rc != CURLE_OK)
		snprintf(c->note, sizeof(c->note), "transfer: %s", curl_easy_strerror(rc));
	else if (status != 200)
		snprintf(c->note, sizeof(c->note), "HTTP status %ld", status);
	else if (!c->errored && (!c->sse.done || !c->done))
		snprintf(c->note, sizeof(c->note), "the stream ended without a stop chunk and [DONE]");
	if (c->note[0]) {
		l->errors++;
		if (!l->first_error[0])
			snprintf(l->first_error, sizeof(l->first_error), "%s", c->note);
	}
	if (l->lat)
		l->lat[l->completed] = ms;
	l->completed++;
	if (l->submitted < l->target)
		start(l, c);
}

/* n turns, at most K in flight. */
static void run(load *l, long n, double *lat)
{
	long i, k = l->o->clients < n ? l->o->clients : n;
	l->submitted = l->completed = 0;
	l->target = n;
	l->lat = lat;
	for (i = 0; i < k; i++)
		start(l, &l->clients[i]);
	while (l->completed < n) {
		int running, left;
		CURLMsg *msg;
		CURLMcode mc = curl_multi_perform(l->multi, &running);
		if (mc != CURLM_OK)
			die("curl_multi_perform: ", curl_multi_strerror(mc));
		while ((msg = curl_multi_info_read(l->multi, &left))) {
			client *c;
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
			finish(l, c, msg->data.result);
		}
		if (l->completed < n && (mc = curl_multi_poll(l->multi, NULL, 0, 1000, NULL)) != CURLM_OK)
			die("curl_multi_poll: ", curl_multi_strerror(mc));
	}
}

static char *request_body(const options *o)
{
	cJSON *b = cJSON_CreateObject(), *msgs, *m;
	char *s;
	cJSON_AddStringToObject(b, "model", o->model);
	msgs = cJSON_AddArrayToObject(b, "messages");
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", "user");
	cJSON_AddStringToObject(m, "content", o->input);
	cJSON_AddItemToArray(msgs, m);
	cJSON_AddTrueToObject(b, "stream");
	s = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	if (!s)
		die("out of memory", NULL);
	return s;
}

static long whole(const char *name, const char *v, long min)
{
	char *end;
	long n = v ? strtol(v, &end, 10) : 0;
	if (!v || *end || n < min)
		usage(name, min ? " needs a whole number of at least 1" : " needs a whole number");
	return n;
}

int main(int argc, char **argv)
{
	options o = { .model = "agents", .input = "Hola, ¿cómo estás?", .clients = 50,
		      .turns = 500, .warmup = -1 };
	struct rlimit rl;
	load l = { .o = &o };
	double t0, wall, cpu0, *lat;
	cJSON *out;
	char *line;
	long i;

	for (i = 1; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(k, "--url") && v)
			o.url = v, i++;
		else if (!strcmp(k, "--model") && v)
			o.model = v, i++;
		else if (!strcmp(k, "--input") && v)
			o.input = v, i++;
		else if (!strcmp(k, "--clients"))
			o.clients = whole(k, v, 1), i++;
		else if (!strcmp(k, "--turns"))
			o.turns = whole(k, v, 1), i++;
		else if (!strcmp(k, "--warmup"))
			o.warmup = whole(k, v, 0), i++;
		else
			usage("unknown option ", k);
	}
	if (!o.url)
		usage("--url is required", NULL);
	if (o.warmup < 0)
		o.warmup = o.clients; /* one round: every connection opened */
	/* One descriptor per client. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		die("curl_global_init failed", NULL);
	snprintf(l.url, sizeof(l.url), "%s/chat/completions", o.url);
	l.body = request_body(&o);
	l.headers = curl_slist_append(NULL, "Content-Type: application/json");
	l.headers = curl_slist_append(l.headers, "Accept: text/event-stream");
	l.multi = curl_multi_init();
	l.clients = calloc((size_t)o.clients, sizeof(*l.clients));
	lat = calloc((size_t)o.turns, sizeof(*lat));
	if (!l.multi || !l.clients || !lat)
		die("out of memory", NULL);
	/* Every client keeps its own connection; none is capped or shared. */
	curl_multi_setopt(l.multi, CURLMOPT_MAXCONNECTS, o.clients);
	for (i = 0; i < o.clients; i++) {
		client *c = &l.clients[i];
		if (!(c->easy = curl_easy_init()))
			die("curl_easy_init failed", NULL);
		hf_sse_init(&c->sse, 0, on_event, c);
		curl_easy_setopt(c->easy, CURLOPT_URL, l.url);
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, l.body);
		curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, l.headers);
		curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
		curl_easy_setopt(c->easy, CURLOPT_PRIVATE, (char *)c);
		curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c->easy, CURLOPT_TCP_NODELAY, 1L);
	}
	if (o.warmup)
		run(&l, o.warmup, NULL);
	l.errors = 0; /* the warm-up's errors show in the timed turns' too */
	l.first_error[0] = '\0';
	cpu0 = cpu_ms();
	t0 = now_ms();
	run(&l, o.turns, lat);
	wall = now_ms() - t0;
	qsort(lat, (size_t)o.turns, sizeof(*lat), by_value);
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "contender", "serve_load");
	cJSON_AddNumberToObject(out, "clients", (double)o.clients);
	cJSON_AddNumberToObject(out, "turns", (double)o.turns);
	cJSON_AddNumberToObject(out, "wall_ms", ms3(wall));
	cJSON_AddNumberToObject(out, "turns_per_s", ms3((double)o.turns / wall * 1000.0));
	cJSON_AddNumberToObject(out, "p50_ms", ms3(percentile(lat, o.turns, 50)));
	cJSON_AddNumberToObject(out, "p99_ms", ms3(percentile(lat, o.turns, 99)));
	cJSON_AddNumberToObject(out, "max_ms", ms3(lat[o.turns - 1]));
	cJSON_AddNumberToObject(out, "errors", (double)l.errors);
	cJSON_AddNumberToObject(out, "cpu_ms", ms3(cpu_ms() - cpu0));
	cJSON_AddStringToObject(out, "first_error", l.first_error);
	if (!(line = cJSON_PrintUnformatted(out)))
		die("out of memory", NULL);
	printf("%s\n", line);
	fflush(stdout);
	free(line);
	cJSON_Delete(out);
	for (i = 0; i < o.clients; i++) {
		hf_sse_dispose(&l.clients[i].sse);
		curl_easy_cleanup(l.clients[i].easy);
	}
	curl_multi_cleanup(l.multi);
	curl_slist_free_all(l.headers);
	free(l.body);
	free(l.clients);
	free(lat);
	curl_global_cleanup();
	return 0;
}

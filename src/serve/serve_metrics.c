/*
 * serve_metrics.c - the process's counters and latency histograms, and
 * their Prometheus text exposition (GET /metrics).
 *
 * Counting is lock-free (atomics). Labelled series whose label values come
 * from the graphs (model, from/to agent) live in small fixed tables: a new
 * label set takes a slot under a mutex (rare), counting in an existing
 * slot is an atomic add; when a table is full, new label sets are counted
 * under the value "other".
 */
#include "serve.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_MAX 64     /* bytes of a label value kept (longer: cut) */
#define PAIRS_MAX 128    /* from/to pairs */
#define TURN_ROWS_MAX 256 /* model/code pairs */
#define STATUS_MIN 100
#define STATUS_MAX 599

/* ---- histograms: fixed buckets, sums in microseconds ---- */

static const double turn_bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	                              1,     2.5,  5,     10,   30,  60,   120 };
static const double call_bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
	                              0.25,  0.5,    1,     2.5,  5,     10,   30, 60 };
#define NTURN (sizeof(turn_bounds) / sizeof(turn_bounds[0]))
#define NCALL (sizeof(call_bounds) / sizeof(call_bounds[0]))

typedef struct histogram {
	const double *bounds;
	size_t n;
	atomic_uint_fast64_t buckets[16]; /* per bound, not cumulative; [n]: +Inf */
	atomic_uint_fast64_t sum_us;
	atomic_uint_fast64_t count;
} histogram;

static histogram turn_hist = { turn_bounds, NTURN, { 0 }, 0, 0 };
static histogram call_hist = { call_bounds, NCALL, { 0 }, 0, 0 };

static void observe(histogram *h, double seconds)
{
	size_t i = 0;
	if (seconds < 0)
		seconds = 0;
	while (i < h->n && seconds > h->bounds[i])
		i++;
	atomic_fetch_add(&h->buckets[i], 1);
	atomic_fetch_add(&h->sum_us, (uint_fast64_t)(seconds * 1e6 + 0.5));
	atomic_fetch_add(&h->count, 1);
}

/* ---- labelled rows ---- */

typedef struct row {
	char a[LABEL_MAX], b[LABEL_MAX];
	atomic_uint_fast64_t count;
} row;

typedef struct table {
	pthread_mutex_t lock;
	row *rows;
	size_t cap;
	atomic_size_t n; /* rows [0, n) are complete */
} table;

static row pair_rows[PAIRS_MAX], turn_rows[TURN_ROWS_MAX];
static table pairs = { PTHREAD_MUTEX_INITIALIZER, pair_rows, PAIRS_MAX, 0 };
static table turns = { PTHREAD_MUTEX_INITIALIZER, turn_rows, TURN_ROWS_MAX, 0 };

static atomic_uint_fast64_t status_counts[STATUS_MAX - STATUS_MIN + 1];
static atomic_uint_fast64_t model_calls;
/* errors by hf_code: the codes are small negative numbers */
#define CODES 64
static atomic_uint_fast64_t error_counts[CODES];

static row *find(table *t, size_t n, const char *a, const char *b)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (!strncmp(t->rows[i].a, a, LABEL_MAX - 1) && !strncmp(t->rows[i].b, b, LABEL_MAX - 1))
			return &t->rows[i];
	return NULL;
}

/* The row of (a, b), made when new; the last slot is kept for ("other",
 * "other") so that a full table still counts. */
static row *table_row(table *t, const char *a, const char *b)
{
	row *r = find(t, atomic_load(&t->n), a, b);
	size_t n;
	if (r)
		return r;
	pthread_mutex_lock(&t->lock);
	n = atomic_load(&t->n);
	if (!(r = find(t, n, a, b))) {
		if (n + 1 >= t->cap) {
			a = "other";
			b = "other";
			r = find(t, n, a, b);
		}
		if (!r) {
			r = &t->rows[n];
			snprintf(r->a, sizeof(r->a), "%s", a);
			snprintf(r->b, sizeof(r->b), "%s", b);
			atomic_store(&t->n, n + 1);
		}
	}
	pthread_mutex_unlock(&t->lock);
	return r;
}

void serve_metrics_turn(const char *model, int code, double seconds)
{
	row *r = table_row(&turns, model ? model : "", hf_code_name(code));
	atomic_fetch_add(&r->count, 1);
	observe(&turn_hist, seconds);
	if (code != HF_OK && code > -CODES && code <= 0)
		atomic_fetch_add(&error_counts[-code], 1);
}

void serve_metrics_model_call(double seconds)
{
	atomic_fetch_add(&model_calls, 1);
	observe(&call_hist, seconds);
}

void serve_metrics_handoff(const char *from, const char *to)
{
	row *r = table_row(&pairs, from ? from : "", to ? to : "");
	atomic_fetch_add(&r->count, 1);
}

void serve_metrics_request(int status)
{
	if (status >= STATUS_MIN && status <= STATUS_MAX)
		atomic_fetch_add(&status_counts[status - STATUS_MIN], 1);
}

/* ---- rendering ---- */

typedef struct out {
	char *s;
	size_t len, cap;
	bool failed;
} out;

static void put(out *o, const char *fmt, ...)
{
	va_list ap;
	int n;
	for (;;) {
		size_t room = o->cap - o->len;
		va_start(ap, fmt);
		n = o->failed ? 0 : vsnprintf(o->s + o->len, room, fmt, ap);
		va_end(ap);
		if (o->failed || n < 0) {
			o->failed = true;
			return;
		}
		if ((size_t)n < room) {
			o->len += (size_t)n;
			return;
		}
		{
			size_t cap = (o->cap + (size_t)n + 1) * 2;
			char *t = realloc(o->s, cap);
			if (!t) {
				o->failed = true;
				return;
			}
			o->s = t;
			o->cap = cap;
		}
	}
}

/* A label value escaped per the text format: \\, \", \n. */
static const char *esc(char *buf, size_t size, const char *v)
{
	size_t n = 0;
	for (; *v && n + 3 < size; v++) {
		if (*v == '\\' || *v == '"') {
			buf[n++] = '\\';
			buf[n++] = *v;
		} else if (*v == '\n') {
			buf[n++] = '\\';
			buf[n++] = 'n';
		} else {
			buf[n++] = *v;
		}
	}
	buf[n] = '\0';
	return buf;
}

static void render_histogram(out *o, const char *name, const char *help, histogram *h)
{
	uint_fast64_t cum = 0;
	size_t i;
	put(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (i = 0; i < h->n; i++) {
		cum += atomic_load(&h->buckets[i]);
		put(o, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i], (unsigned long long)cum);
	}
	cum += atomic_load(&h->buckets[h->n]);
	put(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
	put(o, "%s_sum %.6f\n", name, (double)atomic_load(&h->sum_us) / 1e6);
	/* the count is the +Inf bucket, so that the two always agree */
	put(o, "%s_count %llu\n", name, (unsigned long long)cum);
}

char *serve_metrics_render(size_t in_flight)
{
	out o = { NULL, 0, 0, false };
	char a[2 * LABEL_MAX + 8], b[2 * LABEL_MAX + 8];
	size_t i, n;

	put(&o, "# HELP handoff_requests_total HTTP requests answered, by status.\n"
	        "# TYPE handoff_requests_total counter\n");
	for (i = 0; i <= STATUS_MAX - STATUS_MIN; i++) {
		uint_fast64_t c = atomic_load(&status_counts[i]);
		if (c)
			put(&o, "handoff_requests_total{status=\"%zu\"} %llu\n", i + STATUS_MIN,
			    (unsigned long long)c);
	}
	put(&o, "# HELP handoff_turns_total Turns completed, by model and result code.\n"
	        "# TYPE handoff_turns_total counter\n");
	n = atomic_load(&turns.n);
	for (i = 0; i < n; i++)
		put(&o, "handoff_turns_total{model=\"%s\",code=\"%s\"} %llu\n",
		    esc(a, sizeof(a), turn_rows[i].a), esc(b, sizeof(b), turn_rows[i].b),
		    (unsigned long long)atomic_load(&turn_rows[i].count));
	put(&o, "# HELP handoff_model_calls_total Model calls made by turns.\n"
	        "# TYPE handoff_model_calls_total counter\n"
	        "handoff_model_calls_total %llu\n",
	    (unsigned long long)atomic_load(&model_calls));
	put(&o, "# HELP handoff_handoffs_total Handoffs between agents, by from and to.\n"
	        "# TYPE handoff_handoffs_total counter\n");
	n = atomic_load(&pairs.n);
	for (i = 0; i < n; i++)
		put(&o, "handoff_handoffs_total{from=\"%s\",to=\"%s\"} %llu\n",
		    esc(a, sizeof(a), pair_rows[i].a), esc(b, sizeof(b), pair_rows[i].b),
		    (unsigned long long)atomic_load(&pair_rows[i].count));
	put(&o, "# HELP handoff_errors_total Turns that failed, by error code.\n"
	        "# TYPE handoff_errors_total counter\n");
	for (i = 1; i < CODES; i++) {
		uint_fast64_t c = atomic_load(&error_counts[i]);
		if (c)
			put(&o, "handoff_errors_total{code=\"%s\"} %llu\n",
			    esc(a, sizeof(a), hf_code_name(-(int)i)), (unsigned long long)c);
	}
	put(&o, "# HELP handoff_turns_in_flight Turns running now.\n"
	        "# TYPE handoff_turns_in_flight gauge\n"
	        "handoff_turns_in_flight %zu\n",
	    in_flight);
	render_histogram(&o, "handoff_turn_seconds", "Turn latency in seconds.", &turn_hist);
	render_histogram(&o, "handoff_model_call_seconds", "Model call latency in seconds.",
	                 &call_hist);
	if (o.failed) {
		free(o.s);
		return NULL;
	}
	return o.s;
}

/*
 * bench_line.h - the one JSON line a triage contender prints
 * (docs/bench-peers.md, "Output line"): its figures from the wall time and
 * the process's CPU time of the N timed runs, and their latencies. Header-only, shared by the
 * benchmark programs (bench_triage, bench_floor).
 */
#ifndef BENCH_LINE_H
#define BENCH_LINE_H

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

/* The process's CPU time (user + system, all threads), ms. */
static double bench_cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int bench_line_by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Nearest rank of the sorted latencies. */
static double bench_line_percentile(const double *sorted, long n, double p)
{
	long i = (long)ceil(p / 100.0 * (double)n) - 1;
	return sorted[i < 0 ? 0 : i >= n ? n - 1 : i];
}

/* Figures keep three decimals. */
static double bench_line_ms3(double x)
{
	return round(x * 1000.0) / 1000.0;
}

/* The line's object up to peak_rss_kib, for the caller to add its answer
 * (final_output, last_agent) and print. Sorts lat[0..n) in place. NULL
 * when out of memory. */
static cJSON *bench_line_new(const char *contender, const char *mode, bool stream, long n,
                             long concurrency, double wall_ms, double cpu_ms, double *lat)
{
	struct rusage ru;
	cJSON *out = cJSON_CreateObject();
	qsort(lat, (size_t)n, sizeof(*lat), bench_line_by_value);
	getrusage(RUSAGE_SELF, &ru);
	cJSON_AddStringToObject(out, "contender", contender);
	cJSON_AddStringToObject(out, "mode", mode);
	cJSON_AddBoolToObject(out, "stream", stream);
	cJSON_AddNumberToObject(out, "n", (double)n);
	cJSON_AddNumberToObject(out, "concurrency", (double)concurrency);
	cJSON_AddNumberToObject(out, "wall_ms", bench_line_ms3(wall_ms));
	cJSON_AddNumberToObject(out, "ms_per_run", bench_line_ms3(wall_ms / (double)n));
	cJSON_AddNumberToObject(out, "runs_per_s", bench_line_ms3((double)n * 1000.0 / wall_ms));
	cJSON_AddNumberToObject(out, "cpu_us_per_run", bench_line_ms3(cpu_ms * 1000.0 / (double)n));
	cJSON_AddNumberToObject(out, "p50_ms", bench_line_ms3(bench_line_percentile(lat, n, 50)));
	cJSON_AddNumberToObject(out, "p99_ms", bench_line_ms3(bench_line_percentile(lat, n, 99)));
	cJSON_AddNumberToObject(out, "peak_rss_kib", (double)ru.ru_maxrss);
	return out;
}

#endif

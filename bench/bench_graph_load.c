/*
 * bench_graph_load.c - loading a large agent graph: 1,000 agents with 10
 * handoffs each, generated as YAML text, loaded from memory and from a
 * directory of one file per agent. Prints the median time of N loads and
 * the peak RSS of the process, one line per source:
 *
 *   graph_load agents=1000 handoffs=10 ms_median=… peak_rss_kib=… cpu_ms_median=…
 *              source=memory|directory …
 *
 * ms is wall-clock time; cpu_ms is this process's CPU time, which stays
 * honest when other work shares the machine's cores.
 *
 *   bench_graph_load [--agents A] [--handoffs H] [--runs N]
 * Target (issue 2): ≤ 20 ms and ≤ 20 MiB.
 */
#include "handoff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* Agent i: a list item (first "  - ", indent "    ") or a file ("", ""). */
static void put_agent(FILE *f, int i, int agents, int handoffs, const char *first,
                      const char *indent)
{
	int h;
	fprintf(f, "%sname: Agent %04d\n", first, i);
	fprintf(f, "%sdescription: Specialist number %d.\n", indent, i);
	fprintf(f, "%sinstructions: |\n", indent);
	fprintf(f, "%s  You are one of many specialists. Answer questions in your area\n", indent);
	fprintf(f, "%s  accurately and briefly; hand the conversation to a colleague\n", indent);
	fprintf(f, "%s  when the question belongs to another area.\n", indent);
	fprintf(f, "%shandoff_prompt: true\n%shandoffs: [", indent, indent);
	for (h = 1; h <= handoffs; h++)
		fprintf(f, "%sAgent %04d", h > 1 ? ", " : "", (i + h) % agents);
	fprintf(f, "]\n");
}

static char *graph_text(int agents, int handoffs, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);
	int i;
	if (!f)
		die("open_memstream");
	fprintf(f, "entry: Agent 0000\nmodel: gpt-4o-mini\nagents:\n");
	for (i = 0; i < agents; i++)
		put_agent(f, i, agents, handoffs, "  - ", "    ");
	fclose(f);
	return text;
}

static char *graph_dir(int agents, int handoffs)
{
	char *dir = strdup("/tmp/hf-bench-graph-XXXXXX"), path[4096];
	FILE *f;
	int i;
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(path, sizeof(path), "%s/handoff.yaml", dir);
	if (!(f = fopen(path, "w")))
		die(path);
	fprintf(f, "entry: Agent 0000\nmodel: gpt-4o-mini\n");
	fclose(f);
	for (i = 0; i < agents; i++) {
		snprintf(path, sizeof(path), "%s/agent_%04d.yaml", dir, i);
		if (!(f = fopen(path, "w")))
			die(path);
		put_agent(f, i, agents, handoffs, "", "");
		fclose(f);
	}
	return dir;
}

static void remove_dir(const char *dir, int agents)
{
	char path[4096];
	int i;
	for (i = 0; i < agents; i++) {
		snprintf(path, sizeof(path), "%s/agent_%04d.yaml", dir, i);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/handoff.yaml", dir);
	unlink(path);
	rmdir(dir);
}

static double clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Load n times (from text when not NULL, else from dir): median wall and
 * CPU milliseconds. */
static void measure(const char *text, size_t len, const char *dir, int runs, int agents,
                    double *wall_ms, double *cpu_ms)
{
	double *wall = calloc((size_t)runs, sizeof(*wall)), *cpu = calloc((size_t)runs, sizeof(*cpu));
	int r;
	for (r = 0; r < runs; r++) {
		hf_graph *g = NULL;
		hf_error err;
		double w0 = clock_ms(CLOCK_MONOTONIC), c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
		int rc = text ? hf_graph_load_string(&g, text, len, "bench.yaml", NULL, &err)
		              : hf_graph_load(&g, dir, NULL, &err);
		wall[r] = clock_ms(CLOCK_MONOTONIC) - w0;
		cpu[r] = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
		if (rc || hf_graph_agent_count(g) != (size_t)agents) {
			fprintf(stderr, "bench_graph_load: %s\n", err.message);
			exit(1);
		}
		hf_graph_free(g);
	}
	*wall_ms = median(wall, runs);
	*cpu_ms = median(cpu, runs);
	free(wall);
	free(cpu);
}

static long peak_rss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss; /* KiB on Linux */
}

int main(int argc, char **argv)
{
	int agents = 1000, handoffs = 10, runs = 21, i;
	size_t len;
	char *text, *dir;
	double ms, cpu;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--agents"))
			agents = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--handoffs"))
			handoffs = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--runs"))
			runs = atoi(argv[i + 1]);
		else
			break;
	}
	if (i < argc || agents < 2 || handoffs < 0 || handoffs >= agents || runs < 1) {
		fprintf(stderr, "usage: bench_graph_load [--agents A] [--handoffs H] [--runs N]\n");
		return 2;
	}

	text = graph_text(agents, handoffs, &len);
	measure(text, len, NULL, runs, agents, &ms, &cpu);
	printf("graph_load agents=%d handoffs=%d ms_median=%.2f peak_rss_kib=%ld cpu_ms_median=%.2f "
	       "source=memory bytes=%zu runs=%d\n", agents, handoffs, ms, peak_rss_kib(), cpu, len, runs);
	free(text);

	dir = graph_dir(agents, handoffs);
	measure(NULL, 0, dir, runs, agents, &ms, &cpu);
	printf("graph_load agents=%d handoffs=%d ms_median=%.2f peak_rss_kib=%ld cpu_ms_median=%.2f "
	       "source=directory files=%d runs=%d\n", agents, handoffs, ms, peak_rss_kib(), cpu,
	       agents + 1, runs);
	remove_dir(dir, agents);
	free(dir);
	return 0;
}

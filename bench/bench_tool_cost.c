/*
 * bench_tool_cost.c - what a C callback tool costs handoff inside a turn
 * (issue 11: "≤ 2 µs of handoff CPU per call beyond the extra model
 * call"). In process, through hf_run, against an OpenAI-compatible
 * endpoint in another process (bench/run: `handoff mock` on the other
 * CPU), one graph, client and tool set for all turns, a fresh in-memory
 * session per turn. Three kinds of turn, each of two model calls:
 *
 *   tool     `lookup {"text":"hola"}`: the model calls the C tool lookup,
 *            handoff runs it, the same agent is called again and answers;
 *   two      `lookup lookup_more {"text":"hola"}`: the same with two calls
 *            of C tools in the first reply;
 *   handoff  `Hola, ¿cómo estás?`: the model hands off to the Spanish
 *            agent, which answers (no function tool).
 *
 * Both agents are offered both tools and one handoff, with instructions of
 * the same length, so every request carries the same tools array and
 * bodies of nearly the same size. The kinds run in blocks, taking turns
 * (order rotated each round), so load from elsewhere falls on all alike.
 * The CPU time of this process (CLOCK_PROCESS_CPUTIME_ID; the mock is
 * another process) per turn of each kind gives:
 *
 *   tool_vs_handoff_us  tool - handoff: a tool call and its result in
 *                       place of a handoff and its agent switch, with the
 *                       same model calls;
 *   per_call_us         two - tool: one more tool call in a reply (its
 *                       parsing, the callback, its tool message, and the
 *                       longer second request and reply), model calls
 *                       held constant.
 *
 *   bench_tool_cost --base-url URL [--n N] [--block B] [--warmup W]
 *                   [--kind all|tool|two|handoff] [--stream | --no-stream]
 *
 * N turns of each kind (default 2000) in blocks of B (50). --kind runs only
 * one kind N times (for callgrind). Prints one line:
 *   tool_cost turns=N stream=S cpu_us_tool=… cpu_us_two=… cpu_us_handoff=…
 *             tool_vs_handoff_us=… per_call_us=…
 * (the two differences: medians over the rounds of each round's
 * difference). A turn that fails or answers wrongly fails the run (exit 1).
 */
#include <handoff.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { TOOL, TWO, HANDOFF, KINDS };
static const char *const kind_names[KINDS] = { "tool", "two", "handoff" };
static const char *const inputs[KINDS] = {
	"lookup {\"text\":\"hola\"}",
	"lookup lookup_more {\"text\":\"hola\"}",
	"Hola, ¿cómo estás?",
};
/* Each kind's answer: the mock's tool-result text or its Spanish answer. */
static const char *const answers[KINDS] = {
	"The tool lookup returned: hola",
	"The tool lookup returned: hola\nThe tool lookup_more returned: hola",
	"¡Hola! Con gusto te ayudo en español.",
};
static const char *const agents[KINDS] = { "Assistant", "Assistant", "Spanish agent" };
static const int calls_per_turn[KINDS] = { 1, 2, 0 };

static const char GRAPH[] =
	"entry: Assistant\n"
	"model: gpt-4o-mini\n"
	"max_turns: 10\n"
	"agents:\n"
	"  - name: Assistant\n"
	"    description: Answers in English.\n"
	"    instructions: You answer the user in English. Look things up when asked.\n"
	"    tools: [lookup, lookup_more]\n"
	"    handoffs: [Spanish agent]\n"
	"  - name: Spanish agent\n"
	"    description: Answers in Spanish.\n"
	"    instructions: You answer the user in Spanish. Look things up when asked.\n"
	"    tools: [lookup, lookup_more]\n"
	"    handoffs: [Assistant]\n";

static const char SCHEMA[] = "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}},"
                             "\"required\":[\"text\"],\"additionalProperties\":false}";

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "bench_tool_cost: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

__attribute__((noreturn)) static void usage(const char *msg, const char *arg)
{
	if (msg)
		fprintf(stderr, "bench_tool_cost: %s%s\n", msg, arg ? arg : "");
	fprintf(stderr, "usage: bench_tool_cost --base-url URL [--n N] [--block B] [--warmup W]\n"
	                "       [--kind all|tool|two|handoff] [--stream | --no-stream]\n");
	exit(2);
}

static double cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static long whole(const char *opt, const char *v, long min)
{
	char *end;
	long x = strtol(v, &end, 10);
	if (*end || end == v || x < min)
		usage("not a valid count for ", opt);
	return x;
}

/* The callback: the cheapest tool there is (a fixed result). */
static long tool_calls;
static int lookup(hf_tool_call *call, const char *arguments, void *payload)
{
	(void)arguments;
	(void)payload;
	tool_calls++;
	return hf_tool_call_set_output(call, "hola");
}

typedef struct bench {
	hf_graph *graph;
	hf_tools *tools;
	hf_client *client;
	hf_run_options run;
} bench;

static void run_one(bench *b, int kind)
{
	hf_session *s;
	hf_error err;
	char *answer = NULL;
	long before = tool_calls;
	if (hf_session_new(&s, NULL, &err) ||
	    hf_run(&answer, b->client, b->graph, s, NULL, inputs[kind], &b->run, &err))
		die("a %s turn failed: %s", kind_names[kind], err.message);
	if (strcmp(answer, answers[kind]) || strcmp(hf_session_agent(s), agents[kind]) ||
	    tool_calls - before != calls_per_turn[kind])
		die("a %s turn went wrong: [%s] %s (%ld tool calls)", kind_names[kind],
		    hf_session_agent(s), answer, tool_calls - before);
	hf_free(answer);
	hf_session_free(s);
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, long n)
{
	qsort(v, (size_t)n, sizeof(*v), by_value);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	const char *base_url = NULL, *only = "all";
	long n = 2000, block = 50, warmup = 50;
	bool stream = true;
	for (int i = 1; i < argc; i++) {
		const char *k = argv[i];
		if (!strcmp(k, "--help") || !strcmp(k, "-h"))
			usage(NULL, NULL);
		if (!strcmp(k, "--stream") || !strcmp(k, "--no-stream")) {
			stream = !strcmp(k, "--stream");
			continue;
		}
		if (i + 1 >= argc)
			usage("a value is needed after ", k);
		const char *v = argv[++i];
		if (!strcmp(k, "--base-url"))
			base_url = v;
		else if (!strcmp(k, "--n"))
			n = whole(k, v, 1);
		else if (!strcmp(k, "--block"))
			block = whole(k, v, 1);
		else if (!strcmp(k, "--warmup"))
			warmup = whole(k, v, 0);
		else if (!strcmp(k, "--kind"))
			only = v;
		else
			usage("unknown option ", k);
	}
	if (!base_url)
		usage("--base-url is required (the endpoint, e.g. http://127.0.0.1:PORT/v1)", NULL);
	int single = -1;
	for (int k = 0; k < KINDS; k++)
		if (!strcmp(only, kind_names[k]))
			single = k;
	if (single < 0 && strcmp(only, "all"))
		usage("--kind must be all, tool, two or handoff, not ", only);
	if (block > n)
		block = n;

	bench b;
	hf_client_options co = HF_CLIENT_OPTIONS_INIT;
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	hf_tool_def def = HF_TOOL_DEF_INIT;
	hf_error err;
	co.base_url = base_url;
	co.api_key = "dummy";
	def.description = "Looks the text up.";
	def.parameters = SCHEMA;
	def.fn = lookup;
	if (hf_global_init(&err) ||
	    hf_graph_load_string(&b.graph, GRAPH, sizeof(GRAPH) - 1, "tool_cost.yaml", NULL, &err) ||
	    hf_tools_new(&b.tools, b.graph, NULL, &err))
		die("%s", err.message);
	def.name = "lookup";
	if (hf_tools_add(b.tools, &def, &err))
		die("%s", err.message);
	def.name = "lookup_more";
	if (hf_tools_add(b.tools, &def, &err) || hf_tools_start(b.tools, NULL, &err) ||
	    hf_client_new(&b.client, &co, b.graph, &err))
		die("%s", err.message);
	ro.stream = stream;
	ro.tools = b.tools;
	b.run = ro;

	for (long i = 0; i < warmup; i++)
		for (int k = 0; k < KINDS; k++)
			if (single < 0 || k == single)
				run_one(&b, k);
	if (single >= 0) { /* one kind only: nothing to compare */
		double c0 = cpu_us();
		for (long i = 0; i < n; i++)
			run_one(&b, single);
		printf("tool_cost kind=%s turns=%ld stream=%d cpu_us_%s=%.2f\n", only, n, stream,
		       only, (cpu_us() - c0) / (double)n);
	} else {
		long rounds = n / block;
		double total[KINDS] = { 0 }, *d_handoff = calloc((size_t)rounds, sizeof(double)),
		       *d_call = calloc((size_t)rounds, sizeof(double));
		if (!d_handoff || !d_call)
			die("out of memory");
		for (long r = 0; r < rounds; r++) {
			double per[KINDS];
			for (int j = 0; j < KINDS; j++) {
				int k = (int)((j + r) % KINDS);
				double c0 = cpu_us();
				for (long i = 0; i < block; i++)
					run_one(&b, k);
				per[k] = (cpu_us() - c0) / (double)block;
				total[k] += per[k];
			}
			d_handoff[r] = per[TOOL] - per[HANDOFF];
			d_call[r] = per[TWO] - per[TOOL];
		}
		printf("tool_cost turns=%ld stream=%d cpu_us_tool=%.2f cpu_us_two=%.2f "
		       "cpu_us_handoff=%.2f tool_vs_handoff_us=%.2f per_call_us=%.2f\n",
		       rounds * block, stream, total[TOOL] / (double)rounds,
		       total[TWO] / (double)rounds, total[HANDOFF] / (double)rounds,
		       median(d_handoff, rounds), median(d_call, rounds));
		free(d_handoff);
		free(d_call);
	}
	hf_client_free(b.client);
	hf_tools_free(b.tools);
	hf_graph_free(b.graph);
	hf_global_cleanup();
	return 0;
}

/*
 * cmd_ask.c - `handoff ask`: one chat completion without agents. The
 * answer streams to stdout as it arrives; --json turns the run into JSON
 * lines (text_delta, usage, message, done, error), rendered as `run` renders
 * them; -v prints token usage on stderr. Ctrl-C cancels the request (130).
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Bytes read from stdin at most (the library's own limit is smaller). */
#define STDIN_MAX ((size_t)4 << 20)

static const char ask_help[] =
	"usage: handoff ask -m MODEL [options] [TEXT...]\n\n"
	"One chat completion, without agents. The words of TEXT are the question;\n"
	"without TEXT it is read from stdin. The answer streams to stdout.\n\n"
	"options:\n"
	"  -m, --model MODEL          the model (default: the entry agent's model\n"
	"                             of --graph)\n"
	"      --system TEXT          a system message\n"
	"      --no-stream            wait for the whole answer\n"
	"      --json                 JSON lines on stdout: text_delta, usage,\n"
	"                             message, done, error\n"
	"  -v, --verbose              token usage on stderr\n"
	"      --graph PATH           take endpoint defaults from a graph file\n";

/* The question: the words of argv, else all of stdin (one trailing line
 * end dropped). Owned; NULL with *status set on failure. */
static char *read_input(int argc, char **argv, int *status)
{
	size_t len = 0, cap = 0;
	bool too_big;
	char *s = NULL;
	int i;

	if (argc > 0) {
		for (i = 0; i < argc; i++)
			cap += strlen(argv[i]) + 1;
		s = malloc(cap);
		if (!s)
			return NULL;
		s[0] = '\0';
		for (i = 0; i < argc; i++) {
			if (i)
				strcat(s, " ");
			strcat(s, argv[i]);
		}
		return s;
	}
	if (isatty(STDIN_FILENO)) {
		*status = cli_usage_error("ask", "give the question as TEXT or on stdin");
		return NULL;
	}
	if (!(s = cli_read_stdin(STDIN_MAX, &len, &too_big))) {
		if (too_big)
			*status = cli_usage_error("ask", "the question on stdin is over %zu MiB",
			                          STDIN_MAX >> 20);
		return NULL;
	}
	if ((*status = cli_refuse_nul("ask", "the question on standard input", s, len))) {
		free(s);
		return NULL;
	}
	if (len && s[len - 1] == '\n')
		s[--len] = '\0';
	if (len && s[len - 1] == '\r')
		s[--len] = '\0';
	return s;
}

int hf_cmd_ask(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "system", required_argument, NULL, 's' },
		{ "no-stream", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "graph", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		CLI_ENDPOINT_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	hf_ask_options ao = HF_ASK_OPTIONS_INIT;
	cli_render r = { 0 };
	const char *graph_path = NULL;
	bool verbose = false;
	cli_endpoint e;
	hf_graph *graph = NULL;
	hf_client *client = NULL;
	hf_usage usage;
	hf_error err;
	char *input = NULL, *answer = NULL;
	int opt, status = HF_EXIT_OK, rc;

	cli_endpoint_init(&e, "ask");
	optind = 1;
	while ((opt = getopt_long(argc, argv, "m:vh", longopts, NULL)) != -1) {
		if (cli_endpoint_option(&e, opt, optarg, &status)) {
			if (status)
				return status;
			continue;
		}
		switch (opt) {
		case 'm': ao.model = optarg; break;
		case 's': ao.system = optarg; break;
		case 'n': ao.stream = 0; break;
		case 'j': r.json = true; break;
		case 'v': verbose = true; break;
		case 'g': graph_path = optarg; break;
		case 'h':
			printf("%s\n%s", ask_help, cli_endpoint_help);
			return HF_EXIT_OK;
		default:
			return cli_usage_error("ask", "unknown option");
		}
	}
	if (graph_path && (status = cli_load_graph(&graph, graph_path, true)) != HF_EXIT_OK)
		return status;
	if (!ao.model && graph && hf_graph_entry(graph))
		ao.model = hf_agent_model(hf_graph_entry(graph));
	if (!ao.model) {
		hf_graph_free(graph);
		return cli_usage_error("ask", "name a model: -m MODEL");
	}
	input = read_input(argc - optind, argv + optind, &status);
	if (!input) {
		hf_graph_free(graph);
		return status ? status : HF_EXIT_ERROR;
	}
	r.color = cli_color(stderr);
	ao.on_event = cli_render_event;
	ao.payload = &r;
	ao.cancel = &cli_interrupted;
	cli_catch_interrupt();
	rc = hf_client_new(&client, &e.opts, graph, &err);
	if (!rc)
		rc = hf_ask(&answer, &usage, client, input, &ao, &err);
	if (rc) {
		status = cli_render_error(&r, &err);
	} else {
		hf_event done = { .type = HF_EVENT_DONE, .text = answer, .text_len = strlen(answer),
			          .usage = usage, .usage_reported = r.usage_reported };
		cli_render_event(&done, &r);
		if (verbose) {
			char u[256];
			cli_usage_text(u, sizeof(u), &usage, r.usage_reported);
			cli_note("usage: %s (%s)\n", u, ao.model);
		}
	}
	if (fflush(stdout) != 0 && status == HF_EXIT_OK)
		status = HF_EXIT_ERROR;
	hf_free(answer);
	hf_client_free(client);
	hf_graph_free(graph);
	free(input);
	return status;
}

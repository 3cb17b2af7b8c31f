/*
 * cmd_graph.c - `handoff graph [PATH] --format mermaid|dot|json`: draw an
 * agent graph on stdout.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: handoff graph [PATH] [--format mermaid|dot|json]\n\n"
	           "Draw an agent graph on stdout: a Mermaid flowchart, a Graphviz\n"
	           "digraph (render it with 'dot -Tpng -o graph.png'), or JSON listing\n"
	           "each agent with its model, provider and handoff tool names. The\n"
	           "entry agent is marked. PATH defaults as for 'handoff validate'.\n\n"
	           "options:\n"
	           "  -f, --format F   mermaid (default), dot or json\n"
	           "  -h, --help       show this help\n\n"
	           "exit status: 0 ok, 3 invalid graph, 2 usage, 1 other error.\n");
}

int hf_cmd_graph(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const formats[] = { "mermaid", "dot", "json" };
	hf_graph_format fmt = HF_GRAPH_MERMAID;
	hf_graph *g = NULL;
	hf_error err;
	char *out = NULL;
	size_t i;
	int opt, rc;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":f:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
				if (!strcmp(optarg, formats[i]))
					break;
			if (i == sizeof(formats) / sizeof(formats[0]))
				return cli_usage_error("graph", "--format takes mermaid, dot or json, not '%s'",
				                       optarg);
			fmt = (hf_graph_format)i;
			break;
		case 'h': usage(stdout); return HF_EXIT_OK;
		case ':': return cli_usage_error("graph", "%s needs a value", argv[optind - 1]);
		default: return cli_usage_error("graph", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind > 1)
		return cli_usage_error("graph", "takes one PATH, not %d", argc - optind);

	rc = cli_load_graph(&g, optind < argc ? argv[optind] : cli_default_graph(), false);
	if (rc)
		return rc;
	if (hf_graph_export(&out, g, fmt, &err))
		rc = cli_fail(&err);
	else
		fputs(out, stdout);
	hf_free(out);
	hf_graph_free(g);
	return rc;
}

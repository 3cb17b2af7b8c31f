/*
 * cmd_validate.c - `handoff validate [PATH]`: load an agent graph, print
 * every problem as file:line:col on stderr and a one-line summary.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: handoff validate [-q] [PATH]\n\n"
	           "Check an agent graph and report every problem, each as\n"
	           "'file:line:col: error|warning: message' on stderr, then a summary.\n"
	           "PATH is a directory of .yaml files or one file; it defaults to\n"
	           "$HANDOFF_GRAPH, else ./agents, else the installed default graph.\n\n"
	           "options:\n"
	           "  -q, --quiet   do not print warnings\n"
	           "  -h, --help    show this help\n\n"
	           "exit status: 0 valid (warnings allowed), 3 invalid, 2 usage,\n"
	           "1 when PATH cannot be read.\n");
}

int hf_cmd_validate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool quiet = false;
	const char *path;
	hf_graph *g = NULL;
	hf_diag *d = NULL;
	hf_error err;
	size_t i, nwarn;
	int opt, rc;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'q': quiet = true; break;
		case 'h': usage(stdout); return HF_EXIT_OK;
		default: return cli_usage_error("validate", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind > 1)
		return cli_usage_error("validate", "takes one PATH, not %d", argc - optind);
	path = optind < argc ? argv[optind] : cli_default_graph();

	rc = hf_graph_load(&g, path, &d, &err);
	if (rc && rc != HF_ECONFIG) {
		hf_diag_free(d);
		return cli_fail(&err);
	}
	for (i = 0; i < hf_diag_count(d); i++)
		if (!quiet || hf_diag_severity(d, i) == HF_SEV_ERROR)
			fprintf(stderr, "%s\n", hf_diag_format(d, i));
	nwarn = hf_diag_count(d) - hf_diag_error_count(d);
	if (rc)
		printf("%s: %zu error%s, %zu warning%s\n", path, hf_diag_error_count(d),
		       hf_diag_error_count(d) == 1 ? "" : "s", nwarn, nwarn == 1 ? "" : "s");
	else if (nwarn)
		printf("%s: %zu agents, entry '%s', ok (%zu warning%s)\n", path,
		       hf_graph_agent_count(g), hf_agent_name(hf_graph_entry(g)), nwarn,
		       nwarn == 1 ? "" : "s");
	else
		printf("%s: %zu agents, entry '%s', ok\n", path, hf_graph_agent_count(g),
		       hf_agent_name(hf_graph_entry(g)));
	hf_diag_free(d);
	hf_graph_free(g);
	return rc ? HF_EXIT_CONFIG : HF_EXIT_OK;
}

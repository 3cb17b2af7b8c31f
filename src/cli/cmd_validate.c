/*
 * cmd_validate.c - `handoff validate [PATH]`: load an agent graph, start
 * the MCP servers it declares to check the tools its agents name (unless
 * --offline), print every problem as file:line:col on stderr and a
 * one-line summary.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: handoff validate [-q] [--offline] [PATH]\n\n"
	           "Check an agent graph and report every problem, each as\n"
	           "'file:line:col: error|warning: message' on stderr, then a summary.\n"
	           "PATH is a directory of .yaml files or one file; it defaults to\n"
	           "$HANDOFF_GRAPH, else ./agents, else the installed default graph.\n"
	           "When the graph declares mcp_servers, they are started and their tools\n"
	           "listed, so that a tool no server lists is reported too (then they are\n"
	           "stopped). Bare tool names are C callbacks an application registers:\n"
	           "they cannot be checked here.\n\n"
	           "options:\n"
	           "  -q, --quiet   do not print warnings\n"
	           "      --offline do not start MCP servers (tools of servers are not checked)\n"
	           "  -h, --help    show this help\n\n"
	           "exit status: 0 valid (warnings allowed), 3 invalid, 5 an MCP server\n"
	           "could not be reached or spoke no MCP, 2 usage, 1 when PATH cannot be read.\n");
}

/* Start the graph's MCP servers (when it declares any) and bind the
 * agents' tools; problems go into *d. *servers gets how many were started.
 * Returns an hf_code (err filled). */
static int check_tools(const hf_graph *g, hf_diag **d, size_t *servers, hf_error *err)
{
	cli_graph_tools *t = NULL;
	hf_tools *ts = NULL;
	int rc;
	*d = NULL;
	*servers = 0;
	if ((rc = cli_graph_tools_read(&t, g, err)))
		return rc;
	if ((*servers = cli_graph_tools_servers(t)))
		rc = cli_tools_start(&ts, d, g, t, true, err);
	hf_tools_free(ts);
	cli_graph_tools_free(t);
	return rc;
}

enum { OPT_OFFLINE = 1 };

int hf_cmd_validate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "offline", no_argument, NULL, OPT_OFFLINE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool quiet = false, offline = false;
	const char *path;
	hf_graph *g = NULL;
	hf_diag *d = NULL, *td = NULL;
	hf_error err;
	size_t nerr, nwarn, servers = 0;
	char checked[64] = "";
	int opt, rc, trc = HF_OK;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'q': quiet = true; break;
		case OPT_OFFLINE: offline = true; break;
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
	cli_print_diags(d, quiet);
	if (!rc && !offline) {
		trc = check_tools(g, &td, &servers, &err);
		cli_print_diags(td, quiet);
		if (trc && !hf_diag_error_count(td)) /* not reported as a problem: say it */
			cli_fail(&err);
	}
	if (servers)
		snprintf(checked, sizeof(checked), "; tools checked against %zu MCP server%s",
		         servers, servers == 1 ? "" : "s");
	nerr = hf_diag_error_count(d) + hf_diag_error_count(td);
	nwarn = hf_diag_count(d) + hf_diag_count(td) - nerr;
	if (rc || trc)
		printf("%s: %zu error%s, %zu warning%s\n", path, nerr, nerr == 1 ? "" : "s", nwarn,
		       nwarn == 1 ? "" : "s");
	else if (nwarn)
		printf("%s: %zu agents, entry '%s', ok (%zu warning%s)%s\n", path,
		       hf_graph_agent_count(g), hf_agent_name(hf_graph_entry(g)), nwarn,
		       nwarn == 1 ? "" : "s", checked);
	else
		printf("%s: %zu agents, entry '%s', ok%s\n", path, hf_graph_agent_count(g),
		       hf_agent_name(hf_graph_entry(g)), checked);
	hf_diag_free(d);
	hf_diag_free(td);
	hf_graph_free(g);
	return rc ? HF_EXIT_CONFIG : trc ? cli_exit_status(trc) : HF_EXIT_OK;
}

/*
 * cmd_tools.c - `handoff tools [GRAPH]`: start the graph's MCP servers and
 * list each agent's function tools (name, origin, the first line of the
 * description) as an aligned table, or as JSON with --json.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define COLUMN_GAP 2
#define MIN_DESCRIPTION 20

static void usage(FILE *f)
{
	fprintf(f, "usage: handoff tools [--json] [-q] [GRAPH]\n\n"
	           "Start the MCP servers the agent graph GRAPH declares (default: as for\n"
	           "'handoff validate'), list their tools and print the function tools each\n"
	           "agent is offered: AGENT, TOOL (the name the model sees), ORIGIN (the MCP\n"
	           "server, or 'callback' for a C callback an application registers) and the\n"
	           "first line of the DESCRIPTION. Problems (a server that does not start, a\n"
	           "tool no server lists) are printed as file:line:col on stderr.\n\n"
	           "options:\n"
	           "      --json    print {\"agents\":[{\"agent\",\"tools\":[{\"name\",\"origin\",\n"
	           "                \"description\",\"parameters\"}]}]} (origin null: a callback)\n"
	           "  -q, --quiet   do not print warnings\n"
	           "  -h, --help    show this help\n\n"
	           "exit status: 0 ok, 3 invalid graph or unknown tool, 5 an MCP server\n"
	           "could not be reached or spoke no MCP, 2 usage, 1 other error.\n");
}

/* One row of the table: owned cells. */
typedef struct row {
	char *cell[4]; /* agent, tool, origin, description */
} row;

typedef struct listing {
	const char *agent;
	bool json;
	cJSON *tools;  /* JSON: the agent's array */
	row *rows;     /* table */
	size_t n;
	bool oom;
} listing;

static int add_json(listing *l, const hf_tool_info *info)
{
	cJSON *t = cJSON_CreateObject(), *params;
	if (!t || !cJSON_AddItemToArray(l->tools, t)) {
		l->oom = true;
		return 1;
	}
	cJSON_AddStringToObject(t, "name", info->name);
	if (info->origin)
		cJSON_AddStringToObject(t, "origin", info->origin);
	else
		cJSON_AddNullToObject(t, "origin");
	if (info->description)
		cJSON_AddStringToObject(t, "description", info->description);
	else
		cJSON_AddNullToObject(t, "description");
	params = info->parameters ? cJSON_Parse(info->parameters) : NULL;
	if (params)
		cJSON_AddItemToObject(t, "parameters", params);
	else
		cJSON_AddNullToObject(t, "parameters");
	return 0;
}

static int add_row(listing *l, const hf_tool_info *info)
{
	const char *desc = info->description
	                           ? info->description
	                           : info->origin ? "" : "(registered by the application)";
	const char *origin = info->origin ? info->origin : "callback";
	row *rows = realloc(l->rows, (l->n + 1) * sizeof(*rows)), *r;
	if (!rows) {
		l->oom = true;
		return 1;
	}
	l->rows = rows;
	r = &rows[l->n++];
	r->cell[0] = cli_text_line(l->agent, strlen(l->agent), 0, true);
	r->cell[1] = cli_text_line(info->name, strlen(info->name), 0, true);
	r->cell[2] = cli_text_line(origin, strlen(origin), 0, true);
	r->cell[3] = cli_text_line(desc, strlen(desc), 0, true);
	l->oom = !r->cell[0] || !r->cell[1] || !r->cell[2] || !r->cell[3];
	return l->oom;
}

static int on_tool(const hf_tool_info *info, void *payload)
{
	listing *l = payload;
	return l->json ? add_json(l, info) : add_row(l, info);
}

/* The terminal's width when stdout is one, else 0 (no limit). */
static size_t terminal_columns(void)
{
	struct winsize ws;
	if (!isatty(STDOUT_FILENO) || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) || !ws.ws_col)
		return 0;
	return ws.ws_col;
}

static void pad(size_t n)
{
	while (n--)
		putchar(' ');
}

/* The rows aligned in terminal columns under a header; on a terminal the
 * description is cut to what is left of its width. */
static void print_table(const listing *l)
{
	static const char *const head[4] = { "AGENT", "TOOL", "ORIGIN", "DESCRIPTION" };
	size_t width[3] = { 0 }, i, k, cols = terminal_columns(), left = 0;
	for (k = 0; k < 3; k++) {
		width[k] = hf_text_width(head[k]);
		for (i = 0; i < l->n; i++)
			if (hf_text_width(l->rows[i].cell[k]) > width[k])
				width[k] = hf_text_width(l->rows[i].cell[k]);
		left += width[k] + COLUMN_GAP;
	}
	left = cols > left + MIN_DESCRIPTION ? cols - left : 0;
	for (i = 0; i <= l->n; i++) {
		const char *const *cell = i ? (const char *const *)l->rows[i - 1].cell : head;
		char *desc;
		for (k = 0; k < 3; k++) {
			fputs(cell[k], stdout);
			pad(width[k] - hf_text_width(cell[k]) + COLUMN_GAP);
		}
		desc = cli_text_line(cell[3], strlen(cell[3]), left, true);
		puts(desc ? desc : cell[3]);
		free(desc);
	}
}

static void rows_free(listing *l)
{
	size_t i, k;
	for (i = 0; i < l->n; i++)
		for (k = 0; k < 4; k++)
			free(l->rows[i].cell[k]);
	free(l->rows);
}

/* List every agent's tools from the started set ts. */
static int list_tools(const hf_graph *g, hf_tools *ts, bool json)
{
	listing l = { .json = json };
	cJSON *doc = json ? cJSON_CreateObject() : NULL;
	cJSON *agents = doc ? cJSON_AddArrayToObject(doc, "agents") : NULL;
	hf_error err;
	size_t i;
	int status = HF_EXIT_OK;

	if (json && !agents) {
		cJSON_Delete(doc);
		return cli_fail(cli_oom_error(&err, "listing tools"));
	}
	for (i = 0; i < hf_graph_agent_count(g) && status == HF_EXIT_OK; i++) {
		const hf_agent *a = hf_graph_agent_at(g, i);
		cJSON *entry = json ? cJSON_CreateObject() : NULL;
		l.agent = hf_agent_name(a);
		if (json) {
			if (!entry || !cJSON_AddItemToArray(agents, entry))
				l.oom = true;
			cJSON_AddStringToObject(entry, "agent", l.agent);
			l.tools = cJSON_AddArrayToObject(entry, "tools");
			if (!l.tools)
				l.oom = true;
		}
		if (!l.oom && hf_tools_list(ts, a, on_tool, &l, &err) && !l.oom)
			status = cli_fail(&err);
		if (l.oom)
			status = cli_fail(cli_oom_error(&err, "listing tools"));
	}
	if (status == HF_EXIT_OK && json) {
		char *text = cJSON_PrintUnformatted(doc);
		if (text)
			puts(text);
		else
			status = cli_fail(cli_oom_error(&err, "printing tools"));
		cJSON_free(text);
	} else if (status == HF_EXIT_OK && !l.n) {
		cli_note("no agent of the graph is offered a function tool\n");
	} else if (status == HF_EXIT_OK) {
		print_table(&l);
	}
	rows_free(&l);
	cJSON_Delete(doc);
	return status;
}

int hf_cmd_tools(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false, quiet = false;
	cli_graph_tools *t = NULL;
	hf_graph *g = NULL;
	hf_tools *ts = NULL;
	hf_diag *d = NULL;
	hf_error err;
	int opt, rc, status;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j': json = true; break;
		case 'q': quiet = true; break;
		case 'h': usage(stdout); return HF_EXIT_OK;
		default: return cli_usage_error("tools", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind > 1)
		return cli_usage_error("tools", "takes one GRAPH, not %d", argc - optind);
	if ((status = cli_load_graph(&g, optind < argc ? argv[optind] : cli_default_graph(), quiet)))
		return status;
	if ((rc = cli_graph_tools_read(&t, g, &err))) {
		status = cli_fail(&err);
		goto out;
	}
	rc = cli_tools_start(&ts, &d, g, t, true, &err);
	cli_print_diags(d, quiet);
	if (rc)
		/* the problems are on stderr already */
		status = hf_diag_error_count(d) ? cli_exit_status(rc) : cli_fail(&err);
	else
		status = list_tools(g, ts, json);
out:
	hf_diag_free(d);
	hf_tools_free(ts);
	cli_graph_tools_free(t);
	hf_graph_free(g);
	return status;
}

/*
 * tool_set.c - the graph's function tools for a command: which tools the
 * agents name and how many MCP servers the graph declares, and the tool
 * set started with its problems printed as file:line:col.
 *
 * The command registers no C callback of its own: a bare tool name (a
 * callback an application registers) makes `run` and `chat` fail up front
 * naming it; `tools` and `validate` list it with a stand-in instead.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

struct cli_graph_tools {
	size_t nservers;     /* mcp_servers declared */
	size_t ntools;       /* tools: entries over all agents */
	const char **bare;   /* distinct bare names (C callbacks), borrowed from the graph */
	size_t nbare;
};

void cli_graph_tools_free(cli_graph_tools *t)
{
	if (!t)
		return;
	free(t->bare);
	free(t);
}

static bool has_name(const char *const *v, size_t n, const char *name)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (!strcmp(v[i], name))
			return true;
	return false;
}

int cli_graph_tools_read(cli_graph_tools **out, const hf_graph *g, hf_error *err)
{
	cli_graph_tools *t = calloc(1, sizeof(*t));
	size_t i, j;

	*out = NULL;
	if (!t)
		return cli_oom_error(err, "reading the graph's tools")->code;
	t->nservers = hf_graph_mcp_server_count(g);
	for (i = 0; i < hf_graph_agent_count(g); i++) {
		const hf_agent *a = hf_graph_agent_at(g, i);
		for (j = 0; j < hf_agent_tool_count(a); j++) {
			const char *name = hf_agent_tool_at(a, j);
			const char **bare;
			t->ntools++;
			if (strchr(name, '.') || has_name(t->bare, t->nbare, name))
				continue;
			if (!(bare = realloc(t->bare, (t->nbare + 1) * sizeof(*bare)))) {
				cli_graph_tools_free(t);
				return cli_oom_error(err, "reading the graph's tools")->code;
			}
			t->bare = bare;
			t->bare[t->nbare++] = name;
		}
	}
	*out = t;
	return HF_OK;
}

size_t cli_graph_tools_servers(const cli_graph_tools *t)
{
	return t->nservers;
}

size_t cli_graph_tools_named(const cli_graph_tools *t)
{
	return t->ntools;
}

size_t cli_graph_tools_bare(const cli_graph_tools *t)
{
	return t->nbare;
}

/* The stand-in for a C callback: it only says it cannot run here. */
static int stand_in(hf_tool_call *call, const char *arguments, void *payload)
{
	char msg[256];
	(void)arguments;
	(void)payload;
	snprintf(msg, sizeof(msg),
	         "%s is a C callback that an application registers; the handoff command "
	         "cannot run it",
	         hf_tool_call_name(call));
	hf_tool_call_set_output(call, msg);
	return HF_ECONFIG;
}

int cli_tools_start(hf_tools **out, hf_diag **diags, const hf_graph *g,
                    const cli_graph_tools *t, bool stand_ins, hf_error *err)
{
	hf_tools *ts = NULL;
	size_t i;
	int rc;

	*out = NULL;
	*diags = NULL;
	if ((rc = hf_tools_new(&ts, g, NULL, err)))
		return rc;
	for (i = 0; stand_ins && i < t->nbare; i++) {
		hf_tool_def def = HF_TOOL_DEF_INIT;
		def.name = t->bare[i];
		def.fn = stand_in;
		/* a name the library refuses was reported when the graph loaded */
		if ((rc = hf_tools_add(ts, &def, err)) && rc != HF_EINVAL)
			goto fail;
	}
	if ((rc = hf_tools_start(ts, diags, err)))
		goto fail;
	*out = ts;
	return HF_OK;
fail:
	hf_tools_free(ts);
	return rc;
}

int cli_open_tools(hf_tools **out, const hf_graph *g, cli_render *r)
{
	cli_graph_tools *t = NULL;
	hf_diag *d = NULL;
	hf_error err;
	int rc, status = HF_EXIT_OK;

	*out = NULL;
	if ((rc = cli_graph_tools_read(&t, g, &err)))
		return cli_render_error(r, &err);
	if (!t->ntools && !t->nservers) {
		cli_graph_tools_free(t);
		return HF_EXIT_OK;
	}
	if ((rc = cli_tools_start(out, &d, g, t, false, &err))) {
		cli_print_diags(d, true);
		if (t->nbare)
			fprintf(stderr, "handoff: note: a tool named without a server (%s) is a C "
			                "callback that an application registers with hf_tools_add; "
			                "the handoff command has none. Name MCP tools as SERVER.TOOL.\n",
			        t->bare[0]);
		/* the problems are on stderr already: the error line only in JSON */
		status = r->json || !hf_diag_error_count(d) ? cli_render_error(r, &err)
		                                            : cli_exit_status(rc);
	}
	hf_diag_free(d);
	cli_graph_tools_free(t);
	return status;
}

/*
 * graph_link.c - the checks and links that need the whole graph: unique
 * names and tool names, the default model, handoff targets,
 * tool_choice, tools (their MCP servers, clashes with handoff tools,
 * stop_at), system prompts, the entry agent and reachability.
 */
#include "graph_build.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void name_agents(graph_build *b)
{
	hf_graph *g = b->g;
	size_t i;
	for (i = 0; i < g->nagents && !b->oom; i++) {
		hf_agent *a = &g->agents[i];
		const gy_node *at = b->agents[i].name_node;
		const char *file = b->agents[i].file;
		const hf_agent *prev;
		char tool[128];
		hf_error e;

		if (hf_handoff_tool_name(tool, sizeof(tool), a->name, &e)) {
			gb_report(b, HF_SEV_ERROR, file, at, "%s", e.message);
		} else if (!(a->tool_name = hf_strdup(tool))) {
			b->oom = true;
			return;
		}
		if ((prev = hf_graph_index_put(g, a, false))) {
			gb_report(b, HF_SEV_ERROR, file, at,
			          "duplicate agent name '%s' (first defined at %s:%d:%d)", a->name,
			          prev->file, prev->line, prev->col);
		} else if (a->tool_name && (prev = hf_graph_index_put(g, a, true))) {
			gb_report(b, HF_SEV_ERROR, file, at,
			          "agents '%s' and '%s' both get the handoff tool name '%s' "
			          "('%s' is at %s:%d:%d); rename one",
			          prev->name, a->name, a->tool_name, prev->name, prev->file, prev->line,
			          prev->col);
		}
	}
}

static char *dup_or_null(graph_build *b, const char *s)
{
	char *d = hf_strdup(s);
	if (s && !d)
		b->oom = true;
	return d;
}

/* The default model. The graph file's provider and compute_provider are
 * not copied into agents: the client resolves them below flags and the
 * environment, and an agent that names none uses the client's. */
static void apply_default_model(graph_build *b)
{
	hf_graph *g = b->g;
	size_t i;
	for (i = 0; i < g->nagents; i++) {
		hf_agent *a = &g->agents[i];
		if (!a->model && g->default_model)
			a->model = dup_or_null(b, g->default_model);
		else if (!a->model)
			gb_report(b, HF_SEV_ERROR, b->agents[i].file, b->agents[i].name_node,
			          "agent '%s' has no model and the graph has no default model: set "
			          "'model:' in the agent or in the graph file", a->name);
	}
}

/* Agent names, for "did you mean" (owned array of borrowed names). */
static const char **all_names(graph_build *b)
{
	const char **names = hf_calloc(b->g->nagents, sizeof(*names));
	size_t i;
	if (!names) {
		b->oom = true;
		return NULL;
	}
	for (i = 0; i < b->g->nagents; i++)
		names[i] = b->g->agents[i].name;
	return names;
}

static void unknown_agent(graph_build *b, const char *file, const gy_node *at, const char *what,
                          const char **names)
{
	const char *near = NULL;
	if (names && b->suggest_budget >= b->g->nagents) { /* bounded work for suggestions */
		b->suggest_budget -= b->g->nagents;
		near = hf_diag_nearest(at->str, names, b->g->nagents);
	}
	if (near)
		gb_report(b, HF_SEV_ERROR, file, at, "unknown %s '%s'; did you mean '%s'?", what,
		          at->str, near);
	else
		gb_report(b, HF_SEV_ERROR, file, at, "unknown %s '%s'; no agent has that name", what,
		          at->str);
}

static void resolve_handoffs(graph_build *b, const char **names)
{
	hf_graph *g = b->g;
	size_t *listed = hf_calloc(g->nagents, sizeof(*listed)); /* agent i + 1 listed it */
	size_t i, j;
	if (!listed) {
		b->oom = true;
		return;
	}
	for (i = 0; i < g->nagents && !b->oom; i++) {
		hf_agent *a = &g->agents[i];
		const gy_node *list = b->agents[i].handoffs, *bad = NULL;
		const char *file = b->agents[i].file;
		if (!list || !list->nkids)
			continue;
		a->handoffs = hf_calloc(list->nkids, sizeof(*a->handoffs));
		if (!a->handoffs) {
			b->oom = true;
			break;
		}
		for (j = 0; j < list->nkids; j++) {
			const gy_node *item = list->kids[j];
			const hf_agent *t;
			if (item == bad)
				continue; /* an alias of the name just reported: the same place */
			t = hf_graph_agent_by_name(g, item->str);
			if (!t || t == a)
				bad = item;
			if (!t)
				unknown_agent(b, file, item, "handoff target", names);
			else if (t == a)
				gb_report(b, HF_SEV_ERROR, file, item, "agent '%s' hands off to itself",
				          a->name);
			else if (listed[t - g->agents] == i + 1)
				gb_report(b, HF_SEV_ERROR, file, item, "handoff '%s' is listed twice",
				          t->name);
			else {
				listed[t - g->agents] = i + 1;
				a->handoffs[a->nhandoffs++] = t;
			}
		}
	}
	free(listed);
}

static void resolve_tool_choice(graph_build *b, hf_agent *a, const gb_agent *ga)
{
	const gy_node *v = ga->tool_choice;
	const char *choice = NULL;
	size_t i;
	if (!v)
		return;
	if (!strcmp(v->str, "auto") || !strcmp(v->str, "none")) {
		choice = v->str;
	} else if (!strcmp(v->str, "required")) {
		if (a->nhandoffs || a->ntools)
			choice = v->str;
		else
			gb_report(b, HF_SEV_ERROR, ga->file, v,
			          "tool_choice: required needs at least one handoff");
	} else {
		for (i = 0; i < a->nhandoffs && !choice; i++)
			if (!strcmp(v->str, a->handoffs[i]->name) || !strcmp(v->str, a->handoffs[i]->tool_name))
				choice = a->handoffs[i]->tool_name;
		for (i = 0; i < a->ntools && !choice; i++) /* a function tool named in tools: */
			if (!strcmp(v->str, a->tools[i].name))
				choice = a->tools[i].name;
		if (!choice)
			gb_report(b, HF_SEV_ERROR, ga->file, v,
			          "tool_choice must be auto, required, none or one of this agent's "
			          "%s, not '%s'", a->ntools ? "handoffs or tools" : "handoffs", v->str);
	}
	a->settings.tool_choice = dup_or_null(b, choice);
}

/* Report at a line and column of `file` (a tool entry keeps only those). */
static void report_at(graph_build *b, const char *file, int line, int col, const char *fmt, ...)
	HF_PRINTF(5, 6);
static void report_at(graph_build *b, const char *file, int line, int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (hf_diag_addv(b->d, HF_SEV_ERROR, file, line, col, fmt, ap))
		b->oom = true;
	va_end(ap);
}

static void unknown_server(graph_build *b, const char *file, const hf_agent_tool *t,
                           const char **servers)
{
	const hf_graph *g = b->g;
	const char *near = NULL;
	if (!g->nservers) {
		report_at(b, file, t->line, t->col,
		          "unknown MCP server '%s' (in '%s.%s'); declare it under 'mcp_servers:' in the "
		          "graph file (handoff.yaml)", t->server, t->server, t->name);
		return;
	}
	if (servers && b->suggest_budget >= g->nservers) {
		b->suggest_budget -= g->nservers;
		near = hf_diag_nearest(t->server, servers, g->nservers);
	}
	if (near)
		report_at(b, file, t->line, t->col,
		          "unknown MCP server '%s' (in '%s.%s'); did you mean '%s'?", t->server,
		          t->server, t->name, near);
	else
		report_at(b, file, t->line, t->col,
		          "unknown MCP server '%s' (in '%s.%s'); no server under 'mcp_servers:' has "
		          "that name", t->server, t->server, t->name);
}

/* The tool of agent a the model knows as `name`, or NULL; *any_all says
 * whether a SERVER.* entry could offer more. */
static const hf_agent_tool *tool_named(const hf_agent *a, const char *name, bool *any_all)
{
	size_t i;
	*any_all = false;
	for (i = 0; i < a->ntools; i++) {
		if (!strcmp(a->tools[i].name, name))
			return &a->tools[i];
		*any_all = *any_all || !strcmp(a->tools[i].name, "*");
	}
	return NULL;
}

/* An agent's tools: servers declared, no name of a handoff tool, stop_at
 * names among the tools. Bare names (C callbacks) and what SERVER.* offers
 * are known only to a tool set (hf_tools_start checks them). */
static void check_tools(graph_build *b, const hf_agent *a, const gb_agent *ga,
                        const char **servers)
{
	const hf_graph *g = b->g;
	const char **names = NULL;
	size_t i, j, n = 0;
	bool any_all;

	for (i = 0; i < a->ntools; i++) {
		const hf_agent_tool *t = &a->tools[i];
		for (j = 0; t->server && j < g->nservers && strcmp(g->servers[j].name, t->server); j++)
			;
		if (t->server && j == g->nservers)
			unknown_server(b, ga->file, t, servers);
		for (j = 0; j < a->nhandoffs; j++)
			if (!strcmp(t->name, a->handoffs[j]->tool_name))
				report_at(b, ga->file, t->line, t->col,
				          "tool '%s%s%s' has the name of the handoff tool '%s' (the handoff "
				          "to '%s'); the model could not tell them apart: rename one",
				          t->server ? t->server : "", t->server ? "." : "", t->name,
				          a->handoffs[j]->tool_name, a->handoffs[j]->name);
	}
	for (i = 0; ga->stop_at && i < ga->stop_at->nkids && !b->oom; i++) {
		const gy_node *s = ga->stop_at->kids[i];
		const char *near;
		if (tool_named(a, s->str, &any_all) || any_all)
			continue; /* SERVER.* may offer it: hf_tools_start checks */
		if (!a->ntools) {
			gb_report(b, HF_SEV_ERROR, ga->file, s,
			          "stop_at names '%s', but agent '%s' has no tools", s->str, a->name);
			continue;
		}
		if (!names && !(names = hf_calloc(a->ntools, sizeof(*names)))) {
			b->oom = true;
			break;
		}
		for (n = 0; n < a->ntools; n++)
			names[n] = a->tools[n].name;
		near = hf_diag_nearest(s->str, names, n);
		if (near)
			gb_report(b, HF_SEV_ERROR, ga->file, s,
			          "stop_at names '%s', which is not a tool of agent '%s'; did you "
			          "mean '%s'?", s->str, a->name, near);
		else
			gb_report(b, HF_SEV_ERROR, ga->file, s,
			          "stop_at names '%s', which is not a tool of agent '%s'", s->str,
			          a->name);
	}
	free(names);
}

/* MCP server names, for "did you mean" (owned array of borrowed names). */
static const char **server_names(graph_build *b)
{
	const char **names;
	size_t i;
	if (!b->g->nservers)
		return NULL;
	if (!(names = hf_calloc(b->g->nservers, sizeof(*names)))) {
		b->oom = true;
		return NULL;
	}
	for (i = 0; i < b->g->nservers; i++)
		names[i] = b->g->servers[i].name;
	return names;
}

static void finish_agents(graph_build *b)
{
	const char **servers = server_names(b);
	size_t i;
	for (i = 0; i < b->g->nagents && !b->oom; i++) {
		hf_agent *a = &b->g->agents[i];
		resolve_tool_choice(b, a, &b->agents[i]);
		check_tools(b, a, &b->agents[i], servers);
		if (a->handoff_prompt && a->instructions) {
			/* prefix, blank line, instructions (memcpy: this runs per agent) */
			size_t np = strlen(hf_handoff_prompt_prefix), ni = strlen(a->instructions);
			if (!(a->system_prompt = hf_malloc(np + 2 + ni + 1))) {
				b->oom = true;
				continue;
			}
			memcpy(a->system_prompt, hf_handoff_prompt_prefix, np);
			memcpy(a->system_prompt + np, "\n\n", 2);
			memcpy(a->system_prompt + np + 2, a->instructions, ni + 1);
		} else {
			a->system_prompt = dup_or_null(b, a->handoff_prompt ? hf_handoff_prompt_prefix
			                                                    : a->instructions);
		}
	}
	free(servers);
}

static void find_entry(graph_build *b, const char *source, const char **names)
{
	hf_graph *g = b->g;
	if (b->entry) {
		g->entry = hf_graph_agent_by_name(g, b->entry->str);
		if (!g->entry)
			unknown_agent(b, b->graph_file[GK_ENTRY], b->entry, "entry agent", names);
	} else if (g->nagents == 1) {
		g->entry = &g->agents[0];
	} else {
		gb_report(b, HF_SEV_ERROR, b->graph_map ? b->graph_map_file : source, b->graph_map,
		          "%zu agents and no entry agent: set 'entry:' in the graph file "
		          "(handoff.yaml) to the agent that takes the first message", g->nagents);
	}
}

static void warn_unreachable(graph_build *b)
{
	hf_graph *g = b->g;
	const hf_agent **queue = hf_calloc(g->nagents, sizeof(*queue));
	bool *seen = hf_calloc(g->nagents, sizeof(*seen));
	size_t head = 0, tail = 0, i;

	if (!queue || !seen) {
		b->oom = true;
	} else {
		queue[tail++] = g->entry;
		seen[g->entry - g->agents] = true;
		while (head < tail) {
			const hf_agent *a = queue[head++];
			for (i = 0; i < a->nhandoffs; i++) {
				size_t k = (size_t)(a->handoffs[i] - g->agents);
				if (!seen[k]) {
					seen[k] = true;
					queue[tail++] = a->handoffs[i];
				}
			}
		}
		for (i = 0; i < g->nagents; i++)
			if (!seen[i])
				gb_report(b, HF_SEV_WARNING, b->agents[i].file, b->agents[i].name_node,
				          "agent '%s' cannot be reached from the entry agent '%s'",
				          g->agents[i].name, g->entry->name);
	}
	free(queue);
	free(seen);
}

void gb_link(graph_build *b, const char *source)
{
	hf_graph *g = b->g;
	const char **names;
	size_t i;
	hf_error e;

	if (b->nagents == 0) { /* when nothing else was wrong, say why it is empty */
		if (!hf_diag_error_count(b->d))
			gb_report(b, HF_SEV_ERROR, source, NULL,
			          "no agents: add agent files (*.yaml) or a list under 'agents:'");
		return;
	}
	g->agents = hf_calloc(b->nagents, sizeof(*g->agents));
	if (!g->agents) {
		b->oom = true;
		return;
	}
	for (i = 0; i < b->nagents; i++) { /* the graph owns the agents from here */
		g->agents[i] = b->agents[i].a;
		memset(&b->agents[i].a, 0, sizeof(b->agents[i].a));
	}
	g->nagents = b->nagents;
	if (hf_graph_index_init(g, &e)) {
		b->oom = true;
		return;
	}
	name_agents(b);
	apply_default_model(b);
	names = b->oom ? NULL : all_names(b);
	if (!b->oom)
		resolve_handoffs(b, names);
	if (!b->oom)
		finish_agents(b);
	if (!b->oom)
		find_entry(b, source, names);
	if (!b->oom && g->entry)
		warn_unreachable(b);
	free(names);
}

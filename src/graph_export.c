/*
 * graph_export.c - drawing an agent graph: Mermaid flowchart, Graphviz dot
 * (in the look of the Agents SDK's draw_graph: __start__ -> entry agent,
 * agents as yellow boxes, handoff edges, agents without handoffs ->
 * __end__) and JSON (cJSON; MCP servers without env and header values).
 */
#include "graph.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static size_t index_of(const hf_graph *g, const hf_agent *a)
{
	return (size_t)(a - g->agents);
}

/* A name inside a Mermaid "..." label: HTML-ish characters as #code;. */
static int mermaid_label(hf_buf *b, const char *s)
{
	int rc = HF_OK;
	for (; *s && !rc; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20)
			rc = hf_buf_puts(b, " ");
		else if (strchr("\"#<>&`", c))
			rc = hf_buf_printf(b, "#%u;", c);
		else
			rc = hf_buf_append(b, s, 1);
	}
	return rc;
}

/* A name inside a dot "..." string. */
static int dot_string(hf_buf *b, const char *s)
{
	int rc = HF_OK;
	for (; *s && !rc; s++) {
		if (*s == '"' || *s == '\\')
			rc = hf_buf_printf(b, "\\%c", *s);
		else if (*s == '\n')
			rc = hf_buf_puts(b, "\\n");
		else if ((unsigned char)*s < 0x20)
			rc = hf_buf_puts(b, " ");
		else
			rc = hf_buf_append(b, s, 1);
	}
	return rc;
}

static int export_mermaid(hf_buf *b, const hf_graph *g)
{
	int rc = hf_buf_puts(b, "flowchart TD\n"
	                        "  classDef agent fill:lightyellow,stroke:#333\n"
	                        "  classDef entry fill:lightyellow,stroke:#333,stroke-width:3px\n"
	                        "  start([\"__start__\"])\n");
	size_t i, j;
	for (i = 0; i < g->nagents && !rc; i++) {
		const hf_agent *a = &g->agents[i];
		rc = hf_buf_printf(b, "  a%zu[\"", i);
		if (!rc)
			rc = mermaid_label(b, a->name);
		if (!rc)
			rc = hf_buf_printf(b, "\"]:::%s\n", a == g->entry ? "entry" : "agent");
	}
	if (!rc && g->entry)
		rc = hf_buf_printf(b, "  start --> a%zu\n", index_of(g, g->entry));
	for (i = 0; i < g->nagents && !rc; i++)
		for (j = 0; j < g->agents[i].nhandoffs && !rc; j++)
			rc = hf_buf_printf(b, "  a%zu --> a%zu\n", i, index_of(g, g->agents[i].handoffs[j]));
	return rc;
}

static int export_dot(hf_buf *b, const hf_graph *g)
{
	static const char terminal[] =
		"shape=ellipse, style=filled, fillcolor=lightblue, width=0.5, height=0.3";
	bool any_end = false;
	size_t i, j;
	int rc = hf_buf_printf(b, "digraph G {\n"
	                          "  graph [splines=true];\n"
	                          "  node [fontname=\"Arial\"];\n"
	                          "  edge [penwidth=1.5];\n"
	                          "  \"__start__\" [label=\"__start__\", %s];\n",
	                       terminal);
	for (i = 0; i < g->nagents && !rc; i++) {
		const hf_agent *a = &g->agents[i];
		any_end = any_end || a->nhandoffs == 0;
		rc = hf_buf_printf(b, "  \"a%zu\" [label=\"", i);
		if (!rc)
			rc = dot_string(b, a->name);
		if (!rc)
			rc = hf_buf_printf(b, "\", shape=box, style=filled, fillcolor=lightyellow, "
			                      "width=1.5, height=0.8%s];\n",
			                   a == g->entry ? ", penwidth=3" : "");
	}
	if (!rc && any_end)
		rc = hf_buf_printf(b, "  \"__end__\" [label=\"__end__\", %s];\n", terminal);
	if (!rc && g->entry)
		rc = hf_buf_printf(b, "  \"__start__\" -> \"a%zu\";\n", index_of(g, g->entry));
	for (i = 0; i < g->nagents && !rc; i++) {
		const hf_agent *a = &g->agents[i];
		for (j = 0; j < a->nhandoffs && !rc; j++)
			rc = hf_buf_printf(b, "  \"a%zu\" -> \"a%zu\";\n", i, index_of(g, a->handoffs[j]));
		if (!rc && a->nhandoffs == 0)
			rc = hf_buf_printf(b, "  \"a%zu\" -> \"__end__\";\n", i);
	}
	return rc ? rc : hf_buf_puts(b, "}\n");
}

/* cJSON string or null; false when out of memory. */
static bool json_str(cJSON *o, const char *key, const char *v)
{
	return v ? cJSON_AddStringToObject(o, key, v) != NULL : cJSON_AddNullToObject(o, key) != NULL;
}

/* A NULL-terminated array of strings as a JSON array under key; with
 * `upto`, each string only up to that character (a name without its
 * value). False when out of memory. */
static bool json_strv(cJSON *o, const char *key, char *const *v, const char *upto)
{
	cJSON *arr = cJSON_AddArrayToObject(o, key);
	size_t i;
	for (i = 0; arr && v && v[i]; i++) {
		size_t n = upto ? strcspn(v[i], upto) : strlen(v[i]);
		char *s = hf_strndup(v[i], n);
		cJSON *item = s ? cJSON_CreateString(s) : NULL;
		free(s);
		if (!item || !cJSON_AddItemToArray(arr, item)) {
			cJSON_Delete(item);
			return false;
		}
	}
	return arr != NULL;
}

/* tool_use as written: a word, or {"stop_at": [...]}. */
static bool tool_use_json(cJSON *o, const hf_agent *a)
{
	cJSON *m;
	if (a->tool_use != HF_TOOL_USE_STOP_AT)
		return json_str(o, "tool_use", a->tool_use == HF_TOOL_USE_STOP_ON_FIRST
		                                       ? "stop_on_first_tool"
		                                       : "run_llm_again");
	return (m = cJSON_AddObjectToObject(o, "tool_use")) && json_strv(m, "stop_at", a->stop_at, NULL);
}

/* The agent's tools as written: SERVER.TOOL, SERVER.* or NAME. */
static bool tools_json(cJSON *o, const hf_agent *a)
{
	cJSON *arr = cJSON_AddArrayToObject(o, "tools");
	size_t i;
	for (i = 0; arr && i < a->ntools; i++) {
		const hf_agent_tool *t = &a->tools[i];
		char *s = t->server ? hf_asprintf("%s.%s", t->server, t->name) : hf_strdup(t->name);
		cJSON *item = s ? cJSON_CreateString(s) : NULL;
		free(s);
		if (!item || !cJSON_AddItemToArray(arr, item)) {
			cJSON_Delete(item);
			return false;
		}
	}
	return arr != NULL;
}

/* A server without the values of its env and headers (they may hold
 * secrets, or name them): only their names. */
static cJSON *server_json(const hf_mcp_server_conf *s)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && json_str(o, "name", s->name) &&
	          json_str(o, "transport", s->url ? "http" : "stdio") &&
	          json_str(o, "command", s->command) && json_str(o, "url", s->url) &&
	          json_strv(o, "env", s->env, "=") && json_strv(o, "headers", s->headers, ":") &&
	          (s->timeout_ms ? cJSON_AddNumberToObject(o, "timeout_ms", (double)s->timeout_ms)
	                         : cJSON_AddNullToObject(o, "timeout_ms")) &&
	          (s->allow ? json_strv(o, "allow", s->allow, NULL) : !!cJSON_AddNullToObject(o, "allow")) &&
	          (s->deny ? json_strv(o, "deny", s->deny, NULL) : !!cJSON_AddNullToObject(o, "deny"));
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *agent_json(const hf_graph *g, const hf_agent *a)
{
	cJSON *o = cJSON_CreateObject(), *hs;
	size_t i;
	bool ok = o && json_str(o, "name", a->name) && json_str(o, "description", a->description) &&
	          json_str(o, "model", a->model) && json_str(o, "provider", a->provider) &&
	          json_str(o, "compute_provider", a->compute_provider) &&
	          json_str(o, "tool_name", a->tool_name) &&
	          cJSON_AddBoolToObject(o, "entry", a == g->entry) &&
	          (hs = cJSON_AddArrayToObject(o, "handoffs"));
	for (i = 0; ok && i < a->nhandoffs; i++) {
		cJSON *h = cJSON_CreateObject();
		ok = h && json_str(h, "agent", a->handoffs[i]->name) &&
		     json_str(h, "tool_name", a->handoffs[i]->tool_name) && cJSON_AddItemToArray(hs, h);
		if (!ok)
			cJSON_Delete(h);
	}
	ok = ok && tools_json(o, a) && tool_use_json(o, a);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int export_json(char **out, const hf_graph *g)
{
	cJSON *root = cJSON_CreateObject(), *agents, *servers;
	size_t i;
	bool ok = root &&
	          json_str(root, "entry", g->entry ? g->entry->name : NULL) &&
	          json_str(root, "routing", g->routing == HF_ROUTING_ROUTER ? "router" : "sticky") &&
	          cJSON_AddNumberToObject(root, "max_turns", g->max_turns) &&
	          json_str(root, "model", g->default_model) &&
	          json_str(root, "provider", g->endpoint.provider) &&
	          json_str(root, "compute_provider", g->endpoint.compute_provider) &&
	          json_str(root, "tool_errors", g->tool_errors_fail ? "fail" : "tell_model") &&
	          (servers = cJSON_AddArrayToObject(root, "mcp_servers")) &&
	          (agents = cJSON_AddArrayToObject(root, "agents"));
	for (i = 0; ok && i < g->nservers; i++) {
		cJSON *s = server_json(&g->servers[i]);
		ok = s && cJSON_AddItemToArray(servers, s);
		if (!ok)
			cJSON_Delete(s);
	}
	for (i = 0; ok && i < g->nagents; i++) {
		cJSON *a = agent_json(g, &g->agents[i]);
		ok = a && cJSON_AddItemToArray(agents, a);
		if (!ok)
			cJSON_Delete(a);
	}
	*out = ok ? cJSON_Print(root) : NULL;
	cJSON_Delete(root);
	return *out ? HF_OK : HF_ENOMEM;
}

int hf_graph_export(char **out, const hf_graph *g, hf_graph_format fmt, hf_error *err)
{
	hf_buf b = HF_BUF_INIT;
	int rc;

	*out = NULL;
	if (!g)
		return hf_err(err, HF_EINVAL, "no graph to export");
	switch (fmt) {
	case HF_GRAPH_MERMAID: rc = export_mermaid(&b, g); break;
	case HF_GRAPH_DOT: rc = export_dot(&b, g); break;
	case HF_GRAPH_JSON: rc = export_json(out, g); break;
	default: return hf_err(err, HF_EINVAL, "unknown graph format %d", (int)fmt);
	}
	if (fmt != HF_GRAPH_JSON && !rc && !(*out = hf_buf_detach(&b)))
		rc = HF_ENOMEM;
	hf_buf_dispose(&b);
	if (rc)
		return hf_err(err, rc, "out of memory drawing the graph");
	return HF_OK;
}

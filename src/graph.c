/*
 * graph.c - the loaded agent graph: accessors, lookup by name and by handoff
 * tool name, handoff tool names, the handoff prompt prefix, and freeing.
 * Loading is in graph_load.c, export in graph_export.c.
 */
#include "graph.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define TOOL_PREFIX "transfer_to_"
#define TOOL_NAME_MAX 64

const char hf_handoff_prompt_prefix[] =
	"# System context\n"
	"You are one agent in a multi-agent system in which agents can pass a "
	"conversation to each other. Passing it on is called a handoff; you do it "
	"by calling the matching function, named transfer_to_<agent_name>. "
	"Handoffs happen in the background: do not mention or draw attention to "
	"them, or to the other agents, in what you say to the user.";

int hf_handoff_tool_name(char *buf, size_t cap, const char *agent_name, hf_error *err)
{
	const utf8proc_uint8_t *s = (const utf8proc_uint8_t *)agent_name;
	size_t len = agent_name ? strlen(agent_name) : 0, i = 0, n = sizeof(TOOL_PREFIX) - 1;
	char out[TOOL_NAME_MAX + 1];

	if (len == 0)
		return hf_err(err, HF_EINVAL, "an agent name must not be empty");
	memcpy(out, TOOL_PREFIX, n);
	/* One '_' per code point outside [A-Za-z0-9_], as Python's re.sub does. */
	while (i < len) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i), &cp);
		if (k < 0)
			return hf_err(err, HF_EINVAL, "agent name is not valid UTF-8 (byte %zu)", i);
		i += (size_t)k;
		if (n == TOOL_NAME_MAX)
			return hf_err(err, HF_EINVAL,
			              "agent name '%s' gives a handoff tool name over %d characters",
			              agent_name, TOOL_NAME_MAX);
		if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9') || cp == '_')
			out[n++] = (char)cp;
		else if (cp >= 'A' && cp <= 'Z')
			out[n++] = (char)(cp - 'A' + 'a');
		else
			out[n++] = '_';
	}
	if (cap < n + 1)
		return hf_err(err, HF_ELIMIT, "buffer of %zu bytes is too small for a tool name", cap);
	memcpy(buf, out, n);
	buf[n] = '\0';
	return HF_OK;
}

/* ---- lookup tables ---- */

static size_t hash_str(const char *s)
{
	size_t h = 14695981039346656037u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

static const char *index_key(const hf_agent *a, bool by_tool)
{
	return by_tool ? a->tool_name : a->name;
}

int hf_graph_index_init(hf_graph *g, hf_error *err)
{
	size_t cap = 8;
	while (cap < g->nagents * 2)
		cap *= 2;
	g->by_name = hf_calloc(cap, sizeof(*g->by_name));
	g->by_tool = hf_calloc(cap, sizeof(*g->by_tool));
	if (!g->by_name || !g->by_tool)
		return hf_err(err, HF_ENOMEM, "out of memory indexing %zu agents", g->nagents);
	g->index_mask = cap - 1;
	return HF_OK;
}

/* The slot holding key, or the empty slot where it would go. */
static const hf_agent **index_slot(const hf_graph *g, const char *key, bool by_tool)
{
	const hf_agent **slots = by_tool ? g->by_tool : g->by_name;
	size_t i = hash_str(key) & g->index_mask;
	while (slots[i] && strcmp(index_key(slots[i], by_tool), key))
		i = (i + 1) & g->index_mask;
	return &slots[i];
}

const hf_agent *hf_graph_index_put(hf_graph *g, const hf_agent *a, bool by_tool)
{
	const hf_agent **slot = index_slot(g, index_key(a, by_tool), by_tool);
	if (*slot)
		return *slot;
	*slot = a;
	return NULL;
}

static const hf_agent *index_get(const hf_graph *g, const char *key, bool by_tool)
{
	if (!g || !key || !g->by_name)
		return NULL;
	return *index_slot(g, key, by_tool);
}

/* ---- accessors ---- */

static void settings_free(hf_settings *s)
{
	size_t i;
	for (i = 0; i < s->nstop; i++)
		free(s->stop[i]);
	free(s->stop);
	free(s->tool_choice);
}

/* Free a NULL-terminated array of strings. */
static void strv_free(char **v)
{
	size_t i;
	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void server_dispose(hf_mcp_server_conf *s)
{
	free(s->name);
	free(s->command);
	strv_free(s->args);
	strv_free(s->env);
	free(s->url);
	strv_free(s->headers);
	strv_free(s->allow);
	strv_free(s->deny);
	free(s->cwd);
	free(s->file);
}

void hf_agent_dispose(hf_agent *a)
{
	size_t i;
	for (i = 0; i < a->ntools; i++) {
		free(a->tools[i].server);
		free(a->tools[i].name);
		free(a->tools[i].written);
	}
	free(a->tools);
	strv_free(a->stop_at);
	free(a->name);
	free(a->description);
	free(a->instructions);
	free(a->system_prompt);
	free(a->model);
	free(a->provider);
	free(a->compute_provider);
	free(a->tool_name);
	free(a->handoffs);
	free(a->file);
	settings_free(&a->settings);
	if (a->cache)
		a->cache->free(a->cache);
}

void hf_graph_free(hf_graph *g)
{
	size_t i;
	if (!g)
		return;
	for (i = 0; i < g->nagents; i++)
		hf_agent_dispose(&g->agents[i]);
	free(g->agents);
	for (i = 0; i < g->nservers; i++)
		server_dispose(&g->servers[i]);
	free(g->servers);
	free(g->default_model);
	free(g->endpoint.base_url);
	free(g->endpoint.api_key_env);
	free(g->endpoint.provider);
	free(g->endpoint.compute_provider);
	free(g->source);
	free(g->by_name);
	free(g->by_tool);
	free(g);
}

size_t hf_graph_agent_count(const hf_graph *g)
{
	return g ? g->nagents : 0;
}

const hf_agent *hf_graph_agent_at(const hf_graph *g, size_t i)
{
	return g && i < g->nagents ? &g->agents[i] : NULL;
}

const hf_agent *hf_graph_agent_by_name(const hf_graph *g, const char *name)
{
	return index_get(g, name, false);
}

const hf_agent *hf_graph_agent_by_tool(const hf_graph *g, const char *tool_name)
{
	return index_get(g, tool_name, true);
}

const hf_agent *hf_graph_entry(const hf_graph *g)
{
	return g ? g->entry : NULL;
}

hf_routing hf_graph_routing(const hf_graph *g)
{
	return g ? g->routing : HF_ROUTING_STICKY;
}

int hf_graph_max_turns(const hf_graph *g)
{
	return g ? g->max_turns : 0;
}

const char *hf_agent_name(const hf_agent *a)
{
	return a ? a->name : NULL;
}

const char *hf_agent_description(const hf_agent *a)
{
	return a ? a->description : NULL;
}

const char *hf_agent_instructions(const hf_agent *a)
{
	return a ? a->instructions : NULL;
}

const char *hf_agent_model(const hf_agent *a)
{
	return a ? a->model : NULL;
}

const char *hf_agent_provider(const hf_agent *a)
{
	return a ? a->provider : NULL;
}

const char *hf_agent_compute_provider(const hf_agent *a)
{
	return a ? a->compute_provider : NULL;
}

const char *hf_agent_tool_name(const hf_agent *a)
{
	return a ? a->tool_name : NULL;
}

size_t hf_agent_handoff_count(const hf_agent *a)
{
	return a ? a->nhandoffs : 0;
}

const hf_agent *hf_agent_handoff_at(const hf_agent *a, size_t i)
{
	return a && i < a->nhandoffs ? a->handoffs[i] : NULL;
}

size_t hf_agent_tool_count(const hf_agent *a)
{
	return a ? a->ntools : 0;
}

const char *hf_agent_tool_at(const hf_agent *a, size_t i)
{
	return a && i < a->ntools ? a->tools[i].written : NULL;
}

size_t hf_graph_mcp_server_count(const hf_graph *g)
{
	return g ? g->nservers : 0;
}

/*
 * graph_build.h - a graph while it is being loaded: the YAML trees of its
 * files, the agents as written (graph_schema.c reads them from the trees),
 * and the step that links them into an hf_graph (graph_link.c).
 * graph_load.c drives the three.
 */
#ifndef HF_GRAPH_BUILD_H
#define HF_GRAPH_BUILD_H

#include "graph_yaml.h"

/* An agent as written: its fields are set (owned), its handoffs and
 * tool_choice are still names, resolved by gb_link. */
typedef struct gb_agent {
	hf_agent a;
	const char *file;           /* borrowed from the builder */
	const gy_node *name_node;   /* positions for messages */
	const gy_node *handoffs;    /* a list of checked name scalars, or NULL */
	const gy_node *tool_choice; /* a scalar, or NULL */
	const gy_node *stop_at;     /* tool_use: {stop_at: [...]}: the list of
	                               checked names (a.stop_at), or NULL */
} gb_agent;

/* Graph-level keys (graph file). */
enum {
	GK_ENTRY, GK_ROUTING, GK_MAX_TURNS, GK_MODEL, GK_BASE_URL, GK_API_KEY_ENV,
	GK_PROVIDER, GK_COMPUTE_PROVIDER, GK_TIMEOUTS, GK_MAX_RETRIES, GK_AGENTS, GK_MCP_SERVERS,
	GK_TOOL_ERRORS, GK_COUNT
};

typedef struct graph_build {
	hf_graph *g;                /* graph keys land here directly */
	hf_diag *d;
	gb_agent *agents;
	size_t nagents, capagents;
	gy_tree **trees;            /* kept until the end: nodes are referenced */
	char **files;               /* the name of each tree, for positions */
	size_t ntrees, captrees;
	/* where each graph key was set, to report a second setting */
	const gy_node *graph_at[GK_COUNT];
	const char *graph_file[GK_COUNT];
	const char *graph_map_file; /* the first graph mapping seen */
	const gy_node *graph_map;
	const gy_node *entry;       /* the entry agent's name, when valid text */
	size_t suggest_budget;      /* names "did you mean" may still compare */
	bool from_files;            /* file names are paths (not a string's label):
	                               a stdio server's default cwd is its file's
	                               directory */
	bool oom;
} graph_build;

/* graph_diag.c: report a problem at node `at` (NULL: the whole file); a
 * failed allocation sets b->oom. */
void gb_report(graph_build *b, hf_severity sev, const char *file, const gy_node *at,
               const char *fmt, ...) HF_PRINTF(5, 6);

/* graph_schema.c: read one document's root from `file` into b (agents and
 * graph keys), reporting unknown keys, wrong types and missing names.
 * graph_file: the file is a graph file by name (handoff.yaml). */
void gb_read_document(graph_build *b, const gy_node *root, const char *file, bool graph_file);

/* graph_link.c: move the agents into b->g, apply defaults, resolve
 * handoffs, tool_choice and the entry agent, check agents' tools against
 * mcp_servers and their handoffs, and report the problems that need the
 * whole graph. `source` names the graph in whole-graph messages. */
void gb_link(graph_build *b, const char *source);

#endif

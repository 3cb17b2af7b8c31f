/*
 * graph.h - the in-memory agent graph (internal layout). Built by graph.c
 * from YAML, immutable afterwards, read by the runner, the engine and the CLI.
 */
#ifndef HF_GRAPH_H
#define HF_GRAPH_H

#include "internal.h"

/* Optional per-agent model settings; `has_*` says whether a field was set. */
typedef struct hf_settings {
	bool has_temperature, has_top_p, has_max_tokens, has_seed, has_parallel_tool_calls;
	double temperature;
	double top_p;
	long max_tokens;
	long long seed;
	bool parallel_tool_calls;
	char *tool_choice;  /* "auto" | "required" | "none" | a handoff tool name
	                       (an agent name in YAML is stored as its tool name);
	                       NULL = unset */
	char **stop;        /* NULL-terminated; NULL = unset */
	size_t nstop;
} hf_settings;

/* One entry of an agent's `tools:` list. */
typedef struct hf_agent_tool {
	char *server;      /* the MCP server's name (SERVER.TOOL, SERVER.*); NULL for
	                      a bare name: a C callback */
	char *name;        /* the tool's name; "*" for every tool the server lists */
	char *written;     /* the entry as written: "SERVER.TOOL", "SERVER.*", NAME */
	int line, col;     /* where it was named (in the agent's file) */
} hf_agent_tool;

/* tool_use (the Agents SDK's tool_use_behavior) */
typedef enum hf_tool_use {
	HF_TOOL_USE_RUN_LLM_AGAIN = 0, /* default: results go back to the model */
	HF_TOOL_USE_STOP_ON_FIRST = 1, /* the first tool's output is the final answer */
	HF_TOOL_USE_STOP_AT = 2        /* stop when a tool named in stop_at ran */
} hf_tool_use;

/* One entry of the graph file's `mcp_servers:`. Exactly one of command and
 * url is set. env and headers keep ${NAME} unexpanded: a tool set expands
 * them when it starts the server (tools.c), so a secret is never part of
 * the loaded graph. */
typedef struct hf_mcp_server_conf {
	char *name;        /* the key under mcp_servers */
	char *command;     /* stdio: the program, spawned directly (no shell) */
	char **args;       /* NULL-terminated; NULL when none */
	char **env;        /* "NAME=VALUE" NULL-terminated: the child's whole
	                      environment besides PATH and HOME; NULL when none */
	char *url;         /* Streamable HTTP endpoint */
	char **headers;    /* "Name: value" NULL-terminated; NULL when none */
	long timeout_ms;   /* per tool call; 0 = default 60 s */
	char **allow;      /* SERVER.* offers only these (NULL: all) */
	char **deny;       /* ... and never these */
	char *cwd;         /* working directory (default: the graph file's dir) */
	char *file;        /* where it was declared */
	int line, col;
} hf_mcp_server_conf;

/* The head of a value cached in an agent: the destructor that frees the
 * whole value (which embeds this as its first member). */
typedef struct hf_agent_cache {
	void (*free)(struct hf_agent_cache *c);
} hf_agent_cache;

struct hf_agent {
	char *name;
	char *description;       /* handoff_description */
	char *instructions;      /* as written in YAML; NULL when not set */
	char *system_prompt;     /* the system message: instructions, after the handoff
	                            prefix and a blank line when handoff_prompt; NULL
	                            when there is neither */
	char *model;             /* the graph's default model applied */
	char *provider;          /* the agent's own, or NULL: then the client's, */
	char *compute_provider;  /* which is flag > env > graph file (endpoint.c) */
	char *tool_name;         /* transfer_to_... */
	bool handoff_prompt;
	hf_settings settings;
	const hf_agent **handoffs; /* resolved targets, in listed order */
	size_t nhandoffs;
	hf_agent_tool *tools;    /* `tools:` in listed order; resolved by a tool set */
	size_t ntools;
	hf_tool_use tool_use;
	char **stop_at;          /* HF_TOOL_USE_STOP_AT: tool names, NULL-terminated */
	char *file;              /* where it was defined */
	int line, col;
	/* A value derived from this agent on first use by the module that owns
	 * it (the request-body parts, chat.c's hf_chat_agent_wire_get); the graph
	 * stays logically immutable, threads race benignly to fill it, and
	 * hf_agent_dispose frees it through its own destructor. */
	hf_agent_cache *_Atomic cache;
};

/* Endpoint defaults from the graph file; NULL / 0 when not set. */
typedef struct hf_graph_endpoint {
	char *base_url;
	char *api_key_env;
	char *provider;
	char *compute_provider;
	long connect_timeout_ms;
	long timeout_ms;
	long idle_timeout_ms;
	long deadline_ms;
	int max_retries;         /* -1 when not set */
} hf_graph_endpoint;

struct hf_graph {
	hf_agent *agents;        /* load order */
	size_t nagents;
	const hf_agent *entry;
	hf_routing routing;
	int max_turns;
	char *default_model;
	hf_graph_endpoint endpoint;
	char *source;            /* the path it was loaded from */
	hf_mcp_server_conf *servers; /* mcp_servers, in file order */
	size_t nservers;
	bool tool_errors_fail;   /* tool_errors: fail (default: tell the model) */
	/* Lookup tables (graph.c): open addressing, mask + 1 slots each. */
	const hf_agent **by_name;
	const hf_agent **by_tool;
	size_t index_mask;
};

/* Free what an agent owns (not the struct itself). */
void hf_agent_dispose(hf_agent *a);

/* Size the lookup tables for g->nagents agents (all slots empty).
 * HF_ENOMEM. */
int hf_graph_index_init(hf_graph *g, hf_error *err);
/* Index agent a under its name (by_tool false) or its tool name (true).
 * Returns NULL when it was added, or the agent that already holds that key
 * (then nothing changes). The tables must have room (index_init). */
const hf_agent *hf_graph_index_put(hf_graph *g, const hf_agent *a, bool by_tool);

/* Diagnostics while loading (graph_diag.c). hf_diag_add copies file and
 * the formatted message; line 0 means the whole file. HF_ENOMEM. A repeat
 * (same severity, place and message) is dropped; past 100 problems in a
 * file or 1000 in all (warnings: half of that), problems are only counted
 * (see hf_diag_finish). */
int hf_diag_new(hf_diag **out);
int hf_diag_add(hf_diag *d, hf_severity sev, const char *file, int line, int col,
                const char *fmt, ...) HF_PRINTF(6, 7);
int hf_diag_addv(hf_diag *d, hf_severity sev, const char *file, int line, int col,
                 const char *fmt, va_list ap);
/* Order by file, then line and column (stable); the first error then is
 * the one to show in an hf_error. */
void hf_diag_sort(hf_diag *d);
/* Sort, then add one last problem under `source` when some were not kept:
 * "N more problems not shown" (an error when one of them was). HF_ENOMEM. */
int hf_diag_finish(hf_diag *d, const char *source);

/* The candidate nearest to `word` by edit distance when it is close enough
 * to be a likely typo, else NULL. */
const char *hf_diag_nearest(const char *word, const char *const *candidates, size_t n);

/* The standard prefix prepended (with a blank line) to the instructions of
 * an agent that sets handoff_prompt: true. */
extern const char hf_handoff_prompt_prefix[];

#endif

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
	char *tool_choice;  /* "auto" | "required" | "none" | a tool name; NULL = unset */
	char **stop;        /* NULL-terminated; NULL = unset */
	size_t nstop;
} hf_settings;

struct hf_agent {
	char *name;
	char *description;       /* handoff_description */
	char *instructions;      /* as written in YAML */
	char *system_prompt;     /* instructions with the handoff prefix when handoff_prompt */
	char *model;             /* default applied */
	char *provider;          /* default applied; may be NULL */
	char *compute_provider;  /* default applied; may be NULL */
	char *tool_name;         /* transfer_to_... */
	bool handoff_prompt;
	hf_settings settings;
	const hf_agent **handoffs; /* resolved targets, in listed order */
	size_t nhandoffs;
	char *file;              /* where it was defined */
	int line, col;
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
};

/* The standard prefix prepended (with a blank line) to the instructions of
 * an agent that sets handoff_prompt: true. */
extern const char hf_handoff_prompt_prefix[];

#endif

/*
 * main.c - `handoff`: dispatch to the subcommands.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

typedef struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} command;

static const command commands[] = {
	{ "run", hf_cmd_run, "run one turn of a conversation through an agent graph" },
	{ "chat", hf_cmd_chat, "talk to an agent graph interactively" },
	{ "validate", hf_cmd_validate, "check an agent graph and report every problem" },
	{ "graph", hf_cmd_graph, "draw an agent graph (mermaid, dot, json)" },
	{ "tools", hf_cmd_tools, "start the MCP servers and list each agent's tools" },
	{ "sessions", hf_cmd_sessions, "list, show, export or delete stored conversations" },
	{ "ask", hf_cmd_ask, "one chat completion, without agents" },
	{ "models", hf_cmd_models, "list the models of the endpoint (Model Hub)" },
	{ "providers", hf_cmd_providers, "list the compute providers (Model Hub)" },
	{ "model", hf_cmd_model, "show one model's detail and usage requirements" },
	{ "mock", cli_exec_mock, "serve a local scripted OpenAI-compatible endpoint" },
};

static void usage(FILE *f)
{
	size_t i;
	fprintf(f, "usage: handoff [--version] [--help] COMMAND [ARGS]\n\n"
	           "A multi-agent routing runtime: agents in YAML, handoffs as in the\n"
	           "OpenAI Agents SDK, conversations kept between turns.\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'handoff COMMAND --help' describes a command.\n\n"
	           "exit status: 0 ok, 1 other error, 2 usage, 3 config/YAML, 4 auth,\n"
	           "5 network/HTTP, 6 routing (max turns, handoff loop, unknown tool, a tool\n"
	           "that failed under tool_errors: fail), "
	           "8 the model refused, 130 interrupted.\n");
}

int main(int argc, char **argv)
{
	size_t i;
	hf_error err;
	int rc;

	if (argc < 2) {
		usage(stderr);
		return HF_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return HF_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("handoff %s\n", hf_version());
		return HF_EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		if (hf_global_init(&err))
			return cli_fail(&err);
		rc = commands[i].fn(argc - 1, argv + 1);
		hf_global_cleanup();
		return rc;
	}
	fprintf(stderr, "handoff: '%s' is not a command; see 'handoff --help'\n", argv[1]);
	return HF_EXIT_USAGE;
}

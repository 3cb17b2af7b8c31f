/* cmd_graph.c - `handoff graph` (not built yet). */
#include "cli.h"

int hf_cmd_graph(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_note("handoff graph: not built yet\n");
	return HF_EXIT_ERROR;
}

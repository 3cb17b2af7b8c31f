/* cmd_ask.c - `handoff ask` (not built yet). */
#include "cli.h"

int hf_cmd_ask(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_note("handoff ask: not built yet\n");
	return HF_EXIT_ERROR;
}

/* cmd_run.c - `handoff run` (not built yet). */
#include "cli.h"

int hf_cmd_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_note("handoff run: not built yet\n");
	return HF_EXIT_ERROR;
}

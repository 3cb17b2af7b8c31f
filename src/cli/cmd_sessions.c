/* cmd_sessions.c - `handoff sessions` (not built yet). */
#include "cli.h"

int hf_cmd_sessions(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_note("handoff sessions: not built yet\n");
	return HF_EXIT_ERROR;
}

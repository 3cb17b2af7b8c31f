/* cmd_mock.c - `handoff mock` (not built yet). */
#include "cli.h"

int hf_cmd_mock(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_note("handoff mock: not built yet\n");
	return HF_EXIT_ERROR;
}

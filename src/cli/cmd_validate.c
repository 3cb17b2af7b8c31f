/* cmd_validate.c - `handoff validate` (not built yet). */
#include "cli.h"

int hf_cmd_validate(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_note("handoff validate: not built yet\n");
	return HF_EXIT_ERROR;
}

/* cmd_chat.c - `handoff chat` (not built yet). */
#include "cli.h"

int hf_cmd_chat(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_note("handoff chat: not built yet\n");
	return HF_EXIT_ERROR;
}

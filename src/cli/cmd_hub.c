/* cmd_hub.c - `handoff models`, `handoff providers`, `handoff model` (not built yet). */
#include "cli.h"

int hf_cmd_models(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_note("handoff models: not built yet\n");
	return HF_EXIT_ERROR;
}

int hf_cmd_providers(int argc, char **argv)
{
	return hf_cmd_models(argc, argv);
}

int hf_cmd_model(int argc, char **argv)
{
	return hf_cmd_models(argc, argv);
}

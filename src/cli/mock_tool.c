/*
 * mock_tool.c - the handoff-mock program: `handoff mock` on its own, so the
 * handoff command itself does not load an HTTP server library.
 */
#include "cli.h"

int main(int argc, char **argv)
{
	hf_error err;
	int status;
	if (hf_global_init(&err))
		return cli_fail(&err);
	status = hf_cmd_mock(argc, argv);
	hf_global_cleanup();
	return status;
}

/* mock.c - placeholder until the mock endpoint is built. */
#include "mock.h"

int hf_mock_start(hf_mock **out, const hf_mock_options *opts, hf_error *err)
{
	(void)opts;
	*out = NULL;
	return hf_err(err, HF_ENET, "the mock endpoint is not built yet");
}

/* header_test.c - the public headers compile alone, in strict C11, with
 * nothing else included first (see tests/CMakeLists.txt). */
#include "handoff.h"
#include "handoff/store.h"
#include "handoff/mock.h"

int main(void)
{
	hf_client_options co = HF_CLIENT_OPTIONS_INIT;
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	hf_ask_options ao = HF_ASK_OPTIONS_INIT;
	hf_mock_options mo = HF_MOCK_OPTIONS_INIT;
	return (int)(co.version + ro.version + ao.version + mo.version) == 4 ? 0 : 1;
}

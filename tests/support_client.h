/*
 * support_client.h - helpers shared by the model-client tests (test_http*,
 * test_hub*, test_cli_ask*): the local mock they talk to and its request
 * log.
 */
#ifndef HF_TEST_SUPPORT_CLIENT_H
#define HF_TEST_SUPPORT_CLIENT_H

#include "support.h"

#include "mock.h"

#include <cjson/cJSON.h>

/* Initialise the library and start the mock on 127.0.0.1 with its request
 * log in memory; `key` (may be NULL) is then the only key it accepts.
 * NULL when it could not start (the reason is printed). */
hf_mock *tc_mock_start(const char *key);
/* Stop the mock and release the library. */
void tc_mock_stop(hf_mock *m);
/* Forget the previous test: fault counters, script and request log. */
void tc_mock_fresh(hf_mock *m);
/* Request i of the log (the last one when i is TC_LAST), parsed; the
 * caller deletes it. Fails the test when there is none. */
#define TC_LAST ((size_t)-1)
cJSON *tc_log_entry(hf_mock *m, size_t i);

#endif

/*
 * support_mcp.h - driving an MCP host from a test: a call that waits for
 * its done callback (a condition, bounded by TS_SAFETY_MS), the library log
 * captured, a server conf built in place.
 */
#ifndef HF_TEST_SUPPORT_MCP_H
#define HF_TEST_SUPPORT_MCP_H

#include "mcp.h"

#include <pthread.h>

/* One call's outcome, filled on the host thread. */
typedef struct ts_mcp_call {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int runs;          /* how many times done ran (must be 1) */
	int code;
	bool is_error;
	char *text;        /* owned */
	char message[HF_ERROR_MESSAGE_MAX];
	uint64_t id;
} ts_mcp_call;

void ts_mcp_call_init(ts_mcp_call *c);
void ts_mcp_call_dispose(ts_mcp_call *c);
/* Start a call (asserts hf_mcp_host_call succeeded). */
void ts_mcp_call_start(ts_mcp_call *c, hf_mcp_host *h, size_t server, const char *tool,
                       const char *args, long timeout_ms);
/* Wait until done ran (fails the test past TS_SAFETY_MS). */
void ts_mcp_call_wait(ts_mcp_call *c);
/* Both. */
void ts_mcp_call_run(ts_mcp_call *c, hf_mcp_host *h, size_t server, const char *tool,
                 const char *args, long timeout_ms);

/* Capture the library log (INFO and up) from now on; ts_log_has says
 * whether a captured line contains needle; ts_log_wait waits for one. */
void ts_log_capture(void);
bool ts_log_has(const char *needle);
void ts_log_wait(const char *needle);
void ts_log_stop(void);

/* A stdio conf running tests/mcp_test_server with the mode arguments
 * (NULL-terminated, up to 6). Strings are static or owned by the test. */
void ts_mcp_conf(hf_mcp_server_conf *c, const char *name, const char *const *modes);
void ts_mcp_conf_dispose(hf_mcp_server_conf *c);

#endif

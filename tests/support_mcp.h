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

/* The official MCP servers from npm (tests/npm, pinned by its lock). */
#define TS_NPM_DIR HF_SOURCE_DIR "/tests/npm"
#define TS_EVERYTHING TS_NPM_DIR "/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
#define TS_FILESYSTEM TS_NPM_DIR "/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js"

/* Run tests/npm/install once per process; returns its exit status (77:
 * node cannot be installed here). */
int ts_npm_install(void);
/* In a test: skip with the reason printed when install said 77, fail the
 * test when it failed otherwise. */
void ts_npm_need(void);

/* server-everything in streamableHttp mode on a free loopback port, its
 * stdout in log_path; it dies with the test (PR_SET_PDEATHSIG) and in its
 * own process group. *port gets the port it listens on once it accepts. */
int ts_everything_http_start(int *port, const char *log_path);
/* SIGTERM its process group, reap it, SIGKILL what is left. */
void ts_everything_http_stop(int pid);

#endif

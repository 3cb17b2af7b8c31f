/*
 * cli.h - the `handoff` command: one entry point per subcommand (each in its
 * own file) and the helpers they share (common.c).
 *
 * Exit statuses (documented in the README and in `handoff --help`):
 *   0 ok, 1 other error, 2 usage, 3 config/YAML, 4 auth, 5 network/HTTP,
 *   6 routing (max turns, handoff loop, unknown tool), 7 session conflict
 *   (another writer changed the conversation), 130 interrupted.
 * stdout carries answers and requested data only; everything else goes to
 * stderr.
 */
#ifndef HF_CLI_H
#define HF_CLI_H

#include "handoff.h"

#include <stdbool.h>
#include <stdio.h>

#define HF_EXIT_OK 0
#define HF_EXIT_ERROR 1
#define HF_EXIT_USAGE 2
#define HF_EXIT_CONFIG 3
#define HF_EXIT_AUTH 4
#define HF_EXIT_NET 5
#define HF_EXIT_ROUTING 6
#define HF_EXIT_CONFLICT 7
#define HF_EXIT_REFUSAL 8
#define HF_EXIT_INTERRUPTED 130

/* The exit status for an hf_code (the table above). */
int cli_exit_status(int code);

/* Subcommands: argv[0] is the subcommand name. Return an exit status. */
int hf_cmd_validate(int argc, char **argv);
int hf_cmd_graph(int argc, char **argv);
int hf_cmd_mock(int argc, char **argv);
int hf_cmd_models(int argc, char **argv);
int hf_cmd_providers(int argc, char **argv);
int hf_cmd_model(int argc, char **argv);
int hf_cmd_ask(int argc, char **argv);
int hf_cmd_run(int argc, char **argv);
int hf_cmd_chat(int argc, char **argv);
int hf_cmd_sessions(int argc, char **argv);
int hf_cmd_tools(int argc, char **argv);

/* ---- common.c ---- */

/* "handoff: error: <msg>" on stderr (red when colour is on), then
 * "handoff: hint: <flags>" when cli_hint has one; returns the exit status
 * for err->code. */
int cli_fail(const hf_error *err);
/* The command-line flags that fix err (static text), or NULL: library
 * messages name hf_client_options fields, the command names its flags. */
const char *cli_hint(const hf_error *err);
/* Usage error: prints "handoff CMD: <msg>" and a hint to --help; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...);
/* Fill err as "out of memory WHAT" (HF_ENOMEM); returns err. */
hf_error *cli_oom_error(hf_error *err, const char *what);

/* --verbose: the library's log (MCP servers' stderr lines, restarts,
 * skipped lines; info and above) on stderr, "handoff: " first, escaped. */
void cli_log_verbose(void);
/* printf to stderr, for notices. */
void cli_note(const char *fmt, ...);

/* All of standard input (NUL-terminated, *len bytes; free()). NULL when
 * out of memory, or with *too_big set when it is over max bytes. */
char *cli_read_stdin(size_t max, size_t *len, bool *too_big);
/* When s[0..len) holds a NUL byte, say so ("handoff CMD: WHAT contains a
 * NUL byte (byte N)...") and return the usage status; else 0. Text with a
 * NUL is refused, never cut at it. */
int cli_refuse_nul(const char *cmd, const char *what, const char *s, size_t len);
/* Parse a whole decimal number in [lo, hi]; false when s is not one. */
bool cli_parse_long(const char *s, long lo, long hi, long *out);


/* text[0..len) as one line for a terminal (owned; NULL out of memory):
 * only its first line when first_line, control characters escaped
 * (hf_text_escape, so newlines read \n), and cut on a character boundary
 * with "…" to at most cols terminal columns (0: no limit). */
char *cli_text_line(const char *text, size_t len, size_t cols, bool first_line);
/* A byte count for people: "512 B", "1.2 kB", "34 MB" (powers of 1000). */
void cli_size_text(char *buf, size_t cap, size_t bytes);

/* Whether colour is on for stream f: a TTY and NO_COLOR unset. */
bool cli_color(FILE *f);

/* The graph path to use when none is given: $HANDOFF_GRAPH, else ./agents
 * when it exists, else the installed default graph. Borrowed static string. */
const char *cli_default_graph(void);

/* Print diagnostics as file:line:col on stderr, warnings unless quiet. */
void cli_print_diags(const hf_diag *d, bool quiet_warnings);

/* Load a graph, printing every diagnostic as file:line:col on stderr.
 * Returns 0 or an exit status. */
int cli_load_graph(hf_graph **out, const char *path, bool quiet_warnings);

/* Long options shared by commands that talk to an endpoint. A command
 * includes CLI_ENDPOINT_LONGOPTS in its getopt_long table and passes every
 * option to cli_endpoint_option first; it returns true when it took it. */
#define CLI_OPT_BASE_URL 1000
#define CLI_OPT_API_KEY_ENV 1001
#define CLI_OPT_API_KEY_FILE 1002
#define CLI_OPT_PROVIDER 1003
#define CLI_OPT_COMPUTE_PROVIDER 1004
#define CLI_OPT_TIMEOUT 1005
#define CLI_OPT_DEADLINE 1020
#define CLI_OPT_RETRIES 1006
#define CLI_OPT_INSECURE 1007
#define CLI_OPT_HEADER 1008
#define CLI_OPT_X_API_KEY 1009
#define CLI_ENDPOINT_LONGOPTS \
	{ "base-url", required_argument, NULL, CLI_OPT_BASE_URL }, \
	{ "api-key-env", required_argument, NULL, CLI_OPT_API_KEY_ENV }, \
	{ "api-key-file", required_argument, NULL, CLI_OPT_API_KEY_FILE }, \
	{ "provider", required_argument, NULL, CLI_OPT_PROVIDER }, \
	{ "compute-provider", required_argument, NULL, CLI_OPT_COMPUTE_PROVIDER }, \
	{ "timeout", required_argument, NULL, CLI_OPT_TIMEOUT }, \
	{ "deadline", required_argument, NULL, CLI_OPT_DEADLINE }, \
	{ "retries", required_argument, NULL, CLI_OPT_RETRIES }, \
	{ "insecure", no_argument, NULL, CLI_OPT_INSECURE }, \
	{ "header", required_argument, NULL, CLI_OPT_HEADER }, \
	{ "x-api-key", no_argument, NULL, CLI_OPT_X_API_KEY }

/* Help text lines for the options above. */
extern const char cli_endpoint_help[];

typedef struct cli_endpoint {
	const char *cmd;   /* the command, for usage errors */
	hf_client_options opts;
	const char *headers[17];
	size_t nheaders;
} cli_endpoint;

void cli_endpoint_init(cli_endpoint *e, const char *cmd);
/* Returns true when opt was an endpoint option (sets *status on a bad value). */
bool cli_endpoint_option(cli_endpoint *e, int opt, const char *arg, int *status);

/* ---- conversation.c: shared by `run` and `chat` ---- */

/* A tool call shown with its result: its arguments as one line. */
typedef struct cli_tool_line {
	char *call_id;
	char *args;
} cli_tool_line;

/* How events are shown. */
typedef struct cli_render {
	bool json;        /* JSON lines on stdout instead of text */
	bool verbose;     /* usage on stderr after each turn */
	bool color;       /* colour on stderr */
	bool mid_line;    /* text deltas printed, no newline yet */
	bool streamed;    /* this turn's answer was printed as deltas */
	uint64_t usage_reported; /* USAGE events whose call reported usage */
	char *pending;    /* a whole answer, printed at DONE (not NUL-terminated) */
	size_t pending_len;
	cli_tool_line *calls; /* tool calls waiting for their result */
	size_t ncalls;
} cli_render;

/* Free what rendering holds (an answer not printed, tool calls). */
void cli_render_dispose(cli_render *r);

/* "N request(s), I input + O output = T tokens" into buf, or "N request(s),
 * usage not reported by the endpoint" when none of them reported it (and a
 * note when only some did). */
void cli_usage_text(char *buf, size_t cap, const hf_usage *u, uint64_t reported);

/* hf_event_fn that renders: answers on stdout, agent changes and notices
 * on stderr, or every event as one JSON line on stdout (see README). */
int cli_render_event(const hf_event *ev, void *payload);
/* Print one {"type":"error",...} line (JSON mode) or the error on stderr,
 * dropping an answer not printed yet; returns the exit status. */
int cli_render_error(cli_render *r, const hf_error *err);

/* Where a conversation comes from. */
typedef struct cli_session_opts {
	const char *cmd;     /* the command, for usage errors */
	const char *id;      /* --session ID: load it, or create it */
	bool cont;           /* -c: the most recently used session */
	bool no_store;       /* --no-store: in memory only */
	const char *db;      /* --db PATH */
} cli_session_opts;

/* After parsing the options: 0, or a usage error for -c with --session or
 * --no-store. */
int cli_session_opts_check(const cli_session_opts *o);
/* Open the store (unless no_store) and the session. On success prints
 * "session: ID" on stderr (unless quiet). Returns 0 or an exit status. */
int cli_open_session(hf_session **s, hf_store **st, const cli_session_opts *o, bool quiet);

/* ---- tool_set.c: the graph's function tools ---- */

/* What the agents of a graph name under `tools:` and whether it declares
 * MCP servers, read through the graph's JSON export. */
typedef struct cli_graph_tools cli_graph_tools;

/* HF_ENOMEM, or hf_graph_export's error. */
int cli_graph_tools_read(cli_graph_tools **out, const hf_graph *g, hf_error *err);
void cli_graph_tools_free(cli_graph_tools *t); /* NULL-safe */
size_t cli_graph_tools_servers(const cli_graph_tools *t); /* mcp_servers declared */
size_t cli_graph_tools_named(const cli_graph_tools *t);   /* tools: entries, all agents */
size_t cli_graph_tools_bare(const cli_graph_tools *t);    /* distinct bare names */

/* Create and start a tool set for g (starting its MCP servers). With
 * stand_ins, each bare name (a C callback) gets a registered stand-in that
 * answers with an error, so that it is listed instead of reported. *diags
 * (the caller frees it) gets hf_tools_start's problems, also on failure.
 * Returns hf_tools_start's code; *out is NULL unless HF_OK. */
int cli_tools_start(hf_tools **out, hf_diag **diags, const hf_graph *g,
                    const cli_graph_tools *t, bool stand_ins, hf_error *err);

/* For `run` and `chat`: the started tool set when an agent names tools or
 * the graph declares MCP servers, else NULL. Problems are printed as
 * file:line:col (errors only), with a note when a bare name (which the
 * command cannot register) is among them, and the error through r.
 * Returns 0 or an exit status. */
int cli_open_tools(hf_tools **out, const hf_graph *g, cli_render *r);

/* ---- mock_process.c: the mock endpoint as a separate program ---- */

/* `handoff mock ARGS`: run the handoff-mock program in place of this one. */
int cli_exec_mock(int argc, char **argv);
/* --mock: start handoff-mock on a free port and point e at it; it runs
 * until cli_mock_stop, and dies with this process however it ends
 * (PR_SET_PDEATHSIG). Its environment holds no API key (only locale, time
 * zone, paths and sanitizer options pass). Returns 0 or an exit status. */
int cli_mock_start(cli_endpoint *e);
void cli_mock_stop(void);

/* SIGINT sets cli_interrupted (the run options' cancel flag) instead of
 * killing the process; a second Ctrl-C exits at once. */
extern volatile int cli_interrupted;
void cli_catch_interrupt(void);

#endif

/*
 * cmd_run.c - `handoff run [GRAPH] [TEXT]`: one turn of a conversation.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_STDIN (1024 * 1024)

static void help(void)
{
	printf("usage: handoff run [options] [GRAPH] [TEXT]\n\n"
	       "Send TEXT (or standard input) to the agent graph GRAPH (default: ./agents,\n"
	       "$HANDOFF_GRAPH) and stream the answer to stdout. Agent changes, tool calls\n"
	       "([agent] server.tool {arguments} → result size) and the session id go to\n"
	       "stderr; continue a conversation with --session ID or -c. The MCP servers\n"
	       "the graph declares are started first ('handoff tools' lists their tools).\n\n"
	       "options:\n"
	       "      --session ID      continue (or start) the conversation ID\n"
	       "  -c, --continue        continue the most recently used conversation\n"
	       "      --new             start a new conversation (ignores $HANDOFF_SESSION)\n"
	       "      --no-store        keep the conversation in memory only\n"
	       "      --db PATH         session database (HANDOFF_DB; default\n"
	       "                        $XDG_STATE_HOME/handoff/sessions.db)\n"
	       "      --routing R       sticky | router (default: the graph's)\n"
	       "      --max-turns N     model calls allowed in one turn (default: the graph's)\n"
	       "      --max-history N   send at most the last N stored messages (cut at a\n"
	       "                        user message, never between a tool call and its result)\n"
	       "      --no-stream       wait for whole replies instead of streaming\n"
	       "      --json            print events as JSON lines on stdout\n"
	       "      --mock            run against a local mock endpoint (no network)\n"
	       "  -v, --verbose         token usage and the library's log (MCP servers' stderr) on stderr\n"
	       "  -h, --help            show this help\n\n%s",
	       cli_endpoint_help);
}

static bool is_path(const char *s)
{
	struct stat st;
	return stat(s, &st) == 0;
}

/* Standard input as a string without its final line ends. More than
 * MAX_STDIN bytes is refused here; hf_run applies the message limit. */
static char *read_stdin(bool *too_big, int *status)
{
	size_t n;
	char *buf = cli_read_stdin(MAX_STDIN, &n, too_big);
	if (buf && (*status = cli_refuse_nul("run", "the text on standard input", buf, n))) {
		free(buf);
		return NULL;
	}
	while (buf && n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return buf;
}

enum { OPT_SESSION = 1, OPT_NEW, OPT_NO_STORE, OPT_DB, OPT_ROUTING, OPT_MAX_TURNS,
       OPT_MAX_HISTORY, OPT_NO_STREAM, OPT_JSON, OPT_MOCK };

int hf_cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, OPT_SESSION },
		{ "continue", no_argument, NULL, 'c' },
		{ "new", no_argument, NULL, OPT_NEW },
		{ "no-store", no_argument, NULL, OPT_NO_STORE },
		{ "db", required_argument, NULL, OPT_DB },
		{ "routing", required_argument, NULL, OPT_ROUTING },
		{ "max-turns", required_argument, NULL, OPT_MAX_TURNS },
		{ "max-history", required_argument, NULL, OPT_MAX_HISTORY },
		{ "no-stream", no_argument, NULL, OPT_NO_STREAM },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "mock", no_argument, NULL, OPT_MOCK },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		CLI_ENDPOINT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	cli_session_opts so = { .cmd = "run" };
	cli_render render = { 0 };
	cli_endpoint ep;
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	const char *graph_path = NULL, *text = NULL, *env_session = getenv("HANDOFF_SESSION");
	char *stdin_text = NULL;
	hf_graph *g = NULL;
	hf_tools *tools = NULL;
	hf_client *client = NULL;
	hf_session *s = NULL;
	hf_store *st = NULL;
	hf_error err;
	bool use_mock = false, fresh = false;
	long num;
	int opt, status = HF_EXIT_OK, rc;

	cli_endpoint_init(&ep, "run");
	optind = 1;
	while ((opt = getopt_long(argc, argv, "cvh", longopts, NULL)) != -1) {
		if (cli_endpoint_option(&ep, opt, optarg, &status)) {
			if (status)
				return status;
			continue;
		}
		switch (opt) {
		case OPT_SESSION: so.id = optarg; break;
		case 'c': so.cont = true; break;
		case OPT_NEW: fresh = true; break;
		case OPT_NO_STORE: so.no_store = true; break;
		case OPT_DB: so.db = optarg; break;
		case OPT_ROUTING:
			if (!strcmp(optarg, "sticky"))
				ro.routing = HF_ROUTING_STICKY;
			else if (!strcmp(optarg, "router"))
				ro.routing = HF_ROUTING_ROUTER;
			else
				return cli_usage_error("run", "--routing takes sticky or router, not '%s'", optarg);
			break;
		case OPT_MAX_TURNS:
			if (!cli_parse_long(optarg, 1, 1000, &num))
				return cli_usage_error("run", "--max-turns takes a number from 1 to 1000, not '%s'", optarg);
			ro.max_turns = (int)num;
			break;
		case OPT_MAX_HISTORY:
			if (!cli_parse_long(optarg, 1, 1000000, &num))
				return cli_usage_error("run", "--max-history takes a number of messages, not '%s'", optarg);
			ro.max_history_messages = (size_t)num;
			break;
		case OPT_NO_STREAM: ro.stream = 0; break;
		case OPT_JSON: render.json = true; break;
		case OPT_MOCK: use_mock = true; break;
		case 'v': render.verbose = true; cli_log_verbose(); break;
		case 'h': help(); return HF_EXIT_OK;
		default: return cli_usage_error("run", "unknown option");
		}
	}
	if (so.cont && fresh)
		return cli_usage_error("run", "-c/--continue cannot be combined with --new");
	if ((status = cli_session_opts_check(&so)))
		return status;
	if (!so.id && !so.cont && !fresh && env_session && *env_session)
		so.id = env_session;
	if (argc - optind > 2)
		return cli_usage_error("run", "too many arguments; quote the text");
	if (argc - optind == 2) {
		graph_path = argv[optind];
		text = argv[optind + 1];
	} else if (argc - optind == 1) {
		if (is_path(argv[optind]))
			graph_path = argv[optind];
		else
			text = argv[optind];
	}
	if (!graph_path)
		graph_path = cli_default_graph();
	if (!text) {
		bool too_big;
		if (!(stdin_text = read_stdin(&too_big, &status)))
			return status ? status : too_big ? cli_usage_error("run", "the text on standard input is over %d MiB; "
			                                 "one message may hold at most 64 KiB",
			                                 MAX_STDIN / (1024 * 1024))
			               : cli_usage_error("run", "could not read the text from standard input");
		text = stdin_text;
	}
	if (!*text) {
		free(stdin_text);
		return cli_usage_error("run", "no text to send: give TEXT or pipe it on standard input");
	}

	render.color = cli_color(stderr);
	ro.on_event = cli_render_event;
	ro.payload = &render;
	ro.cancel = &cli_interrupted;
	if ((status = cli_load_graph(&g, graph_path, true)))
		goto out;
	if ((status = cli_open_tools(&tools, g, &render)))
		goto out;
	ro.tools = tools;
	if (use_mock && (status = cli_mock_start(&ep)))
		goto out;
	if ((rc = hf_client_new(&client, &ep.opts, g, &err))) {
		status = cli_render_error(&render, &err);
		goto out;
	}
	if ((status = cli_open_session(&s, &st, &so, render.json)))
		goto out;
	cli_catch_interrupt();
	rc = hf_run(NULL, client, g, s, st, text, &ro, &err);
	if (rc) {
		status = cli_render_error(&render, &err);
		if (st && rc == HF_ECONFLICT)
			fprintf(stderr, "handoff: this answer was not stored; the stored conversation "
			                "is as the other writer left it\n");
		else if (st && rc != HF_ESTORE)
			fprintf(stderr, "handoff: the stored conversation is unchanged\n");
	}
out:
	cli_render_dispose(&render);
	hf_session_free(s);
	hf_store_free(st);
	hf_client_free(client);
	cli_mock_stop();
	hf_tools_free(tools);
	hf_graph_free(g);
	free(stdin_text);
	return status;
}

/*
 * cmd_chat.c - `handoff chat [GRAPH]`: an interactive conversation with
 * line editing and history (libedit), slash commands, Ctrl-C to cancel the
 * request in flight (the session keeps its last whole turn), Ctrl-D to exit.
 */
#include "cli.h"

#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef HF_HAVE_LIBEDIT
#include <editline/readline.h>
#endif

typedef struct chat {
	const hf_graph *g;
	hf_tools *tools;
	hf_client *client;
	hf_session *s;
	hf_store *st;
	cli_session_opts so;
	hf_run_options ro;
	cli_render render;
	bool tty;
} chat;

static void help(void)
{
	printf("usage: handoff chat [options] [GRAPH]\n\n"
	       "Talk to the agent graph GRAPH (default: ./agents, $HANDOFF_GRAPH). The\n"
	       "prompt shows which agent holds the conversation; tool calls show on\n"
	       "stderr as [agent] server.tool {arguments} → result size.\n\n"
	       "options:\n"
	       "      --session ID      continue (or start) the conversation ID\n"
	       "  -c, --continue        continue the most recently used conversation\n"
	       "      --no-store        keep the conversation in memory only\n"
	       "      --db PATH         session database (HANDOFF_DB)\n"
	       "      --no-stream       wait for whole replies instead of streaming\n"
	       "      --mock            run against a local mock endpoint (no network)\n"
	       "  -v, --verbose         token usage after each answer; the library's log on stderr\n"
	       "  -h, --help            show this help\n\n"
	       "commands inside the chat:\n"
	       "  /agent [NAME]   show the agent holding the conversation, or move it to NAME\n"
	       "  /history        show the conversation so far\n"
	       "  /usage          tokens used by this conversation\n"
	       "  /new            start a new conversation\n"
	       "  /sessions       list stored conversations\n"
	       "  /help           this list\n"
	       "  /exit           leave (so does Ctrl-D); Ctrl-C cancels an answer\n\n%s",
	       cli_endpoint_help);
}

/* ---- reading lines ---- */

static char *read_line(const chat *c, const char *prompt)
{
#ifdef HF_HAVE_LIBEDIT
	if (c->tty) {
		char *line = readline(prompt);
		if (line && *line)
			add_history(line);
		return line;
	}
#endif
	{
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		if (c->tty) {
			fputs(prompt, stdout);
			fflush(stdout);
		}
		n = getline(&line, &cap, stdin);
		if (n < 0) {
			free(line);
			return NULL;
		}
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (cli_refuse_nul("chat", "the line", line, (size_t)n))
			line[0] = '\0'; /* refused (and said so): no turn */
		return line;
	}
}

/* ---- slash commands ---- */

static const char *holder(const chat *c)
{
	const char *a = hf_session_agent(c->s);
	return a ? a : hf_agent_name(hf_graph_entry(c->g));
}

static void cmd_agent(chat *c, const char *name)
{
	hf_error err;
	if (!*name) {
		printf("%s\n", holder(c));
		return;
	}
	if (!hf_graph_agent_by_name(c->g, name)) {
		fprintf(stderr, "no agent '%s' in this graph; agents:", name);
		for (size_t i = 0; i < hf_graph_agent_count(c->g); i++)
			fprintf(stderr, "%s '%s'", i ? "," : "", hf_agent_name(hf_graph_agent_at(c->g, i)));
		fputc('\n', stderr);
		return;
	}
	/* the store first: a failure leaves the session as it was */
	if ((c->st && hf_session_message_count(c->s) &&
	     hf_store_set_agent(c->st, hf_session_id(c->s), name, &err)) ||
	    hf_session_set_agent(c->s, name, &err)) {
		cli_fail(&err);
		return;
	}
	fprintf(stderr, "the conversation is now with %s\n", name);
}

static void cmd_history(const chat *c)
{
	size_t i, j, n = hf_session_message_count(c->s);
	hf_message m;
	hf_error err;
	if (!n) {
		fprintf(stderr, "(no messages yet)\n");
		return;
	}
	for (i = 0; i < n; i++) {
		if (hf_session_message(&m, c->s, i, &err)) {
			cli_fail(&err);
			return;
		}
		if (!strcmp(m.role, "tool")) {
			/* handoff results are shown with the call */
		} else if (m.tool_calls) {
			for (j = 0; j < m.tool_calls; j++) {
				const char *name = NULL;
				const hf_agent *to;
				hf_session_message_tool_call(NULL, &name, NULL, c->s, i, j, NULL);
				to = name ? hf_graph_agent_by_tool(c->g, name) : NULL;
				printf("  → %s\n", to ? hf_agent_name(to) : (name ? name : "?"));
			}
		} else if (m.content) {
			printf("%s: %s\n", m.role, m.content);
		}
	}
}

static void cmd_usage(const chat *c)
{
	hf_usage u = hf_session_usage(c->s);
	printf("%llu requests, %llu input + %llu output = %llu tokens\n",
	       (unsigned long long)u.requests, (unsigned long long)u.input_tokens,
	       (unsigned long long)u.output_tokens, (unsigned long long)u.total_tokens);
}

static int print_session(const hf_session_info *info, void *payload)
{
	const chat *c = payload;
	printf("%s %-40s %-20s %4zu messages\n",
	       strcmp(info->id, hf_session_id(c->s)) ? " " : "*", info->id,
	       info->agent ? info->agent : "-", info->messages);
	return 0;
}

static void cmd_sessions(chat *c)
{
	hf_error err;
	if (!c->st) {
		fprintf(stderr, "sessions are not stored (--no-store)\n");
		return;
	}
	if (hf_store_list(c->st, 20, print_session, c, &err))
		cli_fail(&err);
}

static void cmd_new(chat *c)
{
	hf_session *s;
	hf_error err;
	if (hf_session_new(&s, NULL, &err)) {
		cli_fail(&err);
		return;
	}
	hf_session_free(c->s);
	c->s = s;
	fprintf(stderr, "session: %s\n", hf_session_id(s));
}

/* Returns false when the chat should end. */
static bool command(chat *c, const char *line)
{
	const char *arg = strchr(line, ' ');
	size_t n = arg ? (size_t)(arg - line) : strlen(line);
	while (arg && *arg == ' ')
		arg++;
	if (!arg)
		arg = "";
#define IS(name) (n == strlen(name) && !strncmp(line, name, n))
	if (IS("/exit") || IS("/quit"))
		return false;
	if (IS("/agent"))
		cmd_agent(c, arg);
	else if (IS("/history"))
		cmd_history(c);
	else if (IS("/usage"))
		cmd_usage(c);
	else if (IS("/new"))
		cmd_new(c);
	else if (IS("/sessions"))
		cmd_sessions(c);
	else if (IS("/help"))
		help();
	else
		fprintf(stderr, "unknown command %.*s; /help lists them\n", (int)n, line);
#undef IS
	return true;
}

/* ---- one turn ---- */

static void turn(chat *c, const char *text)
{
	struct sigaction old;
	hf_error err;
	int rc;

	cli_interrupted = 0;
	sigaction(SIGINT, NULL, &old);
	cli_catch_interrupt();
	rc = hf_run(NULL, c->client, c->g, c->s, c->st, text, &c->ro, &err);
	sigaction(SIGINT, &old, NULL);
	if (rc == HF_ECANCELLED && cli_interrupted) {
		if (c->render.mid_line)
			fputc('\n', stdout);
		c->render.mid_line = false;
		fprintf(stderr, "(cancelled; the conversation is as it was before this message)\n");
	} else if (rc) {
		cli_render_error(&c->render, &err);
		c->render.mid_line = false;
		fprintf(stderr, "(the conversation is as it was before this message)\n");
	}
	cli_interrupted = 0;
}

enum { OPT_SESSION = 1, OPT_NO_STORE, OPT_DB, OPT_NO_STREAM, OPT_MOCK };

int hf_cmd_chat(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, OPT_SESSION },
		{ "continue", no_argument, NULL, 'c' },
		{ "no-store", no_argument, NULL, OPT_NO_STORE },
		{ "db", required_argument, NULL, OPT_DB },
		{ "no-stream", no_argument, NULL, OPT_NO_STREAM },
		{ "mock", no_argument, NULL, OPT_MOCK },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		CLI_ENDPOINT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	chat c = { .so.cmd = "chat" };
	cli_endpoint ep;
	hf_graph *g = NULL;
	hf_error err;
	bool use_mock = false;
	int opt, status = HF_EXIT_OK;
	char *line;

	cli_endpoint_init(&ep, "chat");
	c.ro = ro;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "cvh", longopts, NULL)) != -1) {
		if (cli_endpoint_option(&ep, opt, optarg, &status)) {
			if (status)
				return status;
			continue;
		}
		switch (opt) {
		case OPT_SESSION: c.so.id = optarg; break;
		case 'c': c.so.cont = true; break;
		case OPT_NO_STORE: c.so.no_store = true; break;
		case OPT_DB: c.so.db = optarg; break;
		case OPT_NO_STREAM: c.ro.stream = 0; break;
		case OPT_MOCK: use_mock = true; break;
		case 'v': c.render.verbose = true; cli_log_verbose(); break;
		case 'h': help(); return HF_EXIT_OK;
		default: return cli_usage_error("chat", "unknown option");
		}
	}
	if (argc - optind > 1)
		return cli_usage_error("chat", "too many arguments");
	if ((status = cli_session_opts_check(&c.so)))
		return status;
	if ((status = cli_load_graph(&g, argc > optind ? argv[optind] : cli_default_graph(), true)))
		return status;
	c.g = g;
	c.tty = isatty(0) && isatty(1);
	/* libedit reads multi-byte characters only under a UTF-8 locale */
	if (c.tty && (!setlocale(LC_CTYPE, "") || strcmp(nl_langinfo(CODESET), "UTF-8")))
		setlocale(LC_CTYPE, "C.UTF-8");
	c.render.color = cli_color(stderr);
	c.ro.on_event = cli_render_event;
	c.ro.payload = &c.render;
	c.ro.cancel = &cli_interrupted;
	if ((status = cli_open_tools(&c.tools, g, &c.render)))
		goto out;
	c.ro.tools = c.tools;
	if (use_mock && (status = cli_mock_start(&ep)))
		goto out;
	if (hf_client_new(&c.client, &ep.opts, g, &err)) {
		status = cli_fail(&err);
		goto out;
	}
	if ((status = cli_open_session(&c.s, &c.st, &c.so, false)))
		goto out;
	if (c.tty)
		fprintf(stderr, "talking to %s; /help for commands, Ctrl-D to leave\n", holder(&c));
	for (;;) {
		char prompt[160];
		snprintf(prompt, sizeof(prompt), "%s> ", holder(&c));
		if (!(line = read_line(&c, prompt)))
			break;
		if (line[0] == '/') {
			bool go_on = command(&c, line);
			free(line);
			if (!go_on)
				break;
			continue;
		}
		if (line[strspn(line, " \t")])
			turn(&c, line);
		free(line);
	}
	if (c.tty)
		fputc('\n', stderr);
out:
	cli_render_dispose(&c.render);
	hf_session_free(c.s);
	hf_store_free(c.st);
	hf_client_free(c.client);
	cli_mock_stop();
	hf_tools_free(c.tools);
	hf_graph_free(g);
	return status;
}

/*
 * serve_main.c - handoff-serve (`handoff serve` runs it): the options, the
 * start-up order (address and keys first, then graphs, chat, daemon), and
 * the signals, read from a self-pipe in the main thread: SIGTERM/SIGINT
 * drain and exit 0, SIGHUP reloads the graphs.
 */
#include "serve.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef HF_DATADIR
#define HF_DATADIR "/usr/local/share/handoff"
#endif

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2, EXIT_CONFIG = 3, EXIT_NET = 5 };

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: handoff serve [GRAPH...] [--graph NAME=PATH]... [--listen ADDR:PORT]\n"
	        "                     [--db PATH] [--keys-file FILE] [options]\n\n"
	        "Serve agent graphs as an OpenAI-compatible chat-completions endpoint:\n"
	        "POST /v1/chat/completions, GET /v1/models, /healthz, /readyz, /metrics.\n"
	        "Each graph is one model; its id is NAME, else the graph's directory name\n"
	        "(a single .yaml file: its name without the extension). Without a graph,\n"
	        "$HANDOFF_GRAPH, else ./agents, else the installed default graph is served.\n\n"
	        "options:\n"
	        "      --graph NAME=PATH    serve the graph at PATH as model NAME (repeatable)\n"
	        "      --listen ADDR:PORT   where to listen (default 127.0.0.1:8000); port 0\n"
	        "                           picks a free port; the URL is printed on stderr\n"
	        "      --ready-file FILE    write the URL (http://ADDR:PORT) to FILE once\n"
	        "                           listening\n"
	        "      --db PATH            the session store (default: $HANDOFF_DB, else the\n"
	        "                           default store, as `handoff run`)\n"
	        "      --keys-file FILE     client keys, one per line, mode 0600; clients send\n"
	        "                           'Authorization: Bearer KEY'. Required to listen on\n"
	        "                           an address other than the loopback\n"
	        "      --access-log FILE    one JSON line per request, appended to FILE\n"
	        "                           (default: stderr)\n"
	        "      --log-texts          the access log may include message texts\n"
	        "      --max-body BYTES     largest request body (default 1M; K, M suffixes)\n"
	        "      --max-in-flight N    turns at once; over it, 429 (default 1024)\n"
	        "      --header-timeout D   a new connection sending its request headers is\n"
	        "                           closed after D without traffic (default 10s)\n"
	        "      --idle-timeout D     a connection without traffic is closed after D\n"
	        "                           (default 120s; a connection waiting for its turn\n"
	        "                           is not idle)\n"
	        "      --grace D            on SIGTERM, turns in flight get D to finish\n"
	        "                           (default 30s)\n"
	        "  -h, --help               show this help\n\n"
	        "Durations D: a number of seconds, or with ms, s, m (500ms, 10s, 2m).\n\n"
	        "signals: SIGTERM or SIGINT stops accepting connections, lets turns in flight\n"
	        "finish within --grace, then exits 0. SIGHUP reloads every graph: all or\n"
	        "nothing (a graph that fails validation is logged and the old ones keep\n"
	        "serving); turns in flight keep the graph they started with.\n\n"
	        "exit status: 0 drained after SIGTERM/SIGINT, 2 usage (and a non-loopback\n"
	        "address without --keys-file), 3 a graph or the keys file is invalid,\n"
	        "5 cannot listen, 1 other errors. See docs/serve.md.\n");
}

static int usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("handoff serve: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nsee 'handoff serve --help'\n", stderr);
	return EXIT_USAGE;
}

static int exit_status(int code)
{
	switch (code) {
	case HF_OK: return EXIT_OK;
	case HF_EINVAL: return EXIT_USAGE;
	case HF_ECONFIG: return EXIT_CONFIG;
	case HF_ENET: return EXIT_NET;
	default: return EXIT_ERROR;
	}
}

/* "500ms", "10s", "2m", "10" (seconds) → milliseconds; -1 when unreadable. */
static long parse_duration(const char *s)
{
	char *end;
	double v;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	if (!strcmp(end, "ms"))
		return (long)v;
	if (!*end || !strcmp(end, "s"))
		return (long)(v * 1000);
	if (!strcmp(end, "m"))
		return (long)(v * 60000);
	return -1;
}

/* "1048576", "64K", "1M" → bytes; 0 when unreadable. */
static size_t parse_size(const char *s)
{
	char *end;
	unsigned long long v;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return 0;
	if (!strcmp(end, "K") || !strcmp(end, "k"))
		v *= 1024;
	else if (!strcmp(end, "M") || !strcmp(end, "m"))
		v *= 1024 * 1024;
	else if (*end)
		return 0;
	return (size_t)v;
}

/* The default graph, as the other commands find it. */
static const char *default_graph(void)
{
	struct stat st;
	const char *env = getenv("HANDOFF_GRAPH");
	if (env && *env)
		return env;
	if (stat("agents", &st) == 0 && S_ISDIR(st.st_mode))
		return "agents";
	return HF_DATADIR "/agents";
}

/* The model id of a graph given without a name: its directory's name, or a
 * single file's name without .yaml/.yml. Owned. */
static char *graph_name(const char *path)
{
	struct stat st;
	size_t len = strlen(path);
	const char *base;
	char *name, *dot;
	while (len > 1 && path[len - 1] == '/')
		len--;
	name = strndup(path, len);
	if (!name)
		return NULL;
	if (!strcmp(name, ".") || !strcmp(name, "..")) {
		char *cwd = realpath(name, NULL);
		free(name);
		if (!cwd)
			return NULL;
		name = cwd;
	}
	base = strrchr(name, '/');
	base = base && base[1] ? base + 1 : name;
	memmove(name, base, strlen(base) + 1);
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (dot = strrchr(name, '.')) &&
	    (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml")) && dot != name)
		*dot = '\0';
	return name;
}

static int sig_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;
	if (write(sig_pipe[1], &b, 1) < 0) { /* full: a signal is pending already */
	}
	errno = saved;
}

static int setup_signals(void)
{
	struct sigaction sa;
	int i;
	if (pipe(sig_pipe) != 0)
		return -1;
	for (i = 0; i < 2; i++) {
		fcntl(sig_pipe[i], F_SETFD, FD_CLOEXEC);
		fcntl(sig_pipe[i], F_SETFL, O_NONBLOCK);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int write_ready_file(const char *path, const char *url)
{
	char tmp[4096];
	FILE *f;
	/* written whole, then renamed: a reader never sees half a URL */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!(f = fopen(tmp, "w")))
		return -1;
	fprintf(f, "%s\n", url);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

enum {
	OPT_GRAPH = 1,
	OPT_LISTEN,
	OPT_READY_FILE,
	OPT_DB,
	OPT_KEYS_FILE,
	OPT_ACCESS_LOG,
	OPT_LOG_TEXTS,
	OPT_MAX_BODY,
	OPT_MAX_IN_FLIGHT,
	OPT_HEADER_TIMEOUT,
	OPT_IDLE_TIMEOUT,
	OPT_GRACE
};

/* Parse argv into o (o->graphs[i].name: owned strings, freed by the
 * caller). Returns -1 to go on, else an exit status. */
static int parse(int argc, char **argv, serve_options *o)
{
	static const struct option longopts[] = {
		{ "graph", required_argument, NULL, OPT_GRAPH },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "ready-file", required_argument, NULL, OPT_READY_FILE },
		{ "db", required_argument, NULL, OPT_DB },
		{ "keys-file", required_argument, NULL, OPT_KEYS_FILE },
		{ "access-log", required_argument, NULL, OPT_ACCESS_LOG },
		{ "log-texts", no_argument, NULL, OPT_LOG_TEXTS },
		{ "max-body", required_argument, NULL, OPT_MAX_BODY },
		{ "max-in-flight", required_argument, NULL, OPT_MAX_IN_FLIGHT },
		{ "header-timeout", required_argument, NULL, OPT_HEADER_TIMEOUT },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
		{ "grace", required_argument, NULL, OPT_GRACE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	serve_graph_arg *g;
	const char *n;
	long *dur;
	int opt, i;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h': usage(stdout); return EXIT_OK;
		case OPT_GRAPH: {
			const char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg || !eq[1])
				return usage_error("--graph takes NAME=PATH, not '%s'", optarg);
			if (!(g = realloc(o->graphs, (o->ngraphs + 1) * sizeof(*g))))
				return EXIT_ERROR;
			o->graphs = g;
			g[o->ngraphs].name = strndup(optarg, (size_t)(eq - optarg));
			g[o->ngraphs].path = eq + 1;
			if (!g[o->ngraphs].name)
				return EXIT_ERROR;
			o->ngraphs++;
			break;
		}
		case OPT_LISTEN: o->listen = optarg; break;
		case OPT_READY_FILE: o->ready_file = optarg; break;
		case OPT_DB: o->db = optarg; break;
		case OPT_KEYS_FILE: o->keys_file = optarg; break;
		case OPT_ACCESS_LOG: o->access_log = optarg; break;
		case OPT_LOG_TEXTS: o->log_texts = true; break;
		case OPT_MAX_BODY:
			if (!(o->max_body = parse_size(optarg)))
				return usage_error("--max-body takes a size in bytes (e.g. 1048576, 64K, "
				                   "1M), not '%s'",
				                   optarg);
			break;
		case OPT_MAX_IN_FLIGHT: {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end || end == optarg || n < 1)
				return usage_error("--max-in-flight takes a number of turns (1 or more), "
				                   "not '%s'",
				                   optarg);
			o->max_in_flight = (size_t)n;
			break;
		}
		case OPT_HEADER_TIMEOUT:
		case OPT_IDLE_TIMEOUT:
		case OPT_GRACE:
			dur = opt == OPT_HEADER_TIMEOUT ? &o->header_timeout_ms
			      : opt == OPT_IDLE_TIMEOUT ? &o->idle_timeout_ms
			                                : &o->grace_ms;
			if ((*dur = parse_duration(optarg)) < 0)
				return usage_error("%s takes a duration (e.g. 10s, 500ms, 2m), not '%s'",
				                   argv[optind - 1], optarg);
			break;
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	for (i = optind; i <= argc; i++) {
		const char *path = i < argc ? argv[i] : NULL;
		if (!path) {
			if (o->ngraphs)
				break;
			path = default_graph();
		}
		if (!(g = realloc(o->graphs, (o->ngraphs + 1) * sizeof(*g))))
			return EXIT_ERROR;
		o->graphs = g;
		g[o->ngraphs].name = NULL;
		g[o->ngraphs].path = path;
		o->ngraphs++;
	}
	/* names: the given ones, else the path's; model ids are distinct */
	for (i = 0; i < (int)o->ngraphs; i++) {
		int j;
		if (!o->graphs[i].name && !(o->graphs[i].name = graph_name(o->graphs[i].path)))
			return usage_error("cannot name the graph %s; give --graph NAME=PATH",
			                   o->graphs[i].path);
		n = o->graphs[i].name;
		for (j = 0; j < i; j++)
			if (!strcmp(o->graphs[j].name, n))
				return usage_error("two graphs are both named '%s'; name them with "
				                   "--graph NAME=PATH",
				                   n);
	}
	return -1;
}

/* After the drain, how long the answers of ended turns get at least to
 * reach their clients. */
#define FLUSH_MIN_MS 1000

/* Wait for signals: SIGHUP reloads; SIGTERM/SIGINT returns. */
static void run(serve_graphs *gs, const serve_options *o)
{
	for (;;) {
		struct pollfd p = { sig_pipe[0], POLLIN, 0 };
		unsigned char sig;
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return;
		while (read(sig_pipe[0], &sig, 1) == 1) {
			hf_error err;
			if (sig == SIGTERM || sig == SIGINT) {
				serve_note("%s: draining (grace %ld ms)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
				     o->grace_ms);
				return;
			}
			serve_note("SIGHUP: reloading the graphs");
			memset(&err, 0, sizeof(err));
			if (serve_graphs_reload(gs, o, &err))
				serve_note("reload failed, the graphs loaded before keep serving: %s",
				     err.message[0] ? err.message : hf_code_name(err.code));
			else
				serve_note("reloaded %zu graph%s", o->ngraphs, o->ngraphs == 1 ? "" : "s");
		}
	}
}

int main(int argc, char **argv)
{
	serve_options o = { 0 };
	serve_server *srv = NULL;
	serve_graphs *gs = NULL;
	serve_chat *chat = NULL;
	size_t i;
	hf_error err;
	int status, rc;
	long t0, left;

	o.listen = "127.0.0.1:8000";
	o.max_body = 1024 * 1024;
	o.max_in_flight = 1024;
	o.header_timeout_ms = 10000;
	o.idle_timeout_ms = 120000;
	o.grace_ms = 30000;
	memset(&err, 0, sizeof(err));

	if ((status = parse(argc, argv, &o)) >= 0)
		goto out;
	if (setup_signals() != 0) {
		serve_note("cannot set up signal handling: %s", strerror(errno));
		status = EXIT_ERROR;
		goto out;
	}
	if ((rc = hf_global_init(&err)) || (rc = serve_server_new(&srv, &o, &err)) ||
	    (rc = serve_graphs_load(&gs, &o, &err)) || (rc = serve_chat_new(&chat, gs, &o, &err)) ||
	    (rc = serve_server_start(srv, gs, chat, &err))) {
		serve_note("error: %s", err.message[0] ? err.message : hf_code_name(rc));
		status = exit_status(rc);
		goto out;
	}
	for (i = 0; i < o.ngraphs; i++)
		serve_note("serving model %s from %s", o.graphs[i].name, o.graphs[i].path);
	serve_note("listening on %s", serve_server_url(srv));
	if (o.ready_file && write_ready_file(o.ready_file, serve_server_url(srv)) != 0)
		serve_note("cannot write the ready file %s: %s", o.ready_file, strerror(errno));
	run(gs, &o);
	serve_server_quiesce(srv);
	t0 = serve_now_ms();
	serve_chat_drain(chat, o.grace_ms);
	/* The answers of the turns that ended (finished, or cut with an error
	 * chunk) still have to reach their clients: what is left of the grace,
	 * at least FLUSH_MIN_MS. */
	left = o.grace_ms - (serve_now_ms() - t0);
	serve_server_flush(srv, left > FLUSH_MIN_MS ? left : FLUSH_MIN_MS);
	serve_note("drained; exiting");
	status = EXIT_OK;
out:
	serve_server_free(srv);
	if (chat)
		serve_chat_free(chat);
	serve_graphs_free(gs);
	for (i = 0; i < o.ngraphs; i++)
		free((char *)o.graphs[i].name);
	free(o.graphs);
	hf_global_cleanup();
	return status;
}

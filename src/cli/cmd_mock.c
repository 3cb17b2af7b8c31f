/*
 * cmd_mock.c - `handoff mock`: serve the local scripted OpenAI-compatible
 * endpoint (src/mock) until SIGINT or SIGTERM. Built into its own program,
 * handoff-mock (mock_tool.c), which `handoff mock` runs (mock_process.c).
 */
#include "cli.h"
#include "mock.h"

#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const char mock_help[] =
	"usage: handoff mock [OPTIONS]\n"
	"\n"
	"Serve a local, scripted OpenAI-compatible endpoint with the Model Hub\n"
	"discovery routes, for trying and testing graphs offline. It answers like a\n"
	"routing model: it calls the function tools the user's message names\n"
	"(docs/mock.md), hands off to the transfer_to_* tool of the user's\n"
	"language or topic, or answers in that language. Runs until Ctrl-C.\n"
	"\n"
	"options:\n"
	"  --port N             port to listen on (default 0: a free port, printed)\n"
	"  --host H             127.0.0.1 (default) or ::1\n"
	"  --catalogue FILE     models and providers to serve (JSON; default built in)\n"
	"  --scenario FILE      scripted replies, served in order (JSON)\n"
	"  --log FILE           append one JSON line per request (keys redacted)\n"
	"  --latency MS         wait MS milliseconds before every reply\n"
	"  --require-key ENV    answer 401 unless the request carries the key held in\n"
	"                       environment variable ENV (Bearer or x-api-key)\n"
	"  --threads N          worker threads (default: one per core)\n"
	"  --max-bodies BYTES   request body bytes held at once, all connections;\n"
	"                       a request that would exceed it gets 413 (default 256 MiB)\n"
	"  -h, --help           show this help\n"
	"\n"
	"routes: POST /v1/chat/completions, POST /compute/chat/completions,\n"
	"GET /v1/models, GET /compute/models[?provider=P], /compute/providers[?model=M],\n"
	"/compute/modelDetail?model=M[&provider=P], POST /mock/reset.\n"
	"Faults on demand: header X-Mock-Fault: NAME[;after=A][;times=T][;ms=M][;bytes=B].\n"
	"See docs/mock.md.\n";

int hf_cmd_mock(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "host", required_argument, NULL, 'H' },
		{ "catalogue", required_argument, NULL, 'c' },
		{ "catalog", required_argument, NULL, 'c' },
		{ "scenario", required_argument, NULL, 's' },
		{ "log", required_argument, NULL, 'l' },
		{ "latency", required_argument, NULL, 'L' },
		{ "require-key", required_argument, NULL, 'k' },
		{ "threads", required_argument, NULL, 't' },
		{ "max-bodies", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	hf_mock_options opts = HF_MOCK_OPTIONS_INIT;
	hf_mock *m;
	hf_error err;
	sigset_t set;
	long v;
	int c, sig = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!cli_parse_long(optarg, 0, 65535, &v))
				return cli_usage_error("mock", "--port needs a number from 0 to 65535");
			opts.port = (unsigned short)v;
			break;
		case 'H':
			opts.host = optarg;
			break;
		case 'c':
			opts.catalogue = optarg;
			break;
		case 's':
			opts.scenario = optarg;
			break;
		case 'l':
			opts.log_path = optarg;
			break;
		case 'L':
			if (!cli_parse_long(optarg, 0, 3600000, &v))
				return cli_usage_error("mock", "--latency needs milliseconds (0 to 3600000)");
			opts.latency_ms = v;
			break;
		case 'k':
			opts.require_key = getenv(optarg);
			if (!opts.require_key || !*opts.require_key)
				return cli_usage_error("mock",
				                       "--require-key %s: that environment variable is not "
				                       "set; export it with the key clients must send",
				                       optarg);
			break;
		case 't':
			if (!cli_parse_long(optarg, 1, 256, &v))
				return cli_usage_error("mock", "--threads needs a number from 1 to 256");
			opts.threads = (unsigned)v;
			break;
		case 'B':
			if (!cli_parse_long(optarg, 1, LONG_MAX, &v))
				return cli_usage_error("mock", "--max-bodies needs a number of bytes (1 or "
				                               "more)");
			opts.max_bodies = (size_t)v;
			break;
		case 'h':
			fputs(mock_help, stdout);
			return HF_EXIT_OK;
		case ':':
			return cli_usage_error("mock", "%s needs a value", argv[optind - 1]);
		default:
			return cli_usage_error("mock", "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("mock", "unexpected argument '%s'", argv[optind]);

	/* Block the stop signals in every thread; this one waits for them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (hf_mock_start(&m, &opts, &err))
		return cli_fail(&err);
	cli_note("handoff mock: listening on %s\n"
	         "  OpenAI-compatible base URL: %s/v1\n"
	         "  Model Hub base URL:         %s/compute\n"
	         "press Ctrl-C to stop\n",
	         hf_mock_url(m), hf_mock_url(m), hf_mock_url(m));
	sigwait(&set, &sig);
	hf_mock_stop(m);
	cli_note("handoff mock: stopped\n");
	return HF_EXIT_OK;
}

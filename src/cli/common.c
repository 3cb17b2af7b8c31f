/*
 * common.c - helpers shared by the subcommands: error and notice printing,
 * colour, the default graph, and endpoint options.
 */
#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef HF_DATADIR
#define HF_DATADIR "/usr/local/share/handoff"
#endif

int cli_exit_status(int code)
{
	switch (code) {
	case HF_OK: return HF_EXIT_OK;
	case HF_EINVAL: return HF_EXIT_USAGE;
	case HF_ECONFIG: return HF_EXIT_CONFIG;
	case HF_EAUTH: return HF_EXIT_AUTH;
	case HF_ENET:
	case HF_EHTTP:
	case HF_EPROTOCOL: return HF_EXIT_NET;
	case HF_EMAXTURNS:
	case HF_ELOOP:
	case HF_ETOOL:
	case HF_ETOOLFAIL: return HF_EXIT_ROUTING;
	case HF_ECONFLICT: return HF_EXIT_CONFLICT;
	case HF_EREFUSAL: return HF_EXIT_REFUSAL;
	case HF_ECANCELLED: return HF_EXIT_INTERRUPTED;
	default: return HF_EXIT_ERROR;
	}
}

bool cli_color(FILE *f)
{
	const char *nc = getenv("NO_COLOR");
	if (nc && *nc)
		return false;
	return isatty(fileno(f)) != 0;
}

/* The library names hf_client_options fields and environment variables; the
 * command adds the flags that set them. */
const char *cli_hint(const hf_error *err)
{
	const char *m = err->message;
	switch (err->code) {
	case HF_ECONFIG:
		if (!strncmp(m, "no endpoint:", 12))
			return "--base-url URL sets the endpoint for one command";
		if (!strncmp(m, "no API key:", 11))
			return "--api-key-env NAME or --api-key-file PATH gives the key to one "
			       "command";
		break;
	case HF_EAUTH:
		return "--api-key-env NAME or --api-key-file PATH picks another key";
	case HF_ENET:
		if (!strncmp(m, "TLS with ", 9))
			return "--insecure skips the certificate check (test servers only)";
		break;
	case HF_EINVAL:
		if (!strncmp(m, "the mock listens only on the loopback", 37))
			return "--host 127.0.0.1 or --host ::1";
		if (!strncmp(m, "no model:", 9))
			return "-m MODEL names the model";
		break;
	}
	return NULL;
}

int cli_fail(const hf_error *err)
{
	bool c = cli_color(stderr);
	const char *hint = cli_hint(err);
	fprintf(stderr, "%shandoff: error:%s %s\n", c ? "\033[31m" : "", c ? "\033[0m" : "",
	        err->message[0] ? err->message : hf_code_name(err->code));
	if (hint)
		fprintf(stderr, "handoff: hint: %s\n", hint);
	return cli_exit_status(err->code);
}

hf_error *cli_oom_error(hf_error *err, const char *what)
{
	err->code = HF_ENOMEM;
	err->http_status = 0;
	snprintf(err->message, sizeof(err->message), "out of memory %s", what);
	return err;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "handoff %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nsee 'handoff %s --help'\n", cmd);
	return HF_EXIT_USAGE;
}

void cli_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

const char *cli_default_graph(void)
{
	struct stat st;
	const char *env = getenv("HANDOFF_GRAPH");
	if (env && *env)
		return env;
	if (stat("agents", &st) == 0 && S_ISDIR(st.st_mode))
		return "agents";
	return HF_DATADIR "/agents";
}

void cli_print_diags(const hf_diag *d, bool quiet_warnings)
{
	size_t i;
	for (i = 0; i < hf_diag_count(d); i++)
		if (!quiet_warnings || hf_diag_severity(d, i) == HF_SEV_ERROR)
			fprintf(stderr, "%s\n", hf_diag_format(d, i));
}

int cli_load_graph(hf_graph **out, const char *path, bool quiet_warnings)
{
	hf_diag *d = NULL;
	hf_error err;
	int rc = hf_graph_load(out, path, &d, &err);
	cli_print_diags(d, quiet_warnings);
	hf_diag_free(d);
	if (rc) {
		if (rc != HF_ECONFIG)
			return cli_fail(&err);
		return HF_EXIT_CONFIG;
	}
	return HF_EXIT_OK;
}

const char cli_endpoint_help[] =
	"endpoint options (flags override HANDOFF_* variables, which override the graph file):\n"
	"      --base-url URL         endpoint base URL (HANDOFF_BASE_URL, OPENAI_BASE_URL)\n"
	"      --api-key-env NAME     read the API key from variable NAME (default\n"
	"                             HANDOFF_API_KEY, then OPENAI_API_KEY)\n"
	"      --api-key-file PATH    read the API key from a file with mode 0600\n"
	"                             (HANDOFF_API_KEY_FILE)\n"
	"      --x-api-key            send the key as x-api-key instead of Authorization\n"
	"      --provider P           model provider, sent as OpenAI-Organization\n"
	"      --compute-provider C   compute provider, sent in the request body\n"
	"      --timeout SECONDS      whole-request timeout (HANDOFF_TIMEOUT)\n"
	"      --deadline SECONDS     one request with all its retries (default 1.5 x timeout)\n"
	"      --retries N            retries on 408/409/429/5xx/connection errors (2)\n"
	"      --header 'Name: value' extra request header (repeatable)\n"
	"      --insecure             do not verify TLS certificates (warns)\n";

void cli_endpoint_init(cli_endpoint *e, const char *cmd)
{
	hf_client_options init = HF_CLIENT_OPTIONS_INIT;
	memset(e, 0, sizeof(*e));
	e->cmd = cmd;
	e->opts = init;
	e->opts.headers = e->headers;
}

char *cli_read_stdin(size_t max, size_t *len, bool *too_big)
{
	size_t n, cap = 8192;
	char *s = malloc(cap), *t;
	*len = 0;
	*too_big = false;
	while (s && (n = fread(s + *len, 1, cap - *len - 1, stdin)) > 0) {
		*len += n;
		if (*len > max) {
			*too_big = true;
			free(s);
			return NULL;
		}
		if (*len + 1 == cap) {
			if (!(t = realloc(s, cap *= 2))) {
				free(s);
				return NULL;
			}
			s = t;
		}
	}
	if (s)
		s[*len] = '\0';
	return s;
}

int cli_refuse_nul(const char *cmd, const char *what, const char *s, size_t len)
{
	const char *nul = memchr(s, '\0', len);
	if (!nul)
		return HF_EXIT_OK;
	fprintf(stderr, "handoff %s: %s contains a NUL byte (byte %zu); it is refused, not cut there\n",
	        cmd, what, (size_t)(nul - s));
	return HF_EXIT_USAGE;
}

bool cli_parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;
	if (!s || !*s)
		return false;
	v = strtol(s, &end, 10);
	if (*end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

bool cli_endpoint_option(cli_endpoint *e, int opt, const char *arg, int *status)
{
	long v;
	*status = HF_EXIT_OK;
	switch (opt) {
	case CLI_OPT_BASE_URL: e->opts.base_url = arg; return true;
	case CLI_OPT_API_KEY_ENV: e->opts.api_key_env = arg; return true;
	case CLI_OPT_API_KEY_FILE: e->opts.api_key_file = arg; return true;
	case CLI_OPT_PROVIDER: e->opts.provider = arg; return true;
	case CLI_OPT_COMPUTE_PROVIDER: e->opts.compute_provider = arg; return true;
	case CLI_OPT_X_API_KEY: e->opts.auth = HF_AUTH_X_API_KEY; return true;
	case CLI_OPT_INSECURE:
		e->opts.insecure = 1;
		fprintf(stderr, "handoff: warning: --insecure: TLS certificates are not verified\n");
		return true;
	case CLI_OPT_TIMEOUT:
		if (!cli_parse_long(arg, 1, 86400, &v))
			*status = cli_usage_error(
				e->cmd, "--timeout takes whole seconds from 1 to 86400, not '%s'", arg);
		else
			e->opts.timeout_ms = v * 1000;
		return true;
	case CLI_OPT_DEADLINE:
		if (!cli_parse_long(arg, 1, 86400, &v))
			*status = cli_usage_error(
				e->cmd, "--deadline takes whole seconds from 1 to 86400, not '%s'", arg);
		else
			e->opts.deadline_ms = v * 1000;
		return true;
	case CLI_OPT_RETRIES:
		if (!cli_parse_long(arg, 0, 10, &v))
			*status = cli_usage_error(e->cmd, "--retries takes a number from 0 to 10, not '%s'", arg);
		else
			e->opts.max_retries = (int)v;
		return true;
	case CLI_OPT_HEADER:
		if (!strchr(arg, ':'))
			*status = cli_usage_error(e->cmd, "--header takes 'Name: value', not '%s'", arg);
		else if (e->nheaders + 1 >= sizeof(e->headers) / sizeof(e->headers[0]))
			*status = cli_usage_error(e->cmd, "at most 16 --header options");
		else
			e->headers[e->nheaders++] = arg;
		return true;
	default:
		return false;
	}
}

char *cli_text_line(const char *text, size_t len, size_t cols, bool first_line)
{
	char *copy = malloc(len + 1), *esc = NULL, *out;
	size_t i = 0, used = 0, ell = hf_text_width("…");
	hf_error err;
	if (!copy)
		return NULL;
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (first_line)
		copy[strcspn(copy, "\r\n")] = '\0';
	if (hf_text_escape(&esc, copy, NULL, &err)) {
		free(copy);
		return NULL;
	}
	free(copy);
	if (!cols || hf_text_width(esc) <= cols) {
		out = strdup(esc);
		hf_free(esc);
		return out;
	}
	/* cut on a character boundary so that the text and "…" fit in cols */
	while (esc[i]) {
		char one[8];
		size_t n = 1, w;
		while (n < sizeof(one) - 1 && ((unsigned char)esc[i + n] & 0xC0) == 0x80)
			n++;
		memcpy(one, esc + i, n);
		one[n] = '\0';
		w = hf_text_width(one);
		if (used + w + ell > cols)
			break;
		used += w;
		i += n;
	}
	out = malloc(i + strlen("…") + 1);
	if (out) {
		memcpy(out, esc, i);
		strcpy(out + i, "…");
	}
	hf_free(esc);
	return out;
}

void cli_size_text(char *buf, size_t cap, size_t bytes)
{
	static const char *const units[] = { "kB", "MB", "GB" };
	double v = (double)bytes;
	size_t u = 0;
	if (bytes < 1000) {
		snprintf(buf, cap, "%zu B", bytes);
		return;
	}
	v /= 1000;
	while (v >= 999.95 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1000;
		u++;
	}
	snprintf(buf, cap, v < 9.95 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void log_line(hf_log_level level, const char *message, void *payload)
{
	char *safe = NULL;
	(void)payload;
	/* messages may carry a server's own words: escape them for the terminal */
	if (hf_text_escape(&safe, message, NULL, NULL) == HF_OK) {
		fprintf(stderr, "handoff: %s%s\n", level <= HF_LOG_WARN ? "warning: " : "", safe);
		hf_free(safe);
	}
}

void cli_log_verbose(void)
{
	hf_log_set(log_line, HF_LOG_INFO, NULL);
}

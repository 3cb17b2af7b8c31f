/*
 * endpoint.c - endpoint resolution: flags (hf_client_options) > environment >
 * graph file > defaults, the API key (value, variable or 0600 key file) and
 * its checks. The key is never put into a message.
 */
#include "headers.h"
#include "call.h"
#include "redact.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_CONNECT_MS 10000L
#define DEFAULT_TIMEOUT_MS 600000L
#define DEFAULT_IDLE_MS 60000L
#define DEFAULT_RETRIES 2
#define DEFAULT_RETRY_AFTER_CAP_MS 60000L
#define DEFAULT_MAX_RESPONSE ((size_t)8 << 20)
#define KEY_FILE_MAX 4096

/* A variable's value, or NULL when it is unset or empty. */
static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static const char *first(const char *a, const char *b, const char *c)
{
	return a && *a ? a : b && *b ? b : c && *c ? c : NULL;
}

/* Copy s into *dst; HF_ENOMEM when a non-NULL s could not be copied. */
static int set_str(char **dst, const char *s, hf_error *err)
{
	*dst = hf_strdup(s);
	if (s && !*dst)
		return hf_err(err, HF_ENOMEM, "out of memory");
	return HF_OK;
}

/* HF_ECONFIG "the base URL 'URL' <why>", the URL without its password. */
static int bad_url(hf_error *err, const char *url, const char *why)
{
	char *shown = hf_redact_url(url);
	if (!shown)
		return hf_err(err, HF_ENOMEM, "out of memory");
	hf_err(err, HF_ECONFIG, "the base URL '%s' %s", shown, why);
	free(shown);
	return HF_ECONFIG;
}

static int resolve_base_url(hf_endpoint *ep, const char *url, hf_error *err)
{
	size_t n;
	if (!url)
		return hf_err(err, HF_ECONFIG,
		              "no endpoint: set base_url in hf_client_options, HANDOFF_BASE_URL (or "
		              "OPENAI_BASE_URL), or base_url in the graph file");
	if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8))
		return bad_url(err, url, "must start with http:// or https://");
	if (!hf_headers_safe(url) || strchr(url, ' '))
		return bad_url(err, url, "contains a space or control character");
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	ep->base_url = hf_strndup(url, n);
	if (ep->base_url && (ep->shown_base_url = hf_redact_url(ep->base_url)))
		for (n = strlen(ep->shown_base_url); n > 0 && ep->shown_base_url[n - 1] == '/';)
			ep->shown_base_url[--n] = '\0';
	return ep->shown_base_url ? HF_OK : hf_err(err, HF_ENOMEM, "out of memory");
}

/* Read the first line of a key file that only its owner may read. */
static int read_key_file(char **out, const char *path, hf_error *err)
{
	char buf[KEY_FILE_MAX + 1];
	struct stat st;
	ssize_t n;
	size_t len;
	char *start, *nl;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return hf_err(err, HF_ECONFIG, "cannot read the API key file %s: %s", path,
		              strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return hf_err(err, HF_ECONFIG, "the API key file %s is not a regular file", path);
	}
	if (st.st_mode & 077) {
		close(fd);
		return hf_err(err, HF_ECONFIG, "the API key file %s has mode %04o; run chmod 600 %s",
		              path, (unsigned)(st.st_mode & 07777), path);
	}
	n = read(fd, buf, KEY_FILE_MAX);
	close(fd);
	if (n < 0)
		return hf_err(err, HF_ECONFIG, "cannot read the API key file %s: %s", path,
		              strerror(errno));
	len = (size_t)n; /* the first line: up to \n or \r */
	if ((nl = memchr(buf, '\n', len)))
		len = (size_t)(nl - buf);
	if ((nl = memchr(buf, '\r', len)))
		len = (size_t)(nl - buf);
	if (memchr(buf, '\0', len)) { /* not half a key */
		explicit_bzero(buf, sizeof(buf));
		return hf_err(err, HF_ECONFIG, "the API key file %s contains a NUL byte", path);
	}
	buf[len] = '\0';
	for (start = buf; *start == ' ' || *start == '\t'; start++)
		;
	len = strlen(start);
	while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
		len--;
	*out = len ? hf_strndup(start, len) : NULL;
	explicit_bzero(buf, sizeof(buf));
	if (!len)
		return hf_err(err, HF_ECONFIG, "the API key file %s has no key on its first line", path);
	return *out ? HF_OK : hf_err(err, HF_ENOMEM, "out of memory");
}

/* The key, in this order: opts->api_key; the variable opts->api_key_env;
 * the file opts->api_key_file; the file $HANDOFF_API_KEY_FILE; the variable
 * named by the graph's api_key_env; HANDOFF_API_KEY; OPENAI_API_KEY. A
 * variable named by a flag is used alone (no fallback), so a typo shows. */
static int resolve_key(hf_endpoint *ep, const hf_client_options *o, const hf_graph_endpoint *g,
                       hf_error *err)
{
	const char *file = o->api_key_file && *o->api_key_file ? o->api_key_file
	                                                        : env("HANDOFF_API_KEY_FILE");
	const char *key = NULL;
	int rc;

	if (o->api_key && *o->api_key) {
		key = o->api_key;
	} else if (o->api_key_env && *o->api_key_env) {
		key = env(o->api_key_env);
		if (!key && o->require_key)
			return hf_err(err, HF_ECONFIG,
			              "no API key: the variable %s (named by api_key_env in "
			              "hf_client_options) is not set",
			              o->api_key_env);
	} else if (file) {
		rc = read_key_file(&ep->api_key, file, err);
		if (rc)
			return rc;
	} else {
		key = first(g && g->api_key_env ? env(g->api_key_env) : NULL, env("HANDOFF_API_KEY"),
		            env("OPENAI_API_KEY"));
		if (!key && o->require_key) {
			if (g && g->api_key_env)
				return hf_err(err, HF_ECONFIG,
				              "no API key: set %s (named by api_key_env in the graph file) or "
				              "HANDOFF_API_KEY_FILE (a key file), or set api_key_env or "
				              "api_key_file in hf_client_options",
				              g->api_key_env);
			return hf_err(err, HF_ECONFIG,
			              "no API key: set HANDOFF_API_KEY (or OPENAI_API_KEY) or "
			              "HANDOFF_API_KEY_FILE (a key file), or set api_key_env or "
			              "api_key_file in hf_client_options");
		}
	}
	if (key && (rc = set_str(&ep->api_key, key, err)))
		return rc;
	if (ep->api_key && !hf_headers_safe(ep->api_key))
		return hf_err(err, HF_ECONFIG, "the API key contains a control character or line break");
	return HF_OK;
}

static int resolve_auth(hf_endpoint *ep, const hf_client_options *o, hf_error *err)
{
	const char *v = env("HANDOFF_AUTH");
	if (o->auth) {
		ep->auth = o->auth & (HF_AUTH_BEARER | HF_AUTH_X_API_KEY);
		if (!ep->auth)
			return hf_err(err, HF_EINVAL, "auth takes HF_AUTH_BEARER and/or HF_AUTH_X_API_KEY");
	} else if (!v || !strcasecmp(v, "bearer")) {
		ep->auth = HF_AUTH_BEARER;
	} else if (!strcasecmp(v, "x-api-key")) {
		ep->auth = HF_AUTH_X_API_KEY;
	} else if (!strcasecmp(v, "both")) {
		ep->auth = HF_AUTH_BEARER | HF_AUTH_X_API_KEY;
	} else {
		return hf_err(err, HF_ECONFIG, "HANDOFF_AUTH must be bearer, x-api-key or both, not '%s'",
		              v);
	}
	return HF_OK;
}

/* HANDOFF_TIMEOUT in seconds (fractions allowed) as ms; 0 when unset. */
static int env_timeout(long *ms, hf_error *err)
{
	const char *v = env("HANDOFF_TIMEOUT");
	char *end;
	double s;
	*ms = 0;
	if (!v)
		return HF_OK;
	errno = 0;
	s = strtod(v, &end);
	if (errno || *end || !(s > 0) || s > 86400)
		return hf_err(err, HF_ECONFIG,
		              "HANDOFF_TIMEOUT must be a number of seconds from 0.001 to 86400, not '%s'",
		              v);
	*ms = (long)(s * 1000);
	if (*ms < s * 1000) /* round up: 0.0015 s is 2 ms */
		++*ms;
	return HF_OK;
}

static int copy_headers(hf_endpoint *ep, const char *const *h, hf_error *err)
{
	size_t n = 0, i;
	while (h && h[n])
		n++;
	ep->headers = hf_calloc(n + 1, sizeof(char *));
	if (!ep->headers)
		return hf_err(err, HF_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		const char *colon = strchr(h[i], ':');
		if (!colon || colon == h[i] || !hf_headers_safe(h[i])) /* its value may be a secret */
			return hf_err(err, HF_EINVAL,
			              "extra header %zu must be 'Name: value' on one line, with no control "
			              "characters (its text is not shown: it may hold a credential)",
			              i + 1);
		if (!(ep->headers[i] = hf_strdup(h[i])))
			return hf_err(err, HF_ENOMEM, "out of memory");
	}
	return HF_OK;
}

static long pick_ms(long flag, long graph, long def)
{
	return flag > 0 ? flag : graph > 0 ? graph : def;
}

int hf_endpoint_resolve(hf_endpoint *out, const hf_client_options *opts, const hf_graph *graph,
                        hf_error *err)
{
	static const hf_client_options defaults = HF_CLIENT_OPTIONS_INIT;
	const hf_client_options *o = opts ? opts : &defaults;
	const hf_graph_endpoint *g = graph ? &graph->endpoint : NULL;
	long env_timeout_ms;
	int rc;

	memset(out, 0, sizeof(*out));
	if (o->version != HF_CLIENT_OPTIONS_VERSION && o->version != 1)
		return hf_err(err, HF_EINVAL, "hf_client_options version %u is not %u; use "
		              "HF_CLIENT_OPTIONS_INIT", o->version, HF_CLIENT_OPTIONS_VERSION);
	if ((rc = resolve_base_url(out, first(o->base_url, first(env("HANDOFF_BASE_URL"),
	                                                         env("OPENAI_BASE_URL"), NULL),
	                                      g ? g->base_url : NULL),
	                           err)) ||
	    (rc = resolve_key(out, o, g, err)) || (rc = resolve_auth(out, o, err)) ||
	    (rc = env_timeout(&env_timeout_ms, err)) ||
	    (rc = set_str(&out->provider, first(o->provider, env("HANDOFF_PROVIDER"),
	                                        g ? g->provider : NULL), err)) ||
	    (rc = set_str(&out->compute_provider,
	                  first(o->compute_provider, env("HANDOFF_COMPUTE_PROVIDER"),
	                        g ? g->compute_provider : NULL), err)) ||
	    (rc = set_str(&out->user_agent, "handoff/" HF_VERSION_STRING, err)) ||
	    (rc = copy_headers(out, o->headers, err))) {
		hf_endpoint_dispose(out);
		return rc;
	}
	if (!(out->chat_url = hf_asprintf("%s/chat/completions", out->base_url)) ||
	    !(out->shown_chat_url = hf_asprintf("%s/chat/completions", out->shown_base_url))) {
		hf_endpoint_dispose(out);
		return hf_err(err, HF_ENOMEM, "out of memory");
	}
	/* Chat calls share these; a provider that cannot go into a header is
	 * left for the call to report. */
	if (!out->provider || hf_headers_safe(out->provider))
		if ((rc = hf_headers_build(&out->chat_headers[0], out->api_key, out->auth,
		                           out->headers, true, false, out->provider, err)) ||
		    (rc = hf_headers_build(&out->chat_headers[1], out->api_key, out->auth,
		                           out->headers, true, true, out->provider, err))) {
			hf_endpoint_dispose(out);
			return rc;
		}
	out->connect_timeout_ms = pick_ms(o->connect_timeout_ms, g ? g->connect_timeout_ms : 0,
	                                  DEFAULT_CONNECT_MS);
	out->timeout_ms = pick_ms(o->timeout_ms, env_timeout_ms ? env_timeout_ms
	                                                        : g ? g->timeout_ms : 0,
	                          DEFAULT_TIMEOUT_MS);
	out->idle_timeout_ms = pick_ms(o->idle_timeout_ms, g ? g->idle_timeout_ms : 0,
	                               DEFAULT_IDLE_MS);
	out->deadline_ms = pick_ms(o->version >= 2 ? o->deadline_ms : 0, g ? g->deadline_ms : 0,
	                           out->timeout_ms > LONG_MAX / 3 ? LONG_MAX : out->timeout_ms / 2 * 3);
	out->max_retries = o->max_retries >= 0 ? o->max_retries
	                   : g && g->max_retries >= 0 ? g->max_retries : DEFAULT_RETRIES;
	out->max_retry_after_ms = o->max_retry_after_ms > 0 ? o->max_retry_after_ms
	                                                    : DEFAULT_RETRY_AFTER_CAP_MS;
	out->max_response_bytes = o->max_response_bytes ? o->max_response_bytes
	                                                : DEFAULT_MAX_RESPONSE;
	out->insecure = o->insecure != 0;
	return HF_OK;
}

void hf_endpoint_dispose(hf_endpoint *ep)
{
	size_t i;
	if (!ep)
		return;
	if (ep->api_key)
		explicit_bzero(ep->api_key, strlen(ep->api_key));
	free(ep->api_key);
	free(ep->base_url);
	free(ep->shown_base_url);
	free(ep->provider);
	free(ep->compute_provider);
	free(ep->user_agent);
	free(ep->chat_url);
	free(ep->shown_chat_url);
	hf_headers_free(ep->chat_headers[0]);
	hf_headers_free(ep->chat_headers[1]);
	for (i = 0; ep->headers && ep->headers[i]; i++)
		free(ep->headers[i]);
	free(ep->headers);
	memset(ep, 0, sizeof(*ep));
}

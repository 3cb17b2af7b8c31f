/*
 * call.c - one logical HTTP exchange (hf_call) over a libcurl easy handle:
 * request headers, timeouts, the size cap, the SSE stream feeding the chat
 * assembler, cancellation, the redacting trace, and the decision after each
 * attempt (done, retry after a delay, or an error a user can act on). The
 * blocking loop (hf_call_perform) and the multi-handle engine share all of
 * it: they only call hf_call_setup and hf_call_finish around a transfer.
 */
#include "headers.h"
#include "call.h"
#include "redact.h"
#include "sse.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SLEEP_SLICE_MS 50
#define TRACE_BODY_MAX 1024
#define SNIFF_SHOW 48 /* bytes of a body that is neither SSE nor JSON shown in the error */

/* What the body of a 2xx reply to a streamed request is: decided from the
 * Content-Type when it says text/event-stream, else from its first bytes,
 * as the official clients read an event stream whatever the header says. */
enum { BODY_UNDECIDED, BODY_SSE, BODY_JSON, BODY_OTHER };
struct hf_call {
	const hf_endpoint *ep;       /* borrowed; outlives the call */
	const char *url;             /* shown in messages: ep->shown_chat_url, or url_owned */
	char *url_owned;
	const char *fetch_url;       /* requested: ep->chat_url, or fetch_owned */
	char *fetch_owned;           /* (may hold a user and password) */
	const char *body;            /* POST body (the caller's), NULL for GET */
	size_t body_len;
	bool stream;
	hf_delta_fn on_delta;
	void *payload;
	struct curl_slist *headers;  /* ep->chat_headers[stream], or headers_owned */
	struct curl_slist *headers_owned; /* holds the key: wiped before it is freed */
	atomic_int cancel;           /* hf_call_cancel */
	const volatile int *stop;    /* spec->cancel */
	unsigned rng;
	int attempts;                /* attempts started */

	/* The current attempt; reset by hf_call_setup. */
	long status;                 /* from the last status line */
	bool event_stream;           /* Content-Type: text/event-stream */
	int body_kind;               /* a 2xx streamed body: BODY_* */
	char content_type[64];       /* as sent, control characters escaped; "" when none */
	long retry_after_ms;         /* -1: no Retry-After */
	int should_retry;            /* x-should-retry: -1 absent, 0 false, 1 true */
	bool idle_armed;
	long long last_byte_ms;
	size_t received;
	hf_buf buf;                  /* the body, unless it is fed to the SSE parser */
	hf_sse sse;
	hf_stream *sm;
	int cb_code;                 /* an error raised inside a callback */
	bool cb_retryable;
	hf_error cb_err;
	char errbuf[CURL_ERROR_SIZE];
	hf_reply reply;              /* a finished stream's reply */
	bool have_reply;
	long long deadline_ms;       /* hf_now_ms() by which every attempt must be over */
};

/* Record the first error raised inside a callback. */
static void cb_fail(hf_call *c, int code, bool retryable, const char *fmt, ...) HF_PRINTF(4, 5);
static void cb_fail(hf_call *c, int code, bool retryable, const char *fmt, ...)
{
	va_list ap;
	if (c->cb_code)
		return;
	va_start(ap, fmt);
	hf_errv(&c->cb_err, code, fmt, ap);
	va_end(ap);
	c->cb_code = code;
	c->cb_retryable = retryable;
}

static bool cancelled(hf_call *c)
{
	return atomic_load(&c->cancel) || (c->stop && *c->stop);
}

/* ---- callbacks ---- */

static int on_text(void *ud, const char *text, size_t len)
{
	hf_call *c = ud;
	if (c->on_delta && c->on_delta(c->payload, text, len)) {
		cb_fail(c, HF_ECANCELLED, false, "cancelled by the caller");
		return 1;
	}
	return 0;
}

static int on_event(void *ud, const char *event, const char *data, size_t len)
{
	hf_call *c = ud;
	hf_error e;
	int rc;
	(void)event;
	rc = hf_stream_chunk(c->sm, data, len, &e);
	if (rc && !c->cb_code) {
		c->cb_code = rc;
		c->cb_err = e;
		hf_err_prefix(&c->cb_err, "the stream from %s", c->url);
	}
	return rc != 0;
}

static void size_text(char *out, size_t cap, size_t n)
{
	if (n >= (1u << 20) && n % (1u << 20) == 0)
		snprintf(out, cap, "%zu MiB", n >> 20);
	else if (n >= 1024 && n % 1024 == 0)
		snprintf(out, cap, "%zu KiB", n >> 10);
	else
		snprintf(out, cap, "%zu-byte", n);
}

/* BODY_SSE when the bytes start (after blanks and a BOM) with an SSE field
 * or comment, BODY_JSON for '{', BODY_UNDECIDED while too few bytes came. */
static int sniff(const char *p, size_t n)
{
	static const char *const fields[] = { "data:", "event:", "id:", "retry:", ":" };
	size_t i;
	bool maybe = false;
	if (n >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3, n -= 3;
	while (n && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++, n--;
	if (!n)
		return BODY_UNDECIDED;
	if (*p == '{')
		return BODY_JSON;
	for (i = 0; i < HF_ARRAY_LEN(fields); i++) {
		size_t f = strlen(fields[i]);
		if (!memcmp(p, fields[i], n < f ? n : f)) {
			if (n >= f)
				return BODY_SSE;
			maybe = true;
		}
	}
	return maybe ? BODY_UNDECIDED : BODY_OTHER;
}

/* Feed a 2xx streamed body: to the SSE parser once it is known to be an
 * event stream, else into c->buf. */
static size_t stream_write(hf_call *c, char *p, size_t len)
{
	hf_error e;
	if (c->body_kind == BODY_UNDECIDED) {
		if (hf_buf_append(&c->buf, p, len)) {
			cb_fail(c, HF_ENOMEM, false, "out of memory for the reply");
			return 0;
		}
		c->body_kind = sniff(c->buf.data, c->buf.len);
		if (c->body_kind != BODY_SSE)
			return len;
		p = c->buf.data;
		len = c->buf.len;
		c->buf.len = 0; /* its bytes (still in place) go to the parser below */
	} else if (c->body_kind != BODY_SSE) {
		if (hf_buf_append(&c->buf, p, len)) {
			cb_fail(c, HF_ENOMEM, false, "out of memory for the reply");
			return 0;
		}
		return len;
	}
	if (hf_sse_feed(&c->sse, p, len, &e)) {
		if (!c->cb_code) {
			c->cb_code = e.code;
			c->cb_err = e;
		}
		return 0;
	}
	return len;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
	hf_call *c = ud;
	size_t len = size * n;

	c->last_byte_ms = hf_now_ms();
	if (len > c->ep->max_response_bytes - c->received) {
		char lim[32];
		size_text(lim, sizeof(lim), c->ep->max_response_bytes);
		cb_fail(c, HF_ELIMIT, false, "the reply from %s exceeded the %s limit", c->url, lim);
		return 0;
	}
	c->received += len;
	if (c->stream && c->status / 100 == 2) {
		if (c->body_kind == BODY_UNDECIDED && c->event_stream)
			c->body_kind = BODY_SSE;
		return stream_write(c, p, len);
	}
	if (hf_buf_append(&c->buf, p, len)) {
		cb_fail(c, HF_ENOMEM, false, "out of memory for the reply");
		return 0;
	}
	return len;
}

/* The value of header `name` in line p[0..len), trimmed, into out. */
static bool header_value(const char *p, size_t len, const char *name, char *out, size_t cap)
{
	size_t n = strlen(name), v;
	if (len <= n || p[n] != ':' || strncasecmp(p, name, n))
		return false;
	p += n + 1;
	len -= n + 1;
	while (len && (*p == ' ' || *p == '\t'))
		p++, len--;
	while (len && (p[len - 1] == '\r' || p[len - 1] == '\n' || p[len - 1] == ' '))
		len--;
	v = len < cap - 1 ? len : cap - 1;
	memcpy(out, p, v);
	out[v] = '\0';
	return true;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	hf_call *c = ud;
	size_t len = size * n;
	char v[128];

	c->last_byte_ms = hf_now_ms();
	c->idle_armed = true;
	if (!len || !strchr("HRXCrxc", p[0])) /* none of the lines below */
		return len;
	if (len > 5 && !strncmp(p, "HTTP/", 5)) {
		const char *sp = memchr(p, ' ', len);
		c->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		c->retry_after_ms = -1;
		c->should_retry = -1;
		c->event_stream = false;
		c->body_kind = BODY_UNDECIDED;
		c->content_type[0] = '\0';
	} else if (header_value(p, len, "retry-after-ms", v, sizeof(v))) {
		char *end;
		double ms = strtod(v, &end);
		if (end != v && !*end && ms >= 0 && ms < 1e9)
			c->retry_after_ms = (long)ms;
	} else if (header_value(p, len, "retry-after", v, sizeof(v))) {
		if (c->retry_after_ms < 0)
			c->retry_after_ms = hf_retry_after_ms(v, time(NULL));
	} else if (header_value(p, len, "x-should-retry", v, sizeof(v))) {
		c->should_retry = !strcasecmp(v, "true") ? 1 : !strcasecmp(v, "false") ? 0 : -1;
	} else if (header_value(p, len, "content-type", v, sizeof(v))) {
		size_t i, o = 0;
		c->event_stream = !strncasecmp(v, "text/event-stream", 17);
		for (i = 0; v[i] && o + 5 < sizeof(c->content_type); i++) {
			unsigned char ch = (unsigned char)v[i];
			if (ch < 0x20 || ch >= 0x7f)
				o += (size_t)snprintf(c->content_type + o, 5, "\\x%02x", ch);
			else
				c->content_type[o++] = (char)ch;
		}
		c->content_type[o] = '\0';
	}
	return len;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	hf_call *c = ud;
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	if (cancelled(c)) {
		cb_fail(c, HF_ECANCELLED, false, "cancelled");
		return 1;
	}
	if (c->deadline_ms && hf_now_ms() >= c->deadline_ms) {
		cb_fail(c, HF_ENET, false, "no complete reply from %s within the %.1f s deadline for "
		        "the request (all attempts)", c->url, c->ep->deadline_ms / 1000.0);
		return 1;
	}
	if (c->idle_armed && hf_now_ms() - c->last_byte_ms >= c->ep->idle_timeout_ms) {
		cb_fail(c, HF_ENET, true, "no data for %.1f s (idle timeout) from %s",
		        c->ep->idle_timeout_ms / 1000.0, c->url);
		return 1;
	}
	return 0;
}

/* True when the header line p[0..len) is one the caller added (ep->headers,
 * from --header): its value may be a credential (api-key, Cookie, ...). */
static bool added_header(const hf_endpoint *ep, const char *p, size_t len)
{
	const char *colon = memchr(p, ':', len);
	size_t i;
	for (i = 0; colon && ep->headers && ep->headers[i]; i++) {
		const char *h = ep->headers[i], *hc = strchr(h, ':');
		if (hc && hc - h == colon - p && !strncasecmp(p, h, (size_t)(colon - p)))
			return true;
	}
	return false;
}

/* Log one line of wire trace with credentials masked and the key scrubbed. */
static void trace_line(hf_call *c, const char *mark, const char *p, size_t len)
{
	char line[HF_ERROR_MESSAGE_MAX];
	while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	if (!len)
		return;
	if (hf_redact_header(p, len) || (*mark == '>' && added_header(c->ep, p, len))) {
		const char *colon = memchr(p, ':', len);
		snprintf(line, sizeof(line), "%s %.*s: %s", mark, (int)(colon - p), p, HF_REDACTED);
	} else {
		snprintf(line, sizeof(line), "%s %.*s", mark, (int)len, p);
	}
	hf_redact(line, sizeof(line), c->ep->api_key);
	hf_log(HF_LOG_TRACE, "%s", line);
}

static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *ud)
{
	hf_call *c = ud;
	const char *p = data, *end = data + size, *nl;
	(void)h;
	switch (type) {
	case CURLINFO_TEXT:
		trace_line(c, "*", data, size);
		break;
	case CURLINFO_HEADER_IN:
		trace_line(c, "<", data, size);
		break;
	case CURLINFO_HEADER_OUT:
		for (; p < end; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl)
				nl = end - 1;
			trace_line(c, ">", p, (size_t)(nl - p + 1));
		}
		break;
	case CURLINFO_DATA_OUT:
	case CURLINFO_DATA_IN:
		trace_line(c, type == CURLINFO_DATA_OUT ? "> body:" : "< body:", data,
		           size < TRACE_BODY_MAX ? size : TRACE_BODY_MAX);
		break;
	default:
		break;
	}
	return 0;
}

/* ---- the call ---- */

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

int hf_call_new(hf_call **out, const hf_endpoint *ep, const hf_call_spec *spec, hf_error *err)
{
	const char *provider;
	hf_call *c;
	bool post, shared;
	int rc;

	*out = NULL;
	if (!ep || !ep->base_url || !spec || !spec->method || !spec->path || spec->path[0] != '/')
		return hf_err(err, HF_EINVAL, "hf_call_new needs an endpoint, a method and a /path");
	post = !strcmp(spec->method, "POST");
	if (!post && strcmp(spec->method, "GET"))
		return hf_err(err, HF_EINVAL, "method %s is not GET or POST", spec->method);
	c = hf_calloc(1, sizeof(*c));
	if (!c)
		return hf_err(err, HF_ENOMEM, "out of memory");
	c->ep = ep;
	c->stream = spec->stream;
	c->on_delta = spec->on_delta;
	c->payload = spec->payload;
	c->stop = spec->cancel;
	c->rng = (unsigned)hf_now_ms() ^ (unsigned)(uintptr_t)c;
	atomic_init(&c->cancel, 0);
	if (ep->chat_url && !strcmp(spec->path, "/chat/completions")) {
		c->fetch_url = ep->chat_url;
		c->url = ep->shown_chat_url;
	} else if ((c->fetch_url = c->fetch_owned = hf_asprintf("%s%s", ep->base_url, spec->path))) {
		c->url = c->url_owned = hf_asprintf("%s%s", ep->shown_base_url, spec->path);
	}
	if (post) {
		c->body = spec->body ? spec->body : "";
		c->body_len = strlen(c->body);
	}
	if (!c->url) {
		hf_call_free(c);
		return hf_err(err, HF_ENOMEM, "out of memory");
	}
	/* The endpoint's own chat headers, or this call's. */
	provider = spec->provider ? spec->provider : ep->provider;
	shared = post && c->fetch_url == ep->chat_url && same_str(provider, ep->provider) &&
	         ep->chat_headers[c->stream];
	if (!shared &&
	    (rc = hf_headers_build(&c->headers_owned, ep->api_key, ep->auth, ep->headers, post,
	                           c->stream, provider, err))) {
		hf_call_free(c);
		return rc;
	}
	c->headers = shared ? ep->chat_headers[c->stream] : c->headers_owned;
	*out = c;
	return HF_OK;
}

void hf_call_free(hf_call *c)
{
	if (!c)
		return;
	hf_headers_free(c->headers_owned);
	free(c->url_owned);
	free(c->fetch_owned);
	hf_buf_dispose(&c->buf);
	hf_sse_dispose(&c->sse);
	hf_stream_free(c->sm);
	hf_chat_reply_dispose(&c->reply);
	free(c);
}

void hf_call_cancel(hf_call *c)
{
	atomic_store(&c->cancel, 1);
}

/* Forget what the previous attempt left. */
static int reset_attempt(hf_call *c, hf_error *err)
{
	c->status = 0;
	c->event_stream = false;
	c->body_kind = BODY_UNDECIDED;
	c->content_type[0] = '\0';
	c->retry_after_ms = -1;
	c->should_retry = -1;
	c->idle_armed = c->stream;
	c->last_byte_ms = hf_now_ms();
	c->received = 0;
	c->cb_code = HF_OK;
	c->cb_retryable = false;
	c->errbuf[0] = '\0';
	hf_buf_reset(&c->buf);
	hf_chat_reply_dispose(&c->reply);
	memset(&c->reply, 0, sizeof(c->reply));
	c->have_reply = false;
	if (!c->stream)
		return HF_OK;
	hf_sse_dispose(&c->sse);
	hf_sse_init(&c->sse, c->ep->max_response_bytes, on_event, c);
	hf_stream_free(c->sm);
	c->sm = NULL;
	return hf_stream_new(&c->sm, on_text, c, HF_CHAT_MAX_TOOL_CALLS, err);
}

#define SET(opt, val) \
	do { \
		if (r == CURLE_OK) \
			r = curl_easy_setopt(easy, opt, val); \
	} while (0)

static int setopt_error(hf_error *err, CURLcode r)
{
	return hf_err(err, r == CURLE_OUT_OF_MEMORY ? HF_ENOMEM : HF_ENET,
	              "libcurl refused a setting: %s", curl_easy_strerror(r));
}

int hf_call_easy_prepare(CURL *easy, const hf_endpoint *ep, hf_error *err)
{
	CURLcode r = CURLE_OK;
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_USERAGENT, ep->user_agent);
	SET(CURLOPT_CONNECTTIMEOUT_MS, ep->connect_timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, ep->timeout_ms);
	SET(CURLOPT_ACCEPT_ENCODING, "");
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_WRITEFUNCTION, on_write);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_XFERINFOFUNCTION, on_progress);
	SET(CURLOPT_NOPROGRESS, 0L);
	/* Driven by a multi handle from an event loop, libcurl runs a silent
	 * transfer only when one of its timers expires, so on_progress (which
	 * checks the idle timeout and the cancel flag) would not run during a
	 * stall. A speed limit makes libcurl look at every transfer once a
	 * second; its time never runs out before the call's own timeouts. */
	SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
	SET(CURLOPT_LOW_SPEED_TIME, 7L * 24 * 3600);
	SET(CURLOPT_SSL_VERIFYPEER, ep->insecure ? 0L : 1L);
	SET(CURLOPT_SSL_VERIFYHOST, ep->insecure ? 0L : 2L);
	return r == CURLE_OK ? HF_OK : setopt_error(err, r);
}

int hf_call_setup(hf_call *c, CURL *easy, hf_error *err)
{
	bool trace = hf_log_enabled(HF_LOG_TRACE);
	CURLcode r = CURLE_OK;
	int rc = reset_attempt(c, err);

	if (rc)
		return rc;
	SET(CURLOPT_URL, c->fetch_url);
	SET(CURLOPT_HTTPHEADER, c->headers);
	SET(CURLOPT_WRITEDATA, c);
	SET(CURLOPT_HEADERDATA, c);
	SET(CURLOPT_XFERINFODATA, c);
	SET(CURLOPT_ERRORBUFFER, c->errbuf);
	if (c->body) {
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body_len);
		SET(CURLOPT_POSTFIELDS, c->body);
	} else {
		SET(CURLOPT_HTTPGET, 1L);
	}
	SET(CURLOPT_DEBUGFUNCTION, trace ? on_debug : NULL);
	SET(CURLOPT_DEBUGDATA, c);
	SET(CURLOPT_VERBOSE, trace ? 1L : 0L);
	if (!c->deadline_ms && c->ep->deadline_ms > 0)
		c->deadline_ms = hf_now_ms() + c->ep->deadline_ms;
	if (c->deadline_ms) { /* no attempt outlives the deadline */
		long long left = c->deadline_ms - hf_now_ms();
		SET(CURLOPT_TIMEOUT_MS, left < 1 ? 1L : left < c->ep->timeout_ms ? (long)left
		                                                                : c->ep->timeout_ms);
	}
	if (r != CURLE_OK)
		return setopt_error(err, r);
	c->attempts++;
	hf_log(HF_LOG_DEBUG, "%s %s (attempt %d of %d)", c->body ? "POST" : "GET", c->url,
	       c->attempts, c->ep->max_retries + 1);
	return HF_OK;
}
#undef SET

/* A random number in [0, 1) for the backoff jitter (xorshift). */
static double jitter(hf_call *c)
{
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 17;
	c->rng ^= c->rng << 5;
	return (c->rng % 1000000u) / 1000000.0;
}

static bool may_retry(const hf_call *c)
{
	return c->attempts <= c->ep->max_retries && (!c->sm || hf_stream_delivered(c->sm) == 0);
}

/* The error for a streamed reply that is neither an event stream nor JSON:
 * what the Content-Type and the first bytes were (escaped, bounded). */
static int neither(hf_call *c, hf_error *e)
{
	char start[SNIFF_SHOW * 4 + 1];
	size_t i, o = 0, n = c->buf.len < SNIFF_SHOW ? c->buf.len : SNIFF_SHOW;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)c->buf.data[i];
		if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
			o += (size_t)snprintf(start + o, 5, "\\x%02x", ch);
		else
			start[o++] = (char)ch;
	}
	start[o] = '\0';
	return hf_err(e, HF_EPROTOCOL, "the reply from %s to a streamed request is neither an "
	              "event stream nor JSON (Content-Type: %s; %zu bytes starting \"%s\"%s)",
	              c->url, c->content_type[0] ? c->content_type : "none", c->buf.len, start,
	              c->buf.len > n ? "..." : "");
}

/* A finished 2xx stream: assemble the reply into c->reply. A server that
 * ignored stream: true sent one JSON reply; its text becomes one delta.
 * A stream that sent a finish_reason is whole without data: [DONE]. */
static int finish_stream(hf_call *c, hf_error *e)
{
	int rc;
	if (c->body_kind == BODY_UNDECIDED)
		c->body_kind = sniff(c->buf.data ? c->buf.data : "", c->buf.len);
	if (c->body_kind == BODY_OTHER || (c->body_kind == BODY_UNDECIDED && c->buf.len)) {
		rc = neither(c, e);
	} else if (c->body_kind != BODY_SSE) {
		rc = hf_chat_reply_parse(&c->reply, c->buf.data ? c->buf.data : "", c->buf.len, e);
		if (!rc && c->reply.content && on_text(c, c->reply.content, strlen(c->reply.content)))
			*e = c->cb_err, rc = c->cb_code;
	} else if ((rc = hf_sse_finish(&c->sse, e)) != HF_OK) {
		if (c->cb_code)
			*e = c->cb_err, rc = c->cb_code;
	} else if (!hf_stream_complete(c->sm)) {
		rc = hf_err(e, HF_ENET, "the stream from %s ended before data: [DONE] (the connection "
		            "was closed)", c->url);
	} else {
		rc = hf_stream_finish(c->sm, &c->reply, e);
	}
	if (rc)
		hf_chat_reply_dispose(&c->reply), memset(&c->reply, 0, sizeof(c->reply));
	c->have_reply = rc == HF_OK;
	return rc;
}

int hf_call_finish(hf_call *c, CURL *easy, CURLcode rc, long *delay_ms, hf_error *err)
{
	hf_error e;
	long status = 0, os_errno = 0;
	bool retry = false, pause_given = false;
	int code;

	*delay_ms = 0;
	hf_err_clear(&e);
	if (c->cb_code) {
		e = c->cb_err;
		code = c->cb_code;
		retry = c->cb_retryable;
	} else if (rc == CURLE_OPERATION_TIMEDOUT && c->deadline_ms && hf_now_ms() >= c->deadline_ms) {
		code = hf_err(&e, HF_ENET, "no complete reply from %s within the %.1f s deadline for "
		              "the request (all attempts)", c->url, c->ep->deadline_ms / 1000.0);
	} else if (rc != CURLE_OK) {
		curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
		code = hf_call_error_net(&e, rc, c->url, c->errbuf, os_errno);
		retry = hf_retry_curl(rc);
	} else {
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
		if (status / 100 == 2) {
			code = c->stream ? finish_stream(c, &e) : HF_OK;
			if (code == HF_OK)
				return HF_CALL_DONE;
			retry = code == HF_ENET;
		} else {
			code = hf_call_error_http(&e, status, c->url, c->buf.data, c->buf.len,
			                     c->ep->api_key != NULL);
			retry = c->should_retry >= 0 ? c->should_retry == 1 : hf_retry_status(status);
			pause_given = c->retry_after_ms > 0 &&
			              c->retry_after_ms <= c->ep->max_retry_after_ms;
		}
	}
	hf_redact(e.message, sizeof(e.message), c->ep->api_key);
	if (retry && may_retry(c)) {
		*delay_ms = pause_given ? c->retry_after_ms
		                        : hf_retry_backoff_ms(c->attempts - 1, jitter(c));
		if (c->deadline_ms && hf_now_ms() + *delay_ms >= c->deadline_ms) {
			size_t n = strlen(e.message);
			snprintf(e.message + n, sizeof(e.message) - n, "; not retried: the %.1f s "
			         "deadline for the request would pass", c->ep->deadline_ms / 1000.0);
			*delay_ms = 0;
			goto give_up;
		}
		hf_log(HF_LOG_INFO, "%s; retrying in %.1f s (attempt %d of %d)", e.message,
		       *delay_ms / 1000.0, c->attempts + 1, c->ep->max_retries + 1);
		return HF_CALL_RETRY;
	}
give_up:
	if (c->attempts > 1) {
		size_t n = strlen(e.message);
		snprintf(e.message + n, sizeof(e.message) - n, "; gave up after %d attempts",
		         c->attempts);
	}
	if (err)
		*err = e;
	return code;
}

/* Sleep ms, waking early when the call is cancelled (then false). */
static bool pause_ms(hf_call *c, long ms)
{
	long long until = hf_now_ms() + ms;
	for (;;) {
		long long left = until - hf_now_ms();
		struct timespec ts;
		if (cancelled(c))
			return false;
		if (left <= 0)
			return true;
		if (left > SLEEP_SLICE_MS)
			left = SLEEP_SLICE_MS;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)left * 1000000L;
		nanosleep(&ts, NULL);
	}
}

/* One attempt on `easy`. During a stall libcurl runs on_progress (which
 * checks the idle timeout) only about once a second; an idle timeout under
 * a second is kept on time by driving the transfer from a multi handle of
 * our own, polled at a tenth of the timeout. */
static CURLcode transfer(hf_call *c, CURL *easy)
{
	long tick = c->ep->idle_timeout_ms / 10;
	CURLcode res = CURLE_OK;
	CURLMsg *msg;
	CURLM *m;
	int running = 1, left;
	if (c->ep->idle_timeout_ms >= 1000)
		return curl_easy_perform(easy);
	if (!(m = curl_multi_init()))
		return CURLE_OUT_OF_MEMORY;
	if (curl_multi_add_handle(m, easy) != CURLM_OK) {
		curl_multi_cleanup(m);
		return CURLE_OUT_OF_MEMORY;
	}
	while (running) {
		if (curl_multi_perform(m, &running) != CURLM_OK ||
		    (running && curl_multi_poll(m, NULL, 0, tick > 0 ? (int)tick : 1, NULL) != CURLM_OK)) {
			res = CURLE_RECV_ERROR;
			break;
		}
	}
	while ((msg = curl_multi_info_read(m, &left)))
		if (msg->msg == CURLMSG_DONE)
			res = msg->data.result;
	curl_multi_remove_handle(m, easy);
	curl_multi_cleanup(m);
	return res;
}

int hf_call_perform(hf_call *c, CURL *easy, hf_error *err)
{
	long delay;
	int rc;
	for (;;) {
		if ((rc = hf_call_setup(c, easy, err)) != HF_OK)
			return rc;
		rc = hf_call_finish(c, easy, transfer(c, easy), &delay, err);
		if (rc != HF_CALL_RETRY)
			return rc;
		if (!pause_ms(c, delay))
			return hf_err(err, HF_ECANCELLED, "cancelled while waiting to retry %s", c->url);
	}
}

int hf_call_reply(hf_call *c, hf_reply *out, hf_error *err)
{
	int rc;
	if (c->have_reply) {
		*out = c->reply;
		memset(&c->reply, 0, sizeof(c->reply));
		c->have_reply = false;
		return HF_OK;
	}
	rc = hf_chat_reply_parse(out, c->buf.data ? c->buf.data : "", c->buf.len, err);
	if (rc && err) {
		hf_err_prefix(err, "the reply from %s", c->url);
		hf_redact(err->message, sizeof(err->message), c->ep->api_key);
	}
	return rc;
}

const char *hf_call_body(const hf_call *c, size_t *len)
{
	if (len)
		*len = c->buf.len;
	return c->buf.data ? c->buf.data : "";
}

int hf_call_run(hf_reply *reply, hf_buf *body, CURL *easy, const hf_endpoint *ep,
                const hf_call_spec *spec, hf_error *err)
{
	hf_call *c = NULL;
	int rc = hf_call_new(&c, ep, spec, err);
	if (!rc)
		rc = hf_call_perform(c, easy, err);
	if (!rc && reply)
		rc = hf_call_reply(c, reply, err);
	if (!rc && !reply) {
		*body = c->buf;
		memset(&c->buf, 0, sizeof(c->buf));
	}
	hf_call_free(c);
	return rc;
}

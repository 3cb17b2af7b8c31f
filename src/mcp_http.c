/*
 * mcp_http.c - an MCP server over Streamable HTTP: one POST per message on
 * the host's curl multi (Accept: application/json, text/event-stream); the
 * answer is one JSON message or an SSE stream of them (src/sse.c). Messages
 * are queued while libcurl is inside its callbacks and handed to the host
 * after (hf_mcp_http_dispatch), so the host may post from its handlers.
 * Header values are never logged.
 */
#include "mcp_http.h"

#include "list.h"
#include "redact.h"
#include "sse.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct inbox_msg {
	hf_link link;
	size_t len;
	char text[];
} inbox_msg;

typedef struct xfer {
	hf_link link;
	hf_mcp_http *h;
	CURL *easy;
	struct curl_slist *hdrs;
	uint64_t id;
	char *body;
	bool sse;             /* Content-Type: text/event-stream */
	hf_sse parser;
	hf_buf json;          /* a JSON answer, or an error status's body */
	int fail;             /* a limit or memory failure while reading */
	hf_error err;
} xfer;

struct hf_mcp_http {
	CURLM *multi;
	char *url;
	char *shown_url;      /* without userinfo, for messages */
	char **headers;
	char *session;
	char *version;
	size_t max;
	hf_mcp_http_cb cb;
	hf_list xfers;
	hf_list inbox;
};

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int hf_mcp_http_new(hf_mcp_http **out, CURLM *multi, const char *url,
                    char *const *headers, size_t max_message, const hf_mcp_http_cb *cb,
                    hf_error *err)
{
	hf_mcp_http *h = hf_calloc(1, sizeof(*h));
	size_t n = 0;
	*out = NULL;
	while (headers && headers[n])
		n++;
	if (!h || !(h->url = hf_strdup(url)) || !(h->shown_url = hf_redact_url(url)) ||
	    !(h->headers = hf_calloc(n + 1, sizeof(char *))))
		goto oom;
	for (size_t i = 0; i < n; i++)
		if (!(h->headers[i] = hf_strdup(headers[i])))
			goto oom;
	h->multi = multi;
	h->max = max_message;
	h->cb = *cb;
	*out = h;
	return HF_OK;
oom:
	hf_mcp_http_free(h, 0);
	return hf_err(err, HF_ENOMEM, "out of memory");
}

int hf_mcp_http_set_version(hf_mcp_http *h, const char *version)
{
	char *v = hf_strdup(version);
	if (!v)
		return HF_ENOMEM;
	free(h->version);
	h->version = v;
	return HF_OK;
}

/* Queue one message for the host; false when out of memory. */
static bool inbox_push(hf_mcp_http *h, const char *text, size_t len)
{
	inbox_msg *m = hf_malloc(sizeof(*m) + len + 1);
	if (!m)
		return false;
	m->len = len;
	memcpy(m->text, text, len);
	m->text[len] = '\0';
	hf_list_push(&h->inbox, &m->link);
	return true;
}

void hf_mcp_http_dispatch(hf_mcp_http *h)
{
	while (h->inbox.head) {
		inbox_msg *m = HF_CONTAINER(h->inbox.head, inbox_msg, link);
		hf_list_remove(&h->inbox, &m->link);
		h->cb.message(h->cb.payload, m->text, m->len);
		free(m);
	}
}

static int on_event(void *payload, const char *event, const char *data, size_t len)
{
	xfer *x = payload;
	if (strcmp(event, "message") != 0 || len == 0)
		return 0;
	if (!inbox_push(x->h, data, len)) {
		x->fail = hf_err(&x->err, HF_ENOMEM, "out of memory");
		return 1;
	}
	return 0;
}

static size_t on_header(char *line, size_t size, size_t nitems, void *payload)
{
	xfer *x = payload;
	size_t len = size * nitems, n = len;
	while (n && (line[n - 1] == '\r' || line[n - 1] == '\n'))
		n--;
	if (n > 13 && strncasecmp(line, "content-type:", 13) == 0) {
		x->sse = false;
		for (size_t i = 13; i + 17 <= n; i++)
			if (strncasecmp(line + i, "text/event-stream", 17) == 0)
				x->sse = true;
	} else if (n > 15 && strncasecmp(line, "mcp-session-id:", 15) == 0) {
		size_t i = 15;
		char *id;
		while (i < n && (line[i] == ' ' || line[i] == '\t'))
			i++;
		for (size_t j = i; j < n; j++)
			if (line[j] < 0x21 || line[j] > 0x7e)
				return len; /* not a visible-ASCII id: ignored */
		if (i < n && (id = hf_strndup(line + i, n - i))) {
			free(x->h->session);
			x->h->session = id;
		}
	}
	return len;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *payload)
{
	xfer *x = payload;
	size_t n = size * nmemb;
	long status = 0;
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 300) { /* an error page: its start, for the message */
		if (x->json.len < 512)
			hf_buf_append(&x->json, p, n < 512 ? n : 512);
		return n;
	}
	if (x->sse) {
		hf_error err;
		int rc = hf_sse_feed(&x->parser, p, n, &err);
		if (rc == HF_ELIMIT)
			x->fail = hf_err(&x->err, HF_ELIMIT, "a message over the %zu-byte limit "
			                 "(max_message)", x->h->max);
		else if (rc && !x->fail)
			x->fail = hf_err(&x->err, rc, "%s", err.message);
		return x->fail ? 0 : n;
	}
	if (x->json.len + n > x->h->max) {
		x->fail = hf_err(&x->err, HF_ELIMIT, "a message over the %zu-byte limit (max_message)",
		                 x->h->max);
		return 0;
	}
	if (hf_buf_append(&x->json, p, n)) {
		x->fail = hf_err(&x->err, HF_ENOMEM, "out of memory");
		return 0;
	}
	return n;
}

static void xfer_free(xfer *x)
{
	if (!x)
		return;
	if (x->easy) {
		curl_multi_remove_handle(x->h->multi, x->easy);
		curl_easy_cleanup(x->easy);
	}
	curl_slist_free_all(x->hdrs);
	hf_sse_dispose(&x->parser);
	hf_buf_dispose(&x->json);
	free(x->body);
	free(x);
}

/* The headers of every request: the configured ones, then the session's. */
static struct curl_slist *request_headers(hf_mcp_http *h, bool post)
{
	struct curl_slist *l = NULL, *t;
	char line[512];
#define ADD(s)                                      \
	do {                                            \
		if (!(t = curl_slist_append(l, (s)))) {     \
			curl_slist_free_all(l);                 \
			return NULL;                            \
		}                                           \
		l = t;                                      \
	} while (0)
	if (post) {
		ADD("Content-Type: application/json");
		ADD("Accept: application/json, text/event-stream");
	}
	for (size_t i = 0; h->headers[i]; i++)
		ADD(h->headers[i]);
	if (h->session) {
		snprintf(line, sizeof(line), "Mcp-Session-Id: %.400s", h->session);
		ADD(line);
	}
	if (h->version) {
		snprintf(line, sizeof(line), "MCP-Protocol-Version: %.64s", h->version);
		ADD(line);
	}
#undef ADD
	return l;
}

static CURL *easy_for(hf_mcp_http *h, struct curl_slist *hdrs)
{
	CURL *e = curl_easy_init();
	if (!e)
		return NULL;
	curl_easy_setopt(e, CURLOPT_URL, h->url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	return e;
}

int hf_mcp_http_post(hf_mcp_http *h, uint64_t id, const char *msg, hf_error *err)
{
	xfer *x = hf_calloc(1, sizeof(*x));
	if (!x)
		return hf_err(err, HF_ENOMEM, "out of memory");
	x->h = h;
	x->id = id;
	hf_sse_init(&x->parser, h->max, on_event, x);
	if (!(x->body = hf_strdup(msg)) || !(x->hdrs = request_headers(h, true)) ||
	    !(x->easy = easy_for(h, x->hdrs))) {
		xfer_free(x);
		return hf_err(err, HF_ENOMEM, "out of memory");
	}
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->body);
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(x->body));
	curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	if (curl_multi_add_handle(h->multi, x->easy) != CURLM_OK) {
		CURL *e = x->easy;
		x->easy = NULL;
		curl_easy_cleanup(e);
		xfer_free(x);
		return hf_err(err, HF_ENOMEM, "cannot add an HTTP transfer");
	}
	hf_list_push(&h->xfers, &x->link);
	return HF_OK;
}

void hf_mcp_http_abort(hf_mcp_http *h, uint64_t id)
{
	for (hf_link *k = h->xfers.head; k; k = k->next) {
		xfer *x = HF_CONTAINER(k, xfer, link);
		if (x->id == id) {
			hf_list_remove(&h->xfers, &x->link);
			xfer_free(x);
			return;
		}
	}
}

bool hf_mcp_http_finished(CURL *easy, CURLcode result)
{
	xfer *x = NULL;
	hf_mcp_http *h;
	hf_error err;
	int code = HF_OK;
	long status = 0;
	if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x) != CURLE_OK || !x)
		return false;
	h = x->h;
	hf_list_remove(&h->xfers, &x->link);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	if (x->fail) {
		code = x->fail;
		err = x->err;
	} else if (result != CURLE_OK) {
		code = hf_err(&err, HF_ENET, "cannot reach %s: %s", h->shown_url,
		              curl_easy_strerror(result));
	} else if (status >= 300) {
		size_t n = x->json.len;
		for (size_t i = 0; i < n; i++)
			if (!isprint((unsigned char)x->json.data[i]))
				x->json.data[i] = ' ';
		code = hf_err(&err, HF_ENET, "HTTP %ld from %s%s%.200s", status, h->shown_url,
		              n ? ": " : "", n ? x->json.data : "");
	} else if (x->sse) {
		if (hf_sse_finish(&x->parser, &err) == HF_ELIMIT)
			code = hf_err(&err, HF_ELIMIT, "a message over the %zu-byte limit (max_message)",
			              h->max);
	} else if (x->json.len && !inbox_push(h, x->json.data, x->json.len)) {
		code = hf_err(&err, HF_ENOMEM, "out of memory");
	}
	hf_mcp_http_dispatch(h);
	if (x->id)
		h->cb.done(h->cb.payload, x->id, code, code ? &err : NULL);
	else if (code)
		hf_log(HF_LOG_WARN, "mcp: a notification to %s failed: %s", h->shown_url, err.message);
	xfer_free(x);
	return true;
}

static size_t discard(char *p, size_t size, size_t nmemb, void *payload)
{
	(void)p;
	(void)payload;
	return size * nmemb;
}

void hf_mcp_http_free(hf_mcp_http *h, long timeout_ms)
{
	if (!h)
		return;
	while (h->xfers.head) {
		xfer *x = HF_CONTAINER(h->xfers.head, xfer, link);
		hf_list_remove(&h->xfers, &x->link);
		xfer_free(x);
	}
	while (h->inbox.head) {
		inbox_msg *m = HF_CONTAINER(h->inbox.head, inbox_msg, link);
		hf_list_remove(&h->inbox, &m->link);
		free(m);
	}
	if (h->session && timeout_ms > 0) {
		struct curl_slist *hdrs = request_headers(h, false);
		CURL *e = hdrs ? easy_for(h, hdrs) : NULL;
		if (e) {
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
			curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
			curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
			curl_easy_perform(e);
			curl_easy_cleanup(e);
		}
		curl_slist_free_all(hdrs);
	}
	strv_free(h->headers);
	free(h->url);
	free(h->shown_url);
	free(h->session);
	free(h->version);
	free(h);
}

/*
 * support_mock.c - test helpers around the in-process mock (see
 * support_mock.h).
 */
#include "support_mock.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool global_done;

hf_mock *tm_start(const hf_mock_options *opts)
{
	hf_mock_options o = { 0 };
	hf_mock *m = NULL;
	hf_error err;
	int rc;
	if (opts)
		o = *opts;
	o.log_memory = true;
	if (!global_done) { /* libcurl and cJSON's allocator, once per process */
		rc = hf_global_init(&err);
		if (rc)
			fail_msg("hf_global_init: %s", err.message);
		global_done = true;
	}
	rc = hf_mock_start(&m, &o, &err);
	if (rc)
		fail_msg("hf_mock_start: %s", err.message);
	return m;
}

char *tm_base_url(hf_mock *m, const char *suffix)
{
	const char *url = hf_mock_url(m);
	size_t n = strlen(url) + strlen(suffix) + 1;
	char *s = malloc(n);
	assert_non_null(s);
	snprintf(s, n, "%s%s", url, suffix);
	return s;
}

cJSON *tm_log_entry(hf_mock *m, size_t i)
{
	char *text = hf_mock_log_get(m, i);
	cJSON *j;
	if (!text)
		fail_msg("the mock log has no entry %zu (it has %zu)", i, hf_mock_log_count(m));
	j = cJSON_Parse(text);
	if (!j)
		fail_msg("log entry %zu is not JSON: %s", i, text);
	free(text);
	return j;
}

cJSON *tm_log_body(hf_mock *m, size_t i)
{
	cJSON *e = tm_log_entry(m, i);
	cJSON *body = cJSON_DetachItemFromObjectCaseSensitive(e, "body");
	cJSON_Delete(e);
	assert_non_null(body);
	return body;
}

typedef struct sink {
	char *data;
	size_t len, cap;
} sink;

static size_t collect(char *p, size_t size, size_t n, void *user)
{
	sink *s = user;
	size_t add = size * n;
	if (s->len + add + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + add + 1)
			cap *= 2;
		s->data = realloc(s->data, cap);
		if (!s->data)
			return 0;
		s->cap = cap;
	}
	memcpy(s->data + s->len, p, add);
	s->len += add;
	s->data[s->len] = '\0';
	return add;
}

void tm_http(tm_resp *r, const char *method, const char *url, const char *body,
             const char *const *headers, long timeout_ms)
{
	CURL *e = curl_easy_init();
	struct curl_slist *list = NULL;
	sink b = { NULL, 0, 0 }, h = { NULL, 0, 0 };
	size_t i;

	assert_non_null(e);
	memset(r, 0, sizeof(*r));
	list = curl_slist_append(list, "Content-Type: application/json");
	for (i = 0; headers && headers[i]; i++)
		list = curl_slist_append(list, headers[i]);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (body)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	else if (!strcmp(method, "POST"))
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &h);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 10000L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	r->curl_code = (int)curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(e, CURLINFO_STARTTRANSFER_TIME, &r->first_byte_s);
	curl_easy_getinfo(e, CURLINFO_TOTAL_TIME, &r->total_s);
	r->body = b.data ? b.data : calloc(1, 1);
	r->len = b.len;
	r->headers = h.data ? h.data : calloc(1, 1);
	curl_slist_free_all(list);
	curl_easy_cleanup(e);
}

void tm_post(tm_resp *r, hf_mock *m, const char *path, const char *json,
             const char *const *headers)
{
	char *url = tm_base_url(m, path);
	tm_http(r, "POST", url, json, headers, 0);
	free(url);
}

void tm_get(tm_resp *r, hf_mock *m, const char *path_and_query)
{
	char *url = tm_base_url(m, path_and_query);
	tm_http(r, "GET", url, NULL, NULL, 0);
	free(url);
}

void tm_resp_dispose(tm_resp *r)
{
	free(r->body);
	free(r->headers);
	r->body = r->headers = NULL;
}

char *tm_header(const tm_resp *r, const char *name)
{
	size_t n = strlen(name);
	const char *line = r->headers;
	while (line && *line) {
		const char *end = strstr(line, "\r\n");
		size_t len = end ? (size_t)(end - line) : strlen(line);
		if (len > n && line[n] == ':' && !strncasecmp(line, name, n)) {
			const char *v = line + n + 1;
			while (*v == ' ')
				v++;
			return strndup(v, (size_t)(line + len - v));
		}
		line = end ? end + 2 : NULL;
	}
	return NULL;
}

cJSON *tm_json(const tm_resp *r)
{
	cJSON *j = cJSON_ParseWithLength(r->body, r->len);
	if (!j)
		fail_msg("the reply is not JSON: %.300s", r->body);
	return j;
}

char **tm_sse_data(const char *body, size_t len, size_t *n)
{
	char **out = calloc(len / 2 + 2, sizeof(*out));
	size_t count = 0, i = 0;
	char *data = NULL;
	size_t dlen = 0;

	assert_non_null(out);
	while (i < len) {
		const char *line = body + i, *nl = memchr(line, '\n', len - i);
		size_t llen = nl ? (size_t)(nl - line) : len - i;
		i += llen + (nl ? 1 : 0);
		if (llen && line[llen - 1] == '\r')
			llen--;
		if (llen == 0) { /* end of an event */
			if (data)
				out[count++] = data;
			data = NULL;
			dlen = 0;
			continue;
		}
		if (llen >= 5 && !strncmp(line, "data:", 5)) {
			const char *v = line + 5;
			size_t vlen = llen - 5;
			if (vlen && *v == ' ') {
				v++;
				vlen--;
			}
			data = realloc(data, dlen + vlen + 2);
			assert_non_null(data);
			if (dlen)
				data[dlen++] = '\n';
			memcpy(data + dlen, v, vlen);
			dlen += vlen;
			data[dlen] = '\0';
		}
	}
	if (data) /* an event cut off without its blank line */
		out[count++] = data;
	out[count] = NULL;
	if (n)
		*n = count;
	return out;
}

void tm_strv_free(char **v)
{
	size_t i;
	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

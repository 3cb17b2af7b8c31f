/*
 * mock_log.c - the request log: one JSON object per request (sequence
 * number, method, path, query, headers with lower-cased names and the
 * credentials redacted, parsed body, status, fault), appended to a file
 * (flushed per line) and/or kept in memory for tests. Thread-safe.
 */
#include "mock_internal.h"
#include "text.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mock_log {
	pthread_mutex_t lock;
	FILE *file;
	bool memory;
	char **entries;
	size_t len, cap;
	unsigned long seq;
};

/* Header names whose values are credentials. */
static const char *const secret_headers[] = { "authorization", "proxy-authorization",
	                                          "x-api-key", "api-key" };

int mock_log_open(mock_log **out, const char *path, bool memory, hf_error *err)
{
	mock_log *l;
	*out = NULL;
	if (!path && !memory)
		return HF_OK;
	l = hf_calloc(1, sizeof(*l));
	if (!l)
		return hf_err(err, HF_ENOMEM, "out of memory opening the mock request log");
	if (path) {
		l->file = fopen(path, "a");
		if (!l->file) {
			int e = errno;
			free(l);
			return hf_err(err, HF_EINVAL, "cannot open the request log %s: %s", path,
			              strerror(e));
		}
	}
	l->memory = memory;
	pthread_mutex_init(&l->lock, NULL);
	*out = l;
	return HF_OK;
}

void mock_log_close(mock_log *l)
{
	if (!l)
		return;
	mock_log_clear(l);
	free(l->entries);
	if (l->file)
		fclose(l->file);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

bool mock_log_on(const mock_log *l)
{
	return l != NULL;
}

/* s[0..n) as UTF-8 text (owned): each invalid byte (NUL included) becomes
 * U+FFFD, so the log stays valid JSON text whatever a client sent. */
static char *text_of(const char *s, size_t n)
{
	hf_buf b = { 0 };
	size_t bad;
	while (!hf_text_utf8_valid(s, n, &bad)) {
		if (hf_buf_append(&b, s, bad) || hf_buf_append(&b, "\xef\xbf\xbd", 3)) {
			hf_buf_dispose(&b);
			return NULL;
		}
		s += bad + 1;
		n -= bad + 1;
	}
	if (hf_buf_append(&b, s, n)) {
		hf_buf_dispose(&b);
		return NULL;
	}
	return b.data ? hf_buf_detach(&b) : hf_strdup("");
}

/* Add key: text_of(value) (or null) to o. */
static void add_text(cJSON *o, const char *key, const char *value)
{
	char *k = text_of(key, strlen(key)), *v = value ? text_of(value, strlen(value)) : NULL;
	if (k) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, k);
		if (v)
			cJSON_AddStringToObject(o, k, v);
		else
			cJSON_AddNullToObject(o, k);
	}
	free(k);
	free(v);
}

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
	cJSON *headers = cls;
	char name[128];
	size_t i;
	(void)kind;
	for (i = 0; key[i] && i + 1 < sizeof(name); i++)
		name[i] = (char)tolower((unsigned char)key[i]);
	name[i] = '\0';
	for (i = 0; i < HF_ARRAY_LEN(secret_headers); i++)
		if (!strcmp(name, secret_headers[i]))
			value = "[redacted]";
	add_text(headers, name, value ? value : "");
	return MHD_YES;
}

static enum MHD_Result add_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
	(void)kind;
	add_text(cls, key, value);
	return MHD_YES;
}

static cJSON *body_json(const char *body, size_t len)
{
	cJSON *j, *raw;
	if (!len)
		return cJSON_CreateNull();
	j = hf_text_utf8_valid(body, len, NULL) ? cJSON_ParseWithLength(body, len) : NULL;
	if (j)
		return j;
	raw = cJSON_CreateObject();
	if (raw) {
		char *text = text_of(body, len);
		cJSON_AddStringToObject(raw, "_raw", text ? text : "");
		free(text);
	}
	return raw;
}

static void store(mock_log *l, cJSON *entry, cJSON *seq)
{
	char *line;
	pthread_mutex_lock(&l->lock);
	cJSON_SetNumberValue(seq, (double)++l->seq);
	line = cJSON_PrintUnformatted(entry);
	if (line && l->file) {
		fputs(line, l->file);
		fputc('\n', l->file);
		fflush(l->file);
	}
	if (line && l->memory) {
		if (l->len == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 64;
			char **e = hf_realloc(l->entries, cap * sizeof(*e));
			if (e) {
				l->entries = e;
				l->cap = cap;
			}
		}
		if (l->len < l->cap) {
			l->entries[l->len++] = line;
			line = NULL;
		}
	}
	pthread_mutex_unlock(&l->lock);
	free(line);
}

void mock_log_request(mock_log *l, struct MHD_Connection *conn, const char *method,
                      const char *path, const char *body, size_t len, unsigned status,
                      const char *fault)
{
	cJSON *e, *seq, *headers, *query;
	if (!l)
		return;
	e = cJSON_CreateObject();
	if (!e)
		return;
	seq = cJSON_AddNumberToObject(e, "seq", 0);
	add_text(e, "method", method);
	add_text(e, "path", path);
	query = cJSON_AddObjectToObject(e, "query");
	headers = cJSON_AddObjectToObject(e, "headers");
	if (query)
		MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_query, query);
	if (headers)
		MHD_get_connection_values(conn, MHD_HEADER_KIND, add_header, headers);
	cJSON_AddItemToObject(e, "body", body_json(body, len));
	cJSON_AddNumberToObject(e, "status", status);
	if (fault)
		cJSON_AddStringToObject(e, "fault", fault);
	else
		cJSON_AddNullToObject(e, "fault");
	if (seq)
		store(l, e, seq);
	cJSON_Delete(e);
}

size_t mock_log_count(mock_log *l)
{
	size_t n;
	if (!l)
		return 0;
	pthread_mutex_lock(&l->lock);
	n = l->len;
	pthread_mutex_unlock(&l->lock);
	return n;
}

char *mock_log_get(mock_log *l, size_t i)
{
	char *s = NULL;
	if (!l)
		return NULL;
	pthread_mutex_lock(&l->lock);
	if (i < l->len)
		s = hf_strdup(l->entries[i]);
	pthread_mutex_unlock(&l->lock);
	return s;
}

void mock_log_clear(mock_log *l)
{
	size_t i;
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	for (i = 0; i < l->len; i++)
		free(l->entries[i]);
	l->len = 0;
	pthread_mutex_unlock(&l->lock);
}

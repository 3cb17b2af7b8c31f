/*
 * mock_faults.c - faults on demand: parsing "NAME[;after=A][;times=T]
 * [;ms=M][;bytes=B]" (the X-Mock-Fault header and scenario entries) and
 * the per-header-value counters that decide which requests get it.
 */
#include "mock_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	mock_fault_kind kind;
	int status;
} fault_names[] = {
	{ "401", MOCK_FAULT_STATUS, 401 },
	{ "403", MOCK_FAULT_STATUS, 403 },
	{ "404", MOCK_FAULT_STATUS, 404 },
	{ "408", MOCK_FAULT_STATUS, 408 },
	{ "409", MOCK_FAULT_STATUS, 409 },
	{ "429", MOCK_FAULT_STATUS, 429 },
	{ "500", MOCK_FAULT_STATUS, 500 },
	{ "503", MOCK_FAULT_STATUS, 503 },
	{ "drop", MOCK_FAULT_DROP, 0 },
	{ "drop-mid-stream", MOCK_FAULT_DROP_MID_STREAM, 0 },
	{ "truncated", MOCK_FAULT_TRUNCATED, 0 },
	{ "bad-utf8", MOCK_FAULT_BAD_UTF8, 0 },
	{ "stall", MOCK_FAULT_STALL, 0 },
	{ "oversize", MOCK_FAULT_OVERSIZE, 0 },
	{ "empty-id", MOCK_FAULT_EMPTY_ID, 0 },
	{ "missing-id", MOCK_FAULT_MISSING_ID, 0 },
	{ "unknown-tool", MOCK_FAULT_UNKNOWN_TOOL, 0 },
	{ "multi-handoff", MOCK_FAULT_MULTI_HANDOFF, 0 },
	{ "error-mid-stream", MOCK_FAULT_ERROR_MID_STREAM, 0 },
};

#define STALL_DEFAULT_MS 30000
#define OVERSIZE_DEFAULT_BYTES (16u << 20)
#define OVERSIZE_MAX_BYTES (1ull << 34)

/* Parse a non-negative decimal number from [p, end). */
static bool parse_count(const char *p, const char *end, unsigned long long max,
                        unsigned long long *out)
{
	unsigned long long v = 0;
	if (p == end)
		return false;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (unsigned long long)(*p - '0');
		if (v > max)
			return false;
	}
	*out = v;
	return true;
}

int mock_fault_parse(mock_fault *f, const char *spec, hf_error *err)
{
	const char *p = spec, *end;
	size_t n, i;

	memset(f, 0, sizeof(*f));
	f->times = -1;
	f->ms = -1;
	f->bytes = OVERSIZE_DEFAULT_BYTES;
	while (*p == ' ')
		p++;
	end = strchr(p, ';');
	n = end ? (size_t)(end - p) : strlen(p);
	while (n && p[n - 1] == ' ')
		n--;
	for (i = 0; i < HF_ARRAY_LEN(fault_names); i++) {
		if (strlen(fault_names[i].name) == n && !strncmp(fault_names[i].name, p, n)) {
			f->kind = fault_names[i].kind;
			f->status = fault_names[i].status;
			f->name = fault_names[i].name;
			break;
		}
	}
	if (!f->name)
		return hf_err(err, HF_EINVAL,
		              "unknown mock fault '%.*s' (known: 401 403 404 408 409 429 500 503 "
		              "drop drop-mid-stream truncated bad-utf8 stall oversize empty-id "
		              "missing-id unknown-tool multi-handoff error-mid-stream)",
		              (int)(n > 64 ? 64 : n), p);
	while (end) {
		const char *key = end + 1, *eq, *val;
		unsigned long long v;
		end = strchr(key, ';');
		while (*key == ' ')
			key++;
		eq = memchr(key, '=', end ? (size_t)(end - key) : strlen(key));
		if (!eq)
			return hf_err(err, HF_EINVAL, "mock fault parameter without '=' in '%.80s'", spec);
		val = eq + 1;
		if (!parse_count(val, end ? end : val + strlen(val), OVERSIZE_MAX_BYTES, &v))
			return hf_err(err, HF_EINVAL, "mock fault parameter %.*s needs a whole number",
			              (int)(eq - key), key);
		n = (size_t)(eq - key);
		if (n == 5 && !strncmp(key, "after", 5))
			f->after = (long)v;
		else if (n == 5 && !strncmp(key, "times", 5))
			f->times = (long)v;
		else if (n == 2 && !strncmp(key, "ms", 2))
			f->ms = (long)v;
		else if (n == 5 && !strncmp(key, "bytes", 5))
			f->bytes = v;
		else
			return hf_err(err, HF_EINVAL,
			              "unknown mock fault parameter '%.*s' (known: after times ms bytes)",
			              (int)(n > 32 ? 32 : n), key);
	}
	if (f->kind == MOCK_FAULT_STALL && f->ms < 0)
		f->ms = STALL_DEFAULT_MS;
	return HF_OK;
}

void mock_fault_status_error(int status, const char **type, const char **code,
                             const char **message)
{
	static const struct {
		int status;
		const char *type, *code, *message;
	} table[] = {
		{ 401, "invalid_request_error", "invalid_api_key",
		  "mock fault 401: incorrect API key provided" },
		{ 403, "invalid_request_error", "permission_denied",
		  "mock fault 403: this key may not use this model" },
		{ 404, "invalid_request_error", "model_not_found",
		  "mock fault 404: the model does not exist" },
		{ 408, "timeout", "request_timeout", "mock fault 408: the request timed out" },
		{ 409, "conflict", "conflict", "mock fault 409: the request conflicts with another" },
		{ 429, "requests", "rate_limit_exceeded",
		  "mock fault 429: rate limit reached, retry later" },
		{ 500, "server_error", "internal_error",
		  "mock fault 500: the server had an error processing the request" },
		{ 503, "server_error", "service_unavailable",
		  "mock fault 503: the server is overloaded, retry later" },
	};
	size_t i;
	for (i = 0; i < HF_ARRAY_LEN(table); i++) {
		if (table[i].status == status) {
			*type = table[i].type;
			*code = table[i].code;
			*message = table[i].message;
			return;
		}
	}
	*type = "server_error";
	*code = "error";
	*message = "mock fault";
}

/* ---- counters ---- */

typedef struct counter {
	struct counter *next;
	unsigned long seen;
	char spec[];
} counter;

struct mock_fault_counters {
	pthread_mutex_t lock;
	counter *list;
};

mock_fault_counters *mock_fault_counters_new(void)
{
	mock_fault_counters *fc = hf_calloc(1, sizeof(*fc));
	if (fc)
		pthread_mutex_init(&fc->lock, NULL);
	return fc;
}

void mock_fault_counters_reset(mock_fault_counters *fc)
{
	counter *c, *next;
	pthread_mutex_lock(&fc->lock);
	for (c = fc->list; c; c = next) {
		next = c->next;
		free(c);
	}
	fc->list = NULL;
	pthread_mutex_unlock(&fc->lock);
}

void mock_fault_counters_free(mock_fault_counters *fc)
{
	if (!fc)
		return;
	mock_fault_counters_reset(fc);
	pthread_mutex_destroy(&fc->lock);
	free(fc);
}

bool mock_fault_counters_hit(mock_fault_counters *fc, const char *spec, const mock_fault *f)
{
	counter *c;
	unsigned long n;
	bool hit;

	pthread_mutex_lock(&fc->lock);
	for (c = fc->list; c; c = c->next)
		if (!strcmp(c->spec, spec))
			break;
	if (!c) {
		size_t len = strlen(spec);
		c = hf_malloc(sizeof(*c) + len + 1);
		if (!c) { /* cannot count: fault every request */
			pthread_mutex_unlock(&fc->lock);
			return true;
		}
		c->seen = 0;
		memcpy(c->spec, spec, len + 1);
		c->next = fc->list;
		fc->list = c;
	}
	n = c->seen++;
	pthread_mutex_unlock(&fc->lock);
	hit = n >= (unsigned long)f->after;
	if (hit && f->times >= 0)
		hit = n < (unsigned long)f->after + (unsigned long)f->times;
	return hit;
}

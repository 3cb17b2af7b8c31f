/*
 * error.c - error codes, messages, exit statuses and the allocation wrappers.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local hf_error last_error;

const hf_error *hf_error_last(void)
{
	return &last_error;
}

int hf_errv(hf_error *err, int code, const char *fmt, va_list ap)
{
	last_error.code = code;
	last_error.http_status = 0;
	vsnprintf(last_error.message, sizeof(last_error.message), fmt, ap);
	if (err && err != &last_error)
		*err = last_error;
	return code;
}

int hf_err(hf_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	hf_errv(err, code, fmt, ap);
	va_end(ap);
	return code;
}

void hf_err_prefix(hf_error *err, const char *fmt, ...)
{
	char prefix[256], old[HF_ERROR_MESSAGE_MAX];
	size_t n, keep;
	va_list ap;
	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->message, sizeof(old));
	n = strlen(prefix);
	if (n > sizeof(err->message) - 3)
		n = sizeof(err->message) - 3;
	memcpy(err->message, prefix, n);
	memcpy(err->message + n, ": ", 2);
	n += 2;
	keep = strnlen(old, sizeof(err->message) - 1 - n);
	memcpy(err->message + n, old, keep);
	err->message[n + keep] = '\0';
	if (err != &last_error)
		last_error = *err;
}

void hf_err_clear(hf_error *err)
{
	if (err) {
		err->code = HF_OK;
		err->http_status = 0;
		err->message[0] = '\0';
	}
}

const char *hf_code_name(int code)
{
	switch (code) {
	case HF_OK: return "ok";
	case HF_EINVAL: return "invalid";
	case HF_ECONFIG: return "config";
	case HF_EAUTH: return "auth";
	case HF_ENET: return "network";
	case HF_EHTTP: return "http";
	case HF_EPROTOCOL: return "protocol";
	case HF_EMAXTURNS: return "max_turns";
	case HF_ELOOP: return "handoff_loop";
	case HF_ETOOL: return "unknown_tool";
	case HF_ESTORE: return "store";
	case HF_ENOTFOUND: return "not_found";
	case HF_ECANCELLED: return "cancelled";
	case HF_ENOMEM: return "out_of_memory";
	case HF_ELIMIT: return "limit";
	case HF_ECONFLICT: return "conflict";
	case HF_EREFUSAL: return "refusal";
	case HF_ETOOLFAIL: return "tool_failed";
	default: return "unknown";
	}
}

int hf_exit_status(int code)
{
	switch (code) {
	case HF_OK: return 0;
	case HF_EINVAL: return 2;
	case HF_ECONFIG: return 3;
	case HF_EAUTH: return 4;
	case HF_ENET:
	case HF_EHTTP:
	case HF_EPROTOCOL: return 5;
	case HF_EMAXTURNS:
	case HF_ELOOP:
	case HF_ETOOL: return 6;
	case HF_ECANCELLED: return 130;
	default: return 1;
	}
}

const char *hf_version(void)
{
	return HF_VERSION_STRING;
}

void hf_free(void *p)
{
	free(p);
}

/* ---- allocation wrappers with failure injection ---- */

static unsigned long failalloc_at;    /* 0 = never fail */
static unsigned long failalloc_seen;

void hf_failalloc_set(unsigned long n)
{
	failalloc_at = n;
	failalloc_seen = 0;
}

unsigned long hf_failalloc_count(void)
{
	return failalloc_seen;
}

bool hf_failalloc_enabled(void)
{
#ifdef HF_FAILALLOC
	return true;
#else
	return false;
#endif
}

static bool should_fail(void)
{
#ifdef HF_FAILALLOC
	failalloc_seen++;
	return failalloc_at && failalloc_seen == failalloc_at;
#else
	return false;
#endif
}

void *hf_malloc(size_t n)
{
	return should_fail() ? NULL : malloc(n ? n : 1);
}

void *hf_calloc(size_t n, size_t size)
{
	return should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1);
}

void *hf_realloc(void *p, size_t n)
{
	return should_fail() ? NULL : realloc(p, n ? n : 1);
}

char *hf_strndup(const char *s, size_t n)
{
	char *d;
	if (!s)
		return NULL;
	d = hf_malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

char *hf_strdup(const char *s)
{
	return s ? hf_strndup(s, strlen(s)) : NULL;
}

char *hf_asprintf(const char *fmt, ...)
{
	va_list ap, ap2;
	int n;
	char *s;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		va_end(ap2);
		return NULL;
	}
	s = hf_malloc((size_t)n + 1);
	if (s)
		vsnprintf(s, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	return s;
}

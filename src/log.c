/*
 * log.c - the library log: messages go to the application's callback only.
 */
#include "internal.h"

#include <stdio.h>

static hf_log_fn log_fn;
static hf_log_level log_level = HF_LOG_ERROR;
static void *log_payload;

void hf_log_set(hf_log_fn fn, hf_log_level level, void *payload)
{
	log_fn = fn;
	log_level = level;
	log_payload = payload;
}

bool hf_log_enabled(hf_log_level level)
{
	return log_fn && level <= log_level;
}

void hf_log(hf_log_level level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	if (!hf_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_fn(level, msg, log_payload);
}

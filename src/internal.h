/*
 * internal.h - helpers shared by every module of libhandoff: error filling,
 * owned-string helpers, logging. Not installed.
 */
#ifndef HF_INTERNAL_H
#define HF_INTERNAL_H

#include "handoff.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#if defined(__GNUC__)
#define HF_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define HF_PRINTF(f, a)
#endif

#define HF_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Add u's requests and tokens to *to. */
static inline void hf_usage_add(hf_usage *to, const hf_usage *u)
{
	to->requests += u->requests;
	to->input_tokens += u->input_tokens;
	to->output_tokens += u->output_tokens;
	to->total_tokens += u->total_tokens;
}

/* Milliseconds on the monotonic clock (for deadlines and back-off). */
static inline long long hf_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Fill err (when not NULL) with code and a printf-style message; returns
 * code so callers can write `return hf_err(err, HF_EINVAL, "...")`. */
int hf_err(hf_error *err, int code, const char *fmt, ...) HF_PRINTF(3, 4);
int hf_errv(hf_error *err, int code, const char *fmt, va_list ap);
/* Prefix an already filled error's message with "prefix: ". */
void hf_err_prefix(hf_error *err, const char *fmt, ...) HF_PRINTF(2, 3);
void hf_err_clear(hf_error *err);

/* Allocation wrappers: all allocation in libhandoff goes through these so
 * the allocation-failure sweep (HF_FAILALLOC builds) can fail the N-th one. */
void *hf_malloc(size_t n);
void *hf_calloc(size_t n, size_t size);
void *hf_realloc(void *p, size_t n);
char *hf_strdup(const char *s);          /* NULL in, NULL out */
char *hf_strndup(const char *s, size_t n);
char *hf_asprintf(const char *fmt, ...) HF_PRINTF(1, 2);

/* Allocation-failure injection (tests only): after hf_failalloc_set(n) the
 * n-th following allocation fails (0 = never). Returns allocations so far. */
void hf_failalloc_set(unsigned long n);
unsigned long hf_failalloc_count(void);
/* True when failure injection is compiled in (-DHANDOFF_FAILALLOC=ON). */
bool hf_failalloc_enabled(void);

/* Library log; formats only when a log function is set for that level. */
void hf_log(hf_log_level level, const char *fmt, ...) HF_PRINTF(2, 3);
bool hf_log_enabled(hf_log_level level);

/* Growable byte buffer; data is always NUL-terminated when cap > 0. */
typedef struct hf_buf {
	char *data;
	size_t len;
	size_t cap;
} hf_buf;

#define HF_BUF_INIT { NULL, 0, 0 }

int hf_buf_grow(hf_buf *b, size_t extra);            /* HF_ENOMEM */
int hf_buf_append(hf_buf *b, const void *p, size_t n);
int hf_buf_puts(hf_buf *b, const char *s);
int hf_buf_printf(hf_buf *b, const char *fmt, ...) HF_PRINTF(2, 3);
void hf_buf_reset(hf_buf *b);                        /* len = 0, keeps memory */
void hf_buf_dispose(hf_buf *b);                      /* frees memory */
char *hf_buf_detach(hf_buf *b);                      /* owned string, buffer emptied */

#endif

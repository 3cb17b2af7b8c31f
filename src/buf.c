/*
 * buf.c - a growable, NUL-terminated byte buffer.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hf_buf_grow(hf_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1, cap;
	char *p;
	if (need < b->len)
		return HF_ENOMEM;
	if (need <= b->cap)
		return HF_OK;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap * 2 > cap ? cap * 2 : need;
	p = hf_realloc(b->data, cap);
	if (!p)
		return HF_ENOMEM;
	b->data = p;
	b->cap = cap;
	return HF_OK;
}

int hf_buf_append(hf_buf *b, const void *p, size_t n)
{
	if (hf_buf_grow(b, n))
		return HF_ENOMEM;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return HF_OK;
}

int hf_buf_puts(hf_buf *b, const char *s)
{
	return hf_buf_append(b, s, strlen(s));
}

int hf_buf_printf(hf_buf *b, const char *fmt, ...)
{
	va_list ap, ap2;
	int n;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || hf_buf_grow(b, (size_t)n)) {
		va_end(ap2);
		return HF_ENOMEM;
	}
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	b->len += (size_t)n;
	return HF_OK;
}

void hf_buf_reset(hf_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void hf_buf_dispose(hf_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *hf_buf_detach(hf_buf *b)
{
	char *s = b->data;
	if (!s)
		s = hf_strdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}

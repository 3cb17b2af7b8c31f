/*
 * redact.c - keeping secrets out of text (see redact.h).
 */
#include "redact.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void hf_redact(char *s, size_t cap, const char *secret)
{
	size_t klen, rlen = strlen(HF_REDACTED), out = 0;
	const char *p, *hit;
	char *tmp;

	if (!s || !cap || !secret || !*secret || !strstr(s, secret))
		return;
	klen = strlen(secret);
	tmp = hf_malloc(cap);
	if (!tmp) {
		/* No memory for the copy: blank the text rather than keep the key. */
		s[0] = '\0';
		return;
	}
	for (p = s; (hit = strstr(p, secret)) != NULL; p = hit + klen) {
		size_t n = (size_t)(hit - p);
		if (out + n + rlen >= cap)
			break;
		memcpy(tmp + out, p, n);
		memcpy(tmp + out + n, HF_REDACTED, rlen);
		out += n + rlen;
	}
	if (!hit) {
		size_t n = strlen(p);
		if (out + n >= cap)
			n = cap - 1 - out;
		memcpy(tmp + out, p, n);
		out += n;
	}
	tmp[out] = '\0';
	memcpy(s, tmp, out + 1);
	free(tmp);
}

bool hf_redact_header(const char *line, size_t len)
{
	static const char *const names[] = { "authorization:", "proxy-authorization:",
		                             "x-api-key:" };
	size_t i;
	for (i = 0; i < HF_ARRAY_LEN(names); i++) {
		size_t n = strlen(names[i]);
		if (len >= n && strncasecmp(line, names[i], n) == 0)
			return true;
	}
	return false;
}

/*
 * redact.c - keeping secrets out of text (see redact.h).
 */
#include "redact.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A cut copy of the key (a message truncated to its buffer, a trace split
 * between two reads) is a secret too: any run of at least this many of its
 * characters is replaced (the whole key when it is shorter). */
#define FRAGMENT_MIN 8

/* Length of the longest run at s that also occurs in secret (klen bytes). */
static size_t fragment(const char *s, const char *secret, size_t klen)
{
	size_t best = 0, j, n;
	for (j = 0; j < klen; j++) {
		for (n = 0; s[n] && j + n < klen && s[n] == secret[j + n]; n++)
			;
		if (n > best)
			best = n;
	}
	return best;
}

void hf_redact(char *s, size_t cap, const char *secret)
{
	size_t klen, min, rlen = strlen(HF_REDACTED), out, i, n;
	char *tmp;

	if (!s || !cap || !secret || !*secret)
		return;
	klen = strlen(secret);
	min = klen < FRAGMENT_MIN ? klen : FRAGMENT_MIN;
	for (i = 0; s[i] && fragment(s + i, secret, klen) < min; i++)
		;
	if (!s[i])
		return;
	tmp = hf_malloc(cap);
	if (!tmp) {
		/* No memory for the copy: blank the text rather than keep the key. */
		s[0] = '\0';
		return;
	}
	memcpy(tmp, s, i);
	out = i;
	while (s[i]) {
		n = fragment(s + i, secret, klen);
		if (n >= min) {
			if (out + rlen >= cap)
				break;
			memcpy(tmp + out, HF_REDACTED, rlen);
			out += rlen;
			i += n;
		} else {
			if (out + 1 >= cap)
				break;
			tmp[out++] = s[i++];
		}
	}
	tmp[out] = '\0';
	memcpy(s, tmp, out + 1);
	free(tmp);
}

bool hf_redact_header(const char *line, size_t len)
{
	static const char *const names[] = { "authorization:", "proxy-authorization:",
		                             "x-api-key:", "api-key:", "cookie:", "set-cookie:" };
	size_t i;
	for (i = 0; i < HF_ARRAY_LEN(names); i++) {
		size_t n = strlen(names[i]);
		if (len >= n && strncasecmp(line, names[i], n) == 0)
			return true;
	}
	return false;
}

char *hf_redact_url(const char *url)
{
	static const CURLUPart secret[] = { CURLUPART_USER, CURLUPART_PASSWORD,
		                            CURLUPART_OPTIONS };
	CURLU *u = curl_url();
	char *part = NULL, *shown = NULL, *out;
	bool has = false;
	size_t i;
	if (!u)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
		curl_url_cleanup(u);
		return hf_strdup(strchr(url, '@') ? "(a URL that cannot be parsed; it has an '@')"
		                                  : url);
	}
	for (i = 0; i < HF_ARRAY_LEN(secret); i++) {
		if (curl_url_get(u, secret[i], &part, 0) == CURLUE_OK) {
			has = true;
			curl_url_set(u, secret[i], NULL, 0);
		}
		curl_free(part);
		part = NULL;
	}
	if (!has) { /* shown exactly as given */
		curl_url_cleanup(u);
		return hf_strdup(url);
	}
	if (curl_url_get(u, CURLUPART_URL, &shown, 0) != CURLUE_OK) {
		curl_url_cleanup(u);
		return NULL;
	}
	out = hf_strdup(shown);
	curl_free(shown);
	curl_url_cleanup(u);
	return out;
}

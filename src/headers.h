/*
 * headers.h - request header lines (headers.c).
 */
#ifndef HF_HEADERS_H
#define HF_HEADERS_H

#include "internal.h"

#include <curl/curl.h>

/* True when s holds no control character, so it can go into a header line. */
bool hf_headers_safe(const char *s);
/* The request headers of a call: the key (NULL: none) as `auth` says
 * (HF_AUTH_* bits), Accept for `stream`, the provider unless NULL or
 * empty, the extra "Name: value" lines (NULL-terminated; may be NULL); for
 * `post` also Content-Type and an empty Expect. *out is freed with
 * hf_headers_free, which wipes the key. HF_EINVAL for a provider with a
 * control character, HF_ELIMIT for a header over 4 KiB, HF_ENOMEM. */
int hf_headers_build(struct curl_slist **out, const char *key, int auth,
                     char *const *extra, bool post, bool stream, const char *provider,
                     hf_error *err);
void hf_headers_free(struct curl_slist *h);

#endif

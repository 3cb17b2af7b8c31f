/*
 * redact.h - keeping secrets out of text: scrubbing a key from messages and
 * masking credential headers in wire traces.
 */
#ifndef HF_REDACT_H
#define HF_REDACT_H

#include "internal.h"

/* What replaces a secret. */
#define HF_REDACTED "[redacted]"

/* Replace every occurrence of `secret` in the NUL-terminated text s (a
 * buffer of cap bytes) with HF_REDACTED, truncating at cap; a cut copy too
 * (any run of 8 or more characters of the secret). No-op when secret is
 * NULL or empty. */
void hf_redact(char *s, size_t cap, const char *secret);

/* True when the header line line[0..len) carries a credential
 * (Authorization, Proxy-Authorization, x-api-key, api-key, Cookie,
 * Set-Cookie), whose value a trace must replace with HF_REDACTED. (Traces
 * also mask every header the caller added.) */
bool hf_redact_header(const char *line, size_t len);

/* url as it may be shown (messages, logs): without its userinfo (user,
 * password, login options), parsed by libcurl. Owned copy; NULL only when
 * out of memory. A URL that libcurl cannot parse is shown as it is unless
 * it holds an '@' (it might hold a password); then not at all. */
char *hf_redact_url(const char *url);

#endif

/*
 * text.h - UTF-8 checks, NFC normalisation, safe truncation and display
 * width, all with utf8proc.
 */
#ifndef HF_TEXT_H
#define HF_TEXT_H

#include "internal.h"

#include <stdint.h>

/* True when s[0..len) is valid UTF-8 (no NUL bytes inside). When not, and
 * bad_offset is not NULL, it receives the offset of the first bad byte. */
bool hf_text_utf8_valid(const char *s, size_t len, size_t *bad_offset);

/* Length of the longest prefix of s[0..len) that ends on a character
 * boundary and is at most max bytes (for cutting streams and truncating). */
size_t hf_text_utf8_cut(const char *s, size_t len, size_t max);

/* Bytes at the end of s[0..len) that start an incomplete UTF-8 sequence
 * (0..3): a streaming writer holds them back until the next chunk. */
size_t hf_text_utf8_incomplete_tail(const char *s, size_t len);

/* Check user input (UTF-8, at most max bytes) and return its NFC form in
 * *out (owned). HF_EINVAL names the byte offset of invalid UTF-8;
 * HF_ELIMIT gives the size and the limit. */
int hf_text_normalize_input(char **out, const char *s, size_t len, size_t max,
                            hf_error *err);

/* True for a character a terminal may act on instead of showing it: the
 * controls (Unicode category Cc: C0, DEL, C1) and the bidi embeddings,
 * overrides and isolates (U+202A..U+202E, U+2066..U+2069). */
bool hf_text_is_control(int32_t cp);

/* The offset of the first such character in s[0..len) (*cp gets it), or
 * len when there is none. Bytes that are not UTF-8 are skipped. */
size_t hf_text_control_at(const char *s, size_t len, int32_t *cp);

/* Untrusted text for a terminal, in dst (cap bytes, NUL-terminated, cut on
 * a character boundary): every control character becomes a space. Returns
 * the bytes written. */
size_t hf_text_scrub(char *dst, size_t cap, const char *src, size_t len);

/* hf_text_escape (public, handoff.h) is in text.c. */


/* A JSON text s[0..len) (valid UTF-8) with \uD800-\uDFFF escapes that are
 * not halves of an escaped pair, which cJSON refuses: returns how many
 * (-1 out of memory) and, when first is not NULL and there is one, the
 * first's code unit. When out is not NULL and there are some, *out (owned,
 * NUL-terminated, *out_len bytes) is s with each such escape replaced by
 * the three bytes of its generalized UTF-8 form (ED A0-BF 80-BF), which
 * cJSON copies into the decoded string and hf_text_surrogate_at finds there;
 * otherwise *out is NULL. Escaped backslashes are skipped as cJSON does. */
long hf_text_json_mark_surrogates(char **out, size_t *out_len, unsigned *first, const char *s,
                             size_t len);
/* The UTF-16 code unit (0xD800-0xDFFF) of a surrogate in generalized UTF-8
 * at s[0..3), as hf_text_json_mark_surrogates writes it; 0 when there is none. */
unsigned hf_text_surrogate_at(const char *s, size_t len);

#endif

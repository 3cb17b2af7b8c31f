/*
 * text.c - UTF-8 checks, NFC normalisation, safe truncation and display
 * width. Decoding, normalisation and widths are utf8proc's; this file only
 * adds the byte-level rules handoff needs on top (no NUL inside, where to
 * cut a stream, how to word an error).
 */
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

bool hf_text_utf8_valid(const char *s, size_t len, size_t *bad_offset)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	size_t i = 0;
	while (i < len) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t n;
		if (p[i] >= 0x01 && p[i] < 0x80) { /* ASCII fast path */
			i++;
			continue;
		}
		/* utf8proc_iterate rejects overlong forms, surrogates and
		 * code points above U+10FFFF; NUL is ours to refuse. */
		n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
		if (n <= 0 || cp == 0) {
			if (bad_offset)
				*bad_offset = i;
			return false;
		}
		i += (size_t)n;
	}
	return true;
}

/* Length of the UTF-8 sequence a lead byte starts; 0 for a continuation or
 * a byte that never starts one. */
static size_t seq_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

static bool is_cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

size_t hf_text_utf8_cut(const char *s, size_t len, size_t max)
{
	size_t n, back;
	if (len <= max)
		return len;
	n = max;
	/* Step back over at most 3 continuation bytes to the lead byte of the
	 * character the cut would split. */
	for (back = 0; back < 3 && n > 0 && is_cont((unsigned char)s[n]); back++)
		n--;
	return is_cont((unsigned char)s[n]) ? max : n;
}

size_t hf_text_utf8_incomplete_tail(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;
	for (i = 1; i <= 3 && i <= len; i++) {
		unsigned char c = p[len - i];
		size_t need;
		if (is_cont(c))
			continue;
		need = seq_len(c);
		if (need <= i)
			return 0;
		/* A started sequence is held back only when what is there can
		 * still become a valid character (the second byte of E0, ED,
		 * F0 and F4 sequences has a narrower range). */
		if (i >= 2) {
			unsigned char c2 = p[len - i + 1];
			if ((c == 0xe0 && c2 < 0xa0) || (c == 0xed && c2 > 0x9f) ||
			    (c == 0xf0 && c2 < 0x90) || (c == 0xf4 && c2 > 0x8f))
				return 0;
		}
		return i;
	}
	return 0;
}

/* True when every character of valid UTF-8 s is below U+0300, where the
 * combining diacritical marks begin: such text is its own NFC (the NFC
 * quick-check property is "yes" for all of it). U+0300 is 0xCC 0x80, so
 * a lead byte below 0xCC means a code point below U+0300. */
static bool below_combining_marks(const char *s, size_t len)
{
	size_t i;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0xCC)
			return false;
	return true;
}

int hf_text_normalize_input(char **out, const char *s, size_t len, size_t max,
                            hf_error *err)
{
	utf8proc_uint8_t *nfc = NULL;
	utf8proc_ssize_t n;
	size_t bad;
	*out = NULL;
	if (len > max)
		return hf_err(err, HF_ELIMIT, "input is %zu bytes; the limit is %zu", len, max);
	if (!hf_text_utf8_valid(s, len, &bad)) {
		if (s[bad] == '\0')
			return hf_err(err, HF_EINVAL, "input contains a NUL byte (byte %zu)", bad);
		return hf_err(err, HF_EINVAL, "input is not valid UTF-8 (byte %zu)", bad);
	}
	if (below_combining_marks(s, len)) {
		/* Already NFC: nothing below U+0300 decomposes or combines. */
		if (!(*out = hf_strndup(s, len)))
			return hf_err(err, HF_ENOMEM, "out of memory normalising input");
		return HF_OK;
	}
	n = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &nfc,
	                 UTF8PROC_STABLE | UTF8PROC_COMPOSE);
	if (n < 0) {
		free(nfc);
		if (n == UTF8PROC_ERROR_NOMEM)
			return hf_err(err, HF_ENOMEM, "out of memory normalising input");
		return hf_err(err, HF_EINVAL, "input could not be normalised: %s",
		              utf8proc_errmsg(n));
	}
	/* Copy into an hf_malloc block so the caller frees one kind of memory
	 * and allocation-failure tests reach this path. */
	*out = hf_strndup((const char *)nfc, (size_t)n);
	free(nfc);
	if (!*out)
		return hf_err(err, HF_ENOMEM, "out of memory normalising input");
	return HF_OK;
}

size_t hf_text_width(const char *s)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	size_t width = 0;
	while (*p) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t n = utf8proc_iterate(p, -1, &cp);
		if (n <= 0) { /* a stray byte: the terminal shows one replacement */
			width++;
			p++;
			continue;
		}
		width += (size_t)utf8proc_charwidth(cp);
		p += n;
	}
	return width;
}

bool hf_text_is_control(int32_t cp)
{
	return utf8proc_category(cp) == UTF8PROC_CATEGORY_CC || (cp >= 0x202A && cp <= 0x202E) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

/* The character at s[i] (len - i bytes left) in *cp; its length, or -1 for
 * a byte that is not UTF-8. */
static utf8proc_ssize_t char_at(const char *s, size_t len, size_t i, utf8proc_int32_t *cp)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s + i;
	if (*p < 0x80) {
		*cp = *p;
		return 1;
	}
	return utf8proc_iterate(p, (utf8proc_ssize_t)(len - i), cp);
}

size_t hf_text_control_at(const char *s, size_t len, int32_t *cp)
{
	size_t i = 0;
	while (i < len) {
		utf8proc_int32_t c;
		utf8proc_ssize_t n;
		if ((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f) { /* ASCII text */
			i++;
			continue;
		}
		n = char_at(s, len, i, &c);
		if (n > 0 && hf_text_is_control(c)) {
			if (cp)
				*cp = c;
			return i;
		}
		i += n > 0 ? (size_t)n : 1;
	}
	return len;
}

size_t hf_text_scrub(char *dst, size_t cap, const char *src, size_t len)
{
	size_t n, i = 0;
	if (!cap)
		return 0;
	n = hf_text_utf8_cut(src, len, cap - 1);
	while (i < n) {
		utf8proc_int32_t c;
		utf8proc_ssize_t k;
		if ((unsigned char)src[i] >= 0x20 && (unsigned char)src[i] < 0x7f) { /* ASCII text */
			dst[i] = src[i];
			i++;
			continue;
		}
		k = char_at(src, n, i, &c);
		if (k > 0 && hf_text_is_control(c)) {
			memset(dst + i, ' ', (size_t)k); /* as many bytes: the cut stays valid */
			i += (size_t)k;
		} else {
			dst[i] = src[i];
			i++;
		}
	}
	dst[n] = '\0';
	return n;
}

int hf_text_escape(char **out_, const char *s, const char *keep, hf_error *err)
{
	size_t len, i = 0, o = 0;
	char *out;
	if (!out_ || !s)
		return hf_err(err, HF_EINVAL, "hf_text_escape: out and text are required");
	len = strlen(s);
	*out_ = NULL;
	out = hf_malloc(len * 6 + 1); /* at most \uHHHH (6) for a 2-byte or longer one */
	if (!keep)
		keep = "";
	if (!out)
		return hf_err(err, HF_ENOMEM, "out of memory escaping %zu bytes of text", len);
	while (i < len) {
		utf8proc_int32_t c;
		utf8proc_ssize_t k = char_at(s, len, i, &c);
		if (k <= 0) {
			o += (size_t)sprintf(out + o, "\\x%02X", (unsigned char)s[i]);
			i++;
		} else if (hf_text_is_control(c) && !(c < 0x80 && c && strchr(keep, (int)c))) {
			o += (size_t)sprintf(out + o, c < 0x100 ? "\\x%02X" : "\\u%04X", (unsigned)c);
			i += (size_t)k;
		} else {
			memcpy(out + o, s + i, (size_t)k);
			o += (size_t)k;
			i += (size_t)k;
		}
	}
	out[o] = '\0';
	*out_ = out;
	return HF_OK;
}

/* ---- UTF-16 surrogates escaped in JSON ---- */

static int hex4(const char *s)
{
	int v = 0, i;
	for (i = 0; i < 4; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
		      : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

long hf_text_json_mark_surrogates(char **out, size_t *out_len, unsigned *first, const char *s,
                             size_t len)
{
	char *o = out ? hf_malloc(len + 1) : NULL;
	size_t i = 0, w = 0;
	long lone = 0;
	if (out && !o)
		return -1;
	while (i < len) {
		size_t n = 1;
		int u = -1, v = -1;
		if (s[i] == '\\') {
			n = i + 1 < len ? 2 : 1;
			if (n == 2 && s[i + 1] == 'u' && i + 6 <= len && (u = hex4(s + i + 2)) >= 0)
				n = 6;
			if (u >= 0xd800 && u <= 0xdbff && i + 12 <= len && s[i + 6] == '\\' &&
			    s[i + 7] == 'u' && (v = hex4(s + i + 8)) >= 0xdc00 && v <= 0xdfff)
				n = 12; /* a whole pair: cJSON decodes it */
			else if (u >= 0xd800 && u <= 0xdfff) {
				if (!lone++ && first)
					*first = (unsigned)u;
				if (o) {
					o[w++] = (char)0xed;
					o[w++] = (char)(0x80 | ((u >> 6) & 0x3f));
					o[w++] = (char)(0x80 | (u & 0x3f));
				}
				i += 6;
				continue;
			}
		}
		if (o)
			memcpy(o + w, s + i, n);
		w += n;
		i += n;
	}
	if (o) {
		o[w] = '\0';
		if (lone) {
			*out = o;
			*out_len = w;
		} else {
			free(o);
			*out = NULL;
			*out_len = 0;
		}
	}
	return lone;
}

unsigned hf_text_surrogate_at(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	if (len < 3 || p[0] != 0xed || p[1] < 0xa0 || !is_cont(p[2]))
		return 0;
	return 0xd000u | ((p[1] & 0x3fu) << 6) | (p[2] & 0x3fu);
}

/*
 * test_text.c - UTF-8 validation, cutting, held-back tails, NFC input
 * normalisation and display width (src/text.c).
 */
#include "support.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>

static void test_valid_table(void **state)
{
	static const struct {
		const char *s;
		size_t len;
		bool ok;
		size_t bad;
	} cases[] = {
		{ "", 0, true, 0 },
		{ "hello", 5, true, 0 },
		{ "caf\xc3\xa9", 5, true, 0 },                 /* é */
		{ "\xe4\xb8\xad\xe6\x96\x87", 6, true, 0 },    /* 中文 */
		{ "\xf0\x9f\x98\x80", 4, true, 0 },            /* U+1F600 */
		{ "\xf4\x8f\xbf\xbf", 4, true, 0 },            /* U+10FFFF */
		{ "\xef\xbf\xbf", 3, true, 0 },                /* U+FFFF */
		{ "ab\xc0\xaf", 4, false, 2 },                 /* overlong '/' */
		{ "\xe0\x80\xaf", 3, false, 0 },               /* overlong, 3 bytes */
		{ "\xf0\x80\x80\xaf", 4, false, 0 },           /* overlong, 4 bytes */
		{ "x\xed\xa0\x80", 4, false, 1 },              /* surrogate U+D800 */
		{ "\xed\xbf\xbf", 3, false, 0 },               /* surrogate U+DFFF */
		{ "\xf4\x90\x80\x80", 4, false, 0 },           /* U+110000 */
		{ "\xf5\x80\x80\x80", 4, false, 0 },           /* never a lead byte */
		{ "abc\x80", 4, false, 3 },                    /* stray continuation */
		{ "abc\xc3", 4, false, 3 },                    /* truncated */
		{ "a\0b", 3, false, 1 },                       /* NUL inside */
		{ "\xff", 1, false, 0 },
	};
	size_t i;
	(void)state;
	for (i = 0; i < HF_ARRAY_LEN(cases); i++) {
		size_t bad = 999;
		bool ok = hf_text_utf8_valid(cases[i].s, cases[i].len, &bad);
		if (ok != cases[i].ok)
			fail_msg("case %zu: expected %s", i, cases[i].ok ? "valid" : "invalid");
		if (!ok)
			assert_int_equal(bad, cases[i].bad);
	}
	assert_true(hf_text_utf8_valid("a\xc3", 1, NULL)); /* only len bytes are looked at */
}

static void test_cut(void **state)
{
	const char *s = "a\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80"; /* a é 中 😀 = 1+2+3+4 */
	size_t len = strlen(s);
	static const size_t expect[] = { 0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 10 };
	size_t max;
	(void)state;
	for (max = 0; max <= len + 1; max++)
		assert_int_equal(hf_text_utf8_cut(s, len, max), expect[max]);
}

static void test_incomplete_tail(void **state)
{
	static const struct {
		const char *s;
		size_t tail;
	} cases[] = {
		{ "", 0 },
		{ "abc", 0 },
		{ "ab\xc3", 1 },
		{ "ab\xc3\xa9", 0 },
		{ "\xe4", 1 },
		{ "\xe4\xb8", 2 },
		{ "\xe4\xb8\xad", 0 },
		{ "x\xf0", 1 },
		{ "x\xf0\x9f", 2 },
		{ "x\xf0\x9f\x98", 3 },
		{ "x\xf0\x9f\x98\x80", 0 },
		{ "\xe0\x80", 0 },  /* can never become valid: not held back */
		{ "\xed\xa0", 0 },  /* would be a surrogate */
		{ "\xf4\x90", 0 },  /* would be above U+10FFFF */
		{ "\xf0\x80", 0 },  /* overlong */
		{ "ab\x80", 0 },    /* a stray continuation is invalid, not incomplete */
		{ "\xc0", 0 },
	};
	size_t i;
	(void)state;
	for (i = 0; i < HF_ARRAY_LEN(cases); i++)
		if (hf_text_utf8_incomplete_tail(cases[i].s, strlen(cases[i].s)) != cases[i].tail)
			fail_msg("case %zu (%s)", i, cases[i].s);
}

static void test_normalize_nfc(void **state)
{
	char *out = NULL;
	hf_error err;
	(void)state;
	/* e + COMBINING ACUTE -> é (U+00E9) */
	assert_int_equal(hf_text_normalize_input(&out, "caf" "e\xcc\x81", 6, 64, &err), HF_OK);
	assert_string_equal(out, "caf\xc3\xa9");
	free(out);
	/* Hangul jamo compose to one syllable: U+1100 U+1161 -> U+AC00 */
	assert_int_equal(hf_text_normalize_input(&out, "\xe1\x84\x80\xe1\x85\xa1", 6, 64, &err),
	                 HF_OK);
	assert_string_equal(out, "\xea\xb0\x80");
	free(out);
	/* already NFC, and only len bytes are used */
	assert_int_equal(hf_text_normalize_input(&out, "Hola, \xc2\xbf" "c\xc3\xb3mo?XYZ", 14, 64, &err),
	                 HF_OK);
	assert_string_equal(out, "Hola, \xc2\xbf" "c\xc3\xb3mo?");
	free(out);
	assert_int_equal(hf_text_normalize_input(&out, "", 0, 64, &err), HF_OK);
	assert_string_equal(out, "");
	free(out);
}

static void test_normalize_errors(void **state)
{
	char *out = (char *)"sentinel", *big;
	hf_error err;
	(void)state;
	assert_int_equal(hf_text_normalize_input(&out, "0123456789abcdefg\xff", 18, 64, &err),
	                 HF_EINVAL);
	assert_null(out);
	assert_string_equal(err.message, "input is not valid UTF-8 (byte 17)");
	assert_int_equal(hf_text_normalize_input(&out, "ab\0c", 4, 64, &err), HF_EINVAL);
	assert_string_equal(err.message, "input contains a NUL byte (byte 2)");
	big = malloc(70000);
	memset(big, 'a', 70000);
	assert_int_equal(hf_text_normalize_input(&out, big, 70000, 65536, &err), HF_ELIMIT);
	assert_string_equal(err.message, "input is 70000 bytes; the limit is 65536");
	assert_int_equal(hf_text_normalize_input(&out, big, 65536, 65536, &err), HF_OK);
	assert_int_equal(strlen(out), 65536);
	free(out);
	free(big);
}

static void test_width(void **state)
{
	(void)state;
	assert_int_equal(hf_text_width(""), 0);
	assert_int_equal(hf_text_width("gpt-4o"), 6);
	assert_int_equal(hf_text_width("caf\xc3\xa9"), 4);          /* é: 1 */
	assert_int_equal(hf_text_width("cafe\xcc\x81"), 4);         /* combining: 0 */
	assert_int_equal(hf_text_width("\xe4\xb8\xad\xe6\x96\x87"), 4); /* 中文: 2 each */
	assert_int_equal(hf_text_width("\xef\xbc\xa1"), 2);         /* fullwidth A */
	assert_int_equal(hf_text_width("\xed\x95\x9c\xea\xb5\xad"), 4); /* 한국 */
	assert_int_equal(hf_text_width("\xd0\x9c\xd0\xb8\xd1\x80"), 3); /* Мир */
	assert_int_equal(hf_text_width("a\xff" "b"), 3);            /* stray byte: 1 */
}

/* hf_text_escape (public): control characters, bidi overrides and bytes
 * that are not UTF-8 become escapes; `keep` spares the listed ones. */
static void test_escape(void **state)
{
	hf_error err;
	char *out;
	(void)state;
	assert_int_equal(hf_text_escape(&out, "a\x1b]0;t\x07\n\xe2\x80\xae\xff\xc3\xa9", NULL, &err), HF_OK);
	assert_string_equal(out, "a\\x1B]0;t\\x07\\x0A\\u202E\\xFF\xc3\xa9");
	hf_free(out);
	assert_int_equal(hf_text_escape(&out, "one\ntwo\tthree\r", "\n\t", &err), HF_OK);
	assert_string_equal(out, "one\ntwo\tthree\\x0D");
	hf_free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_table),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_incomplete_tail),
		cmocka_unit_test(test_normalize_nfc),
		cmocka_unit_test(test_normalize_errors),
		cmocka_unit_test(test_width),
		cmocka_unit_test(test_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

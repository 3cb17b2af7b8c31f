/*
 * test_graph_tool_name.c - handoff tool names as the Python Agents SDK
 * makes them: one '_' per character outside [A-Za-z0-9_], then lower case.
 * Expected values were produced with the SDK's rule in Python
 * (re.sub(r"[^a-zA-Z0-9_]", "_", "transfer_to_" + name).lower()).
 */
#include "support.h"

#include "handoff.h"

#include <string.h>

typedef struct row {
	const char *name;
	const char *tool;
} row;

static const row table[] = {
	{ "Spanish agent", "transfer_to_spanish_agent" },
	{ "Agent A", "transfer_to_agent_a" },
	{ "Café-Bot", "transfer_to_caf__bot" },               /* é is one character */
	{ "日本語", "transfer_to____" },                      /* three characters */
	{ "tab\there", "transfer_to_tab_here" },
	{ "new\nline", "transfer_to_new_line" },
	{ "emoji \xF0\x9F\xA4\x96 bot", "transfer_to_emoji___bot" }, /* 4-byte character */
	{ "MiXeD_Case_123", "transfer_to_mixed_case_123" },
	{ "\xE2\x84\xAA", "transfer_to__" },                 /* KELVIN SIGN is not 'k' */
	{ "e\xCC\x81", "transfer_to_e_" },                   /* e + combining acute */
	{ " a ", "transfer_to__a_" },
	{ "Ünïcödé", "transfer_to__n_c_d_" },
	{ "İstanbul", "transfer_to__stanbul" },
	{ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", /* 52: exactly 64 */
	  "transfer_to_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" },
};

static void test_table(void **state)
{
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		char buf[80];
		hf_error err;
		assert_int_equal(hf_handoff_tool_name(buf, sizeof(buf), table[i].name, &err), HF_OK);
		assert_string_equal(buf, table[i].tool);
	}
}

static void test_too_long(void **state)
{
	char buf[80];
	hf_error err;
	(void)state;
	/* 53 characters give 65 */
	assert_int_equal(hf_handoff_tool_name(buf, sizeof(buf),
	                                      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", &err),
	                 HF_EINVAL);
	assert_true(ts_contains(err.message, "over 64 characters"));
	/* 52 multi-byte characters still fit: the limit counts characters */
	assert_int_equal(hf_handoff_tool_name(buf, sizeof(buf),
	                                      "ééééééééééééééééééééééééééééééééééééééééééééééééééé"
	                                      "é", &err),
	                 HF_OK);
	assert_int_equal(strlen(buf), 64);
}

static void test_invalid(void **state)
{
	char buf[80];
	hf_error err;
	(void)state;
	assert_int_equal(hf_handoff_tool_name(buf, sizeof(buf), "", &err), HF_EINVAL);
	assert_int_equal(hf_handoff_tool_name(buf, sizeof(buf), NULL, &err), HF_EINVAL);
	assert_int_equal(hf_handoff_tool_name(buf, sizeof(buf), "bad \xFF byte", &err), HF_EINVAL);
	assert_true(ts_contains(err.message, "UTF-8"));
	assert_int_equal(hf_handoff_tool_name(buf, sizeof(buf), "ab\xED\xA0\x80", &err), HF_EINVAL);
	/* the buffer must hold the name and its NUL */
	assert_int_equal(hf_handoff_tool_name(buf, 19, "Agent A", &err), HF_ELIMIT);
	assert_int_equal(hf_handoff_tool_name(buf, 20, "Agent A", &err), HF_OK);
	assert_string_equal(buf, "transfer_to_agent_a");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

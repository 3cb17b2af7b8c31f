/*
 * test_hub_cli.c - `handoff models`, `handoff providers` and `handoff model`
 * run as commands against the local mock: aligned tables (checked in
 * terminal columns with hf_text_width, with accented and CJK names),
 * --json, filters, and the plain /v1 server.
 */
#include "support_client.h"

#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hf_mock *mock;
static char hub_env[160], v1_env[160];

static int start(void **state)
{
	(void)state;
	if (!(mock = tc_mock_start(NULL)))
		return -1;
	snprintf(hub_env, sizeof(hub_env), "HANDOFF_BASE_URL=%s/compute", hf_mock_url(mock));
	snprintf(v1_env, sizeof(v1_env), "HANDOFF_BASE_URL=%s/v1", hf_mock_url(mock));
	return 0;
}

static int stop(void **state)
{
	(void)state;
	tc_mock_stop(mock);
	return 0;
}

static void run(ts_proc *p, const char *base_env, const char *const *argv)
{
	const char *env[] = { base_env, NULL };
	ts_run_cli(p, NULL, env, argv);
}

/* Display columns of line[0..n). */
static size_t width_of(const char *line, size_t n)
{
	char *s = strndup(line, n);
	size_t w = hf_text_width(s);
	free(s);
	return w;
}

/* Check that each row's cells (from the JSON rows, keys[]) start at the
 * terminal column of their header (heads[]). */
static void check_table(const char *out, const cJSON *rows, const char *const *keys,
                        const char *const *heads, size_t ncols)
{
	char *copy = strdup(out), *save = NULL, *line;
	size_t col[8], j;
	const cJSON *row = rows->child;
	line = strtok_r(copy, "\n", &save);
	assert_non_null(line);
	for (j = 0; j < ncols; j++) {
		const char *h = strstr(line, heads[j]);
		assert_non_null(h);
		col[j] = width_of(line, (size_t)(h - line));
		if (j)
			assert_true(col[j] > col[j - 1]);
	}
	assert_int_equal(col[0], 0);
	for (line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *from = line;
		assert_non_null(row);
		for (j = 0; j < ncols; j++) {
			const cJSON *v = cJSON_GetObjectItem(row, keys[j]);
			char num[32];
			const char *cell = cJSON_IsString(v) ? v->valuestring : num, *at;
			if (cJSON_IsNumber(v))
				snprintf(num, sizeof(num), "%.0f", v->valuedouble);
			at = strstr(from, cell);
			assert_non_null(at);
			assert_int_equal(width_of(line, (size_t)(at - line)), col[j]);
			from = at + strlen(cell);
		}
		row = row->next;
	}
	assert_null(row);
	free(copy);
}

static void test_models_table(void **state)
{
	const char *const table[] = { "models", NULL };
	const char *const json[] = { "models", "--json", NULL };
	const char *const keys[] = { "id", "provider", "name", "context_length" };
	const char *const heads[] = { "ID", "PROVIDER", "NAME", "CONTEXT LENGTH" };
	ts_proc t, j;
	cJSON *rows;
	(void)state;
	run(&t, hub_env, table);
	run(&j, hub_env, json);
	assert_int_equal(t.status, 0);
	assert_int_equal(j.status, 0);
	rows = cJSON_Parse(j.out);
	assert_true(cJSON_IsArray(rows));
	assert_true(ts_contains(t.out, "通义千问")); /* the CJK name is there ... */
	assert_true(ts_contains(t.out, "Nébula Compute"));
	check_table(t.out, rows, keys, heads, 4); /* ... and the columns line up */
	cJSON_Delete(rows);
	ts_proc_dispose(&t);
	ts_proc_dispose(&j);
}

static void test_filters(void **state)
{
	const char *const models[] = { "models", "--provider", "OpenAI", "--json", NULL };
	const char *const providers[] = { "providers", "--model", "deepseek-r1", NULL };
	const char *const unknown[] = { "providers", "--model", "no-such-model", NULL };
	const char *const keys[] = { "name", "description" };
	const char *const heads[] = { "NAME", "DESCRIPTION" };
	const char *const pj[] = { "providers", "--model", "deepseek-r1", "--json", NULL };
	ts_proc p, q;
	cJSON *rows, *r;
	(void)state;
	run(&p, hub_env, models);
	assert_int_equal(p.status, 0);
	rows = cJSON_Parse(p.out);
	assert_true(cJSON_GetArraySize(rows) >= 1);
	cJSON_ArrayForEach(r, rows)
		assert_string_equal(cJSON_GetObjectItem(r, "provider")->valuestring, "OpenAI");
	cJSON_Delete(rows);
	ts_proc_dispose(&p);

	run(&p, hub_env, providers);
	run(&q, hub_env, pj);
	assert_int_equal(p.status, 0);
	rows = cJSON_Parse(q.out);
	assert_true(cJSON_GetArraySize(rows) >= 1);
	check_table(p.out, rows, keys, heads, 2);
	assert_true(ts_contains(p.out, "DeepSeek"));
	assert_false(ts_contains(p.out, "OpenAI's hosted"));
	cJSON_Delete(rows);
	ts_proc_dispose(&p);
	ts_proc_dispose(&q);

	run(&p, hub_env, unknown);
	assert_int_equal(p.status, 1);
	assert_true(ts_contains(p.err, "no-such-model"));
	assert_string_equal(p.out, "");
	ts_proc_dispose(&p);
}

static void test_model_detail(void **state)
{
	const char *const argv[] = { "model", "qwen2.5-72b", NULL };
	const char *const json[] = { "model", "llama-3.1-70b-instruct", "--provider", "Lepton",
		                     "--json", NULL };
	char *copy, *line, *save = NULL;
	size_t value_col = 0;
	int lines = 0;
	ts_proc p;
	cJSON *d;
	(void)state;
	run(&p, hub_env, argv);
	assert_int_equal(p.status, 0);
	assert_true(ts_contains(p.out, "通义千问 Qwen2.5 72B"));
	assert_true(ts_contains(p.out, "pricing.prompt"));
	assert_true(ts_contains(p.out, "requirements.headers.OpenAI-Organization"));
	/* Every value starts at the same terminal column. */
	copy = strdup(p.out);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *sp = strstr(line, "  "), *v = sp;
		assert_non_null(sp);
		while (*v == ' ')
			v++;
		if (!value_col)
			value_col = width_of(line, (size_t)(v - line));
		assert_int_equal(width_of(line, (size_t)(v - line)), value_col);
		lines++;
	}
	assert_true(lines > 5);
	free(copy);
	ts_proc_dispose(&p);

	run(&p, hub_env, json);
	assert_int_equal(p.status, 0);
	d = cJSON_Parse(p.out);
	assert_string_equal(cJSON_GetObjectItem(d, "provider")->valuestring, "Lepton");
	cJSON_Delete(d);
	ts_proc_dispose(&p);
}

static void test_plain_v1(void **state)
{
	const char *const models[] = { "models", NULL };
	const char *const providers[] = { "providers", NULL };
	const char *const usage[] = { "model", NULL };
	ts_proc p;
	(void)state;
	run(&p, v1_env, models);
	assert_int_equal(p.status, 0);
	assert_true(ts_contains(p.out, "OWNED BY"));
	assert_false(ts_contains(p.out, "OBJECT"));
	ts_proc_dispose(&p);
	run(&p, v1_env, providers);
	assert_int_equal(p.status, 5);
	assert_true(ts_contains(p.err, "has no provider catalogue; the Model Hub's base URL ends "
	                               "in /compute"));
	ts_proc_dispose(&p);
	run(&p, v1_env, usage);
	assert_int_equal(p.status, 2);
	ts_proc_dispose(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_models_table),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_model_detail),
		cmocka_unit_test(test_plain_v1),
	};
	return cmocka_run_group_tests(tests, start, stop);
}

/*
 * test_errors.c - error codes: names, the command's exit statuses, the
 * thread-local last error, and message prefixes.
 */
#include "support.h"

#include "internal.h"

#include <pthread.h>
#include <string.h>

static void exit_statuses(void **state)
{
	(void)state;
	assert_int_equal(hf_exit_status(HF_OK), 0);
	assert_int_equal(hf_exit_status(HF_EINVAL), 2);
	assert_int_equal(hf_exit_status(HF_ECONFIG), 3);
	assert_int_equal(hf_exit_status(HF_EAUTH), 4);
	assert_int_equal(hf_exit_status(HF_ENET), 5);
	assert_int_equal(hf_exit_status(HF_EHTTP), 5);
	assert_int_equal(hf_exit_status(HF_EPROTOCOL), 5);
	assert_int_equal(hf_exit_status(HF_EMAXTURNS), 6);
	assert_int_equal(hf_exit_status(HF_ELOOP), 6);
	assert_int_equal(hf_exit_status(HF_ETOOL), 6);
	assert_int_equal(hf_exit_status(HF_ECANCELLED), 130);
	assert_int_equal(hf_exit_status(HF_ESTORE), 1);
	assert_string_equal(hf_code_name(HF_ELOOP), "handoff_loop");
	assert_string_equal(hf_code_name(-999), "unknown");
}

static void *fail_in_thread(void *arg)
{
	(void)arg;
	hf_err(NULL, HF_ENET, "thread failure");
	return (void *)(hf_error_last()->code == HF_ENET ? "ok" : NULL);
}

static void last_error_is_per_thread(void **state)
{
	pthread_t th;
	void *res;
	hf_error err;
	(void)state;
	assert_int_equal(hf_err(&err, HF_ECONFIG, "bad %s", "graph"), HF_ECONFIG);
	assert_string_equal(err.message, "bad graph");
	assert_int_equal(hf_error_last()->code, HF_ECONFIG);
	assert_int_equal(pthread_create(&th, NULL, fail_in_thread, NULL), 0);
	pthread_join(th, &res);
	assert_non_null(res);
	/* the other thread's failure did not touch this thread's last error */
	assert_int_equal(hf_error_last()->code, HF_ECONFIG);
	assert_string_equal(hf_error_last()->message, "bad graph");
	/* a prefix reaches the last error too */
	hf_err_prefix(&err, "agent '%s'", "A");
	assert_string_equal(err.message, "agent 'A': bad graph");
	assert_string_equal(hf_error_last()->message, "agent 'A': bad graph");
}

static void long_prefix_is_cut(void **state)
{
	char big[600];
	hf_error err;
	(void)state;
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	hf_err(&err, HF_EINVAL, "%s", big);
	hf_err_prefix(&err, "%s", big);
	assert_true(strlen(err.message) < HF_ERROR_MESSAGE_MAX);
	assert_true(strncmp(err.message, "ppp", 3) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exit_statuses),
		cmocka_unit_test(last_error_is_per_thread),
		cmocka_unit_test(long_prefix_is_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

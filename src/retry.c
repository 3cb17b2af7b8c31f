/*
 * retry.c - when and how long to wait before repeating a request: the
 * openai client's policy (retry connection errors, timeouts, 408, 409, 429
 * and 5xx; exponential backoff with jitter; Retry-After honoured).
 */
#include "call.h"

#include <errno.h>
#include <stdlib.h>

#define INITIAL_DELAY_MS 500.0
#define MAX_DELAY_MS 8000.0

bool hf_retry_status(long status)
{
	return status == 408 || status == 409 || status == 429 || status >= 500;
}

bool hf_retry_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

long hf_retry_backoff_ms(int retry, double unit)
{
	double d = INITIAL_DELAY_MS;
	for (; retry > 0 && d < MAX_DELAY_MS; retry--)
		d *= 2;
	if (d > MAX_DELAY_MS)
		d = MAX_DELAY_MS;
	return (long)(d * (1.0 - 0.25 * unit));
}

long hf_retry_after_ms(const char *value, time_t now)
{
	char *end;
	double s;
	time_t t;

	if (!value || !*value)
		return -1;
	errno = 0;
	s = strtod(value, &end);
	if (end != value && !*end && !errno)
		return s >= 0 && s < 1e9 ? (long)(s * 1000.0) : -1;
	t = curl_getdate(value, NULL);
	if (t == -1)
		return -1;
	return t > now ? (long)(t - now) * 1000L : 0;
}

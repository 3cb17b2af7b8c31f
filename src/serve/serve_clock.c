/*
 * serve_clock.c - the monotonic clock of handoff serve: deadlines for the
 * condition waits of the drain (pthread_cond_timedwait on condition
 * variables set to CLOCK_MONOTONIC) and milliseconds for elapsed time.
 */
#include "serve.h"

#include <time.h>

void serve_deadline(struct timespec *until, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, until);
	until->tv_sec += ms / 1000;
	until->tv_nsec += (ms % 1000) * 1000000L;
	if (until->tv_nsec >= 1000000000L) {
		until->tv_sec++;
		until->tv_nsec -= 1000000000L;
	}
}

long serve_now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * timeit.c - wall time and peak RSS of one process, for bench/lib/coldstart.py.
 *
 *   timeit OUT ERR PROGRAM [ARGS...]
 *
 * Starts PROGRAM (PATH lookup) with stdout to OUT and stderr to ERR, waits
 * for it with wait4 and prints one line:
 *   wall_ms=W peak_rss_kib=R status=S
 * wall_ms runs from just before the spawn to the reap; peak_rss_kib is the
 * child's ru_maxrss. Linux counts in ru_maxrss the memory of the process
 * the child was before its exec, so the parent must be small: a Python
 * parent (about 14 MiB) would hide every figure below its own size, which is
 * why this is C with libc only (about 1 MiB). bench/run compiles it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	pid_t pid;
	int status, rc;
	double t0;

	if (argc < 4) {
		fprintf(stderr, "usage: timeit OUT ERR PROGRAM [ARGS...]\n");
		return 2;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	t0 = now_ms();
	rc = posix_spawnp(&pid, argv[3], &fa, NULL, argv + 3, environ);
	if (rc) {
		fprintf(stderr, "timeit: cannot start %s: %s\n", argv[3], strerror(rc));
		return 1;
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("timeit: wait4");
		return 1;
	}
	printf("wall_ms=%.3f peak_rss_kib=%ld status=%d\n", now_ms() - t0, ru.ru_maxrss,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	posix_spawn_file_actions_destroy(&fa);
	return 0;
}

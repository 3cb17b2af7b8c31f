/*
 * mock_process.c - running the programs beside handoff: the mock endpoint
 * (handoff-mock) in place of `handoff mock` and as a child process for
 * --mock, and the server (handoff-serve) in place of `handoff serve`.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef HF_BINDIR
#define HF_BINDIR "/usr/local/bin"
#endif

/* The program `name` next to this program, else in the install directory. */
static const char *program_path(const char *name)
{
	static char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	if (n > 0) {
		char *slash;
		path[n] = '\0';
		if ((slash = strrchr(path, '/'))) {
			snprintf(slash + 1, 32, "%s", name);
			if (access(path, X_OK) == 0)
				return path;
		}
	}
	snprintf(path, sizeof(path), "%s/%s", HF_BINDIR, name);
	return path;
}

/* Run program `name` in place of this one with argv's arguments. */
static int exec_program(const char *name, char **argv)
{
	const char *path = program_path(name);
	argv[0] = (char *)name;
	execv(path, argv);
	fprintf(stderr, "handoff: cannot run %s: %s\n", path, strerror(errno));
	return HF_EXIT_ERROR;
}

int cli_exec_mock(int argc, char **argv)
{
	(void)argc;
	return exec_program("handoff-mock", argv);
}

int cli_exec_serve(int argc, char **argv)
{
	(void)argc;
	return exec_program("handoff-serve", argv);
}

static pid_t mock_pid = -1;
static int mock_fd = -1;
static char mock_url[128];

/* Read the mock's stderr until it says where it listens (5 s at most). */
static bool read_url(int fd)
{
	char buf[1024];
	size_t n = 0;
	struct pollfd p = { fd, POLLIN, 0 };
	while (n < sizeof(buf) - 1 && poll(&p, 1, 5000) > 0) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
		char *at, *end;
		if (r <= 0)
			return false;
		n += (size_t)r;
		buf[n] = '\0';
		if ((at = strstr(buf, "listening on ")) && (end = strchr(at, '\n'))) {
			at += strlen("listening on ");
			snprintf(mock_url, sizeof(mock_url), "%.*s/v1", (int)(end - at), at);
			return true;
		}
	}
	return false;
}

/* Whether the variable "NAME=value" may reach the mock child: locale, time
 * zone, paths and sanitizer options only, so that no API key (whatever
 * variable holds it) is in the mock's environment. */
static bool env_passes(const char *var)
{
	static const char *const names[] = { "PATH=", "HOME=", "TMPDIR=", "TZ=", "LANG=",
		                             "LANGUAGE=", "NO_COLOR=" };
	const char *eq = strchr(var, '=');
	size_t i;
	if (!eq)
		return false;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strncmp(var, names[i], strlen(names[i])))
			return true;
	return !strncmp(var, "LC_", 3) ||
	       (eq - var > 12 && !strncmp(eq - 12, "SAN_OPTIONS=", 12));
}

/* The environment for the mock child (owned array of borrowed strings). */
static char **child_env(void)
{
	extern char **environ;
	size_t n = 0, k = 0;
	char **env;
	while (environ[n])
		n++;
	if ((env = calloc(n + 1, sizeof(*env))))
		for (n = 0; environ[n]; n++)
			if (env_passes(environ[n]))
				env[k++] = environ[n];
	return env;
}

/* In the forked child: die with the parent (SIGKILL when the thread that
 * forked exits, for any reason, SIGKILL included), then run the mock with
 * stderr to the pipe. */
static void exec_child(const char *path, int fd, pid_t parent, char **env)
{
	char *argv[] = { (char *)"handoff-mock", (char *)"--port", (char *)"0",
		         (char *)"--threads", (char *)"1", NULL };
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(127); /* the parent died before the death signal was armed */
	dup2(fd, 2);
	close(fd);
	execve(path, argv, env);
	_exit(127);
}

int cli_mock_start(cli_endpoint *e)
{
	const char *path = program_path("handoff-mock");
	pid_t parent = getpid();
	char **env = child_env();
	int fds[2];
	if (!env || pipe(fds)) {
		free(env);
		return HF_EXIT_ERROR;
	}
	mock_pid = fork();
	if (mock_pid == 0) {
		close(fds[0]);
		exec_child(path, fds[1], parent, env);
	}
	free(env);
	close(fds[1]);
	mock_fd = fds[0];
	if (mock_pid < 0 || !read_url(mock_fd)) {
		fprintf(stderr, "handoff: could not start the mock endpoint (%s)\n", path);
		cli_mock_stop();
		return HF_EXIT_ERROR;
	}
	e->opts.base_url = mock_url;
	e->opts.require_key = 0;
	fprintf(stderr, "handoff: using a local mock endpoint at %s (--mock)\n", mock_url);
	return HF_EXIT_OK;
}

void cli_mock_stop(void)
{
	if (mock_pid > 0) {
		kill(mock_pid, SIGTERM);
		waitpid(mock_pid, NULL, 0);
	}
	if (mock_fd >= 0)
		close(mock_fd);
	mock_pid = -1;
	mock_fd = -1;
}

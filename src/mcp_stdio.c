/*
 * mcp_stdio.c - an MCP server as a child process: fork + execve (no
 * shell, only async-signal-safe calls between them), the child in its own
 * process group with PR_SET_PDEATHSIG(SIGKILL); newline-delimited JSON on
 * non-blocking pipes; stderr lines to the log; shutdown by closing stdin,
 * then SIGTERM, then SIGKILL.
 */
#define _GNU_SOURCE
#include "mcp_stdio.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int hf_mcp_lines_feed(hf_buf *acc, const char *data, size_t n, size_t max, size_t *used,
                      hf_mcp_line_fn fn, void *payload)
{
	size_t off = 0;
	*used = 0;
	while (off < n) {
		const char *nl = memchr(data + off, '\n', n - off);
		size_t take = nl ? (size_t)(nl - (data + off)) : n - off;
		if (acc->len + take > max) {
			hf_buf_reset(acc);
			*used = n;
			return HF_ELIMIT;
		}
		if (!nl) {
			if (hf_buf_append(acc, data + off, take))
				return HF_ENOMEM;
			off = n;
			break;
		}
		const char *line = data + off;
		size_t len = take;
		if (acc->len) {
			if (hf_buf_append(acc, data + off, take))
				return HF_ENOMEM;
			line = acc->data;
			len = acc->len;
		}
		off += take + 1;
		if (len && line[len - 1] == '\r')
			len--;
		int stop = len ? fn(payload, line, len) : 0;
		hf_buf_reset(acc);
		if (stop) {
			*used = off;
			return HF_ECANCELLED;
		}
	}
	*used = off;
	return HF_OK;
}

/* Where exec of `command` would go with PATH `path` (owned), or NULL. */
static char *resolve(const char *command, const char *path)
{
	if (strchr(command, '/'))
		return hf_strdup(command);
	for (const char *p = path ? path : "/usr/local/bin:/usr/bin:/bin"; ; p++) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char *full = hf_asprintf("%.*s/%s", (int)n, n ? p : ".", command);
		if (!full)
			return NULL;
		if (access(full, X_OK) == 0)
			return full;
		free(full);
		if (!end)
			return NULL;
		p = end;
	}
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The child's side: never returns. Writes {stage, errno} to report. */
static void child(const char *path, char *const *argv, char *const *envp, const char *cwd,
                  pid_t parent, int in, int out, int errfd, int report)
{
	sigset_t none;
	struct sigaction dfl;
	int e[2];
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(SIGPIPE, &dfl, NULL);
	setpgid(0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(127);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0) {
		e[0] = 0;
		goto fail;
	}
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	if (cwd && chdir(cwd) != 0) {
		e[0] = 1;
		goto fail;
	}
	execve(path, argv, envp);
	e[0] = 2;
fail:
	e[1] = errno;
	if (write(report, e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

static const char *env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);
	for (; envp && *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

int hf_mcp_stdio_spawn(hf_mcp_stdio *p, const char *name, const char *command,
                       char *const *argv, char *const *envp, const char *cwd, size_t max_line,
                       hf_error *err)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, er[2] = { -1, -1 }, rep[2] = { -1, -1 };
	int e[2];
	ssize_t got;
	pid_t pid, parent = getpid();
	char *path;

	memset(p, 0, sizeof(*p));
	p->name = name;
	p->in_fd = p->out_fd = p->err_fd = -1;
	p->max_line = max_line;
	path = resolve(command, env_get(envp, "PATH"));
	if (!path)
		return hf_err(err, HF_ENET, "cannot run '%s': not found in PATH", command);
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(er, O_CLOEXEC) ||
	    pipe2(rep, O_CLOEXEC)) {
		hf_err(err, HF_ENET, "cannot run '%s': pipe: %s", command, strerror(errno));
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		hf_err(err, HF_ENET, "cannot run '%s': fork: %s", command, strerror(errno));
		goto fail;
	}
	if (pid == 0)
		child(path, argv, envp, cwd, parent, in[0], out[1], er[1], rep[1]);
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&er[1]);
	close_fd(&rep[1]);
	do
		got = read(rep[0], e, sizeof(e));
	while (got < 0 && errno == EINTR);
	close_fd(&rep[0]);
	p->pid = pid;
	p->in_fd = in[1];
	p->out_fd = out[0];
	p->err_fd = er[0];
	fcntl(p->in_fd, F_SETFL, O_NONBLOCK);
	fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
	if (got == (ssize_t)sizeof(e)) {
		hf_mcp_stdio_kill(p);
		hf_err(err, HF_ENET, "cannot run '%s': %s%s: %s", command,
		       e[0] == 1 ? "working directory " : e[0] == 0 ? "dup2" : "",
		       e[0] == 1 ? cwd : "", strerror(e[1]));
		free(path);
		return HF_ENET;
	}
	free(path);
	return HF_OK;
fail:
	free(path);
	for (int i = 0; i < 2; i++) {
		close_fd(&in[i]);
		close_fd(&out[i]);
		close_fd(&er[i]);
		close_fd(&rep[i]);
	}
	return HF_ENET;
}

int hf_mcp_stdio_flush(hf_mcp_stdio *p)
{
	while (p->woff < p->wbuf.len) {
		ssize_t n;
		if (p->in_fd < 0)
			return HF_ENET;
		n = write(p->in_fd, p->wbuf.data + p->woff, p->wbuf.len - p->woff);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return HF_OK;
			close_fd(&p->in_fd);
			return HF_ENET;
		}
		p->woff += (size_t)n;
	}
	hf_buf_reset(&p->wbuf);
	p->woff = 0;
	return HF_OK;
}

int hf_mcp_stdio_send(hf_mcp_stdio *p, const char *msg, size_t len)
{
	if (p->in_fd < 0)
		return HF_ENET;
	if (hf_buf_append(&p->wbuf, msg, len) || hf_buf_append(&p->wbuf, "\n", 1))
		return HF_ENOMEM;
	return hf_mcp_stdio_flush(p);
}

int hf_mcp_stdio_read(hf_mcp_stdio *p, hf_mcp_line_fn fn, void *payload)
{
	char chunk[65536];
	for (int rounds = 0; rounds < 16; rounds++) {
		size_t used;
		int rc;
		ssize_t n = p->out_fd >= 0 ? read(p->out_fd, chunk, sizeof(chunk)) : 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return HF_OK;
			return HF_ENET;
		}
		if (n == 0)
			return HF_ENET;
		rc = hf_mcp_lines_feed(&p->line, chunk, (size_t)n, p->max_line, &used, fn, payload);
		(void)used; /* a stop (HF_ECANCELLED) drops the rest: the server is going */
		if (rc)
			return rc;
	}
	return HF_OK;
}

static int stderr_line(void *payload, const char *line, size_t len)
{
	hf_mcp_stdio *p = payload;
	size_t keep = len < sizeof(p->last_err) - 1 ? len : sizeof(p->last_err) - 1;
	memcpy(p->last_err, line, keep);
	p->last_err[keep] = '\0';
	hf_log(HF_LOG_INFO, "mcp server '%s': %.*s", p->name, (int)(len > 1500 ? 1500 : len), line);
	return 0;
}

void hf_mcp_stdio_read_stderr(hf_mcp_stdio *p)
{
	char chunk[16384];
	for (int rounds = 0; rounds < 16 && p->err_fd >= 0; rounds++) {
		size_t used;
		ssize_t n = read(p->err_fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
				if (p->eline.len)
					stderr_line(p, p->eline.data, p->eline.len);
				hf_buf_reset(&p->eline);
				close_fd(&p->err_fd);
			}
			return;
		}
		/* an over-long stderr line is dropped, not a failure */
		hf_mcp_lines_feed(&p->eline, chunk, (size_t)n, 65536, &used, stderr_line, p);
	}
}

bool hf_mcp_stdio_try_reap(hf_mcp_stdio *p)
{
	pid_t r;
	if (p->reaped || !p->pid)
		return true;
	do
		r = waitpid(p->pid, &p->status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == p->pid || (r < 0 && errno == ECHILD)) {
		p->reaped = true;
		return true;
	}
	return false;
}

void hf_mcp_stdio_signal(hf_mcp_stdio *p, int sig)
{
	if (p->pid > 0) {
		/* the group (npx's node child too); the leader alone when the
		 * group is gone already */
		if (kill(-p->pid, sig) != 0 && !p->reaped)
			kill(p->pid, sig);
	}
}

void hf_mcp_stdio_describe(const hf_mcp_stdio *p, char *buf, size_t size)
{
	if (!p->reaped)
		snprintf(buf, size, "closed its output");
	else if (WIFEXITED(p->status))
		snprintf(buf, size, "exited (status %d)", WEXITSTATUS(p->status));
	else if (WIFSIGNALED(p->status))
		snprintf(buf, size, "was killed by signal %d", WTERMSIG(p->status));
	else
		snprintf(buf, size, "stopped");
}

void hf_mcp_stdio_close_stdin(hf_mcp_stdio *p)
{
	close_fd(&p->in_fd);
}

static void release(hf_mcp_stdio *p)
{
	close_fd(&p->in_fd);
	close_fd(&p->out_fd);
	close_fd(&p->err_fd);
	hf_buf_dispose(&p->wbuf);
	hf_buf_dispose(&p->line);
	hf_buf_dispose(&p->eline);
	p->woff = 0;
}

/* Wait until every process of ps is reaped or deadline (hf_now_ms) passes,
 * draining their output meanwhile. True when all are reaped. */
static bool wait_all(hf_mcp_stdio **ps, size_t n, long long deadline)
{
	for (;;) {
		struct pollfd fds[64];
		size_t nf = 0;
		bool all = true;
		for (size_t i = 0; i < n; i++) {
			if (!hf_mcp_stdio_try_reap(ps[i]))
				all = false;
			if (ps[i]->err_fd >= 0 && nf < HF_ARRAY_LEN(fds))
				fds[nf++] = (struct pollfd){ ps[i]->err_fd, POLLIN, 0 };
		}
		long long left = deadline - hf_now_ms();
		if (all || left <= 0)
			return all;
		/* stderr EOF comes with the exit; otherwise look again soon */
		poll(fds, nf, (int)(left < 10 ? left : 10));
		for (size_t i = 0; i < n; i++) {
			char sink[4096];
			hf_mcp_stdio_read_stderr(ps[i]);
			while (ps[i]->out_fd >= 0 && read(ps[i]->out_fd, sink, sizeof(sink)) > 0)
				;
		}
	}
}

void hf_mcp_stdio_kill(hf_mcp_stdio *p)
{
	hf_mcp_stdio_signal(p, SIGKILL);
	wait_all(&p, 1, hf_now_ms() + 5000);
	release(p);
}

void hf_mcp_stdio_shutdown(hf_mcp_stdio **ps, size_t n, long grace_ms)
{
	for (size_t i = 0; i < n; i++)
		hf_mcp_stdio_close_stdin(ps[i]);
	if (!wait_all(ps, n, hf_now_ms() + grace_ms)) {
		for (size_t i = 0; i < n; i++)
			if (!ps[i]->reaped)
				hf_mcp_stdio_signal(ps[i], SIGTERM);
		if (!wait_all(ps, n, hf_now_ms() + grace_ms)) {
			for (size_t i = 0; i < n; i++)
				if (!ps[i]->reaped)
					hf_mcp_stdio_signal(ps[i], SIGKILL);
			wait_all(ps, n, hf_now_ms() + 5000);
		}
	}
	for (size_t i = 0; i < n; i++) {
		/* the rest of the group (a grandchild) goes too */
		if (ps[i]->pid > 0)
			kill(-ps[i]->pid, SIGKILL);
		release(ps[i]);
	}
}

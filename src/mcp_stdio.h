/*
 * mcp_stdio.h - one MCP server as a child process (mcp_stdio.c): spawned
 * without a shell, newline-delimited JSON-RPC on its stdin/stdout, its
 * stderr lines to the library log. Used by the host thread only; every fd
 * is non-blocking and the host polls them.
 */
#ifndef HF_MCP_STDIO_H
#define HF_MCP_STDIO_H

#include "internal.h"

#include <sys/types.h>

/* One line (without its "\n" or "\r\n"; never empty). Return non-zero to
 * stop reading (the rest stays buffered for the next read). */
typedef int (*hf_mcp_line_fn)(void *payload, const char *line, size_t len);

/* Split data into lines, keeping a partial line in acc. Calls fn for each
 * complete line. HF_ELIMIT when a line grows past max bytes (acc is then
 * emptied); HF_ECANCELLED when fn stopped (*used: the bytes consumed). */
int hf_mcp_lines_feed(hf_buf *acc, const char *data, size_t n, size_t max, size_t *used,
                      hf_mcp_line_fn fn, void *payload);

typedef struct hf_mcp_stdio {
	const char *name;   /* the server's (borrowed), for the log */
	pid_t pid;          /* 0 when none */
	int in_fd, out_fd, err_fd; /* -1 when closed */
	hf_buf wbuf;        /* queued for its stdin */
	size_t woff;        /* written so far of wbuf */
	hf_buf line;        /* partial stdout line */
	hf_buf eline;       /* partial stderr line */
	char last_err[256]; /* its last stderr line */
	size_t max_line;
	int status;         /* waitpid status once reaped */
	bool reaped;
} hf_mcp_stdio;

/* Start `command` with argv (args, NULL-terminated: argv[0] is the
 * command), environment envp (exactly that), in directory cwd (NULL: ours),
 * in a process group of its own, killed when the host thread dies.
 * HF_ENET naming the command and the cause when it cannot run. */
int hf_mcp_stdio_spawn(hf_mcp_stdio *p, const char *name, const char *command,
                       char *const *argv, char *const *envp, const char *cwd, size_t max_line,
                       hf_error *err);

/* Queue msg and a "\n" for its stdin and write what the pipe takes.
 * HF_ENET when its stdin is closed, HF_ENOMEM. */
int hf_mcp_stdio_send(hf_mcp_stdio *p, const char *msg, size_t len);
/* Write queued bytes (POLLOUT). HF_ENET when stdin is gone. */
int hf_mcp_stdio_flush(hf_mcp_stdio *p);
static inline bool hf_mcp_stdio_wants_write(const hf_mcp_stdio *p)
{
	return p->in_fd >= 0 && p->woff < p->wbuf.len;
}

/* Read what stdout holds, calling fn per line. HF_OK (nothing more now),
 * HF_ELIMIT (a line over max_line), HF_ENET (end of file: it exited or
 * closed stdout), HF_ECANCELLED (fn stopped: the bytes after that line
 * are dropped, for a server about to be stopped). */
int hf_mcp_stdio_read(hf_mcp_stdio *p, hf_mcp_line_fn fn, void *payload);
/* Read what stderr holds: each line goes to hf_log (INFO) as
 * "mcp server 'NAME': line" and is kept in last_err. */
void hf_mcp_stdio_read_stderr(hf_mcp_stdio *p);

/* Reap without waiting; true once it is reaped (p->status set). */
bool hf_mcp_stdio_try_reap(hf_mcp_stdio *p);
/* Signal its process group. */
void hf_mcp_stdio_signal(hf_mcp_stdio *p, int sig);
/* "exited with status N" / "was killed by signal N" into buf. */
void hf_mcp_stdio_describe(const hf_mcp_stdio *p, char *buf, size_t size);
/* Close its stdin (the polite way to ask it to stop). */
void hf_mcp_stdio_close_stdin(hf_mcp_stdio *p);
/* Stop it now: SIGKILL to its group, reap it (bounded), close every fd,
 * free the buffers. The struct can be spawned again. */
void hf_mcp_stdio_kill(hf_mcp_stdio *p);
/* Shut the n processes down together: close stdin, wait up to grace_ms
 * for them to exit, SIGTERM, wait again, SIGKILL; reap, close, free. */
void hf_mcp_stdio_shutdown(hf_mcp_stdio **ps, size_t n, long grace_ms);

#endif

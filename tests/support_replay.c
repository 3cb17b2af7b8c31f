/*
 * support_replay.c - the fixture replay server (see support_replay.h).
 */
#include "support_replay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

struct ts_replay {
	int listener;
	int wake[2];            /* a pipe: writing to it stops the thread */
	pthread_t thread;
	char url[64];
	char *head;             /* status line and headers */
	char *body;
	size_t body_len;
	long trickle_ms;
	atomic_int requests;
};

/* Wait up to ms for fd to be readable or the stop pipe to fire; false on stop. */
static bool wait_fd(ts_replay *r, int fd, short events, int ms)
{
	struct pollfd p[2] = { { fd, events, 0 }, { r->wake[0], POLLIN, 0 } };
	int n = poll(p, 2, ms);
	if (n < 0 && errno == EINTR)
		return true;
	return !(p[1].revents & POLLIN);
}

static bool send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Read the request: headers, then Content-Length bytes of body. */
static bool read_request(ts_replay *r, int fd)
{
	char buf[65536];
	size_t have = 0, want = 0;
	char *end = NULL;
	for (;;) {
		ssize_t n;
		if (!wait_fd(r, fd, POLLIN, -1))
			return false;
		n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		if (n <= 0)
			return false;
		have += (size_t)n;
		buf[have] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			const char *l;
			want = (size_t)(end + 4 - buf);
			for (l = strstr(buf, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n"))
				if (!strncasecmp(l + 2, "content-length:", 15))
					want += strtoul(l + 17, NULL, 10);
		}
		if (end && have >= want)
			return true;
		if (have == sizeof(buf) - 1) /* the tests send small requests */
			return true;
	}
}

static void serve(ts_replay *r, int fd)
{
	size_t i = 0;
	if (!read_request(r, fd))
		return;
	atomic_fetch_add(&r->requests, 1);
	if (!send_all(fd, r->head, strlen(r->head)))
		return;
	if (r->trickle_ms <= 0) {
		send_all(fd, r->body, r->body_len);
		return;
	}
	while (r->body_len && wait_fd(r, fd, 0, (int)r->trickle_ms)) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 0) > 0) /* the client closed (or sent more): stop */
			return;
		if (!send_all(fd, r->body + i, 1))
			return;
		i = (i + 1) % r->body_len;
	}
}

static void *run(void *arg)
{
	ts_replay *r = arg;
	while (wait_fd(r, r->listener, POLLIN, -1)) {
		int fd = accept(r->listener, NULL, NULL);
		if (fd < 0)
			continue;
		serve(r, fd);
		shutdown(fd, SHUT_RDWR);
		close(fd);
	}
	return NULL;
}

ts_replay *ts_replay_start(const ts_replay_opts *o)
{
	ts_replay *r = calloc(1, sizeof(*r));
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	size_t hlen;
	int one = 1;

	assert_non_null(r);
	if (o->body_file) {
		char *path = ts_path(HF_TEST_DATA, o->body_file);
		r->body = ts_read(path, &r->body_len);
		if (!r->body)
			fail_msg("cannot read fixture %s", path);
		free(path);
	} else {
		r->body = strdup(o->body ? o->body : "");
		r->body_len = strlen(r->body);
	}
	hlen = 64 + (o->headers ? strlen(o->headers) : 0);
	r->head = malloc(hlen);
	assert_non_null(r->head);
	snprintf(r->head, hlen, "HTTP/1.1 %d X\r\n%sConnection: close\r\n\r\n",
	         o->status ? o->status : 200, o->headers ? o->headers : "");
	r->trickle_ms = o->trickle_ms;
	atomic_init(&r->requests, 0);
	assert_int_equal(pipe(r->wake), 0);
	r->listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(r->listener >= 0);
	setsockopt(r->listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(r->listener, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(r->listener, 16), 0);
	assert_int_equal(getsockname(r->listener, (struct sockaddr *)&a, &alen), 0);
	snprintf(r->url, sizeof(r->url), "http://127.0.0.1:%u/v1", ntohs(a.sin_port));
	assert_int_equal(pthread_create(&r->thread, NULL, run, r), 0);
	return r;
}

const char *ts_replay_url(const ts_replay *r)
{
	return r->url;
}

int ts_replay_requests(ts_replay *r)
{
	return atomic_load(&r->requests);
}

void ts_replay_stop(ts_replay *r)
{
	if (!r)
		return;
	assert_int_equal(write(r->wake[1], "x", 1), 1);
	pthread_join(r->thread, NULL);
	close(r->listener);
	close(r->wake[0]);
	close(r->wake[1]);
	free(r->head);
	free(r->body);
	free(r);
}

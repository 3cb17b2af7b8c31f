/*
 * mock_timer.c - delayed replies without blocking MHD's worker threads: a
 * connection is suspended and pushed on a min-heap of wake-up times; one
 * timer thread resumes each when its time comes. Ten thousand delayed
 * requests cost ten thousand heap entries, not ten thousand threads.
 */
#include "mock_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

typedef struct wakeup {
	uint64_t due_ns;
	uint64_t order; /* FIFO among equal due times */
	struct MHD_Connection *conn;
} wakeup;

struct mock_timer {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	wakeup *heap;
	size_t len, cap;
	uint64_t pushed;
	bool stopping;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool before(const wakeup *a, const wakeup *b)
{
	return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->order < b->order);
}

static void heap_swap(wakeup *h, size_t i, size_t j)
{
	wakeup t = h[i];
	h[i] = h[j];
	h[j] = t;
}

static void sift_up(wakeup *h, size_t i)
{
	while (i > 0 && before(&h[i], &h[(i - 1) / 2])) {
		heap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void sift_down(wakeup *h, size_t len, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < len && before(&h[l], &h[m]))
			m = l;
		if (r < len && before(&h[r], &h[m]))
			m = r;
		if (m == i)
			return;
		heap_swap(h, i, m);
		i = m;
	}
}

static void *timer_main(void *arg)
{
	mock_timer *t = arg;
	pthread_mutex_lock(&t->lock);
	while (!t->stopping) {
		uint64_t now = now_ns();
		if (t->len == 0) {
			pthread_cond_wait(&t->cond, &t->lock);
			continue;
		}
		if (t->heap[0].due_ns > now) {
			struct timespec ts;
			uint64_t due = t->heap[0].due_ns;
			ts.tv_sec = (time_t)(due / 1000000000u);
			ts.tv_nsec = (long)(due % 1000000000u);
			pthread_cond_timedwait(&t->cond, &t->lock, &ts);
			continue;
		}
		while (t->len && t->heap[0].due_ns <= now) {
			struct MHD_Connection *c = t->heap[0].conn;
			t->heap[0] = t->heap[--t->len];
			sift_down(t->heap, t->len, 0);
			MHD_resume_connection(c);
		}
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

int mock_timer_start(mock_timer **out, hf_error *err)
{
	mock_timer *t = hf_calloc(1, sizeof(*t));
	pthread_condattr_t ca;
	*out = NULL;
	if (!t)
		return hf_err(err, HF_ENOMEM, "out of memory starting the mock timer");
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&t->thread, NULL, timer_main, t)) {
		pthread_cond_destroy(&t->cond);
		pthread_mutex_destroy(&t->lock);
		free(t);
		return hf_err(err, HF_ENOMEM, "cannot start the mock timer thread");
	}
	*out = t;
	return HF_OK;
}

bool mock_timer_suspend(mock_timer *t, struct MHD_Connection *conn, long ms)
{
	wakeup w;
	pthread_mutex_lock(&t->lock);
	if (t->stopping) {
		pthread_mutex_unlock(&t->lock);
		return false;
	}
	if (t->len == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		wakeup *h = hf_realloc(t->heap, cap * sizeof(*h));
		if (!h) {
			pthread_mutex_unlock(&t->lock);
			return false;
		}
		t->heap = h;
		t->cap = cap;
	}
	w.due_ns = now_ns() + (uint64_t)(ms > 0 ? ms : 0) * 1000000u;
	w.order = t->pushed++;
	w.conn = conn;
	MHD_suspend_connection(conn);
	t->heap[t->len] = w;
	sift_up(t->heap, t->len++);
	if (t->heap[0].order == w.order) /* a new earliest wake-up */
		pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
	return true;
}

void mock_timer_stop(mock_timer *t)
{
	size_t i;
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	if (t->stopping) {
		pthread_mutex_unlock(&t->lock);
		return;
	}
	t->stopping = true;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	/* No suspension is added once stopping is set: wake the ones waiting. */
	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->len; i++)
		MHD_resume_connection(t->heap[i].conn);
	t->len = 0;
	pthread_mutex_unlock(&t->lock);
}

void mock_timer_free(mock_timer *t)
{
	if (!t)
		return;
	mock_timer_stop(t);
	free(t->heap);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/*
 * serve_engine.c - the engine thread: hf_engine_perform in a loop, with a
 * queue of jobs run between steps (serve_engine.h).
 */
#include "serve_engine.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct job {
	void (*fn)(void *payload);
	void *payload;
	struct job *next;
} job;

struct serve_engine {
	hf_engine *engine;
	pthread_t thread;
	pthread_mutex_t mu;
	job *head, *tail;   /* under mu */
	bool stopping;      /* under mu */
};

/* Take the whole queue (under the lock) and run it in order. */
static void run_jobs(serve_engine *se)
{
	job *j, *next;

	pthread_mutex_lock(&se->mu);
	j = se->head;
	se->head = se->tail = NULL;
	pthread_mutex_unlock(&se->mu);
	for (; j; j = next) {
		next = j->next;
		j->fn(j->payload);
		free(j);
	}
}

static void *loop(void *arg)
{
	serve_engine *se = arg;
	hf_error err;
	bool stop = false;

	while (!stop) {
		run_jobs(se);
		/* A job posted during the wait wakes it (hf_engine_wakeup). A
		 * failing step (libcurl) is retried at the next round. */
		hf_engine_perform(se->engine, 1000, &err);
		pthread_mutex_lock(&se->mu);
		stop = se->stopping;
		pthread_mutex_unlock(&se->mu);
	}
	return NULL;
}

int serve_engine_start(serve_engine **out, const hf_engine_options *eo, hf_error *err)
{
	serve_engine *se = calloc(1, sizeof(*se));
	int rc;

	*out = NULL;
	if (!se) {
		if (err)
			*err = (hf_error){ .code = HF_ENOMEM, .message = "out of memory" };
		return HF_ENOMEM;
	}
	if ((rc = hf_engine_new(&se->engine, eo, err))) {
		free(se);
		return rc;
	}
	pthread_mutex_init(&se->mu, NULL);
	if (pthread_create(&se->thread, NULL, loop, se)) {
		hf_engine_free(se->engine);
		pthread_mutex_destroy(&se->mu);
		free(se);
		if (err)
			*err = (hf_error){ .code = HF_ENET,
			                   .message = "could not start the engine thread" };
		return HF_ENET;
	}
	*out = se;
	return HF_OK;
}

hf_engine *serve_engine_hf(serve_engine *se)
{
	return se->engine;
}

int serve_engine_post(serve_engine *se, void (*fn)(void *payload), void *payload,
                      hf_error *err)
{
	job *j = malloc(sizeof(*j));
	bool stopping;

	if (!j) {
		if (err)
			*err = (hf_error){ .code = HF_ENOMEM, .message = "out of memory" };
		return HF_ENOMEM;
	}
	*j = (job){ fn, payload, NULL };
	pthread_mutex_lock(&se->mu);
	if (!(stopping = se->stopping)) {
		if (se->tail)
			se->tail->next = j;
		else
			se->head = j;
		se->tail = j;
	}
	pthread_mutex_unlock(&se->mu);
	if (stopping) {
		free(j);
		if (err)
			*err = (hf_error){ .code = HF_EINVAL, .message = "the server is shutting down" };
		return HF_EINVAL;
	}
	hf_engine_wakeup(se->engine);
	return HF_OK;
}

void serve_engine_stop(serve_engine *se)
{
	job *j, *next;

	if (!se)
		return;
	pthread_mutex_lock(&se->mu);
	se->stopping = true;
	pthread_mutex_unlock(&se->mu);
	hf_engine_wakeup(se->engine);
	pthread_join(se->thread, NULL);
	/* This thread drives the engine now. Jobs queued before `stopping`
	 * still run (a turn they submit is cancelled by hf_engine_free). */
	for (j = se->head; j; j = next) {
		next = j->next;
		j->fn(j->payload);
		free(j);
	}
	se->head = se->tail = NULL;
	hf_engine_free(se->engine);
	pthread_mutex_destroy(&se->mu);
	free(se);
}

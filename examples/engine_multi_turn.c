/*
 * engine_multi_turn.c - several turns per conversation through the engine,
 * on one thread: each conversation's next turn is submitted from the
 * completion of its previous one, and the simple loop runs until none is
 * left.
 *
 *   ./engine_multi_turn [-n CONVERSATIONS] [-t TURNS] [GRAPH]
 *
 * Starts N conversations (default 100; half in Spanish, half in English),
 * each in its own in-memory session, runs TURNS turns in each (default 3)
 * and prints a summary: turns answered, and how many conversations stayed
 * with their language's agent from the first turn to the last.
 */
#include <handoff.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One conversation: its session and how far it got. */
typedef struct conversation {
	hf_session *session;
	bool spanish;
	int turns;            /* answered so far */
	bool stayed;          /* every answer came from its language's agent */
} conversation;

/* The application: what on_complete needs to submit the next turn. */
typedef struct app {
	hf_engine *engine;
	const hf_graph *graph;
	int turns;            /* per conversation */
	int ok, failed;
	char first_error[HF_ERROR_MESSAGE_MAX];
} app;

static const char *const spanish[] = {
	"¡Hola! ¿Puedes revisar el estado de mi pedido?",
	"Gracias. ¿Y cuándo llegará?",
	"¿Puedo cambiar la dirección de entrega?",
};
static const char *const english[] = {
	"Hello! Can you check the status of my order?",
	"Thanks. And when will it arrive?",
	"Can I change the delivery address?",
};

/* Queue turn number conv->turns of the conversation. Run options carry
 * the conversation to its completion (payload). */
static int submit_next(app *a, conversation *conv, hf_error *err)
{
	hf_run_options ro = HF_RUN_OPTIONS_INIT;
	const char *const *inputs = conv->spanish ? spanish : english;
	ro.payload = conv;
	return hf_engine_submit(NULL, a->engine, a->graph, conv->session, NULL,
	                        inputs[conv->turns % 3], &ro, err);
}

/* Each turn ends here, on the loop's thread. The session is ours again, so
 * the conversation's next turn can be submitted right away: the engine
 * counts it, and the loop below keeps going. */
static void on_complete(const hf_completion *c, void *payload)
{
	app *a = payload;
	conversation *conv = c->payload;
	hf_error err;

	if (c->code != HF_OK) {
		if (!a->failed++)
			snprintf(a->first_error, sizeof(a->first_error), "%s", c->error->message);
		return; /* this conversation stops here */
	}
	a->ok++;
	if (strcmp(c->agent, conv->spanish ? "Spanish agent" : "English agent"))
		conv->stayed = false;
	if (++conv->turns < a->turns && submit_next(a, conv, &err)) {
		if (!a->failed++)
			snprintf(a->first_error, sizeof(a->first_error), "%s", err.message);
	}
}

int main(int argc, char **argv)
{
	const char *path = getenv("HANDOFF_GRAPH");
	int n = 100, i, rc, left = 0, stayed = 0;
	app a = { 0 };
	hf_engine_options eo = HF_ENGINE_OPTIONS_INIT;
	hf_graph *graph = NULL;
	conversation *convs;
	hf_error err;

	a.turns = 3;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			n = (int)strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "-t") && i + 1 < argc)
			a.turns = (int)strtol(argv[++i], NULL, 10);
		else
			path = argv[i];
	}
	if (n < 1 || a.turns < 1 || !(convs = calloc((size_t)n, sizeof(*convs))))
		return 2;

	rc = hf_global_init(&err);
	if (!rc)
		rc = hf_graph_load(&graph, path ? path : "agents", NULL, &err);
	if (!rc) {
		a.graph = graph;
		eo.graph = graph;            /* endpoint defaults from its handoff.yaml */
		eo.on_complete = on_complete;
		eo.payload = &a;
		rc = hf_engine_new(&a.engine, &eo, &err);
	}
	/* Every conversation's first turn; the others follow from on_complete. */
	for (i = 0; !rc && i < n; i++) {
		char id[32];
		snprintf(id, sizeof(id), "conversation-%d", i);
		convs[i].spanish = i % 2 == 0;
		convs[i].stayed = true;
		rc = hf_session_new(&convs[i].session, id, &err);
		if (!rc)
			rc = submit_next(&a, &convs[i], &err);
	}

	/* The simple loop: the count includes turns submitted from callbacks,
	 * so it reaches 0 only after every conversation's last turn. */
	while (!rc && (left = hf_engine_perform(a.engine, 1000, &err)) > 0) {
	}
	if (rc || left < 0) {
		fprintf(stderr, "engine_multi_turn: %s\n", err.message);
		rc = 1;
	} else {
		for (i = 0; i < n; i++)
			stayed += convs[i].turns == a.turns && convs[i].stayed;
		printf("conversations=%d turns=%d ok=%d failed=%d stayed=%d\n", n, a.turns, a.ok,
		       a.failed, stayed);
	}
	if (a.failed)
		fprintf(stderr, "engine_multi_turn: first failure: %s\n", a.first_error);

	hf_engine_free(a.engine);
	for (i = 0; i < n; i++)
		hf_session_free(convs[i].session);
	free(convs);
	hf_graph_free(graph);
	hf_global_cleanup();
	return rc || a.failed ? 1 : 0;
}

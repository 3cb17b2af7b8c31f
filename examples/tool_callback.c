/*
 * tool_callback.c - a C tool inside a service: the Orders agent of
 * examples/graphs/orders calls `lookup_order`, which this program answers
 * from its own worker thread (standing in for a database pool), while the
 * engine's loop goes on with every other conversation.
 *
 *   ./tool_callback [-n CONVERSATIONS] [GRAPH]
 *
 * Each conversation asks about one order ("Where is my order A1003?").
 * The callback does not block the loop: it queues the lookup and returns
 * HF_TOOL_PENDING; the worker finds the order and completes the call with
 * hf_tool_call_complete. Prints each answer's agent and a summary line.
 */
#include <handoff.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the "database": a worker thread answering lookups ---- */

typedef struct lookup {
	hf_tool_call *call;
	char *arguments;
	struct lookup *next;
} lookup;

typedef struct worker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t ready;
	lookup *head, **tail;
	bool stop;
	int served;
} worker;

static const struct {
	const char *id, *status, *delivery;
} orders[] = {
	{ "A1001", "delivered", "2026-11-28" },
	{ "A1002", "in transit", "2026-12-04" },
	{ "A1003", "being packed", "2026-12-06" },
};

/* The order's record as the model will read it (owned), or an error text
 * with *found false. `arguments` is the JSON object the model sent; a real
 * service would parse it with its JSON library. */
static char *find_order(const char *arguments, bool *found)
{
	size_t i;
	char *out = malloc(160);
	*found = false;
	if (!out)
		return NULL;
	for (i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
		if (strstr(arguments, orders[i].id)) {
			snprintf(out, 160, "{\"order\":\"%s\",\"status\":\"%s\",\"delivery\":\"%s\"}",
			         orders[i].id, orders[i].status, orders[i].delivery);
			*found = true;
			return out;
		}
	}
	snprintf(out, 160, "no order matches %.100s", arguments);
	return out;
}

static void *work(void *arg)
{
	worker *w = arg;
	for (;;) {
		lookup *l;
		char *text;
		bool found;
		pthread_mutex_lock(&w->lock);
		while (!w->head && !w->stop)
			pthread_cond_wait(&w->ready, &w->lock);
		if (!w->head) {
			pthread_mutex_unlock(&w->lock);
			return NULL;
		}
		l = w->head;
		if (!(w->head = l->next))
			w->tail = &w->head;
		w->served++;
		pthread_mutex_unlock(&w->lock);

		text = find_order(l->arguments, &found);
		/* Any thread may complete a call, exactly once. A failure goes to
		 * the model as the tool's error text, so it can tell the user. */
		hf_tool_call_complete(l->call, text && found ? HF_OK : HF_ENOTFOUND, text);
		free(text);
		free(l->arguments);
		free(l);
	}
}

/* The tool: runs on the engine's driving thread, so it must not block.
 * It hands the lookup to the worker and answers "pending". */
static int lookup_order(hf_tool_call *call, const char *arguments, void *payload)
{
	worker *w = payload;
	lookup *l = calloc(1, sizeof(*l));
	if (!l || !(l->arguments = strdup(arguments))) {
		free(l);
		hf_tool_call_set_output(call, "out of memory");
		return HF_ENOMEM;
	}
	l->call = call;
	pthread_mutex_lock(&w->lock);
	*w->tail = l;
	w->tail = &l->next;
	pthread_cond_signal(&w->ready);
	pthread_mutex_unlock(&w->lock);
	return HF_TOOL_PENDING;
}

/* ---- the service ---- */

typedef struct app {
	int ok, failed;
	char first_error[HF_ERROR_MESSAGE_MAX];
} app;

static void on_complete(const hf_completion *c, void *payload)
{
	app *a = payload;
	if (c->code != HF_OK) {
		if (!a->failed++)
			snprintf(a->first_error, sizeof(a->first_error), "%s", c->error->message);
		return;
	}
	a->ok++;
	if (a->ok <= 3)
		printf("[%s] %s\n", c->agent, c->answer);
}

static const char order_schema[] =
	"{\"type\":\"object\",\"properties\":{\"order_id\":{\"type\":\"string\","
	"\"description\":\"The order number, such as A1002.\"}},"
	"\"required\":[\"order_id\"],\"additionalProperties\":false}";

int main(int argc, char **argv)
{
	const char *path = getenv("HANDOFF_GRAPH");
	int n = 20, i, rc;
	app a = { 0 };
	worker w = { .tail = &w.head };
	hf_tool_def def = HF_TOOL_DEF_INIT;
	hf_engine_options eo = HF_ENGINE_OPTIONS_INIT;
	hf_graph *graph = NULL;
	hf_tools *tools = NULL;
	hf_engine *engine = NULL;
	hf_session **sessions;
	hf_error err;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			n = (int)strtol(argv[++i], NULL, 10);
		else
			path = argv[i];
	}
	if (n < 1 || !(sessions = calloc((size_t)n, sizeof(*sessions))))
		return 2;
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.ready, NULL);
	if (pthread_create(&w.thread, NULL, work, &w))
		return 1;

	def.name = "lookup_order";
	def.description = "Look an order up by its number: status and delivery date.";
	def.parameters = order_schema;
	def.fn = lookup_order;
	def.payload = &w;
	rc = hf_global_init(&err);
	if (!rc)
		rc = hf_graph_load(&graph, path ? path : "examples/graphs/orders", NULL, &err);
	/* The tool set binds the graph's `tools:` to this program's callbacks
	 * (and would start the graph's MCP servers, if it declared any). */
	if (!rc)
		rc = hf_tools_new(&tools, graph, NULL, &err);
	if (!rc)
		rc = hf_tools_add(tools, &def, &err);
	if (!rc)
		rc = hf_tools_start(tools, NULL, &err);
	if (!rc) {
		eo.graph = graph;
		eo.on_complete = on_complete;
		eo.payload = &a;
		rc = hf_engine_new(&engine, &eo, &err);
	}
	for (i = 0; !rc && i < n; i++) {
		hf_run_options ro = HF_RUN_OPTIONS_INIT;
		char id[32], input[96];
		snprintf(id, sizeof(id), "order-desk-%d", i);
		snprintf(input, sizeof(input), "Where is my order? lookup_order order_id=A100%d",
		         1 + i % 3);
		ro.tools = tools;
		rc = hf_session_new(&sessions[i], id, &err);
		if (!rc)
			rc = hf_engine_submit(NULL, engine, graph, sessions[i], NULL, input, &ro, &err);
	}
	if (!rc)
		rc = hf_engine_run_until_idle(engine, &err);

	hf_engine_free(engine);
	pthread_mutex_lock(&w.lock);
	w.stop = true;
	pthread_cond_signal(&w.ready);
	pthread_mutex_unlock(&w.lock);
	pthread_join(w.thread, NULL);
	if (!rc)
		printf("%d answered, %d failed, %d lookups on the worker thread\n", a.ok, a.failed,
		       w.served);
	if (a.failed)
		fprintf(stderr, "tool_callback: first failure: %s\n", a.first_error);
	if (rc)
		fprintf(stderr, "tool_callback: %s\n", err.message);
	for (i = 0; i < n; i++)
		hf_session_free(sessions[i]);
	free(sessions);
	hf_tools_free(tools);
	hf_graph_free(graph);
	hf_global_cleanup();
	return rc || a.failed ? 1 : 0;
}

/*
 * streaming.c - watch a turn as it happens: agent switches, handoffs and
 * the answer's text as it streams in.
 *
 *   ./streaming [GRAPH] [TEXT]
 *
 * The answer goes to standard output as it arrives; everything else (who
 * is answering, handoffs, usage) to standard error.
 */
#include <handoff.h>
#include <stdio.h>
#include <stdlib.h>

/* Called on the thread running the turn, for every event of the turn.
 * Pointers in ev are valid only during the call. Return non-zero to stop. */
static int on_event(const hf_event *ev, void *payload)
{
	(void)payload;
	switch (ev->type) {
	case HF_EVENT_AGENT:
		fprintf(stderr, "[agent: %s]\n", ev->to);
		break;
	case HF_EVENT_HANDOFF:
		fprintf(stderr, "[handoff: %s -> %s (%s)]\n", ev->from, ev->to, ev->tool_name);
		break;
	case HF_EVENT_TEXT_DELTA:
		fwrite(ev->text, 1, ev->text_len, stdout); /* whole UTF-8 characters */
		fflush(stdout);
		break;
	case HF_EVENT_DONE:
		printf("\n");
		fprintf(stderr, "[done: %s, %llu model calls, %llu tokens]\n", ev->agent,
		        (unsigned long long)ev->usage.requests,
		        (unsigned long long)ev->usage.total_tokens);
		break;
	case HF_EVENT_ERROR:
		fprintf(stderr, "[error: %s]\n", ev->error->message);
		break;
	default: /* MESSAGE, USAGE, WARNING: not shown here */
		break;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : getenv("HANDOFF_GRAPH");
	const char *text = argc > 2 ? argv[2] : "Hello! What can you do for me?";
	hf_run_options opts = HF_RUN_OPTIONS_INIT;
	hf_graph *graph = NULL;
	hf_client *client = NULL;
	hf_session *session = NULL;
	hf_error err;
	int rc;

	opts.stream = 1;          /* ask the endpoint for a server-sent-event stream */
	opts.on_event = on_event; /* ... and show it as it comes */

	rc = hf_global_init(&err);
	if (!rc)
		rc = hf_graph_load(&graph, path ? path : "agents", NULL, &err);
	if (!rc)
		rc = hf_client_new(&client, NULL, graph, &err);
	if (!rc)
		rc = hf_session_new(&session, NULL, &err);
	if (!rc)
		rc = hf_run(NULL, client, graph, session, NULL, text, &opts, &err);
	if (rc)
		fprintf(stderr, "streaming: %s\n", err.message);

	hf_session_free(session);
	hf_client_free(client);
	hf_graph_free(graph);
	hf_global_cleanup();
	return rc ? 1 : 0;
}

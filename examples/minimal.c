/*
 * minimal.c - answer one input with the default triage graph.
 *
 *   HANDOFF_BASE_URL=http://127.0.0.1:8080/v1 ./minimal [GRAPH] [TEXT]
 *
 * The endpoint and key come from the environment (HANDOFF_BASE_URL,
 * HANDOFF_API_KEY) or the graph's handoff.yaml. GRAPH: $HANDOFF_GRAPH, else ./agents.
 */
#include <handoff.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : getenv("HANDOFF_GRAPH");
	const char *text = argc > 2 ? argv[2] : "Hola, ¿qué hora es en Madrid?";
	hf_graph *graph = NULL;
	hf_client *client = NULL;
	hf_session *session = NULL;
	char *answer = NULL;
	hf_error err;

	/* Each call returns 0 or an error code and fills err with a message. */
	int rc = hf_global_init(&err);
	if (!rc)
		rc = hf_graph_load(&graph, path ? path : "agents", NULL, &err);
	if (!rc)
		rc = hf_client_new(&client, NULL, graph, &err);
	if (!rc)
		rc = hf_session_new(&session, NULL, &err); /* in memory, not stored */
	if (!rc)
		rc = hf_run(&answer, client, graph, session, NULL, text, NULL, &err);
	if (rc)
		fprintf(stderr, "minimal: %s\n", err.message);
	else
		printf("%s: %s\n", hf_session_agent(session), answer);

	hf_free(answer);
	hf_session_free(session);
	hf_client_free(client);
	hf_graph_free(graph);
	hf_global_cleanup();
	return rc ? 1 : 0;
}

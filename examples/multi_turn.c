/*
 * multi_turn.c - one conversation across turns, kept in a SQLite store, so
 * it goes on where it stopped, even in another process.
 *
 *   ./multi_turn [-d DB] [-s SESSION] [GRAPH] < lines
 *
 * Each line of standard input is one user turn; each answer is printed as
 * "[agent] text". The session id (default "example") names the
 * conversation in the store (default: $HANDOFF_DB, else the user's state
 * directory). Run it twice with the same id: the second run remembers the
 * first, and a sticky graph starts at the agent that answered last.
 */
#include <handoff.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *db = NULL, *id = "example", *path = getenv("HANDOFF_GRAPH");
	hf_graph *graph = NULL;
	hf_client *client = NULL;
	hf_store *store = NULL;
	hf_session *session = NULL;
	char line[4096];
	hf_error err;
	int rc, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-d") && i + 1 < argc)
			db = argv[++i];
		else if (!strcmp(argv[i], "-s") && i + 1 < argc)
			id = argv[++i];
		else
			path = argv[i];
	}
	rc = hf_global_init(&err);
	if (!rc)
		rc = hf_graph_load(&graph, path ? path : "agents", NULL, &err);
	if (!rc)
		rc = hf_client_new(&client, NULL, graph, &err);
	if (!rc)
		rc = hf_store_open_sqlite(&store, db, &err); /* NULL: the default database */
	if (!rc) {
		/* Continue the stored conversation, or start it. */
		rc = hf_store_open_session(&session, store, id, &err);
	}
	if (!rc)
		printf("session %s: %zu messages so far\n", id, hf_session_message_count(session));

	while (!rc && fgets(line, sizeof(line), stdin)) {
		char *answer = NULL;
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0])
			continue;
		/* One turn: routed through the graph, then committed to the store
		 * in one transaction. A failed turn leaves the session unchanged. */
		rc = hf_run(&answer, client, graph, session, store, line, NULL, &err);
		if (!rc)
			printf("[%s] %s\n", hf_session_agent(session), answer);
		hf_free(answer);
	}
	if (rc)
		fprintf(stderr, "multi_turn: %s\n", err.message);
	else
		printf("session %s: %zu messages, held by %s\n", id,
		       hf_session_message_count(session), hf_session_agent(session));

	hf_session_free(session);
	hf_store_free(store);
	hf_client_free(client);
	hf_graph_free(graph);
	hf_global_cleanup();
	return rc ? 1 : 0;
}

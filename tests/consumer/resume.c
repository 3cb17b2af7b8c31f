/*
 * resume.c - the first program a user writes with a store, run twice by
 * install_test.sh on the same database and session id: the second run must
 * continue the conversation the first one stored.
 * Usage: resume GRAPH DB SESSION TEXT. Prints "before N", the first stored
 * message as "first ROLE: CONTENT" (when there is one), then "after N".
 */
#include <handoff.h>

#include <stdio.h>

int main(int argc, char **argv)
{
	hf_graph *g = NULL;
	hf_client *c = NULL;
	hf_store *st = NULL;
	hf_session *s = NULL;
	hf_message m;
	hf_error err;
	char *answer = NULL;
	int rc;
	if (argc != 5) {
		fprintf(stderr, "usage: resume GRAPH DB SESSION TEXT\n");
		return 2;
	}
	rc = hf_global_init(&err);
	if (!rc)
		rc = hf_graph_load(&g, argv[1], NULL, &err);
	if (!rc)
		rc = hf_client_new(&c, NULL, g, &err);
	if (!rc)
		rc = hf_store_open_sqlite(&st, argv[2], &err);
	if (!rc)
		rc = hf_store_open_session(&s, st, argv[3], &err);
	if (!rc) {
		printf("before %zu\n", hf_session_message_count(s));
		if (hf_session_message_count(s) && !(rc = hf_session_message(&m, s, 0, &err)))
			printf("first %s: %s\n", m.role, m.content ? m.content : "");
	}
	if (!rc)
		rc = hf_run(&answer, c, g, s, st, argv[4], NULL, &err);
	if (!rc)
		printf("after %zu\n", hf_session_message_count(s));
	else
		fprintf(stderr, "resume: %s\n", err.message);
	hf_free(answer);
	hf_session_free(s);
	hf_store_free(st);
	hf_client_free(c);
	hf_graph_free(g);
	hf_global_cleanup();
	return rc ? 1 : 0;
}

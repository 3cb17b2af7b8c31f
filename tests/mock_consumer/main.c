/* An application's test, written against the installed package only: it
 * starts the test helper <handoff/mock.h> on a free loopback port, points a
 * client at it and checks that the graph given as argv[1] (the default
 * graph) hands a Spanish message to the Spanish agent, in two requests.
 * docs/mock.md shows it; tests/install_test.sh builds it with pkg-config
 * (handoff-mock) and find_package (handoff::handoff_mock) and runs it. */
#include <handoff.h>
#include <handoff/mock.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	hf_mock_options mo = HF_MOCK_OPTIONS_INIT;
	hf_client_options co = HF_CLIENT_OPTIONS_INIT;
	hf_mock *mock = NULL;
	hf_graph *g = NULL;
	hf_client *c = NULL;
	hf_session *s = NULL;
	hf_error err = { 0 };
	char url[128], *answer = NULL, *first = NULL;
	int rc = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: mock_consumer GRAPH\n");
		return 2;
	}
	mo.log_memory = 1; /* keep every request the mock receives */
	if (hf_global_init(&err) || hf_mock_start(&mock, &mo, &err) ||
	    hf_graph_load(&g, argv[1], NULL, &err))
		goto out;
	snprintf(url, sizeof(url), "%s/v1", hf_mock_url(mock)); /* http://127.0.0.1:PORT/v1 */
	co.base_url = url;
	if (hf_client_new(&c, &co, g, &err) || hf_session_new(&s, NULL, &err) ||
	    hf_run(&answer, c, g, s, NULL, "Hola, ¿qué tal?", NULL, &err))
		goto out;
	first = hf_mock_log_get(mock, 0); /* {"seq":1,"method":"POST",...} */
	printf("%s: %s\n", hf_session_agent(s), answer);
	if (strcmp(hf_session_agent(s), "Spanish agent") || hf_mock_log_count(mock) != 2 ||
	    !first || !strstr(first, "\"transfer_to_spanish_agent\""))
		snprintf(err.message, sizeof(err.message), "unexpected routing (%zu requests)",
		         hf_mock_log_count(mock));
	else
		rc = 0;
out:
	if (rc)
		fprintf(stderr, "mock_consumer: %s\n", err.message);
	hf_free(first);
	hf_free(answer);
	hf_session_free(s);
	hf_client_free(c);
	hf_graph_free(g);
	hf_mock_stop(mock);
	hf_global_cleanup();
	return rc;
}

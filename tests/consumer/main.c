/* A program built against the installed libhandoff: loads the graph given
 * as argv[1] and prints its agents with their handoff tool names. */
#include <handoff.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	hf_graph *g = NULL;
	hf_error err;
	size_t i;

	if (argc != 2 || hf_global_init(&err) || hf_graph_load(&g, argv[1], NULL, &err)) {
		fprintf(stderr, "consumer: %s\n", argc != 2 ? "usage: consumer GRAPH" : err.message);
		return 1;
	}
	printf("handoff %s, entry %s\n", hf_version(), hf_agent_name(hf_graph_entry(g)));
	for (i = 0; i < hf_graph_agent_count(g); i++)
		printf("%s %s\n", hf_agent_name(hf_graph_agent_at(g, i)),
		       hf_agent_tool_name(hf_graph_agent_at(g, i)));
	hf_graph_free(g);
	hf_global_cleanup();
	return 0;
}

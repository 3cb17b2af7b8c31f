/*
 * fuzz_graph.c - the YAML graph loader (hf_graph_load_string): any bytes
 * give either a graph or HF_ECONFIG/HF_EINVAL/HF_ELIMIT with diagnostics,
 * never a crash or a leak. A loaded graph is walked and exported.
 */
#include "fuzz.h"

#include "handoff.h"

#include <string.h>

static void walk(const hf_graph *g)
{
	static const hf_graph_format formats[] = { HF_GRAPH_MERMAID, HF_GRAPH_DOT, HF_GRAPH_JSON };
	size_t i, j, n = hf_graph_agent_count(g);
	hf_error err;
	FUZZ_CHECK(n > 0 && hf_graph_entry(g) != NULL);
	for (i = 0; i < n; i++) {
		const hf_agent *a = hf_graph_agent_at(g, i);
		FUZZ_CHECK(a && hf_agent_name(a) && hf_agent_tool_name(a));
		FUZZ_CHECK(hf_graph_agent_by_name(g, hf_agent_name(a)) == a);
		FUZZ_CHECK(hf_graph_agent_by_tool(g, hf_agent_tool_name(a)) == a);
		for (j = 0; j < hf_agent_handoff_count(a); j++)
			FUZZ_CHECK(hf_agent_handoff_at(a, j) != NULL);
	}
	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		char *out = NULL;
		int rc = hf_graph_export(&out, g, formats[i], &err);
		FUZZ_CHECK(rc == HF_OK ? out != NULL : rc == HF_ENOMEM);
		hf_free(out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hf_graph *g = NULL;
	hf_diag *d = NULL;
	hf_error err;
	size_t i;
	int rc = hf_graph_load_string(&g, (const char *)data, size, "fuzz.yaml", &d, &err);

	if (rc == HF_OK) {
		FUZZ_CHECK(g != NULL && hf_diag_error_count(d) == 0);
		walk(g);
	} else {
		FUZZ_CHECK(g == NULL && rc < 0 && err.code == rc && err.message[0]);
		FUZZ_CHECK(rc != HF_ECONFIG || hf_diag_error_count(d) > 0);
	}
	for (i = 0; i < hf_diag_count(d); i++)
		FUZZ_CHECK(hf_diag_format(d, i) && hf_diag_message(d, i));
	hf_diag_free(d);
	hf_graph_free(g);
	return 0;
}

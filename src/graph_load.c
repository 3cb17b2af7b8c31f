/*
 * graph_load.c - loading an agent graph from YAML (being built).
 */
#include "graph.h"

int hf_graph_load(hf_graph **out, const char *path, hf_diag **diags, hf_error *err)
{
	*out = NULL;
	if (diags)
		*diags = NULL;
	return hf_err(err, HF_ECONFIG, "%s: graph loading is not built yet", path);
}

int hf_graph_load_string(hf_graph **out, const char *yaml, size_t len, const char *name,
                         hf_diag **diags, hf_error *err)
{
	(void)yaml;
	(void)len;
	*out = NULL;
	if (diags)
		*diags = NULL;
	return hf_err(err, HF_ECONFIG, "%s: graph loading is not built yet", name);
}

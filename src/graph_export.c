/*
 * graph_export.c - drawing an agent graph (being built).
 */
#include "graph.h"

int hf_graph_export(char **out, const hf_graph *g, hf_graph_format fmt, hf_error *err)
{
	(void)g;
	(void)fmt;
	*out = NULL;
	return hf_err(err, HF_EINVAL, "graph export is not built yet");
}

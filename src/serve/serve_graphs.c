/*
 * serve_graphs.c - the graphs handoff serve serves: each loaded and
 * validated (problems printed as file:line:col, like `handoff validate`),
 * its tool set started when its agents name tools or it declares MCP
 * servers, one reference-counted generation per load. A reload builds the
 * whole new set first and swaps it in under the lock; a generation is
 * freed when its last turn releases it.
 */
#include "serve.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct serve_graphs {
	pthread_mutex_t lock;
	serve_graph **cur; /* the current generation, one per graph */
	size_t n;
};

void serve_graph_release(serve_graph *g)
{
	if (!g || atomic_fetch_sub(&g->refs, 1) != 1)
		return;
	hf_tools_free(g->tools);
	hf_graph_free(g->graph);
	free(g->name);
	free(g);
}

static void print_diags(const hf_diag *d)
{
	size_t i;
	for (i = 0; i < hf_diag_count(d); i++)
		fprintf(stderr, "%s\n", hf_diag_format(d, i));
}

/* Whether the graph's agents name tools or it declares MCP servers (read
 * from its JSON export, the public view of it). */
static int needs_tools(const hf_graph *g, bool *yes, hf_error *err)
{
	char *text = NULL;
	cJSON *doc, *agent;
	int rc = hf_graph_export(&text, g, HF_GRAPH_JSON, err);
	*yes = false;
	if (rc)
		return rc;
	doc = cJSON_Parse(text);
	hf_free(text);
	if (!doc) {
		err->code = HF_ENOMEM;
		snprintf(err->message, sizeof(err->message), "out of memory reading the graph's tools");
		return HF_ENOMEM;
	}
	*yes = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "mcp_servers")) > 0;
	cJSON_ArrayForEach(agent, cJSON_GetObjectItemCaseSensitive(doc, "agents"))
		if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(agent, "tools")) > 0)
			*yes = true;
	cJSON_Delete(doc);
	return HF_OK;
}

/* Load one graph: a new generation with one reference. Problems are
 * printed; err names the graph. */
static int load_one(serve_graph **out, const serve_graph_arg *a, hf_error *err)
{
	serve_graph *g = calloc(1, sizeof(*g));
	hf_diag *d = NULL;
	bool tools;
	int rc;

	*out = NULL;
	if (!g || !(g->name = strdup(a->name))) {
		free(g);
		err->code = HF_ENOMEM;
		snprintf(err->message, sizeof(err->message), "out of memory loading graph %s", a->name);
		return HF_ENOMEM;
	}
	atomic_init(&g->refs, 1);
	rc = hf_graph_load(&g->graph, a->path, &d, err);
	print_diags(d);
	hf_diag_free(d);
	d = NULL;
	if (!rc)
		rc = needs_tools(g->graph, &tools, err);
	if (!rc && tools && !(rc = hf_tools_new(&g->tools, g->graph, NULL, err))) {
		rc = hf_tools_start(g->tools, &d, err);
		print_diags(d);
		hf_diag_free(d);
	}
	if (rc) {
		char why[HF_ERROR_MESSAGE_MAX];
		snprintf(why, sizeof(why), "%s", err->message[0] ? err->message : hf_code_name(rc));
		snprintf(err->message, sizeof(err->message), "graph %.100s (%.200s): %.700s", a->name,
		         a->path, why);
		err->code = rc;
		serve_graph_release(g);
		return rc;
	}
	*out = g;
	return HF_OK;
}

static void release_all(serve_graph **v, size_t n)
{
	size_t i;
	for (i = 0; v && i < n; i++)
		serve_graph_release(v[i]);
	free(v);
}

/* Load every graph of o into a new array; all or nothing. */
static int load_all(serve_graph ***out, const serve_options *o, hf_error *err)
{
	serve_graph **v = calloc(o->ngraphs ? o->ngraphs : 1, sizeof(*v));
	size_t i;
	int rc;
	*out = NULL;
	if (!v) {
		err->code = HF_ENOMEM;
		snprintf(err->message, sizeof(err->message), "out of memory loading the graphs");
		return HF_ENOMEM;
	}
	for (i = 0; i < o->ngraphs; i++) {
		if ((rc = load_one(&v[i], &o->graphs[i], err))) {
			release_all(v, i);
			return rc;
		}
	}
	*out = v;
	return HF_OK;
}

int serve_graphs_load(serve_graphs **out, const serve_options *o, hf_error *err)
{
	serve_graphs *gs = calloc(1, sizeof(*gs));
	int rc;
	*out = NULL;
	if (!gs) {
		err->code = HF_ENOMEM;
		snprintf(err->message, sizeof(err->message), "out of memory loading the graphs");
		return HF_ENOMEM;
	}
	if ((rc = load_all(&gs->cur, o, err))) {
		free(gs);
		return rc;
	}
	gs->n = o->ngraphs;
	pthread_mutex_init(&gs->lock, NULL);
	*out = gs;
	return HF_OK;
}

int serve_graphs_reload(serve_graphs *gs, const serve_options *o, hf_error *err)
{
	serve_graph **v, **old;
	size_t n;
	int rc = load_all(&v, o, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&gs->lock);
	old = gs->cur;
	n = gs->n;
	gs->cur = v;
	gs->n = o->ngraphs;
	pthread_mutex_unlock(&gs->lock);
	release_all(old, n); /* each generation goes when its last turn ends */
	return HF_OK;
}

serve_graph *serve_graphs_get(serve_graphs *gs, const char *name)
{
	serve_graph *g = NULL;
	size_t i;
	if (!name)
		return NULL;
	pthread_mutex_lock(&gs->lock);
	for (i = 0; i < gs->n; i++) {
		if (!strcmp(gs->cur[i]->name, name)) {
			g = gs->cur[i];
			atomic_fetch_add(&g->refs, 1);
			break;
		}
	}
	pthread_mutex_unlock(&gs->lock);
	return g;
}

void serve_graphs_each(serve_graphs *gs, void (*fn)(const char *name, void *payload),
                       void *payload)
{
	size_t i;
	pthread_mutex_lock(&gs->lock);
	for (i = 0; i < gs->n; i++)
		fn(gs->cur[i]->name, payload);
	pthread_mutex_unlock(&gs->lock);
}

void serve_graphs_free(serve_graphs *gs)
{
	if (!gs)
		return;
	release_all(gs->cur, gs->n);
	pthread_mutex_destroy(&gs->lock);
	free(gs);
}

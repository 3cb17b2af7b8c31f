/*
 * cmd_hub.c - Model Hub discovery: `handoff models [--provider P]`,
 * `handoff providers [--model M]` and `handoff model MODEL [--provider P]`.
 * Aligned tables on stdout (widths in terminal columns, so accented and CJK
 * names line up), or the JSON the endpoint sent with --json.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLUMNS 16
#define COLUMN_GAP 2

typedef enum hub_kind { HUB_MODELS, HUB_PROVIDERS, HUB_MODEL } hub_kind;

static const char *const hub_usage[] = {
	[HUB_MODELS] = "usage: handoff models [--provider P] [--json] [options]\n\n"
	               "List the models of the endpoint: the Model Hub's catalogue (base URL\n"
	               "ending in /compute), or the model list of a plain /v1 server.\n",
	[HUB_PROVIDERS] = "usage: handoff providers [--model M] [--json] [options]\n\n"
	                  "List the Model Hub's providers, or those serving model M.\n",
	[HUB_MODEL] = "usage: handoff model MODEL [--provider P] [--json] [options]\n\n"
	              "Show one model's detail and usage requirements (the headers and body\n"
	              "fields a request needs), for provider P when several serve it.\n",
};

/* Text safe for a terminal: s (owned, freed here) with its control
 * characters (C0, DEL, C1, bidi overrides) escaped; owned, NULL when out of
 * memory. */
static char *clean(char *s)
{
	char *e;
	hf_error err;
	hf_text_escape(&e, s, NULL, &err);
	free(s);
	return e;
}

static bool is_scalar(const cJSON *v)
{
	return cJSON_IsString(v) || cJSON_IsNumber(v) || cJSON_IsBool(v);
}

/* A value that fits in one cell: a scalar or a list of scalars. */
static bool is_cell(const cJSON *v)
{
	const cJSON *e;
	if (is_scalar(v))
		return true;
	if (!cJSON_IsArray(v))
		return false;
	cJSON_ArrayForEach(e, v)
		if (!is_scalar(e))
			return false;
	return true;
}

static void scalar_text(FILE *b, const cJSON *v)
{
	if (cJSON_IsString(v))
		fputs(v->valuestring, b);
	else if (cJSON_IsBool(v))
		fputs(cJSON_IsTrue(v) ? "yes" : "no", b);
	else if (!cJSON_IsNumber(v))
		fputs("-", b);
	else if (v->valuedouble == (double)(long long)v->valuedouble && v->valuedouble < 1e15 &&
	         v->valuedouble > -1e15)
		fprintf(b, "%lld", (long long)v->valuedouble);
	else
		fprintf(b, "%g", v->valuedouble);
}

/* The text of a cell (owned): scalars as they read, lists joined by ", ". */
static char *cell_text(const cJSON *v)
{
	char *s = NULL;
	size_t len;
	FILE *b = open_memstream(&s, &len);
	const cJSON *e;
	if (!b)
		return NULL;
	if (cJSON_IsArray(v)) {
		cJSON_ArrayForEach(e, v) {
			if (e != v->child)
				fputs(", ", b);
			scalar_text(b, e);
		}
	} else if (v) {
		scalar_text(b, v);
	}
	if (fclose(b) != 0) {
		free(s);
		s = NULL;
	}
	return s ? clean(s) : NULL;
}

static void pad(size_t n)
{
	while (n--)
		putchar(' ');
}

/* One aligned row of n cells; the last one is not padded. */
static void print_row(char **cells, const size_t *width, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		fputs(cells[i], stdout);
		if (i + 1 < n)
			pad(width[i] - hf_text_width(cells[i]) + COLUMN_GAP);
	}
	putchar('\n');
}

/* A list of objects as a table: one column per key that holds a cell
 * value, in first-seen order (the OpenAI list's constant "object" left
 * out), headed by the key in capitals. */
static int print_table(const cJSON *list, const char *what)
{
	const char *keys[MAX_COLUMNS];
	size_t width[MAX_COLUMNS], ncols = 0, nrows = (size_t)cJSON_GetArraySize(list), r, i;
	char **cells;
	const cJSON *row, *v;
	bool ok = true;

	if (!nrows) {
		cli_note("no %s\n", what);
		return HF_EXIT_OK;
	}
	cJSON_ArrayForEach(row, list) {
		cJSON_ArrayForEach(v, row) {
			if (ncols == MAX_COLUMNS || !is_cell(v) || !strcmp(v->string, "object"))
				continue;
			for (i = 0; i < ncols && strcmp(keys[i], v->string); i++)
				;
			if (i == ncols)
				keys[ncols++] = v->string;
		}
	}
	cells = calloc((nrows + 1) * (ncols ? ncols : 1), sizeof(char *));
	if (!cells)
		return HF_EXIT_ERROR;
	for (i = 0; i < ncols; i++) {
		char *h = strdup(keys[i]), *p;
		for (p = h; p && *p; p++)
			*p = *p == '_' ? ' ' : (char)toupper((unsigned char)*p);
		cells[i] = h;
	}
	r = 1;
	cJSON_ArrayForEach(row, list) {
		for (i = 0; i < ncols; i++)
			cells[r * ncols + i] = cell_text(cJSON_GetObjectItemCaseSensitive(row, keys[i]));
		r++;
	}
	for (i = 0; i < ncols * (nrows + 1); i++)
		ok = ok && cells[i];
	for (i = 0; ok && i < ncols; i++) {
		width[i] = 0;
		for (r = 0; r <= nrows; r++) {
			size_t w = hf_text_width(cells[r * ncols + i]);
			if (w > width[i])
				width[i] = w;
		}
	}
	for (r = 0; ok && r <= nrows; r++)
		print_row(cells + r * ncols, width, ncols);
	for (i = 0; i < ncols * (nrows + 1); i++)
		free(cells[i]);
	free(cells);
	return ok ? HF_EXIT_OK : HF_EXIT_ERROR;
}

/* Flatten an object into "key value" pairs: nested objects as a.b, lists
 * of objects as a[0].b, everything else as one cell. */
typedef struct pairs {
	char **key, **val;
	size_t n, cap;
} pairs;

static bool pairs_add(pairs *p, const char *key, const cJSON *v)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;
		char **k = realloc(p->key, cap * sizeof(char *)), **w;
		if (k)
			p->key = k;
		w = realloc(p->val, cap * sizeof(char *));
		if (w)
			p->val = w;
		if (!k || !w)
			return false;
		p->cap = cap;
	}
	p->key[p->n] = strdup(key);
	p->val[p->n] = cell_text(v);
	if (p->key[p->n])
		p->key[p->n] = clean(p->key[p->n]);
	return p->key[p->n] && p->val[p->n++];
}

static bool flatten(pairs *p, const char *prefix, const cJSON *v)
{
	const cJSON *e;
	char key[512];
	int i = 0;

	if (is_cell(v) || cJSON_IsNull(v) || (!cJSON_IsObject(v) && !cJSON_IsArray(v)))
		return pairs_add(p, prefix, v);
	cJSON_ArrayForEach(e, v) {
		if (cJSON_IsObject(v))
			snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", e->string);
		else
			snprintf(key, sizeof(key), "%s[%d]", prefix, i++);
		if (!flatten(p, key, e))
			return false;
	}
	return true;
}

static int print_detail(const cJSON *obj)
{
	pairs p = { 0 };
	size_t i, w = 0;
	bool ok = flatten(&p, "", obj);
	for (i = 0; ok && i < p.n; i++)
		if (hf_text_width(p.key[i]) > w)
			w = hf_text_width(p.key[i]);
	for (i = 0; ok && i < p.n; i++) {
		char *row[2] = { p.key[i], p.val[i] };
		size_t width[1] = { w };
		print_row(row, width, 2);
	}
	for (i = 0; i < p.n; i++) {
		free(p.key[i]);
		free(p.val[i]);
	}
	free(p.key);
	free(p.val);
	return ok ? HF_EXIT_OK : HF_EXIT_ERROR;
}

static int hub_main(hub_kind kind, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "graph", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		CLI_ENDPOINT_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = argv[0], *model = NULL, *graph_path = NULL;
	bool json = false;
	cli_endpoint e;
	hf_graph *graph = NULL;
	hf_client *client = NULL;
	hf_error err;
	char *out = NULL;
	int opt, status = HF_EXIT_OK, rc;

	cli_endpoint_init(&e, cmd);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_endpoint_option(&e, opt, optarg, &status)) {
			if (status)
				return status;
			continue;
		}
		switch (opt) {
		case 'm':
			if (kind != HUB_PROVIDERS)
				return cli_usage_error(cmd, "--model is for 'handoff providers'");
			model = optarg;
			break;
		case 'j': json = true; break;
		case 'g': graph_path = optarg; break;
		case 'h':
			printf("%s\noptions:\n"
			       "      --json                 print the JSON the endpoint sent\n"
			       "      --graph PATH           take endpoint defaults from a graph file\n"
			       "%s",
			       hub_usage[kind], cli_endpoint_help);
			return HF_EXIT_OK;
		default:
			return cli_usage_error(cmd, "unknown option");
		}
	}
	if (kind == HUB_MODEL) {
		if (optind + 1 != argc)
			return cli_usage_error(cmd, "name one model: handoff model MODEL");
		model = argv[optind];
	} else if (optind != argc) {
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	}
	if (graph_path && (status = cli_load_graph(&graph, graph_path, true)) != HF_EXIT_OK)
		return status;
	rc = hf_client_new(&client, &e.opts, graph, &err);
	if (!rc) {
		if (kind == HUB_MODELS)
			rc = hf_hub_models(&out, client, e.opts.provider, &err);
		else if (kind == HUB_PROVIDERS)
			rc = hf_hub_providers(&out, client, model, &err);
		else
			rc = hf_hub_model_detail(&out, client, model, e.opts.provider, &err);
	}
	if (rc) {
		status = cli_fail(&err);
	} else if (json) {
		printf("%s\n", out);
	} else {
		cJSON *root = cJSON_Parse(out);
		if (!root)
			status = HF_EXIT_ERROR;
		else if (kind == HUB_MODEL)
			status = print_detail(root);
		else
			status = print_table(root, kind == HUB_MODELS ? "models" : "providers");
		cJSON_Delete(root);
	}
	if (fflush(stdout) != 0 && status == HF_EXIT_OK)
		status = HF_EXIT_ERROR;
	hf_free(out);
	hf_client_free(client);
	hf_graph_free(graph);
	return status;
}

int hf_cmd_models(int argc, char **argv)
{
	return hub_main(HUB_MODELS, argc, argv);
}

int hf_cmd_providers(int argc, char **argv)
{
	return hub_main(HUB_PROVIDERS, argc, argv);
}

int hf_cmd_model(int argc, char **argv)
{
	return hub_main(HUB_MODEL, argc, argv);
}

/*
 * tools.c - a tool set (see "Tools" in handoff.h and tools.h): the C
 * callbacks an application registers, the MCP host of the graph's
 * servers, each agent's binding of its `tools:` to them (with the tools
 * array of its requests), and calls.
 *
 * A binding is immutable and reference-counted: a request holds the one
 * it was built from while a server's re-list (tools/list_changed)
 * publishes a new one under the set's lock. Bindings are made lazily per
 * server generation: when a server's list changed since the agent's
 * binding was made, the next request rebuilds it.
 *
 * A call is reference-counted too: the turn holds one reference, and a
 * call that completes later holds one for its completer (the application's
 * thread, the MCP host's). Completion and cancellation meet under the
 * call's lock: exactly one of them wins, so a completion after the turn
 * was cancelled only drops its reference and never reaches the sink.
 */
#include "tools.h"

#include "mcp.h"
#include "text.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_CONCURRENCY 8
#define DEFAULT_START_TIMEOUT_MS 30000
#define NO_SERVER ((size_t)-1)
#define NAME_MAX_LEN 64

/* The Agents SDK's default_tool_error_function (src/agents/tool.py), and
 * its wording for arguments that are not JSON. */
#define TOOL_ERROR_PREFIX "An error occurred while running the tool. Please try again. Error: "
#define ARGS_ERROR_PREFIX \
	"An error occurred while parsing tool arguments. Please try again with valid JSON. Error: "

/* The empty strict schema of a tool without arguments (the handoff tools'
 * key order). */
static const char empty_params[] =
	"{\"additionalProperties\":false,\"type\":\"object\",\"properties\":{},\"required\":[]}";

typedef struct c_tool {
	char *name;
	char *description;
	char *parameters; /* compact JSON text */
	int strict;
	hf_tool_fn fn;
	void *payload;
	void (*on_cancel)(hf_tool_call *call, void *payload);
} c_tool;

/* One function tool offered to an agent. Strings are borrowed from the
 * c_tool or the MCP list the binding holds, except params_owned. */
typedef struct bound_tool {
	const char *name;
	const char *description;
	const char *parameters;
	char *params_owned;
	bool strict;
	const c_tool *ct;   /* a C callback, or NULL */
	size_t server;      /* the MCP server, or NO_SERVER */
} bound_tool;

typedef struct binding {
	hf_agent_wire wire; /* first: hf_tools_wire hands out &wire */
	atomic_int refs;
	bound_tool *tools;
	size_t n;
	hf_mcp_tools **lists; /* [nservers]: the lists bound (references) or NULL */
} binding;

struct hf_tools {
	const hf_graph *g;
	hf_tools_options opts;
	c_tool *ctools;
	size_t nctools;
	hf_mcp_host *host;
	bool started;
	pthread_mutex_t lock; /* bindings */
	binding **bindings;   /* [nagents]: current; NULL for an agent without tools */
	bool *uses;           /* [nagents * nservers]: agent i names server j */
	char *base_dir;
};

enum { CALL_RUNNING, CALL_DONE, CALL_CANCELLED };

struct hf_tool_call {
	atomic_int refs;
	pthread_mutex_t lock;   /* state changes and posting */
	atomic_int state;
	hf_tools *ts;
	char *name, *id, *agent, *session;
	void *turn_payload;
	const c_tool *ct;
	size_t server;
	uint64_t mcp_id;
	hf_tool_sink *sink;
	hf_tool_call *link;
	size_t index;
	bool in_callback;
	char *output;           /* hf_tool_call_set_output */
	/* the result */
	int code;
	bool is_error;
	char *text;
	const char *origin;
};

/* ---------------------------------------------------------------- */
/* Checks                                                            */
/* ---------------------------------------------------------------- */

static bool valid_name(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return n >= 1 && n <= NAME_MAX_LEN;
}

static bool type_is(const cJSON *type, const char *name)
{
	const cJSON *t;
	if (cJSON_IsString(type))
		return !strcmp(type->valuestring, name);
	cJSON_ArrayForEach(t, type)
		if (cJSON_IsString(t) && !strcmp(t->valuestring, name))
			return true;
	return false;
}

static bool in_required(const cJSON *required, const char *key)
{
	const cJSON *r;
	cJSON_ArrayForEach(r, required)
		if (cJSON_IsString(r) && !strcmp(r->valuestring, key))
			return true;
	return false;
}

/* "a.b" from path and key (owned; NULL when out of memory). */
static char *join_path(const char *path, const char *key)
{
	return *path ? hf_asprintf("%s.%s", path, key) : hf_strdup(key);
}

/* The strict mode of function calling, recursively: every object has
 * "additionalProperties": false and lists each property in "required".
 * `path` names the property being checked ("" for the arguments). */
static int check_strict(const cJSON *s, const char *path, const char *tool, hf_error *err)
{
	static const char *const lists[] = { "anyOf", "oneOf", "allOf" };
	static const char *const maps[] = { "$defs", "definitions" };
	const cJSON *type, *props, *required, *ap, *p;
	const char *where = *path ? path : "the arguments";
	size_t i;
	int rc;

	if (!cJSON_IsObject(s))
		return hf_err(err, HF_EINVAL, "tool '%s': the schema of %s%s%s is not a JSON object",
		              tool, *path ? "property '" : "", where, *path ? "'" : "");
	type = cJSON_GetObjectItemCaseSensitive(s, "type");
	props = cJSON_GetObjectItemCaseSensitive(s, "properties");
	if (!*path && !type_is(type, "object"))
		return hf_err(err, HF_EINVAL,
		              "tool '%s': parameters must be a schema with \"type\": \"object\"", tool);
	if (type_is(type, "object") || props) {
		required = cJSON_GetObjectItemCaseSensitive(s, "required");
		ap = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
		if (!cJSON_IsFalse(ap))
			return hf_err(err, HF_EINVAL,
			              "tool '%s': %s%s%s needs \"additionalProperties\": false (strict mode)",
			              tool, *path ? "property '" : "", where, *path ? "'" : "");
		if (props && !cJSON_IsObject(props))
			return hf_err(err, HF_EINVAL, "tool '%s': \"properties\" of %s is not an object",
			              tool, where);
		if (required && !cJSON_IsArray(required))
			return hf_err(err, HF_EINVAL, "tool '%s': \"required\" of %s is not a list", tool,
			              where);
		cJSON_ArrayForEach(p, props) {
			char *sub = join_path(path, p->string);
			if (!sub)
				return hf_err(err, HF_ENOMEM, "out of memory checking tool '%s'", tool);
			if (!in_required(required, p->string))
				rc = hf_err(err, HF_EINVAL,
				            "tool '%s': property '%s' is not listed in \"required\" (strict "
				            "mode requires every property; make an optional one nullable)",
				            tool, sub);
			else
				rc = check_strict(p, sub, tool, err);
			free(sub);
			if (rc)
				return rc;
		}
	}
	if ((p = cJSON_GetObjectItemCaseSensitive(s, "items")) && cJSON_IsObject(p)) {
		char *sub = hf_asprintf("%s[]", *path ? path : "arguments");
		rc = sub ? check_strict(p, sub, tool, err)
		         : hf_err(err, HF_ENOMEM, "out of memory checking tool '%s'", tool);
		free(sub);
		if (rc)
			return rc;
	}
	for (i = 0; i < HF_ARRAY_LEN(lists); i++) {
		const cJSON *alt;
		cJSON_ArrayForEach(alt, cJSON_GetObjectItemCaseSensitive(s, lists[i]))
			if (cJSON_IsObject(alt) &&
			    (type_is(cJSON_GetObjectItemCaseSensitive(alt, "type"), "object") ||
			     cJSON_GetObjectItemCaseSensitive(alt, "properties")) &&
			    (rc = check_strict(alt, *path ? path : "arguments", tool, err)))
				return rc;
	}
	for (i = 0; i < HF_ARRAY_LEN(maps); i++) {
		const cJSON *def;
		cJSON_ArrayForEach(def, cJSON_GetObjectItemCaseSensitive(s, maps[i])) {
			char *sub = hf_asprintf("%s/%s", maps[i], def->string);
			rc = sub ? check_strict(def, sub, tool, err)
			         : hf_err(err, HF_ENOMEM, "out of memory checking tool '%s'", tool);
			free(sub);
			if (rc)
				return rc;
		}
	}
	return HF_OK;
}

/* ---------------------------------------------------------------- */
/* The set                                                           */
/* ---------------------------------------------------------------- */

int hf_tools_new(hf_tools **out, const hf_graph *graph, const hf_tools_options *opts,
                 hf_error *err)
{
	hf_tools_options defaults = HF_TOOLS_OPTIONS_INIT;
	hf_tools *ts;

	if (out)
		*out = NULL;
	if (!out || !graph)
		return hf_err(err, HF_EINVAL, "hf_tools_new: a graph is required");
	if (opts && opts->version != HF_TOOLS_OPTIONS_VERSION)
		return hf_err(err, HF_EINVAL, "hf_tools_options version %u is not supported (expected %u)",
		              opts->version, HF_TOOLS_OPTIONS_VERSION);
	if (opts && (opts->max_concurrency < 0 || opts->start_timeout_ms < 0))
		return hf_err(err, HF_EINVAL,
		              "hf_tools_options: max_concurrency and start_timeout_ms must be >= 0");
	if (!(ts = hf_calloc(1, sizeof(*ts))))
		return hf_err(err, HF_ENOMEM, "out of memory creating a tool set");
	ts->g = graph;
	ts->opts = opts ? *opts : defaults;
	if (!ts->opts.max_concurrency)
		ts->opts.max_concurrency = DEFAULT_CONCURRENCY;
	if (!ts->opts.start_timeout_ms)
		ts->opts.start_timeout_ms = DEFAULT_START_TIMEOUT_MS;
	pthread_mutex_init(&ts->lock, NULL);
	*out = ts;
	return HF_OK;
}

static void c_tool_dispose(c_tool *ct)
{
	free(ct->name);
	free(ct->description);
	free(ct->parameters);
}

int hf_tools_add(hf_tools *ts, const hf_tool_def *def, hf_error *err)
{
	cJSON *schema = NULL;
	c_tool ct = { 0 }, *v;
	size_t i;
	int rc;

	if (!ts || !def)
		return hf_err(err, HF_EINVAL, "hf_tools_add: a tool set and a definition are required");
	if (def->version != HF_TOOL_DEF_VERSION)
		return hf_err(err, HF_EINVAL, "hf_tool_def version %u is not supported (expected %u)",
		              def->version, HF_TOOL_DEF_VERSION);
	if (ts->started)
		return hf_err(err, HF_EINVAL, "hf_tools_add: tool '%s' comes after hf_tools_start; "
		              "register every tool before starting the set",
		              def->name ? def->name : "(no name)");
	if (!def->name || !valid_name(def->name))
		return hf_err(err, HF_EINVAL,
		              "hf_tools_add: the tool name '%s' is not 1 to 64 of A-Z a-z 0-9 _ -",
		              def->name ? def->name : "");
	if (!def->fn)
		return hf_err(err, HF_EINVAL, "hf_tools_add: tool '%s' has no callback (fn)", def->name);
	for (i = 0; i < ts->nctools; i++)
		if (!strcmp(ts->ctools[i].name, def->name))
			return hf_err(err, HF_EINVAL, "hf_tools_add: a tool named '%s' is already registered",
			              def->name);
	if (def->description && !hf_text_utf8_valid(def->description, strlen(def->description), NULL))
		return hf_err(err, HF_EINVAL, "tool '%s': the description is not valid UTF-8", def->name);
	if (def->parameters) {
		if (!(schema = hf_json_parse(def->parameters, strlen(def->parameters))))
			return hf_err(err, HF_EINVAL, "tool '%s': parameters is not valid JSON", def->name);
		if ((rc = check_strict(schema, "", def->name, err))) {
			cJSON_Delete(schema);
			return rc;
		}
	}
	ct.name = hf_strdup(def->name);
	ct.description = hf_strdup(def->description);
	ct.parameters = schema ? cJSON_PrintUnformatted(schema) : hf_strdup(empty_params);
	cJSON_Delete(schema);
	ct.strict = def->strict;
	ct.fn = def->fn;
	ct.payload = def->payload;
	ct.on_cancel = def->on_cancel;
	v = ct.name && ct.parameters && (ct.description || !def->description)
	            ? hf_realloc(ts->ctools, (ts->nctools + 1) * sizeof(*v))
	            : NULL;
	if (!v) {
		c_tool_dispose(&ct);
		return hf_err(err, HF_ENOMEM, "out of memory registering tool '%s'", def->name);
	}
	ts->ctools = v;
	ts->ctools[ts->nctools++] = ct;
	return HF_OK;
}

static const c_tool *find_c_tool(const hf_tools *ts, const char *name)
{
	size_t i;
	for (i = 0; i < ts->nctools; i++)
		if (!strcmp(ts->ctools[i].name, name))
			return &ts->ctools[i];
	return NULL;
}

static size_t find_server(const hf_graph *g, const char *name)
{
	size_t i;
	for (i = 0; i < g->nservers; i++)
		if (!strcmp(g->servers[i].name, name))
			return i;
	return NO_SERVER;
}

static bool listed(char *const *names, const char *name)
{
	for (; names && *names; names++)
		if (!strcmp(*names, name))
			return true;
	return false;
}

/* ---------------------------------------------------------------- */
/* Bindings                                                          */
/* ---------------------------------------------------------------- */

static void binding_free(binding *b, size_t nservers)
{
	size_t i;
	if (!b)
		return;
	hf_chat_wire_dispose(&b->wire);
	for (i = 0; i < b->n; i++)
		free(b->tools[i].params_owned);
	free(b->tools);
	for (i = 0; b->lists && i < nservers; i++)
		if (b->lists[i])
			hf_mcp_tools_release(b->lists[i]);
	free(b->lists);
	free(b);
}

/* The tag of a binding's wire (its cache member is not in any agent). */
static void binding_tag(hf_agent_cache *c)
{
	(void)c;
}

static void binding_unref(hf_tools *ts, binding *b)
{
	if (b && atomic_fetch_sub(&b->refs, 1) == 1)
		binding_free(b, ts->g->nservers);
}

/* Where binding problems go: the diagnostics at start, the log after. */
typedef struct bind_ctx {
	hf_tools *ts;
	const hf_agent *a;
	hf_diag *d;     /* NULL: log */
	bool oom;
} bind_ctx;

static void report(bind_ctx *x, const hf_agent_tool *at, const char *fmt, ...) HF_PRINTF(3, 4);

static void report(bind_ctx *x, const hf_agent_tool *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (x->d) {
		if (hf_diag_addv(x->d, HF_SEV_ERROR, x->a->file ? x->a->file : x->ts->g->source,
		                 at ? at->line : x->a->line, at ? at->col : x->a->col, fmt, ap))
			x->oom = true;
	} else if (hf_log_enabled(HF_LOG_WARN)) {
		char msg[1024];
		vsnprintf(msg, sizeof(msg), fmt, ap);
		hf_log(HF_LOG_WARN, "tools of agent '%s' after a server's re-list: %s", x->a->name, msg);
	}
	va_end(ap);
}

/* " (did you mean 'x'?)" into buf, or "". */
static const char *suggest(char *buf, size_t cap, const char *word, const char *const *cands,
                           size_t n)
{
	const char *near = hf_diag_nearest(word, cands, n);
	if (near)
		snprintf(buf, cap, " (did you mean '%s'?)", near);
	else
		buf[0] = '\0';
	return buf;
}

/* Add one tool to b, refusing names the agent's tools or handoffs have. */
static void bind_one(bind_ctx *x, binding *b, const hf_agent_tool *at, bound_tool *bt)
{
	const hf_agent *a = x->a;
	bound_tool *v;
	size_t i;
	for (i = 0; i < b->n; i++)
		if (!strcmp(b->tools[i].name, bt->name)) {
			report(x, at, "agent '%s' is offered two tools named '%s' (%s and %s); "
			       "a function name must be unique per agent",
			       a->name, bt->name,
			       b->tools[i].server == NO_SERVER ? "a C callback"
			                                       : x->ts->g->servers[b->tools[i].server].name,
			       bt->server == NO_SERVER ? "a C callback" : x->ts->g->servers[bt->server].name);
			free(bt->params_owned);
			return;
		}
	for (i = 0; i < a->nhandoffs; i++)
		if (!strcmp(a->handoffs[i]->tool_name, bt->name)) {
			report(x, at, "tool '%s' of agent '%s' has the name of its handoff tool to '%s'",
			       bt->name, a->name, a->handoffs[i]->name);
			free(bt->params_owned);
			return;
		}
	if (!(v = hf_realloc(b->tools, (b->n + 1) * sizeof(*v)))) {
		free(bt->params_owned);
		x->oom = true;
		return;
	}
	b->tools = v;
	b->tools[b->n++] = *bt;
}

/* An MCP tool as a function tool: its inputSchema (with "properties" added
 * when it has none, as the SDK's MCPUtil does), sent non-strict. */
static void bind_mcp(bind_ctx *x, binding *b, const hf_agent_tool *at, size_t server,
                     const hf_mcp_tool *mt)
{
	bound_tool bt = { .name = mt->name, .description = mt->description, .server = server };
	cJSON *schema;
	if (!valid_name(mt->name)) {
		report(x, at, "tool '%s' of MCP server '%s' has a name a model cannot call (1 to 64 of "
		       "A-Z a-z 0-9 _ -)%s", mt->name, x->ts->g->servers[server].name,
		       strcmp(at->name, "*") ? "" : "; list it under the server's deny:");
		return;
	}
	schema = hf_json_parse(mt->input_schema, strlen(mt->input_schema));
	if (!cJSON_IsObject(schema)) {
		cJSON_Delete(schema);
		report(x, at, "tool '%s' of MCP server '%s' has an inputSchema that is not a JSON object",
		       mt->name, x->ts->g->servers[server].name);
		return;
	}
	if (!cJSON_GetObjectItemCaseSensitive(schema, "properties") &&
	    !cJSON_AddObjectToObject(schema, "properties"))
		x->oom = true;
	bt.params_owned = cJSON_PrintUnformatted(schema);
	cJSON_Delete(schema);
	if (!bt.params_owned) {
		x->oom = true;
		return;
	}
	bt.parameters = bt.params_owned;
	bind_one(x, b, at, &bt);
}

static void bind_server_entry(bind_ctx *x, binding *b, const hf_agent_tool *at)
{
	const hf_graph *g = x->ts->g;
	size_t s = find_server(g, at->server), i;
	const hf_mcp_server_conf *sc;
	const hf_mcp_tools *list;
	char hint[160];

	if (s == NO_SERVER) {
		const char **names = hf_calloc(g->nservers + 1, sizeof(*names));
		for (i = 0; names && i < g->nservers; i++)
			names[i] = g->servers[i].name;
		report(x, at, "agent '%s' names tool '%s.%s' of MCP server '%s', which mcp_servers does "
		       "not declare%s", x->a->name, at->server, at->name, at->server,
		       names ? suggest(hint, sizeof(hint), at->server, names, g->nservers) : "");
		free(names);
		return;
	}
	sc = &g->servers[s];
	if (!(list = b->lists[s])) /* the server is down: the host reported it */
		return;
	if (!strcmp(at->name, "*")) {
		for (i = 0; i < list->n; i++)
			if ((!sc->allow || listed(sc->allow, list->tools[i].name)) &&
			    !listed(sc->deny, list->tools[i].name))
				bind_mcp(x, b, at, s, &list->tools[i]);
		return;
	}
	for (i = 0; i < list->n; i++)
		if (!strcmp(list->tools[i].name, at->name)) {
			bind_mcp(x, b, at, s, &list->tools[i]);
			return;
		}
	{
		const char **names = hf_calloc(list->n + 1, sizeof(*names));
		for (i = 0; names && i < list->n; i++)
			names[i] = list->tools[i].name;
		report(x, at, "MCP server '%s' lists no tool '%s'%s", at->server, at->name,
		       names ? suggest(hint, sizeof(hint), at->name, names, list->n) : "");
		free(names);
	}
}

static cJSON *function_tool(const bound_tool *bt)
{
	cJSON *tool = cJSON_CreateObject(), *fn = cJSON_CreateObject();
	cJSON *params = hf_json_parse(bt->parameters, strlen(bt->parameters));
	bool ok = tool && fn && params && cJSON_AddStringToObject(tool, "type", "function") &&
	          cJSON_AddStringToObject(fn, "name", bt->name) &&
	          cJSON_AddStringToObject(fn, "description", bt->description ? bt->description : "") &&
	          cJSON_AddItemToObject(fn, "parameters", params);
	if (ok)
		params = NULL;
	ok = ok && cJSON_AddBoolToObject(fn, "strict", bt->strict) &&
	     cJSON_AddItemToObject(tool, "function", fn);
	if (ok)
		fn = NULL;
	cJSON_Delete(params);
	cJSON_Delete(fn);
	if (!ok) {
		cJSON_Delete(tool);
		return NULL;
	}
	return tool;
}

/* Bind agent a's `tools:` to the current lists (or, for a server that is
 * down now, those of `prev`). *out: a new binding with one reference. */
static int bind_agent(binding **out, hf_tools *ts, const hf_agent *a, const binding *prev,
                      hf_diag *d, hf_error *err)
{
	const hf_graph *g = ts->g;
	size_t ai = (size_t)(a - g->agents), i, s;
	bind_ctx x = { ts, a, d, false };
	binding *b = hf_calloc(1, sizeof(*b));
	cJSON *arr = NULL;
	int rc;

	*out = NULL;
	if (!b || (g->nservers && !(b->lists = hf_calloc(g->nservers, sizeof(*b->lists))))) {
		free(b);
		return hf_err(err, HF_ENOMEM, "out of memory binding the tools of '%s'", a->name);
	}
	atomic_init(&b->refs, 1);
	b->wire.cache.free = binding_tag;
	for (s = 0; s < g->nservers; s++) {
		if (!ts->uses[ai * g->nservers + s])
			continue;
		b->lists[s] = ts->host ? hf_mcp_host_tools(ts->host, s) : NULL;
		if (!b->lists[s] && prev && prev->lists[s]) {
			b->lists[s] = prev->lists[s];
			atomic_fetch_add(&b->lists[s]->refs, 1);
		}
	}
	for (i = 0; i < a->ntools; i++) {
		const hf_agent_tool *at = &a->tools[i];
		if (at->server) {
			bind_server_entry(&x, b, at);
		} else {
			const c_tool *ct = find_c_tool(ts, at->name);
			if (ct) {
				bound_tool bt = { .name = ct->name, .description = ct->description,
					          .parameters = ct->parameters, .strict = ct->strict != 0,
					          .ct = ct, .server = NO_SERVER };
				bind_one(&x, b, at, &bt);
			} else {
				const char **names = hf_calloc(ts->nctools + 1, sizeof(*names));
				char hint[160];
				size_t k;
				for (k = 0; names && k < ts->nctools; k++)
					names[k] = ts->ctools[k].name;
				report(&x, at, "agent '%s' names tool '%s', which no C callback registers "
				       "(hf_tools_add) and which is not SERVER.TOOL%s", a->name, at->name,
				       names ? suggest(hint, sizeof(hint), at->name, names, ts->nctools) : "");
				free(names);
			}
		}
	}
	rc = x.oom ? HF_ENOMEM : HF_OK;
	if (!rc && !(arr = cJSON_CreateArray()))
		rc = HF_ENOMEM;
	for (i = 0; !rc && i < b->n; i++) {
		cJSON *t = function_tool(&b->tools[i]);
		if (!t || !cJSON_AddItemToArray(arr, t)) {
			cJSON_Delete(t);
			rc = HF_ENOMEM;
		}
	}
	if (!rc)
		rc = hf_chat_wire_build(&b->wire, a, arr, err);
	cJSON_Delete(arr);
	if (rc) {
		binding_free(b, g->nservers);
		return rc == HF_ENOMEM ? hf_err(err, HF_ENOMEM, "out of memory binding the tools of '%s'",
		                                a->name)
		                       : rc;
	}
	*out = b;
	return HF_OK;
}

/* Whether a server agent ai uses published a new list since b was made. */
static bool stale(hf_tools *ts, size_t ai, const binding *b)
{
	size_t s, ns = ts->g->nservers;
	bool changed = false;
	for (s = 0; s < ns && !changed && ts->host; s++) {
		hf_mcp_tools *now;
		if (!ts->uses[ai * ns + s] || !(now = hf_mcp_host_tools(ts->host, s)))
			continue;
		changed = !b->lists[s] || b->lists[s]->generation != now->generation;
		hf_mcp_tools_release(now);
	}
	return changed;
}

static int agent_index(const hf_tools *ts, const hf_agent *a, size_t *ai, hf_error *err)
{
	if (!ts->started || !ts->bindings)
		return hf_err(err, HF_ECONFIG, "the tool set was not started (hf_tools_start)");
	if (!a || a < ts->g->agents || a >= ts->g->agents + ts->g->nagents)
		return hf_err(err, HF_ECONFIG, "agent '%s' is not of the graph this tool set was made "
		              "for (hf_tools_new)", a ? a->name : "?");
	*ai = (size_t)(a - ts->g->agents);
	return HF_OK;
}

/* The agent's current binding, rebuilt first when a server re-listed; a
 * new reference. */
static int current(binding **out, hf_tools *ts, const hf_agent *a, hf_error *err)
{
	size_t ai = 0;
	binding *b, *nb;
	int rc;

	*out = NULL;
	if ((rc = agent_index(ts, a, &ai, err)))
		return rc;
	pthread_mutex_lock(&ts->lock);
	b = ts->bindings[ai];
	if (b && stale(ts, ai, b) && bind_agent(&nb, ts, a, b, NULL, NULL) == HF_OK) {
		ts->bindings[ai] = nb;
		binding_unref(ts, b);
		b = nb;
	}
	if (b)
		atomic_fetch_add(&b->refs, 1);
	pthread_mutex_unlock(&ts->lock);
	if (!b)
		return hf_err(err, HF_ECONFIG, "agent '%s' has no tools bound", a->name);
	*out = b;
	return HF_OK;
}

static const bound_tool *find_bound(const binding *b, const char *name)
{
	size_t i;
	for (i = 0; i < b->n; i++)
		if (!strcmp(b->tools[i].name, name))
			return &b->tools[i];
	return NULL;
}

/* The directory relative paths of stdio servers start from: the graph's
 * directory, or the directory of its file. */
static char *graph_dir(const char *source)
{
	struct stat st;
	const char *slash;
	if (!source)
		return hf_strdup(".");
	if (!stat(source, &st) && S_ISDIR(st.st_mode))
		return hf_strdup(source);
	slash = strrchr(source, '/');
	if (!slash)
		return hf_strdup(".");
	return slash == source ? hf_strdup("/") : hf_strndup(source, (size_t)(slash - source));
}

int hf_tools_start(hf_tools *ts, hf_diag **diags, hf_error *err)
{
	const hf_graph *g;
	hf_diag *d = NULL;
	hf_error herr = { 0 };
	int rc = HF_OK, hrc = HF_OK;
	size_t i, j, nerr;

	if (diags)
		*diags = NULL;
	if (!ts)
		return hf_err(err, HF_EINVAL, "hf_tools_start: no tool set");
	if (ts->started)
		return hf_err(err, HF_EINVAL, "hf_tools_start: the tool set was started already");
	g = ts->g;
	ts->started = true;
	if (hf_diag_new(&d) ||
	    !(ts->bindings = hf_calloc(g->nagents ? g->nagents : 1, sizeof(*ts->bindings))) ||
	    (g->nservers && !(ts->uses = hf_calloc(g->nagents * g->nservers, sizeof(*ts->uses)))) ||
	    !(ts->base_dir = graph_dir(g->source))) {
		rc = hf_err(err, HF_ENOMEM, "out of memory starting the tool set");
		goto out;
	}
	for (i = 0; i < g->nagents; i++)
		for (j = 0; j < g->agents[i].ntools; j++) {
			size_t s = g->agents[i].tools[j].server
			                   ? find_server(g, g->agents[i].tools[j].server)
			                   : NO_SERVER;
			if (s != NO_SERVER)
				ts->uses[i * g->nservers + s] = true;
		}
	if (g->nservers) {
		hf_mcp_host_options ho = { 0 };
		ho.start_timeout_ms = ts->opts.start_timeout_ms;
		ho.lookup_env = ts->opts.lookup_env;
		ho.lookup_payload = ts->opts.lookup_payload;
		ho.base_dir = ts->base_dir;
		if ((rc = hf_mcp_host_new(&ts->host, g->servers, g->nservers, &ho, err)))
			goto out;
		hrc = hf_mcp_host_start(ts->host, d, &herr);
	}
	for (i = 0; i < g->nagents && !rc; i++)
		if (g->agents[i].ntools)
			rc = bind_agent(&ts->bindings[i], ts, &g->agents[i], NULL, d, err);
	if (rc)
		goto out;
	if (hf_diag_finish(d, g->source)) {
		rc = hf_err(err, HF_ENOMEM, "out of memory starting the tool set");
		goto out;
	}
	nerr = hf_diag_error_count(d);
	if (hrc) {
		rc = hrc;
		if (err)
			*err = herr;
	} else if (nerr) {
		for (i = 0; hf_diag_severity(d, i) != HF_SEV_ERROR; i++)
			;
		if (nerr == 1)
			rc = hf_err(err, HF_ECONFIG, "%s", hf_diag_format(d, i));
		else
			rc = hf_err(err, HF_ECONFIG, "%s (and %zu more error%s)", hf_diag_format(d, i),
			            nerr - 1, nerr > 2 ? "s" : "");
	}
out:
	if (rc) { /* a set that failed to start can only be freed */
		for (i = 0; ts->bindings && i < g->nagents; i++) {
			binding_unref(ts, ts->bindings[i]);
			ts->bindings[i] = NULL;
		}
		free(ts->bindings);
		ts->bindings = NULL;
	}
	if (diags)
		*diags = d;
	else
		hf_diag_free(d);
	return rc;
}

void hf_tools_free(hf_tools *ts)
{
	size_t i;
	if (!ts)
		return;
	hf_mcp_host_free(ts->host);
	for (i = 0; ts->bindings && i < ts->g->nagents; i++)
		binding_unref(ts, ts->bindings[i]);
	free(ts->bindings);
	free(ts->uses);
	for (i = 0; i < ts->nctools; i++)
		c_tool_dispose(&ts->ctools[i]);
	free(ts->ctools);
	free(ts->base_dir);
	pthread_mutex_destroy(&ts->lock);
	free(ts);
}

int hf_tools_list(const hf_tools *cts, const hf_agent *a,
                  int (*fn)(const hf_tool_info *info, void *payload), void *payload,
                  hf_error *err)
{
	hf_tools *ts = (hf_tools *)cts; /* a re-list may rebind: the set's own state */
	binding *b;
	size_t i;
	int rc;

	if (!ts || !a || !fn)
		return hf_err(err, HF_EINVAL, "hf_tools_list: a tool set, an agent and fn are required");
	if (!a->ntools) {
		size_t ai = 0;
		return agent_index(ts, a, &ai, err);
	}
	if ((rc = current(&b, ts, a, err)))
		return rc;
	for (i = 0; i < b->n; i++) {
		const bound_tool *bt = &b->tools[i];
		hf_tool_info info = { bt->name,
			              bt->server == NO_SERVER ? NULL : ts->g->servers[bt->server].name,
			              bt->description, bt->parameters };
		if ((rc = fn(&info, payload)))
			break;
	}
	binding_unref(ts, b);
	return rc;
}

int hf_tools_wire(const hf_agent_wire **out, hf_tools *ts, const hf_agent *a, hf_error *err)
{
	binding *b;
	int rc;
	*out = NULL;
	if (!ts)
		return hf_err(err, HF_ECONFIG, "no tool set");
	if (!a->ntools)
		return hf_chat_agent_wire_get(out, a, err);
	if ((rc = current(&b, ts, a, err)))
		return rc;
	*out = &b->wire;
	return HF_OK;
}

void hf_tools_wire_release(hf_tools *ts, const hf_agent_wire *w)
{
	if (w && w->cache.free == binding_tag)
		binding_unref(ts, (binding *)(uintptr_t)w);
}

bool hf_tools_offers(hf_tools *ts, const hf_agent *a, const char *name, const char **origin)
{
	const bound_tool *bt;
	binding *b;
	if (origin)
		*origin = NULL;
	if (!ts || !a->ntools || current(&b, ts, a, NULL))
		return false;
	bt = find_bound(b, name);
	if (bt && origin && bt->server != NO_SERVER)
		*origin = ts->g->servers[bt->server].name;
	binding_unref(ts, b);
	return bt != NULL;
}

size_t hf_tools_concurrency(const hf_tools *ts)
{
	return ts ? (size_t)ts->opts.max_concurrency : DEFAULT_CONCURRENCY;
}

const hf_graph *hf_tools_graph(const hf_tools *ts)
{
	return ts ? ts->g : NULL;
}

/* ---------------------------------------------------------------- */
/* Calls                                                             */
/* ---------------------------------------------------------------- */

static void call_free(hf_tool_call *c)
{
	free(c->name);
	free(c->id);
	free(c->agent);
	free(c->session);
	free(c->output);
	free(c->text);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void hf_tool_call_release(hf_tool_call *c)
{
	if (c && atomic_fetch_sub(&c->refs, 1) == 1)
		call_free(c);
}

/* The result the model is given. is_error with code HF_OK: the tool's own
 * error result (MCP isError), given as it is; a negative code: the SDK's
 * default error wording around `msg`. Text is copied; NULL msg with a
 * failure: a generic message naming the tool. */
static void set_result(hf_tool_call *c, int code, bool is_error, const char *msg)
{
	char generic[160];
	free(c->text);
	c->code = code;
	c->is_error = is_error || code < 0;
	if (code < 0) {
		if (!msg || !*msg) {
			snprintf(generic, sizeof(generic), "tool '%s' failed (%s)", c->name,
			         hf_code_name(code));
			msg = generic;
		}
		c->text = hf_asprintf(TOOL_ERROR_PREFIX "%s", msg);
	} else {
		c->text = hf_strdup(msg ? msg : "");
	}
	if (!c->text) { /* keep the call answerable: a fixed text */
		c->code = HF_ENOMEM;
		c->is_error = true;
	}
}

/* Hand a completion over: to the sink unless the call was cancelled. The
 * completer's reference is dropped; the sink gets one of its own. */
static void deliver(hf_tool_call *c)
{
	bool posted = false;
	pthread_mutex_lock(&c->lock);
	if (atomic_load(&c->state) == CALL_RUNNING) {
		atomic_store(&c->state, CALL_DONE);
		atomic_fetch_add(&c->refs, 1);
		c->sink->post(c->sink, c);
		posted = true;
	}
	pthread_mutex_unlock(&c->lock);
	(void)posted;
	hf_tool_call_release(c);
}

/* Finish a call that was running: false when the completion had already
 * been posted (then it stays with the sink). */
static bool finish_sync(hf_tool_call *c)
{
	bool mine;
	pthread_mutex_lock(&c->lock);
	mine = atomic_load(&c->state) == CALL_RUNNING;
	if (mine)
		atomic_store(&c->state, CALL_DONE);
	pthread_mutex_unlock(&c->lock);
	if (mine)
		atomic_fetch_sub(&c->refs, 1); /* the completer's: no completion will come */
	return mine;
}

static void mcp_done(const hf_mcp_result *r, void *payload)
{
	hf_tool_call *c = payload;
	if (atomic_load(&c->state) == CALL_RUNNING) {
		if (r->code == HF_OK)
			set_result(c, HF_OK, r->is_error, r->text);
		else
			set_result(c, r->code, true, r->err ? r->err->message : NULL);
	}
	deliver(c);
}

static int call_new(hf_tool_call **out, hf_tools *ts, const hf_agent *a, const hf_reply_call *rc,
                    const char *session, void *turn_payload, hf_tool_sink *sink)
{
	hf_tool_call *c = hf_calloc(1, sizeof(*c));
	*out = NULL;
	if (!c)
		return HF_ENOMEM;
	atomic_init(&c->refs, 1);
	atomic_init(&c->state, CALL_DONE);
	pthread_mutex_init(&c->lock, NULL);
	c->ts = ts;
	c->server = NO_SERVER;
	c->sink = sink;
	c->turn_payload = turn_payload;
	c->name = hf_strdup(rc->name);
	c->id = hf_strdup(rc->id);
	c->agent = hf_strdup(a->name);
	c->session = hf_strdup(session);
	if (!c->name || !c->id || !c->agent || (session && !c->session)) {
		call_free(c);
		return HF_ENOMEM;
	}
	*out = c;
	return HF_OK;
}

/* Run a C callback on this thread. */
static void run_callback(hf_tool_call *c, const char *arguments, bool *done)
{
	const c_tool *ct = c->ct;
	int rc;
	atomic_store(&c->state, CALL_RUNNING);
	atomic_fetch_add(&c->refs, 1); /* the completer's, should it go pending */
	c->in_callback = true;
	rc = ct->fn(c, arguments, ct->payload);
	c->in_callback = false;
	if (rc == HF_TOOL_PENDING) {
		*done = false;
		return;
	}
	if (!finish_sync(c)) { /* completed from inside the callback: posted already */
		*done = false;
		return;
	}
	if (rc == HF_OK) {
		set_result(c, HF_OK, false, c->output);
	} else if (rc < 0) {
		set_result(c, rc, true, c->output);
	} else {
		char msg[128];
		snprintf(msg, sizeof(msg), "tool '%s' returned %d, which is neither HF_OK, an error "
		         "code nor HF_TOOL_PENDING", c->name, rc);
		set_result(c, HF_EINVAL, true, msg);
	}
	*done = true;
}

int hf_tools_call(hf_tool_call **out, bool *done, hf_tools *ts, const hf_agent *a,
                  const hf_reply_call *rcall, const char *session, void *turn_payload,
                  hf_tool_sink *sink, hf_error *err)
{
	hf_tool_call *c;
	binding *b = NULL;
	const bound_tool *bt;
	cJSON *args;

	*out = NULL;
	*done = true;
	if (call_new(&c, ts, a, rcall, session, turn_payload, sink))
		return hf_err(err, HF_ENOMEM, "out of memory calling tool '%s'", rcall->name);
	if (!ts || !a->ntools || current(&b, ts, a, NULL) || !(bt = find_bound(b, rcall->name))) {
		char *msg = hf_asprintf("Tool '%s' not found.", rcall->name);
		set_result(c, HF_OK, true, msg);
		free(msg);
		binding_unref(ts, b);
		*out = c;
		return HF_OK;
	}
	c->ct = bt->ct;
	c->server = bt->server;
	if (bt->server != NO_SERVER)
		c->origin = ts->g->servers[bt->server].name;
	binding_unref(ts, b); /* the c_tool and server outlive it */
	args = hf_json_parse(rcall->arguments, strlen(rcall->arguments));
	if (!cJSON_IsObject(args)) {
		char *msg = hf_asprintf(ARGS_ERROR_PREFIX "the arguments of '%s' are not a JSON object",
		                        c->name);
		set_result(c, HF_OK, true, msg);
		if (c->text) /* the SDK's own wording, without the run-time prefix */
			c->code = HF_EINVAL;
		free(msg);
		cJSON_Delete(args);
		*out = c;
		return HF_OK;
	}
	cJSON_Delete(args);
	if (c->ct) {
		run_callback(c, rcall->arguments, done);
	} else {
		hf_error cerr;
		int rc;
		atomic_store(&c->state, CALL_RUNNING);
		atomic_fetch_add(&c->refs, 1); /* the host's, until done runs */
		rc = hf_mcp_host_call(ts->host, c->server, rcall->name, rcall->arguments, 0, mcp_done, c,
		                      &c->mcp_id, &cerr);
		if (rc) {
			finish_sync(c);
			set_result(c, rc, true, cerr.message);
		} else {
			*done = false;
		}
	}
	*out = c;
	return HF_OK;
}

int hf_tool_call_result(const hf_tool_call *c, const char **text, bool *is_error,
                        const char **origin)
{
	if (text)
		*text = c->text ? c->text : TOOL_ERROR_PREFIX "out of memory";
	if (is_error)
		*is_error = c->is_error;
	if (origin)
		*origin = c->origin;
	return c->code;
}

void hf_tool_call_cancel(hf_tool_call *c)
{
	bool was_running;
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	was_running = atomic_load(&c->state) == CALL_RUNNING;
	if (was_running)
		atomic_store(&c->state, CALL_CANCELLED);
	pthread_mutex_unlock(&c->lock);
	if (!was_running)
		return;
	if (c->ct) {
		if (c->ct->on_cancel)
			c->ct->on_cancel(c, c->ct->payload);
	} else if (c->ts && c->ts->host) {
		hf_mcp_host_cancel(c->ts->host, c->mcp_id);
	}
}

void hf_tool_call_set_index(hf_tool_call *c, size_t index)
{
	c->index = index;
}

size_t hf_tool_call_index(const hf_tool_call *c)
{
	return c->index;
}

hf_tool_sink *hf_tool_call_sink(const hf_tool_call *c)
{
	return c->sink;
}

hf_tool_call **hf_tool_call_link(hf_tool_call *c)
{
	return &c->link;
}

/* ---- public accessors (handoff.h) ---- */

const char *hf_tool_call_name(const hf_tool_call *c)
{
	return c ? c->name : NULL;
}

const char *hf_tool_call_id(const hf_tool_call *c)
{
	return c ? c->id : NULL;
}

const char *hf_tool_call_agent(const hf_tool_call *c)
{
	return c ? c->agent : NULL;
}

const char *hf_tool_call_session(const hf_tool_call *c)
{
	return c ? c->session : NULL;
}

void *hf_tool_call_turn_payload(const hf_tool_call *c)
{
	return c ? c->turn_payload : NULL;
}

int hf_tool_call_cancelled(const hf_tool_call *c)
{
	return c && atomic_load(&((hf_tool_call *)c)->state) == CALL_CANCELLED;
}

int hf_tool_call_set_output(hf_tool_call *c, const char *text)
{
	char *copy;
	if (!c || !text)
		return HF_EINVAL;
	if (!hf_text_utf8_valid(text, strlen(text), NULL))
		return HF_EINVAL;
	if (!(copy = hf_strdup(text)))
		return HF_ENOMEM;
	free(c->output);
	c->output = copy;
	return HF_OK;
}

void hf_tool_call_complete(hf_tool_call *c, int code, const char *text)
{
	if (!c)
		return;
	if (atomic_load(&c->state) == CALL_RUNNING) {
		if (text && !hf_text_utf8_valid(text, strlen(text), NULL)) {
			char msg[128];
			snprintf(msg, sizeof(msg), "the output of tool '%s' is not valid UTF-8", c->name);
			set_result(c, HF_EINVAL, true, msg);
		} else {
			set_result(c, code > 0 ? HF_OK : code, code < 0, text);
		}
	}
	deliver(c);
}

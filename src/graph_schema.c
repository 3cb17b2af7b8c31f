/*
 * graph_schema.c - the YAML format of agents and graph files: which keys
 * exist, what type each value has, and the messages when they are wrong.
 * Reads a document's tree into the graph being built (graph_build.h).
 */
#include "graph_build.h"
#include "text.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

typedef struct keyset {
	const char *what; /* "an agent", ... for messages */
	const char *const *keys;
	size_t n;
} keyset;

enum {
	AK_NAME, AK_DESCRIPTION, AK_INSTRUCTIONS, AK_MODEL, AK_PROVIDER, AK_COMPUTE_PROVIDER,
	AK_HANDOFFS, AK_SETTINGS, AK_HANDOFF_PROMPT, AK_COUNT
};
static const char *const agent_keys[AK_COUNT] = {
	"name", "description", "instructions", "model", "provider", "compute_provider",
	"handoffs", "settings", "handoff_prompt"
};

enum {
	SK_TEMPERATURE, SK_TOP_P, SK_MAX_TOKENS, SK_STOP, SK_SEED, SK_TOOL_CHOICE,
	SK_PARALLEL_TOOL_CALLS, SK_COUNT
};
static const char *const settings_keys[SK_COUNT] = {
	"temperature", "top_p", "max_tokens", "stop", "seed", "tool_choice", "parallel_tool_calls"
};

static const char *const graph_keys[GK_COUNT] = {
	"entry", "routing", "max_turns", "model", "base_url", "api_key_env", "provider",
	"compute_provider", "timeouts", "max_retries", "agents"
};

enum { TK_CONNECT, TK_TIMEOUT, TK_IDLE, TK_DEADLINE, TK_COUNT };
static const char *const timeout_keys[TK_COUNT] = { "connect_timeout", "timeout", "idle_timeout",
	                                            "deadline" };

static const keyset agent_set = { "an agent", agent_keys, AK_COUNT };
static const keyset settings_set = { "settings", settings_keys, SK_COUNT };
static const keyset graph_set = { "a graph file", graph_keys, GK_COUNT };
static const keyset timeout_set = { "timeouts", timeout_keys, TK_COUNT };

#define STOP_MAX 4
#define MAX_TURNS_MAX 1000
#define MAX_RETRIES_MAX 10
#define TIMEOUT_MAX_S 86400.0

static int key_index(const keyset *ks, const char *key)
{
	size_t i;
	for (i = 0; i < ks->n; i++)
		if (!strcmp(ks->keys[i], key))
			return (int)i;
	return -1;
}

static void unknown_key(graph_build *b, const char *file, const gy_node *k, const keyset *ks)
{
	const char *near = hf_diag_nearest(k->str, ks->keys, ks->n);
	char list[512] = "";
	size_t i;

	if (near) {
		gb_report(b, HF_SEV_ERROR, file, k, "unknown key '%s'; did you mean '%s'?", k->str, near);
		return;
	}
	if (ks == &graph_set && key_index(&agent_set, k->str) >= 0) {
		gb_report(b, HF_SEV_ERROR, file, k,
		          "'%s' is an agent key; in a graph file, agents go in a list under 'agents:'",
		          k->str);
		return;
	}
	for (i = 0; i < ks->n; i++) {
		strcat(list, i ? ", " : "");
		strcat(list, ks->keys[i]);
	}
	gb_report(b, HF_SEV_ERROR, file, k, "unknown key '%s' in %s; the keys are: %s", k->str,
	          ks->what, list);
}

/* vals[i] = the value of key ks->keys[i] in map, or NULL; unknown and
 * repeated keys are reported. */
static void read_keys(graph_build *b, const char *file, const gy_node *map, const keyset *ks,
                      const gy_node **vals)
{
	const gy_node *seen[16] = { NULL };
	size_t i;
	for (i = 0; i + 1 < map->nkids; i += 2) {
		const gy_node *k = map->kids[i];
		int idx;
		if (k->kind != GY_SCALAR) {
			gb_report(b, HF_SEV_ERROR, file, k, "a key must be a word, not a list or mapping");
			continue;
		}
		idx = key_index(ks, k->str);
		if (idx < 0) {
			unknown_key(b, file, k, ks);
		} else if (seen[idx]) {
			gb_report(b, HF_SEV_ERROR, file, k, "duplicate key '%s' (first at %d:%d)", k->str,
			          seen[idx]->line, seen[idx]->col);
		} else {
			seen[idx] = k;
			vals[idx] = map->kids[i + 1];
		}
	}
}

/* An agent name longer than this can never be valid (its handoff tool name
 * would be over 64 characters); refusing it by length keeps an alias of a
 * long scalar, repeated a million times, cheap. */
#define NAME_MAX_BYTES 1024

/* ---- scalar types ---- */

static bool is_text(const gy_node *v)
{
	return v->kind == GY_SCALAR && !gy_is_null(v) && strlen(v->str) == v->len;
}

/* An owned copy of a text value, or NULL after reporting it. */
static char *text(graph_build *b, const char *file, const gy_node *v, const char *key)
{
	char *s;
	if (!is_text(v)) {
		gb_report(b, HF_SEV_ERROR, file, v,
		          v->kind == GY_SCALAR && !gy_is_null(v) ? "%s must not contain NUL characters"
		                                                 : "%s must be text",
		          key);
		return NULL;
	}
	s = hf_strdup(v->str);
	if (!s)
		b->oom = true;
	return s;
}

/* A name (of an agent, a handoff target, the entry agent) must show as
 * itself: no control character or bidi override that would act on a
 * terminal. False after reporting one. */
static bool plain_name(graph_build *b, const char *file, const gy_node *v, const char *what)
{
	int32_t cp = 0;
	size_t at = hf_text_control_at(v->str, v->len, &cp);
	if (at == v->len)
		return true;
	gb_report(b, HF_SEV_ERROR, file, v,
	          "%s must not contain control characters (U+%04X at byte %zu)", what,
	          (unsigned)cp, at);
	return false;
}

static bool boolean(const gy_node *v, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE" };
	static const char *const no[] = { "false", "False", "FALSE" };
	size_t i;
	if (v->kind != GY_SCALAR || !v->plain)
		return false;
	for (i = 0; i < HF_ARRAY_LEN(yes); i++) {
		if (!strcmp(v->str, yes[i]) || !strcmp(v->str, no[i])) {
			*out = !strcmp(v->str, yes[i]);
			return true;
		}
	}
	return false;
}

/* A plain decimal number in [lo, hi], read in the C locale whatever the
 * application set. */
static bool number(const gy_node *v, double lo, double hi, double *out)
{
	locale_t c, old;
	char *end;
	double x;
	if (v->kind != GY_SCALAR || !v->plain || !v->len ||
	    strspn(v->str, "0123456789+-.eE") != v->len)
		return false;
	c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (!c)
		return false;
	old = uselocale(c);
	errno = 0;
	x = strtod(v->str, &end);
	uselocale(old);
	freelocale(c);
	if (*end || errno || !(x >= lo && x <= hi))
		return false;
	*out = x;
	return true;
}

static bool integer(const gy_node *v, long long lo, long long hi, long long *out)
{
	char *end;
	long long x;
	if (v->kind != GY_SCALAR || !v->plain || !v->len || strspn(v->str, "0123456789+-") != v->len)
		return false;
	errno = 0;
	x = strtoll(v->str, &end, 10);
	if (*end || errno || x < lo || x > hi)
		return false;
	*out = x;
	return true;
}

/* ---- settings ---- */

static void read_stop(graph_build *b, const char *file, const gy_node *v, hf_settings *s)
{
	const gy_node *const *items = v->kind == GY_SEQ ? (const gy_node *const *)v->kids : &v;
	size_t n = v->kind == GY_SEQ ? v->nkids : 1, i;

	for (i = 0; i < n; i++)
		if (!is_text(items[i]))
			break;
	if (i < n || n == 0 || n > STOP_MAX) {
		gb_report(b, HF_SEV_ERROR, file, v, "stop must be text or a list of 1 to %d texts",
		          STOP_MAX);
		return;
	}
	s->stop = hf_calloc(n + 1, sizeof(*s->stop));
	if (!s->stop) {
		b->oom = true;
		return;
	}
	for (i = 0; i < n; i++) {
		s->stop[i] = hf_strdup(items[i]->str);
		if (!s->stop[i])
			b->oom = true;
		else
			s->nstop++;
	}
}

static void read_settings(graph_build *b, const char *file, const gy_node *map, gb_agent *ga)
{
	const gy_node *v[SK_COUNT] = { NULL };
	hf_settings *s = &ga->a.settings;
	long long x;

	if (map->kind != GY_MAP) {
		gb_report(b, HF_SEV_ERROR, file, map,
		          "settings must be a mapping (temperature, top_p, max_tokens, ...)");
		return;
	}
	read_keys(b, file, map, &settings_set, v);
	if (v[SK_TEMPERATURE] && !(s->has_temperature = number(v[SK_TEMPERATURE], 0, 2, &s->temperature)))
		gb_report(b, HF_SEV_ERROR, file, v[SK_TEMPERATURE],
		          "temperature must be a number from 0 to 2");
	if (v[SK_TOP_P] && !(s->has_top_p = number(v[SK_TOP_P], 0, 1, &s->top_p)))
		gb_report(b, HF_SEV_ERROR, file, v[SK_TOP_P], "top_p must be a number from 0 to 1");
	if (v[SK_MAX_TOKENS]) {
		if ((s->has_max_tokens = integer(v[SK_MAX_TOKENS], 1, INT_MAX, &x)))
			s->max_tokens = (long)x;
		else
			gb_report(b, HF_SEV_ERROR, file, v[SK_MAX_TOKENS],
			          "max_tokens must be a whole number from 1 to %d", INT_MAX);
	}
	if (v[SK_STOP])
		read_stop(b, file, v[SK_STOP], s);
	if (v[SK_SEED] && !(s->has_seed = integer(v[SK_SEED], LLONG_MIN, LLONG_MAX, &s->seed)))
		gb_report(b, HF_SEV_ERROR, file, v[SK_SEED], "seed must be a whole number");
	if (v[SK_TOOL_CHOICE]) {
		if (is_text(v[SK_TOOL_CHOICE]))
			ga->tool_choice = v[SK_TOOL_CHOICE];
		else
			gb_report(b, HF_SEV_ERROR, file, v[SK_TOOL_CHOICE],
			          "tool_choice must be auto, required, none or a handoff's name");
	}
	if (v[SK_PARALLEL_TOOL_CALLS] &&
	    !(s->has_parallel_tool_calls = boolean(v[SK_PARALLEL_TOOL_CALLS], &s->parallel_tool_calls)))
		gb_report(b, HF_SEV_ERROR, file, v[SK_PARALLEL_TOOL_CALLS],
		          "parallel_tool_calls must be true or false");
}

/* ---- agents ---- */

static bool read_handoffs(graph_build *b, const char *file, const gy_node *v)
{
	bool ok = true;
	size_t i;
	if (v->kind != GY_SEQ) {
		gb_report(b, HF_SEV_ERROR, file, v, "handoffs must be a list of agent names");
		return false;
	}
	for (i = 0; i < v->nkids; i++) {
		if (i && v->kids[i] == v->kids[i - 1])
			continue; /* an alias repeated: checked */
		if (v->kids[i]->len > NAME_MAX_BYTES) { /* no agent has it; not worth reading */
			gb_report(b, HF_SEV_ERROR, file, v->kids[i],
			          "a handoff names an agent of %zu bytes; names are at most %d",
			          v->kids[i]->len, NAME_MAX_BYTES);
			ok = false;
		} else if (!is_text(v->kids[i]) || !v->kids[i]->len) {
			gb_report(b, HF_SEV_ERROR, file, v->kids[i], "each handoff must be an agent name");
			ok = false;
		} else if (!plain_name(b, file, v->kids[i], "a handoff")) {
			ok = false;
		}
	}
	return ok;
}

/* Append ga; b owns it then. False (and b->oom) when out of memory. */
static bool push_agent(graph_build *b, const gb_agent *ga)
{
	if (b->nagents == b->capagents) {
		size_t cap = b->capagents ? b->capagents * 2 : 16;
		gb_agent *p = hf_realloc(b->agents, cap * sizeof(*p));
		if (!p) {
			b->oom = true;
			return false;
		}
		b->agents = p;
		b->capagents = cap;
	}
	b->agents[b->nagents++] = *ga;
	return true;
}

static void read_agent(graph_build *b, const char *file, const gy_node *map)
{
	const gy_node *v[AK_COUNT] = { NULL };
	gb_agent ga;
	hf_agent *a = &ga.a;

	memset(&ga, 0, sizeof(ga));
	if (map->kind != GY_MAP) {
		gb_report(b, HF_SEV_ERROR, file, map,
		          "an agent must be a mapping of keys (name, instructions, model, ...)");
		return;
	}
	read_keys(b, file, map, &agent_set, v);
	if (!v[AK_NAME])
		gb_report(b, HF_SEV_ERROR, file, map, "missing name: every agent needs 'name:'");
	else if (v[AK_NAME]->len > NAME_MAX_BYTES) /* the agent is dropped: nothing hashes it */
		gb_report(b, HF_SEV_ERROR, file, v[AK_NAME], "name is %zu bytes; the limit is %d",
		          v[AK_NAME]->len, NAME_MAX_BYTES);
	else if ((a->name = text(b, file, v[AK_NAME], "name")) && !*a->name)
		gb_report(b, HF_SEV_ERROR, file, v[AK_NAME], "name must not be empty");
	else if (a->name)
		plain_name(b, file, v[AK_NAME], "name");
	if (v[AK_DESCRIPTION])
		a->description = text(b, file, v[AK_DESCRIPTION], "description");
	if (v[AK_INSTRUCTIONS])
		a->instructions = text(b, file, v[AK_INSTRUCTIONS], "instructions");
	if (v[AK_MODEL])
		a->model = text(b, file, v[AK_MODEL], "model");
	if (v[AK_PROVIDER])
		a->provider = text(b, file, v[AK_PROVIDER], "provider");
	if (v[AK_COMPUTE_PROVIDER])
		a->compute_provider = text(b, file, v[AK_COMPUTE_PROVIDER], "compute_provider");
	if (v[AK_HANDOFFS] && read_handoffs(b, file, v[AK_HANDOFFS]))
		ga.handoffs = v[AK_HANDOFFS];
	if (v[AK_SETTINGS])
		read_settings(b, file, v[AK_SETTINGS], &ga);
	if (v[AK_HANDOFF_PROMPT] && !boolean(v[AK_HANDOFF_PROMPT], &a->handoff_prompt))
		gb_report(b, HF_SEV_ERROR, file, v[AK_HANDOFF_PROMPT],
		          "handoff_prompt must be true or false");

	if (a->name && *a->name) {
		ga.file = file;
		ga.name_node = v[AK_NAME];
		a->line = ga.name_node->line;
		a->col = ga.name_node->col;
		if (!(a->file = hf_strdup(file)))
			b->oom = true;
		else if (push_agent(b, &ga))
			return;
	}
	hf_agent_dispose(a);
}

/* ---- graph files ---- */

static bool is_env_name(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
	return *s && !(*s >= '0' && *s <= '9') && s[n] == '\0';
}

static void read_timeouts(graph_build *b, const char *file, const gy_node *map)
{
	const gy_node *v[TK_COUNT] = { NULL };
	long *ms[TK_COUNT] = { &b->g->endpoint.connect_timeout_ms, &b->g->endpoint.timeout_ms,
		               &b->g->endpoint.idle_timeout_ms, &b->g->endpoint.deadline_ms };
	size_t i;
	double x;

	if (map->kind != GY_MAP) {
		gb_report(b, HF_SEV_ERROR, file, map,
		          "timeouts must be a mapping (connect_timeout, timeout, idle_timeout, "
		          "deadline)");
		return;
	}
	read_keys(b, file, map, &timeout_set, v);
	for (i = 0; i < TK_COUNT; i++) {
		if (!v[i])
			continue;
		if (number(v[i], 0.001, TIMEOUT_MAX_S, &x))
			*ms[i] = (long)(x * 1000 + 0.5);
		else
			gb_report(b, HF_SEV_ERROR, file, v[i],
			          "%s must be a number of seconds from 0.001 to %.0f", timeout_keys[i],
			          TIMEOUT_MAX_S);
	}
}

/* Graph keys may be set once in the whole graph. */
static bool first_setting(graph_build *b, const char *file, const gy_node *const *v, int k)
{
	if (!v[k])
		return false;
	if (b->graph_at[k]) {
		gb_report(b, HF_SEV_ERROR, file, v[k], "'%s' is already set at %s:%d:%d", graph_keys[k],
		          b->graph_file[k], b->graph_at[k]->line, b->graph_at[k]->col);
		return false;
	}
	b->graph_at[k] = v[k];
	b->graph_file[k] = file;
	return true;
}

static void read_graph(graph_build *b, const char *file, const gy_node *map)
{
	const gy_node *v[GK_COUNT] = { NULL };
	hf_graph *g = b->g;
	hf_graph_endpoint *ep = &g->endpoint;
	long long x;
	size_t i;

	if (!b->graph_map) {
		b->graph_map = map;
		b->graph_map_file = file;
	}
	read_keys(b, file, map, &graph_set, v);
	if (first_setting(b, file, v, GK_ENTRY)) {
		if (!is_text(v[GK_ENTRY]))
			gb_report(b, HF_SEV_ERROR, file, v[GK_ENTRY], "entry must be an agent name");
		else if (plain_name(b, file, v[GK_ENTRY], "entry"))
			b->entry = v[GK_ENTRY];
	}
	if (first_setting(b, file, v, GK_ROUTING)) {
		if (is_text(v[GK_ROUTING]) && !strcmp(v[GK_ROUTING]->str, "router"))
			g->routing = HF_ROUTING_ROUTER;
		else if (!is_text(v[GK_ROUTING]) || strcmp(v[GK_ROUTING]->str, "sticky"))
			gb_report(b, HF_SEV_ERROR, file, v[GK_ROUTING], "routing must be sticky or router");
	}
	if (first_setting(b, file, v, GK_MAX_TURNS)) {
		if (integer(v[GK_MAX_TURNS], 1, MAX_TURNS_MAX, &x))
			g->max_turns = (int)x;
		else
			gb_report(b, HF_SEV_ERROR, file, v[GK_MAX_TURNS],
			          "max_turns must be a whole number from 1 to %d", MAX_TURNS_MAX);
	}
	if (first_setting(b, file, v, GK_MODEL))
		g->default_model = text(b, file, v[GK_MODEL], "model");
	if (first_setting(b, file, v, GK_BASE_URL) &&
	    (ep->base_url = text(b, file, v[GK_BASE_URL], "base_url")) &&
	    strncmp(ep->base_url, "http://", 7) && strncmp(ep->base_url, "https://", 8))
		gb_report(b, HF_SEV_ERROR, file, v[GK_BASE_URL],
		          "base_url must start with http:// or https://");
	if (first_setting(b, file, v, GK_API_KEY_ENV)) {
		/* never echo the value: people paste the key itself here */
		if (is_text(v[GK_API_KEY_ENV]) && is_env_name(v[GK_API_KEY_ENV]->str))
			ep->api_key_env = text(b, file, v[GK_API_KEY_ENV], "api_key_env");
		else
			gb_report(b, HF_SEV_ERROR, file, v[GK_API_KEY_ENV],
			          "api_key_env must be the name of an environment variable (letters, "
			          "digits and _), not the key itself");
	}
	if (first_setting(b, file, v, GK_PROVIDER))
		ep->provider = text(b, file, v[GK_PROVIDER], "provider");
	if (first_setting(b, file, v, GK_COMPUTE_PROVIDER))
		ep->compute_provider = text(b, file, v[GK_COMPUTE_PROVIDER], "compute_provider");
	if (first_setting(b, file, v, GK_TIMEOUTS))
		read_timeouts(b, file, v[GK_TIMEOUTS]);
	if (first_setting(b, file, v, GK_MAX_RETRIES)) {
		if (integer(v[GK_MAX_RETRIES], 0, MAX_RETRIES_MAX, &x))
			ep->max_retries = (int)x;
		else
			gb_report(b, HF_SEV_ERROR, file, v[GK_MAX_RETRIES],
			          "max_retries must be a whole number from 0 to %d", MAX_RETRIES_MAX);
	}
	if (v[GK_AGENTS] && v[GK_AGENTS]->kind != GY_SEQ) {
		gb_report(b, HF_SEV_ERROR, file, v[GK_AGENTS], "agents must be a list of agents");
	} else if (v[GK_AGENTS]) {
		for (i = 0; i < v[GK_AGENTS]->nkids && !b->oom; i++)
			read_agent(b, file, v[GK_AGENTS]->kids[i]);
	}
}

/* A graph mapping has a key only a graph file has. */
static bool has_graph_key(const gy_node *map)
{
	size_t i;
	for (i = 0; i < map->nkids; i += 2) {
		const gy_node *k = map->kids[i];
		int idx = k->kind == GY_SCALAR ? key_index(&graph_set, k->str) : -1;
		if (idx >= 0 && key_index(&agent_set, k->str) < 0)
			return true;
	}
	return false;
}

void gb_read_document(graph_build *b, const gy_node *root, const char *file, bool graph_file)
{
	if (gy_is_null(root)) {
		gb_report(b, HF_SEV_WARNING, file, root, "empty document");
	} else if (root->kind != GY_MAP) {
		gb_report(b, HF_SEV_ERROR, file, root,
		          "a file must hold a mapping: one agent, or graph keys with 'agents:'");
	} else if (graph_file || has_graph_key(root)) {
		read_graph(b, file, root);
	} else {
		read_agent(b, file, root);
	}
}

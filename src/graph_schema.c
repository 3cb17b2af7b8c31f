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
#include <strings.h>
#include <unistd.h>

typedef struct keyset {
	const char *what; /* "an agent", ... for messages */
	const char *const *keys;
	size_t n;
} keyset;

enum {
	AK_NAME, AK_DESCRIPTION, AK_INSTRUCTIONS, AK_MODEL, AK_PROVIDER, AK_COMPUTE_PROVIDER,
	AK_HANDOFFS, AK_SETTINGS, AK_HANDOFF_PROMPT, AK_TOOLS, AK_TOOL_USE, AK_COUNT
};
static const char *const agent_keys[AK_COUNT] = {
	"name", "description", "instructions", "model", "provider", "compute_provider",
	"handoffs", "settings", "handoff_prompt", "tools", "tool_use"
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
	"compute_provider", "timeouts", "max_retries", "agents", "mcp_servers", "tool_errors"
};

enum { TK_CONNECT, TK_TIMEOUT, TK_IDLE, TK_DEADLINE, TK_COUNT };
static const char *const timeout_keys[TK_COUNT] = { "connect_timeout", "timeout", "idle_timeout",
	                                            "deadline" };

enum {
	MK_COMMAND, MK_ARGS, MK_ENV, MK_CWD, MK_TIMEOUT, MK_URL, MK_HEADERS, MK_ALLOW, MK_DENY,
	MK_COUNT
};
static const char *const server_keys[MK_COUNT] = { "command", "args", "env", "cwd", "timeout",
	                                           "url", "headers", "allow", "deny" };

static const char *const tool_use_keys[] = { "stop_at" };

static const keyset agent_set = { "an agent", agent_keys, AK_COUNT };
static const keyset settings_set = { "settings", settings_keys, SK_COUNT };
static const keyset graph_set = { "a graph file", graph_keys, GK_COUNT };
static const keyset timeout_set = { "timeouts", timeout_keys, TK_COUNT };
static const keyset server_set = { "an MCP server", server_keys, MK_COUNT };
static const keyset tool_use_set = { "tool_use", tool_use_keys, 1 };

#define STOP_MAX 4
#define MAX_TURNS_MAX 1000
#define MAX_RETRIES_MAX 10
#define TIMEOUT_MAX_S 86400.0
#define TOOLS_MAX 128      /* entries in an agent's tools: (the API's limit) */
#define SERVERS_MAX 64     /* entries under mcp_servers: */
#define PAIRS_MAX 256      /* entries in a server's env: or headers: */
#define TOOL_NAME_MAX 64
#define NAME_RULE "1 to 64 letters, digits, _ or -"
#define DURATION_RULE "a number of seconds from 0.001 to 86400, or a duration such as 30s or 500ms"

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

/* A decimal number s in [lo, hi], read in the C locale whatever the
 * application set. */
static bool number_text(const char *s, double lo, double hi, double *out)
{
	locale_t c, old;
	char *end;
	double x;
	if (!*s || s[strspn(s, "0123456789+-.eE")])
		return false;
	c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (!c)
		return false;
	old = uselocale(c);
	errno = 0;
	x = strtod(s, &end);
	uselocale(old);
	freelocale(c);
	if (*end || errno || !(x >= lo && x <= hi))
		return false;
	*out = x;
	return true;
}

/* A plain decimal number in [lo, hi]. */
static bool number(const gy_node *v, double lo, double hi, double *out)
{
	return v->kind == GY_SCALAR && v->plain && strlen(v->str) == v->len &&
	       number_text(v->str, lo, hi, out);
}

/* A duration from 0.001 s to TIMEOUT_MAX_S, in *ms (rounded): a plain
 * number of seconds, or a number with a unit, ms, s, m or h ("30s",
 * "500ms", "2m"; quoted is fine then). */
static bool duration(const gy_node *v, long *ms)
{
	static const struct {
		const char *unit;
		double s;
	} units[] = { { "", 1 }, { "ms", 0.001 }, { "s", 1 }, { "m", 60 }, { "h", 3600 } };
	char num[64];
	size_t n, i;
	double x;

	if (v->kind != GY_SCALAR || strlen(v->str) != v->len)
		return false;
	n = strspn(v->str, "0123456789+-.eE");
	if (n == 0 || n >= sizeof(num) || (!v->plain && n == v->len))
		return false;
	for (i = 0; i < HF_ARRAY_LEN(units) && strcmp(v->str + n, units[i].unit); i++)
		;
	memcpy(num, v->str, n);
	num[n] = '\0';
	if (i == HF_ARRAY_LEN(units) || !number_text(num, 0, TIMEOUT_MAX_S * 1000, &x))
		return false;
	x *= units[i].s;
	if (!(x >= 0.001 && x <= TIMEOUT_MAX_S))
		return false;
	*ms = (long)(x * 1000 + 0.5);
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

/* ---- tools ---- */

/* s[0..len) matches ^[A-Za-z0-9_-]{1,64}$: a tool's or an MCP server's
 * name (the chat completions API's rule for function names). */
static bool tool_name_ok(const char *s, size_t len)
{
	return len >= 1 && len <= TOOL_NAME_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") >= len;
}

/* Entry t of an agent's tools: SERVER.TOOL, SERVER.* or a bare NAME,
 * checked. *dot gets the '.' (NULL for a bare name). False after
 * reporting it. */
static bool tool_entry(graph_build *b, const char *file, const gy_node *t, const char **dot)
{
	size_t ns;
	if (!is_text(t) || !t->len) {
		gb_report(b, HF_SEV_ERROR, file, t,
		          "each tool must be a name: SERVER.TOOL, SERVER.* or a C tool's name");
		return false;
	}
	if (t->len > NAME_MAX_BYTES) { /* not worth echoing */
		gb_report(b, HF_SEV_ERROR, file, t,
		          "a tool name of %zu bytes; names are at most %d characters", t->len,
		          TOOL_NAME_MAX);
		return false;
	}
	*dot = strchr(t->str, '.');
	if (!*dot) {
		if (tool_name_ok(t->str, t->len))
			return true;
		gb_report(b, HF_SEV_ERROR, file, t, "tool name '%s' must be " NAME_RULE, t->str);
		return false;
	}
	ns = (size_t)(*dot - t->str);
	if (!tool_name_ok(t->str, ns)) {
		gb_report(b, HF_SEV_ERROR, file, t, "MCP server name '%.*s' in '%s' must be " NAME_RULE,
		          (int)ns, t->str, t->str);
		return false;
	}
	if (strcmp(*dot + 1, "*") && !tool_name_ok(*dot + 1, t->len - ns - 1)) {
		gb_report(b, HF_SEV_ERROR, file, t,
		          "tool name '%s' in '%s' must be " NAME_RULE ", or * for all the server's tools",
		          *dot + 1, t->str);
		return false;
	}
	return true;
}

/* An entry equal to, or giving the model the same name as, one already
 * listed (files.read after files.read, files.*, or another server's read):
 * reported, true. */
static bool tool_repeated(graph_build *b, const char *file, const gy_node *t, const hf_agent *a,
                          const char *server, const char *name)
{
	size_t j;
	for (j = 0; j < a->ntools; j++) {
		const hf_agent_tool *p = &a->tools[j];
		bool same_server = server && p->server ? !strcmp(server, p->server) : server == p->server;
		if (same_server && !strcmp(p->name, name)) {
			gb_report(b, HF_SEV_ERROR, file, t, "tool '%s' is listed twice (first at %d:%d)",
			          t->str, p->line, p->col);
			return true;
		}
		if (same_server && (!strcmp(p->name, "*") || !strcmp(name, "*"))) {
			gb_report(b, HF_SEV_ERROR, file, t,
			          "tools '%s' and '%s.%s' (at %d:%d) both offer '%s.%s'; list one or the "
			          "other",
			          t->str, server, p->name, p->line, p->col, server,
			          strcmp(name, "*") ? name : p->name);
			return true;
		}
		if (strcmp(name, "*") && !strcmp(p->name, name)) {
			gb_report(b, HF_SEV_ERROR, file, t,
			          "tools '%s%s%s' (at %d:%d) and '%s' both give the model a tool named "
			          "'%s'; an agent's tools need distinct names",
			          p->server ? p->server : "", p->server ? "." : "", p->name, p->line, p->col,
			          t->str, name);
			return true;
		}
	}
	return false;
}

static void read_tools(graph_build *b, const char *file, const gy_node *v, hf_agent *a)
{
	size_t i;
	if (v->kind != GY_SEQ) {
		gb_report(b, HF_SEV_ERROR, file, v,
		          "tools must be a list of tool names: SERVER.TOOL, SERVER.* or a C tool's name");
		return;
	}
	if (v->nkids > TOOLS_MAX) {
		gb_report(b, HF_SEV_ERROR, file, v, "tools lists %zu tools; the limit is %d", v->nkids,
		          TOOLS_MAX);
		return;
	}
	if (!v->nkids)
		return;
	if (!(a->tools = hf_calloc(v->nkids, sizeof(*a->tools)))) {
		b->oom = true;
		return;
	}
	for (i = 0; i < v->nkids; i++) {
		const gy_node *t = v->kids[i];
		hf_agent_tool *out = &a->tools[a->ntools];
		const char *dot = NULL;
		char *server = NULL;

		if (!tool_entry(b, file, t, &dot))
			continue;
		if (dot && !(server = hf_strndup(t->str, (size_t)(dot - t->str)))) {
			b->oom = true;
			return;
		}
		if (tool_repeated(b, file, t, a, server, dot ? dot + 1 : t->str)) {
			free(server);
			continue;
		}
		out->server = server;
		if (!(out->name = hf_strdup(dot ? dot + 1 : t->str)) ||
		    !(out->written = hf_strdup(t->str))) {
			free(server);
			free(out->name);
			out->server = out->name = NULL;
			b->oom = true;
			return;
		}
		out->line = t->line;
		out->col = t->col;
		a->ntools++;
	}
}

/* stop_at: a list of tool names as the model sees them. */
static void read_stop_at(graph_build *b, const char *file, const gy_node *v, gb_agent *ga)
{
	hf_agent *a = &ga->a;
	bool ok = true;
	size_t i;
	if (v->kind != GY_SEQ || !v->nkids || v->nkids > TOOLS_MAX) {
		gb_report(b, HF_SEV_ERROR, file, v, "stop_at must be a list of 1 to %d tool names",
		          TOOLS_MAX);
		return;
	}
	for (i = 0; i < v->nkids; i++) {
		const gy_node *t = v->kids[i];
		const char *dot = NULL;
		if (is_text(t) && tool_name_ok(t->str, t->len))
			continue;
		ok = false;
		if (is_text(t) && t->len <= NAME_MAX_BYTES && (dot = strchr(t->str, '.')) &&
		    tool_name_ok(dot + 1, t->len - (size_t)(dot - t->str) - 1))
			gb_report(b, HF_SEV_ERROR, file, t,
			          "stop_at names tools as the model sees them: '%s', not '%s'", dot + 1,
			          t->str);
		else if (is_text(t) && t->len <= NAME_MAX_BYTES)
			gb_report(b, HF_SEV_ERROR, file, t, "tool name '%s' in stop_at must be " NAME_RULE,
			          t->str);
		else
			gb_report(b, HF_SEV_ERROR, file, t, "each entry of stop_at must be a tool name");
	}
	if (!ok)
		return;
	if (!(a->stop_at = hf_calloc(v->nkids + 1, sizeof(*a->stop_at)))) {
		b->oom = true;
		return;
	}
	for (i = 0; i < v->nkids; i++)
		if (!(a->stop_at[i] = hf_strdup(v->kids[i]->str))) {
			b->oom = true;
			return;
		}
	a->tool_use = HF_TOOL_USE_STOP_AT;
	ga->stop_at = v;
}

static void read_tool_use(graph_build *b, const char *file, const gy_node *v, gb_agent *ga)
{
	const gy_node *k[1] = { NULL };
	if (is_text(v) && !strcmp(v->str, "run_llm_again")) {
		ga->a.tool_use = HF_TOOL_USE_RUN_LLM_AGAIN;
	} else if (is_text(v) && !strcmp(v->str, "stop_on_first_tool")) {
		ga->a.tool_use = HF_TOOL_USE_STOP_ON_FIRST;
	} else if (v->kind == GY_MAP) {
		read_keys(b, file, v, &tool_use_set, k);
		if (k[0])
			read_stop_at(b, file, k[0], ga);
		else if (v->nkids == 0)
			gb_report(b, HF_SEV_ERROR, file, v, "tool_use needs stop_at: a list of tool names");
	} else {
		gb_report(b, HF_SEV_ERROR, file, v,
		          "tool_use must be run_llm_again, stop_on_first_tool or {stop_at: [tool names]}");
	}
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
	if (v[AK_TOOLS])
		read_tools(b, file, v[AK_TOOLS], a);
	if (v[AK_TOOL_USE])
		read_tool_use(b, file, v[AK_TOOL_USE], &ga);

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

	if (map->kind != GY_MAP) {
		gb_report(b, HF_SEV_ERROR, file, map,
		          "timeouts must be a mapping (connect_timeout, timeout, idle_timeout, "
		          "deadline)");
		return;
	}
	read_keys(b, file, map, &timeout_set, v);
	for (i = 0; i < TK_COUNT; i++) {
		if (v[i] && !duration(v[i], ms[i]))
			gb_report(b, HF_SEV_ERROR, file, v[i], "%s must be " DURATION_RULE,
			          timeout_keys[i]);
	}
}

/* ---- MCP servers ---- */

/* A header name: an HTTP token (RFC 9110). */
static bool is_header_name(const char *s)
{
	return *s && !s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	                          "!#$%&'*+-.^_`|~")];
}

/* A list of texts (names: tool names) as a NULL-terminated array, empty
 * for an empty list; NULL after reporting a problem. */
static char **text_list(graph_build *b, const char *file, const gy_node *v, const char *key,
                        bool names)
{
	char **out;
	size_t i;
	bool ok = v->kind == GY_SEQ;
	if (!ok) {
		gb_report(b, HF_SEV_ERROR, file, v, names ? "%s must be a list of tool names"
		                                          : "%s must be a list of texts",
		          key);
		return NULL;
	}
	for (i = 0; i < v->nkids; i++) {
		const gy_node *t = v->kids[i];
		if (!is_text(t)) {
			gb_report(b, HF_SEV_ERROR, file, t, "each entry of %s must be %s", key,
			          names ? "a tool name" : "text");
			ok = false;
		} else if (names && !tool_name_ok(t->str, t->len)) {
			gb_report(b, HF_SEV_ERROR, file, t, "tool name '%.*s' in %s must be " NAME_RULE,
			          t->len > NAME_MAX_BYTES ? 64 : (int)t->len, t->str, key);
			ok = false;
		}
	}
	if (!ok)
		return NULL;
	if (!(out = hf_calloc(v->nkids + 1, sizeof(*out)))) {
		b->oom = true;
		return NULL;
	}
	for (i = 0; i < v->nkids; i++)
		if (!(out[i] = hf_strdup(v->kids[i]->str))) {
			b->oom = true; /* the array ends at the first NULL */
			break;
		}
	return out;
}

/* env ("NAME=VALUE") or headers ("Name: value") as a NULL-terminated
 * array; NULL after reporting a problem. Values are never echoed: they
 * may be secrets. */
static char **pair_list(graph_build *b, const char *file, const gy_node *v, bool env)
{
	const char *key = env ? "env" : "headers";
	size_t n = v->nkids / 2, i, j;
	bool ok = true;
	char **out;

	if (v->kind != GY_MAP) {
		gb_report(b, HF_SEV_ERROR, file, v, "%s must be a mapping of %s names to texts", key,
		          env ? "variable" : "header");
		return NULL;
	}
	if (n > PAIRS_MAX) {
		gb_report(b, HF_SEV_ERROR, file, v, "%s has %zu entries; the limit is %d", key, n,
		          PAIRS_MAX);
		return NULL;
	}
	for (i = 0; i < v->nkids; i += 2) {
		const gy_node *k = v->kids[i], *val = v->kids[i + 1];
		int32_t cp;
		if (!is_text(k) || !(env ? is_env_name(k->str) : is_header_name(k->str))) {
			gb_report(b, HF_SEV_ERROR, file, k,
			          env ? "env: each name must be an environment variable's (letters, "
			                "digits and _, not starting with a digit)"
			              : "headers: each name must be a header's (letters, digits and "
			                "!#$%%&'*+-.^_`|~)");
			ok = false;
			continue;
		}
		for (j = 0; j < i; j += 2)
			if (is_text(v->kids[j]) && (env ? !strcmp(v->kids[j]->str, k->str)
			                                : !strcasecmp(v->kids[j]->str, k->str)))
				break;
		if (j < i) {
			gb_report(b, HF_SEV_ERROR, file, k, "%s '%s' is set twice (first at %d:%d)",
			          env ? "variable" : "header", k->str, v->kids[j]->line, v->kids[j]->col);
			ok = false;
		} else if (!is_text(val)) {
			gb_report(b, HF_SEV_ERROR, file, val, "%s '%s': the value must be text", key, k->str);
			ok = false;
		} else if (!env && hf_text_control_at(val->str, val->len, &cp) < val->len) {
			gb_report(b, HF_SEV_ERROR, file, val,
			          "headers '%s': the value must not contain control characters", k->str);
			ok = false;
		}
	}
	if (!ok)
		return NULL;
	if (!(out = hf_calloc(n + 1, sizeof(*out)))) {
		b->oom = true;
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (!(out[i] = hf_asprintf(env ? "%s=%s" : "%s: %s", v->kids[2 * i]->str,
		                           v->kids[2 * i + 1]->str))) {
			b->oom = true; /* the array ends at the first NULL */
			break;
		}
	return out;
}

/* The absolute directory of `file`, NULL (after b->oom) when out of memory. */
static char *file_dir(graph_build *b, const char *file)
{
	const char *slash = strrchr(file, '/');
	char here[4096], *d;
	if (file[0] == '/')
		d = hf_strndup(file, slash == file ? 1 : (size_t)(slash - file));
	else if (!getcwd(here, sizeof(here)))
		d = slash ? hf_strndup(file, (size_t)(slash - file)) : hf_strdup(".");
	else if (slash)
		d = hf_asprintf("%s/%.*s", here, (int)(slash - file), file);
	else
		d = hf_strdup(here);
	if (!d)
		b->oom = true;
	return d;
}

/* cwd: as written when absolute; relative to the declaring file's
 * directory (made absolute) when the graph came from files; as written or
 * NULL (the tool set's choice) when it came from a string. */
static void server_cwd(graph_build *b, const char *file, const gy_node *v, hf_mcp_server_conf *s)
{
	char *dir;
	if (v && !(s->cwd = text(b, file, v, "cwd")))
		return;
	if (s->cwd && !*s->cwd) {
		gb_report(b, HF_SEV_ERROR, file, v, "cwd must not be empty");
		return;
	}
	if (!b->from_files || (s->cwd && s->cwd[0] == '/') || !(dir = file_dir(b, file)))
		return;
	if (s->cwd) {
		char *joined = hf_asprintf("%s/%s", dir, s->cwd);
		free(dir);
		if (!joined) {
			b->oom = true;
			return;
		}
		dir = joined;
	}
	free(s->cwd);
	s->cwd = dir;
}

static void read_server(graph_build *b, const char *file, const gy_node *k, const gy_node *map,
                        hf_mcp_server_conf *s)
{
	static const int stdio_only[] = { MK_ARGS, MK_ENV, MK_CWD };
	const gy_node *v[MK_COUNT] = { NULL };
	size_t i;

	s->line = k->line;
	s->col = k->col;
	if (map->kind != GY_MAP) {
		gb_report(b, HF_SEV_ERROR, file, map,
		          "MCP server '%s' must be a mapping (command or url, args, env, ...)", s->name);
		return;
	}
	read_keys(b, file, map, &server_set, v);
	if (v[MK_COMMAND] && v[MK_URL])
		gb_report(b, HF_SEV_ERROR, file, v[MK_URL],
		          "MCP server '%s' has both command and url; give one: command runs a program "
		          "(stdio), url is a Streamable HTTP endpoint", s->name);
	else if (!v[MK_COMMAND] && !v[MK_URL])
		gb_report(b, HF_SEV_ERROR, file, k,
		          "MCP server '%s' needs command (a program to run, over stdio) or url (a "
		          "Streamable HTTP endpoint)", s->name);
	if (v[MK_COMMAND] && (s->command = text(b, file, v[MK_COMMAND], "command")) && !*s->command)
		gb_report(b, HF_SEV_ERROR, file, v[MK_COMMAND], "command must not be empty");
	if (v[MK_URL] && (s->url = text(b, file, v[MK_URL], "url")) &&
	    strncmp(s->url, "http://", 7) && strncmp(s->url, "https://", 8))
		gb_report(b, HF_SEV_ERROR, file, v[MK_URL], "url must start with http:// or https://");
	for (i = 0; i < HF_ARRAY_LEN(stdio_only) && !v[MK_COMMAND] && v[MK_URL]; i++)
		if (v[stdio_only[i]])
			gb_report(b, HF_SEV_ERROR, file, v[stdio_only[i]],
			          "%s is for command (stdio) servers; MCP server '%s' has a url",
			          server_keys[stdio_only[i]], s->name);
	if (v[MK_HEADERS] && v[MK_COMMAND] && !v[MK_URL])
		gb_report(b, HF_SEV_ERROR, file, v[MK_HEADERS],
		          "headers is for url (HTTP) servers; MCP server '%s' has a command", s->name);
	if (v[MK_ARGS])
		s->args = text_list(b, file, v[MK_ARGS], "args", false);
	if (v[MK_ENV])
		s->env = pair_list(b, file, v[MK_ENV], true);
	if (v[MK_HEADERS])
		s->headers = pair_list(b, file, v[MK_HEADERS], false);
	if (v[MK_TIMEOUT] && !duration(v[MK_TIMEOUT], &s->timeout_ms))
		gb_report(b, HF_SEV_ERROR, file, v[MK_TIMEOUT], "timeout must be " DURATION_RULE);
	if (v[MK_ALLOW])
		s->allow = text_list(b, file, v[MK_ALLOW], "allow", true);
	if (v[MK_DENY])
		s->deny = text_list(b, file, v[MK_DENY], "deny", true);
	if (!v[MK_URL] || v[MK_COMMAND])
		server_cwd(b, file, v[MK_CWD], s);
}

static void read_servers(graph_build *b, const char *file, const gy_node *map)
{
	hf_graph *g = b->g;
	size_t i, j;

	if (map->kind != GY_MAP) {
		gb_report(b, HF_SEV_ERROR, file, map,
		          "mcp_servers must be a mapping of server names to their settings (command "
		          "or url, ...)");
		return;
	}
	if (map->nkids / 2 > SERVERS_MAX) {
		gb_report(b, HF_SEV_ERROR, file, map, "mcp_servers declares %zu servers; the limit is %d",
		          map->nkids / 2, SERVERS_MAX);
		return;
	}
	if (!map->nkids)
		return;
	if (!(g->servers = hf_calloc(map->nkids / 2, sizeof(*g->servers)))) {
		b->oom = true;
		return;
	}
	for (i = 0; i + 1 < map->nkids && !b->oom; i += 2) {
		const gy_node *k = map->kids[i];
		hf_mcp_server_conf *s = &g->servers[g->nservers];
		if (!is_text(k) || k->len > NAME_MAX_BYTES) {
			gb_report(b, HF_SEV_ERROR, file, k,
			          "an MCP server's name must be " NAME_RULE);
			continue;
		}
		if (!tool_name_ok(k->str, k->len)) {
			gb_report(b, HF_SEV_ERROR, file, k, "MCP server name '%s' must be " NAME_RULE,
			          k->str);
			continue;
		}
		for (j = 0; j < g->nservers && strcmp(g->servers[j].name, k->str); j++)
			;
		if (j < g->nservers) {
			gb_report(b, HF_SEV_ERROR, file, k, "duplicate MCP server '%s' (first at %d:%d)",
			          k->str, g->servers[j].line, g->servers[j].col);
			continue;
		}
		s->name = hf_strdup(k->str);
		s->file = hf_strdup(file);
		g->nservers++; /* freed with the graph from here */
		if (!s->name || !s->file) {
			b->oom = true;
			return;
		}
		read_server(b, file, k, map->kids[i + 1], s);
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
	if (first_setting(b, file, v, GK_MCP_SERVERS))
		read_servers(b, file, v[GK_MCP_SERVERS]);
	if (first_setting(b, file, v, GK_TOOL_ERRORS)) {
		if (is_text(v[GK_TOOL_ERRORS]) && !strcmp(v[GK_TOOL_ERRORS]->str, "fail"))
			g->tool_errors_fail = true;
		else if (!is_text(v[GK_TOOL_ERRORS]) || strcmp(v[GK_TOOL_ERRORS]->str, "tell_model"))
			gb_report(b, HF_SEV_ERROR, file, v[GK_TOOL_ERRORS],
			          "tool_errors must be tell_model or fail");
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

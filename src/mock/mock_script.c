/*
 * mock_script.c - what the mock model answers: the default routing model
 * (route to the agent of the user's language, hand back to the router when
 * the user switches language, else route by topic words, otherwise answer
 * in that language) and the scenario file that scripts exact replies
 * instead.
 */
#include "mock_internal.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRANSFER_PREFIX "transfer_to_"
#define MAX_TOOLS 128

static int add_numbered_call(hf_reply *r, const char *name, _Atomic unsigned long *next_call)
{
	char id[32];
	snprintf(id, sizeof(id), "call_%lu", ++*next_call);
	return mock_reply_add_call(r, id, name, "{}");
}

/* ---- reading the request ---- */

static const char *role_of(const cJSON *msg)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(msg, "role");
	return cJSON_IsString(r) ? r->valuestring : "";
}

/* The text of a message: its content string, or the text parts joined. */
static void message_text(const cJSON *msg, hf_buf *out)
{
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content"), *part;
	if (cJSON_IsString(content)) {
		hf_buf_puts(out, content->valuestring);
		return;
	}
	cJSON_ArrayForEach(part, content) {
		const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
		if (cJSON_IsString(text)) {
			if (out->len)
				hf_buf_puts(out, " ");
			hf_buf_puts(out, text->valuestring);
		}
	}
}

/* The agent a handoff result names: tool content {"assistant": "<name>"}.
 * Returns an owned name, or NULL when msg is not a handoff result. */
static char *handoff_target(const cJSON *msg)
{
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content"), *name;
	cJSON *parsed;
	char *out = NULL;
	if (!cJSON_IsString(content) || content->valuestring[0] != '{')
		return NULL;
	parsed = cJSON_Parse(content->valuestring);
	name = cJSON_GetObjectItemCaseSensitive(parsed, "assistant");
	if (cJSON_IsString(name))
		out = hf_strdup(name->valuestring);
	cJSON_Delete(parsed);
	return out;
}

size_t mock_offered_tools(const cJSON *request, const char **names, size_t max,
                          bool transfers_only)
{
	const cJSON *tools = cJSON_GetObjectItemCaseSensitive(request, "tools"), *t;
	size_t n = 0;
	cJSON_ArrayForEach(t, tools) {
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
		if (!cJSON_IsString(name) || n == max)
			continue;
		if (transfers_only && strncmp(name->valuestring, TRANSFER_PREFIX,
		                              sizeof(TRANSFER_PREFIX) - 1))
			continue;
		names[n++] = name->valuestring;
	}
	return n;
}

static const char *tool_description(const cJSON *request, const char *tool)
{
	const cJSON *tools = cJSON_GetObjectItemCaseSensitive(request, "tools"), *t;
	cJSON_ArrayForEach(t, tools) {
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
		const cJSON *desc = cJSON_GetObjectItemCaseSensitive(fn, "description");
		if (cJSON_IsString(name) && !strcmp(name->valuestring, tool))
			return cJSON_IsString(desc) ? desc->valuestring : NULL;
	}
	return NULL;
}

/* The offered transfer tool for language l: by its name first; only when
 * no transfer tool names a language, by its description. */
static const char *transfer_for(const cJSON *request, const char **transfers, size_t n,
                                mock_lang l)
{
	size_t i;
	bool any_named = false;
	for (i = 0; i < n; i++) {
		int named = mock_lang_named(transfers[i] + sizeof(TRANSFER_PREFIX) - 1);
		if (named == (int)l)
			return transfers[i];
		any_named = any_named || named >= 0;
	}
	if (any_named)
		return NULL;
	for (i = 0; i < n; i++)
		if (mock_lang_named(tool_description(request, transfers[i])) == (int)l)
			return transfers[i];
	return NULL;
}

/* ---- topic words ---- */

#define TOPIC_MIN 4 /* shorter words never count */

/* Words of four letters or more that say nothing about a topic. */
static const char *const topic_stop[] = {
	"about", "agent", "answer", "answers", "asks", "call", "calls", "conversation", "could",
	"does", "from", "handle", "handles", "have", "hello", "help", "here", "into", "just",
	"know", "like", "need", "please", "question", "questions", "should", "some", "tell",
	"than", "thank", "thanks", "that", "their", "them", "then", "there", "they", "this",
	"transfer", "user", "users", "want", "what", "when", "where", "which", "will", "with",
	"would", "your", NULL
};

/* The next word of s (ASCII letters and digits, lower-cased into w, cap
 * bytes) of TOPIC_MIN letters or more that is not a stop word; advances *s.
 * False at the end. */
static bool next_topic_word(const char **s, char *w, size_t cap)
{
	while (**s) {
		size_t n = 0, i;
		bool stop = false;
		while (**s && !isalnum((unsigned char)**s))
			(*s)++;
		while (isalnum((unsigned char)**s)) {
			if (n + 1 < cap)
				w[n++] = (char)tolower((unsigned char)**s);
			(*s)++;
		}
		w[n] = '\0';
		for (i = 0; topic_stop[i] && !stop; i++)
			stop = !strcmp(w, topic_stop[i]);
		if (n >= TOPIC_MIN && !stop)
			return true;
	}
	return false;
}

/* How many of the user's topic words the text names: equal, or one the
 * start of the other ("order" and "orders"). */
static int topic_score(const char *user, const char *text)
{
	char uw[64], tw[64];
	const char *u = user;
	int score = 0;
	if (!text)
		return 0;
	while (next_topic_word(&u, uw, sizeof(uw))) {
		const char *t = text;
		while (next_topic_word(&t, tw, sizeof(tw))) {
			size_t n = strlen(uw) < strlen(tw) ? strlen(uw) : strlen(tw);
			if (!strncmp(uw, tw, n)) {
				score++;
				break;
			}
		}
	}
	return score;
}

/* The transfer tool whose name (after transfer_to_) and description (its
 * first 500 bytes or so) together name the most of the user's topic words;
 * NULL on none or a tie. */
static const char *transfer_by_topic(const cJSON *request, const char **transfers, size_t n,
                                     const char *user)
{
	const char *best = NULL;
	int top = 0, i;
	bool tie = false;
	for (i = 0; user && i < (int)n; i++) {
		const char *desc = tool_description(request, transfers[i]);
		char about[512];
		int score;
		snprintf(about, sizeof(about), "%s %s", transfers[i] + sizeof(TRANSFER_PREFIX) - 1,
		         desc ? desc : "");
		score = topic_score(user, about);
		if (score > top) {
			top = score;
			best = transfers[i];
			tie = false;
		} else if (score && score == top) {
			tie = true;
		}
	}
	return tie ? NULL : best;
}

/* ---- the routing model ---- */

int mock_route(hf_reply *out, const cJSON *request, _Atomic unsigned long *next_call)
{
	const cJSON *messages = cJSON_GetObjectItemCaseSensitive(request, "messages"), *msg;
	const cJSON *last_user = NULL;
	const char *transfers[MAX_TOOLS], *target;
	char *agent = NULL, *turn_agent = NULL;
	bool tool_after_user = false;
	hf_buf text = HF_BUF_INIT;
	size_t ntransfers;
	mock_lang lang;
	int rc;

	memset(out, 0, sizeof(*out));
	/* The latest user message, the agent holding the conversation (latest
	 * handoff result) and the agent handed to in this turn, if any. */
	cJSON_ArrayForEach(msg, messages) {
		const char *role = role_of(msg);
		if (!strcmp(role, "user")) {
			last_user = msg;
			tool_after_user = false;
			free(turn_agent);
			turn_agent = NULL;
		} else if (!strcmp(role, "tool")) {
			char *target_name = handoff_target(msg);
			tool_after_user = true;
			if (target_name) {
				free(agent);
				agent = target_name;
				free(turn_agent);
				turn_agent = hf_strdup(target_name);
			}
		}
	}
	if (last_user)
		message_text(last_user, &text);
	/* (0) Function tools: answer their results, or call those named. */
	if (mock_tools_reply(out, request, last_user ? (text.data ? text.data : "") : NULL,
	                     next_call, &rc))
		goto done;
	lang = mock_lang_detect(text.data ? text.data : "", text.len);
	ntransfers = mock_tool_choice_none(request)
	                     ? 0
	                     : mock_offered_tools(request, transfers, MAX_TOOLS, true);

	/* (1) Route to the agent of the user's language, unless this turn
	 * already reached an agent that speaks it. */
	target = transfer_for(request, transfers, ntransfers, lang);
	if (target && (!tool_after_user || mock_lang_named(turn_agent) != (int)lang)) {
		rc = add_numbered_call(out, target, next_call);
		goto done;
	}
	/* (2) The user switched language away from the agent holding the
	 * conversation: hand back (the first transfer tool offered). */
	if (!tool_after_user && ntransfers && mock_lang_named(agent) >= 0 &&
	    mock_lang_named(agent) != (int)lang) {
		rc = add_numbered_call(out, transfers[0], next_call);
		goto done;
	}
	/* (3) No handoff yet in this turn: the handoff whose agent's name or
	 * description shares the most topic words with the user's message. */
	if (!tool_after_user &&
	    (target = transfer_by_topic(request, transfers, ntransfers, text.data))) {
		rc = add_numbered_call(out, target, next_call);
		goto done;
	}
	/* (4) Answer in the user's language. */
	out->content = hf_strdup(mock_lang_sentence(lang));
	rc = out->content ? HF_OK : HF_ENOMEM;
done:
	hf_buf_dispose(&text);
	free(agent);
	free(turn_agent);
	return rc;
}

/* ---- faults that change the reply ---- */

/* Text with an invalid UTF-8 sequence (C3 28) after its first word. */
static int break_utf8(hf_reply *r)
{
	const char *text = r->content ? r->content : "Hello there.";
	const char *space = strchr(text, ' ');
	size_t at = space ? (size_t)(space - text) + 1 : strlen(text);
	char *bad = hf_asprintf("%.*s\xC3\x28 %s", (int)at, text, text + at);
	if (!bad)
		return HF_ENOMEM;
	free(r->content);
	r->content = bad;
	return HF_OK;
}

int mock_reply_fault(hf_reply *r, const cJSON *request, const mock_fault *f,
                     _Atomic unsigned long *next_call)
{
	const char *names[2];
	size_t i, n;
	int rc = HF_OK;

	switch (f->kind) {
	case MOCK_FAULT_BAD_UTF8:
		return break_utf8(r);
	case MOCK_FAULT_EMPTY_ID:
	case MOCK_FAULT_MISSING_ID:
		if (!r->ncalls) {
			n = mock_offered_tools(request, names, 1, false);
			free(r->content);
			r->content = NULL;
			rc = add_numbered_call(r, n ? names[0] : "lookup_weather", next_call);
		}
		for (i = 0; i < r->ncalls; i++) {
			free(r->calls[i].id);
			r->calls[i].id = f->kind == MOCK_FAULT_EMPTY_ID ? hf_strdup("") : NULL;
			if (f->kind == MOCK_FAULT_EMPTY_ID && !r->calls[i].id)
				rc = HF_ENOMEM;
		}
		return rc;
	case MOCK_FAULT_UNKNOWN_TOOL: {
		char id[32];
		hf_chat_reply_dispose(r);
		snprintf(id, sizeof(id), "call_%lu", ++*next_call);
		return mock_reply_add_call(r, id, "lookup_weather", "{\"city\":\"Paris\"}");
	}
	case MOCK_FAULT_MULTI_HANDOFF:
		n = mock_offered_tools(request, names, 2, true);
		hf_chat_reply_dispose(r);
		if (n == 0) {
			names[0] = "transfer_to_spanish_agent";
			names[1] = "transfer_to_english_agent";
		} else if (n == 1) {
			names[1] = names[0];
		}
		rc = add_numbered_call(r, names[0], next_call);
		return rc ? rc : add_numbered_call(r, names[1], next_call);
	default:
		return HF_OK;
	}
}

/* ---- scenario ---- */

typedef struct entry {
	hf_reply reply;
	char *fault;     /* fault spec, or NULL */
	long repeat;
} entry;

struct mock_scenario {
	entry *entries;
	size_t n;
	pthread_mutex_t lock;
	size_t next;     /* entry to serve */
	long served;     /* times entries[next] has been served */
};

void mock_scenario_free(mock_scenario *s)
{
	size_t i;
	if (!s)
		return;
	for (i = 0; i < s->n; i++) {
		hf_chat_reply_dispose(&s->entries[i].reply);
		free(s->entries[i].fault);
	}
	free(s->entries);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static int load_call(entry *e, const cJSON *call, const char *path, size_t i, hf_error *err)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(call, "id");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(call, "name");
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(call, "arguments"), *k;
	char *args_text = NULL;
	int rc;

	cJSON_ArrayForEach(k, call) {
		if (strcmp(k->string, "id") && strcmp(k->string, "name") &&
		    strcmp(k->string, "arguments"))
			return hf_err(err, HF_ECONFIG,
			              "%s: entry %zu: unknown tool-call key \"%s\" (known: id, name, "
			              "arguments)",
			              path, i, k->string);
	}
	if (!cJSON_IsString(name) || !name->valuestring[0])
		return hf_err(err, HF_ECONFIG, "%s: entry %zu: a tool call needs a string \"name\"",
		              path, i);
	if (id && !cJSON_IsString(id))
		return hf_err(err, HF_ECONFIG, "%s: entry %zu: a tool-call \"id\" is a string", path,
		              i);
	if (cJSON_IsObject(args) || cJSON_IsArray(args))
		args_text = cJSON_PrintUnformatted(args);
	else if (args && !cJSON_IsString(args))
		return hf_err(err, HF_ECONFIG,
		              "%s: entry %zu: tool-call \"arguments\" is a JSON text or an object",
		              path, i);
	rc = mock_reply_add_call(&e->reply, id ? id->valuestring : NULL, name->valuestring,
	                         args_text ? args_text : args ? args->valuestring : "{}");
	free(args_text);
	return rc ? hf_err(err, rc, "out of memory loading %s", path) : HF_OK;
}

static int load_entry(entry *e, const cJSON *j, const char *path, size_t i, hf_error *err)
{
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(j, "content");
	const cJSON *calls = cJSON_GetObjectItemCaseSensitive(j, "tool_calls");
	const cJSON *fault = cJSON_GetObjectItemCaseSensitive(j, "fault");
	const cJSON *repeat = cJSON_GetObjectItemCaseSensitive(j, "repeat"), *k;
	mock_fault f;
	int rc;

	e->repeat = 1;
	if (!cJSON_IsObject(j))
		return hf_err(err, HF_ECONFIG, "%s: entry %zu is not an object", path, i);
	cJSON_ArrayForEach(k, j) {
		if (strcmp(k->string, "content") && strcmp(k->string, "tool_calls") &&
		    strcmp(k->string, "fault") && strcmp(k->string, "repeat"))
			return hf_err(err, HF_ECONFIG,
			              "%s: entry %zu: unknown key \"%s\" (known: content, tool_calls, "
			              "fault, repeat)",
			              path, i, k->string);
	}
	if (content && !cJSON_IsString(content))
		return hf_err(err, HF_ECONFIG, "%s: entry %zu: \"content\" is a string", path, i);
	if (calls && !cJSON_IsArray(calls))
		return hf_err(err, HF_ECONFIG, "%s: entry %zu: \"tool_calls\" is an array", path, i);
	if (!content && !cJSON_GetArraySize(calls) && !fault)
		return hf_err(err, HF_ECONFIG,
		              "%s: entry %zu needs \"content\", \"tool_calls\" or \"fault\"", path, i);
	if (repeat && (!cJSON_IsNumber(repeat) || repeat->valuedouble < 1 ||
	               repeat->valuedouble > 1e9))
		return hf_err(err, HF_ECONFIG, "%s: entry %zu: \"repeat\" is a count of at least 1",
		              path, i);
	if (repeat)
		e->repeat = (long)repeat->valuedouble;
	if (fault) {
		if (!cJSON_IsString(fault))
			return hf_err(err, HF_ECONFIG, "%s: entry %zu: \"fault\" is a string like "
			                               "\"429;ms=50\"",
			              path, i);
		if (mock_fault_parse(&f, fault->valuestring, err)) {
			hf_err_prefix(err, "%s: entry %zu", path, i);
			if (err)
				err->code = HF_ECONFIG;
			return HF_ECONFIG;
		}
		e->fault = hf_strdup(fault->valuestring);
		if (!e->fault)
			return hf_err(err, HF_ENOMEM, "out of memory loading %s", path);
	}
	if (content) {
		e->reply.content = hf_strdup(content->valuestring);
		if (!e->reply.content)
			return hf_err(err, HF_ENOMEM, "out of memory loading %s", path);
	}
	cJSON_ArrayForEach(k, calls) {
		if (!cJSON_IsObject(k))
			return hf_err(err, HF_ECONFIG, "%s: entry %zu: a tool call is an object", path, i);
		rc = load_call(e, k, path, i, err);
		if (rc)
			return rc;
	}
	return HF_OK;
}

int mock_scenario_load(mock_scenario **out, const char *path, hf_error *err)
{
	hf_buf text = HF_BUF_INIT;
	size_t i = 0;
	cJSON *root, *list, *item;
	mock_scenario *s;
	int rc;

	*out = NULL;
	if ((rc = mock_read_file(&text, path, "scenario", err)))
		return rc;
	root = cJSON_ParseWithLength(text.data ? text.data : "", text.len);
	hf_buf_dispose(&text);
	list = cJSON_IsArray(root) ? root : cJSON_GetObjectItemCaseSensitive(root, "replies");
	if (!cJSON_IsArray(list)) {
		cJSON_Delete(root);
		return hf_err(err, HF_ECONFIG,
		              "%s: a scenario is a JSON object {\"replies\": [...]} or an array of "
		              "replies",
		              path);
	}
	s = hf_calloc(1, sizeof(*s));
	if (s)
		s->entries = hf_calloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(*s->entries));
	if (!s || !s->entries) {
		free(s);
		cJSON_Delete(root);
		return hf_err(err, HF_ENOMEM, "out of memory loading %s", path);
	}
	pthread_mutex_init(&s->lock, NULL);
	cJSON_ArrayForEach(item, list) {
		rc = load_entry(&s->entries[s->n++], item, path, i++, err);
		if (rc)
			break;
	}
	cJSON_Delete(root);
	if (rc) {
		mock_scenario_free(s);
		return rc;
	}
	*out = s;
	return HF_OK;
}

static int copy_reply(hf_reply *out, const hf_reply *in)
{
	size_t i;
	memset(out, 0, sizeof(*out));
	if (in->content && !(out->content = hf_strdup(in->content)))
		return HF_ENOMEM;
	for (i = 0; i < in->ncalls; i++)
		if (mock_reply_add_call(out, in->calls[i].id, in->calls[i].name,
		                        in->calls[i].arguments))
			return HF_ENOMEM;
	return HF_OK;
}

bool mock_scenario_next(mock_scenario *s, hf_reply *out, const char **fault, int *rc)
{
	const entry *e = NULL;
	*fault = NULL;
	*rc = HF_OK;
	memset(out, 0, sizeof(*out));
	if (!s)
		return false;
	pthread_mutex_lock(&s->lock);
	if (s->next < s->n) {
		e = &s->entries[s->next];
		if (++s->served >= e->repeat) {
			s->next++;
			s->served = 0;
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (!e)
		return false;
	*fault = e->fault;
	if (e->reply.content || e->reply.ncalls)
		*rc = copy_reply(out, &e->reply);
	return true;
}

void mock_scenario_reset(mock_scenario *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->next = 0;
	s->served = 0;
	pthread_mutex_unlock(&s->lock);
}

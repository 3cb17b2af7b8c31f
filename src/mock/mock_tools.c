/*
 * mock_tools.c - the mock model's function tools (see docs/mock.md "Function
 * tools"): after function-tool results it answers with their output; when
 * the latest user message names a function tool the request offers, it
 * calls it with arguments taken from the message (a JSON object in it, or
 * key=value pairs for the properties the tool's schema declares, typed by
 * the schema); tool_choice "none" stops every call.
 */
#include "mock_internal.h"
#include "text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TRANSFER_PREFIX "transfer_to_"
#define MAX_CALLS 16
#define MAX_JSON_TRIES 32
/* How much of each tool output the answer quotes, in bytes. */
#define OUTPUT_QUOTE 200

static bool is_transfer(const char *name)
{
	return !strncmp(name, TRANSFER_PREFIX, sizeof(TRANSFER_PREFIX) - 1);
}

static const char *str_member(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool mock_tool_choice_none(const cJSON *request)
{
	const char *choice = str_member(request, "tool_choice");
	return choice && !strcmp(choice, "none");
}

/* The function name of call `id` in assistant message msg, or NULL. */
static const char *call_name(const cJSON *msg, const char *id)
{
	const cJSON *call;
	cJSON_ArrayForEach(call, cJSON_GetObjectItemCaseSensitive(msg, "tool_calls")) {
		const char *cid = str_member(call, "id");
		if (cid && id && !strcmp(cid, id))
			return str_member(cJSON_GetObjectItemCaseSensitive(call, "function"), "name");
	}
	return NULL;
}

/* ---- answering tool results ---- */

/* Whether the request offers function tool `name` (a call to a tool that
 * was not offered, answered "not found" by the runner, counts as none). */
static bool offers_function(const cJSON *request, const char *name)
{
	const cJSON *t;
	if (!name || is_transfer(name))
		return false;
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(request, "tools")) {
		const char *n = str_member(cJSON_GetObjectItemCaseSensitive(t, "function"), "name");
		if (n && !strcmp(n, name))
			return true;
	}
	return false;
}

/* Where the conversation stands: the tool messages ending it (the first
 * of them, NULL when it does not end with one), the assistant message they
 * answer, and whether a function tool (not a handoff) answered since the
 * latest user message. */
typedef struct scan {
	const cJSON *first_tool;
	const cJSON *assistant;
	bool function_in_turn;
} scan;

static scan scan_messages(const cJSON *request)
{
	const cJSON *messages = cJSON_GetObjectItemCaseSensitive(request, "messages");
	const cJSON *m;
	scan s = { NULL, NULL, false };
	cJSON_ArrayForEach(m, messages) {
		const char *role = str_member(m, "role");
		if (role && !strcmp(role, "tool")) {
			const char *name = call_name(s.assistant, str_member(m, "tool_call_id"));
			if (!s.first_tool)
				s.first_tool = m;
			if (offers_function(request, name))
				s.function_in_turn = true;
			continue;
		}
		s.first_tool = NULL;
		if (role && !strcmp(role, "assistant"))
			s.assistant = m;
		else if (role && !strcmp(role, "user"))
			s.function_in_turn = false;
	}
	return s;
}

/* "The tool NAME returned: OUTPUT" per function-tool result ending the
 * conversation, the output cut to OUTPUT_QUOTE bytes on a character
 * boundary. *answered is false when there is none (the last message is no
 * tool result, or only handoff results). HF_ENOMEM. */
static int answer_results(hf_reply *out, const cJSON *request, const scan *s, bool *answered)
{
	const cJSON *m;
	hf_buf text = HF_BUF_INIT;
	int rc = HF_OK;

	*answered = false;
	for (m = s->first_tool; m && !rc; m = m->next) {
		const char *name = call_name(s->assistant, str_member(m, "tool_call_id"));
		const char *content = str_member(m, "content");
		size_t len, cut;
		if (!offers_function(request, name))
			continue;
		content = content ? content : "";
		len = strlen(content);
		cut = hf_text_utf8_cut(content, len, OUTPUT_QUOTE);
		rc = hf_buf_printf(&text, "%sThe tool %s returned: %.*s%s", text.len ? "\n" : "",
		                   name, (int)cut, content, cut < len ? "…" : "");
	}
	if (!rc && text.len) {
		out->content = hf_buf_detach(&text);
		rc = out->content ? HF_OK : HF_ENOMEM;
		*answered = true;
	}
	hf_buf_dispose(&text);
	return rc;
}

/* ---- finding tool names and arguments in the user's message ---- */

static bool name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* The offset of the first occurrence of word in text as a whole word (no
 * name character on either side; "files.read_file" names read_file), or
 * -1. */
static long find_word(const char *text, const char *word)
{
	size_t n = strlen(word);
	const char *p = text;
	if (!n)
		return -1;
	while ((p = strstr(p, word))) {
		if ((p == text || !name_char(p[-1])) && !name_char(p[n]))
			return (long)(p - text);
		p++;
	}
	return -1;
}

/* The first JSON object written in text, printed compactly (owned), or
 * NULL when there is none. */
static char *json_in(const char *text)
{
	const char *p = text;
	int tries = 0;
	while ((p = strchr(p, '{')) && tries++ < MAX_JSON_TRIES) {
		const char *end = NULL;
		cJSON *j = cJSON_ParseWithOpts(p, &end, 0);
		if (cJSON_IsObject(j)) {
			char *s = cJSON_PrintUnformatted(j);
			cJSON_Delete(j);
			return s;
		}
		cJSON_Delete(j);
		p++;
	}
	return NULL;
}

/* The value written as key=value or key="quoted \"value\"" in text (owned),
 * or NULL when the key is not there (or out of memory). */
static char *value_of(const char *text, const char *key)
{
	size_t n = strlen(key);
	const char *p = text;
	while (n && (p = strstr(p, key))) {
		const char *v = p + n;
		if ((p == text || !name_char(p[-1])) && *v == '=') {
			hf_buf b = HF_BUF_INIT;
			if (*++v == '"') {
				for (v++; *v && *v != '"'; v++) {
					if (*v == '\\' && (v[1] == '"' || v[1] == '\\'))
						v++;
					hf_buf_append(&b, v, 1);
				}
			} else {
				size_t len = strcspn(v, " \t\r\n");
				hf_buf_append(&b, v, len);
			}
			return hf_buf_detach(&b); /* NULL: out of memory */
		}
		p++;
	}
	return NULL;
}

/* The type a property's schema gives: "type" or the first non-null entry
 * of a type list; "string" when there is none. */
static const char *schema_type(const cJSON *prop)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(prop, "type"), *e;
	if (cJSON_IsString(t))
		return t->valuestring;
	cJSON_ArrayForEach(e, t) {
		if (cJSON_IsString(e) && strcmp(e->valuestring, "null"))
			return e->valuestring;
	}
	return "string";
}

/* The value text typed as the schema says: numbers and booleans when it
 * reads as one, arrays and objects when it is such JSON; a string else. */
static cJSON *typed(const char *value, const char *type)
{
	if (!strcmp(type, "number") || !strcmp(type, "integer")) {
		char *end;
		double d = strtod(value, &end);
		if (*value && !*end && isfinite(d) &&
		    (strcmp(type, "integer") || d == floor(d)))
			return cJSON_CreateNumber(d);
	} else if (!strcmp(type, "boolean")) {
		if (!strcasecmp(value, "true") || !strcasecmp(value, "false"))
			return cJSON_CreateBool(!strcasecmp(value, "true"));
	} else if (!strcmp(type, "array") || !strcmp(type, "object")) {
		cJSON *j = cJSON_Parse(value);
		if ((cJSON_IsArray(j) && type[0] == 'a') || (cJSON_IsObject(j) && type[0] == 'o'))
			return j;
		cJSON_Delete(j);
	}
	return cJSON_CreateString(value);
}

/* The arguments of a call to `tool` (its entry in the request's tools)
 * from key=value pairs for the properties its parameters declare, in the
 * schema's order: each looked for in `own` (the part of the message about
 * this tool) first, then in `pre` (the message before the first tool it
 * names). Owned JSON text, NULL out of memory. */
static char *pairs_for(const cJSON *tool, const char *own, const char *pre)
{
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(tool, "function"), "parameters");
	const cJSON *prop;
	cJSON *args = cJSON_CreateObject();
	char *out;
	cJSON_ArrayForEach(prop, cJSON_GetObjectItemCaseSensitive(params, "properties")) {
		char *value = prop->string ? value_of(own, prop->string) : NULL;
		if (!value && prop->string)
			value = value_of(pre, prop->string);
		if (value)
			cJSON_AddItemToObject(args, prop->string, typed(value, schema_type(prop)));
		free(value);
	}
	out = args ? cJSON_PrintUnformatted(args) : NULL;
	cJSON_Delete(args);
	return out;
}

/* ---- calling the tools the message names ---- */

typedef struct named {
	const cJSON *tool;
	long at;
} named;

static int by_position(const void *a, const void *b)
{
	long x = ((const named *)a)->at, y = ((const named *)b)->at;
	return (x > y) - (x < y);
}

/* Calls to every offered function tool that text names, in the order the
 * message names them. HF_ENOMEM. */
static int call_named(hf_reply *out, const cJSON *request, const char *text,
                      _Atomic unsigned long *next_call)
{
	const cJSON *tool;
	named found[MAX_CALLS];
	size_t n = 0, i;
	char *json = NULL, *pre = NULL;
	int rc = HF_OK;

	cJSON_ArrayForEach(tool, cJSON_GetObjectItemCaseSensitive(request, "tools")) {
		const char *type = str_member(tool, "type");
		const char *name = str_member(cJSON_GetObjectItemCaseSensitive(tool, "function"), "name");
		long at;
		if (n == MAX_CALLS || !name || is_transfer(name) || (type && strcmp(type, "function")))
			continue;
		if ((at = find_word(text, name)) >= 0)
			found[n++] = (named){ tool, at };
	}
	if (!n)
		return HF_OK;
	qsort(found, n, sizeof(*found), by_position);
	json = json_in(text);
	pre = hf_strndup(text, (size_t)found[0].at);
	for (i = 0; i < n && !rc; i++) {
		const char *name = str_member(cJSON_GetObjectItemCaseSensitive(found[i].tool, "function"),
		                              "name");
		/* the message from this tool's name to the next one's */
		char *own = json ? NULL
		                 : hf_strndup(text + found[i].at,
		                              (i + 1 < n ? (size_t)found[i + 1].at : strlen(text)) -
		                                      (size_t)found[i].at);
		char *args = own && pre ? pairs_for(found[i].tool, own, pre) : NULL;
		char id[32];
		free(own);
		snprintf(id, sizeof(id), "call_%lu", ++*next_call);
		rc = json || args ? mock_reply_add_call(out, id, name, json ? json : args) : HF_ENOMEM;
		free(args);
	}
	free(json);
	free(pre);
	return rc;
}

bool mock_tools_reply(hf_reply *out, const cJSON *request, const char *user_text,
                      _Atomic unsigned long *next_call, int *rc)
{
	scan s = scan_messages(request);
	bool answered = false;
	*rc = answer_results(out, request, &s, &answered);
	if (*rc || answered)
		return true;
	if (s.function_in_turn || mock_tool_choice_none(request) || !user_text)
		return false;
	*rc = call_named(out, request, user_text, next_call);
	return *rc || out->ncalls;
}

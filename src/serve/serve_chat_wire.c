/*
 * serve_chat_wire.c - POST /v1/chat/completions without HTTP: parse and
 * check a request body, map a failed turn to an OpenAI error reply, render
 * the completion and the stream's chunks (docs/serve.md "Protocol").
 */
#include "serve_chat_wire.h"

#include <cjson/cJSON.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int serve_fail_set(serve_fail *f, int status, const char *type, const char *param,
                   const char *code, const char *fmt, ...)
{
	va_list ap;

	f->status = status;
	f->type = type;
	f->code = code;
	snprintf(f->param, sizeof(f->param), "%s", param ? param : "");
	va_start(ap, fmt);
	vsnprintf(f->message, sizeof(f->message), fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- parsing ---- */

#define BAD "invalid_request_error"

/* A 400 naming field `param`. */
static int bad(serve_fail *f, const char *param, const char *code, const char *what)
{
	return serve_fail_set(f, 400, BAD, param, code, "%s: %s", param, what);
}

/* Absent or null. */
static bool none(const cJSON *v)
{
	return !v || cJSON_IsNull(v);
}

/* An optional boolean member: false when absent or null. */
static int opt_bool(bool *out, const cJSON *obj, const char *name, const char *param,
                    serve_fail *f)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	*out = false;
	if (none(v))
		return 0;
	if (!cJSON_IsBool(v))
		return bad(f, param, "invalid_type", "must be true or false");
	*out = cJSON_IsTrue(v);
	return 0;
}

/* The text of a message's content: a string, or an array of text parts
 * joined with "\n". *out NULL for null or absent content. */
static int content_text(char **out, const cJSON *msg, size_t i, serve_fail *f)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(msg, "content"), *part;
	char param[64];
	size_t len = 0, j = 0;
	char *text;

	*out = NULL;
	snprintf(param, sizeof(param), "messages[%zu].content", i);
	if (none(c))
		return 0;
	if (cJSON_IsString(c))
		return (*out = strdup(c->valuestring)) ? 0
		       : serve_fail_set(f, 500, "server_error", NULL, "out_of_memory", "out of memory");
	if (!cJSON_IsArray(c))
		return bad(f, param, "invalid_type", "must be a string or an array of text parts");
	cJSON_ArrayForEach(part, c) {
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
		if (!cJSON_IsString(type) || strcmp(type->valuestring, "text") || !cJSON_IsString(t)) {
			snprintf(param, sizeof(param), "messages[%zu].content[%zu]", i, j);
			return bad(f, param, "unsupported_content",
			           "only text parts ({\"type\":\"text\",\"text\":...}) are supported");
		}
		len += strlen(t->valuestring) + 1;
		j++;
	}
	if (!(text = malloc(len + 1)))
		return serve_fail_set(f, 500, "server_error", NULL, "out_of_memory", "out of memory");
	len = 0;
	cJSON_ArrayForEach(part, c) {
		const char *t = cJSON_GetObjectItemCaseSensitive(part, "text")->valuestring;
		size_t n = strlen(t);
		if (len)
			text[len++] = '\n';
		memcpy(text + len, t, n);
		len += n;
	}
	text[len] = '\0';
	*out = text;
	return 0;
}

enum role { ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT, ROLE_TOOL };

/* Check message i's shape; its role in *role. */
static int check_message(enum role *role, const cJSON *m, size_t i, serve_fail *f)
{
	static const struct { const char *name; enum role role; } roles[] = {
		{ "system", ROLE_SYSTEM }, { "developer", ROLE_SYSTEM }, { "user", ROLE_USER },
		{ "assistant", ROLE_ASSISTANT }, { "tool", ROLE_TOOL },
	};
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "role");
	char param[64];
	size_t k;

	snprintf(param, sizeof(param), "messages[%zu]", i);
	if (!cJSON_IsObject(m))
		return bad(f, param, "invalid_type", "each message must be an object");
	snprintf(param, sizeof(param), "messages[%zu].role", i);
	if (!cJSON_IsString(r))
		return bad(f, param, "missing_parameter", "each message needs a role");
	for (k = 0; k < sizeof(roles) / sizeof(roles[0]); k++)
		if (!strcmp(r->valuestring, roles[k].name)) {
			*role = roles[k].role;
			return 0;
		}
	return bad(f, param, "invalid_value",
	           "unknown role; use system, developer, user, assistant or tool");
}

/* Message i of a stateless history as the JSON the session takes: user
 * and tool text, assistant text and tool calls. *json NULL for a message
 * that is dropped (system, developer). */
static int history_message(char **json, const cJSON *m, enum role role, size_t i, serve_fail *f)
{
	static const char *const names[] = { "system", "user", "assistant", "tool" };
	const cJSON *calls = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
	const cJSON *call_id = cJSON_GetObjectItemCaseSensitive(m, "tool_call_id");
	char *text = NULL, param[64];
	cJSON *o;
	int rc;

	*json = NULL;
	if (role == ROLE_SYSTEM)
		return 0;
	if ((rc = content_text(&text, m, i, f)))
		return rc;
	if (role == ROLE_TOOL && !cJSON_IsString(call_id)) {
		free(text);
		snprintf(param, sizeof(param), "messages[%zu].tool_call_id", i);
		return bad(f, param, "missing_parameter", "a tool message needs the id of its call");
	}
	if (!text && (role != ROLE_ASSISTANT || none(calls))) {
		snprintf(param, sizeof(param), "messages[%zu].content", i);
		return bad(f, param, "missing_parameter",
		           role == ROLE_ASSISTANT ? "an assistant message needs content or tool_calls"
		                                  : "this message needs content");
	}
	o = cJSON_CreateObject();
	if (o && cJSON_AddStringToObject(o, "role", names[role]) &&
	    (text ? cJSON_AddStringToObject(o, "content", text) != NULL
	          : cJSON_AddNullToObject(o, "content") != NULL) &&
	    (role != ROLE_ASSISTANT || none(calls) ||
	     cJSON_AddItemToObject(o, "tool_calls", cJSON_Duplicate(calls, true))) &&
	    (role != ROLE_TOOL || cJSON_AddStringToObject(o, "tool_call_id", call_id->valuestring)))
		*json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	free(text);
	return *json ? 0 : serve_fail_set(f, 500, "server_error", NULL, "out_of_memory", "out of memory");
}

/* The session a request names: the header, else metadata.session_id. */
static int parse_session(serve_chat_request *q, const cJSON *root, const char *header,
                         serve_fail *f)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
	const cJSON *sid = NULL;
	hf_error err;

	if (!none(meta) && !cJSON_IsObject(meta))
		return bad(f, "metadata", "invalid_type", "must be an object of strings");
	if (cJSON_IsObject(meta)) {
		sid = cJSON_GetObjectItemCaseSensitive(meta, "session_id");
		if (none(sid))
			sid = NULL;
		else if (!cJSON_IsString(sid))
			return bad(f, "metadata.session_id", "invalid_type", "must be a string");
	}
	if (header && sid && strcmp(header, sid->valuestring))
		return bad(f, "metadata.session_id", "invalid_value",
		           "differs from the X-Handoff-Session header; send one of them");
	q->session_from = header ? "X-Handoff-Session" : sid ? "metadata.session_id" : NULL;
	if (!header && !sid)
		return 0;
	if (hf_session_id_check(header ? header : sid->valuestring, &err))
		return serve_fail_set(f, 400, BAD, q->session_from, "invalid_session_id", "%s: %s",
		                      q->session_from, err.message);
	if (!(q->session = strdup(header ? header : sid->valuestring)))
		return serve_fail_set(f, 500, "server_error", NULL, "out_of_memory", "out of memory");
	return 0;
}

/* What the graph owns and a client may not send: tools, tool_choice
 * other than "auto"/"none", functions; and n other than 1. */
static int refuse_client_tools(const cJSON *root, serve_fail *f)
{
	const cJSON *tools = cJSON_GetObjectItemCaseSensitive(root, "tools");
	const cJSON *choice = cJSON_GetObjectItemCaseSensitive(root, "tool_choice");
	const cJSON *fns = cJSON_GetObjectItemCaseSensitive(root, "functions");
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(root, "n");

	if (!none(tools) && !(cJSON_IsArray(tools) && cJSON_GetArraySize(tools) == 0))
		return bad(f, "tools", "tools_not_supported",
		           "this model is an agent graph: its agents call their own tools and "
		           "hand off among themselves; send no tools");
	if (!none(fns))
		return bad(f, "functions", "tools_not_supported",
		           "this model is an agent graph: its agents call their own tools; "
		           "send no functions");
	if (!none(choice) && !(cJSON_IsString(choice) && (!strcmp(choice->valuestring, "auto") ||
	                                                   !strcmp(choice->valuestring, "none"))))
		return bad(f, "tool_choice", "tools_not_supported",
		           "this model is an agent graph that chooses its own tools; send no "
		           "tool_choice (or \"auto\")");
	if (!none(n) && !(cJSON_IsNumber(n) && n->valuedouble == 1))
		return bad(f, "n", "invalid_value", "only one choice (n = 1) is supported");
	return 0;
}

/* The trailing user messages: how many, and their texts joined. */
static int parse_input(serve_chat_request *q, const cJSON *msgs, const enum role *roles,
                       size_t count, serve_fail *f)
{
	size_t first = count, i, len = 0;
	char **texts;
	int rc = 0;

	while (first > 0 && roles[first - 1] == ROLE_USER)
		first--;
	if (first == count)
		return bad(f, "messages", "invalid_value",
		           "the last message must be a user message: it is the new input");
	if (!(texts = calloc(count - first, sizeof(*texts))))
		return serve_fail_set(f, 500, "server_error", NULL, "out_of_memory", "out of memory");
	for (i = first; !rc && i < count; i++) {
		char param[64];
		if ((rc = content_text(&texts[i - first], cJSON_GetArrayItem(msgs, (int)i), i, f)))
			break;
		if (!texts[i - first]) {
			snprintf(param, sizeof(param), "messages[%zu].content", i);
			rc = bad(f, param, "missing_parameter", "a user message needs content");
			break;
		}
		len += strlen(texts[i - first]) + 2;
	}
	if (!rc && !(q->input = malloc(len + 1)))
		rc = serve_fail_set(f, 500, "server_error", NULL, "out_of_memory", "out of memory");
	if (!rc) {
		len = 0;
		for (i = 0; i < count - first; i++) {
			size_t n = strlen(texts[i]);
			if (i) {
				memcpy(q->input + len, "\n\n", 2);
				len += 2;
			}
			memcpy(q->input + len, texts[i], n);
			len += n;
		}
		q->input[len] = '\0';
		q->inputs = count - first;
	}
	for (i = 0; i < count - first; i++)
		free(texts[i]);
	free(texts);
	return rc;
}

/* A stateless request's history: messages [0, upto) normalised. */
static int parse_history(serve_chat_request *q, const cJSON *msgs, const enum role *roles,
                         size_t upto, serve_fail *f)
{
	size_t i;
	int rc;

	if (upto && !(q->history = calloc(upto, sizeof(*q->history))))
		return serve_fail_set(f, 500, "server_error", NULL, "out_of_memory", "out of memory");
	for (i = 0; i < upto; i++) {
		char *json;
		if ((rc = history_message(&json, cJSON_GetArrayItem(msgs, (int)i), roles[i], i, f)))
			return rc;
		if (!json) {
			q->dropped_system++;
			continue;
		}
		q->history[q->nhistory].index = i;
		q->history[q->nhistory++].json = json;
	}
	return 0;
}

static int parse_root(serve_chat_request *q, const cJSON *root, const char *header,
                      serve_fail *f)
{
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
	const cJSON *so = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
	enum role *roles;
	size_t count, i;
	int rc = 0;

	if (!cJSON_IsObject(root))
		return serve_fail_set(f, 400, BAD, NULL, "invalid_json",
		                      "the body must be a JSON object (a chat-completions request)");
	if (none(model))
		return bad(f, "model", "missing_parameter", "required: the name of a served graph");
	if (!cJSON_IsString(model) || !*model->valuestring)
		return bad(f, "model", "invalid_type", "must be the name of a served graph");
	if (none(msgs))
		return bad(f, "messages", "missing_parameter", "required: a non-empty array");
	if (!cJSON_IsArray(msgs) || !(count = (size_t)cJSON_GetArraySize(msgs)))
		return bad(f, "messages", "invalid_type", "must be a non-empty array of messages");
	if ((rc = opt_bool(&q->stream, root, "stream", "stream", f)))
		return rc;
	if (!none(so) && !cJSON_IsObject(so))
		return bad(f, "stream_options", "invalid_type", "must be an object");
	if (cJSON_IsObject(so) &&
	    (rc = opt_bool(&q->include_usage, so, "include_usage", "stream_options.include_usage", f)))
		return rc;
	if ((rc = refuse_client_tools(root, f)) || (rc = parse_session(q, root, header, f)))
		return rc;
	if (!(q->model = strdup(model->valuestring)) || !(roles = calloc(count, sizeof(*roles))))
		return serve_fail_set(f, 500, "server_error", NULL, "out_of_memory", "out of memory");
	for (i = 0; !rc && i < count; i++)
		rc = check_message(&roles[i], cJSON_GetArrayItem(msgs, (int)i), i, f);
	if (!rc)
		rc = parse_input(q, msgs, roles, count, f);
	if (!rc && !q->session)
		rc = parse_history(q, msgs, roles, count - q->inputs, f);
	free(roles);
	return rc;
}

int serve_chat_parse(serve_chat_request *q, const char *body, size_t len,
                     const char *session_header, serve_fail *f)
{
	cJSON *root = body ? cJSON_ParseWithLength(body, len) : NULL;
	int rc;

	memset(q, 0, sizeof(*q));
	if (!root)
		return serve_fail_set(f, 400, BAD, NULL, "invalid_json",
		                      "the body is not JSON (a chat-completions request object)");
	rc = parse_root(q, root, session_header, f);
	cJSON_Delete(root);
	if (rc)
		serve_chat_request_free(q);
	return rc;
}

void serve_chat_request_free(serve_chat_request *q)
{
	size_t i;

	if (!q)
		return;
	for (i = 0; i < q->nhistory; i++)
		free(q->history[i].json);
	free(q->history);
	free(q->model);
	free(q->session);
	free(q->input);
	memset(q, 0, sizeof(*q));
}

/* ---- errors ---- */

/* Whether an HF_ENET message says the endpoint took too long. */
static bool timed_out(const hf_error *e)
{
	return strstr(e->message, "timed out") || strstr(e->message, "idle timeout");
}

void serve_fail_from_error(serve_fail *f, const hf_error *e)
{
	if (e->http_status > 0) {
		serve_fail_set(f, 502, "upstream_error", NULL,
		               e->code == HF_EAUTH ? "upstream_auth" : "upstream_http",
		               "the model endpoint answered HTTP %d: %s", e->http_status, e->message);
		return;
	}
	switch (e->code) {
	case HF_ENET:
		if (timed_out(e))
			serve_fail_set(f, 504, "upstream_error", NULL, "upstream_timeout",
			               "the model endpoint did not answer in time: %s", e->message);
		else
			serve_fail_set(f, 502, "upstream_error", NULL, "upstream_network",
			               "the model endpoint could not be reached: %s", e->message);
		return;
	case HF_EAUTH:
	case HF_EHTTP:
	case HF_EPROTOCOL:
		serve_fail_set(f, 502, "upstream_error", NULL,
		               e->code == HF_EPROTOCOL ? "upstream_protocol" : "upstream_http",
		               "the model endpoint failed: %s", e->message);
		return;
	case HF_EINVAL:
		serve_fail_set(f, 400, BAD, "messages", "invalid_input", "messages: %s", e->message);
		return;
	case HF_ECONFLICT:
		serve_fail_set(f, 409, BAD, NULL, "session_conflict",
		               "the session changed while this turn ran (another writer); nothing "
		               "was stored: send the message again");
		return;
	case HF_ECANCELLED:
		serve_fail_set(f, 503, "server_error", NULL, "shutting_down",
		               "the server is shutting down; this turn was cancelled and not stored");
		return;
	default:
		serve_fail_set(f, 500, "server_error", NULL, hf_code_name(e->code), "%s", e->message);
	}
}

const char *serve_chat_refusal_text(const hf_error *e)
{
	static const char mark[] = "refused to answer: ";
	const char *p = strstr(e->message, mark);

	return p ? p + sizeof(mark) - 1 : e->message;
}

/* ---- handoffs ---- */

int serve_handoffs_add(serve_handoffs *h, const char *from, const char *to)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 4;
		char **f = realloc(h->from, cap * sizeof(*f)), **t;
		if (!f)
			return HF_ENOMEM;
		h->from = f;
		if (!(t = realloc(h->to, cap * sizeof(*t))))
			return HF_ENOMEM;
		h->to = t;
		h->cap = cap;
	}
	h->from[h->n] = strdup(from ? from : "");
	h->to[h->n] = strdup(to ? to : "");
	if (!h->from[h->n] || !h->to[h->n]) {
		free(h->from[h->n]);
		free(h->to[h->n]);
		return HF_ENOMEM;
	}
	h->n++;
	return 0;
}

void serve_handoffs_free(serve_handoffs *h)
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		free(h->from[i]);
		free(h->to[i]);
	}
	free(h->from);
	free(h->to);
	memset(h, 0, sizeof(*h));
}

char *serve_handoffs_path(const serve_handoffs *h, const char *agent)
{
	size_t len = 1, i;
	const char *first = h && h->n ? h->from[0] : agent ? agent : "";
	char *p;

	len += strlen(first);
	for (i = 0; h && i < h->n; i++)
		len += strlen(h->to[i]) + 1;
	if (!(p = malloc(len)))
		return NULL;
	strcpy(p, first);
	for (i = 0; h && i < h->n; i++) {
		strcat(p, ">");
		strcat(p, h->to[i]);
	}
	return p;
}

/* ---- rendering ---- */

static cJSON *usage_json(const hf_usage *u)
{
	cJSON *o = cJSON_CreateObject();

	if (o && cJSON_AddNumberToObject(o, "prompt_tokens", (double)u->input_tokens) &&
	    cJSON_AddNumberToObject(o, "completion_tokens", (double)u->output_tokens) &&
	    cJSON_AddNumberToObject(o, "total_tokens", (double)u->total_tokens))
		return o;
	cJSON_Delete(o);
	return NULL;
}

/* The extra "handoff" field: {"agent", "handoffs":[{"from","to"}]}. */
static bool add_handoff(cJSON *o, const char *agent, const serve_handoffs *h)
{
	cJSON *x = cJSON_AddObjectToObject(o, "handoff"), *list, *one;
	size_t i;

	if (!x || !cJSON_AddStringToObject(x, "agent", agent) ||
	    !(list = cJSON_AddArrayToObject(x, "handoffs")))
		return false;
	for (i = 0; h && i < h->n; i++) {
		if (!(one = cJSON_CreateObject()))
			return false;
		cJSON_AddItemToArray(list, one);
		if (!cJSON_AddStringToObject(one, "from", h->from[i]) ||
		    !cJSON_AddStringToObject(one, "to", h->to[i]))
			return false;
	}
	return true;
}

/* The members every reply starts with. */
static cJSON *envelope(const serve_chat_meta *m, const char *object)
{
	cJSON *o = cJSON_CreateObject();

	if (o && cJSON_AddStringToObject(o, "id", m->id) &&
	    cJSON_AddStringToObject(o, "object", object) &&
	    cJSON_AddNumberToObject(o, "created", (double)m->created) &&
	    cJSON_AddStringToObject(o, "model", m->model))
		return o;
	cJSON_Delete(o);
	return NULL;
}

/* Print o compactly and free it; SSE framing when sse. */
static char *finish(cJSON *o, bool ok, bool sse)
{
	char *json = ok && o ? cJSON_PrintUnformatted(o) : NULL, *ev = NULL;
	size_t n;

	cJSON_Delete(o);
	if (!json || !sse)
		return json;
	n = strlen(json);
	if ((ev = malloc(n + 9))) {
		memcpy(ev, "data: ", 6);
		memcpy(ev + 6, json, n);
		memcpy(ev + 6 + n, "\n\n", 3);
	}
	cJSON_free(json);
	return ev;
}

char *serve_chat_render_completion(const serve_chat_meta *m, const char *content,
                                   const char *refusal, const hf_usage *usage,
                                   const char *agent, const serve_handoffs *h)
{
	cJSON *o = envelope(m, "chat.completion"), *choices, *choice, *msg, *u;
	bool ok = o && (choices = cJSON_AddArrayToObject(o, "choices")) &&
	          (choice = cJSON_CreateObject()) && cJSON_AddItemToArray(choices, choice) &&
	          cJSON_AddNumberToObject(choice, "index", 0) &&
	          (msg = cJSON_AddObjectToObject(choice, "message")) &&
	          cJSON_AddStringToObject(msg, "role", "assistant") &&
	          (content ? cJSON_AddStringToObject(msg, "content", content) != NULL
	                   : cJSON_AddNullToObject(msg, "content") != NULL) &&
	          (refusal ? cJSON_AddStringToObject(msg, "refusal", refusal) != NULL
	                   : cJSON_AddNullToObject(msg, "refusal") != NULL) &&
	          cJSON_AddNullToObject(choice, "logprobs") &&
	          cJSON_AddStringToObject(choice, "finish_reason", "stop") &&
	          (u = usage_json(usage)) && cJSON_AddItemToObject(o, "usage", u) &&
	          (!agent || add_handoff(o, agent, h));
	return finish(o, ok, false);
}

char *serve_chat_render_chunk(const serve_chat_meta *m, const char *role, const char *content,
                              const char *refusal, const char *finish_reason,
                              const char *agent, const serve_handoffs *h)
{
	cJSON *o = envelope(m, "chat.completion.chunk"), *choices, *choice, *delta;
	bool ok = o && (choices = cJSON_AddArrayToObject(o, "choices")) &&
	          (choice = cJSON_CreateObject()) && cJSON_AddItemToArray(choices, choice) &&
	          cJSON_AddNumberToObject(choice, "index", 0) &&
	          (delta = cJSON_AddObjectToObject(choice, "delta")) &&
	          (!role || cJSON_AddStringToObject(delta, "role", role)) &&
	          (!content || cJSON_AddStringToObject(delta, "content", content)) &&
	          (!refusal || cJSON_AddStringToObject(delta, "refusal", refusal)) &&
	          cJSON_AddNullToObject(choice, "logprobs") &&
	          (finish_reason ? cJSON_AddStringToObject(choice, "finish_reason", finish_reason) != NULL
	                         : cJSON_AddNullToObject(choice, "finish_reason") != NULL) &&
	          (!agent || add_handoff(o, agent, h));
	return finish(o, ok, true);
}

char *serve_chat_render_usage_chunk(const serve_chat_meta *m, const hf_usage *usage)
{
	cJSON *o = envelope(m, "chat.completion.chunk"), *u;
	bool ok = o && cJSON_AddArrayToObject(o, "choices") && (u = usage_json(usage)) &&
	          cJSON_AddItemToObject(o, "usage", u);
	return finish(o, ok, true);
}

char *serve_chat_render_error_chunk(const serve_chat_meta *m, const serve_fail *f)
{
	cJSON *o = envelope(m, "chat.completion.chunk"), *e;
	bool ok = o && cJSON_AddArrayToObject(o, "choices") &&
	          (e = cJSON_AddObjectToObject(o, "error")) &&
	          cJSON_AddStringToObject(e, "message", f->message) &&
	          cJSON_AddStringToObject(e, "type", f->type) &&
	          (*f->param ? cJSON_AddStringToObject(e, "param", f->param) != NULL
	                     : cJSON_AddNullToObject(e, "param") != NULL) &&
	          (f->code ? cJSON_AddStringToObject(e, "code", f->code) != NULL
	                   : cJSON_AddNullToObject(e, "code") != NULL);
	return finish(o, ok, true);
}

char *serve_header_encode(const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)name;
	size_t n = 0, i;
	char *out, *p;

	for (i = 0; s[i]; i++)
		n += s[i] > 0x20 && s[i] < 0x7F && s[i] != '%' ? 1 : 3;
	if (!(out = p = malloc(n + 1)))
		return NULL;
	for (i = 0; s[i]; i++) {
		if (s[i] > 0x20 && s[i] < 0x7F && s[i] != '%') {
			*p++ = (char)s[i];
		} else {
			*p++ = '%';
			*p++ = hex[s[i] >> 4];
			*p++ = hex[s[i] & 15];
		}
	}
	*p = '\0';
	return out;
}

/*
 * chat.c - the chat-completions wire format: request bodies byte for byte
 * as the Python Agents SDK sends them (through the openai client, which
 * orders the keys and prints compact UTF-8 JSON), message builders, the
 * handoff tool, and non-streaming reply parsing. Stream assembly, which
 * shares the reply checks below, is in stream.c.
 */
#include "chat.h"
#include "text.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- */
/* JSON helpers                                                      */
/* ---------------------------------------------------------------- */

cJSON *hf_json_parse(const char *s, size_t len)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(s, len, &end, false);
	if (!root)
		return NULL;
	while (end < s + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (end != s + len) { /* something after the value */
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

/* Add item under key; on failure item is freed. */
static bool add(cJSON *o, const char *key, cJSON *item)
{
	if (!item)
		return false;
	if (!cJSON_AddItemToObject(o, key, item)) {
		cJSON_Delete(item);
		return false;
	}
	return true;
}

/* Append item to array a; on failure item is freed. */
static bool push(cJSON *a, cJSON *item)
{
	if (item && cJSON_AddItemToArray(a, item))
		return true;
	cJSON_Delete(item);
	return false;
}

/* A string, or JSON null for NULL. */
static bool add_str(cJSON *o, const char *key, const char *v)
{
	return v ? cJSON_AddStringToObject(o, key, v) != NULL : cJSON_AddNullToObject(o, key) != NULL;
}

/* A new object with string (or null) members: keys[i] = vals[i]. */
static cJSON *object_of(const char *const *keys, const char *const *vals, size_t n)
{
	cJSON *o = cJSON_CreateObject();
	size_t i;
	for (i = 0; o && i < n; i++)
		if (!add_str(o, keys[i], vals[i])) {
			cJSON_Delete(o);
			return NULL;
		}
	return o;
}

/* Python's repr(float), which json.dumps prints: the fewest digits that
 * read back as the same double; fixed notation for decimal exponents -4..15
 * with ".0" on whole numbers, else "1e-05" / "1.5e+16". cJSON would print
 * 1.0 as "1", which the Python SDK never sends for a float setting. */
static void py_float(char *out, size_t cap, double d)
{
	char sci[48], digits[24], *o = out, *stop = out + cap - 1;
	const char *p;
	int prec, exp, nd = 0, i;
	for (prec = 0; prec < 17; prec++) {
		snprintf(sci, sizeof(sci), "%.*e", prec, d);
		if (strtod(sci, NULL) == d)
			break;
	}
	p = sci;
	if (*p == '-')
		*o++ = *p++;
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9' && nd < (int)sizeof(digits))
			digits[nd++] = *p;
	exp = *p ? atoi(p + 1) : 0;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (exp < -4 || exp > 15) {
		*o++ = digits[0];
		if (nd > 1)
			*o++ = '.';
		for (i = 1; i < nd; i++)
			*o++ = digits[i];
		snprintf(o, (size_t)(stop - o) + 1, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
		return;
	}
	if (exp < 0) {
		*o++ = '0';
		*o++ = '.';
		for (i = -1; i > exp; i--)
			*o++ = '0';
		for (i = 0; i < nd; i++)
			*o++ = digits[i];
	} else {
		for (i = 0; i <= exp; i++)
			*o++ = i < nd ? digits[i] : '0';
		*o++ = '.';
		if (nd <= exp + 1)
			*o++ = '0';
		for (i = exp + 1; i < nd; i++)
			*o++ = digits[i];
	}
	*o = '\0';
}

static bool add_float(cJSON *o, const char *key, double d)
{
	char buf[48];
	py_float(buf, sizeof(buf), d);
	return cJSON_AddRawToObject(o, key, buf) != NULL;
}

/* Integers are printed from the integer itself: a double would round
 * seeds above 2^53. */
static bool add_int(cJSON *o, const char *key, long long v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", v);
	return cJSON_AddRawToObject(o, key, buf) != NULL;
}

/* ---------------------------------------------------------------- */
/* Request body                                                      */
/* ---------------------------------------------------------------- */

static cJSON *tool_choice(const char *choice)
{
	const char *k[] = { "type" }, *v[] = { "function" }, *fk[] = { "name" }, *fv[] = { choice };
	cJSON *o;
	if (!strcmp(choice, "auto") || !strcmp(choice, "required") || !strcmp(choice, "none"))
		return cJSON_CreateString(choice);
	o = object_of(k, v, 1);
	if (o && !add(o, "function", object_of(fk, fv, 1))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *string_array(char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	size_t i;
	for (i = 0; a && i < n; i++)
		if (!push(a, cJSON_CreateString(v[i]))) {
			cJSON_Delete(a);
			return NULL;
		}
	return a;
}

static cJSON *stream_options(void)
{
	cJSON *o = cJSON_CreateObject();
	if (o && !cJSON_AddTrueToObject(o, "include_usage")) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int hf_chat_body(char **out, const hf_chat_request *req, hf_error *err)
{
	static const hf_settings unset;
	const hf_settings *st = req->settings ? req->settings : &unset;
	bool tools = cJSON_GetArraySize(req->tools) > 0;
	bool ok;
	cJSON *o;
	*out = NULL;
	if (!req->model || !*req->model)
		return hf_err(err, HF_EINVAL, "the request has no model");
	if (!cJSON_IsArray(req->messages))
		return hf_err(err, HF_EINVAL, "the request has no message list");
	if (req->tools && !cJSON_IsArray(req->tools))
		return hf_err(err, HF_EINVAL, "the request's tools are not a list");
	if ((st->has_temperature && !isfinite(st->temperature)) ||
	    (st->has_top_p && !isfinite(st->top_p)))
		return hf_err(err, HF_EINVAL, "temperature and top_p must be finite numbers");
	/* The order of the openai client's chat.completions.create() body:
	 * messages, model, then its parameters alphabetically; extra_body
	 * (compute_provider) is merged last. */
	o = cJSON_CreateObject();
	ok = o && add(o, "messages", cJSON_CreateArrayReference(req->messages->child)) &&
	     cJSON_AddStringToObject(o, "model", req->model) &&
	     (!st->has_max_tokens || add_int(o, "max_tokens", st->max_tokens)) &&
	     (!tools || !st->has_parallel_tool_calls ||
	      cJSON_AddBoolToObject(o, "parallel_tool_calls", st->parallel_tool_calls)) &&
	     (!st->has_seed || add_int(o, "seed", st->seed)) &&
	     (!st->stop || add(o, "stop", string_array(st->stop, st->nstop))) &&
	     (!req->stream || cJSON_AddTrueToObject(o, "stream")) &&
	     (!req->stream || !req->include_usage || add(o, "stream_options", stream_options())) &&
	     (!st->has_temperature || add_float(o, "temperature", st->temperature)) &&
	     (!st->tool_choice || add(o, "tool_choice", tool_choice(st->tool_choice))) &&
	     (!tools || add(o, "tools", cJSON_CreateArrayReference(req->tools->child))) &&
	     (!st->has_top_p || add_float(o, "top_p", st->top_p)) &&
	     (!req->compute_provider ||
	      cJSON_AddStringToObject(o, "compute_provider", req->compute_provider));
	if (ok)
		*out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!*out)
		return hf_err(err, HF_ENOMEM, "out of memory building the request");
	return HF_OK;
}

/* ---------------------------------------------------------------- */
/* Messages and the handoff tool                                     */
/* ---------------------------------------------------------------- */

cJSON *hf_msg_system(const char *text)
{
	const char *k[] = { "content", "role" }, *v[] = { text, "system" };
	return object_of(k, v, 2);
}

cJSON *hf_msg_user(const char *text)
{
	const char *k[] = { "role", "content" }, *v[] = { "user", text };
	return object_of(k, v, 2);
}

cJSON *hf_msg_tool(const char *call_id, const char *content)
{
	const char *k[] = { "role", "tool_call_id", "content" }, *v[] = { "tool", call_id, content };
	return object_of(k, v, 3);
}

static cJSON *tool_call(const hf_reply_call *c)
{
	const char *fk[] = { "name", "arguments" };
	const char *fv[] = { c->name, c->arguments && *c->arguments ? c->arguments : "{}" };
	const char *k[] = { "id", "type" }, *v[] = { c->id ? c->id : "", "function" };
	cJSON *o = object_of(k, v, 2);
	if (o && !add(o, "function", object_of(fk, fv, 2))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

cJSON *hf_msg_assistant(const char *text, const hf_reply_call *calls, size_t ncalls)
{
	const char *k[] = { "role", "content" }, *v[] = { "assistant", text };
	cJSON *o = object_of(k, v, 2), *a;
	size_t i;
	if (!o || ncalls == 0)
		return o;
	a = cJSON_CreateArray();
	if (!add(o, "tool_calls", a)) {
		cJSON_Delete(o);
		return NULL;
	}
	for (i = 0; i < ncalls; i++)
		if (!push(a, tool_call(&calls[i]))) {
			cJSON_Delete(o);
			return NULL;
		}
	return o;
}

/* The SDK's empty strict schema, in its key order. */
static cJSON *empty_schema(void)
{
	cJSON *p = cJSON_CreateObject();
	if (p && (!cJSON_AddFalseToObject(p, "additionalProperties") ||
	          !cJSON_AddStringToObject(p, "type", "object") ||
	          !cJSON_AddObjectToObject(p, "properties") || !cJSON_AddArrayToObject(p, "required"))) {
		cJSON_Delete(p);
		return NULL;
	}
	return p;
}

cJSON *hf_handoff_tool(const hf_agent *target)
{
	const char *k[] = { "name", "description" }, *tk[] = { "type" }, *tv[] = { "function" };
	const char *v[2];
	char *desc;
	cJSON *fn, *tool;
	desc = hf_asprintf("Handoff to the %s agent to handle the request. %s", target->name,
	                   target->description ? target->description : "");
	if (!desc)
		return NULL;
	v[0] = target->tool_name;
	v[1] = desc;
	fn = object_of(k, v, 2);
	free(desc);
	if (fn && (!add(fn, "parameters", empty_schema()) || !cJSON_AddTrueToObject(fn, "strict"))) {
		cJSON_Delete(fn);
		return NULL;
	}
	tool = object_of(tk, tv, 1);
	if (!tool) {
		cJSON_Delete(fn);
		return NULL;
	}
	if (!add(tool, "function", fn)) {
		cJSON_Delete(tool);
		return NULL;
	}
	return tool;
}

/* ---------------------------------------------------------------- */
/* Replies                                                           */
/* ---------------------------------------------------------------- */

/* Copy at most cap-1 bytes of untrusted text, ending on a character
 * boundary, with control characters made spaces (no terminal escapes). */
static void clean_copy(char *dst, size_t cap, const char *src)
{
	size_t n = hf_text_utf8_cut(src, strlen(src), cap - 1), i;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	dst[n] = '\0';
}

/* "type (code)" of an error object, or "" when it has neither. */
static void error_kind(char *dst, size_t cap, const cJSON *e)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "type");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
	char t[96] = "", c[96] = "";
	if (cJSON_IsString(type))
		clean_copy(t, sizeof(t), type->valuestring);
	if (cJSON_IsString(code))
		clean_copy(c, sizeof(c), code->valuestring);
	else if (cJSON_IsNumber(code))
		snprintf(c, sizeof(c), "%.15g", code->valuedouble);
	if (*t && *c)
		snprintf(dst, cap, "%s (%s): ", t, c);
	else if (*t || *c)
		snprintf(dst, cap, "%s: ", *t ? t : c);
	else
		*dst = '\0';
}

int hf_chat_error_envelope(const cJSON *root, hf_error *err)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
	const cJSON *msg;
	char kind[256], text[640];
	if (!e || cJSON_IsNull(e))
		return HF_OK;
	msg = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : e;
	kind[0] = '\0';
	if (cJSON_IsObject(e)) {
		error_kind(kind, sizeof(kind), e);
	} else if (cJSON_IsString(e) && *e->valuestring &&
	           cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "message"))) {
		/* {"error":"TypeError","message":"…"} (Express, Next.js, …) */
		char t[96];
		clean_copy(t, sizeof(t), e->valuestring);
		snprintf(kind, sizeof(kind), "%s: ", t);
		msg = cJSON_GetObjectItemCaseSensitive(root, "message");
	}
	if (cJSON_IsString(msg) && *msg->valuestring)
		clean_copy(text, sizeof(text), msg->valuestring);
	else
		snprintf(text, sizeof(text), "(no message)");
	return hf_err(err, HF_EHTTP, "the endpoint said: %s%s", kind, text);
}

static uint64_t count(const cJSON *o, const char *key)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsNumber(n) || !(n->valuedouble >= 0) || n->valuedouble > 9.0e15)
		return 0;
	return (uint64_t)n->valuedouble;
}

void hf_chat_usage(const cJSON *usage, hf_usage *out)
{
	out->requests = 1;
	out->input_tokens = count(usage, "prompt_tokens");
	out->output_tokens = count(usage, "completion_tokens");
	out->total_tokens = count(usage, "total_tokens");
}

int hf_chat_reply_check(hf_reply *r, hf_error *err)
{
	size_t i;
	if (r->content && !hf_text_utf8_valid(r->content, strlen(r->content), NULL))
		return hf_err(err, HF_EPROTOCOL, "the reply's text is not valid UTF-8");
	if (r->refusal && !hf_text_utf8_valid(r->refusal, strlen(r->refusal), NULL))
		return hf_err(err, HF_EPROTOCOL, "the reply's refusal is not valid UTF-8");
	for (i = 0; i < r->ncalls; i++) {
		hf_reply_call *c = &r->calls[i];
		if (!c->name || !*c->name)
			return hf_err(err, HF_EPROTOCOL, "tool call %zu of the reply has no name", i + 1);
		if (!c->arguments || !*c->arguments) {
			free(c->arguments);
			c->arguments = hf_strdup("{}");
		}
		if (!c->id)
			c->id = hf_strdup("");
		if (!c->id || !c->arguments)
			return hf_err(err, HF_ENOMEM, "out of memory reading the reply");
		if (!hf_text_utf8_valid(c->id, strlen(c->id), NULL) ||
		    !hf_text_utf8_valid(c->name, strlen(c->name), NULL) ||
		    !hf_text_utf8_valid(c->arguments, strlen(c->arguments), NULL))
			return hf_err(err, HF_EPROTOCOL,
			              "tool call %zu of the reply is not valid UTF-8", i + 1);
	}
	return HF_OK;
}

int hf_chat_reply_unanswered(const hf_reply *r, const char *who, hf_error *err)
{
	char words[640];
	if (r->refusal && *r->refusal) {
		clean_copy(words, sizeof(words), r->refusal);
		return hf_err(err, HF_EREFUSAL, "%s refused to answer: %s", who, words);
	}
	if (r->finish_reason && !strcmp(r->finish_reason, "length"))
		return hf_err(err, HF_ELIMIT, "%s hit its token limit before answering "
		              "(finish_reason \"length\"); raise max_tokens or shorten the "
		              "conversation", who);
	if (r->finish_reason && strcmp(r->finish_reason, "stop") &&
	    strcmp(r->finish_reason, "tool_calls") && strcmp(r->finish_reason, "function_call")) {
		clean_copy(words, 96, r->finish_reason);
		return hf_err(err, HF_ELIMIT, "%s stopped without an answer (finish_reason \"%s\")",
		              who, words);
	}
	return HF_OK;
}

void hf_chat_reply_dispose(hf_reply *r)
{
	size_t i;
	if (!r)
		return;
	for (i = 0; i < r->ncalls; i++) {
		free(r->calls[i].id);
		free(r->calls[i].name);
		free(r->calls[i].arguments);
	}
	free(r->calls);
	free(r->content);
	free(r->refusal);
	free(r->finish_reason);
	memset(r, 0, sizeof(*r));
}

/* A member that must be a string, null or absent: *out gets a copy of the
 * string (NULL otherwise). Returns false on a wrong type or no memory
 * (*nomem says which). */
static bool opt_string(char **out, const cJSON *o, const char *key, bool *nomem)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return true;
	if (!cJSON_IsString(v))
		return false;
	*out = hf_strdup(v->valuestring);
	*nomem = !*out;
	return *out != NULL;
}

static int parse_call(hf_reply_call *c, const cJSON *tc, size_t i, hf_error *err)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(tc, "type");
	const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
	bool nomem = false;
	if (!cJSON_IsObject(tc) || !cJSON_IsObject(fn))
		return hf_err(err, HF_EPROTOCOL, "tool call %zu of the reply has no function", i + 1);
	if (type && !(cJSON_IsString(type) && !strcmp(type->valuestring, "function")))
		return hf_err(err, HF_EPROTOCOL,
		              "tool call %zu of the reply is not a function call", i + 1);
	if (!opt_string(&c->id, tc, "id", &nomem) || !opt_string(&c->name, fn, "name", &nomem) ||
	    !opt_string(&c->arguments, fn, "arguments", &nomem))
		return nomem ? hf_err(err, HF_ENOMEM, "out of memory reading the reply")
		             : hf_err(err, HF_EPROTOCOL,
		                      "tool call %zu of the reply has a field that is not a string",
		                      i + 1);
	return HF_OK;
}

static int parse_reply(hf_reply *out, const cJSON *root, hf_error *err)
{
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
	const cJSON *choice, *msg, *calls, *usage, *tc;
	bool nomem = false;
	size_t n, i;
	int rc;
	if (!cJSON_IsObject(root))
		return hf_err(err, HF_EPROTOCOL, "the reply is not a JSON object");
	if (!cJSON_IsArray(choices) || !choices->child)
		return hf_err(err, HF_EPROTOCOL, "the reply has no choices");
	choice = choices->child;
	msg = cJSON_GetObjectItemCaseSensitive(choice, "message");
	if (!cJSON_IsObject(choice) || !cJSON_IsObject(msg))
		return hf_err(err, HF_EPROTOCOL, "the reply's first choice has no message");
	if (!opt_string(&out->content, msg, "content", &nomem) ||
	    !opt_string(&out->refusal, msg, "refusal", &nomem) ||
	    !opt_string(&out->finish_reason, choice, "finish_reason", &nomem))
		return nomem ? hf_err(err, HF_ENOMEM, "out of memory reading the reply")
		             : hf_err(err, HF_EPROTOCOL, "the reply's content, refusal or "
		                      "finish_reason is not a string");
	if (out->content && !*out->content) { /* as the SDK: empty text is no text */
		free(out->content);
		out->content = NULL;
	}
	usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
	out->usage.requests = 1;
	if (cJSON_IsObject(usage)) {
		hf_chat_usage(usage, &out->usage);
		out->has_usage = true;
	}
	calls = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls");
	if (calls && !cJSON_IsNull(calls) && !cJSON_IsArray(calls))
		return hf_err(err, HF_EPROTOCOL, "the reply's tool_calls is not a list");
	n = (size_t)cJSON_GetArraySize(calls);
	if (n > HF_CHAT_MAX_TOOL_CALLS)
		return hf_err(err, HF_ELIMIT, "the reply has %zu tool calls; the limit is %d", n,
		              HF_CHAT_MAX_TOOL_CALLS);
	if (n) {
		out->calls = hf_calloc(n, sizeof(*out->calls));
		if (!out->calls)
			return hf_err(err, HF_ENOMEM, "out of memory reading the reply");
	}
	i = 0;
	cJSON_ArrayForEach(tc, calls) {
		out->ncalls = i + 1; /* so dispose frees what parse_call filled */
		if ((rc = parse_call(&out->calls[i], tc, i, err)))
			return rc;
		i++;
	}
	return hf_chat_reply_check(out, err);
}

/* Whether JSON text s[0..len) has the escape \u0000 in a string: cJSON
 * decodes it to a NUL byte, where every C string would quietly end. */
static bool has_nul_escape(const char *s, size_t len)
{
	/* Called on text cJSON accepted, where every backslash is inside a
	 * string and starts an escape: jump from one backslash to the next
	 * (memchr) and skip the character each one escapes. */
	const char *p = s, *end = s + len;
	while (p < end && (p = memchr(p, '\\', (size_t)(end - p)))) {
		if (end - p >= 6 && !memcmp(p + 1, "u0000", 5))
			return true;
		p += 2;
	}
	return false;
}

int hf_chat_parse(cJSON **root, const char *s, size_t len, const char *what, hf_error *err)
{
	int rc;
	*root = hf_json_parse(s, len);
	if (!*root) {
		/* cJSON refuses a lone UTF-16 surrogate (\ud83d without its
		 * other half): say so when that is all that is wrong. */
		char *marked = NULL;
		size_t mlen = 0;
		unsigned first = 0;
		cJSON *probe = NULL;
		if (hf_text_utf8_valid(s, len, NULL) &&
		    hf_text_json_mark_surrogates(&marked, &mlen, &first, s, len) > 0)
			probe = hf_json_parse(marked, mlen);
		free(marked);
		cJSON_Delete(probe);
		if (probe)
			return hf_err(err, HF_EPROTOCOL, "%s has a lone UTF-16 surrogate (\\u%04x) "
			              "that no other half completes", what, first);
		return hf_err(err, HF_EPROTOCOL, "%s is not valid JSON (%zu bytes)", what, len);
	}
	rc = hf_chat_error_envelope(*root, err);
	if (rc == HF_OK && has_nul_escape(s, len))
		rc = hf_err(err, HF_EPROTOCOL,
		            "%s has a NUL character (\\u0000) in a string; refused rather than cut there",
		            what);
	if (rc) {
		cJSON_Delete(*root);
		*root = NULL;
	}
	return rc;
}

int hf_chat_reply_parse(hf_reply *out, const char *body, size_t len, hf_error *err)
{
	cJSON *root;
	int rc;
	memset(out, 0, sizeof(*out));
	rc = hf_chat_parse(&root, body, len, "the reply", err);
	if (rc == HF_OK)
		rc = parse_reply(out, root, err);
	cJSON_Delete(root);
	if (rc)
		hf_chat_reply_dispose(out);
	return rc;
}

/* ---------------------------------------------------------------- */
/* Per-agent parts of the body, and joining a body from texts        */
/* ---------------------------------------------------------------- */

static const char wire_open[] = "{\"messages\":[]";
static const char wire_stream[] = ",\"stream\":true";
static const char wire_usage[] = ",\"stream_options\":{\"include_usage\":true}";

void hf_chat_wire_dispose(hf_agent_wire *w)
{
	if (!w)
		return;
	free(w->system);
	free(w->head);
	free(w->tail);
	w->system = w->head = w->tail = NULL;
}

static void wire_free(hf_agent_cache *c)
{
	hf_agent_wire *w = (hf_agent_wire *)c;
	hf_chat_wire_dispose(w);
	free(w);
}

int hf_chat_wire_build(hf_agent_wire *w, const hf_agent *a, const cJSON *function_tools,
                       hf_error *err)
{
	cJSON *messages = cJSON_CreateArray(), *tools = NULL, *sys = NULL, *ft;
	hf_chat_request req = { 0 };
	char *body = NULL, *head, *mark;
	size_t i, marklen = strlen(wire_stream) + strlen(wire_usage);
	int rc = messages ? HF_OK : HF_ENOMEM;

	w->system = w->head = w->tail = NULL;
	if (!rc && (a->nhandoffs || cJSON_GetArraySize(function_tools) > 0) &&
	    !(tools = cJSON_CreateArray()))
		rc = HF_ENOMEM;
	/* Function tools first, then the handoffs, as the Agents SDK sends them. */
	cJSON_ArrayForEach(ft, function_tools)
		if (!rc && !push(tools, cJSON_Duplicate(ft, true)))
			rc = HF_ENOMEM;
	for (i = 0; !rc && tools && i < a->nhandoffs; i++)
		if (!push(tools, hf_handoff_tool(a->handoffs[i])))
			rc = HF_ENOMEM;
	if (!rc && a->system_prompt && *a->system_prompt &&
	    !((sys = hf_msg_system(a->system_prompt)) && (w->system = cJSON_PrintUnformatted(sys))))
		rc = HF_ENOMEM;
	req.model = a->model;
	req.messages = messages;
	req.tools = tools;
	req.settings = &a->settings;
	req.stream = req.include_usage = true;
	if (!rc && !(rc = hf_chat_body(&body, &req, err))) {
		head = body + strlen(wire_open);
		mark = strstr(head, wire_stream);
		if (strncmp(body, wire_open, strlen(wire_open)) || !mark ||
		    strncmp(mark + strlen(wire_stream), wire_usage, strlen(wire_usage)))
			rc = hf_err(err, HF_EPROTOCOL, "cannot cut the request of agent '%s'", a->name);
		else if (!(w->head = hf_strndup(head, (size_t)(mark - head))) ||
		         /* the tail runs to the closing brace */
		         !(w->tail = hf_strndup(mark + marklen, strlen(mark + marklen) - 1)))
			rc = HF_ENOMEM;
	}
	free(body);
	cJSON_Delete(messages);
	cJSON_Delete(tools);
	cJSON_Delete(sys);
	if (rc) {
		hf_chat_wire_dispose(w);
		if (rc == HF_ENOMEM)
			hf_err(err, HF_ENOMEM, "out of memory preparing requests for agent '%s'", a->name);
	}
	return rc;
}

/* Render the agent's request once with no messages, streaming with usage,
 * and cut it where the per-request parts go. */
static int wire_build(hf_agent_wire **out, const hf_agent *a, hf_error *err)
{
	hf_agent_wire *w = hf_calloc(1, sizeof(*w));
	int rc;
	if (!w)
		return hf_err(err, HF_ENOMEM, "out of memory preparing requests for agent '%s'",
		              a->name);
	w->cache.free = wire_free;
	if ((rc = hf_chat_wire_build(w, a, NULL, err))) {
		free(w);
		return rc;
	}
	*out = w;
	return HF_OK;
}

int hf_chat_agent_wire_get(const hf_agent_wire **out, const hf_agent *a, hf_error *err)
{
	hf_agent *agent = (hf_agent *)a; /* only the cache changes */
	hf_agent_cache *c = atomic_load(&agent->cache), *none = NULL;
	hf_agent_wire *w = NULL;
	int rc;
	*out = NULL;
	if (c) {
		*out = (const hf_agent_wire *)c;
		return HF_OK;
	}
	if ((rc = wire_build(&w, a, err)))
		return rc;
	if (!atomic_compare_exchange_strong(&agent->cache, &none, &w->cache)) {
		wire_free(&w->cache); /* another thread was first */
		w = (hf_agent_wire *)none;
	}
	*out = w;
	return HF_OK;
}

int hf_chat_body_join(char **out, const hf_agent_wire *w, const char *const *messages,
                      size_t n, bool stream, bool include_usage,
                      const char *compute_provider, hf_error *err)
{
	char *cp = NULL, *p;
	size_t i, len = strlen(wire_open) + 2 + strlen(w->head) + strlen(w->tail);
	*out = NULL;
	if (compute_provider) {
		cJSON *s = cJSON_CreateString(compute_provider);
		cp = s ? cJSON_PrintUnformatted(s) : NULL;
		cJSON_Delete(s);
		if (!cp)
			return hf_err(err, HF_ENOMEM, "out of memory building the request");
		len += strlen(",\"compute_provider\":") + strlen(cp);
	}
	if (w->system)
		len += strlen(w->system) + 1;
	for (i = 0; i < n; i++)
		len += strlen(messages[i]) + 1;
	if (stream)
		len += strlen(wire_stream) + (include_usage ? strlen(wire_usage) : 0);
	if (!(p = *out = hf_malloc(len + 1))) {
		free(cp);
		return hf_err(err, HF_ENOMEM, "out of memory building the request");
	}
#define PUT(s) (p = stpcpy(p, (s)))
	PUT("{\"messages\":[");
	if (w->system)
		PUT(w->system);
	for (i = 0; i < n; i++) {
		if (i || w->system)
			PUT(",");
		PUT(messages[i]);
	}
	PUT("]");
	PUT(w->head);
	if (stream) {
		PUT(wire_stream);
		if (include_usage)
			PUT(wire_usage);
	}
	PUT(w->tail);
	if (cp) {
		PUT(",\"compute_provider\":");
		PUT(cp);
	}
	PUT("}");
#undef PUT
	free(cp);
	return HF_OK;
}

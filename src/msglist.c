/*
 * msglist.c - the message list (msglist.h): each message's text, its role,
 * its parsed form on demand, and the rules a stored message follows.
 */
#include "msglist.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>

/* Bounds of one message. */
#define MESSAGE_MAX_BYTES ((size_t)16 << 20)
#define MESSAGE_MAX_TOOL_CALLS 1024

void hf_msglist_dispose(hf_msglist *l)
{
	size_t i;
	for (i = 0; i < l->n; i++) {
		free(l->v[i].text);
		cJSON_Delete(l->v[i].tree);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

int hf_msglist_reserve(hf_msglist *l, size_t extra)
{
	size_t cap;
	hf_msg *v;
	if (extra <= l->cap - l->n)
		return HF_OK;
	if (extra > SIZE_MAX / 2 / sizeof(*v) - l->n)
		return HF_ENOMEM;
	cap = l->cap ? l->cap : 8;
	while (cap < l->n + extra)
		cap *= 2;
	if (!(v = hf_realloc(l->v, cap * sizeof(*v))))
		return HF_ENOMEM;
	l->v = v;
	l->cap = cap;
	return HF_OK;
}

static hf_role role_of(const cJSON *m)
{
	const char *r = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "role"));
	return r && !strcmp(r, "tool") ? HF_ROLE_TOOL
	       : r && !strcmp(r, "assistant") ? HF_ROLE_ASSISTANT
	                                      : HF_ROLE_USER;
}

/* Append text (owned) with m (owned, may be NULL). */
static int append(hf_msglist *l, char *text, cJSON *m, hf_role role)
{
	if (hf_msglist_reserve(l, 1)) {
		free(text);
		cJSON_Delete(m);
		return HF_ENOMEM;
	}
	l->v[l->n].text = text;
	l->v[l->n].len = strlen(text);
	l->v[l->n].role = role;
	l->v[l->n].tree = m;
	l->n++;
	return HF_OK;
}

int hf_msglist_add(hf_msglist *l, cJSON *m)
{
	char *text;
	if (!m || !(text = cJSON_PrintUnformatted(m))) {
		cJSON_Delete(m);
		return HF_ENOMEM;
	}
	return append(l, text, m, role_of(m));
}

void hf_msglist_move(hf_msglist *to, hf_msglist *from)
{
	size_t i;
	for (i = 0; i < from->n; i++) {
		cJSON_Delete(from->v[i].tree);
		from->v[i].tree = NULL;
		to->v[to->n++] = from->v[i];
	}
	from->n = 0;
}

const cJSON *hf_msglist_tree(const hf_msglist *l, size_t i)
{
	hf_msg *m;
	if (i >= l->n)
		return NULL;
	m = &l->v[i]; /* the parsed form is a cache, not list state */
	if (!m->tree)
		m->tree = cJSON_ParseWithLength(m->text, m->len);
	return m->tree;
}

/* ---- message validation (shared by the decoder and the commit) ---- */

enum { K_ROLE = 1, K_CONTENT = 2, K_TOOL_CALLS = 4, K_TOOL_CALL_ID = 8 };

static int key_bit(const char *key)
{
	static const char *const names[] = { "role", "content", "tool_calls", "tool_call_id" };
	size_t i;
	for (i = 0; key && i < HF_ARRAY_LEN(names); i++)
		if (!strcmp(key, names[i]))
			return 1 << i;
	return 0;
}

/* The key for an error message: itself when printable, else a placeholder. */
static const char *shown_key(const char *key)
{
	return key && hf_text_utf8_valid(key, strlen(key), NULL) ? key : "(not UTF-8)";
}

static int check_text(const cJSON *v, bool nonempty, const char *what, hf_error *err)
{
	if (!cJSON_IsString(v) || !v->valuestring)
		return hf_err(err, HF_EPROTOCOL, "%s must be a string", what);
	if (nonempty && !*v->valuestring)
		return hf_err(err, HF_EPROTOCOL, "%s must not be empty", what);
	if (!hf_text_utf8_valid(v->valuestring, strlen(v->valuestring), NULL))
		return hf_err(err, HF_EPROTOCOL, "%s is not valid UTF-8", what);
	return HF_OK;
}

/* Check that object o has exactly the keys in `names` (all required). */
static int check_exact_keys(const cJSON *o, const char *const *names, size_t n,
                            const char *what, hf_error *err)
{
	const cJSON *c;
	unsigned seen = 0;
	size_t i;
	if (!cJSON_IsObject(o))
		return hf_err(err, HF_EPROTOCOL, "%s must be an object", what);
	cJSON_ArrayForEach(c, o) {
		for (i = 0; i < n && !(c->string && !strcmp(c->string, names[i])); i++)
			;
		if (i == n)
			return hf_err(err, HF_EPROTOCOL, "unknown key '%s' in %s",
			              shown_key(c->string), what);
		if (seen & (1u << i))
			return hf_err(err, HF_EPROTOCOL, "duplicate key '%s' in %s", names[i], what);
		seen |= 1u << i;
	}
	for (i = 0; i < n; i++)
		if (!(seen & (1u << i)))
			return hf_err(err, HF_EPROTOCOL, "%s has no '%s'", what, names[i]);
	return HF_OK;
}

static int check_tool_calls(const cJSON *calls, hf_error *err)
{
	static const char *const call_keys[] = { "id", "type", "function" };
	static const char *const fn_keys[] = { "name", "arguments" };
	const cJSON *call;
	int n, rc;
	if (!cJSON_IsArray(calls))
		return hf_err(err, HF_EPROTOCOL, "tool_calls must be an array");
	n = cJSON_GetArraySize(calls);
	if (n == 0)
		return hf_err(err, HF_EPROTOCOL, "tool_calls must not be empty (omit the key)");
	if (n > MESSAGE_MAX_TOOL_CALLS)
		return hf_err(err, HF_EPROTOCOL, "%d tool calls in one message; the limit is %d", n,
		              MESSAGE_MAX_TOOL_CALLS);
	cJSON_ArrayForEach(call, calls) {
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(call, "type");
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(call, "function");
		if ((rc = check_exact_keys(call, call_keys, 3, "a tool call", err)) ||
		    (rc = check_text(cJSON_GetObjectItemCaseSensitive(call, "id"), true,
		                     "a tool call's id", err)) ||
		    (rc = check_exact_keys(fn, fn_keys, 2, "a tool call's function", err)) ||
		    (rc = check_text(cJSON_GetObjectItemCaseSensitive(fn, "name"), true,
		                     "a tool call's function name", err)) ||
		    (rc = check_text(cJSON_GetObjectItemCaseSensitive(fn, "arguments"), false,
		                     "a tool call's arguments", err)))
			return rc;
		if (!cJSON_IsString(type) || strcmp(type->valuestring, "function"))
			return hf_err(err, HF_EPROTOCOL, "a tool call's type must be \"function\"");
	}
	return HF_OK;
}

/* Validate one message object (see the file comment). HF_EPROTOCOL. */
static int check_message(const cJSON *m, hf_error *err)
{
	const cJSON *c, *role, *content;
	unsigned seen = 0, allowed;
	const char *r;
	int bit, rc;
	if (!cJSON_IsObject(m))
		return hf_err(err, HF_EPROTOCOL, "a message must be a JSON object");
	role = cJSON_GetObjectItemCaseSensitive(m, "role");
	if (!cJSON_IsString(role))
		return hf_err(err, HF_EPROTOCOL, "a message needs a \"role\" string");
	r = role->valuestring;
	if (!strcmp(r, "user"))
		allowed = K_ROLE | K_CONTENT;
	else if (!strcmp(r, "assistant"))
		allowed = K_ROLE | K_CONTENT | K_TOOL_CALLS;
	else if (!strcmp(r, "tool"))
		allowed = K_ROLE | K_CONTENT | K_TOOL_CALL_ID;
	else if (!strcmp(r, "system"))
		return hf_err(err, HF_EPROTOCOL, "system messages are not stored in a session");
	else
		return hf_err(err, HF_EPROTOCOL, "unknown message role '%s' (user, assistant or tool)",
		              shown_key(r));
	cJSON_ArrayForEach(c, m) {
		bit = key_bit(c->string);
		if (!(bit & (int)allowed))
			return hf_err(err, HF_EPROTOCOL, "unknown key '%s' in a %s message",
			              shown_key(c->string), r);
		if (seen & (unsigned)bit)
			return hf_err(err, HF_EPROTOCOL, "duplicate key '%s' in a %s message", c->string, r);
		seen |= (unsigned)bit;
	}
	content = cJSON_GetObjectItemCaseSensitive(m, "content");
	if (!content)
		return hf_err(err, HF_EPROTOCOL, "a %s message needs \"content\"", r);
	if (seen & K_TOOL_CALLS) {
		if ((rc = check_tool_calls(cJSON_GetObjectItemCaseSensitive(m, "tool_calls"), err)))
			return rc;
		if (cJSON_IsNull(content))
			return HF_OK;
	}
	if (!strcmp(r, "tool") &&
	    (rc = check_text(cJSON_GetObjectItemCaseSensitive(m, "tool_call_id"), true,
	                     "a tool message's tool_call_id", err)))
		return rc;
	return check_text(content, false, "a message's content", err);
}

int hf_msglist_check(const hf_msglist *l, const char *what, hf_error *err)
{
	size_t i;
	int rc;
	for (i = 0; i < l->n; i++) {
		const cJSON *m;
		if (l->v[i].len > MESSAGE_MAX_BYTES)
			return hf_err(err, HF_ELIMIT, "message %zu of %s is %zu bytes; the limit is %zu",
			              i + 1, what, l->v[i].len, MESSAGE_MAX_BYTES);
		if (!(m = hf_msglist_tree(l, i)))
			return hf_err(err, HF_ENOMEM, "out of memory checking message %zu of %s", i + 1,
			              what);
		if ((rc = check_message(m, err))) {
			hf_err_prefix(err, "message %zu of %s", i + 1, what);
			return rc;
		}
	}
	return HF_OK;
}

int hf_msglist_add_stored(hf_msglist *l, const char *json, size_t len, hf_error *err)
{
	const char *end = NULL;
	size_t bad;
	char *text;
	cJSON *m;
	int rc;
	if (!json)
		return hf_err(err, HF_EINVAL, "a stored message needs a text");
	if (len > MESSAGE_MAX_BYTES)
		return hf_err(err, HF_EPROTOCOL, "stored message is %zu bytes; the limit is %zu", len,
		              MESSAGE_MAX_BYTES);
	if (!hf_text_utf8_valid(json, len, &bad))
		return hf_err(err, HF_EPROTOCOL, "stored message is not valid UTF-8 (byte %zu)", bad);
	m = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (!m) {
		if (!end || end < json || end > json + len)
			end = json;
		return hf_err(err, HF_EPROTOCOL, "stored message is not valid JSON (byte %zu)",
		              (size_t)(end - json));
	}
	for (; end < json + len; end++) {
		if (!strchr(" \t\r\n", *end) || !*end) {
			cJSON_Delete(m);
			return hf_err(err, HF_EPROTOCOL,
			              "stored message has text after the JSON value (byte %zu)",
			              (size_t)(end - json));
		}
	}
	if ((rc = check_message(m, err))) {
		cJSON_Delete(m);
		return rc;
	}
	/* Kept as text only: the parsed form is rebuilt when someone asks. */
	text = cJSON_PrintUnformatted(m);
	rc = text ? append(l, text, NULL, role_of(m)) : HF_ENOMEM;
	cJSON_Delete(m);
	return rc ? hf_err(err, HF_ENOMEM, "out of memory reading a stored message") : HF_OK;
}

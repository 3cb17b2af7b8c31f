/*
 * session.c - conversation state: session ids, the message list, the
 * stored-message decoder and the all-or-nothing commit of a turn.
 *
 * Stored messages are chat-completions wire objects, exactly as they are
 * sent to a model (system messages excluded):
 *   {"role":"user","content":"..."}
 *   {"role":"assistant","content":"..."|null,"tool_calls":[...]}   (tool_calls optional)
 *   {"role":"tool","tool_call_id":"...","content":"..."}
 * Any other key, a duplicate key or a wrong type is rejected, so what is
 * stored is always something a chat-completions endpoint accepts.
 */
#include "session.h"
#include "text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* Bounds of one stored message. */
#define MESSAGE_MAX_BYTES ((size_t)16 << 20)
#define MESSAGE_MAX_TOOL_CALLS 1024

/* ---- ids ---- */

int hf_session_id_check(const char *id, hf_error *err)
{
	size_t i;
	if (!id || !*id)
		return hf_err(err, HF_EINVAL, "a session id must not be empty");
	for (i = 0; id[i]; i++) {
		unsigned char c = (unsigned char)id[i];
		if (i >= HF_SESSION_ID_MAX)
			return hf_err(err, HF_EINVAL, "session id is longer than %d characters",
			              HF_SESSION_ID_MAX);
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    ((c == '.' || c == '-') && i > 0) || c == '_' || c == ':')
			continue;
		if (c == '.' || c == '-')
			return hf_err(err, HF_EINVAL, "session id must not start with '%c'", c);
		if (c >= 0x20 && c < 0x7f)
			return hf_err(err, HF_EINVAL,
			              "session id has '%c' at position %zu; use only letters, digits "
			              "and . _ : -", c, i + 1);
		return hf_err(err, HF_EINVAL,
		              "session id has byte 0x%02x at position %zu; use only letters, digits "
		              "and . _ : -", c, i + 1);
	}
	return HF_OK;
}

/* "s-" + 128 random bits in 26 lower-case Crockford base32 digits. */
static int random_id(char out[29], hf_error *err)
{
	static const char digits[] = "0123456789abcdefghjkmnpqrstvwxyz";
	unsigned char r[16];
	size_t got = 0, i, bit;
	while (got < sizeof(r)) {
		ssize_t n = getrandom(r + got, sizeof(r) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return hf_err(err, HF_ESTORE, "cannot make a session id: getrandom: %s",
			              strerror(errno));
		got += (size_t)n;
	}
	out[0] = 's';
	out[1] = '-';
	for (i = 0, bit = 0; i < 26; i++, bit += 5) {
		unsigned v = (unsigned)r[bit / 8] << 8;
		if (bit / 8 + 1 < sizeof(r))
			v |= r[bit / 8 + 1];
		out[2 + i] = digits[(v >> (11 - bit % 8)) & 31];
	}
	out[28] = '\0';
	return HF_OK;
}

/* ---- the session object ---- */

int hf_session_new(hf_session **out, const char *id, hf_error *err)
{
	char fresh[29];
	hf_session *s;
	int rc;
	if (!out)
		return hf_err(err, HF_EINVAL, "hf_session_new: out is NULL");
	*out = NULL;
	if (!id) {
		if ((rc = random_id(fresh, err)))
			return rc;
		id = fresh;
	} else if ((rc = hf_session_id_check(id, err))) {
		return rc;
	}
	s = hf_calloc(1, sizeof(*s));
	if (!s || !(s->id = hf_strdup(id)) || !(s->messages = cJSON_CreateArray())) {
		hf_session_free(s);
		return hf_err(err, HF_ENOMEM, "out of memory creating a session");
	}
	*out = s;
	return HF_OK;
}

void hf_session_free(hf_session *s)
{
	size_t i;
	if (!s)
		return;
	for (i = 0; i < s->ntexts; i++)
		free(s->texts[i]);
	free(s->texts);
	cJSON_Delete(s->messages);
	free(s->agent);
	free(s->id);
	free(s);
}

const char *hf_session_id(const hf_session *s)
{
	return s ? s->id : NULL;
}

const char *hf_session_agent(const hf_session *s)
{
	return s ? s->agent : NULL;
}

int hf_session_set_agent(hf_session *s, const char *agent, hf_error *err)
{
	char *copy;
	if (!s || !agent || !*agent)
		return hf_err(err, HF_EINVAL, "hf_session_set_agent needs a session and an agent name");
	if (!(copy = hf_strdup(agent)))
		return hf_err(err, HF_ENOMEM, "out of memory setting the session's agent");
	free(s->agent);
	s->agent = copy;
	return HF_OK;
}

hf_usage hf_session_usage(const hf_session *s)
{
	hf_usage none = { 0, 0, 0, 0 };
	return s ? s->usage : none;
}

size_t hf_session_message_count(const hf_session *s)
{
	return s ? (size_t)cJSON_GetArraySize(s->messages) : 0;
}

const cJSON *hf_session_messages(const hf_session *s)
{
	return s ? s->messages : NULL;
}

/* Make room for `n` cached texts (new slots NULL). Not a visible change. */
static int reserve_texts(hf_session *s, size_t n)
{
	char **p;
	if (n <= s->ntexts)
		return HF_OK;
	if (n > SIZE_MAX / sizeof(*p) || !(p = hf_realloc(s->texts, n * sizeof(*p))))
		return HF_ENOMEM;
	memset(p + s->ntexts, 0, (n - s->ntexts) * sizeof(*p));
	s->texts = p;
	s->ntexts = n;
	return HF_OK;
}

const char *hf_session_message_json(const hf_session *s, size_t i)
{
	hf_session *cache = (hf_session *)s; /* the text cache is not session state */
	const cJSON *m;
	if (!s || i >= hf_session_message_count(s))
		return NULL;
	if (reserve_texts(cache, hf_session_message_count(s)))
		return NULL;
	if (!cache->texts[i] && (m = cJSON_GetArrayItem(s->messages, (int)i)))
		cache->texts[i] = cJSON_PrintUnformatted(m);
	return cache->texts[i];
}

int hf_session_message_texts(const hf_session *s, size_t from, const char **out)
{
	hf_session *cache = (hf_session *)s; /* the text cache is not session state */
	const cJSON *m;
	size_t i = 0;
	if (reserve_texts(cache, hf_session_message_count(s)))
		return HF_ENOMEM;
	cJSON_ArrayForEach(m, s->messages) {
		if (i >= from) {
			if (!cache->texts[i] && !(cache->texts[i] = cJSON_PrintUnformatted(m)))
				return HF_ENOMEM;
			out[i - from] = cache->texts[i];
		}
		i++;
	}
	return HF_OK;
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
	return key && hf_utf8_valid(key, strlen(key), NULL) ? key : "(not UTF-8)";
}

static int check_text(const cJSON *v, bool nonempty, const char *what, hf_error *err)
{
	if (!cJSON_IsString(v) || !v->valuestring)
		return hf_err(err, HF_EPROTOCOL, "%s must be a string", what);
	if (nonempty && !*v->valuestring)
		return hf_err(err, HF_EPROTOCOL, "%s must not be empty", what);
	if (!hf_utf8_valid(v->valuestring, strlen(v->valuestring), NULL))
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

/* ---- the stored-message decoder ---- */

int hf_session_add_stored(hf_session *s, const char *json, size_t len, hf_error *err)
{
	const char *end = NULL;
	size_t bad;
	cJSON *m;
	int rc;
	if (!s || !json)
		return hf_err(err, HF_EINVAL, "hf_session_add_stored needs a session and a text");
	if (len > MESSAGE_MAX_BYTES)
		return hf_err(err, HF_EPROTOCOL, "stored message is %zu bytes; the limit is %zu", len,
		              MESSAGE_MAX_BYTES);
	if (!hf_utf8_valid(json, len, &bad))
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
	cJSON_AddItemToArray(s->messages, m);
	return HF_OK;
}

/* ---- the commit of a turn ---- */

static void free_texts(char **texts, size_t n)
{
	size_t i;
	for (i = 0; texts && i < n; i++)
		free(texts[i]);
	free(texts);
}

int hf_session_commit_texts(hf_session *s, hf_store *st, cJSON *turn, char **texts,
                            const char *agent, const hf_usage *usage, hf_error *err)
{
	size_t count, n, i = 0;
	char *agent_copy = NULL;
	const cJSON *m;
	cJSON *c;
	int rc;

	if (!s || !cJSON_IsArray(turn) || !texts)
		return hf_err(err, HF_EINVAL, "hf_session_commit needs a session and a message array");
	count = hf_session_message_count(s);
	n = (size_t)cJSON_GetArraySize(turn);
	/* Everything that can fail happens before the store commits. */
	cJSON_ArrayForEach(m, turn) {
		if ((rc = check_message(m, err))) {
			hf_err_prefix(err, "message %zu of the turn", i + 1);
			return rc;
		}
		if (strlen(texts[i]) > MESSAGE_MAX_BYTES)
			return hf_err(err, HF_ELIMIT, "message %zu of the turn is %zu bytes; the limit is %zu",
			              i + 1, strlen(texts[i]), MESSAGE_MAX_BYTES);
		i++;
	}
	if ((agent && !(agent_copy = hf_strdup(agent))) || reserve_texts(s, count + n)) {
		free(agent_copy);
		return hf_err(err, HF_ENOMEM, "out of memory committing a turn of session '%s'", s->id);
	}
	if (st && (rc = hf_store_commit(st, s->id, count, agent ? agent : s->agent, usage,
	                                (const char *const *)texts, n, err))) {
		free(agent_copy);
		return rc;
	}

	/* Committed: move the turn into s; nothing below can fail. */
	for (i = 0; (c = cJSON_DetachItemFromArray(turn, 0)); i++) {
		cJSON_AddItemToArray(s->messages, c);
		s->texts[count + i] = texts[i];
		texts[i] = NULL;
	}
	if (agent_copy) {
		free(s->agent);
		s->agent = agent_copy;
	}
	if (usage)
		hf_usage_add(&s->usage, usage);
	return HF_OK;
}

int hf_session_commit(hf_session *s, hf_store *st, const cJSON *turn, const char *agent,
                      const hf_usage *usage, hf_error *err)
{
	size_t n, i = 0;
	char **texts = NULL;
	cJSON *copy = NULL;
	int rc;

	if (!s || !cJSON_IsArray(turn))
		return hf_err(err, HF_EINVAL, "hf_session_commit needs a session and a message array");
	n = (size_t)cJSON_GetArraySize(turn);
	if (!(texts = hf_calloc(n, sizeof(*texts))) || !(copy = cJSON_Duplicate(turn, 1)))
		goto oom;
	for (i = 0; i < n; i++)
		if (!(texts[i] = cJSON_PrintUnformatted(cJSON_GetArrayItem(copy, (int)i))))
			goto oom;
	rc = hf_session_commit_texts(s, st, copy, texts, agent, usage, err);
	goto out;
oom:
	rc = hf_err(err, HF_ENOMEM, "out of memory committing a turn of session '%s'", s->id);
out:
	free_texts(texts, n);
	cJSON_Delete(copy);
	return rc;
}

/*
 * session.c - conversation state in memory: session ids, the history, the
 * holding agent and usage (session.h). Storing is the store's business.
 */
#include "session.h"
#include "text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

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

struct hf_session {
	char *id;
	char *agent;          /* NULL before the first turn */
	hf_usage usage;
	hf_msglist messages;  /* the history */
};

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
	if (!s || !(s->id = hf_strdup(id))) {
		hf_session_free(s);
		return hf_err(err, HF_ENOMEM, "out of memory creating a session");
	}
	*out = s;
	return HF_OK;
}

void hf_session_free(hf_session *s)
{
	if (!s)
		return;
	hf_msglist_dispose(&s->messages);
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
	return s ? hf_msglist_count(&s->messages) : 0;
}

const char *hf_session_message_json(const hf_session *s, size_t i)
{
	return s ? hf_msglist_text(&s->messages, i) : NULL;
}

const hf_msglist *hf_session_history(const hf_session *s)
{
	return &s->messages;
}

int hf_session_add_stored(hf_session *s, const char *json, size_t len, hf_error *err)
{
	if (!s)
		return hf_err(err, HF_EINVAL, "hf_session_add_stored needs a session");
	return hf_msglist_add_stored(&s->messages, json, len, err);
}

int hf_session_add_message(hf_session *s, const char *json, hf_error *err)
{
	if (!s || !json)
		return hf_err(err, HF_EINVAL, "hf_session_add_message needs a session and a message");
	if (!hf_text_utf8_valid(json, strlen(json), NULL))
		return hf_err(err, HF_EINVAL, "the message is not valid UTF-8");
	return hf_msglist_add_stored(&s->messages, json, strlen(json), err);
}

void hf_session_set_usage(hf_session *s, const hf_usage *usage)
{
	s->usage = *usage;
}

int hf_session_reserve(hf_session *s, size_t n)
{
	return hf_msglist_reserve(&s->messages, n);
}

void hf_session_apply(hf_session *s, hf_msglist *turn, char *agent, const hf_usage *usage)
{
	hf_msglist_move(&s->messages, turn);
	if (agent) {
		free(s->agent);
		s->agent = agent;
	}
	if (usage)
		hf_usage_add(&s->usage, usage);
}

/* ---- reading messages ---- */

int hf_session_message(hf_message *out, const hf_session *s, size_t i, hf_error *err)
{
	static const char *const roles[] = { "user", "assistant", "tool" };
	const cJSON *m, *calls;
	if (!out || !s || i >= hf_msglist_count(&s->messages))
		return hf_err(err, HF_EINVAL, "hf_session_message: no message %zu", i);
	if (!(m = hf_msglist_tree(&s->messages, i)))
		return hf_err(err, HF_ENOMEM, "out of memory reading message %zu", i);
	calls = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
	out->role = roles[hf_msglist_role(&s->messages, i)];
	out->content = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "content"));
	out->tool_call_id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "tool_call_id"));
	out->tool_calls = (size_t)cJSON_GetArraySize(calls);
	return HF_OK;
}

int hf_session_message_tool_call(const char **id, const char **name, const char **arguments,
                                 const hf_session *s, size_t i, size_t j, hf_error *err)
{
	const cJSON *m = s && i < hf_msglist_count(&s->messages) ? hf_msglist_tree(&s->messages, i)
	                                                         : NULL;
	const cJSON *call = NULL, *fn;
	if (m && j < (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, "tool_calls")))
		call = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(m, "tool_calls"), (int)j);
	if (!call)
		return hf_err(err, m || !s || i >= hf_msglist_count(&s->messages) ? HF_EINVAL : HF_ENOMEM,
		              "hf_session_message_tool_call: no tool call %zu in message %zu", j, i);
	fn = cJSON_GetObjectItemCaseSensitive(call, "function");
	if (id)
		*id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(call, "id"));
	if (name)
		*name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(fn, "name"));
	if (arguments)
		*arguments = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(fn, "arguments"));
	return HF_OK;
}

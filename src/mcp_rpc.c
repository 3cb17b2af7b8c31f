/*
 * mcp_rpc.c - MCP's JSON-RPC 2.0 messages: the client's requests, the
 * server's messages classified, initialize / tools/list / tools/call
 * results read (content blocks to the model's text).
 */
#include "mcp_rpc.h"

#include "chat.h"

#include <stdlib.h>
#include <string.h>

void hf_mcp_tool_list_free(hf_mcp_tool *tools, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(tools[i].name);
		free(tools[i].description);
		free(tools[i].input_schema);
	}
	free(tools);
}

hf_mcp_tools *hf_mcp_tools_new(hf_mcp_tool *tools, size_t n, unsigned long generation)
{
	hf_mcp_tools *t = hf_calloc(1, sizeof(*t));
	if (!t) {
		hf_mcp_tool_list_free(tools, n);
		return NULL;
	}
	t->tools = tools;
	t->n = n;
	t->generation = generation;
	t->refs = 1;
	return t;
}

hf_mcp_tools *hf_mcp_tools_ref(hf_mcp_tools *t)
{
	if (t)
		t->refs++;
	return t;
}

void hf_mcp_tools_release(hf_mcp_tools *t)
{
	if (t && --t->refs == 0) {
		hf_mcp_tool_list_free(t->tools, t->n);
		free(t);
	}
}

/* ---- building ---- */

/* The text of o (consumed); NULL when o is NULL or out of memory. */
static char *print(cJSON *o)
{
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	return s;
}

/* {"jsonrpc":"2.0","method":method,"params":params} (+ "id" when id is
 * set); params is consumed. */
static cJSON *message(const cJSON *id, const char *method, cJSON *params)
{
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "jsonrpc", "2.0") ||
	    (id && !cJSON_AddItemToObject(o, "id", cJSON_Duplicate(id, true))) ||
	    !cJSON_AddStringToObject(o, "method", method) || !params) {
		cJSON_Delete(o);
		cJSON_Delete(params);
		return NULL;
	}
	cJSON_AddItemToObject(o, "params", params);
	return o;
}

static cJSON *number_id(uint64_t id)
{
	return cJSON_CreateNumber((double)id);
}

static char *request(uint64_t id, const char *method, cJSON *params)
{
	cJSON *jid = number_id(id);
	char *s = jid ? print(message(jid, method, params)) : (cJSON_Delete(params), NULL);
	cJSON_Delete(jid);
	return s;
}

char *hf_mcp_rpc_initialize(uint64_t id)
{
	cJSON *p = cJSON_CreateObject(), *info;
	if (!p || !cJSON_AddStringToObject(p, "protocolVersion", HF_MCP_PROTOCOL_VERSION) ||
	    !cJSON_AddObjectToObject(p, "capabilities") ||
	    !(info = cJSON_AddObjectToObject(p, "clientInfo")) ||
	    !cJSON_AddStringToObject(info, "name", "handoff") ||
	    !cJSON_AddStringToObject(info, "version", hf_version())) {
		cJSON_Delete(p);
		return NULL;
	}
	return request(id, "initialize", p);
}

char *hf_mcp_rpc_initialized(void)
{
	return print(message(NULL, "notifications/initialized", cJSON_CreateObject()));
}

char *hf_mcp_rpc_tools_list(uint64_t id, const char *cursor)
{
	cJSON *p = cJSON_CreateObject();
	if (p && cursor && !cJSON_AddStringToObject(p, "cursor", cursor)) {
		cJSON_Delete(p);
		return NULL;
	}
	return request(id, "tools/list", p);
}

int hf_mcp_rpc_tools_call(char **out, uint64_t id, const char *name, const char *arguments,
                          hf_error *err)
{
	cJSON *args = NULL, *p;
	*out = NULL;
	if (arguments && *arguments) {
		args = hf_json_parse(arguments, strlen(arguments));
		if (!args || !cJSON_IsObject(args)) {
			cJSON_Delete(args);
			return hf_err(err, HF_EINVAL, "the arguments of tool '%s' are not a JSON object",
			              name);
		}
	} else {
		args = cJSON_CreateObject();
	}
	p = cJSON_CreateObject();
	if (!args || !p || !cJSON_AddStringToObject(p, "name", name)) {
		cJSON_Delete(args);
		cJSON_Delete(p);
		return hf_err(err, HF_ENOMEM, "out of memory");
	}
	cJSON_AddItemToObject(p, "arguments", args);
	if (!(*out = request(id, "tools/call", p)))
		return hf_err(err, HF_ENOMEM, "out of memory");
	return HF_OK;
}

char *hf_mcp_rpc_cancelled(uint64_t id, const char *reason)
{
	cJSON *p = cJSON_CreateObject();
	if (!p || !cJSON_AddNumberToObject(p, "requestId", (double)id) ||
	    !cJSON_AddStringToObject(p, "reason", reason)) {
		cJSON_Delete(p);
		return NULL;
	}
	return print(message(NULL, "notifications/cancelled", p));
}

char *hf_mcp_rpc_reply(const cJSON *id, const char *error)
{
	cJSON *o = cJSON_CreateObject(), *e;
	if (!o || !cJSON_AddStringToObject(o, "jsonrpc", "2.0") ||
	    !cJSON_AddItemToObject(o, "id", id ? cJSON_Duplicate(id, true) : cJSON_CreateNull()))
		goto fail;
	if (!error) {
		if (!cJSON_AddObjectToObject(o, "result"))
			goto fail;
	} else if (!(e = cJSON_AddObjectToObject(o, "error")) ||
	           !cJSON_AddNumberToObject(e, "code", -32601) ||
	           !cJSON_AddStringToObject(e, "message", error)) {
		goto fail;
	}
	return print(o);
fail:
	cJSON_Delete(o);
	return NULL;
}

/* ---- reading ---- */

void hf_mcp_msg_dispose(hf_mcp_msg *m)
{
	cJSON_Delete(m->root);
	memset(m, 0, sizeof(*m));
}

int hf_mcp_rpc_parse(hf_mcp_msg *m, const char *text, size_t len, hf_error *err)
{
	const cJSON *id, *method;
	memset(m, 0, sizeof(*m));
	m->root = hf_json_parse(text, len);
	if (!m->root)
		return hf_err(err, HF_EPROTOCOL, "not JSON");
	if (!cJSON_IsObject(m->root)) {
		hf_mcp_msg_dispose(m);
		return hf_err(err, HF_EPROTOCOL, "not a JSON-RPC message (not an object)");
	}
	id = cJSON_GetObjectItemCaseSensitive(m->root, "id");
	method = cJSON_GetObjectItemCaseSensitive(m->root, "method");
	if (cJSON_IsString(method)) {
		m->method = method->valuestring;
		m->params = cJSON_GetObjectItemCaseSensitive(m->root, "params");
		m->raw_id = id;
		m->kind = id && !cJSON_IsNull(id) ? HF_MCP_MSG_REQUEST : HF_MCP_MSG_NOTIFICATION;
		return HF_OK;
	}
	if (!id) {
		hf_mcp_msg_dispose(m);
		return hf_err(err, HF_EPROTOCOL, "not a JSON-RPC message (no method, no id)");
	}
	m->kind = HF_MCP_MSG_RESPONSE;
	if (cJSON_IsNumber(id) && id->valuedouble >= 0 && id->valuedouble < 9007199254740992.0 &&
	    id->valuedouble == (double)(uint64_t)id->valuedouble) {
		m->has_id = true;
		m->id = (uint64_t)id->valuedouble;
	}
	m->result = cJSON_GetObjectItemCaseSensitive(m->root, "result");
	m->error = cJSON_GetObjectItemCaseSensitive(m->root, "error");
	return HF_OK;
}

int hf_mcp_rpc_check(const hf_mcp_msg *m, hf_error *err)
{
	if (m->error) {
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(m->error, "message");
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(m->error, "code");
		return hf_err(err, HF_EPROTOCOL, "error %d: %.400s",
		              cJSON_IsNumber(code) ? code->valueint : 0,
		              cJSON_IsString(msg) ? msg->valuestring : "(no message)");
	}
	if (!m->result)
		return hf_err(err, HF_EPROTOCOL, "the answer has neither result nor error");
	if (!cJSON_IsObject(m->result))
		return hf_err(err, HF_EPROTOCOL, "the answer's result is not an object");
	return HF_OK;
}

int hf_mcp_rpc_init_result(const cJSON *result, const char **version, hf_error *err)
{
	static const char *const accepted[] = { HF_MCP_PROTOCOL_VERSION, "2025-06-18",
		                                    "2025-03-26" };
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(result, "protocolVersion");
	*version = NULL;
	if (!cJSON_IsString(v))
		return hf_err(err, HF_EPROTOCOL, "the initialize result has no protocolVersion");
	for (size_t i = 0; i < HF_ARRAY_LEN(accepted); i++)
		if (strcmp(v->valuestring, accepted[i]) == 0) {
			*version = v->valuestring;
			return HF_OK;
		}
	return hf_err(err, HF_EPROTOCOL,
	              "it speaks MCP protocol version '%.64s'; handoff speaks %s, 2025-06-18 and "
	              "2025-03-26", v->valuestring, HF_MCP_PROTOCOL_VERSION);
}

int hf_mcp_rpc_tools_page(const cJSON *result, hf_mcp_tool **tools, size_t *n, size_t *cap,
                          char **cursor, hf_error *err)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(result, "tools"), *t;
	const cJSON *next = cJSON_GetObjectItemCaseSensitive(result, "nextCursor");
	*cursor = NULL;
	if (!cJSON_IsArray(list))
		return hf_err(err, HF_EPROTOCOL, "the tools/list result has no tools array");
	cJSON_ArrayForEach(t, list) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
		const cJSON *desc = cJSON_GetObjectItemCaseSensitive(t, "description");
		const cJSON *schema = cJSON_GetObjectItemCaseSensitive(t, "inputSchema");
		hf_mcp_tool *x;
		if (!cJSON_IsString(name))
			return hf_err(err, HF_EPROTOCOL, "tools/list: a tool without a name");
		if (*n == *cap) {
			size_t c = *cap ? *cap * 2 : 16;
			hf_mcp_tool *p = hf_realloc(*tools, c * sizeof(*p));
			if (!p)
				return hf_err(err, HF_ENOMEM, "out of memory");
			*tools = p;
			*cap = c;
		}
		x = &(*tools)[*n];
		memset(x, 0, sizeof(*x));
		x->name = hf_strdup(name->valuestring);
		x->description = cJSON_IsString(desc) ? hf_strdup(desc->valuestring) : NULL;
		x->input_schema = cJSON_IsObject(schema) ? cJSON_PrintUnformatted(schema)
		                                         : hf_strdup("{\"type\":\"object\"}");
		(*n)++;
		if (!x->name || !x->input_schema || (cJSON_IsString(desc) && !x->description))
			return hf_err(err, HF_ENOMEM, "out of memory");
	}
	if (cJSON_IsString(next) && *next->valuestring &&
	    !(*cursor = hf_strdup(next->valuestring)))
		return hf_err(err, HF_ENOMEM, "out of memory");
	return HF_OK;
}

/* Decoded size of base64 text s. */
static size_t base64_bytes(const char *s)
{
	size_t len = strlen(s), pad = 0;
	while (len && (s[len - 1] == '=' || s[len - 1] == '\n' || s[len - 1] == '\r')) {
		pad += s[len - 1] == '=';
		len--;
	}
	(void)pad;
	return len / 4 * 3 + (len % 4 > 1 ? len % 4 - 1 : 0);
}

static const char *str_field(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Append block b's text to out (with "\n" between blocks); *texts counts
 * the text blocks. */
static int block_text(hf_buf *out, const cJSON *b, size_t *texts)
{
	const char *type = str_field(b, "type"), *s;
	int rc = HF_OK;
	if (out->len)
		rc = hf_buf_puts(out, "\n");
	if (rc)
		return rc;
	if (!type)
		return hf_buf_puts(out, "[a content block without a type]");
	if (strcmp(type, "text") == 0) {
		(*texts)++;
		s = str_field(b, "text");
		return hf_buf_puts(out, s ? s : "");
	}
	if (strcmp(type, "image") == 0 || strcmp(type, "audio") == 0) {
		const char *mime = str_field(b, "mimeType"), *data = str_field(b, "data");
		return hf_buf_printf(out, "[%s: %s, %zu bytes]", type, mime ? mime : "unknown type",
		                     data ? base64_bytes(data) : 0);
	}
	if (strcmp(type, "resource_link") == 0) {
		s = str_field(b, "uri");
		return hf_buf_printf(out, "[resource: %s]", s ? s : "(no uri)");
	}
	if (strcmp(type, "resource") == 0) {
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(b, "resource");
		const char *text = str_field(r, "text"), *blob = str_field(r, "blob");
		s = str_field(r, "uri");
		rc = hf_buf_printf(out, "[resource: %s]", s ? s : "(no uri)");
		if (!rc && text)
			rc = hf_buf_printf(out, "\n%s", text);
		else if (!rc && blob)
			rc = hf_buf_printf(out, " [%zu bytes]", base64_bytes(blob));
		return rc;
	}
	return hf_buf_printf(out, "[%.64s content]", type);
}

int hf_mcp_rpc_call_text(const cJSON *result, char **text, bool *is_error, hf_error *err)
{
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(result, "content"), *b;
	const cJSON *structured = cJSON_GetObjectItemCaseSensitive(result, "structuredContent");
	hf_buf out = HF_BUF_INIT;
	size_t texts = 0;
	int rc = HF_OK;
	*text = NULL;
	*is_error = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "isError"));
	if (content && !cJSON_IsArray(content))
		return hf_err(err, HF_EPROTOCOL, "the tools/call result's content is not an array");
	if (!content && !structured)
		return hf_err(err, HF_EPROTOCOL, "the tools/call result has no content");
	cJSON_ArrayForEach(b, content) {
		if (!cJSON_IsObject(b)) {
			hf_buf_dispose(&out);
			return hf_err(err, HF_EPROTOCOL, "a content block is not an object");
		}
		if ((rc = block_text(&out, b, &texts)))
			break;
	}
	if (!rc && !texts && structured) {
		char *js = cJSON_PrintUnformatted(structured);
		if (!js)
			rc = HF_ENOMEM;
		else {
			if (out.len)
				rc = hf_buf_puts(&out, "\n");
			if (!rc)
				rc = hf_buf_puts(&out, js);
			free(js);
		}
	}
	if (rc || !(*text = hf_buf_detach(&out))) {
		hf_buf_dispose(&out);
		return hf_err(err, HF_ENOMEM, "out of memory");
	}
	return HF_OK;
}

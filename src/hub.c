/*
 * hub.c - Model Hub discovery: GET {base_url}/models[?provider=P],
 * /providers[?model=M] and /modelDetail?model=M[&provider=P]. Lists come as
 * {"data":[...]} (or the OpenAI list object of a plain /v1 server); the JSON
 * is checked and handed back re-serialised.
 */
#include "call.h"
#include "hub.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>

/* The Model Hub's base URL ends in /compute; a plain /v1 server only has
 * /models. */
static bool is_model_hub(const char *base_url)
{
	size_t n = strlen(base_url);
	return n >= 8 && !strcmp(base_url + n - 8, "/compute");
}

/* path?k1=v1&k2=v2 with the values URL-escaped; pairs with a NULL or empty
 * value are left out. */
static char *with_query(CURL *easy, const char *path, const char *k1, const char *v1,
                        const char *k2, const char *v2)
{
	const char *keys[2] = { k1, k2 }, *vals[2] = { v1, v2 };
	hf_buf b = HF_BUF_INIT;
	int rc = hf_buf_puts(&b, path), i;
	char sep = '?';

	for (i = 0; i < 2 && !rc; i++) {
		char *esc;
		if (!vals[i] || !*vals[i])
			continue;
		esc = curl_easy_escape(easy, vals[i], 0);
		rc = esc ? hf_buf_printf(&b, "%c%s=%s", sep, keys[i], esc) : HF_ENOMEM;
		curl_free(esc);
		sep = '&';
	}
	if (rc) {
		hf_buf_dispose(&b);
		return NULL;
	}
	return hf_buf_detach(&b);
}

int hf_hub_decode(char **json_out, const char *body, size_t len, hf_hub_reply kind,
                  const char *where, hf_error *err)
{
	cJSON *root = NULL;
	const cJSON *data;
	int rc = HF_OK;

	*json_out = NULL;
	if (!hf_text_utf8_valid(body, len, NULL) || !(root = cJSON_ParseWithLength(body, len)))
		return hf_err(err, HF_EPROTOCOL, "the reply from %s is not JSON text", where);
	if (kind == HF_HUB_LIST) {
		data = cJSON_IsArray(root) ? root : cJSON_GetObjectItemCaseSensitive(root, "data");
		if (!cJSON_IsArray(data))
			rc = hf_err(err, HF_EPROTOCOL, "the reply from %s has no \"data\" list", where);
	} else {
		data = cJSON_GetObjectItemCaseSensitive(root, "data");
		if (!cJSON_IsObject(data))
			data = root;
		if (!cJSON_IsObject(data))
			rc = hf_err(err, HF_EPROTOCOL, "the model detail from %s is not a JSON object",
			            where);
	}
	if (!rc && !(*json_out = cJSON_PrintUnformatted(data)))
		rc = hf_err(err, HF_ENOMEM, "out of memory");
	cJSON_Delete(root);
	return rc;
}

/* GET the route and decode the reply into *json_out. */
static int hub_get(char **json_out, hf_client *c, const char *route, hf_hub_reply kind,
                   const char *k1, const char *v1, const char *k2, const char *v2,
                   hf_error *err)
{
	char *path, *where = NULL;
	hf_buf body = HF_BUF_INIT;
	int rc;

	*json_out = NULL;
	if (!c)
		return hf_err(err, HF_EINVAL, "no client");
	if (!(path = with_query(c->easy, route, k1, v1, k2, v2)))
		return hf_err(err, HF_ENOMEM, "out of memory");
	hf_call_spec spec = { .method = "GET", .path = path };
	rc = hf_call_run(NULL, &body, c->easy, &c->ep, &spec, err);
	if (rc == HF_ENOTFOUND && strcmp(route, "/models") && !is_model_hub(c->ep.base_url))
		rc = hf_err(err, HF_EHTTP, "this endpoint (%s) has no provider catalogue; the Model "
		            "Hub's base URL ends in /compute", c->ep.shown_base_url);
	if (!rc && !(where = hf_asprintf("%s%s", c->ep.shown_base_url, path)))
		rc = hf_err(err, HF_ENOMEM, "out of memory");
	if (!rc)
		rc = hf_hub_decode(json_out, body.data ? body.data : "", body.len, kind, where, err);
	free(where);
	hf_buf_dispose(&body);
	free(path);
	return rc;
}

int hf_hub_models(char **json_out, hf_client *c, const char *provider, hf_error *err)
{
	return hub_get(json_out, c, "/models", HF_HUB_LIST, "provider", provider, NULL, NULL, err);
}

int hf_hub_providers(char **json_out, hf_client *c, const char *model, hf_error *err)
{
	return hub_get(json_out, c, "/providers", HF_HUB_LIST, "model", model, NULL, NULL, err);
}

int hf_hub_model_detail(char **json_out, hf_client *c, const char *model, const char *provider,
                        hf_error *err)
{
	*json_out = NULL;
	if (!model || !*model)
		return hf_err(err, HF_EINVAL, "model detail needs a model name");
	return hub_get(json_out, c, "/modelDetail", HF_HUB_DETAIL, "model", model, "provider",
	               provider, err);
}

/*
 * mock_catalogue.c - the Model Hub catalogue behind the discovery routes:
 * model-provider pairs and providers, from a JSON file or the built-in
 * default, and the replies of /compute/models, /compute/providers,
 * /compute/modelDetail and /v1/models. Names match case-insensitively
 * (Unicode case folding), so "openai" finds "OpenAI".
 */
#include "mock_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* The built-in catalogue: a handful of models over a few providers, one
 * with a CJK display name and one provider with an accented name, so
 * table alignment can be tested. */
static const char builtin_catalogue[] =
	"{\"providers\":["
	"{\"name\":\"OpenAI\",\"description\":\"OpenAI's hosted GPT models\"},"
	"{\"name\":\"Together\",\"description\":\"Together AI inference cloud\"},"
	"{\"name\":\"Lepton\",\"description\":\"Lepton AI serverless GPUs\"},"
	"{\"name\":\"DeepSeek\",\"description\":\"DeepSeek's own API\"},"
	"{\"name\":\"Nébula Compute\",\"description\":\"Open-weight models on European GPUs\"}],"
	"\"models\":["
	"{\"id\":\"gpt-4o\",\"provider\":\"OpenAI\",\"name\":\"GPT-4o\","
	"\"description\":\"OpenAI's flagship multimodal model.\",\"context_length\":128000,"
	"\"compute_providers\":[\"OpenAI\"],"
	"\"pricing\":{\"prompt\":2.5,\"completion\":10,\"unit\":\"USD per 1M tokens\"},"
	"\"requirements\":{\"headers\":{\"Authorization\":\"Bearer <API key> (or x-api-key)\","
	"\"OpenAI-Organization\":\"OpenAI\"},\"body\":{\"model\":\"gpt-4o\"}}},"
	"{\"id\":\"gpt-4o-mini\",\"provider\":\"OpenAI\",\"name\":\"GPT-4o mini\","
	"\"description\":\"Small, fast and cheap GPT-4o.\",\"context_length\":128000,"
	"\"compute_providers\":[\"OpenAI\"],"
	"\"pricing\":{\"prompt\":0.15,\"completion\":0.6,\"unit\":\"USD per 1M tokens\"},"
	"\"requirements\":{\"headers\":{\"Authorization\":\"Bearer <API key> (or x-api-key)\","
	"\"OpenAI-Organization\":\"OpenAI\"},\"body\":{\"model\":\"gpt-4o-mini\"}}},"
	"{\"id\":\"llama-3.1-70b-instruct\",\"provider\":\"Together\","
	"\"name\":\"Llama 3.1 70B Instruct\",\"description\":\"Meta's open 70B instruction model.\","
	"\"context_length\":131072,\"compute_providers\":[\"Together\"],"
	"\"pricing\":{\"prompt\":0.88,\"completion\":0.88,\"unit\":\"USD per 1M tokens\"},"
	"\"requirements\":{\"headers\":{\"Authorization\":\"Bearer <API key> (or x-api-key)\","
	"\"OpenAI-Organization\":\"Together\"},\"body\":{\"model\":\"llama-3.1-70b-instruct\","
	"\"compute_provider\":\"Together\"}}},"
	"{\"id\":\"llama-3.1-70b-instruct\",\"provider\":\"Lepton\","
	"\"name\":\"Llama 3.1 70B Instruct\",\"description\":\"Meta's open 70B instruction model.\","
	"\"context_length\":131072,\"compute_providers\":[\"Lepton\"],"
	"\"pricing\":{\"prompt\":0.8,\"completion\":0.8,\"unit\":\"USD per 1M tokens\"},"
	"\"requirements\":{\"headers\":{\"Authorization\":\"Bearer <API key> (or x-api-key)\","
	"\"OpenAI-Organization\":\"Lepton\"},\"body\":{\"model\":\"llama-3.1-70b-instruct\","
	"\"compute_provider\":\"Lepton\"}}},"
	"{\"id\":\"deepseek-r1\",\"provider\":\"DeepSeek\",\"name\":\"DeepSeek R1\","
	"\"description\":\"Reasoning model with visible chains of thought.\","
	"\"context_length\":65536,\"compute_providers\":[\"DeepSeek\",\"Together\"],"
	"\"pricing\":{\"prompt\":0.55,\"completion\":2.19,\"unit\":\"USD per 1M tokens\"},"
	"\"requirements\":{\"headers\":{\"Authorization\":\"Bearer <API key> (or x-api-key)\","
	"\"OpenAI-Organization\":\"DeepSeek\"},\"body\":{\"model\":\"deepseek-r1\","
	"\"compute_provider\":\"DeepSeek or Together\"}}},"
	"{\"id\":\"deepseek-r1\",\"provider\":\"Together\",\"name\":\"DeepSeek R1\","
	"\"description\":\"Reasoning model with visible chains of thought.\","
	"\"context_length\":65536,\"compute_providers\":[\"Together\"],"
	"\"pricing\":{\"prompt\":3,\"completion\":7,\"unit\":\"USD per 1M tokens\"},"
	"\"requirements\":{\"headers\":{\"Authorization\":\"Bearer <API key> (or x-api-key)\","
	"\"OpenAI-Organization\":\"Together\"},\"body\":{\"model\":\"deepseek-r1\","
	"\"compute_provider\":\"Together\"}}},"
	"{\"id\":\"qwen2.5-72b\",\"provider\":\"Nébula Compute\",\"name\":\"通义千问 Qwen2.5 72B\","
	"\"description\":\"Alibaba's multilingual 72B model.\",\"context_length\":32768,"
	"\"compute_providers\":[\"Nébula Compute\",\"Lepton\"],"
	"\"pricing\":{\"prompt\":0.9,\"completion\":0.9,\"unit\":\"USD per 1M tokens\"},"
	"\"requirements\":{\"headers\":{\"Authorization\":\"Bearer <API key> (or x-api-key)\","
	"\"OpenAI-Organization\":\"Nébula Compute\"},\"body\":{\"model\":\"qwen2.5-72b\","
	"\"compute_provider\":\"Nébula Compute or Lepton\"}}}]}";

/* Fields a /compute/models list entry shows; the detail shows them all. */
static const char *const summary_fields[] = { "id", "provider", "name", "context_length",
	                                          "compute_providers" };

typedef struct provider {
	const cJSON *json;    /* the catalogue's entry, or NULL when only named by models */
	const char *name;
	char *key;            /* case-folded name */
} provider;

/* One model-provider pair. */
typedef struct pair {
	const cJSON *json;
	const char *id, *provider;
	char *id_key, *provider_key;
} pair;

struct mock_catalogue {
	cJSON *root;
	pair *models;
	size_t nmodels;
	provider *providers;
	size_t nproviders;
};

/* Case-folded copy (owned), NULL on failure. */
static char *fold(const char *s)
{
	utf8proc_uint8_t *out = NULL;
	char *copy;
	if (utf8proc_map((const utf8proc_uint8_t *)s, 0, &out,
	                 UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE |
	                         UTF8PROC_CASEFOLD) < 0)
		return NULL;
	copy = hf_strdup((const char *)out);
	free(out);
	return copy;
}

void mock_catalogue_free(mock_catalogue *c)
{
	size_t i;
	if (!c)
		return;
	for (i = 0; i < c->nmodels; i++) {
		free(c->models[i].id_key);
		free(c->models[i].provider_key);
	}
	for (i = 0; i < c->nproviders; i++)
		free(c->providers[i].key);
	free(c->models);
	free(c->providers);
	cJSON_Delete(c->root);
	free(c);
}

static const provider *find_provider(const mock_catalogue *c, const char *key)
{
	size_t i;
	for (i = 0; i < c->nproviders; i++)
		if (!strcmp(c->providers[i].key, key))
			return &c->providers[i];
	return NULL;
}

static int add_provider(mock_catalogue *c, const cJSON *json, const char *name)
{
	char *key = fold(name);
	if (!key)
		return HF_ENOMEM;
	if (find_provider(c, key)) {
		free(key);
		return json ? HF_ECONFIG : HF_OK; /* a duplicate declaration */
	}
	c->providers[c->nproviders].json = json;
	c->providers[c->nproviders].name = name;
	c->providers[c->nproviders].key = key;
	c->nproviders++;
	return HF_OK;
}

static const char *string_field(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

static int index_catalogue(mock_catalogue *c, const char *where, hf_error *err)
{
	const cJSON *models = cJSON_GetObjectItemCaseSensitive(c->root, "models");
	const cJSON *providers = cJSON_GetObjectItemCaseSensitive(c->root, "providers");
	const cJSON *item;
	size_t i = 0, nmodels, nprov;

	if (!cJSON_IsObject(c->root))
		return hf_err(err, HF_ECONFIG, "%s: a catalogue is a JSON object with \"models\"", where);
	cJSON_ArrayForEach(item, c->root) {
		if (strcmp(item->string, "models") && strcmp(item->string, "providers"))
			return hf_err(err, HF_ECONFIG,
			              "%s: unknown key \"%s\" (a catalogue has \"models\" and "
			              "\"providers\")",
			              where, item->string);
	}
	if (!cJSON_IsArray(models))
		return hf_err(err, HF_ECONFIG, "%s: \"models\" must be an array of objects", where);
	if (providers && !cJSON_IsArray(providers))
		return hf_err(err, HF_ECONFIG, "%s: \"providers\" must be an array of objects", where);
	nmodels = (size_t)cJSON_GetArraySize(models);
	nprov = (size_t)cJSON_GetArraySize(providers);
	c->models = hf_calloc(nmodels + 1, sizeof(*c->models));
	c->providers = hf_calloc(nmodels + nprov + 1, sizeof(*c->providers));
	if (!c->models || !c->providers)
		return hf_err(err, HF_ENOMEM, "out of memory loading the catalogue");
	cJSON_ArrayForEach(item, providers) {
		const char *name = string_field(item, "name");
		int rc;
		if (!cJSON_IsObject(item) || !name)
			return hf_err(err, HF_ECONFIG,
			              "%s: providers[%zu] needs a non-empty string \"name\"", where, i);
		rc = add_provider(c, item, name);
		if (rc == HF_ECONFIG)
			return hf_err(err, rc, "%s: provider \"%s\" is declared twice", where, name);
		if (rc)
			return hf_err(err, rc, "out of memory loading the catalogue");
		i++;
	}
	i = 0;
	cJSON_ArrayForEach(item, models) {
		pair *m = &c->models[c->nmodels];
		size_t j;
		m->json = item;
		m->id = string_field(item, "id");
		m->provider = string_field(item, "provider");
		if (!cJSON_IsObject(item) || !m->id || !m->provider)
			return hf_err(err, HF_ECONFIG,
			              "%s: models[%zu] needs non-empty strings \"id\" and \"provider\"",
			              where, i);
		m->id_key = fold(m->id);
		m->provider_key = fold(m->provider);
		if (!m->id_key || !m->provider_key || add_provider(c, NULL, m->provider))
			return hf_err(err, HF_ENOMEM, "out of memory loading the catalogue");
		for (j = 0; j < c->nmodels; j++)
			if (!strcmp(c->models[j].id_key, m->id_key) &&
			    !strcmp(c->models[j].provider_key, m->provider_key))
				return hf_err(err, HF_ECONFIG,
				              "%s: models[%zu]: %s from %s is listed twice", where, i,
				              m->id, m->provider);
		c->nmodels++;
		i++;
	}
	return HF_OK;
}

int mock_catalogue_load(mock_catalogue **out, const char *path, hf_error *err)
{
	mock_catalogue *c;
	const char *where = path ? path : "built-in catalogue";
	char *text = NULL;
	int rc;

	*out = NULL;
	if (path) {
		hf_buf b = HF_BUF_INIT;
		if ((rc = mock_read_file(&b, path, "catalogue", err)))
			return rc;
		text = hf_buf_detach(&b);
	}
	c = hf_calloc(1, sizeof(*c));
	if (!c) {
		free(text);
		return hf_err(err, HF_ENOMEM, "out of memory loading the catalogue");
	}
	c->root = cJSON_Parse(text ? text : builtin_catalogue);
	free(text);
	if (!c->root) {
		mock_catalogue_free(c);
		return hf_err(err, HF_ECONFIG, "%s: not valid JSON", where);
	}
	rc = index_catalogue(c, where, err);
	if (rc) {
		mock_catalogue_free(c);
		return rc;
	}
	*out = c;
	return HF_OK;
}

/* ---- replies ---- */

static int not_found(char **body, const char *what, const char *name, const char *code)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "%s '%.200s' is not in the catalogue", what, name);
	*body = mock_error_json(msg, "invalid_request_error", code);
	return 404;
}

/* {"data": list} printed, list consumed. */
static int print_list(cJSON *list, char **body)
{
	cJSON *root = cJSON_CreateObject();
	*body = NULL;
	if (!root || !list) {
		cJSON_Delete(root);
		cJSON_Delete(list);
		return 500;
	}
	cJSON_AddItemToObject(root, "data", list);
	*body = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return 200;
}

/* Lookup key of a filter value; NULL filter stays NULL. */
static bool filter_key(const char *value, char **key)
{
	*key = NULL;
	if (!value)
		return true;
	*key = fold(value);
	return *key != NULL;
}

int mock_catalogue_models(const mock_catalogue *c, const char *provider, char **body)
{
	cJSON *list;
	char *key;
	size_t i, j;

	if (!filter_key(provider, &key))
		return (*body = NULL), 500;
	if (key && !find_provider(c, key)) {
		free(key);
		return not_found(body, "provider", provider, "provider_not_found");
	}
	list = cJSON_CreateArray();
	for (i = 0; list && i < c->nmodels; i++) {
		cJSON *entry;
		if (key && strcmp(c->models[i].provider_key, key))
			continue;
		entry = cJSON_CreateObject();
		for (j = 0; entry && j < HF_ARRAY_LEN(summary_fields); j++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->models[i].json,
			                                                  summary_fields[j]);
			if (v)
				cJSON_AddItemToObject(entry, summary_fields[j], cJSON_Duplicate(v, true));
		}
		cJSON_AddItemToArray(list, entry);
	}
	free(key);
	return print_list(list, body);
}

int mock_catalogue_providers(const mock_catalogue *c, const char *model, char **body)
{
	cJSON *list;
	char *key;
	size_t i, j;
	bool known = false;

	if (!filter_key(model, &key))
		return (*body = NULL), 500;
	list = cJSON_CreateArray();
	for (i = 0; list && i < c->nproviders; i++) {
		const provider *p = &c->providers[i];
		cJSON *entry, *models;
		bool serves = false;
		entry = p->json ? cJSON_Duplicate(p->json, true) : cJSON_CreateObject();
		if (entry && !p->json)
			cJSON_AddStringToObject(entry, "name", p->name);
		models = cJSON_CreateArray();
		for (j = 0; models && j < c->nmodels; j++) {
			if (strcmp(c->models[j].provider_key, p->key))
				continue;
			if (key && !strcmp(c->models[j].id_key, key))
				serves = true;
			cJSON_AddItemToArray(models, cJSON_CreateString(c->models[j].id));
		}
		cJSON_DeleteItemFromObjectCaseSensitive(entry, "models");
		cJSON_AddItemToObject(entry, "models", models);
		if (key && !serves) {
			cJSON_Delete(entry);
			continue;
		}
		known = known || serves;
		cJSON_AddItemToArray(list, entry);
	}
	if (key && !known) {
		cJSON_Delete(list);
		free(key);
		return not_found(body, "model", model, "model_not_found");
	}
	free(key);
	return print_list(list, body);
}

int mock_catalogue_detail(const mock_catalogue *c, const char *model, const char *provider,
                          char **body)
{
	char *mkey = NULL, *pkey = NULL;
	const pair *found = NULL;
	bool model_known = false;
	size_t i;
	int status;

	if (!model || !*model) {
		*body = mock_error_json("the model parameter is required, e.g. "
		                        "/compute/modelDetail?model=gpt-4o&provider=OpenAI",
		                        "invalid_request_error", "missing_parameter");
		return 400;
	}
	if (!filter_key(model, &mkey) || !filter_key(provider, &pkey)) {
		free(mkey);
		return (*body = NULL), 500;
	}
	for (i = 0; i < c->nmodels && !found; i++) {
		if (strcmp(c->models[i].id_key, mkey))
			continue;
		model_known = true;
		if (!pkey || !strcmp(c->models[i].provider_key, pkey))
			found = &c->models[i];
	}
	if (found) {
		*body = cJSON_PrintUnformatted(found->json);
		status = 200;
	} else if (!model_known) {
		status = not_found(body, "model", model, "model_not_found");
	} else if (!find_provider(c, pkey)) {
		status = not_found(body, "provider", provider, "provider_not_found");
	} else {
		char msg[512];
		snprintf(msg, sizeof(msg), "model '%.200s' is not offered by provider '%.200s'",
		         model, provider);
		*body = mock_error_json(msg, "invalid_request_error", "model_not_found");
		status = 404;
	}
	free(mkey);
	free(pkey);
	return status;
}

int mock_catalogue_openai_models(const mock_catalogue *c, char **body)
{
	cJSON *root = cJSON_CreateObject(), *list = cJSON_CreateArray();
	size_t i, j;
	*body = NULL;
	if (!root || !list) {
		cJSON_Delete(root);
		cJSON_Delete(list);
		return 500;
	}
	cJSON_AddStringToObject(root, "object", "list");
	cJSON_AddItemToObject(root, "data", list);
	for (i = 0; i < c->nmodels; i++) {
		cJSON *m;
		for (j = 0; j < i; j++)
			if (!strcmp(c->models[j].id_key, c->models[i].id_key))
				break;
		if (j < i) /* one entry per model id, owned by its first provider */
			continue;
		m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "id", c->models[i].id);
		cJSON_AddStringToObject(m, "object", "model");
		cJSON_AddNumberToObject(m, "created", MOCK_CREATED);
		cJSON_AddStringToObject(m, "owned_by", c->models[i].provider);
		cJSON_AddItemToArray(list, m);
	}
	*body = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return 200;
}

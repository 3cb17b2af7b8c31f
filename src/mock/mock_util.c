/*
 * mock_util.c - helpers every part of `handoff mock` uses: reading a whole
 * file, rendering an error envelope, adding a tool call to a reply. Calls
 * nothing else of the mock.
 */
#include "mock_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int mock_read_file(hf_buf *out, const char *path, const char *what, hf_error *err)
{
	FILE *f = fopen(path, "rb");
	char chunk[8192];
	size_t n;
	if (!f)
		return hf_err(err, HF_ENOTFOUND, "cannot read the %s %s: %s", what, path,
		              strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (hf_buf_append(out, chunk, n)) {
			fclose(f);
			hf_buf_dispose(out);
			return hf_err(err, HF_ENOMEM, "out of memory reading %s", path);
		}
	fclose(f);
	return HF_OK;
}

char *mock_error_json(const char *message, const char *type, const char *code)
{
	cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
	char *text;
	cJSON_AddStringToObject(e, "message", message);
	cJSON_AddStringToObject(e, "type", type);
	cJSON_AddStringToObject(e, "code", code);
	text = e ? cJSON_PrintUnformatted(root) : NULL;
	cJSON_Delete(root);
	return text;
}

int mock_reply_add_call(hf_reply *r, const char *id, const char *name, const char *args)
{
	hf_reply_call *calls = hf_realloc(r->calls, (r->ncalls + 1) * sizeof(*calls));
	hf_reply_call *c;
	if (!calls)
		return HF_ENOMEM;
	r->calls = calls;
	c = &calls[r->ncalls];
	c->id = id ? hf_strdup(id) : NULL;
	c->name = hf_strdup(name);
	c->arguments = hf_strdup(args ? args : "{}");
	r->ncalls++;
	if ((id && !c->id) || !c->name || !c->arguments)
		return HF_ENOMEM;
	return HF_OK;
}

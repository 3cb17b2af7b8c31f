/*
 * headers.c - request header lines: which characters may go into one, and
 * the headers of a call (key, Accept, provider, extra lines). Lines holding
 * the key are wiped before they are freed. Used by endpoint resolution
 * (endpoint.c, which builds the chat calls' lists once) and the transport
 * (call.c, for other calls).
 */
#include "headers.h"

#include <string.h>

bool hf_headers_safe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* Append the header line head + value (value may be NULL). */
static int add_header(struct curl_slist **list, const char *head, const char *value)
{
	char line[4096];
	size_t h = strlen(head), v = value ? strlen(value) : 0;
	struct curl_slist *l;
	if (h + v >= sizeof(line))
		return HF_ELIMIT;
	memcpy(line, head, h);
	memcpy(line + h, value ? value : "", v);
	line[h + v] = '\0';
	l = curl_slist_append(*list, line);
	explicit_bzero(line, h + v);
	if (!l)
		return HF_ENOMEM;
	*list = l;
	return HF_OK;
}

int hf_headers_build(struct curl_slist **out, const char *key, int auth,
                     char *const *extra, bool post, bool stream, const char *provider,
                     hf_error *err)
{
	struct curl_slist *h = NULL;
	size_t i;
	int rc = HF_OK;

	*out = NULL;
	if (provider && !hf_headers_safe(provider))
		return hf_err(err, HF_EINVAL, "the provider name contains a control character");
	if (post)
		rc = add_header(&h, "Content-Type: application/json", NULL);
	if (!rc)
		rc = add_header(&h, "Accept: ", stream ? "text/event-stream" : "application/json");
	if (!rc && key && (auth & HF_AUTH_BEARER))
		rc = add_header(&h, "Authorization: Bearer ", key);
	if (!rc && key && (auth & HF_AUTH_X_API_KEY))
		rc = add_header(&h, "x-api-key: ", key);
	if (!rc && provider && *provider)
		rc = add_header(&h, "OpenAI-Organization: ", provider);
	for (i = 0; !rc && extra && extra[i]; i++)
		rc = add_header(&h, extra[i], NULL);
	if (!rc && post)
		rc = add_header(&h, "Expect:", NULL); /* no 100-continue round trip */
	if (rc) {
		hf_headers_free(h);
		return rc == HF_ELIMIT ? hf_err(err, rc, "a request header is longer than 4 KiB")
		                       : hf_err(err, rc, "out of memory");
	}
	*out = h;
	return HF_OK;
}

void hf_headers_free(struct curl_slist *h)
{
	struct curl_slist *l;
	for (l = h; l; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(h);
}

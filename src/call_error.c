/*
 * call_error.c - turning a failed exchange into a message a person can act
 * on: the HTTP status with the server's error code, type and message, or
 * what libcurl could not do and where.
 */
#include "call.h"
#include "text.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#define EXCERPT_MAX 200

/* A printable excerpt of a body that is not an error envelope. */
static void excerpt(char *out, size_t cap, const char *body, size_t len)
{
	size_t n, i, o = 0;
	while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r' || body[len - 1] == ' '))
		len--;
	if (!len) {
		snprintf(out, cap, "(empty body)");
		return;
	}
	if (!hf_text_utf8_valid(body, len, NULL)) {
		snprintf(out, cap, "(a %zu-byte body that is not UTF-8 text)", len);
		return;
	}
	n = hf_text_utf8_cut(body, len, EXCERPT_MAX < cap - 4 ? EXCERPT_MAX : cap - 4);
	for (i = 0; i < n; i++)
		out[o++] = (unsigned char)body[i] < 0x20 || body[i] == 0x7f ? ' ' : body[i];
	if (n < len)
		out[o++] = '.', out[o++] = '.', out[o++] = '.';
	out[o] = '\0';
}

/* The server's "type (code): message" from an {"error":...} envelope (as
 * chat.c reads it), else the text of a top-level "message" or "detail",
 * else a clean excerpt of the body. */
static void detail(char *out, size_t cap, const char *body, size_t len)
{
	static const char said[] = "the endpoint said: ";
	cJSON *root = body && len ? hf_json_parse(body, len) : NULL;
	hf_error e;

	if (root && hf_chat_error_envelope(root, &e)) {
		const char *m = e.message;
		if (!strncmp(m, said, sizeof(said) - 1))
			m += sizeof(said) - 1;
		snprintf(out, cap, "%s", m);
	} else if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "message")) ||
	           cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "detail"))) {
		/* {"message":"…"} or FastAPI's {"detail":"…"}: the words alone */
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");
		if (!cJSON_IsString(m))
			m = cJSON_GetObjectItemCaseSensitive(root, "detail");
		excerpt(out, cap, m->valuestring, strlen(m->valuestring));
	} else {
		excerpt(out, cap, body ? body : "", body ? len : 0);
	}
	cJSON_Delete(root);
}

int hf_call_error_http(hf_error *err, long status, const char *url, const char *body, size_t len,
                  bool sent_key)
{
	char d[HF_ERROR_MESSAGE_MAX];
	int code;

	detail(d, sizeof(d), body, len);
	if (status == 401 || status == 403)
		code = sent_key ? hf_err(err, HF_EAUTH,
		                         "the endpoint refused the API key (HTTP %ld from %s): %s — "
		                         "check the key (HANDOFF_API_KEY, the variable named by "
		                         "api_key_env, or the key file)", status, url, d)
		                : hf_err(err, HF_EAUTH,
		                         "the endpoint wants an API key (HTTP %ld from %s): %s — set "
		                         "HANDOFF_API_KEY, the variable named by api_key_env, or a key "
		                         "file (api_key_file, HANDOFF_API_KEY_FILE)", status, url, d);
	else
		code = hf_err(err, status == 404 ? HF_ENOTFOUND : HF_EHTTP, "HTTP %ld from %s: %s",
		              status, url, d);
	if (err)
		err->http_status = (int)status;
	return code;
}

/* "host:port" of url, or the URL itself when it cannot be split. */
static void host_port(char *out, size_t cap, const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;
	if (u && !curl_url_set(u, CURLUPART_URL, url, 0) &&
	    !curl_url_get(u, CURLUPART_HOST, &host, 0) &&
	    !curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT))
		snprintf(out, cap, "%s:%s", host, port);
	else
		snprintf(out, cap, "%s", url);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

int hf_call_error_net(hf_error *err, CURLcode rc, const char *url, const char *errbuf, long os_errno)
{
	char where[256];
	const char *why = errbuf && *errbuf ? errbuf : curl_easy_strerror(rc);

	host_port(where, sizeof(where), url);
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		hf_err(err, HF_ENET, "could not connect to %s: %s", where,
		       os_errno ? strerror((int)os_errno) : why);
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		hf_err(err, HF_ENET, "could not resolve the host of %s: %s", url, why);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		hf_err(err, HF_ENET, "the request to %s timed out: %s", url, why);
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		hf_err(err, HF_ENET, "TLS with %s failed: %s (for a test server with a self-signed "
		       "certificate, the insecure option of hf_client_options skips the check)",
		       where, why);
		break;
	default:
		if (errbuf && *errbuf)
			hf_err(err, HF_ENET, "the exchange with %s failed: %s (%s)", where,
			       curl_easy_strerror(rc), errbuf);
		else
			hf_err(err, HF_ENET, "the exchange with %s failed: %s", where,
			       curl_easy_strerror(rc));
		break;
	}
	return HF_ENET;
}

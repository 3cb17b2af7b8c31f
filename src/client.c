/*
 * client.c - the model client (a resolved endpoint and one reused libcurl
 * handle, so the connection is kept between requests) and hf_ask, one chat
 * completion without agents.
 */
#include "call.h"
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Input accepted by hf_ask (the prompt and the system text, each). */
#define ASK_MAX_INPUT ((size_t)1 << 20)

int hf_client_new(hf_client **out, const hf_client_options *opts, const hf_graph *graph,
                  hf_error *err)
{
	hf_client *c;
	int rc;

	*out = NULL;
	c = hf_calloc(1, sizeof(*c));
	if (!c)
		return hf_err(err, HF_ENOMEM, "out of memory");
	rc = hf_endpoint_resolve(&c->ep, opts, graph, err);
	if (rc) {
		free(c);
		return rc;
	}
	c->easy = curl_easy_init();
	if (!c->easy) {
		hf_client_free(c);
		return hf_err(err, HF_ENOMEM, "libcurl could not create a handle");
	}
	if ((rc = hf_call_easy_prepare(c->easy, &c->ep, err))) {
		hf_client_free(c);
		return rc;
	}
	*out = c;
	return HF_OK;
}

void hf_client_free(hf_client *c)
{
	if (!c)
		return;
	if (c->easy)
		curl_easy_cleanup(c->easy);
	hf_endpoint_dispose(&c->ep);
	free(c);
}

const char *hf_client_base_url(const hf_client *c)
{
	return c->ep.shown_base_url;
}

static int emit(const hf_ask_options *o, hf_event *ev)
{
	return o->on_event ? o->on_event(ev, o->payload) : 0;
}

static int on_delta(void *payload, const char *text, size_t len)
{
	const hf_ask_options *o = payload;
	hf_event ev = { .type = HF_EVENT_TEXT_DELTA, .text = text, .text_len = len };
	return emit(o, &ev);
}

/* The request body: optional system message, the user's text. */
static int ask_body(char **out, const hf_client *c, const char *input, const hf_ask_options *o,
                    hf_error *err)
{
	char *user = NULL, *sys = NULL;
	cJSON *msgs = NULL, *m;
	int rc = hf_text_normalize_input(&user, input, strlen(input), ASK_MAX_INPUT, err);

	if (!rc && o->system && *o->system)
		rc = hf_text_normalize_input(&sys, o->system, strlen(o->system), ASK_MAX_INPUT, err);
	if (!rc) {
		hf_chat_request req = {
			.model = o->model,
			.compute_provider = o->compute_provider ? o->compute_provider
			                                        : c->ep.compute_provider,
			.stream = o->stream != 0,
			.include_usage = o->stream != 0,
		};
		msgs = cJSON_CreateArray();
		if (msgs && sys && (m = hf_msg_system(sys)))
			cJSON_AddItemToArray(msgs, m);
		if (msgs && (m = hf_msg_user(user)))
			cJSON_AddItemToArray(msgs, m);
		if (!msgs || cJSON_GetArraySize(msgs) != (sys ? 2 : 1))
			rc = hf_err(err, HF_ENOMEM, "out of memory");
		req.messages = msgs;
		if (!rc)
			rc = hf_chat_body(out, &req, err);
	}
	cJSON_Delete(msgs);
	free(user);
	free(sys);
	return rc;
}

int hf_ask(char **answer, hf_usage *usage, hf_client *c, const char *input,
           const hf_ask_options *opts, hf_error *err)
{
	hf_reply reply = { 0 };
	char *body = NULL;
	int rc;

	if (answer)
		*answer = NULL;
	if (usage)
		memset(usage, 0, sizeof(*usage));
	if (!c || !input || !opts)
		return hf_err(err, HF_EINVAL, "hf_ask needs a client, input text and options");
	if (opts->version != HF_ASK_OPTIONS_VERSION)
		return hf_err(err, HF_EINVAL, "hf_ask_options version %u is not %u; use "
		              "HF_ASK_OPTIONS_INIT", opts->version, HF_ASK_OPTIONS_VERSION);
	if (!opts->model || !*opts->model)
		return hf_err(err, HF_EINVAL, "no model: set model in hf_ask_options");
	rc = ask_body(&body, c, input, opts, err);
	if (!rc) {
		hf_call_spec spec = {
			.method = "POST",
			.path = "/chat/completions",
			.body = body,
			.stream = opts->stream != 0,
			.provider = opts->provider,
			.on_delta = on_delta,
			.payload = (void *)opts,
			.cancel = opts->cancel,
		};
		rc = hf_call_run(&reply, NULL, c->easy, &c->ep, &spec, err);
	}
	if (!rc && !reply.ncalls && (!reply.content || !*reply.content)) {
		char who[300];
		snprintf(who, sizeof(who), "model %s", opts->model);
		rc = hf_chat_reply_unanswered(&reply, who, err);
	}
	if (!rc && reply.has_usage) {
		hf_event ev = { .type = HF_EVENT_USAGE, .usage = reply.usage, .usage_reported = 1 };
		if (emit(opts, &ev))
			rc = hf_err(err, HF_ECANCELLED, "cancelled by the caller");
	}
	if (!rc) {
		hf_event ev = { .type = HF_EVENT_MESSAGE,
			        .text = reply.content ? reply.content : "",
			        .text_len = reply.content ? strlen(reply.content) : 0 };
		if (emit(opts, &ev))
			rc = hf_err(err, HF_ECANCELLED, "cancelled by the caller");
	}
	if (!rc && answer && !(*answer = hf_strdup(reply.content ? reply.content : "")))
		rc = hf_err(err, HF_ENOMEM, "out of memory");
	if (!rc && usage) {
		*usage = reply.usage;
		usage->requests = 1;
	}
	hf_chat_reply_dispose(&reply);
	free(body);
	return rc;
}

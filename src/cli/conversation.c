/*
 * conversation.c - what `handoff run` and `handoff chat` share: rendering
 * events, opening the session and its store, Ctrl-C.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- rendering ---- */

/* reported_requests: how many of the requests reported usage (the token
 * counts cover only those; 0 = unknown, not zero). */
static void json_usage(cJSON *o, const hf_usage *u, uint64_t reported)
{
	cJSON_AddNumberToObject(o, "requests", (double)u->requests);
	cJSON_AddNumberToObject(o, "reported_requests", (double)reported);
	cJSON_AddNumberToObject(o, "input_tokens", (double)u->input_tokens);
	cJSON_AddNumberToObject(o, "output_tokens", (double)u->output_tokens);
	cJSON_AddNumberToObject(o, "total_tokens", (double)u->total_tokens);
}

static void add_str(cJSON *o, const char *key, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

static void print_json_line(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		fflush(stdout);
		cJSON_free(s);
	}
	cJSON_Delete(o);
}

static const char *const event_names[] = { "agent", "text_delta", "message", "handoff",
	                                   "usage", "error", "done", "warning",
	                                   "tool_call", "tool_result" };

/* The event's text (text_len bytes, not necessarily NUL-terminated) under
 * key; null when out of memory. */
static void add_text(cJSON *o, const char *key, const hf_event *ev)
{
	char *text = malloc(ev->text_len + 1);
	if (text) {
		memcpy(text, ev->text ? ev->text : "", ev->text_len);
		text[ev->text_len] = '\0';
	}
	add_str(o, key, text);
	free(text);
}

static void render_json(const hf_event *ev)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *u;
	if (!o)
		return;
	cJSON_AddStringToObject(o, "type", event_names[ev->type]);
	switch (ev->type) {
	case HF_EVENT_AGENT:
		add_str(o, "from", ev->from);
		add_str(o, "to", ev->to);
		break;
	case HF_EVENT_HANDOFF:
		add_str(o, "from", ev->from);
		add_str(o, "to", ev->to);
		add_str(o, "tool", ev->tool_name);
		add_str(o, "call_id", ev->call_id);
		break;
	case HF_EVENT_TEXT_DELTA:
	case HF_EVENT_MESSAGE:
		add_str(o, "agent", ev->agent);
		add_text(o, "text", ev);
		break;
	case HF_EVENT_WARNING:
		add_str(o, "agent", ev->agent);
		add_text(o, "message", ev);
		break;
	case HF_EVENT_TOOL_CALL:
	case HF_EVENT_TOOL_RESULT:
		add_str(o, "agent", ev->agent);
		add_str(o, "tool", ev->tool_name);
		add_str(o, "origin", ev->tool_origin);
		add_str(o, "call_id", ev->call_id);
		if (ev->type == HF_EVENT_TOOL_CALL) {
			add_text(o, "arguments", ev);
		} else {
			add_text(o, "output", ev);
			cJSON_AddBoolToObject(o, "error", ev->tool_error != 0);
		}
		break;
	case HF_EVENT_USAGE:
		add_str(o, "agent", ev->agent);
		json_usage(o, &ev->usage, ev->usage_reported);
		break;
	case HF_EVENT_DONE:
		add_str(o, "agent", ev->agent);
		add_str(o, "session", ev->session_id);
		add_str(o, "text", ev->text);
		if ((u = cJSON_AddObjectToObject(o, "usage")))
			json_usage(u, &ev->usage, ev->usage_reported);
		break;
	case HF_EVENT_ERROR:
	default: /* the error is printed by cli_render_error, with the exit status */
		cJSON_Delete(o);
		return;
	}
	print_json_line(o);
}

static void end_line(cli_render *r)
{
	if (r->mid_line) {
		fputc('\n', stdout);
		fflush(stdout);
		r->mid_line = false;
	}
}

/* ---- tool calls on stderr ---- */

#define ARGS_COLUMNS 80
#define ERROR_COLUMNS 120

/* Remember a call's arguments, one line, until its result comes. */
static void tool_call_seen(cli_render *r, const hf_event *ev)
{
	cli_tool_line *calls = realloc(r->calls, (r->ncalls + 1) * sizeof(*calls));
	if (!calls)
		return;
	r->calls = calls;
	calls[r->ncalls].call_id = strdup(ev->call_id ? ev->call_id : "");
	calls[r->ncalls].args = cli_text_line(ev->text ? ev->text : "", ev->text_len,
	                                      ARGS_COLUMNS, false);
	r->ncalls++;
}

/* The remembered arguments of call_id (owned, taken out of the list), or
 * NULL. */
static char *tool_call_take(cli_render *r, const char *call_id)
{
	size_t i;
	for (i = 0; i < r->ncalls; i++) {
		char *args = r->calls[i].args;
		if (strcmp(r->calls[i].call_id ? r->calls[i].call_id : "", call_id ? call_id : ""))
			continue;
		free(r->calls[i].call_id);
		r->calls[i] = r->calls[--r->ncalls];
		return args;
	}
	return NULL;
}

static void tool_calls_clear(cli_render *r)
{
	size_t i;
	for (i = 0; i < r->ncalls; i++) {
		free(r->calls[i].call_id);
		free(r->calls[i].args);
	}
	free(r->calls);
	r->calls = NULL;
	r->ncalls = 0;
}

/* "[agent] origin.tool ARGS → SIZE" or "→ error: FIRST LINE". */
static void tool_result_line(cli_render *r, const hf_event *ev)
{
	const char *dim = r->color ? "\033[2m" : "", *off = r->color ? "\033[0m" : "";
	const char *name = ev->tool_name ? ev->tool_name : "?";
	char *args = tool_call_take(r, ev->call_id);
	char *tool = cli_text_line(name, strlen(name), 0, false), *what = NULL;
	char size[32];
	if (ev->tool_error)
		what = cli_text_line(ev->text ? ev->text : "", ev->text_len, ERROR_COLUMNS, true);
	else
		cli_size_text(size, sizeof(size), ev->text_len);
	fprintf(stderr, "%s[%s] %s%s%s%s%s → %s%s%s\n", dim, ev->agent ? ev->agent : "?",
	        ev->tool_origin ? ev->tool_origin : "", ev->tool_origin ? "." : "",
	        tool ? tool : name, args ? " " : "", args ? args : "",
	        ev->tool_error ? "error: " : "", ev->tool_error ? (what ? what : "") : size, off);
	free(args);
	free(tool);
	free(what);
}

void cli_render_dispose(cli_render *r)
{
	free(r->pending);
	r->pending = NULL;
	tool_calls_clear(r);
}

int cli_render_event(const hf_event *ev, void *payload)
{
	cli_render *r = payload;
	const char *dim = r->color ? "\033[2m" : "", *off = r->color ? "\033[0m" : "";

	if (cli_interrupted)
		return 1;
	if (ev->type == HF_EVENT_USAGE)
		r->usage_reported += ev->usage_reported;
	if (r->json) {
		render_json(ev);
		return 0;
	}
	switch (ev->type) {
	case HF_EVENT_AGENT:
		if (ev->from)
			fprintf(stderr, "%s[%s → %s]%s\n", dim, ev->from, ev->to, off);
		break;
	case HF_EVENT_TEXT_DELTA:
		fwrite(ev->text, 1, ev->text_len, stdout);
		fflush(stdout);
		if (ev->text_len) { /* an answer that ends its own line gets no other */
			r->streamed = true;
			r->mid_line = ev->text[ev->text_len - 1] != '\n';
		}
		break;
	case HF_EVENT_MESSAGE:
		/* A whole (not streamed) answer waits for DONE: the turn may still
		 * fail to be stored, and then it is not shown as if it had worked. */
		free(r->pending);
		r->pending = NULL;
		if (!r->streamed && ev->text_len && (r->pending = malloc(ev->text_len))) {
			memcpy(r->pending, ev->text, ev->text_len);
			r->pending_len = ev->text_len;
		} else if (!r->streamed && ev->text_len) { /* no memory to hold it: show it now */
			fwrite(ev->text, 1, ev->text_len, stdout);
			r->mid_line = ev->text[ev->text_len - 1] != '\n';
		}
		end_line(r);
		r->streamed = false;
		break;
	case HF_EVENT_TOOL_CALL:
		tool_call_seen(r, ev);
		break;
	case HF_EVENT_TOOL_RESULT:
		end_line(r);
		tool_result_line(r, ev);
		break;
	case HF_EVENT_WARNING:
		end_line(r);
		fprintf(stderr, "handoff: warning: %s\n", ev->text);
		break;
	case HF_EVENT_DONE:
		tool_calls_clear(r);
		if (r->pending) {
			fwrite(r->pending, 1, r->pending_len, stdout);
			r->mid_line = r->pending[r->pending_len - 1] != '\n';
			free(r->pending);
			r->pending = NULL;
		}
		end_line(r);
		if (r->verbose) {
			char u[256];
			cli_usage_text(u, sizeof(u), &ev->usage, ev->usage_reported);
			fprintf(stderr, "%susage: %s (%s)%s\n", dim, u, ev->agent, off);
		}
		break;
	case HF_EVENT_HANDOFF:
	case HF_EVENT_USAGE:
	case HF_EVENT_ERROR:
	default:
		break;
	}
	return 0;
}

void cli_usage_text(char *buf, size_t cap, const hf_usage *u, uint64_t reported)
{
	unsigned long long n = u->requests, missing = n > reported ? n - reported : 0;
	int w;
	if (!reported) {
		snprintf(buf, cap, "%llu request%s, usage not reported by the endpoint", n,
		         n == 1 ? "" : "s");
		return;
	}
	w = snprintf(buf, cap, "%llu request%s, %llu input + %llu output = %llu tokens", n,
	             n == 1 ? "" : "s", (unsigned long long)u->input_tokens,
	             (unsigned long long)u->output_tokens, (unsigned long long)u->total_tokens);
	if (missing && w > 0 && (size_t)w < cap)
		snprintf(buf + w, cap - (size_t)w, "; %llu request%s did not report usage", missing,
		         missing == 1 ? "" : "s");
}

int cli_render_error(cli_render *r, const hf_error *err)
{
	int status = cli_exit_status(err->code);
	free(r->pending); /* an answer that was not stored is not shown */
	r->pending = NULL;
	tool_calls_clear(r);
	if (r->json) {
		cJSON *o = cJSON_CreateObject();
		if (o) {
			cJSON_AddStringToObject(o, "type", "error");
			cJSON_AddStringToObject(o, "message", err->message);
			cJSON_AddStringToObject(o, "code", hf_code_name(err->code));
			if (err->http_status)
				cJSON_AddNumberToObject(o, "http_status", err->http_status);
			cJSON_AddNumberToObject(o, "exit", status);
			print_json_line(o);
		}
		return status;
	}
	if (r->mid_line)
		fputc('\n', stdout);
	return cli_fail(err);
}

/* ---- sessions ---- */

int cli_session_opts_check(const cli_session_opts *o)
{
	if (o->cont && (o->id || o->no_store))
		return cli_usage_error(o->cmd, "-c/--continue cannot be combined with %s",
		                       o->id ? "--session" : "--no-store");
	return HF_EXIT_OK;
}

int cli_open_session(hf_session **s, hf_store **st, const cli_session_opts *o, bool quiet)
{
	hf_error err;
	char *latest = NULL;
	const char *id = o->id;
	int rc;

	*s = NULL;
	*st = NULL;
	if (!o->no_store && (rc = hf_store_open_sqlite(st, o->db, &err)))
		return cli_fail(&err);
	if (o->cont) {
		if ((rc = hf_store_latest(&latest, *st, &err))) {
			hf_store_free(*st);
			*st = NULL;
			if (rc == HF_ENOTFOUND) {
				fprintf(stderr, "handoff: no conversation to continue yet; "
				                "run without -c to start one\n");
				return HF_EXIT_ERROR;
			}
			return cli_fail(&err);
		}
		id = latest;
	}
	if (id && (rc = hf_session_id_check(id, &err))) {
		rc = cli_fail(&err);
		goto fail;
	}
	rc = id && *st ? hf_store_open_session(s, *st, id, &err) : hf_session_new(s, id, &err);
	if (rc) {
		rc = cli_fail(&err);
		goto fail;
	}
	if (!quiet)
		fprintf(stderr, "session: %s\n", hf_session_id(*s));
	free(latest);
	return HF_EXIT_OK;
fail:
	free(latest);
	hf_store_free(*st);
	*st = NULL;
	return rc;
}

/* ---- Ctrl-C ---- */

volatile int cli_interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	if (cli_interrupted)
		_exit(HF_EXIT_INTERRUPTED);
	cli_interrupted = 1;
}

void cli_catch_interrupt(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
}

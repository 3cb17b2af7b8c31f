/*
 * turn.c - the turn state machine (see turn.h); hf_run (run.c) and the
 * engine (engine.c) drive it. Routing rules, as in the OpenAI Agents SDK plus ours:
 *  - text and no tool calls: the final answer of the turn;
 *  - a handoff call: the assistant message with the calls and a tool
 *    message {"assistant": "<name>"} per handoff, then the target agent
 *    continues with the whole history;
 *  - several handoffs in one reply: the first wins, each other gets its own
 *    "ignored" tool message, so no call is left unanswered;
 *  - a tool that was not offered: an error (or, on request, an answer to
 *    the model saying so);
 *  - missing or empty call ids: generated, consistent in history;
 *  - max_turns model calls per user turn; a handoff that repeats a hop
 *    already taken in this turn (A→B→A→B) stops as a loop;
 *  - function tools (the Agents SDK's loop): the calls of one reply run
 *    (HF_TURN_TOOLS: the driver waits for their results), their results
 *    go back as tool messages in call order, then a handoff of the same
 *    reply is followed (the first; others answered as above), else the
 *    agent's tool_use decides: the same agent is called again
 *    (run_llm_again), or the first tool's output (stop_on_first_tool) /
 *    the first output of a tool named in stop_at is the final answer. Like
 *    the SDK, such an answer adds no assistant message: the stored turn
 *    ends with the tool message, which is valid history for the next
 *    user message. A failed tool is told to the model unless the graph
 *    says tool_errors: fail (then the turn fails with HF_ETOOLFAIL).
 */
#include "turn.h"

#include "text.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_INPUT (64 * 1024)
#define MULTI_HANDOFF_TEXT "Multiple handoffs detected, ignoring this one."

typedef struct hop {
	const hf_agent *from, *to;
} hop;

/* What a call of the reply being answered is. */
enum { CALL_HANDOFF, CALL_FUNCTION, CALL_UNKNOWN };

typedef struct tool_slot {
	int kind;
	const char *origin;      /* FUNCTION: its MCP server, or NULL */
	hf_tool_call *call;      /* FUNCTION: the turn's reference once started */
	bool done;
} tool_slot;

struct hf_turn {
	const hf_graph *g;
	hf_session *s;
	hf_store *st;
	const hf_endpoint *ep;
	hf_run_options opts;
	const hf_agent *agent;   /* the agent answering now */
	hf_msglist turn;         /* messages of this turn (user first) */
	hf_usage usage;
	uint64_t usage_reported; /* model calls whose reply reported usage */
	int calls;               /* model calls made */
	int max_turns;
	hop *hops;               /* handoffs taken in this turn */
	size_t nhops;
	char *body;              /* the last request body */
	char *answer;
	unsigned long id_seq;    /* for generated call ids */
	bool finished;           /* DONE or ERROR reported */
	const hf_agent_wire *wire; /* the last request's parts, from the tool set */
	/* The reply whose function tools run (HF_TURN_TOOLS until finished). */
	hf_reply_call *rcalls;
	size_t nrcalls;
	tool_slot *slots;
	size_t next_start;       /* the first call not started yet */
	size_t outstanding;      /* started, result not in */
	const hf_agent *target;  /* the reply's first handoff, or NULL */
	size_t winner;
	hf_tool_sink *sink;
};

/* ---- events ---- */

static int emit(hf_turn *t, hf_event *ev)
{
	if (!t->opts.on_event)
		return 0;
	ev->session_id = hf_session_id(t->s);
	if (!ev->agent && t->agent)
		ev->agent = t->agent->name;
	return t->opts.on_event(ev, t->opts.payload);
}

/* Emit an event whose non-zero answer cancels the turn. */
static int emit_or_cancel(hf_turn *t, hf_event *ev, hf_error *err)
{
	return emit(t, ev) ? hf_err(err, HF_ECANCELLED, "cancelled by the event callback") : HF_OK;
}

static int emit_agent(hf_turn *t, const hf_agent *from, const hf_agent *to, hf_error *err)
{
	hf_event ev = { .type = HF_EVENT_AGENT, .from = from ? from->name : NULL,
		        .to = to->name, .agent = to->name };
	return emit_or_cancel(t, &ev, err);
}

void hf_turn_fail(hf_turn *t, const hf_error *err)
{
	hf_event ev = { .type = HF_EVENT_ERROR, .error = err };
	if (t->finished)
		return;
	t->finished = true;
	emit(t, &ev);
}

/* ---- set-up ---- */

/* Append m (owned; NULL means out of memory) to the turn, printed once:
 * each request and the commit reuse the text. */
static int add_message(hf_turn *t, cJSON *m)
{
	return hf_msglist_add(&t->turn, m);
}

/* The agent a turn starts at: the holding agent under the sticky policy,
 * else the entry agent. */
static const hf_agent *start_agent(hf_turn *t)
{
	const char *held = hf_session_agent(t->s);
	int routing = t->opts.routing >= 0 ? t->opts.routing : (int)t->g->routing;
	const hf_agent *a;
	if (!held || routing == HF_ROUTING_ROUTER)
		return t->g->entry;
	a = hf_graph_agent_by_name(t->g, held);
	if (!a) {
		char msg[512];
		hf_event ev = { .type = HF_EVENT_WARNING };
		snprintf(msg, sizeof(msg),
		         "agent '%s', which held session '%s', is not in the graph any more; "
		         "continuing at the entry agent '%s'",
		         held, hf_session_id(t->s), t->g->entry->name);
		hf_log(HF_LOG_WARN, "%s", msg);
		ev.text = msg;
		ev.text_len = strlen(msg);
		ev.agent = t->g->entry->name;
		emit(t, &ev);
		return t->g->entry;
	}
	return a;
}

int hf_run_options_copy(hf_run_options *dst, const hf_run_options *src, hf_error *err)
{
	hf_run_options defaults = HF_RUN_OPTIONS_INIT;
	*dst = defaults;
	if (!src)
		return HF_OK;
	if (src->version == 1) { /* before `tools`: copy only what a version 1 struct has */
		memcpy(dst, src, offsetof(hf_run_options, tools));
		dst->tools = NULL;
		return HF_OK;
	}
	if (src->version != HF_RUN_OPTIONS_VERSION)
		return hf_err(err, HF_EINVAL, "hf_run_options version %u is not supported (expected %u)",
		              src->version, HF_RUN_OPTIONS_VERSION);
	*dst = *src;
	return HF_OK;
}

int hf_turn_new(hf_turn **out, const hf_graph *g, hf_session *s, hf_store *st,
                const char *input, const hf_run_options *opts, const hf_endpoint *ep,
                hf_error *err)
{
	hf_run_options o;
	hf_turn *t;
	char *text = NULL;
	cJSON *user;
	int rc;

	*out = NULL;
	if (!g || !s || !input || !ep)
		return hf_err(err, HF_EINVAL, "hf_turn_new: graph, session, input and endpoint are required");
	if ((rc = hf_run_options_copy(&o, opts, err)))
		return rc;
	rc = hf_text_normalize_input(&text, input, strlen(input),
	                             opts && opts->max_input_bytes ? opts->max_input_bytes
	                                                           : DEFAULT_MAX_INPUT,
	                             err);
	if (rc)
		return rc;
	t = hf_calloc(1, sizeof(*t));
	user = t ? hf_msg_user(text) : NULL;
	free(text);
	if (!t || add_message(t, user)) {
		if (!t)
			cJSON_Delete(user);
		hf_turn_free(t);
		return hf_err(err, HF_ENOMEM, "out of memory starting a turn");
	}
	t->g = g;
	t->s = s;
	t->st = st;
	t->ep = ep;
	t->opts = o;
	t->max_turns = t->opts.max_turns > 0 ? t->opts.max_turns : g->max_turns;
	t->agent = start_agent(t);
	if ((rc = emit_agent(t, NULL, t->agent, err))) {
		hf_turn_free(t);
		return rc;
	}
	*out = t;
	return HF_OK;
}

/* Release the calls of the reply whose tools ran, and the reply's calls. */
static void clear_tools(hf_turn *t)
{
	hf_reply r = { 0 };
	size_t i;
	for (i = 0; t->slots && i < t->nrcalls; i++)
		hf_tool_call_release(t->slots[i].call);
	free(t->slots);
	t->slots = NULL;
	r.calls = t->rcalls;
	r.ncalls = t->nrcalls;
	hf_chat_reply_dispose(&r);
	t->rcalls = NULL;
	t->nrcalls = t->next_start = t->outstanding = 0;
	t->target = NULL;
}

void hf_turn_free(hf_turn *t)
{
	if (!t)
		return;
	hf_turn_tools_cancel(t);
	clear_tools(t);
	hf_tools_wire_release(t->opts.tools, t->wire);
	hf_msglist_dispose(&t->turn);
	free(t->hops);
	free(t->body);
	free(t->answer);
	free(t);
}

char *hf_turn_take_answer(hf_turn *t)
{
	char *a = t->answer;
	t->answer = NULL;
	return a;
}

const char *hf_turn_answer(const hf_turn *t)
{
	return t->answer;
}

void hf_turn_blame(const hf_turn *t, hf_error *err)
{
	hf_err_prefix(err, "agent '%s'", t->agent->name);
}

/* ---- building a request ---- */

/* Streamed text of the current call, as TEXT_DELTA events. */
static int on_delta(void *payload, const char *text, size_t len)
{
	hf_turn *t = payload;
	hf_event ev = { .type = HF_EVENT_TEXT_DELTA, .text = text, .text_len = len };
	return emit(t, &ev);
}

/* Index of the first history message to send under max_history_messages:
 * the cut moves forward to a user message, so a tool call is never
 * separated from its result. */
static size_t history_start(const hf_msglist *history, size_t limit)
{
	size_t n = hf_msglist_count(history), i;
	if (!limit || n <= limit)
		return 0;
	for (i = n - limit; i < n; i++)
		if (hf_msglist_role(history, i) == HF_ROLE_USER)
			return i;
	return n;
}

int hf_turn_request(hf_turn *t, hf_call_spec *spec, hf_error *err)
{
	const hf_agent *a = t->agent;
	const hf_agent_wire *w;
	const hf_msglist *history = hf_session_history(t->s);
	size_t from = history_start(history, t->opts.max_history_messages);
	size_t nhist = hf_msglist_count(history) - from;
	size_t n, i;
	const char **texts;
	int rc;

	if (t->calls >= t->max_turns)
		return hf_err(err, HF_EMAXTURNS,
		              "max turns (%d) exceeded: the agents made %d model calls in this "
		              "turn without a final answer (last agent: '%s')",
		              t->max_turns, t->calls, a->name);
	if (a->ntools) {
		if (!t->opts.tools)
			return hf_err(err, HF_ECONFIG,
			              "agent '%s' has tools (`tools:` in %s) but the turn was given no tool "
			              "set: start one (hf_tools_new, hf_tools_start) and pass it as "
			              "hf_run_options.tools", a->name, a->file ? a->file : "its file");
		if (hf_tools_graph(t->opts.tools) != t->g)
			return hf_err(err, HF_ECONFIG, "hf_run_options.tools was made for another graph "
			              "than the turn's (hf_tools_new)");
		hf_tools_wire_release(t->opts.tools, t->wire);
		t->wire = NULL;
		if ((rc = hf_tools_wire(&t->wire, t->opts.tools, a, err)))
			return rc;
		w = t->wire;
	} else if ((rc = hf_chat_agent_wire_get(&w, a, err))) {
		return rc;
	}
	/* Message texts: the history's are kept by the session, the turn's here. */
	if (!(texts = hf_calloc(nhist + hf_msglist_count(&t->turn), sizeof(*texts))))
		goto oom;
	for (n = 0; n < nhist; n++)
		texts[n] = hf_msglist_text(history, from + n);
	for (i = 0; i < hf_msglist_count(&t->turn); i++)
		texts[n++] = hf_msglist_text(&t->turn, i);
	free(t->body);
	t->body = NULL;
	rc = hf_chat_body_join(&t->body, w, texts, n, t->opts.stream != 0, t->opts.stream != 0,
	                       a->compute_provider ? a->compute_provider : t->ep->compute_provider,
	                       err);
	free(texts);
	if (rc)
		return rc;
	memset(spec, 0, sizeof(*spec));
	spec->method = "POST";
	spec->path = "/chat/completions";
	spec->body = t->body;
	spec->stream = t->opts.stream != 0;
	spec->provider = a->provider;
	spec->cancel = t->opts.cancel;
	spec->on_delta = on_delta;
	spec->payload = t;
	t->calls++;
	return HF_OK;
oom:
	free(texts);
	return hf_err(err, HF_ENOMEM, "out of memory building the request for '%s'", a->name);
}

/* ---- applying a reply ---- */

/* The handoff target of `name` among the agent's handoffs, or NULL. */
static const hf_agent *handoff_target(const hf_agent *a, const char *name)
{
	size_t i;
	for (i = 0; i < a->nhandoffs; i++)
		if (!strcmp(a->handoffs[i]->tool_name, name))
			return a->handoffs[i];
	return NULL;
}

/* {"assistant": "<name>"} exactly as Python's json.dumps writes it
 * (ASCII only: other characters as \uXXXX, surrogate pairs above U+FFFF). */
static char *transfer_message(const char *name)
{
	hf_buf b = HF_BUF_INIT;
	const unsigned char *p = (const unsigned char *)name;
	int bad = hf_buf_puts(&b, "{\"assistant\": \"");
	while (*p && !bad) {
		unsigned long cp = *p;
		int extra = 0;
		if (cp >= 0xF0) {
			cp &= 0x07;
			extra = 3;
		} else if (cp >= 0xE0) {
			cp &= 0x0F;
			extra = 2;
		} else if (cp >= 0xC0) {
			cp &= 0x1F;
			extra = 1;
		}
		p++;
		for (; extra > 0 && *p; extra--)
			cp = (cp << 6) | (*p++ & 0x3F);
		if (cp == '"' || cp == '\\')
			bad = hf_buf_printf(&b, "\\%c", (char)cp);
		else if (cp == '\n')
			bad = hf_buf_puts(&b, "\\n");
		else if (cp == '\t')
			bad = hf_buf_puts(&b, "\\t");
		else if (cp == '\r')
			bad = hf_buf_puts(&b, "\\r");
		else if (cp == '\b')
			bad = hf_buf_puts(&b, "\\b");
		else if (cp == '\f')
			bad = hf_buf_puts(&b, "\\f");
		else if (cp < 0x20 || (cp >= 0x7F && cp <= 0xFFFF))
			bad = hf_buf_printf(&b, "\\u%04lx", cp);
		else if (cp > 0xFFFF) {
			cp -= 0x10000;
			bad = hf_buf_printf(&b, "\\u%04lx\\u%04lx", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
		} else {
			char c = (char)cp;
			bad = hf_buf_append(&b, &c, 1);
		}
	}
	if (bad || hf_buf_puts(&b, "\"}")) {
		hf_buf_dispose(&b);
		return NULL;
	}
	return hf_buf_detach(&b);
}

/* Replace missing or empty call ids, and ids an earlier call of the same
 * reply already has, with generated ones: each tool message answers one. */
static int fill_call_ids(hf_turn *t, hf_reply *r)
{
	size_t i, j;
	for (i = 0; i < r->ncalls; i++) {
		for (j = 0; j < i && r->calls[i].id && strcmp(r->calls[i].id, r->calls[j].id); j++)
			;
		if (r->calls[i].id && *r->calls[i].id && j == i)
			continue;
		free(r->calls[i].id);
		r->calls[i].id = hf_asprintf("call_hf_%d_%lu", t->calls, ++t->id_seq);
		if (!r->calls[i].id)
			return HF_ENOMEM;
	}
	return HF_OK;
}


/* "A → B → A → B" for the loop error. */
static void describe_hops(const hf_turn *t, const hf_agent *last, char *buf, size_t cap)
{
	size_t i, n = 0;
	buf[0] = '\0';
	for (i = 0; i < t->nhops && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s → ", t->hops[i].from->name);
	if (n < cap && t->nhops)
		n += (size_t)snprintf(buf + n, cap - n, "%s → ", t->hops[t->nhops - 1].to->name);
	if (n < cap)
		snprintf(buf + n, cap - n, "%s", last->name);
}

static int take_hop(hf_turn *t, const hf_agent *to, hf_error *err)
{
	size_t i;
	hop *h;
	for (i = 0; i < t->nhops; i++) {
		if (t->hops[i].from == t->agent && t->hops[i].to == to) {
			char path[600];
			describe_hops(t, to, path, sizeof(path));
			return hf_err(err, HF_ELOOP,
			              "handoff loop in one turn: %s; stopped after %d model calls "
			              "(max turns %d). Check the agents' instructions.",
			              path, t->calls, t->max_turns);
		}
	}
	h = hf_realloc(t->hops, (t->nhops + 1) * sizeof(*h));
	if (!h)
		return hf_err(err, HF_ENOMEM, "out of memory");
	t->hops = h;
	t->hops[t->nhops].from = t->agent;
	t->hops[t->nhops].to = to;
	t->nhops++;
	return HF_OK;
}

typedef struct offered_buf {
	char *buf;
	size_t cap, n;
} offered_buf;

static void offered_add(offered_buf *o, const char *name)
{
	if (o->n < o->cap)
		o->n += (size_t)snprintf(o->buf + o->n, o->cap - o->n, "%s%s",
		                         o->n > strlen("it offers: ") ? ", " : "", name);
}

static int offered_fn(const hf_tool_info *info, void *payload)
{
	offered_add(payload, info->name);
	return 0;
}

/* "it offers: f, g, transfer_to_x" for the unknown-tool error. */
static void offered_tools(const hf_turn *t, char *buf, size_t cap)
{
	const hf_agent *a = t->agent;
	offered_buf o = { buf, cap, 0 };
	size_t i;
	o.n = (size_t)snprintf(buf, cap, "it offers: ");
	if (a->ntools && t->opts.tools)
		hf_tools_list(t->opts.tools, a, offered_fn, &o, NULL);
	for (i = 0; i < a->nhandoffs; i++)
		offered_add(&o, a->handoffs[i]->tool_name);
	if (o.n == strlen("it offers: "))
		snprintf(buf, cap, "it offers no tools");
}

/* What call i of a reply is; *origin for a function tool. */
static int call_kind(const hf_turn *t, const hf_reply_call *c, const char **origin)
{
	*origin = NULL;
	if (handoff_target(t->agent, c->name))
		return CALL_HANDOFF;
	if (t->agent->ntools && hf_tools_offers(t->opts.tools, t->agent, c->name, origin))
		return CALL_FUNCTION;
	return CALL_UNKNOWN;
}

static int add_tool_message(hf_turn *t, const char *id, const char *text, hf_error *err)
{
	if (add_message(t, hf_msg_tool(id, text)))
		return hf_err(err, HF_ENOMEM, "out of memory");
	return HF_OK;
}

/* The tool messages answering every call of the reply, in call order
 * (function results and unknown tools), then the ignored handoffs, then
 * the first handoff, which the turn follows (HANDOFF and AGENT events). */
static int answer_calls(hf_turn *t, const hf_reply_call *calls, size_t n, const tool_slot *slots,
                        const hf_agent *target, size_t winner, hf_error *err)
{
	char *transfer;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		const char *origin;
		int kind = slots ? slots[i].kind : call_kind(t, &calls[i], &origin);
		if (kind == CALL_FUNCTION) {
			const char *text;
			bool is_error;
			hf_event ev = { .type = HF_EVENT_TOOL_RESULT, .tool_name = calls[i].name,
				        .call_id = calls[i].id };
			hf_tool_call_result(slots[i].call, &text, &is_error, &ev.tool_origin);
			ev.text = text;
			ev.text_len = strlen(text);
			ev.tool_error = is_error;
			if ((rc = emit_or_cancel(t, &ev, err)) ||
			    (rc = add_tool_message(t, calls[i].id, text, err)))
				return rc;
		} else if (kind == CALL_UNKNOWN) {
			char *msg = hf_asprintf("Tool '%s' not found.", calls[i].name);
			rc = msg ? add_tool_message(t, calls[i].id, msg, err)
			         : hf_err(err, HF_ENOMEM, "out of memory");
			free(msg);
			if (rc)
				return rc;
		}
	}
	for (i = 0; target && i < n; i++) {
		if (i != winner && handoff_target(t->agent, calls[i].name) &&
		    (rc = add_tool_message(t, calls[i].id, MULTI_HANDOFF_TEXT, err)))
			return rc;
	}
	if (!target)
		return HF_TURN_NEXT;
	transfer = transfer_message(target->name);
	rc = transfer ? add_tool_message(t, calls[winner].id, transfer, err)
	              : hf_err(err, HF_ENOMEM, "out of memory");
	free(transfer);
	if (rc)
		return rc;
	{
		hf_event ev = { .type = HF_EVENT_HANDOFF, .from = t->agent->name, .to = target->name,
			        .tool_name = calls[winner].name, .call_id = calls[winner].id };
		if ((rc = emit_or_cancel(t, &ev, err)))
			return rc;
	}
	rc = emit_agent(t, t->agent, target, err);
	t->agent = target;
	return rc ? rc : HF_TURN_NEXT;
}

/* Tool calls in a reply: answer every call, follow the first handoff;
 * function tools first run (HF_TURN_TOOLS). */
static int apply_calls(hf_turn *t, hf_reply *r, hf_error *err)
{
	const hf_agent *target = NULL;
	size_t i, winner = 0, nfn = 0;
	int rc;

	if (fill_call_ids(t, r))
		return hf_err(err, HF_ENOMEM, "out of memory");
	for (i = 0; i < r->ncalls; i++) {
		const char *origin;
		int kind = call_kind(t, &r->calls[i], &origin);
		if (kind == CALL_UNKNOWN && t->opts.tool_not_found != HF_TOOL_NOT_FOUND_TELL_MODEL) {
			char offered[512];
			offered_tools(t, offered, sizeof(offered));
			return hf_err(err, HF_ETOOL,
			              "agent '%s' called tool '%s', which it was not offered (%s)",
			              t->agent->name, r->calls[i].name, offered);
		}
		nfn += kind == CALL_FUNCTION;
		if (kind == CALL_HANDOFF && !target) {
			target = handoff_target(t->agent, r->calls[i].name);
			winner = i;
		}
	}
	if (target && (rc = take_hop(t, target, err)))
		return rc;
	if (add_message(t, hf_msg_assistant(r->content, r->calls, r->ncalls)))
		return hf_err(err, HF_ENOMEM, "out of memory");
	if (!nfn)
		return answer_calls(t, r->calls, r->ncalls, NULL, target, winner, err);
	/* Function tools: keep the calls while they run. */
	if (!(t->slots = hf_calloc(r->ncalls, sizeof(*t->slots))))
		return hf_err(err, HF_ENOMEM, "out of memory");
	for (i = 0; i < r->ncalls; i++)
		t->slots[i].kind = call_kind(t, &r->calls[i], &t->slots[i].origin);
	t->rcalls = r->calls;
	t->nrcalls = r->ncalls;
	r->calls = NULL;
	r->ncalls = 0;
	t->next_start = t->outstanding = 0;
	t->target = target;
	t->winner = winner;
	return HF_TURN_TOOLS;
}

/* The final answer `text`: MESSAGE, the commit, DONE. */
static int commit_answer(hf_turn *t, const char *text, hf_error *err)
{
	hf_event ev = { .type = HF_EVENT_MESSAGE };
	int rc;

	if (!(t->answer = hf_strdup(text)))
		return hf_err(err, HF_ENOMEM, "out of memory");
	ev.text = t->answer;
	ev.text_len = strlen(t->answer);
	if ((rc = emit_or_cancel(t, &ev, err)))
		return rc;
	if ((rc = hf_store_commit_turn(t->st, t->s, &t->turn, t->agent->name, &t->usage, err)))
		return rc;
	ev.type = HF_EVENT_DONE;
	ev.usage = t->usage;
	ev.usage_reported = t->usage_reported;
	t->finished = true;
	emit(t, &ev);
	return HF_TURN_DONE;
}

static int finish(hf_turn *t, hf_reply *r, hf_error *err)
{
	if (add_message(t, hf_msg_assistant(r->content, NULL, 0)))
		return hf_err(err, HF_ENOMEM, "out of memory");
	return commit_answer(t, r->content, err);
}

/* ---- function tools ---- */

/* Under tool_errors: fail, a failed call ends the turn. */
static int check_failed(hf_turn *t, size_t i, hf_error *err)
{
	const char *text, *origin;
	bool is_error;
	size_t skip = strlen("An error occurred while running the tool. Please try again. Error: ");
	if (!t->g->tool_errors_fail)
		return HF_OK;
	hf_tool_call_result(t->slots[i].call, &text, &is_error, &origin);
	if (!is_error)
		return HF_OK;
	if (!strncmp(text, "An error occurred while running the tool. Please try again. Error: ", skip))
		text += skip;
	/* an MCP tool is named as on stderr: server.tool (its isError text may
	 * not say which server it came from) */
	return hf_err(err, HF_ETOOLFAIL, "tool '%s%s%s' of agent '%s' failed (tool_errors: fail): %s",
	              origin ? origin : "", origin ? "." : "", t->rcalls[i].name, t->agent->name,
	              text);
}

/* A started call's end: fail the turn or go on. */
static int turn_tools_failed(hf_turn *t, int rc, hf_error *err)
{
	hf_turn_tools_cancel(t);
	hf_turn_fail(t, err);
	return rc;
}

/* Start calls in order while fewer than the concurrency limit are out. */
static int start_more(hf_turn *t, hf_error *err)
{
	size_t limit = hf_tools_concurrency(t->opts.tools);
	int rc;
	for (; t->next_start < t->nrcalls; t->next_start++) {
		size_t i = t->next_start;
		tool_slot *sl = &t->slots[i];
		const hf_reply_call *c = &t->rcalls[i];
		hf_event ev = { .type = HF_EVENT_TOOL_CALL, .tool_name = c->name, .call_id = c->id,
			        .text = c->arguments, .text_len = strlen(c->arguments),
			        .tool_origin = sl->origin };
		bool done;
		if (sl->kind != CALL_FUNCTION)
			continue;
		if (t->outstanding >= (limit ? limit : 1))
			break;
		if ((rc = emit_or_cancel(t, &ev, err)))
			return turn_tools_failed(t, rc, err);
		if ((rc = hf_tools_call(&sl->call, &done, t->opts.tools, t->agent, c,
		                        hf_session_id(t->s), t->opts.payload, t->sink, err)))
			return turn_tools_failed(t, rc, err);
		hf_tool_call_set_index(sl->call, i);
		if (!done) {
			t->outstanding++;
			continue;
		}
		sl->done = true;
		if ((rc = check_failed(t, i, err))) {
			t->next_start++;
			return turn_tools_failed(t, rc, err);
		}
	}
	return (int)t->outstanding;
}

int hf_turn_tools_start(hf_turn *t, hf_tool_sink *sink, hf_error *err)
{
	t->sink = sink;
	return start_more(t, err);
}

int hf_turn_tool_done(hf_turn *t, hf_tool_call *call, hf_error *err)
{
	size_t i = hf_tool_call_index(call);
	int rc;
	if (!t->slots || i >= t->nrcalls || t->slots[i].call != call || t->slots[i].done) {
		hf_tool_call_release(call); /* not one of this reply's (cannot happen) */
		return (int)t->outstanding;
	}
	t->slots[i].done = true;
	t->outstanding--;
	hf_tool_call_release(call); /* the sink's reference; the slot keeps the turn's */
	if ((rc = check_failed(t, i, err)))
		return turn_tools_failed(t, rc, err);
	return start_more(t, err);
}

static bool named_in(char *const *names, const char *name)
{
	for (; names && *names; names++)
		if (!strcmp(*names, name))
			return true;
	return false;
}

/* The output that ends the turn under the agent's tool_use, or NULL. */
static const char *tool_use_answer(const hf_turn *t)
{
	const hf_agent *a = t->agent;
	size_t i;
	for (i = 0; i < t->nrcalls; i++) {
		const char *text;
		if (t->slots[i].kind != CALL_FUNCTION)
			continue;
		if (a->tool_use == HF_TOOL_USE_STOP_ON_FIRST ||
		    (a->tool_use == HF_TOOL_USE_STOP_AT && named_in(a->stop_at, t->rcalls[i].name))) {
			hf_tool_call_result(t->slots[i].call, &text, NULL, NULL);
			return text;
		}
	}
	return NULL;
}

int hf_turn_tools_finish(hf_turn *t, hf_error *err)
{
	const char *final = NULL;
	int rc;
	rc = answer_calls(t, t->rcalls, t->nrcalls, t->slots, t->target, t->winner, err);
	if (rc == HF_TURN_NEXT && !t->target && (final = tool_use_answer(t)))
		rc = commit_answer(t, final, err);
	clear_tools(t);
	if (rc < 0)
		hf_turn_fail(t, err);
	return rc;
}

void hf_turn_tools_cancel(hf_turn *t)
{
	size_t i;
	for (i = 0; t->slots && i < t->nrcalls; i++)
		if (t->slots[i].call && !t->slots[i].done)
			hf_tool_call_cancel(t->slots[i].call);
	t->outstanding = 0;
	t->next_start = t->nrcalls;
}

/* A reply without text or tool call: a refusal, a token limit, … */
static int unanswered(const hf_turn *t, const hf_reply *r, hf_error *err)
{
	char who[512];
	snprintf(who, sizeof(who), "agent '%s' (model %s)", t->agent->name, t->agent->model);
	return hf_chat_reply_unanswered(r, who, err);
}

int hf_turn_apply(hf_turn *t, hf_reply *r, hf_error *err)
{
	int rc;

	r->usage.requests = 1;
	hf_usage_add(&t->usage, &r->usage);
	t->usage_reported += r->has_usage;
	{
		hf_event ev = { .type = HF_EVENT_USAGE, .usage = r->usage,
			        .usage_reported = r->has_usage };
		rc = emit_or_cancel(t, &ev, err);
	}
	if (!rc) {
		if (r->ncalls)
			rc = apply_calls(t, r, err);
		else if (!r->content && (rc = unanswered(t, r, err)))
			;
		else if (r->content)
			rc = finish(t, r, err);
		else
			rc = hf_err(err, HF_EPROTOCOL,
			            "agent '%s' (model %s) replied with neither text nor a tool call",
			            t->agent->name, t->agent->model);
	}
	hf_chat_reply_dispose(r);
	if (rc < 0)
		hf_turn_fail(t, err);
	return rc;
}

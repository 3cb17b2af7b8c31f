/*
 * msglist.h - an ordered list of chat-completions wire messages, each held
 * once: its JSON text (what is sent and stored) and, only while someone
 * needs it, its parsed form. Used by the session (the history) and by a
 * turn in progress (its new messages).
 *
 * Messages are exactly what a chat-completions endpoint accepts (system
 * messages excluded):
 *   {"role":"user","content":"..."}
 *   {"role":"assistant","content":"..."|null,"tool_calls":[...]}   (tool_calls optional)
 *   {"role":"tool","tool_call_id":"...","content":"..."}
 * Any other key, a duplicate key or a wrong type is refused.
 */
#ifndef HF_MSGLIST_H
#define HF_MSGLIST_H

#include "internal.h"

#include <cjson/cJSON.h>

typedef enum hf_role { HF_ROLE_USER = 0, HF_ROLE_ASSISTANT, HF_ROLE_TOOL } hf_role;

typedef struct hf_msg {
	char *text;   /* cJSON_PrintUnformatted of the message */
	size_t len;
	hf_role role;
	cJSON *tree;  /* the parsed form, or NULL until asked for */
} hf_msg;

typedef struct hf_msglist {
	hf_msg *v;
	size_t n, cap;
} hf_msglist;

#define HF_MSGLIST_INIT { NULL, 0, 0 }

void hf_msglist_dispose(hf_msglist *l);

/* Make room for `extra` more messages, so that the next appends and
 * hf_msglist_move of that many cannot fail. HF_ENOMEM. */
int hf_msglist_reserve(hf_msglist *l, size_t extra);

/* Append the message object m (owned from now on, even on failure; NULL
 * means its building ran out of memory), printed once. HF_ENOMEM. The
 * message is not checked here: see hf_msglist_check. */
int hf_msglist_add(hf_msglist *l, cJSON *m);

/* Decode one stored message text (json[0..len), not NUL-terminated) and
 * append it in its canonical (unformatted) form. HF_EPROTOCOL when it is
 * not a JSON object with a known role and the fields that role needs;
 * HF_ENOMEM. */
int hf_msglist_add_stored(hf_msglist *l, const char *json, size_t len, hf_error *err);

/* Check every message of l against the rules above and the size limit.
 * HF_EPROTOCOL / HF_ELIMIT naming the message ("message 2 of the turn"). */
int hf_msglist_check(const hf_msglist *l, const char *what, hf_error *err);

/* Move every message of `from` to the end of `to`, leaving `from` empty.
 * Parsed forms are dropped. Cannot fail when hf_msglist_reserve(to,
 * from->n) succeeded before. */
void hf_msglist_move(hf_msglist *to, hf_msglist *from);

static inline size_t hf_msglist_count(const hf_msglist *l)
{
	return l->n;
}

/* Text of message i (borrowed, valid until the list changes). */
static inline const char *hf_msglist_text(const hf_msglist *l, size_t i)
{
	return i < l->n ? l->v[i].text : NULL;
}

static inline hf_role hf_msglist_role(const hf_msglist *l, size_t i)
{
	return l->v[i].role;
}

/* The parsed form of message i, parsed on first use and kept with the
 * message (dropped when it moves); NULL when out of range or out of
 * memory. Not thread-safe: the list's owner uses it from one thread. */
const cJSON *hf_msglist_tree(const hf_msglist *l, size_t i);

#endif

/*
 * store.c - hf_store: the library's side of the session-store interface
 * (include/handoff/store.h). It checks arguments and session ids before an
 * implementation sees them, builds sessions from what load() reports, makes
 * sure every failure comes back as an hf_code with a message, and owns the
 * commit of a turn (store.h).
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>

struct hf_store {
	hf_store_ops ops;
	void *impl;
};

struct hf_store_loader {
	hf_session *session;
};

int hf_store_new(hf_store **out, const hf_store_ops *ops, void *impl, hf_error *err)
{
	const char *missing;
	if (!out || !ops)
		return hf_err(err, HF_EINVAL, "hf_store_new needs out and ops");
	*out = NULL;
	if (ops->version != HF_STORE_OPS_VERSION)
		return hf_err(err, HF_EINVAL,
		              "session store operations have version %u; this library supports %d",
		              ops->version, HF_STORE_OPS_VERSION);
	missing = !ops->load ? "load" : !ops->commit ? "commit" : !ops->set_agent ? "set_agent"
	        : !ops->remove ? "remove" : !ops->list ? "list" : NULL;
	if (missing)
		return hf_err(err, HF_EINVAL, "session store has no '%s' operation", missing);
	if (!(*out = hf_calloc(1, sizeof(**out))))
		return hf_err(err, HF_ENOMEM, "out of memory creating a session store");
	(*out)->ops = *ops;
	(*out)->impl = impl;
	return HF_OK;
}

void hf_store_free(hf_store *st)
{
	if (!st)
		return;
	if (st->ops.close)
		st->ops.close(st->impl);
	free(st);
}

/* Normalise what an implementation returned: a known negative hf_code and
 * a message, copied to err. */
static int result(int rc, const hf_error *got, const char *op, hf_error *err)
{
	if (rc == HF_OK)
		return HF_OK;
	if (rc > 0 || rc < HF_ECONFLICT)
		rc = HF_ESTORE;
	if (!got->message[0])
		return hf_err(err, rc, "session store: %s failed (%s)", op, hf_code_name(rc));
	return hf_err(err, rc, "%s", got->message);
}

static int need_store(const hf_store *st, const char *what, hf_error *err)
{
	return st ? HF_OK : hf_err(err, HF_EINVAL, "%s: no session store", what);
}

int hf_store_load(hf_session **out, hf_store *st, const char *id, hf_error *err)
{
	hf_store_loader ld;
	hf_error e;
	int rc;
	if (!out)
		return hf_err(err, HF_EINVAL, "hf_store_load: out is NULL");
	*out = NULL;
	if ((rc = need_store(st, "hf_store_load", err)) || (rc = hf_session_id_check(id, err)) ||
	    (rc = hf_session_new(&ld.session, id, err)))
		return rc;
	hf_err_clear(&e);
	if ((rc = result(st->ops.load(st->impl, id, &ld, &e), &e, "load", err))) {
		hf_session_free(ld.session);
		return rc;
	}
	*out = ld.session;
	return HF_OK;
}

int hf_store_open_session(hf_session **out, hf_store *st, const char *id, hf_error *err)
{
	int rc = hf_store_load(out, st, id, err);
	if (rc == HF_ENOTFOUND)
		rc = hf_session_new(out, id, err);
	return rc;
}

int hf_store_loader_set(hf_store_loader *ld, const char *agent, const hf_usage *usage,
                        hf_error *err)
{
	int rc;
	if (!ld)
		return hf_err(err, HF_EINVAL, "hf_store_loader_set: no loader");
	if (agent && (rc = hf_session_set_agent(ld->session, agent, err)))
		return rc;
	if (usage)
		hf_session_set_usage(ld->session, usage);
	return HF_OK;
}

int hf_store_loader_add(hf_store_loader *ld, const char *json, size_t len, hf_error *err)
{
	if (!ld)
		return hf_err(err, HF_EINVAL, "hf_store_loader_add: no loader");
	return hf_session_add_stored(ld->session, json, len, err);
}

/* ---- the commit of a turn ---- */

int hf_store_commit_prepare(hf_commit *c, hf_session *s, hf_msglist *turn, const char *agent,
                      const hf_usage *usage, hf_error *err)
{
	const char *holder = agent ? agent : hf_session_agent(s);
	size_t i, n;
	int rc;

	memset(c, 0, sizeof(*c));
	if (!s || !turn)
		return hf_err(err, HF_EINVAL, "a commit needs a session and a turn");
	n = hf_msglist_count(turn);
	if ((rc = hf_msglist_check(turn, "the turn", err)))
		return rc;
	if ((holder && !(c->agent = hf_strdup(holder))) ||
	    !(c->texts = hf_calloc(n ? n : 1, sizeof(*c->texts))) || hf_session_reserve(s, n)) {
		hf_commit_dispose(c);
		return hf_err(err, HF_ENOMEM, "out of memory committing a turn of session '%s'",
		              hf_session_id(s));
	}
	for (i = 0; i < n; i++)
		c->texts[i] = hf_msglist_text(turn, i);
	c->id = hf_session_id(s);
	c->expected = hf_session_message_count(s);
	if (usage)
		c->usage = *usage;
	c->turn = turn;
	return HF_OK;
}

int hf_store_commit_write(hf_store *st, const hf_commit *c, hf_error *err)
{
	hf_error e;
	int rc;
	if ((rc = need_store(st, "commit", err)) || (rc = hf_session_id_check(c->id, err)))
		return rc;
	hf_err_clear(&e);
	rc = st->ops.commit(st->impl, c->id, c->expected, c->agent, &c->usage, c->texts,
	                    hf_msglist_count(c->turn), &e);
	if (rc == HF_ECONFLICT && c->expected == 0)
		return hf_err(err, HF_ECONFLICT,
		              "session '%s' already exists in the store, but this session started "
		              "empty: it was not loaded (hf_store_open_session or hf_store_load), or its "
		              "first turn was stored elsewhere since it was opened; load it and retry",
		              c->id);
	return result(rc, &e, "commit", err);
}

void hf_store_commit_apply(hf_commit *c, hf_session *s)
{
	hf_session_apply(s, c->turn, c->agent, &c->usage);
	c->agent = NULL;
}

void hf_commit_dispose(hf_commit *c)
{
	free(c->agent);
	free(c->texts);
	memset(c, 0, sizeof(*c));
}

int hf_store_commit_turn(hf_store *st, hf_session *s, hf_msglist *turn, const char *agent,
                         const hf_usage *usage, hf_error *err)
{
	hf_commit c;
	int rc;
	if ((rc = hf_store_commit_prepare(&c, s, turn, agent, usage, err)))
		return rc;
	if (!st || (rc = hf_store_commit_write(st, &c, err)) == HF_OK)
		hf_store_commit_apply(&c, s);
	hf_commit_dispose(&c);
	return rc;
}

int hf_store_set_agent(hf_store *st, const char *id, const char *agent, hf_error *err)
{
	hf_error e;
	int rc;
	if ((rc = need_store(st, "hf_store_set_agent", err)) || (rc = hf_session_id_check(id, err)))
		return rc;
	if (!agent || !*agent)
		return hf_err(err, HF_EINVAL, "hf_store_set_agent: no agent name");
	hf_err_clear(&e);
	return result(st->ops.set_agent(st->impl, id, agent, &e), &e, "set_agent", err);
}

int hf_store_delete(hf_store *st, const char *id, hf_error *err)
{
	hf_error e;
	int rc;
	if ((rc = need_store(st, "hf_store_delete", err)) || (rc = hf_session_id_check(id, err)))
		return rc;
	hf_err_clear(&e);
	return result(st->ops.remove(st->impl, id, &e), &e, "remove", err);
}

int hf_store_list(hf_store *st, size_t limit,
                  int (*fn)(const hf_session_info *info, void *payload), void *payload,
                  hf_error *err)
{
	hf_error e;
	int rc;
	if ((rc = need_store(st, "hf_store_list", err)))
		return rc;
	if (!fn)
		return hf_err(err, HF_EINVAL, "hf_store_list: no callback");
	hf_err_clear(&e);
	return result(st->ops.list(st->impl, limit, fn, payload, &e), &e, "list", err);
}

typedef struct first_id {
	bool seen;
	char *id;
} first_id;

static int keep_first_id(const hf_session_info *info, void *payload)
{
	first_id *f = payload;
	f->seen = true;
	f->id = hf_strdup(info->id);
	return 1;
}

int hf_store_latest(char **id_out, hf_store *st, hf_error *err)
{
	first_id f = { false, NULL };
	int rc;
	if (!id_out)
		return hf_err(err, HF_EINVAL, "hf_store_latest: id_out is NULL");
	*id_out = NULL;
	if ((rc = hf_store_list(st, 1, keep_first_id, &f, err))) {
		free(f.id);
		return rc;
	}
	if (!f.seen)
		return hf_err(err, HF_ENOTFOUND, "there are no stored sessions yet");
	if (!f.id)
		return hf_err(err, HF_ENOMEM, "out of memory reading the latest session id");
	*id_out = f.id;
	return HF_OK;
}

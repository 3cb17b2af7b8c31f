/*
 * run.c - hf_run, the blocking driver of one turn: it moves HTTP bytes
 * between the turn's requests (hf_turn_request) and its replies
 * (hf_turn_apply) over the client's one reused easy handle, and holds no
 * routing rule (turn.c does).
 */
#include "turn.h"

int hf_run(char **answer, hf_client *c, const hf_graph *graph, hf_session *session,
           hf_store *store, const char *input, const hf_run_options *opts, hf_error *err)
{
	hf_turn *t = NULL;
	hf_error local;
	int rc;

	if (!err)
		err = &local;
	if (answer)
		*answer = NULL;
	if (!c)
		return hf_err(err, HF_EINVAL, "hf_run: a client is required");
	if ((rc = hf_turn_new(&t, graph, session, store, input, opts, &c->ep, err)))
		return rc;
	for (;;) {
		hf_call_spec spec;
		hf_reply reply = { 0 };

		if ((rc = hf_turn_request(t, &spec, err))) {
			hf_turn_fail(t, err);
			break;
		}
		if ((rc = hf_call_run(&reply, NULL, c->easy, &c->ep, &spec, err))) {
			hf_turn_blame(t, err);
			hf_turn_fail(t, err);
			break;
		}
		rc = hf_turn_apply(t, &reply, err);
		if (rc != HF_TURN_NEXT)
			break;
	}
	if (rc == HF_TURN_DONE && answer) { /* the turn is committed: nothing may fail now */
		*answer = hf_turn_take_answer(t);
	}
	hf_turn_free(t);
	return rc;
}

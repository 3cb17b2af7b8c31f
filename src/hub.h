/*
 * hub.h - Model Hub discovery replies (hub.c): the checks a reply body
 * passes before its JSON is handed back, apart from the HTTP exchange so
 * that the fuzz target (fuzz/fuzz_hub.c) reaches them.
 */
#ifndef HF_HUB_H
#define HF_HUB_H

#include "internal.h"

typedef enum hf_hub_reply {
	HF_HUB_LIST = 0,  /* /models, /providers: {"data":[...]} or a bare array */
	HF_HUB_DETAIL = 1 /* /modelDetail: {"data":{...}} or the object itself */
} hf_hub_reply;

/* Check a discovery reply body (UTF-8, one JSON value) and put in *json_out
 * (owned, hf_free) the part handed to the caller, re-serialised: the list,
 * or the detail object. `where` names the reply in messages (its URL).
 * HF_EPROTOCOL says what is wrong; HF_ENOMEM. */
int hf_hub_decode(char **json_out, const char *body, size_t len, hf_hub_reply kind,
                  const char *where, hf_error *err);

#endif

/*
 * list.h - an intrusive doubly linked list: the element embeds an hf_link
 * (one per list it can be in at once) and the list only links them, so
 * adding and removing never allocate and take O(1). HF_CONTAINER turns a
 * link back into its element. A zeroed hf_list is empty.
 */
#ifndef HF_LIST_H
#define HF_LIST_H

#include <stddef.h>

typedef struct hf_link {
	struct hf_link *prev, *next;
} hf_link;

typedef struct hf_list {
	hf_link *head, *tail;
	size_t n;
} hf_list;

/* The element of type `type` whose member `member` is the link `k`. */
#define HF_CONTAINER(k, type, member) ((type *)(void *)((char *)(k) - offsetof(type, member)))

/* Append k (in no list) at the end of l. */
static inline void hf_list_push(hf_list *l, hf_link *k)
{
	k->prev = l->tail;
	k->next = NULL;
	if (l->tail)
		l->tail->next = k;
	else
		l->head = k;
	l->tail = k;
	l->n++;
}

/* Take k out of l, which holds it. */
static inline void hf_list_remove(hf_list *l, hf_link *k)
{
	if (k->prev)
		k->prev->next = k->next;
	else
		l->head = k->next;
	if (k->next)
		k->next->prev = k->prev;
	else
		l->tail = k->prev;
	k->prev = k->next = NULL;
	l->n--;
}

/* Move every link of src, in order, to the end of dst; src is left empty. */
static inline void hf_list_splice(hf_list *dst, hf_list *src)
{
	if (!src->head)
		return;
	if (dst->tail) {
		dst->tail->next = src->head;
		src->head->prev = dst->tail;
	} else {
		dst->head = src->head;
	}
	dst->tail = src->tail;
	dst->n += src->n;
	src->head = src->tail = NULL;
	src->n = 0;
}

#endif

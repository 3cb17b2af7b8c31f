/*
 * heap.c - see heap.h. The usual array layout: the children of slot i are
 * 2i+1 and 2i+2; each node knows its slot, so any node can be removed.
 */
#include "heap.h"
#include "internal.h"

#include <stdbool.h>
#include <stdlib.h>

static bool before(const hf_heap_node *a, const hf_heap_node *b)
{
	return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

static void place(hf_heap *h, size_t i, hf_heap_node *x)
{
	h->v[i] = x;
	x->index = i;
}

/* Move x, meant for slot i, towards the root to where it belongs. */
static void sift_up(hf_heap *h, size_t i, hf_heap_node *x)
{
	while (i > 0 && before(x, h->v[(i - 1) / 2])) {
		place(h, i, h->v[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	place(h, i, x);
}

/* Move x, meant for slot i, towards the leaves to where it belongs. */
static void sift_down(hf_heap *h, size_t i, hf_heap_node *x)
{
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && before(h->v[c + 1], h->v[c]))
			c++;
		if (!before(h->v[c], x))
			break;
		place(h, i, h->v[c]);
		i = c;
	}
	place(h, i, x);
}

int hf_heap_reserve(hf_heap *h, size_t n)
{
	size_t cap = h->cap ? h->cap : 16;
	hf_heap_node **v;
	if (n <= h->cap)
		return 0;
	while (cap < n)
		cap *= 2;
	if (!(v = hf_realloc(h->v, cap * sizeof(*v))))
		return -1;
	h->v = v;
	h->cap = cap;
	return 0;
}

void hf_heap_push(hf_heap *h, hf_heap_node *x)
{
	x->seq = h->pushes++;
	sift_up(h, h->n++, x);
}

void hf_heap_remove(hf_heap *h, hf_heap_node *x)
{
	size_t i = x->index;
	hf_heap_node *last = h->v[--h->n];
	if (last == x)
		return;
	/* The last node fills the hole, then moves up or down. */
	if (i > 0 && before(last, h->v[(i - 1) / 2]))
		sift_up(h, i, last);
	else
		sift_down(h, i, last);
}

void hf_heap_dispose(hf_heap *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

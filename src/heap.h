/*
 * heap.h - a binary min-heap of intrusive nodes ordered by a deadline: the
 * earliest in O(1), insertion and removal of any node in O(log n). Nodes
 * with equal keys come out in the order they went in. The array of node
 * pointers is the only allocation, made ahead by hf_heap_reserve, so that
 * hf_heap_push cannot fail.
 */
#ifndef HF_HEAP_H
#define HF_HEAP_H

#include <stddef.h>
#include <stdint.h>

/* Embedded in the element; HF_CONTAINER (list.h) finds the element. */
typedef struct hf_heap_node {
	long long key;     /* smallest first */
	uint64_t seq;      /* insertion order, among equal keys */
	size_t index;      /* where it sits in the heap (kept by the heap) */
} hf_heap_node;

typedef struct hf_heap {
	hf_heap_node **v;
	size_t n, cap;
	uint64_t pushes;
} hf_heap;                 /* zeroed: empty */

/* Make room for n nodes in all. Returns 0, or -1 when out of memory (the
 * heap is unchanged). */
int hf_heap_reserve(hf_heap *h, size_t n);

/* Insert x (in no heap; x->key set); room must have been reserved. */
void hf_heap_push(hf_heap *h, hf_heap_node *x);

/* The node with the smallest key, or NULL when empty. */
static inline hf_heap_node *hf_heap_top(const hf_heap *h)
{
	return h->n ? h->v[0] : NULL;
}

/* Take x, which h holds, out of h. */
void hf_heap_remove(hf_heap *h, hf_heap_node *x);

/* Free the array (the nodes belong to their elements). */
void hf_heap_dispose(hf_heap *h);

#endif

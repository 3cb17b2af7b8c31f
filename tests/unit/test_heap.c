/*
 * test_heap.c - the binary heap behind the engine's retry wait
 * (src/heap.c) and the intrusive list (src/list.h): earliest first, equal
 * keys in insertion order, removal of any node, against a plain array
 * searched by brute force.
 */
#include "support.h"

#include "heap.h"
#include "list.h"

#include <stdlib.h>

#define N 500

typedef struct item {
	int id;
	bool in;
	hf_heap_node node;
	hf_link link;
} item;

/* The item the heap must give next: smallest key, then earliest push. */
static item *expected_top(item *items, size_t n)
{
	item *best = NULL;
	size_t i;
	for (i = 0; i < n; i++)
		if (items[i].in && (!best || items[i].node.key < best->node.key ||
		                    (items[i].node.key == best->node.key &&
		                     items[i].node.seq < best->node.seq)))
			best = &items[i];
	return best;
}

static void test_heap_against_brute_force(void **state)
{
	static item items[N];
	hf_heap h = { 0 };
	unsigned seed = 12345;
	size_t i, in = 0, round;
	(void)state;

	assert_null(hf_heap_top(&h));
	assert_int_equal(hf_heap_reserve(&h, N), 0);
	for (i = 0; i < N; i++)
		items[i].id = (int)i;
	for (round = 0; round < 20000; round++) {
		item *it = &items[rand_r(&seed) % N], *top;
		if (!it->in) {
			it->node.key = rand_r(&seed) % 50; /* many equal keys */
			hf_heap_push(&h, &it->node);
			it->in = true;
			in++;
		} else if (rand_r(&seed) % 2) {
			hf_heap_remove(&h, &it->node);
			it->in = false;
			in--;
		} else if ((top = expected_top(items, N))) {
			/* Pop the earliest. */
			assert_ptr_equal(hf_heap_top(&h), &top->node);
			hf_heap_remove(&h, &top->node);
			top->in = false;
			in--;
		}
		assert_int_equal(h.n, in);
		top = expected_top(items, N);
		assert_ptr_equal(hf_heap_top(&h), top ? &top->node : NULL);
	}
	/* Drain in order. */
	while (hf_heap_top(&h)) {
		item *top = expected_top(items, N);
		assert_ptr_equal(HF_CONTAINER(hf_heap_top(&h), item, node), top);
		hf_heap_remove(&h, hf_heap_top(&h));
		top->in = false;
	}
	assert_null(expected_top(items, N));
	hf_heap_dispose(&h);
}

static void test_heap_equal_keys_in_order(void **state)
{
	item items[8];
	hf_heap h = { 0 };
	size_t i;
	(void)state;

	assert_int_equal(hf_heap_reserve(&h, 2), 0);
	assert_int_equal(hf_heap_reserve(&h, 8), 0); /* grows */
	for (i = 0; i < 8; i++) {
		items[i].node.key = i % 2 ? 5 : 7;
		hf_heap_push(&h, &items[i].node);
	}
	for (i = 1; i < 8; i += 2) {
		assert_ptr_equal(hf_heap_top(&h), &items[i].node);
		hf_heap_remove(&h, &items[i].node);
	}
	for (i = 0; i < 8; i += 2) {
		assert_ptr_equal(hf_heap_top(&h), &items[i].node);
		hf_heap_remove(&h, &items[i].node);
	}
	assert_null(hf_heap_top(&h));
	hf_heap_dispose(&h);
}

static void test_list(void **state)
{
	item items[4];
	hf_list a = { 0 }, b = { 0 };
	hf_link *k;
	int want[] = { 1, 3, 0 }, i;
	(void)state;

	for (i = 0; i < 4; i++) {
		items[i].id = i;
		hf_list_push(i < 2 ? &a : &b, &items[i].link);
	}
	hf_list_remove(&a, &items[0].link);  /* head */
	hf_list_remove(&b, &items[2].link);  /* head, b = { 3 } */
	hf_list_splice(&a, &b);              /* a = { 1, 3 } */
	hf_list_push(&a, &items[0].link);    /* a = { 1, 3, 0 } */
	assert_int_equal(a.n, 3);
	assert_int_equal(b.n, 0);
	assert_null(b.head);
	for (i = 0, k = a.head; k; k = k->next, i++)
		assert_int_equal(HF_CONTAINER(k, item, link)->id, want[i]);
	assert_int_equal(i, 3);
	assert_ptr_equal(a.tail, &items[0].link);
	hf_list_remove(&a, &items[3].link);  /* middle */
	hf_list_remove(&a, &items[0].link);  /* tail */
	assert_ptr_equal(a.head, &items[1].link);
	assert_ptr_equal(a.tail, &items[1].link);
	hf_list_remove(&a, &items[1].link);
	assert_null(a.head);
	assert_null(a.tail);
	assert_int_equal(a.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_against_brute_force),
		cmocka_unit_test(test_heap_equal_keys_in_order),
		cmocka_unit_test(test_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

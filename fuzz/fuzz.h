/*
 * fuzz.h - shared by the fuzz targets: the libFuzzer entry point and a
 * check that stops the process (a finding) when an invariant breaks.
 */
#ifndef HF_FUZZ_H
#define HF_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test: abort (libFuzzer saves the input). */
#define FUZZ_CHECK(cond)                                                              \
	do {                                                                              \
		if (!(cond)) {                                                                \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                  \
		}                                                                             \
	} while (0)

/* A small deterministic generator for input-derived choices (splits). */
static inline uint64_t fuzz_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	while (n--)
		h = (h ^ *p++) * 1099511628211ULL;
	return h;
}

static inline uint64_t fuzz_next(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

#endif

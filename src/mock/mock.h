/*
 * mock.h - `handoff mock` inside the tree: the public test-helper API
 * (include/handoff/mock.h, installed as libhandoff-mock) with the library's
 * internal helpers. The CLI's handoff-mock, the tests and the benchmarks
 * link the same sources as a static library.
 */
#ifndef HF_MOCK_H
#define HF_MOCK_H

#include "internal.h"

#include "handoff/mock.h"

#endif

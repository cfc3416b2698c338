/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's kselftest_harness.h (extracted at build time into
 * $(BUILD)/kselftest/), minus its -Wextra complaints: an unused
 * parameter of its own signal handler, and -Wclobbered (below).  Use TEST_F (not TEST, whose
 * expansion has an unused parameter too).
 */
#ifndef COWDUP_KSFT_HARNESS_H
#define COWDUP_KSFT_HARNESS_H
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
/*
 * TEST_F's wrapper keeps a local across the harness's own setjmp; gcc may
 * warn that it "might be clobbered" depending on how it inlines.  No test
 * code here uses setjmp, so the warning can only be about the harness.
 */
#pragma GCC diagnostic ignored "-Wclobbered"
#endif

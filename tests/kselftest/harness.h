/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's kselftest_harness.h (extracted at build time into
 * $(BUILD)/kselftest/), minus its one -Wextra complaint: an unused
 * parameter of its own signal handler.  Use TEST_F (not TEST, whose
 * expansion has an unused parameter too).
 */
#ifndef COWDUP_KSFT_HARNESS_H
#define COWDUP_KSFT_HARNESS_H
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#endif

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * uapi/linux/cowdup.h alone, compiled (by `make uapi-check`, part of
 * `tests`) with -std=c99 -Wall -Wextra -pedantic -Wpadded -Werror and only
 * -I uapi: compiling at all proves the header is self-contained,
 * pedantic-clean and free of padding holes, and the struct sizes are checked
 * against COWDUP_*_SIZE_VER0 at compile time.
 *
 * Nothing else may be included here: -Wpadded would also fire on libc's own
 * structs (and GCC reports those at the wrong place).
 */
#include <linux/cowdup.h>

#define offsetof(type, field) __builtin_offsetof(type, field)

/* _Static_assert is C11; __extension__ keeps -std=c99 -pedantic quiet. */
#define STATIC_ASSERT(cond) __extension__ _Static_assert(cond, #cond)

STATIC_ASSERT(sizeof(struct cowdup_info) == COWDUP_INFO_SIZE_VER0);
STATIC_ASSERT(sizeof(struct cowdup_dup_args) == COWDUP_DUP_SIZE_VER0);
STATIC_ASSERT(sizeof(struct cowdup_query_args) == COWDUP_QUERY_SIZE_VER0);
STATIC_ASSERT(offsetof(struct cowdup_info, size) == 0);
STATIC_ASSERT(offsetof(struct cowdup_dup_args, size) == 0);
STATIC_ASSERT(offsetof(struct cowdup_query_args, size) == 0);
STATIC_ASSERT(_IOC_SIZE(COWDUP_IOC_INFO) == COWDUP_INFO_SIZE_VER0);
STATIC_ASSERT(_IOC_SIZE(COWDUP_IOC_DUP) == COWDUP_DUP_SIZE_VER0);
STATIC_ASSERT(_IOC_SIZE(COWDUP_IOC_QUERY) == COWDUP_QUERY_SIZE_VER0);
STATIC_ASSERT((COWDUP_FIXED & COWDUP_FIXED_NOREPLACE) == 0);
STATIC_ASSERT((COWDUP_PAGE_SWAP & ~COWDUP_PAGE_STATE_MASK) == 0);
STATIC_ASSERT((COWDUP_PAGE_HUGE & COWDUP_PAGE_STATE_MASK) == 0);

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * <cowdup.h> is self-contained: compiled (not run) as C99 -pedantic and, when
 * a C++ compiler is around, as C++, each time with -Werror and nothing but
 * the installed include layout (-I lib -I uapi).
 */
#include <cowdup.h>

#ifdef __cplusplus
#define COWDUP_STATIC_ASSERT(c) static_assert(c, #c)
#else
#define COWDUP_STATIC_ASSERT(c) __extension__ _Static_assert(c, #c)
#endif

COWDUP_STATIC_ASSERT(sizeof(struct cowdup_stat) == 6 * 8);

/* The prototypes are exactly the contract's (a mismatch does not compile). */
void *(*const check_cowdup)(void *, size_t, void *, unsigned int) = cowdup;
int (*const check_restore)(void *, const void *, size_t) = cowdup_restore;
int (*const check_pagestate)(const void *, size_t, unsigned char *) =
	cowdup_pagestate;
int (*const check_stat)(const void *, size_t, struct cowdup_stat *) =
	cowdup_stat;
int (*const check_info)(struct cowdup_info *) = cowdup_info;
int (*const check_available)(void) = cowdup_available;

void *check_map_failed(void);
void *check_map_failed(void)
{
	return MAP_FAILED;
}

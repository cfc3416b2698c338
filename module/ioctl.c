// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl dispatch with the extensible-struct size rules of the contract:
 * every argument struct starts with its own __u64 size; sizes from the
 * first published version up are accepted, unknown trailing bytes must be
 * zero (E2BIG otherwise), more than a page is E2BIG, less than the first
 * version is EINVAL, and output is written only up to the caller's size.
 */
#include <linux/build_bug.h>
#include <linux/fs.h>
#include <linux/uaccess.h>
#include <linux/mm.h>
#include "cowdup.h"

union cowdup_args {
	struct cowdup_info info;
	struct cowdup_dup_args dup;
	struct cowdup_query_args query;
};

struct cowdup_cmd {
	unsigned int cmd;
	size_t min_size;	/* first published size */
	size_t size;		/* size this module knows */
	int (*handler)(union cowdup_args *args);
	/*
	 * A success whose output could not be written back: undo it and
	 * return true (the call fails with EFAULT), or return false when the
	 * caller's struct already holds the output (the success stands).
	 * NULL: the command changed nothing, EFAULT.
	 */
	bool (*undo)(union cowdup_args *args);
};

static int cowdup_do_info(union cowdup_args *args)
{
	args->info.api_version = COWDUP_API_VERSION;
	args->info.dup_flags = COWDUP_SUPPORTED_DUP_FLAGS;
	args->info.features = COWDUP_SUPPORTED_FEATURES;
	return 0;
}

static int cowdup_do_dup(union cowdup_args *args)
{
	return cowdup_dup(&args->dup);
}

/*
 * The caller never learnt where an automatically placed copy went: unmap
 * it rather than leak it.  A copy at an exact address is done: its only
 * output, dst, is the caller's own input, already in the struct (and what
 * it replaced is gone anyway), so the call succeeds.
 */
static bool cowdup_undo_dup(union cowdup_args *args)
{
	if (args->dup.flags & (COWDUP_FIXED | COWDUP_FIXED_NOREPLACE))
		return false;
	vm_munmap(args->dup.dst, PAGE_ALIGN(args->dup.len));
	return true;
}

static int cowdup_do_query(union cowdup_args *args)
{
	return cowdup_query(&args->query);
}

static const struct cowdup_cmd cowdup_cmds[] = {
	{ COWDUP_IOC_INFO, COWDUP_INFO_SIZE_VER0,
	  sizeof(struct cowdup_info), cowdup_do_info, NULL },
	{ COWDUP_IOC_DUP, COWDUP_DUP_SIZE_VER0,
	  sizeof(struct cowdup_dup_args), cowdup_do_dup, cowdup_undo_dup },
	{ COWDUP_IOC_QUERY, COWDUP_QUERY_SIZE_VER0,
	  sizeof(struct cowdup_query_args), cowdup_do_query, NULL },
};

static void cowdup_abi_checks(void)
{
	BUILD_BUG_ON(sizeof(struct cowdup_info) != COWDUP_INFO_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct cowdup_dup_args) != COWDUP_DUP_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct cowdup_query_args) != COWDUP_QUERY_SIZE_VER0);
	BUILD_BUG_ON(sizeof(union cowdup_args) > PAGE_SIZE);
}

long cowdup_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	const struct cowdup_cmd *c = NULL;
	union cowdup_args args;
	u64 usize;
	size_t i;
	int err;

	cowdup_abi_checks();
	for (i = 0; i < ARRAY_SIZE(cowdup_cmds); i++) {
		if (cowdup_cmds[i].cmd == cmd) {
			c = &cowdup_cmds[i];
			break;
		}
	}
	if (!c)
		return -ENOTTY;

	if (get_user(usize, (u64 __user *)uarg))
		return -EFAULT;
	if (usize < c->min_size)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	/*
	 * Fail before acting if the output cannot be written back: the
	 * caller's own bytes are read and written back unchanged first, which
	 * finds a read-only page anywhere in the struct (a DUP must not
	 * succeed and then report EFAULT).  Then the size rules.
	 */
	memset(&args, 0, sizeof(args));
	if (copy_from_user(&args, uarg, min_t(u64, usize, c->size)) ||
	    copy_to_user(uarg, &args, min_t(u64, usize, c->size)))
		return -EFAULT;
	err = copy_struct_from_user(&args, c->size, uarg, usize);
	if (err)
		return err;

	err = c->handler(&args);
	if (err)
		return err;

	/*
	 * The caller's size field stays as it was: it is input only.  This
	 * write was tried above; it fails only if another thread changed the
	 * page meanwhile (or under fault injection).
	 */
	if (copy_to_user(uarg, &args, min_t(u64, usize, c->size)) &&
	    (!c->undo || c->undo(&args)))
		return -EFAULT;
	return 0;
}

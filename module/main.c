// SPDX-License-Identifier: GPL-2.0
/*
 * cowdup: copy-on-write duplication of a range of the caller's own memory.
 *
 * Module entry: resolves the kernel symbols it needs, then registers the
 * misc device /dev/cowdup.  The open file holds no state; every ioctl acts
 * on current->mm, and memory it makes outlives the file and the module.
 */
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include "cowdup.h"
#include "ksyms.h"

static const struct file_operations cowdup_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= cowdup_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice cowdup_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= COWDUP_DEVICE_NAME,
	.fops	= &cowdup_fops,
	/* Anyone may duplicate their own memory: no privilege is involved. */
	.mode	= 0666,
};

static int __init cowdup_init(void)
{
	int err;

	err = cowdup_ksyms_resolve();
	if (err)
		return err;
	err = misc_register(&cowdup_misc);
	if (err) {
		pr_err("cowdup: not loading: cannot register /dev/%s (%d)\n",
		       COWDUP_DEVICE_NAME, err);
		return err;
	}
	pr_info("cowdup: ready, api %d, /dev/%s\n", COWDUP_API_VERSION,
		COWDUP_DEVICE_NAME);
	return 0;
}

static void __exit cowdup_exit(void)
{
	misc_deregister(&cowdup_misc);
	pr_info("cowdup: unloaded\n");
}

module_init(cowdup_init);
module_exit(cowdup_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Copy-on-write duplication of a range of a process's own memory");
MODULE_AUTHOR("cowdup developers");

// SPDX-License-Identifier: GPL-2.0
/*
 * Resolve the unexported kernel symbols listed in ksyms.h, once, at load.
 *
 * kallsyms_lookup_name() itself is not exported; a kprobe registered on it
 * reports its address.  Before any resolved function is called through a
 * pointer, its first bytes are checked against IBT sealing: on a CPU that
 * enforces IBT such a call would fault, so the module refuses to load.
 */
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/string.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include "ksyms.h"
#include "ibt_entry.h"

struct cowdup_ksyms cowdup_ksyms __ro_after_init;

typedef unsigned long (*kallsyms_lookup_name_t)(const char *name);

/* True when this CPU faults on indirect branches to code without ENDBR64. */
static bool ibt_enforced(void)
{
#ifdef X86_FEATURE_IBT
	u64 s_cet = 0;

	if (!cpu_feature_enabled(X86_FEATURE_IBT))
		return false;
	if (rdmsrl_safe(MSR_IA32_S_CET, &s_cet))
		return false;
	return s_cet & CET_ENDBR_EN;
#else
	return false;
#endif
}

static int check_callable(const char *name, unsigned long addr, bool enforced)
{
	unsigned char entry[4];

	memcpy(entry, (void *)addr, sizeof(entry));
	if (cowdup_entry_callable(entry, enforced))
		return 0;
	pr_err("cowdup: not loading: %s is sealed against indirect calls and this CPU enforces IBT; boot with ibt=off to use cowdup\n",
	       name);
	return -EPERM;
}

static unsigned long find_kallsyms_lookup_name(void)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	unsigned char before[4];
	unsigned long addr;

	if (register_kprobe(&kp) < 0)
		return 0;
	addr = (unsigned long)kp.addr;
	unregister_kprobe(&kp);
	if (!addr)
		return 0;
	/* The kprobe sits after an ENDBR64 (or its sealed NOP): step back. */
	memcpy(before, (void *)(addr - 4), sizeof(before));
	return addr - cowdup_entry_prefix_len(before);
}

int __init cowdup_ksyms_resolve(void)
{
	bool enforced = ibt_enforced();
	kallsyms_lookup_name_t lookup;
	unsigned long addr;
	int err;

	addr = find_kallsyms_lookup_name();
	if (!addr) {
		pr_err("cowdup: not loading: kernel symbol kallsyms_lookup_name not found (needs CONFIG_KPROBES and CONFIG_KALLSYMS)\n");
		return -ENOENT;
	}
	err = check_callable("kallsyms_lookup_name", addr, enforced);
	if (err)
		return err;
	lookup = (kallsyms_lookup_name_t)addr;

#define COWDUP_RESOLVE(name, type, is_func)				\
	do {								\
		addr = lookup(#name);					\
		if (!addr) {						\
			pr_err("cowdup: not loading: kernel symbol %s not found\n", \
			       #name);					\
			return -ENOENT;					\
		}							\
		if (is_func) {						\
			err = check_callable(#name, addr, enforced);	\
			if (err)					\
				return err;				\
		}							\
		cowdup_ksyms.name = (type)addr;				\
	} while (0);
#define COWDUP_RESOLVE_FUNC(name, type) COWDUP_RESOLVE(name, type, true)
#define COWDUP_RESOLVE_DATA(name, type) COWDUP_RESOLVE(name, type, false)
	COWDUP_KSYM_FUNCS(COWDUP_RESOLVE_FUNC)
	COWDUP_KSYM_DATA(COWDUP_RESOLVE_DATA)
#undef COWDUP_RESOLVE_DATA
#undef COWDUP_RESOLVE_FUNC
#undef COWDUP_RESOLVE
	return 0;
}

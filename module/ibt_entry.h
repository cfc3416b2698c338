/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Classify the first bytes of a kernel function for IBT.
 *
 * With CONFIG_X86_KERNEL_IBT the kernel starts every indirectly callable
 * function with ENDBR64 and, at boot, overwrites ("seals") the ENDBR64 of
 * functions whose address is never taken with a 4-byte NOP.  On a CPU that
 * enforces IBT an indirect call to a sealed function raises a
 * control-protection fault, so cowdup must not call such a function through
 * a pointer there.  This header has no kernel dependencies so the same code
 * is unit-tested in user space on recorded instruction bytes.
 */
#ifndef COWDUP_IBT_ENTRY_H
#define COWDUP_IBT_ENTRY_H

enum cowdup_entry_kind {
	COWDUP_ENTRY_ENDBR,	/* f3 0f 1e fa: endbr64, callable indirectly */
	COWDUP_ENTRY_SEALED,	/* 66 0f 1f 00: endbr64 replaced by nopl (%rax) */
	COWDUP_ENTRY_PLAIN,	/* anything else: kernel built without IBT */
};

static inline enum cowdup_entry_kind
cowdup_classify_entry(const unsigned char b[4])
{
	if (b[0] == 0xf3 && b[1] == 0x0f && b[2] == 0x1e && b[3] == 0xfa)
		return COWDUP_ENTRY_ENDBR;
	if (b[0] == 0x66 && b[1] == 0x0f && b[2] == 0x1f && b[3] == 0x00)
		return COWDUP_ENTRY_SEALED;
	return COWDUP_ENTRY_PLAIN;
}

/*
 * May a function starting with @b be called through a pointer?
 * @ibt_enforced: the CPU checks ENDBR on indirect branches in the kernel.
 * A plain entry under enforcement is refused too: the kernel was built
 * with IBT, so a missing ENDBR64 means the call would fault.
 */
static inline int cowdup_entry_callable(const unsigned char b[4],
					int ibt_enforced)
{
	return !ibt_enforced ||
	       cowdup_classify_entry(b) == COWDUP_ENTRY_ENDBR;
}

/*
 * A kprobe on a function that starts with ENDBR64 (or its sealed NOP)
 * reports the address after it; return how far to step back to reach the
 * real entry, given the 4 bytes just before the reported address.
 */
static inline unsigned int cowdup_entry_prefix_len(const unsigned char before[4])
{
	return cowdup_classify_entry(before) == COWDUP_ENTRY_PLAIN ? 0 : 4;
}

#endif /* COWDUP_IBT_ENTRY_H */

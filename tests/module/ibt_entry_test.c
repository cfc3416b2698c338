// SPDX-License-Identifier: GPL-2.0
/*
 * Host test of the module's IBT decision (module/ibt_entry.h) on function
 * entry bytes recorded from Debian's kernels booted under QEMU: 6.1 is
 * built without IBT (entries start with the 5-byte fentry NOP), 6.12 with
 * IBT, where the boot-time sealing replaced the ENDBR64 of never
 * address-taken functions (kallsyms_lookup_name, copy_vma, ...) by a NOP
 * while exported, address-taken ones (misc_register) keep it.
 */
#include "harness.h"
#include "ibt_entry.h"

/* Recorded with /proc/kcore in the guest, first 8 bytes of each function. */
static const unsigned char k61_kallsyms_lookup_name[8] = { 0x0f, 0x1f, 0x44, 0x00, 0x00, 0x53, 0x48, 0x83 };
static const unsigned char k61_copy_vma[8] = { 0x0f, 0x1f, 0x44, 0x00, 0x00, 0x41, 0x57, 0x45 };
static const unsigned char k612_kallsyms_lookup_name[8] = { 0x66, 0x0f, 0x1f, 0x00, 0x0f, 0x1f, 0x44, 0x00 };
static const unsigned char k612_copy_vma[8] = { 0x66, 0x0f, 0x1f, 0x00, 0x0f, 0x1f, 0x44, 0x00 };
static const unsigned char k612_misc_register[8] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x0f, 0x1f, 0x44, 0x00 };
/* Padding before a function on 6.1: int3 / nop filler. */
static const unsigned char k61_padding[4] = { 0xcc, 0xcc, 0xcc, 0xcc };
static const unsigned char nop_padding[4] = { 0x90, 0x90, 0x90, 0x90 };

TEST(classify_recorded_entries)
{
	EXPECT_EQ((int)COWDUP_ENTRY_PLAIN, (int)cowdup_classify_entry(k61_kallsyms_lookup_name));
	EXPECT_EQ((int)COWDUP_ENTRY_PLAIN, (int)cowdup_classify_entry(k61_copy_vma));
	EXPECT_EQ((int)COWDUP_ENTRY_SEALED, (int)cowdup_classify_entry(k612_kallsyms_lookup_name));
	EXPECT_EQ((int)COWDUP_ENTRY_SEALED, (int)cowdup_classify_entry(k612_copy_vma));
	EXPECT_EQ((int)COWDUP_ENTRY_ENDBR, (int)cowdup_classify_entry(k612_misc_register));
}

/* Without enforcement (TCG, ibt=off, CPUs without IBT) every entry works. */
TEST(callable_without_enforcement)
{
	EXPECT_TRUE(cowdup_entry_callable(k61_copy_vma, 0));
	EXPECT_TRUE(cowdup_entry_callable(k612_copy_vma, 0));
	EXPECT_TRUE(cowdup_entry_callable(k612_kallsyms_lookup_name, 0));
	EXPECT_TRUE(cowdup_entry_callable(k612_misc_register, 0));
}

/* With enforcement only an ENDBR64 entry may be called through a pointer:
 * the sealed ones would raise a control-protection fault, so the module
 * refuses to load instead. */
TEST(refused_under_enforcement)
{
	EXPECT_FALSE(cowdup_entry_callable(k612_kallsyms_lookup_name, 1));
	EXPECT_FALSE(cowdup_entry_callable(k612_copy_vma, 1));
	EXPECT_FALSE(cowdup_entry_callable(k61_copy_vma, 1));
	EXPECT_TRUE(cowdup_entry_callable(k612_misc_register, 1));
}

/* A kprobe on kallsyms_lookup_name reports the address after ENDBR64 or
 * its sealed NOP on 6.12 and the entry itself on 6.1. */
TEST(kprobe_address_step_back)
{
	EXPECT_EQ(4U, cowdup_entry_prefix_len(k612_kallsyms_lookup_name));
	EXPECT_EQ(4U, cowdup_entry_prefix_len(k612_misc_register));
	EXPECT_EQ(0U, cowdup_entry_prefix_len(k61_padding));
	EXPECT_EQ(0U, cowdup_entry_prefix_len(nop_padding));
}

TEST_HARNESS_MAIN

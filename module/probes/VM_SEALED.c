// SPDX-License-Identifier: GPL-2.0
/* Probe: VM_SEALED, mseal() (6.10) */
#include <linux/mm.h>
unsigned long probe = VM_SEALED;

# SPDX-License-Identifier: LGPL-2.1-or-later
# examples/examples.mk: the example programs, $(BUILD)/examples/NAME, one per
# examples/NAME.c, linked statically against libcowdup.a so they also run
# in the test VM's busybox initramfs.  Included by tests/examples/tests.mk
# (so `make tests` builds them and the VM runs them, see there).
#
#   make examples        build every example
#
# Each prints a short report and exits 0 when its own checks passed, 1 when
# one failed, 4 when /dev/cowdup is not there:
#   kvsnap     snapshot a key-value store's heap to a file under writes,
#              with cowdup and with fork(), writer latency next to each other
#   fuzzloop   restore a state region after each iteration: cowdup_restore()
#              next to memcpy()
#   views      a second view of shared memory under running threads; move a
#              region keeping the old range mapped (MREMAP_DONTUNMAP);
#              punch holes in a copy with MADV_DONTNEED

EXAMPLES_SRC   := $(SRCDIR)/examples
EXAMPLES_DIR   := $(BUILD)/examples
EXAMPLES_NAMES := $(basename $(notdir $(wildcard $(EXAMPLES_SRC)/*.c)))
EXAMPLES_BINS  := $(addprefix $(EXAMPLES_DIR)/,$(EXAMPLES_NAMES))
EXAMPLES_Q     := $(if $(filter 1,$(V)),,@)

.PHONY: examples
examples: $(EXAMPLES_BINS)

$(EXAMPLES_DIR)/%: $(EXAMPLES_SRC)/%.c $(LIB_A) $(LIB_HDRS) $(EXAMPLES_SRC)/examples.mk
	@mkdir -p $(@D)
	$(if $(EXAMPLES_Q),@echo "  CCLD    $@")
	$(EXAMPLES_Q)$(CC) $(USER_CFLAGS) -Werror -pthread -static -o $@ $< $(LIB_A)

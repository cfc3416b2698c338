# SPDX-License-Identifier: GPL-2.0
# Host tests of module code that has no kernel dependencies (run by
# scripts/check on the host, from $(BUILD)/tests/host/).
# -Wno-unused-parameter: the harness's TEST() expands to one.
MODTEST_BINS := $(BUILD)/tests/host/module-ibt-entry

.PHONY: host-tests
host-tests: $(MODTEST_BINS)
tests: $(MODTEST_BINS)

$(BUILD)/tests/host/module-ibt-entry: $(SRCDIR)/tests/module/ibt_entry_test.c \
		$(SRCDIR)/module/ibt_entry.h $(KSFT_HDR_STAMP)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -I$(KSFT_OBJ_DIR) -I$(KSFT_SRC_DIR) -I$(SRCDIR)/module \
		-Wno-unused-parameter -o $@ $<

# SPDX-License-Identifier: GPL-2.0
#
# kselftest programs: TAP output through the kernel's own kselftest harness,
# run inside the VM from /cowdup/tests/.  The harness headers are taken at
# build time from Debian's linux-source-6.12 tarball, never kept in the tree.
#
#   make tests                 builds them into $(BUILD)/tests/bin/
#   KSFT_LINUX_SRC=...         another linux-source tarball (.tar.xz)

KSFT_LINUX_SRC  ?= /usr/src/linux-source-6.12.tar.xz
KSFT_SRC_DIR    := $(SRCDIR)/tests/kselftest
KSFT_OBJ_DIR    := $(BUILD)/kselftest
KSFT_BIN_DIR    := $(BUILD)/tests/bin
KSFT_HDR_STAMP  := $(KSFT_OBJ_DIR)/.headers
KSFT_HDR_MEMBERS := \
	linux-source-6.12/tools/testing/selftests/kselftest_harness.h \
	linux-source-6.12/tools/testing/selftests/kselftest.h

# One program per theme: every tests/kselftest/<name>.c but the helpers
KSFT_HELPERS := util uring
KSFT_PROGS := $(filter-out $(KSFT_HELPERS),$(basename $(notdir \
	$(wildcard $(KSFT_SRC_DIR)/*.c))))
KSFT_HELPER_OBJS := $(addprefix $(KSFT_OBJ_DIR)/,$(addsuffix .o,$(KSFT_HELPERS)))
KSFT_BINS  := $(addprefix $(KSFT_BIN_DIR)/,$(KSFT_PROGS))

# Not -isystem: that would also silence warnings in our code expanded from
# the harness macros.  harness.h wraps the one -Wextra complaint of the
# header itself.
KSFT_CFLAGS  = $(USER_CFLAGS) -I$(KSFT_OBJ_DIR) -I$(KSFT_SRC_DIR) -pthread
KSFT_LDFLAGS = -static -pthread
KSFT_LDLIBS  = -lpthread

ifeq ($(V),1)
KSFT_Q :=
KSFT_MSG := @true
else
KSFT_Q := @
KSFT_MSG := @printf '  %-8s %s\n'
endif

.PHONY: tests kselftest
tests: $(KSFT_BINS)
kselftest: $(KSFT_BINS)

# tar keeps the members' old mtimes: the stamp is what make compares.
$(KSFT_HDR_STAMP): $(KSFT_LINUX_SRC)
	$(KSFT_MSG) TAR $(KSFT_OBJ_DIR)/kselftest_harness.h
	$(KSFT_Q)mkdir -p $(KSFT_OBJ_DIR)
	$(KSFT_Q)tar -xJf $(KSFT_LINUX_SRC) -C $(KSFT_OBJ_DIR) \
		--strip-components=4 $(KSFT_HDR_MEMBERS)
	$(KSFT_Q)touch $@

$(KSFT_OBJ_DIR)/%.o: $(KSFT_SRC_DIR)/%.c $(KSFT_SRC_DIR)/%.h \
		$(SRCDIR)/uapi/linux/cowdup.h | $(KSFT_HDR_STAMP)
	$(KSFT_MSG) CC $@
	$(KSFT_Q)mkdir -p $(@D)
	$(KSFT_Q)$(CC) $(KSFT_CFLAGS) -c -o $@ $<

$(KSFT_BINS): $(KSFT_BIN_DIR)/%: $(KSFT_SRC_DIR)/%.c $(KSFT_HELPER_OBJS) \
		$(KSFT_SRC_DIR)/util.h $(KSFT_SRC_DIR)/harness.h \
		$(SRCDIR)/uapi/linux/cowdup.h $(KSFT_HDR_STAMP)
	$(KSFT_MSG) CCLD $@
	$(KSFT_Q)mkdir -p $(@D)
	$(KSFT_Q)$(CC) $(KSFT_CFLAGS) -o $@ $< $(KSFT_HELPER_OBJS) \
		$(KSFT_LDFLAGS) $(KSFT_LDLIBS)

# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Check unit tests of libcowdup and the standalone uapi header test.
# Binaries land in $(BUILD)/tests/bin/unit-* (copied into the guest); each
# prints TAP on stdout and exits 1 when a test fails, 4 after printing
# "1..0 # SKIP reason" when it does not apply, else 0:
#   unit-uapi        uapi/linux/cowdup.h layout (host or guest)
#   unit-lib-nodev   library with /dev/cowdup absent ("1..0 # SKIP" if present)
#   unit-lib         library with /dev/cowdup present ("1..0 # SKIP" if absent)
# They are linked fully static against libcowdup.a and libcheck so that they
# run in a bare busybox initramfs.
#
# Targets:  tests (adds these), unit-tests, uapi-check, header-check,
#           host-tests (adds unit-host-tests: $(BUILD)/tests/host/unit-*,
#           which scripts/check runs on the host),
#           unit-check (run every unit-* binary here, on the host),
#           unit-fake-check (unit-lib against a faked device; host, root),
#           man-check (man pages: groff -ww clean, EXAMPLES compile; needs
#           groff from Debian's groff-base)

UNIT_SRC   := $(SRCDIR)/tests/unit
UNIT_BIN   := $(BUILD)/tests/bin
UNIT_OBJ   := $(BUILD)/tests/unit
UNIT_Q     := $(if $(filter 1,$(V)),,@)

UNIT_CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
UNIT_CHECK_LIBS   := $(shell pkg-config --static --libs check 2>/dev/null || \
			echo -lcheck -lsubunit -lm -lrt)
UNIT_CFLAGS := $(USER_CFLAGS) -D_GNU_SOURCE -ffile-prefix-map=$(SRCDIR)/= $(UNIT_CHECK_CFLAGS) -pthread
UNIT_LDFLAGS := -static -pthread

# The uapi header alone, as strict as the contract says (no -I lib, no gnu11);
# -Wpadded only where nothing but the header is included (uapi_static.c).
UAPI_CFLAGS := -std=c99 -O2 -Wall -Wextra -pedantic -Werror -I$(SRCDIR)/uapi

UNIT_CHECK_PROGS := $(UNIT_BIN)/unit-lib $(UNIT_BIN)/unit-lib-nodev
UNIT_PROGS := $(UNIT_CHECK_PROGS) $(UNIT_BIN)/unit-uapi

.PHONY: tests unit-tests uapi-check header-check unit-check
tests: unit-tests
unit-tests: $(UNIT_PROGS) header-check

$(UNIT_OBJ)/uapi_static.o: $(UNIT_SRC)/uapi_static.c \
		$(SRCDIR)/uapi/linux/cowdup.h $(UNIT_SRC)/unit.mk
	@mkdir -p $(@D)
	$(if $(UNIT_Q),@echo "  UAPI    uapi/linux/cowdup.h")
	$(UNIT_Q)$(CC) $(UAPI_CFLAGS) -Wpadded -c -o $@ $<

$(UNIT_BIN)/unit-uapi: $(UNIT_SRC)/uapi_check.c $(UNIT_OBJ)/uapi_static.o \
		$(SRCDIR)/uapi/linux/cowdup.h $(UNIT_SRC)/unit.mk
	@mkdir -p $(@D)
	$(if $(UNIT_Q),@echo "  CC      $@")
	$(UNIT_Q)$(CC) $(UAPI_CFLAGS) -static -o $@ $< $(UNIT_OBJ)/uapi_static.o

uapi-check: $(UNIT_BIN)/unit-uapi
	$(UNIT_BIN)/unit-uapi

# <cowdup.h> compiles on its own as C99 -pedantic and as C++ (if available).
UNIT_CXX := $(shell command -v $(CXX) 2>/dev/null)
header-check: $(UNIT_OBJ)/header-check.stamp
$(UNIT_OBJ)/header-check.stamp: $(UNIT_SRC)/header_check.c $(LIB_HDRS) \
		$(UNIT_SRC)/unit.mk
	@mkdir -p $(@D)
	$(if $(UNIT_Q),@echo "  HDRCHK  lib/cowdup.h")
	$(UNIT_Q)$(CC) -std=c99 -Wall -Wextra -pedantic -Werror \
		-I$(SRCDIR)/lib -I$(SRCDIR)/uapi -c -o $(UNIT_OBJ)/header-check.o $<
	$(if $(UNIT_CXX),$(UNIT_Q)$(UNIT_CXX) -x c++ -std=c++11 -Wall -Wextra \
		-pedantic -Werror -I$(SRCDIR)/lib -I$(SRCDIR)/uapi \
		-c -o $(UNIT_OBJ)/header-check-cxx.o $<)
	$(UNIT_Q)touch $@

$(UNIT_OBJ)/%.o: $(UNIT_SRC)/%.c $(UNIT_SRC)/unit_util.h $(LIB_HDRS) \
		$(UNIT_SRC)/unit.mk
	@mkdir -p $(@D)
	$(if $(UNIT_Q),@echo "  CC      $@")
	$(UNIT_Q)$(CC) $(UNIT_CFLAGS) -c -o $@ $<

$(UNIT_BIN)/unit-lib: $(UNIT_OBJ)/unit_lib.o $(LIB_A)
$(UNIT_BIN)/unit-lib-nodev: $(UNIT_OBJ)/unit_lib_nodev.o $(LIB_A)
$(UNIT_CHECK_PROGS):
	@mkdir -p $(@D)
	$(if $(UNIT_Q),@echo "  LD      $@")
	$(UNIT_Q)$(CC) $(UNIT_LDFLAGS) -o $@ $< $(LIB_A) $(UNIT_CHECK_LIBS)

# Host run: unit-lib skips itself here (no device), the others really run.
unit-check: unit-tests
	@fail=0; for t in $(UNIT_PROGS); do \
		echo "# $$t"; $$t; rc=$$?; \
		[ $$rc -eq 0 ] || [ $$rc -eq 4 ] || fail=1; \
	done; exit $$fail

# unit-lib against a fake device (fake_ioctl.c), host only, needs root and
# unshare(1): a private mount namespace gets a tmpfs /dev with /dev/cowdup
# made as a copy of /dev/null (1:3).  Not in build/tests/bin: never run in
# the guest.
UNIT_FAKE := $(UNIT_OBJ)/unit-lib-fake
$(UNIT_FAKE): $(UNIT_OBJ)/unit_lib.o $(UNIT_OBJ)/fake_ioctl.o $(LIB_A)
	$(if $(UNIT_Q),@echo "  LD      $@")
	$(UNIT_Q)$(CC) $(UNIT_LDFLAGS) -Wl,--wrap=ioctl -o $@ $^ $(UNIT_CHECK_LIBS)

# Host tests for scripts/check: programs in $(BUILD)/tests/host, run there
# with no arguments; TAP on stdout, exit 0 / 1 / 4 (skip) as above.
UNIT_HOST := $(BUILD)/tests/host
UNIT_HOST_PROGS := $(UNIT_HOST)/unit-uapi $(UNIT_HOST)/unit-lib-nodev \
	$(UNIT_HOST)/unit-lib-fake $(UNIT_HOST)/unit-man-check

.PHONY: host-tests unit-host-tests unit-fake-check
host-tests: unit-host-tests
unit-host-tests: $(UNIT_HOST_PROGS)

$(UNIT_HOST)/unit-uapi: $(UNIT_BIN)/unit-uapi
	@mkdir -p $(@D)
	$(UNIT_Q)cp -f $< $@
$(UNIT_HOST)/unit-lib-nodev: $(UNIT_BIN)/unit-lib-nodev
	@mkdir -p $(@D)
	$(UNIT_Q)cp -f $< $@

$(UNIT_HOST)/unit-lib-fake: $(UNIT_FAKE) $(UNIT_SRC)/unit.mk
	@mkdir -p $(@D)
	$(UNIT_Q){ \
	echo '#!/bin/sh'; \
	echo '# Generated by tests/unit/unit.mk: unit-lib against a fake /dev/cowdup.'; \
	echo 'if ! unshare --mount --propagation private true 2>/dev/null; then'; \
	echo '	echo "1..0 # SKIP needs root and unshare(1)"; exit 4'; \
	echo 'fi'; \
	echo 'exec unshare --mount --propagation private sh -c '\''mount -t tmpfs cowdup-fake-dev /dev && mknod /dev/cowdup c 1 3 && exec "$$0"'\'' $(UNIT_FAKE)'; \
	} > $@.tmp && chmod +x $@.tmp && mv -f $@.tmp $@

$(UNIT_HOST)/unit-man-check: $(LIB_A) $(UNIT_SRC)/man_check.sh $(UNIT_SRC)/unit.mk
	@mkdir -p $(@D)
	$(UNIT_Q){ \
	echo '#!/bin/sh'; \
	echo '# Generated by tests/unit/unit.mk: make man-check as a host test.'; \
	echo 'exec $(UNIT_SRC)/man_check.sh $(SRCDIR)/Documentation/man "$(CC)" "$(USER_CFLAGS) -Werror" $(LIB_A) $(BUILD)/man-examples'; \
	} > $@.tmp && chmod +x $@.tmp && mv -f $@.tmp $@

unit-fake-check: $(UNIT_HOST)/unit-lib-fake
	$(UNIT_HOST)/unit-lib-fake

# Man pages of the library: no groff warning, and every EXAMPLES program
# compiles with -Werror and links against libcowdup.a (not run: no device).
.PHONY: man-check
man-check: $(UNIT_HOST)/unit-man-check
	$(UNIT_HOST)/unit-man-check

# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/examples/tests.mk: build the examples with `make tests` and run each
# in the VM.  The guest runner (scripts/guest-run-tests) runs every
# executable file of $(BUILD)/tests/bin and reads TAP from it, so each
# example gets a wrapper there, $(BUILD)/tests/bin/example-NAME (a copy of
# run-example.sh), which runs $(BUILD)/tests/bin/examples/NAME (a
# subdirectory: not run directly) and turns its report and exit status
# into TAP.
include $(SRCDIR)/examples/examples.mk

EXAMPLES_TEST_BIN := $(BUILD)/tests/bin
EXAMPLES_TESTS := $(addprefix $(EXAMPLES_TEST_BIN)/example-,$(EXAMPLES_NAMES)) \
	$(addprefix $(EXAMPLES_TEST_BIN)/examples/,$(EXAMPLES_NAMES))

.PHONY: example-tests
tests: example-tests
example-tests: $(EXAMPLES_TESTS)

$(EXAMPLES_TEST_BIN)/examples/%: $(EXAMPLES_DIR)/%
	@mkdir -p $(@D)
	$(EXAMPLES_Q)cp -f $< $@

$(EXAMPLES_TEST_BIN)/example-%: $(SRCDIR)/tests/examples/run-example.sh
	@mkdir -p $(@D)
	$(EXAMPLES_Q)cp -f $< $@.tmp && chmod 755 $@.tmp && mv -f $@.tmp $@

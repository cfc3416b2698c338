# tests/host/host.mk: host-only tests (no VM).  `make host-tests` puts one
# runnable program per test in $(BUILD)/tests/host/; scripts/check runs each
# once and reads its TAP.  Each is a tests/host/NAME.sh script, wrapped so it
# runs from the build directory and still finds its data in the source tree.

HOST_TESTS := $(patsubst tests/host/%.sh,%,$(wildcard tests/host/*.sh))

.PHONY: host-tests
host-tests: $(addprefix $(BUILD)/tests/host/,$(HOST_TESTS))

$(BUILD)/tests/host/%: tests/host/%.sh
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nexec bash "%s" "$$@"\n' "$(SRCDIR)/$<" >$@.tmp
	@chmod +x $@.tmp
	@mv -f $@.tmp $@

# SPDX-License-Identifier: LGPL-2.1-or-later
# The demo program: build/demo/cowdup-demo, static so it runs in the VM.
DEMO_BIN := $(BUILD)/demo/cowdup-demo

.PHONY: demo-bin
demo-bin: $(DEMO_BIN)

$(DEMO_BIN): $(SRCDIR)/demo/cowdup-demo.c $(LIB_A) $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -static -o $@ $< $(LIB_A)

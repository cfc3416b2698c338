# SPDX-License-Identifier: LGPL-2.1-or-later
# The demo program: build/demo/cowdup-demo, static so it runs in the VM.
DEMO_BIN := $(BUILD)/demo/cowdup-demo

.PHONY: demo-bin
demo-bin: $(DEMO_BIN)

# The page-state printer of tools/ is compiled in.
$(DEMO_BIN): $(SRCDIR)/demo/cowdup-demo.c $(SRCDIR)/tools/pagestate-print.c \
		$(SRCDIR)/tools/pagestate-print.h $(LIB_A) $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -I$(SRCDIR)/tools -static -o $@ $< \
		$(SRCDIR)/tools/pagestate-print.c $(LIB_A)

# SPDX-License-Identifier: LGPL-2.1-or-later
# tools/tools.mk: command-line tools, static so they run in the VM.
#
#   build/tools/cowdup-pagestate   page-state maps of small scenarios
#                                  (tools/cowdup-pagestate.c)
#
# tools/pagestate-print.[ch] is the state-map printer the tool and the demo
# share; it is compiled into each program, not into libcowdup.
TOOLS_DIR  := $(BUILD)/tools
TOOLS_BINS := $(TOOLS_DIR)/cowdup-pagestate
PAGESTATE_PRINT := $(SRCDIR)/tools/pagestate-print.c
PAGESTATE_PRINT_DEPS := $(PAGESTATE_PRINT) $(SRCDIR)/tools/pagestate-print.h

.PHONY: tools
tools: $(TOOLS_BINS)
all: tools

$(TOOLS_DIR)/cowdup-pagestate: $(SRCDIR)/tools/cowdup-pagestate.c \
		$(PAGESTATE_PRINT_DEPS) $(LIB_A) $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -I$(SRCDIR)/tools -static -o $@ $< \
		$(PAGESTATE_PRINT) $(LIB_A)

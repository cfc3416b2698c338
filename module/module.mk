# SPDX-License-Identifier: GPL-2.0
# Build the module once per target kernel series in KERNELS.
#
# Each series gets a mirror of the sources (symlinks) under
# $(BUILD)/module/<series>/ so two kernels never share object files, and its
# own generated/compat-probes.h from module/probe-kernel.sh.  A lock per
# series serialises concurrent builds of the same tree (two vm-runs).
#
#   make modules                     every series in KERNELS
#   make module-6.12                 one series
#   make modules W=1 / C=1           extra warnings / sparse
#   make modules_install KERNEL=6.12 [INSTALL_MOD_PATH=...]

MODULE_SRCS := Kbuild $(wildcard module/*.c module/*.h module/probes/*.c) \
	module/probe-kernel.sh uapi/linux/cowdup.h
kernel_release = $(shell $(SRCDIR)/scripts/kernel-info $(1) release)
kernel_headers = $(shell $(SRCDIR)/scripts/kernel-info $(1) headers)
KBUILD_EXTRA := $(if $(filter 1,$(W)),W=1) $(if $(C),C=$(C))

.PHONY: modules $(addprefix module-,$(KERNELS))
modules: $(addprefix module-,$(KERNELS))

$(addprefix module-,$(KERNELS)): module-%: $(BUILD)/module/%/cowdup.ko

$(BUILD)/module/%/cowdup.ko: $(MODULE_SRCS)
	@kdir=$(call kernel_headers,$*); \
	  test -d "$$kdir" || { echo "no headers for kernel $* (run scripts/ensure-kernel $*)" >&2; exit 1; }; \
	  out=$(BUILD)/module/$*; mkdir -p $$out/module $$out/uapi/linux $$out/generated; \
	  ln -sf $(SRCDIR)/Kbuild $$out/Kbuild; \
	  for f in $(SRCDIR)/module/*.c $(SRCDIR)/module/*.h; do ln -sf $$f $$out/module/; done; \
	  ln -sf $(SRCDIR)/uapi/linux/cowdup.h $$out/uapi/linux/cowdup.h; \
	  exec 9>$$out/.build-lock && flock 9 && \
	  $(SRCDIR)/module/probe-kernel.sh $$kdir $$out/generated && \
	  $(MAKE) -C $$kdir M=$$out $(KBUILD_EXTRA) modules

.PHONY: modules_install
modules_install:
	@test -n "$(KERNEL)$(KVER)" || { echo "say KERNEL=<series> (one of: $(KERNELS))" >&2; exit 1; }
	$(MAKE) module-$(KERNEL)
	$(MAKE) -C $(call kernel_headers,$(KERNEL)) M=$(BUILD)/module/$(KERNEL) \
		$(if $(INSTALL_MOD_PATH),INSTALL_MOD_PATH=$(INSTALL_MOD_PATH)) modules_install

# scripts/vm.mk: target kernels, QEMU runs, `make check` and `make demo`.
# The work is done by the scripts next to this file; see their headers.
#
#   make check [KERNELS="6.1 6.12"] [TESTS=prog1,prog2]
#                        every test on every kernel, then the host tests;
#                        ends with "N passed, N failed[, N skipped]"
#   make demo [DEMO_KERNEL=6.12] [DEMO_MEM=4096] [DEMO_CMD='...']
#                        boot a VM with the module loaded and run the demo
#   make vm-run VM_CMD='...' [VM_KERNEL=6.12]
#                        boot a VM and run any command in it
#   make vm-shell [VM_KERNEL=6.12]
#                        an interactive root shell in the VM (exit to leave)
#   make kernels         fetch headers and VM images of every series in KERNELS
#   make kernel-6.1 / kernel-6.12   the same for one series

VM_TIMEOUT   ?= 1200
TEST_TIMEOUT ?= 300
TESTS        ?=
DEMO_KERNEL  ?= 6.12
VM_KERNEL    ?= 6.12
VM_CMD       ?= sh -c 'uname -r; ls -l /dev/cowdup; dmesg | grep cowdup'
DEMO_MEM     ?= 4096
# The demo program is build/demo/cowdup-demo (target demo-bin of
# demo/demo.mk); without it the demo shows that the module loaded.
DEMO_DIR     ?= $(BUILD)/demo
DEMO_BUILD   := $(if $(wildcard $(SRCDIR)/demo/demo.mk),demo-bin)
DEMO_CMD     ?= if [ -x ./cowdup-demo ]; then exec ./cowdup-demo; fi; \
	echo "no demo program ($(DEMO_DIR)/cowdup-demo); module status:"; \
	uname -r; dmesg | grep cowdup; ls -l /dev/cowdup

VM_ENV = BUILD="$(BUILD)" KERNELS="$(KERNELS)" MAKE="$(MAKE)" \
	VM_TIMEOUT="$(VM_TIMEOUT)" TEST_TIMEOUT="$(TEST_TIMEOUT)"

.PHONY: check demo vm-run vm-shell kernels kernel-6.1 kernel-6.12

check:
	@KERNELS="$(KERNELS)" $(SRCDIR)/scripts/ensure-host-deps
	@$(VM_ENV) TESTS="$(TESTS)" $(SRCDIR)/scripts/check

# Host packages first (a fresh machine has no compiler), then the builds.
demo:
	@KERNELS="$(DEMO_KERNEL)" $(SRCDIR)/scripts/ensure-host-deps
	$(if $(DEMO_BUILD),@$(MAKE) --no-print-directory $(DEMO_BUILD))
	@set -- --mem $(DEMO_MEM); if [ -d "$(DEMO_DIR)" ]; then set -- "$$@" --add "$(DEMO_DIR)"; fi; \
	$(VM_ENV) $(SRCDIR)/scripts/vm-run --kernel $(DEMO_KERNEL) --no-tests "$$@" -- \
		sh -c '$(DEMO_CMD)'

vm-run:
	@KERNELS="$(VM_KERNEL)" $(SRCDIR)/scripts/ensure-host-deps
	@$(VM_ENV) $(SRCDIR)/scripts/vm-run --kernel $(VM_KERNEL) -- $(VM_CMD)

vm-shell:
	@KERNELS="$(VM_KERNEL)" $(SRCDIR)/scripts/ensure-host-deps
	@$(VM_ENV) VM_TIMEOUT= $(SRCDIR)/scripts/vm-run --kernel $(VM_KERNEL) --shell

kernels:
	@$(SRCDIR)/scripts/ensure-kernel $(KERNELS)

kernel-6.1 kernel-6.12:
	@$(SRCDIR)/scripts/ensure-kernel $(patsubst kernel-%,%,$@)

# The debug kernel lane: the whole suite on a kernel built from
# linux-source-6.12 with KASAN, DEBUG_VM, PAGE_TABLE_CHECK, lockdep,
# kmemleak and fault injection (scripts/build-debug-kernel; ~30 min the
# first time, cached in $(COWDUP_CACHE)/debug-kernel afterwards).
.PHONY: check-debug debug-kernel
debug-kernel:
	@$(SRCDIR)/scripts/build-debug-kernel
check-debug:
	@KERNELS=6.1 $(SRCDIR)/scripts/ensure-host-deps
	@$(SRCDIR)/scripts/ensure-kernel 6.12-debug
	@$(VM_ENV) KERNELS=6.12-debug TESTS="$(TESTS)" \
		CK_TIMEOUT_MULTIPLIER=$${CK_TIMEOUT_MULTIPLIER:-10} $(SRCDIR)/scripts/check

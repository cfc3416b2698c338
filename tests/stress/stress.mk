# SPDX-License-Identifier: GPL-2.0
#
# Long runs of the model-checked stress program (tests/kselftest/
# stress_model.c), which `make check` runs only briefly (3000 operations).
#
#   make stress [DURATION=600] [KERNELS="6.1 6.12"] [STRESS_SEED=N]
#               [STRESS_SMP=2] [STRESS_MEM=2048]
#
# Boots each kernel in KERNELS in turn (scripts/vm-run) and runs
# stress_model for DURATION seconds on it; every kernel is run even if one
# fails, and the target fails if any did.  Each run prints its seed first
# ("# seed N"); a failure prints the operation log and the command line
# that replays it.  Logs: $(BUILD)/stress/<kernel>/.

DURATION    ?= 600
STRESS_SEED ?=
STRESS_SMP  ?= 2
STRESS_MEM  ?= 2048

.PHONY: stress
stress:
	@KERNELS="$(KERNELS)" $(SRCDIR)/scripts/ensure-host-deps
	@bad=; for k in $(KERNELS); do \
		echo "stress: kernel $$k, $(DURATION) s"; \
		BUILD="$(BUILD)" MAKE="$(MAKE)" $(SRCDIR)/scripts/vm-run \
			--kernel $$k --smp $(STRESS_SMP) --mem $(STRESS_MEM) \
			--timeout $$(( $(DURATION) + 900 )) \
			--log-dir $(BUILD)/stress/$$k -- \
			stress_model --ops 2000000000 --seconds $(DURATION) \
			$(if $(STRESS_SEED),--seed $(STRESS_SEED)) \
			|| bad="$$bad $$k"; \
	done; \
	if [ -n "$$bad" ]; then echo "stress: FAILED on:$$bad"; exit 1; fi; \
	echo "stress: passed on $(KERNELS)"

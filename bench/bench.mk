# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/bench.mk: `make bench` (issues 6 and 8).
#
#   make bench [KERNELS="6.1 6.12"] [BENCH_MEM=6144] [BENCH_ARGS='--reps 3']
#              [BENCH_TIMEOUT=1500]
#       builds build/bench/bin/cowdup-bench (static), runs it in the VM on
#       each kernel of KERNELS (scripts/vm-run), prints its table, and
#       writes build/bench/SERIES.txt (the table), build/bench/bench.csv
#       (every figure of every kernel) and build/bench/bench.png (the
#       duplication times, plotted on the host with gnuplot).
#   make bench-bin      only the program
#   make bench-plot     only the plot, from build/bench/bench.csv
#
# See Documentation/performance.md for what each case measures.
BENCH_DIR     := $(BUILD)/bench
BENCH_BIN     := $(BENCH_DIR)/bin/cowdup-bench
BENCH_MEM     ?= 6144
BENCH_ARGS    ?=
BENCH_TIMEOUT ?= 1500

.PHONY: bench bench-bin bench-plot
bench-bin: $(BENCH_BIN)

$(BENCH_BIN): $(SRCDIR)/bench/cowdup-bench.c $(LIB_A) $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -static -o $@ $< $(LIB_A)

# Host packages first (compiler, QEMU, kernels; gnuplot for the plot).
bench:
	@KERNELS="$(KERNELS)" $(SRCDIR)/scripts/ensure-host-deps
	@$(MAKE) --no-print-directory bench-bin
	@BUILD="$(BUILD)" KERNELS="$(KERNELS)" MAKE="$(MAKE)" \
		BENCH_MEM="$(BENCH_MEM)" BENCH_ARGS="$(BENCH_ARGS)" \
		BENCH_TIMEOUT="$(BENCH_TIMEOUT)" $(SRCDIR)/bench/run-bench

bench-plot:
	@BUILD="$(BUILD)" $(SRCDIR)/bench/run-bench --plot-only

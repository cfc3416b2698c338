# SPDX-License-Identifier: GPL-2.0
#
# cowdup top-level build.  Each part of the tree has its own fragment:
#   module/module.mk        the kernel module, built once per target kernel
#   lib/lib.mk              libcowdup (.so, .a, pkg-config file)
#   tests/*/*.mk            test programs (kselftest TAP, Check unit, host-only)
#   scripts/vm.mk           kernels, initramfs, QEMU runs, check and demo
#
# Common entry points:
#   make                    library, tests, module for every kernel in KERNELS
#   make check              every test on every kernel in KERNELS (VM)
#   make demo               boot a VM and run the demo
#   make install            library and headers (DESTDIR, PREFIX)
#   make modules_install    module for KERNEL=<series> (INSTALL_MOD_PATH=...)

KERNELS ?= 6.1 6.12
BUILD   ?= $(CURDIR)/build
CC      ?= cc
V       ?= 0

PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DESTDIR ?=

SRCDIR  := $(CURDIR)

# Flags for every user-space C file of the project.
USER_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror=implicit-function-declaration \
	-I$(SRCDIR)/uapi -I$(SRCDIR)/lib $(EXTRA_CFLAGS)

.PHONY: all
all: lib tests modules

include lib/lib.mk
include demo/demo.mk
include tools/tools.mk
include bench/bench.mk
include module/module.mk
include $(wildcard tests/*/*.mk)
include scripts/vm.mk
include packaging/packaging.mk

.PHONY: clean
clean:
	rm -rf $(BUILD)

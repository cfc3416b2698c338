# SPDX-License-Identifier: GPL-2.0
# packaging/packaging.mk: installing cowdup the way a distribution does.
#
#   make dkms-install [DKMS_KERNEL=RELEASE]
#                        module sources into /usr/src/cowdup-VERSION, then
#                        dkms add + build + install for DKMS_KERNEL (default:
#                        the running kernel); DKMS rebuilds it for every new
#                        kernel of the supported range (dkms.conf)
#   make dkms-uninstall  dkms remove --all, sources removed
#   make debs            Debian packages (dpkg-buildpackage -us -uc -b) of a
#                        clean copy of the tree, into $(BUILD)/deb/
#   make check-packages  the packages installed with dpkg -i in a Debian 12
#                        VM (stock 6.1 kernel): DKMS build, modprobe, udev
#                        rule and group, a pkg-config program, the Python
#                        binding (packaging/check-packages)
#   make install-man4    cowdup(4) (part of `make install`)
#   make packaging-host-tests   host tests: man4 groff check, version
#                        consistency (also added to `host-tests`)

DKMS_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' $(SRCDIR)/dkms.conf)
DKMS_SRCDIR  := /usr/src/cowdup-$(DKMS_VERSION)
DKMS_KERNEL  ?= $(shell uname -r)
DEB_OUT      := $(BUILD)/deb
PKG_Q        := $(if $(filter 1,$(V)),,@)

.PHONY: dkms-install dkms-uninstall debs check-packages install-man4 \
	packaging-host-tests

dkms-install:
	@command -v dkms >/dev/null || { echo "dkms not found (apt-get install dkms)" >&2; exit 1; }
	@test -f /lib/modules/$(DKMS_KERNEL)/build/Makefile || { \
		echo "no headers for $(DKMS_KERNEL) in /lib/modules/$(DKMS_KERNEL)/build" \
		"(apt-get install linux-headers-$(DKMS_KERNEL))" >&2; exit 1; }
	$(PKG_Q)if dkms status -m cowdup -v $(DKMS_VERSION) | grep -q .; then \
		dkms remove -m cowdup -v $(DKMS_VERSION) --all >/dev/null; fi
	$(PKG_Q)rm -rf $(DKMS_SRCDIR)
	$(PKG_Q)$(SRCDIR)/packaging/stage-dkms-src $(DKMS_SRCDIR)
	dkms add -m cowdup -v $(DKMS_VERSION)
	dkms install -m cowdup -v $(DKMS_VERSION) -k $(DKMS_KERNEL)

dkms-uninstall:
	$(PKG_Q)if command -v dkms >/dev/null && \
		dkms status -m cowdup -v $(DKMS_VERSION) | grep -q .; then \
		dkms remove -m cowdup -v $(DKMS_VERSION) --all; fi
	rm -rf $(DKMS_SRCDIR)

# A clean copy of the tree (what git knows plus untracked, unignored files;
# never build/), so dpkg-buildpackage's debris and its ../*.deb stay in
# $(DEB_OUT).
debs:
	@KERNELS= $(SRCDIR)/packaging/ensure-pkg-deps build
	$(PKG_Q)$(SRCDIR)/packaging/build-debs $(DEB_OUT)

check-packages:
	@KERNELS=6.1 $(SRCDIR)/scripts/ensure-host-deps
	@KERNELS= $(SRCDIR)/packaging/ensure-pkg-deps build vm
	$(PKG_Q)$(MAKE) --no-print-directory debs
	$(PKG_Q)BUILD="$(BUILD)" $(SRCDIR)/packaging/check-packages $(DEB_OUT)

# cowdup(4): the device and its ioctls.
MAN4_PAGES := $(wildcard $(SRCDIR)/Documentation/man/man4/*.4)
install: install-man4
install-man4:
	$(if $(MAN4_PAGES),$(INSTALL) -d $(DESTDIR)$(MANDIR)/man4)
	$(if $(MAN4_PAGES),$(INSTALL) -m 0644 $(MAN4_PAGES) $(DESTDIR)$(MANDIR)/man4/)

# Host tests (scripts/check runs every program in $(BUILD)/tests/host).
PACKAGING_HOST_TESTS := $(BUILD)/tests/host/packaging-man4 \
	$(BUILD)/tests/host/packaging-versions $(BUILD)/tests/host/packaging-python
host-tests: packaging-host-tests
packaging-host-tests: $(PACKAGING_HOST_TESTS)
$(BUILD)/tests/host/packaging-%: $(SRCDIR)/packaging/test-%.sh
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nexec sh "%s" "$$@"\n' "$<" >$@.tmp
	@chmod +x $@.tmp
	@mv -f $@.tmp $@

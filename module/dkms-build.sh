#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# dkms-build.sh KDIR [KERNELRELEASE]: build cowdup.ko in the current
# directory (a DKMS build directory: a copy of Kbuild, module/ and uapi/)
# against the kernel headers in KDIR, the way module/module.mk does for a
# tree build: feature probes first (module/probe-kernel.sh into
# ./generated, which Kbuild puts on the include path), then Kbuild.
# KERNELRELEASE, when given (dkms.conf passes ${kernelver}), must match
# KDIR's own, so a build is never silently made for another kernel.
# Kbuild runs with -j(nproc): DKMS adds -j only to MAKE commands that start
# with "make".
#   dkms-build.sh --clean    remove what a build left
set -eu

if [ "${1:-}" = --clean ]; then
	rm -rf generated .tmp_versions
	find . \( -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' \
		-o -name '.*.cmd' -o -name '*.symvers' -o -name 'modules.order' \) \
		-exec rm -f {} + 2>/dev/null || true
	exit 0
fi

[ $# -ge 1 ] && [ $# -le 2 ] || {
	echo "usage: dkms-build.sh KDIR [KERNELRELEASE] | --clean" >&2
	exit 2
}
kdir=$1
want=${2:-}
[ -f "$kdir/Makefile" ] || {
	echo "dkms-build.sh: no kernel headers in $kdir" >&2
	exit 1
}
[ -f Kbuild ] && [ -f module/main.c ] || {
	echo "dkms-build.sh: run me in the module source directory (Kbuild, module/)" >&2
	exit 1
}
if [ -n "$want" ]; then
	# UTS_RELEASE: Debian's include/config/kernel.release holds the
	# upstream version (6.1.192), not the package's release name.
	have=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' \
		"$kdir/include/generated/utsrelease.h" 2>/dev/null || true)
	if [ -n "$have" ] && [ "$have" != "$want" ]; then
		echo "dkms-build.sh: $kdir is kernel $have, not $want" >&2
		exit 1
	fi
fi

here=$(pwd)
mkdir -p generated
echo "dkms-build.sh: probing $kdir"
bash module/probe-kernel.sh "$kdir" "$here/generated"
echo "dkms-build.sh: building cowdup.ko for ${want:-$kdir}"
make -j"$(nproc 2>/dev/null || echo 1)" -C "$kdir" M="$here" modules
test -f cowdup.ko

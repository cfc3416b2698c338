#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Host test (TAP): the version of the packaging agrees everywhere
# (dkms.conf, lib/lib.mk, debian/changelog), and dkms.conf's
# BUILD_EXCLUSIVE_KERNEL takes exactly the 6.1 .. 6.12 series.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }

dkms=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$src/dkms.conf")
lib=$(sed -n 's/^LIB_VERSION *:= *//p' "$src/lib/lib.mk")
deb=$(sed -n '1s/^cowdup (\([^)-]*\).*/\1/p' "$src/debian/changelog")
if [ -n "$dkms" ] && [ "$dkms" = "$lib" ] && [ "$dkms" = "$deb" ]; then
	ok "dkms.conf, lib.mk and debian/changelog say $dkms"
else
	notok "versions agree (dkms.conf '$dkms', lib.mk '$lib', debian/changelog '$deb')"
fi
grep -q '^PACKAGE_NAME="cowdup"$' "$src/dkms.conf" && ok "PACKAGE_NAME is cowdup" ||
	notok "PACKAGE_NAME is cowdup"
grep -q '^AUTOINSTALL="yes"$' "$src/dkms.conf" && ok "AUTOINSTALL" || notok "AUTOINSTALL"
# dkms.conf builds against ${kernel_source_dir}/${kernelver}, never uname -r.
if grep '^MAKE' "$src/dkms.conf" | grep -q 'kernel_source_dir.*kernelver' &&
	! grep -v '^#' "$src/dkms.conf" | grep -q 'uname'; then
	ok "MAKE builds for \${kernelver}'s headers"
else
	notok "MAKE builds for \${kernelver}'s headers"
fi

re=$(sed -n 's/^BUILD_EXCLUSIVE_KERNEL="\(.*\)"$/\1/p' "$src/dkms.conf")
for k in 6.1.0-56-amd64 6.1.192 6.2.0 6.9.1-foo 6.10.3 6.12.117+deb12-amd64 6.12.0; do
	if printf '%s\n' "$k" | grep -Eq "$re"; then ok "DKMS builds for $k"; else notok "DKMS builds for $k"; fi
done
for k in 6.0.12-amd64 6.13.0 6.18.44-fc 5.10.0-28-amd64 7.1.0 6.120.0 16.1.0; do
	if printf '%s\n' "$k" | grep -Eq "$re"; then notok "DKMS skips $k"; else ok "DKMS skips $k"; fi
done
echo "1..$n"
exit $fail

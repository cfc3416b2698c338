#!/usr/bin/env bash
# Host test of scripts/mkinitramfs, printing TAP: builds an initramfs for
# each cached kernel from a fake build tree (a stand-in cowdup.ko, a
# libcowdup.so, a dynamically linked test program) and checks what the guest
# needs is in it: /init, busybox and its applets, the module, the library,
# the test program with its glibc runtime, zram and its dependencies
# (decompressed) in load order, and the settings file.  Skips a kernel whose
# image scripts/ensure-kernel has not fetched.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	for l in "$@"; do echo "# $l"; done
}
has() { # has SERIES PATH...: every PATH is in the image's listing
	local s=$1 p missing=()
	shift
	for p in "$@"; do
		grep -qx "$p" "$tmp/$s.list" || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then ok "$s: $*"; else not_ok "$s: $*" "missing: ${missing[*]}"; fi
}

if ! command -v cc >/dev/null || ! command -v busybox >/dev/null; then
	echo "1..0 # SKIP needs cc and busybox"
	exit 4
fi

b=$tmp/build
mkdir -p "$b/lib" "$b/tests/bin" "$tmp/add/data"
echo 'int cowdup_available(void) { return 1; }' >"$tmp/lib.c"
cc -shared -fPIC -Wl,-soname,libcowdup.so.0 -o "$b/lib/libcowdup.so.0" "$tmp/lib.c"
ln -s libcowdup.so.0 "$b/lib/libcowdup.so"
printf 'int cowdup_available(void);\nint main(void) { return !cowdup_available(); }\n' >"$tmp/t.c"
cc -o "$b/tests/bin/t-dyn" "$tmp/t.c" -L"$b/lib" -lcowdup
echo hello >"$tmp/add/data/file"
printf 'echo hi\n' >"$tmp/cmd"

for s in 6.1 6.12; do
	moddir=$(BUILD=$b "$src/scripts/kernel-info" "$s" moddir 2>/dev/null || true)
	if [ -z "$moddir" ] || [ ! -f "$moddir/modules.dep" ]; then
		skip "$s: initramfs" "kernel $s not fetched (scripts/ensure-kernel $s)"
		continue
	fi
	rel=$(BUILD=$b "$src/scripts/kernel-info" "$s" release)
	mkdir -p "$b/module/$s"
	echo "not really a module" >"$b/module/$s/cowdup.ko"
	if ! BUILD=$b "$src/scripts/mkinitramfs" "$s" "$tmp/$s.cpio.gz" --add "$tmp/add" \
		--cmd "$tmp/cmd" --cwd /work/add 2>"$tmp/err"; then
		not_ok "$s: mkinitramfs succeeds" "$(cat "$tmp/err")"
		continue
	fi
	ok "$s: mkinitramfs succeeds"
	mkdir "$tmp/$s.root"
	(cd "$tmp/$s.root" && gzip -dc "$tmp/$s.cpio.gz" | cpio -id --quiet 2>/dev/null)
	(cd "$tmp/$s.root" && find . | sed 's|^\./||') | sort >"$tmp/$s.list"
	has "$s" init bin/busybox bin/sh sbin/insmod sbin/swapon
	has "$s" cowdup/cowdup.ko cowdup/run-tests cowdup/cmd cowdup/config cowdup/tests/t-dyn
	has "$s" usr/lib/libcowdup.so.0 usr/lib/x86_64-linux-gnu/libc.so.6 usr/lib64/ld-linux-x86-64.so.2
	has "$s" work/add/data/file
	if [ "$(readlink "$tmp/$s.root/lib")" = usr/lib ] && [ "$(readlink "$tmp/$s.root/lib64")" = usr/lib64 ]; then
		ok "$s: merged /usr like Debian"
	else
		not_ok "$s: merged /usr like Debian"
	fi
	# zram last, after its dependencies; every listed file present, plain ELF.
	mapfile -t kmods <"$tmp/$s.root/cowdup/kmods"
	bad=
	for k in "${kmods[@]}"; do
		f=$tmp/$s.root$k
		[ -f "$f" ] && [ "$(head -c4 "$f" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] || bad="$bad $k"
	done
	if [ ${#kmods[@]} -ge 1 ] && [ "${kmods[-1]}" = "/lib/modules/$rel/zram.ko" ] && [ -z "$bad" ]; then
		ok "$s: zram and its dependencies, decompressed, in load order (${#kmods[@]} modules)"
	else
		not_ok "$s: zram and its dependencies, decompressed, in load order" "kmods: ${kmods[*]}" "not ELF:$bad"
	fi
	if grep -qx "CWD='/work/add'" "$tmp/$s.root/cowdup/config" &&
		grep -qx 'NOMOD=0' "$tmp/$s.root/cowdup/config"; then
		ok "$s: settings"
	else
		not_ok "$s: settings" "$(cat "$tmp/$s.root/cowdup/config")"
	fi
	# Without the module it is left out; a missing module is an error.
	BUILD=$b "$src/scripts/mkinitramfs" "$s" "$tmp/$s-nomod.cpio.gz" --no-module --no-tests
	if gzip -dc "$tmp/$s-nomod.cpio.gz" | cpio -t --quiet 2>/dev/null | grep -qE '^cowdup/(cowdup\.ko|tests/t-dyn)$'; then
		not_ok "$s: --no-module --no-tests leave module and tests out"
	else
		ok "$s: --no-module --no-tests leave module and tests out"
	fi
	rm "$b/module/$s/cowdup.ko"
	if BUILD=$b "$src/scripts/mkinitramfs" "$s" "$tmp/x.cpio.gz" 2>"$tmp/err"; then
		not_ok "$s: missing cowdup.ko is an error"
	elif grep -q "module-$s" "$tmp/err"; then
		ok "$s: missing cowdup.ko is an error naming make module-$s"
	else
		not_ok "$s: missing cowdup.ko is an error naming make module-$s" "$(cat "$tmp/err")"
	fi
done

echo "1..$n"
[ "$failed" -eq 0 ]

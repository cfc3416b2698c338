#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# man_check.sh MANDIR CC CFLAGS LIBA OUTDIR
#
# Checks the library's man pages (make man-check):
#  1. each page renders with `groff -man -ww -z` without a single warning
#     (groff comes with Debian's groff-base package);
#  2. each EXAMPLES program (between '.\" SRC BEGIN (name.c)' and
#     '.\" SRC END') compiles warning-free with -Werror and links against
#     libcowdup.a.  They are not run: they need /dev/cowdup.
# Prints TAP; exits 1 if anything failed, 4 (skip) without groff.
set -u

mandir=$1 cc=$2 cflags=$3 liba=$4 outdir=$5
n=0 fail=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }

if ! command -v groff >/dev/null 2>&1; then
	echo "1..0 # SKIP groff not installed (apt install groff-base)"
	exit 4
fi
mkdir -p "$outdir" || exit 1

for page in "$mandir"/man3/*.3; do
	name=${page##*/}
	out=$(cd "$mandir" && LC_ALL=C.UTF-8 groff -man -ww -z -Tutf8 \
		"man3/$name" 2>&1)
	if [ -z "$out" ]; then
		ok "groff -ww $name"
	else
		notok "groff -ww $name"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi

	# Extract and unescape the example sources of this page.
	srcs=$(sed -n 's/^\.\\" SRC BEGIN (\(.*\))$/\1/p' "$page")
	for src in $srcs; do
		sed -n "/^\.\\\\\" SRC BEGIN ($src)\$/,/^\.\\\\\" SRC END\$/p" "$page" |
		sed -e '/^\.\\"/d' -e '/^\.EX$/d' -e '/^\.EE$/d' \
		    -e 's/\\e/\\/g' -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" \
		    -e 's/\\&//g' > "$outdir/$src"
		if out=$($cc $cflags -o "$outdir/${src%.c}" "$outdir/$src" \
				"$liba" 2>&1); then
			ok "example $src of $name compiles"
		else
			notok "example $src of $name compiles"
			printf '%s\n' "$out" | sed 's/^/# /'
		fi
	done
done
echo "1..$n"
exit $fail

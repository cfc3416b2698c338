#!/usr/bin/env bash
# Host test of scripts/klog-check, printing TAP.  Each recorded kernel log
# tests/host/klog/NAME.log comes with NAME.expect, the exact lines the
# detector must flag (empty: the log is clean, exit status 0; otherwise 1).
# The *-6.1/*-6.12 logs were recorded from the stock Debian kernels in the
# project's QEMU VM; the others follow the kernels' report formats.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
check=$src/scripts/klog-check
dir=$src/tests/host/klog
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	for l in "$@"; do echo "# $l"; done
}

# verdict NAME INPUT EXPECT: klog-check INPUT must print EXPECT exactly and
# exit 1 if EXPECT is non-empty, 0 if it is empty.
verdict() {
	local name=$1 input=$2 expect=$3 rc=0 want=0
	"$check" "$input" >"$tmp/out" 2>"$tmp/err" || rc=$?
	[ ! -s "$expect" ] || want=1
	if [ "$rc" != "$want" ]; then
		not_ok "$name: exit status" "want $want, got $rc" "$(cat "$tmp/err")"
	else
		ok "$name: exit status $rc"
	fi
	if diff -u "$expect" "$tmp/out" >"$tmp/diff"; then
		ok "$name: flagged lines"
	else
		mapfile -t d <"$tmp/diff"
		not_ok "$name: flagged lines" "${d[@]}"
	fi
}

logs=("$dir"/*.log)

for log in "${logs[@]}"; do
	name=$(basename "$log" .log)
	verdict "$name" "$log" "$dir/$name.expect"
done

# Reading stdin gives the same verdict as reading the file.
rc=0
"$check" <"$dir/warning-6.12.log" >"$tmp/out" || rc=$?
if [ "$rc" = 1 ] && cmp -s "$tmp/out" "$dir/warning-6.12.expect"; then
	ok "stdin: same verdict as a file"
else
	not_ok "stdin: same verdict as a file" "exit $rc"
fi
rc=0
"$check" <"$dir/clean-boot-6.12.log" >"$tmp/out" || rc=$?
if [ "$rc" = 0 ] && [ ! -s "$tmp/out" ]; then
	ok "stdin: clean log"
else
	not_ok "stdin: clean log" "exit $rc"
fi

# An OOM report excuses only its own stack dump, not a later splat.
cat "$dir/oom-memcg-clean.log" "$dir/warning-6.12.log" >"$tmp/mixed.log"
verdict "oom then warning" "$tmp/mixed.log" "$dir/warning-6.12.expect"

# Windows line ends (a raw serial console) change nothing.
sed 's/$/\r/' "$dir/bad-rss-counter.log" >"$tmp/crlf.log"
rc=0
"$check" "$tmp/crlf.log" >"$tmp/out" || rc=$?
if [ "$rc" = 1 ] && [ "$(tr -d '\r' <"$tmp/out")" = "$(cat "$dir/bad-rss-counter.expect")" ]; then
	ok "CRLF line ends"
else
	not_ok "CRLF line ends" "exit $rc"
fi

# An empty log is clean.
rc=0
"$check" /dev/null >"$tmp/out" || rc=$?
if [ "$rc" = 0 ] && [ ! -s "$tmp/out" ]; then ok "empty log"; else not_ok "empty log" "exit $rc"; fi

# Usage errors exit 2.
rc=0
"$check" "$tmp/does-not-exist" >/dev/null 2>&1 || rc=$?
if [ "$rc" = 2 ]; then ok "unreadable file: exit 2"; else not_ok "unreadable file: exit 2" "exit $rc"; fi

echo "1..$n"
[ "$failed" -eq 0 ]

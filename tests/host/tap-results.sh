#!/usr/bin/env bash
# Host test of scripts/tap-results, printing TAP: the recorded framed output
# tests/host/tap/console.log (kselftest and Check TAP, skips, crashes,
# timeouts, a guest that stopped mid-program) must give exactly the rows in
# tests/host/tap/console.expect, since those rows are what `make check`
# counts.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tr=$src/scripts/tap-results
dir=$src/tests/host/tap
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

if "$tr" 6.12 "$dir/console.log" >"$tmp/out" && diff -u "$dir/console.expect" "$tmp/out" >"$tmp/diff"; then
	ok "rows of the recorded console"
else
	mapfile -t d <"$tmp/diff"
	not_ok "rows of the recorded console" "${d[@]}"
fi

if "$tr" 6.12 <"$dir/console.log" | cmp -s - "$dir/console.expect"; then
	ok "stdin gives the same rows"
else
	not_ok "stdin gives the same rows"
fi

# Carriage returns of a raw serial console change nothing.
if sed 's/$/\r/' "$dir/console.log" | "$tr" 6.12 | cmp -s - "$dir/console.expect"; then
	ok "CRLF console"
else
	not_ok "CRLF console"
fi

# Output before the first marker (kernel boot) is not a test.
if [ -z "$(printf 'ok 1 boot noise\n' | "$tr" k)" ]; then
	ok "lines outside a program are ignored"
else
	not_ok "lines outside a program are ignored"
fi

rc=0
"$tr" >/dev/null 2>&1 || rc=$?
if [ "$rc" = 2 ]; then ok "usage error exits 2"; else not_ok "usage error exits 2" "exit $rc"; fi

echo "1..$n"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# Host test of scripts/guest-run-tests (the VM's /cowdup/run-tests), printing
# TAP.  Runs it under busybox sh, the guest's shell, on a directory of small
# programs: passing, failing, skipping (exit 4), one that hangs with a child
# (must be killed with its child at TEST_TIMEOUT), a non-executable file
# (ignored), and a name that does not exist; checks the framing through
# scripts/tap-results and the runner's exit status.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
runner=$src/scripts/guest-run-tests
tr=$src/scripts/tap-results
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
check() { # check NAME COND...
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

busybox=$(command -v busybox || echo /bin/busybox)
if [ ! -x "$busybox" ]; then
	echo "1..0 # SKIP busybox not installed"
	exit 4
fi

t=$tmp/tests
mkdir -p "$t"
printf '#!/bin/sh\necho 1..2\necho ok 1 a\necho ok 2 b\n' >"$t/a-pass"
printf '#!/bin/sh\necho 1..1\necho not ok 1 broken\nexit 1\n' >"$t/b-fail"
printf '#!/bin/sh\necho "1..0 # SKIP not here"\nexit 4\n' >"$t/c-skip"
printf '#!/bin/sh\nsleep 600 &\necho $! >"%s/child.pid"\necho 1..1\nsleep 600\n' "$tmp" >"$t/d-hang"
printf '#!/bin/sh\nexit 0\n' >"$t/e-notexec"
chmod +x "$t/a-pass" "$t/b-fail" "$t/c-skip" "$t/d-hang"

# Every program, in name order.
rc=0
start=$(date +%s)
TESTDIR=$t TEST_TIMEOUT=2 "$busybox" sh "$runner" >"$tmp/all.out" 2>&1 || rc=$?
took=$(($(date +%s) - start))
"$tr" g "$tmp/all.out" >"$tmp/all.rows"
cat >"$tmp/all.want" <<'ROWS'
g	PASS	a-pass: a
g	PASS	a-pass: b
g	FAIL	b-fail: broken
g	SKIP	c-skip
g	FAIL	d-hang: timed out
ROWS
if diff -u "$tmp/all.want" "$tmp/all.rows" >"$tmp/diff"; then
	ok "all programs: result rows"
else
	mapfile -t d <"$tmp/diff"
	not_ok "all programs: result rows" "${d[@]}"
fi
check "all programs: exit status 1 (failures)" [ "$rc" = 1 ]
check "all programs: timeout honoured (took ${took}s)" [ "$took" -lt 30 ]
child=$(cat "$tmp/child.pid" 2>/dev/null || echo)
alive=0
if [ -n "$child" ] && [ -r "/proc/$child/stat" ]; then
	state=$(sed 's/.*) //; s/ .*//' "/proc/$child/stat" 2>/dev/null || echo gone)
	case $state in
	Z | X | gone) ;; # killed, perhaps not yet reaped
	*) alive=1; kill -KILL "$child" ;;
	esac
fi
check "a timed-out program's children are killed too" [ "$alive" = 0 ]
check "summary line" grep -q '^run-tests: 4 programs, 2 failed: b-fail d-hang$' "$tmp/all.out"

# Named programs only, one of them missing.
rc=0
TESTDIR=$t "$busybox" sh "$runner" c-skip nosuch a-pass >"$tmp/some.out" 2>&1 || rc=$?
"$tr" g "$tmp/some.out" >"$tmp/some.rows"
printf 'g\tSKIP\tc-skip\ng\tFAIL\tnosuch: no such test program\ng\tPASS\ta-pass: a\ng\tPASS\ta-pass: b\n' >"$tmp/some.want"
if diff -u "$tmp/some.want" "$tmp/some.rows" >"$tmp/diff"; then
	ok "named programs: result rows"
else
	mapfile -t d <"$tmp/diff"
	not_ok "named programs: result rows" "${d[@]}"
fi
check "named programs: exit status 1 (missing one)" [ "$rc" = 1 ]

# All passing: exit 0.
rc=0
TESTDIR=$t "$busybox" sh "$runner" a-pass c-skip >/dev/null 2>&1 || rc=$?
check "passing and skipped programs: exit status 0" [ "$rc" = 0 ]

# While a program runs the runner starts no process (each would move the
# system-wide counters tests read): its set of children stays the same.
q=$tmp/quiet
mkdir -p "$q"
cat >"$q/quiet" <<'PROG'
#!/bin/sh
kids() {
	for s in /proc/[0-9]*/stat; do
		read -r l <"$s" 2>/dev/null || continue
		set -- ${l##*) }
		[ "$2" = "$PPID" ] && echo "${s%/stat}"
	done
}
echo 1..1
a=$(kids)
i=0
while [ $i -lt 15 ]; do
	b=$(kids)
	if [ "$a" != "$b" ]; then
		echo "not ok 1 runner children changed:" $a "->" $b
		exit 1
	fi
	sleep 0.1
	i=$((i + 1))
done
echo "ok 1 runner children unchanged:" $a
PROG
chmod +x "$q/quiet"
rc=0
TESTDIR=$q TEST_TIMEOUT=60 "$busybox" sh "$runner" >"$tmp/quiet.out" 2>&1 || rc=$?
if [ "$rc" = 0 ] && grep -q '^ok 1 runner children unchanged' "$tmp/quiet.out"; then
	ok "no process started by the runner while a program runs"
else
	mapfile -t d <"$tmp/quiet.out"
	not_ok "no process started by the runner while a program runs" "${d[@]}"
fi

echo "1..$n"
[ "$failed" -eq 0 ]

#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# example-NAME: run examples/NAME (next to this script) in the VM and report
# it as one TAP test, its output as diagnostics.  Installed once per example
# by tests/examples/tests.mk; the name says which.  Exit status 0 passed,
# 1 failed, 4 skipped (no /dev/cowdup), as scripts/guest-run-tests expects.
name=${0##*/}
name=${name#example-}
dir=$(cd "$(dirname "$0")" && pwd)/examples
echo "1..1"
out=$(cd "${TMPDIR:-/tmp}" && "$dir/$name" 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
case $rc in
0) echo "ok 1 - examples/$name" ;;
4) echo "ok 1 - examples/$name # SKIP /dev/cowdup not available"; exit 4 ;;
*) echo "not ok 1 - examples/$name (exit status $rc)"; exit 1 ;;
esac

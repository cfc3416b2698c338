#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Host test (TAP): bindings/python/cowdup.py loads libcowdup (the tree's
# build/lib/libcowdup.so.0) with the host's python3 and behaves without a
# device: available() is False, dup() raises OSError with the open errno.
# The binding's real test (bindings/python/test_cowdup.py) needs the
# device and runs in the Debian VM of `make check-packages`.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
lib=${BUILD:-$src/build}/lib/libcowdup.so.0
if ! command -v python3 >/dev/null 2>&1; then
	echo "1..0 # SKIP no python3"; exit 4
fi
if [ ! -f "$lib" ]; then
	echo "1..0 # SKIP $lib not built (make lib)"; exit 4
fi
if [ -e /dev/cowdup ]; then
	echo "1..0 # SKIP /dev/cowdup exists here (the VM test covers it)"; exit 4
fi
COWDUP_LIBRARY=$lib PYTHONPATH=$src/bindings/python exec python3 - <<'PY'
import errno, sys
import cowdup
n = 0
fail = 0
def check(cond, name):
    global n, fail
    n += 1
    fail |= not cond
    print(("ok" if cond else "not ok") + " %d - %s" % (n, name))
check(cowdup.available() is False, "available() is False without /dev/cowdup")
try:
    cowdup.dup(bytearray(10))
    check(False, "dup() raises OSError without the device")
except OSError as e:
    check(e.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO), "dup() raises OSError(%s)" % errno.errorcode.get(e.errno))
check(cowdup._pages(4097, 4096) == (4096, 8192), "a buffer's whole pages")
try:
    cowdup.restore(bytearray(10), bytearray(10))
    check(False, "restore() refuses unaligned buffers")
except ValueError:
    check(True, "restore() refuses unaligned buffers")
print("1..%d" % n)
sys.exit(fail)
PY

#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""TAP test of the cowdup Python binding; needs /dev/cowdup (run in the
Debian VM of `make check-packages`, with python3 and python3-numpy).
Exit 0 all passed, 1 a failure, 4 skipped (no device)."""

import array
import mmap
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cowdup  # noqa: E402

n = 0
failed = 0


def check(cond, name):
    global n, failed
    n += 1
    if not cond:
        failed += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n, name), flush=True)


if not cowdup.available():
    print("1..0 # SKIP /dev/cowdup not usable")
    sys.exit(4)

PS = cowdup.PAGE_SIZE
inf = cowdup.info()
check(inf.api_version >= 1 and "dup_anon" in inf.features, "info(): %r" % (inf,))

# A bytearray in the middle of the heap: not page aligned.
src = bytearray(b"cowdup!" * 3000)
copy = cowdup.dup(src)
check(isinstance(copy, memoryview) and len(copy) == len(src) and bytes(copy) == bytes(src),
      "dup(bytearray) reads what the source held")
copy[0:6] = b"COPIED"
src[-6:] = b"SOURCE"
check(bytes(src[:6]) == b"cowdup" and bytes(copy[-6:]) != b"SOURCE" and bytes(copy[:6]) == b"COPIED",
      "writes to either side are invisible to the other")

# Read-only source: bytes gives a read-only view.
ro = cowdup.dup(b"immutable" * 1000)
check(ro.readonly and bytes(ro[:9]) == b"immutable", "dup(bytes) is a read-only view")

# Format and shape are kept.
arr = array.array("d", range(5000))
dv = cowdup.dup(arr)
check(dv.format == "d" and dv.shape == (5000,) and dv[4999] == 4999.0, "dup(array('d')) keeps format and shape")

# Page-aligned memory: page states and counts.
m = cowdup.alloc(16 * PS)
for i in range(16):
    m[i * PS] = i + 1
snap = cowdup.dup(m)
st = cowdup.stat(m)
check(st.nr_shared == 16, "stat() after dup: 16 shared pages (%r)" % (st,))
states = cowdup.pagestate(snap)
check(len(states) == 16 and all(s & cowdup.PAGE_STATE_MASK == cowdup.PAGE_SHARED for s in states),
      "pagestate() of the copy: all SHARED")
m[0] = 99
check(cowdup.pagestate(m)[0] & cowdup.PAGE_STATE_MASK == cowdup.PAGE_EXCLUSIVE,
      "a written page is EXCLUSIVE again")

# Shared memory (mmap.mmap(-1, n) is MAP_SHARED): a second view.
sh = mmap.mmap(-1, 4 * PS)
shv = cowdup.dup(sh)
shv[0:5] = b"hello"
check(sh[0:5] == b"hello" and
      cowdup.pagestate(sh)[0] & cowdup.PAGE_STATE_MASK == cowdup.PAGE_FILE,
      "dup() of a MAP_SHARED mmap is a second view of the same memory")
del shv

# restore(): the live region reads the snapshot again.
for i in range(16):
    m[i * PS] = 0xEE
cowdup.restore(m, snap)
check(all(m[i * PS] == i + 1 for i in range(16)), "restore() brings the snapshot back")
try:
    cowdup.restore(bytearray(10), snap)
    check(False, "restore() refuses an unaligned live buffer")
except ValueError:
    check(True, "restore() refuses an unaligned live buffer")

# Errors are OSError with errno.
try:
    cowdup.dup(memoryview(m), dst=None, flags=cowdup.FIXED | cowdup.FIXED_NOREPLACE)
    check(False, "both placement flags: EINVAL")
except OSError as e:
    check(e.errno == 22, "both placement flags: OSError EINVAL (%s)" % e)

# The copy is unmapped when the last user is gone.
def mapped(addr):
    with open("/proc/self/maps") as f:
        for line in f:
            lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
            if lo <= addr < hi:
                return True
    return False


import ctypes  # noqa: E402
tmp = cowdup.dup(cowdup.alloc(64 * PS))
addr = ctypes.addressof(ctypes.c_char.from_buffer(tmp))
was = mapped(addr)
del tmp
check(was and not mapped(addr), "the copy is unmapped once its memoryview is gone")

try:
    import numpy as np
except ImportError:
    np = None
if np is None:
    n += 1
    print("ok %d - numpy # SKIP python3-numpy not installed" % n)
else:
    a = np.arange(1 << 18, dtype=np.float64)  # 2 MiB
    view = cowdup.dup(a)
    b = np.frombuffer(view, dtype=a.dtype)
    check(np.array_equal(a, b), "numpy.frombuffer(dup(array)) equals the array")
    before = cowdup.stat(a)
    a[0] = -1.0
    b[1] = -2.0
    check(b[0] == 0.0 and a[1] == 1.0, "numpy: writes stay on their side")
    check(before.nr_shared >= (a.nbytes // PS), "numpy: the dup shared the array's pages (%r)" % (before,))
    del view
    check(float(b.sum()) == float(np.arange(1 << 18, dtype=np.float64).sum()) - 1.0 - 2.0,
          "numpy: the array keeps its copy mapped after the view is dropped")

print("1..%d" % n)
sys.exit(1 if failed else 0)

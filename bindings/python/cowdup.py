# SPDX-License-Identifier: LGPL-2.1-or-later
"""cowdup: copy-on-write duplicates of this process's own memory.

A ctypes binding of libcowdup (no compiled extension): it needs
libcowdup.so.0 (Debian package libcowdup0) and the cowdup module
(/dev/cowdup, package cowdup-dkms).

    import cowdup, numpy as np
    a = np.arange(1 << 20, dtype=np.float64)
    snap = cowdup.dup(a)                 # nothing copied yet
    b = np.frombuffer(snap, dtype=a.dtype)
    a[0] = 42                            # copies one page; b[0] is still 0.0

dup() duplicates the whole pages that hold the buffer (the copy sits at
the same offset in its first page), so any buffer works: bytes,
bytearray, array.array, mmap, numpy arrays, memoryviews of them.  Private
memory gives a copy; shared memory (mmap.mmap(-1, n) is MAP_SHARED, files
mapped shared) gives a second view of the same memory, as fork() does.  The
returned memoryview keeps the copy mapped; it is unmapped when the view
and everything made from it (numpy arrays included) are gone.

restore(), pagestate() and stat() work on pages: restore() wants a live
buffer that starts on a page boundary and covers whole pages, as alloc()
returns, because it replaces those pages entirely.

Errors are OSError with the errno of the library (ENOENT: no module
loaded, EACCES: not in the cowdup group, EINVAL, ENOMEM...).
Set COWDUP_LIBRARY to load another libcowdup.
"""

import collections
import ctypes
import ctypes.util
import mmap
import os

__all__ = ["dup", "restore", "pagestate", "stat", "info", "available",
           "alloc", "PAGE_SIZE", "Stat", "Info", "PAGE_NONE", "PAGE_ZERO",
           "PAGE_SHARED", "PAGE_EXCLUSIVE", "PAGE_FILE", "PAGE_SWAP",
           "PAGE_HUGE", "PAGE_STATE_MASK", "FIXED", "FIXED_NOREPLACE",
           "FEATURES"]

PAGE_SIZE = mmap.PAGESIZE

# <linux/cowdup.h>
FIXED = 1 << 0
FIXED_NOREPLACE = 1 << 1
PAGE_NONE, PAGE_ZERO, PAGE_SHARED, PAGE_EXCLUSIVE, PAGE_FILE, PAGE_SWAP = range(6)
PAGE_STATE_MASK = 0x0F
PAGE_HUGE = 0x80
FEATURES = {
    "dup_anon": 1 << 0,
    "dup_file": 1 << 1,
    "dup_shared": 1 << 2,
    "hugetlb": 1 << 3,
    "thp_pmd": 1 << 4,
    "query": 1 << 5,
}

Stat = collections.namedtuple(
    "Stat", "nr_none nr_zero nr_shared nr_exclusive nr_file nr_swap")
Info = collections.namedtuple("Info", "api_version dup_flags features")


class _CStat(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in Stat._fields]


class _CInfo(ctypes.Structure):
    _fields_ = [("size", ctypes.c_uint64), ("api_version", ctypes.c_uint64),
                ("dup_flags", ctypes.c_uint64), ("features", ctypes.c_uint64)]


class _PyBuffer(ctypes.Structure):  # Py_buffer, stable since Python 3.3
    _fields_ = [("buf", ctypes.c_void_p), ("obj", ctypes.py_object),
                ("len", ctypes.c_ssize_t), ("itemsize", ctypes.c_ssize_t),
                ("readonly", ctypes.c_int), ("ndim", ctypes.c_int),
                ("format", ctypes.c_char_p), ("shape", ctypes.c_void_p),
                ("strides", ctypes.c_void_p), ("suboffsets", ctypes.c_void_p),
                ("internal", ctypes.c_void_p)]


def _load():
    name = os.environ.get("COWDUP_LIBRARY") or ctypes.util.find_library("cowdup") \
        or "libcowdup.so.0"
    lib = ctypes.CDLL(name, use_errno=True)
    vp, sz = ctypes.c_void_p, ctypes.c_size_t
    lib.cowdup.argtypes = [vp, sz, vp, ctypes.c_uint]
    lib.cowdup.restype = vp
    lib.cowdup_restore.argtypes = [vp, vp, sz]
    lib.cowdup_pagestate.argtypes = [vp, sz, ctypes.POINTER(ctypes.c_ubyte)]
    lib.cowdup_stat.argtypes = [vp, sz, ctypes.POINTER(_CStat)]
    lib.cowdup_info.argtypes = [ctypes.POINTER(_CInfo)]
    lib.cowdup_available.argtypes = []
    for f in (lib.cowdup_restore, lib.cowdup_pagestate, lib.cowdup_stat,
              lib.cowdup_info, lib.cowdup_available):
        f.restype = ctypes.c_int
    return lib


_lib = _load()
_libc = ctypes.CDLL(None, use_errno=True)
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.munmap.restype = ctypes.c_int
_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int]
_get_buffer.restype = ctypes.c_int
_release_buffer = ctypes.pythonapi.PyBuffer_Release
_release_buffer.argtypes = [ctypes.POINTER(_PyBuffer)]
_release_buffer.restype = None
_MAP_FAILED = ctypes.c_void_p(-1).value


def _oserror():
    e = ctypes.get_errno()
    return OSError(e, os.strerror(e))


def _address(buf):
    """(address, length, readonly) of a C-contiguous buffer."""
    view = _PyBuffer()
    _get_buffer(buf, ctypes.byref(view), 0)  # PyBUF_SIMPLE; raises BufferError
    try:
        return view.buf or 0, view.len, bool(view.readonly)
    finally:
        _release_buffer(ctypes.byref(view))


def _pages(addr, length):
    """The whole pages holding [addr, addr + length): (start, length)."""
    start = addr & ~(PAGE_SIZE - 1)
    end = (addr + max(length, 1) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
    return start, end - start


class _Mapping:
    """Owns a copy made by cowdup(); unmaps it when the last user is gone."""

    def __init__(self, addr, length):
        self.addr, self.length = addr, length

    def __del__(self):
        if self.addr is not None and _libc is not None:
            _libc.munmap(self.addr, self.length)
            self.addr = None


def dup(buffer, dst=None, flags=0):
    """Duplicate the memory of `buffer` copy-on-write; return a memoryview.

    The view has the buffer's length, format and shape and reads what the
    buffer held at the call; from then on writes to either side are
    invisible to the other (for private memory; shared memory gives a second
    view, as fork() does).  Read-only for a read-only buffer.  `dst` and
    `flags` (FIXED, FIXED_NOREPLACE) place the copy of the whole pages as
    cowdup(3) does; mind that FIXED replaces what is mapped there.
    """
    src = memoryview(buffer)
    if not src.c_contiguous:
        raise ValueError("cowdup.dup: the buffer must be C-contiguous")
    addr, length, readonly = _address(src)
    start, span = _pages(addr, length)
    copy = _lib.cowdup(start, span, dst, flags)
    if copy is None or copy == _MAP_FAILED:
        raise _oserror()
    owner = _Mapping(copy, span)
    raw = (ctypes.c_ubyte * length).from_address(copy + (addr - start)) if length \
        else (ctypes.c_ubyte * 0)()
    raw._cowdup_mapping = owner  # the mapping lives as long as the array
    view = memoryview(raw).cast("B")
    if src.format != "B" or src.ndim != 1:
        view = view.cast(src.format, src.shape) if src.ndim else view.cast(src.format)
    return view.toreadonly() if readonly else view


def alloc(nbytes):
    """Fresh zeroed private anonymous memory of whole pages (a writable mmap).

    A buffer restore() accepts as its live side.  (A plain mmap.mmap(-1, n)
    is MAP_SHARED: its dup() is a second view of the same memory, as after
    fork(), not a copy.)
    """
    return mmap.mmap(-1, max(PAGE_SIZE, -(-nbytes // PAGE_SIZE) * PAGE_SIZE),
                     flags=mmap.MAP_PRIVATE)


def restore(live, snapshot):
    """Make `live` read exactly what `snapshot` reads now (cowdup_restore(3)).

    Both must start on a page boundary and `live` must cover whole pages
    (alloc() memory, or a dup() of it): the pages are replaced whole.
    """
    laddr, llen, lro = _address(memoryview(live))
    saddr, slen, _ = _address(memoryview(snapshot))
    if lro:
        raise TypeError("cowdup.restore: the live buffer is read-only")
    if laddr % PAGE_SIZE or saddr % PAGE_SIZE or llen % PAGE_SIZE or llen == 0:
        raise ValueError("cowdup.restore: buffers must start on a page boundary "
                         "and cover whole pages (use cowdup.alloc())")
    if slen < llen:
        raise ValueError("cowdup.restore: the snapshot is shorter than the live buffer")
    if _lib.cowdup_restore(laddr, saddr, llen) != 0:
        raise _oserror()


def pagestate(buffer):
    """Page states (PAGE_*, or-ed with PAGE_HUGE) of the pages of `buffer`, as bytes."""
    addr, length, _ = _address(memoryview(buffer))
    start, span = _pages(addr, length)
    vec = (ctypes.c_ubyte * (span // PAGE_SIZE))()
    if _lib.cowdup_pagestate(start, span, vec) != 0:
        raise _oserror()
    return bytes(vec)


def stat(buffer):
    """Count the pages of `buffer` by state: a Stat (cowdup_stat(3))."""
    addr, length, _ = _address(memoryview(buffer))
    start, span = _pages(addr, length)
    st = _CStat()
    if _lib.cowdup_stat(start, span, ctypes.byref(st)) != 0:
        raise _oserror()
    return Stat(*(getattr(st, name) for name in Stat._fields))


def info():
    """What the loaded module supports: Info(api_version, dup_flags, features)."""
    ci = _CInfo()
    if _lib.cowdup_info(ctypes.byref(ci)) != 0:
        raise _oserror()
    return Info(ci.api_version, ci.dup_flags,
                frozenset(n for n, bit in FEATURES.items() if ci.features & bit))


def available():
    """True when /dev/cowdup can be used by this process."""
    return bool(_lib.cowdup_available())



"""Host memory that, once freed, stays with the process for the next step's arrays (glibc's malloc).

A training step allocates the same arrays every time: activations, gradients, the kernels' buffers.
By default glibc's malloc maps blocks of more than 128 KiB (raised, adaptively, to the largest one
freed so far) straight from the kernel and unmaps them when freed, and it hands the top of its heap
back once more than twice that lies free there. Either way the next step's arrays come back as fresh
pages, and every 4 KiB page costs a fault (and the kernel zeroing it) on its first touch: 31,000
faults per step of examples/mnist_resnet.py, about 120 MB, and 215 against 158 ms per step
(`python -m minigrad.bench resnet`, Zen 4, 2 cores, in a VM where a fault is dear).

So, at import, malloc keeps blocks up to 32 MiB (the most glibc allows) on its heap and keeps up to
1 GiB of free heap rather than returning it: the process holds on to its peak, as PyTorch's GPU
caching allocator does, and a step reuses the last step's pages. Nothing changes where malloc is not
glibc's (macOS, Windows, musl, jemalloc or tcmalloc preloaded), nor when MALLOC_MMAP_THRESHOLD_ or
MALLOC_TRIM_THRESHOLD_ is set (the user chose), nor with MINIGRAD_KEEP_FREED_MEMORY=0.
"""
import ctypes
import ctypes.util
import os
import sys

# glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
LARGEST_HEAP_BLOCK = 32 * 1024 * 1024  # glibc refuses a larger mmap threshold on 64-bit
KEPT_FREE_HEAP = 1 << 30

USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def glibc_mallopt():
    """glibc's mallopt, or None where the process's malloc is not glibc's."""
    if not sys.platform.startswith("linux"):
        return None
    preloaded = os.environ.get("LD_PRELOAD", "")
    if "jemalloc" in preloaded or "tcmalloc" in preloaded or "mimalloc" in preloaded:
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # glibc only: musl has mallopt as a stub
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt


def keep_freed_memory():
    """Ask glibc's malloc to keep freed blocks for reuse; True when it took the settings."""
    if os.environ.get("MINIGRAD_KEEP_FREED_MEMORY", "1") == "0" or any(name in os.environ for name in USER_SETTINGS):
        return False
    mallopt = glibc_mallopt()
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, LARGEST_HEAP_BLOCK)) and bool(mallopt(M_TRIM_THRESHOLD, KEPT_FREE_HEAP))

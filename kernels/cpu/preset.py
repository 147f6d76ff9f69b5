"""The one Numba preset every CPU kernel is compiled with, and its bounds-checked serial twin.

fastmath leaves out ``nnan`` and ``ninf``: softmax and the losses must see inf and NaN as they are.
``cache=True`` does not put decorator flags in its cache key, so flags are fixed here, never read
from the environment.
"""
import numba

FASTMATH_FLAGS = {"nsz", "arcp", "contract", "afn", "reassoc"}

cpu_kernel = numba.njit(parallel=True, fastmath=FASTMATH_FLAGS, cache=True, nogil=True)

# Helpers called from inside a parallel kernel (they hold no prange of their own): the same
# contract, compiled serially, so Numba does not warn that it found nothing to parallelise.
serial_kernel = numba.njit(fastmath=FASTMATH_FLAGS, cache=True, nogil=True)

# A serial helper that takes a register tile as arguments (sixteen SIMD vectors): inlined into its
# caller in Numba's IR, so the vectors stay in registers instead of going through a call
# (measured: as a call, the matmul was 2-4% slower).
inlined_kernel = numba.njit(fastmath=FASTMATH_FLAGS, cache=True, nogil=True, inline="always")


def inlined_twin(kernel):
    """A serial kernel's function compiled a second time, to be inlined into the callers that take
    this name, while others call the first one. Not cached: it compiles inside each caller, whose
    cache holds it, and a cached twin would share its original's cache entries (keyed by the
    function alone)."""
    return numba.njit(fastmath=FASTMATH_FLAGS, nogil=True, inline="always")(kernel.py_func)


def checked_twin(kernel):
    """The same kernel compiled serially with bounds checks, for tests.

    ``prange`` swallows index errors in parallel code; compiled without ``parallel`` it is a plain
    ``range`` and ``boundscheck=True`` turns an out-of-range access into an IndexError. Not cached:
    the cache would not tell the two variants apart.
    """
    # simd.thread_count calls the threading layer, which only a parallel kernel launches: a twin
    # called before any parallel kernel ran would call into nothing. get_num_threads launches it.
    numba.get_num_threads()
    return numba.njit(boundscheck=True, fastmath=FASTMATH_FLAGS, cache=False)(kernel.py_func)

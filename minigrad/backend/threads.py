"""How many threads the CPU kernels run on (Numba's parallel loops), for callers outside the backend."""
import os


def set_thread_count(count):
    """Run the CPU kernels on ``count`` threads (at most NUMBA_NUM_THREADS, the pool Numba started with)."""
    import numba

    numba.set_num_threads(max(1, min(int(count), numba.config.NUMBA_NUM_THREADS)))


def thread_count():
    import numba

    return numba.get_num_threads()


def usable_cores():
    """The cores this process may run on (its affinity, which `mpiexec -bind-to core` narrows)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1

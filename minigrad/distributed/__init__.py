"""``mg.distributed``: several processes training one model, on MPI (torch.distributed's names).

    import minigrad as mg
    mg.distributed.init()                  # under mpiexec: this rank of the job; else rank 0 of 1
    rank, size = mg.distributed.rank(), mg.distributed.world_size()
    mg.distributed.all_reduce(tensor, op=mg.distributed.ReduceOp.AVG)

Launch with ``mpiexec -n 4 python train.py`` (``pip install -e ".[distributed]"`` brings mpi4py
and MPICH). Run as plain ``python train.py``, ``init()`` is a no-op, the process is rank 0 of 1,
every collective leaves its tensor as it is, and no MPI is needed or imported: the same script runs
both ways. ``import minigrad`` never imports MPI; ``init()`` does, and only under a launcher.

A rank that raises ends the whole job (its rank and traceback printed, then MPI_Abort), and a
collective that waits longer than the timeout (``init(timeout=...)``, or the environment variable
MINIGRAD_DISTRIBUTED_TIMEOUT in seconds; 30 minutes by default) aborts it too: faults.py.

The files, from the bottom up:

    launch.py        was this process started by mpiexec; mpi4py's MPI module, imported on demand
    faults.py        an uncaught exception aborts the job; the abort message
    world.py         the communicator, rank, world size and timeout (internal API for DDP)
    work.py          Work, and the polled wait with its timeout
    cuda_staging.py  GPU arrays: handed to a CUDA-aware MPI, else staged through pinned host memory
    collectives.py   start_all_reduce / start_broadcast / start_all_gather / start_barrier on raw arrays
    tensors.py       the public collectives on tensors, ReduceOp
    objects.py       all_gather_object, broadcast_object_list
"""
from . import launch, world
from .objects import all_gather_object, broadcast_object_list
from .tensors import ReduceOp, _check_group, all_gather, all_reduce, barrier, broadcast
from .work import Work


def init(timeout=None):
    """Join the job: rank and world size from MPI under a launcher, else a single process (rank 0 of 1).

    Idempotent. ``timeout`` (a datetime.timedelta, as torch's, or seconds) bounds every collective's
    wait; default: MINIGRAD_DISTRIBUTED_TIMEOUT seconds, else 1800.
    """
    world.start(timeout, "init")


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       group_name="", pg_options=None, device_id=None):
    """torch.distributed.init_process_group on MPI: ``backend`` "mpi" (or None); the launcher, not
    ``init_method``/``store``, tells each process its rank; ``world_size``/``rank``, when given, must agree."""
    if backend is not None and str(backend).lower() != "mpi":
        raise ValueError(f"init_process_group: backend={backend!r} is not available; minigrad.distributed runs "
                         "on MPI only: pass backend=\"mpi\" (or None) and launch with mpiexec")
    if init_method not in (None, "env://") or store is not None:
        raise ValueError("init_process_group: init_method and store are not used: the MPI launcher (mpiexec) "
                         f"tells each process its rank; got init_method={init_method!r}, store={store!r}")
    world.start(timeout, "init_process_group")
    for name, given, actual in (("world_size", world_size, world.world_size()), ("rank", rank, world.rank())):
        if given != -1 and given != actual:
            raise ValueError(f"init_process_group: {name}={given}, but the launcher made this process "
                             f"{name} {actual}")


def is_available():
    """True: the single-process path needs nothing; the launched one needs mpi4py (is_mpi_available)."""
    return True


def is_mpi_available():
    """True if mpi4py is installed (checked without importing it, which would start MPI)."""
    return launch.mpi_installed()


def is_initialized():
    return world.initialized()


def destroy_process_group(group=None):
    """Leave the job (free minigrad's communicator); ``init()`` may be called again afterwards."""
    if group is not None:
        raise ValueError(f"destroy_process_group: group={group!r}; only the default group exists (pass None)")
    world.stop()


def get_backend(group=None):
    _require_initialized("get_backend")
    _check_group("get_backend", group)
    return "mpi"


def rank():
    """This process's rank, 0 to world_size() - 1 (0 when single-process)."""
    _require_initialized("rank")
    return world.rank()


def world_size():
    """How many processes the job has (1 when single-process)."""
    _require_initialized("world_size")
    return world.world_size()


def get_rank(group=None):
    """torch's name for rank()."""
    _require_initialized("get_rank")
    _check_group("get_rank", group)
    return world.rank()


def get_world_size(group=None):
    """torch's name for world_size()."""
    _require_initialized("get_world_size")
    _check_group("get_world_size", group)
    return world.world_size()


def _require_initialized(function):
    if not world.initialized():
        raise ValueError(f"{function}: Default process group has not been initialized, please make sure to call "
                         "init_process_group (minigrad.distributed.init()).")


__all__ = ["ReduceOp", "Work", "all_gather", "all_gather_object", "all_reduce", "barrier", "broadcast",
           "broadcast_object_list", "destroy_process_group", "get_backend", "get_rank", "get_world_size", "init",
           "init_process_group", "is_available", "is_initialized", "is_mpi_available", "rank", "world_size"]

"""Who this process is among the job's processes: the communicator, the rank, the world size.

One module-level state, set by ``start()`` (what ``mg.distributed.init()`` calls) and cleared by
``stop()``. Single-process (not launched by mpiexec) there is no communicator: rank 0 of 1, and
every collective is the identity. The rest of minigrad (DistributedDataParallel, the sampler)
reads ``communicator()``, ``rank()`` and ``world_size()`` from here; they answer 0 of 1 before
``init()`` too, so a library object built before ``init()`` still works single-process.
"""
import datetime
import os

from .. import backend
from . import faults, launch

DEFAULT_TIMEOUT = 1800.0  # seconds, torch.distributed's default for its non-NCCL backends
TIMEOUT_VARIABLE = "MINIGRAD_DISTRIBUTED_TIMEOUT"


class _World:
    initialized = False
    communicator = None  # a Dup of MPI.COMM_WORLD, so minigrad's messages never meet the user's own
    rank = 0
    world_size = 1
    timeout = DEFAULT_TIMEOUT


_world = _World()


def communicator():
    """The mpi4py communicator of the job, or None when single-process or not initialised."""
    return _world.communicator


def rank():
    return _world.rank


def world_size():
    return _world.world_size


def initialized():
    return _world.initialized


def timeout():
    """Seconds a collective may wait for the other ranks before the job is aborted."""
    return _world.timeout


def timeout_seconds(timeout, function):
    """init's ``timeout`` (a datetime.timedelta, as torch's, or seconds), else the environment's, else 1800."""
    if timeout is None:
        text = os.environ.get(TIMEOUT_VARIABLE)
        if text is None:
            return DEFAULT_TIMEOUT
        try:
            seconds = float(text)
        except ValueError:
            raise ValueError(f"{function}: {TIMEOUT_VARIABLE}={text!r} is not a number of seconds") from None
    elif isinstance(timeout, datetime.timedelta):
        seconds = timeout.total_seconds()
    elif isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        seconds = float(timeout)
    else:
        raise TypeError(f"{function}: timeout must be a datetime.timedelta (or seconds), got {timeout!r}")
    if not seconds > 0:
        raise ValueError(f"{function}: timeout must be positive, got {seconds} s")
    return seconds


def start(timeout=None, function="init"):
    """Join the job (idempotent): MPI's rank and size under a launcher, else rank 0 of 1 without MPI."""
    seconds = timeout_seconds(timeout, function)
    if _world.initialized:
        if timeout is not None:
            _world.timeout = seconds
        return
    if launch.launched_by_mpi():
        MPI = launch.mpi_module()
        _world.communicator = MPI.COMM_WORLD.Dup()
        _world.rank = _world.communicator.Get_rank()
        _world.world_size = _world.communicator.Get_size()
        faults.install_excepthook(_world.communicator, _world.rank, _world.world_size)
        _share_the_cores(_world.communicator, MPI)
    _world.timeout = seconds
    _world.initialized = True


def _share_the_cores(communicator, MPI):
    """Unless NUMBA_NUM_THREADS says otherwise, the ranks on one machine share its cores: each runs
    cores / ranks-here kernel threads (one when mpiexec binds it to a core), as torchrun sets
    OMP_NUM_THREADS=1. Left alone, every rank would start a thread per core, and two ranks on two
    cores would run four threads that wait for each other at every parallel loop's end."""
    if "NUMBA_NUM_THREADS" in os.environ:
        return
    here = communicator.Split_type(MPI.COMM_TYPE_SHARED)
    ranks_here = here.Get_size()
    here.Free()
    backend.set_thread_count(min(backend.usable_cores(), max(1, (os.cpu_count() or 1) // ranks_here)))


def stop():
    """Leave the job: free the communicator, put back the excepthook; init() may be called again."""
    if _world.communicator is not None:
        faults.remove_excepthook()
        _world.communicator.Free()
    _world.communicator, _world.rank, _world.world_size = None, 0, 1
    _world.timeout = DEFAULT_TIMEOUT
    _world.initialized = False

"""Wrappers that run a module on several processes: DistributedDataParallel (MPI, see mg.distributed)."""
from .distributed import DistributedDataParallel  # noqa: F401

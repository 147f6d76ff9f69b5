"""Collectives on any picklable Python objects: all_gather_object, broadcast_object_list (torch's).

For what is not a tensor: every rank's random-number state gathered into one checkpoint, a
configuration broadcast from rank 0. Each object is pickled to bytes; the byte counts go first so
every rank can size its receive buffer, then the bytes. Both steps wait with the fault timeout.
Single-process the objects still make the pickle round trip, so they come back as copies, as they
would from other ranks.
"""
import pickle

import numpy as np

from . import collectives, launch, world
from .tensors import _check_group, _check_initialized
from .work import wait_for


def all_gather_object(object_list, obj, group=None):
    """Set ``object_list[r]`` to rank r's ``obj`` for every rank r (``object_list`` has world_size entries)."""
    _check_initialized("all_gather_object")
    _check_group("all_gather_object", group)
    size = world.world_size()
    if not isinstance(object_list, list) or len(object_list) != size:
        raise ValueError(f"all_gather_object: object_list must be a list of {size} entries (one per rank), "
                         f"got {object_list!r:.80}")
    payload = _pickle("all_gather_object", obj)
    communicator = world.communicator()
    if communicator is None:
        object_list[0] = pickle.loads(payload.tobytes())
        return
    MPI = launch.mpi_module()
    counts = np.zeros(size, dtype=np.int64)
    wait_for([communicator.Iallgather(np.array([payload.size], dtype=np.int64), counts)], "all_gather_object",
             world.timeout())
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    received = np.empty(int(counts.sum()), dtype=np.uint8)
    request = communicator.Iallgatherv([payload, MPI.BYTE], [received, counts.tolist(), offsets.tolist(), MPI.BYTE])
    wait_for([request], "all_gather_object", world.timeout())
    for rank in range(size):
        object_list[rank] = pickle.loads(received[offsets[rank]: offsets[rank] + counts[rank]].tobytes())


def broadcast_object_list(object_list, src=0, group=None, device=None):
    """Replace the entries of ``object_list`` on every rank with those of rank ``src``'s list."""
    _check_initialized("broadcast_object_list")
    _check_group("broadcast_object_list", group)
    collectives.check_rank(src, "broadcast_object_list", "src")
    if not isinstance(object_list, list):
        raise TypeError(f"broadcast_object_list: object_list must be a list, got {type(object_list).__name__}")
    communicator = world.communicator()
    if communicator is None:
        object_list[:] = pickle.loads(_pickle("broadcast_object_list", object_list).tobytes())
        return
    MPI = launch.mpi_module()
    payload = _pickle("broadcast_object_list", object_list) if world.rank() == src else None
    count = np.array([payload.size if payload is not None else 0], dtype=np.int64)
    wait_for([communicator.Ibcast(count, root=src)], "broadcast_object_list", world.timeout())
    if payload is None:
        payload = np.empty(int(count[0]), dtype=np.uint8)
    wait_for([communicator.Ibcast([payload, MPI.BYTE], root=src)], "broadcast_object_list", world.timeout())
    if world.rank() != src:
        values = pickle.loads(payload.tobytes())
        if len(values) != len(object_list):
            raise ValueError(f"broadcast_object_list: rank {src} sent {len(values)} objects, but this rank's "
                             f"object_list has {len(object_list)} entries (they must be the same length)")
        object_list[:] = values


def _pickle(function, obj):
    try:
        return np.frombuffer(bytearray(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)), dtype=np.uint8)
    except Exception as error:
        raise TypeError(f"{function}: the object cannot be pickled: {error}") from error

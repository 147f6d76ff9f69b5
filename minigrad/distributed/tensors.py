"""torch.distributed's collectives on minigrad tensors: all_reduce, broadcast, all_gather, barrier.

Each checks its arguments at the call (naming the function), starts the collective on the
tensor's array (collectives.py) and either waits for it (``async_op=False``: returns None) or
returns the Work (``async_op=True``), as torch's do. The tensor is changed in place, so its
version counter moves, as after any in-place op.
"""
import enum

import numpy as np

from . import collectives, world
from .work import Work


class ReduceOp(enum.Enum):
    """torch.distributed.ReduceOp: how all_reduce combines the ranks' values (AVG: sum / world size)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine ``tensor`` across all ranks with ``op``; every rank ends with the result, in place."""
    array = _array("all_reduce", tensor, group)
    if not isinstance(op, ReduceOp):
        raise TypeError(f"all_reduce: op must be a ReduceOp (ReduceOp.SUM, AVG, PRODUCT, MIN, MAX, ...), got {op!r}")
    _bump(tensor)
    return _result(collectives.start_all_reduce(array, op.value, "all_reduce"), async_op)


def broadcast(tensor, src=0, group=None, async_op=False):
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every other rank, in place."""
    array = _array("broadcast", tensor, group)
    _bump(tensor)
    return _result(collectives.start_broadcast(array, src, "broadcast"), async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Fill ``tensor_list`` (one tensor per rank, shaped as ``tensor``) with every rank's ``tensor``."""
    array = _array("all_gather", tensor, group)
    size = world.world_size()
    if not isinstance(tensor_list, list) or len(tensor_list) != size:
        raise ValueError(f"all_gather: tensor_list must be a list of {size} tensors (one per rank), "
                         f"got {type(tensor_list).__name__} of length {len(tensor_list) if hasattr(tensor_list, '__len__') else '?'}")
    for index, target in enumerate(tensor_list):
        _check_tensor("all_gather", target)
        if tuple(target.shape) != tuple(array.shape) or target.dtype != tensor.dtype or target.device != tensor.device:
            raise ValueError(f"all_gather: tensor_list[{index}] is {tuple(target.shape)} {target.dtype} on "
                             f"{target.device}; it must match the tensor: {tuple(array.shape)} {tensor.dtype} on {tensor.device}")
    gathered = type(array).empty((size,) + tuple(array.shape), array.dtype) if not isinstance(array, np.ndarray) \
        else np.empty((size,) + array.shape, array.dtype)

    def fill():
        for index, target in enumerate(tensor_list):
            target.data[...] = gathered[index]
            _bump(target)

    work = collectives.start_all_gather(array, gathered, "all_gather").then(fill)
    return _result(work, async_op)


def barrier(group=None, async_op=False, device_ids=None, timeout=None):
    """Wait until every rank has called barrier (with the fault timeout, or ``timeout`` for this call)."""
    _check_initialized("barrier")
    _check_group("barrier", group)
    work = collectives.start_barrier("barrier")
    if async_op:
        return work
    work.wait(timeout)
    return None


def _result(work, async_op):
    if async_op:
        return work
    work.wait()
    return None


def _array(function, tensor, group):
    _check_initialized(function)
    _check_group(function, group)
    _check_tensor(function, tensor)
    collectives.check_array(tensor.data, function)
    return tensor.data


def _check_tensor(function, tensor):
    from ..tensor import Tensor  # here, not at the top: minigrad's __init__ imports this package

    if not isinstance(tensor, Tensor):
        raise TypeError(f"{function}: expected a minigrad Tensor, got {type(tensor).__name__}")


def _check_group(function, group):
    if group is not None:
        raise ValueError(f"{function}: group={group!r}; minigrad.distributed has only the default group "
                         "(every rank): pass group=None")


def _check_initialized(function):
    if not world.initialized():
        raise ValueError(f"{function}: Default process group has not been initialized, please make sure to "
                         "call init_process_group (minigrad.distributed.init()).")


def _bump(tensor):
    tensor._version_counter.value += 1


__all__ = ["ReduceOp", "Work", "all_gather", "all_reduce", "barrier", "broadcast"]

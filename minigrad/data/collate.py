"""Samples into batches: ``default_collate`` and ``default_convert``, as torch.utils.data's, giving mg.Tensors.

A batch of tensors, NumPy arrays or numbers becomes one tensor with a new first dimension; dicts,
named tuples, lists and tuples are collated field by field (a tuple comes back as a list, as in
PyTorch); strings and bytes are left as a list. Dtypes minigrad does not hold are converted as
``mg.tensor`` would (uint8 -> int64, float16 -> float32).
"""
import collections.abc
import copy
import re

import numpy as np

from .. import dtypes
from ..creation import from_numpy
from ..tensor import Tensor

# NumPy dtypes of strings and Python objects (torch's np_str_obj_array_pattern): never made tensors.
_STRING_OR_OBJECT = re.compile(r"[SaUO]")
_ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def batch_dtype(array, where="DataLoader"):
    """The dtype minigrad hands ``array``'s data out as (its own, or what mg.tensor would infer)."""
    if array.dtype in dtypes.supported:
        return array.dtype
    try:
        return dtypes.inferred_dtype(array)
    except TypeError:
        raise TypeError(f"{where}: dtype {array.dtype} cannot be held by a minigrad tensor") from None


def tensor_from(array):
    """A tensor around ``array`` (shared when minigrad holds its dtype, else a converted copy)."""
    dtype = batch_dtype(array, "default_collate")
    return from_numpy(array if array.dtype == dtype else array.astype(dtype))


def host_array(tensor):
    return tensor.detach().cpu().data


def default_collate(batch):
    """A list of samples as one batch: tensors/arrays/numbers stacked along a new first dimension."""
    element = batch[0]
    if isinstance(element, Tensor):
        stacked = tensor_from(_stack([host_array(tensor) for tensor in batch]))
        return stacked if element.device == "cpu" else stacked.to(element.device)
    if isinstance(element, np.ndarray):
        if _STRING_OR_OBJECT.search(element.dtype.str):
            raise TypeError(_ERROR.format(element.dtype))
        return tensor_from(_stack(batch))
    if isinstance(element, (np.bool_, np.number)):
        return tensor_from(np.array(batch))
    if isinstance(element, bool):
        return from_numpy(np.array(batch, dtype=np.bool_))
    if isinstance(element, float):
        return from_numpy(np.array(batch, dtype=np.float64))
    if isinstance(element, int):
        return from_numpy(np.array(batch, dtype=np.int64))
    if isinstance(element, (str, bytes)):
        return batch
    if isinstance(element, collections.abc.Mapping):
        return _rebuild_mapping(element, {key: default_collate([sample[key] for sample in batch])
                                          for key in element})
    if isinstance(element, tuple) and hasattr(element, "_fields"):  # a named tuple keeps its type
        return type(element)(*(default_collate(list(samples)) for samples in zip(*batch)))
    if isinstance(element, collections.abc.Sequence):
        size = len(element)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("default_collate: each element in list of batch should be of equal size")
        fields = [default_collate(list(samples)) for samples in zip(*batch)]
        return fields if isinstance(element, tuple) else _rebuild_sequence(element, fields)
    raise TypeError(_ERROR.format(type(element)))


def default_convert(data):
    """One sample's NumPy arrays (and those inside dicts, lists, tuples) as tensors; the rest unchanged.

    What the DataLoader applies to each sample when ``batch_size=None`` turns batching off."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if _STRING_OR_OBJECT.search(data.dtype.str) else tensor_from(data)
    if isinstance(data, (np.bool_, np.number)):
        return tensor_from(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(field) for field in data))
    if isinstance(data, tuple):
        return [default_convert(field) for field in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(field) for field in data])
    return data


def _stack(arrays):
    first = arrays[0].shape
    for position, array in enumerate(arrays):
        if array.shape != first:
            raise RuntimeError(
                f"default_collate: stack expects each sample to be of equal size, but got {first} at entry 0 "
                f"and {array.shape} at entry {position}"
            )
    return np.stack(arrays)


def _rebuild_mapping(original, values):
    """A mapping of ``original``'s type holding ``values`` (a plain dict where the type cannot be rebuilt)."""
    try:
        if isinstance(original, collections.abc.MutableMapping):
            clone = copy.copy(original)
            clone.update(values)
            return clone
        return type(original)(values)
    except TypeError:
        return values


def _rebuild_sequence(original, fields):
    """A sequence of ``original``'s type holding ``fields`` (a list where the type cannot be rebuilt)."""
    try:
        if isinstance(original, collections.abc.MutableSequence):
            clone = copy.copy(original)
            for position, field in enumerate(fields):
                clone[position] = field
            return clone
        return type(original)(fields)
    except TypeError:
        return fields

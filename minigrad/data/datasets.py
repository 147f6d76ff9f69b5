"""Map-style data sets, as torch.utils.data: Dataset, TensorDataset, Subset, ConcatDataset, random_split.

A map-style data set is anything with ``__getitem__(index)`` and ``__len__``. A TensorDataset (and a
Subset of one, which random_split makes) also tells the DataLoader its arrays (``columns``), so a
batch is gathered with one ``np.take`` per array instead of one ``__getitem__`` per sample.
"""
import bisect
import itertools
import math
import numbers
import warnings

import numpy as np

from ..tensor import Tensor
from .collate import host_array
from .samplers import random_generator


class Dataset:
    """A map-style data set: ``dataset[index]`` is one sample; subclasses give ``__getitem__`` and ``__len__``.

    ``first + second`` is their ConcatDataset."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Dataset should implement __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples that are rows of tensors sharing their first dimension: ``dataset[i]`` is ``(t[i] for t in tensors)``.

    Takes mg.Tensors or NumPy arrays (a row of an array is an array). A DataLoader over it gathers
    whole batches at once, and yields a list of tensors per batch, as PyTorch's default collate does.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise TypeError("TensorDataset: expected at least one tensor")
        for position, tensor in enumerate(tensors):
            if not isinstance(tensor, (Tensor, np.ndarray)):
                raise TypeError(f"TensorDataset: tensor {position} is a {type(tensor).__name__}, "
                                "expected an mg.Tensor or a numpy.ndarray")
        shapes = [tuple(tensor.shape) for tensor in tensors]
        if any(len(shape) == 0 for shape in shapes) or len({shape[0] for shape in shapes}) != 1:
            raise ValueError("TensorDataset: size mismatch between tensors: they must share their first "
                             "dimension, got shapes " + ", ".join(str(shape) for shape in shapes))
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(tensor[index] for tensor in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]

    def columns(self):
        """The arrays behind the samples and None (no index map): the DataLoader's fast path."""
        return tuple(host_array(tensor) if isinstance(tensor, Tensor) else tensor for tensor in self.tensors), None


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order: ``subset[i]`` is ``dataset[indices[i]]``."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[position] for position in index]]
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """Data sets one after the other; ``cumulative_sizes[k]`` is the total length of the first k + 1."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        self.cumulative_sizes = list(itertools.accumulate(len(dataset) for dataset in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        if index < 0:
            if -index > len(self):
                raise ValueError(f"ConcatDataset: absolute value of index should not exceed dataset length "
                                 f"({len(self)}), got {index}")
            index += len(self)
        part = bisect.bisect_right(self.cumulative_sizes, index)
        if part == len(self.datasets):
            raise IndexError(f"ConcatDataset: index {index} is out of range for a dataset of length {len(self)}")
        return self.datasets[part][index - (self.cumulative_sizes[part - 1] if part else 0)]


def columns(dataset):
    """``(arrays, index map or None)`` when ``dataset``'s samples are rows of arrays, else None.

    A TensorDataset whose ``__getitem__`` is TensorDataset's own has them; a Subset of such a data
    set has the same arrays with its indices mapped through the parent's."""
    if isinstance(dataset, TensorDataset) and type(dataset).__getitem__ is TensorDataset.__getitem__:
        return dataset.columns()
    if type(dataset) is Subset:
        parent = columns(dataset.dataset)
        if parent is not None:
            arrays, parent_map = parent
            try:
                indices = np.asarray(dataset.indices, dtype=np.int64)
            except (TypeError, ValueError):
                return None
            return arrays, indices if parent_map is None else parent_map[indices]
    return None


def random_split(dataset, lengths, generator=None):
    """Non-overlapping random Subsets of the given lengths (counts, or fractions summing to 1), as torch.

    Fractions give ``floor(fraction * len(dataset))`` samples each, and what is left is handed out one
    at a time to the splits in turn. ``generator``: a seed (int) or a ``numpy.random.Generator``; by
    default minigrad's generator, so ``mg.manual_seed`` makes the split repeatable.
    """
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for position, fraction in enumerate(lengths):
            if fraction < 0 or fraction > 1:
                raise ValueError(f"random_split: fraction at index {position} is not between 0 and 1: {fraction}")
            counts.append(math.floor(len(dataset) * fraction))
        for turn in range(len(dataset) - sum(counts)):
            counts[turn % len(counts)] += 1
        for position, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"random_split: length of split at index {position} is 0. "
                              "This might result in an empty dataset.", stacklevel=2)
        lengths = counts
    if not all(isinstance(length, numbers.Integral) and length >= 0 for length in lengths):
        raise ValueError(f"random_split: lengths must be non-negative integers or fractions summing to 1, "
                         f"got {lengths}")
    if sum(lengths) != len(dataset):
        raise ValueError(f"random_split: sum of input lengths ({sum(lengths)}) does not equal the length of "
                         f"the input dataset ({len(dataset)})")
    order = random_generator(generator, "random_split").permutation(sum(lengths)).tolist()
    return [Subset(dataset, order[offset - length:offset])
            for offset, length in zip(itertools.accumulate(lengths), lengths)]

"""DistributedSampler, as torch.utils.data.DistributedSampler: each rank's disjoint share of a data set.

    sampler = mg.data.DistributedSampler(dataset)              # num_replicas, rank from mg.distributed
    loader = mg.data.DataLoader(dataset, batch_size=50, sampler=sampler, drop_last=True)
    for epoch in range(epochs):
        loader.set_epoch(epoch)                                # or sampler.set_epoch(epoch), as torch
        for x, y in loader:
            ...

Every rank builds the same list of indices (shuffled by ``(seed, epoch)`` alone, so the ranks agree
without talking), pads it to a multiple of ``num_replicas`` by repeating it from its start (or, with
``drop_last``, cuts its tail), and takes every ``num_replicas``-th index starting at its ``rank``.
"""
import math
import numbers

import numpy as np

from ..tensor import Tensor
from .samplers import Sampler


class DistributedSampler(Sampler):
    """The indices of one rank's shard, with PyTorch's arguments, lengths and padding.

    ``num_samples`` is ``ceil(len(dataset) / num_replicas)`` (with ``drop_last`` and a length that
    does not divide, ``ceil((len - num_replicas) / num_replicas)``: the tail is dropped), and
    ``total_size = num_samples * num_replicas``. Without ``drop_last`` the list is padded to
    ``total_size`` with its own first indices, repeated as often as needed when the data set is
    shorter than the padding, so some samples appear twice in an epoch, as in PyTorch. This rank's
    indices are ``indices[rank:total_size:num_replicas]``; ``len(sampler)`` is ``num_samples``.

    ``num_replicas`` and ``rank`` default to ``mg.distributed.world_size()`` and ``rank()``.
    Iterating does not advance the epoch (as in PyTorch): call ``set_epoch(e)`` (or the DataLoader's
    ``set_epoch``) before each epoch, else every epoch repeats the same order.

    Differs from PyTorch: the shuffle is NumPy's ``default_rng([seed, epoch]).permutation`` (as
    minigrad's RandomSampler), so it cannot equal torch's ``randperm`` under ``manual_seed(seed +
    epoch)`` bit for bit; it is likewise a function of ``(seed, epoch)`` only, the same on every
    rank, and here ``(seed, epoch)`` and ``(seed + 1, epoch - 1)`` give different orders. ``seed``
    and the epoch must be non-negative integers. Without shuffling the indices equal PyTorch's.
    A minigrad extension: ``dataset`` may be the DataLoader's in-memory shorthand, a tuple or list of
    arrays such as ``(images, labels)``, whose samples are its rows (not its two elements).
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None or rank is None:
            # Imported here: the data package must not need mg.distributed (nor MPI) to load.
            from .. import distributed
            num_replicas = distributed.world_size() if num_replicas is None else num_replicas
            rank = distributed.rank() if rank is None else rank
        num_replicas = _integer(num_replicas, "num_replicas")
        rank = _integer(rank, "rank")
        if num_replicas < 1:
            raise ValueError(f"DistributedSampler: Invalid num_replicas {num_replicas}, num_replicas should be "
                             "a positive integer")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"DistributedSampler: Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = bool(drop_last)
        self.shuffle = bool(shuffle)
        self.seed = _non_negative(seed, "seed")
        count = sample_count(dataset)
        if self.drop_last and count % num_replicas != 0:
            self.num_samples = math.ceil((count - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(count / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch):
        """Make the following iterations use epoch ``epoch``'s order (the same on every rank)."""
        self.epoch = _non_negative(epoch, "epoch")

    def indices(self):
        """This rank's indices for the current epoch, an int64 array: what ``iter()`` yields (a minigrad
        extension, which the DataLoader slices per batch instead of iterating index by index)."""
        count = sample_count(self.dataset)
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(count)
        else:
            order = np.arange(count, dtype=np.int64)
        # Padding repeats the list from its start, cyclically when it is shorter than the padding;
        # with drop_last, total_size <= count and this cuts the tail. Both as torch's list arithmetic.
        padded = np.resize(order, self.total_size) if count else order
        return padded[self.rank:self.total_size:self.num_replicas]

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self):
        return self.num_samples

    def __repr__(self):
        return (f"DistributedSampler(length {sample_count(self.dataset)}, num_replicas={self.num_replicas}, "
                f"rank={self.rank}, shuffle={self.shuffle}, seed={self.seed}, drop_last={self.drop_last}, "
                f"epoch={self.epoch})")


def sample_count(dataset):
    """``len(dataset)``; for a tuple or list holding arrays (the DataLoader's shorthand), their rows."""
    if isinstance(dataset, (tuple, list)) and any(isinstance(item, (np.ndarray, Tensor)) for item in dataset):
        shape = np.shape(dataset[0]) if not isinstance(dataset[0], Tensor) else dataset[0].shape
        if shape:
            return shape[0]
    return len(dataset)


def _integer(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"DistributedSampler: {name} should be an integer, got {value!r}")
    return int(value)


def _non_negative(value, name):
    value = _integer(value, name)
    if value < 0:
        # NumPy's seed sequences take non-negative integers only (torch would take a negative one).
        raise ValueError(f"DistributedSampler: {name} should be a non-negative integer, got {value}")
    return value

"""Samplers, as torch.utils.data: the order in which a DataLoader visits indices, and how it groups them.

Random orders are a function of ``(seed, epoch)`` only: ``RandomSampler`` draws its seed once, when
it is made (from ``generator``, else from minigrad's generator, so ``mg.manual_seed`` makes it
repeatable), and epoch ``e``'s order is ``np.random.default_rng([seed, e])``'s. Each ``iter()`` uses the
current epoch and advances it; ``set_epoch(e)`` chooses the next one (as DistributedSampler's), so a
resumed run repeats the orders of a run that never stopped.
"""
import numbers

import numpy as np

from .. import random_state

SEED_BOUND = 2**63


def random_generator(generator, where):
    """A numpy Generator from ``generator``: None (minigrad's own), a seed (int) or a numpy Generator."""
    if generator is None:
        return random_state.generator()
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(f"{where}: generator must be None, an int seed or a numpy.random.Generator, "
                    f"got {type(generator).__name__}")


def draw_seed(generator, where):
    return int(random_generator(generator, where).integers(SEED_BOUND))


class Sampler:
    """Iterates over indices of a data set (subclasses give ``__iter__`` and, usually, ``__len__``)."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Sampler should implement __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order each epoch (a permutation; with ``replacement=True``, independent draws).

    ``num_samples`` (default: the data set's length) indices per epoch; without replacement, more
    than the length repeats whole permutations, as PyTorch does. ``seed`` gives the seed directly.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None, *, seed=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value, "
                            f"but got replacement={replacement!r}")
        if num_samples is not None and (isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral)
                                        or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples should be a positive integer value, "
                             f"but got num_samples={num_samples!r}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.seed = draw_seed(generator, "RandomSampler") if seed is None else int(seed)
        self.epoch = 0

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def set_epoch(self, epoch):
        self.epoch = int(epoch)

    def order(self, epoch):
        """The indices of epoch ``epoch``, an int64 array: a function of (seed, epoch) only."""
        generator, count = np.random.default_rng([self.seed, epoch]), len(self.data_source)
        if self.replacement:
            return generator.integers(0, count, size=self.num_samples, dtype=np.int64)
        if self.num_samples == count:
            return generator.permutation(count)
        permutations = [generator.permutation(count) for _ in range(-(-self.num_samples // count))]
        return np.concatenate(permutations)[:self.num_samples]

    def next_order(self):
        """The current epoch's order, advancing the epoch (what ``iter()`` uses)."""
        order = self.order(self.epoch)
        self.epoch += 1
        return order

    def __iter__(self):
        return iter(self.next_order().tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order each epoch (seeded and set_epoch-able as RandomSampler)."""

    def __init__(self, indices, generator=None, *, seed=None):
        self.indices = indices
        self._order = RandomSampler(indices, generator=generator, seed=seed)

    def set_epoch(self, epoch):
        self._order.set_epoch(epoch)

    def __iter__(self):
        return (self.indices[position] for position in self._order.next_order().tolist())

    def __len__(self):
        return len(self.indices)


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of ``batch_size`` (the last one shorter unless ``drop_last``)."""

    def __init__(self, sampler, batch_size, drop_last):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size should be a positive integer value, "
                             f"but got batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last should be a boolean value, but got drop_last={drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self):
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        count = len(self.sampler)
        return count // self.batch_size if self.drop_last else -(-count // self.batch_size)

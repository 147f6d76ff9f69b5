"""DataLoader: batches of mg.Tensors from in-memory arrays (the fast path) or any map-style data set.

    loader = mg.data.DataLoader((images, labels), batch_size=100, shuffle=True)      # arrays: a tuple
    loader = mg.data.DataLoader(TensorDataset(images, labels), batch_size=100)      # torch's way: a list
    loader = mg.data.DataLoader(my_dataset, batch_size=64, collate_fn=my_collate)    # any map-style data set

Where the samples are rows of arrays (an array, a tuple or list of arrays, a TensorDataset, a Subset
of one such as random_split makes) and the collate is the default one, a batch is gathered with one
slice or ``np.take`` per array, a DistributedSampler's shard included; otherwise each sample is
``dataset[index]`` and ``collate_fn`` (by default ``default_collate``) makes the batch. Everything
runs in the calling process: ``num_workers``, ``pin_memory`` and the other multiprocessing options
are accepted, and change nothing.

Augmentation: ``transform=`` (a minigrad extension) is applied to each whole batch's input (the
batch itself if it is one tensor, else its first element), so the batched transforms of
``mg.data.transforms`` run once per batch on Numba kernels, each image drawing its own parameters.
A data set's own per-sample ``transform``, as torchvision's data sets take, works as in PyTorch.
"""
import numpy as np

from ..creation import from_numpy
from ..tensor import Tensor
from .collate import batch_dtype, default_collate, default_convert, host_array
from .datasets import TensorDataset, columns
from .distributed_sampler import DistributedSampler
from .samplers import BatchSampler, RandomSampler, SequentialSampler, draw_seed


class DataLoader:
    """Mini-batches of a data set as minigrad Tensors, with PyTorch's arguments (see the module docstring).

    ``dataset`` is a map-style data set, or the minigrad shorthand for in-memory data: one array, or a
    tuple/list of NumPy arrays or Tensors sharing their first dimension, which yields a tuple with one
    ``mg.Tensor`` per array (always a tuple, even for one array). Each batch gathered from arrays is a
    fresh array owned by its Tensor: changing it never changes the data set. Dtypes minigrad does not
    hold are converted per batch as ``mg.tensor`` would (uint8 -> int64, float16 -> float32).

    Shuffling draws a new order at each ``iter()``; epoch ``e``'s order depends only on ``(seed, e)``.
    ``seed=None`` draws the seed once, at construction, from ``generator`` (an int seed or a
    ``numpy.random.Generator``) or else from minigrad's generator, so ``mg.manual_seed(n)`` makes it
    repeatable; ``loader.seed`` holds it. The epoch starts at 0 and each ``iter()`` uses the current
    one and then advances it; ``set_epoch(e)`` chooses the epoch the next ``iter()`` uses, so a resumed
    run continues the same sequence of orders (as torch's DistributedSampler.set_epoch). A ``sampler=``
    (or ``batch_sampler=``'s sampler) that has ``set_epoch``, a DistributedSampler for one, is given
    the epoch too; one of them that has none changes as it would without the loader.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True, seed=None, transform=None):
        self.arrays = _arrays_of(dataset)
        if self.arrays is not None:
            dataset = TensorDataset(*self.arrays)
        elif not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError("DataLoader: expected a map-style dataset (with __getitem__ and __len__), an array or a "
                            f"non-empty tuple/list of arrays, got {type(dataset).__name__}")
        _check_options(batch_size, shuffle, sampler, batch_sampler, drop_last, num_workers, timeout, seed, generator,
                       transform)
        self.dataset = dataset
        self.batch_size = None if batch_size is None or batch_sampler is not None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        self.transform = transform
        # Drawn whether or not it shuffles (as before samplers came): the draws after it stay the same.
        self.seed = int(seed) if seed is not None else draw_seed(generator, "DataLoader")
        self.epoch = 0
        self._own_sampler = sampler is None
        if sampler is None:
            sampler = RandomSampler(dataset, seed=self.seed) if shuffle else SequentialSampler(dataset)
        self._own_batches = batch_sampler is None
        if batch_sampler is None and self.batch_size is not None:
            batch_sampler = BatchSampler(sampler, self.batch_size, self.drop_last)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        batching = batch_sampler is not None
        self.collate_fn = collate_fn if collate_fn is not None else default_collate if batching else default_convert
        # The fast path: rows of arrays gathered per batch (the default collate would stack them anyway).
        self._columns = columns(dataset) if collate_fn is None and batching else None
        if self._columns is not None:
            # The dtype each array is handed out as, checked now so a bad array fails here, not mid-epoch.
            self._batch_dtypes = tuple(_column_dtype(array, position)
                                       for position, array in enumerate(self._columns[0]))
            self._container = tuple if self.arrays is not None else list

    def __len__(self):
        """The number of batches in one epoch (of samples, with ``batch_size=None``)."""
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    def set_epoch(self, epoch):
        """Make the next ``iter()`` use epoch ``epoch``'s order (to resume a run), the given sampler's too."""
        self.epoch = int(epoch)
        # The loader's own RandomSampler takes the loader's epoch at each iter(); a sampler given to it
        # keeps its own epoch (torch's DistributedSampler never advances one), so it is set here.
        given = [] if self._own_sampler else [self.sampler]
        if not self._own_batches:
            given.append(getattr(self.batch_sampler, "sampler", None))
        for sampler in given:
            if hasattr(sampler, "set_epoch"):
                sampler.set_epoch(epoch)

    def permutation(self, epoch):
        """The order of the samples in epoch ``epoch`` when shuffling: a function of (seed, epoch) only."""
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.dataset))

    def __iter__(self):
        epoch, self.epoch = self.epoch, self.epoch + 1
        shuffled = self._own_sampler and isinstance(self.sampler, RandomSampler)
        if shuffled:
            self.sampler.set_epoch(epoch)
        if self._columns is not None:
            if self._own_batches and self._own_sampler:
                return self._column_batches(self.sampler.next_order() if shuffled else None)
            if self._own_batches and _whole_shard(self.sampler):
                # Its epoch's indices as one array, sliced per batch: no Python loop over the samples.
                return self._column_batches(self.sampler.indices())
            return (self._column_batch(np.asarray(indices, dtype=np.int64)) for indices in self.batch_sampler)
        if self.batch_sampler is None:
            return (self._transformed(self.collate_fn(self.dataset[index])) for index in self.sampler)
        return (self._transformed(self.collate_fn([self.dataset[index] for index in indices]))
                for indices in self.batch_sampler)

    def _column_batches(self, order):
        arrays, index_map = self._columns
        for batch in range(len(self)):
            start = batch * self.batch_size
            stop = start + self.batch_size
            if order is None and index_map is None:
                parts = [array[start:stop].copy() for array in arrays]
            else:
                indices = order[start:stop] if order is not None else slice(start, stop)
                if index_map is not None:
                    indices = index_map[indices]
                parts = [np.take(array, indices, axis=0) for array in arrays]
            yield self._wrap(parts)

    def _column_batch(self, indices):
        arrays, index_map = self._columns
        if index_map is not None:
            indices = index_map[indices]
        return self._wrap([np.take(array, indices, axis=0) for array in arrays])

    def _wrap(self, parts):
        """The batch's arrays as tensors, the input transformed first where a transform was given."""
        if self.transform is not None:
            parts[0] = self.transform(parts[0])
        return self._container(
            part if isinstance(part, Tensor) else from_numpy(part if part.dtype == dtype else part.astype(dtype))
            for part, dtype in zip(parts, self._batch_dtypes)
        )

    def _transformed(self, batch):
        if self.transform is None:
            return batch
        if isinstance(batch, (Tensor, np.ndarray)):
            return self.transform(batch)
        if isinstance(batch, (tuple, list)) and batch:
            return type(batch)([self.transform(batch[0]), *batch[1:]])
        raise TypeError(f"DataLoader: transform= applies to a batch's input (the batch itself if it is a tensor, "
                        f"else its first element); a batch of type {type(batch).__name__} has none")

    def __repr__(self):
        if self.arrays is not None:
            described = "arrays of shapes " + ", ".join(str(array.shape) for array in self.arrays)
        else:
            described = f"dataset={type(self.dataset).__name__} of length {len(self.dataset)}"
        return (f"DataLoader({described}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, seed={self.seed})")


def _whole_shard(sampler):
    """A DistributedSampler whose ``iter()`` is its ``indices()`` (a subclass may change what it yields)."""
    return isinstance(sampler, DistributedSampler) and type(sampler).__iter__ is DistributedSampler.__iter__


def _arrays_of(dataset):
    """The arrays of minigrad's in-memory shorthand (an array, a tuple/list of arrays), else None."""
    if isinstance(dataset, (np.ndarray, Tensor)):
        dataset = (dataset,)
    elif not isinstance(dataset, (tuple, list)):
        return None
    elif not dataset:
        raise TypeError("DataLoader: expected an array or a non-empty tuple/list of arrays, got an empty "
                        f"{type(dataset).__name__}")
    elif not any(isinstance(array, (np.ndarray, Tensor)) for array in dataset):
        return None  # a list of samples (tuples, numbers, dicts): a map-style data set
    arrays = tuple(host_array(array) if isinstance(array, Tensor) else np.asarray(array) for array in dataset)
    shapes = [array.shape for array in arrays]
    if any(len(shape) == 0 for shape in shapes) or len({shape[0] for shape in shapes}) != 1:
        raise ValueError("DataLoader: arrays must share their first dimension, got shapes "
                         + ", ".join(str(shape) for shape in shapes))
    return arrays


def _column_dtype(array, position):
    try:
        return batch_dtype(array)
    except TypeError:
        raise TypeError(f"DataLoader: array {position} has dtype {array.dtype}, "
                        "which minigrad tensors cannot hold") from None


def _check_options(batch_size, shuffle, sampler, batch_sampler, drop_last, num_workers, timeout, seed, generator,
                   transform):
    """PyTorch's refusals (and minigrad's: seed with generator, a transform that is not callable)."""
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                   or batch_size <= 0):
        raise ValueError(f"DataLoader: batch_size must be a positive integer or None, got {batch_size!r}")
    if num_workers < 0:
        raise ValueError(f"DataLoader: num_workers option should be non-negative, got {num_workers}; "
                         "use num_workers=0 to disable multiprocessing")
    if timeout < 0:
        raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout}")
    if sampler is not None and shuffle:
        raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
    if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
        raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, "
                         "sampler, and drop_last")
    if batch_size is None and batch_sampler is None and drop_last:
        raise ValueError("DataLoader: batch_size=None option disables auto-batching and is mutually exclusive "
                         "with drop_last")
    if seed is not None and generator is not None:
        raise ValueError("DataLoader: give seed or generator, not both")
    if transform is not None and not callable(transform):
        raise TypeError(f"DataLoader: transform must be callable, got {type(transform).__name__}")

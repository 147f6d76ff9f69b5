"""Data: the IDX reader, MNIST, data sets and the DataLoader (as torch.utils.data), and image transforms.

    images, labels = mg.data.load_mnist("train")          # float32 (60000, 1, 28, 28) in [0, 1], int64
    T = mg.data.transforms
    loader = mg.data.DataLoader((images, labels), batch_size=100, shuffle=True,
                                transform=T.Compose([T.RandomCrop(28, padding=2), T.RandomRotation(10)]))
    for x, y in loader:                                    # two mg.Tensor per batch
        ...

One idea per module: ``idx`` (the file format), ``mnist`` (find, download, verify, cache),
``datasets`` (Dataset, TensorDataset, Subset, ConcatDataset, random_split), ``samplers``,
``distributed_sampler`` (DistributedSampler: one rank's shard),
``collate`` (default_collate, default_convert), ``loader`` (DataLoader) and ``transforms``
(``mg.data.transforms``, torchvision's names, batched on Numba kernels).

How transforms plug in: ``DataLoader(..., transform=...)`` applies one to each whole batch's input
(the fast path: one kernel call per batch, every image drawing its own parameters); a data set
applies its own per sample, as torchvision's data sets do, so a PyTorch ``transforms.Compose([...])``
passed to a Dataset subclass works unchanged (slower: one call per sample).
"""
from . import transforms
from .collate import default_collate, default_convert
from .datasets import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from .distributed_sampler import DistributedSampler
from .idx import IDX_TYPES, read_idx
from .loader import DataLoader
from .mnist import (
    DOWNLOAD_TIMEOUT_SECONDS,
    IMAGE_SIZE,
    MD5,
    MIRRORS,
    SPLITS,
    MNISTNotFoundError,
    default_cache_dir,
    load_mnist,
)
from .samplers import BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler

__all__ = [
    "BatchSampler", "ConcatDataset", "DOWNLOAD_TIMEOUT_SECONDS", "DataLoader", "Dataset", "DistributedSampler",
    "IDX_TYPES", "IMAGE_SIZE", "MD5", "MIRRORS", "MNISTNotFoundError", "RandomSampler", "SPLITS", "Sampler",
    "SequentialSampler", "Subset", "SubsetRandomSampler", "TensorDataset", "default_cache_dir",
    "default_collate", "default_convert", "load_mnist", "random_split", "read_idx", "transforms",
]

"""mg.data's data sets, samplers, collate and the DataLoader over them, against torch.utils.data."""
import collections
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import data
from minigrad.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, RandomSampler, SequentialSampler,
                           Subset, SubsetRandomSampler, TensorDataset, default_collate, default_convert, random_split)

torch = pytest.importorskip("torch")
torch_data = torch.utils.data

Point = collections.namedtuple("Point", ["x", "y"])


class Samples(Dataset):
    """A map-style data set of ``make(index)``, for minigrad or, with ``base``, for torch."""

    def __init__(self, count, make):
        self.count, self.make = count, make

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        if not 0 <= index < self.count:
            raise IndexError(index)
        return self.make(index)


class TorchSamples(torch_data.Dataset):
    def __init__(self, count, make):
        self.count, self.make = count, make

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        return self.make(index)


def plain(value):
    """A batch from either library as nested Python containers of NumPy arrays (types kept)."""
    if isinstance(value, (mg.Tensor, torch.Tensor)):
        return value.numpy()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(plain(item) for item in value))
    if isinstance(value, (list, tuple)):
        return type(value)(plain(item) for item in value)
    return value


def assert_same(ours, theirs):
    """Same structure (container types), same values and the dtype torch gives (uint8 excepted)."""
    ours, theirs = plain(ours), plain(theirs)
    assert type(ours) is type(theirs), (type(ours), type(theirs))
    if isinstance(ours, dict):
        assert ours.keys() == theirs.keys()
        for key in ours:
            assert_same(ours[key], theirs[key])
    elif isinstance(ours, (list, tuple)):
        assert len(ours) == len(theirs)
        for mine, other in zip(ours, theirs):
            assert_same(mine, other)
    elif isinstance(ours, np.ndarray):
        np.testing.assert_array_equal(ours, theirs)
        assert ours.dtype == theirs.dtype
    else:
        assert ours == theirs


SAMPLES = {
    "array and int": lambda i: (np.full((2, 3), i, dtype=np.float32), i),
    "dict": lambda i: {"image": np.arange(4.0) * i, "label": i % 3, "name": f"s{i}"},
    "namedtuple": lambda i: Point(float(i) / 2, np.int64(i)),
    "list of numbers": lambda i: [i, float(i), i % 2 == 0],
    "nested": lambda i: ({"a": (np.float32(i), [np.arange(2) + i])}, i),
}


@pytest.mark.parametrize("kind", SAMPLES)
def test_default_collate_matches_torch(kind):
    batch = [SAMPLES[kind](index) for index in range(5)]
    assert_same(default_collate(batch), torch_data.default_collate(batch))


@pytest.mark.parametrize("kind", SAMPLES)
@pytest.mark.parametrize("batch_size,drop_last", [(2, False), (2, True), (7, False)])
def test_dataloader_over_a_map_style_dataset_matches_torch(kind, batch_size, drop_last):
    ours = DataLoader(Samples(5, SAMPLES[kind]), batch_size=batch_size, drop_last=drop_last)
    theirs = torch_data.DataLoader(TorchSamples(5, SAMPLES[kind]), batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    ours_batches, their_batches = list(ours), list(theirs)
    assert len(ours_batches) == len(their_batches)
    for mine, other in zip(ours_batches, their_batches):
        assert_same(mine, other)


def test_batch_size_none_converts_each_sample_as_torch():
    make = SAMPLES["array and int"]
    ours = list(DataLoader(Samples(3, make), batch_size=None))
    theirs = list(torch_data.DataLoader(TorchSamples(3, make), batch_size=None))
    for mine, other in zip(ours, theirs):
        assert_same(mine, other)
    assert_same(default_convert(make(1)), torch_data.default_convert(make(1)))


def test_samplers_collate_fn_and_batch_sampler_match_torch():
    make = SAMPLES["array and int"]
    order = [4, 0, 3, 3, 1]
    for options in ({"sampler": order, "batch_size": 2},
                    {"batch_sampler": [[1, 2], [0], [4, 3, 2]]},
                    {"batch_size": 2, "collate_fn": lambda batch: [label for _, label in batch]}):
        ours = list(DataLoader(Samples(5, make), **options))
        theirs = list(torch_data.DataLoader(TorchSamples(5, make), **options))
        for mine, other in zip(ours, theirs):
            assert_same(mine, other)
    assert list(BatchSampler(SequentialSampler(range(7)), 3, False)) == list(
        torch_data.BatchSampler(torch_data.SequentialSampler(range(7)), 3, False))
    assert len(BatchSampler(range(7), 3, True)) == len(torch_data.BatchSampler(range(7), 3, True)) == 2


def test_the_options_torch_refuses_are_refused():
    dataset, torch_dataset = Samples(4, float), TorchSamples(4, float)
    for options in ({"sampler": [0, 1], "shuffle": True}, {"batch_sampler": [[0]], "batch_size": 2},
                    {"batch_sampler": [[0]], "drop_last": True}, {"batch_size": None, "drop_last": True},
                    {"num_workers": -1}, {"timeout": -1}):
        with pytest.raises(ValueError):
            torch_data.DataLoader(torch_dataset, **options)
        with pytest.raises(ValueError, match="DataLoader: .*(mutually exclusive|non-negative)"):
            DataLoader(dataset, **options)
    with pytest.raises(ValueError, match="give seed or generator, not both"):
        DataLoader(dataset, seed=1, generator=np.random.default_rng())
    with pytest.raises(TypeError, match="DataLoader: transform must be callable"):
        DataLoader(dataset, transform="crop")
    with pytest.raises(TypeError, match="DataLoader: generator must be None, an int seed or a numpy"):
        DataLoader(dataset, generator="seed")
    with pytest.raises(TypeError, match="map-style dataset"):
        DataLoader(object())
    with pytest.raises(ValueError, match="BatchSampler: batch_size should be a positive integer"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(RuntimeError, match="stack expects each sample to be of equal size.*\\(2,\\).*\\(3,\\)"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors"):
        default_collate([object(), object()])


def test_num_workers_and_pin_memory_are_accepted_and_load_in_process():
    loader = DataLoader(Samples(4, float), batch_size=2, num_workers=2, pin_memory=True)
    assert [batch.tolist() for batch in loader] == [[0.0, 1.0], [2.0, 3.0]]


# --- TensorDataset, Subset, ConcatDataset, random_split ----------------------------------------------------------


def test_tensor_dataset_matches_torch():
    features, labels = np.arange(12.0).reshape(6, 2), np.arange(6)
    ours = TensorDataset(mg.tensor(features), mg.tensor(labels))
    theirs = torch_data.TensorDataset(torch.tensor(features), torch.tensor(labels))
    assert len(ours) == len(theirs) == 6
    for index in (0, 5, -1):
        assert_same(ours[index], theirs[index])
    assert_same(list(DataLoader(ours, batch_size=4)), list(torch_data.DataLoader(theirs, batch_size=4)))
    with pytest.raises(ValueError, match=r"TensorDataset: size mismatch.*\(6, 2\), \(5,\)"):
        TensorDataset(features, labels[:5])
    with pytest.raises(TypeError, match="TensorDataset: tensor 1 is a list"):
        TensorDataset(features, [1, 2])


def test_tensor_datasets_and_their_subsets_take_the_fast_path(monkeypatch):
    images = np.arange(40, dtype=np.float32).reshape(10, 4)
    labels = np.arange(10, dtype=np.uint8)
    dataset = TensorDataset(images, labels)
    slow = [list(batch) for batch in DataLoader(Samples(10, lambda i: (images[i], labels[i])), batch_size=3)]
    calls = []
    monkeypatch.setattr(TensorDataset, "__getitem__", lambda self, index: calls.append(index))
    fast = list(DataLoader(dataset, batch_size=3))
    assert calls == [] and all(isinstance(batch, list) for batch in fast)
    assert_same(fast, slow)
    subset = Subset(Subset(dataset, [9, 2, 5, 7, 0]), [4, 1, 3])
    (batch,) = list(DataLoader(subset, batch_size=5))
    assert calls == [] and batch[0].numpy().tolist() == images[[0, 2, 7]].tolist()
    assert batch[1].dtype == mg.int64
    first, second = random_split(dataset, [0.5, 0.5], generator=3)
    together = np.concatenate([batch[1].numpy() for part in (first, second)
                               for batch in DataLoader(part, batch_size=2)])
    assert calls == [] and sorted(together.tolist()) == list(range(10))
    picked = [batch[1].tolist() for batch in DataLoader(subset, sampler=[2, 0, 1], batch_size=2)]
    assert calls == [] and picked == [[7, 0], [2]]  # a sampler's indices go through the subset's too
    picked = [label.tolist() for _, label in DataLoader((images, labels), batch_sampler=[[3, 1], [9]])]
    assert picked == [[3, 1], [9]]


def test_a_per_sample_transform_in_a_dataset_works_as_in_pytorch():
    class Transformed(Dataset):
        def __init__(self, images, transform):
            self.images, self.transform = images, transform

        def __len__(self):
            return len(self.images)

        def __getitem__(self, index):
            return self.transform(self.images[index]), index

    images = np.random.default_rng(0).integers(0, 256, (6, 5, 4), dtype=np.uint8)
    transform = data.transforms.Compose([data.transforms.ToTensor(), data.transforms.Normalize((0.5,), (0.25,))])
    x, y = next(iter(DataLoader(Transformed(images, transform), batch_size=4)))
    assert x.shape == (4, 1, 5, 4) and x.dtype == mg.float32 and y.tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(x.numpy()[:, 0], (images[:4] / np.float32(255) - 0.5) / 0.25, rtol=1e-6)


def test_subset_and_concat_dataset_match_torch():
    first, second = list(range(10, 15)), list(range(20, 23))
    ours, theirs = ConcatDataset([first, second]), torch_data.ConcatDataset([first, second])
    assert len(ours) == len(theirs) == 8 and ours.cumulative_sizes == theirs.cumulative_sizes
    assert [ours[index] for index in range(-8, 8)] == [theirs[index] for index in range(-8, 8)]
    with pytest.raises(ValueError, match="ConcatDataset: absolute value of index"):
        ours[-9]
    with pytest.raises(IndexError, match="ConcatDataset: index 8 is out of range"):
        ours[8]
    with pytest.raises(ValueError, match="ConcatDataset: datasets should not be an empty iterable"):
        ConcatDataset([])
    subset = Subset(ours, [7, 0, 3])
    assert [subset[index] for index in range(3)] == [theirs[7], theirs[0], theirs[3]] and len(subset) == 3
    joined = Samples(2, float) + Samples(3, lambda i: -i)
    assert isinstance(joined, ConcatDataset) and [joined[index] for index in range(5)] == [0.0, 1.0, 0, -1, -2]


@pytest.mark.parametrize("count,lengths", [
    (10, [3, 7]), (10, [0.3, 0.7]), (30, [0.3, 0.3, 0.4]), (11, [0.5, 0.5]), (7, [0.25, 0.25, 0.25, 0.25]),
    (5, [1.0]), (3, [0.1, 0.9]), (101, [0.8, 0.1, 0.1]), (2, [0.2, 0.4, 0.4]),
])
def test_random_split_lengths_match_torch(count, lengths):
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        ours = random_split(range(count), lengths, generator=0)
    with warnings.catch_warnings(record=True) as their_warned:
        warnings.simplefilter("always")
        theirs = torch_data.random_split(range(count), lengths, generator=torch.Generator().manual_seed(0))
    assert [len(part) for part in ours] == [len(part) for part in theirs]
    assert len(ours_warned) == len(their_warned)  # a split of length 0 warns
    seen = [part[index] for part in ours for index in range(len(part))]
    assert sorted(seen) == list(range(count))
    assert all(isinstance(part, Subset) for part in ours)


def test_random_split_is_repeatable_and_refuses_what_torch_refuses():
    mg.manual_seed(4)
    first = [part.indices for part in random_split(range(20), [5, 15])]
    mg.manual_seed(4)
    assert [part.indices for part in random_split(range(20), [5, 15])] == first
    assert [part.indices for part in random_split(range(20), [5, 15], generator=np.random.default_rng(1))] == \
        [part.indices for part in random_split(range(20), [5, 15], generator=np.random.default_rng(1))]
    for lengths in ([3, 3], [0.5, 0.6], [1.5, -0.5]):
        with pytest.raises(ValueError):
            torch_data.random_split(range(10), lengths)
        with pytest.raises(ValueError, match="random_split: "):
            random_split(range(10), lengths)


# --- shuffling: seeded, per epoch --------------------------------------------------------------------------------


def test_shuffled_map_style_loading_is_seeded_and_resumable():
    def orders(loader, epochs):
        return [[int(value) for batch in loader for value in batch.numpy()] for _ in range(epochs)]

    reference = orders(DataLoader(Samples(30, int), batch_size=4, shuffle=True, seed=8), 3)
    assert all(sorted(order) == list(range(30)) for order in reference) and reference[0] != reference[1]
    assert orders(DataLoader(Samples(30, int), batch_size=7, shuffle=True, seed=8), 3) == reference
    resumed = DataLoader(Samples(30, int), batch_size=4, shuffle=True, seed=8)
    resumed.set_epoch(2)
    assert orders(resumed, 1) == reference[2:]
    # The same data as arrays shuffles the same way: the order depends on (seed, epoch) only.
    arrays = DataLoader(np.arange(30), batch_size=4, shuffle=True, seed=8)
    assert [[int(value) for (batch,) in arrays for value in batch.numpy()] for _ in range(3)] == reference
    from_generator = orders(DataLoader(Samples(30, int), batch_size=4, shuffle=True, generator=5), 1)
    assert from_generator == orders(DataLoader(Samples(30, int), batch_size=4, shuffle=True, generator=5), 1)


def test_random_samplers():
    sampler = RandomSampler(range(10), seed=1)
    first, second = list(sampler), list(sampler)
    assert sorted(first) == list(range(10)) and first != second and len(sampler) == 10
    sampler.set_epoch(0)
    assert list(sampler) == first
    longer = list(RandomSampler(range(4), num_samples=10, seed=0))
    assert len(longer) == 10 and sorted(longer[:4]) == sorted(longer[4:8]) == [0, 1, 2, 3]
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=50, seed=0))
    assert len(drawn) == 50 and set(drawn) == {0, 1, 2}
    subset = list(SubsetRandomSampler([10, 20, 30], seed=2))
    assert sorted(subset) == [10, 20, 30]
    with pytest.raises(ValueError, match="RandomSampler: num_samples should be a positive integer"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(TypeError, match="RandomSampler: replacement should be a boolean"):
        RandomSampler(range(3), replacement=1)


def test_the_loader_transform_applies_to_each_batch_input():
    seen = []

    def transform(batch):
        seen.append((type(batch).__name__, batch.shape))
        return batch * 2

    images, labels = np.ones((5, 1, 3, 3), dtype=np.float32), np.arange(5)
    x, y = next(iter(DataLoader((images, labels), batch_size=4, transform=transform)))
    assert seen == [("ndarray", (4, 1, 3, 3))] and x.numpy().max() == 2 and y.tolist() == [0, 1, 2, 3]
    x, y = next(iter(DataLoader(Samples(5, lambda i: (images[i], i)), batch_size=4, transform=transform)))
    assert seen[-1] == ("Tensor", (4, 1, 3, 3)) and x.numpy().max() == 2 and y.tolist() == [0, 1, 2, 3]
    with pytest.raises(TypeError, match="DataLoader: transform= applies to a batch's input.*dict"):
        next(iter(DataLoader(Samples(2, lambda i: {"x": i}), transform=transform)))

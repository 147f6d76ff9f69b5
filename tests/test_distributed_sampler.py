"""mg.data.DistributedSampler against torch.utils.data.DistributedSampler, and the DataLoader taking it.

The ranks are simulated in one process (one sampler per rank, as each process would build its own);
the run under mpiexec, defaults from mg.distributed included, is in the distributed tests.
"""
import json
import subprocess
import sys

import numpy as np
import pytest
from mpi_launch import needs_mpi, run_ranks

import minigrad as mg
from minigrad.data import (BatchSampler, DataLoader, Dataset, DistributedSampler, RandomSampler, Subset,
                           TensorDataset)

torch = pytest.importorskip("torch")
TorchDistributedSampler = torch.utils.data.DistributedSampler

# (length, replicas): dividing, not dividing, padding longer than the data set, fewer samples than ranks.
SHAPES = [(12, 3), (10, 4), (11, 2), (3, 8), (1, 4), (0, 3), (7, 7), (9, 1), (2, 5)]


class Samples(Dataset):
    """A map-style data set whose sample ``i`` is ``(i, -i)``, counting its ``__getitem__`` calls."""

    def __init__(self, count):
        self.count, self.calls = count, 0

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        self.calls += 1
        return np.float32(index), -index


def shards(length, replicas, **options):
    """Each rank's indices, from a sampler of its own."""
    return [list(DistributedSampler(range(length), replicas, rank, **options)) for rank in range(replicas)]


def padded_order(length, replicas, **options):
    """The whole padded list the ranks share, rebuilt from their shards (rank r holds positions r::replicas)."""
    parts = shards(length, replicas, **options)
    order = [None] * sum(len(part) for part in parts)
    for rank, part in enumerate(parts):
        order[rank::replicas] = part
    return order


@pytest.mark.parametrize("length,replicas", SHAPES)
@pytest.mark.parametrize("drop_last", [False, True])
def test_unshuffled_shards_and_lengths_equal_torchs(length, replicas, drop_last):
    for rank in range(replicas):
        ours = DistributedSampler(range(length), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = TorchDistributedSampler(range(length), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs)
        assert (len(ours), ours.num_samples, ours.total_size) == (len(theirs), theirs.num_samples, theirs.total_size)
        shuffled = DistributedSampler(range(length), replicas, rank, drop_last=drop_last)
        assert len(list(shuffled)) == len(shuffled) == len(theirs)


@pytest.mark.parametrize("replicas", [2, 3])
def test_shuffled_shards_cover_every_index_once_per_epoch(replicas):
    orders = []
    for epoch in range(3):
        parts = []
        for rank in range(replicas):
            sampler = DistributedSampler(range(60), replicas, rank, seed=5)
            sampler.set_epoch(epoch)
            parts.append(list(sampler))
        assert all(len(part) == 60 // replicas for part in parts)
        assert sorted(index for part in parts for index in part) == list(range(60))  # disjoint, complete
        orders.append(parts)
    assert orders[0] != orders[1] != orders[2] != orders[0]
    assert all(part != sorted(part) for parts in orders for part in parts)  # shuffled, not just split
    # The order is a function of (seed, epoch) only: a sampler made elsewhere, later, agrees.
    again = DistributedSampler(range(60), replicas, replicas - 1, seed=5)
    again.set_epoch(2)
    assert list(again) == orders[2][replicas - 1] and list(again) == list(again)  # iterating keeps the epoch
    assert shards(60, replicas, seed=6) != orders[0]


@pytest.mark.parametrize("length,replicas", [(10, 4), (11, 2), (3, 8), (1, 4), (5, 3)])
def test_shuffled_padding_repeats_the_start_of_the_shuffled_list(length, replicas):
    for epoch in (0, 1):
        order = padded_order(length, replicas, seed=epoch)
        theirs = TorchDistributedSampler(range(length), replicas, 0)
        assert len(order) == theirs.total_size
        assert sorted(order[:length]) == list(range(length))
        # Cyclically, as torch's `indices * ceil(padding / len)` when the padding is longer than the list.
        assert order == [order[position % length] for position in range(len(order))]
        dropped = padded_order(length, replicas, seed=epoch, drop_last=True)
        assert len(dropped) == len(TorchDistributedSampler(range(length), replicas, 0, drop_last=True)) * replicas
        assert len(set(dropped)) == len(dropped)


def test_refusals_match_torchs():
    for replicas, rank in ((2, 2), (2, -1), (1, 5)):
        with pytest.raises(ValueError) as theirs:
            TorchDistributedSampler(range(4), replicas, rank)
        with pytest.raises(ValueError) as ours:
            DistributedSampler(range(4), replicas, rank)
        assert str(ours.value) == f"DistributedSampler: {theirs.value}"
    with pytest.raises(ValueError, match="DistributedSampler: Invalid num_replicas 0, num_replicas should be a "
                                         "positive integer"):
        DistributedSampler(range(4), 0, 0)
    with pytest.raises(TypeError, match=r"DistributedSampler: rank should be an integer, got 1\.0"):
        DistributedSampler(range(4), 2, 1.0)
    with pytest.raises(TypeError, match="DistributedSampler: num_replicas should be an integer, got True"):
        DistributedSampler(range(4), True, 0)
    with pytest.raises(ValueError, match="DistributedSampler: seed should be a non-negative integer, got -1"):
        DistributedSampler(range(4), 2, 0, seed=-1)
    with pytest.raises(ValueError, match="DistributedSampler: epoch should be a non-negative integer, got -3"):
        DistributedSampler(range(4), 2, 0).set_epoch(-3)


def test_the_dataloader_refuses_shuffle_with_it_as_torch():
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        torch.utils.data.DataLoader(range(8), sampler=TorchDistributedSampler(range(8), 2, 0), shuffle=True)
    with pytest.raises(ValueError, match="DataLoader: sampler option is mutually exclusive with shuffle"):
        DataLoader(np.arange(8), sampler=DistributedSampler(range(8), 2, 0), shuffle=True)


def dataset_kinds(count):
    images = np.arange(count * 6, dtype=np.float32).reshape(count, 2, 3)
    labels = np.arange(count).astype(np.uint8)
    return {"arrays": (images, labels), "tensor dataset": TensorDataset(images, labels), "map-style": Samples(count)}


@pytest.mark.parametrize("kind", ["arrays", "tensor dataset", "map-style"])
@pytest.mark.parametrize("drop_last", [False, True])
def test_the_dataloader_batches_each_ranks_shard_and_set_epoch_reshuffles_it(kind, drop_last):
    count, replicas, batch = 23, 2, 5
    seen = []
    for epoch in (0, 1):
        per_rank = []
        for rank in range(replicas):
            dataset = dataset_kinds(count)[kind]
            sampler = DistributedSampler(dataset, replicas, rank, seed=3)
            loader = DataLoader(dataset, batch_size=batch, sampler=sampler, drop_last=drop_last)
            loader.set_epoch(epoch)  # what examples/mnist_cnn.py calls before each epoch
            assert sampler.epoch == epoch
            batches = list(loader)
            assert len(batches) == len(loader) == (12 // batch if drop_last else -(-12 // batch))
            assert list(batches) and all(first.shape[0] <= batch for first, _ in batches)
            labels = [abs(int(label)) for _, labels in batches for label in labels.numpy()]
            inputs = np.concatenate([first.numpy() for first, _ in batches])
            expected = list(sampler)[:len(labels)]
            assert len(labels) == (10 if drop_last else 12) and labels == expected
            assert np.array_equal(inputs.reshape(len(labels), -1)[:, 0],
                                  np.array(expected) * (6 if kind != "map-style" else 1))
            assert [abs(int(label)) for _, labels in loader for label in labels.numpy()] == labels  # epoch kept
            per_rank.append(list(sampler))
        both = sorted(index for part in per_rank for index in part)
        assert both == sorted(list(range(count)) + [per_rank[0][0]])  # 23 + one pad from the start
        seen.append(per_rank)
    assert seen[0] != seen[1]


def test_the_array_paths_gather_each_batch_without_touching_samples(monkeypatch):
    images = np.arange(40, dtype=np.float32).reshape(20, 2)
    labels = np.arange(20)
    expected = list(DistributedSampler(labels, 3, 1, seed=2))

    def per_sample(*arguments):
        raise AssertionError("a sample was fetched or an index iterated one by one")

    monkeypatch.setattr(TensorDataset, "__getitem__", per_sample)
    monkeypatch.setattr(DistributedSampler, "__iter__", per_sample)
    for dataset in ((images, labels), TensorDataset(images, labels)):
        loader = DataLoader(dataset, batch_size=4, sampler=DistributedSampler(labels, 3, 1, seed=2))
        batches = list(loader)
        assert [len(labels) for _, labels in batches] == [4, 3]
        assert [int(label) for _, labels in batches for label in labels.numpy()] == expected
        assert np.array_equal(np.concatenate([inputs.numpy() for inputs, _ in batches]), images[expected])
    subset = Subset(TensorDataset(images, labels), list(range(19, -1, -1)))  # a Subset's indices apply too
    batches = list(DataLoader(subset, batch_size=4, sampler=DistributedSampler(subset, 3, 1, seed=2)))
    assert [int(label) for _, labels in batches for label in labels.numpy()] == [19 - index for index in expected]

    class Reversed(DistributedSampler):  # a subclass that changes what it yields is iterated
        def __iter__(self):
            return iter(self.indices()[::-1].tolist())

    batches = list(DataLoader((images, labels), batch_size=4, sampler=Reversed(labels, 3, 1, seed=2)))
    assert [int(label) for _, labels in batches for label in labels.numpy()] == expected[::-1]


def test_set_epoch_reaches_given_samplers_and_keeps_the_loaders_own_shuffle():
    inner = DistributedSampler(range(12), 2, 1, seed=1)
    loader = DataLoader(np.arange(12), batch_sampler=BatchSampler(inner, 3, False))
    loader.set_epoch(4)
    assert inner.epoch == 4
    given = RandomSampler(range(12), seed=7)
    loader = DataLoader(np.arange(12), batch_size=3, sampler=given)
    loader.set_epoch(2)
    assert given.epoch == 2 and [int(value) for (batch,) in loader for value in batch.numpy()] == \
        RandomSampler(range(12), seed=7).order(2).tolist()
    own = DataLoader(np.arange(12), batch_size=3, shuffle=True, seed=9)
    own.set_epoch(3)
    assert [int(value) for (batch,) in own for value in batch.numpy()] == own.permutation(3).tolist()
    assert own.epoch == 4
    DataLoader(np.arange(12), batch_size=3, sampler=[0, 5, 2]).set_epoch(1)  # a sampler without set_epoch


def test_num_replicas_and_rank_default_to_mg_distributed():
    distributed = pytest.importorskip("minigrad.distributed")
    if not distributed.is_initialized():
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            DistributedSampler(range(10))  # as torch's, before init
    started = not distributed.is_initialized()
    distributed.init()  # not under mpiexec: rank 0 of 1
    try:
        sampler = DistributedSampler(range(10), shuffle=False)
        assert (sampler.num_replicas, sampler.rank) == (distributed.world_size(), distributed.rank()) == (1, 0)
        assert list(sampler) == list(range(10))
        assert DistributedSampler(range(10), rank=0).num_replicas == 1
    finally:
        if started:
            distributed.destroy_process_group()


@needs_mpi
def test_two_ranks_under_mpiexec_cover_every_sample_once_per_epoch(tmp_path):
    script = """
import json, pathlib, sys, numpy as np, minigrad as mg
mg.distributed.init()
images, labels = np.zeros((30, 2), np.float32), np.arange(30)
sampler = mg.data.DistributedSampler((images, labels), seed=4)   # num_replicas, rank from mg.distributed
loader = mg.data.DataLoader((images, labels), batch_size=4, sampler=sampler)
for epoch in range(2):
    loader.set_epoch(epoch)
    seen = [int(label) for _, batch in loader for label in batch.numpy()]
    found = [mg.distributed.rank(), mg.distributed.world_size(), epoch, seen]
    pathlib.Path(sys.argv[1], f"{mg.distributed.rank()}-{epoch}.json").write_text(json.dumps(found))
"""
    result = run_ranks(script, ranks=2, timeout=120, args=(str(tmp_path),))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(path.read_text()) for path in tmp_path.glob("*.json")]  # a file each: no interleaving
    assert sorted((rank, size, epoch) for rank, size, epoch, _ in lines) == [(0, 2, 0), (0, 2, 1), (1, 2, 0),
                                                                              (1, 2, 1)]
    by_epoch = [[seen for _, _, epoch, seen in sorted(lines) if epoch == wanted] for wanted in (0, 1)]
    for shards_of_epoch in by_epoch:
        assert [len(seen) for seen in shards_of_epoch] == [15, 15]
        assert sorted(shards_of_epoch[0] + shards_of_epoch[1]) == list(range(30))
    assert by_epoch[0] != by_epoch[1]
    expected = [list(DistributedSampler(range(30), 2, rank, seed=4)) for rank in (0, 1)]
    assert by_epoch[0] == expected  # the same order as a sampler told its rank


def test_it_imports_no_mpi_and_needs_no_init_when_told_its_rank():
    script = ("import sys, minigrad as mg\n"
              "assert list(mg.data.DistributedSampler(range(5), 2, 1, shuffle=False)) == [1, 3, 0]\n"
              "assert not mg.distributed.is_initialized()\n"
              "assert 'mpi4py' not in sys.modules, sorted(name for name in sys.modules if 'mpi' in name)\n")
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)


def test_repr_names_the_shard():
    assert repr(DistributedSampler(range(10), 4, 3, seed=2)) == (
        "DistributedSampler(length 10, num_replicas=4, rank=3, shuffle=True, seed=2, drop_last=False, epoch=0)")
    assert isinstance(mg.data.DistributedSampler(range(3), 1, 0), mg.data.Sampler)

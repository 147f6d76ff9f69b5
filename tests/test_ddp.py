"""DistributedDataParallel: two ranks against one process (under mpiexec), the single-process path, buckets."""
import pathlib
import re

import numpy as np
import pytest

import minigrad as mg
import minigrad.distributed as dist
from minigrad import nn
from minigrad.nn.parallel import DistributedDataParallel
from minigrad.nn.parallel.buckets import FIRST_BUCKET_BYTES, Bucket, assign_buckets
from mpi_launch import needs_mpi, run_ranks

RANK_SCRIPT = pathlib.Path(__file__).with_name("distributed_ddp_ranks.py")


@needs_mpi
def test_two_ranks_train_as_one_process_overlap_accumulate_and_refuse_what_they_should():
    result = run_ranks(RANK_SCRIPT, ranks=2, timeout=120, args=(
        "twenty_steps_equal_one_process_on_the_whole_batch", "no_sync_accumulates_then_synchronises_the_sum",
        "buckets_start_while_backward_runs", "unused_parameters", "a_different_model_is_refused_naming_the_parameter",
        "buffers_follow_rank_zero_at_each_training_forward"))
    assert result.returncode == 0, result.stdout + result.stderr
    checks = dict(re.findall(r"^check (\w+) (.*)$", result.stdout, re.MULTILINE))
    # Two ranks with batch 50 each end where one process with batch 100 ends, after 20 Adam steps.
    assert "ranks_equal=True" in checks["twenty_steps"] and "buckets=2" in checks["twenty_steps"]
    assert checks["no_sync"] == "accumulated_equals_one_big_step=True"
    assert checks["unused"] == "globally_unused_grad_is_None=True"
    assert "never.weight" in checks["unused_refused"]
    assert "'0.weight' is shape (3, 5) float32 on rank 1 but shape (3, 4) float32 on rank 0" in checks["mismatch"]
    assert checks["buffers"] == "broadcast_from_rank_0_before_the_update=True"
    assert result.stdout.count("done") == 2


@needs_mpi
def test_cuda_parameters_average_through_pinned_host_buckets_on_the_simulator():
    result = run_ranks(RANK_SCRIPT, ranks=2, timeout=180, args=("cuda_parameters_average_through_the_staged_buckets",),
                       env={"NUMBA_ENABLE_CUDASIM": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^check cuda buckets=\d+ equal_to_one_process=True$", result.stdout, re.MULTILINE), result.stdout


def model_and_batch():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    return model, mg.randn(4, 5)


def test_one_process_wraps_without_mpiexec_and_trains_as_the_bare_module():
    dist.init()  # not launched by mpiexec: rank 0 of 1, no MPI needed
    model, batch = model_and_batch()
    expected_model, _ = model_and_batch()
    ddp = DistributedDataParallel(model)
    ddp(batch).sum().backward()
    expected_model(batch).sum().backward()
    for ours, theirs in zip(model.parameters(), expected_model.parameters()):
        np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    with ddp.no_sync():
        assert not ddp.require_backward_grad_sync
    assert ddp.require_backward_grad_sync
    assert list(ddp.state_dict()) == ["module." + name for name in model.state_dict()]  # as torch's
    assert ddp.module is model


def test_bad_arguments_are_refused_by_name():
    dist.init()
    model, _ = model_and_batch()
    with pytest.raises(TypeError, match="DistributedDataParallel: module must be an nn.Module"):
        DistributedDataParallel([model])
    with pytest.raises(ValueError, match="bucket_cap_mb must be positive, got 0"):
        DistributedDataParallel(model, bucket_cap_mb=0)
    with pytest.raises(ValueError, match="process_group='group' is not supported"):
        DistributedDataParallel(model, process_group="group")
    with pytest.raises(ValueError, match=r"device_ids=\[0, 1\] is not supported"):
        DistributedDataParallel(model, device_ids=[0, 1])
    DistributedDataParallel(model, device_ids=[0], static_graph=True, check_reduction=True)  # accepted as torch's


def test_buckets_follow_pytorchs_rule():
    parameters = [mg.zeros(size, requires_grad=True) for size in (10, 300_000, 20, 400_000, 5)]
    # Default: reverse order, the first bucket closed past 1 MB, later ones past 25 MB.
    by_default = assign_buckets(parameters)
    assert [[p.numel() for p in bucket] for bucket in by_default] == [[5, 400_000], [20, 300_000, 10]]
    assert 400_005 * 4 >= FIRST_BUCKET_BYTES
    # A cap the caller gives holds for the first bucket too.
    assert [[p.numel() for p in bucket] for bucket in assign_buckets(parameters, bucket_cap_mb=0.5)] == \
        [[5, 400_000], [20, 300_000], [10]]
    mixed = [mg.zeros(3, requires_grad=True), mg.zeros(3, dtype=mg.float64, requires_grad=True)]
    assert all(len({p.dtype for p in bucket}) == 1 for bucket in assign_buckets(mixed))


def test_a_bucket_scales_gradients_in_and_views_them_out_in_shape():
    parameters = [mg.zeros(2, 3, requires_grad=True), mg.zeros(4, requires_grad=True)]
    bucket = Bucket(parameters)
    bucket.add(1, np.arange(4, dtype=np.float32), 0.5)
    assert not bucket.complete
    bucket.fill_missing()
    assert bucket.complete
    np.testing.assert_array_equal(bucket.view(1), [0, 0.5, 1, 1.5])
    np.testing.assert_array_equal(bucket.view(0), np.zeros((2, 3)))
    assert bucket.buffer.shape == (10,) and np.shares_memory(bucket.view(0), bucket.buffer)

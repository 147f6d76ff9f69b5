"""Run by tests/test_ddp.py under ``mpiexec -n 2``: DistributedDataParallel against one process on the
whole batch. Each check prints one ``check NAME ...`` line from rank 0; any failure raises (and the
fault handler aborts the job with the rank named)."""
import sys

import numpy as np

import minigrad as mg
import minigrad.distributed as dist
from minigrad import nn
from minigrad.distributed import collectives
from minigrad.nn.parallel import DistributedDataParallel

dist.init()
rank, world = dist.get_rank(), dist.get_world_size()
assert world == 2, world


def small_cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 7 * 7, 16), nn.ReLU(), nn.Linear(16, 10))


def say(line):
    """One write per line: stdout is unbuffered here (PYTHONUNBUFFERED), so print's text and its newline
    would be two writes, and the other rank's line could land between them (seen in CI)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def report(name, text):
    if rank == 0:
        say(f"check {name} {text}")


def parameters_of(model):
    return {name: parameter.numpy().copy() for name, parameter in model.named_parameters()}


def global_batch(step, size):
    generator = np.random.default_rng(step)  # the same samples on every rank
    images = generator.standard_normal((size, 1, 14, 14)).astype(np.float32)
    labels = generator.integers(0, 10, size)
    return images, labels


def twin_of(ddp):
    """One process's copy of the model the DDP ranks start from (rank 0's, broadcast at wrap)."""
    twin = small_cnn()
    twin.load_state_dict(ddp.module.state_dict())
    return twin


def loss_of(model, images, labels):
    return nn.functional.cross_entropy(model(mg.from_numpy(images)), mg.from_numpy(labels))


def check_twenty_steps_equal_one_process_on_the_whole_batch():
    mg.manual_seed(10 + rank)  # a different draw on each rank: wrapping must broadcast rank 0's
    ddp = DistributedDataParallel(small_cnn(), bucket_cap_mb=0.002)  # several buckets
    twin = twin_of(ddp)
    optimizer, twin_optimizer = mg.optim.Adam(ddp.parameters(), lr=1e-2), mg.optim.Adam(twin.parameters(), lr=1e-2)
    for step in range(20):
        images, labels = global_batch(step, 100)
        share = slice(rank * 50, (rank + 1) * 50)
        optimizer.zero_grad()
        loss_of(ddp, images[share], labels[share]).backward()
        optimizer.step()
        twin_optimizer.zero_grad()
        loss_of(twin, images, labels).backward()
        twin_optimizer.step()
    ours, theirs = parameters_of(ddp.module), parameters_of(twin)
    largest = max(float(np.abs(ours[name] - theirs[name]).max()) for name in ours)
    for name in ours:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-4, atol=2e-5, err_msg=name)
    everyone = [None] * world
    dist.all_gather_object(everyone, ours)
    same_on_every_rank = all(np.array_equal(everyone[0][name], everyone[1][name]) for name in ours)
    assert same_on_every_rank
    report("twenty_steps", f"buckets={len(ddp._buckets)} largest_difference={largest:.2e} "
                           f"ranks_equal={same_on_every_rank}")


def check_no_sync_accumulates_then_synchronises_the_sum():
    mg.manual_seed(20)
    ddp = DistributedDataParallel(small_cnn())
    twin = twin_of(ddp)
    images, labels = global_batch(100, 200)
    quarters = [slice(start, start + 50) for start in range(0, 200, 50)]
    mine = quarters[rank::2]  # rank 0: quarters 0 and 2; rank 1: 1 and 3
    with ddp.no_sync():
        (loss_of(ddp, images[mine[0]], labels[mine[0]]) / 2).backward()
    local_only = {name: parameter.grad.numpy().copy() for name, parameter in ddp.module.named_parameters()}
    (loss_of(ddp, images[mine[1]], labels[mine[1]]) / 2).backward()
    loss_of(twin, images, labels).backward()
    for (name, parameter), expected in zip(ddp.module.named_parameters(), twin.parameters()):
        np.testing.assert_allclose(parameter.grad.numpy(), expected.grad.numpy(), rtol=2e-4, atol=1e-6, err_msg=name)
    everyone = [None] * world
    dist.all_gather_object(everyone, local_only)
    differed = any(not np.array_equal(everyone[0][name], everyone[1][name]) for name in local_only)
    assert differed  # inside no_sync nothing was averaged
    report("no_sync", "accumulated_equals_one_big_step=True")


def check_buckets_start_while_backward_runs():
    """The first bucket (the last layer's gradients) must start its allreduce before backward reaches
    the first layer: that is the overlap."""
    mg.manual_seed(30)
    ddp = DistributedDataParallel(small_cnn(), bucket_cap_mb=0.002)
    first_layer_weight = ddp.module[0].weight
    events = []
    original_start = collectives.start_all_reduce

    def recording_start(array, op="sum"):
        events.append(("start", array.size))
        return original_start(array, op=op)

    first_layer_weight.register_post_accumulate_grad_hook(lambda tensor: events.append(("first layer", 0)))
    collectives.start_all_reduce = recording_start
    try:
        images, labels = global_batch(200, 50)
        loss_of(ddp, images, labels).backward()
    finally:
        collectives.start_all_reduce = original_start
    names = [name for name, _ in events]
    assert names.index("start") < names.index("first layer"), events
    report("overlap", f"events={names}")


class TwoBranches(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk, self.left, self.right, self.never = nn.Linear(6, 4), nn.Linear(4, 2), nn.Linear(4, 2), nn.Linear(4, 2)

    def forward(self, x, use_left):
        hidden = self.trunk(x)
        return self.left(hidden) if use_left else self.right(hidden)


def check_unused_parameters():
    mg.manual_seed(40)
    ddp = DistributedDataParallel(TwoBranches(), find_unused_parameters=True)
    x = mg.from_numpy(np.full((3, 6), rank + 1.0, dtype=np.float32))
    ddp(x, use_left=(rank == 0)).sum().backward()  # rank 0 uses left, rank 1 right, nobody "never"
    module = ddp.module
    assert module.never.weight.grad is None
    for branch in (module.left, module.right):  # half of one rank's gradient, zero from the other
        assert branch.weight.grad is not None
    everyone = [None] * world
    dist.all_gather_object(everyone, module.left.weight.grad.numpy())
    assert np.array_equal(everyone[0], everyone[1])
    report("unused", "globally_unused_grad_is_None=True")
    strict = DistributedDataParallel(TwoBranches())
    try:
        strict(x, use_left=True).sum().backward()
    except RuntimeError as error:
        assert "never.weight" in str(error) and "find_unused_parameters=True" in str(error), error
        report("unused_refused", str(error))
    else:
        raise AssertionError("an unused parameter was not refused")


def check_a_different_model_is_refused_naming_the_parameter():
    model = nn.Sequential(nn.Linear(4 + rank, 3))
    try:
        DistributedDataParallel(model)
    except RuntimeError as error:
        message = str(error)
        assert "'0.weight'" in message and "rank 1" in message, message
        report("mismatch", message)
    else:
        raise AssertionError("rank {rank}: a model of another shape was accepted")


def check_buffers_follow_rank_zero_at_each_training_forward():
    mg.manual_seed(60)
    ddp = DistributedDataParallel(nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)))
    batch_norm = ddp.module[1]
    with mg.no_grad():
        batch_norm.running_mean[...] = 5.0 * rank  # rank 1 drifts; the next forward must undo it
    x = mg.from_numpy(np.full((4, 3), float(rank), dtype=np.float32))
    ddp(x)
    batch_mean = ddp.module[0](x).mean(0).detach().numpy()
    np.testing.assert_allclose(batch_norm.running_mean.numpy(), 0.9 * 0.0 + 0.1 * batch_mean, rtol=1e-5, atol=1e-6)
    report("buffers", "broadcast_from_rank_0_before_the_update=True")


def check_cuda_parameters_average_through_the_staged_buckets():
    """Under NUMBA_ENABLE_CUDASIM=1: the buckets live on the device and go through pinned host memory."""
    mg.manual_seed(50 + rank)
    ddp = DistributedDataParallel(nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3)).to("cuda"),
                                  bucket_cap_mb=0.00005)  # 52 bytes: two buckets
    twin = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    twin.load_state_dict(ddp.module.state_dict())
    generator = np.random.default_rng(7)
    inputs, targets = generator.standard_normal((8, 6)).astype(np.float32), generator.integers(0, 3, 8)
    mine = slice(rank * 4, rank * 4 + 4)
    nn.functional.cross_entropy(ddp(mg.from_numpy(inputs[mine]).to("cuda")),
                                mg.from_numpy(targets[mine]).to("cuda")).backward()
    nn.functional.cross_entropy(twin(mg.from_numpy(inputs)), mg.from_numpy(targets)).backward()
    assert ddp._buckets[0].buffer.__class__.__name__ == "CudaArray" and len(ddp._buckets) > 1
    for (name, parameter), expected in zip(ddp.module.named_parameters(), twin.parameters()):
        assert parameter.grad.device == "cuda", name
        np.testing.assert_allclose(parameter.grad.cpu().numpy(), expected.grad.numpy(), rtol=1e-5, atol=1e-7,
                                   err_msg=name)
    report("cuda", f"buckets={len(ddp._buckets)} equal_to_one_process=True")


for check in sys.argv[1:]:
    globals()[f"check_{check}"]()
say(f"rank {rank} done")

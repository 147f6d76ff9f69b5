"""One side of ``python -m minigrad.bench distributed``, run in a process of its own:

    python -m minigrad.bench._distributed_worker single --steps 30 --batch 100     (one process)
    mpiexec -n 2 python -m minigrad.bench._distributed_worker ranks --steps 30 --batch 100

``single`` times the reference CNN's training step on the whole batch. ``ranks`` times, on every
rank at once, the step on the rank's share of the batch without communication (the compute), then
the same step under DistributedDataParallel, then allreduces alone of several sizes (the
communication model). Each prints one ``result KEY VALUE`` line per figure (rank 0 only).
"""
import argparse
import statistics
import time

import numpy as np

import minigrad as mg
from minigrad.bench.cnn import build, step_function

ALLREDUCE_BYTES = (4 * 1024, 256 * 1024, 4 * 1024 * 1024, 13_098_536)  # the last: the reference CNN's gradients


def batch_of(size):
    generator = np.random.default_rng(0)
    return generator.random((size, 1, 28, 28), dtype=np.float32), generator.integers(0, 10, size).astype(np.int64)


def mean_step_seconds(step, images, labels, steps, start_together=None):
    """Wall time of ``steps`` steps in a row, over ``steps``: what throughput sees (the ranks keep in
    step through DDP's allreduces; ``start_together`` lines them up once at the start)."""
    for _ in range(3):  # load or compile the kernels, fill the allocator's pools
        step(images, labels)
    if start_together is not None:
        start_together()
    start = time.perf_counter()
    for _ in range(steps):
        step(images, labels)
    return (time.perf_counter() - start) / steps


def single(steps, batch):
    mg.manual_seed(0)
    model, optimizer = build(mg)
    print(f"result step {mean_step_seconds(step_function(mg, model, optimizer), *batch_of(batch), steps):.6f}")


def ranks(steps, batch):
    import minigrad.distributed as dist
    from minigrad.nn.parallel import DistributedDataParallel

    dist.init()
    world = dist.get_world_size()
    images, labels = batch_of(batch // world)
    mg.manual_seed(0)
    model, optimizer = build(mg)
    compute = mean_step_seconds(step_function(mg, model, optimizer), images, labels, steps, dist.barrier)
    mg.manual_seed(0)
    model, _ = build(mg)
    wrapped = DistributedDataParallel(model)
    optimizer = mg.optim.Adam(wrapped.parameters(), lr=1e-3)
    together = mean_step_seconds(step_function(mg, wrapped, optimizer), images, labels, steps, dist.barrier)
    gradient_bytes = sum(parameter.data.nbytes for parameter in model.parameters())
    results = {"compute": compute, "ddp": together, "world": world, "gradient_bytes": gradient_bytes,
               "buckets": len(wrapped._buckets)}
    for size in ALLREDUCE_BYTES:
        buffer = np.ones(size // 4, dtype=np.float32)
        tensor = mg.from_numpy(buffer)
        seconds = []
        for _ in range(12):
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(tensor)
            seconds.append(time.perf_counter() - start)
        results[f"allreduce_{size}"] = statistics.median(seconds[2:])
    if dist.get_rank() == 0:
        for key, value in results.items():
            print(f"result {key} {value:.6f}" if isinstance(value, float) else f"result {key} {value}")


def main():
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench._distributed_worker")
    parser.add_argument("side", choices=["single", "ranks"])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=100)
    arguments = parser.parse_args()
    (single if arguments.side == "single" else ranks)(arguments.steps, arguments.batch)


if __name__ == "__main__":
    main()

"""Data-parallel throughput: N MPI ranks x 1 thread against 1 process x N threads (reference CNN).

Each round runs, one after the other, a single process with N Numba threads training the reference
CNN at the global batch, and ``mpiexec -n N`` ranks with one thread each training it under
DistributedDataParallel at batch/N each (_distributed_worker.py), launched as README says (no
binding: ``-bind-to core`` made no steady difference here); the figures are medians over the
rounds. The ranks also time their step without communication (the compute) and allreduces alone
of several sizes, which give the communication model printed at the end: per step, the gradient
allreduce costs about latency + bytes / bandwidth, of which DDP hides what overlaps backward.
"""
import argparse
import importlib.util
import os
import re
import statistics
import subprocess
import sys

from minigrad.bench._distributed_worker import ALLREDUCE_BYTES


def find_mpiexec():
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.access(beside, os.X_OK):
        return beside
    from shutil import which

    return which("mpiexec")


def run_worker(command, threads, timeout=600):
    environment = dict(os.environ, NUMBA_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    completed = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=timeout)
    if completed.returncode != 0:
        raise SystemExit(f"bench distributed: {' '.join(command[:4])}... failed:\n{completed.stderr[-2000:]}")
    return {key: float(value) for key, value in re.findall(r"^result (\w+) (\S+)$", completed.stdout, re.MULTILINE)}


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench distributed", description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, default=2, help="MPI ranks, and the single process's threads (default 2)")
    parser.add_argument("--repeats", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per run (default 30)")
    parser.add_argument("--batch", type=int, default=100, help="global batch (default 100)")
    options = parser.parse_args(arguments)
    mpiexec = find_mpiexec() if importlib.util.find_spec("mpi4py") is not None else None
    if mpiexec is None:
        raise SystemExit('bench distributed: needs mpi4py and mpiexec: pip install -e ".[distributed]"')
    worker = [sys.executable, "-m", "minigrad.bench._distributed_worker"]
    steps = ["--steps", str(options.steps), "--batch", str(options.batch)]
    singles, together = [], []
    for _ in range(options.repeats):
        singles.append(run_worker(worker + ["single"] + steps, options.ranks))
        together.append(run_worker([mpiexec, "-n", str(options.ranks)] + worker + ["ranks"] + steps, 1))

    def median(runs, key):
        return statistics.median(run[key] for run in runs)

    single, ddp, compute = median(singles, "step"), median(together, "ddp"), median(together, "compute")
    gradient_megabytes = together[0]["gradient_bytes"] / 1e6
    print(f"reference CNN training step (Adam), global batch {options.batch}, medians of {options.repeats} rounds "
          f"of {options.steps} steps")
    print(f"  1 process x {options.ranks} threads, batch {options.batch}:      {single * 1e3:8.2f} ms/step "
          f"{options.batch / single:8.0f} img/s")
    share = options.batch // options.ranks
    print(f"  {options.ranks} ranks x 1 thread, batch {share} each, DDP:  {ddp * 1e3:8.2f} ms/step "
          f"{options.batch / ddp:8.0f} img/s  ({int(together[0]['buckets'])} buckets, {gradient_megabytes:.1f} MB)")
    print(f"  the same ranks without communication:  {compute * 1e3:8.2f} ms/step")
    print(f"  throughput {options.ranks} ranks / 1 process: {single / ddp:.2f}x;  communication left exposed: "
          f"{(ddp - compute) * 1e3:.2f} ms/step ({(ddp - compute) / ddp:.1%} of the step)")
    print(f"allreduce alone, {options.ranks} ranks on this machine (median ms):")
    for size in ALLREDUCE_BYTES:
        print(f"  {size / 1e6:10.3f} MB  {median(together, f'allreduce_{size}') * 1e3:8.3f} ms")
    small, large = ALLREDUCE_BYTES[0], ALLREDUCE_BYTES[-1]
    latency = median(together, f"allreduce_{small}")
    bandwidth = (large - small) / max(median(together, f"allreduce_{large}") - latency, 1e-9)
    print(f"model: allreduce(bytes) ~ {latency * 1e6:.0f} us + bytes / {bandwidth / 1e9:.2f} GB/s; the gradients "
          f"({gradient_megabytes:.1f} MB) once a step: {(latency + together[0]['gradient_bytes'] / bandwidth) * 1e3:.2f} ms "
          f"against {compute * 1e3:.1f} ms of compute")

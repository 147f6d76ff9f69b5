"""minigrad's own host time per GPU training step, and its kernel launches, measured without a GPU.

A small GPU step is limited by the host: every op is Python (autograd, CudaArray views, NumPy's
dispatch, checks) and then a Numba kernel launch, and the GPU waits for the next launch. This
measures the first part on any machine: the reference CNN's Adam step on device "cuda" under
Numba's CUDA simulator, with every kernel launch replaced by a no-op that counts it (and its array
and scalar arguments), so what is timed is minigrad's Python plus the simulator's NumPy-backed
allocations. A real GPU adds Numba's own cost per launch (it grows with the argument count) and
the driver's. The kernels never run, so the arrays hold garbage; nothing reads them (the one read
back to the host, cross_entropy's target count, still launches and copies, but is replaced by the
batch size).

It runs in a child process, because the simulator must be chosen before Numba is imported.
"""
import argparse
import collections
import os
import statistics
import subprocess
import sys
import time

CHILD_FLAG = "--in-simulator"


def parse(arguments):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench host", description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--steps", type=int, default=20, help="steps per timed round")
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds (the median is reported)")
    parser.add_argument("--quick", action="store_true", help="a reduced-width CNN on 8x8 images (for the tests)")
    parser.add_argument(CHILD_FLAG, action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(arguments)


def main(arguments=None):
    arguments = sys.argv[1:] if arguments is None else list(arguments)
    options = parse(arguments)
    if not options.in_simulator:
        command = [sys.executable, "-m", "minigrad.bench", "host", *arguments, CHILD_FLAG]
        environment = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
        subprocess.run(command, env=environment, check=True)
        print(f"  Numba's device array, made over a fake allocation: {numba_array_microseconds():.1f} us each "
              "(the real class, which the simulator replaces by a NumPy wrapper)")
        return 0
    measure(options)
    return 0


def numba_array_microseconds(repeats=5, number=2000):
    """The cost of one DeviceNDArray (a conv activation's shape) over an existing allocation: what each
    conversion above and each allocation (besides the memory itself) costs on a GPU."""
    import timeit

    import numpy as np
    from numba.cuda.cudadrv import driver, drvapi
    from numba.cuda.cudadrv.devicearray import DeviceNDArray

    class FakeContext:
        pass

    memory = driver.AutoFreePointer(FakeContext(), drvapi.cu_device_ptr(1 << 32), 4 << 20, finalizer=lambda: None)
    pointer = memory.own()
    shape, strides = (100, 32, 14, 14), (25088, 784, 56, 4)
    seconds = min(timeit.repeat(lambda: DeviceNDArray(shape, strides, np.float32, gpu_data=pointer),
                                number=number, repeat=repeats))
    return seconds / number * 1e6


def count_launches_instead_of_running(counts):
    from numba.cuda.simulator import kernel as simulated_kernel

    from ..kernels.cuda import softmax_xent

    def launch(kernel, *arguments):
        if kernel._device:
            return
        arrays = sum(1 for argument in arguments if getattr(argument, "ndim", 0) > 0)
        counts["launches"] += 1
        counts["array arguments"] += arrays
        counts["scalar arguments"] += len(arguments) - arrays

    simulated_kernel.FakeCUDAKernel.__call__ = launch
    count_targets = softmax_xent.count_targets

    def counted_targets(targets, class_count, ignore_index):
        count_targets(targets, class_count, ignore_index)  # its launch and read-back happen, on garbage
        return targets.shape[0], 0

    softmax_xent.count_targets = counted_targets
    from numba import cuda

    from ..cuda.array import CudaArray

    def counted(key, function):
        def call(*arguments, **options):
            counts[key] += 1
            return function(*arguments, **options)
        return call

    cuda.device_array = counted("device allocations", cuda.device_array)
    cuda.to_device = counted("device allocations", cuda.to_device)
    CudaArray._make_numba_view = counted("Numba arrays made", CudaArray._make_numba_view)


def measure(options):
    import numpy as np

    import minigrad as mg

    from . import cnn

    counts = collections.Counter()
    count_launches_instead_of_running(counts)
    mg.manual_seed(0)
    sizes = {"channels": (4, 8), "hidden": 16, "image_size": 8} if options.quick else {}
    image_size = sizes.get("image_size", 28)
    model, optimizer = cnn.build(mg, device="cuda", **sizes)
    step = cnn.tensor_step_function(mg, model, optimizer)
    generator = np.random.default_rng(0)
    images = mg.tensor(generator.random((options.batch, 1, image_size, image_size), dtype=np.float32), device="cuda")
    labels = mg.tensor(generator.integers(0, 10, options.batch), device="cuda")
    for _ in range(3):  # warm-up: imports, caches of device constants
        step(images, labels)
    counts.clear()
    step(images, labels)
    per_step = dict(counts)
    rounds = []
    for _ in range(options.repeats):
        start = time.perf_counter()
        for _ in range(options.steps):
            step(images, labels)
        rounds.append((time.perf_counter() - start) / options.steps * 1e3)
    what = "reduced-width reference CNN on 8x8 images" if options.quick else "reference CNN"
    print(f"host side of one Adam training step of the {what}, batch {options.batch}, device 'cuda' "
          "(Numba's CUDA simulator, kernels not run)")
    print(f"  kernel launches per step: {per_step['launches']} ({per_step['array arguments']} array arguments, "
          f"{per_step['scalar arguments']} scalar arguments)")
    print(f"  device allocations per step: {per_step['device allocations']}; Numba arrays made "
          f"from CudaArrays for kernels: {per_step['Numba arrays made']}")
    print(f"  minigrad host time per step: {statistics.median(rounds):.3f} ms (median of {options.repeats} rounds "
          f"of {options.steps} steps; fastest {min(rounds):.3f} ms)")
    print("  a GPU adds to this Numba's cost per launch, per allocation and per device array, and the driver's;")
